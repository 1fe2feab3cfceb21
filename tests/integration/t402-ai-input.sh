#!/bin/sh
# t402: ai-worker's input: what is refused (not JSON, other shapes, input
# past the size cap, a missing file) and how a long thread is cut to
# --max_input_tokens (quotes and signatures first, then the middle
# messages, then the longest bodies), saying what was left out.
. "$MV_TOP/tests/integration/lib.sh"
M=$MV_TOP/tests/integration/ai-mail
start_ai_standin
calls() { log_count '.path == "/v1/chat/completions"'; }
last_user() {
	jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].body.messages[1].content' \
	    "$STANDIN_LOG"
}

# refused INPUT WHAT: the input gives invalid_argument, names the shapes,
# and no call is made.
refused() {
	printf '%s' "$1" >"$TMP/in.json"
	b=$(calls)
	aw --action summarize --input "$TMP/in.json"
	expect_error invalid_argument 64
	jout .error.message | grep -q 'change line' ||
	    fail "$2: the message does not name the accepted shapes"
	expect_eq "$(calls)" "$b" "$2: calls"
}
refused 'not json at all' "not JSON"
refused '' "empty input"
refused '"a string"' "a string"
refused '42' "a number"
refused '{"hello": "world"}' "an object of another shape"
refused '[]' "an empty array"
refused '[{"id": "m1", "subject": "x"}, 7]' "an array with a non-EMAIL"
refused '{"change": "added", "id": "m1"}' "an added change line without email"
refused '{"change": 5, "id": "m1"}' "a change that is not a string"
# A change without mail (deleted, labels), as a job consuming a mail
# stream gets: success, skipped, no call to the model.
b=$(calls)
printf '{"change": "deleted", "id": "m1"}' >"$TMP/in.json"
aw --action summarize --input "$TMP/in.json"
expect_ok
expect_eq "$(jout '[.skipped, .change, .id, .reason] | @csv')" 'true,"deleted","m1","a deleted change carries no mail"' "deleted change"
printf '%s\n' '{"change": "labels", "id": "m2", "label_ids": ["INBOX"]}' \
    "$(cat "$M/change.json" | jq -c .)" >"$TMP/in.ndjson"
aw --action classify --output ndjson --input "$TMP/in.ndjson"
expect_rc 0
expect_eq "$(jq -s -r '[.[0].skipped, .[1].skipped, .[1].category != null, .[2].count, .[2].succeeded, .[2].skipped] | @csv' "$TMP/out")" 'true,,true,2,2,1' "ndjson with a labels change"
expect_eq "$(calls)" "$((b + 1))" "calls for a deleted and a labels change"
refused '{"status": "error", "action": "get_thread", "error": {}}' "an error envelope without a type"
refused '{"status": "success", "action": "sync", "summary": true}' "a summary line"
refused '{"id": 5, "subject": "x"}' "an id that is not a string"
refused '{"id": "a", "subject": "x", "id": "b"}' "duplicate keys"

# A missing input file: no_input.
aw --action summarize --input "$TMP/none.json"
expect_error no_input 66

# Past the 64 MiB cap: invalid_argument, read no further.
head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$TMP/huge.json"
aw --action summarize --input "$TMP/huge.json"
expect_error invalid_argument 64
jout .error.message | grep -q 'larger than' || fail "huge: message"
rm -f "$TMP/huge.json"

# A short thread is sent whole, quotes and signatures included, and the
# result has no "truncated".
aw --action summarize --input "$M/thread.json"
expect_ok
expect_eq "$(jout 'has("truncated")')" false "short: truncated"
last_user | grep -q 'Billing team' || fail "short: signature stripped"

# A thread of 40 messages of about 2 KB, each quoting the one before,
# against a 4000-token budget: quotes and signatures go first, then the
# messages after the first, oldest first; the first and the newest stay.
python3 - "$TMP/long.json" <<'PY'
import json, sys
msgs = []
for i in range(40):
    quote = "\n".join("> earlier line %d of message %d" % (j, i - 1)
                      for j in range(30)) if i else ""
    body = ("Message %d says: " % i) + ("word%d " % i) * 250 + \
        "\n\nOn Mon, 1 Dec 2026, Someone <s@example.com> wrote:\n" + quote + \
        "\n-- \nSignature of message %d\n" % i
    msgs.append({"id": "m%02d" % i, "thread_id": "long", "subject":
                 "Topic %d" % i, "from": {"name": "", "email":
                 "p%d@example.com" % i}, "body_text": body})
json.dump(msgs, open(sys.argv[1], "w"))
PY
aw --action summarize --max_input_tokens 4000 --input "$TMP/long.json"
expect_ok
dropped=$(jout .truncated.messages_dropped)
bytes=$(jout .truncated.bytes_dropped)
[ "$dropped" -gt 0 ] && [ "$dropped" -lt 39 ] ||
    fail "messages_dropped $dropped"
[ "$bytes" -gt 0 ] || fail "bytes_dropped $bytes"
expect_eq "$(jout '.message_ids | length')" 40 "message_ids lists every message"
last_user >"$TMP/user"
# The prompt fits: bytes / 4 of both messages within the budget.
sys=$(jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].body.messages[0].content' "$STANDIN_LOG" | wc -c)
usr=$(wc -c <"$TMP/user")
[ $(( (sys + usr + 3) / 4 )) -le 4000 ] ||
    fail "the prompt is $(( (sys + usr + 3) / 4 )) tokens, budget 4000"
grep -q 'Message 0 says' "$TMP/user" || fail "the first message was dropped"
grep -q 'Message 39 says' "$TMP/user" || fail "the newest message was dropped"
grep -q 'Message 1 says' "$TMP/user" && fail "message 1 kept before later ones"
grep -q 'earlier line' "$TMP/user" && fail "quoted lines kept"
grep -q 'Signature of message' "$TMP/user" && fail "signature kept"
grep -q 'wrote:' "$TMP/user" && fail "attribution kept"
sed -n '/^BEGIN_MAIL_/,/^END_MAIL_/p' "$TMP/user" | sed '1d;$d' |
    jq -e ".messages_left_out == $dropped" >/dev/null ||
    fail "the model is not told how many messages were left out"

# One message far past the budget: its body is cut, whole UTF-8
# sequences only.
python3 -c '
import json, sys
print(json.dumps({"id": "big", "thread_id": "big", "subject": "Grüße",
    "body_text": "Grüße aus Köln. " * 200000}))' >"$TMP/big.json"
aw --action summarize --max_input_tokens 2000 --input "$TMP/big.json"
expect_ok
expect_eq "$(jout .truncated.messages_dropped)" 0 "big: messages_dropped"
[ "$(jout .truncated.bytes_dropped)" -gt 3000000 ] || fail "big: bytes_dropped"
last_user | sed -n '/^BEGIN_MAIL_/,/^END_MAIL_/p' | sed '1d;$d' |
    jq -e '.messages[0].body | startswith("Grüße aus Köln.")' >/dev/null ||
    fail "big: the body sent is not valid"

# A budget the instructions alone do not fit in: invalid_argument.
aw --action process --max_input_tokens 256 --input "$M/email.json"
expect_error invalid_argument 64
jout .error.message | grep -q 'max_input_tokens' || fail "tiny budget message"
echo "t402: ok"
