#!/bin/sh
# imap-worker send_email through the submission server of tests/mailsrv.sh:
# STARTTLS and AUTH with the test CA, the envelope from To, Cc and Bcc, the
# Bcc field not sent, the MIME composition gmail-worker uses (an
# attachment), --raw_file, --save_sent APPENDing a copy to Sent (its id
# FOLDER/UIDVALIDITY/UID), plaintext refused, a certificate from a CA
# not trusted refused, a wrong password. The password never shows.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

mailsrv_start "$TMP/mail"
mailsrv_smtp_start "$TMP/mail"
C=$MAILSRV_CREDS_IMAPS
PW=$(cat "$MAILSRV_PASSWORD_FILE")
nopw() {
	! grep -qF "$PW" "$TMP/out" "$TMP/err" || fail "password printed"
}
last() {	# the last message the server kept: .json or .eml
	ls "$MAILSRV_SMTP_OUT"/*."$1" | tail -n 1
}

printf 'the attached file\n' >"$TMP/notes.txt"
iw "$C" --action send_email --to 'Bob <bob@example.com>' \
    --cc carol@example.com --bcc dave@example.com --subject 'Grüße' \
    --body 'Hello Bob' --attach "$TMP/notes.txt"
expect_ok
nopw
expect_eq "$(jout '[.id, .thread_id, (.label_ids | length)] | @json')" \
    '[null,null,0]' "result without --save_sent"
mid=$(jout .message_id)
expect_eq "$(jq -c '[.mail_from, (.rcpt_tos | sort), .auth_user, .tls]' "$(last json)")" \
    "[\"$MAILSRV_USER\",[\"bob@example.com\",\"carol@example.com\",\"dave@example.com\"],\"$MAILSRV_USER\",true]" \
    envelope
eml=$(last eml)
grep -qi '^Bcc:' "$eml" && fail "the Bcc field was sent"
grep -q '^Subject: =?UTF-8?' "$eml" || fail "subject not encoded: $(grep Subject "$eml")"
grep -q 'filename="notes.txt"' "$eml" || fail "no attachment"
grep -qF "Message-ID: $mid" "$eml" || fail "message_id $mid not the sent one"

# --raw_file: sent as it is (but Bcc), the envelope from its fields.
printf 'From: %s\r\nTo: erin@example.com\r\nBcc: frank@example.com\r\nSubject: raw\r\nMessage-ID: <raw-1@example.com>\r\n\r\nraw body\r\n' \
    "$MAILSRV_USER" >"$TMP/raw.eml"
iw "$C" --action send_email --raw_file "$TMP/raw.eml" --save_sent
expect_ok
expect_eq "$(jq -c '.rcpt_tos | sort' "$(last json)")" \
    '["erin@example.com","frank@example.com"]' "raw envelope"
grep -v '^Bcc:' "$TMP/raw.eml" | cmp -s - "$(last eml)" ||
    fail "raw not sent as it is"
# --save_sent: a copy in Sent, read, with the id given.
id=$(jout .id)
expect_eq "$(jout '.label_ids | @json')" '["Sent"]' label_ids
uv=$(mailsrv_doveadm -f flow mailbox status -u "$MAILSRV_USER" uidvalidity \
    Sent | sed 's/.*uidvalidity=//')
case $id in "Sent/$uv/"*) ;; *) fail "id $id" ;; esac
iw "$C" --action get_email --id "$id"
expect_ok
expect_eq "$(jout '[.email.message_id, .email.subject, (.email.label_ids | index("UNREAD"))] | @json')" \
    '["<raw-1@example.com>","raw",null]' "the copy in Sent"

# Refusals.
iw "$C" --action send_email --subject x --body y
expect_error invalid_argument 64
jq '.smtp.security = "none" | .smtp.port = 1' "$C" >"$TMP/plain.json"
chmod 600 "$TMP/plain.json"
iw "$TMP/plain.json" --action send_email --to bob@example.com --body x
expect_error invalid_argument 64
jq 'del(.smtp)' "$C" >"$TMP/nosmtp.json"
chmod 600 "$TMP/nosmtp.json"
iw "$TMP/nosmtp.json" --action send_email --to bob@example.com --body x
expect_error invalid_argument 64
# A certificate from a CA not trusted: nothing sent. (Without --save_sent
# no IMAP connection is made.)
n=$(ls "$MAILSRV_SMTP_OUT"/*.eml | wc -l)
RC=0
"$IMAPW" --credentials "@$C" --ca_file /etc/ssl/certs/ca-certificates.crt \
    --action send_email --to bob@example.com --body x >"$TMP/out" \
    2>"$TMP/err" || RC=$?
expect_error network 75
expect_eq "$(jout .error.retryable)" false retryable
expect_eq "$(ls "$MAILSRV_SMTP_OUT"/*.eml | wc -l)" "$n" "messages after a refused certificate"
jq '.password = "wrong-password-123"' "$C" >"$TMP/badpw.json"
chmod 600 "$TMP/badpw.json"
iw "$TMP/badpw.json" --action send_email --to bob@example.com --body x
expect_error auth 77
nopw
echo "t516 ok"
