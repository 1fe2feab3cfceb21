# Two daemons sharing one Redis and one schedule: each fire time runs once.
. "$MV_TOP/tests/integration/lib.sh"
start_redis

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
log_level = debug

[redis]
socket = $REDIS_SOCK

[job:tick]
command = $TESTW ok
schedule = every 1s
CONF
"$MVD" -c "$TMP/mvd.conf" >/dev/null 2>"$TMP/a.log" &
A=$!
"$MVD" -c "$TMP/mvd.conf" >/dev/null 2>"$TMP/b.log" &
B=$!
MVD_PID="$A $B"		# stopped by cleanup if a step fails
sleep 6
kill -TERM $A $B
wait $A $B || true
MVD_PID=
runs=$(rcli HGET worker:stats:tick total_executions)
fires=$(rcli --scan --pattern 'mailvisor:fire:tick:*' | wc -l | tr -d ' ')
[ "$runs" -ge 4 ] || fail "only $runs runs in 6 s"
expect_eq "$runs" "$fires" "one run per claimed fire time"
lost=$(grep -c 'claimed by another daemon' "$TMP/a.log" "$TMP/b.log" | awk -F: '{ s += $2 } END { print s }')
[ "$lost" -ge 3 ] || fail "the daemons did not compete for fire times ($lost)"
exit 0
