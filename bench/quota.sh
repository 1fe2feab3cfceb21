#!/bin/sh
# How much of the quota a paced fetch reaches: quota units per second
# achieved (the units the stand-in accepted, over the run's wall time,
# startup included) divided by the configured quota, against a stand-in
# that enforces that quota as a one-second token bucket and a rolling
# minute. Prints the fraction per run, the median over the repeats and
# the 429s the stand-in answered; the pacer spends 90% of the quota, so
# the fraction should stay at or above 0.85 with no 429. Never fails on
# time.
#   bench/quota.sh [BUILD]   (make bench; QUOTA=units/s N=messages REPS)
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
W=$build/gmail-worker
REPS=${REPS:-3}
QUOTA=${QUOTA:-250}
N=${N:-1500}
. "$top/bench/standin.sh"
start_standin --generate "$N" --quota-per-second "$QUOTA" \
    --quota-per-minute $((QUOTA * 60)) --latency-ms 20
stat() { curl -sf "$URL/_standin/stats" | jq "$1"; }

echo "== quota reached: fetch of $N messages paced to $QUOTA units/s, the stand-in enforcing it per second ($REPS runs)"
: >"$T/fractions"
q429=0
for i in $(seq "$REPS"); do
	curl -sf -X POST "$URL/_standin/reset" >/dev/null
	start=$(date +%s.%N)
	"$W" --credentials "@$T/alice-access-token.json" --action fetch_emails \
	    --days_back 0 --max_results "$N" --output ndjson \
	    --quota_units_per_sec "$QUOTA" >/dev/null 2>"$T/err"
	end=$(date +%s.%N)
	units=$(stat '.units_used["alice@example.com"]')
	n429=$(stat .quota_429)
	q429=$((q429 + n429))
	f=$(awk "BEGIN { printf \"%.3f\", $units / ($end - $start) / $QUOTA }")
	echo "run $i: units=$units  seconds=$(awk "BEGIN { printf \"%.1f\", $end - $start }")  units/s=$(awk "BEGIN { printf \"%.1f\", $units / ($end - $start) }")  fraction=$f  429s=$n429"
	echo "$f" >>"$T/fractions"
done
median=$(sort -n "$T/fractions" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "median fraction of the quota: $median (at least 0.85 expected)  429s in all: $q429"
