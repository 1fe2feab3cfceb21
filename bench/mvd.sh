#!/bin/sh
# mailvisord benchmarks: dispatch rate with a trivial worker and records
# in Redis against a bare fork/exec/wait loop at the same parallelism; the
# overhead the daemon adds to one run; its RSS idle with 1 000 jobs; the
# queue path (MVD_BENCH=queue alone); emitting into a stream
# (MVD_BENCH=emit alone); the time slots stay free between runs
# (MVD_BENCH=gaps alone). Prints figures; never fails on time.
#   bench/mvd.sh [BUILD]
set -eu
build=$(cd "${1:-build}" && pwd)
T=$(mktemp -d)
RPID=
MPID=
trap '[ -n "$MPID" ] && kill $MPID 2>/dev/null; [ -n "$RPID" ] && kill $RPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT PIPE TERM
W=$build/tests/mv-test-worker
P=${PARALLEL:-4}
N=${RUNS:-2000}

redis-server --port 0 --unixsocket "$T/r.sock" --dir "$T" --save '' \
    --appendonly no --logfile "$T/redis.log" &
RPID=$!
while ! redis-cli -s "$T/r.sock" ping >/dev/null 2>&1; do sleep 0.05; done

conf() {	# ACCOUNTS PARALLEL
	printf '[mailvisord]\nmax_children = %s\nlog_level = warn\n' "$2"
	printf '[redis]\nsocket = %s\n' "$T/r.sock"
	printf '[job:trivial]\ncommand = %s ok\nfor_each_account = true\n' "$W"
	printf 'max_instances = 1000\n'
	i=0
	while [ $i -lt "$1" ]; do
		printf '[account:a%d]\ntenant_id = t\nuser_id = u%d\n' $i $i
		printf 'credentials = /dev/null\n'
		i=$((i + 1))
	done
}
runs_args() {	# the --run flags for N runs with 100 accounts
	i=0
	while [ $i -lt $(( $1 / 100 )) ]; do printf -- '--run trivial '; i=$((i + 1)); done
}
now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Commands per job from INFO commandstats ("cmd=calls/job ..., total"),
# leaving out POLLS calls of CMD (hget) of the bench's own.
cmds_per_job() {	# JOBS POLLS [CMD]
	redis-cli -s "$T/r.sock" INFO commandstats | tr -d '\r' |
	    awk -F '[_:,=]' -v n="$1" -v polls="$2" -v pc="${3:-hget}" '
	    /^cmdstat_/ && $2 !~ /^(info|config|flushall|ping|xinfo)/ {
		c = $4; if ($2 == pc) c -= polls
		if (c <= 0) next
		t += c; o = o sprintf("%s=%.2f ", $2, c / n)
	    } END { printf "%stotal=%.1f\n", o, t / n }'
}

# watch_until VALUE COMMAND...: returns once COMMAND's reply is VALUE,
# asked every 10 ms by bench/rwait on one connection (a shell loop
# forking redis-cli and sleep at each poll takes CPU from the daemon
# measured, on a machine of two cores); prints how many times it asked.
watch_until() {
	"$build/rwait" "$T/r.sock" "$@"
}

# The lag and pending entries of group ARGV[1] of stream KEYS[1].
lag_lua="for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local t = {}
  for i = 1, #g, 2 do t[g[i]] = g[i + 1] end
  if t.name == ARGV[1] then return (t.lag or 0) + t.pending end
end
return -1"

# queue_round CONF N: N jobs "tiny" added to the queue sync, then the
# daemon started on CONF until it has recorded them all; prints jobs per
# second and leaves in polls the bench's own HGETs (for cmds_per_job).
queue_round() {
	redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
	i=0
	while [ $i -lt "$2" ]; do
		echo "XADD mailvisor:queue:sync * job tiny tenant_id t user_id u0"
		i=$((i + 1))
	done | redis-cli -s "$T/r.sock" >/dev/null
	redis-cli -s "$T/r.sock" CONFIG RESETSTAT >/dev/null
	a=$(now)
	"$build/mailvisord" -c "$1" 2>>"$T/q.log" &
	MPID=$!
	polls=$(watch_until "$2" HGET worker:stats:tiny total_executions)
	b=$(now)
	kill $MPID
	wait $MPID 2>/dev/null || true
	MPID=
	awk "BEGIN { printf \"%.0f\\n\", $2 / ($b - $a) }"
}

# consume_round CONF JOB STREAM N: N entries added to STREAM, then the
# daemon started on CONF until JOB has consumed them all (each entry in a
# record: a batch's records count its entries); prints entries per
# second; the first round also prints the commands per entry.
consume_round() {
	redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
	i=0
	while [ $i -lt "$4" ]; do
		echo "XADD mailvisor:stream:$3 * data '{\"n\":$i}' key k$i"
		i=$((i + 1))
	done | redis-cli -s "$T/r.sock" >/dev/null
	redis-cli -s "$T/r.sock" CONFIG RESETSTAT >/dev/null
	a=$(now)
	"$build/mailvisord" -c "$1" 2>>"$T/c.log" &
	MPID=$!
	polls=$(watch_until 0 EVAL "$lag_lua" 1 "mailvisor:stream:$3" "$2")
	b=$(now)
	kill $MPID
	wait $MPID 2>/dev/null || true
	MPID=
	awk "BEGIN { printf \"%.0f\\n\", $4 / ($b - $a) }"
}

# The queue path against the bare loop and --run, same jobs, same run:
# QJOBS (5 000) jobs of a static worker, 2 at a time, records in Redis;
# and the same static worker consuming a stream of as many entries, one
# run per entry and in batches of 10 (MVD_BENCH=stream); the median of
# QROUNDS (3) rounds of each, and the ratios of the medians.
queue_vs_baseline() {
	n=${QJOBS:-5000}
	rounds=${QROUNDS:-3}
	ok=$build/okworker
	{
		printf '[mailvisord]\nmax_children = 2\nlog_level = warn\n'
		printf '[redis]\nsocket = %s\n' "$T/r.sock"
		printf '[job:tiny]\ncommand = %s\nfor_each_account = true\n' "$ok"
		printf 'max_instances = 1000\n'
		i=0
		while [ $i -lt 100 ]; do
			printf '[account:a%d]\ntenant_id = t\nuser_id = u%d\n' $i $i
			printf 'credentials = /dev/null\n'
			i=$((i + 1))
		done
	} >"$T/tiny.conf"
	cp "$T/tiny.conf" "$T/consume.conf"
	printf '[job:eat]\ncommand = %s\nconsume = bench\n' "$ok" >>"$T/consume.conf"
	printf '[job:eat10]\ncommand = %s\nconsume = bench10\nbatch = 10\n' "$ok" >>"$T/consume.conf"
	echo "== queue and stream paths against the bare loop: $n jobs of a static worker, 2 at a time, $rounds rounds"
	r=0
	: >"$T/loop" ; : >"$T/run" ; : >"$T/queue" ; : >"$T/stream" ; : >"$T/stream10"
	while [ $r -lt "$rounds" ]; do
		redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
		redis-cli -s "$T/r.sock" CONFIG RESETSTAT >/dev/null
		"$build/spawnlimit" -n "$n" -m vfork -c 2 -e -F -f -A \
		    -r "$T/r.sock" -w "$ok" | sed 's/.*jobs_per_s=\([0-9]*\).*/\1/' >>"$T/loop"
		[ $r -eq 0 ] && echo "bare loop commands per job: $(cmds_per_job "$n" 0)"

		redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
		redis-cli -s "$T/r.sock" CONFIG RESETSTAT >/dev/null
		a=$(now)
		# shellcheck disable=SC2046
		"$build/mailvisord" -c "$T/tiny.conf" $(runs_args "$n" | sed 's/trivial/tiny/g') \
		    2>"$T/mvd.log" || { tail "$T/mvd.log"; exit 1; }
		b=$(now)
		awk "BEGIN { printf \"%.0f\\n\", $n / ($b - $a) }" >>"$T/run"
		[ $r -eq 0 ] && echo "--run commands per job: $(cmds_per_job "$n" 0)"

		queue_round "$T/tiny.conf" "$n" >>"$T/queue"
		[ $r -eq 0 ] && echo "queue commands per job: $(cmds_per_job "$n" "$polls")"
		consume_round "$T/consume.conf" eat bench "$n" >>"$T/stream"
		[ $r -eq 0 ] && echo "stream commands per entry: $(cmds_per_job "$n" "$polls" eval)"
		consume_round "$T/consume.conf" eat10 bench10 "$n" >>"$T/stream10"
		[ $r -eq 0 ] && echo "stream (batch 10) commands per entry: $(cmds_per_job "$n" "$polls" eval)"
		r=$((r + 1))
	done
	loop=$(median <"$T/loop")
	run=$(median <"$T/run")
	queue=$(median <"$T/queue")
	echo "jobs/s, median of $rounds: bare loop $loop ($(tr '\n' ' ' <"$T/loop")), --run $run ($(tr '\n' ' ' <"$T/run")), queue $queue ($(tr '\n' ' ' <"$T/queue"))"
	echo "ratios: --run/loop $(awk "BEGIN { printf \"%.2f\", $run / $loop }"), queue/loop $(awk "BEGIN { printf \"%.2f\", $queue / $loop }")"
	stream=$(median <"$T/stream")
	stream10=$(median <"$T/stream10")
	echo "entries/s, median of $rounds: stream $stream ($(tr '\n' ' ' <"$T/stream")), stream batch 10 $stream10 ($(tr '\n' ' ' <"$T/stream10"))"
	echo "ratios: stream/queue $(awk "BEGIN { printf \"%.2f\", $stream / $queue }"), stream/loop $(awk "BEGIN { printf \"%.2f\", $stream / $loop }"), stream batch 10/loop $(awk "BEGIN { printf \"%.2f\", $stream10 / $loop }")"
}
# slot_gaps FILE SLOTS: from the stamps of okworker FILE (a line a run:
# its start and end, monotonic ns), how long a slot stayed free between a
# run's end and the next run's start (the slot freed first takes the next
# run): "p50 p90 p99 mean" in µs. Reaping, recording and spawning are in
# it, and on the queue path any wait on Redis with nothing ready to start.
slot_gaps() {
	sort -n "$1" | awk -v k="$2" '
	{
		if (nf < k) { f[++nf] = $2; next }
		m = 1
		for (i = 2; i <= nf; i++) if (f[i] < f[m]) m = i
		print ($1 - f[m]) / 1000
		f[m] = $2
	}' | sort -n | awk '{ v[NR] = $1; t += $1 } END {
	    printf "p50 %.0f p90 %.0f p99 %.0f mean %.0f", v[int(NR * 0.5)],
		v[int(NR * 0.9)], v[int(NR * 0.99)], t / NR }'
}

# The time slots stay free between runs, --run against the queue path and
# a consumed stream, GJOBS (5 000) runs of okworker stamping, 2 at a time,
# GROUNDS (3) rounds: where the queue path loses against --run.
gaps_vs_run() {
	n=${GJOBS:-5000}
	rounds=${GROUNDS:-3}
	st=$T/stamps
	{
		printf '[mailvisord]\nmax_children = 2\nlog_level = warn\n'
		printf '[redis]\nsocket = %s\n' "$T/r.sock"
		printf '[job:tiny]\ncommand = %s %s\nfor_each_account = true\n' \
		    "$build/okworker" "$st"
		printf 'max_instances = 1000\n'
		printf '[job:eat]\ncommand = %s %s\nconsume = bench\n' \
		    "$build/okworker" "$st"
		i=0
		while [ $i -lt 100 ]; do
			printf '[account:a%d]\ntenant_id = t\nuser_id = u%d\n' $i $i
			printf 'credentials = /dev/null\n'
			i=$((i + 1))
		done
	} >"$T/gaps.conf"
	echo "== slot free time between runs (µs), $n runs of a static worker, 2 at a time, $rounds rounds"
	r=0
	while [ $r -lt "$rounds" ]; do
		rm -f "$st"
		redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
		# shellcheck disable=SC2046
		"$build/mailvisord" -c "$T/gaps.conf" $(runs_args "$n" |
		    sed 's/trivial/tiny/g') 2>"$T/mvd.log" ||
		    { tail "$T/mvd.log"; exit 1; }
		echo "--run:  $(slot_gaps "$st" 2)"
		rm -f "$st"
		queue_round "$T/gaps.conf" "$n" >/dev/null
		echo "queue:  $(slot_gaps "$st" 2)"
		rm -f "$st"
		consume_round "$T/gaps.conf" eat bench "$n" >/dev/null
		echo "stream: $(slot_gaps "$st" 2)"
		r=$((r + 1))
	done
}

# Emit: one run printing ELINES (100 000) change lines of about 300 bytes
# into a stream, through mailvisord --run, against the same lines sent
# by redis-cli --pipe as pipelined XADDs (Redis's own ceiling here) and
# the worker alone into /dev/null; the daemon's peak RSS against its RSS
# for a run of 10 lines. Median of EROUNDS (3).
emit_vs_baseline() {
	n=${ELINES:-100000}
	rounds=${EROUNDS:-3}
	echo "== emit: one run of $n change lines (~300 bytes each) into a stream, $rounds rounds"
	{
		printf '[mailvisord]\nlog_level = warn\n[redis]\nsocket = %s\n' "$T/r.sock"
		printf '[stream:bulk]\nmaxlen = %s\n' $((n * 2))
		printf '[job:big]\ncommand = %s sync --cursor={cursor} %s 240 ok\n' "$W" "$n"
		printf 'cursor = yes\nemit = bulk\nfor_each_account = true\nmemory_limit = 0\n'
		printf '[job:small]\ncommand = %s sync --cursor={cursor} 10 240 ok\n' "$W"
		printf 'cursor = yes\nemit = bulk\nfor_each_account = true\n'
		printf '[account:a0]\ntenant_id = t\nuser_id = u0\ncredentials = /dev/null\n'
	} >"$T/emit.conf"
	# The same entries, with the daemon's fields and trimming, as RESP
	# commands for redis-cli --pipe.
	"$W" sync --cursor= "$n" 240 ok | sed '$d' | LC_ALL=C awk -v m=$((n * 2)) '
	    function b(s) { return "$" length(s) "\r\n" s "\r\n" }
	    { printf "*20\r\n%s%s%s%s%s", b("XADD"), b("mailvisor:stream:pipe"),
		b("MAXLEN"), b("~"), b(m)
	      printf "%s%s%s%s%s%s", b("*"), b("data"), b($0), b("job"), b("big"),
		b("job_id")
	      printf "%s%s%s%s%s%s", b("0f8e5c1a-3b7d-4c2e-9a61-5d2f7b8c9e01"),
		b("account"), b("a0"), b("tenant_id"), b("t"), b("user_id")
	      printf "%s%s%s", b("u0"), b("key"), b("a0:added:m" NR ":" NR) }' \
	    >"$T/emit.resp"
	: >"$T/e.mvd" ; : >"$T/e.pipe" ; : >"$T/e.gen" ; : >"$T/e.rss"
	r=0
	while [ $r -lt "$rounds" ]; do
		redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
		a=$(now)
		"$W" sync --cursor= "$n" 240 ok >/dev/null
		b=$(now)
		awk "BEGIN { printf \"%.0f\\n\", $n / ($b - $a) }" >>"$T/e.gen"
		a=$(now)
		"$build/runstat" -n 1 -q -- "$build/mailvisord" -c "$T/emit.conf" \
		    --run big 2>"$T/emit.log" >"$T/emit.rs" ||
		    { tail "$T/emit.log"; exit 1; }
		b=$(now)
		got=$(redis-cli -s "$T/r.sock" XLEN mailvisor:stream:bulk)
		[ "$got" -eq "$n" ] || { echo "emit: $got entries, not $n"; exit 1; }
		awk "BEGIN { printf \"%.0f\\n\", $n / ($b - $a) }" >>"$T/e.mvd"
		sed -n 's/.*max_rss_kb=\([0-9]*\).*/\1/p' "$T/emit.rs" >>"$T/e.rss"
		a=$(now)
		LC_ALL=C redis-cli -s "$T/r.sock" --pipe <"$T/emit.resp" >/dev/null
		b=$(now)
		awk "BEGIN { printf \"%.0f\\n\", $n / ($b - $a) }" >>"$T/e.pipe"
		r=$((r + 1))
	done
	"$build/runstat" -n 3 -q -- "$build/mailvisord" -c "$T/emit.conf" \
	    --run small 2>"$T/emit.log" >"$T/small.rs"
	small=$(sed -n 's/.*max_rss_kb=\([0-9]*\).*/\1/p' "$T/small.rs")
	mvd=$(median <"$T/e.mvd")
	pipe=$(median <"$T/e.pipe")
	echo "lines/s, median of $rounds: mailvisord $mvd ($(tr '\n' ' ' <"$T/e.mvd")), redis-cli --pipe $pipe, worker alone $(median <"$T/e.gen")"
	echo "ratio mailvisord/redis-cli --pipe: $(awk "BEGIN { printf \"%.2f\", $mvd / $pipe }")"
	echo "daemon peak RSS: $(sort -n "$T/e.rss" | tail -1) kB for $n lines, $small kB for 10 lines"
}
# The queue sync's configuration: a job printing its start time.
qconf() {
	printf '[mailvisord]\nmax_children = 4\nlog_level = warn\n'
	printf '[redis]\nsocket = %s\n' "$T/r.sock"
	printf '[job:q]\ncommand = %s now\n' "$W"
	printf '[account:a]\ntenant_id = t\nuser_id = u\ncredentials = /dev/null\n'
}

# enqueue_to_start WHAT JOB: 200 jobs added one at a time, each once the
# last is recorded, a slot always free: to the queue sync (WHAT queue) or
# to the stream lat that JOB consumes (WHAT stream); prints the time from
# the entry's id to the worker's start (its now_ms).
enqueue_to_start() {
	redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
	"$build/mailvisord" -c "$T/lat.conf" 2>>"$T/q.log" &
	MPID=$!
	sleep 1
	i=0
	while [ $i -lt 200 ]; do
		if [ "$1" = queue ]; then
			redis-cli -s "$T/r.sock" XADD mailvisor:queue:sync '*' \
			    job "$2" tenant_id t user_id u >/dev/null
		else
			redis-cli -s "$T/r.sock" XADD mailvisor:stream:lat '*' \
			    data '{}' key "k$i" >/dev/null
		fi
		i=$((i + 1))
		watch_until "$i" HGET "worker:stats:$2" total_executions >/dev/null
	done
	kill $MPID
	wait $MPID 2>/dev/null || true
	MPID=
	redis-cli -s "$T/r.sock" --scan --pattern "worker:metrics:$2:*" |
	    while read -r k; do redis-cli -s "$T/r.sock" GET "$k"; done |
	    jq -s -r 'map((.result.now_ms) - (.job_id | split("-")[0] | tonumber)) | sort |
	      "latency p50 \(.[length/2|floor]) ms, p99 \(.[length*99/100|floor]) ms, max \(.[-1]) ms"'
}

# The time from enqueueing to the start, a slot free, for a queued job and
# for an entry of a stream a job consumes (MVD_BENCH=latency alone).
latency_vs_queue() {
	{
		qconf
		printf '[job:eatnow]\ncommand = %s now\nconsume = lat\n' "$W"
	} >"$T/lat.conf"
	echo "== enqueue to start, one job at a time, a slot free (200 jobs)"
	echo "queue:  $(enqueue_to_start queue q)"
	echo "stream: $(enqueue_to_start stream eatnow)"
}

if [ "${MVD_BENCH:-all}" = queue ] || [ "${MVD_BENCH:-all}" = stream ]; then
	queue_vs_baseline
	exit 0
fi
if [ "${MVD_BENCH:-all}" = emit ]; then
	emit_vs_baseline
	exit 0
fi
if [ "${MVD_BENCH:-all}" = gaps ]; then
	gaps_vs_run
	exit 0
fi
if [ "${MVD_BENCH:-all}" = latency ]; then
	latency_vs_queue
	exit 0
fi

echo "== dispatch rate, $N trivial runs, $P at once"
base=$("$build/spawnloop" "$N" "$P" "$W" ok)
echo "baseline fork/exec/wait loop: $base"
conf 100 "$P" >"$T/mvd.conf"
redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
a=$(now)
# shellcheck disable=SC2046
"$build/mailvisord" -c "$T/mvd.conf" $(runs_args "$N") 2>"$T/mvd.log" || { tail "$T/mvd.log"; exit 1; }
b=$(now)
rate=$(awk "BEGIN { printf \"%.0f\", $N / ($b - $a) }")
got=$(redis-cli -s "$T/r.sock" HGET worker:stats:trivial total_executions)
echo "mailvisord: runs=$N recorded=$got runs_per_s=$rate (start-up and flush included)"
echo "ratio (mailvisord/baseline): $(awk "BEGIN { printf \"%.2f\", $rate / $(echo "$base" | sed 's/.*runs_per_s=//') }")"

echo
echo "== overhead per run, one at a time (max_children 1), $((N / 4)) runs"
conf 100 1 >"$T/one.conf"
redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
a=$(now)
# shellcheck disable=SC2046
"$build/mailvisord" -c "$T/one.conf" $(runs_args $((N / 4))) 2>"$T/mvd.log"
b=$(now)
base1=$("$build/spawnloop" $((N / 4)) 1 "$W" ok | sed 's/.*runs_per_s=//')
awk "BEGIN { w = ($b - $a) / $((N / 4)) * 1000; s = 1000 / $base1;
    printf \"per run: mailvisord %.3f ms, bare loop %.3f ms, added %.3f ms\\n\", w, s, w - s }"
redis-cli -s "$T/r.sock" LRANGE worker:history:trivial 0 -1 |
    jq -s 'map(.duration * 1000) | sort | "worker duration (spawn to reap) p50 \(.[length/2|floor]) ms, p99 \(.[length*99/100|floor]) ms"' -r

echo
echo "== daemon RSS"
{
	printf '[mailvisord]\nlog_level = warn\n[redis]\nsocket = %s\n' "$T/r.sock"
	i=0
	while [ $i -lt 1000 ]; do
		printf '[job:j%d]\ncommand = %s ok\nschedule = 0 3 * * *\n' $i "$W"
		i=$((i + 1))
	done
} >"$T/many.conf"
"$build/mailvisord" -c "$T/many.conf" 2>"$T/many.log" &
MPID=$!
sleep 2
echo "idle, 1000 jobs configured: $(grep VmRSS /proc/$MPID/status)"
kill $MPID
wait $MPID 2>/dev/null || true
MPID=

echo
queue_vs_baseline

echo
emit_vs_baseline

echo
gaps_vs_run

echo
echo "== queues: end to end (XADD to record), $N trivial jobs, 4 slots a daemon"
qconf >"$T/q.conf"
for daemons in 1 2 4; do
	redis-cli -s "$T/r.sock" FLUSHALL >/dev/null
	pids=
	i=0
	while [ $i -lt $daemons ]; do
		"$build/mailvisord" -c "$T/q.conf" 2>>"$T/q.log" &
		pids="$pids $!"
		i=$((i + 1))
	done
	sleep 1
	a=$(now)
	i=0
	while [ $i -lt "$N" ]; do
		echo "XADD mailvisor:queue:sync * job q tenant_id t user_id u"
		i=$((i + 1))
	done | redis-cli -s "$T/r.sock" >/dev/null
	watch_until "$N" HGET worker:stats:q total_executions >/dev/null
	b=$(now)
	kill $pids
	wait $pids 2>/dev/null || true
	echo "$daemons daemon(s): jobs_per_s=$(awk "BEGIN { printf \"%.0f\", $N / ($b - $a) }")"
done

echo
latency_vs_queue
