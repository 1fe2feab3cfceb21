#!/bin/sh
# Runs every tests/integration/tNNN-*.sh against the binaries in BUILD.
# Each script exits 0 (pass) or non-zero (fail); its output is shown on
# failure only, unless VERBOSE=1.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
MV_BUILD=$(cd "$build" && pwd)
export MV_BUILD MV_TOP="$top"
pass=0
fail=0
failed=
for t in "$top"/tests/integration/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case ${ONLY:-} in ''|*"$name"*) ;; *) continue ;; esac
	out=$(mktemp)
	start=$(date +%s)
	if timeout 300 sh "$t" >"$out" 2>&1; then
		pass=$((pass + 1))
		echo "ok   $name ($(( $(date +%s) - start ))s)"
		[ "${VERBOSE:-0}" = 1 ] && cat "$out"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name"
		sed 's/^/    /' "$out" | tail -n 60
	fi
	rm -f "$out"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
