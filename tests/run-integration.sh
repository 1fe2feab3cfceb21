#!/bin/sh
# Runs every tests/integration/tNNN-*.sh against the binaries in BUILD.
# Each script exits 0 (pass), 77 (skipped, with its reason on its last
# line) or another status (fail); a failure's output is shown, and every
# test's with VERBOSE=1. Each has TEST_TIMEOUT seconds (900: a guard against hangs, far above what any takes).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
MV_BUILD=$(cd "$build" && pwd)
export MV_BUILD MV_TOP="$top"
pass=0
fail=0
skip=0
failed=
for t in "$top"/tests/integration/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case ${ONLY:-} in ''|*"$name"*) ;; *) continue ;; esac
	out=$(mktemp)
	start=$(date +%s)
	rc=0
	timeout "${TEST_TIMEOUT:-900}" sh "$t" >"$out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok   $name ($(( $(date +%s) - start ))s)"
		[ "${VERBOSE:-0}" = 1 ] && cat "$out"
	elif [ "$rc" -eq 77 ]; then
		skip=$((skip + 1))
		echo "skip $name: $(tail -n 1 "$out")"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name"
		sed 's/^/    /' "$out" | tail -n 60
	fi
	rm -f "$out"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
