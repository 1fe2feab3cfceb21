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

#include "shared/buf.h"
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

#define QS_QUEUE	0	/* mailvisor:queue:NAME */
#define QS_CONSUME	1	/* mailvisor:stream:NAME, group JOB */
#define QS_RETRY	2	/* mailvisor:retry:JOB, group JOB */

#define QUEUE_ARGS_MAX	65536	/* bytes of the args field */
#define QUEUE_DATA_MAX	(64L * 1024 * 1024)	/* bytes of an entry's data */
#define QUEUE_EKEY_MAX	4096	/* bytes of an entry's key */
#define QUEUE_IDEM_MAX	200	/* longer keys are held by their hash */
#define QUEUE_FIELD_MAX	200	/* bytes of other short fields */
#define QUEUE_ATTEMPT_MAX 1000

TAILQ_HEAD(qmsgs, qmsg);

struct qstream {
	struct queue_conf	 c;
	int			 kind;		/* QS_QUEUE, ... */
	char			 key[QUEUE_KEY_MAX];
	char			 group[QUEUE_NAME_MAX + 1];
	int			 reading;	/* in a read awaited */
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
	struct rds		*wake;		/* NULL: none */
	int			 waking;	/* its XREAD awaited */
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
	int			 tick_ms;
	queue_deliver_fn	 deliver;
	void			*arg;
	struct qmsgs		 active;	/* CHECK and RUN */
	TAILQ_HEAD(, qtool)	 tools;		/* replies awaited */
	TAILQ_HEAD(, qbatch)	 batches;	/* replies awaited */
	TAILQ_HEAD(, qread)	 reads;		/* replies awaited */
	unsigned		 gen;		/* queue_set_conf() calls */
	int			 avail;
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

/* An XREADGROUP on its way: the streams it reads (of generation gen). */
struct qread {
	TAILQ_ENTRY(qread)	 entry;
	struct queue		*q;
	unsigned		 gen;
	size_t			 n;
	int			 si[64];
};

struct fire_claim {
	void	(*cb)(void *, int);
	void	*arg;
};

/* Moves due retries back to their streams, atomically per member: a
 * queued job's ({"q":QUEUE}) to its queue, a consumed entry's
 * ({"r":JOB}) to its job's retry stream, never to the stream every
 * group reads. */
static const char queue_mover_lua[] =
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],"
    " 'LIMIT', 0, 100)\n"
    "for _, m in ipairs(due) do\n"
    "  local ok, o = pcall(cjson.decode, m)\n"
    "  if ok and type(o) == 'table' and type(o.f) == 'table' and"
    " #o.f >= 2 then\n"
    "    if type(o.q) == 'string' then\n"
    "      redis.call('XADD', ARGV[2] .. o.q, '*', unpack(o.f))\n"
    "    elseif type(o.r) == 'string' then\n"
    "      redis.call('XADD', ARGV[3] .. o.r, '*', unpack(o.f))\n"
    "    end\n"
    "  end\n"
    "  redis.call('ZREM', KEYS[1], m)\n"
    "end\n"
    "return #due\n";

/*
 * The idempotency and revocation check of a batch of entries: KEYS[1] the
 * revoked set, ARGV[1] the hold's TTL, ARGV[2] the hold keys' prefix,
 * then per entry its origin id, entry id and idempotency key ("" none).
 * Per entry, in order: 2 revoked; 1 another job holds the key; 0 ours
 * (the hold taken or already ours, or no key): run it. One SMISMEMBER for
 * the batch and one SET NX per entry with a key (a GET only when the key
 * is held). An entry without a key takes no hold: held by its own origin
 * id, it could only ever meet itself again (a retry, a reclaim), which
 * runs.
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
    "  local o, k = ARGV[3 + 3 * i], ARGV[5 + 3 * i]\n"
    "  if rv[2 * i + 1] == 1 or rv[2 * i + 2] == 1 then out[i + 1] = 2\n"
    "  elseif k == '' then out[i + 1] = 0\n"
    "  elseif redis.call('SET', ARGV[2] .. k, o, 'NX', 'EX', ARGV[1])"
    " then out[i + 1] = 0\n"
    "  elseif redis.call('GET', ARGV[2] .. k) == o then out[i + 1] = 0\n"
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

/* The fields of a consumed entry kept (others are ignored). */
static const char *const queue_entry_fields[] = {
	"data", "job", "job_id", "account", "tenant_id", "user_id", "key",
	"attempt", "origin_id", "attempts", NULL
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
	for (i = 0; i < n; i++) {
		free(qs[i].name);
		free(qs[i].job);
	}
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
	struct qmsg *x;

	if (m == NULL)
		return;
	while ((x = TAILQ_FIRST(&m->more)) != NULL) {
		TAILQ_REMOVE(&m->more, x, entry);
		queue_msg_free(x);
	}
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
	return NULL;
}

/* A queued job's idempotency key, if it has one. NULL or why not. */
static const char *
queue_check_idem(struct qmsg *m)
{
	const char *s = queue_field(m, "idempotency_key");

	if (s == NULL)
		return NULL;
	if (*s == '\0')
		return "empty idempotency_key";
	if ((m->idem = strdup(s)) == NULL)
		return "out of memory";
	return NULL;
}

/* 64-bit FNV-1a of s[0..len). */
static unsigned long long
queue_hash(const char *s, size_t len, unsigned long long h)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define QUEUE_HASH0	0xcbf29ce484222325ULL

/* Keeps the fields of a consumed entry that it may have; the others are
 * ignored (an application adding entries may add its own). NULL or why
 * not. */
static const char *
queue_entry_take(struct qmsg *m, const redisReply *f)
{
	const char *const *p;
	const redisReply *k, *v;
	size_t i;

	if (f == NULL || f->type != REDIS_REPLY_ARRAY || f->elements % 2)
		return "no fields";
	for (i = 0; i < f->elements; i += 2) {
		k = f->element[i];
		v = f->element[i + 1];
		for (p = queue_entry_fields; *p != NULL; p++)
			if (k->len == strlen(*p) && memcmp(k->str, *p,
			    k->len) == 0)
				break;
		if (*p == NULL)
			continue;
		if (json_object_get(m->fields, *p) != NULL)
			return "field given twice";
		if ((long long)v->len > (strcmp(*p, "data") == 0 ?
		    QUEUE_DATA_MAX : strcmp(*p, "key") == 0 ?
		    QUEUE_EKEY_MAX : QUEUE_FIELD_MAX))
			return "field too long";
		if (!mv_utf8_valid(v->str, v->len) || (strcmp(*p, "data") &&
		    memchr(v->str, '\0', v->len) != NULL))
			return "field not valid UTF-8";
		json_object_set_new(m->fields, *p, mv_json_strn(v->str,
		    v->len));
	}
	if (queue_field(m, "data") == NULL)
		return "no data";
	return NULL;
}

/* The idempotency key of a consumed entry that has one, in its job's
 * namespace. */
static const char *
queue_entry_idem(struct qmsg *m)
{
	const char *k = queue_field(m, "key");
	char buf[QUEUE_IDEM_MAX + QUEUE_NAME_MAX + 32];

	if (k == NULL || *k == '\0')
		return NULL;
	if (strlen(k) <= QUEUE_IDEM_MAX)
		snprintf(buf, sizeof(buf), "%s:%s", m->job->name, k);
	else
		snprintf(buf, sizeof(buf), "%s:#%016llx", m->job->name,
		    queue_hash(k, strlen(k), QUEUE_HASH0));
	if ((m->idem = strdup(buf)) == NULL)
		return "out of memory";
	return NULL;
}

/* m's job against the provider of its account: NULL, or why not. */
static const char *
queue_provider_check(const struct qmsg *m, char *err, size_t errlen)
{
	if (m->acct == NULL || conf_job_serves(m->job, m->acct))
		return NULL;
	snprintf(err, errlen, "job '%s' runs for %s accounts; account '%s' "
	    "is %s", m->job->name, conf_provider_name(m->job->provider),
	    m->acct->name, conf_provider_name(m->acct->provider));
	return err;
}

/* The account a consumed entry names, checked. NULL or why not. */
static const char *
queue_entry_account(struct queue *q, struct qmsg *m, char *err,
    size_t errlen)
{
	const char *a = queue_field(m, "account");
	const char *t = queue_field(m, "tenant_id");
	const char *u = queue_field(m, "user_id");

	if (a == NULL || *a == '\0') {
		if (m->job->needs_account)
			return "the entry names no account, which the job's "
			    "command needs";
		return NULL;
	}
	if ((m->acct = conf_account(q->conf, a)) == NULL) {
		snprintf(err, errlen, "account '%.64s' is not configured", a);
		return err;
	}
	if ((t != NULL && *t != '\0' && strcmp(t, m->acct->tenant_id)) ||
	    (u != NULL && *u != '\0' && strcmp(u, m->acct->user_id))) {
		snprintf(err, errlen, "tenant_id and user_id are not those of "
		    "account '%.64s'", a);
		return err;
	}
	return queue_provider_check(m, err, errlen);
}

/* A consumed entry against its job (the stream's). NULL or why not. */
static const char *
queue_check_entry(struct queue *q, struct qmsg *m, char *err,
    size_t errlen)
{
	const struct qstream *s = &q->s[m->qi];
	const char *why, *t, *d;
	char **argv;
	json_t *j;

	m->stream = s->c.name;
	if ((m->job = conf_job(q->conf, s->c.job)) == NULL)
		return "job not in the configuration";
	if ((why = queue_entry_idem(m)) != NULL ||
	    (why = queue_entry_account(q, m, err, errlen)) != NULL)
		return why;
	if (s->c.batch > 1) {
		d = queue_field(m, "data");
		j = json_loadb(d, json_string_length(json_object_get(m->fields,
		    "data")), JSON_DECODE_ANY, NULL);
		json_decref(j);
		if (j == NULL)
			return "data not JSON (the job takes batches)";
	}
	if ((argv = conf_render_argv(m->job, m->acct, NULL, err,
	    errlen)) == NULL)
		return err;
	conf_argv_free(argv);
	t = m->acct != NULL ? m->acct->tenant_id : queue_field(m,
	    "tenant_id");
	if ((m->tenant = strdup(t != NULL ? t : "")) == NULL)
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
	if (m->job->consume != NULL)
		return "the job consumes a stream: it is not queued";
	t = queue_field(m, "tenant_id");
	u = queue_field(m, "user_id");
	if (t == NULL || u == NULL)
		return "no tenant_id or user_id";
	if ((m->acct = conf_account_by_ids(q->conf, t, u)) == NULL)
		return "tenant_id and user_id name no configured account";
	if (queue_provider_check(m, err, errlen) != NULL)
		return err;
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
	if (q->s[si].kind != QS_QUEUE)
		m->stream = q->s[si].c.name;
	m->attempt = 1;
	m->fields = json_object();
	m->attempts = json_array();
	TAILQ_INIT(&m->more);
	if (m->fields == NULL || m->attempts == NULL) {
		queue_msg_free(m);
		return NULL;
	}
	snprintf(m->id, sizeof(m->id), "%.*s", (int)(id->len < 47 ?
	    id->len : 47), id->str);
	if (queue_parse_id(m->id, &m->ms, &m->seq) == -1)
		m->ms = m->seq = ULLONG_MAX;
	strlcpy(m->job_id, m->id, sizeof(m->job_id));
	if (q->s[si].kind != QS_QUEUE) {
		if ((*why = queue_entry_take(m, f)) == NULL &&
		    (*why = queue_check_meta(m)) == NULL)
			*why = queue_check_entry(q, m, err, errlen);
	} else if ((*why = queue_check_fields(m, f)) == NULL &&
	    (*why = queue_check_meta(m)) == NULL &&
	    (*why = queue_check_idem(m)) == NULL)
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
	if (m->qi >= 0 && m->q->s[m->qi].kind != QS_QUEUE)
		return m->q->s[m->qi].c.job;
	snprintf(buf, len, "queue:%s", m->queue);
	return buf;
}

/* m and the entries of its batch, in order: the i-th, or NULL. */
static struct qmsg *
queue_nth(struct qmsg *m, int i)
{
	struct qmsg *x;

	if (i == 0)
		return m;
	TAILQ_FOREACH(x, &m->more, entry)
		if (--i == 0)
			return x;
	return NULL;
}

/* Sets x[0] to an XACK of m (and its batch) and, but for a consumed
 * stream, x[1] to an XDEL of them (v: 2 * (4 + nmore) strings): an entry
 * done leaves a queue, so that it holds only the jobs waiting or running
 * and its length tells the backlog; a consumed stream's entries stay for
 * the other groups (maxlen trims it). Returns the commands set. */
static size_t
queue_x_ack(struct queue *q, struct qmsg *m, struct stats_cmd *x,
    const char **v)
{
	const struct qstream *s;
	int n = 1 + m->nmore, c = 0, i;

	if (m->qi < 0)
		return 0;	/* its stream is no longer ours */
	s = &q->s[m->qi];
	v[c++] = "XACK";
	v[c++] = s->key;
	v[c++] = s->group;
	for (i = 0; i < n; i++)
		v[c++] = queue_nth(m, i)->id;
	x[0].argc = c;
	x[0].argv = v;
	x[0].len = NULL;
	if (s->kind == QS_CONSUME)
		return 1;
	v[c++] = "XDEL";
	v[c++] = s->key;
	for (i = 0; i < n; i++)
		v[c++] = queue_nth(m, i)->id;
	x[1].argc = 2 + n;
	x[1].argv = v + 3 + n;
	x[1].len = NULL;
	return 2;
}

/* What a record of consumed entries says: the stream, the entries'
 * origin ids and their keys (null for none). */
static void
queue_record_entries(struct qmsg *m, json_t *record)
{
	json_t *ids = json_array(), *keys = json_array();
	const char *k;
	struct qmsg *x;

	for (int i = 0; (x = queue_nth(m, i)) != NULL; i++) {
		json_array_append_new(ids, json_string(x->job_id));
		k = queue_field(x, "key");
		json_array_append_new(keys, k != NULL ? json_string(k) :
		    json_null());
	}
	json_object_set_new(record, "stream", json_string(m->stream));
	json_object_set_new(record, "entries", ids);
	json_object_set_new(record, "keys", keys);
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
	const char *ack[2 * (4 + CONF_BATCH_MAX)];
	char wbuf[QUEUE_NAME_MAX + 8];
	size_t i;

	for (i = 0; i < nx && i < STATS_EXTRA_MAX - 2; i++)
		all[i] = x[i];
	i += queue_x_ack(q, m, &all[i], ack);
	if (record != NULL && m->stream != NULL)
		queue_record_entries(m, record);
	else if (record != NULL && m->job == NULL)
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

/* The strings of one DLQ XADD: the command and what it owns. */
struct qdlq {
	const char	*v[24];
	char		*fields, *attempts;
	char		 queue[QUEUE_NAME_MAX + 8];
};

/* Fills d with an XADD of x to the DLQ key with reason, the record text
 * rec and the time at; returns its argc. Free with queue_dlq_clear(). */
static int
queue_dlq_cmd(const struct qmsg *x, const char *key, const char *reason,
    const char *rec, const char *at, struct qdlq *d)
{
	int c = 0;

	d->fields = json_dumps(x->fields, JSON_COMPACT);
	d->attempts = json_dumps(x->attempts, JSON_COMPACT);
	if (x->stream != NULL)
		snprintf(d->queue, sizeof(d->queue), "stream:%s", x->stream);
	else
		strlcpy(d->queue, x->queue, sizeof(d->queue));
	d->v[c++] = "XADD"; d->v[c++] = key; d->v[c++] = "*";
	d->v[c++] = "queue"; d->v[c++] = d->queue;
	d->v[c++] = "id"; d->v[c++] = x->id;
	d->v[c++] = "job_id"; d->v[c++] = x->job_id;
	d->v[c++] = "reason"; d->v[c++] = reason;
	d->v[c++] = "fields"; d->v[c++] = d->fields ? d->fields : "{}";
	d->v[c++] = "attempts"; d->v[c++] = d->attempts ? d->attempts : "[]";
	d->v[c++] = "record"; d->v[c++] = rec != NULL ? rec : "{}";
	d->v[c++] = "at"; d->v[c++] = at;
	if (x->stream != NULL) {
		/* Which stream and job: a reprocess reaches that job only. */
		d->v[c++] = "stream"; d->v[c++] = x->stream;
		d->v[c++] = "job"; d->v[c++] = x->job != NULL ?
		    x->job->name : x->qi >= 0 ? x->q->s[x->qi].c.job : "";
	}
	return c;
}

static void
queue_dlq_clear(struct qdlq *d)
{
	free(d->fields);
	free(d->attempts);
}

/*
 * To the DLQ with record (stolen; NULL: one of status "failed" is made)
 * and reason: XADD to the DLQ (one per entry of a batch) and XACK with the
 * record. Frees m.
 */
static void
queue_to_dlq(struct queue *q, struct qmsg *m, json_t *record,
    const char *reason)
{
	char key[QUEUE_KEY_MAX], at[32], why[256], *rec;
	struct qdlq d[1 + CONF_BATCH_MAX];
	struct stats_cmd x[1 + CONF_BATCH_MAX];
	struct qmsg *e;
	int i;

	/* reason may point into record, which stats_record_tx() consumes
	 * before it copies the extra commands: keep a copy. */
	strlcpy(why, reason != NULL ? reason : "failed", sizeof(why));
	reason = why;
	if (record == NULL)
		record = queue_skeleton(m, "failed", reason);
	if (record != NULL && m->stream != NULL)
		queue_record_entries(m, record);
	snprintf(key, sizeof(key), "%smailvisor:dlq", q->prefix);
	mv_iso8601(time(NULL), at, sizeof(at));
	rec = record != NULL ? mv_record_dumps(record) : NULL;
	for (i = 0; (e = queue_nth(m, i)) != NULL && i <= CONF_BATCH_MAX;
	    i++) {
		x[i].argc = queue_dlq_cmd(e, key, reason, rec, at, &d[i]);
		x[i].argv = d[i].v;
		x[i].len = NULL;
		log_warnx("%s %s: entry %s (job %s) to the dead letters: %s",
		    e->stream != NULL ? "stream" : "queue", e->queue, e->id,
		    e->job_id, reason);
		q->cnt.dead++;
	}
	queue_commit(q, m, record, x, (size_t)i);
	while (i-- > 0)
		queue_dlq_clear(&d[i]);
	free(rec);
}

/* Takes m out of the active list. */
static void
queue_deactivate(struct queue *q, struct qmsg *m)
{
	TAILQ_REMOVE(&q->active, m, entry);
	if (m->qi >= 0)
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

/* With batch above 1, the entries of m's stream read, checked (lately)
 * and of m's account join m's run, up to batch in all. */
static void
queue_gather(struct queue *q, struct qmsg *m)
{
	struct qstream *s = &q->s[m->qi];
	struct qmsg *x, *next;
	int64_t now = mv_mono_ms();

	for (x = TAILQ_FIRST(&s->buf); x != NULL && m->nmore + 1 <
	    s->c.batch; x = next) {
		next = TAILQ_NEXT(x, entry);
		if (x->state != QM_READY || x->acct != m->acct ||
		    now - x->checked_ms > QUEUE_CHECK_FRESH_MS)
			continue;
		TAILQ_REMOVE(&s->buf, x, entry);
		s->nbuf--;
		x->state = QM_RUN;
		TAILQ_INSERT_TAIL(&m->more, x, entry);
		m->nmore++;
	}
}

/* Starts m (taken out of its buffer): it becomes active and runs. */
static void
queue_run(struct queue *q, struct qmsg *m)
{
	if (q->s[m->qi].kind != QS_QUEUE && q->s[m->qi].c.batch > 1)
		queue_gather(q, m);
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
		v[c++] = m[i]->idem != NULL ? m[i]->idem : "";
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
	int running = s->running;

	if (s->c.share <= 0 || q->conf == NULL)
		return 0;
	/* A consuming job's share covers its stream and its retries. */
	for (size_t i = 0; s->kind != QS_QUEUE && i < q->n; i++)
		if (i != si && q->s[i].kind != QS_QUEUE &&
		    strcmp(q->s[i].c.job, s->c.job) == 0)
			running += q->s[i].running;
	cap = (q->conf->daemon.max_children * s->c.share + 99) / 100;
	return running >= (cap < 1 ? 1 : cap);
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
	TAILQ_FOREACH(m, &q->active, entry) {
		struct qmsg *x;

		if (m->qi != (int)si)
			continue;
		for (int i = 0; (x = queue_nth(m, i)) != NULL; i++)
			if (strlen(x->id) == len && memcmp(x->id, id, len) == 0)
				return 1;
	}
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

/* The stream of key k in the reply of read rd, or -1: one it asked
 * about (several streams share a key: one group each); a read of an
 * older configuration, a queue of that key (the consumed streams' entries
 * are read again, id "0", after a reload). */
static int
queue_stream_of(const struct queue *q, const struct qread *rd,
    const redisReply *k)
{
	size_t i;
	int si;

	if (k->type != REDIS_REPLY_STRING)
		return -1;
	for (i = 0; rd->gen == q->gen && i < rd->n; i++) {
		si = rd->si[i];
		if (strlen(q->s[si].key) == k->len &&
		    memcmp(q->s[si].key, k->str, k->len) == 0)
			return si;
	}
	for (i = 0; rd->gen != q->gen && i < q->n; i++)
		if (q->s[i].kind == QS_QUEUE && strlen(q->s[i].key) ==
		    k->len && memcmp(q->s[i].key, k->str, k->len) == 0)
			return (int)i;
	return -1;
}

/* The reply of an XREADGROUP: [[stream, [[id, fields], ...]], ...]. */
static void
queue_read_done(struct rds *r, redisReply *reply, void *arg)
{
	struct qread *rd = arg;
	struct queue *q = rd->q;
	const redisReply *st;
	size_t i, j;
	int si;

	(void)r;
	TAILQ_REMOVE(&q->reads, rd, entry);
	if (rd->gen == q->gen)
		for (i = 0; i < rd->n; i++)
			q->s[rd->si[i]].reading = 0;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		if (reply != NULL)
			log_warnx("queue: XREADGROUP: %s", reply->str);
		free(rd);
		return;
	}
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		st = reply->element[i];
		if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
		    (si = queue_stream_of(q, rd, st->element[0])) == -1 ||
		    st->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		for (j = 0; j < st->element[1]->elements; j++)
			queue_take(q, (size_t)si, st->element[1]->element[j],
			    0);
		if (st->element[1]->elements > 0)
			q->s[si].dry = 0;
	}
	free(rd);
	queue_pump(q);
}

/* How many messages stream si keeps read ahead: twice the slots, and
 * QUEUE_PREFETCH more, so that a slot that frees up starts the next one
 * at once, its check already done, and that the next read and check
 * (two round trips) come back before the buffer runs dry; for a job that
 * consumes in batches, a whole batch more per slot, so that each run
 * starts with its batch full rather than with what came in. */
static int
queue_target(const struct queue *q, size_t si)
{
	long t = 2 * q->conf->daemon.max_children + QUEUE_PREFETCH;

	if (q->s[si].kind != QS_QUEUE && q->s[si].c.batch > 1)
		t += q->s[si].c.batch * q->conf->daemon.max_children;

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
	if (s->nbuf * 2 < queue_target(q, si))
		return 1;
	return q->tenant_limit > 0 && q->avail > 0 &&
	    s->nbuf < QUEUE_BATCH_MAX && !queue_share_full(q, si) &&
	    !queue_unchecked(q, si) && queue_candidate(q, si) == NULL;
}

/*
 * XREADGROUP of the streams of si's consumer group that need it and are
 * not being read: with block, every queue on the blocking connection;
 * else those queue_wants(), id ">" (or "0": our own pending entries, when
 * own). 0 or -1.
 */
static int
queue_read(struct queue *q, size_t si, int block, int own)
{
	const char *v[10 + 2 * 64];
	char count[16], bms[16];
	struct qread *rd;
	size_t i, k, n = 0;
	int c = 0, most = 0;

	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return -1;
	v[c++] = "XREADGROUP"; v[c++] = "GROUP"; v[c++] = q->s[si].group;
	v[c++] = q->consumer; v[c++] = "COUNT"; v[c++] = count;
	if (block) {
		v[c++] = "BLOCK";
		v[c++] = bms;
	}
	v[c++] = "STREAMS";
	k = (size_t)c;
	for (i = 0; i < q->n && i < 64; i++) {
		if (q->s[i].reading || strcmp(q->s[i].group,
		    q->s[si].group) != 0 || !(block || own ||
		    queue_wants(q, i)))
			continue;
		rd->si[n] = (int)i;
		v[k + n++] = q->s[i].key;
		if (queue_target(q, i) - q->s[i].nbuf > most)
			most = queue_target(q, i) - q->s[i].nbuf;
	}
	if (n == 0) {
		free(rd);
		return -1;
	}
	for (i = 0; i < n; i++)
		v[k + n + i] = own ? "0" : ">";
	snprintf(count, sizeof(count), "%d", own ? QUEUE_BATCH_MAX :
	    most < 1 ? 1 : most);
	snprintf(bms, sizeof(bms), "%d", q->block_ms);
	rd->q = q;
	rd->gen = q->gen;
	rd->n = n;
	if (rds_command(block ? q->blk : q->cmd, (int)(k + 2 * n), v, NULL,
	    queue_read_done, rd) == -1) {
		free(rd);
		return -1;
	}
	TAILQ_INSERT_TAIL(&q->reads, rd, entry);
	for (i = 0; i < n; i++) {
		q->s[rd->si[i]].reading = 1;
		/* Our own pending entries say nothing of new ones. */
		if (!block && !own)
			q->s[rd->si[i]].dry = 1;
	}
	return 0;
}

/* Reads our own pending entries of every stream (id "0"), one read per
 * consumer group. */
static void
queue_read_own(struct queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		if (!q->s[i].reading)
			(void)queue_read(q, i, 0, 1);
}

static void queue_wake_arm(struct queue *);

/* The reply of the wake read: the streams that have a new entry are read
 * (through their groups) at once, then it waits again. */
static void
queue_wake_done(struct rds *r, redisReply *reply, void *arg)
{
	struct queue *q = arg;
	const redisReply *st;
	size_t i, j;

	(void)r;
	q->waking = 0;
	if (reply == NULL)
		return;		/* the connection went: armed when back */
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("queue: XREAD: %s", reply->str);
		return;		/* the tick reads them all the same */
	}
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		st = reply->element[i];
		if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
		    st->element[0]->type != REDIS_REPLY_STRING)
			continue;
		for (j = 0; j < q->n; j++)
			if (q->s[j].kind == QS_CONSUME &&
			    strlen(q->s[j].key) == st->element[0]->len &&
			    memcmp(q->s[j].key, st->element[0]->str,
			    st->element[0]->len) == 0)
				q->s[j].dry = 0;
	}
	queue_pump(q);
}

/*
 * Waits on the wake connection for a new entry in any stream a job
 * consumes that had nothing new at its last read: XREAD BLOCK from "$",
 * no group (one blocking command holds a connection, and each job reads
 * through its own group), so that such an entry starts at once rather
 * than at the next tick. One added between that last read and this call
 * waits for the tick (QUEUE_TICK_MS), as every one did without it.
 */
static void
queue_wake_arm(struct queue *q)
{
	const char *v[6 + 2 * 64];
	char bms[16];
	size_t i, j, n = 0;
	int c = 0;

	if (q->wake == NULL || q->waking || !rds_connected(q->wake))
		return;
	v[c++] = "XREAD"; v[c++] = "COUNT"; v[c++] = "1";
	v[c++] = "BLOCK"; v[c++] = bms; v[c++] = "STREAMS";
	for (i = 0; i < q->n && n < 64; i++) {
		if (q->s[i].kind != QS_CONSUME || !q->s[i].dry ||
		    q->s[i].reading)
			continue;
		for (j = 0; j < n && strcmp(v[c + j], q->s[i].key) != 0; j++)
			;
		if (j == n)
			v[c + n++] = q->s[i].key;
	}
	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		v[c + n + i] = "$";
	snprintf(bms, sizeof(bms), "%d", q->block_ms);
	if (rds_command(q->wake, c + 2 * (int)n, v, NULL, queue_wake_done,
	    q) == 0)
		q->waking = 1;
}

static void
queue_wake_connect(void *arg)
{
	queue_wake_arm(arg);
}

void
queue_set_wake(struct queue *q, struct rds *wake)
{
	if (q->wake != NULL) {
		rds_on_connect(q->wake, NULL, q);
		rds_cancel(q->wake, q);
		q->waking = 0;
	}
	if ((q->wake = wake) != NULL) {
		rds_on_connect(wake, queue_wake_connect, q);
		queue_wake_arm(q);
	}
}

/*
 * Checks what was read, starts what may start, and keeps the buffers
 * filled ahead; when nothing at all is buffered and slots are free, a
 * blocking read of the queues waits for messages; the streams jobs
 * consume, each read through its own group, are read again when the wake
 * read sees a new entry (queue_wake_arm()) and at each tick
 * (QUEUE_TICK_MS).
 */
static void
queue_pump(struct queue *q)
{
	size_t i, first = q->n;

	queue_precheck(q);
	if (q->avail > 0)
		queue_start(q);
	for (i = 0; i < q->n; i++)
		if (!q->s[i].reading && queue_wants(q, i))
			(void)queue_read(q, i, 0, 0);
	queue_wake_arm(q);
	if (q->avail <= 0)
		return;
	for (i = 0; i < q->n; i++) {
		if (q->s[i].nbuf > 0 || (q->s[i].kind == QS_QUEUE &&
		    q->s[i].reading))
			return;
		if (q->s[i].kind == QS_QUEUE && first == q->n)
			first = i;
	}
	if (first < q->n)
		queue_read(q, first, 1, 0);
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

/* Every tick (QUEUE_TICK_MS): due retries back, dry marks cleared,
 * pump. */
static void
queue_tick_cb(int fd, short ev, void *arg)
{
	struct queue *q = arg;
	char key[QUEUE_KEY_MAX], pre[QUEUE_KEY_MAX], rpre[QUEUE_KEY_MAX];
	char now[24];
	size_t i;

	(void)fd;
	(void)ev;
	snprintf(key, sizeof(key), "%smailvisor:delayed", q->prefix);
	snprintf(pre, sizeof(pre), "%smailvisor:queue:", q->prefix);
	snprintf(rpre, sizeof(rpre), "%smailvisor:retry:", q->prefix);
	snprintf(now, sizeof(now), "%lld", (long long)queue_now_ms());
	rds_eval(q->cmd, &queue_mover_script, 5, (const char *[]){ "1", key,
	    now, pre, rpre }, NULL, NULL, NULL);
	for (i = 0; i < q->n; i++)
		q->s[i].dry = 0;
	queue_pump(q);
	queue_arm(q->tick_ev, q->tick_ms);
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
		v[0] = "XCLAIM"; v[1] = q->s[i].key; v[2] = q->s[i].group;
		v[3] = q->consumer; v[4] = "0";
		c = 5;
		TAILQ_FOREACH(m, &q->active, entry) {
			struct qmsg *x;

			for (int k = 0; m->qi == (int)i && c < 5 + 63 &&
			    (x = queue_nth(m, k)) != NULL; k++)
				v[c++] = x->id;
		}
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
		v[0] = "1"; v[1] = q->s[i].key; v[2] = q->s[i].group;
		v[3] = q->consumer; v[4] = margin; v[5] = hb;
		c = 6;
		if (q->s[i].kind != QS_QUEUE) {
			/* One job: its limit for every entry. */
			const struct job_conf *jc = conf_job(q->conf,
			    q->s[i].c.job);

			snprintf(lims[0], sizeof(lims[0]), "%lld",
			    (long long)((jc != NULL ? jc->timeout : 0) * 1000 +
			    q->margin * 1000));
			v[4] = lims[0];
		}
		for (j = 0; q->s[i].kind == QS_QUEUE && j < q->conf->njobs &&
		    j < 64; j++) {
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
	 * daemon made the group are work too, and a new consuming job runs
	 * for the entries its stream holds. A group that exists (made by
	 * hand at "$", say) is left as it is. */
	for (i = 0; i < q->n; i++)
		rds_command(q->cmd, 6, (const char *[]){ "XGROUP", "CREATE",
		    q->s[i].key, q->s[i].group, "0", "MKSTREAM" }, NULL, NULL,
		    NULL);
	queue_read_own(q);
}

/* Frees the n streams s (their buffered messages too). */
static void
queue_streams_free(struct qstream *s, size_t n)
{
	struct qmsg *m;

	for (size_t i = 0; i < n; i++) {
		while ((m = TAILQ_FIRST(&s[i].buf)) != NULL) {
			TAILQ_REMOVE(&s[i].buf, m, entry);
			queue_msg_free(m);
		}
		free(s[i].c.name);
		free(s[i].c.job);
	}
	free(s);
}

/* Stream s of kind from c: its names, key and group. 0 or -1. */
static int
queue_stream_init(struct queue *q, struct qstream *s,
    const struct queue_conf *c, int kind)
{
	s->c = *c;
	s->kind = kind;
	s->c.name = strdup(c->name);
	s->c.job = c->job != NULL ? strdup(c->job) : NULL;
	TAILQ_INIT(&s->buf);
	if (s->c.name == NULL || (c->job != NULL && s->c.job == NULL))
		return -1;
	if (kind == QS_QUEUE)
		snprintf(s->key, sizeof(s->key), "%smailvisor:queue:%s",
		    q->prefix, c->name);
	else if (kind == QS_CONSUME)
		snprintf(s->key, sizeof(s->key), "%smailvisor:stream:%s",
		    q->prefix, c->name);
	else
		snprintf(s->key, sizeof(s->key), "%smailvisor:retry:%s",
		    q->prefix, c->job);
	strlcpy(s->group, kind == QS_QUEUE ? q->group : c->job,
	    sizeof(s->group));
	return 0;
}

/* Fills the streams of q from qs: one per queue, two per consuming job
 * (its stream and its retries). 0 or -1. */
static int
queue_set_streams(struct queue *q, const struct queue_conf *qs, size_t n)
{
	struct qstream *s;
	size_t i, k = 0, total = n;

	for (i = 0; i < n; i++) {
		if (!queue_name_ok(qs[i].name) || (qs[i].job != NULL &&
		    !queue_name_ok(qs[i].job))) {
			errno = EINVAL;
			return -1;
		}
		total += qs[i].job != NULL;
	}
	if (n == 0 || total > 64) {
		errno = EINVAL;
		return -1;
	}
	if ((s = calloc(total, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (queue_stream_init(q, &s[k++], &qs[i], qs[i].job != NULL ?
		    QS_CONSUME : QS_QUEUE) == -1 || (qs[i].job != NULL &&
		    queue_stream_init(q, &s[k++], &qs[i], QS_RETRY) == -1)) {
			queue_streams_free(s, k);
			errno = ENOMEM;
			return -1;
		}
	}
	q->s = s;
	q->n = total;
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
	q->tick_ms = o != NULL && o->tick_ms > 0 ? o->tick_ms :
	    QUEUE_TICK_MS;
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
	TAILQ_INIT(&q->reads);
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
	queue_arm(q->tick_ev, q->tick_ms);
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

/* 1 when a and b are the same stream (of two configurations). */
static int
queue_stream_same(const struct qstream *a, const struct qstream *b)
{
	return a->kind == b->kind && strcmp(a->c.name, b->c.name) == 0 &&
	    (a->c.job == NULL) == (b->c.job == NULL) && (a->c.job == NULL ||
	    strcmp(a->c.job, b->c.job) == 0);
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
		struct qmsg *x;

		for (j = 0; m->qi >= 0 && j < q->n; j++)
			if (queue_stream_same(&q->s[j], &old[m->qi]))
				break;
		m->qi = m->qi >= 0 && j < q->n ? (int)j : -1;
		for (i = 0; (x = queue_nth(m, (int)i)) != NULL; i++) {
			x->qi = m->qi;
			x->queue = m->qi >= 0 ? q->s[j].c.name : "(removed)";
			if (x->stream != NULL)
				x->stream = x->queue;
		}
		if (m->qi >= 0)
			q->s[j].running++;
	}
	/* Buffered ones are forgotten: still pending for us, they are read
	 * again (id 0) and checked against the new configuration. */
	queue_streams_free(old, on);
	q->gen++;		/* the reads awaited name the old streams */
	queue_read_own(q);
	return 0;
}

/* The next attempt of m as a delayed set member: {"q":QUEUE,"f":[...]},
 * or for a consumed entry {"r":JOB,"f":[...]} (its job's retry stream).
 * New string, or NULL. */
static char *
queue_retry_member(const struct qmsg *m)
{
	static const char *const keep[] = { "job", "args", "tenant_id",
	    "user_id", "idempotency_key", "enqueued_at", NULL };
	static const char *const keep_entry[] = { "data", "job", "job_id",
	    "account", "tenant_id", "user_id", "key", NULL };
	const char *const *p;
	char num[16], *s, *att;
	json_t *o, *f;

	o = json_object();
	f = json_array();
	if (m->stream != NULL)
		json_object_set_new(o, "r", json_string(m->job->name));
	else
		json_object_set_new(o, "q", json_string(m->queue));
	json_object_set_new(o, "f", f);
	for (p = m->stream != NULL ? keep_entry : keep; *p != NULL; p++)
		if (queue_field(m, *p) != NULL) {
			json_array_append_new(f, json_string(*p));
			json_array_append(f, json_object_get(m->fields, *p));
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

/* The delay before attempt m->attempt + 1: the backoff of m's queue (or
 * consuming job), or retry_after when longer. */
static double
queue_delay(const struct queue *q, const struct qmsg *m, double retry_after)
{
	uint32_t rnd;
	double delay;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)random();
	delay = backoff_delay(&q->s[m->qi].c.backoff, m->attempt,
	    rnd / 4294967296.0);
	return retry_after > delay ? retry_after : delay;
}

/*
 * Q_RETRY: the entries of m (a batch: each) with attempts left go to the
 * delayed set with one ZADD, the others to the DLQ ("attempts
 * exhausted"), with the record and the ack in one transaction. 0, or -1
 * (out of memory: nothing done).
 */
static int
queue_retry(struct queue *q, struct qmsg *m, json_t *record,
    double retry_after)
{
	char key[QUEUE_KEY_MAX], dk[QUEUE_KEY_MAX], score[32], at[32];
	char *mem[1 + CONF_BATCH_MAX], *rec = NULL;
	const char *v[2 + 2 * (1 + CONF_BATCH_MAX)];
	struct qdlq d[1 + CONF_BATCH_MAX];
	struct stats_cmd x[2 + CONF_BATCH_MAX];
	struct qmsg *e;
	int i, n = 0, nd = 0, c = 2, max = q->s[m->qi].c.max_retries, rc = 0;
	double delay = queue_delay(q, m, retry_after);

	snprintf(key, sizeof(key), "%smailvisor:delayed", q->prefix);
	snprintf(dk, sizeof(dk), "%smailvisor:dlq", q->prefix);
	snprintf(score, sizeof(score), "%lld", (long long)queue_now_ms() +
	    (long long)(delay * 1000));
	mv_iso8601(time(NULL), at, sizeof(at));
	v[0] = "ZADD"; v[1] = key;
	if (m->nmore > 0 && record != NULL) {
		queue_record_entries(m, record);
		rec = mv_record_dumps(record);
	}
	for (i = 0; (e = queue_nth(m, i)) != NULL && i <= CONF_BATCH_MAX;
	    i++) {
		if (e->attempt > max) {
			x[1 + nd].argc = queue_dlq_cmd(e, dk, "attempts "
			    "exhausted", rec, at, &d[nd]);
			x[1 + nd].argv = d[nd].v;
			x[1 + nd].len = NULL;
			nd++;
			q->cnt.dead++;
			continue;
		}
		if ((mem[n] = queue_retry_member(e)) == NULL) {
			rc = -1;
			goto out;
		}
		v[c++] = score;
		v[c++] = mem[n++];
		log_info("%s %s: job %s attempt %d in %.1f s", e->stream ?
		    "stream" : "queue", e->queue, e->job_id, e->attempt + 1,
		    delay);
		q->cnt.retried++;
	}
	x[0].argc = c;
	x[0].argv = v;
	x[0].len = NULL;
	queue_commit(q, m, record, n > 0 ? x : x + 1, (size_t)(nd +
	    (n > 0)));
out:
	while (n-- > 0)
		free(mem[n]);
	while (nd-- > 0)
		queue_dlq_clear(&d[nd]);
	free(rec);
	return rc;
}

void
queue_finish(struct queue *q, struct qmsg *m, json_t *record,
    enum qoutcome o, double retry_after, const char *reason)
{
	const char *status;
	struct qmsg *e;
	int max;

	queue_deactivate(q, m);
	if (record == NULL)
		record = queue_skeleton(m, "failed", reason != NULL ? reason :
		    "no record");
	status = json_string_value(json_object_get(record, "status"));
	for (int i = 0; (e = queue_nth(m, i)) != NULL; i++)
		json_array_append_new(e->attempts, json_string(status != NULL ?
		    status : "failed"));
	if (reason == NULL)
		reason = status != NULL ? status : "failed";
	max = m->qi >= 0 ? q->s[m->qi].c.max_retries : 0;
	if (m->qi < 0 && o != Q_ACK) {
		o = Q_DLQ;
		reason = "queue removed from the configuration";
	}
	if (o == Q_RETRY && m->attempt > max && m->nmore == 0) {
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

char *
queue_input(struct qmsg *m, size_t *len)
{
	struct mv_buf b;
	struct qmsg *x;
	json_t *d;
	/* A job that consumes in batches always gets an array, of one
	 * entry too. */
	int array = m->job != NULL && m->job->batch > 1;

	mv_buf_init(&b, 0);
	for (int i = 0; (x = queue_nth(m, i)) != NULL; i++) {
		d = json_object_get(x->fields, "data");
		if ((array && mv_buf_append(&b, i == 0 ? "[" : ",", 1) ==
		    -1) || mv_buf_append(&b, json_string_value(d),
		    json_string_length(d)) == -1)
			goto fail;
	}
	if (array && mv_buf_append(&b, "]", 1) == -1)
		goto fail;
	return mv_buf_steal(&b, len);
fail:
	mv_buf_free(&b);
	return NULL;
}

void
queue_input_key(struct qmsg *m, char *buf, size_t len)
{
	unsigned long long h = QUEUE_HASH0;
	const char *k;
	struct qmsg *x;

	for (int i = 0; (x = queue_nth(m, i)) != NULL; i++) {
		if ((k = queue_field(x, "key")) == NULL || *k == '\0')
			k = x->job_id;
		if (m->nmore == 0) {
			snprintf(buf, len, "%s", k);
			return;
		}
		h = queue_hash(k, strlen(k) + 1, h);	/* with its NUL */
	}
	snprintf(buf, len, "batch-%016llx", h);
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
	struct qread *rd;
	struct qtool *t;
	struct qmsg *m;

	if (q == NULL)
		return;
	rds_on_connect(q->cmd, NULL, q);
	rds_on_connect(q->blk, NULL, q);
	rds_cancel(q->cmd, q);
	rds_cancel(q->blk, q);
	queue_set_wake(q, NULL);
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
	while ((rd = TAILQ_FIRST(&q->reads)) != NULL) {
		TAILQ_REMOVE(&q->reads, rd, entry);
		rds_cancel(q->cmd, rd);
		rds_cancel(q->blk, rd);
		free(rd);
	}
	queue_streams_free(q->s, q->n);
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
 * one that cannot (damaged by hand) stays. A consumed entry (fields
 * "stream" and "job") goes to that job's retry stream: that job alone
 * runs it again, not every group of the stream. Returns how many went
 * back.
 */
static const char queue_reprocess_lua[] =
    "local function back(e)\n"
    "  local h = {}\n"
    "  for i = 1, #e[2], 2 do h[e[2][i]] = e[2][i + 1] end\n"
    "  local qn, to = h['queue'], 'mailvisor:queue:'\n"
    "  if h['stream'] and h['job'] then qn, to = h['job'],"
    " 'mailvisor:retry:' end\n"
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
    "  redis.call('XADD', ARGV[1] .. to .. qn, '*', unpack(a))\n"
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
			if (t->q->s[j].kind == QS_QUEUE &&
			    strcmp(t->q->s[j].c.name, name) == 0)
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
		if (q->s[i].kind == QS_QUEUE && strcmp(q->s[i].c.name,
		    name) == 0)
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
		if (q->s[i].kind == QS_QUEUE)
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
		if (q->s[i].kind != QS_QUEUE)
			continue;
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
