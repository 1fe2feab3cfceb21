/* mailvisord's queued jobs on Redis Streams: reading by priority,
 * validation, idempotency holds, records with their acknowledgement,
 * delayed retries, dead letters, fire claims and the DLQ tools. */
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/record.h"
#include "shared/utf8.h"
#include "supervisor/backoff.h"
#include "supervisor/conf.h"
#include "supervisor/queue.h"
#include "supervisor/rds.h"
#include "supervisor/stats.h"

#define QM_BUF		0	/* read, not checked yet */
#define QM_CHECK	1	/* its own check sent at start (active) */
#define QM_RUN		2	/* delivered */
#define QM_PRECHECK	3	/* read, in a batch check */
#define QM_READY	4	/* read and checked: may start */

#define QUEUE_ARGS_MAX	65536	/* bytes of the args field */
#define QUEUE_FIELD_MAX	200	/* bytes of other short fields */
#define QUEUE_ATTEMPT_MAX 1000

TAILQ_HEAD(qmsgs, qmsg);

struct qstream {
	struct queue_conf	 c;
	char			 key[QUEUE_KEY_MAX];
	struct qmsgs		 buf;
	int			 nbuf;
	int			 running;	/* CHECK and RUN */
	int			 dry;		/* nothing new at last read */
	int			 reclaiming;	/* reclaim reply awaited */
};

enum qtool_kind {
	QT_QUEUES,
	QT_ENQUEUE,
	QT_PURGE,
	QT_PEEK,
	QT_REPROCESS,
	QT_DLQ_PURGE,
};

/* A tool's command on its way: the reply makes the result. */
struct qtool {
	TAILQ_ENTRY(qtool)	 entry;
	struct queue		*q;
	enum qtool_kind		 kind;
	queue_tool_fn		 cb;		/* NULL: cancelled */
	void			*arg;
	char			 queue[QUEUE_NAME_MAX + 1];
	char			 names[];	/* QT_QUEUES: the queues'
						 * names, NUL-separated */
};

struct queue {
	struct event_base	*base;
	struct rds		*cmd, *blk;
	struct stats		*st;
	const struct conf	*conf;
	struct qstream		*s;
	size_t			 n;
	char			 group[QUEUE_NAME_MAX + 1];
	char			 consumer[QUEUE_FIELD_MAX + 1];
	char			 prefix[STATS_PREFIX_MAX + 1];
	char			 ttl[24];
	double			 margin;
	int			 tenant_limit;
	int			 block_ms;
	int			 hb_ms;
	queue_deliver_fn	 deliver;
	void			*arg;
	struct qmsgs		 active;	/* CHECK and RUN */
	TAILQ_HEAD(, qtool)	 tools;		/* replies awaited */
	TAILQ_HEAD(, qbatch)	 batches;	/* replies awaited */
	int			 avail;
	int			 reading;
	unsigned long		 picks;
	struct event		*tick_ev, *hb_ev;
	struct queue_counters	 cnt;
};

/* A batch check on its way: the entries it asked about. */
struct qbatch {
	TAILQ_ENTRY(qbatch)	 entry;
	struct queue		*q;
	size_t			 n;
	struct {
		int		 qi;
		char		 id[48];
	}			 e[];
};

struct fire_claim {
	void	(*cb)(void *, int);
	void	*arg;
};

/* Moves due retries back to their streams, atomically per member. */
static const char queue_mover_lua[] =
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],"
    " 'LIMIT', 0, 100)\n"
    "for _, m in ipairs(due) do\n"
    "  local ok, o = pcall(cjson.decode, m)\n"
    "  if ok and type(o) == 'table' and type(o.q) == 'string' and\n"
    "      type(o.f) == 'table' and #o.f >= 2 then\n"
    "    redis.call('XADD', ARGV[2] .. o.q, '*', unpack(o.f))\n"
    "  end\n"
    "  redis.call('ZREM', KEYS[1], m)\n"
    "end\n"
    "return #due\n";

/*
 * The idempotency and revocation check of a batch of entries: KEYS[1] the
 * revoked set, ARGV[1] the hold's TTL, ARGV[2] the hold keys' prefix,
 * then per entry its origin id, entry id and idempotency key. Per entry,
 * in order: 2 revoked; 1 another job holds the key; 0 ours (the hold
 * taken or already ours): run it. One SMISMEMBER for the batch and one
 * SET NX per entry (a GET only when the key is held).
 */
static const char queue_check_lua[] =
    "local n = (#ARGV - 2) / 3\n"
    "local ids = {}\n"
    "for i = 0, n - 1 do\n"
    "  ids[2 * i + 1] = ARGV[3 + 3 * i]\n"
    "  ids[2 * i + 2] = ARGV[4 + 3 * i]\n"
    "end\n"
    "local rv = redis.call('SMISMEMBER', KEYS[1], unpack(ids))\n"
    "local out = {}\n"
    "for i = 0, n - 1 do\n"
    "  local o, k = ARGV[3 + 3 * i], ARGV[2] .. ARGV[5 + 3 * i]\n"
    "  if rv[2 * i + 1] == 1 or rv[2 * i + 2] == 1 then out[i + 1] = 2\n"
    "  elseif redis.call('SET', k, o, 'NX', 'EX', ARGV[1]) then"
    " out[i + 1] = 0\n"
    "  elseif redis.call('GET', k) == o then out[i + 1] = 0\n"
    "  else out[i + 1] = 1 end\n"
    "end\n"
    "return out\n";

/*
 * Takes over entries of stream KEYS[1], group ARGV[1], for consumer
 * ARGV[2]: those of another consumer without heartbeat (key ARGV[4] ..
 * consumer) idle longer than their job's limit (ARGV[5..] pairs job, ms;
 * ARGV[3] for other jobs). Returns the entries claimed.
 */
static const char queue_reclaim_lua[] =
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3],"
    " '-', '+', 50)\n"
    "local out = {}\n"
    "for _, e in ipairs(p) do\n"
    "  local id, who, idle = e[1], e[2], tonumber(e[3])\n"
    "  if who ~= ARGV[2] and redis.call('EXISTS', ARGV[4] .. who) == 0"
    " then\n"
    "    local lim = tonumber(ARGV[3])\n"
    "    local r = redis.call('XRANGE', KEYS[1], id, id)\n"
    "    if r[1] then\n"
    "      local f = r[1][2]\n"
    "      for i = 1, #f, 2 do\n"
    "        if f[i] == 'job' then\n"
    "          for j = 5, #ARGV, 2 do\n"
    "            if ARGV[j] == f[i + 1] then lim = tonumber(ARGV[j + 1])"
    " end\n"
    "          end\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    if idle >= lim then\n"
    "      local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], lim,"
    " id)\n"
    "      if c[1] and c[1][2] then table.insert(out, c[1])\n"
    "      elseif c[1] then redis.call('XACK', KEYS[1], ARGV[1], id) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

static struct rds_script queue_mover_script = RDS_SCRIPT(queue_mover_lua);
static struct rds_script queue_check_script = RDS_SCRIPT(queue_check_lua);
static struct rds_script queue_reclaim_script =
    RDS_SCRIPT(queue_reclaim_lua);

static const char *const queue_fields[] = {
	"job", "args", "tenant_id", "user_id", "idempotency_key", "attempt",
	"enqueued_at", "origin_id", "attempts", NULL
};

static void queue_pump(struct queue *);
static void queue_reclaim(struct queue *);

/* 1 when s is a queue name: [A-Za-z0-9_.-], 1 to QUEUE_NAME_MAX. */
static int
queue_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || strlen(s) > QUEUE_NAME_MAX)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) ==
		    NULL)
			return 0;
	return 1;
}

/* Parses a stream id "ms-seq". 0 or -1. */
static int
queue_parse_id(const char *s, unsigned long long *ms,
    unsigned long long *seq)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*ms = strtoull(s, &end, 10);
	if (errno != 0 || *end != '-' || !isdigit((unsigned char)end[1]))
		return -1;
	*seq = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end - s >= 48)
		return -1;
	return 0;
}

static int64_t
queue_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
queue_arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

void
queue_conf_free(struct queue_conf *qs, size_t n)
{
	size_t i;

	if (qs == NULL)
		return;
	for (i = 0; i < n; i++)
		free(qs[i].name);
	free(qs);
}

struct queue_conf *
queue_defaults(size_t *n)
{
	static const struct {
		const char	*name;
		int		 prio, retries;
		double		 initial;
	} seed[] = {
		{ "sync", 10, 5, 60 }, { "send", 8, 3, 30 },
		{ "delete", 5, 2, 30 }, { "spam", 3, 2, 30 },
		{ "periodic", 10, 1, 30 },
	};
	struct queue_conf *qs;
	size_t i, k = sizeof(seed) / sizeof(seed[0]);

	if ((qs = calloc(k, sizeof(*qs))) == NULL)
		return NULL;
	for (i = 0; i < k; i++) {
		if ((qs[i].name = strdup(seed[i].name)) == NULL) {
			queue_conf_free(qs, k);
			return NULL;
		}
		qs[i].priority = seed[i].prio;
		qs[i].max_retries = seed[i].retries;
		qs[i].backoff.initial = seed[i].initial;
		qs[i].backoff.factor = 2;
		qs[i].backoff.max = seed[i].initial * 4;
		qs[i].backoff.jitter = 0.1;
	}
	*n = k;
	return qs;
}

static void
queue_msg_free(struct qmsg *m)
{
	if (m == NULL)
		return;
	json_decref(m->fields);
	json_decref(m->attempts);
	json_decref(m->args);
	free(m->tenant);
	free(m->idem);
	free(m);
}

/* The field's value as a C string, or NULL. Borrowed. */
static const char *
queue_field(const struct qmsg *m, const char *name)
{
	return json_string_value(json_object_get(m->fields, name));
}

/* Checks the names, count and encoding of the fields. NULL or why not. */
static const char *
queue_check_fields(struct qmsg *m, const redisReply *f)
{
	const char *const *p;
	const char *name;
	size_t i;

	if (f == NULL || f->type != REDIS_REPLY_ARRAY || f->elements % 2)
		return "no fields";
	for (i = 0; i < f->elements; i += 2) {
		name = f->element[i]->str;
		for (p = queue_fields; *p != NULL; p++)
			if (f->element[i]->len == strlen(*p) &&
			    memcmp(name, *p, f->element[i]->len) == 0)
				break;
		if (*p == NULL)
			return "field not allowed in a message";
		if (json_object_get(m->fields, *p) != NULL)
			return "field given twice";
		json_object_set_new(m->fields, *p, mv_json_strn(
		    f->element[i + 1]->str, f->element[i + 1]->len));
		if (f->element[i + 1]->len > (strcmp(*p, "args") == 0 ?
		    QUEUE_ARGS_MAX : QUEUE_FIELD_MAX))
			return "field too long";
		if (!mv_utf8_valid(f->element[i + 1]->str,
		    f->element[i + 1]->len) || memchr(f->element[i + 1]->str,
		    '\0', f->element[i + 1]->len) != NULL)
			return "field not valid UTF-8";
	}
	return NULL;
}

/* Copies all the fields into m->fields (repaired), for a DLQ entry. */
static void
queue_keep_fields(struct qmsg *m, const redisReply *f)
{
	char name[64];
	size_t i;

	if (f == NULL || f->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i + 1 < f->elements; i += 2) {
		snprintf(name, sizeof(name), "%.*s", (int)(f->element[i]->len <
		    60 ? f->element[i]->len : 60), f->element[i]->str);
		if (json_object_get(m->fields, name) == NULL)
			json_object_set_new(m->fields, name, mv_json_strn(
			    f->element[i + 1]->str, f->element[i + 1]->len));
	}
}

/* The attempt, origin and attempts list. NULL or why not. */
static const char *
queue_check_meta(struct qmsg *m)
{
	const char *s;
	char *end;
	long v;
	size_t i;

	m->attempt = 1;
	if ((s = queue_field(m, "attempt")) != NULL) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (!isdigit((unsigned char)*s) || *end != '\0' || errno ||
		    v < 1 || v > QUEUE_ATTEMPT_MAX)
			return "attempt not a number from 1 to 1000";
		m->attempt = (int)v;
	}
	if ((s = queue_field(m, "origin_id")) != NULL) {
		unsigned long long a, b;

		if (queue_parse_id(s, &a, &b) == -1)
			return "origin_id not a stream id";
		strlcpy(m->job_id, s, sizeof(m->job_id));
	}
	if ((s = queue_field(m, "attempts")) != NULL) {
		json_decref(m->attempts);
		m->attempts = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_array(m->attempts))
			return "attempts not a JSON array";
		for (i = 0; i < json_array_size(m->attempts); i++)
			if (!json_is_string(json_array_get(m->attempts, i)))
				return "attempts not a JSON array of strings";
	}
	s = queue_field(m, "idempotency_key");
	if (s != NULL && *s == '\0')
		return "empty idempotency_key";
	if ((m->idem = strdup(s != NULL ? s : m->job_id)) == NULL)
		return "out of memory";
	return NULL;
}

/* The job, account and args against q's configuration. NULL or why. */
static const char *
queue_check_job(struct queue *q, struct qmsg *m, char *err, size_t errlen)
{
	const char *job, *t, *u, *a;
	char **argv;

	if ((job = queue_field(m, "job")) == NULL)
		return "no job";
	if ((m->job = conf_job(q->conf, job)) == NULL)
		return "unknown job";
	t = queue_field(m, "tenant_id");
	u = queue_field(m, "user_id");
	if (t == NULL || u == NULL)
		return "no tenant_id or user_id";
	if ((m->acct = conf_account_by_ids(q->conf, t, u)) == NULL)
		return "tenant_id and user_id name no configured account";
	json_decref(m->args);
	a = queue_field(m, "args");
	m->args = a != NULL ? json_loads(a, JSON_REJECT_DUPLICATES, NULL) :
	    json_object();
	if (!json_is_object(m->args))
		return "args not a JSON object";
	if ((argv = conf_render_argv(m->job, m->acct, m->args, err,
	    errlen)) == NULL)
		return err;
	conf_argv_free(argv);
	free(m->tenant);
	if ((m->tenant = strdup(t)) == NULL)
		return "out of memory";
	return NULL;
}

/*
 * A message from one stream entry (id, fields) of stream si. Returns it
 * with *why NULL when valid; with *why set when it must go to the DLQ;
 * NULL when out of memory.
 */
static struct qmsg *
queue_msg_new(struct queue *q, int si, const redisReply *id,
    const redisReply *f, const char **why, char *err, size_t errlen)
{
	struct qmsg *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->q = q;
	m->qi = si;
	m->queue = q->s[si].c.name;
	m->attempt = 1;
	m->fields = json_object();
	m->attempts = json_array();
	if (m->fields == NULL || m->attempts == NULL) {
		queue_msg_free(m);
		return NULL;
	}
	snprintf(m->id, sizeof(m->id), "%.*s", (int)(id->len < 47 ?
	    id->len : 47), id->str);
	if (queue_parse_id(m->id, &m->ms, &m->seq) == -1)
		m->ms = m->seq = ULLONG_MAX;
	strlcpy(m->job_id, m->id, sizeof(m->job_id));
	if ((*why = queue_check_fields(m, f)) == NULL &&
	    (*why = queue_check_meta(m)) == NULL)
		*why = queue_check_job(q, m, err, errlen);
	if (*why != NULL)
		queue_keep_fields(m, f);
	return m;
}

/* The worker name of m's records. */
static const char *
queue_worker(const struct qmsg *m, char *buf, size_t len)
{
	if (m->job != NULL)
		return m->job->name;
	snprintf(buf, len, "queue:%s", m->queue);
	return buf;
}

/* Sets x[0] to an XACK of m and x[1] to an XDEL of it (v: 7 strings):
 * an entry done leaves its stream, so that a stream holds only the jobs
 * waiting or running and its length tells the backlog. */
static void
queue_x_ack(struct queue *q, const struct qmsg *m, struct stats_cmd *x,
    const char **v)
{
	v[0] = "XACK";
	v[1] = q->s[m->qi].key;
	v[2] = q->group;
	v[3] = m->id;
	x[0].argc = 4;
	x[0].argv = v;
	x[0].len = NULL;
	v[4] = "XDEL";
	v[5] = q->s[m->qi].key;
	v[6] = m->id;
	x[1].argc = 3;
	x[1].argv = v + 4;
	x[1].len = NULL;
}

/*
 * Writes record with the extra commands, then XACK of m, in one
 * transaction, and frees m (and the record).
 */
static void
queue_commit(struct queue *q, struct qmsg *m, json_t *record,
    struct stats_cmd *x, size_t nx)
{
	struct stats_cmd all[STATS_EXTRA_MAX];
	const char *ack[7];
	char wbuf[QUEUE_NAME_MAX + 8];
	size_t i;

	for (i = 0; i < nx && i < STATS_EXTRA_MAX - 2; i++)
		all[i] = x[i];
	queue_x_ack(q, m, &all[i], ack);
	i += 2;
	if (record != NULL && m->job == NULL)
		json_object_set_new(record, "queue", json_string(m->queue));
	stats_record_tx(q->st, queue_worker(m, wbuf, sizeof(wbuf)), m->job_id,
	    record, all, i);
	queue_msg_free(m);
}

/* A record of a message that did not run. New reference. */
static json_t *
queue_skeleton(const struct qmsg *m, const char *status, const char *reason)
{
	char wbuf[QUEUE_NAME_MAX + 8];
	json_t *rec;

	rec = mv_record_skeleton(queue_worker(m, wbuf, sizeof(wbuf)),
	    m->job_id, status, m->attempt, time(NULL));
	if (rec != NULL) {
		json_object_set_new(rec, "reason", json_string(reason));
		if (m->acct != NULL)
			json_object_set_new(rec, "account",
			    json_string(m->acct->name));
	}
	return rec;
}

/*
 * To the DLQ with record (stolen; NULL: one of status "failed" is made)
 * and reason: XADD to the DLQ and XACK with the record. Frees m.
 */
static void
queue_to_dlq(struct queue *q, struct qmsg *m, json_t *record,
    const char *reason)
{
	char key[QUEUE_KEY_MAX], at[32], why[256];
	char *fields, *attempts, *rec;
	const char *v[20];
	struct stats_cmd x[2];

	/* reason may point into record, which stats_record_tx() consumes
	 * before it copies the extra commands: keep a copy. */
	strlcpy(why, reason != NULL ? reason : "failed", sizeof(why));
	reason = why;
	if (record == NULL)
		record = queue_skeleton(m, "failed", reason);
	snprintf(key, sizeof(key), "%smailvisor:dlq", q->prefix);
	mv_iso8601(time(NULL), at, sizeof(at));
	fields = json_dumps(m->fields, JSON_COMPACT);
	attempts = json_dumps(m->attempts, JSON_COMPACT);
	rec = record != NULL ? mv_record_dumps(record) : NULL;
	v[0] = "XADD"; v[1] = key; v[2] = "*";
	v[3] = "queue"; v[4] = m->queue;
	v[5] = "id"; v[6] = m->id;
	v[7] = "job_id"; v[8] = m->job_id;
	v[9] = "reason"; v[10] = reason;
	v[11] = "fields"; v[12] = fields != NULL ? fields : "{}";
	v[13] = "attempts"; v[14] = attempts != NULL ? attempts : "[]";
	v[15] = "record"; v[16] = rec != NULL ? rec : "{}";
	v[17] = "at"; v[18] = at;
	x[0].argc = 19;
	x[0].argv = v;
	x[0].len = NULL;
	log_warnx("queue %s: entry %s (job %s) to the dead letters: %s",
	    m->queue, m->id, m->job_id, reason);
	q->cnt.dead++;
	queue_commit(q, m, record, x, 1);
	free(fields);
	free(attempts);
	free(rec);
}

/* Takes m out of the active list. */
static void
queue_deactivate(struct queue *q, struct qmsg *m)
{
	TAILQ_REMOVE(&q->active, m, entry);
	q->s[m->qi].running--;
}

/* The revocation and idempotency keys of the checks. */
static void
queue_check_keys(struct queue *q, char *rk, size_t rlen, char *ik,
    size_t ilen)
{
	snprintf(rk, rlen, "%smailvisor:revoked", q->prefix);
	snprintf(ik, ilen, "%smailvisor:idem:", q->prefix);
}

/* A message that must not run (v 2: revoked; 1: a duplicate) is recorded
 * and acknowledged. Frees m. */
static void
queue_not_run(struct queue *q, struct qmsg *m, long long v)
{
	const char *srem[4];
	char key[QUEUE_KEY_MAX];
	struct stats_cmd x[1];

	if (v == 2) {
		snprintf(key, sizeof(key), "%smailvisor:revoked", q->prefix);
		srem[0] = "SREM"; srem[1] = key; srem[2] = m->id;
		srem[3] = m->job_id;
		x[0].argc = 4;
		x[0].argv = srem;
		x[0].len = NULL;
		q->cnt.revoked++;
		log_info("queue %s: entry %s revoked", m->queue, m->id);
		queue_commit(q, m, queue_skeleton(m, "revoked", "revoked"),
		    x, 1);
	} else {
		q->cnt.skipped++;
		log_info("queue %s: entry %s: duplicate idempotency key",
		    m->queue, m->id);
		queue_commit(q, m, queue_skeleton(m, "skipped",
		    "duplicate idempotency key"), x, 0);
	}
}

/* Starts m (taken out of its buffer): it becomes active and runs. */
static void
queue_run(struct queue *q, struct qmsg *m)
{
	m->state = QM_RUN;
	TAILQ_INSERT_TAIL(&q->active, m, entry);
	q->s[m->qi].running++;
	q->cnt.delivered++;
	q->deliver(q->arg, m);
}

/* The verdict of m's own check (1 entry). */
static void
queue_check_done(struct rds *r, redisReply *reply, void *arg)
{
	struct qmsg *m = arg;
	struct queue *q = m->q;

	(void)r;
	queue_deactivate(q, m);
	q->avail++;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 1 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER) {
		/* No answer: it waits in the buffer again. */
		m->state = QM_BUF;
		TAILQ_INSERT_HEAD(&q->s[m->qi].buf, m, entry);
		q->s[m->qi].nbuf++;
		return;
	}
	if (reply->element[0]->integer == 0) {
		q->avail--;
		queue_run(q, m);
		return;
	}
	queue_not_run(q, m, reply->element[0]->integer);
	queue_pump(q);
}

/*
 * Sends the check of the n messages m (prefix, keys and one triple each)
 * with cb and arg. 0 or -1.
 */
static int
queue_check_send(struct queue *q, struct qmsg **m, size_t n, rds_reply_fn cb,
    void *arg)
{
	char rk[QUEUE_KEY_MAX], ik[QUEUE_KEY_MAX];
	const char *v[5 + 3 * QUEUE_BATCH_MAX];
	size_t i;
	int c = 0;

	queue_check_keys(q, rk, sizeof(rk), ik, sizeof(ik));
	v[c++] = "1"; v[c++] = rk; v[c++] = q->ttl; v[c++] = ik;
	for (i = 0; i < n && i < QUEUE_BATCH_MAX; i++) {
		v[c++] = m[i]->job_id;
		v[c++] = m[i]->id;
		v[c++] = m[i]->idem;
	}
	return rds_eval(q->cmd, &queue_check_script, c, v, NULL, cb, arg);
}

/* Checks m again as it starts (its batch verdict has grown old); it then
 * counts as running. 0 or -1. */
static int
queue_check(struct queue *q, struct qmsg *m)
{
	if (queue_check_send(q, &m, 1, queue_check_done, m) == -1)
		return -1;
	m->state = QM_CHECK;
	TAILQ_INSERT_TAIL(&q->active, m, entry);
	q->s[m->qi].running++;
	return 0;
}

/* The message of entry e of batch b still waiting for that batch's
 * verdict, or NULL (forgotten meanwhile, by a reload). */
static struct qmsg *
queue_batch_msg(struct queue *q, const struct qbatch *b, size_t i)
{
	struct qmsg *m;

	if (b->e[i].qi < 0 || (size_t)b->e[i].qi >= q->n)
		return NULL;
	TAILQ_FOREACH(m, &q->s[b->e[i].qi].buf, entry)
		if (m->state == QM_PRECHECK && strcmp(m->id, b->e[i].id) == 0)
			return m;
	return NULL;
}

/* The verdicts of a batch check: ready, or recorded at once when they
 * must not run; with no answer, checked again later. */
static void
queue_batch_done(struct rds *r, redisReply *reply, void *arg)
{
	struct qbatch *b = arg;
	struct queue *q = b->q;
	const redisReply *v;
	struct qmsg *m;
	size_t i;
	int ok;

	(void)r;
	TAILQ_REMOVE(&q->batches, b, entry);
	ok = reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements == b->n;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("queue: check: %s", reply->str);
	for (i = 0; i < b->n; i++) {
		if ((m = queue_batch_msg(q, b, i)) == NULL)
			continue;
		v = ok ? reply->element[i] : NULL;
		if (v == NULL || v->type != REDIS_REPLY_INTEGER) {
			m->state = QM_BUF;
		} else if (v->integer == 0) {
			m->state = QM_READY;
			m->checked_ms = mv_mono_ms();
		} else {
			TAILQ_REMOVE(&q->s[m->qi].buf, m, entry);
			q->s[m->qi].nbuf--;
			queue_not_run(q, m, v->integer);
		}
	}
	free(b);
	if (ok)
		queue_pump(q);
}

/* Sends one check for the buffered messages not checked yet (up to
 * QUEUE_BATCH_MAX), so that they may start without a round trip. */
static void
queue_precheck(struct queue *q)
{
	struct qmsg *ms[QUEUE_BATCH_MAX], *m;
	struct qbatch *b;
	size_t i, n = 0;

	for (i = 0; i < q->n && n < QUEUE_BATCH_MAX; i++)
		TAILQ_FOREACH(m, &q->s[i].buf, entry)
			if (m->state == QM_BUF && n < QUEUE_BATCH_MAX)
				ms[n++] = m;
	if (n == 0 || !rds_connected(q->cmd) ||
	    (b = malloc(sizeof(*b) + n * sizeof(b->e[0]))) == NULL)
		return;
	b->q = q;
	b->n = n;
	for (i = 0; i < n; i++) {
		b->e[i].qi = ms[i]->qi;
		strlcpy(b->e[i].id, ms[i]->id, sizeof(b->e[i].id));
	}
	if (queue_check_send(q, ms, n, queue_batch_done, b) == -1) {
		free(b);
		return;
	}
	TAILQ_INSERT_TAIL(&q->batches, b, entry);
	for (i = 0; i < n; i++)
		ms[i]->state = QM_PRECHECK;
}

/* Running messages of tenant t. */
static int
queue_tenant_running(const struct queue *q, const char *t)
{
	const struct qmsg *m;
	int n = 0;

	TAILQ_FOREACH(m, &q->active, entry)
		if (strcmp(m->tenant, t) == 0)
			n++;
	return n;
}

/* 1 when stream si has used its share of the slots. */
static int
queue_share_full(const struct queue *q, size_t si)
{
	const struct qstream *s = &q->s[si];
	long cap;

	if (s->c.share <= 0 || q->conf == NULL)
		return 0;
	cap = (q->conf->daemon.max_children * s->c.share + 99) / 100;
	return s->running >= (cap < 1 ? 1 : cap);
}

/* The first message of stream si that may start now, or NULL. */
static struct qmsg *
queue_candidate(struct queue *q, size_t si)
{
	struct qstream *s = &q->s[si];
	struct qmsg *m;

	if (queue_share_full(q, si))
		return NULL;
	TAILQ_FOREACH(m, &s->buf, entry)
		if (m->state == QM_READY && (q->tenant_limit <= 0 ||
		    queue_tenant_running(q, m->tenant) < q->tenant_limit))
			return m;
	return NULL;
}

/* The next message to start: by priority, every QUEUE_AGE_EVERY-th the
 * oldest. NULL when none may start. */
static struct qmsg *
queue_pick(struct queue *q)
{
	struct qmsg *best = NULL, *m;
	int oldest = q->picks % QUEUE_AGE_EVERY == QUEUE_AGE_EVERY - 1;
	size_t i;

	for (i = 0; i < q->n; i++) {
		if ((m = queue_candidate(q, i)) == NULL)
			continue;
		if (best == NULL)
			best = m;
		else if (oldest && (m->ms < best->ms || (m->ms == best->ms &&
		    m->seq < best->seq)))
			best = m;
		else if (!oldest && q->s[i].c.priority >
		    q->s[best->qi].c.priority)
			best = m;
	}
	if (best != NULL)
		q->picks++;
	return best;
}

/* Starts checked messages while slots are free: at once when their
 * verdict is fresh, else after a check of their own. */
static void
queue_start(struct queue *q)
{
	struct qmsg *m;

	while (q->avail > 0 && (m = queue_pick(q)) != NULL) {
		TAILQ_REMOVE(&q->s[m->qi].buf, m, entry);
		q->s[m->qi].nbuf--;
		if (mv_mono_ms() - m->checked_ms > QUEUE_CHECK_FRESH_MS) {
			if (queue_check(q, m) == -1) {
				TAILQ_INSERT_HEAD(&q->s[m->qi].buf, m, entry);
				q->s[m->qi].nbuf++;
				return;
			}
			q->avail--;
			continue;
		}
		q->avail--;
		queue_run(q, m);
	}
}

/* 1 when entry id of stream si is already ours (buffered or active). */
static int
queue_known(struct queue *q, size_t si, const char *id, size_t len)
{
	struct qmsg *m;

	TAILQ_FOREACH(m, &q->s[si].buf, entry)
		if (strlen(m->id) == len && memcmp(m->id, id, len) == 0)
			return 1;
	TAILQ_FOREACH(m, &q->active, entry)
		if (m->qi == (int)si && strlen(m->id) == len &&
		    memcmp(m->id, id, len) == 0)
			return 1;
	return 0;
}

/* One entry [id, fields] read from stream si: buffered, or to the DLQ. */
static void
queue_take(struct queue *q, size_t si, const redisReply *e, int lost)
{
	char err[256];
	const char *why;
	struct qmsg *m;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    queue_known(q, si, e->element[0]->str, e->element[0]->len))
		return;
	err[0] = '\0';
	if ((m = queue_msg_new(q, (int)si, e->element[0], e->element[1],
	    &why, err, sizeof(err))) == NULL) {
		log_warn("queue %s: entry", q->s[si].c.name);
		return;
	}
	if (lost) {
		/* Its consumer died with it: that attempt counts. */
		log_warnx("queue %s: entry %s (job %s) reclaimed after attempt"
		    " %d", q->s[si].c.name, m->id, m->job_id, m->attempt);
		json_array_append_new(m->attempts, json_string("lost"));
		if (m->attempt < QUEUE_ATTEMPT_MAX)
			m->attempt++;
		q->cnt.reclaimed++;
	}
	if (why != NULL) {
		queue_to_dlq(q, m, NULL, why);
		return;
	}
	m->state = QM_BUF;
	TAILQ_INSERT_TAIL(&q->s[si].buf, m, entry);
	q->s[si].nbuf++;
}

/* The stream of key k in the reply, or -1. */
static int
queue_stream_of(const struct queue *q, const redisReply *k)
{
	size_t i;

	if (k->type != REDIS_REPLY_STRING)
		return -1;
	for (i = 0; i < q->n; i++)
		if (strlen(q->s[i].key) == k->len &&
		    memcmp(q->s[i].key, k->str, k->len) == 0)
			return (int)i;
	return -1;
}

/* The reply of an XREADGROUP: [[stream, [[id, fields], ...]], ...]. */
static void
queue_read_done(struct rds *r, redisReply *reply, void *arg)
{
	struct queue *q = arg;
	const redisReply *st;
	size_t i, j;
	int si;

	(void)r;
	q->reading = 0;
	if (reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("queue: XREADGROUP: %s", reply->str);
		return;
	}
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		st = reply->element[i];
		if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
		    (si = queue_stream_of(q, st->element[0])) == -1 ||
		    st->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		for (j = 0; j < st->element[1]->elements; j++)
			queue_take(q, (size_t)si, st->element[1]->element[j],
			    0);
		if (st->element[1]->elements > 0)
			q->s[si].dry = 0;
	}
	queue_pump(q);
}

/* How many messages a stream keeps read ahead: twice the slots, and
 * QUEUE_PREFETCH more, so that a slot that frees up starts the next one
 * at once, its check already done, and that the next read and check
 * (two round trips) come back before the buffer runs dry. */
static int
queue_target(const struct queue *q)
{
	long t = 2 * q->conf->daemon.max_children + QUEUE_PREFETCH;

	return t > QUEUE_BATCH_MAX ? QUEUE_BATCH_MAX : (int)t;
}

/* 1 when stream si buffers a message not checked yet. */
static int
queue_unchecked(const struct queue *q, size_t si)
{
	const struct qmsg *m;

	TAILQ_FOREACH(m, &q->s[si].buf, entry)
		if (m->state != QM_READY)
			return 1;
	return 0;
}

/*
 * Does stream si need reading (not blocking)? When it buffers less than
 * half its target (read ahead, even with no slot free), or when every
 * message it has buffered waits for its tenant to run fewer jobs: then
 * the messages behind them, perhaps of other tenants, are read too (up to
 * QUEUE_BATCH_MAX buffered), so that one tenant's backlog does not leave
 * slots idle. Not when it was dry at its last read.
 */
static int
queue_wants(struct queue *q, size_t si)
{
	const struct qstream *s = &q->s[si];

	if (s->dry)
		return 0;
	if (s->nbuf * 2 < queue_target(q))
		return 1;
	return q->tenant_limit > 0 && q->avail > 0 &&
	    s->nbuf < QUEUE_BATCH_MAX && !queue_share_full(q, si) &&
	    !queue_unchecked(q, si) && queue_candidate(q, si) == NULL;
}

/*
 * XREADGROUP of the streams that need it: with block, all of them on the
 * blocking connection; else those queue_wants(), id ">" (or "0": our own
 * pending entries, when own). 0 or -1.
 */
static int
queue_read(struct queue *q, int block, int own)
{
	const char *v[10 + 2 * 64];
	char count[16], bms[16], want[64];
	size_t i, k, n = 0;
	int c = 0, most = 0;

	v[c++] = "XREADGROUP"; v[c++] = "GROUP"; v[c++] = q->group;
	v[c++] = q->consumer; v[c++] = "COUNT"; v[c++] = count;
	if (block) {
		v[c++] = "BLOCK";
		v[c++] = bms;
	}
	v[c++] = "STREAMS";
	k = (size_t)c;
	for (i = 0; i < q->n && i < 64; i++)
		if ((want[i] = block || own || queue_wants(q, i))) {
			v[k + n++] = q->s[i].key;
			if (queue_target(q) - q->s[i].nbuf > most)
				most = queue_target(q) - q->s[i].nbuf;
		}
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++)
		v[k + n + i] = own ? "0" : ">";
	snprintf(count, sizeof(count), "%d", own ? QUEUE_BATCH_MAX :
	    most < 1 ? 1 : most);
	snprintf(bms, sizeof(bms), "%d", q->block_ms);
	if (!block)
		for (i = 0; i < q->n && i < 64; i++)
			if (want[i])
				q->s[i].dry = 1;
	if (rds_command(block ? q->blk : q->cmd, (int)(k + 2 * n), v, NULL,
	    queue_read_done, q) == -1)
		return -1;
	q->reading = 1;
	return 0;
}

/*
 * Checks what was read, starts what may start, and keeps the buffers
 * filled ahead; when nothing at all is buffered and slots are free, a
 * blocking read waits for messages.
 */
static void
queue_pump(struct queue *q)
{
	size_t i;

	queue_precheck(q);
	if (q->avail > 0)
		queue_start(q);
	if (q->reading)
		return;
	for (i = 0; i < q->n; i++)
		if (queue_wants(q, i) && queue_read(q, 0, 0) == 0)
			return;
	if (q->avail <= 0)
		return;
	for (i = 0; i < q->n; i++)
		if (q->s[i].nbuf > 0)
			return;
	queue_read(q, 1, 0);
}

void
queue_poll(struct queue *q, int free_slots)
{
	struct qmsg *m;
	int checking = 0;

	TAILQ_FOREACH(m, &q->active, entry)
		if (m->state == QM_CHECK)
			checking++;
	q->avail = free_slots - checking;
	queue_pump(q);
}

/* Every QUEUE_TICK_MS: due retries back, dry marks cleared, pump. */
static void
queue_tick_cb(int fd, short ev, void *arg)
{
	struct queue *q = arg;
	char key[QUEUE_KEY_MAX], pre[QUEUE_KEY_MAX], now[24];
	size_t i;

	(void)fd;
	(void)ev;
	snprintf(key, sizeof(key), "%smailvisor:delayed", q->prefix);
	snprintf(pre, sizeof(pre), "%smailvisor:queue:", q->prefix);
	snprintf(now, sizeof(now), "%lld", (long long)queue_now_ms());
	rds_eval(q->cmd, &queue_mover_script, 4, (const char *[]){ "1", key,
	    now, pre }, NULL, NULL, NULL);
	for (i = 0; i < q->n; i++)
		q->s[i].dry = 0;
	queue_pump(q);
	queue_arm(q->tick_ev, QUEUE_TICK_MS);
}

/* Every QUEUE_HEARTBEAT_MS: our heartbeat, and the idle time of the
 * entries we run reset (XCLAIM ... JUSTID to ourselves). */
static void
queue_hb_cb(int fd, short ev, void *arg)
{
	struct queue *q = arg;
	char key[QUEUE_KEY_MAX], now[24], ttl[16];
	const char *v[6 + 64];
	struct qmsg *m;
	size_t i;
	int c;

	(void)fd;
	(void)ev;
	snprintf(key, sizeof(key), "%smailvisor:consumer:%s", q->prefix,
	    q->consumer);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(ttl, sizeof(ttl), "%d", QUEUE_HEARTBEAT_TTL);
	rds_command(q->cmd, 5, (const char *[]){ "SET", key, now, "EX",
	    ttl }, NULL, NULL, NULL);
	for (i = 0; i < q->n; i++) {
		v[0] = "XCLAIM"; v[1] = q->s[i].key; v[2] = q->group;
		v[3] = q->consumer; v[4] = "0";
		c = 5;
		TAILQ_FOREACH(m, &q->active, entry)
			if (m->qi == (int)i && c < 5 + 63)
				v[c++] = m->id;
		if (c == 5)
			continue;
		v[c++] = "JUSTID";
		rds_command(q->cmd, c, v, NULL, NULL, NULL);
	}
	queue_reclaim(q);
	queue_arm(q->hb_ev, q->hb_ms);
}

/* The entries a reclaim script took over for stream arg's index. */
static void
queue_reclaim_done(struct rds *r, redisReply *reply, void *arg)
{
	struct queue *q = arg;
	size_t j, si;

	(void)r;
	for (si = 0; si < q->n; si++)
		if (q->s[si].reclaiming) {
			q->s[si].reclaiming = 0;
			break;
		}
	if (si == q->n || reply == NULL ||
	    reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
		if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
			log_warnx("queue: reclaim: %s", reply->str);
		return;
	}
	for (j = 0; j < reply->elements; j++)
		queue_take(q, si, reply->element[j], 1);
	queue_pump(q);
}

/* Looks for dead consumers' entries of each stream (see
 * queue_reclaim_lua). */
static void
queue_reclaim(struct queue *q)
{
	char hb[QUEUE_KEY_MAX], margin[24], lims[64][24];
	const char *v[6 + 2 * 64];
	size_t i, j;
	int c;

	snprintf(hb, sizeof(hb), "%smailvisor:consumer:", q->prefix);
	snprintf(margin, sizeof(margin), "%lld", (long long)(q->margin *
	    1000));
	for (i = 0; i < q->n; i++) {
		v[0] = "1"; v[1] = q->s[i].key; v[2] = q->group;
		v[3] = q->consumer; v[4] = margin; v[5] = hb;
		c = 6;
		for (j = 0; j < q->conf->njobs && j < 64; j++) {
			snprintf(lims[j], sizeof(lims[j]), "%lld",
			    (long long)(q->conf->jobs[j].timeout * 1000 +
			    q->margin * 1000));
			v[c++] = q->conf->jobs[j].name;
			v[c++] = lims[j];
		}
		/* Replies come in order: the flag names the stream. */
		if (rds_eval(q->cmd, &queue_reclaim_script, c, v, NULL,
		    queue_reclaim_done, q) == 0)
			q->s[i].reclaiming = 1;
	}
}

/* The command connection is ready: groups, then our own pending. */
static void
queue_on_connect(void *arg)
{
	struct queue *q = arg;
	size_t i;

	/* From the start of the stream, not "$": jobs enqueued before any
	 * daemon made the group are work too. */
	for (i = 0; i < q->n; i++)
		rds_command(q->cmd, 6, (const char *[]){ "XGROUP", "CREATE",
		    q->s[i].key, q->group, "0", "MKSTREAM" }, NULL, NULL,
		    NULL);
	if (!q->reading)
		queue_read(q, 0, 1);
}

/* Fills the streams of q from qs. 0 or -1. */
static int
queue_set_streams(struct queue *q, const struct queue_conf *qs, size_t n)
{
	struct qstream *s;
	size_t i;

	if (n == 0 || n > 64) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!queue_name_ok(qs[i].name)) {
			errno = EINVAL;
			return -1;
		}
	if ((s = calloc(n, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		s[i].c = qs[i];
		if ((s[i].c.name = strdup(qs[i].name)) == NULL) {
			while (i-- > 0)
				free(s[i].c.name);
			free(s);
			return -1;
		}
		snprintf(s[i].key, sizeof(s[i].key), "%smailvisor:queue:%s",
		    q->prefix, qs[i].name);
		TAILQ_INIT(&s[i].buf);
	}
	q->s = s;
	q->n = n;
	return 0;
}

/* Sets the names and bounds from opts. 0 or -1 (EINVAL). */
static int
queue_set_opts(struct queue *q, const struct queue_opts *o)
{
	char host[256];
	const char *p = o != NULL && o->key_prefix ? o->key_prefix : "";

	if (strlcpy(q->prefix, p, sizeof(q->prefix)) >= sizeof(q->prefix) ||
	    strlcpy(q->group, o != NULL && o->group ? o->group : "mailvisor",
	    sizeof(q->group)) >= sizeof(q->group)) {
		errno = EINVAL;
		return -1;
	}
	if (o != NULL && o->consumer != NULL) {
		if (strlcpy(q->consumer, o->consumer, sizeof(q->consumer)) >=
		    sizeof(q->consumer) || *o->consumer == '\0') {
			errno = EINVAL;
			return -1;
		}
	} else {
		if (gethostname(host, sizeof(host)) == -1)
			strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		snprintf(q->consumer, sizeof(q->consumer), "%.150s:%ld", host,
		    (long)getpid());
	}
	snprintf(q->ttl, sizeof(q->ttl), "%ld", o != NULL &&
	    o->idempotency_ttl > 0 ? o->idempotency_ttl : QUEUE_IDEM_TTL);
	q->margin = o != NULL ? o->reclaim_margin : 0;
	q->tenant_limit = o != NULL ? o->tenant_limit : 0;
	q->block_ms = o != NULL && o->block_ms > 0 ? o->block_ms :
	    QUEUE_BLOCK_MS;
	q->hb_ms = o != NULL && o->heartbeat_ms > 0 ? o->heartbeat_ms :
	    QUEUE_HEARTBEAT_MS;
	return 0;
}

struct queue *
queue_new(struct event_base *base, struct rds *cmd, struct rds *blocking,
    struct stats *st, const struct queue_conf *qs, size_t n,
    const struct queue_opts *opts, const struct conf *conf,
    queue_deliver_fn deliver, void *arg)
{
	struct queue *q;

	if (base == NULL || cmd == NULL || blocking == NULL || st == NULL ||
	    qs == NULL || conf == NULL || deliver == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->base = base;
	q->cmd = cmd;
	q->blk = blocking;
	q->st = st;
	q->conf = conf;
	q->deliver = deliver;
	q->arg = arg;
	TAILQ_INIT(&q->active);
	TAILQ_INIT(&q->tools);
	TAILQ_INIT(&q->batches);
	if (queue_set_opts(q, opts) == -1 ||
	    queue_set_streams(q, qs, n) == -1) {
		free(q);
		return NULL;
	}
	q->tick_ev = evtimer_new(base, queue_tick_cb, q);
	q->hb_ev = evtimer_new(base, queue_hb_cb, q);
	if (q->tick_ev == NULL || q->hb_ev == NULL) {
		queue_free(q);
		errno = ENOMEM;
		return NULL;
	}
	queue_arm(q->tick_ev, QUEUE_TICK_MS);
	queue_arm(q->hb_ev, 0);
	rds_on_connect(cmd, queue_on_connect, q);
	/* A blocking read's reply lost with its connection: the entries
	 * are pending for us; read them again when it is back. */
	if (blocking != cmd)
		rds_on_connect(blocking, queue_on_connect, q);
	if (rds_connected(cmd))
		queue_on_connect(q);
	return q;
}

int
queue_set_conf(struct queue *q, const struct queue_conf *qs, size_t n,
    const struct conf *conf)
{
	struct qstream *old = q->s;
	size_t on = q->n, i, j;
	struct qmsg *m;

	if (conf == NULL || queue_set_streams(q, qs, n) == -1) {
		q->s = old;
		q->n = on;
		if (conf == NULL)
			errno = EINVAL;
		return -1;
	}
	q->conf = conf;
	/* Active messages keep running; they point at their new stream,
	 * or are counted nowhere when their queue is gone. */
	TAILQ_FOREACH(m, &q->active, entry) {
		for (j = 0; j < n; j++)
			if (strcmp(q->s[j].c.name, old[m->qi].c.name) == 0)
				break;
		m->qi = j < n ? (int)j : -1;
		if (j < n) {
			q->s[j].running++;
			m->queue = q->s[j].c.name;
		}
	}
	/* Buffered ones are forgotten: still pending for us, they are read
	 * again (id 0) and checked against the new configuration. */
	for (i = 0; i < on; i++) {
		while ((m = TAILQ_FIRST(&old[i].buf)) != NULL) {
			TAILQ_REMOVE(&old[i].buf, m, entry);
			queue_msg_free(m);
		}
		free(old[i].c.name);
	}
	free(old);
	if (!q->reading)
		queue_read(q, 0, 1);
	return 0;
}

/* The next attempt of m as a delayed set member. New string, or NULL. */
static char *
queue_retry_member(const struct qmsg *m)
{
	static const char *const keep[] = { "job", "args", "tenant_id",
	    "user_id", "idempotency_key", "enqueued_at", NULL };
	const char *const *p;
	char num[16], *s, *att;
	json_t *o, *f;

	o = json_object();
	f = json_array();
	json_object_set_new(o, "q", json_string(m->queue));
	json_object_set_new(o, "f", f);
	for (p = keep; *p != NULL; p++)
		if (queue_field(m, *p) != NULL) {
			json_array_append_new(f, json_string(*p));
			json_array_append_new(f, json_string(queue_field(m,
			    *p)));
		}
	snprintf(num, sizeof(num), "%d", m->attempt + 1);
	att = json_dumps(m->attempts, JSON_COMPACT);
	json_array_append_new(f, json_string("attempt"));
	json_array_append_new(f, json_string(num));
	json_array_append_new(f, json_string("origin_id"));
	json_array_append_new(f, json_string(m->job_id));
	json_array_append_new(f, json_string("attempts"));
	json_array_append_new(f, json_string(att != NULL ? att : "[]"));
	s = json_dumps(o, JSON_COMPACT);
	free(att);
	json_decref(o);
	return s;
}

/* Q_RETRY with attempts left: ZADD of the next attempt with the record.
 * 0, or -1 (out of memory: nothing done). */
static int
queue_retry(struct queue *q, struct qmsg *m, json_t *record,
    double retry_after)
{
	const struct backoff *b = &q->s[m->qi].c.backoff;
	char key[QUEUE_KEY_MAX], score[32], *mem;
	const char *v[4];
	struct stats_cmd x[1];
	uint32_t rnd;
	double delay;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)random();
	delay = backoff_delay(b, m->attempt, rnd / 4294967296.0);
	if (retry_after > delay)
		delay = retry_after;
	if ((mem = queue_retry_member(m)) == NULL)
		return -1;
	snprintf(key, sizeof(key), "%smailvisor:delayed", q->prefix);
	snprintf(score, sizeof(score), "%lld", (long long)queue_now_ms() +
	    (long long)(delay * 1000));
	v[0] = "ZADD"; v[1] = key; v[2] = score; v[3] = mem;
	x[0].argc = 4;
	x[0].argv = v;
	x[0].len = NULL;
	log_info("queue %s: job %s attempt %d in %.1f s", m->queue, m->job_id,
	    m->attempt + 1, delay);
	q->cnt.retried++;
	queue_commit(q, m, record, x, 1);
	free(mem);
	return 0;
}

void
queue_finish(struct queue *q, struct qmsg *m, json_t *record,
    enum qoutcome o, double retry_after, const char *reason)
{
	const char *status;
	int max;

	queue_deactivate(q, m);
	if (record == NULL)
		record = queue_skeleton(m, "failed", reason != NULL ? reason :
		    "no record");
	status = json_string_value(json_object_get(record, "status"));
	json_array_append_new(m->attempts, json_string(status != NULL ?
	    status : "failed"));
	if (reason == NULL)
		reason = status != NULL ? status : "failed";
	max = m->qi >= 0 ? q->s[m->qi].c.max_retries : 0;
	if (m->qi < 0 && o != Q_ACK) {
		o = Q_DLQ;
		reason = "queue removed from the configuration";
	}
	if (o == Q_RETRY && m->attempt > max) {
		o = Q_DLQ;
		reason = "attempts exhausted";
	}
	if (o == Q_RETRY && queue_retry(q, m, record, retry_after) == 0)
		return;
	if (o == Q_ACK) {
		q->cnt.acked++;
		queue_commit(q, m, record, NULL, 0);
	} else
		queue_to_dlq(q, m, record, reason);
}

/* The reply of a fire claim. */
static void
queue_claim_done(struct rds *r, redisReply *reply, void *arg)
{
	struct fire_claim *fc = arg;

	(void)r;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		fc->cb(fc->arg, -1);
	else
		fc->cb(fc->arg, reply->type == REDIS_REPLY_STATUS);
	free(fc);
}

int
queue_claim_fire(struct queue *q, const char *job, time_t fire,
    void (*cb)(void *arg, int won), void *arg)
{
	char key[QUEUE_KEY_MAX];
	struct fire_claim *fc;

	if ((fc = malloc(sizeof(*fc))) == NULL)
		return -1;
	fc->cb = cb;
	fc->arg = arg;
	snprintf(key, sizeof(key), "%smailvisor:fire:%s:%lld", q->prefix, job,
	    (long long)fire);
	if (rds_command(q->cmd, 6, (const char *[]){ "SET", key, "1", "NX",
	    "EX", "86400" }, NULL, queue_claim_done, fc) == -1) {
		free(fc);
		return -1;
	}
	return 0;
}

int
queue_revoke(struct queue *q, const char *id)
{
	char key[QUEUE_KEY_MAX];

	snprintf(key, sizeof(key), "%smailvisor:revoked", q->prefix);
	return rds_command(q->cmd, 3, (const char *[]){ "SADD", key, id },
	    NULL, NULL, NULL);
}

const char *
queue_consumer(const struct queue *q)
{
	return q->consumer;
}

void
queue_counters(const struct queue *q, struct queue_counters *c)
{
	const struct qmsg *m;
	size_t i;

	*c = q->cnt;
	c->running = 0;
	c->buffered = 0;
	TAILQ_FOREACH(m, &q->active, entry)
		c->running++;
	for (i = 0; i < q->n; i++)
		c->buffered += q->s[i].nbuf;
}

void
queue_free(struct queue *q)
{
	struct qbatch *b;
	struct qtool *t;
	struct qmsg *m;
	size_t i;

	if (q == NULL)
		return;
	rds_on_connect(q->cmd, NULL, q);
	rds_on_connect(q->blk, NULL, q);
	rds_cancel(q->cmd, q);
	rds_cancel(q->blk, q);
	while ((m = TAILQ_FIRST(&q->active)) != NULL) {
		TAILQ_REMOVE(&q->active, m, entry);
		rds_cancel(q->cmd, m);
		queue_msg_free(m);
	}
	while ((t = TAILQ_FIRST(&q->tools)) != NULL) {
		TAILQ_REMOVE(&q->tools, t, entry);
		rds_cancel(q->cmd, t);
		free(t);
	}
	while ((b = TAILQ_FIRST(&q->batches)) != NULL) {
		TAILQ_REMOVE(&q->batches, b, entry);
		rds_cancel(q->cmd, b);
		free(b);
	}
	for (i = 0; i < q->n; i++) {
		while ((m = TAILQ_FIRST(&q->s[i].buf)) != NULL) {
			TAILQ_REMOVE(&q->s[i].buf, m, entry);
			queue_msg_free(m);
		}
		free(q->s[i].c.name);
	}
	free(q->s);
	if (q->tick_ev != NULL)
		event_free(q->tick_ev);
	if (q->hb_ev != NULL)
		event_free(q->hb_ev);
	free(q);
}

/*
 * The tools' scripts. Dead letters back to their queues: KEYS[1] the
 * DLQ, ARGV[1] the key prefix, ARGV[2] one entry id or "" for all. An
 * entry goes back as the message it was (its "fields"), with attempt 1
 * and no attempts list, keeping its origin (the job id of its records);
 * one that cannot (damaged by hand) stays. Returns how many went back.
 */
static const char queue_reprocess_lua[] =
    "local function back(e)\n"
    "  local h = {}\n"
    "  for i = 1, #e[2], 2 do h[e[2][i]] = e[2][i + 1] end\n"
    "  local qn = h['queue']\n"
    "  if not qn or #qn > 64 or not string.match(qn, '^[%w_.-]+$') then"
    " return 0 end\n"
    "  local ok, f = pcall(cjson.decode, h['fields'] or '')\n"
    "  if not ok or type(f) ~= 'table' then return 0 end\n"
    "  f['attempt'] = nil\n"
    "  f['attempts'] = nil\n"
    "  if f['origin_id'] == nil then f['origin_id'] = h['job_id'] end\n"
    "  local a = {}\n"
    "  for k, v in pairs(f) do\n"
    "    if type(v) == 'string' then a[#a + 1] = k; a[#a + 1] = v end\n"
    "  end\n"
    "  if #a == 0 then return 0 end\n"
    "  redis.call('XADD', ARGV[1] .. 'mailvisor:queue:' .. qn, '*',"
    " unpack(a))\n"
    "  redis.call('XDEL', KEYS[1], e[1])\n"
    "  return 1\n"
    "end\n"
    "local n = 0\n"
    "if ARGV[2] ~= '' then\n"
    "  local r = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])\n"
    "  if not r[1] then return -1 end\n"
    "  return back(r[1])\n"
    "end\n"
    "local from = '-'\n"
    "while true do\n"
    "  local r = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 100)\n"
    "  if not r[1] then return n end\n"
    "  for _, e in ipairs(r) do n = n + back(e); from = '(' .. e[1] end\n"
    "end\n";

/* Empties stream KEYS[1] and forgets the pending entries of group
 * ARGV[1] (the group is made again at the start of the empty stream).
 * Returns the entries removed. */
static const char queue_purge_lua[] =
    "local n = redis.call('XLEN', KEYS[1])\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')\n"
    "return n\n";

/* Deletes KEYS[1]; returns its length before. */
static const char queue_dlq_purge_lua[] =
    "local n = redis.call('XLEN', KEYS[1])\n"
    "redis.call('DEL', KEYS[1])\n"
    "return n\n";

/*
 * The figures of the queues: KEYS[1] the delayed set, KEYS[2] the DLQ,
 * ARGV[1] the group, ARGV[2..] the streams' keys and names in pairs.
 * Returns {dlq, delayed, {length, pending, delayed} per queue}: length
 * counts the entries not yet delivered (done entries leave the stream),
 * delayed the retries waiting (counted over at most 10 000).
 */
static const char queue_figures_lua[] =
    "local out = {redis.call('XLEN', KEYS[2]),"
    " redis.call('ZCARD', KEYS[1])}\n"
    "local per = {}\n"
    "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, 9999)) do\n"
    "  local q = string.match(m, '^{\"q\":\"([^\"]+)\"')\n"
    "  if q then per[q] = (per[q] or 0) + 1 end\n"
    "end\n"
    "for i = 2, #ARGV, 2 do\n"
    "  local len = redis.call('XLEN', ARGV[i])\n"
    "  local ok, p = pcall(redis.call, 'XPENDING', ARGV[i], ARGV[1])\n"
    "  local pend = (ok and type(p) == 'table' and p[1]) or 0\n"
    "  out[#out + 1] = {len - pend, pend, per[ARGV[i + 1]] or 0}\n"
    "end\n"
    "return out\n";

/* A DLQ entry [id, [f, v, ...]] as in queue_tool_dlq_peek(): the fields
 * "fields", "attempts" and "record" are JSON text, parsed (kept as a
 * string when not JSON). New reference. */
static json_t *
queue_entry_json(const redisReply *e)
{
	const redisReply *f, *k, *v;
	json_t *o = json_object(), *j;
	char name[64];

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return o;
	json_object_set_new(o, "dlq_id", mv_json_strn(e->element[0]->str,
	    e->element[0]->len));
	f = e->element[1];
	for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements;
	    i += 2) {
		k = f->element[i];
		v = f->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(k->len < 60 ?
		    k->len : 60), k->str);
		j = NULL;
		if (strcmp(name, "fields") == 0 ||
		    strcmp(name, "attempts") == 0 ||
		    strcmp(name, "record") == 0)
			j = json_loadb(v->str, v->len, 0, NULL);
		json_object_set_new(o, name, j != NULL ? j :
		    mv_json_strn(v->str, v->len));
	}
	return o;
}

/* The result of QT_QUEUES from the figures script's reply, or NULL. */
static json_t *
queue_figures_json(const struct qtool *t, const redisReply *r)
{
	const char *name = t->names;
	json_t *a, *o;
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_INTEGER)
		return NULL;
	a = json_array();
	for (i = 2; i < r->elements && *name != '\0';
	    i++, name += strlen(name) + 1) {
		const redisReply *e = r->element[i];
		const struct qstream *qs = NULL;

		for (size_t j = 0; j < t->q->n; j++)
			if (strcmp(t->q->s[j].c.name, name) == 0)
				qs = &t->q->s[j];
		if (qs == NULL || e->type != REDIS_REPLY_ARRAY ||
		    e->elements != 3)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:i, s:i, s:i, s:I, "
		    "s:I, s:I}", "name", name, "priority", qs->c.priority,
		    "max_retries", qs->c.max_retries, "share", qs->c.share,
		    "length", (json_int_t)e->element[0]->integer,
		    "pending", (json_int_t)e->element[1]->integer,
		    "delayed", (json_int_t)e->element[2]->integer));
	}
	o = json_pack("{s:o, s:I, s:I}", "queues", a,
	    "dlq", (json_int_t)r->element[0]->integer,
	    "delayed", (json_int_t)r->element[1]->integer);
	return o;
}

/* A tool's reply: the result, or the status and message it failed with. */
static void
queue_tool_done(struct rds *r, redisReply *reply, void *arg)
{
	struct qtool *t = arg;
	json_t *res = NULL;
	const char *msg = "unexpected answer from Redis";
	int status = 500;

	(void)r;
	TAILQ_REMOVE(&t->q->tools, t, entry);
	if (t->cb == NULL)
		goto done;
	if (reply == NULL) {
		t->cb(t->arg, NULL, 503, "Redis connection lost");
		goto done;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("queue tool: %s", reply->str);
		t->cb(t->arg, NULL, 500, "Redis refused the command");
		goto done;
	}
	switch (t->kind) {
	case QT_QUEUES:
		res = queue_figures_json(t, reply);
		break;
	case QT_ENQUEUE:
		if (reply->type == REDIS_REPLY_STRING)
			res = json_pack("{s:s, s:s%, s:s%}", "queue", t->queue,
			    "id", reply->str, reply->len, "job_id", reply->str,
			    reply->len);
		break;
	case QT_PURGE:
		if (reply->type == REDIS_REPLY_INTEGER)
			res = json_pack("{s:s, s:I}", "queue", t->queue,
			    "removed", (json_int_t)reply->integer);
		break;
	case QT_PEEK:
		if (reply->type != REDIS_REPLY_ARRAY)
			break;
		res = json_array();
		for (size_t i = 0; i < reply->elements; i++)
			json_array_append_new(res,
			    queue_entry_json(reply->element[i]));
		res = json_pack("{s:o}", "entries", res);
		break;
	case QT_REPROCESS:
		if (reply->type != REDIS_REPLY_INTEGER)
			break;
		if (reply->integer < 0) {
			status = 404;
			msg = "no such entry in the dead letters";
			break;
		}
		res = json_pack("{s:I}", "reprocessed",
		    (json_int_t)reply->integer);
		break;
	case QT_DLQ_PURGE:
		if (reply->type == REDIS_REPLY_INTEGER)
			res = json_pack("{s:I}", "purged",
			    (json_int_t)reply->integer);
		break;
	}
	if (res != NULL)
		t->cb(t->arg, res, 200, NULL);
	else
		t->cb(t->arg, NULL, status, msg);
done:
	free(t);
}

/* Sends argv for a new tool of kind; names (may be NULL) are copied.
 * 0 or -1 (errno). */
static int
queue_tool_send(struct queue *q, enum qtool_kind kind, const char *queue,
    const char *names, size_t nameslen, int argc, const char **argv,
    const size_t *len, queue_tool_fn cb, void *arg)
{
	struct qtool *t;

	if (cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (!rds_connected(q->cmd)) {
		errno = ENOTCONN;
		return -1;
	}
	if ((t = calloc(1, sizeof(*t) + nameslen + 1)) == NULL)
		return -1;
	t->q = q;
	t->kind = kind;
	t->cb = cb;
	t->arg = arg;
	if (queue != NULL)
		strlcpy(t->queue, queue, sizeof(t->queue));
	if (names != NULL)
		memcpy(t->names, names, nameslen);
	TAILQ_INSERT_TAIL(&q->tools, t, entry);
	if (rds_command(q->cmd, argc, argv, len, queue_tool_done, t) == -1) {
		TAILQ_REMOVE(&q->tools, t, entry);
		free(t);
		return -1;
	}
	return 0;
}

/* The stream of the queue called name, or NULL with errno ENOENT. */
static struct qstream *
queue_stream_named(struct queue *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->s[i].c.name, name) == 0)
			return &q->s[i];
	errno = ENOENT;
	return NULL;
}

int
queue_tool_queues(struct queue *q, queue_tool_fn cb, void *arg)
{
	char dk[QUEUE_KEY_MAX], lk[QUEUE_KEY_MAX], *names, *p;
	const char **argv;
	size_t nameslen = 0;
	int argc = 0, rc;

	for (size_t i = 0; i < q->n; i++)
		nameslen += strlen(q->s[i].c.name) + 1;
	names = calloc(1, nameslen + 1);
	argv = calloc(6 + 2 * q->n, sizeof(*argv));
	if (names == NULL || argv == NULL) {
		free(names);
		free(argv);
		return -1;
	}
	snprintf(dk, sizeof(dk), "%smailvisor:delayed", q->prefix);
	snprintf(lk, sizeof(lk), "%smailvisor:dlq", q->prefix);
	argv[argc++] = "EVAL";
	argv[argc++] = queue_figures_lua;
	argv[argc++] = "2";
	argv[argc++] = dk;
	argv[argc++] = lk;
	argv[argc++] = q->group;
	for (size_t i = 0, off = 0; i < q->n; i++) {
		p = names + off;
		strcpy(p, q->s[i].c.name);
		off += strlen(p) + 1;
		argv[argc++] = q->s[i].key;
		argv[argc++] = p;
	}
	rc = queue_tool_send(q, QT_QUEUES, NULL, names, nameslen, argc, argv,
	    NULL, cb, arg);
	free(names);
	free(argv);
	return rc;
}

int
queue_tool_enqueue(struct queue *q, const char *queue, const char *job,
    const char *tenant, const char *user, json_t *args, const char *idem,
    queue_tool_fn cb, void *arg)
{
	struct qstream *qs;
	const char *argv[15];
	char at[32], *a;
	int argc = 0, rc;

	if (job == NULL || tenant == NULL || user == NULL ||
	    (args != NULL && !json_is_object(args))) {
		errno = EINVAL;
		return -1;
	}
	if ((qs = queue_stream_named(q, queue)) == NULL)
		return -1;
	if ((a = args != NULL ? json_dumps(args, JSON_COMPACT) :
	    strdup("{}")) == NULL)
		return -1;
	mv_iso8601(time(NULL), at, sizeof(at));
	argv[argc++] = "XADD";
	argv[argc++] = qs->key;
	argv[argc++] = "*";
	argv[argc++] = "job";
	argv[argc++] = job;
	argv[argc++] = "args";
	argv[argc++] = a;
	argv[argc++] = "tenant_id";
	argv[argc++] = tenant;
	argv[argc++] = "user_id";
	argv[argc++] = user;
	if (idem != NULL) {
		argv[argc++] = "idempotency_key";
		argv[argc++] = idem;
	}
	argv[argc++] = "enqueued_at";
	argv[argc++] = at;
	rc = queue_tool_send(q, QT_ENQUEUE, queue, NULL, 0, argc, argv, NULL,
	    cb, arg);
	free(a);
	return rc;
}

int
queue_tool_purge(struct queue *q, const char *queue, queue_tool_fn cb,
    void *arg)
{
	struct qstream *qs;

	if ((qs = queue_stream_named(q, queue)) == NULL)
		return -1;
	return queue_tool_send(q, QT_PURGE, queue, NULL, 0, 5,
	    (const char *[]){ "EVAL", queue_purge_lua, "1", qs->key,
	    q->group }, NULL, cb, arg);
}

int
queue_tool_dlq_peek(struct queue *q, const char *start, int count,
    queue_tool_fn cb, void *arg)
{
	char key[QUEUE_KEY_MAX], cnt[16];

	if (count < 1 || count > 1000) {
		errno = EINVAL;
		return -1;
	}
	snprintf(key, sizeof(key), "%smailvisor:dlq", q->prefix);
	snprintf(cnt, sizeof(cnt), "%d", count);
	return queue_tool_send(q, QT_PEEK, NULL, NULL, 0, 6,
	    (const char *[]){ "XRANGE", key, start ? start : "-", "+",
	    "COUNT", cnt }, NULL, cb, arg);
}

int
queue_tool_dlq_reprocess(struct queue *q, const char *id, queue_tool_fn cb,
    void *arg)
{
	char key[QUEUE_KEY_MAX];

	snprintf(key, sizeof(key), "%smailvisor:dlq", q->prefix);
	return queue_tool_send(q, QT_REPROCESS, NULL, NULL, 0, 6,
	    (const char *[]){ "EVAL", queue_reprocess_lua, "1", key,
	    q->prefix, id ? id : "" }, NULL, cb, arg);
}

int
queue_tool_dlq_purge(struct queue *q, queue_tool_fn cb, void *arg)
{
	char key[QUEUE_KEY_MAX];

	snprintf(key, sizeof(key), "%smailvisor:dlq", q->prefix);
	return queue_tool_send(q, QT_DLQ_PURGE, NULL, NULL, 0, 4,
	    (const char *[]){ "EVAL", queue_dlq_purge_lua, "1", key }, NULL,
	    cb, arg);
}

void
queue_tool_cancel(struct queue *q, void *arg)
{
	struct qtool *t;

	TAILQ_FOREACH(t, &q->tools, entry)
		if (t->arg == arg)
			t->cb = NULL;
}
