#!/bin/sh
# Runs every libFuzzer harness of BUILD (make fuzz builds them) for SECONDS
# each, one after the other, on its corpus: new inputs go to
# BUILD/corpus/NAME, never into tests/fuzz/corpus (FUZZ_MERGE=1 merges
# them in afterwards, minimised, with -merge=1). A crash, a leak, a
# timeout or a broken promise stops the run with the reproducer's path.
# ONLY=NAME runs one harness.
set -u
build=${1:-build-fuzz}
secs=${2:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
total=0
for h in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$h" ] || continue
	name=${h##*/fuzz_}
	case ${ONLY:-} in ''|"$name") ;; *) continue ;; esac
	corpus=$top/tests/fuzz/corpus/$name
	scratch=$build/corpus/$name
	art=$build/artifacts/$name
	log=$build/fuzz-$name.log
	mkdir -p "$corpus" "$scratch" "$art"
	if ! "$h" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$art/" \
	    "$scratch" "$corpus" >"$log" 2>&1; then
		tail -n 60 "$log" >&2
		for a in "$art"/*; do
			[ -f "$a" ] || continue
			echo "fuzz: $name: reproducer $a" >&2
			echo "fuzz: replay with: $h $a" >&2
		done
		echo "fuzz: $name FAILED (log $log)" >&2
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 |
	    sed -n 's/.*\(cov: [0-9]*\).*\(corp: [^ ]*\).*/\1 \2/p')
	echo "fuzz: $name: ${runs:-?} runs in ${secs}s, $cov"
	total=$((total + ${runs:-0}))
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		"$h" -merge=1 "$corpus" "$scratch" >>"$log" 2>&1 ||
			{ echo "fuzz: $name: merge failed" >&2; exit 1; }
	fi
done
echo "fuzz: $total runs in all"
