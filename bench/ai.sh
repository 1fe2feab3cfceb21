#!/bin/sh
# ai-worker benchmarks against the chat-completions stand-in on loopback.
# Prints figures (medians over repeats); never fails on time.
#   bench/ai.sh [BUILD]
#   REPS=N (3)  THREADS=N (200)  LATENCY_MS=N (500)
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
W=$build/ai-worker
RS=$build/runstat
REPS=${REPS:-3}
THREADS=${THREADS:-200}
LATENCY_MS=${LATENCY_MS:-500}
M=$top/tests/integration/ai-mail
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT PIPE TERM

/usr/bin/python3 "$top/tests/standin/ai-standin" --port 0 \
    --port-file "$T/port" --log "$T/log" --quiet 2>"$T/standin.err" &
PID=$!
while [ ! -s "$T/port" ]; do sleep 0.1; done
URL=http://127.0.0.1:$(cat "$T/port")
export AI_WORKER_API_BASE="$URL/v1" AI_WORKER_MODEL=bench
settings() {
	curl -sf -X POST -H 'Content-Type: application/json' --data "$1" \
	    "$URL/_standin/settings" >/dev/null
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Threads of 3 messages, different ids, one per line.
i=0
while [ $i -lt "$THREADS" ]; do
	jq -c --arg i "$i" 'map(.id += "-" + $i | .thread_id = "t-" + $i)' \
	    "$M/thread.json"
	i=$((i + 1))
done >"$T/threads.ndjson"

echo "== overhead per thread: one run of process on a 3-message thread,"
echo "   the stand-in answering at once ($((REPS * 10)) runs)"
n=$((REPS * 10))
"$RS" -n 3 -q -- "$W" --action process --input "$M/thread.json" >/dev/null
one=$("$RS" -n "$n" -q -- "$W" --action process --input "$M/thread.json")
echo "ai-worker process:                  $one"
# The same request by curl: what the stand-in and the loopback take.
jq '[.[] | select(.path == "/v1/chat/completions")][-1].body' -s "$T/log" \
    >"$T/req.json"
base=$("$RS" -n "$n" -q -- curl -sf -H 'Content-Type: application/json' \
    --data-binary "@$T/req.json" "$URL/v1/chat/completions")
echo "baseline curl, same request:        $base"
echo "worker's own time per run (median, ms): $(awk "BEGIN { printf \"%.1f\", \
$(echo "$one" | field median_ms) - $(echo "$base" | field median_ms) }")"
# In a bulk run the start-up is paid once: CPU per thread.
for r in $(seq "$REPS"); do
	/usr/bin/time -f '%U %S' -o "$T/time" "$W" --action process \
	    --output ndjson --max_in_flight 4 --input "$T/threads.ndjson" \
	    >/dev/null 2>>"$T/err"
	awk -v n="$THREADS" '{ printf "%.3f\n", ($1 + $2) * 1000 / n }' \
	    "$T/time"
done | median >"$T/cpu"
echo "ai-worker CPU per thread in a bulk run of $THREADS (median, ms): $(cat "$T/cpu")"

echo
echo "== bulk: $THREADS threads, stand-in latency $LATENCY_MS ms"
settings "{\"latency_ms\": $LATENCY_MS}"
base=
for k in 1 4 16; do
	reps=$REPS
	[ "$k" -eq 1 ] && reps=1	# $THREADS x latency: long enough once
	r=$("$RS" -n "$reps" -q -- "$W" --action process --output ndjson \
	    --max_in_flight "$k" --input "$T/threads.ndjson")
	ms=$(echo "$r" | field median_ms)
	[ -n "$base" ] || base=$ms
	echo "--max_in_flight $k: $r  threads/s=$(awk "BEGIN { printf \"%.1f\", \
$THREADS * 1000 / $ms }")  speed-up=$(awk "BEGIN { printf \"%.2f\", $base / $ms }")"
done
settings '{"latency_ms": 0}'
if [ -s "$T/err" ]; then
	echo "(worker stderr: $(sort -u "$T/err" | head -3))"
fi
