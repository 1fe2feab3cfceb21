# Shared by the gmail-worker benchmarks: a scratch directory $T, the Gmail
# API stand-in on a free loopback port (stopped by pid on exit), the
# credentials copied 0600 into $T, the worker pointed at it by URL.
# Source it after setting top; then start_standin [stand-in options...].
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT PIPE TERM

start_standin() {
	/usr/bin/python3 "$top/tests/standin/gmail-standin" --port 0 \
	    --port-file "$T/port" --quiet "$@" 2>"$T/standin.err" &
	PID=$!
	while [ ! -s "$T/port" ]; do sleep 0.1; done
	URL=http://127.0.0.1:$(cat "$T/port")
	for f in "$top"/tests/standin/credentials/*.json; do cp "$f" "$T/"; done
	chmod 600 "$T"/*.json
	export GMAIL_API_BASE="$URL" GMAIL_TOKEN_URI="$URL/token"
}
