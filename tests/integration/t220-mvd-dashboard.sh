# The dashboard at / in headless Chromium against a running mailvisord with
# real Redis: token form, live data, pause/resume/trigger/revoke clicks seen
# in the page and the API, a failure's hostile stderr shown as text, the
# dead letters listed, reprocessed and purged, readable charts, times with
# their zone, the loading state
# (tests/browser/dashboard.test.mjs does the browsing).
. "$MV_TOP/tests/integration/lib.sh"
BROWSER_DIR=$MV_TOP/tests/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# Missing tools fail the test: 'make deps' installs them.
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing: install Debian's chromium (make deps)"
command -v node >/dev/null || fail "node is missing: install nodejs (make deps)"
command -v npm >/dev/null || fail "npm is missing: install npm (it comes with nodejs 20 from NodeSource, or Debian's npm)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || fail "node $(node --version) is too old: playwright-core needs node 20 or later"

# playwright-core from the lock file, when node_modules is missing or older.
installed=$BROWSER_DIR/node_modules/.package-lock.json
if [ ! -f "$installed" ] ||
    [ -n "$(find "$BROWSER_DIR/package-lock.json" -newer "$installed")" ]; then
	(cd "$BROWSER_DIR" && npm ci --prefer-offline --no-audit --no-fund \
	    --loglevel=error) >"$TMP/npm.log" 2>&1 ||
	    fail "npm ci in tests/browser: $(tail -20 "$TMP/npm.log")"
fi

start_redis
od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$TMP/token"
chmod 600 "$TMP/token"
TOKEN=$(cat "$TMP/token")

# A worker whose stderr holds markup, then fails.
cat >"$TMP/hostile" <<SH
#!/bin/sh
printf '%s\n' 'line before' '<img src=x onerror="window.__mvPwned=1">' \
    '<b>bold</b> & <script>window.__mvPwned=2</script>' >&2
exec $TESTW fail
SH
chmod 755 "$TMP/hostile"


write_conf() {
	cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 4

[redis]
socket = $REDIS_SOCK

[http]
listen = 127.0.0.1:$PORT
token_file = $TMP/token

[queue:inbox]
priority = 5

[queue:dead]
max_retries = 0
share = 50

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null

[job:tick]
command = $TESTW ok
schedule = every 1s

[job:manual]
command = $TESTW ok

[job:sleeper]
command = $TESTW sleep
timeout = 300

[job:hostile]
command = $TMP/hostile
[stream:mail]
CONF
}

# The daemon on a free port (another program may take the port first:
# three tries).
tries=0
while :; do
	tries=$((tries + 1))
	PORT=$(free_port)
	BASE=http://127.0.0.1:$PORT
	write_conf
	start_mvd "$TMP/mvd.conf"
	wait_for 15 curl -sf "$BASE/healthz" && break
	kill -0 "$MVD_PID" 2>/dev/null &&
	    fail "mailvisord does not answer on $BASE: $(tail -20 "$TMP/mvd.log")"
	wait "$MVD_PID" 2>/dev/null || true
	MVD_PID=
	[ $tries -lt 3 ] || fail "mailvisord did not start: $(tail -20 "$TMP/mvd.log")"
done

api() {	# api METHOD PATH [BODY]
	if [ $# -ge 3 ]; then
		curl -sf -X "$1" -H "Authorization: Bearer $TOKEN" \
		    -H 'Content-Type: application/json' --data "$3" "$BASE$2"
	else
		curl -sf -X "$1" -H "Authorization: Bearer $TOKEN" "$BASE$2"
	fi
}

# Something to show: a failed run with stderr, a running job, a success,
# three dead letters: a run that failed, and two entries the daemon refuses
# with markup in their job name, user and reason.
api POST /api/v1/jobs/hostile/trigger '{}' >/dev/null || fail "trigger hostile"
api POST /api/v1/queues/dead/enqueue \
    '{"job":"hostile","tenant_id":"t1","user_id":"alice"}' >/dev/null ||
    fail "enqueue hostile"
redis-cli -s "$REDIS_SOCK" XADD mailvisor:queue:inbox '*' \
    job '<img src=x onerror="window.__mvPwned=3">' tenant_id t1 \
    user_id '<b>mallory</b>' >/dev/null || fail "XADD of a bad job"
redis-cli -s "$REDIS_SOCK" XADD mailvisor:queue:inbox '*' job manual \
    tenant_id t1 user_id alice \
    args '{"<img src=x onerror=window.__mvPwned=4>":1}' >/dev/null ||
    fail "XADD of bad args"
wait_for 20 sh -c "[ \$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq) -eq 3 ]" ||
    fail "not 3 dead letters: $(api GET /api/v1/dlq)"
api POST /api/v1/jobs/sleeper/trigger '{}' >/dev/null || fail "trigger sleeper"
wait_for 20 sh -c "curl -sf -H 'Authorization: Bearer $TOKEN' '$BASE/api/v1/workers/monitor/failures' |
    jq -e '[.failures[] | select(.worker == \"hostile\" and (.stderr_tail | test(\"<img\")))] | length > 0'" ||
    fail "no failure of hostile with its stderr: $(api GET /api/v1/workers/monitor/failures)"
wait_for 20 sh -c "curl -sf -H 'Authorization: Bearer $TOKEN' '$BASE/api/v1/jobs/active' |
    jq -e '[.jobs[] | select(.job == \"sleeper\")] | length == 1'" ||
    fail "sleeper is not running: $(api GET /api/v1/jobs/active)"
wait_for 20 sh -c "curl -sf -H 'Authorization: Bearer $TOKEN' '$BASE/api/v1/workers/monitor/stats?worker_name=tick' |
    jq -e '.workers.tick.successful_executions >= 1'" ||
    fail "tick never succeeded: $(tail -20 "$TMP/mvd.log")"

# A stream of three entries and an application's consumer group, with
# markup in its name, that has read one of them.
for i in 1 2 3; do
	redis-cli -s "$REDIS_SOCK" XADD mailvisor:stream:mail '*' data "{\"n\":$i}" \
	    >/dev/null || fail "XADD to the stream"
done
redis-cli -s "$REDIS_SOCK" XGROUP CREATE mailvisor:stream:mail \
    '<img src=x onerror="window.__mvPwned=5">' 0 >/dev/null &&
redis-cli -s "$REDIS_SOCK" XREADGROUP GROUP \
    '<img src=x onerror="window.__mvPwned=5">' c1 COUNT 1 \
    STREAMS mailvisor:stream:mail '>' >/dev/null || fail "the consumer group"
SHOTS=${MV_DASH_SHOTS:-$TMP/shots}
mkdir -p "$SHOTS"
RC=0
MV_DASH_URL=$BASE MV_DASH_TOKEN_FILE=$TMP/token MV_DASH_OUT=$SHOTS \
    MV_DASH_QUEUE=inbox MV_DASH_STREAM=mail MV_DASH_STREAM_LENGTH=3 \
    CHROMIUM=$CHROMIUM \
    node "$BROWSER_DIR/dashboard.test.mjs" >"$TMP/node.out" 2>&1 || RC=$?
cat "$TMP/node.out"
[ "$RC" -eq 0 ] || fail "the browser test failed (exit $RC); daemon log: $(tail -20 "$TMP/mvd.log")"
[ -s "$SHOTS/dashboard.png" ] || fail "no screenshot"

# The token never shows in the daemon's log or the test's output.
for f in "$TMP/mvd.log" "$TMP/mvd.out" "$TMP/node.out"; do
	grep -qF "$TOKEN" "$f" && fail "the token appears in $f"
done

# The daemon stops cleanly (under sanitizers: no leak, no error).
kill -TERM "$MVD_PID"
rc=0
wait "$MVD_PID" || rc=$?
MVD_PID=
[ "$rc" -eq 0 ] || fail "mailvisord exited $rc: $(tail -30 "$TMP/mvd.log")"
if grep -qE 'ERROR: AddressSanitizer|runtime error' "$TMP/mvd.log"; then
	fail "sanitizer: $(grep -A20 -E 'ERROR: AddressSanitizer|runtime error' "$TMP/mvd.log" | head -30)"
fi
exit 0
