#!/bin/sh
# t401: ai-worker under the stand-in's faults: 429 with Retry-After within
# and past --max_wait, 500s, a dropped connection, a slow answer past
# --timeout, answers that break the schema (retried once with the error,
# then bad_output), that are not JSON, in a code fence, with extra fields,
# refusals, and a 400 on the json_schema response_format (fallback to
# json_object). Usage is summed over the calls of a run.
. "$MV_TOP/tests/integration/lib.sh"
M=$MV_TOP/tests/integration/ai-mail
start_ai_standin
calls() { log_count '.path == "/v1/chat/completions"'; }
# run_fault RULES ARGS...: installs the rules, runs the worker, counts the
# calls it made into $N.
run_fault() {
	faults "$1"
	shift
	b=$(calls)
	aw "$@"
	N=$(( $(calls) - b ))
	control DELETE /_standin/faults >/dev/null
}

# 429 with a Retry-After inside --max_wait: waited for, then success.
run_fault '[{"status": 429, "retry_after": 1}]' --action summarize \
    --input "$M/email.json"
expect_ok
expect_eq "$N" 2 "429 then success: calls"
grep -q 'retrying in' "$TMP/err" || fail "no retry logged"

# 429 with a Retry-After past --max_wait: rate_limited at once, with
# retry_after for the scheduler.
run_fault '[{"status": 429, "retry_after": 120, "count": -1}]' \
    --action summarize --max_wait 10 --input "$M/email.json"
expect_error rate_limited 75
expect_eq "$(jout .error.retry_after)" 120 retry_after
expect_eq "$(jout .error.retryable)" true retryable
expect_eq "$N" 1 "429 past max_wait: calls"

# 500 twice, then success; 500 always: api after the retries.
run_fault '[{"status": 500, "count": 2}]' --action summarize \
    --input "$M/email.json"
expect_ok
expect_eq "$N" 3 "500 x2: calls"
run_fault '[{"status": 503, "count": -1}]' --action summarize \
    --max_wait 3 --input "$M/email.json"
expect_error api 69
expect_eq "$(jout .error.http_status)" 503 http_status

# A dropped connection: retried.
run_fault '[{"drop": true}]' --action summarize --input "$M/email.json"
expect_ok
expect_eq "$N" 2 "drop: calls"
run_fault '[{"drop": true, "count": -1}]' --action summarize --max_wait 2 \
    --input "$M/email.json"
expect_error network 75

# An answer that breaks the schema: asked again with the error; once is
# forgiven, twice is bad_output. Usage counts both calls.
run_fault '[{"answer": "bad_schema"}]' --action process \
    --input "$M/email.json"
expect_ok
expect_eq "$N" 2 "bad_schema once: calls"
jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].body.messages | [.[].role] | join(",")' \
    "$STANDIN_LOG" | grep -qx 'system,user,assistant,user' ||
    fail "the retry does not carry the rejected answer"
jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].body.messages[3].content' \
    "$STANDIN_LOG" | grep -q 'does not fit the schema' ||
    fail "the retry does not say what was wrong"
p1=$(jq -s '[.[] | select(.path == "/v1/chat/completions")][-2:] | length' "$STANDIN_LOG")
[ "$p1" -eq 2 ] || fail "log"
run_fault '[{"answer": "bad_schema", "count": 2}]' --action classify \
    --input "$M/email.json"
expect_error bad_output 65
expect_eq "$(jout .error.retryable)" false "bad_output retryable"
expect_eq "$N" 2 "bad_schema twice: calls"
jout .error.message | grep -q 'category' || fail "bad_output names no field"
[ "$(jout .usage.prompt_tokens)" -gt 0 ] || fail "no usage on bad_output"
one=$(jq -s '[.[] | select(.path == "/v1/chat/completions")][-2].body.messages | map(.content | length) | add' "$STANDIN_LOG")
two=$(jq -s '[.[] | select(.path == "/v1/chat/completions")][-1].body.messages | map(.content | length) | add' "$STANDIN_LOG")
expect_eq "$(jout .usage.prompt_tokens)" $(( (one + 3) / 4 + (two + 3) / 4 )) "usage summed over the retry"
run_fault '[{"answer": "not_json", "count": 2}]' --action summarize \
    --input "$M/email.json"
expect_error bad_output 65
jout .error.message | grep -q 'not JSON' || fail "not JSON not said"

# A code fence around the answer: accepted.
run_fault '[{"answer": "fence"}]' --action process --input "$M/email.json"
expect_ok
expect_eq "$N" 1 "fence: calls"
expect_eq "$(jout .category)" work "fenced answer"

# Extra fields: dropped, never printed.
run_fault '[{"answer": "extra_fields"}]' --action process \
    --input "$M/email.json"
expect_ok
expect_eq "$(jout '[has("system_prompt"), has("tool_calls"), has("api_key"), (.sentiment | has("note"))] | any')" false "extra fields"
grep -q 'leaked' "$TMP/out" && fail "a smuggled field reached stdout"
grep -q 'dropped' "$TMP/err" || fail "dropped fields not logged"

# Refusals: refused, not retried.
run_fault '[{"answer": "refusal"}]' --action summarize --input "$M/email.json"
expect_error refused 65
expect_eq "$N" 1 "refusal: calls"
run_fault '[{"answer": "content_filter"}]' --action summarize \
    --input "$M/email.json"
expect_error refused 65
jout .error.message | grep -q content_filter || fail "content_filter not said"

# A 400 on json_schema: json_object instead, the schema in the prompt.
control POST /_standin/settings '{"reject_json_schema": true}' >/dev/null
b=$(calls)
aw --action process --input "$M/email.json"
expect_ok
expect_eq "$(( $(calls) - b ))" 2 "fallback: calls"
expect_eq "$(jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].body.response_format.type' "$STANDIN_LOG")" json_object "fallback format"
expect_eq "$(jout .category)" work "fallback answer"
# Asked for json_object from the start: one call.
b=$(calls)
aw --action process --response_format json_object --input "$M/email.json"
expect_ok
expect_eq "$(( $(calls) - b ))" 1 "json_object: calls"
aw --action process --response_format none --input "$M/email.json"
expect_ok
expect_eq "$(jq -s -r '[.[] | select(.path == "/v1/chat/completions")][-1].body | has("response_format")' "$STANDIN_LOG")" false "none: no response_format"
control POST /_standin/settings '{"reject_json_schema": false}' >/dev/null

# A 400 for another reason is invalid_argument, not a fallback.
run_fault '[{"status": 400, "message": "max_tokens is too large"}]' \
    --action summarize --input "$M/email.json"
expect_error invalid_argument 64
expect_eq "$N" 1 "other 400: calls"

# No endpoint at all: network, retryable.
RC=0
AI_WORKER_API_BASE=http://127.0.0.1:9/v1 "$AIW" --api_key_file "$TMP/ai.key" \
    --action summarize --max_wait 0 --input "$M/email.json" \
    >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_error network 75
no_secrets "$TMP/out" "$TMP/err" "$STANDIN_LOG"

# A slow answer past --timeout: timeout (no time left to retry). Last:
# the stand-in finishes the abandoned request later.
run_fault '[{"delay_ms": 4000, "count": -1}]' --action summarize \
    --timeout 1 --max_wait 0 --input "$M/email.json"
expect_error timeout 75
echo "t401: ok"
