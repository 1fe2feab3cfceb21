# Transient failures are retried (429 with a retry time, 500s, 403
# rate limits, dropped connections, inside batches too); an expired token is
# renewed once; beyond --max_wait the caller gets rate_limited+retry_after.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

gw --action fetch_emails --days_back 3
n=$(jout .count)

faults '[{"path": "/messages$", "status": 500, "count": 2, "reason": "backendError"}]'
gw --action fetch_emails --days_back 3
expect_ok
expect_eq "$(jout .count)" "$n" "count after 500s"
grep -q 'retrying in' "$TMP/err" || fail "no retry logged"

faults '[{"path": "/messages/[0-9a-f]+$", "status": 429, "count": 5, "retry_after": 1}]'
gw --action fetch_emails --days_back 3
expect_ok
expect_eq "$(jout .count)" "$n" "count after 429s in batches"

faults '[{"path": "/profile$", "status": 403, "count": 1, "reason": "userRateLimitExceeded"}]'
gw --action get_profile
expect_ok

faults '[{"path": "/profile$", "drop": true, "count": 1}]'
gw --action get_profile
expect_ok

faults '[{"path": "/profile$", "status": 429, "count": 1, "retry_after_in_message": 2}]'
gw --action get_profile
expect_ok

# Longer than --max_wait: rate_limited at once, with retry_after.
faults '[{"path": "/profile$", "status": 429, "count": -1, "retry_after_in_message": 900}]'
start=$(date +%s)
gw --action get_profile --max_wait 10
expect_error rate_limited 75
[ $(( $(date +%s) - start )) -le 3 ] || fail "waited although retry_after > max_wait"
ra=$(jout .error.retry_after)
[ "$ra" -ge 890 ] && [ "$ra" -le 900 ] || fail "retry_after $ra"
expect_eq "$(jout .error.retryable)" true retryable
control DELETE /_standin/faults >/dev/null

# 5xx that never ends: api after the budget.
faults '[{"path": "/profile$", "status": 503, "count": -1}]'
gw --action get_profile --max_wait 2
expect_error api 69
expect_eq "$(jout .error.http_status)" 503 http_status
control DELETE /_standin/faults >/dev/null

# Tokens expire mid-run: renewed once, the call retried.
gw --action get_profile
expect_ok
control POST /_standin/expire-tokens >/dev/null
gw --action fetch_emails --days_back 3
expect_ok
expect_eq "$(jout .count)" "$n" "count after token expiry"
# Inner batch calls refused with 401: fetched again, with a new token.
faults '[{"path": "/messages/[0-9a-f]+$", "status": 401, "count": 3}]'
gw --action fetch_emails --days_back 3
expect_ok
expect_eq "$(jout .count)" "$n" "count after 401s inside batches"
faults '[{"path": "/profile$", "status": 401, "count": 1}]'
before=$(log_count '.path == "/token"')
gw --action get_profile
expect_ok
after=$(log_count '.path == "/token"')
expect_eq $((after - before)) 2 "token requests (mint, then renew once)"

# A static token that expired cannot be renewed: auth.
control POST /_standin/expire-tokens >/dev/null
gw_as alice-access-token.json --action get_profile
expect_error auth 77
no_secrets "$TMP/out" "$TMP/err"
