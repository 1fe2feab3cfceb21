# Redis stopped under a due schedule: a fire time that cannot be claimed
# is recorded skipped (unclaimed_fires = skip, the default), so that no
# two daemons run it, or run here all the same (unclaimed_fires = run);
# either way every record waits in the buffer and is written once Redis
# is back.
. "$MV_TOP/tests/integration/lib.sh"
start_redis

conf() {	# conf POLICY ("": the default)
	cat <<CONF
[mailvisord]
log_level = info
${1:+unclaimed_fires = $1}

[redis]
socket = $REDIS_SOCK

[job:tick]
command = $TESTW mark $TMP/runs tick
schedule = every 1s
max_instances = 1
CONF
}
marks() {
	ls "$TMP/runs" | wc -l | tr -d ' '
}
hget() {
	v=$(rcli HGET worker:stats:tick "$1")
	echo "${v:-0}"
}
unclaimed() {	# records skipped because Redis was unreachable
	rcli LRANGE worker:history:tick 0 -1 |
	    jq -s '[.[] | select(.status == "skipped" and
	        .reason == "redis unreachable: fire not claimed")] | length'
}

# outage POLICY: one daemon, Redis down 4 s under a schedule of every
# second, then back; sets DURING (runs started while Redis was down).
outage() {
	rm -rf "$TMP/runs"
	mkdir "$TMP/runs"
	rcli FLUSHALL >/dev/null
	conf "$1" >"$TMP/mvd.conf"
	"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"
	start_mvd "$TMP/mvd.conf"
	wait_for 10 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:tick successful_executions)\" -ge 1 ]" ||
	    fail "$1: tick did not run: $(tail -5 "$TMP/mvd.log")"
	stop_redis
	before=$(marks)
	sleep 4
	DURING=$(( $(marks) - before ))
	kill -0 "$MVD_PID" || fail "$1: the daemon died with Redis down"
	start_redis
	after=$(marks)
	wait_for 20 sh -c "[ \$(ls $TMP/runs | wc -l) -gt $after ] &&
	    [ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:tick successful_executions)\" -ge \$(ls $TMP/runs | wc -l) ]" ||
	    fail "$1: no run recorded after Redis came back: $(tail -5 "$TMP/mvd.log")"
	stop_mvd
	cp "$TMP/mvd.log" "$TMP/mvd-$1.log"
}

# The default: nothing runs unclaimed; each fire is recorded skipped.
outage ""
[ "$DURING" -le 1 ] || fail "default: $DURING runs while Redis was down"
skips=$(grep -c 'not claimed (Redis unreachable): skipped' "$TMP/mvd-.log" || true)
[ "$skips" -ge 2 ] || fail "default: $skips fire(s) said skipped"
grep -q 'running it here' "$TMP/mvd-.log" && fail "default: a fire ran unclaimed"
expect_eq "$(unclaimed)" "$skips" "default: skipped records written once Redis was back"
expect_eq "$(hget successful_executions)" "$(marks)" "default: every run recorded once"
expect_eq "$(hget total_executions)" "$(( $(marks) + skips ))" "default: total"

# unclaimed_fires = skip, said: the same.
outage skip
[ "$DURING" -le 1 ] || fail "skip: $DURING runs while Redis was down"
[ "$(unclaimed)" -ge 2 ] || fail "skip: $(unclaimed) skipped records"

# unclaimed_fires = run: the fires run here, their records buffered.
outage run
[ "$DURING" -ge 2 ] || fail "run: $DURING runs while Redis was down"
ran=$(grep -c 'not claimed (Redis unreachable): running it here' "$TMP/mvd-run.log" || true)
[ "$ran" -ge 2 ] || fail "run: $ran fire(s) said run unclaimed"
expect_eq "$(unclaimed)" 0 "run: skipped records"
expect_eq "$(hget successful_executions)" "$(marks)" "run: every run recorded once, those of the outage too"
expect_eq "$(rcli LRANGE worker:history:tick 0 -1 | jq -r .job_id | sort -u | wc -l | tr -d ' ')" "$(marks)" "run: distinct records"
