#!/bin/sh
# imap-worker with a pop3 document against Dovecot's POP3S and POP3 with
# STLS: ping; fetch_emails gives INBOX's messages with the same EMAIL
# fields as over IMAP (ids, labels and arrival aside), newest first;
# --max_results; sync over UIDL (a full sync, then exactly what arrived,
# a deletion named from the UIDLs the cursor lists, a full sync with a
# reason when the cursor's message is gone from a cursor of before, or a
# message deleted that a cursor holding only the count and hash of its
# UIDLs cannot name);
# delete (--confirm, DELE then QUIT); the actions POP3 cannot do refused.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

mailsrv_start "$TMP/mail"
mailsrv_deliver_samples
P=$MAILSRV_CREDS_POP3S
U=$MAILSRV_USER
inbox() {
	mailsrv_doveadm -f flow mailbox status -u "$U" messages INBOX |
	    sed 's/.*messages=//'
}

iw "$P" --action ping && expect_ok
iw "$MAILSRV_CREDS_POP3_STARTTLS" --action ping && expect_ok

iw "$P" --action fetch_emails --days_back 0
expect_ok
expect_eq "$(jout .count)" "$(inbox)" "messages over POP3"
jout '.emails[].id' | grep -qv '^pop3:' && fail "an id not pop3:UIDL"
strip='[.emails[] | del(.id, .thread_id, .label_ids, .history_id,
    .internal_date)] | sort_by(.message_id)'
jq "$strip" "$TMP/out" >"$TMP/pop3.json"
iw "$MAILSRV_CREDS_IMAPS" --action fetch_emails --days_back 0 --label INBOX
expect_ok
jq "$strip" "$TMP/out" >"$TMP/imap.json"
cmp -s "$TMP/pop3.json" "$TMP/imap.json" || {
	diff "$TMP/pop3.json" "$TMP/imap.json" | head -20 >&2
	fail "EMAIL fields differ between POP3 and IMAP"
}
iw "$P" --action fetch_emails --days_back 0 --max_results 2 --output ndjson
expect_rc 0
expect_eq "$(wc -l <"$TMP/out")" 3 "lines with --max_results 2"

# sync over UIDL.
iw "$P" --action sync --lookback_days 0
expect_rc 0
expect_eq "$(tail -n 1 "$TMP/out" | jq -r '[.full_sync, .added] | @tsv')" \
    "$(printf 'true\t%s' "$(inbox)")" "full sync"
cur=$(tail -n 1 "$TMP/out" | jq -r .cursor)
iw "$P" --action sync --cursor "$cur"
expect_eq "$(wc -l <"$TMP/out")" 1 "nothing new"
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml"
iw "$P" --action sync --cursor "$cur"
expect_rc 0
expect_eq "$(jq -r 'select(.change == "added") | .email.message_id' "$TMP/out")" \
    "<plain-ascii-01@example.com>" "the new message"
cur2=$(tail -n 1 "$TMP/out" | jq -r .cursor)
new=$(jq -r 'select(.change == "added") | .id' "$TMP/out")

# delete: --confirm; the message is gone; the cursor's message gone means
# a full sync with a reason.
iw "$P" --action delete --id "$new"
expect_error invalid_argument 64
n=$(inbox)
iw "$P" --action delete --confirm --id "$new" && expect_ok
expect_eq "$(inbox)" $((n - 1)) "INBOX after delete"
iw "$P" --action delete --confirm --id "$new"
expect_error not_found 65
# The cursor lists the UIDLs it saw: the deletion is named.
printf '%s' "$cur2" | grep -q '^pop31;pop3:[^;]*;l[^;]*$' ||
    fail "POP3 cursor with its UIDLs: $cur2"
iw "$P" --action sync --cursor "$cur2"
expect_rc 0
expect_eq "$(tail -n 1 "$TMP/out" | jq -r '[.full_sync, .added, .deleted] | @tsv')" \
    "$(printf 'false\t0\t1')" "one deleted over POP3"
expect_eq "$(jq -r 'select(.change == "deleted") | .id' "$TMP/out")" "$new" \
    "deleted over POP3"
cur3=$(tail -n 1 "$TMP/out" | jq -r .cursor)
iw "$P" --action sync --cursor "$cur3"
expect_eq "$(wc -l <"$TMP/out")" 1 "nothing new after the deletion"
# A cursor of before (the newest message alone): a full sync with a reason.
iw "$P" --action sync --cursor "${cur2%;*}"
expect_rc 0
expect_eq "$(tail -n 1 "$TMP/out" | jq -r '[.full_sync, .reason] | @tsv')" \
    "$(printf 'true\tthe newest message the cursor saw is gone from the server')" \
    "cursor's message gone"
# More UIDLs than the cursor lists: their count (56: "1k") and hash;
# nothing changed is nothing, a message deleted means a full sync with a
# reason.
mailsrv_generate 30 INBOX
iw "$P" --action sync --cursor "$cur3"
expect_eq "$(tail -n 1 "$TMP/out" | jq -r '[.full_sync, .added, .deleted] | @tsv')" \
    "$(printf 'false\t30\t0')" "30 new over POP3"
cur4=$(tail -n 1 "$TMP/out" | jq -r .cursor)
printf '%s' "$cur4" | grep -q '^pop31;pop3:[^;]*;h1k\.[0-9a-z]*$' ||
    fail "POP3 cursor as a hash: $cur4"
[ ${#cur4} -le 1024 ] || fail "POP3 cursor of ${#cur4} bytes"
iw "$P" --action sync --cursor "$cur4"
expect_eq "$(wc -l <"$TMP/out")" 1 "nothing new with a hash"
mailsrv_doveadm expunge -u "$U" mailbox INBOX uid 2
iw "$P" --action sync --cursor "$cur4" --lookback_days 0
expect_rc 0
expect_eq "$(tail -n 1 "$TMP/out" | jq -r '[.full_sync, .reason, .added] | @tsv')" \
    "$(printf 'true\tmessages were deleted, which the cursor cannot name\t%s' "$(inbox)")" \
    "POP3 deletion that cannot be named"

iw "$P" --action list_labels
expect_error invalid_argument 64
iw "$P" --action sync --cursor 'imap1;INBOX,1,1,1'
expect_error invalid_argument 64
echo "t517 ok"
