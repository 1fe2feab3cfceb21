#!/bin/sh
# sync against the stand-in with a mailbox of 10 000 generated messages:
# what a full sync and an incremental sync of 10 changes cost (requests,
# quota units, time, peak RSS), against fetch_emails --days_back 0 of the
# same mailbox. Figures come from the worker's -v totals line; never
# fails on time.
#   bench/sync.sh [BUILD]     (make bench)
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
W=$build/gmail-worker
RS=$build/runstat
A=alice@example.com
. "$top/bench/standin.sh"
start_standin --generate 10000

# run NAME ARGS...: the worker with -v; its totals as "requests units s".
run() {
	name=$1
	shift
	"$W" --credentials "@$T/alice-access-token.json" \
	    --quota_units_per_sec 0 -v "$@" >"$T/$name.out" 2>"$T/$name.err"
	sed -n 's/.*done: \([0-9]*\) requests, \([0-9]*\) quota units, .*, \([0-9.]*\) s$/\1 \2 \3/p' \
	    "$T/$name.err"
}
control() {
	curl -sf -X POST -H 'Content-Type: application/json' --data "$2" \
	    "$URL/_standin/$1"
}
ratio() { awk "BEGIN { printf \"%.4f\", $1 / $2 }"; }

set -- $(run fetch --action fetch_emails --days_back 0 --output ndjson)
fetch_req=$1 fetch_units=$2 fetch_s=$3
n=$(tail -n 1 "$T/fetch.out" | jq .count)
echo "fetch_emails --days_back 0: $n messages, $fetch_req requests, $fetch_units units, $fetch_s s"

set -- $(run full --action sync --lookback_days 0)
cursor=$(tail -n 1 "$T/full.out" | jq -r .cursor)
echo "sync, full: $(tail -n 1 "$T/full.out" | jq .added) added, $1 requests, $2 units, $3 s"
for mode in ndjson json; do
	echo "sync, full, --output $mode: $("$RS" -n 1 -q -- "$W" \
	    --credentials "@$T/alice-access-token.json" --quota_units_per_sec 0 \
	    --action sync --lookback_days 0 --output $mode)"
done

# 10 changes: 4 new messages, 3 relabelled, 3 deleted.
ids=$(head -n 6 "$T/full.out" | jq -r .id)
for i in 1 2 3 4; do
	control deliver "{\"user\":\"$A\",\"eml\":\"From: b@example.com\\r\\nTo: $A\\r\\nSubject: bench $i\\r\\n\\r\\nx\\r\\n\"}" >/dev/null
done
i=0
for id in $ids; do
	i=$((i + 1))
	if [ $i -le 3 ]; then
		control modify "{\"user\":\"$A\",\"id\":\"$id\",\"addLabelIds\":[\"Label_Travel\"]}" >/dev/null
	else
		control delete "{\"user\":\"$A\",\"id\":\"$id\"}" >/dev/null
	fi
done

set -- $(run inc --action sync --cursor "$cursor")
inc_req=$1 inc_units=$2
echo "sync, incremental, 10 changes: $(tail -n 1 "$T/inc.out" | jq -c '[.added, .deleted, .labels]') (added, deleted, labels), $1 requests, $2 units, $3 s"
echo "ratio incremental/fetch: requests $(ratio "$inc_req" "$fetch_req"), units $(ratio "$inc_units" "$fetch_units")"
