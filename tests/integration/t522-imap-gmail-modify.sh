#!/bin/sh
# imap-worker's modifying actions against a Gmail-like IMAP server
# (tests/standin/imap-gmail, X-GM-EXT-1): labels are X-GM-LABELS, stored on
# the message where its id is (UID STORE +/-X-GM-LABELS, never a COPY or a
# MOVE into a label's folder), INBOX as "\\Inbox", a user label in modified
# UTF-7, STARRED and UNREAD as \Flagged and \Seen; archive removes \Inbox
# and keeps the other labels; trash and untrash MOVE to [Gmail]/Trash and
# back; each result {"modified": N}; the mailbox's state checked after each
# (the stand-in's --state, and the labels read back by get_email); a label
# not known refused before anything is stored; list_labels by the API's
# label ids, with counts.
. "$MV_TOP/tests/integration/lib.sh"

start_imap_gmail --state "$TMP/state.json"
# state FILE: the stand-in's labels and flags of one message (compact).
state() {
	jq -c --arg n "$1" '.[$n] | [.labels, (.flags | sort)]' "$TMP/state.json"
}
# expect_stored LINES WHAT: the STORE, MOVE and COPY commands the stand-in
# got since the last mark were LINES; then a mark.
LOGPOS=0
uid_lines() {
	jq -r 'select(.command == "UID") | .line | sub("^[0-9]+ "; "")' \
	    "$STANDIN_LOG"
}
mark() {
	LOGPOS=$(uid_lines | wc -l)
}
expect_stored() {
	expect_eq "$(uid_lines | tail -n +$((LOGPOS + 1)) |
	    grep -v '^UID FETCH\|^UID SEARCH' || true)" "$1" "$2"
	mark
}
# labels ID: the label_ids get_email reads back.
labels() {
	gi --action get_email --id "$1" && expect_ok
	jq -c .email.label_ids "$TMP/out"
}
expect_modified() {
	expect_ok
	expect_eq "$(jq -c '[.status, .action, .modified]' "$TMP/out")" \
	    "[\"success\",\"$1\",$2]" "$1's result"
}
ALL=%5BGmail%5D%2FAll%20Mail
gi --action fetch_emails --days_back 0 && expect_ok
id_of() {
	jq -r --arg s "$1" '.emails[] | select(.subject == $s) | .id' \
	    "$TMP/fetched.json"
}
cp "$TMP/out" "$TMP/fetched.json"
cafe=$(id_of "Café crème à l'hôtel")
lunch=$(id_of "Lunch on Thursday?")
invoice=$(id_of "Invoice total")
news=$(id_of "Weekly news")
case $cafe in "$ALL/"*) ;; *) fail "not an All Mail id: $cafe" ;; esac
mark

# list_labels: the labels by the API's ids, user ones by name, counts from
# STATUS; none of [Gmail]'s folder names.
gi --action list_labels && expect_ok
expect_eq "$(jq -c '[.labels[] | .id]' "$TMP/out")" \
    '["INBOX","Work","Reçus","SENT","SPAM","TRASH","DRAFT","IMPORTANT","STARRED","UNREAD"]' \
    "label ids"
expect_eq "$(jq -c '[.labels[] | select(.type == "user") | .name]' "$TMP/out")" \
    '["Work","Reçus"]' "user labels"
expect_eq "$(jq -c '[.labels[] | select(.id == "INBOX" or .id == "UNREAD") | [.messages_total, .messages_unread]]' "$TMP/out")" \
    "[[$(jq '[.emails[] | select(.label_ids | index("INBOX"))] | length' "$TMP/fetched.json"),$(jq '[.emails[] | select(.label_ids | index("INBOX")) | select(.label_ids | index("UNREAD"))] | length' "$TMP/fetched.json")],[$(jq '[.emails[] | select(.label_ids | index("UNREAD"))] | length' "$TMP/fetched.json"),$(jq '[.emails[] | select(.label_ids | index("UNREAD"))] | length' "$TMP/fetched.json")]]" \
    "INBOX and UNREAD counts"
expect_eq "$(jout '.labels[] | select(.id == "SENT") | .folder')" \
    "[Gmail]/Sent Mail" "SENT's folder"
jout '.labels[].name' | grep -q '^\[Gmail\]' && fail "a [Gmail] folder as a label"

# modify_labels: system and user labels added and removed by X-GM-LABELS,
# STARRED as \Flagged, in one STORE each way on the message in All Mail.
expect_eq "$(state 03-latin1-qp.eml)" '[["\\Inbox"],["\\Seen"]]' "before"
gi --action modify_labels --id "$cafe" --add_label Work --add_label IMPORTANT \
    --add_label Reçus --add_label STARRED --remove_label INBOX
expect_modified modify_labels 1
expect_eq "$(state 03-latin1-qp.eml)" \
    '[["Work","\\Important","Re&AOc-us"],["\\Flagged","\\Seen"]]' \
    "labels stored"
uid=${cafe##*/}
expect_stored "$(printf '%s\n' \
    "UID STORE $uid +FLAGS.SILENT (\\Flagged)" \
    "UID STORE $uid +X-GM-LABELS (Work \"\\\\Important\" \"Re&AOc-us\")" \
    "UID STORE $uid -X-GM-LABELS (\"\\\\Inbox\")")" "the commands"
expect_eq "$(labels "$cafe")" '["Work","IMPORTANT","Reçus","STARRED"]' \
    "labels read back"
gi --action modify_labels --id "$cafe" --remove_label Reçus \
    --remove_label STARRED --add_label UNREAD
expect_modified modify_labels 1
expect_eq "$(state 03-latin1-qp.eml)" '[["Work","\\Important"],[]]' \
    "labels removed, UNREAD"
expect_eq "$(labels "$cafe")" '["Work","IMPORTANT","UNREAD"]' "read back"
mark

# A label not known: not_found, nothing stored (Gmail would create it).
cp "$TMP/state.json" "$TMP/state.before"
gi --action modify_labels --id "$cafe" --add_label Nope --add_label Work
expect_error not_found 65
jout .error.message | grep -q "label 'Nope': no such label" ||
    fail "not said: $(jout .error.message)"
gi --action modify_labels --id "$cafe" --remove_label '[Gmail]/All Mail'
expect_error not_found 65
cmp -s "$TMP/state.json" "$TMP/state.before" || fail "state changed"
expect_stored "" "nothing stored for an unknown label"

# mark_read and mark_unread: \Seen on several messages, labels untouched.
gi --action mark_read --id "$cafe" --id "$invoice"
expect_modified mark_read 2
expect_eq "$(state 03-latin1-qp.eml)$(state 04-windows-1252.eml)" \
    '[["Work","\\Important"],["\\Seen"]][["\\Inbox","Work"],["\\Seen"]]' \
    "marked read"
gi --action mark_unread --id "$invoice"
expect_modified mark_unread 1
expect_eq "$(state 04-windows-1252.eml)" '[["\\Inbox","Work"],[]]' \
    "marked unread"
expect_stored "$(printf '%s\n' \
    "UID STORE ${cafe##*/},${invoice##*/} +FLAGS.SILENT (\\Seen)" \
    "UID STORE ${invoice##*/} -FLAGS.SILENT (\\Seen)")" "mark_* commands"

# archive: \Inbox removed, the other labels kept; by an All Mail id and by
# an INBOX id (the folder's own label: the message leaves it).
gi --action archive --id "$lunch"
expect_modified archive 1
expect_eq "$(state 01-plain-ascii.eml)" '[["Work","\\Important"],["\\Seen"]]' \
    "archived"
expect_stored "UID STORE ${lunch##*/} -X-GM-LABELS (\"\\\\Inbox\")" \
    "archive's command"
gi --action fetch_emails --days_back 0 --label INBOX && expect_ok
inbox=$(jout .count)
news_inbox=$(jq -r '.emails[] | select(.subject == "Weekly news") | .id' "$TMP/out")
case $news_inbox in INBOX/600/*) ;; *) fail "not an INBOX id: $news_inbox" ;; esac
gi --action archive --id "$news_inbox"
expect_modified archive 1
expect_eq "$(state 13-html-only.eml)" '[["Work","\\Important"],["\\Seen"]]' \
    "archived from INBOX"
gi --action fetch_emails --days_back 0 --label INBOX && expect_ok
expect_eq "$(jout .count)" $((inbox - 1)) "INBOX after archiving"
expect_eq "$(labels "$news")" '["Work","IMPORTANT"]' "archived, read back"
mark

# trash: a MOVE to [Gmail]/Trash, out of All Mail; untrash: back from
# Trash into INBOX.
gi --action trash --id "$invoice"
expect_modified trash 1
expect_stored "UID MOVE ${invoice##*/} \"[Gmail]/Trash\"" "trash's command"
expect_eq "$(state 04-windows-1252.eml)" '[["\\Inbox","Work","\\Trash"],[]]' \
    "trashed"
gi --action fetch_emails --days_back 0 && expect_ok
jout '.emails[].subject' | grep -qx 'Invoice total' && fail "trashed but in All Mail"
gi --action fetch_emails --days_back 0 --label TRASH && expect_ok
trashed=$(jq -r '.emails[] | select(.subject == "Invoice total") | .id' "$TMP/out")
case $trashed in %5BGmail%5D%2FTrash/*) ;; *) fail "not in Trash: $trashed" ;; esac
gi --action untrash --id "$trashed"
expect_modified untrash 1
expect_stored "UID MOVE ${trashed##*/} INBOX" "untrash's command"
expect_eq "$(state 04-windows-1252.eml)" '[["\\Inbox","Work"],[]]' "untrashed"
gi --action fetch_emails --days_back 0 && expect_ok
expect_eq "$(jq -c '.emails[] | select(.subject == "Invoice total") | .label_ids' "$TMP/out")" \
    '["INBOX","Work","UNREAD"]' "untrashed, read back"

# Trashed by its INBOX id: a MOVE out of INBOX, \Inbox removed as
# Gmail's MOVE removes the source folder's label; untrash puts it back.
gi --action fetch_emails --days_back 0 --label INBOX && expect_ok
sjis=$(jq -r '.emails[] | select(.subject == "Shift_JIS test") | .id' "$TMP/out")
gi --action trash --id "$sjis"
expect_modified trash 1
expect_eq "$(state 07-shift-jis.eml)" '[["Work","\\Trash"],["\\Seen"]]' \
    "trashed from INBOX"
gi --action fetch_emails --days_back 0 --label TRASH && expect_ok
gi --action untrash --id "$(jq -r '.emails[] | select(.subject == "Shift_JIS test") | .id' "$TMP/out")"
expect_modified untrash 1
expect_eq "$(state 07-shift-jis.eml)" '[["Work","\\Inbox"],["\\Seen"]]' \
    "untrashed into INBOX"
mark

# No label's folder was written to: no COPY, no MOVE but trash's and
# untrash's.
expect_eq "$(jq -r 'select(.command == "UID") | .line' "$STANDIN_LOG" |
    grep -c 'COPY\|MOVE')" 4 "COPY and MOVE commands"
# An id whose UIDVALIDITY is not the folder's.
gi --action modify_labels --id "$ALL/999/1" --add_label Work
expect_error not_found 65
echo "t522 ok"
