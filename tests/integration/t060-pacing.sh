# Pacing: with the stand-in enforcing a per-user quota over a rolling
# minute, a paced fetch that needs more than a minute's budget gets no 429
# at all; the same fetch unpaced does run into the quota (so the check
# means something). Takes a little over a minute by design.
. "$MV_TOP/tests/integration/lib.sh"
start_standin --generate 400 --quota-per-minute 1500

# Unpaced: bursts through the budget and is refused.
RC=0
"$WORKER" --credentials "@$TMP/creds/alice-authorized-user.json" \
    --action fetch_emails --days_back 0 --max_results 330 \
    --quota_units_per_sec 0 --max_wait 1 >"$TMP/out" 2>"$TMP/err" || RC=$?
[ "$(control GET /_standin/stats | jq .quota_429)" -gt 0 ] ||
    fail "the stand-in refused nothing: the quota is not enforced"
control POST /_standin/reset >/dev/null

# Paced to 25 units/s = 1500 a minute: 1656 units, no 429.
gw --action fetch_emails --days_back 0 --max_results 330 \
    --quota_units_per_sec 25
expect_ok
expect_eq "$(jout .count)" 330 count
expect_eq "$(control GET /_standin/stats | jq .quota_429)" 0 "429s while paced"
grep -q 'retrying' "$TMP/err" && fail "retries while paced: $(cat "$TMP/err")"
exit 0
