/* mailvisord's stats writer: execution records to Redis keys (contract
 * §3), one atomic script call per record, through a bounded FIFO. */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "shared/log.h"
#include "shared/record.h"
#include "shared/mvtime.h"
#include "shared/str.h"
#include "supervisor/rds.h"
#include "supervisor/stats.h"

#define STATS_KEY_MAX	(STATS_PREFIX_MAX + 2 * STATS_NAME_MAX + 32)
#define STATS_LOG_MS	60000
#define STATS_DURATION_MAX	1e9

/*
 * One record is one call of this script, so that it applies as a whole
 * (Redis runs a script atomically) in one command sent, with the text
 * sent once (EVALSHA). Keys: worker:stats, worker:history,
 * worker:metrics, worker:failures. ARGV: kind (s success, f failure, k
 * skipped), duration, last_execution, last_status, the history record,
 * the history's last index, the record, the metrics TTL, the failure's
 * score ("" none), the trim bound of the failures ("" none), then the
 * count of extra commands and each as its argc and arguments.
 * The fields no record has touched yet are written as 0, so that the
 * hash always has all seven (contract §3): a worker that never failed
 * has a failed_executions of 0. Only when the hash is new or lacks one
 * (HLEN): four writes saved on every other record.
 * The average is total_duration / (successful + failed), computed here
 * from the totals just written: it always agrees with them, even when
 * several daemons write the same hash. Printed with 6 decimals at most,
 * trailing zeros cut: "1.75", "2".
 * As in a MULTI, a command that fails (a key of the wrong type) does not
 * stop the others: the reply is {errors, first error}. But a refusal of
 * the first write (OOM, READONLY: nothing was written) is the script's
 * answer, and the record is retried.
 */
static const char stats_record_lua[] =
    "local k, a = KEYS, ARGV\n"
    "local nerr, first = 0, ''\n"
    "local function call(...)\n"
    "  local r = redis.pcall(...)\n"
    "  if type(r) == 'table' and r.err then\n"
    "    if nerr == 0 then first = r.err end\n"
    "    nerr = nerr + 1\n"
    "  end\n"
    "  return r\n"
    "end\n"
    "local r = call('HINCRBY', k[1], 'total_executions', 1)\n"
    "if nerr == 1 and not (string.find(first, '^WRONGTYPE') or\n"
    "    string.find(first, '^ERR')) then return r end\n"
    "if r == 1 or call('HLEN', k[1]) < 7 then\n"
    "  for _, f in ipairs({'successful_executions', 'failed_executions',"
    " 'total_duration', 'average_duration'}) do\n"
    "    call('HSETNX', k[1], f, '0')\n"
    "  end\n"
    "end\n"
    "local avg\n"
    "if a[1] ~= 'k' then\n"
    "  local mine, other = 'successful_executions', 'failed_executions'\n"
    "  if a[1] == 'f' then mine, other = other, mine end\n"
    "  local n = tonumber(call('HINCRBY', k[1], mine, 1)) or 0\n"
    "  local o = tonumber(call('HGET', k[1], other)) or 0\n"
    "  local t = tonumber(call('HINCRBYFLOAT', k[1], 'total_duration',"
    " a[2]))\n"
    "  if t and n + o > 0 then\n"
    "    avg = string.format('%.6f', t / (n + o))\n"
    "    avg = string.gsub(avg, '0+$', '')\n"
    "    avg = string.gsub(avg, '%.$', '')\n"
    "  end\n"
    "end\n"
    "if avg then\n"
    "  call('HSET', k[1], 'last_execution', a[3], 'last_status', a[4],"
    " 'average_duration', avg)\n"
    "else\n"
    "  call('HSET', k[1], 'last_execution', a[3], 'last_status', a[4])\n"
    "end\n"
    "call('LPUSH', k[2], a[5])\n"
    "call('LTRIM', k[2], 0, a[6])\n"
    "call('SET', k[3], a[7], 'EX', a[8])\n"
    "if a[9] ~= '' then call('ZADD', k[4], a[9], a[7]) end\n"
    "if a[10] ~= '' then call('ZREMRANGEBYSCORE', k[4], '-inf', a[10])"
    " end\n"
    "local i = 12\n"
    "for _ = 1, tonumber(a[11]) do\n"
    "  local n = tonumber(a[i])\n"
    "  call(unpack(a, i + 1, i + n))\n"
    "  i = i + n + 1\n"
    "end\n"
    "return {nerr, first}\n";

static struct rds_script stats_record_script = RDS_SCRIPT(stats_record_lua);

/* A copy of an extra command of a transaction. */
struct srec_cmd {
	int		 argc;
	const char	**argv;		/* into data */
	size_t		*len;
	char		*data;
};

/* A record waiting for, or in, its transaction. */
struct srec {
	TAILQ_ENTRY(srec)	 entry;
	struct stats		*s;
	int			 inflight;
	int			 failure;	/* to the failures set */
	int			 skipped;
	char			*worker;
	char			*job_id;
	char			*full;		/* the record */
	size_t			 full_len;
	char			*hist;		/* without result */
	size_t			 hist_len;
	long long		 completed;	/* unix s */
	char			 status[32];
	char			 duration[48];
	char			 last[32];
	struct srec_cmd		*extra;
	size_t			 nextra;
};
TAILQ_HEAD(srecs, srec);

struct stats {
	struct rds	*rds;
	char		 prefix[STATS_PREFIX_MAX + 1];
	size_t		 buffer_max;
	size_t		 bytes_max;
	int		 metrics_ttl;
	int		 history_max;
	long		 failures_max_age;
	struct srecs	 queue;
	size_t		 n;		/* in queue */
	size_t		 inflight;
	size_t		 bytes;		/* of the records in queue */
	int		 blocked;	/* a refused record awaits retry_ev */
	int64_t		 retry_ms;
	struct event	*retry_ev;
	uint64_t	 written, dropped, invalid, errors;
	uint64_t	 drops_unlogged;
	int64_t		 drop_log_ms, error_log_ms, refuse_log_ms;
	int64_t		 trim_ms;	/* failures last trimmed */
	void		(*observe)(void *, const char *, const json_t *);
	void		*observe_arg;
};

static void stats_pump(struct stats *);

/* 1 when a rate-limited message may go out now (then at most once a
 * minute); *last holds the time of the previous one (0: none yet). */
static int
stats_may_log(int64_t *last)
{
	int64_t now = mv_mono_ms();

	if (*last != 0 && now - *last < STATS_LOG_MS)
		return 0;
	*last = now != 0 ? now : 1;
	return 1;
}

static void
stats_srec_free(struct srec *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nextra; i++) {
		free(e->extra[i].data);
		free(e->extra[i].argv);
		free(e->extra[i].len);
	}
	free(e->extra);
	free(e->worker);
	free(e->job_id);
	free(e->full);
	free(e->hist);
	free(e);
}

/* Takes e out of the queue and frees it. */
static void
stats_remove(struct stats *s, struct srec *e)
{
	TAILQ_REMOVE(&s->queue, e, entry);
	s->n--;
	s->bytes -= e->full_len + e->hist_len;
	stats_srec_free(e);
}

/* The oldest record not in flight, or NULL. */
static struct srec *
stats_first_waiting(struct stats *s)
{
	struct srec *e;

	TAILQ_FOREACH(e, &s->queue, entry)
		if (!e->inflight)
			return e;
	return NULL;
}

/* Pushes the oldest waiting records out while over a bound. */
static void
stats_trim(struct stats *s)
{
	struct srec *e;
	size_t waiting;

	for (;;) {
		waiting = s->n - s->inflight;
		if (waiting <= s->buffer_max &&
		    (s->bytes <= s->bytes_max || waiting <= 1))
			break;
		if ((e = stats_first_waiting(s)) == NULL)
			break;
		stats_remove(s, e);
		s->dropped++;
		s->drops_unlogged++;
	}
	if (s->drops_unlogged > 0 && stats_may_log(&s->drop_log_ms)) {
		log_warnx("stats: record buffer full (%zu records, %zu bytes):"
		    " dropped the %llu oldest", s->n, s->bytes,
		    (unsigned long long)s->drops_unlogged);
		s->drops_unlogged = 0;
	}
}

/* 1 when name may be part of a key: 1 to STATS_NAME_MAX bytes of
 * printable ASCII without space. */
static int
stats_name_ok(const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0')
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (i >= STATS_NAME_MAX || (unsigned char)name[i] <= ' ' ||
		    (unsigned char)name[i] >= 0x7f)
			return 0;
	return 1;
}

/* Fills the status, duration and time fields of e from record. Returns
 * NULL or why the record is unusable. */
static const char *
stats_fields(struct srec *e, json_t *record)
{
	const char *status, *done;
	double d;
	time_t t;

	status = json_string_value(json_object_get(record, "status"));
	if (status == NULL || *status == '\0')
		return "no status";
	if (strlcpy(e->status, status, sizeof(e->status)) >=
	    sizeof(e->status))
		return "status too long";
	e->skipped = strcmp(status, "skipped") == 0;
	e->failure = !e->skipped && strcmp(status, "success") != 0;
	d = json_number_value(json_object_get(record, "duration"));
	if (!(d >= 0))
		d = 0;
	if (d > STATS_DURATION_MAX)
		d = STATS_DURATION_MAX;
	snprintf(e->duration, sizeof(e->duration), "%.6f", d);
	done = json_string_value(json_object_get(record, "completed_at"));
	if (done == NULL || mv_parse_iso8601(done, &t) == -1)
		t = time(NULL);
	if (mv_iso8601(t, e->last, sizeof(e->last)) == NULL)
		return "completed_at out of range";
	e->completed = (long long)t;
	return NULL;
}

/*
 * A new queue entry from the record (borrowed here; "result" is removed
 * from it). Returns NULL with *why set.
 */
static struct srec *
stats_srec_new(struct stats *s, const char *worker, const char *job_id,
    json_t *record, const char **why)
{
	struct srec *e;

	if (!stats_name_ok(worker) || !stats_name_ok(job_id)) {
		*why = "bad worker name or job id";
		return NULL;
	}
	if (!json_is_object(record)) {
		*why = "not a JSON object";
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		*why = strerror(errno);
		return NULL;
	}
	e->s = s;
	if ((*why = stats_fields(e, record)) != NULL)
		goto fail;
	*why = "cannot be serialised (invalid UTF-8 or out of memory)";
	if ((e->full = mv_record_dumps(record)) == NULL)
		goto fail;
	json_object_del(record, "result");
	if ((e->hist = mv_record_dumps(record)) == NULL)
		goto fail;
	*why = strerror(ENOMEM);
	if ((e->worker = strdup(worker)) == NULL ||
	    (e->job_id = strdup(job_id)) == NULL)
		goto fail;
	e->full_len = strlen(e->full);
	e->hist_len = strlen(e->hist);
	return e;
fail:
	stats_srec_free(e);
	return NULL;
}

void
stats_record(struct stats *s, const char *worker, const char *job_id,
    json_t *record)
{
	(void)stats_record_tx(s, worker, job_id, record, NULL, 0);
}

/* Copies one extra command into c. 0 or -1 (ENOMEM, EINVAL). */
static int
stats_copy_cmd(struct srec_cmd *c, const struct stats_cmd *x)
{
	size_t total = 0, off = 0;
	int i;

	if (x->argc < 1 || x->argv == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((c->argv = calloc((size_t)x->argc, sizeof(*c->argv))) == NULL ||
	    (c->len = calloc((size_t)x->argc, sizeof(*c->len))) == NULL)
		return -1;
	for (i = 0; i < x->argc; i++) {
		c->len[i] = x->len != NULL ? x->len[i] : strlen(x->argv[i]);
		total += c->len[i] + 1;
	}
	if ((c->data = malloc(total)) == NULL)
		return -1;
	c->argc = x->argc;
	for (i = 0; i < x->argc; i++) {
		memcpy(c->data + off, x->argv[i], c->len[i]);
		c->data[off + c->len[i]] = '\0';
		c->argv[i] = c->data + off;
		off += c->len[i] + 1;
	}
	return 0;
}

/* Copies the extra commands into e. 0 or -1 (errno). */
static int
stats_copy_extra(struct srec *e, const struct stats_cmd *extra,
    size_t nextra)
{
	size_t i;

	if (nextra == 0)
		return 0;
	if (extra == NULL || nextra > STATS_EXTRA_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((e->extra = calloc(nextra, sizeof(*e->extra))) == NULL)
		return -1;
	for (i = 0; i < nextra; i++) {
		e->nextra = i + 1;
		if (stats_copy_cmd(&e->extra[i], &extra[i]) == -1)
			return -1;
	}
	return 0;
}

int
stats_record_tx(struct stats *s, const char *worker, const char *job_id,
    json_t *record, const struct stats_cmd *extra, size_t nextra)
{
	char qw[64], qj[64];
	const char *why;
	struct srec *e;
	json_t *result = json_incref(json_object_get(record, "result"));

	e = stats_srec_new(s, worker, job_id, record, &why);
	if (e != NULL && s->observe != NULL) {
		/* The observer sees the whole record: the result back in. */
		if (result != NULL)
			json_object_set(record, "result", result);
		s->observe(s->observe_arg, worker, record);
		json_object_del(record, "result");
	}
	json_decref(result);
	/* The extra commands may borrow strings from the record: copy them
	 * before the record goes. */
	if (e != NULL && stats_copy_extra(e, extra, nextra) == -1) {
		why = strerror(errno);
		stats_srec_free(e);
		e = NULL;
	}
	json_decref(record);
	if (e == NULL) {
		s->invalid++;
		mv_quote_clean(qw, sizeof(qw), worker ? worker : "", 48);
		mv_quote_clean(qj, sizeof(qj), job_id ? job_id : "", 48);
		log_warnx("stats: record of %s %s not kept: %s", qw, qj, why);
		return -1;
	}
	TAILQ_INSERT_TAIL(&s->queue, e, entry);
	s->n++;
	s->bytes += e->full_len + e->hist_len;
	stats_trim(s);
	stats_pump(s);
	return 0;
}

void
stats_set_observer(struct stats *s, void (*fn)(void *, const char *,
    const json_t *), void *arg)
{
	s->observe = fn;
	s->observe_arg = arg;
}

/* The retry timer after a refused transaction. */
static void
stats_retry_cb(int fd, short ev, void *arg)
{
	struct stats *s = arg;

	(void)fd;
	(void)ev;
	s->blocked = 0;
	stats_pump(s);
}

/* The script ran: the record is written, though a command may have
 * failed (e.g. WRONGTYPE on a key written by someone else). Sending it
 * again would apply the other commands twice, so it is not retried. */
static void
stats_exec_ran(struct stats *s, struct srec *e, redisReply *reply)
{
	if (reply->elements == 2 && reply->element[0]->type ==
	    REDIS_REPLY_INTEGER && reply->element[0]->integer > 0) {
		s->errors++;
		if (stats_may_log(&s->error_log_ms))
			log_warnx("stats: record of %s %s written in part: %s",
			    e->worker, e->job_id, reply->element[1]->type ==
			    REDIS_REPLY_STRING ? reply->element[1]->str : "?");
	}
	s->written++;
	s->retry_ms = STATS_RETRY_MIN_MS;
	stats_remove(s, e);
}

/* Refused (LOADING, OOM, READONLY, ...): nothing was applied, the
 * record stays first in line and sending pauses, then resumes. */
static void
stats_exec_refused(struct stats *s, struct srec *e, redisReply *reply)
{
	struct timeval tv;

	if (stats_may_log(&s->refuse_log_ms))
		log_warnx("stats: Redis refused the record of %s %s: %s "
		    "(retrying in %lld s)", e->worker, e->job_id,
		    reply->type == REDIS_REPLY_ERROR ? reply->str : "aborted",
		    (long long)(s->retry_ms / 1000));
	/* Others of the window may be refused too: one pause for all. */
	if (s->blocked)
		return;
	s->blocked = 1;
	tv.tv_sec = s->retry_ms / 1000;
	tv.tv_usec = (s->retry_ms % 1000) * 1000;
	evtimer_add(s->retry_ev, &tv);
	s->retry_ms *= 2;
	if (s->retry_ms > STATS_RETRY_MAX_MS)
		s->retry_ms = STATS_RETRY_MAX_MS;
}

/* The reply of one record's script; NULL: the connection went away, and the
 * record waits for the next connection. */
static void
stats_exec_done(struct rds *r, redisReply *reply, void *arg)
{
	struct srec *e = arg;
	struct stats *s = e->s;

	(void)r;
	e->inflight = 0;
	s->inflight--;
	if (reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_ARRAY)
		stats_exec_ran(s, e, reply);
	else
		stats_exec_refused(s, e, reply);
	stats_trim(s);
	stats_pump(s);
}

/* The record's keys and fixed arguments (see stats_record_lua). */
struct stats_call {
	char	 stats[STATS_KEY_MAX], hist[STATS_KEY_MAX];
	char	 metrics[STATS_KEY_MAX], fail[STATS_KEY_MAX];
	char	 last[16], ttl[16], score[32], trim[32], nextra[16];
	char	 argc[STATS_EXTRA_MAX][16];
};

/* Fills c for e; the failures are trimmed with a failure, else at most
 * once a second. */
static void
stats_call_fill(struct stats *s, struct srec *e, struct stats_call *c)
{
	int64_t now = mv_mono_ms();

	snprintf(c->stats, sizeof(c->stats), "%sworker:stats:%s", s->prefix,
	    e->worker);
	snprintf(c->hist, sizeof(c->hist), "%sworker:history:%s", s->prefix,
	    e->worker);
	snprintf(c->metrics, sizeof(c->metrics), "%sworker:metrics:%s:%s",
	    s->prefix, e->worker, e->job_id);
	snprintf(c->fail, sizeof(c->fail), "%sworker:failures", s->prefix);
	snprintf(c->last, sizeof(c->last), "%d", s->history_max - 1);
	snprintf(c->ttl, sizeof(c->ttl), "%d", s->metrics_ttl);
	c->score[0] = c->trim[0] = '\0';
	if (e->failure)
		snprintf(c->score, sizeof(c->score), "%lld", e->completed);
	if (s->failures_max_age > 0 && (e->failure || s->trim_ms == 0 ||
	    now - s->trim_ms >= 1000)) {
		snprintf(c->trim, sizeof(c->trim), "(%lld",
		    (long long)time(NULL) - s->failures_max_age);
		s->trim_ms = now != 0 ? now : 1;
	}
	snprintf(c->nextra, sizeof(c->nextra), "%zu", e->nextra);
}

/*
 * Sends one record as one call of stats_record_lua. Returns 0, or -1 when
 * nothing could be sent (not connected, out of memory).
 */
static int
stats_send(struct stats *s, struct srec *e)
{
	struct stats_call c;
	const char **v;
	size_t *l, i, n = 16;
	int j, k = 0, rc;

	for (i = 0; i < e->nextra; i++)
		n += 1 + (size_t)e->extra[i].argc;
	v = calloc(n, sizeof(*v));
	l = calloc(n, sizeof(*l));
	if (v == NULL || l == NULL) {
		free(v);
		free(l);
		return -1;
	}
	stats_call_fill(s, e, &c);
	v[k++] = "4"; v[k++] = c.stats; v[k++] = c.hist; v[k++] = c.metrics;
	v[k++] = c.fail;
	v[k++] = e->skipped ? "k" : e->failure ? "f" : "s";
	v[k++] = e->duration; v[k++] = e->last; v[k++] = e->status;
	l[k] = e->hist_len; v[k++] = e->hist;
	v[k++] = c.last;
	l[k] = e->full_len; v[k++] = e->full;
	v[k++] = c.ttl; v[k++] = c.score; v[k++] = c.trim; v[k++] = c.nextra;
	for (i = 0; i < e->nextra; i++) {
		snprintf(c.argc[i], sizeof(c.argc[i]), "%d", e->extra[i].argc);
		v[k++] = c.argc[i];
		for (j = 0; j < e->extra[i].argc; j++) {
			l[k] = e->extra[i].len[j];
			v[k++] = e->extra[i].argv[j];
		}
	}
	for (j = 0; j < k; j++)
		if (l[j] == 0)
			l[j] = strlen(v[j]);
	rc = rds_eval(s->rds, &stats_record_script, k, v, l, stats_exec_done,
	    e);
	free(v);
	free(l);
	return rc;
}

/* Sends waiting records, oldest first, while connected and the window
 * has room. */
static void
stats_pump(struct stats *s)
{
	struct srec *e;

	while (!s->blocked && s->inflight < STATS_WINDOW &&
	    rds_connected(s->rds)) {
		if ((e = stats_first_waiting(s)) == NULL)
			break;
		if (stats_send(s, e) == -1)
			break;
		e->inflight = 1;
		s->inflight++;
	}
}

/* The connection is (again) ready: flush. */
static void
stats_on_connect(void *arg)
{
	stats_pump(arg);
}

struct stats *
stats_new(struct rds *rds, const char *key_prefix, size_t buffer_max,
    int metrics_ttl, int history_max, long failures_max_age)
{
	struct stats *s;

	if (key_prefix == NULL)
		key_prefix = "";
	if (rds == NULL || buffer_max < 1 || metrics_ttl < 1 ||
	    history_max < 1 || failures_max_age < 0 ||
	    strlen(key_prefix) > STATS_PREFIX_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->retry_ev = evtimer_new(rds_base(rds), stats_retry_cb, s);
	if (s->retry_ev == NULL) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	strlcpy(s->prefix, key_prefix, sizeof(s->prefix));
	s->rds = rds;
	s->buffer_max = buffer_max;
	s->bytes_max = STATS_BYTES_MAX;
	s->metrics_ttl = metrics_ttl;
	s->history_max = history_max;
	s->failures_max_age = failures_max_age;
	s->retry_ms = STATS_RETRY_MIN_MS;
	TAILQ_INIT(&s->queue);
	rds_on_connect(rds, stats_on_connect, s);
	return s;
}

void
stats_set_bytes(struct stats *s, size_t bytes_max)
{
	if (bytes_max == 0)
		return;
	s->bytes_max = bytes_max;
	stats_trim(s);
}

void
stats_counters(const struct stats *s, struct stats_counters *c)
{
	c->written = s->written;
	c->dropped = s->dropped;
	c->invalid = s->invalid;
	c->errors = s->errors;
	c->buffered = s->n;
	c->connected = rds_connected(s->rds);
}

static void
stats_wake_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

int
stats_flush_wait(struct stats *s, double seconds)
{
	int64_t deadline, left;
	struct event *wake;
	struct timeval tv;

	deadline = mv_mono_ms() + (int64_t)(seconds * 1000);
	if ((wake = evtimer_new(rds_base(s->rds), stats_wake_cb, NULL)) ==
	    NULL)
		return -1;
	while (s->n > 0 && (left = deadline - mv_mono_ms()) > 0) {
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		evtimer_add(wake, &tv);
		stats_pump(s);
		/* -1: called from a callback of the running loop, which
		 * libevent refuses to enter again. */
		if (event_base_loop(rds_base(s->rds), EVLOOP_ONCE) == -1) {
			event_free(wake);
			log_warnx("stats: cannot flush from inside the loop");
			errno = EDEADLK;
			return -1;
		}
	}
	event_free(wake);
	if (s->n == 0)
		return 0;
	errno = ETIMEDOUT;
	return -1;
}

void
stats_free(struct stats *s)
{
	struct srec *e;

	if (s == NULL)
		return;
	rds_on_connect(s->rds, NULL, s);
	if (s->n > 0)
		log_warnx("stats: %zu records not written to Redis", s->n);
	if (s->drops_unlogged > 0)
		log_warnx("stats: record buffer full: dropped the %llu oldest",
		    (unsigned long long)s->drops_unlogged);
	while ((e = TAILQ_FIRST(&s->queue)) != NULL) {
		if (e->inflight)
			rds_cancel(s->rds, e);
		TAILQ_REMOVE(&s->queue, e, entry);
		stats_srec_free(e);
	}
	event_free(s->retry_ev);
	free(s);
}
