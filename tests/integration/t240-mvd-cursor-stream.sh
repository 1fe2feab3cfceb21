# mailvisord keeps a sync cursor per account and emits a run's ndjson
# lines into a Redis Stream (contract §5), with the test worker's sync
# mode: the cursor passed and stored, never moved by a failed run or one
# whose lines did not all reach the stream; the stream's entries and
# their idempotency keys; a line past max_line; 10 000 lines with the
# daemon's memory flat; mailvisorctl cursor show/reset and sync --full.
. "$MV_TOP/tests/integration/lib.sh"
CTL=$MV_BUILD/mailvisorctl
unset MAILVISOR_URL MAILVISOR_TOKEN MAILVISOR_TOKEN_FILE http_proxy \
    https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
start_redis
PORT=$(free_port)
TOKEN=t240-token-0123456789abcdef
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
: >"$TMP/creds"
# A sync worker that waits, after its first line, until $TMP/go exists.
cat >"$TMP/slow.sh" <<SH
#!/bin/sh
echo '{"change":"added","id":"s1","email":{"history_id":"5"}}'
: >"$TMP/started"
while [ ! -e "$TMP/go" ]; do sleep 0.1; done
echo '{"change":"added","id":"s2","email":{"history_id":"6"}}'
echo '{"status":"success","action":"sync","summary":true,"cursor":"after"}'
SH
chmod 755 "$TMP/slow.sh"

# conf OUTCOME [LINES [LEN]]: the configuration, the worker ending as
# OUTCOME after LINES lines of LEN bytes of padding.
conf() {
	cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
log_level = info

[redis]
socket = $REDIS_SOCK
key_prefix = p:

[http]
listen = 127.0.0.1:$PORT
token_file = $TMP/token
sync_job = sync

[job:sync]
command = $TESTW sync --cursor={cursor} ${2:-3} ${3:-0} $1
cursor = yes
emit = mail
max_line = 4k
for_each_account = yes
memory_limit = 0

[job:slow]
command = $TMP/slow.sh --cursor={cursor}
cursor = yes
emit = mail

[job:big]
command = $TESTW sync --cursor={cursor} 10000 500 ok
cursor = yes
emit = bulk
memory_limit = 0

[stream:mail]
maxlen = 50000

[account:alice]
tenant_id = t1
user_id = alice
credentials = $TMP/creds

[account:bob]
tenant_id = t2
user_id = bob
credentials = $TMP/creds
CONF
}

# run_once OUTCOME [LINES [LEN]]: one run per account, as --run does it.
run_once() {
	conf "$@"
	"$MVD" -c "$TMP/mvd.conf" --run sync 2>"$TMP/mvd.log" ||
	    fail "mailvisord: $(tail -20 "$TMP/mvd.log")"
	sanitizer_clean
}

# last_rec ACCOUNT: the whole record of the account's last run.
last_rec() {
	id=$(rcli LRANGE p:worker:history:sync 0 -1 |
	    jq -rs "map(select(.account == \"$1\"))[0].job_id")
	rcli GET "p:worker:metrics:sync:$id"
}

# Configuration errors: {cursor} without cursor = yes and the reverse.
cat >"$TMP/bad.conf" <<CONF
[job:a]
command = $TESTW sync --cursor={cursor}
for_each_account = yes
[job:b]
command = $TESTW sync --cursor=x
cursor = yes
[job:c]
command = $TESTW sync {cursor}
cursor = yes
[account:x]
tenant_id = t
user_id = u
credentials = $TMP/creds
CONF
RC=0
"$MVD" -n -c "$TMP/bad.conf" 2>"$TMP/err" || RC=$?
[ "$RC" -ne 0 ] || fail "a {cursor} without cursor = yes was accepted"
grep -q ':2: command: {cursor} needs cursor = yes' "$TMP/err" &&
grep -q ':6: cursor: the command has no {cursor}' "$TMP/err" &&
grep -q ':8: command: {cursor} cannot begin a word' "$TMP/err" ||
    fail "configuration errors: $(cat "$TMP/err")"

# First run: no cursor yet (an empty --cursor=, a full sync); its cursor
# stored, its change lines (not the summary) in the stream.
run_once ok
expect_eq "$(rcli GET p:mailvisor:cursor:sync:alice)" c1 "first cursor"
expect_eq "$(rcli GET p:mailvisor:cursor:sync:bob)" c1 "bob's first cursor"
expect_eq "$(last_rec alice | jq -r '.status, .result.got, .emitted' | tr '\n' ' ')" \
    "success  3 " "first record"
expect_eq "$(rcli XLEN p:mailvisor:stream:mail)" 6 "three lines per account"
rcli --json XRANGE p:mailvisor:stream:mail - + >"$TMP/x1"
jq -e '[.[] | .[1] | . as $f | ([range(0; length; 2)] | map({($f[.]): $f[. + 1]}) | add)]
    | map(select(.account == "alice"))
    | length == 3 and .[0].job == "sync" and .[0].tenant_id == "t1" and
      .[0].user_id == "alice" and (.[0].job_id | length) == 36 and
      .[0].key == "alice:added:m1:1" and
      (.[0].data | fromjson | .id) == "m1" and
      all(.[]; (.data | fromjson | has("summary")) | not)' "$TMP/x1" >/dev/null ||
    fail "stream entries: $(head -c 800 "$TMP/x1")"

# The next run gets the stored cursor and moves it; a change printed again
# carries the same key.
run_once ok
expect_eq "$(last_rec alice | jq -r .result.got)" c1 "cursor passed"
expect_eq "$(rcli GET p:mailvisor:cursor:sync:alice)" c1+ "cursor moved"
rcli --json XRANGE p:mailvisor:stream:mail - + |
    jq -r '.[] | .[1] | . as $f | ([range(0; length; 2)] | map({($f[.]): $f[. + 1]}) | add)
    | select(.account == "alice") | .key' | sort | uniq -c | awk '{print $1}' |
    sort -u >"$TMP/dups"
expect_eq "$(cat "$TMP/dups")" 2 "each change twice, under one key"

# A failed run (retryable) and one whose summary's cursor is not valid
# leave the cursor where it was.
run_once fail75
expect_eq "$(last_rec alice | jq -r .status)" failed "failed run"
expect_eq "$(rcli GET p:mailvisor:cursor:sync:alice)" c1+ "not moved by a failure"
run_once bad-cursor
expect_eq "$(last_rec alice | jq -r '.status, .reason' | tr '\n' ' ')" \
    "bad_output bad output: the summary's cursor is not printable ASCII of at most 1024 bytes " \
    "bad cursor refused"
expect_eq "$(rcli GET p:mailvisor:cursor:sync:alice)" c1+ "not moved by a bad cursor"

# A line past max_line: output_too_large, not emitted, cursor unmoved.
N0=$(rcli XLEN p:mailvisor:stream:mail)
run_once ok 2 5000
expect_eq "$(last_rec alice | jq -r .status)" output_too_large "long line"
expect_eq "$(rcli XLEN p:mailvisor:stream:mail)" "$N0" "the long line not emitted"
expect_eq "$(rcli GET p:mailvisor:cursor:sync:alice)" c1+ "not moved by a long line"

# Redis refusing the XADDs (the stream key of another type): the run is
# failed, retryable, and the cursor stays.
rcli SET p:mailvisor:stream:mail x >/dev/null
run_once ok
expect_eq "$(last_rec alice | jq -r '.status, .emitted' | tr '\n' ' ')" "failed 0 " \
    "XADD refused"
last_rec alice | jq -r .reason | grep -q '^stream mail: WRONGTYPE' ||
    fail "reason: $(last_rec alice)"
expect_eq "$(rcli GET p:mailvisor:cursor:sync:alice)" c1+ "not moved by a refused XADD"
rcli DEL p:mailvisor:stream:mail >/dev/null

# The API and mailvisorctl: cursor show, sync user --full, cursor reset.
conf ok
start_mvd "$TMP/mvd.conf"
ctl() {
	RC=0
	MAILVISOR_URL=http://127.0.0.1:$PORT MAILVISOR_TOKEN_FILE=$TMP/token \
	    "$CTL" -c /dev/null "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
}
wait_for 30 sh -c "MAILVISOR_URL=http://127.0.0.1:$PORT MAILVISOR_TOKEN_FILE=$TMP/token \
    '$CTL' -c /dev/null -q inspect ping" || fail "daemon: $(cat "$TMP/mvd.log")"
ctl cursor show sync
expect_eq "$RC:$(cat "$TMP/out" | tr '\n' ' ')" "0:alice c1+ bob c1+ " "cursor show"
ctl --json cursor show sync bob
expect_eq "$(jq -c .cursors "$TMP/out")" '{"bob":"c1+"}' "cursor show one account"
ctl cursor show nosuch
[ "$RC" -ne 0 ] && grep -q "no job 'nosuch'" "$TMP/err" ||
    fail "cursor show of no job: $RC $(cat "$TMP/err")"
ctl sync user alice --full
[ "$RC" -eq 0 ] || fail "sync --full: $RC $(cat "$TMP/err")"
wait_for 30 sh -c "[ \$(redis-cli -s '$REDIS_SOCK' LLEN p:worker:history:sync) -ge 13 ]" ||
    fail "the full sync did not run: $(tail "$TMP/mvd.log")"
expect_eq "$(last_rec alice | jq -r '.status, .result.got' | tr '\n' ' ')" "success  " \
    "sync --full runs without the cursor"
expect_eq "$(rcli GET p:mailvisor:cursor:sync:alice)" c1 "cursor of the full sync"
# The routes want the token, and refuse what the others refuse.
code() {
	curl -s -o /dev/null -w '%{http_code}' "$@"
}
U=http://127.0.0.1:$PORT/api/v1
expect_eq "$(code "$U/cursors/sync")" 401 "show without the token"
expect_eq "$(code -X DELETE "$U/cursors/sync")" "$(code -X DELETE "$U/dlq")" \
    "reset without the token"
expect_eq "$(code -X DELETE -H "Authorization: Bearer $TOKEN" \
    -H 'Origin: http://evil.example' "$U/cursors/sync")" 403 "reset from another site"
expect_eq "$(rcli EXISTS p:mailvisor:cursor:sync:bob)" 1 "bob's cursor kept"
ctl cursor reset sync bob
expect_eq "$RC:$(cat "$TMP/out")" "0:sync: 1 cursor reset: the next run of each is a full sync" \
    "cursor reset"
expect_eq "$(rcli EXISTS p:mailvisor:cursor:sync:bob)" 0 "bob's cursor gone"
expect_eq "$(rcli GET p:mailvisor:cursor:sync:alice)" c1 "alice's kept"

# Redis going away during a run: the run is failed (retryable), its record
# written once Redis is back, and the cursor not moved.
rcli SET p:mailvisor:cursor:slow:alice before >/dev/null
ctl trigger slow --account alice
wait_for 30 test -e "$TMP/started" || fail "slow did not start: $(tail "$TMP/mvd.log")"
stop_redis
: >"$TMP/go"
wait_for 30 grep -q 'job slow id .*: stream mail: Redis unreachable' "$TMP/mvd.log" ||
    fail "slow: $(tail "$TMP/mvd.log")"
start_redis
wait_for 30 sh -c "[ \$(redis-cli -s '$REDIS_SOCK' LLEN p:worker:history:slow) -ge 1 ]" ||
    fail "no record of slow: $(tail "$TMP/mvd.log")"
rcli LRANGE p:worker:history:slow 0 0 >"$TMP/slow"
jq -e '.status == "failed" and .reason == "stream mail: Redis unreachable" and
    .emitted == 0' "$TMP/slow" >/dev/null || fail "slow's record: $(cat "$TMP/slow")"
expect_eq "$(rcli GET p:mailvisor:cursor:slow:alice)" before "cursor after Redis went away"

# 10 000 lines: every one in the stream, the daemon's peak memory flat
# (VmHWM after a run of 3 lines, then after one of 10 000).
ctl trigger sync --account bob
wait_for 30 sh -c "[ \$(redis-cli -s '$REDIS_SOCK' LLEN p:worker:history:sync) -ge 14 ]" ||
    fail "small run: $(tail "$TMP/mvd.log")"
HWM0=$(awk '/VmHWM/ {print $2}' /proc/"$MVD_PID"/status)
ctl trigger big --account alice
wait_for 120 sh -c "[ \$(redis-cli -s '$REDIS_SOCK' LLEN p:worker:history:big) -ge 1 ]" ||
    fail "big run: $(tail "$TMP/mvd.log")"
HWM1=$(awk '/VmHWM/ {print $2}' /proc/"$MVD_PID"/status)
rcli LRANGE p:worker:history:big 0 0 >"$TMP/big"
jq -e '.status == "success" and .emitted == 10000' "$TMP/big" >/dev/null ||
    fail "big run: $(head -c 600 "$TMP/big")"
expect_eq "$(rcli XLEN p:mailvisor:stream:bulk)" 10000 "10 000 lines emitted"
expect_eq "$(rcli GET p:mailvisor:cursor:big:alice)" c1 "big run's cursor"
echo "t240: daemon VmHWM ${HWM0} kB after a run of 3 lines, ${HWM1} kB after one of 10 000 lines (5.6 MB)"
# 5.6 MB went through: a daemon that kept the lines would grow by that.
# AddressSanitizer holds freed memory in quarantine: RSS says nothing
# there; its reports are the check instead.
if [ "${MV_SANITIZE:-0}" != 1 ]; then
	[ "$HWM1" -lt $((HWM0 + 2500)) ] || fail "the daemon grew: $HWM0 -> $HWM1 kB"
fi
stop_mvd
sanitizer_clean
