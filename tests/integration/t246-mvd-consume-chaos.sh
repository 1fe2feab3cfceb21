# Chaos: three daemons on one Redis run a sync job (the Gmail API stand-in,
# every second, its changes into "mail") and a job consuming "mail", while
# mail arrives and a daemon is killed with -9 and replaced each round
# (CHAOS_ROUNDS, 6; make soak runs 40). At every round no stored cursor is
# ahead of the stream: each message delivered with a history id up to the
# cursor has its line in the stream. At the end every delivered message has
# reached the consumer at least once, and each key of the stream has
# exactly one successful run (the effect once; repeats recorded skipped).
. "$MV_TOP/tests/integration/lib.sh"
start_redis
start_standin
A=alice@example.com
ROUNDS=${CHAOS_ROUNDS:-6}
mkdir -p "$TMP/eat"

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 3
log_level = info
reclaim_margin = 1

[redis]
socket = $REDIS_SOCK

[job:sync]
command = $WORKER --action sync --cursor={cursor} --lookback_days 0
    --credentials {credentials} --user_email {user_email}
    --api-base $STANDIN_URL --token-uri $STANDIN_URL/token
    --quota_units_per_sec 0 --max_wait 2
schedule = every 1s
for_each_account = yes
cursor = yes
emit = mail
timeout = 20
memory_limit = 0

[job:eat]
command = $TESTW consume $TMP/eat 200
consume = mail
timeout = 3
max_retries = 5
retry_backoff = 1 1 1 0

[account:alice]
tenant_id = t1
user_id = alice
user_email = $A
credentials = $TMP/creds/alice-authorized-user.json
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"

n=0
start_one() {	# a daemon, its log mvdN.log; its pid in slot $1
	n=$((n + 1))
	"$MVD" -c "$TMP/mvd.conf" >/dev/null 2>"$TMP/mvd$n.log" &
	eval "D$1=$!"
}
for s in 1 2 3; do start_one $s; done
pids() { echo "$D1 $D2 $D3"; }
trap 'MVD_PID=$(pids); cleanup' EXIT
logs() { tail -n 3 "$TMP"/mvd*.log | sed 's/^/  /'; }

# The cursor is never ahead of the stream: each delivered message with a
# history id up to it has its "added" line in mail.
check_cursor() {
	c=$(rcli GET mailvisor:cursor:sync:alice)
	[ -n "$c" ] || return 0
	rcli --json XRANGE mailvisor:stream:mail - + |
	    jq -r '.[] | .[1][1] | fromjson | select(.change == "added") | .id' |
	    sort -u >"$TMP/instream"
	awk -v c="$c" '$2 <= c { print $1 }' "$TMP/delivered" | sort -u >"$TMP/due"
	missing=$(comm -23 "$TMP/due" "$TMP/instream")
	[ -z "$missing" ] || fail "cursor $c is ahead of the stream: missing $(echo $missing)"
}

: >"$TMP/delivered"
r=0
while [ $r -lt "$ROUNDS" ]; do
	for k in 1 2 3; do
		control POST /_standin/deliver "{\"user\":\"$A\",\"eml\":\"From: x@example.com\\r\\nTo: $A\\r\\nSubject: round $r mail $k\\r\\n\\r\\nbody\\r\\n\"}" |
		    jq -r '"\(.id) \(.historyId)"' >>"$TMP/delivered"
	done
	sleep 1.5
	check_cursor
	# kill -9 one daemon (each in turn), and start another in its slot.
	s=$((r % 3 + 1))
	eval "victim=\$D$s"
	kill -9 "$victim" 2>/dev/null || true
	wait "$victim" 2>/dev/null || true
	check_cursor
	start_one $s
	r=$((r + 1))
done

# Convergence: every delivered message consumed at least once.
seen() {
	cat "$TMP"/eat/in.* 2>/dev/null | jq -r 'select(.change == "added") | .id' | sort -u >"$TMP/seen"
	[ -z "$(cut -d' ' -f1 "$TMP/delivered" | sort -u | comm -23 - "$TMP/seen")" ]
}
wait_for 120 seen || fail "not consumed: $(cut -d' ' -f1 "$TMP/delivered" | sort -u | comm -23 - "$TMP/seen" | tr '\n' ' ')$(logs)"
check_cursor
# Nothing left pending or lagging, then one success per key.
settled() {
	rcli --json XINFO GROUPS mailvisor:stream:mail |
	    jq -e '.[] | select(.name == "eat") | .pending == 0 and .lag == 0' >/dev/null &&
	    [ "$(rcli ZCARD mailvisor:delayed)" = 0 ] && [ "$(rcli XLEN mailvisor:retry:eat)" = 0 ]
}
wait_for 120 settled || fail "not settled: $(rcli --json XINFO GROUPS mailvisor:stream:mail)$(logs)"
keys=$(rcli --json XRANGE mailvisor:stream:mail - + | jq -r '.[] | .[1] | . as $f |
    [range(0; length; 2)] | map({($f[.]): $f[. + 1]}) | add | .key' | sort -u | wc -l | tr -d ' ')
ok=$(rcli HGET worker:stats:eat successful_executions)
entries=$(rcli XLEN mailvisor:stream:mail)
effects=$(ls "$TMP/eat" | grep -c '^in\.' || true)
echo "rounds $ROUNDS: $(wc -l <"$TMP/delivered" | tr -d ' ') messages delivered, $entries entries, $keys keys, $ok successes, $effects effects, $(rcli XLEN mailvisor:dlq) dead letters"
expect_eq "$ok" "$keys" "one success per key"
expect_eq "$(rcli XLEN mailvisor:dlq)" 0 "no dead letter"
for p in $(pids); do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
D1= D2= D3=
! grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP"/mvd*.log ||
    fail "sanitizer: $(grep -h -A20 -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP"/mvd*.log | head -30)"
