# Access tokens that die between their renewal and their use: requests
# refused with a token newer than the one they last renewed get another
# one, so a fetch through many dying tokens succeeds; a server that
# refuses every token ends with auth after 5 renewals in a row.
. "$MV_TOP/tests/integration/lib.sh"
start_standin --generate 100 --token-uses 7

gw --action fetch_emails --days_back 0 --max_results 100
expect_ok
expect_eq "$(jout .count)" 100 count
refused=$(log_count '.status == 401')
tokens=$(log_count '.path == "/token"')
[ "$refused" -ge 10 ] || fail "only $refused requests refused: tokens did not die"
[ "$tokens" -gt 6 ] || fail "only $tokens token requests"
no_secrets "$TMP/out" "$TMP/err"

# Every token refused: the first grant and 5 renewals, then auth.
faults '[{"path": "^/gmail/", "status": 401, "count": -1}]'
from=$(log_last)
gw --action get_profile
expect_error auth 77
expect_eq "$(log_count_after "$from" '.path == "/token"')" 6 "token requests"
expect_eq "$(log_count_after "$from" '.path != "/token"')" 6 \
    "requests refused"

from=$(log_last)
gw --action fetch_emails --days_back 3
expect_error auth 77
expect_eq "$(log_count_after "$from" '.path == "/token"')" 6 \
    "token requests in a fetch"
no_secrets "$TMP/out" "$TMP/err"
exit 0
