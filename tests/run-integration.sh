#!/bin/sh
# Runs every tests/integration/tNNN-*.sh against the binaries in BUILD,
# JOBS (default 2) at a time: they spend most of their time waiting on
# servers and children, each in its own temporary directory with its own
# Redis and free ports. Each script exits 0 (pass), 77 (skipped, with its
# reason on its last line) or another status (fail). A line is printed as
# each ends; then the output of the failures (of every test with
# VERBOSE=1), in order. ONLY="tNNN-name ..." runs those alone. Each has
# TEST_TIMEOUT seconds (900: a guard against hangs, far above what any
# takes).   tests/run-integration.sh [BUILD]
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
MV_BUILD=$(cd "$build" && pwd)
export MV_BUILD MV_TOP="$top"
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
trap 'exit 1' HUP INT TERM

for t in "$top"/tests/integration/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case ${ONLY:-} in ''|*"$name"*) ;; *) continue ;; esac
	echo "$t"
done >"$R/list"

# sh one R TEST: runs TEST; its status in R/NAME.rc, its output in
# R/NAME.out; prints its line.
cat >"$R/one" <<'ONE'
R=$1
t=$2
name=$(basename "$t" .sh)
start=$(date +%s)
rc=0
timeout "${TEST_TIMEOUT:-900}" sh "$t" >"$R/$name.out" 2>&1 </dev/null ||
    rc=$?
echo "$rc" >"$R/$name.rc"
took=$(( $(date +%s) - start ))
case $rc in
0) echo "ok   $name (${took}s)" ;;
77) echo "skip $name: $(tail -n 1 "$R/$name.out")" ;;
*) echo "FAIL $name (${took}s, exit $rc)" ;;
esac
ONE
xargs -P "${JOBS:-2}" -n 1 sh "$R/one" "$R" <"$R/list"

pass=0
fail=0
skip=0
failed=
while read -r t; do
	name=$(basename "$t" .sh)
	rc=$(cat "$R/$name.rc" 2>/dev/null || echo 1)
	case $rc in
	0)
		pass=$((pass + 1))
		if [ "${VERBOSE:-0}" = 1 ]; then
			echo "== $name"
			cat "$R/$name.out"
		fi
		;;
	77) skip=$((skip + 1)) ;;
	*)
		fail=$((fail + 1))
		failed="$failed $name"
		echo "== FAIL $name"
		sed 's/^/    /' "$R/$name.out" 2>/dev/null | tail -n 60
		;;
	esac
done <"$R/list"
[ -n "$failed" ] && echo "failed:$failed"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
