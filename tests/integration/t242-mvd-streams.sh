# The mail streams seen from outside: GET /api/v1/streams (length, ends,
# consumer groups with pending and lag) and .../entries, mailvisorctl
# streams and stream tail (-n, -f), against a stream filled by a job and
# a consumer group an application made with redis-cli.
. "$MV_TOP/tests/integration/lib.sh"
CTL=$MV_BUILD/mailvisorctl
unset MAILVISOR_URL MAILVISOR_TOKEN MAILVISOR_TOKEN_FILE http_proxy \
    https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
start_redis
PORT=$(free_port)
TOKEN=t242-token-0123456789abcdef
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
: >"$TMP/creds"
K=p:mailvisor:stream:mail
cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
log_level = info

[redis]
socket = $REDIS_SOCK
key_prefix = p:

[http]
listen = 127.0.0.1:$PORT
token_file = $TMP/token

[job:sync]
command = $TESTW sync --cursor={cursor} 5 0 ok
cursor = yes
emit = mail
for_each_account = yes

[job:other]
command = $TESTW sync --cursor={cursor} 1 0 ok
cursor = yes
emit = side

[stream:mail]
maxlen = 5000

[stream:decl]

[account:alice]
tenant_id = t1
user_id = alice
credentials = $TMP/creds
CONF

# One run: five changes and the summary in the stream.
"$MVD" -c "$TMP/mvd.conf" --run sync 2>"$TMP/mvd.log" ||
    fail "mailvisord --run: $(tail -20 "$TMP/mvd.log")"
sanitizer_clean
N=$(rcli XLEN $K)
[ "$N" -ge 5 ] || fail "the run left $N entries"
FIRST=$(rcli XRANGE $K - + COUNT 1 | head -1)
LAST=$(rcli XREVRANGE $K + - COUNT 1 | head -1)
# An application's group: two entries read, not acknowledged.
rcli XGROUP CREATE $K app 0 >/dev/null
rcli XREADGROUP GROUP app c1 COUNT 2 STREAMS $K '>' >/dev/null
# A group that has read everything.
rcli XGROUP CREATE $K done '$' >/dev/null

start_mvd "$TMP/mvd.conf"
ctl() {
	RC=0
	MAILVISOR_URL=http://127.0.0.1:$PORT MAILVISOR_TOKEN_FILE=$TMP/token \
	    "$CTL" -c /dev/null "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
}
wait_for 30 sh -c "MAILVISOR_URL=http://127.0.0.1:$PORT MAILVISOR_TOKEN_FILE=$TMP/token \
    '$CTL' -c /dev/null -q inspect ping" || fail "daemon: $(cat "$TMP/mvd.log")"
U=http://127.0.0.1:$PORT/api/v1
api() {
	curl -s -H "Authorization: Bearer $TOKEN" "$@"
}
code() {
	curl -s -o /dev/null -w '%{http_code}' "$@"
}

# The list: every stream the configuration names, in its order.
api "$U/streams" >"$TMP/streams"
expect_eq "$(jq -c '[.streams[].name]' "$TMP/streams")" '["mail","decl","side"]' \
    "the streams named"
jq -e --argjson n "$N" --arg f "$FIRST" --arg l "$LAST" '.streams[0] |
    .length == $n and .maxlen == 5000 and .first_id == $f and
    .last_id == $l and (.last_time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and
    (.groups | length) == 2' "$TMP/streams" >/dev/null ||
    fail "stream mail: $(cat "$TMP/streams")"
jq -e --argjson n "$N" '.streams[0].groups | map({(.name): .}) | add |
    .app.pending == 2 and .app.lag == $n - 2 and .app.consumers == 1 and
    .done.pending == 0 and .done.lag == 0 and .done.consumers == 0' \
    "$TMP/streams" >/dev/null || fail "groups: $(cat "$TMP/streams")"
jq -e '.streams[2] | .length == 0 and .maxlen == 100000 and
    .first_id == null and .last_id == null and .groups == []' \
    "$TMP/streams" >/dev/null || fail "a stream not made yet: $(cat "$TMP/streams")"

# Entries: the newest, newest last; after an id; unknown streams.
api "$U/streams/mail/entries?count=2" >"$TMP/e"
expect_eq "$(jq -r '.entries[-1].id' "$TMP/e")" "$LAST" "the newest entry last"
expect_eq "$(jq '.entries | length' "$TMP/e")" 2 "count=2"
jq -e '.entries[0].fields | .job == "sync" and .account == "alice" and
    (.data | fromjson | .change == "added")' "$TMP/e" >/dev/null ||
    fail "entry fields: $(cat "$TMP/e")"
api "$U/streams/mail/entries?after=$FIRST&count=1000" >"$TMP/e"
expect_eq "$(jq '.entries | length' "$TMP/e")" "$((N - 1))" "entries after the first"
expect_eq "$(api -o /dev/null -w '%{http_code}' "$U/streams/nosuch/entries")" 404 \
    "an unknown stream"
expect_eq "$(api -o /dev/null -w '%{http_code}' "$U/streams/mail/entries?after=x")" 400 \
    "after not an id"
expect_eq "$(api -o /dev/null -w '%{http_code}' "$U/streams/mail/entries?count=0")" 400 \
    "count 0"
api "$U/streams/side/entries" >"$TMP/e"
expect_eq "$(jq -c .entries "$TMP/e")" '[]' "a stream not made yet has no entries"
# The token and the methods, as every route.
expect_eq "$(code "$U/streams")" 401 "streams without the token"
expect_eq "$(code "$U/streams/mail/entries")" 401 "entries without the token"
expect_eq "$(code -H "Authorization: Bearer $TOKEN" -X POST \
    -H 'Content-Type: application/json' "$U/streams")" 405 "POST streams"
api -D "$TMP/h" -o /dev/null -H 'Origin: http://evil.example' "$U/streams"
! grep -qi '^access-control' "$TMP/h" || fail "CORS headers: $(cat "$TMP/h")"

# mailvisorctl streams: one line per group; --json the daemon's answer.
ctl streams
expect_rc 0
awk 'NR > 1 { print $1, $2, $3, $5, $6, $7 }' "$TMP/out" >"$TMP/rows"
expect_eq "$(cat "$TMP/rows" | tr '\n' ';')" \
    "mail $N 5000 app 2 $((N - 2));mail $N 5000 done 0 0;decl 0 100000 - - -;side 0 100000 - - -;" \
    "streams table"
head -1 "$TMP/out" | grep -q '^STREAM  *LENGTH  *MAXLEN  *LAST  *GROUP  *PENDING  *LAG$' ||
    fail "streams heading: $(head -1 "$TMP/out")"
ctl --json streams
expect_eq "$(jq -c '[.streams[].name]' "$TMP/out")" '["mail","decl","side"]' \
    "streams --json"

# stream tail: the data lines, jq-friendly, newest last.
ctl stream tail mail -n 3
expect_rc 0
expect_eq "$(wc -l <"$TMP/out")" 3 "tail -n 3 prints 3 lines"
jq -e -s 'length == 3' "$TMP/out" >/dev/null || fail "tail output not ndjson: $(cat "$TMP/out")"
rcli XREVRANGE $K + - COUNT 3 | awk '$0 ~ /^\{/' | tac >"$TMP/want"
cmp -s "$TMP/want" "$TMP/out" || fail "tail: $(cat "$TMP/out") vs $(cat "$TMP/want")"
ctl stream tail nosuch
expect_rc 65
grep -q "no stream 'nosuch'" "$TMP/err" || fail "unknown stream: $(cat "$TMP/err")"
ctl stream tail
expect_rc 64

# tail -f: the last entry, then what is added, as it is added.
MAILVISOR_URL=http://127.0.0.1:$PORT MAILVISOR_TOKEN_FILE=$TMP/token \
    "$CTL" -c /dev/null stream tail mail -n 1 -f >"$TMP/follow" 2>"$TMP/ferr" </dev/null &
FPID=$!
wait_for 30 test -s "$TMP/follow" || fail "tail -f printed nothing: $(cat "$TMP/ferr")"
rcli XADD $K '*' data '{"n":1}' job x >/dev/null
rcli XADD $K '*' data '{"n":2}' job x >/dev/null
wait_for 30 grep -q '"n":2' "$TMP/follow" || fail "tail -f: $(cat "$TMP/follow") $(cat "$TMP/ferr")"
kill "$FPID" 2>/dev/null || true
wait "$FPID" 2>/dev/null || true
expect_eq "$(tail -2 "$TMP/follow" | tr '\n' ' ')" '{"n":1} {"n":2} ' "tail -f, in order"
expect_eq "$(wc -l <"$TMP/follow")" 3 "tail -f prints each entry once"

# /metrics: the stream gauges as last read (a scrape starts a read when
# the last is a few seconds old, and serves what was read before). The
# group made at '$' has not read the two entries added since: Redis 7
# cannot tell its lag (null), so it has no sample.
M=http://127.0.0.1:$PORT/metrics
wait_for 30 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $M |
    grep -q '^mailvisor_stream_lag{stream=\"mail\",group=\"app\"} '" ||
    fail "no stream lag in /metrics: $(api "$M" | grep stream)"
api "$M" >"$TMP/metrics"
grep '^mailvisor_stream_' "$TMP/metrics" | sort >"$TMP/got"
cat >"$TMP/want" <<M
mailvisor_stream_lag{stream="mail",group="app"} $N
mailvisor_stream_length{stream="decl"} 0
mailvisor_stream_length{stream="mail"} $((N + 2))
mailvisor_stream_length{stream="side"} 0
M
diff "$TMP/want" "$TMP/got" >&2 || fail "stream gauges"
grep -q '^# TYPE mailvisor_stream_lag gauge$' "$TMP/metrics" || fail "lag TYPE"
api "$U/streams" | jq -e '.streams[0].groups[] | select(.name == "done") |
    .lag == null' >/dev/null || fail "done's lag: $(api "$U/streams")"
# Redis gone: the scrape answers at once with the values read before.
stop_redis
wait_for 30 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $M |
    grep -q '^mailvisor_redis_connected 0'" || fail "redis_connected"
api "$M" | grep '^mailvisor_stream_' | sort >"$TMP/got"
diff "$TMP/want" "$TMP/got" >&2 || fail "stream gauges without Redis"

# The daemon gone: 69.
stop_mvd
sanitizer_clean
ctl streams
expect_rc 69
ctl stream tail mail
expect_rc 69
