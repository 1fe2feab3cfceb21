# fetch_emails against the stand-in: counts by age, fields of every EMAIL,
# the requests sent (profile first, list with the right q, batched gets).
. "$MV_TOP/tests/integration/lib.sh"
start_standin

gw --action fetch_emails --days_back 3
expect_ok
n3=$(jout .count)
[ "$n3" -gt 10 ] || fail "only $n3 messages in 3 days"
expect_eq "$(jout '.emails | length')" "$n3" "count = length(emails)"
expect_eq "$(jout .user_email)" alice@example.com user_email
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 1 "one line of output"

# Every EMAIL has every field of the contract, with its type.
bad=$(jq -r '.emails[] | select(
    (.id|type) != "string" or (.thread_id|type) != "string" or
    (.label_ids|type) != "array" or (.snippet|type) != "string" or
    (.history_id|type) != "string" or (.internal_date|type) != "string" or
    (.size_estimate|type) != "number" or (.from|type) != "object" or
    (.to|type) != "array" or (.cc|type) != "array" or (.bcc|type) != "array" or
    (.reply_to|type) != "array" or (.subject|type) != "string" or
    ((.date|type) != "string" and .date != null) or
    (.references|type) != "array" or (.attachments|type) != "array" or
    ((.body_html|type) != "string" and .body_html != null)
  ) | .id' "$TMP/out")
[ -z "$bad" ] || fail "EMAIL objects with missing or mistyped fields: $bad"
jq -e '[.emails[].internal_date | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")] | all' "$TMP/out" >/dev/null ||
    fail "internal_date not ISO 8601 UTC"

# The profile's history id, taken before the list.
hist=$(jout .history_id)
first=$(jq -s -r '[.[] | select(.path | test("/profile$|/messages$"))][0].path' "$STANDIN_LOG")
case $first in */profile) ;; *) fail "first request was $first, not the profile" ;; esac
jq -s -e '[.[] | select(.path | endswith("/messages")) | .query.q[0] | test("^after:[0-9]+$")] | all' "$STANDIN_LOG" >/dev/null ||
    fail "list q is not after:EPOCH"
[ "$(log_count '.batch != null')" -ge "$n3" ] || fail "messages not fetched through batches"
[ "$(log_count '.gzip == true and .batch == null')" -ge 1 ] || fail "no gzip asked for"

# Fewer in 1 day, none dropped: the 1-day set is inside the 3-day set.
gw --action fetch_emails --days_back 1
expect_ok
n1=$(jout .count)
[ "$n1" -lt "$n3" ] && [ "$n1" -gt 0 ] || fail "1 day: $n1, 3 days: $n3"
jout '.emails[].id' | sort >"$TMP/ids1"
gw --action fetch_emails --days_back 3
jout '.emails[].id' | sort >"$TMP/ids3"
[ -z "$(comm -23 "$TMP/ids1" "$TMP/ids3")" ] || fail "1-day ids not in the 3-day set"

# days_back 0 = any age; more than 3 days.
gw --action fetch_emails --days_back 0
expect_ok
[ "$(jout .count)" -gt "$n3" ] || fail "days_back 0 found no older mail"
n0=$(jout .count)

# A cutoff before 1970 (36500 days is the largest --days_back) is every
# message too: the list sends no after: term, never a negative one.
lists=$(log_count '.path | endswith("/messages")')
gw --action fetch_emails --days_back 36500
expect_ok
expect_eq "$(jout .count)" "$n0" "days_back 36500 count"
jq -s -e --argjson n "$lists" '[.[] | select(.path | endswith("/messages"))][$n:] |
    length > 0 and all(.query.q == null or (.query.q[0] | test("after:") | not))' \
    "$STANDIN_LOG" >/dev/null || fail "days_back 36500 sent an after: term"

# --max_results caps; --query and --label narrow.
gw --action fetch_emails --days_back 0 --max_results 5 --batch_size 2
expect_ok
expect_eq "$(jout .count)" 5 "max_results"
gw --action fetch_emails --days_back 0 --query 'subject:"Project kickoff"'
expect_ok
expect_eq "$(jout '[.emails[].subject] | sort | join("|")')" \
    "Project kickoff|Re: Project kickoff|Re: Project kickoff" "query"
expect_eq "$(jout '[.emails[].thread_id] | unique | length')" 1 "one thread"
gw --action fetch_emails --days_back 0 --label Work
expect_ok
jq -e '.emails | length > 0 and all(.label_ids | index("Label_Work"))' "$TMP/out" >/dev/null ||
    fail "--label Work did not select Label_Work messages"
gw --action fetch_emails --days_back 0 --label NoSuchLabel
expect_error not_found 65

# SPAM and TRASH only with --include_spam_trash.
gw --action fetch_emails --days_back 0
jq -e '[.emails[].label_ids[]] | (index("SPAM") or index("TRASH")) | not' "$TMP/out" >/dev/null ||
    fail "spam or trash without --include_spam_trash"
gw --action fetch_emails --days_back 0 --include_spam_trash
jq -e '[.emails[].label_ids[]] | (index("SPAM") and index("TRASH"))' "$TMP/out" >/dev/null ||
    fail "--include_spam_trash missed spam or trash"
no_secrets "$TMP/out" "$TMP/err"
echo "fetch: 3 days $n3, 1 day $n1, history $hist"
