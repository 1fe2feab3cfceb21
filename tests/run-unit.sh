#!/bin/sh
# Runs every Check unit test binary in BUILD/tests; fails if any fails.
set -u
build=${1:-build}
pass=0
fail=0
for t in "$build"/tests/check_*; do
	[ -x "$t" ] || continue
	if CK_FORK=yes "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $t" >&2
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
