# Redis Streams queues shared by three daemons: 2 000 jobs (QUEUE_JOBS),
# each recorded exactly once; bad messages to the dead letters, never run; idempotency
# keys; a daemon killed with -9 mid-job has its job reclaimed and finished
# by another; a schedule shared by two daemons fires each time once.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
N=${QUEUE_JOBS:-2000}

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 4
log_level = warn

[redis]
socket = $REDIS_SOCK

[job:echo]
command = $TESTW ok --days={days_back}
args = days_back:int(0..365)=1

[job:broken]
command = $TESTW fail

[job:slow]
command = $TESTW nap 3000
timeout = 4

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null

[account:bob]
tenant_id = t1
user_id = bob
credentials = /dev/null
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"

# Three daemons on one Redis.
pids=
for i in 1 2 3; do
	"$MVD" -c "$TMP/mvd.conf" >/dev/null 2>"$TMP/mvd$i.log" &
	pids="$pids $!"
done
MVD_PID=$pids		# all three stopped by cleanup
daemon_errors() {	# what a sanitizer said, if anything
	grep -h -A20 -E 'ERROR: AddressSanitizer|runtime error' "$TMP"/mvd?.log |
	    head -30 | sed '1s/^/; /'
}

# N jobs through redis-cli's pipe.
i=0
while [ $i -lt "$N" ]; do
	u=alice
	[ $((i % 2)) -eq 0 ] && u=bob
	printf "XADD mailvisor:queue:sync * job echo args '{\"days_back\":%d}' tenant_id t1 user_id %s\n" $((i % 30)) $u
	i=$((i + 1))
done | rcli >/dev/null
# 240 s: twenty times what 2 000 jobs take here.
wait_for 240 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:echo total_executions)\" -ge $N ]" ||
    fail "only $(rcli HGET worker:stats:echo total_executions) of $N recorded$(daemon_errors)"
sleep 1
expect_eq "$(rcli HGET worker:stats:echo total_executions)" "$N" "records"
expect_eq "$(rcli HGET worker:stats:echo successful_executions)" "$N" "successes"
expect_eq "$(rcli --scan --pattern 'worker:metrics:echo:*' | wc -l | tr -d ' ')" "$N" "distinct job ids"
expect_eq "$(rcli XPENDING mailvisor:queue:sync mailvisor | head -1)" 0 "pending entries"
# Jobs without an idempotency key take no hold: no key left for a week.
expect_eq "$(rcli --scan --pattern 'mailvisor:idem:*' | wc -l | tr -d ' ')" 0 "holds of keyless jobs"
for i in 1 2 3; do
	grep -q 'job echo' "$TMP/mvd$i.log" && fail "daemon $i logged about echo runs: $(grep 'job echo' "$TMP/mvd$i.log" | head -3)"
done
# Bad messages: to the dead letters with their reason, never run.
rcli XADD mailvisor:queue:sync '*' job nope tenant_id t1 user_id alice >/dev/null
rcli XADD mailvisor:queue:sync '*' job echo args '{"days_back":1,"evil":"x"}' tenant_id t1 user_id alice >/dev/null
rcli XADD mailvisor:queue:sync '*' job echo args '{"days_back":"many"}' tenant_id t1 user_id alice >/dev/null
rcli XADD mailvisor:queue:sync '*' job echo tenant_id t9 user_id mallory >/dev/null
rcli XADD mailvisor:queue:sync '*' job echo tenant_id t1 user_id alice argv /bin/sh >/dev/null
rcli XADD mailvisor:queue:sync '*' job broken tenant_id t1 user_id alice >/dev/null
wait_for 20 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 6 ]" ||
    fail "dead letters: $(rcli XLEN mailvisor:dlq)$(daemon_errors)"
expect_eq "$(rcli HGET worker:stats:echo successful_executions)" "$N" "bad messages did not run"
rcli XRANGE mailvisor:dlq - + >"$TMP/dlq"
for why in nope evil many mallory argv; do
	grep -q "$why" "$TMP/dlq" || fail "no dead letter about $why: $(cat "$TMP/dlq")"
done
expect_eq "$(rcli HGET worker:stats:broken total_executions)" 1 "broken: one attempt, not retryable"

# Idempotency: the same key twice, one run.
t0=$(rcli HGET worker:stats:echo total_executions)
rcli XADD mailvisor:queue:send '*' job echo tenant_id t1 user_id bob idempotency_key k-42 >/dev/null
rcli XADD mailvisor:queue:send '*' job echo tenant_id t1 user_id bob idempotency_key k-42 >/dev/null
wait_for 20 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:echo total_executions)\" -ge $((t0 + 2)) ]" ||
    fail "idempotency: $(rcli HGET worker:stats:echo total_executions)"
sleep 1
expect_eq "$(rcli HGET worker:stats:echo successful_executions)" $((N + 1)) "one run for one key"
expect_eq "$(rcli LRANGE worker:history:echo 0 1 | jq -r .status | sort | tr '\n' ' ')" "skipped success " "the duplicate skipped"
expect_eq "$(rcli --scan --pattern 'mailvisor:idem:*')" "mailvisor:idem:k-42" "the one hold"

# kill -9 mid-job: another daemon finishes it, once, after timeout + margin.
rcli XADD mailvisor:queue:sync '*' job slow tenant_id t1 user_id alice >/dev/null
victim=
wait_for 30 sh -c "pgrep -f 'mv-test-worker nap 3000' >/dev/null" || fail "slow never started"
wpid=$(pgrep -f 'mv-test-worker nap 3000' | head -1)
victim=$(ps -o ppid= -p "$wpid" | tr -d ' ')
kill -9 "$victim"
wait_for 90 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:slow successful_executions 2>/dev/null || echo 0)\" -ge 1 ]" ||
    fail "slow was not reclaimed: $(rcli XPENDING mailvisor:queue:sync mailvisor)"
expect_eq "$(rcli HGET worker:stats:slow total_executions)" 1 "slow recorded once"
expect_eq "$(rcli LINDEX worker:history:slow 0 | jq .attempt)" 2 "the reclaim used an attempt"
echo "$N jobs, each recorded once; dead letters, idempotency and reclaim ok"
