#!/bin/sh
# imap-worker against Dovecot: IMAPS and STARTTLS with the test CA, plain
# IMAP only with --allow_plaintext, certificates that fail (another name,
# no CA) refused before any login, a wrong password, an unreachable port;
# ping, get_profile and list_labels with special-use roles and counts. The
# password never shows on stdout or stderr.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

mailsrv_start "$TMP/mail"
mailsrv_deliver_samples
PW=$(cat "$MAILSRV_PASSWORD_FILE")
nopw() {
	! grep -qF "$PW" "$TMP/out" "$TMP/err" || fail "password printed"
}
logins() {
	grep -c 'imap-login: Info: Login:' "$MAILSRV_LOG" || true
}

iw "$MAILSRV_CREDS_IMAPS" --action ping && expect_ok && nopw
expect_eq "$(jout .user_email)" "$MAILSRV_USER" user_email
expect_eq "$(jout .token_expires_in)" null token_expires_in
iw "$MAILSRV_CREDS_STARTTLS" --action ping && expect_ok && nopw

# security none: refused without the flag, before connecting.
iw "$MAILSRV_CREDS_PLAIN" --action ping && expect_error invalid_argument 64
jout .error.message | grep -q allow_plaintext || fail "no hint"
iw "$MAILSRV_CREDS_PLAIN" --action ping --allow_plaintext && expect_ok

# Certificates that fail: network, not retryable, and no LOGIN sent.
before=$(logins)
iw "$MAILSRV_CREDS_WRONGNAME" --action ping && expect_error network 75
expect_eq "$(jout .error.retryable)" false retryable
jout .error.message | grep -q 'fails verification' || fail "$(jout .error.message)"
iw "$MAILSRV_CREDS_SELFSIGNED" --action ping && expect_error network 75
expect_eq "$(jout .error.retryable)" false retryable
# Without --ca_file the test CA is unknown.
RC=0
"$IMAPW" --credentials "@$MAILSRV_CREDS_IMAPS" --action ping >"$TMP/out" \
    2>"$TMP/err" || RC=$?
expect_error network 75
expect_eq "$(logins)" "$before" "logins after refused certificates"

# A wrong password: auth.
jq '.password = "not-the-password"' "$MAILSRV_CREDS_IMAPS" >"$TMP/bad.json"
chmod 600 "$TMP/bad.json"
iw "$TMP/bad.json" --action ping && expect_error auth 77 && nopw
# Nothing listening: network, retryable.
jq ".port = $(free_port)" "$MAILSRV_CREDS_IMAPS" >"$TMP/closed.json"
chmod 600 "$TMP/closed.json"
iw "$TMP/closed.json" --action ping && expect_error network 75
expect_eq "$(jout .error.retryable)" true retryable
# Credentials: inline refused, bad documents named.
RC=0
"$IMAPW" --action ping --credentials '{"type":"imap"}' >"$TMP/out" \
    2>"$TMP/err" || RC=$?
expect_error invalid_argument 64
jq 'del(.host)' "$MAILSRV_CREDS_IMAPS" >"$TMP/nohost.json"
chmod 600 "$TMP/nohost.json"
iw "$TMP/nohost.json" --action ping && expect_error bad_credentials 78
jout .error.message | grep -q "'host'" || fail "$(jout .error.message)"
iw "$TMP/none.json" --action ping && expect_error no_input 66
# From stdin, and from IMAP_WORKER_CREDENTIALS.
RC=0
"$IMAPW" --action ping --credentials - --ca_file "$MAILSRV_CA" \
    <"$MAILSRV_CREDS_IMAPS" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok
RC=0
IMAP_WORKER_CREDENTIALS="@$MAILSRV_CREDS_IMAPS" "$IMAPW" --action ping \
    --ca_file "$MAILSRV_CA" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok

# list_labels: every folder, special-use roles, counts as Dovecot's.
iw "$MAILSRV_CREDS_IMAPS" --action list_labels && expect_ok
for r in inbox:INBOX sent:Sent drafts:Drafts junk:Junk trash:Trash \
    archive:Archive; do
	expect_eq "$(jout ".labels[] | select(.role == \"${r%%:*}\") | .name")" \
	    "${r#*:}" "role ${r%%:*}"
done
expect_eq "$(jout '.labels[] | select(.name == "Work") | [.type, .role] | @tsv')" \
    "$(printf 'user\t')" "Work"
for f in INBOX Work Junk; do
	st=$(mailsrv_doveadm -f flow mailbox status -u "$MAILSRV_USER" \
	    'messages unseen' "$f")
	expect_eq "$f $(jout ".labels[] | select(.name == \"$f\") | \"messages=\(.messages_total) unseen=\(.messages_unread)\"")" \
	    "$st" "counts of $f"
done
# ndjson: one line per folder, then the summary.
iw "$MAILSRV_CREDS_IMAPS" --action list_labels --output ndjson
expect_rc 0
n=$(jq -s 'length' "$TMP/out")
expect_eq "$(tail -n 1 "$TMP/out" | jq -r .summary)" true summary
[ "$n" -ge 9 ] || fail "$n lines"

# get_profile: the address and the messages of every folder but All.
iw "$MAILSRV_CREDS_IMAPS" --action get_profile && expect_ok
expect_eq "$(jout .email_address)" "$MAILSRV_USER" email_address
[ "$(jout .messages_total)" -gt 26 ] || fail "messages_total $(jout .messages_total)"
nopw

# oauth2: an authorized_user document refreshed at the stand-in's token
# endpoint, then AUTHENTICATE XOAUTH2, which this Dovecot (no OAuth2
# passdb) refuses: auth. An access token goes straight to XOAUTH2. No
# secret shows.
start_standin
jq --slurpfile a "$TMP/creds/alice-authorized-user.json" \
    'del(.password) | .oauth2 = $a[0]' "$MAILSRV_CREDS_IMAPS" >"$TMP/oauth.json"
chmod 600 "$TMP/oauth.json"
secret=$(jq -r .client_secret "$TMP/creds/alice-authorized-user.json")
RC=0
"$IMAPW" --credentials "@$TMP/oauth.json" --ca_file "$MAILSRV_CA" \
    --token_uri "$STANDIN_URL/token" --action ping >"$TMP/out" \
    2>"$TMP/err" || RC=$?
expect_error auth 77
jout .error.message | grep -q 'AUTHENTICATE XOAUTH2' || fail "$(jout .error.message)"
expect_eq "$(jq -s '[.[] | select(.path == "/token")] | length' "$STANDIN_LOG")" 1 \
    "token requests"
! grep -qF "$secret" "$TMP/out" "$TMP/err" || fail "client secret printed"
jq 'del(.password) | .oauth2 = {"access_token": "ya29.not-a-real-token"}' \
    "$MAILSRV_CREDS_IMAPS" >"$TMP/token.json"
chmod 600 "$TMP/token.json"
iw "$TMP/token.json" --action ping
expect_error auth 77
! grep -q 'ya29.not-a-real-token' "$TMP/out" "$TMP/err" || fail "token printed"
# password and oauth2 together: bad_credentials.
jq '.oauth2 = {"access_token": "x"}' "$MAILSRV_CREDS_IMAPS" >"$TMP/both.json"
chmod 600 "$TMP/both.json"
iw "$TMP/both.json" --action ping && expect_error bad_credentials 78
echo "t510 ok"
