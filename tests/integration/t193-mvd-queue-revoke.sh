# Revoke of queued jobs (SADD of the id to mailvisor:revoked): one revoked
# before it is reached is recorded "revoked", never runs and is
# acknowledged; a retry waiting in the delayed set, revoked by its origin
# id, likewise; a running one has its process killed within seconds, is
# recorded "revoked", and is neither retried nor sent to the dead
# letters, whether revoked by its job id or, for a running retry, by the
# retry's own entry id; nothing stays pending, delayed or in a stream.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
mkdir "$TMP/runs"

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 1
log_level = info

[redis]
socket = $REDIS_SOCK

[queue:work]
priority = 5
max_retries = 3
retry_backoff = 2 1 2 0

[job:block]
command = $TESTW mark $TMP/runs block 3000

[job:victim]
command = $TESTW mark $TMP/runs victim

[job:after]
command = $TESTW mark $TMP/runs after

[job:flaky]
command = $TESTW mark $TMP/runs flaky 0 fail75

[job:long]
command = $TESTW mark $TMP/runs long 30000

[job:second]
command = $TESTW mark $TMP/runs second 30000 fail75-first

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"
start_mvd "$TMP/mvd.conf"

enqueue() {
	rcli XADD mailvisor:queue:work '*' job "$1" tenant_id t1 user_id alice
}
runs() {	# runs TAG: executions of TAG
	ls "$TMP/runs" | grep -c "^$1\\." || true
}
# recorded JOB N: JOB has N records.
recorded() {
	wait_for 20 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK LLEN worker:history:$1)\" -ge $2 ]" ||
	    fail "$1: $(rcli LLEN worker:history:$1) records, expected $2; $(tail -5 "$TMP/mvd.log")"
}
latest() {	# latest JOB FIELD: a field of JOB's latest record
	rcli LINDEX "worker:history:$1" 0 | jq -r ".$2"
}
# settled: nothing pending, delayed, dead or left in the stream.
settled() {
	expect_eq "$(rcli XPENDING mailvisor:queue:work mailvisor | head -1)" 0 "$1: pending entries"
	expect_eq "$(rcli ZCARD mailvisor:delayed)" 0 "$1: delayed retries"
	expect_eq "$(rcli XLEN mailvisor:dlq)" 0 "$1: dead letters"
	expect_eq "$(rcli XLEN mailvisor:queue:work)" 0 "$1: entries left in the stream"
}

# 1. Queued: the only slot is busy while the victim is revoked.
enqueue block >/dev/null
wait_for 30 sh -c "ls $TMP/runs | grep -q '^block\\.'" ||
    fail "block never started: $(tail -5 "$TMP/mvd.log")"
victim=$(enqueue victim)
rcli SADD mailvisor:revoked "$victim" >/dev/null
grep -q '^end ' "$TMP/runs"/block.* &&
    fail "the test was too slow: block ended before the revoke"
enqueue after >/dev/null
recorded after 1
expect_eq "$(runs victim)" 0 "executions of the revoked job"
expect_eq "$(rcli LLEN worker:history:victim)" 1 "records of the revoked job"
expect_eq "$(latest victim status)" revoked "its status"
expect_eq "$(latest victim job_id)" "$victim" "its job id"
expect_eq "$(latest victim attempt)" 1 "its attempt"
expect_eq "$(rcli HGET worker:stats:victim total_executions)" 1 "its stats"
expect_eq "$(runs after)" 1 "the job after it ran"
settled "queued revoke"

# 2. A retry waiting in the delayed set, revoked by its origin id.
flaky=$(enqueue flaky)
recorded flaky 1
expect_eq "$(rcli ZCARD mailvisor:delayed)" 1 "flaky's retry waits"
rcli SADD mailvisor:revoked "$flaky" >/dev/null
[ "$(runs flaky)" -eq 1 ] || fail "the test was too slow: the retry ran before the revoke"
recorded flaky 2
expect_eq "$(runs flaky)" 1 "executions of flaky"
expect_eq "$(latest flaky status)" revoked "flaky's retry status"
expect_eq "$(latest flaky attempt)" 2 "flaky's retry attempt"
expect_eq "$(latest flaky job_id)" "$flaky" "flaky's retry job id"
settled "delayed revoke"

# 3. Running: killed within seconds of the revoke, recorded once.
long=$(enqueue long)
wait_for 30 sh -c "ls $TMP/runs | grep -q '^long\\.'" ||
    fail "long never started: $(tail -5 "$TMP/mvd.log")"
pid=$(ls "$TMP/runs" | sed -n 's/^long\.//p')
kill -0 "$pid" || fail "long's worker is not running"
t0=$(date +%s)
rcli SADD mailvisor:revoked "$long" >/dev/null
recorded long 1
took=$(( $(date +%s) - t0 ))
[ "$took" -le 5 ] || fail "the revoke took $took s"
! kill -0 "$pid" 2>/dev/null || fail "long's worker $pid still runs after its record"
grep -q '^end ' "$TMP/runs/long.$pid" && fail "long ran to its end"
expect_eq "$(latest long status)" revoked "long's status"
expect_eq "$(latest long job_id)" "$long" "long's job id"
expect_eq "$(latest long attempt)" 1 "long's attempt"
# Its record came with its acknowledgement: no retry, no dead letter.
settled "running revoke"
# A job after it through the same queue and slot: long did not come back.
enqueue after >/dev/null
recorded after 2
expect_eq "$(runs long)" 1 "executions of long"
expect_eq "$(rcli LLEN worker:history:long)" 1 "records of long"
expect_eq "$(rcli HGET worker:stats:long total_executions)" 1 "long's stats"
settled "after the running revoke"

# 4. A running retry, revoked by its own entry id (not its origin's).
origin=$(enqueue second)
recorded second 1
wait_for 30 sh -c "[ \$(ls $TMP/runs | grep -c '^second\.') -eq 2 ]" ||
    fail "second's retry never started: $(tail -5 "$TMP/mvd.log")"
expect_eq "$(rcli XPENDING mailvisor:queue:work mailvisor | head -1)" 1 "the retry's entry is pending"
entry=$(rcli XPENDING mailvisor:queue:work mailvisor - + 10 | head -1)
[ -n "$entry" ] && [ "$entry" != "$origin" ] ||
    fail "the retry's entry id '$entry' is not new (origin $origin)"
running=$(grep -L '^end ' "$TMP/runs"/second.* || true)
[ -n "$running" ] || fail "the retry ended too soon"
pid=${running##*.}
rcli SADD mailvisor:revoked "$entry" >/dev/null
recorded second 2
! kill -0 "$pid" 2>/dev/null || fail "the retry's worker $pid still runs after its record"
expect_eq "$(latest second status)" revoked "the retry's status"
expect_eq "$(latest second attempt)" 2 "the retry's attempt"
expect_eq "$(latest second job_id)" "$origin" "the retry's job id"
settled "running retry revoke"
enqueue after >/dev/null
recorded after 3
expect_eq "$(runs second)" 2 "executions of second"
expect_eq "$(rcli LLEN worker:history:second)" 2 "records of second"
# Every revoke acted on has left the revoked set.
wait_for 30 sh -c "[ \$(redis-cli -s $REDIS_SOCK SCARD mailvisor:revoked) -eq 0 ]" ||
    fail "ids left in mailvisor:revoked: $(rcli SMEMBERS mailvisor:revoked | tr '\n' ' ')"
kill -0 "$MVD_PID" || fail "the daemon died: $(tail -5 "$TMP/mvd.log")"
stop_mvd
! grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" ||
    fail "sanitizer: $(grep -A20 -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" | head -30)"
echo "revoked: queued, delayed and running jobs, each recorded once and never retried"
