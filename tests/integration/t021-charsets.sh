# Text comes out right whichever way Gmail delivers it: bodies already
# converted to UTF-8 (charset header kept) or in their declared charset;
# headers RFC 2047-decoded or not.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

check_mailbox() {
	mode=$1
	gw --action fetch_emails --days_back 0
	expect_ok
	body() { jq -r --arg s "$1" '.emails[] | select(.subject == $s) | .body_text' "$TMP/out"; }
	has() {
		body "$1" | grep -qF -- "$2" ||
		    fail "$mode: '$1' body lacks '$2': $(body "$1" | head -c 200)"
	}
	jq -e '.emails[] | select(.subject == "Grüße aus Köln – Einladung zum Fest 🎉")' "$TMP/out" >/dev/null ||
	    fail "$mode: RFC 2047 subject not decoded"
	jq -e '.emails[] | select(.subject == "会議のお知らせ")' "$TMP/out" >/dev/null ||
	    fail "$mode: ISO-2022-JP subject"
	has "会議のお知らせ" "水野様"
	has "报告" "阿里云的报告已经准备好了"
	has "Shift_JIS test" "こんにちは、世界。"
	has "UTF-7 body" "日本語"
	has "Café crème à l'hôtel" "Ça va ?"
	has "Invoice total" "€"
	has "Invoice total" "“Quoted”"
	has "Adresse" "Straße 5, München"
	has "Invalid UTF-8 inside" "Valid: café."
	has "Invalid UTF-8 inside" "�"
	# Every string in the output is valid UTF-8 (jq would refuse it).
	jq -e . "$TMP/out" >/dev/null || fail "$mode: output is not valid JSON"
	from=$(jq -r '.emails[] | select(.subject | startswith("Grüße")) | .from.name' "$TMP/out")
	[ -n "$from" ] && ! echo "$from" | grep -q '=?' || fail "$mode: From name '$from'"
	# Attachment names: RFC 2231 and RFC 2047 decoded.
	jq -e '[.emails[].attachments[].filename] | index("résumé.pdf")' "$TMP/out" >/dev/null ||
	    fail "$mode: RFC 2231 filename"
}

check_mailbox "utf8 bodies, decoded headers"
control POST /_standin/settings '{"charset_mode": "original", "headers": "raw"}' >/dev/null
check_mailbox "original bodies, raw headers"
control POST /_standin/settings '{"charset_mode": "utf8", "headers": "raw"}' >/dev/null
check_mailbox "utf8 bodies, raw headers"
control POST /_standin/settings '{"charset_mode": "original", "headers": "decoded"}' >/dev/null
check_mailbox "original bodies, decoded headers"

# format raw parses the message itself: the same text.
gw --action fetch_emails --days_back 0 --format raw
expect_ok
jq -e '.emails[] | select(.subject == "会議のお知らせ") | (.raw | type == "string") and (.body_text | contains("水野様"))' "$TMP/out" >/dev/null ||
    fail "format raw: ISO-2022-JP body"
