# get_profile, list_labels, list_history (and its 404: history_expired).
. "$MV_TOP/tests/integration/lib.sh"
start_standin

gw --action get_profile
expect_ok
expect_eq "$(jout .email_address)" alice@example.com email_address
jq -e '(.messages_total | type) == "number" and .messages_total > 20 and (.threads_total | type) == "number" and (.history_id | test("^[0-9]+$"))' "$TMP/out" >/dev/null ||
    fail "profile fields: $(cat "$TMP/out")"
h0=$(jout .history_id)

gw --action list_labels
expect_ok
jq -e '.labels | length > 5 and all(has("id") and has("name") and has("type") and (.messages_total | type) == "number" and (.messages_unread | type) == "number")' "$TMP/out" >/dev/null ||
    fail "labels: $(head -c 400 "$TMP/out")"
jq -e '.labels[] | select(.id == "INBOX" and .type == "system" and .messages_total > 0)' "$TMP/out" >/dev/null ||
    fail "no INBOX with counts"
jq -e '.labels[] | select(.name == "Work" and .type == "user")' "$TMP/out" >/dev/null ||
    fail "no user label Work"
gw --action list_labels --output ndjson
expect_rc 0
[ "$(wc -l <"$TMP/out")" -gt 6 ] || fail "ndjson labels: one line per label"

# Nothing changed yet: no changes, the same history id.
gw --action list_history --start_history_id "$h0"
expect_ok
expect_eq "$(jout '.changes | length')" 0 "changes"
expect_eq "$(jout .history_id)" "$h0" "history_id"

# Changes: a label added, a message trashed.
gw --action fetch_emails --days_back 1 --max_results 2
id1=$(jout '.emails[0].id')
id2=$(jout '.emails[1].id')
gw --action mark_read --id "$id1"
expect_ok
gw --action mark_unread --id "$id1"
expect_ok
gw --action trash --id "$id2"
expect_ok
gw --action list_history --start_history_id "$h0"
expect_ok
jq -e --arg a "$id1" --arg b "$id2" '
  ([.changes[].labels_added[] | select(.id == $a and (.label_ids | index("UNREAD")))] | length > 0) and
  ([.changes[].labels_added[] | select(.id == $b and (.label_ids | index("TRASH")))] | length > 0) and
  (.history_id | tonumber) > ($h | tonumber)' --arg h "$h0" "$TMP/out" >/dev/null ||
    fail "history: $(cat "$TMP/out")"
gw --action list_history --start_history_id "$h0" --label TRASH
expect_ok

# Too old: history_expired, a full sync is needed.
control POST /_standin/expire-history >/dev/null
gw --action list_history --start_history_id "$h0"
expect_error history_expired 65
expect_eq "$(jout .error.http_status)" 404 http_status
gw --action list_history
expect_error invalid_argument 64
gw --action list_history --start_history_id abc
expect_error invalid_argument 64
