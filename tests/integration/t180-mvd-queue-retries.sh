# A configured queue: a job enqueued before any daemon started runs; a
# crash-looping job (exit 75, or a segfault) reaches the dead letters after
# exactly max_retries + 1 attempts, each recorded under one job id, with
# nothing left pending or delayed.
. "$MV_TOP/tests/integration/lib.sh"
start_redis

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
log_level = info

[redis]
socket = $REDIS_SOCK

[queue:fast]
priority = 5
max_retries = 2
retry_backoff = 0.3 2 1 0

[job:crash]
command = $TESTW fail75

[job:segv]
command = $TESTW segv

[job:echo]
command = $TESTW ok

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null
CONF
# Enqueued before any daemon made the consumer group: still work.
rcli XADD mailvisor:queue:fast '*' job echo tenant_id t1 user_id alice >/dev/null
start_mvd "$TMP/mvd.conf"
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:echo successful_executions)\" = 1 ]" ||
    fail "a job enqueued before the daemon started never ran"
rcli XADD mailvisor:queue:fast '*' job crash tenant_id t1 user_id alice >/dev/null
rcli XADD mailvisor:queue:fast '*' job segv tenant_id t1 user_id alice >/dev/null
wait_for 20 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 2 ]" ||
    fail "dead letters: $(rcli XLEN mailvisor:dlq); $(tail -5 "$TMP/mvd.log")"
for job in crash segv; do
	expect_eq "$(rcli LLEN worker:history:$job)" 3 "$job: attempts"
	expect_eq "$(rcli LRANGE worker:history:$job 0 -1 | jq -r .attempt | sort | tr '\n' ' ')" "1 2 3 " "$job: attempt numbers"
	expect_eq "$(rcli LRANGE worker:history:$job 0 -1 | jq -r .job_id | sort -u | wc -l | tr -d ' ')" 1 "$job: one job id"
done
expect_eq "$(rcli LINDEX worker:history:segv 0 | jq -r .status)" killed "segv status"
rcli XRANGE mailvisor:dlq - + >"$TMP/dlq"
grep -q crash "$TMP/dlq" && grep -q segv "$TMP/dlq" || fail "dead letters: $(cat "$TMP/dlq")"
expect_eq "$(rcli XPENDING mailvisor:queue:fast mailvisor | head -1)" 0 "pending"
# Nothing is left for later.
expect_eq "$(rcli ZCARD mailvisor:delayed)" 0 "delayed retries"
stop_mvd
