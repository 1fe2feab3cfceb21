#!/bin/sh
# imap-worker logging in with OAuth2 against Dovecot that asks the Gmail
# API stand-in's /tokeninfo about tokens (tests/mailsrv.sh with
# MAILSRV_TOKENINFO_URL): an access token, and an authorized_user document
# refreshed at the stand-in's token endpoint, then AUTHENTICATE XOAUTH2;
# the mail read as with a password; another user's token and an unknown
# one refused (auth); ping's token_expires_in; no token or secret printed.
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

# A static access token.
TOK=$(mailsrv_creds_oauth2 "$TMP/creds/alice-access-token.json" static)
iw "$TOK" --action ping && expect_ok && clean
iw "$TOK" --action fetch_emails --days_back 0 --label INBOX && expect_ok
n=$(jout .count)
[ "$n" -gt 0 ] || fail "nothing fetched with a token"

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
clean
echo "t518 ok"
