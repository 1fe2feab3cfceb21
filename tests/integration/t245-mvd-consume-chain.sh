# Stages chained: a sync job against the Gmail API stand-in emits its
# change lines into "mail"; a consuming job runs once per change and emits
# its own line into "triage", keyed TRIAGE_JOB:INPUT_KEY:LINE, so that the
# same input gives the same keys; a change printed again by a later sync
# (same key) is skipped, not triaged twice. The consumer groups show in
# the API's streams view with no lag left.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
start_standin
A=alice@example.com
mkdir -p "$TMP/tri"
TOKEN=t245-token-0123456789abcdef
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
PORT=$(free_port)

cat >"$TMP/common.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[account:alice]
tenant_id = t1
user_id = alice
user_email = $A
credentials = $TMP/creds/alice-authorized-user.json
CONF
cat "$TMP/common.conf" - >"$TMP/sync.conf" <<CONF

[job:sync]
command = $WORKER --action sync --cursor={cursor} --lookback_days 0
    --credentials {credentials} --user_email {user_email}
    --api-base $STANDIN_URL --token-uri $STANDIN_URL/token
    --quota_units_per_sec 0 --max_wait 2
cursor = yes
emit = mail
for_each_account = yes
timeout = 60
memory_limit = 0
CONF
cat "$TMP/common.conf" - >"$TMP/tri.conf" <<CONF

[http]
listen = 127.0.0.1:$PORT
token_file = $TMP/token

[job:triage]
command = $TESTW consume $TMP/tri 0 emit --user={user_email}
consume = mail
emit = triage
CONF
"$MVD" -c "$TMP/sync.conf" -n >/dev/null || fail "sync configuration refused"
"$MVD" -c "$TMP/tri.conf" -n >/dev/null || fail "triage configuration refused"
start_mvd "$TMP/tri.conf"

run_sync() {
	"$MVD" -c "$TMP/sync.conf" --run sync 2>"$TMP/sync.log" ||
	    fail "sync: $(tail -20 "$TMP/sync.log")"
}
fields() {	# fields STREAM: its entries, one JSON object a line
	rcli --json XRANGE "mailvisor:stream:$1" - + | jq -c '.[] | {id: .[0]} +
	    (.[1] | . as $f | [range(0; length; 2)] | map({($f[.]): $f[. + 1]}) | add)'
}
settled() {	# every entry of mail triaged or skipped
	[ "$(rcli HGET worker:stats:triage total_executions)" = "$1" ]
}

run_sync
n=$(rcli XLEN mailvisor:stream:mail)
[ "$n" -gt 0 ] || fail "the sync emitted nothing"
wait_for 30 settled "$n" || fail "triage: $(rcli HGET worker:stats:triage total_executions) of $n$(tail -5 "$TMP/mvd.log")"
fields mail >"$TMP/mail"
fields triage >"$TMP/triage"
expect_eq "$(wc -l <"$TMP/triage" | tr -d ' ')" "$n" "one triage line per change"
# Each triage entry: the consumer's line about one mail entry, keyed by
# that entry's key, with the account carried over.
jq -s -r '.[] | "\(.key) {\"seen\":\(.data | fromjson | .seen | tojson)}"' "$TMP/triage" | sort >"$TMP/got"
jq -s -r '.[] | "\(.key) {\"seen\":\(.data | fromjson | tojson)}"' "$TMP/mail" | sed 's/^/triage:/; s/ /:1 /' | sort >"$TMP/want"
cmp -s "$TMP/want" "$TMP/got" || fail "triage entries: $(diff "$TMP/want" "$TMP/got" | head -5)"
jq -s -e 'all(.job == "triage" and .account == "alice" and .tenant_id == "t1" and .user_id == "alice")' \
    "$TMP/triage" >/dev/null || fail "triage fields: $(head -2 "$TMP/triage")"

# The same changes printed again (the cursor put back): the same keys in
# mail, skipped by triage, nothing more in triage.
rcli DEL mailvisor:cursor:sync:alice >/dev/null
run_sync
n2=$(rcli XLEN mailvisor:stream:mail)
[ "$n2" -eq $((2 * n)) ] || fail "second full sync: $n2 entries, expected $((2 * n))"
wait_for 30 settled "$n2" || fail "second pass: $(rcli HGET worker:stats:triage total_executions) of $n2"
expect_eq "$(rcli XLEN mailvisor:stream:triage)" "$n" "nothing triaged twice"
expect_eq "$(rcli LRANGE worker:history:triage 0 $((n - 1)) | jq -r .status | sort -u)" skipped "the repeats skipped"

# A new message: triaged once, its key derived from its mail key.
control POST /_standin/deliver "{\"user\":\"$A\",\"eml\":\"From: x@example.com\\r\\nTo: $A\\r\\nSubject: chained\\r\\n\\r\\nbody\\r\\n\"}" >/dev/null
run_sync
n3=$(rcli XLEN mailvisor:stream:mail)
wait_for 30 settled "$n3" || fail "third pass"
expect_eq "$(rcli XLEN mailvisor:stream:triage)" $((n + 1)) "the new message triaged"
mk=$(rcli --json XREVRANGE mailvisor:stream:mail + - COUNT 1 | jq -r '.[0][1] | . as $f | [range(0; length; 2)] | map({($f[.]): $f[. + 1]}) | add | .key')
tk=$(rcli --json XREVRANGE mailvisor:stream:triage + - COUNT 1 | jq -r '.[0][1] | . as $f | [range(0; length; 2)] | map({($f[.]): $f[. + 1]}) | add | .key')
expect_eq "$tk" "triage:$mk:1" "the chained key"

# The streams view: triage's group on mail, nothing pending, no lag.
curl -sS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/streams" >"$TMP/streams"
jq -e '.streams[] | select(.name == "mail") | .groups[] | select(.name == "triage") |
    .pending == 0 and .lag == 0' "$TMP/streams" >/dev/null || fail "streams view: $(cat "$TMP/streams")"
jq -e '.streams | map(.name) | index("triage") != null' "$TMP/streams" >/dev/null ||
    fail "triage stream not listed: $(cat "$TMP/streams")"
stop_mvd
sanitizer_clean
no_secrets "$TMP/mvd.log" "$TMP/sync.log"
echo "chained: sync -> mail -> triage, stable keys, repeats skipped"
