# Backoff of queued retries: the gaps between the starts of a failing
# job's attempts follow its queue's retry_backoff (initial * factor^n,
# capped at max, within the jitter); the delayed set holds the next
# attempt with its due time; a worker's error.retry_after wins when longer
# than the queue's backoff, and loses when shorter.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
mkdir "$TMP/runs"
# Start-up and scheduling latency allowed past a due time, in ms.
SLACK=1000
[ "${MV_SANITIZE:-0}" = 1 ] && SLACK=1500

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 4
log_level = info

[redis]
socket = $REDIS_SOCK

[queue:expo]
priority = 5
max_retries = 4
retry_backoff = 0.5 3 5 0.1

[queue:ra]
priority = 5
max_retries = 1
retry_backoff = 0.2 1 0.2 0

[queue:rb]
priority = 5
max_retries = 1
retry_backoff = 2 1 2 0

[job:expo]
command = $TESTW mark $TMP/runs expo 0 fail75

[job:longer]
command = $TESTW mark $TMP/runs longer 0 retry-after=3

[job:shorter]
command = $TESTW mark $TMP/runs shorter 0 retry-after=1

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"
start_mvd "$TMP/mvd.conf"
wait_for 30 sh -c "redis-cli -s $REDIS_SOCK XINFO GROUPS mailvisor:queue:expo | grep -q mailvisor" ||
    fail "the daemon made no consumer group: $(tail -5 "$TMP/mvd.log")"
id=$(rcli XADD mailvisor:queue:expo '*' job expo tenant_id t1 user_id alice)
rcli XADD mailvisor:queue:ra '*' job longer tenant_id t1 user_id alice >/dev/null
rcli XADD mailvisor:queue:rb '*' job shorter tenant_id t1 user_id alice >/dev/null

# starts NAME: the start times (ms) of NAME's runs, in order.
starts() {
	cat "$TMP/runs/$1".* | awk '$1 == "start" { print $2 }' | sort -n
}
# gaps NAME: the gaps (ms) between the starts of NAME's runs, one a line.
gaps() {
	starts "$1" | awk 'NR > 1 { print $1 - p } { p = $1 }'
}
# within WHAT MS LOW HIGH: LOW <= MS <= HIGH.
within() {
	[ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
	    fail "$1: $2 ms, expected $3 to $4 ms"
}

# After the third attempt: the fourth waits in the delayed set, due
# 4.5 s +/- 10% after the third ended.
wait_for 20 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK LLEN worker:history:expo)\" -ge 3 ]" ||
    fail "expo: $(rcli LLEN worker:history:expo) attempts; $(tail -5 "$TMP/mvd.log")"
now=$(date +%s%3N)
rcli ZRANGE mailvisor:delayed 0 -1 WITHSCORES >"$TMP/delayed"
member=$(grep -F '"expo"' "$TMP/delayed") || fail "no delayed retry of expo: $(cat "$TMP/delayed")"
score=$(grep -A1 -F '"expo"' "$TMP/delayed" | tail -1)
expect_eq "$(rcli LLEN worker:history:expo)" 3 "expo attempts when its fourth waits"
field() {	# field NAME: a field of the delayed member's message
	printf '%s' "$member" | jq -r --arg k "$1" '.f as $f | [range(0; $f | length; 2)] | map(select($f[.] == $k)) | .[0] as $i | $f[$i + 1]'
}
expect_eq "$(printf '%s' "$member" | jq -r .q)" expo "delayed member's queue"
expect_eq "$(field attempt)" 4 "delayed member's attempt"
expect_eq "$(field origin_id)" "$id" "delayed member's origin"
expect_eq "$(field attempts)" '["failed","failed","failed"]' "delayed member's earlier attempts"
end3=$(cat "$TMP/runs"/expo.* | awk '$1 == "end" { print $2 }' | sort -n | tail -1)
within "due time after the third attempt" $((score - end3)) 4050 $((4950 + SLACK))
[ "$score" -gt "$now" ] || fail "the fourth attempt was due before it was read"

# All five attempts, then the dead letters.
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 3 ]" ||
    fail "dead letters: $(rcli XLEN mailvisor:dlq); expo: $(rcli LLEN worker:history:expo) attempts; $(tail -5 "$TMP/mvd.log")"
expect_eq "$(ls "$TMP/runs" | grep -c '^expo\.')" 5 "expo executions"
expect_eq "$(rcli LRANGE worker:history:expo 0 -1 | jq -r .attempt | tr '\n' ' ')" "5 4 3 2 1 " "expo attempt numbers"
expect_eq "$(rcli LRANGE worker:history:expo 0 -1 | jq -r .job_id | sort -u)" "$id" "expo job id"
set -- $(gaps expo)
expect_eq "$#" 4 "expo gaps"
g="(gaps: $*)"
within "gap 1 (0.5 s) $g" "$1" 450 $((550 + SLACK))
within "gap 2 (0.5 * 3 = 1.5 s) $g" "$2" 1350 $((1650 + SLACK))
within "gap 3 (0.5 * 9 = 4.5 s) $g" "$3" 4050 $((4950 + SLACK))
within "gap 4 (13.5 s capped at 5 s) $g" "$4" 4500 $((5500 + SLACK))
[ "$1" -lt "$2" ] && [ "$2" -lt "$3" ] || fail "gaps do not grow: $*"
rcli XRANGE mailvisor:dlq - + >"$TMP/dlq"
expect_eq "$(grep -c 'attempts exhausted' "$TMP/dlq")" 3 "dead letters' reason"
grep -qF '["failed","failed","failed","failed","failed"]' "$TMP/dlq" ||
    fail "expo's dead letter does not list its five attempts: $(cat "$TMP/dlq")"

# retry_after 3 s over a 0.2 s backoff: 3 s; 1 s under a 2 s backoff: 2 s.
expect_eq "$(ls "$TMP/runs" | grep -c '^longer\.')" 2 "longer executions"
expect_eq "$(ls "$TMP/runs" | grep -c '^shorter\.')" 2 "shorter executions"
within "retry_after 3 s over a 0.2 s backoff" "$(gaps longer)" 3000 $((3000 + SLACK))
within "retry_after 1 s under a 2 s backoff" "$(gaps shorter)" 2000 $((2000 + SLACK))

expect_eq "$(rcli ZCARD mailvisor:delayed)" 0 "delayed retries"
for q in expo ra rb; do
	expect_eq "$(rcli XPENDING mailvisor:queue:$q mailvisor | head -1)" 0 "$q: pending entries"
done
stop_mvd
! grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" ||
    fail "sanitizer: $(grep -A20 -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" | head -30)"
echo "backoff: expo gaps $* ms; retry_after over and under the backoff"
