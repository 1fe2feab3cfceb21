#!/bin/sh
# gmail-worker benchmarks against the project's Gmail API stand-in on
# loopback. Prints figures (medians over repeats) and ratios against a
# baseline measured in the same run; never fails on time.
#   bench/run.sh [BUILD]     (make bench)
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
W=$build/gmail-worker
RS=$build/runstat
REPS=${REPS:-3}
. "$top/bench/standin.sh"
start_standin --generate 10000
TOKEN=$(jq -r .access_token "$T/alice-access-token.json")
settings() {
	curl -sf -X POST -H 'Content-Type: application/json' --data "$1" \
	    "$URL/_standin/settings" >/dev/null
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }

echo "== startup: ping (one getProfile), $((REPS * 10)) runs"
n=$((REPS * 10))
"$RS" -n 3 -q -- "$W" --credentials "@$T/alice-access-token.json" \
    --action ping >/dev/null	# warm the page cache
ping=$("$RS" -n $n -q -- "$W" --credentials "@$T/alice-access-token.json" \
    --action ping)
echo "gmail-worker ping, access token:   $ping"
mint=$("$RS" -n $n -q -- "$W" --credentials "@$T/alice-authorized-user.json" \
    --action ping)
echo "gmail-worker ping, refresh grant:  $mint"
base=$(printf 'header = "Authorization: Bearer %s"\n' "$TOKEN" >"$T/curlrc" &&
    "$RS" -n $n -q -- curl -sf -K "$T/curlrc" "$URL/gmail/v1/users/me/profile")
echo "baseline curl, same request:       $base"
echo "ratio wall (worker/curl): $(ratio "$(echo "$ping" | field median_ms)" "$(echo "$base" | field median_ms)")"

fetch() {	# N MODE [options]
	n=$1 mode=$2
	shift 2
	"$RS" -n "$REPS" -q -- "$W" --credentials "@$T/alice-access-token.json" \
	    --action fetch_emails --days_back 0 --max_results "$n" \
	    --output "$mode" "$@"
}
rate() { awk "BEGIN { printf \"%.0f\", $1 * 1000 / $2 }"; }

echo
echo "== fetch, pacing off, no added latency ($REPS runs each)"
for n in 1000 10000; do
	for mode in json ndjson; do
		r=$(fetch $n $mode --quota_units_per_sec 0)
		echo "$n messages $mode: $r  msgs/s=$(rate $n "$(echo "$r" | field median_ms)")"
	done
done

echo
echo "== fetch, pacing off, 20 ms added to every request"
settings '{"latency_ms": 20}'
r=$(fetch 2000 ndjson --quota_units_per_sec 0)
fast=$(rate 2000 "$(echo "$r" | field median_ms)")
echo "gmail-worker 2000 messages: $r  msgs/s=$fast"
r=$(REPS=1 fetch 100 ndjson --quota_units_per_sec 0 --batch_size 1 --max_in_flight 1)
slow=$(rate 100 "$(echo "$r" | field median_ms)")
echo "baseline serial client (batch 1, 1 in flight), 100 messages: $r  msgs/s=$slow"
echo "ratio (worker/serial): $(ratio "$fast" "$slow")"

echo
echo "== fetch, pacing on (classic: 250 units/s), 100 ms latency, quota enforced"
settings '{"latency_ms": 100, "quota_per_minute": 15000}'
curl -sf -X POST "$URL/_standin/reset" >/dev/null
bound=$(awk 'BEGIN { printf "%.1f", 250 / (5 + 5 / 500) }')
start=$(date +%s.%N)
"$W" --credentials "@$T/alice-access-token.json" --action fetch_emails \
    --days_back 0 --max_results 1500 --output ndjson >/dev/null 2>"$T/err"
end=$(date +%s.%N)
paced=$(awk "BEGIN { printf \"%.1f\", 1500 / ($end - $start) }")
q429=$(curl -sf "$URL/_standin/stats" | jq .quota_429)
echo "1500 messages: msgs/s=$paced  quota-bound=$bound  ratio=$(ratio "$paced" "$bound")  429s=$q429"
curl -sf -X POST "$URL/_standin/reset" >/dev/null
start=$(date +%s.%N)
"$W" --credentials "@$T/alice-access-token.json" --action fetch_emails \
    --days_back 0 --max_results 100 --output ndjson --batch_size 1 \
    --max_in_flight 1 >/dev/null 2>"$T/err"
end=$(date +%s.%N)
serial=$(awk "BEGIN { printf \"%.1f\", 100 / ($end - $start) }")
echo "baseline serial client, 100 messages: msgs/s=$serial  ratio=$(ratio "$serial" "$bound")"
