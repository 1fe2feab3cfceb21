# mailvisord's log lines: each Redis connection says which it is; run by
# hand, a line starts with its time; on the journal's stream (systemd's
# JOURNAL_STREAM names stderr), it does not, as journald times it.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
cat >"$TMP/mvd.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[job:tick]
command = $TESTW ok
schedule = every 1h
CONF

TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
start_mvd "$TMP/mvd.conf"
wait_for 20 grep -q 'redis (queue reads): connected' "$TMP/mvd.log" ||
    fail "no queue reads connection: $(cat "$TMP/mvd.log")"
wait_for 20 grep -q 'redis (commands): connected' "$TMP/mvd.log" ||
    fail "no commands connection: $(cat "$TMP/mvd.log")"
stop_mvd
for w in commands 'queue reads'; do
	expect_eq "$(grep -c "redis ($w): connected to unix:$REDIS_SOCK" \
	    "$TMP/mvd.log")" 1 "lines of the $w connection"
done
grep -q 'redis: connected' "$TMP/mvd.log" &&
    fail "a connection without its name: $(cat "$TMP/mvd.log")"
n=$(grep -c . "$TMP/mvd.log")
[ "$n" -ge 4 ] || fail "too few lines: $(cat "$TMP/mvd.log")"
expect_eq "$(grep -Ec "^$TIME mailvisord: " "$TMP/mvd.log")" "$n" \
    "lines with a time, run by hand"

# journal_run FILE: the daemon with its stderr on FILE and JOURNAL_STREAM
# naming journal.log, until it has connected to Redis.
: >"$TMP/journal.log"
journal_run() {
	JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/journal.log") "$MVD" \
	    -c "$TMP/mvd.conf" 2>>"$1" &
	MVD_PID=$!
	wait_for 20 grep -q 'redis (commands): connected' "$1" ||
	    fail "no connection: $(cat "$1")"
	stop_mvd
}

# The journal's stream: stderr is the file JOURNAL_STREAM names.
journal_run "$TMP/journal.log"
n=$(grep -c . "$TMP/journal.log")
expect_eq "$(grep -c '^mailvisord: ' "$TMP/journal.log")" "$n" \
    "lines without a time, on the journal's stream"
# A JOURNAL_STREAM that names another file (a shell started from a unit):
# times again.
journal_run "$TMP/other.log"
grep -Eq "^$TIME mailvisord: started" "$TMP/other.log" ||
    fail "no time with another stream: $(cat "$TMP/other.log")"
echo "log lines: connection names, times by hand, none for journald"
