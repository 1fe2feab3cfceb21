# mailvisorctl against a running mailvisord with its HTTP API and a real
# Redis: every command, as text (aligned tables, escaped data) and as
# --json, with the exit status of each outcome; where the URL and token
# come from; a daemon reached over https through a proxy with a path
# prefix; answers that are not what a daemon sends; Redis and the daemon
# going away.
. "$MV_TOP/tests/integration/lib.sh"
CTL=$MV_BUILD/mailvisorctl
PY=/usr/bin/python3
unset MAILVISOR_URL MAILVISOR_TOKEN MAILVISOR_TOKEN_FILE http_proxy \
    https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
AUX_PIDS=
# shellcheck disable=SC2154
trap 'for p in $AUX_PIDS; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT

[ -x "$CTL" ] || fail "no executable $CTL (build it first)"
start_redis
# ticker must never fire while the test runs: once a day, twelve hours
# from now.
TICK_HOUR=$(( ($(date -u +%-H) + 12) % 24 ))

# Workers: one that prints its argv, one that fails with an escape
# sequence in its error type and on stderr.
cat >"$TMP/args.sh" <<'SH'
#!/bin/sh
printf '{"status":"success","action":"args","argv":['
sep=
for a in "$@"; do printf '%s"%s"' "$sep" "$a"; sep=,; done
printf ']}\n'
SH
cat >"$TMP/bad.sh" <<'SH'
#!/bin/sh
printf '\033[2Jscreen cleared\n' >&2
printf '{"status":"error","action":"bad","error":{"type":"\\u001b[31mred","message":"denied","retryable":false}}\n'
exit 1
SH
chmod 755 "$TMP/args.sh" "$TMP/bad.sh"

TOKEN=t210-token-0123456789abcdef
printf '%s\n' "$TOKEN" >"$TMP/token"
printf 'another-token-0123456789\n' >"$TMP/wrong-token"
chmod 600 "$TMP/token" "$TMP/wrong-token"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 2
log_level = info

[redis]
socket = $REDIS_SOCK

[http]
listen = 127.0.0.1:$PORT
token_file = $TMP/token

[job:email_sync]
command = $TMP/args.sh --account={account} --days={lookback_days}
	--full={full_sync}
args = lookback_days:int(0..3650)=1, full_sync:bool=false
for_each_account = yes

[job:echo]
command = $TMP/args.sh --days={days} --label={label}
args = days:int(0..30)=1, label:string(20)="x"

[job:ticker]
command = $TESTW ok
schedule = 0 $TICK_HOUR * * *

[job:bad]
command = $TMP/bad.sh

[job:slow]
command = $TESTW sleep
timeout = 120

[account:alice]
tenant_id = t1
user_id = alice
credentials = /dev/null

[account:bob]
tenant_id = t1
user_id = bob
credentials = /dev/null
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"
start_mvd "$TMP/mvd.conf"
wait_for 30 "$CTL" -c /dev/null --url "$URL" --token-file "$TMP/token" -q \
    inspect ping ||
    fail "the API did not come up: $(tail -5 "$TMP/mvd.log")"

# ctl ARGS...: mailvisorctl with the daemon's URL and token from the
# environment; stdout in $TMP/out, stderr in $TMP/err, exit status in $RC.
ctl() {
	RC=0
	MAILVISOR_URL=$URL MAILVISOR_TOKEN_FILE=$TMP/token "$CTL" "$@" \
	    >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
	no_token
}
# no_token: the token is in neither the output nor the errors.
no_token() {
	! grep -q "$TOKEN" "$TMP/out" "$TMP/err" ||
	    fail "the token was printed: $(cat "$TMP/err")"
}
# bare ARGS...: the same with nothing from the environment, nor from a
# default configuration file that this host may have (a later -c wins).
bare() {
	RC=0
	"$CTL" -c /dev/null "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
	no_token
}
# expect_err TEXT: one "mailvisorctl: ..." line on stderr saying TEXT,
# nothing on stdout.
expect_err() {
	grep -q "^mailvisorctl: .*$1" "$TMP/err" ||
	    fail "stderr '$(head -c 400 "$TMP/err")' does not say '$1'"
	[ ! -s "$TMP/out" ] || fail "an error, yet stdout: $(head -c 200 "$TMP/out")"
}
# expect_ok0: exit 0, nothing on stderr.
expect_ok0() {
	expect_rc 0
	[ ! -s "$TMP/err" ] || fail "stderr: $(head -c 400 "$TMP/err")"
}
# head_is WORDS: the first line, its blanks squeezed.
head_is() {
	expect_eq "$(head -1 "$TMP/out" | tr -s ' ')" "$1" "table header"
}
# aligned N: in the first N lines of stdout, each column starts where its
# header does (headers are separated by two blanks or more).
aligned() {
	head -n "$1" "$TMP/out" | awk '
	NR == 1 {
		n = 0
		for (i = 1; i <= length($0); i++)
			if (substr($0, i, 1) != " " &&
			    (i == 1 || substr($0, i - 2, 2) == "  "))
				pos[++n] = i
		next
	}
	{
		for (k = 2; k <= n; k++)
			if (substr($0, pos[k] - 1, 1) != " " ||
			    substr($0, pos[k], 1) == " ") {
				print "line " NR ", column " k ": " $0
				exit 1
			}
	}' >"$TMP/align" || fail "columns not aligned: $(cat "$TMP/align")"
}
# row FIELD1: the line of stdout whose first field is FIELD1.
row() {
	awk -v k="$1" '$1 == k' "$TMP/out"
}
# no_raw_controls: no escape byte, C1 control or other C0 control (tab
# aside) reached stdout.
no_raw_controls() {
	if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$TMP/out" ||
	    LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$TMP/out"; then
		fail "control characters on stdout: $(od -c "$TMP/out" | head -5)"
	fi
}
# done_record JOB_ID: waits for the run's record; its JSON in $TMP/rec.
done_record() {
	wait_for 15 sh -c "MAILVISOR_URL=$URL MAILVISOR_TOKEN_FILE=$TMP/token \
	    '$CTL' --json job '$1' >'$TMP/rec' && jq -e '.state == \"done\"' \
	    '$TMP/rec'" || fail "no record of run $1: $(cat "$TMP/rec"; tail -3 "$TMP/mvd.log")"
}

# --- inspect ping: a check for monitoring, with the token ----------------
ctl inspect ping
expect_ok0
grep -Eq '^mailvisord [0-9.]+: ok, pid '"$MVD_PID"', up [0-9]+ s, Redis connected$' "$TMP/out" ||
    fail "inspect ping: $(cat "$TMP/out")"
ctl --json inspect ping
expect_ok0
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 1 "--json: one line"
expect_eq "$(jout '(.pid|tostring) + " " + (.redis.connected|tostring)')" "$MVD_PID true" "--json inspect ping"
ctl -q inspect ping
expect_ok0
[ ! -s "$TMP/out" ] || fail "-q printed: $(cat "$TMP/out")"
bare --url "$URL" inspect ping
expect_rc 77
expect_err "no token was sent"
bare --url "$URL" --token-file "$TMP/wrong-token" inspect ping
expect_rc 77
expect_err "wrong token"

# --- a group without its subcommand: its subcommands, usage error -------
for g in scheduler monitor inspect dlq sync; do
	ctl "$g"
	expect_rc 64
	grep -q "^mailvisorctl: $g: a subcommand is needed; one of:" "$TMP/err" ||
	    fail "$g alone: $(cat "$TMP/err")"
	[ ! -s "$TMP/out" ] || fail "$g alone: stdout $(cat "$TMP/out")"
done
ctl scheduler
expect_eq "$(grep -c '^  scheduler ' "$TMP/err")" 4 "scheduler's subcommands"
ctl scheduler stop
expect_rc 64
grep -q "^mailvisorctl: scheduler: unknown subcommand" "$TMP/err" ||
    fail "scheduler stop: $(cat "$TMP/err")"

# --- --json prints the daemon's numbers as it wrote them ----------------
rcli HSET worker:stats:bad total_executions 1 total_duration 0.003 \
    average_duration 0.003 >/dev/null
ctl --json monitor stats bad
expect_ok0
grep -qF '"average_duration":0.003,' "$TMP/out" ||
    fail "--json re-wrote a number: $(cat "$TMP/out")"
rcli DEL worker:stats:bad >/dev/null

# --- where the URL and the token come from ----------------------------
bare --url "$URL" scheduler status
expect_rc 77
expect_err "no token was sent"
bare --url "$URL" --token-file "$TMP/wrong-token" scheduler status
expect_rc 77
bare --url "$URL" --token-file "$TMP/token" scheduler status
expect_ok0
RC=0
MAILVISOR_TOKEN=$TOKEN "$CTL" --url "$URL" scheduler status >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok0
RC=0	# the flag before the environment
MAILVISOR_TOKEN=$TOKEN "$CTL" --url "$URL" --token-file "$TMP/wrong-token" \
    queues >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_rc 77
RC=0	# MAILVISOR_TOKEN before MAILVISOR_TOKEN_FILE
MAILVISOR_TOKEN=$TOKEN MAILVISOR_TOKEN_FILE=$TMP/wrong-token "$CTL" \
    --url "$URL" queues >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok0
RC=0	# --url before MAILVISOR_URL
MAILVISOR_URL=http://127.0.0.1:1 MAILVISOR_TOKEN_FILE=$TMP/token "$CTL" \
    --url "$URL/" queues >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_ok0
# The daemon's configuration file gives both.
bare -c "$TMP/mvd.conf" --json inspect stats
expect_ok0
expect_eq "$(jout .pid)" "$MVD_PID" "-c: inspect stats pid"
# ... but not what the flags give.
bare -c "$TMP/mvd.conf" --token-file "$TMP/wrong-token" queues
expect_rc 77
sed "s/^listen = .*/listen = 0.0.0.0:$PORT/" "$TMP/mvd.conf" >"$TMP/wild.conf"
bare -c "$TMP/wild.conf" -q queues
expect_ok0
printf '[http]\nlisten = 127.0.0.1:%s\ntoken_file = %s\nbogus = 1\n' "$PORT" \
    "$TMP/token" >"$TMP/broken.conf"
bare -c "$TMP/broken.conf" queues
expect_rc 78
expect_err "$TMP/broken.conf:4: "
printf '[mailvisord]\n' >"$TMP/noapi.conf"
bare -c "$TMP/noapi.conf" queues
expect_rc 64
expect_err "has no \[http\] listen"
bare -c "$TMP/none.conf" queues
expect_rc 78
expect_err "cannot read $TMP/none.conf: No such file"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	cp "$TMP/mvd.conf" "$TMP/private.conf"
	chmod 600 "$TMP/private.conf"
	chmod 711 "$TMP"
	RC=0
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" \
	    -c "$TMP/private.conf" queues >"$TMP/out" 2>"$TMP/err" || RC=$?
	chmod 700 "$TMP"
	expect_rc 78
	expect_err "cannot read $TMP/private.conf: Permission denied"
fi
bare --url "$URL" --token-file "$TMP/no-such-token" queues
expect_rc 66
expect_err "token file $TMP/no-such-token: No such file"
printf 'short\n' >"$TMP/short-token"
bare --url "$URL" --token-file "$TMP/short-token" queues
expect_rc 78
expect_err "not one line of 16 to 1024"
RC=0
MAILVISOR_TOKEN='with blanks in the token' "$CTL" --url "$URL" queues \
    >"$TMP/out" 2>"$TMP/err" || RC=$?
expect_rc 78
if [ ! -e /etc/mailvisor/mailvisord.conf ]; then
	RC=0
	"$CTL" queues >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
	expect_rc 64
	expect_err "no daemon URL"
fi
bare queues
expect_rc 64
expect_err "/dev/null has no \[http\] listen"
grep -q "$TOKEN" "$TMP/mvd.log" && fail "the token is in the daemon's log"

# --- scheduler ----------------------------------------------------------
ctl scheduler status
expect_ok0
head_is "JOB SCHEDULE NEXT RUN STATE RUNNING"
aligned 6
expect_eq "$(row ticker | awk '{ print $2, $3, $4, $5, $6, $8, $9 }')" "0 $TICK_HOUR * * * active 0" "ticker's row"
row ticker | grep -Eq ' [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z ' ||
    fail "ticker's next run: $(row ticker)"
expect_eq "$(row echo | awk '{ print $2, $3, $4 }')" "- - unscheduled" "echo's row"
expect_eq "$(tail -1 "$TMP/out")" "0 running, at most 2 at once" "status footer"
ctl --json scheduler status
expect_ok0
expect_eq "$(jout '[.jobs[].name] | sort | join(",")')" "bad,echo,email_sync,slow,ticker" "--json jobs"
ctl scheduler pause ticker
expect_ok0
expect_eq "$(cat "$TMP/out")" "ticker: paused" "pause"
ctl scheduler status
expect_eq "$(row ticker | awk '{ print $7, $8 }')" "- paused" "paused ticker's row"
ctl inspect scheduled
expect_ok0
expect_eq "$(cat "$TMP/out")" "nothing scheduled" "inspect scheduled, paused"
ctl --json scheduler resume ticker
expect_ok0
expect_eq "$(jout '.job + " " + (.paused|tostring)')" "ticker false" "--json resume"
ctl inspect scheduled
expect_ok0
head_is "NEXT RUN JOB SCHEDULE"
expect_eq "$(sed -n 2p "$TMP/out" | awk '{ print $2, $3, $4, $5, $6, $7 }')" "ticker 0 $TICK_HOUR * * *" "inspect scheduled"
ctl scheduler remove ticker
expect_ok0
expect_eq "$(cat "$TMP/out")" "ticker: removed from the schedule" "remove"
ctl scheduler status
expect_eq "$(row ticker | awk '{ print $8 }')" "removed" "removed ticker's state"
ctl scheduler resume ticker
expect_eq "$(cat "$TMP/out")" "ticker: resumed" "resume"
ctl scheduler status
expect_eq "$(row ticker | awk '{ print $8 }')" "active" "resumed ticker's state"
ctl scheduler pause nosuchjob
expect_rc 65
expect_err "nosuchjob"

# --- trigger and job ---------------------------------------------------
ctl trigger echo --arg days=3 --arg label=hello
expect_ok0
expect_eq "$(head -1 "$TMP/out")" "echo: 1 run queued" "trigger"
id=$(sed -n 2p "$TMP/out" | tr -d ' ')
[ -n "$id" ] || fail "trigger printed no id: $(cat "$TMP/out")"
done_record "$id"
expect_eq "$(jq -r '.record.status + " " + (.record.result.argv | join(" "))' "$TMP/rec")" \
    "success --days=3 --label=hello" "the triggered run"
ctl job "$id"
expect_ok0
expect_eq "$(row state | awk '{ print $2 }')" "done" "job: state"
expect_eq "$(row record.status | awk '{ print $2 }')" success "job: record.status"
expect_eq "$(row record.worker | awk '{ print $2 }')" echo "job: record.worker"
ctl --json trigger echo --arg label:='"007"' --arg days=0
expect_ok0
id2=$(jout '.job_ids[0]')
done_record "$id2"
expect_eq "$(jq -r '.record.result.argv | join(" ")' "$TMP/rec")" "--days=0 --label=007" "K:=JSON"
ctl trigger echo --arg nope=1
expect_rc 64
expect_err "nope"
ctl trigger echo --arg days=many
expect_rc 64
ctl trigger nosuchjob
expect_rc 65
ctl trigger email_sync --account nobody
expect_rc 65
ctl job no-such-run-id
expect_rc 65
expect_err "no-such-run-id"
ctl -q job no-such-run-id
expect_rc 65
expect_err "no-such-run-id"

# --- sync --------------------------------------------------------------
ctl sync user alice --full --lookback-days 30
expect_ok0
expect_eq "$(head -1 "$TMP/out")" "email_sync: 1 run queued" "sync user"
done_record "$(sed -n 2p "$TMP/out" | tr -d ' ')"
expect_eq "$(jq -r '.record.result.argv | join(" ")' "$TMP/rec")" \
    "--account=alice --days=30 --full=true" "sync user's run"
ctl --json sync all
expect_ok0
expect_eq "$(jout '.job + " " + (.job_ids | length | tostring)')" "email_sync 2" "sync all"
for i in 0 1; do
	done_record "$(jout ".job_ids[$i]")"
	cp "$TMP/out" "$TMP/out.keep"
	jq -r '.record.result.argv | join(" ")' "$TMP/rec" >>"$TMP/sync-all"
	cp "$TMP/out.keep" "$TMP/out"
done
expect_eq "$(sort "$TMP/sync-all" | tr '\n' '|')" \
    "--account=alice --days=1 --full=false|--account=bob --days=1 --full=false|" "sync all's runs"
ctl sync user nobody
expect_rc 65

# --- enqueue ------------------------------------------------------------
ctl enqueue echo --tenant t1 --user alice --arg days=2 --queue sync
expect_ok0
grep -Eq '^enqueued on sync: [0-9]+-[0-9]+$' "$TMP/out" ||
    fail "enqueue: $(cat "$TMP/out")"
eid=$(awk '{ print $4 }' "$TMP/out")
done_record "$eid"
expect_eq "$(jq -r '.record.result.argv | join(" ")' "$TMP/rec")" "--days=2 --label=x" "enqueued run"
for i in 1 2; do
	ctl --json enqueue echo --tenant t1 --user bob --idempotency-key k-210
	expect_ok0
	jout .id >>"$TMP/idem-ids"
done
while read -r e; do
	done_record "$e"
	jq -r .record.status "$TMP/rec" >>"$TMP/idem-status"
done <"$TMP/idem-ids"
expect_eq "$(sort "$TMP/idem-status" | tr '\n' ' ')" "skipped success " "one run for one key"
ctl enqueue echo --tenant t1 --user alice --queue nosuchqueue
expect_rc 65
ctl enqueue nosuchjob --tenant t1 --user alice
expect_rc 64
ctl enqueue echo --tenant t9 --user mallory
expect_rc 64

# --- monitor --------------------------------------------------------------
ctl trigger bad
expect_ok0
done_record "$(sed -n 2p "$TMP/out" | tr -d ' ')"
ctl monitor stats
expect_ok0
head_is "WORKER TOTAL OK FAILED AVG(s) LAST STATUS"
aligned 6
total=$(rcli HGET worker:stats:echo total_executions)
ok=$(rcli HGET worker:stats:echo successful_executions)
failed=$(rcli HGET worker:stats:echo failed_executions)
failed=${failed:-0}
last=$(rcli HGET worker:stats:echo last_status)
expect_eq "$(row echo | awk '{ print $2, $3, $4, $7 }')" "$total $ok $failed $last" "stats of echo"
row echo | grep -Eq ' [0-9]+\.[0-9]{2} +[0-9-]{10}T[0-9:]{8}Z ' ||
    fail "stats of echo: $(row echo)"
expect_eq "$(row bad | awk '{ print $2, $3, $4, $7 }')" "1 0 1 failed" "stats of bad"
expect_eq "$(row ticker | awk '{ print $2, $6 }')" "0 -" "stats of ticker"
ctl monitor stats echo
expect_ok0
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 2 "monitor stats echo: lines"
ctl --json monitor stats echo
expect_eq "$(jout '.workers.echo.total_executions')" "$total" "--json stats"
ctl monitor stats nosuchworker
expect_rc 65
ctl monitor history echo --limit 2
expect_ok0
head_is "STARTED STATUS DURATION(s) ATTEMPT EXIT JOB ID"
aligned 3
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 3 "history --limit 2: lines"
expect_eq "$(sed -n '2,3p' "$TMP/out" | awk '{ print $2, $4, $5, $6 }')" \
    "$(rcli LRANGE worker:history:echo 0 1 | jq -r '"\(.status) \(.attempt) \(.exit_code // "-") \(.job_id)"')" \
    "history rows"
ctl --json monitor history echo
expect_eq "$(jout '.worker + " " + (.history | length | tostring)')" "echo $(rcli LLEN worker:history:echo)" "--json history"
ctl monitor history echo --limit 101
expect_rc 64
ctl monitor history bad
expect_ok0
expect_eq "$(sed -n 2p "$TMP/out" | awk '{ print $2, $5 }')" "failed 1" "bad's history"
ctl monitor failures --hours 1 --limit 5
expect_ok0
no_raw_controls
head_is "TIME WORKER STATUS REASON"
expect_eq "$(row "$(sed -n 2p "$TMP/out" | awk '{ print $1 }')" | awk '{ print $2, $3 }')" "bad failed" "failures row"
# The daemon itself cleans the worker's error type into the reason (the
# escape character becomes a space); control characters in other data are
# escaped by mailvisorctl (the dead letters below).
grep -qF 'exit 1:  [31mred: denied' "$TMP/out" ||
    fail "failures: the reason is not cleaned as expected: $(cat "$TMP/out")"
ctl --json monitor failures
expect_eq "$(jout '.failures[0].worker')" bad "--json failures"
no_raw_controls
ctl monitor clear echo
expect_ok0
expect_eq "$(cat "$TMP/out")" "cleared: echo" "monitor clear echo"
expect_eq "$(rcli EXISTS worker:stats:echo worker:history:echo)" 0 "echo's keys"
ctl monitor clear
expect_ok0
grep -q '^cleared: .*bad' "$TMP/out" || fail "monitor clear: $(cat "$TMP/out")"
ctl monitor failures
expect_eq "$(cat "$TMP/out")" "no failures" "failures after clear"

# --- active runs, revoke, queues, purge ----------------------------------
ctl trigger slow
expect_ok0
s1=$(sed -n 2p "$TMP/out" | tr -d ' ')
ctl trigger slow
s2=$(sed -n 2p "$TMP/out" | tr -d ' ')
wait_for 30 sh -c "MAILVISOR_URL=$URL MAILVISOR_TOKEN_FILE=$TMP/token '$CTL' --json inspect active | jq -e '.jobs | length == 2'" ||
    fail "the slow runs did not start"
ctl inspect active
expect_ok0
head_is "JOB ID JOB ACCOUNT PID STARTED RUNNING(s) ATTEMPT QUEUE"
aligned 3
expect_eq "$(row "$s1" | awk '{ print $2, $3, $7, $8 }')" "slow - 1 -" "active row"
pid=$(row "$s1" | awk '{ print $4 }')
kill -0 "$pid" || fail "inspect active: pid $pid is not running"
# Both slots taken: queued entries wait in the stream.
for i in 1 2 3; do
	ctl -q enqueue echo --tenant t1 --user alice --queue send
	expect_ok0
done
ctl enqueue echo --tenant t1 --user alice --queue send
expect_ok0
qid=$(sed 's/^enqueued on send: //' "$TMP/out")
ctl revoke "$qid"
expect_ok0
expect_eq "$(cat "$TMP/out")" "revoked $qid: queued: it will be skipped" \
    "revoke of a queued entry"
# Again: still queued (the same answer), or already acted on (a daemon
# checks the entries it reads ahead of its slots): then it has finished.
ctl --json revoke "$qid"
if [ "$RC" -eq 0 ]; then
	expect_eq "$(jout .outcome)" skipped "--json revoke of a queued entry"
else
	expect_rc 65
	expect_err "has finished"
fi
sleep 1
ctl queues
expect_ok0
head_is "QUEUE PRIO LENGTH PENDING DELAYED"
n=$(awk 'NR > 1 && $1 != "dead" { c++ } END { print c }' "$TMP/out")
aligned $((n + 1))
# Waiting: in the stream unread (LENGTH), or read ahead of the slots by
# the daemon (PENDING: both its slots run the slow job, of another queue).
send_len=$(row send | awk '{ print $3 }')
send_pending=$(row send | awk '{ print $4 }')
[ $((send_len + send_pending)) -ge 3 ] ||
    fail "queues: send has $send_len + $send_pending waiting: $(cat "$TMP/out")"
expect_eq "$(row sync | awk '{ print $2 }')" 10 "sync's priority"
grep -Eq '^dead letters: [0-9]+, delayed retries: [0-9]+$' "$TMP/out" ||
    fail "queues: no DLQ line: $(cat "$TMP/out")"
ctl --json queues
expect_eq "$(jout '.queues[] | select(.name == "send") | .length')" "$send_len" "--json queues"
# Purge deletes the stream's entries, those delivered to a daemon
# included.
xlen=$(rcli XLEN mailvisor:queue:send)
[ "$xlen" -ge $((send_len + send_pending)) ] ||
    fail "XLEN $xlen < LENGTH $send_len + PENDING $send_pending"
ctl purge send
expect_ok0
expect_eq "$(cat "$TMP/out")" "send: $xlen $( [ "$xlen" -eq 1 ] && echo entry || echo entries) removed" "purge"
ctl purge nosuchqueue
expect_rc 65
ctl revoke "$s1"
expect_ok0
expect_eq "$(cat "$TMP/out")" "revoked $s1: killed here" "revoke"
ctl --json revoke "$s2"
expect_ok0
expect_eq "$(jout '.job_id + " " + (.running_here|tostring)')" "$s2 true" "--json revoke"
done_record "$s1"
expect_eq "$(jq -r .record.status "$TMP/rec")" revoked "revoked run's record"
ctl revoke "$s1"
expect_rc 65
expect_err "has finished"
# (An entry of send delivered before the purge may still run: wait.)
wait_for 30 sh -c "MAILVISOR_URL=$URL MAILVISOR_TOKEN_FILE=$TMP/token '$CTL' --json inspect active | jq -e '.jobs | length == 0'" ||
    fail "runs still going after the revokes"
ctl inspect active
expect_ok0
grep -q '^no job running on ' "$TMP/out" || fail "inspect active: $(cat "$TMP/out")"
ctl revoke never-ran-anywhere
expect_rc 65
expect_err "never-ran-anywhere"

# --- inspect stats ----------------------------------------------------------
ctl inspect stats
expect_ok0
expect_eq "$(row pid | awk '{ print $2 }')" "$MVD_PID" "inspect stats: pid"
expect_eq "$(row redis.connected | awk '{ print $2 }')" true "inspect stats: redis"
row records.written | grep -Eq '^records.written +[0-9]+$' ||
    fail "inspect stats: $(cat "$TMP/out")"

# --- the dead letters --------------------------------------------------------
rcli XADD mailvisor:queue:sync '*' job "$(printf '\033[2Jevil\302\233')" \
    tenant_id t1 user_id alice >/dev/null
rcli XADD mailvisor:queue:sync '*' job echo args '{"days":"many"}' \
    tenant_id t1 user_id alice >/dev/null
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 2 ]" ||
    fail "dead letters: $(rcli XLEN mailvisor:dlq)"
ctl dlq peek
expect_ok0
no_raw_controls
head_is "DLQ ID AT QUEUE JOB ATTEMPTS REASON"
aligned 3
expect_eq "$(wc -l <"$TMP/out" | tr -d ' ')" 3 "dlq peek: lines"
grep -qF '\x1b[2Jevil\u009b' "$TMP/out" ||
    fail "dlq peek: the job name is not escaped: $(cat "$TMP/out")"
ctl --json dlq peek --count 1
expect_ok0
no_raw_controls
expect_eq "$(jout '.entries | length')" 1 "--count 1"
first=$(jout '.entries[0].dlq_id')
ctl --json dlq peek --start "$first"
expect_eq "$(jout '.entries[0].dlq_id')" "$first" "--start"
ctl dlq reprocess "$first"
expect_ok0
expect_eq "$(cat "$TMP/out")" "reprocessed 1 dead letter" "dlq reprocess ID"
ctl dlq reprocess 1-1
expect_rc 65
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 2 ]" ||
    fail "the reprocessed entry did not die again"
ctl dlq reprocess --all
expect_ok0
grep -Eq '^reprocessed [0-9]+ dead letters?$' "$TMP/out" || fail "--all: $(cat "$TMP/out")"
wait_for 30 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK XLEN mailvisor:dlq)\" -ge 2 ]" ||
    fail "the reprocessed entries did not die again"
ctl dlq purge
expect_ok0
grep -Eq '^purged [0-9]+ dead letters?$' "$TMP/out" || fail "dlq purge: $(cat "$TMP/out")"
ctl dlq peek
expect_eq "$(cat "$TMP/out")" "no dead letters" "dlq peek, empty"
ctl --json dlq purge
expect_eq "$(jout .purged)" 0 "--json dlq purge, empty"

# --- https through a proxy, and answers no daemon gives ---------------------
cat >"$TMP/aux.py" <<'PY'
import http.client, http.server, os, ssl, sys

mode, portfile = sys.argv[1], sys.argv[2]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def proxy(self, body):
        if not self.path.startswith("/mv/"):
            return self.reply(404, b'{"error":{"type":"not_found",'
                              b'"message":"outside /mv"}}')
        c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[3]))
        keep = ("authorization", "content-type", "accept")
        hdrs = {k: v for k, v in self.headers.items() if k.lower() in keep}
        c.request(self.command, self.path[3:], body=body, headers=hdrs)
        r = c.getresponse()
        self.reply(r.status, r.read(), r.getheader("Content-Type"))

    def odd(self):
        p = self.path.split("/")[1]
        if p == "html":
            return self.reply(200, b"<html>hello</html>", "text/html")
        if p == "array":
            return self.reply(200, b"[1, 2]")
        if p == "e500":
            return self.reply(500, b'{"error":{"type":"internal",'
                              b'"message":"it broke"}}')
        if p == "e502":
            return self.reply(502, b"<html>bad gateway</html>", "text/html")
        if p == "e403":
            return self.reply(403, b'{"error":{"type":"unauthorized",'
                              b'"message":"not you"}}')
        if p == "redirect":
            return self.reply(302, b"", extra=[("Location",
                                                "http://127.0.0.1:1/x")])
        if p == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(17 << 20))
            self.end_headers()
            try:
                for _ in range(17 * 16):
                    self.wfile.write(b" " * 65536)
            except OSError:
                pass
            return
        self.reply(404, b"{}")

    def any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if mode == "proxy":
            self.proxy(body)
        else:
            self.odd()

    do_GET = do_POST = do_DELETE = any


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
if mode == "proxy":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
$PY - "$TMP/cert.pem" "$TMP/key.pem" <<'PY'
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()))
PY
# start_aux NAME ARGS...: the helper in the background; its port in $AUX.
start_aux() {
	name=$1
	shift
	$PY "$TMP/aux.py" "$name" "$TMP/$name.port" "$@" 2>"$TMP/$name.err" &
	AUX_PIDS="$AUX_PIDS $!"
	wait_for 30 test -s "$TMP/$name.port" ||
	    fail "$name helper: $(cat "$TMP/$name.err")"
	AUX=$(cat "$TMP/$name.port")
}
start_aux proxy "$PORT" "$TMP/cert.pem" "$TMP/key.pem"
HTTPS=https://127.0.0.1:$AUX/mv
bare --url "$HTTPS" --cacert "$TMP/cert.pem" --token-file "$TMP/token" \
    scheduler status
expect_ok0
head_is "JOB SCHEDULE NEXT RUN STATE RUNNING"
bare --url "$HTTPS/" --cacert "$TMP/cert.pem" --token-file "$TMP/token" \
    --json trigger echo --arg days=4
expect_ok0
done_record "$(jout '.job_ids[0]')"
expect_eq "$(jq -r '.record.result.argv[0]' "$TMP/rec")" "--days=4" "a trigger over https"
bare --url "$HTTPS" --token-file "$TMP/token" queues
expect_rc 69
expect_err "cannot reach the daemon at $HTTPS"
bare --url "$HTTPS" --cacert "$TMP/cert.pem" queues
expect_rc 77
bare --url "https://127.0.0.1:$AUX/elsewhere" --cacert "$TMP/cert.pem" queues
expect_rc 65
expect_err "outside /mv"
bare --url "https://127.0.0.1:$PORT" inspect ping
expect_rc 69

start_aux odd
for c in "html 70 not a JSON object" "array 70 not a JSON object" \
    "e500 70 it broke" "e502 70 HTTP 502 without an error message" \
    "e403 77 not you" \
    "redirect 70 redirects are not followed" "huge 70 larger than 16777216"; do
	# shellcheck disable=SC2086
	set -- $c
	what=$1
	want=$2
	shift 2
	bare --url "http://127.0.0.1:$AUX/$what" inspect ping
	expect_rc "$want"
	expect_err "$*"
done
# A listener that never answers: the timeout.
$PY -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(30)' "$TMP/mute.port" &
AUX_PIDS="$AUX_PIDS $!"
wait_for 30 test -s "$TMP/mute.port" || fail "no mute listener"
start=$(date +%s)
bare --url "http://127.0.0.1:$(cat "$TMP/mute.port")" --timeout 1 inspect ping
expect_rc 75
expect_err "no answer within 1 s"
[ $(( $(date +%s) - start )) -le 5 ] || fail "--timeout 1 took too long"

# --- a sync argument the job does not declare: an error ----------------
sed 's/^args = lookback_days:int(0..3650)=1, full_sync:bool=false$/args = full_sync:bool=false/' \
    "$TMP/mvd.conf" >"$TMP/mvd.conf.new"
sed -i 's/--days={lookback_days}//' "$TMP/mvd.conf.new"
mv "$TMP/mvd.conf.new" "$TMP/mvd.conf"
kill -HUP "$MVD_PID"
wait_for 30 grep -q 'SIGHUP' "$TMP/mvd.log" || fail "no reload"
wait_for 30 sh -c "MAILVISOR_URL=$URL MAILVISOR_TOKEN_FILE=$TMP/token '$CTL' sync user alice --lookback-days 2 2>&1 | grep -q 'no argument'" ||
    fail "the reload did not take: $(tail -3 "$TMP/mvd.log")"
ctl sync user alice --lookback-days 2
expect_rc 64
expect_err "job email_sync has no argument lookback_days (its arguments: full_sync)"
ctl sync all --full
expect_ok0

# --- Redis down: 503, and ping fails; the daemon gone: unreachable ---------
stop_redis
wait_for 30 sh -c "! MAILVISOR_URL=$URL MAILVISOR_TOKEN_FILE=$TMP/token '$CTL' -q inspect ping 2>/dev/null"
ctl inspect ping
expect_rc 69
grep -q ': degraded, .*Redis not connected$' "$TMP/out" || fail "inspect ping: $(cat "$TMP/out")"
grep -q '^mailvisorctl: the daemon is up but not connected to Redis' "$TMP/err" ||
    fail "inspect ping: $(cat "$TMP/err")"
ctl --json inspect ping
expect_rc 69
expect_eq "$(jout .redis.connected)" false "--json inspect ping without Redis"
ctl scheduler pause ticker
expect_rc 69
ctl monitor stats
expect_rc 69
stop_mvd
ctl inspect ping
expect_rc 69
expect_err "cannot reach the daemon at $URL"
grep -q "$TOKEN" "$TMP/mvd.log" && fail "the token is in the daemon's log"
echo "every mailvisorctl command against a daemon: outputs and exit statuses ok"
