#!/bin/sh
# imap-worker against a hostile server (tests/standin/imap-hostile): a
# server that stalls (at the greeting, in the middle of a body) is a
# timeout; a literal that lies about its size and an answer without end
# stop at the command's byte budget (error api, the server having sent a
# bounded amount); a message whose RFC822.SIZE passes --max_message_size
# is fetched by its header only; an answer that does not parse is api.
. "$MV_TOP/tests/integration/lib.sh"

HOSTILE=$MV_TOP/tests/standin/imap-hostile
hostile() {
	if [ -n "$STANDIN_PID" ]; then
		kill "$STANDIN_PID" 2>/dev/null || true
		wait "$STANDIN_PID" 2>/dev/null || true
		STANDIN_PID=
	fi
	rm -f "$TMP/standin.log"
	launch_standin "$HOSTILE" --mode "$1"
	printf '{"type": "imap", "host": "127.0.0.1", "port": %s, "security": "none", "username": "a@example.com", "password": "pw-hostile-4711"}\n' \
	    "${STANDIN_URL##*:}" >"$TMP/h.json"
	chmod 600 "$TMP/h.json"
}
hw() {
	RC=0
	"$IMAPW" --credentials "@$TMP/h.json" --allow_plaintext --timeout 2 \
	    "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
	! grep -q pw-hostile-4711 "$TMP/out" "$TMP/err" || fail "password printed"
}
# sent_max: the most bytes the server sent on one connection (after the
# worker closed it).
sent_max() {
	i=0
	until grep -q '"closed"' "$STANDIN_LOG" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "the server saw no connection close"
		sleep 0.05
	done
	jq -s '[.[] | select(.closed) | .sent] | max' "$STANDIN_LOG"
}

hostile stall-greeting
hw --action ping
expect_error timeout 75
expect_eq "$(jout .error.retryable)" true retryable

hostile stall-fetch
hw --action fetch_emails --days_back 0
expect_error timeout 75

hostile lying-literal
hw --action fetch_emails --days_back 0
expect_error api 69
expect_eq "$(jout .error.retryable)" false retryable
jout .error.message | grep -q 'larger than allowed' || fail "$(jout .error.message)"
sent=$(sent_max)
echo "t514: the server sent $sent bytes before the worker closed" >&2
[ "$sent" -lt $((16 * 1024 * 1024)) ] || fail "the worker read on: $sent bytes sent"

hostile endless-list
hw --action list_labels
expect_error api 69
sent=$(sent_max)
echo "t514: the server sent $sent bytes before the worker closed" >&2
[ "$sent" -lt $((64 * 1024 * 1024)) ] || fail "the worker read on: $sent bytes sent"

hostile huge-size
hw --action fetch_emails --days_back 0
expect_ok
expect_eq "$(jout '[.count, .emails[0].too_large, .emails[0].subject,
    .emails[0].body_text] | @json')" '[1,true,"hi",null]' "a message too large"
jq -r 'select(.command == "UID") | .line' "$STANDIN_LOG" | grep -q 'BODY.PEEK\[\]' &&
    fail "the whole body of a 3 GB message was asked for"
jq -r 'select(.command == "UID") | .line' "$STANDIN_LOG" |
    grep -q 'BODY.PEEK\[HEADER\]' || fail "no header FETCH"

hostile garbage
hw --action fetch_emails --days_back 0
expect_error api 69
echo "t514 ok"
