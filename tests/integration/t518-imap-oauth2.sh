#!/bin/sh
# imap-worker logging in with OAuth2 against Dovecot that asks the Gmail
# API stand-in's /tokeninfo about tokens (tests/mailsrv.sh with
# MAILSRV_TOKENINFO_URL): an access token, and an authorized_user document
# refreshed at the stand-in's token endpoint, then AUTHENTICATE OAUTHBEARER
# (Dovecot offers it) or XOAUTH2 as the document's "mechanism" says; the
# mail read as with a password; another user's token and an unknown one
# refused (auth) by either mechanism; ping's token_expires_in; no token or
# secret printed.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

start_standin
MAILSRV_TOKENINFO_URL="$STANDIN_URL/tokeninfo?access_token="
mailsrv_start "$TMP/mail"
mailsrv_deliver_samples
secret=$(jq -r .client_secret "$TMP/creds/alice-authorized-user.json")
static=$(jq -r .access_token "$TMP/creds/alice-access-token.json")
clean() {
	! grep -qF "$secret" "$TMP/out" "$TMP/err" || fail "secret printed"
	! grep -qF "$static" "$TMP/out" "$TMP/err" || fail "token printed"
}

# with_mech FILE MECH: FILE's document with oauth2.mechanism MECH.
with_mech() {
	jq --arg m "$2" '.oauth2.mechanism = $m' "$1" >"$1.$2"
	chmod 600 "$1.$2"
	echo "$1.$2"
}
# logins METHOD: how many logins Dovecot logged by METHOD.
logins() {
	grep -c "Login: user=<.*method=$1" "$MAILSRV_LOG" || true
}

# A static access token: OAUTHBEARER, offered by the server, by default.
TOK=$(mailsrv_creds_oauth2 "$TMP/creds/alice-access-token.json" static)
iw "$TOK" --action ping && expect_ok && clean
expect_eq "$(logins OAUTHBEARER)" 1 "OAUTHBEARER logins"
expect_eq "$(logins XOAUTH2)" 0 "XOAUTH2 logins"
iw "$TOK" --action fetch_emails --days_back 0 --label INBOX && expect_ok
n=$(jout .count)
[ "$n" -gt 0 ] || fail "nothing fetched with a token"

# The same token with "mechanism": "xoauth2", then "oauthbearer".
iw "$(with_mech "$TOK" xoauth2)" --action fetch_emails --days_back 0 \
    --label INBOX && expect_ok && clean
expect_eq "$(jout .count)" "$n" "fetched by XOAUTH2"
expect_eq "$(logins XOAUTH2)" 1 "XOAUTH2 logins"
iw "$(with_mech "$TOK" oauthbearer)" --action ping && expect_ok && clean
expect_eq "$(logins OAUTHBEARER)" 3 "OAUTHBEARER logins"
iw "$(with_mech "$TOK" plain)" --action ping &&
    expect_error bad_credentials 78

# An authorized_user document: one refresh grant, then XOAUTH2.
REF=$(mailsrv_creds_oauth2 "$TMP/creds/alice-authorized-user.json" refresh)
RC=0
"$IMAPW" --credentials "@$REF" --ca_file "$MAILSRV_CA" \
    --token_uri "$STANDIN_URL/token" --action ping >"$TMP/out" \
    2>"$TMP/err" || RC=$?
expect_ok
clean
[ "$(jout .token_expires_in)" -gt 0 ] || fail "token_expires_in $(jout .token_expires_in)"
expect_eq "$(jq -s '[.[] | select(.path == "/token")] | length' "$STANDIN_LOG")" 1 \
    "token requests"
RC=0
"$IMAPW" --credentials "@$REF" --ca_file "$MAILSRV_CA" \
    --token_uri "$STANDIN_URL/token" --action fetch_emails --days_back 0 \
    --label INBOX >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok
expect_eq "$(jout .count)" "$n" "fetched with a refreshed token"

# Bob's token for alice, and an unknown one: auth.
jq -r '.accounts[] | select(.email == "bob@example.com") | .access_token' \
    "$MV_TOP/tests/standin/accounts.json" |
    jq -R '{access_token: .}' >"$TMP/bob-token.json"
BOB=$(mailsrv_creds_oauth2 "$TMP/bob-token.json" bob)
iw "$BOB" --action ping && expect_error auth 77
printf '{"access_token": "ya29.standin-unknown"}\n' >"$TMP/unknown.json"
UNK=$(mailsrv_creds_oauth2 "$TMP/unknown.json" unknown)
iw "$UNK" --action ping && expect_error auth 77
grep -q "OAUTHBEARER refused" "$TMP/out" || fail "not said: $(cat "$TMP/out")"
clean
iw "$(with_mech "$UNK" xoauth2)" --action ping && expect_error auth 77
clean
iw "$(with_mech "$BOB" oauthbearer)" --action ping && expect_error auth 77
clean
echo "t518 ok"
