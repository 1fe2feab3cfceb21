# Every error type of the contract, its exit code and its envelope.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

# 64 invalid_argument
gw
expect_error invalid_argument 64
expect_eq "$(jout .action)" null "action of a run without one"
gw --action no_such_action
expect_error invalid_argument 64
gw --action fetch_emails --days_back -3
expect_error invalid_argument 64
gw --action fetch_emails --output yaml
expect_error invalid_argument 64
gw --action fetch_emails --quota_profile 2027
expect_error invalid_argument 64
gw --action ping --bogus-option
expect_error invalid_argument 64
grep -q 'unknown option --bogus-option' "$TMP/err" || fail "no message on stderr"

# 65 not_found, history_expired: see t022, t030. 66 no_input:
gw_as does-not-exist.json --action ping
expect_error no_input 66
# 69 api: see t023. 70 internal: see t033.

# 75 timeout: an answer slower than --timeout, every time.
faults '[{"path": "/profile$", "delay_ms": 3000, "count": -1}]'
gw --action get_profile --timeout 1 --max_wait 2
expect_error timeout 75
expect_eq "$(jout .error.retryable)" true retryable
control DELETE /_standin/faults >/dev/null

# 75 network: nothing listens there.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
gw --action get_profile --api-base "http://127.0.0.1:$port" --max_wait 1
expect_error network 75

# 75 rate_limited: see t023.
# 77 auth: a refresh token Google no longer honours.
jq '.refresh_token = "revoked-token"' "$TMP/creds/alice-authorized-user.json" >"$TMP/creds/revoked.json"
chmod 600 "$TMP/creds/revoked.json"
gw_as revoked.json --action ping
expect_error auth 77
grep -q invalid_grant "$TMP/out" || fail "the auth error does not say invalid_grant"
# A refused token is not worth a retry, and has no retry time.
[ "$(jq -c '[.error.retryable, .error.retry_after]' "$TMP/out")" = '[false,null]' ] ||
	fail "auth error: retryable/retry_after wrong: $(cat "$TMP/out")"
# 77 permission: a 403 that is no rate limit.
faults '[{"path": "/profile$", "status": 403, "count": 1, "reason": "insufficientPermissions"}]'
gw --action get_profile
expect_error permission 77
expect_eq "$(jout .error.retryable)" false retryable

# 78 bad_credentials
printf '{"type": "authorized_user", "client_id": "x"' >"$TMP/creds/trunc.json"
printf '{"type": "magic_user", "token": "x"}' >"$TMP/creds/type.json"
printf '{"type": "authorized_user", "client_id": 7, "client_secret": "s", "refresh_token": "r"}' >"$TMP/creds/types.json"
printf '{"type": "service_account", "client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"}' >"$TMP/creds/key.json"
chmod 600 "$TMP/creds"/*.json
for f in trunc type types key; do
	gw_as $f.json --action ping --user_email alice@example.com
	expect_error bad_credentials 78
done
no_secrets "$TMP/out" "$TMP/err"
