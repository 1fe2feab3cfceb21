# Pacing below the quota: against a stand-in that enforces Gmail's
# per-user rate as a one-second token bucket (and the per-minute quota),
# runs of a large fetch paced to that quota get no 429 at all, even when
# one call reaches the server late (as a first request on a new
# connection may) so that the later ones arrive closer together than
# they left. Batches of 50 (250 units, a whole second of quota) leave no
# room to spare at the server.
. "$MV_TOP/tests/integration/lib.sh"
start_standin --generate 400 --quota-per-second 250 --quota-per-minute 15000 \
    --latency-ms 50

for run in 1 2 3; do
	control POST /_standin/reset >/dev/null
	faults '[{"path": "/messages/[0-9a-f]+$", "delay_ms": 100, "count": 1}]'
	gw --action fetch_emails --days_back 0 --max_results 400 \
	    --quota_units_per_sec 250 --batch_size 50 --output ndjson
	expect_rc 0
	expect_eq "$(tail -n 1 "$TMP/out" | jq .count)" 400 "count, run $run"
	expect_eq "$(control GET /_standin/stats | jq .quota_429)" 0 \
	    "429s in run $run"
	grep -q 'retrying' "$TMP/err" &&
	    fail "retries in run $run: $(cat "$TMP/err")"
done
exit 0
