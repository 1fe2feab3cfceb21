#!/bin/sh
# imap-worker fetch_emails and get_email against Dovecot: the stand-in's
# sample messages give the same EMAIL fields as gmail-worker gives from the
# Gmail stand-in (ids, labels, snippets and Gmail's own dates aside);
# folders by default and by --label; --max_results; formats; nothing marked
# read; --max_message_size; ids FOLDER/UIDVALIDITY/UID.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

start_standin
mailsrv_start "$TMP/mail"
mailsrv_deliver_samples
C=$MAILSRV_CREDS_IMAPS
unseen() {
	mailsrv_doveadm -f flow mailbox status -u "$MAILSRV_USER" unseen "$1"
}

# The same messages through both workers (see EMAIL_STRIP).
strip=$EMAIL_STRIP
gw --action fetch_emails --days_back 0 --include_spam_trash --max_results 500 \
    --format raw
expect_ok
jq "$strip" "$TMP/out" >"$TMP/gmail.json"
inbox_unseen=$(unseen INBOX)
iw "$C" --action fetch_emails --days_back 0 --include_spam_trash
expect_ok
jq "$strip" "$TMP/out" >"$TMP/imap.json"
expect_eq "$(jq length "$TMP/imap.json")" "$(jq length "$TMP/gmail.json")" \
    "messages through both workers"
cmp -s "$TMP/gmail.json" "$TMP/imap.json" || {
	diff "$TMP/gmail.json" "$TMP/imap.json" | head -40 >&2
	fail "EMAIL fields differ between gmail-worker and imap-worker"
}
expect_eq "$(jout .count)" "$(jout '.emails | length')" count
# Fetching marked nothing read (EXAMINE, BODY.PEEK).
expect_eq "$(unseen INBOX)" "$inbox_unseen" "INBOX unseen after fetching"

# Ids, labels and flags as IMAP gives them.
uv=$(mailsrv_doveadm -f flow mailbox status -u "$MAILSRV_USER" uidvalidity \
    INBOX | sed 's/.*uidvalidity=//')
jout '.emails[].id' | grep -q "^INBOX/$uv/[0-9]*$" || fail "no INBOX id"
jout '.emails[] | select(.id | startswith("INBOX/")) | .label_ids[0]' |
    sort -u | grep -qx INBOX || fail "label_ids[0] is not the folder"
n_unread=$(jout '[.emails[] | select(.id | startswith("INBOX/")) |
    select(.label_ids | index("UNREAD"))] | length')
expect_eq "INBOX unseen=$n_unread" "$(unseen INBOX)" "UNREAD labels"

# Default folders: not Junk, not Trash.
iw "$C" --action fetch_emails --days_back 0 && expect_ok
jout '.emails[].id' | grep -q '^\(Junk\|Trash\)/' && fail "Junk or Trash read"
iw "$C" --action fetch_emails --days_back 0 --label Junk && expect_ok
expect_eq "$(jout '[.emails[].id | startswith("Junk/")] | all')" true "--label Junk"
[ "$(jout .count)" -ge 1 ] || fail "nothing in Junk"
# --max_results, newest first.
iw "$C" --action fetch_emails --days_back 0 --label INBOX --max_results 3 \
    --output ndjson
expect_rc 0
expect_eq "$(head -n 3 "$TMP/out" | jq -r '.id' | cut -d/ -f1 | sort -u)" INBOX \
    "3 from INBOX"
expect_eq "$(tail -n 1 "$TMP/out" | jq -c '[.summary, .count]')" "[true,3]" summary
top=$(mailsrv_doveadm -f flow mailbox status -u "$MAILSRV_USER" uidnext INBOX |
    sed 's/.*uidnext=//')
expect_eq "$(head -n 1 "$TMP/out" | jq -r .id)" "INBOX/$uv/$((top - 1))" newest
# --days_back: the messages received in the last day only.
iw "$C" --action fetch_emails --days_back 1 --label INBOX && expect_ok
recent=$(jout .count)
iw "$C" --action fetch_emails --days_back 0 --label INBOX && expect_ok
[ "$recent" -lt "$(jout .count)" ] || fail "--days_back 1 gave $recent"
# A folder that does not exist.
iw "$C" --action fetch_emails --label Nope && expect_error not_found 65

# get_email: the same EMAIL as fetched; raw is the stored message.
iw "$C" --action fetch_emails --days_back 0 --label Work --max_results 1
id=$(jout '.emails[0].id')
jout '.emails[0]' >"$TMP/fetched.json"
iw "$C" --action get_email --id "$id" && expect_ok
jout .email | cmp -s - "$TMP/fetched.json" || fail "get_email differs"
iw "$C" --action get_email --id "$id" --format raw && expect_ok
uid=${id##*/}
mailsrv_doveadm fetch -u "$MAILSRV_USER" text mailbox Work uid "$uid" |
    sed '1d' >"$TMP/stored.eml"
jout .email.raw | tr '_-' '/+' | base64 -d 2>/dev/null >"$TMP/raw.eml" || true
cmp -s "$TMP/raw.eml" "$TMP/stored.eml" || fail "raw is not the message"
iw "$C" --action get_email --id "$id" --format metadata && expect_ok
expect_eq "$(jout '[.email.body_text, .email.body_html, .email.subject != ""] | @json')" \
    '[null,null,true]' metadata
iw "$C" --action get_email --id "Work/$uv/1" && expect_error not_found 65
iw "$C" --action get_email --id "Work/1/1/x" && expect_error invalid_argument 64
iw "$C" --action get_email --id "No%2FSuch/1/1" && expect_error not_found 65

# get_attachment: the same bytes as gmail-worker gets from the stand-in
# for the same attachment.
iw "$C" --action fetch_emails --days_back 0 --label INBOX
expect_ok
jout '[.emails[] | select(.attachments | map(select(.mime_type |
    test("^(text|message)/") | not)) | length > 0)][0]' >"$TMP/withatt.json"
mid=$(jq -r .message_id "$TMP/withatt.json")
iid=$(jq -r .id "$TMP/withatt.json")
aid=$(jq -r '[.attachments[] | select(.mime_type | test("^(text|message)/") |
    not)][0].attachment_id' "$TMP/withatt.json")
apos=$(jq -r "[.attachments[].attachment_id] | index(\"$aid\")" "$TMP/withatt.json")
iw "$C" --action get_attachment --id "$iid" --attachment_id "$aid" \
    --output_file "$TMP/imap.bin"
expect_ok
expect_eq "$(jout .size)" "$(stat -c %s "$TMP/imap.bin")" size
gw --action fetch_emails --days_back 0 --include_spam_trash --max_results 500
gid=$(jq -r ".emails[] | select(.message_id == \"$mid\") | .id" "$TMP/out")
gaid=$(jq -r ".emails[] | select(.message_id == \"$mid\") |
    .attachments[$apos].attachment_id" "$TMP/out")
gw --action get_attachment --id "$gid" --attachment_id "$gaid" \
    --output_file "$TMP/gmail.bin"
expect_ok
cmp -s "$TMP/imap.bin" "$TMP/gmail.bin" ||
    fail "attachment $aid of $mid differs between the workers"
RC=0
"$IMAPW" --credentials "@$C" --ca_file "$MAILSRV_CA" --action get_attachment \
    --id "$iid" --attachment_id "$aid" --output_file - >"$TMP/stdout.bin" \
    2>"$TMP/err" || RC=$?
expect_rc 0
cmp -s "$TMP/stdout.bin" "$TMP/imap.bin" || fail "--output_file - differs"
iw "$C" --action get_attachment --id "$iid" --attachment_id 99 \
    --output_file "$TMP/x.bin"
expect_error not_found 65
iw "$C" --action get_attachment --id "$iid" --attachment_id x \
    --output_file "$TMP/x.bin"
expect_error invalid_argument 64

# --max_message_size: a larger message gives its header only.
big=$(jq -r '[.emails[] | select(.size_estimate > 50000)][0].id' \
    "$TMP/out" 2>/dev/null || true)
iw "$C" --action fetch_emails --days_back 0 --label INBOX \
    --max_message_size 20000 && expect_ok
jout '[.emails[] | select(.too_large)] | length' | grep -qv '^0$' ||
    fail "no message past 20000 bytes marked too_large"
expect_eq "$(jout '[.emails[] | select(.too_large) | .body_text] | unique | @json')" \
    '[null]' "bodies of messages too large"
expect_eq "$(jout '[.emails[] | select(.too_large) | .subject != ""] | all')" \
    true "headers of messages too large"
# --label repeatable; --max_results over several folders takes the newest
# of them all, not the first folder's: a message arriving in Work now is
# among them, with the newest of INBOX.
iw "$C" --action fetch_emails --days_back 0 --label INBOX --label Work
expect_ok
jout '[.emails[].internal_date] | sort | reverse | .[0:2]' >"$TMP/newest.json"
printf 'From: Carol <carol@example.com>\r\nTo: alice@example.com\r\nSubject: just in\r\nMessage-ID: <just-in@example.com>\r\nDate: %s\r\n\r\nHello.\r\n' \
    "$(LC_ALL=C date -R)" >"$TMP/new.eml"
mailsrv_deliver "$TMP/new.eml" Work
iw "$C" --action fetch_emails --days_back 0 --label INBOX --label Work \
    --max_results 3 --output ndjson
expect_rc 0
expect_eq "$(tail -n 1 "$TMP/out" | jq -c '[.summary, .count]')" "[true,3]" \
    "summary of 3 over two folders"
expect_eq "$(sed '$d' "$TMP/out" | jq -r 'select(.id | startswith("Work/")) |
    .message_id')" "<just-in@example.com>" "the newest, in Work"
expect_eq "$(sed '$d' "$TMP/out" | jq -s -c '[.[] | select(.id |
    startswith("INBOX/")) | .internal_date] | sort | reverse')" \
    "$(jq -c . "$TMP/newest.json")" "with the two newest of INBOX and Work"
echo "t511 ok"
