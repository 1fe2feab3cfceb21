# ndjson: one EMAIL per line as decoded, then the summary line; formats
# metadata and raw; get_email.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

gw --action fetch_emails --days_back 3
expect_ok
n=$(jout .count)
jout '[.emails[].id] | sort | .[]' >"$TMP/ids.json"

gw --action fetch_emails --days_back 3 --output ndjson
expect_rc 0
lines=$(wc -l <"$TMP/out" | tr -d ' ')
expect_eq "$lines" $((n + 1)) "ndjson lines"
tail -n 1 "$TMP/out" >"$TMP/summary"
expect_eq "$(jq -r '.summary' "$TMP/summary")" true "summary flag"
expect_eq "$(jq -r '.status' "$TMP/summary")" success "summary status"
expect_eq "$(jq -r '.count' "$TMP/summary")" "$n" "summary count"
expect_eq "$(jq -r 'has("emails")' "$TMP/summary")" false "no emails in summary"
head -n "$n" "$TMP/out" | jq -r .id | sort >"$TMP/ids.nd"
cmp -s "$TMP/ids.json" "$TMP/ids.nd" || fail "ndjson ids differ from json ids"

# An error in ndjson mode is one summary line with the error.
gw --action fetch_emails --output ndjson --label Nope
expect_error not_found 65
expect_eq "$(jout .summary)" true "error summary flag"

# metadata: headers, no bodies; asks Gmail for format=metadata.
gw --action fetch_emails --days_back 3 --format metadata
expect_ok
jq -e '[.emails[] | .body_text == null and .body_html == null and (.subject | type) == "string"] | all' "$TMP/out" >/dev/null ||
    fail "metadata has bodies"
[ "$(log_count '.query.format[0]? == "metadata"')" -ge "$n" ] || fail "format=metadata not asked for"

# raw: the message itself plus every parsed field.
gw --action fetch_emails --days_back 3 --format raw
expect_ok
jq -e '[.emails[] | (.raw | type) == "string" and (.subject | type) == "string"] | all' "$TMP/out" >/dev/null ||
    fail "raw lacks raw or subject"
gw --action fetch_emails --format bogus
expect_error invalid_argument 64

# get_email: one message, in full.
id=$(head -n 1 "$TMP/ids.json")
gw --action get_email --id "$id"
expect_ok
expect_eq "$(jout .email.id)" "$id" "get_email id"
gw --action get_email --id 0123456789abcdef
expect_error not_found 65
expect_eq "$(jout .error.http_status)" 404 "http_status"
gw --action get_email --id 'bad/../id'
expect_error not_found 65
gw --action get_email --id zzzz_not_hex
expect_error not_found 65
expect_eq "$(jout .error.http_status)" 400 "Invalid id value is 400"
gw --action get_email
expect_error invalid_argument 64

# A body Gmail hands over by attachmentId is fetched.
gw --action fetch_emails --days_back 0 --query 'subject:"Big report"'
expect_ok
jq -e '.emails[0].body_text | startswith("Line 00000 of the big report")' "$TMP/out" >/dev/null ||
    fail "attachment-backed body not fetched"
[ "$(log_count '.path | test("/attachments/")')" -ge 1 ] || fail "no attachments.get"
