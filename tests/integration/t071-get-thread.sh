# get_thread: a thread's EMAILs oldest first (threads.get, bodies Gmail
# left out fetched), ndjson, formats, unknown and invalid threads.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

gw --action fetch_emails --days_back 0 --query 'subject:"Project kickoff"'
tid=$(jout '.emails[0].thread_id')
jout '[.emails[] | {id, internal_date}] | sort_by(.internal_date) | map(.id) | join(" ")' >"$TMP/want"

gw --action get_thread --thread_id "$tid"
expect_ok
expect_eq "$(jout .thread_id)" "$tid" thread_id
expect_eq "$(jout .count)" 3 count
expect_eq "$(jout '.emails | map(.id) | join(" ")')" "$(cat "$TMP/want")" "emails oldest first"
jq -e --arg t "$tid" '[.emails[] | .thread_id == $t and (.body_text | type) == "string"] | all' "$TMP/out" >/dev/null ||
    fail "emails of another thread, or without bodies"
expect_eq "$(log_count '(.path | endswith("/threads/'"$tid"'")) and .query.format == ["full"]')" 1 "threads.get calls"

# A thread whose body Gmail serves by attachmentId: fetched.
gw --action fetch_emails --days_back 0 --query 'subject:"Big"'
big=$(jout '.emails[0].thread_id')
gw --action get_thread --thread_id "$big"
expect_ok
[ "$(jout '.emails[0].body_text | length')" -gt 50000 ] || fail "body served by attachmentId not fetched"

# ndjson: one EMAIL per line in order, then the summary; metadata.
gw --action get_thread --thread_id "$tid" --output ndjson --format metadata
expect_rc 0
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 4 "ndjson lines"
expect_eq "$(sed '$d' "$TMP/out" | jq -r .id | tr '\n' ' ' | sed 's/ $//')" "$(cat "$TMP/want")" "ndjson order"
expect_eq "$(tail -n 1 "$TMP/out" | jq -c '[.summary, .count, has("emails")]')" '[true,3,false]' "ndjson summary"
sed '$d' "$TMP/out" | jq -e -s 'all(.body_text == null)' >/dev/null || fail "metadata has bodies"

# Unknown, invalid, missing.
gw --action get_thread --thread_id 0123456789abcdef
expect_error not_found 65
gw --action get_thread --thread_id 'bad/../id'
expect_error not_found 65
gw --action get_thread
expect_error invalid_argument 64
gw --action get_thread --thread_id "$tid" --format raw
expect_error invalid_argument 64
no_secrets "$TMP/out" "$TMP/err"
