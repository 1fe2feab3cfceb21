#!/bin/sh
# mailvisord with a Gmail account (the stand-in) and an IMAP account
# (Dovecot of tests/mailsrv.sh) side by side: the Gmail sync job and the
# IMAP sync job (imap-worker --action sync, a cursor each, both emitting
# into mail, for_each_account) each run for the accounts of their provider
# only, triggered or queued; a run for another provider's account is
# refused (400 from the API, a dead letter with the reason when queued);
# the IMAP changes made with doveadm reach the stream with their keys, the
# cursor is stored and moves; a consumer of mail sees every entry once; a
# queued sync and a queued send_email (received by the submission server)
# of the IMAP account run.
. "$MV_TOP/tests/integration/lib.sh"
. "$MV_TOP/tests/mailsrv.sh"

start_redis
start_standin
mailsrv_start "$TMP/mail"
mailsrv_smtp_start "$TMP/mail"
mailsrv_deliver_samples
A=alice@example.com
U=$MAILSRV_USER
CTL=$MV_BUILD/mailvisorctl
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
TOKEN=t519-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
umask 077
printf '%s\n' "$TOKEN" >"$TMP/token"
mkdir -p "$TMP/seen"

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 4

[redis]
socket = $REDIS_SOCK

[http]
listen = 127.0.0.1:$PORT
token_file = $TMP/token
sync_job = imap_sync

[job:sync]
command = $WORKER --action sync --cursor={cursor} --lookback_days 0
    --credentials {credentials} --user_email {user_email}
    --api-base $STANDIN_URL --token-uri $STANDIN_URL/token
    --quota_units_per_sec 0 --max_wait 2
provider = gmail
cursor = yes
emit = mail
for_each_account = yes
timeout = 60
# No RLIMIT_DATA: a sanitizer build of the worker reserves terabytes.
memory_limit = 0

[job:imap_sync]
command = $IMAPW --action sync --cursor={cursor} --lookback_days 0
    --credentials {credentials} --ca_file $MAILSRV_CA
provider = imap
cursor = yes
emit = mail
for_each_account = yes
timeout = 60
memory_limit = 0

[job:imap_send]
command = $IMAPW --action send_email --to={to} --subject={subject}
    --body={body} --credentials {credentials} --ca_file $MAILSRV_CA
args = to:string(200), subject:string(200)=hello, body:string(1000)=hi
provider = imap
timeout = 60
memory_limit = 0

[job:seen]
command = $TESTW consume $TMP/seen
consume = mail

[account:alice]
tenant_id = t1
user_id = alice
user_email = $A
credentials = $TMP/creds/alice-authorized-user.json

[account:box]
provider = imap
tenant_id = t2
user_id = box
credentials = $MAILSRV_CREDS_IMAPS
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null 2>"$TMP/check" ||
    fail "configuration refused: $(cat "$TMP/check")"
start_mvd "$TMP/mvd.conf"
wait_for 10 curl -sf "$URL/healthz" ||
    fail "no API: $(tail -5 "$TMP/mvd.log")"

# api METHOD PATH [JSON]: the answer in $TMP/api, the status in $CODE.
api() {
	CODE=$(curl -s -o "$TMP/api" -w '%{http_code}' -X "$1" \
	    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    ${3:+--data "$3"} "$URL$2")
}
ctl() {
	RC=0
	MAILVISOR_URL=$URL MAILVISOR_TOKEN_FILE=$TMP/token "$CTL" "$@" \
	    >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
}
okruns() {	# okruns JOB: its successful runs so far
	v=$(rcli HGET "worker:stats:$1" successful_executions)
	echo "${v:-0}"
}
wait_runs() {	# wait_runs JOB N: until JOB has N successful runs
	wait_for 60 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:$1 successful_executions)\" = $2 ]" ||
	    fail "$1: $(okruns "$1") runs, not $2: $(rcli LRANGE "worker:history:$1" 0 0 | head -c 600) $(tail -5 "$TMP/mvd.log")"
}
entries() {	# entries FROM: the stream's entries after FROM, fields by name
	rcli --json XRANGE mailvisor:stream:mail "($1" + |
	    jq -c '.[] | .[1] | . as $f | [range(0; length; 2)] |
	    map({($f[.]): $f[. + 1]}) | add'
}
last_id() {
	rcli --json XREVRANGE mailvisor:stream:mail + - COUNT 1 | jq -r '.[0][0] // "0-0"'
}

# ---- each job for its provider's accounts ----
api POST /api/v1/jobs/imap_sync/trigger
expect_eq "$CODE $(jq -c '.job_ids | length' "$TMP/api")" "202 1" "imap_sync trigger"
api POST /api/v1/jobs/sync/trigger
expect_eq "$CODE $(jq -c '.job_ids | length' "$TMP/api")" "202 1" "sync trigger"
wait_runs imap_sync 1
wait_runs sync 1
rcli LRANGE worker:history:imap_sync 0 -1 | jq -r .account | sort -u >"$TMP/who"
expect_eq "$(cat "$TMP/who")" box "accounts of imap_sync"
rcli LRANGE worker:history:sync 0 -1 | jq -r .account | sort -u >"$TMP/who"
expect_eq "$(cat "$TMP/who")" alice "accounts of sync"
entries 0-0 >"$TMP/e0"
jq -e -s 'all(if .job == "imap_sync" then .account == "box" and
    .tenant_id == "t2" and .user_id == "box" else .job == "sync" and
    .account == "alice" end)' "$TMP/e0" >/dev/null ||
    fail "entries of another account: $(head -c 600 "$TMP/e0")"
id=$(rcli LRANGE worker:history:imap_sync 0 0 | jq -r .job_id)
rcli GET "worker:metrics:imap_sync:$id" >"$TMP/rec"
jq -e '.result.full_sync == true and .result.added > 0' "$TMP/rec" >/dev/null ||
    fail "imap full sync: $(head -c 600 "$TMP/rec")"
expect_eq "$(jq -s '[.[] | select(.job == "imap_sync")] | length' "$TMP/e0")" \
    "$(jq .result.added "$TMP/rec")" "imap entries of the full sync"
cur=$(rcli GET mailvisor:cursor:imap_sync:box)
expect_eq "$cur" "$(jq -r .result.cursor "$TMP/rec")" "imap cursor stored"
expect_eq "$(rcli EXISTS mailvisor:cursor:imap_sync:alice mailvisor:cursor:sync:box)" 0 \
    "cursors of another provider"

api GET /api/v1/workers/scheduler/status
expect_eq "$(jq -r '[.jobs[] | "\(.name)=\(.provider)"] | join(" ")' "$TMP/api")" \
    "sync=gmail imap_sync=imap imap_send=imap seen=null" "providers of the jobs"

# Refused for another provider's account: trigger, sync trigger, enqueue.
api POST /api/v1/jobs/imap_sync/trigger '{"account":"alice"}'
expect_eq "$CODE $(jq -r .error.type "$TMP/api")" "400 invalid_argument" "imap_sync for alice"
jq -r .error.message "$TMP/api" | grep -q 'runs for imap accounts' ||
    fail "message: $(cat "$TMP/api")"
api POST /api/v1/jobs/sync/trigger '{"account":"box"}'
expect_eq "$CODE" 400 "sync for box"
api POST /api/v1/workers/sync/trigger '{"provider":"gmail"}'
expect_eq "$CODE" 400 "sync trigger of gmail with an imap sync_job"
api POST /api/v1/workers/sync/trigger '{"provider":"imap","account":"alice"}'
expect_eq "$CODE" 400 "sync trigger of imap for a gmail account"
api POST /api/v1/workers/sync/trigger '{"provider":"outlook"}'
expect_eq "$CODE" 400 "sync trigger of an unknown provider"
ctl enqueue sync --tenant t2 --user box --queue sync
[ "$RC" -ne 0 ] || fail "enqueue of sync for box accepted: $(cat "$TMP/out")"
grep -q 'runs for gmail accounts' "$TMP/err" || fail "enqueue refusal: $(cat "$TMP/err")"
# Written to the queue behind the API's back: a dead letter, never run.
rcli XADD mailvisor:queue:sync '*' job sync args '{}' tenant_id t2 user_id box >/dev/null
wait_for 30 sh -c "redis-cli -s $REDIS_SOCK XRANGE mailvisor:dlq - + | grep -q 'runs for gmail accounts; account .box. is imap'" ||
    fail "no dead letter: $(rcli XRANGE mailvisor:dlq - + | head -30)"
expect_eq "$(okruns sync)" 1 "sync runs after the refusals"

# ---- IMAP changes behind the daemon's back reach the stream ----
uv=$(mailsrv_doveadm -f flow mailbox status -u "$U" uidvalidity INBOX |
    sed 's/.*uidvalidity=//')
first=$(mailsrv_doveadm -f flow search -u "$U" mailbox INBOX all |
    head -n 1 | sed 's/.* //')
second=$(mailsrv_doveadm -f flow search -u "$U" mailbox INBOX all |
    sed -n 2p | sed 's/.* //')
mailsrv_doveadm expunge -u "$U" mailbox INBOX uid "$first"
mailsrv_doveadm flags add -u "$U" '\Flagged' mailbox INBOX uid "$second"
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml"
mark=$(last_id)
api POST /api/v1/workers/sync/trigger '{"provider":"imap"}'
expect_eq "$CODE $(jq -c '.job_ids | length' "$TMP/api")" "202 1" "sync trigger of imap"
wait_runs imap_sync 2
entries "$mark" >"$TMP/e1"
jq -r '.data | fromjson | .change' "$TMP/e1" | sort | tr '\n' ' ' >"$TMP/got"
expect_eq "$(cat "$TMP/got")" "added deleted labels " "imap changes"
expect_eq "$(jq -r 'select(.data | fromjson | .change == "deleted") | .data | fromjson | .id' "$TMP/e1")" \
    "INBOX/$uv/$first" "deleted id"
expect_eq "$(jq -r 'select(.data | fromjson | .change == "labels") | .data | fromjson | .id' "$TMP/e1")" \
    "INBOX/$uv/$second" "labels id"
jq -e -s 'all((.data | fromjson) as $d | .account == "box" and
    (.key | startswith("box:\($d.change):\($d.id):")))' "$TMP/e1" >/dev/null ||
    fail "keys: $(jq -r .key "$TMP/e1")"
cur2=$(rcli GET mailvisor:cursor:imap_sync:box)
[ -n "$cur2" ] && [ "$cur2" != "$cur" ] || fail "cursor did not move: $cur -> $cur2"

# ---- queued sync of the IMAP account ----
mailsrv_deliver "$MV_TOP/tests/standin/mailbox/alice@example.com/01-plain-ascii.eml" Work
mark=$(last_id)
ctl enqueue imap_sync --tenant t2 --user box --queue sync
expect_eq "$RC" 0 "enqueue imap_sync: $(cat "$TMP/err")"
wait_runs imap_sync 3
expect_eq "$(entries "$mark" | jq -r '.data | fromjson | "\(.change) \(.id | split("/") | .[0])"')" \
    "added Work" "queued sync's change"
[ "$(rcli GET mailvisor:cursor:imap_sync:box)" != "$cur2" ] ||
    fail "cursor did not move with the queued sync"

# ---- the consumer saw every entry once ----
n=$(rcli XLEN mailvisor:stream:mail)
wait_runs seen "$n"
expect_eq "$(ls "$TMP/seen" | grep -c '^in\.')" "$n" "consumer runs"
rcli --json XRANGE mailvisor:stream:mail - + | jq -r '.[] | .[1] as $f |
    [range(0; $f | length; 2)] | map(select($f[.] == "data") | $f[. + 1]) | .[0]' |
    sort >"$TMP/want"
for f in "$TMP"/seen/in.*; do cat "$f"; echo; done | sort >"$TMP/got"
cmp -s "$TMP/want" "$TMP/got" || fail "the consumer saw other entries"

# ---- queued send through the IMAP account's SMTP server ----
ctl enqueue imap_send --tenant t2 --user box --arg to=bob@example.com \
    --arg subject=t519 --queue send
expect_eq "$RC" 0 "enqueue imap_send: $(cat "$TMP/err")"
wait_runs imap_send 1
wait_for 10 sh -c "ls $MAILSRV_SMTP_OUT/*.json" || fail "nothing received"
f=$(ls "$MAILSRV_SMTP_OUT"/*.json | tail -n 1)
expect_eq "$(jq -c '[.mail_from, .rcpt_tos]' "$f")" "[\"$U\",[\"bob@example.com\"]]" "envelope"
grep -q '^Subject: t519' "${f%.json}.eml" || fail "subject: $(grep Subject "${f%.json}.eml")"
ctl enqueue imap_send --tenant t1 --user alice --arg to=bob@example.com --queue send
[ "$RC" -ne 0 ] || fail "imap_send for alice accepted"

stop_mvd
sanitizer_clean

# ---- sync_job naming a job per provider ----
sed 's/^sync_job = imap_sync$/sync_job = sync imap_sync/' "$TMP/mvd.conf" \
    >"$TMP/both.conf"
mv "$TMP/mvd.log" "$TMP/mvd1.log"
start_mvd "$TMP/both.conf"
wait_for 10 curl -sf "$URL/healthz" ||
    fail "no API: $(tail -5 "$TMP/mvd.log")"
s0=$(okruns sync)
i0=$(okruns imap_sync)
api POST /api/v1/workers/sync/trigger '{}'
expect_eq "$CODE $(jq -c '[.job, (.job_ids | length), [.jobs[] |
    "\(.job)=\(.job_ids | length)"]]' "$TMP/api")" \
    '202 ["sync imap_sync",2,["sync=1","imap_sync=1"]]' "a sync of all: each job"
wait_runs sync $((s0 + 1))
wait_runs imap_sync $((i0 + 1))
api POST /api/v1/workers/sync/trigger '{"account":"box"}'
expect_eq "$CODE $(jq -c '[.job, (.job_ids | length), .jobs]' "$TMP/api")" \
    '202 ["imap_sync",1,null]' "a sync of the IMAP account: its job"
api POST /api/v1/workers/sync/trigger '{"account":"alice","lookback_days":3}'
expect_eq "$CODE" 400 "an argument a job does not declare"
api POST /api/v1/workers/sync/trigger '{"provider":"gmail"}'
expect_eq "$CODE $(jq -c '[.job, (.job_ids | length)]' "$TMP/api")" \
    '202 ["sync",1]' "a sync of the gmail accounts: its job"
api POST /api/v1/workers/sync/trigger '{"provider":"pop3"}'
expect_eq "$CODE $(jq -r .error.message "$TMP/api")" \
    "400 no job of sync_job 'sync imap_sync' runs for pop3 accounts" \
    "a provider no job runs for"
wait_runs sync $((s0 + 2))
wait_runs imap_sync $((i0 + 2))
stop_mvd
sanitizer_clean
cat "$TMP/mvd1.log" >>"$TMP/mvd.log"
pw=$(cat "$MAILSRV_PASSWORD_FILE")
rcli --scan | while read -r k; do rcli DUMP "$k"; done >"$TMP/redis.dump" 2>/dev/null || true
! grep -qF -- "$pw" "$TMP/mvd.log" "$TMP/redis.dump" || fail "the IMAP password leaked"
no_secrets "$TMP/mvd.log" "$TMP/redis.dump"
