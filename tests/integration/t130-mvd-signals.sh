# SIGTERM with jobs running: they get SIGTERM, then SIGKILL after the
# grace period; their records are written; the daemon exits 0.
. "$MV_TOP/tests/integration/lib.sh"
start_redis

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
grace_period = 1

[redis]
socket = $REDIS_SOCK

[job:polite]
command = $TESTW sleep
timeout = 600

[job:obstinate]
command = $TESTW sleep ignore-term
timeout = 600
CONF
start_mvd "$TMP/mvd.conf" --run polite --run obstinate
sleep 1
start=$(date +%s)
kill -TERM "$MVD_PID"
RC=0
wait "$MVD_PID" || RC=$?
MVD_PID=
expect_eq "$RC" 0 "exit status"
[ $(( $(date +%s) - start )) -le 5 ] || fail "stop took too long"
expect_eq "$(rcli LINDEX worker:history:polite 0 | jq -r .signal)" SIGTERM polite
expect_eq "$(rcli LINDEX worker:history:obstinate 0 | jq -r .signal)" SIGKILL obstinate
pgrep -f "mv-test-worker sleep" >/dev/null && fail "workers left running"
exit 0
