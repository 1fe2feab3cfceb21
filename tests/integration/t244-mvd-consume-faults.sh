# Consumed entries under failure, with two daemons on one Redis: a run
# failing with a retryable error is tried again after its backoff through
# the job's own retry stream, then goes to the dead letters with its
# reason and the stream and job it came from; another job consuming the
# same stream ran it once; reprocessing the dead letter reaches the failing
# job only. A running consumed run revoked by its entry id is killed and
# recorded revoked, neither retried nor dead. A daemon killed with -9
# mid-run: the other reclaims the entry after the timeout plus margin and
# runs it once.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
mkdir -p "$TMP/flaky" "$TMP/calm" "$TMP/long" "$TMP/nap"

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 3
log_level = info
reclaim_margin = 1

[redis]
socket = $REDIS_SOCK

[job:flaky]
command = $TESTW consume $TMP/flaky 0 fail75
consume = work
max_retries = 2
retry_backoff = 1 1 1 0

[job:calm]
command = $TESTW consume $TMP/calm
consume = work

[job:long]
command = $TESTW consume $TMP/long 60000
consume = slow
timeout = 120

[job:nap]
command = $TESTW consume $TMP/nap 4000
consume = naps
timeout = 5
CONF
# The first daemon serves the API too.
printf 't244-token-0123456789abcdef\n' >"$TMP/token"
chmod 600 "$TMP/token"
PORT=$(free_port)
cp "$TMP/mvd.conf" "$TMP/mvd1.conf"
printf '\n[http]\nlisten = 127.0.0.1:%s\ntoken_file = %s\n' "$PORT" "$TMP/token" >>"$TMP/mvd1.conf"
cp "$TMP/mvd.conf" "$TMP/mvd2.conf"
"$MVD" -c "$TMP/mvd1.conf" -n >/dev/null || fail "configuration refused"
pids=
for i in 1 2; do
	"$MVD" -c "$TMP/mvd$i.conf" >/dev/null 2>"$TMP/mvd$i.log" &
	pids="$pids $!"
done
MVD_PID=$pids
logs() { tail -n 8 "$TMP"/mvd?.log | sed 's/^/  /'; }
count() { ls "$TMP/$1" | grep -c "^$2\\." || true; }
dlq_fields() {
	rcli --json XRANGE mailvisor:dlq - + | jq -c '.[] | .[1] | . as $f |
	    [range(0; length; 2)] | map({($f[.]): $f[. + 1]}) | add'
}
wait_for 10 sh -c "redis-cli -s $REDIS_SOCK XINFO GROUPS mailvisor:stream:naps | grep -q nap" ||
    fail "groups not made: $(logs)"

# Retries, then the dead letters; the other job ran the entry once.
id=$(rcli XADD mailvisor:stream:work '*' data '{"w":1}' key w1)
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 1 ]" ||
    fail "no dead letter: $(count flaky in) runs$(logs)"
expect_eq "$(count flaky in)" 3 "flaky: max_retries 2, three attempts"
expect_eq "$(count calm in)" 1 "calm ran the entry once"
dlq_fields >"$TMP/dlq"
jq -e --arg id "$id" '.stream == "work" and .job == "flaky" and .job_id == $id and
    .reason == "attempts exhausted" and (.attempts | fromjson) == ["failed","failed","failed"] and
    (.fields | fromjson | .data) == "{\"w\":1}" and
    (.record | fromjson | .stream == "work" and .entries == [$id] and .keys == ["w1"])' \
    "$TMP/dlq" >/dev/null || fail "dead letter: $(cat "$TMP/dlq")"
rcli LRANGE worker:history:flaky 0 -1 | jq -s -e --arg id "$id" \
    'map(.attempt) == [3,2,1] and all(.job_id == $id and .stream == "work")' >/dev/null ||
    fail "flaky records: $(rcli LRANGE worker:history:flaky 0 -1)"
expect_eq "$(rcli XLEN mailvisor:retry:flaky)" 0 "retry stream emptied"
expect_eq "$(rcli XLEN mailvisor:stream:work)" 1 "the consumed entry stays"
# Reprocess: the entry goes to flaky's retry stream, not to the stream
# every group reads: flaky runs it again, calm does not.
dlq_id=$(rcli --json XRANGE mailvisor:dlq - + | jq -r '.[0][0]')
api() {
	curl -sS -H "Authorization: Bearer $(cat "$TMP/token")" "$@"
}
api -X POST -H 'Content-Type: application/json' -d "{\"id\":\"$dlq_id\"}" \
    "http://127.0.0.1:$PORT/api/v1/dlq/reprocess" >"$TMP/out" || fail "reprocess: $(cat "$TMP/out")"
jq -e '.reprocessed == 1' "$TMP/out" >/dev/null || fail "reprocess: $(cat "$TMP/out")"
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 1 ] &&
    [ \"\$(ls $TMP/flaky | grep -c '^in\\.')\" -ge 6 ]" ||
    fail "reprocessed entry: $(count flaky in) runs, dlq $(rcli XLEN mailvisor:dlq)$(logs)"
sleep 1
expect_eq "$(count flaky in)" 6 "flaky ran the reprocessed entry three times more"
expect_eq "$(count calm in)" 1 "calm did not see it again"
expect_eq "$(rcli XLEN mailvisor:stream:work)" 1 "nothing added to the stream"
expect_eq "$(dlq_fields | jq -r '"\(.job) \(.job_id)"')" "flaky $id" "dead again, same origin"
rcli LRANGE worker:history:flaky 0 -1 | jq -s -e --arg id "$id" 'length == 6 and all(.job_id == $id)' >/dev/null ||
    fail "records after the reprocess: $(rcli LRANGE worker:history:flaky 0 -1 | jq -c '[.job_id, .attempt]')"

# Revoke of a running consumed run, by its entry id.
lid=$(rcli XADD mailvisor:stream:slow '*' data '{"l":1}')
wait_for 20 sh -c "ls $TMP/long/start.* >/dev/null 2>&1" || fail "long never started$(logs)"
dl0=$(rcli XLEN mailvisor:dlq)
rcli SADD mailvisor:revoked "$lid" >/dev/null
wait_for 20 sh -c "redis-cli -s $REDIS_SOCK LINDEX worker:history:long 0 | grep -q revoked" ||
    fail "not revoked: $(rcli LRANGE worker:history:long 0 -1)$(logs)"
sleep 2
expect_eq "$(count long in)" 0 "the revoked run had no effect"
expect_eq "$(rcli LLEN worker:history:long)" 1 "revoked: one record, no retry"
expect_eq "$(rcli XLEN mailvisor:dlq)" "$dl0" "revoked: no dead letter"
expect_eq "$(rcli XPENDING mailvisor:stream:slow long | head -1)" 0 "revoked: acknowledged"
expect_eq "$(rcli SISMEMBER mailvisor:revoked "$lid")" 0 "revoked id forgotten"

# kill -9 of the daemon running an entry: the other one reclaims it after
# the timeout plus the margin, once its heartbeat has expired.
nid=$(rcli XADD mailvisor:stream:naps '*' data '{"n":1}' key n1)
wait_for 20 sh -c "ls $TMP/nap/start.* >/dev/null 2>&1" || fail "nap never started$(logs)"
wpid=$(ls "$TMP/nap" | sed -n 's/^start\.//p' | head -1)
victim=$(ps -o ppid= -p "$wpid" | tr -d ' ')
kill -9 "$victim"
wait_for 90 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:nap successful_executions 2>/dev/null)\" = 1 ]" ||
    fail "nap was not reclaimed: $(rcli XPENDING mailvisor:stream:naps nap)$(logs)"
expect_eq "$(count nap in)" 1 "the entry's effect once"
expect_eq "$(rcli HGET worker:stats:nap total_executions)" 1 "nap recorded once"
rcli LINDEX worker:history:nap 0 | jq -e --arg id "$nid" '.attempt == 2 and .job_id == $id and
    .keys == ["n1"]' >/dev/null || fail "reclaimed record: $(rcli LINDEX worker:history:nap 0)"
expect_eq "$(rcli XPENDING mailvisor:stream:naps nap | head -1)" 0 "nothing pending"
for p in $MVD_PID; do
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
done
MVD_PID=
for i in 1 2; do
	! grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd$i.log" ||
	    fail "sanitizer: $(grep -A20 -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd$i.log" | head -30)"
done
echo "consumed: retries, dead letters, reprocess to one job, revoke, reclaim"
