# The pipeline's first stage against the Gmail API stand-in: a [job:sync]
# running gmail-worker --action sync with the cursor mailvisord keeps, its
# change lines emitted into mailvisor:stream:mail. A full sync first, then
# exactly the mail added, deleted and relabelled; the same changes printed
# again carry the same keys; a run failing part-way leaves the cursor.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
start_standin
A=alice@example.com

cat >"$TMP/mvd.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[job:sync]
command = $WORKER --action sync --cursor={cursor} --lookback_days 0
    --credentials {credentials} --user_email {user_email}
    --api-base $STANDIN_URL --token-uri $STANDIN_URL/token
    --quota_units_per_sec 0 --max_wait 2
cursor = yes
emit = mail
for_each_account = yes
timeout = 60
# No RLIMIT_DATA: a sanitizer build of the worker reserves terabytes.
memory_limit = 0

[account:alice]
tenant_id = t1
user_id = alice
user_email = $A
credentials = $TMP/creds/alice-authorized-user.json
CONF

run_sync() {
	"$MVD" -c "$TMP/mvd.conf" --run sync 2>"$TMP/mvd.log" ||
	    fail "mailvisord: $(tail -20 "$TMP/mvd.log")"
	id=$(rcli LRANGE worker:history:sync 0 0 | jq -r .job_id)
	rcli GET "worker:metrics:sync:$id" >"$TMP/rec"
}
# entries FROM: the stream's entries after id FROM as one JSON object a
# line, their fields by name.
entries() {
	rcli --json XRANGE mailvisor:stream:mail "($1" + |
	    jq -c '.[] | .[1] | . as $f | [range(0; length; 2)] |
	    map({($f[.]): $f[. + 1]}) | add'
}
last_id() {
	rcli --json XREVRANGE mailvisor:stream:mail + - COUNT 1 | jq -r '.[0][0] // "0-0"'
}
deliver() {
	control POST /_standin/deliver "{\"user\":\"$A\",\"eml\":\"From: x@example.com\\r\\nTo: $A\\r\\nSubject: $1\\r\\n\\r\\nbody of $1\\r\\n\"}" | jq -r .id
}

# A full sync: every message's line in the stream, the cursor stored.
run_sync
jq -e '.status == "success" and .result.full_sync == true' "$TMP/rec" >/dev/null ||
    fail "full sync: $(head -c 600 "$TMP/rec")"
n=$(jq .result.added "$TMP/rec")
expect_eq "$(rcli XLEN mailvisor:stream:mail)" "$n" "lines of the full sync"
expect_eq "$(jq .emitted "$TMP/rec")" "$n" "emitted of the full sync"
cursor=$(jq -r .result.cursor "$TMP/rec")
expect_eq "$(rcli GET mailvisor:cursor:sync:alice)" "$cursor" "cursor of the full sync"
entries 0-0 >"$TMP/e0"
jq -e -s 'all(.job == "sync" and .account == "alice" and .tenant_id == "t1" and
    .user_id == "alice" and (.data | fromjson | .change == "added" and
    (.email.subject | type) == "string") and
    .key == "alice:added:\(.data | fromjson | .id):\(.data | fromjson | .email.history_id)")' \
    "$TMP/e0" >/dev/null || fail "full sync entries: $(head -c 600 "$TMP/e0")"

# Mail added, deleted and relabelled: the next run emits exactly those.
gw --action fetch_emails --days_back 3 --query 'subject:"Project kickoff"'
relab=$(jout '.emails[0].id')
gone=$(jout '.emails[1].id')
new=$(deliver "stream new")
control POST /_standin/modify "{\"user\":\"$A\",\"id\":\"$relab\",\"addLabelIds\":[\"STARRED\"],\"removeLabelIds\":[]}" >/dev/null
control POST /_standin/delete "{\"user\":\"$A\",\"id\":\"$gone\"}" >/dev/null
mark=$(last_id)
run_sync
expect_eq "$(jq -r '[.status, .result.full_sync, .emitted] | @csv' "$TMP/rec")" '"success",false,3' "incremental run"
entries "$mark" | jq -r '.data | fromjson | "\(.change) \(.id)"' | sort >"$TMP/got"
printf '%s\n' "added $new" "deleted $gone" "labels $relab" | sort >"$TMP/want"
cmp -s "$TMP/want" "$TMP/got" || fail "changes: $(cat "$TMP/got"), expected $(cat "$TMP/want")"
cursor2=$(rcli GET mailvisor:cursor:sync:alice)
[ "$cursor2" -gt "$cursor" ] || fail "cursor did not move: $cursor -> $cursor2"
expect_eq "$cursor2" "$(jq -r .result.cursor "$TMP/rec")" "cursor stored"
entries "$mark" | jq -r .key | sort >"$TMP/keys1"

# The same changes printed again (the cursor put back, as after a run
# whose cursor was not stored): the same idempotency keys.
rcli SET mailvisor:cursor:sync:alice "$cursor" >/dev/null
mark2=$(last_id)
run_sync
entries "$mark2" | jq -r .key | sort >"$TMP/keys2"
cmp -s "$TMP/keys1" "$TMP/keys2" || fail "keys differ: $(cat "$TMP/keys1") / $(cat "$TMP/keys2")"
expect_eq "$(grep -c "^alice:deleted:$gone:$cursor\$" "$TMP/keys2")" 1 "key of a deletion"

# A run failing part-way (history.list answers 500 past the retries):
# failed, retryable, and the cursor where it was.
deliver "stream later" >/dev/null
faults '[{"path": "/history$", "status": 500, "count": -1}]'
run_sync
control DELETE /_standin/faults >/dev/null
jq -e '.status == "failed" and .exit_code == 69' "$TMP/rec" >/dev/null ||
    fail "failing run: $(head -c 600 "$TMP/rec")"
expect_eq "$(rcli GET mailvisor:cursor:sync:alice)" "$cursor2" "cursor after a failed run"
# The next run picks up what the failed one did not.
run_sync
expect_eq "$(jq -r '[.status, .result.added] | @csv' "$TMP/rec")" '"success",1' "run after the failure"
rcli --scan | while read -r k; do rcli DUMP "$k"; done >"$TMP/redis.dump" 2>/dev/null || true
no_secrets "$TMP/mvd.log" "$TMP/redis.dump"
