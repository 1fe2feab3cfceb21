#!/bin/sh
# Replays the saved corpus of every fuzz harness (tests/fuzz/corpus/NAME)
# through BUILD/tests/fuzz/fuzz_NAME, built with the replay driver (no
# libFuzzer); fails if any input aborts or trips a sanitizer.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0
fail=0
for h in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$h" ] || continue
	name=${h##*/fuzz_}
	dir=$top/tests/fuzz/corpus/$name
	if [ ! -d "$dir" ]; then
		echo "FAIL: $h: no corpus $dir" >&2
		fail=$((fail + 1))
	elif "$h" "$dir" 2>/dev/null; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		# Again, naming each input: the last one named broke it.
		out=$(FUZZ_REPLAY_VERBOSE=1 "$h" "$dir" 2>&1)
		printf '%s\n' "$out" | grep -v '^replay: /' | tail -n 40 >&2
		last=$(printf '%s\n' "$out" | grep '^replay: /' | tail -n 1)
		echo "FAIL: $h ${last#replay: }" >&2
	fi
done
echo "fuzz replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
