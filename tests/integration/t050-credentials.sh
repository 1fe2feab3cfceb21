# The credentials of contract §1: files, stdin, the environment, inline
# JSON refused, the permission warning, the three formats, and what each
# sends to the token endpoint.
. "$MV_TOP/tests/integration/lib.sh"
start_standin
A=$TMP/creds/alice-authorized-user.json

# authorized_user: the refresh grant, secrets never logged.
gw --action ping
expect_ok
expect_eq "$(jout .user_email)" alice@example.com user_email
[ "$(jout .token_expires_in)" -gt 3000 ] || fail "token_expires_in"
jq -s -e '[.[] | select(.path == "/token")][-1].body.grant_type == "refresh_token"' "$STANDIN_LOG" >/dev/null ||
    fail "no refresh grant"

# access_token: used as it is, no token request.
before=$(log_count '.path == "/token"')
gw_as alice-access-token.json --action ping
expect_ok
expect_eq "$(log_count '.path == "/token"')" "$before" "token requests for a static token"
expect_eq "$(jout .token_expires_in)" null "token_expires_in of a static token"

# service_account: a JWT for the user, with the scope the action needs.
gw_as service-account.json --action ping --user_email carol@example.com
expect_ok
expect_eq "$(jout .user_email)" carol@example.com user_email
jq -s -e '[.[] | select(.path == "/token")][-1].body | .grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer" and .claims.sub == "carol@example.com" and .claims.scope == "https://www.googleapis.com/auth/gmail.readonly" and (.claims.exp - .claims.iat) == 3600' "$STANDIN_LOG" >/dev/null ||
    fail "JWT claims: $(jq -s -c '[.[] | select(.path == "/token")][-1].body' "$STANDIN_LOG")"
gw_as service-account.json --action trash --id 0123456789abcdef --user_email carol@example.com
jq -s -e '[.[] | select(.path == "/token")][-1].body.claims.scope == "https://www.googleapis.com/auth/gmail.modify"' "$STANDIN_LOG" >/dev/null ||
    fail "trash asks for gmail.modify"
gw_as service-account.json --action ping
expect_error invalid_argument 64
gw_as service-account.json --action ping --user_email mallory@elsewhere.example
expect_error auth 77

# stdin and the environment.
RC=0
"$WORKER" --credentials - --action ping <"$A" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok
RC=0
GMAIL_WORKER_CREDENTIALS="@$A" "$WORKER" --action ping >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok
RC=0
GMAIL_WORKER_CREDENTIALS=- "$WORKER" --action ping <"$A" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok
RC=0
env -u GMAIL_WORKER_CREDENTIALS "$WORKER" --action ping >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_error invalid_argument 64

# Inline JSON in argv is refused, and never echoed.
RC=0
"$WORKER" --credentials "$(cat "$A")" --action ping >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_error invalid_argument 64
grep -q 'inline credentials refused' "$TMP/out" || fail "no reason given"
no_secrets "$TMP/out" "$TMP/err"

# A credentials file others can read: warned about, still used.
chmod 644 "$A"
gw --action ping
expect_ok
grep -q 'readable by group or others' "$TMP/err" || fail "no warning: $(cat "$TMP/err")"
chmod 600 "$A"
gw --action ping
[ ! -s "$TMP/err" ] || fail "stderr not empty: $(cat "$TMP/err")"

# Nothing secret in the worker's output or the stand-in's log.
no_secrets "$TMP/out" "$TMP/err" "$STANDIN_LOG"
