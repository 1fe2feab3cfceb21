# mailvisord --check-config: every error as file:line; a SIGHUP with a broken
# file keeps the running configuration; a good one is taken.
. "$MV_TOP/tests/integration/lib.sh"
start_redis

cat >"$TMP/bad.conf" <<CONF
[mailvisord]
max_children = 0

[job:a]
command = /bin/true {nope}
schedule = every 5x

[bogus]
x = 1
CONF
RC=0
"$MVD" -c "$TMP/bad.conf" --check-config >"$TMP/out" 2>"$TMP/err" || RC=$?
[ "$RC" -ne 0 ] || fail "a broken file passed"
grep -q "^$TMP/bad.conf:2: " "$TMP/err" || fail "no error for line 2: $(cat "$TMP/err")"
grep -q "^$TMP/bad.conf:5: " "$TMP/err" || fail "no error for line 5: $(cat "$TMP/err")"
grep -q "^$TMP/bad.conf:6: " "$TMP/err" || fail "no error for line 6: $(cat "$TMP/err")"
grep -q "^$TMP/bad.conf:8: " "$TMP/err" || fail "no error for line 8: $(cat "$TMP/err")"
RC=0
"$MVD" -c "$TMP/missing.conf" --check-config >"$TMP/out" 2>"$TMP/err" || RC=$?
[ "$RC" -ne 0 ] || fail "a missing file passed"

cat >"$TMP/mvd.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[job:tick]
command = $TESTW ok
schedule = every 1s
CONF
start_mvd "$TMP/mvd.conf"
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK LLEN worker:history:tick)\" -ge 2 ]" ||
    fail "tick did not run: $(cat "$TMP/mvd.log")"

# A broken reload: still running, still ticking, the reason logged.
cp "$TMP/bad.conf" "$TMP/mvd.conf"
kill -HUP "$MVD_PID"
sleep 1
kill -0 "$MVD_PID" || fail "the daemon died on a bad reload"
grep -q 'keeping the running configuration' "$TMP/mvd.log" || fail "no reason logged"
n=$(rcli LLEN worker:history:tick)
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK LLEN worker:history:tick)\" -gt $n ]" ||
    fail "tick stopped after a bad reload"

# A good reload: the new job runs, the removed one stops.
cat >"$TMP/mvd.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[job:tock]
command = $TESTW ok
schedule = every 1s
CONF
kill -HUP "$MVD_PID"
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK LLEN worker:history:tock)\" -ge 1 ]" ||
    fail "tock did not run after the reload"
n=$(rcli LLEN worker:history:tick)
sleep 2.5
expect_eq "$(rcli LLEN worker:history:tick)" "$n" "tick after its removal"
stop_mvd
