# get_attachment to a file and to stdout; the bytes are the original ones.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

gw --action fetch_emails --days_back 0 --query 'subject:"Your documents"'
expect_ok
id=$(jout '.emails[0].id')
aid=$(jout '.emails[0].attachments[] | select(.filename == "résumé.pdf") | .attachment_id')
size=$(jout '.emails[0].attachments[] | select(.filename == "résumé.pdf") | .size')
[ -n "$aid" ] && [ "$aid" != null ] || fail "no attachment id"

gw --action get_attachment --id "$id" --attachment_id "$aid" --output_file "$TMP/a.pdf"
expect_ok
expect_eq "$(jout .size)" "$size" size
expect_eq "$(jout .path)" "$TMP/a.pdf" path
expect_eq "$(wc -c <"$TMP/a.pdf" | tr -d ' ')" "$size" "bytes written"
head -c 5 "$TMP/a.pdf" | grep -q '%PDF-' || fail "not the PDF's bytes"
expect_eq "$(stat -c %a "$TMP/a.pdf")" 600 "mode"

# To stdout: the bytes there, the JSON result on stderr.
RC=0
"$WORKER" --credentials "@$TMP/creds/alice-authorized-user.json" \
    --action get_attachment --id "$id" --attachment_id "$aid" \
    --output_file - >"$TMP/b.pdf" 2>"$TMP/err" || RC=$?
expect_rc 0
cmp -s "$TMP/a.pdf" "$TMP/b.pdf" || fail "stdout bytes differ"
tail -n 1 "$TMP/err" | jq -e '.status == "success" and .path == "-"' >/dev/null ||
    fail "result not on stderr"

gw --action get_attachment --id "$id" --attachment_id nope --output_file "$TMP/c"
expect_error not_found 65
gw --action get_attachment --id "$id" --output_file "$TMP/c"
expect_error invalid_argument 64
gw --action get_attachment --id "$id" --attachment_id "$aid" --output_file "$TMP/no/such/dir/f"
expect_error no_input 66
# A write that fails (a full disk) is a failure, never a silent success.
gw --action get_attachment --id "$id" --attachment_id "$aid" --output_file /dev/full
expect_error internal 70
