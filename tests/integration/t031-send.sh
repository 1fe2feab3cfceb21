# send_email: composed messages and --raw_file, as Gmail receives them.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

printf 'Hello Bob,\nsee the attachment.\n' >"$TMP/body.txt"
printf '<p>Hello <b>Bob</b></p>\n' >"$TMP/body.html"
printf '%%PDF-1.4 test\n' >"$TMP/résumé.pdf"
gw --action send_email --to 'Bob Example <bob@example.com>' \
    --cc 'Zoë <zoe@example.com>' --subject 'Grüße, Bob' \
    --body_file "$TMP/body.txt" --html_file "$TMP/body.html" \
    --attach "$TMP/résumé.pdf"
expect_ok
id=$(jout .id)
[ -n "$id" ] && [ "$id" != null ] || fail "no id"
jq -e '.label_ids | index("SENT")' "$TMP/out" >/dev/null || fail "no SENT label"
[ "$(log_count '.path | endswith("/messages/send")')" -eq 1 ] || fail "not exactly one send"

# What Gmail got, read back in format raw and parsed by the worker.
gw --action get_email --id "$id" --format raw
expect_ok
jq -e '.email.subject == "Grüße, Bob" and .email.to[0].email == "bob@example.com" and
  .email.cc[0].name == "Zoë" and (.email.body_text | contains("see the attachment")) and
  (.email.body_html | contains("<b>Bob</b>")) and
  .email.attachments[0].filename == "résumé.pdf" and .email.attachments[0].mime_type == "application/pdf"' \
    "$TMP/out" >/dev/null || fail "sent message: $(head -c 800 "$TMP/out")"
jout .email.raw | tr '_-' '/+' | base64 -d 2>/dev/null >"$TMP/sent.eml" || true
grep -q '^Subject: =?UTF-8?' "$TMP/sent.eml" || fail "Subject not RFC 2047-encoded"

# A reply in a thread.
gw --action send_email --to bob@example.com --subject 'Re: Grüße, Bob' \
    --body 'Thanks!' --thread_id "$(jout .email.thread_id)" --in_reply_to '<orig@example.com>'
expect_ok
jq -s -e '[.[] | select(.path | endswith("/messages/send"))][-1].body.threadId | type == "string"' "$STANDIN_LOG" >/dev/null ||
    fail "threadId not sent"

# --raw_file from stdin, as it is.
printf 'From: alice@example.com\r\nTo: bob@example.com\r\nSubject: raw one\r\n\r\nraw body\r\n' |
    "$WORKER" --credentials "@$TMP/creds/alice-authorized-user.json" \
    --quota_units_per_sec 0 --action send_email --raw_file - >"$TMP/out" 2>"$TMP/err" && RC=0 || RC=$?
expect_ok

# Refusals: nothing sent.
before=$(log_count '.path | endswith("/messages/send")')
gw --action send_email --subject 'no recipient' --body x
expect_error invalid_argument 64
gw --action send_email --to bob@example.com --subject "$(printf 'a\r\nBcc: evil@example.com')" --body x
expect_error invalid_argument 64
gw --action send_email --to 'not an address' --body x
expect_error invalid_argument 64
gw --action send_email --to bob@example.com --attach "$TMP/missing.pdf"
expect_error no_input 66
gw --action send_email --to bob@example.com --raw_file "$TMP/body.txt"
expect_error invalid_argument 64
gw --action send_email --to bob@example.com --body_file - --credentials -
expect_error invalid_argument 64
after=$(log_count '.path | endswith("/messages/send")')
expect_eq "$after" "$before" "sends after refusals"

# A send that fails ambiguously is not retried, and says so.
faults '[{"path": "/messages/send$", "status": 500, "count": 1}]'
gw --action send_email --to bob@example.com --subject once --body x
expect_error api 69
expect_eq "$(jout .error.retryable)" false "ambiguous send not retryable"
expect_eq "$(log_count '(.path | endswith("/messages/send")) and .status == 500')" 1 "one attempt"
# A 429 means it did not happen: retried.
faults '[{"path": "/messages/send$", "status": 429, "count": 1, "retry_after": 1}]'
gw --action send_email --to bob@example.com --subject twice --body x
expect_ok
