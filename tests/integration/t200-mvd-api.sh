# mailvisord's HTTP API against a running daemon and a real Redis: every
# route with its status and JSON; the token (missing, wrong, never logged);
# strict bodies and query strings; triggers, schedules, queues, revoke,
# dead letters, monitor; /metrics read by a Prometheus text parser; the
# [http] checks at start.
. "$MV_TOP/tests/integration/lib.sh"
PY=/usr/bin/python3
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
    fail "python3-prometheus-client is not installed (make deps installs it)"
start_redis

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
TOKEN=t200-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
printf 'Authorization: Bearer %s\n' "$TOKEN" >"$TMP/auth"
mkdir "$TMP/marks"

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 2

[redis]
socket = $REDIS_SOCK

[http]
listen = 127.0.0.1:$PORT
token_file = $TMP/token
max_body = 1k
allowed_hosts = mvd.test

[job:tick]
command = $TESTW ok
schedule = every 1s

[job:echo]
command = $TESTW ok --days={days_back}
args = days_back:int(0..365)=1

[job:sleeper]
command = $TESTW sleep
max_instances = 2
timeout = 120

[job:broken]
command = $TESTW fail

[job:email_sync]
command = $TESTW mark $TMP/marks
	sync-{account}-{lookback_days}{full_sync:+-full} 0 ok
args = lookback_days:int(0..365)=1, full_sync:bool=false
for_each_account = yes

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null

[account:bob]
tenant_id = t1
user_id = bob
credentials = /dev/null
CONF

# req METHOD PATH [BODY [CONTENT-TYPE]]: a request with the token; the
# status in $CODE, the body in $TMP/body, the headers in $TMP/hdr.
req() {
	if [ $# -ge 3 ]; then
		CODE=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' \
		    -X "$1" -H @"$TMP/auth" \
		    -H "Content-Type: ${4:-application/json}" \
		    --data-binary "$3" "$URL$2") || CODE=000
	elif [ "$1" = GET ]; then
		CODE=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' \
		    -X "$1" -H @"$TMP/auth" "$URL$2") || CODE=000
	else
		CODE=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' \
		    -X "$1" -H @"$TMP/auth" -H 'Content-Type: application/json' \
		    "$URL$2") || CODE=000
	fi
}

# noauth METHOD PATH [CURL-ARGS...]: the same without the token.
noauth() {
	_m=$1
	_p=$2
	shift 2
	CODE=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' \
	    -X "$_m" "$@" "$URL$_p") || CODE=000
}

jb() {
	jq -r "$1" "$TMP/body"
}

hdr() {
	tr -d '\r' <"$TMP/hdr" | awk -v h="$1" '
	    tolower($0) ~ "^" tolower(h) ":" { sub(/^[^:]*: */, ""); print }'
}

# ok CODE WHAT: the last request answered CODE with a JSON body.
ok() {
	[ "$CODE" = "$1" ] ||
	    fail "$2: HTTP $CODE, expected $1: $(head -c 400 "$TMP/body")"
	expect_eq "$(hdr Content-Type)" application/json "$2: Content-Type"
	jq -e . "$TMP/body" >/dev/null || fail "$2: the body is not JSON"
}

# err CODE TYPE WHAT: an error answer of that status and type.
err() {
	ok "$1" "$3"
	expect_eq "$(jb .error.type)" "$2" "$3: error.type"
	[ -n "$(jb .error.message)" ] || fail "$3: no error.message"
}

rcount() {	# rcount KEY FIELD: a stats field, 0 when missing
	v=$(rcli HGET "$1" "$2")
	echo "${v:-0}"
}

# ---- [http] checked at start ----
sed "s|^listen = .*|listen = 0.0.0.0:$PORT|; /^token_file/d" \
    "$TMP/mvd.conf" >"$TMP/open.conf"
RC=0
"$MVD" -n -c "$TMP/open.conf" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_eq "$RC" 78 "non-loopback listen without token_file: exit status"
grep -q "^$TMP/open.conf:8: listen: 0.0.0.0 is not a loopback address" \
    "$TMP/err" || fail "no error at the listen line: $(cat "$TMP/err")"
sed "s|^listen = .*|listen = 0.0.0.0:$PORT|" "$TMP/mvd.conf" \
    >"$TMP/open-token.conf"
"$MVD" -n -c "$TMP/open-token.conf" >/dev/null ||
    fail "non-loopback listen with a token_file refused"
printf 'short\n' >"$TMP/badtoken"
sed "s|^token_file = .*|token_file = $TMP/badtoken|" "$TMP/mvd.conf" \
    >"$TMP/badtoken.conf"
RC=0
"$MVD" -n -c "$TMP/badtoken.conf" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_eq "$RC" 78 "a bad token file: exit status"
grep -q "token_file: $TMP/badtoken: the token is shorter than 16 bytes" \
    "$TMP/err" || fail "bad token file: $(cat "$TMP/err")"
"$MVD" -n -c "$TMP/mvd.conf" >/dev/null 2>"$TMP/err" ||
    fail "configuration refused"
[ ! -s "$TMP/err" ] || fail "warnings about a sound file: $(cat "$TMP/err")"
# Warnings, not errors: a token others may read; credentials missing or
# unreadable (the runs would fail).
cp "$TMP/token" "$TMP/open-token"
chmod 644 "$TMP/open-token"
printf '{}\n' >"$TMP/locked.json"
chmod 000 "$TMP/locked.json"
sed "s|^token_file = .*|token_file = $TMP/open-token|
/^user_id = alice/{n;s|^credentials = .*|credentials = $TMP/nope.json|}
/^user_id = bob/{n;s|^credentials = .*|credentials = $TMP/locked.json|}" \
    "$TMP/mvd.conf" >"$TMP/warn.conf"
RC=0
"$MVD" -n -c "$TMP/warn.conf" >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_eq "$RC" 0 "-n with warnings: exit status"
expect_eq "$(cat "$TMP/out")" "configuration OK" "-n with warnings: stdout"
grep -q "^mailvisord: $TMP/warn.conf: \[http\] token_file $TMP/open-token is readable by group or others; chmod 600 it$" \
    "$TMP/err" || fail "no warning about the token file: $(cat "$TMP/err")"
grep -q "^mailvisord: $TMP/warn.conf:[0-9]*: account alice: credentials $TMP/nope.json: No such file or directory" \
    "$TMP/err" || fail "no warning about missing credentials: $(cat "$TMP/err")"
if [ "$(id -u)" -ne 0 ]; then
	grep -q "account bob: credentials $TMP/locked.json: Permission denied" \
	    "$TMP/err" || fail "no warning about unreadable credentials: $(cat "$TMP/err")"
fi

start_mvd "$TMP/mvd.conf" -d
wait_for 30 curl -sf "$URL/healthz" ||
    fail "the API did not come up: $(cat "$TMP/mvd.log")"
wait_for 30 sh -c "curl -s $URL/healthz | jq -e .redis" ||
    fail "no Redis: $(cat "$TMP/mvd.log")"

# A second daemon on the same port cannot bind: exit 1, said clearly.
RC=0
timeout 20 "$MVD" -c "$TMP/mvd.conf" >"$TMP/out" 2>"$TMP/second.err" ||
    RC=$?
expect_eq "$RC" 1 "a second daemon on a port in use: exit status"
grep -q "http: cannot listen on 127.0.0.1:$PORT: Address already in use" \
    "$TMP/second.err" || fail "bind failure not said: $(cat "$TMP/second.err")"

# ---- no token needed: /healthz, / ----
noauth GET /healthz
ok 200 healthz
expect_eq "$(jb .status)" ok "healthz status"
expect_eq "$(jb .pid)" "$MVD_PID" "healthz pid"
expect_eq "$(jb .redis)" true "healthz redis"
expect_eq "$(jb '.version | test("^[0-9]+\\.[0-9]")')" true "healthz version"
expect_eq "$(jb '.uptime | type')" number "healthz uptime"
expect_eq "$(hdr Cache-Control)" no-store "Cache-Control"
expect_eq "$(hdr X-Content-Type-Options)" nosniff "X-Content-Type-Options"
hdr Server | grep -q '^mailvisord/[0-9]' || fail "Server: $(hdr Server)"
noauth GET /
[ "$CODE" = 200 ] || fail "dashboard: HTTP $CODE"
expect_eq "$(hdr Content-Type)" "text/html; charset=utf-8" "dashboard type"
grep -qi '<html' "$TMP/body" || fail "the dashboard is not a page"
cmp -s "$TMP/body" "$MV_TOP/supervisor/dashboard.html" ||
    fail "the dashboard served is not supervisor/dashboard.html"

# ---- the token ----
for p in /metrics /api/v1/daemon /api/v1/queues /api/v1/dlq \
    /api/v1/workers/scheduler/status; do
	noauth GET "$p"
	err 401 unauthorized "GET $p without a token"
	expect_eq "$(hdr WWW-Authenticate)" Bearer "$p: WWW-Authenticate"
done
noauth POST /api/v1/jobs/echo/trigger -H 'Content-Type: application/json'
err 401 unauthorized "a trigger without a token"
wrong=$(printf '%s' "$TOKEN" | tr '0-9a-f' 'a-f0-9')
for h in "Bearer $wrong" "Bearer ${TOKEN}x" "Bearer ${TOKEN%?}" \
    "Bearer " "Basic $TOKEN" "$TOKEN" "Bearer  $wrong"; do
	noauth GET /api/v1/daemon -H "Authorization: $h"
	err 401 unauthorized "a wrong Authorization header"
done
noauth GET /api/v1/daemon -H "Authorization: bearer $TOKEN"
ok 200 "the scheme in lower case"

# ---- other sites: a rebinding Host, forms, foreign Origins ----
# A page of another site that got its name to resolve to 127.0.0.1 sends
# its own Host; its forms and scripts send what a browser sends.
for h in evil.example "evil.example:$PORT" 127.0.0.1.evil.example \
    "localhost.evil.example:$PORT" "127.0.0.1:x" "[::1" "a b" ""; do
	noauth GET /api/v1/workers/monitor/failures -H @"$TMP/auth" \
	    -H "Host: $h"
	err 403 forbidden "Host '$h'"
done
noauth GET /healthz -H "Host: evil.example"
err 403 forbidden "Host of another site on /healthz"
for h in "127.0.0.1:$PORT" 127.0.0.1 "localhost:$PORT" LocalHost \
    "[::1]:$PORT" "mvd.test:$PORT" mvd.test; do
	noauth GET /api/v1/workers/monitor/failures -H @"$TMP/auth" \
	    -H "Host: $h"
	ok 200 "Host '$h'"
done
revoked_id=f0e1d2c3-b4a5-4697-8899-aabbccddeeff
for auth in "$TMP/auth" /dev/null; do
	for p in /api/v1/queues/sync/purge /api/v1/workers/scheduler/tick/pause \
	    /api/v1/workers/sync/trigger /api/v1/jobs/echo/trigger \
	    "/api/v1/jobs/$revoked_id/revoke"; do
		for ct in application/x-www-form-urlencoded \
		    'multipart/form-data; boundary=b' text/plain \
		    'text/plain; charset=utf-8' ''; do
			noauth POST "$p" -H @"$auth" -H "Content-Type: $ct" \
			    -H 'Origin: null'
			err 403 forbidden "POST $p as '$ct' from a sandboxed page"
			noauth POST "$p" -H @"$auth" -H "Content-Type: $ct"
			err 403 forbidden "POST $p as '$ct'"
		done
		noauth POST "$p" -H @"$auth" -H 'Content-Type: text/plain' \
		    --data-binary '{}'
		err 403 forbidden "POST $p with a text/plain body"
		noauth POST "$p" -H @"$auth" \
		    --data-binary 'x=1'
		err 403 forbidden "POST $p as a form"
		for o in http://evil.example "http://127.0.0.1:$PORT.evil.example" \
		    "http://127.0.0.1:$((PORT + 1))" "ftp://127.0.0.1:$PORT"; do
			noauth POST "$p" -H @"$auth" \
			    -H 'Content-Type: application/json' -H "Origin: $o"
			err 403 forbidden "POST $p from Origin $o"
			jb .error.message | grep -q Origin ||
			    fail "the refusal does not name the Origin"
		done
		noauth POST "$p" -H @"$auth" -H 'Content-Type: application/json' \
		    -H 'Sec-Fetch-Site: cross-site'
		err 403 forbidden "POST $p with Sec-Fetch-Site: cross-site"
	done
	noauth DELETE /api/v1/workers/scheduler/tick -H @"$auth"
	err 403 forbidden "DELETE without Content-Type"
	noauth DELETE /api/v1/dlq -H @"$auth" -H 'Origin: http://evil.example' \
	    -H 'Content-Type: application/json'
	err 403 forbidden "DELETE from another Origin"
done
grep -q 'purge: done' "$TMP/mvd.log" && fail "a refused purge was done"
expect_eq "$(rcli SCARD mailvisor:schedule:paused)" 0 \
    "paused schedules after refused pauses"
expect_eq "$(rcli SISMEMBER mailvisor:revoked "$revoked_id")" 0 \
    "revoked after refused revokes"
ls "$TMP/marks" | grep -q . && fail "a refused sync trigger ran"
grep -q "refused: Host 'evil.example'" "$TMP/mvd.log" ||
    fail "a refused Host is not logged"
# The daemon's own origin, and a same-origin page: accepted.
for o in "http://127.0.0.1:$PORT" "https://127.0.0.1:$PORT"; do
	noauth POST /api/v1/workers/scheduler/tick/resume -H @"$TMP/auth" \
	    -H 'Content-Type: application/json' -H "Origin: $o" \
	    -H 'Sec-Fetch-Site: same-origin'
	ok 200 "a change from the daemon's own origin $o"
done
noauth POST /api/v1/workers/scheduler/tick/resume -H @"$TMP/auth" \
    -H 'Content-Type: application/json' -H "Host: localhost:$PORT" \
    -H "Origin: http://localhost:$PORT"
ok 200 "a change from http://localhost"

# ---- routes, methods, paths ----
req GET /nope
err 404 not_found "unknown route"
req GET /api/v1/jobs//x
err 404 not_found "empty segment"
req PUT /api/v1/dlq
err 405 method_not_allowed "PUT /api/v1/dlq"
expect_eq "$(hdr Allow)" "GET, DELETE" "Allow of /api/v1/dlq"
req POST /healthz
err 405 method_not_allowed "POST /healthz"
expect_eq "$(hdr Allow)" GET "Allow of /healthz"
req GET /api/v1/jobs/%00
err 400 invalid_argument "NUL in a path parameter"
req GET /api/v1/jobs/a%2Fb
err 400 invalid_argument "slash in a path parameter"

# ---- bodies ----
req POST /api/v1/jobs/echo/trigger '{"args":'
err 400 invalid_argument "malformed JSON"
req POST /api/v1/jobs/echo/trigger '[1]'
err 400 invalid_argument "an array body"
req POST /api/v1/jobs/echo/trigger '"x"'
err 400 invalid_argument "a string body"
req POST /api/v1/jobs/echo/trigger '{"args":{},"args":{}}'
err 400 invalid_argument "duplicate keys"
req POST /api/v1/jobs/echo/trigger "$(printf '{"account":"\377"}')"
err 400 invalid_argument "invalid UTF-8"
req POST /api/v1/jobs/echo/trigger '{"account":"alice","extra":1}'
err 400 invalid_argument "unknown field"
jb .error.message | grep -q "'extra'" || fail "the unknown field is not named"
req POST /api/v1/jobs/echo/trigger '{"account":5}'
err 400 invalid_argument "wrong type"
jb .error.message | grep -q "'account'" || fail "the ill-typed field is not named"
req POST /api/v1/jobs/echo/trigger '{"args":[]}'
err 400 invalid_argument "args not an object"
req POST /api/v1/jobs/echo/trigger '{}' text/plain
err 403 forbidden "text/plain body"
req POST /api/v1/jobs/echo/trigger '{}' 'application/json; charset=utf-8'
ok 202 "application/json with a charset"
big=$(head -c 2000 /dev/zero | tr '\0' ' ')
req POST /api/v1/jobs/echo/trigger "{\"args\":{}$big}"
err 413 payload_too_large "a body over max_body"
noauth GET /healthz -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
err 400 invalid_argument "a head over 16 KiB"
noauth FOO /healthz
err 405 method_not_allowed "a method evhttp does not know"
expect_eq "$(hdr Allow)" GET "Allow of /healthz for FOO"
noauth BREW /nope
err 404 not_found "an unknown method on an unknown route"
noauth POST /api/v1/jobs/echo/trigger -H @"$TMP/auth" \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary '{}'
err 411 length_required "a chunked body"
# What no client library sends: raw bytes; every answer the JSON error.
"$PY" - "$PORT" "$TOKEN" >"$TMP/raw" <<'PY' || fail "raw requests: $(cat "$TMP/raw")"
import json, socket, sys, time

port, token = int(sys.argv[1]), sys.argv[2]
H = b"Host: 127.0.0.1\r\n"


def ask(*parts):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:	# the daemon may close once it has answered
        for p in parts:
            s.sendall(p)
            time.sleep(0.05)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    return out


def last(out, code, etype, what):
    head, _, body = out.rpartition(b"\r\n\r\n")
    status = head.rsplit(b"HTTP/1.1 ", 1)[-1].split(b" ")[0]
    assert status == str(code).encode(), (what, out[:300])
    assert b"\r\nContent-Type: application/json" in out, (what, out[:300])
    assert json.loads(body)["error"]["type"] == etype, (what, body)
    print("ok", what)


last(ask(b"GARBAGE\r\n\r\n"), 400, "invalid_argument", "no method")
last(ask(b"GET /healthz HTTP/2.0\r\n" + H + b"\r\n"), 400,
     "invalid_argument", "HTTP/2.0")
last(ask(b"GET  /healthz HTTP/1.1\r\n" + H + b"\r\n"), 400,
     "invalid_argument", "two blanks")
last(ask(b"GET /healthz HTTP/1.1\r\n" + H + b"no colon\r\n\r\n"), 400,
     "invalid_argument", "a header line without a colon")
last(ask(b"POST /api/v1/dlq/reprocess HTTP/1.1\r\n" + H +
         b"Content-Length: 12x\r\n\r\n"), 400, "invalid_argument",
     "a Content-Length that is not a number")
last(ask(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n" + H + b"\r\n"), 400,
     "invalid_argument", "a request line of 20 000 bytes")
last(ask(b"GET /healthz HTTP/1.1\r\n" + H + b"X: " + b"a" * 9000 + b"\r\n" +
         b"Y: " + b"a" * 9000 + b"\r\n\r\n"), 400, "invalid_argument",
     "two headers of 9 000 bytes")
# Split across packets, after a first request on the same connection.
out = ask(b"GET /healthz HTTP/1.1\r\n" + H + b"\r\n",
          b"POST /api/v1/dlq/reprocess HTTP/1.1\r\n" + H,
          b"Authorization: Bearer " + token.encode() + b"\r\n",
          b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n" +
          b"x" * 5000)
assert out.startswith(b"HTTP/1.1 200 "), out[:200]
last(out, 413, "payload_too_large", "a second request's body over max_body")
# A body within the limit, sent in pieces: still served.
out = ask(b"POST /api/v1/dlq/reprocess HTTP/1.1\r\n" + H,
          b"Authorization: Bearer " + token.encode() + b"\r\n",
          b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{",
          b"}GET /healthz HTTP/1.1\r\n" + H + b"\r\n")
assert out.startswith(b"HTTP/1.1 400 "), out[:200]
assert out.count(b"HTTP/1.1 200 OK") == 1, out
print("ok pieces")
PY
req GET /api/v1/daemon '{}'
err 400 invalid_argument "a body where none is taken"

# ---- query strings ----
for qs in 'limit=abc' 'limit=0' 'limit=101' 'limit=-1' 'limit=1e2' \
    'limit=' 'nope=1' 'limit=1&limit=2' 'limit'; do
	req GET "/api/v1/workers/monitor/tick/history?$qs"
	err 400 invalid_argument "history?$qs"
done
for qs in 'hours=0' 'hours=8761' 'limit=1001' 'hours=x'; do
	req GET "/api/v1/workers/monitor/failures?$qs"
	err 400 invalid_argument "failures?$qs"
done
for qs in 'count=0' 'count=1001' 'start=abc' 'start=1-x'; do
	req GET "/api/v1/dlq?$qs"
	err 400 invalid_argument "dlq?$qs"
done
req GET '/api/v1/workers/monitor/stats?worker_name=a%20b'
err 400 invalid_argument "a worker name with a blank"
req GET '/api/v1/daemon?x=1'
err 400 invalid_argument "a query on a route without parameters"

# ---- the daemon ----
req GET /api/v1/daemon
ok 200 daemon
expect_eq "$(jb .pid)" "$MVD_PID" "daemon pid"
expect_eq "$(jb .max_children)" 2 "daemon max_children"
expect_eq "$(jb .redis.connected)" true "daemon redis.connected"
expect_eq "$(jb .redis.address)" "unix:$REDIS_SOCK" "daemon redis.address"
expect_eq "$(jb '.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")')" \
    true "daemon started_at"
expect_eq "$(jb '[.consumer, .uptime, .running, .queued, .retrying,
    .records.written, .records.buffered, .records.dropped, .records.invalid,
    .queue.delivered, .queue.acked, .queue.retried, .queue.dead,
    .queue.skipped, .queue.revoked, .queue.reclaimed] | map(type) | unique |
    join(",")')" "number,string" "daemon field types"

# ---- schedules: status, pause, resume, remove ----
wait_for 30 sh -c "[ \$(redis-cli -s $REDIS_SOCK HGET worker:stats:tick total_executions || echo 0) -ge 1 ]" ||
    fail "tick never ran: $(cat "$TMP/mvd.log")"
req GET /api/v1/workers/scheduler/status
ok 200 "scheduler status"
expect_eq "$(jb '[.jobs[].name] | join(",")')" \
    tick,echo,sleeper,broken,email_sync "scheduler jobs"
expect_eq "$(jb '.jobs[0] | [.schedule, .timezone, .paused, .removed,
    .for_each_account, .max_instances] | map(tostring) | join(",")')" \
    "every 1s,UTC,false,false,false,1" "tick's status"
expect_eq "$(jb '.jobs[0].next_run | test("Z$")')" true "tick's next_run"
expect_eq "$(jb '.jobs[1].next_run')" null "echo has no next_run"
expect_eq "$(jb '.jobs[1].args[0] | [.name, .type, .default, .required] |
    map(tostring) | join(",")')" "days_back,int,1,false" "echo's args"
expect_eq "$(jb .max_children)" 2 "status max_children"
req POST /api/v1/workers/scheduler/tick/pause
ok 200 pause
expect_eq "$(jb '[.job, .paused] | map(tostring) | join(",")')" tick,true \
    "pause answer"
expect_eq "$(rcli SISMEMBER mailvisor:schedule:paused tick)" 1 \
    "paused set in Redis"
req GET /api/v1/workers/scheduler/status
expect_eq "$(jb '.jobs[0] | [.paused, .next_run] | map(tostring) |
    join(",")')" true,null "status after pause"
sleep 1.5
n=$(rcount worker:stats:tick total_executions)
sleep 2.5
expect_eq "$(rcount worker:stats:tick total_executions)" "$n" \
    "a paused schedule fired"
req POST /api/v1/workers/scheduler/tick/resume
ok 200 resume
expect_eq "$(jb '[.job, .paused, .removed] | map(tostring) | join(",")')" \
    tick,false,false "resume answer"
expect_eq "$(rcli SISMEMBER mailvisor:schedule:paused tick)" 0 \
    "paused set after resume"
wait_for 30 sh -c "[ \$(redis-cli -s $REDIS_SOCK HGET worker:stats:tick total_executions) -gt $n ]" ||
    fail "tick did not fire after resume"
req DELETE /api/v1/workers/scheduler/tick
ok 200 remove
expect_eq "$(jb '[.job, .removed] | map(tostring) | join(",")')" tick,true \
    "remove answer"
expect_eq "$(rcli SISMEMBER mailvisor:schedule:removed tick)" 1 \
    "removed set in Redis"
req GET /api/v1/workers/scheduler/status
expect_eq "$(jb '.jobs[0] | [.removed, .next_run] | map(tostring) |
    join(",")')" true,null "status after remove"
req POST /api/v1/workers/scheduler/tick/resume
ok 200 "resume after remove"
expect_eq "$(rcli SISMEMBER mailvisor:schedule:removed tick)" 0 \
    "removed set after resume"
req POST /api/v1/workers/scheduler/nope/pause
err 404 not_found "pause of an unknown job"
req DELETE /api/v1/workers/scheduler/nope
err 404 not_found "remove of an unknown job"
req POST /api/v1/workers/scheduler/tick/pause '{}'
err 400 invalid_argument "pause with a body"

# ---- triggers ----
req POST /api/v1/jobs/echo/trigger '{"args":{"days_back":5}}'
ok 202 "trigger echo"
expect_eq "$(jb .job)" echo "trigger job"
expect_eq "$(jb '.job_ids | length')" 1 "trigger job_ids"
id=$(jb '.job_ids[0]')
wait_for 30 sh -c "redis-cli -s $REDIS_SOCK EXISTS worker:metrics:echo:$id | grep -qx 1" ||
    fail "the triggered run left no record"
req GET "/api/v1/jobs/$id"
ok 200 "job by id"
expect_eq "$(jb '[.job_id, .state, .record.status, .record.worker] |
    join(",")')" "$id,done,success,echo" "done job"
req POST /api/v1/jobs/echo/trigger
ok 202 "trigger with no body"
req POST /api/v1/jobs/echo/trigger '{"args":{"days_back":"x"}}'
err 400 invalid_argument "an argument of the wrong type"
req POST /api/v1/jobs/echo/trigger '{"args":{"days_back":999}}'
err 400 invalid_argument "an argument out of bounds"
req POST /api/v1/jobs/echo/trigger '{"args":{"nope":1}}'
err 400 invalid_argument "an undeclared argument"
req POST /api/v1/jobs/echo/trigger '{"account":"zed"}'
err 404 not_found "an unknown account"
req POST /api/v1/jobs/nope/trigger
err 404 not_found "trigger of an unknown job"
req POST /api/v1/workers/sync/trigger \
    '{"provider":"gmail","full_sync":true,"lookback_days":7}'
ok 202 "sync trigger"
expect_eq "$(jb '[.job, (.job_ids | length), .ignored] |
    map(tostring) | join(" ")')" "email_sync 2 null" "sync answer"
req POST /api/v1/workers/sync/trigger '{"account":"bob","lookback_days":3}'
ok 202 "sync of one account"
expect_eq "$(jb '.job_ids | length')" 1 "sync of bob"
wait_for 30 sh -c "ls $TMP/marks | grep -q '^sync-bob-3\\.'" ||
    fail "sync of bob: $(ls "$TMP/marks")"
for m in sync-alice-7-full sync-bob-7-full; do
	ls "$TMP/marks" | grep -q "^$m\\." || fail "no run $m: $(ls "$TMP/marks")"
done
[ "$(ls "$TMP/marks" | wc -l)" -eq 3 ] || fail "sync runs: $(ls "$TMP/marks")"
req POST /api/v1/workers/sync/trigger '{"provider":"outlook"}'
err 400 invalid_argument "another provider"
req POST /api/v1/workers/sync/trigger '{"provider":"imap"}'
ok 202 "sync trigger of a provider without accounts"
expect_eq "$(jb '.job_ids | length')" 0 "runs for the imap accounts"
req POST /api/v1/workers/sync/trigger '{"provider":"imap","account":"bob"}'
err 400 invalid_argument "sync of a gmail account as imap"
req POST /api/v1/workers/sync/trigger '{"account":"zed"}'
err 404 not_found "sync of an unknown account"
req POST /api/v1/workers/sync/trigger '{"lookback_days":"7"}'
err 400 invalid_argument "lookback_days as a string"

# ---- running jobs, queues and their purge, revoke ----
req POST /api/v1/jobs/sleeper/trigger
ok 202 "trigger sleeper 1"
s1=$(jb '.job_ids[0]')
req POST /api/v1/jobs/sleeper/trigger
ok 202 "trigger sleeper 2"
s2=$(jb '.job_ids[0]')
wait_for 30 sh -c "curl -s -H @$TMP/auth $URL/api/v1/jobs/active | jq -e '[.jobs[].job] | map(select(. == \"sleeper\")) | length == 2'" ||
    fail "the sleepers do not run"
req GET /api/v1/jobs/active
ok 200 "active jobs"
expect_eq "$(jb ".jobs[] | select(.job_id == \"$s1\") | [.job, .account,
    .attempt, .queue, (.pid > 1), (.running_for >= 0)] | map(tostring) |
    join(\",\")")" "sleeper,null,1,null,true,true" "an active job"
expect_eq "$(jb '.consumer | type')" string "active consumer"
req GET "/api/v1/jobs/$s1"
ok 200 "a running job by id"
expect_eq "$(jb '[.job_id, .state, .job] | join(",")')" "$s1,running,sleeper" \
    "running job"
# Both slots are taken: queued jobs wait in their stream (one of them may
# be delivered already, to a read that was waiting).
for i in 1 2 3; do
	req POST /api/v1/queues/spam/enqueue \
	    "{\"job\":\"echo\",\"tenant_id\":\"t1\",\"user_id\":\"alice\",\"args\":{\"days_back\":$i}}"
	ok 202 "enqueue to spam"
done
expect_eq "$(jb '[.queue, (.id | test("^[0-9]+-[0-9]+$")), .job_id == .id] |
    map(tostring) | join(",")')" "spam,true,true" "enqueue answer"
req GET /api/v1/queues
ok 200 queues
expect_eq "$(jb '[.queues[].name] | sort | join(",")')" \
    "delete,periodic,send,spam,sync" "queue names"
expect_eq "$(jb '.queues[] | select(.name == "spam") | [.priority,
    .length + .pending, .delayed] | map(tostring) | join(",")')" "3,3,0" \
    "spam with 3 waiting"
expect_eq "$(jb '[.dlq, .delayed] | map(type) | join(",")')" "number,number" \
    "dlq and delayed"
req POST /api/v1/queues/spam/purge
ok 200 purge
expect_eq "$(jb '[.queue, .removed] | map(tostring) | join(",")')" spam,3 \
    "purge answer"
req POST /api/v1/queues/nope/purge
err 404 not_found "purge of an unknown queue"
# Revoke: the running one here; unknown ids; ids of another daemon.
req POST "/api/v1/jobs/$s1/revoke"
ok 202 "revoke a running job"
expect_eq "$(jb '[.job_id, .running_here, .outcome] | map(tostring) | join(",")')" \
    "$s1,true,killed" "revoke answer"
wait_for 30 sh -c "redis-cli -s $REDIS_SOCK GET worker:metrics:sleeper:$s1 | jq -e '.status == \"revoked\"'" ||
    fail "the revoked run was not recorded revoked: $(rcli GET worker:metrics:sleeper:"$s1")"
expect_eq "$(rcli HGET worker:stats:sleeper last_status)" revoked \
    "sleeper's last status"
req POST /api/v1/jobs/nope/revoke
err 409 conflict "revoke of an unknown id"
req POST /api/v1/jobs/1-1/revoke
err 409 conflict "revoke of an unknown entry id"
other=0f8e6bb8-3f4c-4b8e-9c1e-6a3c2d9e7b10
req POST "/api/v1/jobs/$other/revoke"
ok 202 "revoke of a run id not here"
expect_eq "$(jb .running_here)" false "not running here"
expect_eq "$(jb .outcome)" marked "a run id not here: marked"
expect_eq "$(rcli SISMEMBER mailvisor:revoked "$other")" 1 "revoked set"
req POST "/api/v1/jobs/$id/revoke"
err 409 conflict "revoke of a run id that is done"
jb .error.message | grep -q 'has finished' ||
    fail "a finished run: $(jb .error.message)"
expect_eq "$(rcli SISMEMBER mailvisor:revoked "$id")" 0 "a finished run marked"
req POST "/api/v1/jobs/$s1/revoke"
err 409 conflict "revoke of a run revoked and done"
req POST /api/v1/jobs/%00/revoke
err 400 invalid_argument "revoke of a NUL id"
req POST "/api/v1/jobs/$s2/revoke"
ok 202 "revoke the second sleeper"
req GET /api/v1/jobs/nope
err 404 not_found "an unknown job id"

# ---- enqueue runs; its checks ----
req POST /api/v1/queues/sync/enqueue \
    '{"job":"echo","tenant_id":"t1","user_id":"bob","args":{"days_back":2},"idempotency_key":"t200-k1"}'
ok 202 "enqueue to sync"
qid=$(jb .job_id)
wait_for 20 sh -c "redis-cli -s $REDIS_SOCK EXISTS worker:metrics:echo:$qid | grep -qx 1" ||
    fail "the queued job did not run"
req GET "/api/v1/jobs/$qid"
ok 200 "the queued job by id"
expect_eq "$(jb '[.state, .record.status] | join(",")')" done,success \
    "queued job record"
for b in '{"job":"nope","tenant_id":"t1","user_id":"bob"}' \
    '{"job":"echo","tenant_id":"t9","user_id":"bob"}' \
    '{"job":"echo","tenant_id":"t1","user_id":"bob","args":{"evil":1}}' \
    '{"job":"echo","tenant_id":"t1","user_id":"bob","args":{"days_back":"x"}}' \
    '{"job":"echo","tenant_id":"t1"}' \
    '{"job":"echo","tenant_id":"t1","user_id":"bob","idempotency_key":""}' \
    "{\"job\":\"echo\",\"tenant_id\":\"t1\",\"user_id\":\"bob\",\"idempotency_key\":\"$(head -c 201 /dev/zero | tr '\0' k)\"}" \
    '{"job":"echo","tenant_id":"t1","user_id":"bob","queue":"x"}'; do
	req POST /api/v1/queues/sync/enqueue "$b"
	err 400 invalid_argument "enqueue of $b"
done
req POST /api/v1/queues/nope/enqueue '{"job":"echo","tenant_id":"t1","user_id":"bob"}'
err 404 not_found "enqueue to an unknown queue"

# ---- dead letters ----
req POST /api/v1/queues/send/enqueue '{"job":"broken","tenant_id":"t1","user_id":"alice"}'
ok 202 "enqueue of a failing job"
bid=$(jb .job_id)
wait_for 20 sh -c "[ \$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq) -ge 1 ]" ||
    fail "no dead letter"
req GET '/api/v1/dlq?count=10'
ok 200 "dlq peek"
expect_eq "$(jb '.entries | length')" 1 "one dead letter"
expect_eq "$(jb '.entries[0] | [.queue, .id, .job_id, (.dlq_id |
    test("^[0-9]+-[0-9]+$")), .record.status, .fields.job,
    (.attempts | length), (.at | test("Z$"))] | map(tostring) | join(",")')" \
    "send,$bid,$bid,true,failed,broken,1,true" "the dead letter"
dlq_id=$(jb '.entries[0].dlq_id')
req GET "/api/v1/dlq?count=1&start=$dlq_id"
ok 200 "dlq peek from an id"
expect_eq "$(jb '.entries[0].dlq_id')" "$dlq_id" "dlq start"
req POST /api/v1/dlq/reprocess "{\"id\":\"$dlq_id\"}"
ok 200 "reprocess one"
expect_eq "$(jb .reprocessed)" 1 "reprocessed"
wait_for 20 sh -c "[ \$(redis-cli -s $REDIS_SOCK HGET worker:stats:broken total_executions) -ge 2 ]" ||
    fail "the reprocessed job did not run again"
wait_for 20 sh -c "[ \$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq) -ge 1 ]" ||
    fail "the reprocessed job is not a dead letter again"
req POST /api/v1/dlq/reprocess '{"id":"1-1"}'
err 404 not_found "reprocess of an id not in the DLQ"
req POST /api/v1/dlq/reprocess '{}'
err 400 invalid_argument "reprocess of nothing"
req POST /api/v1/dlq/reprocess '{"all":false}'
err 400 invalid_argument "reprocess all false"
req POST /api/v1/dlq/reprocess "{\"all\":true,\"id\":\"$dlq_id\"}"
err 400 invalid_argument "reprocess of both"
req POST /api/v1/dlq/reprocess '{"id":"x"}'
err 400 invalid_argument "reprocess of a bad id"
wait_for 20 sh -c "[ \$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq) -ge 1 ]" ||
    fail "no dead letter to purge"
req DELETE /api/v1/dlq
ok 200 "dlq purge"
[ "$(jb .purged)" -ge 1 ] || fail "purged $(jb .purged)"
req GET /api/v1/dlq
ok 200 "dlq after purge"
expect_eq "$(jb '.entries | length')" 0 "dlq emptied"

# ---- monitor ----
req GET /api/v1/workers/monitor/stats
ok 200 "monitor stats"
expect_eq "$(jb '.workers | keys | join(",")')" \
    broken,echo,email_sync,sleeper,tick "monitor workers"
expect_eq "$(jb ".workers.echo.total_executions")" \
    "$(rcli HGET worker:stats:echo total_executions)" "echo total"
expect_eq "$(jb '.workers.echo | [.successful_executions, .failed_executions,
    .total_duration, .average_duration] | map(type) | unique | join(",")')" \
    number "stats are numbers"
expect_eq "$(jb '.workers.echo.last_status')" success "echo last status"
req GET '/api/v1/workers/monitor/stats?worker_name=broken'
ok 200 "monitor stats of one"
expect_eq "$(jb '[(.workers | keys | join(",")),
    .workers.broken.failed_executions] | map(tostring) | join(" ")')" \
    "broken 2" "broken's stats"
req GET '/api/v1/workers/monitor/stats?worker_name=zed'
err 404 not_found "stats of an unknown worker"
req GET '/api/v1/workers/monitor/echo/history?limit=2'
ok 200 "history"
expect_eq "$(jb '[.worker, (.history | length), (.history[0] | has("result")),
    .history[0].worker] | map(tostring) | join(",")')" "echo,2,false,echo" \
    "history answer"
req GET /api/v1/workers/monitor/echo/history
[ "$(jb '.history | length')" -ge 4 ] || fail "history default: $(jb '.history | length')"
req GET /api/v1/workers/monitor/zed/history
err 404 not_found "history of an unknown worker"
req GET '/api/v1/workers/monitor/failures?limit=5&hours=1'
ok 200 failures
expect_eq "$(jb '[.failures[].worker] | unique | join(",")')" broken,sleeper \
    "failures"
expect_eq "$(jb '.failures | length')" \
    "$(rcli ZCARD worker:failures)" "failures count"
req GET '/api/v1/workers/monitor/failures?limit=1'
expect_eq "$(jb '.failures | length')" 1 "failures limit"

# ---- /metrics, read by the Prometheus text parser ----
req GET /metrics
[ "$CODE" = 200 ] || fail "metrics: HTTP $CODE"
expect_eq "$(hdr Content-Type)" "text/plain; version=0.0.4; charset=utf-8" \
    "metrics Content-Type"
"$PY" - "$TMP/body" >"$TMP/samples" <<'PY' || fail "metrics do not parse"
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
for fam in text_string_to_metric_families(text):
    print("family %s %s" % (fam.name, fam.type))
    for s in fam.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %s" % (s.name, labels, repr(float(s.value))))
PY
for f in "mailvisor_runs counter" "mailvisor_run_duration_seconds histogram" \
    "mailvisor_running_children gauge" "mailvisor_queued_runs gauge" \
    "mailvisor_queue_length gauge" "mailvisor_queue_pending gauge" \
    "mailvisor_queue_delayed gauge" "mailvisor_dlq_length gauge" \
    "mailvisor_redis_connected gauge" "mailvisor_records_buffered gauge" \
    "mailvisor_records_dropped counter" "mailvisor_records_written counter" \
    "mailvisor_up gauge" "mailvisor_start_time_seconds gauge"; do
	grep -qx "family $f" "$TMP/samples" || fail "no family $f"
done
sample() {	# sample NAME{LABELS}: its value
	awk -v k="$1" '$1 == k { print $2 }' "$TMP/samples"
}
n=$(rcli HGET worker:stats:echo successful_executions)
expect_eq "$(sample 'mailvisor_runs_total{status=success,worker=echo}')" \
    "$n.0" "runs_total of echo"
expect_eq "$(sample 'mailvisor_run_duration_seconds_count{worker=echo}')" \
    "$n.0" "duration count of echo"
expect_eq "$(sample 'mailvisor_run_duration_seconds_bucket{le=+Inf,worker=echo}')" \
    "$n.0" "+Inf bucket of echo"
expect_eq "$(sample 'mailvisor_runs_total{status=revoked,worker=sleeper}')" \
    2.0 "revoked sleepers"
expect_eq "$(sample 'mailvisor_runs_total{status=failed,worker=broken}')" \
    2.0 "failed broken runs"
expect_eq "$(sample 'mailvisor_up{}')" 1.0 "up"
expect_eq "$(sample 'mailvisor_redis_connected{}')" 1.0 "redis_connected"
expect_eq "$(sample 'mailvisor_dlq_length{}')" 0.0 "dlq_length"
expect_eq "$(sample 'mailvisor_queue_length{queue=spam}')" 0.0 "spam length"
expect_eq "$(sample 'mailvisor_records_dropped_total{}')" 0.0 "dropped"
[ "$(sample 'mailvisor_records_written_total{}' | cut -d. -f1)" -ge "$n" ] ||
    fail "records_written"
start=$(sample 'mailvisor_start_time_seconds{}' | cut -d. -f1)
[ $(( $(date +%s) - start )) -lt 300 ] || fail "start_time $start"

# ---- monitor clear ----
req DELETE '/api/v1/workers/monitor/stats?worker_name=echo'
ok 200 "clear one"
expect_eq "$(jb '.cleared | join(",")')" echo "cleared one"
expect_eq "$(rcli EXISTS worker:stats:echo worker:history:echo)" 0 \
    "echo's keys"
req DELETE '/api/v1/workers/monitor/stats?worker_name=zed'
err 404 not_found "clear of an unknown worker"
req DELETE /api/v1/workers/monitor/stats
ok 200 "clear all"
expect_eq "$(jb '.cleared | join(",")')" tick,echo,sleeper,broken,email_sync \
    "cleared all"
expect_eq "$(rcli EXISTS worker:failures worker:stats:broken)" 0 \
    "failures and stats gone"

# ---- clients that leave before Redis answers; a reload ----
rcli CLIENT PAUSE 1500 >/dev/null
for p in /api/v1/workers/monitor/stats /api/v1/queues /metrics \
    '/api/v1/workers/monitor/failures?limit=3' /api/v1/jobs/nope; do
	curl -s -o /dev/null --max-time 0.3 -H @"$TMP/auth" "$URL$p" || :
done
sleep 2
req GET /api/v1/workers/monitor/stats
ok 200 "an answer after clients left"
kill -HUP "$MVD_PID"
wait_for 30 grep -q 'SIGHUP' "$TMP/mvd.log" || fail "no reload"
req GET /api/v1/workers/scheduler/status
ok 200 "status after a reload"
expect_eq "$(jb '.jobs | length')" 5 "jobs after a reload"
for p in /healthz /api/v1/daemon /metrics /; do
	CODE=$(curl -s -o /dev/null -D "$TMP/hdr" -I -H @"$TMP/auth" \
	    -w '%{http_code} %{size_download}' "$URL$p") || CODE=000
	expect_eq "$CODE" "200 0" "HEAD $p: status and body size"
	hdr Content-Type | grep -q . || fail "HEAD $p: no Content-Type"
done

# ---- Redis down: 503 where Redis is needed, the rest answers ----
stop_redis
wait_for 30 sh -c "curl -s $URL/healthz | jq -e '.redis == false'" ||
    fail "healthz still says Redis is up"
noauth GET /healthz
ok 200 "healthz without Redis"
expect_eq "$(jb .status)" degraded "healthz status without Redis"
req GET /api/v1/workers/monitor/stats
err 503 unavailable "monitor without Redis"
req POST /api/v1/workers/scheduler/tick/pause
err 503 unavailable "pause without Redis"
req GET /api/v1/queues
err 503 unavailable "queues without Redis"
req POST "/api/v1/jobs/$other/revoke"
err 503 unavailable "revoke without Redis"
req GET /api/v1/daemon
ok 200 "daemon without Redis"
expect_eq "$(jb .redis.connected)" false "daemon redis.connected"
req GET /metrics
[ "$CODE" = 200 ] || fail "metrics without Redis: HTTP $CODE"
grep -qx 'mailvisor_redis_connected 0' "$TMP/body" ||
    fail "redis_connected without Redis"
grep -q '^mailvisor_queue_length' "$TMP/body" &&
    fail "queue figures without Redis"

# ---- the token never appears in the daemon's output ----
grep -q 'http: GET /api/v1/daemon 200' "$TMP/mvd.log" ||
    fail "requests are not logged at debug level"
if grep -qF "$TOKEN" "$TMP/mvd.log" "$TMP/mvd.out"; then
	fail "the token appears in the daemon's output"
fi
if grep -qF "$wrong" "$TMP/mvd.log"; then
	fail "a wrong token appears in the daemon's output"
fi
# A clean stop, and nothing for a sanitizer to say (under make sanitize).
kill "$MVD_PID"
RC=0
wait "$MVD_PID" || RC=$?
MVD_PID=
expect_eq "$RC" 0 "the daemon's exit status"
if grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error' \
    "$TMP/mvd.log" "$TMP/second.err" >&2; then
	fail "a sanitizer report (above)"
fi
echo "API: every route, the token, bodies, queries and /metrics ok"
