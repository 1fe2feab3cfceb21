# Shared by the integration tests: a scratch directory, the Gmail API
# stand-in on a free loopback port, the worker pointed at it, assertions.
# Source it from a test: . "$MV_TOP/tests/integration/lib.sh"
set -eu

: "${MV_TOP:?MV_TOP must name the source tree}"
: "${MV_BUILD:?MV_BUILD must name the build directory}"
WORKER=$MV_BUILD/gmail-worker
STANDIN=$MV_TOP/tests/standin/gmail-standin
CREDS=$MV_TOP/tests/standin/credentials
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mv-test.XXXXXX")
STANDIN_PID=
STANDIN_PIDS=
MVD_PID=
REDIS_PID=

# stop_pid PID: SIGTERM to a child of this script and its end waited for;
# one still there 10 s later is said on stderr, asked for its threads'
# stacks (SIGUSR1: the HTTP stand-ins, which stop their server on SIGTERM,
# print them into $TMP/standin.err), and killed, so that a server stuck
# on its way out never hangs the test.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	(
		sleep 10
		kill -0 "$1" 2>/dev/null || exit 0
		echo "cleanup: pid $1 still running 10 s after SIGTERM:" \
		    "killed" >&2
		kill -USR1 "$1" 2>/dev/null && sleep 1
		[ -f "$TMP/standin.err" ] && tail -n 60 "$TMP/standin.err" >&2
		kill -9 "$1" 2>/dev/null
	) &
	w=$!
	wait "$1" 2>/dev/null || true
	kill "$w" 2>/dev/null || true
}

cleanup() {
	for p in $MVD_PID $REDIS_PID $STANDIN_PIDS; do
		stop_pid "$p"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# launch_standin PROGRAM [options...]: starts a stand-in on a free port,
# sets STANDIN_PID, STANDIN_URL and STANDIN_LOG (standin.log; a second
# stand-in of the test, standin-1.log, and so on).
launch_standin() {
	prog=$1
	shift
	sfx=$(echo $STANDIN_PIDS | wc -w)
	[ "$sfx" -gt 0 ] && sfx=-$sfx || sfx=
	STANDIN_LOG=$TMP/standin$sfx.log
	rm -f "$TMP/port"
	/usr/bin/python3 "$prog" --host 127.0.0.1 --port 0 \
	    --port-file "$TMP/port" --log "$STANDIN_LOG" --quiet "$@" \
	    2>"$TMP/standin.err" &
	STANDIN_PID=$!
	STANDIN_PIDS="$STANDIN_PIDS $STANDIN_PID"
	i=0
	while [ ! -s "$TMP/port" ]; do
		i=$((i + 1))
		[ $i -le 200 ] || fail "stand-in did not start: $(cat "$TMP/standin.err")"
		kill -0 "$STANDIN_PID" 2>/dev/null ||
		    fail "stand-in exited: $(cat "$TMP/standin.err")"
		sleep 0.05
	done
	STANDIN_URL=http://127.0.0.1:$(cat "$TMP/port")
}

# start_standin [stand-in options...]: the Gmail API stand-in (see
# launch_standin). Credentials files get copied 0600 into $TMP.
start_standin() {
	launch_standin "$STANDIN" "$@"
	mkdir -p "$TMP/creds"
	for f in "$CREDS"/*.json; do
		cp "$f" "$TMP/creds/"
	done
	chmod 600 "$TMP/creds"/*.json
	export GMAIL_API_BASE="$STANDIN_URL"
	export GMAIL_TOKEN_URI="$STANDIN_URL/token"
}

# start_imap_gmail [options...]: the Gmail-like IMAP stand-in
# (tests/standin/imap-gmail, launch_standin) on the sample mailbox, and
# $TMP/g.json, a credentials document for it (mode 600). gi ARGS...:
# imap-worker with that document; stdout in $TMP/out, stderr in $TMP/err,
# exit code in $RC; fails the test when the password or a sanitizer's
# report is printed.
IMAP_GMAIL_PW=pw-gmail-5150
start_imap_gmail() {
	launch_standin "$MV_TOP/tests/standin/imap-gmail" \
	    --mailbox "$MV_TOP/tests/standin/mailbox/alice@example.com" "$@"
	printf '{"type": "imap", "host": "127.0.0.1", "port": %s, "security": "none", "username": "alice@example.com", "password": "%s"}\n' \
	    "${STANDIN_URL##*:}" "$IMAP_GMAIL_PW" >"$TMP/g.json"
	chmod 600 "$TMP/g.json"
}
gi() {
	RC=0
	"$MV_BUILD/imap-worker" --credentials "@$TMP/g.json" --allow_plaintext \
	    "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
	! grep -q "$IMAP_GMAIL_PW" "$TMP/out" "$TMP/err" || fail "password printed"
	! grep -qE 'Sanitizer|runtime error' "$TMP/err" ||
	    fail "sanitizer: $(head -30 "$TMP/err")"
}

AIW=$MV_BUILD/ai-worker
AI_STANDIN=$MV_TOP/tests/standin/ai-standin
# A key only the tests know; it must never show in argv, stdout or stderr.
AI_KEY=sk-standin-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# start_ai_standin [options...]: the chat-completions stand-in, requiring
# $AI_KEY (in $TMP/ai.key, 0600); ai-worker pointed at it by its
# environment (AI_WORKER_API_BASE, AI_WORKER_MODEL).
start_ai_standin() {
	umask 077
	printf '%s\n' "$AI_KEY" >"$TMP/ai.key"
	launch_standin "$AI_STANDIN" --api-key-file "$TMP/ai.key" "$@"
	export AI_WORKER_API_BASE="$STANDIN_URL/v1"
	export AI_WORKER_MODEL=standin-model
}

# aw ARGS...: ai-worker with the key file; stdout in $TMP/out, stderr in
# $TMP/err, exit code in $RC. Never fails itself.
aw() {
	RC=0
	"$AIW" --api_key_file "$TMP/ai.key" "$@" >"$TMP/out" 2>"$TMP/err" ||
	    RC=$?
}

# gw ARGS...: the worker as alice (authorized_user), pacing off; stdout in
# $TMP/out, stderr in $TMP/err, exit code in $RC. Never fails itself.
gw() {
	RC=0
	"$WORKER" --credentials "@$TMP/creds/alice-authorized-user.json" \
	    --quota_units_per_sec 0 "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
}

# EMAIL_STRIP: a jq filter of a fetch_emails result to the EMAIL fields
# that the same messages share through gmail-worker and imap-worker, keyed
# by Message-ID (a message with two labels lies in two folders: once is
# enough). IMAP servers keep messages with CRLF line ends, the Gmail
# stand-in its files' LF: the decoded size of a text attachment differs by
# its line count, so only the sizes of the others are kept. gmail-worker
# reads format raw: the message's own bytes, which the stand-in's format
# full gives already decoded.
EMAIL_STRIP='[.emails[] | del(.id, .thread_id, .label_ids, .snippet,
    .history_id, .internal_date, .size_estimate, .too_large, .raw)
    | .attachments |= map(del(.attachment_id)
      | if (.mime_type | test("^(text|message)/")) then del(.size) else . end)]
    | unique_by(.message_id)'

# iw CREDFILE ARGS...: imap-worker with that credentials document (a path)
# and the test CA of tests/mailsrv.sh; stdout in $TMP/out, stderr in
# $TMP/err, exit code in $RC. Never fails itself.
IMAPW=$MV_BUILD/imap-worker
iw() {
	cred=$1
	shift
	RC=0
	"$IMAPW" --credentials "@$cred" --ca_file "$MAILSRV_CA" "$@" \
	    >"$TMP/out" 2>"$TMP/err" || RC=$?
}

# gw_as CREDFILE ARGS...: the same with other credentials.
gw_as() {
	cred=$1
	shift
	RC=0
	"$WORKER" --credentials "@$TMP/creds/$cred" --quota_units_per_sec 0 \
	    "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
}

# control METHOD PATH [JSON]: the stand-in's control API.
control() {
	if [ $# -ge 3 ]; then
		curl -sf -X "$1" -H 'Content-Type: application/json' \
		    --data "$3" "$STANDIN_URL$2"
	else
		curl -sf -X "$1" "$STANDIN_URL$2"
	fi
}

# faults JSON-RULES: installs fault rules, e.g. '[{"status":500,"count":2}]'.
faults() {
	control POST /_standin/faults "{\"rules\": $1}" >/dev/null
}

# jout FILTER: jq on the last stdout.
jout() {
	jq -r "$1" "$TMP/out"
}

# expect_rc N: the last run exited N.
expect_rc() {
	[ "$RC" -eq "$1" ] || fail "exit $RC, expected $1; stdout: $(head -c 600 "$TMP/out"); stderr: $(head -c 600 "$TMP/err")"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_error TYPE EXIT: the last run printed one error envelope.
expect_error() {
	expect_rc "$2"
	[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "stdout is not one line"
	expect_eq "$(jout .status)" error status
	expect_eq "$(jout .error.type)" "$1" error.type
}

# expect_ok: the last run succeeded with one success document.
expect_ok() {
	expect_rc 0
	expect_eq "$(jout .status)" success status
}

# log_count JQ-SELECT: requests in the stand-in's log matching a filter.
log_count() {
	jq -s "[.[] | select($1)] | length" "$STANDIN_LOG"
}

# log_last: the id of the latest entry in the stand-in's log (0: none).
log_last() {
	jq -s 'map(.id) | max // 0' "$STANDIN_LOG"
}

# log_count_after ID JQ-SELECT: log_count of the entries after ID.
log_count_after() {
	jq -s --argjson from "$1" \
	    "[.[] | select(.id > \$from) | select($2)] | length" "$STANDIN_LOG"
}

# no_secrets FILE...: nothing secret from the fixtures, nor the AI API key,
# leaks into FILE.
no_secrets() {
	for f in "$@"; do
		for s in $(jq -r '.. | objects | (.refresh_token?, .client_secret?, .access_token?) // empty' "$CREDS"/*.json); do
			if grep -qF -- "$s" "$f"; then
				fail "a secret from the credentials appears in $f"
			fi
		done
		if grep -q 'PRIVATE KEY' "$f"; then
			fail "a private key appears in $f"
		fi
		if grep -qF -- "$AI_KEY" "$f"; then
			fail "the AI API key appears in $f"
		fi
	done
}

# free_port: a TCP port free on 127.0.0.1 now (another program may take
# it before the caller binds it: callers that can, try again).
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis: a scratch redis-server on a unix socket in $TMP (its data
# kept in an append-only file there, so that a restart keeps it); sets
# REDIS_SOCK. Stopped by pid in cleanup; start_redis again restarts it.
start_redis() {
	mkdir -p "$TMP/redis"
	REDIS_SOCK=$TMP/redis/redis.sock
	redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
	    --dir "$TMP/redis" --save '' --appendonly yes \
	    --daemonize no --logfile "$TMP/redis/log" &
	REDIS_PID=$!
	i=0
	while ! redis-cli -s "$REDIS_SOCK" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 200 ] || fail "redis-server did not start: $(cat "$TMP/redis/log")"
		sleep 0.05
	done
}

stop_redis() {
	[ -n "$REDIS_PID" ] || return 0
	kill "$REDIS_PID" 2>/dev/null || true
	wait "$REDIS_PID" 2>/dev/null || true
	REDIS_PID=
}

rcli() {
	redis-cli -s "$REDIS_SOCK" "$@"
}

MVD=$MV_BUILD/mailvisord
TESTW=$MV_BUILD/tests/mv-test-worker

# start_mvd CONF [options]: the daemon in the background; its log in
# $TMP/mvd.log.
start_mvd() {
	conf=$1
	shift
	"$MVD" -c "$conf" "$@" >"$TMP/mvd.out" 2>"$TMP/mvd.log" &
	MVD_PID=$!
}

stop_mvd() {
	[ -n "$MVD_PID" ] || return 0
	kill "$MVD_PID" 2>/dev/null || true
	wait "$MVD_PID" 2>/dev/null || true
	MVD_PID=
}

# sanitizer_clean: fails with what a sanitizer build of the daemon said
# in $TMP/mvd.log, if anything.
sanitizer_clean() {
	! grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" ||
	    fail "sanitizer: $(grep -A20 -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" | head -30)"
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
	limit=$1
	shift
	end=$(( $(date +%s) + limit ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -le "$end" ] || return 1
		sleep 0.1
	done
}
