# sync (contract §5): a full sync, then incremental syncs that see exactly
# the mail added, deleted and relabelled behind the worker's back; an
# expired cursor; a run that fails part-way; bad cursors.
. "$MV_TOP/tests/integration/lib.sh"
start_standin
A=alice@example.com

# changes: the change lines of the last run, as "KIND ID", sorted.
changes() {
	sed '$d' "$TMP/out" | jq -r '"\(.change) \(.id)"' | sort
}
# summary FILTER: jq on the last line.
summary() {
	tail -n 1 "$TMP/out" | jq -r "$1"
}
deliver() {	# deliver SUBJECT: prints the new id
	control POST /_standin/deliver "{\"user\":\"$A\",\"eml\":\"From: x@example.com\\r\\nTo: $A\\r\\nSubject: $1\\r\\n\\r\\nbody of $1\\r\\n\"}" | jq -r .id
}
relabel() {	# relabel ID ADD-JSON REMOVE-JSON
	control POST /_standin/modify "{\"user\":\"$A\",\"id\":\"$1\",\"addLabelIds\":$2,\"removeLabelIds\":$3}" >/dev/null
}
delete() {
	control POST /_standin/delete "{\"user\":\"$A\",\"id\":\"$1\"}" >/dev/null
}

# A full sync: ndjson by default, every message of --lookback_days as an
# added change, the cursor read (getProfile) before the listing.
gw --action fetch_emails --days_back 3
n3=$(jout .count)
hid=$(jout .history_id)
mark=$(log_last)
gw --action sync --lookback_days 3
expect_rc 0
expect_eq "$(summary .status)" success status
expect_eq "$(summary .summary)" true "summary flag"
expect_eq "$(summary .full_sync)" true full_sync
expect_eq "$(summary .reason)" "no cursor" reason
expect_eq "$(summary .added)" "$n3" "added of a full sync"
expect_eq "$(summary .cursor)" "$hid" "cursor of a full sync"
expect_eq "$(summary .user_email)" $A user_email
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" $((n3 + 1)) "lines of a full sync"
sed '$d' "$TMP/out" | jq -e -s 'all(.change == "added" and .id == .email.id and (.email.subject | type) == "string") and any(.email.body_text != null)' >/dev/null ||
    fail "full sync lines are not added changes with their EMAIL"
first=$(jq -s -r --argjson m "$mark" '[.[] | select(.id > $m and .batch == null and (.path | test("/profile$|/messages$")))][0].path' "$STANDIN_LOG")
case $first in */profile) ;; *) fail "full sync: first request $first, not the profile" ;; esac
cursor=$(summary .cursor)
# --lookback_days 0: every message; the default (90) too with this mailbox.
gw --action sync --lookback_days 0
expect_eq "$(summary .added)" 27 "added of --lookback_days 0"
gw --action sync --cursor ''
expect_eq "$(summary .added)" 27 "added of an empty cursor (90 days)"

# No change: nothing but the summary, the same cursor, one history.list.
mark=$(log_last)
gw --action sync --cursor "$cursor"
expect_rc 0
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 1 "lines of a sync with no change"
expect_eq "$(summary '[.full_sync, .added, .deleted, .labels, .cursor] | @csv')" "false,0,0,0,\"$cursor\"" "summary of no change"
expect_eq "$(log_count_after "$mark" '.path | endswith("/history")')" 1 "history.list calls"
expect_eq "$(log_count_after "$mark" '.path | test("/messages")')" 0 "messages fetched for no change"
jq -s -e --argjson m "$mark" '[.[] | select(.id > $m and (.path | endswith("/history")))][0].query |
    (.startHistoryId == ["'"$cursor"'"]) and (.historyTypes | sort) == ["labelAdded","labelRemoved","messageAdded","messageDeleted"]' \
    "$STANDIN_LOG" >/dev/null || fail "history.list query: $(tail -n 1 "$STANDIN_LOG")"

# Changes behind the worker's back: one new message; one relabelled twice
# (one change, its current labels); one deleted; one added then deleted
# (a deletion only); one added then relabelled (an addition, with its
# labels).
gw --action fetch_emails --days_back 3 --query 'subject:"Project kickoff"'
relab=$(jout '.emails[0].id')
gone=$(jout '.emails[1].id')
new=$(deliver "sync new")
brief=$(deliver "sync brief")
late=$(deliver "sync late")
relabel "$relab" '["STARRED","Label_Travel"]' '["UNREAD"]'
relabel "$relab" '[]' '["Label_Travel"]'
relabel "$late" '["IMPORTANT"]' '[]'
delete "$gone"
delete "$brief"
gw --action get_email --id "$relab" --format metadata
labels=$(jq -c '.email.label_ids' "$TMP/out")
mark=$(log_last)
gw --action sync --cursor "$cursor" -v
expect_rc 0
printf '%s\n' "added $late" "added $new" "deleted $brief" "deleted $gone" "labels $relab" | sort >"$TMP/want"
changes >"$TMP/got"
cmp -s "$TMP/want" "$TMP/got" || fail "changes: $(cat "$TMP/got"), expected $(cat "$TMP/want")"
expect_eq "$(summary '[.full_sync, .added, .deleted, .labels] | @csv')" "false,2,2,1" "summary counts"
expect_eq "$(jq -c --arg id "$relab" 'select(.id == $id) | .label_ids' "$TMP/out")" "$labels" "current labels of $relab"
expect_eq "$(jq -r --arg id "$new" 'select(.id == $id) | .email.subject' "$TMP/out")" "sync new" "subject of the new message"
expect_eq "$(jq -c --arg id "$late" 'select(.id == $id) | .email.label_ids | sort' "$TMP/out")" '["IMPORTANT","INBOX","UNREAD"]' "labels of an added, relabelled message"
# Gets in the batches of fetch_emails: only the added ones (the label ids
# came from the history records).
expect_eq "$(log_count_after "$mark" '(.path | test("/messages/")) and .batch != null')" 2 "messages fetched in a batch"
expect_eq "$(log_count_after "$mark" '(.path | test("/messages/")) and .batch == null')" 0 "messages fetched alone"
grep -q '^gmail-worker: sync: incremental, 1 history pages: 2 added, 2 deleted, 1 label changes$' "$TMP/err" ||
    fail "-v: no sync line: $(cat "$TMP/err")"
cursor2=$(summary .cursor)
[ "$cursor2" -gt "$cursor" ] || fail "cursor did not move: $cursor2"
gw --action sync --cursor "$cursor2"
expect_eq "$(summary '[.added, .deleted, .labels, .cursor] | @csv')" "0,0,0,\"$cursor2\"" "nothing after the changes"

# The same as one document with --output json; --format metadata.
gw --action sync --cursor "$cursor" --output json --format metadata
expect_ok
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 1 "json: one line"
expect_eq "$(jout '.changes | length')" 5 "json: changes"
expect_eq "$(jout .cursor)" "$cursor2" "json: cursor"
jq -e '[.changes[] | select(.change == "added") | .email | .body_text == null and (.subject | type) == "string"] | all' "$TMP/out" >/dev/null ||
    fail "--format metadata: bodies in the added emails"

# Gmail's records often name a message by id and threadId alone: its
# labels then come from a metadata get (here, a message left with none).
control POST /_standin/settings '{"history_messages": "bare"}' >/dev/null
relabel "$relab" '[]' '["INBOX","STARRED","IMPORTANT","Label_Work"]'
mark=$(log_last)
gw --action sync --cursor "$cursor2"
control POST /_standin/settings '{"history_messages": "labels"}' >/dev/null
expect_eq "$(changes)" "labels $relab" "change of a message left with no label"
expect_eq "$(jq -c 'select(.change) | .label_ids' "$TMP/out")" '[]' "label_ids of no label"
expect_eq "$(log_count_after "$mark" '(.path | endswith("/messages/'"$relab"'")) and .query.format == ["metadata"]')" 1 "metadata get for labels"
cursor3=$(summary .cursor)

# A cursor Gmail no longer honours (404): a full sync, said so.
control POST /_standin/expire-history "{\"user\":\"$A\",\"before\":$cursor3}" >/dev/null
gw --action sync --cursor "$cursor2" --lookback_days 3
expect_rc 0
expect_eq "$(summary .full_sync)" true "full_sync of an expired cursor"
summary .reason | grep -q 'expired' || fail "reason: $(summary .reason)"
expect_eq "$(summary .deleted)" 0 "deleted of a full sync"
[ "$(summary .added)" -ge "$n3" ] || fail "full sync after expiry: $(summary .added) added"
expect_eq "$(summary .cursor)" "$cursor3" "cursor after the full sync"
grep -q 'history.list answered 404; doing a full sync' "$TMP/err" || fail "no warning: $(cat "$TMP/err")"
gw --action sync --cursor "$cursor3"
expect_eq "$(summary '[.full_sync, .added] | @csv')" "false,0" "the cursor after the expiry"

# A run that fails part-way (the second history page answers 500 past
# the retries): the first page's changes printed, then an error summary
# with no cursor; the next run from the old cursor loses nothing.
first=$(deliver "page one")
/usr/bin/python3 - "$STANDIN_URL" "$A" "$relab" <<'PY'
import json, sys, urllib.request
url, user, mid = sys.argv[1:]
for i in range(260):	# 520 records: two pages of history
    for add, rem in ((["STARRED"], []), ([], ["STARRED"])):
        req = urllib.request.Request(url + "/_standin/modify", json.dumps(
            {"user": user, "id": mid, "addLabelIds": add,
             "removeLabelIds": rem}).encode(),
            {"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
PY
last=$(deliver "page two")
faults '[{"path": "/history$", "query": "pageToken=", "status": 500, "count": -1}]'
gw --action sync --cursor "$cursor3" --max_wait 2
expect_rc 69
expect_eq "$(summary .status)" error "status of a failed run"
expect_eq "$(summary .summary)" true "summary flag of a failed run"
expect_eq "$(summary 'has("cursor")')" false "a failed run's cursor"
changes | grep -q "^added $first$" || fail "the first page's changes were not printed: $(changes)"
changes | grep -q "$last" && fail "the second page printed"
control DELETE /_standin/faults >/dev/null
gw --action sync --cursor "$cursor3"
expect_rc 0
changes >"$TMP/got"
grep -q "^added $first$" "$TMP/got" && grep -q "^added $last$" "$TMP/got" &&
    grep -q "^labels $relab$" "$TMP/got" || fail "the next run lost changes: $(cat "$TMP/got")"

# Bad cursors, refused before any request; options sync does not take.
for c in abc 12a -5 "$(printf '1%.0s' $(seq 1 1025))" "$(printf '12\t3')" "1 2"; do
	mark=$(log_last)
	gw --action sync --cursor "$c"
	expect_error invalid_argument 64
	expect_eq "$(jout .summary)" true "error summary of a bad cursor"
	expect_eq "$(log_count_after "$mark" 'true')" 0 "requests for a bad cursor"
done
gw --action sync --format raw
expect_error invalid_argument 64
gw --action sync --query foo
expect_error invalid_argument 64
gw --action sync --lookback_days -1
expect_error invalid_argument 64
no_secrets "$TMP/out" "$TMP/err"
