# Jobs that consume a stream: one run per entry with its data on stdin
# byte for byte, batches of up to N as a JSON array, every entry once;
# two consuming jobs each see every entry while the application's own
# group is left alone; entries naming an account that is not configured
# (or not matching it) go to the dead letters unrun; a key seen before is
# recorded skipped; the stream is trimmed about its maxlen; configuration
# errors exit 78.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
mkdir -p "$TMP/one" "$TMP/many" "$TMP/acct"

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 4
log_level = info

[redis]
socket = $REDIS_SOCK

[stream:mail]
maxlen = 50

[job:one]
command = $TESTW consume $TMP/one
consume = mail

[job:many]
command = $TESTW consume $TMP/many
consume = mail
batch = 4

[job:peracct]
command = $TESTW consume $TMP/acct --who={account}
consume = inbox

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"

# The application's own group, made before the daemon starts.
rcli XGROUP CREATE mailvisor:stream:mail app '$' MKSTREAM >/dev/null
start_mvd "$TMP/mvd.conf"
daemon_errors() { sed 's/^/  /' "$TMP/mvd.log" | tail -20; }
wait_for 10 sh -c "redis-cli -s $REDIS_SOCK XINFO GROUPS mailvisor:stream:mail | grep -q many" ||
    fail "groups not made: $(daemon_errors)"

# 20 entries, data with blanks, quotes, UTF-8 and a JSON escape.
i=1
while [ $i -le 20 ]; do
	rcli XADD mailvisor:stream:mail '*' data "{\"n\":$i,\"s\":\"é  \\\"q\\\"\\n\"}" key "k$i" >/dev/null
	i=$((i + 1))
done
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:one successful_executions)\" = 20 ]" ||
    fail "one: $(rcli HGET worker:stats:one successful_executions) of 20$(daemon_errors)"
# Each run's stdin is one entry's data, as stored.
rcli --json XRANGE mailvisor:stream:mail - + | jq -r '.[] | .[1][1]' | sort >"$TMP/want"
for f in "$TMP"/one/in.*; do cat "$f"; echo; done | sort >"$TMP/got"
cmp -s "$TMP/want" "$TMP/got" || fail "stdin differs: $(diff "$TMP/want" "$TMP/got" | head)"
expect_eq "$(ls "$TMP"/one/in.* | wc -l | tr -d ' ')" 20 "runs of one"
# The records say the stream, the entry and its key.
rcli LRANGE worker:history:one 0 -1 >"$TMP/hist"
jq -e -s 'length == 20 and all(.stream == "mail" and (.entries | length) == 1 and
    (.keys[0] | startswith("k")) and .job_id == .entries[0])' "$TMP/hist" >/dev/null ||
    fail "records: $(head -3 "$TMP/hist")"

# Batches: arrays of at most 4 data values, every entry exactly once.
wait_for 30 sh -c "cat $TMP/many/in.* 2>/dev/null | jq -s 'map(length) | add' | grep -qx 20" ||
    fail "many: $(cat "$TMP"/many/in.* | jq -c 'map(.n)')$(daemon_errors)"
for f in "$TMP"/many/in.*; do
	jq -e 'type == "array" and length >= 1 and length <= 4' "$f" >/dev/null ||
	    fail "batch $f: $(cat "$f")"
done
expect_eq "$(cat "$TMP"/many/in.* | jq -c '.[].n' | sort -n | tr '\n' ' ')" \
    "$(seq 1 20 | tr '\n' ' ')" "each entry in one batch"
rcli LRANGE worker:history:many 0 -1 | jq -s -e 'map(.entries | length) | add == 20' >/dev/null ||
    fail "batch records: $(rcli LRANGE worker:history:many 0 -1 | head -3)"
# An entry alone: a batch of one, still an array.
rcli XADD mailvisor:stream:mail '*' data '{"n":21}' key k21 >/dev/null
wait_for 30 sh -c "cat $TMP/many/in.* 2>/dev/null | jq -s 'map(length) | add' | grep -qx 21" ||
    fail "many: the 21st entry not consumed$(daemon_errors)"
expect_eq "$(grep -l '"n":21' "$TMP"/many/in.* | xargs cat | jq -c .)" '[{"n":21}]' \
    "a batch of one entry"
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:one successful_executions)\" = 21 ]" ||
    fail "one: the 21st entry not consumed$(daemon_errors)"

# Both groups have acknowledged everything; entries stay in the stream;
# the application's group has not been read.
rcli --json XINFO GROUPS mailvisor:stream:mail >"$TMP/groups"
for g in one many; do
	expect_eq "$(jq -r --arg g "$g" '.[] | select(.name == $g) | "\(.pending) \(.lag)"' "$TMP/groups")" "0 0" "group $g"
done
expect_eq "$(jq -r '.[] | select(.name == "app") | "\(.pending) \(."entries-read")"' "$TMP/groups")" "0 null" "application's group"
expect_eq "$(rcli XLEN mailvisor:stream:mail)" 21 "entries kept after ack"

# A key seen before: recorded skipped, not run again.
rcli XADD mailvisor:stream:mail '*' data '{"n":3,"again":true}' key k3 >/dev/null
wait_for 20 sh -c "redis-cli -s $REDIS_SOCK LRANGE worker:history:one 0 0 | grep -q skipped" ||
    fail "no skipped record: $(rcli LRANGE worker:history:one 0 0)"
expect_eq "$(ls "$TMP"/one/in.* | wc -l | tr -d ' ')" 21 "the duplicate did not run"
rcli LINDEX worker:history:one 0 | jq -e '.status == "skipped" and .keys == ["k3"] and .stream == "mail"' >/dev/null ||
    fail "skipped record: $(rcli LINDEX worker:history:one 0)"

# Accounts: a configured one runs with {account}; an unknown one, or one
# whose tenant does not match, or none where the command needs one: to
# the dead letters, never run.
rcli XADD mailvisor:stream:inbox '*' data '{"ok":1}' account alice tenant_id t1 user_id alice >/dev/null
rcli XADD mailvisor:stream:inbox '*' data '{"bad":1}' account mallory >/dev/null
rcli XADD mailvisor:stream:inbox '*' data '{"bad":2}' account alice tenant_id t9 >/dev/null
rcli XADD mailvisor:stream:inbox '*' data '{"bad":3}' >/dev/null
rcli XADD mailvisor:stream:inbox '*' account alice note 'no data' >/dev/null
wait_for 20 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 4 ]" ||
    fail "dead letters: $(rcli XLEN mailvisor:dlq)$(daemon_errors)"
wait_for 20 sh -c "ls $TMP/acct/in.* >/dev/null 2>&1" || fail "alice's entry did not run"
sleep 1
expect_eq "$(cat "$TMP"/acct/in.*)" '{"ok":1}' "only the good entry ran"
rcli --json XRANGE mailvisor:dlq - + | jq -c '.[] | .[1] | . as $f |
    [range(0; length; 2)] | map({($f[.]): $f[. + 1]}) | add' >"$TMP/dlq"
jq -e -s 'length == 4 and all(.stream == "inbox" and .job == "peracct" and
    .queue == "stream:inbox")' "$TMP/dlq" >/dev/null || fail "dlq entries: $(cat "$TMP/dlq")"
grep -q "account 'mallory' is not configured" "$TMP/dlq" || fail "reason mallory: $(cat "$TMP/dlq")"
grep -q "are not those of account 'alice'" "$TMP/dlq" || fail "reason tenant: $(cat "$TMP/dlq")"
grep -q "names no account" "$TMP/dlq" || fail "reason none: $(cat "$TMP/dlq")"
grep -q '"reason":"no data"' "$TMP/dlq" || fail "reason no data: $(cat "$TMP/dlq")"

# Trimming: the stream holds about maxlen entries (XADD MAXLEN ~ by the
# jobs that emit; an application adding entries itself trims its own).
cat >"$TMP/emit.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[stream:trimmed]
maxlen = 100

[job:emitter]
command = $TESTW sync --cursor={cursor} 1000 10
cursor = yes
emit = trimmed
for_each_account = yes

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null
CONF
"$MVD" -c "$TMP/emit.conf" --run emitter 2>"$TMP/emit.log" || fail "emitter: $(tail "$TMP/emit.log")"
len=$(rcli XLEN mailvisor:stream:trimmed)
[ "$len" -ge 100 ] && [ "$len" -lt 300 ] || fail "trimmed stream holds $len entries (maxlen 100)"
expect_eq "$(rcli --json XREVRANGE mailvisor:stream:trimmed + - COUNT 1 | jq -r '.[0][1][1] | fromjson | .id')" m1000 "newest entry kept"

# Configuration: what a consuming job cannot be, exit 78 with the line.
bad() {
	printf '[redis]\nsocket = %s\n\n[job:x]\ncommand = %s ok\n%s\n' "$REDIS_SOCK" "$TESTW" "$1" >"$TMP/bad.conf"
	rc=0
	"$MVD" -c "$TMP/bad.conf" -n >"$TMP/bad.out" 2>&1 || rc=$?
	expect_eq "$rc" 78 "exit of: $1"
	grep -q "$2" "$TMP/bad.out" || fail "message for '$1': $(cat "$TMP/bad.out")"
}
bad "$(printf 'consume = mail\nemit = mail')" "emit: 'mail' is the stream the job consumes (a loop)"
bad "$(printf 'consume = mail\nschedule = every 5m')" "schedule: a job that consumes a stream runs for its entries only"
bad "batch = 2" "batch: needs consume"
bad "$(printf 'consume = mail\nbatch = 65')" "batch"
bad "consume = no/slash" "consume: 'no/slash' is not a name"

stop_mvd
sanitizer_clean
echo "consumed: one run per entry, batches, two groups, accounts, duplicates, trimming"
