#!/bin/sh
# make demo: the main job on this machine alone. A private redis-server, the
# Gmail API stand-in with its sample mailboxes (alice, bob and carol at
# example.com), and mailvisord syncing every account every 5 seconds, its
# HTTP API and dashboard on a free loopback port; a sync job emitting each
# change into the stream "mail", and a job consuming it with the example
# processor examples/mail-summary and a triage job asking the
# OpenAI-compatible stand-in about each new message with ai-worker,
# emitting into the stream "triage" (the dashboard's Streams panel shows
# the groups' lag go to 0); mailvisorctl ai thread on one thread; then
# mailvisorctl monitor stats and streams. When Dovecot is installed, an
# IMAP account too (tests/mailsrv.sh with the sample mailbox), synced by
# imap-worker into the same stream. Runs until Ctrl-C, or for DEMO_SECONDS
# seconds when that is set (then it fails if a run failed or a dead letter
# was left); everything it started is stopped by pid and its directory
# removed.
#
#   tests/demo.sh [BUILD]
set -eu

build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${DEMO_SECONDS:-0}
case $seconds in
'' | *[!0-9]*)
	echo "demo: DEMO_SECONDS must be a number of seconds" >&2
	exit 64
	;;
esac
for p in gmail-worker ai-worker mailvisord mailvisorctl; do
	[ -x "$build/$p" ] || {
		echo "demo: $build/$p is missing (make)" >&2
		exit 69
	}
done

T=$(mktemp -d "${TMPDIR:-/tmp}/mailvisor-demo.XXXXXX")
MVD_PID=
STANDIN_PID=
AI_PID=
REDIS_PID=

# stop PID: SIGTERM, then SIGKILL after 10 s.
stop() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null || :
}

cleanup() {
	trap - EXIT INT TERM HUP
	stop "$MVD_PID"
	stop "$STANDIN_PID"
	stop "$AI_PID"
	stop "$REDIS_PID"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT
trap 'exit 1' TERM HUP

die() {
	echo "demo: $*" >&2
	exit 1
}

ctl() {
	echo "\$ mailvisorctl $*"
	"$build/mailvisorctl" -c "$T/mailvisord.conf" "$@"
}

# A free loopback TCP port (the daemon refuses port 0 in its file).
free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# The Redis server: a unix socket in $T/redis, no TCP port.
mkdir -m 700 "$T/redis"
r=$("$top/tests/redis.sh" "$T/redis") || die "redis-server did not start"
REDIS_SOCK=${r% *}
REDIS_PID=${r#* }

# The Gmail API stand-in with the sample mailboxes.
/usr/bin/python3 "$top/tests/standin/gmail-standin" --port 0 \
    --port-file "$T/standin.port" --quiet 2>"$T/standin.log" &
STANDIN_PID=$!
i=0
while [ ! -s "$T/standin.port" ]; do
	i=$((i + 1))
	[ $i -le 200 ] && kill -0 "$STANDIN_PID" 2>/dev/null ||
	    die "the stand-in did not start: $(cat "$T/standin.log")"
	sleep 0.05
done
GMAIL=http://127.0.0.1:$(cat "$T/standin.port")

# The OpenAI-compatible stand-in: deterministic answers from the mail, a
# key required (in a file, mode 0600, as ai-worker wants it).
(umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$T/ai.key")
/usr/bin/python3 "$top/tests/standin/ai-standin" --port 0 \
    --port-file "$T/ai.port" --api-key-file "$T/ai.key" --quiet \
    2>"$T/ai-standin.log" &
AI_PID=$!
i=0
while [ ! -s "$T/ai.port" ]; do
	i=$((i + 1))
	[ $i -le 200 ] && kill -0 "$AI_PID" 2>/dev/null ||
	    die "the AI stand-in did not start: $(cat "$T/ai-standin.log")"
	sleep 0.05
done
AI=http://127.0.0.1:$(cat "$T/ai.port")
# mailvisor-ai (the ai_thread job) finds the workers and the stand-ins
# through these, which the job passes on (env).
export GMAIL_WORKER="$build/gmail-worker" AI_WORKER="$build/ai-worker"
export GMAIL_API_BASE="$GMAIL" GMAIL_TOKEN_URI="$GMAIL/token"
export AI_WORKER_API_BASE="$AI/v1" AI_WORKER_MODEL=standin-model

# Each account's credentials, mode 0600 as the worker wants them.
mkdir -m 700 "$T/credentials"
for u in alice bob carol; do
	cp "$top/tests/standin/credentials/$u-authorized-user.json" \
	    "$T/credentials/$u.json"
	chmod 600 "$T/credentials/$u.json"
done

# IMAP: when Dovecot is installed, tests/mailsrv.sh's Dovecot with the
# sample mailbox, and an account of provider imap synced by imap-worker
# into the stream mail beside the Gmail sync; else left out.
IMAP_CONF=
IMAP_JOBS=
if command -v dovecot >/dev/null 2>&1 && [ -x "$build/imap-worker" ]; then
	MV_TOP=$top
	. "$top/tests/mailsrv.sh"
	mailsrv_start "$T/mail"
	mailsrv_deliver_samples >/dev/null
	IMAP_JOBS=imap_sync
	IMAP_CONF="
# The IMAP account: only the jobs of provider imap (and those without a
# provider) run for it.
[job:imap_sync]
command = $build/imap-worker --action sync --cursor={cursor}
	--credentials {credentials} --ca_file $MAILSRV_CA
schedule = every 5s
for_each_account = yes
provider = imap
cursor = yes
emit = mail
memory_limit = 256m
timeout = 60

[account:alice-imap]
provider = imap
tenant_id = example
user_id = alice-imap
credentials = $MAILSRV_CREDS_IMAPS
"
fi

# mailvisord: the daemon writes its configuration check and log to
# $T/mailvisord.log; the API's port is picked again if it was taken.
write_conf() {
	cat >"$T/mailvisord.conf" <<EOF
# The demo's configuration: see packaging/mailvisord.conf for every
# directive and mailvisord.conf(5) for their meaning.
[mailvisord]
max_children = 4

[redis]
socket = $REDIS_SOCK

[http]
listen = 127.0.0.1:$HTTP_PORT

[job:email_sync]
command = $build/gmail-worker --action fetch_emails --days_back {days_back}
	--credentials {credentials} --user_email {user_email}
	--api_base $GMAIL --token_uri $GMAIL/token --quota_units_per_sec 0
args = days_back:int(0..365)=3
schedule = every 5s
for_each_account = yes
provider = gmail
memory_limit = 256m
timeout = 60
max_retries = 2

# The pipeline: each change of each mailbox into the stream "mail", and
# one run of the example processor per change (its line on stdin).
[job:sync]
command = $build/gmail-worker --action sync --cursor={cursor}
	--credentials {credentials} --user_email {user_email}
	--api_base $GMAIL --token_uri $GMAIL/token --quota_units_per_sec 0
schedule = every 5s
for_each_account = yes
provider = gmail
cursor = yes
emit = mail
memory_limit = 256m
timeout = 60

[job:summary]
command = $top/examples/mail-summary
consume = mail
max_retries = 2
timeout = 30

# An AI stage: each new message classified and summarized by ai-worker
# (deleted and relabelled messages are answered "skipped" at once), its
# result line emitted into the stream "triage" for the application (in
# ndjson, the last line, ai-worker's summary, is the run's result).
[job:triage]
command = $build/ai-worker --action process --tasks classify,summarize
	--output ndjson --api_base $AI/v1 --model standin-model
	--api_key_file $T/ai.key
consume = mail
emit = triage
max_retries = 2
timeout = 60

# On demand: mailvisorctl ai thread --account A --thread-id T.
[job:ai_thread]
command = $top/ai-worker/mailvisor-ai --credentials {credentials}
	--thread_id {thread_id} --api_key_file $T/ai.key
args = thread_id:string(256)=
env = PATH GMAIL_WORKER AI_WORKER GMAIL_API_BASE GMAIL_TOKEN_URI
	AI_WORKER_API_BASE AI_WORKER_MODEL
timeout = 60

[stream:mail]
maxlen = 10000

[stream:triage]
maxlen = 10000

[account:alice]
tenant_id = example
user_id = alice
user_email = alice@example.com
credentials = $T/credentials/alice.json

[account:bob]
tenant_id = example
user_id = bob
user_email = bob@example.com
credentials = $T/credentials/bob.json

[account:carol]
tenant_id = example
user_id = carol
user_email = carol@example.com
credentials = $T/credentials/carol.json
$IMAP_CONF
EOF
}

tries=0
while :; do
	HTTP_PORT=$(free_port)
	API=http://127.0.0.1:$HTTP_PORT
	write_conf
	"$build/mailvisord" -n -c "$T/mailvisord.conf" >/dev/null 2>"$T/check" ||
	    die "the configuration is refused: $(cat "$T/check")"
	"$build/mailvisord" -c "$T/mailvisord.conf" 2>"$T/mailvisord.log" &
	MVD_PID=$!
	i=0
	while [ $i -lt 100 ] && kill -0 "$MVD_PID" 2>/dev/null &&
	    ! curl -sf -o /dev/null "$API/healthz"; do
		i=$((i + 1))
		sleep 0.1
	done
	curl -sf -o /dev/null "$API/healthz" && break
	stop "$MVD_PID"
	MVD_PID=
	tries=$((tries + 1))
	[ $tries -lt 3 ] ||
	    die "mailvisord did not start: $(tail -n 5 "$T/mailvisord.log")"
done

cat <<EOF
Mailvisor demo in $T (removed on exit)
  redis-server        pid $REDIS_PID, socket redis/redis.sock
  Gmail API stand-in  pid $STANDIN_PID, $GMAIL
                      mailboxes alice@, bob@ and carol@example.com
  mailvisord          pid $MVD_PID, mailvisord.conf, log in mailvisord.log
                      job email_sync: gmail-worker --action fetch_emails
                      for each account every 5 seconds
                      job sync: gmail-worker --action sync, each change
                      into the stream mail; job summary consumes it
                      (examples/mail-summary, one run per change)
                      job triage: ai-worker on each change of mail, its
                      results into the stream triage
  AI stand-in         pid $AI_PID, $AI (OpenAI-compatible)
EOF
if [ -n "$IMAP_JOBS" ]; then
	cat <<EOF
  Dovecot (IMAP)      pid $MAILSRV_PID, IMAPS 127.0.0.1:$MAILSRV_IMAPS_PORT,
                      the samples in alice@example.com's mailbox
                      job imap_sync: imap-worker --action sync for the
                      account alice-imap (provider imap) into the stream mail
EOF
else
	echo "  Dovecot not installed: the IMAP account is left out"
fi
echo

runs() {
	n=$(redis-cli -s "$REDIS_SOCK" HGET worker:stats:email_sync \
	    total_executions)
	echo "${n:-0}"
}

# Wait until each account has been synced once.
i=0
while [ "$(runs)" -lt 3 ]; do
	i=$((i + 1))
	[ $i -le 300 ] || die "no runs after 30 s: $(tail -n 5 "$T/mailvisord.log")"
	kill -0 "$MVD_PID" 2>/dev/null ||
	    die "mailvisord exited: $(tail -n 5 "$T/mailvisord.log")"
	sleep 0.1
done

# The newest run: its record, and what the worker fetched.
id=$(redis-cli -s "$REDIS_SOCK" LINDEX worker:history:email_sync 0 | jq -r .job_id)
echo "\$ redis-cli GET worker:metrics:email_sync:$id | jq ..."
redis-cli -s "$REDIS_SOCK" GET "worker:metrics:email_sync:$id" | jq '
    {status, worker, job_id, account, duration, exit_code, max_rss_kb,
     result: (.result | {status, user_email, count,
       emails: [.emails[:3][] | {from: .from.email, subject}]})}'
echo

# The pipeline: every change of the first syncs processed, the summary
# and triage groups' lag at 0.
lag() {
	curl -sf "$API/api/v1/streams" | jq -r --arg g "$1" '[.streams[] |
	    select(.name == "mail") | .groups[] | select(.name == $g) |
	    .lag + .pending][0] // -1'
}
i=0
while [ "$(redis-cli -s "$REDIS_SOCK" XLEN mailvisor:stream:mail)" -eq 0 ] ||
    [ "$(lag summary)" != 0 ] || [ "$(lag triage)" != 0 ]; do
	i=$((i + 1))
	[ $i -le 600 ] || die "the summary job did not catch up: $(tail -n 5 "$T/mailvisord.log")"
	sleep 0.1
done
id=$(redis-cli -s "$REDIS_SOCK" LINDEX worker:history:summary 0 | jq -r .job_id)
echo "\$ redis-cli GET worker:metrics:summary:$id | jq ..."
redis-cli -s "$REDIS_SOCK" GET "worker:metrics:summary:$id" | jq -c \
    '{status, stream, entries, keys, result}'
echo
echo "\$ mailvisorctl stream tail triage -n 2 | jq ..."
"$build/mailvisorctl" -c "$T/mailvisord.conf" stream tail triage -n 2 |
    jq -c '{thread_id, message_ids, category, summary, skipped}'
echo

# On demand: the AI job on one of alice's threads.
tid=$("$build/gmail-worker" --credentials "@$T/credentials/alice.json" \
    --api_base "$GMAIL" --token_uri "$GMAIL/token" --quota_units_per_sec 0 \
    --action fetch_emails --days_back 0 --max_results 1 |
    jq -r '.emails[0].thread_id')
echo "\$ mailvisorctl --json ai thread --account alice --thread-id $tid"
"$build/mailvisorctl" -c "$T/mailvisord.conf" --json ai thread \
    --account alice --thread-id "$tid" | tee "$T/ai.out"
echo
id=$(jq -r '.job_ids[0]' "$T/ai.out")
i=0
until redis-cli -s "$REDIS_SOCK" EXISTS "worker:metrics:ai_thread:$id" |
    grep -q 1; do
	i=$((i + 1))
	[ $i -le 600 ] || die "no record of ai_thread $id: $(tail -n 5 "$T/mailvisord.log")"
	sleep 0.1
done
echo "\$ redis-cli GET worker:metrics:ai_thread:$id | jq ..."
redis-cli -s "$REDIS_SOCK" GET "worker:metrics:ai_thread:$id" | jq -c \
    '{status, result: (.result | {thread_id, category, summary, usage})}'
echo
ctl streams
echo
ctl scheduler status
echo
ctl monitor stats
cat <<EOF

Dashboard:  $API/
API:        curl -s $API/api/v1/workers/monitor/stats | jq .
Control:    $build/mailvisorctl -c $T/mailvisord.conf monitor history email_sync

EOF
if [ "$seconds" -gt 0 ]; then
	echo "Running for $seconds seconds (DEMO_SECONDS); Ctrl-C stops it sooner."
else
	echo "Running until Ctrl-C (DEMO_SECONDS=N make demo stops after N seconds)."
fi

# A line of figures every 10 seconds until the time is up.
start=$(date +%s)
next=$((start + 10))
while :; do
	now=$(date +%s)
	[ "$seconds" -gt 0 ] && [ $((now - start)) -ge "$seconds" ] && break
	kill -0 "$MVD_PID" 2>/dev/null ||
	    die "mailvisord exited: $(tail -n 5 "$T/mailvisord.log")"
	if [ "$now" -ge "$next" ]; then
		next=$((now + 10))
		curl -sf "$API/api/v1/workers/monitor/stats" | jq -r '
		    .workers.email_sync | "\(now | strftime("%H:%M:%S")) email_sync: " +
		    "\(.total_executions // 0) runs, " +
		    "\(.successful_executions // 0) ok, " +
		    "\(.failed_executions // 0) failed, " +
		    "average \((.average_duration // 0) * 1000 | floor) ms"' || :
		curl -sf "$API/api/v1/streams" | jq -r '.streams[] |
		    select(.name == "mail") | "         stream mail: " +
		    "\(.length) entries, " + ([.groups[] | "group \(.name) " +
		    "lag \(.lag) pending \(.pending)"] | join(", "))' || :
	fi
	sleep 1
done
echo
ctl monitor stats

# A bounded demo (DEMO_SECONDS, as CI runs it) is also a check: every run
# succeeded.
if [ "$seconds" -gt 0 ]; then
	for job in email_sync sync summary triage ai_thread $IMAP_JOBS; do
		failed=$(redis-cli -s "$REDIS_SOCK" HGET "worker:stats:$job" \
		    failed_executions)
		[ "${failed:-0}" -eq 0 ] || die "$job: ${failed} runs failed:
$(redis-cli -s "$REDIS_SOCK" ZRANGE worker:failures 0 2 |
		    jq -c '{worker, status, reason, exit_code, error: .result.error}')"
	done
	dead=$(redis-cli -s "$REDIS_SOCK" XLEN mailvisor:dlq)
	[ "${dead:-0}" -eq 0 ] || die "$dead dead letters"
fi
