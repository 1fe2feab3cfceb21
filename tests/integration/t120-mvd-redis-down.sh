# Redis stopped and restarted while jobs run: the daemon keeps running
# them (unclaimed_fires = run), buffers the records and flushes every one
# when Redis is back.
. "$MV_TOP/tests/integration/lib.sh"
start_redis

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
unclaimed_fires = run

[redis]
socket = $REDIS_SOCK

[job:tick]
command = $TESTW ok
schedule = every 1s
max_instances = 1
CONF
start_mvd "$TMP/mvd.conf"
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK LLEN worker:history:tick)\" -ge 2 ]" ||
    fail "tick did not run"
stop_redis
sleep 4
kill -0 "$MVD_PID" || fail "the daemon died with Redis down"
# Restarted with its data: every run's record arrives, none twice.
start_redis
sleep 3
stop_mvd
total=$(grep -c 'job tick id .* after .* (attempt' "$TMP/mvd.log")
[ "$total" -ge 6 ] || fail "only $total runs"
expect_eq "$(rcli HGET worker:stats:tick total_executions)" "$total" "records in Redis"
expect_eq "$(rcli LRANGE worker:history:tick 0 -1 | jq -r .job_id | sort -u | wc -l | tr -d ' ')" "$total" "distinct records"
