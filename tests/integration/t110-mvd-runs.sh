# mailvisord runs misbehaving workers under their limits and records each
# run in Redis (contract §2 and §3), field by field.
. "$MV_TOP/tests/integration/lib.sh"
start_redis

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 4
grace_period = 2

[redis]
socket = $REDIS_SOCK

[job:ok]
command = $TESTW ok

[job:retry]
command = $TESTW fail75
max_retries = 2
retry_backoff = 0.2 2 1 0

[job:fail]
command = $TESTW fail
max_retries = 3
retry_backoff = 0.1 1 1 0

[job:hog]
command = $TESTW alloc 512
memory_limit = 64m

[job:sleeper]
command = $TESTW sleep ignore-term
soft_timeout = 1
timeout = 2

[job:polite]
command = $TESTW sleep
soft_timeout = 1
timeout = 5

[job:flood]
command = $TESTW flood 100
max_output = 1m

[job:garbage]
command = $TESTW garbage

[job:segv]
command = $TESTW segv

[job:grandchild]
command = $TESTW grandchild
timeout = 30

[job:fds]
command = $TESTW fds

[job:env]
command = $TESTW env
env = PATH, MV_VISIBLE
CONF

"$MVD" -c "$TMP/mvd.conf" --check-config >"$TMP/out" || fail "config refused: $(cat "$TMP/out")"
expect_eq "$(cat "$TMP/out")" "configuration OK" "check-config"

start=$(date +%s)
MV_VISIBLE=yes MV_HIDDEN=secret "$MVD" -c "$TMP/mvd.conf" \
    --run ok --run retry --run fail --run hog --run sleeper --run polite \
    --run flood --run garbage --run segv --run grandchild --run fds \
    --run env 2>"$TMP/mvd.log" || fail "mailvisord exited $?: $(tail -20 "$TMP/mvd.log")"
took=$(( $(date +%s) - start ))
[ "$took" -lt 25 ] || fail "the daemon hung: $took s"

last() {	# the newest history record of a worker
	rcli LINDEX "worker:history:$1" 0
}
status_of() {
	last "$1" | jq -r .status
}
expect_eq "$(status_of ok)" success ok
expect_eq "$(status_of retry)" failed retry
expect_eq "$(rcli LLEN worker:history:retry)" 3 "retry: 1 + max_retries attempts"
expect_eq "$(rcli LRANGE worker:history:retry 0 -1 | jq -r .attempt | sort | tr '\n' ' ')" "1 2 3 " "attempts"
expect_eq "$(rcli LLEN worker:history:fail)" 1 "not retryable: one attempt"
expect_eq "$(status_of hog)" killed hog
expect_eq "$(status_of sleeper)" timeout sleeper
expect_eq "$(last sleeper | jq -r .signal)" SIGKILL "sleeper signal"
expect_eq "$(status_of polite)" timeout polite
expect_eq "$(last polite | jq -r .signal)" SIGTERM "polite signal"
expect_eq "$(status_of flood)" output_too_large flood
expect_eq "$(status_of garbage)" bad_output garbage
expect_eq "$(status_of segv)" killed segv
expect_eq "$(last segv | jq -r .signal)" SIGSEGV "segv signal"
expect_eq "$(status_of grandchild)" success grandchild

# The whole record, from worker:metrics, with the worker's result.
id=$(last ok | jq -r .job_id)
rec=$(rcli GET "worker:metrics:ok:$id")
echo "$rec" | jq -e '.status == "success" and .worker == "ok" and .attempt == 1 and
  .exit_code == 0 and .signal == null and (.duration | type) == "number" and
  (.started_at | test("Z$")) and (.completed_at | test("Z$")) and
  (.max_rss_kb | type) == "number" and (.user_cpu | type) == "number" and
  (.system_cpu | type) == "number" and .result.status == "success"' >/dev/null ||
    fail "record: $rec"
ttl=$(rcli TTL "worker:metrics:ok:$id")
[ "$ttl" -gt 3500 ] && [ "$ttl" -le 3600 ] || fail "metrics TTL $ttl"
last ok | jq -e 'has("result") | not' >/dev/null || fail "history keeps result"

# Stats hashes.
expect_eq "$(rcli HGET worker:stats:retry total_executions)" 3 "retry total"
expect_eq "$(rcli HGET worker:stats:retry failed_executions)" 3 "retry failed"
expect_eq "$(rcli HGET worker:stats:ok successful_executions)" 1 "ok successes"
expect_eq "$(rcli HGET worker:stats:ok last_status)" success "last_status"
rcli HGET worker:stats:ok average_duration | grep -Eq '^[0-9.e-]+$' || fail "average_duration"

# Failures sorted set: every failed run, none of the successes.
nf=$(rcli ZCARD worker:failures)
[ "$nf" -ge 10 ] || fail "failures: $nf"
rcli ZRANGE worker:failures 0 -1 | jq -e 'select(.status == "success")' >/dev/null &&
    fail "a success in worker:failures"

# Isolation: only fds 0-2 open, only allowlisted variables.
last fds >/dev/null
rcli GET "worker:metrics:fds:$(last fds | jq -r .job_id)" |
    jq -e ".result.fds == [0,1,2]" >/dev/null || fail "fds leaked into the worker"
env=$(rcli GET "worker:metrics:env:$(last env | jq -r .job_id)")
echo "$env" | jq -e '.result.env.MV_VISIBLE == "yes" and (.result.env | has("MV_HIDDEN") | not)' >/dev/null ||
    fail "environment: $env"

# stderr lines reach the daemon's log with the job and id.
grep -q "job garbage id" "$TMP/mvd.log" || true
grep -q 'job retry id .*attempt 2' "$TMP/mvd.log" || fail "no retry in the log"
exit 0
