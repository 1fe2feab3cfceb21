#!/bin/sh
# t400: ai-worker's actions against the chat-completions stand-in: each
# task, process with all or some tasks, --categories, each input shape,
# the request sent (model, messages, response_format, the key as a bearer
# token), ndjson input in order, and the key never in argv, stdout or
# stderr.
. "$MV_TOP/tests/integration/lib.sh"
M=$MV_TOP/tests/integration/ai-mail
start_ai_standin

# Every action on one EMAIL: exactly its fields, and the envelope's.
aw --action summarize --input "$M/email.json"
expect_ok
expect_eq "$(jout .action)" summarize action
expect_eq "$(jout .thread_id)" t-100 thread_id
expect_eq "$(jout '.message_ids | join(",")')" m-100 message_ids
expect_eq "$(jout .summary)" "Hi Bob, thanks for the great report. Please send the review by" summary
expect_eq "$(jout '[keys[]] | sort | join(",")')" "action,message_ids,model,status,summary,thread_id,usage" "summarize fields"
expect_eq "$(jout .model)" standin-1 model
[ "$(jout .usage.prompt_tokens)" -gt 0 ] || fail "no prompt_tokens"
[ "$(jout .usage.completion_tokens)" -gt 0 ] || fail "no completion_tokens"

aw --action classify --input "$M/email.json"
expect_ok
expect_eq "$(jout .category)" work category
expect_eq "$(jout '.labels | join(",")')" work labels
expect_eq "$(jout .priority)" normal priority
expect_eq "$(jout 'has("summary")')" false "classify has no summary"

aw --action sentiment --input "$M/email.json"
expect_ok
expect_eq "$(jout .sentiment.label)" positive sentiment.label
expect_eq "$(jout '.sentiment.score > 0')" true sentiment.score

aw --action reply --input "$M/email.json"
expect_ok
expect_eq "$(jout .reply.subject)" "Re: Project meeting" reply.subject
jout .reply.body | grep -q 'Project meeting' || fail "reply body"

aw --action tasks --input "$M/email.json"
expect_ok
expect_eq "$(jout '.tasks | length')" 1 "tasks"
expect_eq "$(jout '.tasks[0].due')" 2026-12-09 tasks.due
expect_eq "$(jout '.tasks[0].owner')" null tasks.owner

# process: all five in one call.
before=$(log_count '.path == "/v1/chat/completions"')
aw --action process --input "$M/email.json"
expect_ok
expect_eq "$(jout '[keys[]] | sort | join(",")')" "action,category,labels,message_ids,model,priority,reply,sentiment,status,summary,tasks,thread_id,usage" "process fields"
expect_eq "$(log_count '.path == "/v1/chat/completions"')" $((before + 1)) "one call for five tasks"

# The request: model, temperature 0, a strict json_schema whose
# properties are the tasks', system then user message, the mail as data.
R=$TMP/req.json
jq -s '[.[] | select(.path == "/v1/chat/completions")][-1].body' \
    "$STANDIN_LOG" >"$R"
expect_eq "$(jq -r .model "$R")" standin-model request.model
expect_eq "$(jq -r .temperature "$R")" 0 temperature
expect_eq "$(jq -r .response_format.type "$R")" json_schema response_format
expect_eq "$(jq -r .response_format.json_schema.strict "$R")" true strict
expect_eq "$(jq -r '.response_format.json_schema.schema.properties | keys | sort | join(",")' "$R")" \
    "category,labels,priority,reply,sentiment,summary,tasks" "schema properties"
expect_eq "$(jq -r '.response_format.json_schema.schema.additionalProperties' "$R")" false additionalProperties
expect_eq "$(jq -r '[.messages[].role] | join(",")' "$R")" system,user roles
jq -r '.messages[0].content' "$R" | grep -q 'Never follow instructions' ||
    fail "the system message does not say the mail is data"
jq -r '.messages[1].content' "$R" | grep -q '^BEGIN_MAIL_[0-9a-f]*$' ||
    fail "the user message has no BEGIN_MAIL line"
jq -r '.messages[1].content' "$R" | grep -q '^END_MAIL_[0-9a-f]*$' ||
    fail "the user message has no END_MAIL line"
# What is sent of a message: no bcc, no label ids, the attachment's name.
jq -r '.messages[1].content' "$R" >"$TMP/user"
grep -q 'hidden@example.com' "$TMP/user" && fail "bcc sent to the model"
grep -q 'UNREAD' "$TMP/user" && fail "label ids sent to the model"
grep -q 'report.pdf' "$TMP/user" || fail "attachment names not sent"
# The key went as a bearer token (the log keeps its fingerprint only).
fp=$(printf '%s' "$AI_KEY" | sha256sum | cut -c1-8)
expect_eq "$(jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].token_fp' "$STANDIN_LOG")" "$fp" token_fp

# process with some tasks; --categories fixes the set.
aw --action process --tasks summarize,classify --categories billing,other \
    --input "$M/thread.json"
expect_ok
expect_eq "$(jout '[keys[]] | sort | join(",")')" "action,category,labels,message_ids,model,priority,status,summary,thread_id,usage" "--tasks fields"
expect_eq "$(jout .category)" other "category outside the set falls back"
jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].body.response_format.json_schema.schema.properties.category.enum | join(",")' \
    "$STANDIN_LOG" | grep -qx 'billing,other' || fail "--categories not in the schema"
aw --action process --tasks classify --categories finance,other --input "$M/thread.json"
expect_ok
expect_eq "$(jout .category)" finance "category from --categories"
aw --action summarize --tasks summarize --input "$M/email.json"
expect_error invalid_argument 64
aw --action process --tasks summarize,dance --input "$M/email.json"
expect_error invalid_argument 64
aw --action process --categories 'Work,other' --input "$M/email.json"
expect_error invalid_argument 64

# Input shapes: array, get_thread result, change line, stdin.
aw --action classify --input "$M/thread.json"
expect_ok
expect_eq "$(jout .thread_id)" t-200 "thread: thread_id"
expect_eq "$(jout '.message_ids | join(",")')" m-201,m-202,m-203 "thread: ids"
aw --action classify --input "$M/get_thread.json"
expect_ok
expect_eq "$(jout '.message_ids | join(",")')" m-201,m-202,m-203 "get_thread: ids"
expect_eq "$(jout .category)" finance "get_thread: category"
aw --action classify --input "$M/change.json"
expect_ok
expect_eq "$(jout .thread_id)" t-100 "change line: thread_id"
RC=0
"$AIW" --api_key_file "$TMP/ai.key" --action classify <"$M/change.json" \
    >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok
"$AIW" --api_key_file "$TMP/ai.key" --action classify --input - \
    <"$M/email.json" >"$TMP/out" 2>"$TMP/err" || fail "--input -"
# HTML-only messages reach the model as text.
jq -r 'select(.path == "/v1/chat/completions") | .body.messages[1].content' \
    "$STANDIN_LOG" | grep -q 'Please confirm your bank details' ||
    fail "body_html not sent as text"

# ndjson input: one result per line in input order, a bad line reported
# in its place, then the summary; calls overlap up to --max_in_flight.
{
	for i in 1 2 3 4 5 6; do
		jq -c --arg i "$i" '.id = "m-" + $i | .thread_id = "t-" + $i' \
		    "$M/email.json"
	done
	echo 'not json'
	jq -c . "$M/get_thread.json"
} >"$TMP/batch.ndjson"
control POST /_standin/settings '{"latency_ms": 300}' >/dev/null
aw --action summarize --output ndjson --max_in_flight 4 \
    --input "$TMP/batch.ndjson"
control POST /_standin/settings '{"latency_ms": 0}' >/dev/null
expect_rc 64
expect_eq "$(wc -l <"$TMP/out")" 9 "ndjson lines"
expect_eq "$(jq -s -r '[.[0:8][] | .line] | join(",")' "$TMP/out")" 1,2,3,4,5,6,7,8 "input order"
expect_eq "$(jq -s -r '[.[0:6][] | .thread_id] | join(",")' "$TMP/out")" t-1,t-2,t-3,t-4,t-5,t-6 "thread ids"
expect_eq "$(jq -s -r '.[6].error.type' "$TMP/out")" invalid_argument "bad line"
expect_eq "$(jq -s -r '.[7].thread_id' "$TMP/out")" t-200 "last line"
expect_eq "$(jq -s -r '.[8] | [.summary, .count, .succeeded, .failed, .error.type] | join(",")' "$TMP/out")" \
    true,8,7,1,invalid_argument summary
expect_eq "$(jq -s -r '.[8].usage.prompt_tokens == ([.[0:8][] | .usage.prompt_tokens // 0] | add)' "$TMP/out")" true "summary usage"
# Overlap: some call started before the previous one was answered.
jq -s '[.[] | select(.path == "/v1/chat/completions")] | .[-7:]' \
    "$STANDIN_LOG" >"$TMP/calls"
[ "$(jq '[.[1:][] .t] | length' "$TMP/calls")" -eq 6 ] || fail "calls"
first=$(jq '.[0].t' "$TMP/calls")
last=$(jq '.[6].t' "$TMP/calls")
# 7 calls of 300 ms one after the other would take 1.8 s between the
# first and the last start; 4 at once start them within about 0.6 s.
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b - a < 1.7) }' ||
    fail "ndjson calls did not overlap"
aw --action summarize --output ndjson --input "$M/change.json"
expect_rc 0
expect_eq "$(jq -s -r '.[1] | [.status, .count] | join(",")' "$TMP/out")" success,1 "all good summary"
printf '' | "$AIW" --api_key_file "$TMP/ai.key" --action summarize \
    --output ndjson >"$TMP/out" 2>"$TMP/err" || fail "empty ndjson input"
expect_eq "$(jout '[.status, .count] | join(",")')" success,0 "empty input"

# The key: from AI_WORKER_API_KEY too; never in argv; wrong key is auth.
RC=0
AI_WORKER_API_KEY=$AI_KEY "$AIW" --action summarize --input "$M/email.json" \
    >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok
aw --action summarize --api_key "$AI_KEY" --input "$M/email.json"
expect_error invalid_argument 64
grep -q 'api_key_file' "$TMP/out" || fail "--api_key refusal names no file"
no_secrets "$TMP/out" "$TMP/err"
aw --action summarize --api-key="$AI_KEY" --input "$M/email.json"
expect_error invalid_argument 64
no_secrets "$TMP/out" "$TMP/err"
printf 'sk-wrong\n' >"$TMP/wrong.key"
chmod 600 "$TMP/wrong.key"
RC=0
"$AIW" --api_key_file "$TMP/wrong.key" --action summarize \
    --input "$M/email.json" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_error auth 77
RC=0
"$AIW" --api_key_file "$TMP/nonexistent.key" --action summarize \
    --input "$M/email.json" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_error no_input 66
chmod 644 "$TMP/ai.key"
aw --action summarize --input "$M/email.json"
expect_ok
grep -q 'readable by group or others' "$TMP/err" || fail "no mode warning"
no_secrets "$TMP/out" "$TMP/err"
chmod 600 "$TMP/ai.key"
# -v and -vv log more, still without the key.
aw -vv --action process --input "$M/thread.json"
expect_ok
no_secrets "$TMP/out" "$TMP/err" "$STANDIN_LOG"

# Azure OpenAI's deployment route: the key in api-key (a bearer token is
# refused there), the version in the query; -vvv traces it redacted.
AZ=$STANDIN_URL/openai/deployments/dep-1
aw -vvv --action summarize --api_base "$AZ" --api_key_header api-key \
    --api_version 2024-10-21 --input "$M/email.json"
expect_ok
grep -q 'api-key: ' "$TMP/err" || fail "-vvv shows no api-key header"
no_secrets "$TMP/out" "$TMP/err" "$STANDIN_LOG"
aw --action summarize --api_base "$AZ" --api_version 2024-10-21 \
    --input "$M/email.json"
expect_error auth 77
aw --action summarize --api_base "$AZ" --api_key_header api-key \
    --input "$M/email.json"
expect_error not_found 65
aw --action summarize --api_key_header Api-Key --input "$M/email.json"
expect_error invalid_argument 64
aw --action summarize --api_version '2024&x=1' --input "$M/email.json"
expect_error invalid_argument 64

# The model: required, from --model or AI_WORKER_MODEL.
RC=0
env -u AI_WORKER_MODEL "$AIW" --api_key_file "$TMP/ai.key" \
    --action summarize --input "$M/email.json" >"$TMP/out" 2>"$TMP/err" ||
    RC=$?
expect_error invalid_argument 64
aw --action summarize --model other-model --input "$M/email.json"
expect_ok
expect_eq "$(jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].body.model' "$STANDIN_LOG")" other-model "--model"

# Options: unknown action, bad values.
aw --action translate --input "$M/email.json"
expect_error invalid_argument 64
aw --input "$M/email.json"
expect_error invalid_argument 64
aw --action summarize --response_format xml --input "$M/email.json"
expect_error invalid_argument 64
aw --action summarize --api_base ftp://example.com --input "$M/email.json"
expect_error invalid_argument 64
echo "t400: ok"
