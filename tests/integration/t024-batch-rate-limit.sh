# Calls of a batch answered 429 wait for their Retry-After as a whole
# request does: none is sent again before its time, and a time beyond
# --max_wait ends the run with rate_limited and retry_after, unsent.
. "$MV_TOP/tests/integration/lib.sh"
start_standin

gw --action fetch_emails --days_back 3
expect_ok
n=$(jout .count)
[ "$n" -ge 20 ] || fail "only $n messages to fetch"

# early: re-sends of a path that a batch part saw refused, before the
# refusal's time plus its Retry-After (1 s), in the log since id $1.
early() {
	jq -s --argjson from "$1" '[.[] | select(.id > $from)] as $all |
	    [$all[] | select(.status == 429 and .batch != null) | . as $f |
	    $all[] | select(.path == $f.path and .id > $f.id and
	    .t < $f.t + 1)] | length' "$STANDIN_LOG"
}

from=$(log_last)
faults '[{"method": "GET", "path": "/messages/[0-9a-f]+$", "status": 429,
    "count": 10, "retry_after": 1}]'
gw --action fetch_emails --days_back 3
expect_ok
expect_eq "$(jout .count)" "$n" "count after 429s in batch parts"
expect_eq "$(log_count_after "$from" '.status == 429 and .batch != null')" \
    10 "batch parts refused"
expect_eq "$(early "$from")" 0 "parts sent again before their Retry-After"
grep -q 'retrying in' "$TMP/err" || fail "no retry logged: $(cat "$TMP/err")"

# Longer than --max_wait: rate_limited with retry_after, nothing re-sent.
from=$(log_last)
faults '[{"method": "GET", "path": "/messages/[0-9a-f]+$", "status": 429,
    "count": 1, "retry_after": 120}]'
gw --action fetch_emails --days_back 3 --max_wait 5
expect_error rate_limited 75
expect_eq "$(jout .error.retry_after)" 120 retry_after
expect_eq "$(jout .error.http_status)" 429 http_status
expect_eq "$(jout .error.retryable)" true retryable
path=$(jq -rs --argjson from "$from" '[.[] | select(.id > $from and
    .status == 429)][0].path' "$STANDIN_LOG")
expect_eq "$(log_count_after "$from" ".path == \"$path\"")" 1 \
    "requests for the refused message"
exit 0
