#!/bin/sh
# imap-worker against a Gmail-like IMAP server (tests/standin/imap-gmail:
# X-GM-EXT-1, the same message in INBOX, a label's folder and All Mail):
# fetch_emails reads All Mail only and gives each message once; label_ids
# from X-GM-LABELS as Gmail's API names them (INBOX, SENT, SPAM, TRASH,
# IMPORTANT, STARRED, UNREAD, user labels by name); thread_id the hex of
# X-GM-THRID; Spam and Trash with --include_spam_trash; --label by folder
# or by Gmail's label id, each message once over several; get_email; sync
# of All Mail alone; the EMAIL fields equal to gmail-worker's of the same
# messages; system labels bare or quoted; OAUTHBEARER without SASL-IR,
# and its error.
. "$MV_TOP/tests/integration/lib.sh"

start_standin
start_imap_gmail
ALL=%5BGmail%5D%2FAll%20Mail
# by_subject SUBJECT FIELD: FIELD of the message of that subject (compact).
by_subject() {
	jq -c --arg s "$1" ".emails[] | select(.subject == \$s) | $2" "$TMP/out"
}
total=$(ls "$MV_TOP/tests/standin/mailbox/alice@example.com" | wc -l)

# Every message once, from All Mail: not Spam, not Trash.
gi --action fetch_emails --days_back 0 && expect_ok
expect_eq "$(jout .count)" $((total - 2)) "messages fetched"
jq -c '[.emails[] | [.id, .label_ids, .thread_id]]' "$TMP/out" >"$TMP/labels.json"
expect_eq "$(jout '[.emails[].message_id] | unique | length')" \
    $((total - 2)) "distinct messages"
expect_eq "$(jout "[.emails[] | select(.id | startswith(\"$ALL/\"))] | length")" \
    $((total - 2)) "ids in All Mail"
expect_eq "$(jq -rs '[.[] | select(.command == "EXAMINE") | .line] | unique | join(",")' \
    "$STANDIN_LOG" | sed 's/^[0-9]* //')" 'EXAMINE "[Gmail]/All Mail"' \
    "folders examined"

# Labels and threads.
expect_eq "$(by_subject 'Project kickoff' .label_ids)" '["INBOX","Work","UNREAD"]' \
    "labels of a message in INBOX and Work"
expect_eq "$(by_subject 'Project kickoff' .thread_id)" '"17a0ffff00000001"' \
    "thread_id (hex of X-GM-THRID)"
expect_eq "$(jout '[.emails[] | select(.thread_id == "17a0ffff00000001")] | length')" 2 \
    "messages of the thread"
expect_eq "$(by_subject 'Lunch on Thursday?' .label_ids)" '["INBOX","Work","IMPORTANT"]' \
    "an important read message"
expect_eq "$(by_subject 'Booking confirmation' .label_ids)" '["STARRED"]' \
    "an archived starred message"
expect_eq "$(by_subject 'Your receipt #1042' .label_ids)" '["Reçus","UNREAD"]' \
    "a user label in modified UTF-7"
expect_eq "$(jout '[.emails[] | select(.label_ids | index("SENT"))] | length')" 1 \
    "sent messages"
jout '.emails[].thread_id' | grep -qv '^[0-9a-f]\{1,16\}$' &&
    fail "a thread_id not in lowercase hex"
expect_eq "$(jout '[.emails[] | select(.label_ids | index("UNREAD"))] | length')" \
    "$(jout '[.emails[] | .id | sub(".*/"; "") | tonumber | select(. % 2 == 0)] | length')" \
    "UNREAD: the stand-in's unseen (even UIDs)"

# Spam and Trash when asked, labelled so.
gi --action fetch_emails --days_back 0 --include_spam_trash && expect_ok
expect_eq "$(jout .count)" "$total" "with spam and trash"
expect_eq "$(jout '[.emails[] | select(.label_ids | index("SPAM"))] | length')" 1 \
    "SPAM"
expect_eq "$(jout '[.emails[] | select(.label_ids | index("TRASH"))] | length')" 1 \
    "TRASH"
jout '.emails[] | select(.label_ids | index("SPAM")) | .id' |
    grep -q '^%5BGmail%5D%2FSpam/' || fail "spam not from [Gmail]/Spam"
# get_profile counts each message once (All Mail, Spam and Trash), not
# once per label's folder.
gi --action get_profile && expect_ok
expect_eq "$(jout .messages_total)" "$total" "get_profile's messages_total"

# --label: a label's folder, Gmail's label ids, several once.
gi --action fetch_emails --days_back 0 --label Work && expect_ok
work=$(jout .count)
[ "$work" -gt 2 ] || fail "Work: $work messages"
expect_eq "$(jout '[.emails[] | select((.label_ids | index("Work")) and (.id | startswith("Work/")))] | length')" \
    "$work" "Work's messages labelled Work"
gi --action fetch_emails --days_back 0 --label Work --label INBOX && expect_ok
expect_eq "$(jout .count)" "$(jout '[.emails[].message_id] | unique | length')" \
    "each message once over Work and INBOX"
expect_eq "$(jout .count)" $((total - 6)) "Work and INBOX"
gi --action fetch_emails --days_back 0 --label Reçus && expect_ok
expect_eq "$(jq -c '[.emails[] | [.subject, .label_ids]]' "$TMP/out")" \
    '[["Your receipt #1042",["Reçus","UNREAD"]]]' "--label Reçus"
gi --action fetch_emails --days_back 0 --label SENT && expect_ok
expect_eq "$(jout .count)" 1 "--label SENT"
jout '.emails[0].id' | grep -q '^%5BGmail%5D%2FSent%20Mail/' ||
    fail "SENT not read from [Gmail]/Sent Mail"
expect_eq "$(jq -c '.emails[0].label_ids' "$TMP/out")" '["SENT","UNREAD"]' "SENT's labels"

# get_email: the same EMAIL as fetch_emails gave.
gi --action fetch_emails --days_back 0 --max_results 3 && expect_ok
id=$(jout '.emails[2].id')
jq -S '.emails[2]' "$TMP/out" >"$TMP/fetched.json"
gi --action get_email --id "$id" && expect_ok
jq -S .email "$TMP/out" >"$TMP/got.json"
cmp -s "$TMP/fetched.json" "$TMP/got.json" || {
	diff "$TMP/fetched.json" "$TMP/got.json" | head -20 >&2
	fail "get_email differs from fetch_emails"
}
gi --action get_email --id "Work/601/1" && expect_ok
jout '.email.label_ids | index("Work")' | grep -q '^[0-9]' ||
    fail "a Work message without Work: $(jq -c .email.label_ids "$TMP/out")"

# sync: All Mail alone, each message once with Gmail's labels; then
# nothing new.
gi --action sync --lookback_days 0 && expect_rc 0
expect_eq "$(tail -n 1 "$TMP/out" | jq .added)" $((total - 2)) "sync: added"
expect_eq "$(jq -s '[.[] | select(.change == "added") | .email.message_id] | unique | length' "$TMP/out")" \
    $((total - 2)) "sync: distinct messages"
expect_eq "$(jq -s "[.[] | select(.change == \"added\") | select(.id | startswith(\"$ALL/\"))] | length" "$TMP/out")" \
    $((total - 2)) "sync: ids in All Mail"
expect_eq "$(jq -sc '.[] | select(.email.subject == "Project kickoff") | [.email.label_ids, .email.thread_id]' "$TMP/out")" \
    '[["INBOX","Work","UNREAD"],"17a0ffff00000001"]' "sync: labels and thread"
cur=$(tail -n 1 "$TMP/out" | jq -r .cursor)
gi --action sync --cursor "$cur" && expect_rc 0
expect_eq "$(wc -l <"$TMP/out")" 1 "sync: nothing new"

# The same messages through gmail-worker: the same EMAIL fields (ids,
# labels, threads and Gmail's own dates aside: EMAIL_STRIP).
strip=$EMAIL_STRIP
gw --action fetch_emails --days_back 0 --include_spam_trash --max_results 500 \
    --format raw
expect_ok
jq "$strip" "$TMP/out" >"$TMP/gmail.json"
gi --action fetch_emails --days_back 0 --include_spam_trash && expect_ok
jq "$strip" "$TMP/out" >"$TMP/imap.json"
expect_eq "$(jq length "$TMP/gmail.json")" "$total" "through gmail-worker"
expect_eq "$(jq length "$TMP/imap.json")" "$total" "through imap-worker"
cmp -s "$TMP/gmail.json" "$TMP/imap.json" || {
	diff "$TMP/gmail.json" "$TMP/imap.json" | head -40 >&2
	fail "EMAIL fields differ between gmail-worker and imap-worker"
}
# System labels bare (\Inbox, as Gmail's documentation shows them): the
# same labels.
start_imap_gmail --bare-system-labels
gi --action fetch_emails --days_back 0 && expect_ok
expect_eq "$(jq -c '[.emails[] | [.id, .label_ids, .thread_id]]' "$TMP/out")" \
    "$(cat "$TMP/labels.json")" "labels from bare system labels"

# OAUTHBEARER without SASL-IR (the client response after a "+"), chosen
# as the server offers it: a good token logs in, a bad one is auth with the
# server's status, the error answered with the dummy response; no token
# printed.
launch_standin "$MV_TOP/tests/standin/imap-gmail" \
    --mailbox "$MV_TOP/tests/standin/mailbox/alice@example.com" \
    --token ya29.gmail-imap-good
port=${STANDIN_URL##*:}
for t in good bad; do
	printf '{"type": "imap", "host": "127.0.0.1", "port": %s, "security": "none", "username": "alice@example.com", "oauth2": {"access_token": "ya29.gmail-imap-%s"}}\n' \
	    "$port" "$t" >"$TMP/g.json"
	gi --action fetch_emails --days_back 0 --max_results 2
	! grep -q "ya29.gmail-imap" "$TMP/out" "$TMP/err" || fail "token printed"
	[ $t = good ] && expect_ok && expect_eq "$(jout .count)" 2 "fetched by OAUTHBEARER"
	[ $t = bad ] && expect_error auth 77
done
jout .error.message | grep -q "OAUTHBEARER refused: invalid_token" ||
    fail "not said: $(jout .error.message)"
expect_eq "$(jq -sc '[.[] | select(.oauthbearer) | .oauthbearer | [.gs2, .host, .port, .token_ok, .ends]]' "$STANDIN_LOG")" \
    "[[\"n,a=alice@example.com\",\"127.0.0.1\",\"$port\",true,true],[\"n,a=alice@example.com\",\"127.0.0.1\",\"$port\",false,true]]" \
    "what the client sent"
expect_eq "$(jq -r 'select(.dummy) | .dummy' "$STANDIN_LOG")" AQ== "dummy response"
grep -q "ya29.gmail-imap" "$STANDIN_LOG" && fail "token logged"
echo "t520 ok"
