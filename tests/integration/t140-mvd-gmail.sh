# The real thing: mailvisord syncing three accounts with gmail-worker
# against the Gmail API stand-in; each run's worker JSON in its record.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
start_standin

cat >"$TMP/mvd.conf" <<CONF
[redis]
socket = $REDIS_SOCK

[job:email_sync]
command = $WORKER --action fetch_emails --days_back {days_back}
    --credentials {credentials} --user_email {user_email}
    --api-base $STANDIN_URL --token-uri $STANDIN_URL/token
    --quota_units_per_sec 0 --format metadata
args = days_back:int(0..365)=3
for_each_account = true
timeout = 60
# No RLIMIT_DATA: a sanitizer build of the worker reserves terabytes.
memory_limit = 0

[account:alice]
tenant_id = t1
user_id = alice
user_email = alice@example.com
credentials = $TMP/creds/alice-authorized-user.json

[account:bob]
tenant_id = t1
user_id = bob
user_email = bob@example.com
credentials = $TMP/creds/bob-authorized-user.json

[account:carol]
tenant_id = t2
user_id = carol
user_email = carol@example.com
credentials = $TMP/creds/carol-authorized-user.json
CONF
"$MVD" -c "$TMP/mvd.conf" --run email_sync 2>"$TMP/mvd.log" ||
    fail "mailvisord: $(tail -20 "$TMP/mvd.log")"
expect_eq "$(rcli LLEN worker:history:email_sync)" 3 "one run per account"
expect_eq "$(rcli HGET worker:stats:email_sync successful_executions)" 3 successes
for id in $(rcli LRANGE worker:history:email_sync 0 -1 | jq -r .job_id); do
	rcli GET "worker:metrics:email_sync:$id" >"$TMP/rec"
	jq -e '.status == "success" and .result.status == "success" and
	    .result.action == "fetch_emails" and (.result.count | type) == "number" and
	    (.result.user_email | test("@example.com$"))' "$TMP/rec" >/dev/null ||
	    fail "record: $(head -c 600 "$TMP/rec")"
done
expect_eq "$(rcli LRANGE worker:history:email_sync 0 -1 | jq -r .account | sort | tr '\n' ' ')" \
    "alice bob carol " "accounts"
# No secret reaches the daemon's log or the records.
rcli --scan | while read -r k; do rcli DUMP "$k"; done >"$TMP/redis.dump" 2>/dev/null || true
no_secrets "$TMP/mvd.log" "$TMP/redis.dump"
