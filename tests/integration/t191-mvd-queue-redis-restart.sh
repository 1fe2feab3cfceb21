# Redis stopped and restarted (with its data) while queued jobs run, more
# wait in the stream and a retry waits in the delayed set: every job runs
# exactly once and is recorded exactly once, the records of runs that
# ended during the outage included; the retry runs once more and reaches
# the dead letters once; nothing stays pending or delayed.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
mkdir "$TMP/runs"
N=60

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 3
log_level = info

[redis]
socket = $REDIS_SOCK

[queue:work]
priority = 5
max_retries = 2
retry_backoff = 0.5 2 2 0

[queue:again]
priority = 9
max_retries = 1
retry_backoff = 0.5 1 0.5 0

[job:again]
command = $TESTW mark $TMP/runs again 0 retry-after=3

[job:mark]
command = $TESTW mark $TMP/runs j{n} 250
args = n:int(0..1000)

[job:last]
command = $TESTW mark $TMP/runs last

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"

# Half the jobs carry an idempotency key, half rely on their entry id.
i=1
while [ $i -le $N ]; do
	if [ $((i % 2)) -eq 0 ]; then
		echo "XADD mailvisor:queue:work * job mark args '{\"n\":$i}' tenant_id t1 user_id alice idempotency_key k-$i"
	else
		echo "XADD mailvisor:queue:work * job mark args '{\"n\":$i}' tenant_id t1 user_id alice"
	fi
	i=$((i + 1))
done | rcli >/dev/null
expect_eq "$(rcli XLEN mailvisor:queue:work)" "$N" "jobs enqueued"
# Served first: its retry waits 3 s in the delayed set, across the outage.
rcli XADD mailvisor:queue:again '*' job again tenant_id t1 user_id alice >/dev/null
start_mvd "$TMP/mvd.conf"

runs() {
	ls "$TMP/runs" | grep -c '^j'
}
# Mid-flow: a fifth of the jobs done, some running, most still queued.
wait_for 20 sh -c "[ \$(ls $TMP/runs | wc -l) -ge $((N / 5)) ] && for f in $TMP/runs/*; do grep -q '^end ' \$f || exit 0; done; exit 1" ||
    fail "no flow: $(runs) runs; $(tail -5 "$TMP/mvd.log")"
delayed=$(rcli ZCARD mailvisor:delayed)
down_ms=$(date +%s%3N)
stop_redis
kill -0 "$MVD_PID" || fail "the daemon died with Redis down"
# The runs under way end while Redis is down: their records wait in the
# daemon. Redis stays down a while longer.
wait_for 30 sh -c "for f in $TMP/runs/*; do grep -q '^end ' \$f || exit 1; done" ||
    fail "runs did not end with Redis down"
sleep 2
kill -0 "$MVD_PID" || fail "the daemon died with Redis down: $(tail -5 "$TMP/mvd.log")"
up_ms=$(date +%s%3N)
start_redis
before=$(runs)
[ "$before" -lt "$N" ] || fail "every job ran before the restart: not mid-flow"
wait_for 45 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:mark total_executions)\" -ge $N ]" ||
    fail "$(rcli HGET worker:stats:mark total_executions) of $N recorded, $(runs) runs; $(tail -5 "$TMP/mvd.log")"
# A last job through the same stream: whatever was still to come of the
# earlier entries has come by its end.
rcli XADD mailvisor:queue:work '*' job last tenant_id t1 user_id alice >/dev/null
wait_for 20 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:last total_executions)\" = 1 ]" ||
    fail "the last job was not recorded"
kill -0 "$MVD_PID" || fail "the daemon died: $(tail -5 "$TMP/mvd.log")"
grep -q 'redis (commands): connected to .* again' "$TMP/mvd.log" ||
    fail "no reconnection logged: $(grep redis "$TMP/mvd.log" | tail -5)"

# Runs that ended during the outage: their records were kept and sent.
during=0
for f in "$TMP/runs"/j*; do
	e=$(awk '$1 == "end" { print $2 }' "$f")
	[ "$e" -ge "$down_ms" ] && [ "$e" -le "$up_ms" ] && during=$((during + 1))
done
[ "$during" -ge 1 ] || fail "no run ended while Redis was down"

# Effects once: one execution per job, each finished.
expect_eq "$(ls "$TMP/runs" | grep -c '^j')" "$N" "executions"
expect_eq "$(ls "$TMP/runs" | grep '^j' | sed 's/\.[0-9]*$//' | sort -u | wc -l | tr -d ' ')" "$N" "distinct jobs run"
expect_eq "$(grep -l '^end ' "$TMP/runs"/j* | wc -l | tr -d ' ')" "$N" "finished runs"
# Records once: the counters, one metrics key per job id, the history.
expect_eq "$(rcli HGET worker:stats:mark total_executions)" "$N" "records"
expect_eq "$(rcli HGET worker:stats:mark successful_executions)" "$N" "successes"
expect_eq "$(rcli --scan --pattern 'worker:metrics:mark:*' | wc -l | tr -d ' ')" "$N" "distinct job ids"
expect_eq "$(rcli LRANGE worker:history:mark 0 -1 | jq -r .status | sort | uniq -c | tr -s ' ')" " $N success" "history statuses"
expect_eq "$(rcli LRANGE worker:history:mark 0 -1 | jq -r .job_id | sort -u | wc -l | tr -d ' ')" "$N" "history job ids"
expect_eq "$(rcli LRANGE worker:history:mark 0 -1 | jq -r .attempt | sort -u)" 1 "attempts"
# Nothing left behind.
expect_eq "$(rcli XPENDING mailvisor:queue:work mailvisor | head -1)" 0 "pending entries"
expect_eq "$(rcli XLEN mailvisor:queue:work)" 0 "entries left in the stream"
# The retried job: two attempts, two records, one dead letter.
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 1 ]" ||
    fail "the retried job never reached the dead letters: $(rcli HGETALL worker:stats:again | tr '\n' ' ')"
expect_eq "$(ls "$TMP/runs" | grep -c '^again\.')" 2 "executions of the retried job"
expect_eq "$(rcli HGET worker:stats:again total_executions)" 2 "records of the retried job"
expect_eq "$(rcli LRANGE worker:history:again 0 -1 | jq -r .attempt | tr '\n' ' ')" "2 1 " "its attempts"
expect_eq "$(rcli XLEN mailvisor:dlq)" 1 "dead letters"
expect_eq "$(rcli XRANGE mailvisor:dlq - + | grep -c 'attempts exhausted')" 1 "dead letter reason"
expect_eq "$(rcli ZCARD mailvisor:delayed)" 0 "delayed retries"
expect_eq "$(rcli XPENDING mailvisor:queue:again mailvisor | head -1)" 0 "pending retried entries"
expect_eq "$(rcli XLEN mailvisor:queue:again)" 0 "retried entries left in the stream"
stop_mvd
! grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" ||
    fail "sanitizer: $(grep -A20 -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" | head -30)"
echo "Redis restarted mid-flow ($before of $N run before, $during ended during the outage, $delayed delayed): each job run and recorded once"
