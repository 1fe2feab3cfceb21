/* mailvisord's stats writer: execution records to Redis keys (contract
 * §3), one MULTI/EXEC per record, through a bounded FIFO. */
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
 * The average is computed by the server, inside the record's transaction:
 * this script runs after the record's HINCRBYs in the same MULTI, reads
 * the totals and writes total_duration / (successful + failed), skipped
 * runs having no duration. It also writes 0 to the fields no record has
 * touched yet, so that the hash always has all seven (contract §3), a
 * worker that never failed a failed_executions of 0. So the average always agrees with the totals,
 * even when several daemons write the same worker's hash, with no extra
 * round trip and no read-modify-write race on our side. EVAL, not
 * EVALSHA: after a restart of Redis, EVALSHA would fail with NOSCRIPT at
 * EXEC time, once the record's other writes had applied. The text is
 * constant; data only comes in as KEYS[1]. Printed with 6 decimals at
 * most, trailing zeros cut: "1.75", "2".
 */
static const char stats_avg_lua[] =
    "for _, f in ipairs({'successful_executions', 'failed_executions',"
    " 'total_duration', 'average_duration'}) do\n"
    "  redis.call('HSETNX', KEYS[1], f, '0')\n"
    "end\n"
    "local v = redis.call('HMGET', KEYS[1], 'total_duration',"
    " 'successful_executions', 'failed_executions')\n"
    "local n = (tonumber(v[2]) or 0) + (tonumber(v[3]) or 0)\n"
    "if n > 0 then\n"
    "  local a = string.format('%.6f', (tonumber(v[1]) or 0) / n)\n"
    "  a = string.gsub(a, '0+$', '')\n"
    "  a = string.gsub(a, '%.$', '')\n"
    "  redis.call('HSET', KEYS[1], 'average_duration', a)\n"
    "end\n"
    "return n\n";

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

/* EXEC ran: the record is written, though a command may have failed
 * (e.g. WRONGTYPE on a key written by someone else). Sending it again
 * would apply the other commands twice, so it is not retried. */
static void
stats_exec_ran(struct stats *s, struct srec *e, redisReply *reply)
{
	size_t i;

	for (i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type != REDIS_REPLY_ERROR)
			continue;
		s->errors++;
		if (stats_may_log(&s->error_log_ms))
			log_warnx("stats: record of %s %s written in part: %s",
			    e->worker, e->job_id, reply->element[i]->str);
		break;
	}
	s->written++;
	s->retry_ms = STATS_RETRY_MIN_MS;
	stats_remove(s, e);
}

/* EXEC refused (EXECABORT: LOADING, OOM, ...): nothing was applied, the
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

/* The EXEC reply of one record; NULL: the connection went away, and the
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

/* Sends one command of a transaction unless an earlier one failed. */
static void
stats_cmd(struct stats *s, int *rc, int argc, const char **argv,
    const size_t *len)
{
	if (*rc == 0)
		*rc = rds_command(s->rds, argc, argv, len, NULL, NULL);
}

/* The worker:stats hash's part of a transaction. */
static void
stats_send_hash(struct stats *s, struct srec *e, int *rc)
{
	char key[STATS_KEY_MAX];
	const char *which;

	snprintf(key, sizeof(key), "%sworker:stats:%s", s->prefix, e->worker);
	stats_cmd(s, rc, 4, (const char *[]){ "HINCRBY", key,
	    "total_executions", "1" }, NULL);
	if (!e->skipped) {
		which = e->failure ? "failed_executions" :
		    "successful_executions";
		stats_cmd(s, rc, 4, (const char *[]){ "HINCRBY", key, which,
		    "1" }, NULL);
		stats_cmd(s, rc, 4, (const char *[]){ "HINCRBYFLOAT", key,
		    "total_duration", e->duration }, NULL);
	}
	stats_cmd(s, rc, 6, (const char *[]){ "HSET", key, "last_execution",
	    e->last, "last_status", e->status }, NULL);
	stats_cmd(s, rc, 4, (const char *[]){ "EVAL", stats_avg_lua, "1",
	    key }, NULL);
}

/* The history, metrics and failures part of a transaction. */
static void
stats_send_lists(struct stats *s, struct srec *e, int *rc)
{
	char key[STATS_KEY_MAX], num[32], fkey[STATS_KEY_MAX];

	snprintf(key, sizeof(key), "%sworker:history:%s", s->prefix,
	    e->worker);
	stats_cmd(s, rc, 3, (const char *[]){ "LPUSH", key, e->hist },
	    (const size_t[]){ 5, strlen(key), e->hist_len });
	snprintf(num, sizeof(num), "%d", s->history_max - 1);
	stats_cmd(s, rc, 4, (const char *[]){ "LTRIM", key, "0", num }, NULL);
	snprintf(key, sizeof(key), "%sworker:metrics:%s:%s", s->prefix,
	    e->worker, e->job_id);
	snprintf(num, sizeof(num), "%d", s->metrics_ttl);
	stats_cmd(s, rc, 5, (const char *[]){ "SET", key, e->full, "EX", num },
	    (const size_t[]){ 3, strlen(key), e->full_len, 2, strlen(num) });
	snprintf(fkey, sizeof(fkey), "%sworker:failures", s->prefix);
	if (e->failure) {
		snprintf(num, sizeof(num), "%lld", e->completed);
		stats_cmd(s, rc, 4, (const char *[]){ "ZADD", fkey, num,
		    e->full }, (const size_t[]){ 4, strlen(fkey), strlen(num),
		    e->full_len });
	}
	if (s->failures_max_age > 0) {
		snprintf(num, sizeof(num), "(%lld",
		    (long long)time(NULL) - s->failures_max_age);
		stats_cmd(s, rc, 4, (const char *[]){ "ZREMRANGEBYSCORE", fkey,
		    "-inf", num }, NULL);
	}
}

/*
 * Sends one record as MULTI ... EXEC. Returns 0, or -1 when nothing could
 * be sent (not connected). A transaction cut short (out of memory) leaves
 * the connection inside MULTI: it is reset, and the record stays.
 */
static int
stats_send(struct stats *s, struct srec *e)
{
	size_t i;
	int rc = 0;

	if (rds_command(s->rds, 1, (const char *[]){ "MULTI" }, NULL, NULL,
	    NULL) == -1)
		return -1;
	stats_send_hash(s, e, &rc);
	stats_send_lists(s, e, &rc);
	for (i = 0; i < e->nextra; i++)
		stats_cmd(s, &rc, e->extra[i].argc, e->extra[i].argv,
		    e->extra[i].len);
	if (rc == 0)
		rc = rds_command(s->rds, 1, (const char *[]){ "EXEC" }, NULL,
		    stats_exec_done, e);
	if (rc == -1) {
		rds_reset(s->rds, "stats: cannot queue a record");
		return -1;
	}
	return 0;
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
