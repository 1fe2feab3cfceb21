# Per-tenant limit of queued runs: with tenant_limit = 2 of max_children =
# 4, a tenant that floods a queue never runs more than 2 jobs at once, and
# another tenant's jobs queued behind that backlog take the free slots
# while the backlog still waits; each job runs exactly once.
. "$MV_TOP/tests/integration/lib.sh"
start_redis
mkdir "$TMP/runs"
NA=8		# tenant ta: the flood, enqueued first
NB=4		# tenant tb: behind it in the same stream

cat >"$TMP/mvd.conf" <<CONF
[mailvisord]
max_children = 4
tenant_limit = 2
log_level = info

[redis]
socket = $REDIS_SOCK

[queue:work]
priority = 5
max_retries = 0

[job:mark]
command = $TESTW mark $TMP/runs {tenant_id}-{n} 1500
args = n:int(0..1000)

[account:a1]
tenant_id = ta
user_id = u1
credentials = /dev/null

[account:a2]
tenant_id = ta
user_id = u2
credentials = /dev/null

[account:b1]
tenant_id = tb
user_id = u1
credentials = /dev/null
CONF
"$MVD" -c "$TMP/mvd.conf" -n >/dev/null || fail "configuration refused"

# The whole backlog is in the stream before the daemon reads it: ta's
# jobs (over two accounts of the tenant) first, then tb's.
i=1
while [ $i -le $NA ]; do
	rcli XADD mailvisor:queue:work '*' job mark args "{\"n\":$i}" \
	    tenant_id ta user_id u$((i % 2 + 1)) >/dev/null
	i=$((i + 1))
done
i=1
while [ $i -le $NB ]; do
	rcli XADD mailvisor:queue:work '*' job mark args "{\"n\":$i}" \
	    tenant_id tb user_id u1 >/dev/null
	i=$((i + 1))
done
start_mvd "$TMP/mvd.conf"
total=$((NA + NB))
wait_for 45 sh -c "[ \"\$(redis-cli -s $REDIS_SOCK HGET worker:stats:mark total_executions)\" -ge $total ]" ||
    fail "$(rcli HGET worker:stats:mark total_executions) of $total recorded; runs: $(ls "$TMP/runs" | tr '\n' ' '); log: $(tail -5 "$TMP/mvd.log")"
kill -0 "$MVD_PID" || fail "the daemon died: $(tail -5 "$TMP/mvd.log")"

# Each job once: one file per execution, one per tag, all finished.
expect_eq "$(ls "$TMP/runs" | wc -l | tr -d ' ')" "$total" "executions"
expect_eq "$(ls "$TMP/runs" | sed 's/\.[0-9]*$//' | sort -u | wc -l | tr -d ' ')" "$total" "distinct jobs run"
expect_eq "$(grep -l '^end ' "$TMP/runs"/* | wc -l | tr -d ' ')" "$total" "runs that finished"
expect_eq "$(rcli HGET worker:stats:mark total_executions)" "$total" "records"
expect_eq "$(rcli HGET worker:stats:mark successful_executions)" "$total" "successes"
expect_eq "$(rcli XPENDING mailvisor:queue:work mailvisor | head -1)" 0 "pending entries"
expect_eq "$(rcli XLEN mailvisor:queue:work)" 0 "entries left in the stream"
expect_eq "$(rcli XLEN mailvisor:dlq)" 0 "dead letters"

# Events "ms +1/-1 tenant", ends before starts at the same ms (a slot is
# freed before it is reused).
for f in "$TMP/runs"/*; do
	t=$(basename "$f" | cut -d- -f1)
	awk -v t="$t" '$1 == "start" { print $2, 1, t } $1 == "end" { print $2, 0, t }' "$f"
done | sort -n -k1,1 -k2,2 >"$TMP/events"
# peak TENANT|all: the most runs at once.
peak() {
	awk -v w="$1" '
	    w == "all" || $3 == w { n += $2 ? 1 : -1; if (n > m) m = n }
	    END { print m + 0 }' "$TMP/events"
}
expect_eq "$(peak ta)" 2 "most runs of tenant ta at once (its limit)"
[ "$(peak tb)" -le 2 ] || fail "tenant tb ran $(peak tb) at once, over its limit of 2"
[ "$(peak all)" -le 4 ] || fail "$(peak all) runs at once, over max_children 4"
# tb, queued behind ta's backlog, used the slots ta could not: its first
# run started before ta's third did, and all four slots were busy at once.
first_tb=$(awk '$2 == 1 && $3 == "tb" { print $1; exit }' "$TMP/events")
third_ta=$(awk '$2 == 1 && $3 == "ta" && ++k == 3 { print $1; exit }' "$TMP/events")
[ "$first_tb" -lt "$third_ta" ] ||
    fail "tenant tb waited behind tenant ta's backlog: its first run at +$((first_tb - $(head -1 "$TMP/events" | cut -d' ' -f1))) ms, ta's third at +$((third_ta - $(head -1 "$TMP/events" | cut -d' ' -f1))) ms; slots stayed idle"
expect_eq "$(peak all)" 4 "most runs at once (ta's 2 and tb's 2)"
stop_mvd
! grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" ||
    fail "sanitizer: $(grep -A20 -E 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$TMP/mvd.log" | head -30)"
echo "tenant limit: ta at most 2 at once, tb took the free slots, $total runs once each"
