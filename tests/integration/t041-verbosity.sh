# What -v, -vv and -vvv write on stderr, secrets redacted at every level,
# and the one line every error result gets there (even with --quiet).
. "$MV_TOP/tests/integration/lib.sh"
start_standin

# Without -v a success writes nothing on stderr.
gw --action fetch_emails --days_back 1
expect_ok
[ ! -s "$TMP/err" ] || fail "stderr without -v: $(cat "$TMP/err")"

# -v: one line per step of the action, the totals last.
gw --action fetch_emails --days_back 1 --batch_size 10 -v
expect_ok
n=$(jout .count)
grep -q "^gmail-worker: listed $n messages in 1 pages$" "$TMP/err" ||
    fail "-v: no listing line: $(cat "$TMP/err")"
grep -q "^gmail-worker: fetched $n messages in 2 batches, 0 parts sent again alone$" "$TMP/err" ||
    fail "-v: no fetch line: $(cat "$TMP/err")"
tail -n 1 "$TMP/err" | grep -Eq '^gmail-worker: done: 5 requests, [0-9]+ quota units, 0 retries, 1 token requests, [0-9.]+ s$' ||
    fail "-v: no totals last: $(cat "$TMP/err")"
grep -q ' HTTP/1.1\| attempt ' "$TMP/err" && fail "-v shows requests"

# -vv: one line per HTTP request, with its URL, status, size, time and
# attempt; a retried request shows each attempt.
faults '[{"path": "/profile$", "status": 503, "count": 1}]'
gw --action get_profile -vv
expect_ok
grep -Eq "^gmail-worker: POST $STANDIN_URL/token: 200, [0-9]+ bytes, [0-9]+ ms, attempt 1$" "$TMP/err" ||
    fail "-vv: no token request line: $(cat "$TMP/err")"
grep -Eq "^gmail-worker: GET $STANDIN_URL/gmail/v1/users/me/profile: 503, [0-9]+ bytes, [0-9]+ ms, attempt 1$" "$TMP/err" ||
    fail "-vv: no line for the failed attempt: $(cat "$TMP/err")"
grep -Eq "^gmail-worker: GET $STANDIN_URL/gmail/v1/users/me/profile: 200, [0-9]+ bytes, [0-9]+ ms, attempt 2$" "$TMP/err" ||
    fail "-vv: no line for the second attempt: $(cat "$TMP/err")"
grep -q '^gmail-worker: > ' "$TMP/err" && fail "-vv shows libcurl's trace"
no_secrets "$TMP/err"

# -vvv: libcurl's trace, the Authorization header and every body redacted,
# for each kind of credentials.
for c in alice-authorized-user.json alice-access-token.json service-account.json; do
	gw_as "$c" --action fetch_emails --days_back 1 --user_email alice@example.com -vvv
	expect_ok
	grep -q '^gmail-worker: > GET /gmail/v1/users/me/profile HTTP/1.1$' "$TMP/err" ||
	    fail "-vvv ($c): no request line traced: $(head -c 600 "$TMP/err")"
	grep -q '^gmail-worker: > Authorization: <redacted>$' "$TMP/err" ||
	    fail "-vvv ($c): Authorization not redacted"
	grep -q '^gmail-worker: < HTTP/1.1 200' "$TMP/err" || fail "-vvv ($c): no status line"
	grep -qi 'bearer [^<]' "$TMP/err" && fail "-vvv ($c): a bearer token in the trace"
	grep -q 'eyJ' "$TMP/err" && fail "-vvv ($c): a JWT in the trace"
	grep -q 'ya29\.' "$TMP/err" && fail "-vvv ($c): an access token in the trace"
	grep -q 'X-Standin\|Subject:' "$TMP/err" && fail "-vvv ($c): mail in the trace"
	no_secrets "$TMP/err"
done

# Every error result: one line on stderr, TYPE: MESSAGE, even with --quiet.
jq '.refresh_token = "revoked-token"' "$TMP/creds/alice-authorized-user.json" >"$TMP/creds/revoked.json"
chmod 600 "$TMP/creds/revoked.json"
for q in "" --quiet; do
	gw_as revoked.json --action fetch_emails $q
	expect_error auth 77
	expect_eq "$(wc -l <"$TMP/err" | tr -d ' ')" 1 "stderr lines of a refused token ($q)"
	grep -q '^gmail-worker: auth: .*invalid_grant' "$TMP/err" ||
	    fail "no auth line on stderr ($q): $(cat "$TMP/err")"
done
gw --action fetch_emails --days_back 1 --format yaml
expect_error invalid_argument 64
expect_eq "$(cat "$TMP/err")" "gmail-worker: invalid_argument: --format: 'yaml' is not full, metadata or raw" "stderr of a bad option"
gw --action no_such_action
expect_eq "$(wc -l <"$TMP/err" | tr -d ' ')" 1 "stderr lines of a usage error"

# --credentials FILE without '@': the message says how to write it, and
# only when such a file exists (inline JSON is never echoed).
RC=0
(cd "$TMP" && "$WORKER" --credentials creds/alice-authorized-user.json --action ping >out 2>err) || RC=$?
expect_error invalid_argument 64
grep -q -- "--credentials @creds/alice-authorized-user.json" "$TMP/out" ||
    fail "no @ suggested: $(cat "$TMP/out")"
grep -q -- "^gmail-worker: invalid_argument: .*--credentials @creds/alice-authorized-user.json" "$TMP/err" ||
    fail "no @ suggested on stderr: $(cat "$TMP/err")"
RC=0
(cd "$TMP" && "$WORKER" --credentials creds/nothing-here.json --action ping >out 2>err) || RC=$?
expect_error invalid_argument 64
grep -q 'inline credentials refused' "$TMP/out" || fail "a missing file: $(cat "$TMP/out")"
RC=0
(cd "$TMP" && GMAIL_WORKER_CREDENTIALS=creds/alice-authorized-user.json "$WORKER" --action ping >out 2>err) || RC=$?
expect_error invalid_argument 64
grep -q "GMAIL_WORKER_CREDENTIALS=@creds/alice-authorized-user.json" "$TMP/out" ||
    fail "no @ suggested for the environment: $(cat "$TMP/out")"
no_secrets "$TMP/out" "$TMP/err"
