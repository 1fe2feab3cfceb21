# The seeds' AI entry points: gmail-worker | ai-worker pipelines (an
# error of the first stage becomes the result, with its type, exit code
# and retry_after; its ndjson summary is no input), mailvisor-ai, and
# mailvisorctl ai thread / ai bulk and POST /api/v1/workers/ai/process/
# trigger running the configured jobs against both stand-ins.
. "$MV_TOP/tests/integration/lib.sh"
CTL=$MV_BUILD/mailvisorctl
PIPE=$MV_TOP/ai-worker/mailvisor-ai
unset MAILVISOR_URL MAILVISOR_TOKEN MAILVISOR_TOKEN_FILE http_proxy \
    https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
start_redis
start_standin
GURL=$STANDIN_URL
GLOG=$STANDIN_LOG
start_ai_standin
ALICE=$TMP/creds/alice-authorized-user.json
gfaults() { (STANDIN_URL=$GURL; faults "$1"); }
# pipe GMAIL-ARGS... -- AI-ARGS...: the two workers, piped.
pipe() {
	g=
	while [ "$1" != -- ]; do g="$g $1"; shift; done
	shift
	RC=0
	# shellcheck disable=SC2086
	"$WORKER" --credentials "@$ALICE" --quota_units_per_sec 0 $g |
	    "$AIW" --api_key_file "$TMP/ai.key" "$@" >"$TMP/out" \
	    2>"$TMP/err" || RC=$?
}

gw --action fetch_emails --days_back 0 --max_results 1
expect_ok
tid=$(jout '.emails[0].thread_id')
[ -n "$tid" ] && [ "$tid" != null ] || fail "no thread in alice's mailbox"

# A thread through the pipe: one result for the thread.
pipe --action get_thread --thread_id "$tid" -- --action summarize
expect_ok
expect_eq "$(jout .thread_id)" "$tid" "thread_id through the pipe"
# ndjson: gmail-worker's summary line is not an input.
pipe --action fetch_emails --days_back 0 --max_results 3 --output ndjson -- \
    --action classify --output ndjson
expect_rc 0
expect_eq "$(jq -s -r '.[-1] | [.status, .count, .failed] | @csv' "$TMP/out")" '"success",3,0' "ndjson summary"
expect_eq "$(jq -s 'length' "$TMP/out")" 4 "three results and the summary"
# The first stage's error is the result: not_found, 65.
pipe --action get_thread --thread_id ffffffffffff0000 -- --action summarize
expect_error not_found 65
expect_eq "$(jout .error.http_status)" 404 "upstream http_status kept"
grep -q 'get_thread failed' "$TMP/out" || fail "no upstream action: $(cat "$TMP/out")"
# ... rate_limited with its retry_after, 75.
gfaults '[{"path": "/threads/", "status": 429, "count": 5, "retry_after": 40}]'
pipe --action get_thread --thread_id "$tid" --max_wait 0 -- --action summarize
expect_error rate_limited 75
expect_eq "$(jout .error.retry_after)" 40 "retry_after kept"
expect_eq "$(jout .error.retryable)" true "retryable kept"
gfaults '[]'
# ... in ndjson, a failed input among the others.
printf '%s\n' '{"status":"error","action":"sync","error":{"type":"network","message":"reset","retryable":true}}' |
    "$AIW" --api_key_file "$TMP/ai.key" --action summarize --output ndjson \
    >"$TMP/out" 2>"$TMP/err" && fail "ndjson upstream error: exit 0"
expect_eq "$(jq -s -r '.[0].error.type + "," + .[-1].error.type' "$TMP/out")" network,network "ndjson upstream error"
# A summary alone is no mail; an unknown type is api.
printf '{"status":"success","action":"sync","summary":true,"count":0}\n' |
    "$AIW" --api_key_file "$TMP/ai.key" --action summarize >"$TMP/out" \
    2>"$TMP/err" && fail "summary as input: exit 0"
expect_eq "$(jout .error.type)" invalid_argument "summary as input"
printf '{"status":"error","error":{"type":"\\u001b[31mx","message":"m"}}' |
    "$AIW" --api_key_file "$TMP/ai.key" --action summarize >"$TMP/out" \
    2>"$TMP/err" && fail "unknown upstream type: exit 0"
expect_eq "$(jout .error.type)" api "unknown upstream type"

# mailvisor-ai by hand: a thread, the newest N, usage.
RC=0
PATH=$MV_BUILD:$PATH "$PIPE" --credentials "@$ALICE" --thread_id "$tid" \
    --api_key_file "$TMP/ai.key" --tasks summarize,classify >"$TMP/out" \
    2>"$TMP/err" || RC=$?
expect_ok
expect_eq "$(jout '[.thread_id, (.summary | type), (.category | type)] | @csv')" "\"$tid\",\"string\",\"string\"" "mailvisor-ai thread"
RC=0
PATH=$MV_BUILD:$PATH "$PIPE" --credentials "@$ALICE" --limit 2 \
    --api_key_file "$TMP/ai.key" --tasks classify >"$TMP/out" \
    2>"$TMP/err" || RC=$?
expect_rc 0
expect_eq "$(jq -s -r '.[-1] | [.count, .succeeded] | @csv' "$TMP/out")" 2,2 "mailvisor-ai --limit"
RC=0
PATH=$MV_BUILD:$PATH "$PIPE" --credentials "@$ALICE" --limit 3 \
    --query is:unread --api_key_file "$TMP/ai.key" --tasks classify \
    >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_rc 0
[ "$(jq -s '.[-1].count' "$TMP/out")" -le 3 ] || fail "--limit 3 gave more"
[ "$(jq -s "[.[] | select(.path | endswith(\"/messages\")) |
    select((.query.q // [\"\"])[0] | test(\"is:unread\"))] | length" "$GLOG")" -ge 1 ] ||
    fail "--query did not reach messages.list"
RC=0
"$PIPE" --credentials "@$ALICE" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_rc 64
grep -q '^usage: mailvisor-ai' "$TMP/err" || fail "no usage: $(cat "$TMP/err")"
RC=0
"$PIPE" --credentials "@$ALICE" --limit 2x >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_rc 64

# The daemon: the trigger runs ai_thread_job or ai_bulk_job.
PORT=$(free_port)
TOKEN=t406-token-0123456789abcdef
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
URL=http://127.0.0.1:$PORT
cat >"$TMP/mvd.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[http]
listen = 127.0.0.1:$PORT
token_file = $TMP/token

[job:ai_thread]
command = $PIPE --credentials {credentials} --thread_id {thread_id}
	--api_key_file $TMP/ai.key --tasks {tasks}
args = thread_id:string(256)=, tasks:string(200)=classify
env = PATH GMAIL_API_BASE GMAIL_TOKEN_URI AI_WORKER_API_BASE AI_WORKER_MODEL
memory_limit = 0

[job:ai_bulk]
command = $PIPE --credentials {credentials} --limit {limit}
	--api_key_file $TMP/ai.key --tasks classify
args = limit:int(1..100)=2
for_each_account = yes
env = PATH GMAIL_API_BASE GMAIL_TOKEN_URI AI_WORKER_API_BASE AI_WORKER_MODEL
memory_limit = 0

[account:alice]
tenant_id = t1
user_id = alice
user_email = alice@example.com
credentials = $ALICE
CONF
PATH=$MV_BUILD:$PATH start_mvd "$TMP/mvd.conf"
wait_for 30 curl -sf "$URL/healthz" ||
    fail "daemon not up: $(tail -5 "$TMP/mvd.log")"
ctl() {
	RC=0
	MAILVISOR_URL=$URL MAILVISOR_TOKEN_FILE=$TMP/token "$CTL" "$@" \
	    >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
}
# record JOB_ID: its record in $TMP/rec, once written.
record() {
	wait_for 60 sh -c "redis-cli -s $REDIS_SOCK EXISTS worker:metrics:$2:$1 | grep -q 1" ||
	    fail "no record of $2 $1: $(tail -5 "$TMP/mvd.log")"
	rcli GET "worker:metrics:$2:$1" >"$TMP/rec"
}

ctl --json ai thread --account alice --thread-id "$tid"
expect_rc 0
expect_eq "$(jout .job)" ai_thread "ai thread's job"
record "$(jout '.job_ids[0]')" ai_thread
expect_eq "$(jq -r '[.status, .result.thread_id, .result.category != null, .result.reply == null] | @csv' "$TMP/rec")" "\"success\",\"$tid\",true,true" "ai thread's record"
ctl --json ai thread --account alice --thread-id "$tid" --tasks sentiment
record "$(jout '.job_ids[0]')" ai_thread
expect_eq "$(jq -r '[.result.sentiment.label != null, .result.summary == null] | @csv' "$TMP/rec")" true,true "--tasks as the job's argument"
ctl --json ai bulk --limit 3
expect_rc 0
expect_eq "$(jout '.job_ids | length')" 1 "one bulk run per account"
record "$(jout '.job_ids[0]')" ai_bulk
expect_eq "$(jq -r '[.status, .result.count, .result.succeeded] | @csv' "$TMP/rec")" '"success",3,3' "ai bulk's record"
ctl ai bulk
expect_rc 0
grep -q ai_bulk "$TMP/out" || fail "ai bulk text: $(cat "$TMP/out")"

# Refusals: no thread id or account (64, before any request); a thread
# id without an account (400); a field the job does not declare (400);
# a job that is not configured (404).
ctl ai thread --account alice
expect_rc 64
ctl ai thread --thread-id "$tid"
expect_rc 64
ctl ai bulk --thread-id "$tid"
expect_rc 64
api() {
	curl -s -o "$TMP/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data "$1" \
	    "$URL/api/v1/workers/ai/process/trigger"
}
expect_eq "$(api "{\"thread_id\": \"$tid\"}")" 400 "thread_id without account"
grep -q "'account' is required" "$TMP/out" || fail "400 says: $(cat "$TMP/out")"
expect_eq "$(api '{"limit": 2, "tasks": "summarize"}')" 400 "undeclared tasks"
grep -q 'has no argument tasks' "$TMP/out" || fail "400 says: $(cat "$TMP/out")"
expect_eq "$(api '{"limit": "2"}')" 400 "limit not an integer"
expect_eq "$(api '{"limit": 2, "model": "x"}')" 400 "unknown field"
expect_eq "$(api '{"account": "nobody", "limit": 2}')" 404 "unknown account"
sed -i 's/^\[job:ai_bulk\]/[job:other_bulk]/' "$TMP/mvd.conf"
kill -HUP "$MVD_PID"
wait_for 30 sh -c "grep -q 'reloaded\|configuration' $TMP/mvd.log" || true
wait_for 30 sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' --data '{}' $URL/api/v1/workers/ai/process/trigger | grep -q 404" ||
    fail "no 404 for an unconfigured ai_bulk_job"
expect_eq "$(api '{}')" 404 "ai_bulk_job not configured"
grep -q "ai_bulk_job 'ai_bulk' is not configured" "$TMP/out" || fail "404 says: $(cat "$TMP/out")"
stop_mvd
no_secrets "$TMP/mvd.log" "$TMP/out" "$TMP/err" "$TMP/rec"
echo "t406: ok"
