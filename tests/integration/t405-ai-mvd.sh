#!/bin/sh
# t405: mailvisord runs ai-worker like any worker: a scheduled [job:triage]
# with the key in a file (never argv) against the chat-completions
# stand-in; the run's record keeps the result with its usage, and /metrics
# sums the tokens (mailvisor_ai_tokens_total{job,kind}).
. "$MV_TOP/tests/integration/lib.sh"
M=$MV_TOP/tests/integration/ai-mail
start_redis
start_ai_standin
PORT=$(free_port)

cat >"$TMP/mvd.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[http]
listen = 127.0.0.1:$PORT

[job:triage]
command = $AIW --action process --input $M/email.json
	--api_base $STANDIN_URL/v1 --model standin-model
	--api_key_file $TMP/ai.key
schedule = every 1s
# No RLIMIT_DATA: a sanitizer build of the worker reserves terabytes.
memory_limit = 0
CONF
start_mvd "$TMP/mvd.conf"
wait_for 60 sh -c "redis-cli -s $REDIS_SOCK HGET worker:stats:triage successful_executions | grep -q '^[2-9]'" ||
    fail "no two successful triage runs: $(rcli HGETALL worker:stats:triage | tr '\n' ' '); $(tail -5 "$TMP/mvd.log")"
key=$(rcli --scan --pattern 'worker:metrics:triage:*' | head -1)
rcli GET "$key" >"$TMP/out"
expect_eq "$(jout .status)" success "record status"
expect_eq "$(jout .result.category)" work "record result"
[ "$(jout .result.usage.prompt_tokens)" -gt 0 ] || fail "no usage in the record"
curl -sf "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics" ||
    fail "GET /metrics failed"
prompt=$(awk '$1 == "mailvisor_ai_tokens_total{job=\"triage\",kind=\"prompt\"}" { print $2 }' "$TMP/metrics")
compl=$(awk '$1 == "mailvisor_ai_tokens_total{job=\"triage\",kind=\"completion\"}" { print $2 }' "$TMP/metrics")
[ -n "$prompt" ] && [ "$prompt" -ge "$(jout .result.usage.prompt_tokens)" ] ||
    fail "mailvisor_ai_tokens_total prompt: '$prompt': $(grep -v "^#" "$TMP/metrics" | head -20)"
[ -n "$compl" ] && [ "$compl" -gt 0 ] ||
    fail "mailvisor_ai_tokens_total completion: '$compl'"
grep -q '^# TYPE mailvisor_ai_tokens_total counter$' "$TMP/metrics" ||
    fail "no TYPE line"
stop_mvd
no_secrets "$TMP/mvd.log" "$TMP/out" "$TMP/metrics"
echo "t405: ok"
