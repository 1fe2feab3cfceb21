/* mailvisord's core: schedules fire into a run queue; runs start while
 * fewer than max_children run; each result becomes an execution record
 * (contract §2) written to Redis; retryable failures of scheduled runs come
 * back after their backoff; SIGHUP swaps the configuration, SIGTERM drains. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/record.h"
#include "supervisor/backoff.h"
#include "supervisor/child.h"
#include "supervisor/daemon.h"
#include "supervisor/notify.h"
#include "supervisor/queue.h"
#include "supervisor/rds.h"
#include "supervisor/sched.h"
#include "supervisor/stats.h"

/* XADDs of a run awaiting Redis past which its stdout is no longer read,
 * and below which it is read again. */
#define EMIT_PAUSE	256
#define EMIT_RESUME	64
/* How long a run waits for Redis to read its cursor (ms: a daemon just
 * started, a reconnection), trying every CURSOR_RETRY_MS. */
#define CURSOR_WAIT_MS	10000
#define CURSOR_RETRY_MS	200

/* How often the paused/removed schedule sets are read again from Redis,
 * and the revoked set for the runs going here (seconds). */
#define SCHED_STATE_POLL	5
#define REVOKE_POLL		1

struct sjob;

/* One execution, from queueing to its record (retries included). */
struct run {
	struct mvd		*d;
	struct sjob		*sj;
	const struct account_conf *acct;	/* NULL: not per account */
	json_t			*args;		/* object or NULL */
	char			 job_id[40];
	int			 attempt;
	struct event		*retry_timer;
	struct child		*child;
	struct qmsg		*qm;		/* a queued job's message, or NULL */
	time_t			 started_at;	/* while running */
	int			 full;		/* without the stored cursor */
	char			*cursor;	/* passed to this attempt; NULL:
						 * not read yet */
	char			*next_cursor;	/* the summary's, to store */
	long			 emitted;	/* lines Redis took */
	int			 emit_pending;	/* XADDs awaiting a reply */
	char			*emit_err;	/* first XADD failure, or NULL */
	long			 lines;		/* lines emitted (keys) */
	char			*input;		/* stdin (consumed entries) */
	size_t			 input_len;
	char			 in_key[256];	/* their key (emitted keys) */
	int			 child_done;	/* the worker's result is in */
	json_t			*rec;		/* its record, until stored */
	enum child_status	 status;
	int			 retryable;
	double			 retry_after;
	struct event		*cursor_timer;	/* waiting for Redis */
	int64_t			 cursor_since;	/* mono ms; 0: not waiting */
	TAILQ_ENTRY(run)	 entry;
};
TAILQ_HEAD(runq, run);

/* A configured job at run time: its timer and counters. A job outlives a
 * reload while its runs do (its conf with it). */
struct sjob {
	struct mvd		*d;
	struct cref		*cref;		/* reference held */
	const struct job_conf	*jc;
	struct event		*timer;
	time_t			 next_fire;	/* with jitter */
	time_t			 next_base;	/* without: the fire's name */
	int			 paused;
	int			 removed;
	int			 live;		/* in the current configuration */
	int			 refs;		/* runs pointing here, + live */
};

/* A configuration shared by the jobs built from it: freed with the last
 * of them, so that runs started before a reload keep theirs. */
struct cref {
	struct conf		*conf;
	int			 refs;
};

static struct cref *
cref_new(struct conf *c)
{
	struct cref *cr;

	if ((cr = calloc(1, sizeof(*cr))) == NULL)
		return NULL;
	cr->conf = c;
	cr->refs = 1;
	return cr;
}

static struct cref *
cref_get(struct cref *cr)
{
	cr->refs++;
	return cr;
}

static void
cref_put(struct cref *cr)
{
	if (cr == NULL || --cr->refs > 0)
		return;
	conf_free(cr->conf);
	free(cr);
}

struct mvd {
	struct event_base	*base;
	char			*conf_path;
	char			*key_prefix;	/* [redis] is read at start only */
	struct conf		*conf;		/* the current one, in cref */
	struct cref		*cref;
	struct sjob		**jobs;
	size_t			 njobs;
	struct rds		*rds;
	struct rds		*rds_block;	/* XREADGROUP BLOCK */
	struct rds		*rds_wake;	/* XREAD BLOCK: consumed streams */
	struct stats		*stats;
	struct queue		*queue_mod;	/* Redis Streams queues */
	struct runq		 queue;		/* waiting for a slot */
	int			 queued;	/* runs in queue */
	struct runq		 active;	/* running */
	struct runq		 retrying;	/* waiting for their backoff */
	int			 running;
	int			 waiting_retry;
	int			 stopping;
	int			 exit_when_idle;
	struct event		*poll_timer;
	struct event		*revoke_timer;
	struct event		*watchdog;
	struct event		*stop_timer;
	time_t			 started_at;
	unsigned		 sched_gen;	/* mvd_schedule_set() calls */
	int			 claims;	/* fire claims awaiting Redis */
};

static void run_start(struct run *);
static void dispatch(struct mvd *);

static void
job_id_new(char *buf, size_t len)
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)rand();
	r[6] = (r[6] & 0x0f) | 0x40;		/* UUID version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

static void
sjob_put(struct sjob *sj)
{
	if (--sj->refs > 0)
		return;
	if (sj->timer)
		event_free(sj->timer);
	cref_put(sj->cref);
	free(sj);
}

static void
run_free(struct run *r)
{
	if (r->retry_timer)
		event_free(r->retry_timer);
	if (r->cursor_timer)
		event_free(r->cursor_timer);
	json_decref(r->args);
	json_decref(r->rec);
	free(r->cursor);
	free(r->next_cursor);
	free(r->emit_err);
	free(r->input);
	sjob_put(r->sj);
	free(r);
}

static int
mvd_idle(const struct mvd *d)
{
	return d->running == 0 && d->waiting_retry == 0 && d->queued == 0 &&
	    d->claims == 0;
}

static void
runq_push(struct mvd *d, struct run *r)
{
	TAILQ_INSERT_TAIL(&d->queue, r, entry);
	d->queued++;
}

static struct run *
runq_pop(struct mvd *d)
{
	struct run *r = TAILQ_FIRST(&d->queue);

	if (r != NULL) {
		TAILQ_REMOVE(&d->queue, r, entry);
		d->queued--;
	}
	return r;
}

/* Leaves the loop once a stop or a one-shot run has nothing left. */
static void
maybe_exit(struct mvd *d)
{
	if (!mvd_idle(d))
		return;
	if (d->stopping || d->exit_when_idle)
		event_base_loopexit(d->base, NULL);	/* then mvd_flush() */
}

static struct run *
run_new(struct sjob *sj, const struct account_conf *acct, json_t *args)
{
	struct run *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->d = sj->d;
	r->sj = sj;
	sj->refs++;
	r->acct = acct;
	r->args = args ? json_incref(args) : NULL;
	r->attempt = 1;
	job_id_new(r->job_id, sizeof(r->job_id));
	return r;
}

/* A record for a run that never started (skipped, refused). */
static void
record_not_run(struct run *r, const char *status, const char *reason)
{
	json_t *rec = mv_record_skeleton(r->sj->jc->name, r->job_id, status,
	    r->attempt, time(NULL));

	json_object_set_new(rec, "reason", json_string(reason));
	if (r->acct)
		json_object_set_new(rec, "account", json_string(r->acct->name));
	log_info("job %s id %s: %s: %s", r->sj->jc->name, r->job_id, status,
	    reason);
	if (r->qm != NULL) {
		queue_finish(r->d->queue_mod, r->qm, rec, Q_DLQ, 0, reason);
		r->qm = NULL;
	} else
		stats_record(r->d->stats, r->sj->jc->name, r->job_id, rec);
}

static struct sjob *job_find(struct mvd *, const char *);

/* Points a run of a job from an older configuration at the job of the
 * same name in the current one (and its account of the same name), when
 * there is one and it still runs for that account's provider. */
static void
run_rebind(struct run *r)
{
	struct sjob *now = job_find(r->d, r->sj->jc->name);
	const struct account_conf *acct = NULL;

	if (now == NULL)
		return;
	if (r->acct && (acct = conf_account(now->cref->conf,
	    r->acct->name)) == NULL)
		return;		/* its account is gone */
	if (acct != NULL && !conf_job_serves(now->jc, acct))
		return;		/* now of another provider: as it was */
	now->refs++;
	sjob_put(r->sj);
	r->sj = now;
	r->acct = acct;
}

static void
retry_fire(evutil_socket_t fd, short ev, void *arg)
{
	struct run *r = arg;
	struct mvd *d = r->d;

	(void)fd;
	(void)ev;
	d->waiting_retry--;
	TAILQ_REMOVE(&d->retrying, r, entry);
	event_free(r->retry_timer);
	r->retry_timer = NULL;
	if (!d->stopping && !r->sj->live)
		run_rebind(r);	/* reloaded meanwhile: the job as it is now */
	if (d->stopping || !r->sj->live) {
		record_not_run(r, "skipped", d->stopping ? "daemon stopping" :
		    "job removed from the configuration");
		run_free(r);
		maybe_exit(d);
		return;
	}
	runq_push(d, r);
	dispatch(d);
}

/* The worker's own error.retry_after (seconds), or 0. */
static double
worker_retry_after(const struct child_result *res)
{
	json_t *ra;

	if (res->result == NULL)
		return 0;
	ra = json_object_get(json_object_get(res->result, "error"),
	    "retry_after");
	return json_is_integer(ra) && json_integer_value(ra) > 0 ?
	    (double)json_integer_value(ra) : 0;
}

/* Schedules the next attempt of a retryable failure, if any is left;
 * retry_after is the worker's own delay (0: none). */
static int
run_retry(struct run *r, int retryable, double retry_after)
{
	const struct job_conf *jc = r->sj->jc;
	struct timeval tv;
	double delay, u;
	uint32_t rnd;

	if (!retryable || r->attempt > jc->max_retries || r->d->stopping)
		return 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)rand();
	u = rnd / 4294967296.0;
	delay = backoff_delay(&jc->backoff, r->attempt, u);
	if (retry_after > delay)
		delay = retry_after;	/* the worker knows */
	r->attempt++;
	free(r->cursor);	/* read again for the next attempt */
	r->cursor = NULL;
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	if ((r->retry_timer = evtimer_new(r->d->base, retry_fire, r)) == NULL)
		return 0;
	evtimer_add(r->retry_timer, &tv);
	TAILQ_INSERT_TAIL(&r->d->retrying, r, entry);
	r->d->waiting_retry++;
	log_info("job %s id %s: attempt %d in %.1f s", jc->name, r->job_id,
	    r->attempt, delay);
	return 1;
}

static void revoke_forget(struct mvd *, const struct run *);

/* The key of a run's cursor: KEY_PREFIXmailvisor:cursor:JOB:ACCOUNT. */
static void
cursor_key(const struct mvd *d, const char *job, const char *account,
    char *key, size_t len)
{
	snprintf(key, len, "%smailvisor:cursor:%s:%s", d->key_prefix, job,
	    account);
}

/* The outcome of the lines a run emitted: a failed XADD fails the run
 * (retryable: the next run prints the changes again). */
static void
emit_outcome(struct run *r)
{
	char reason[512];

	json_object_set_new(r->rec, "emitted", json_integer(r->emitted));
	if (r->emit_err == NULL || r->status != CHILD_SUCCESS)
		return;
	snprintf(reason, sizeof(reason), "stream %s: %s", r->sj->jc->emit,
	    r->emit_err);
	log_warnx("job %s id %s: %s", r->sj->jc->name, r->job_id, reason);
	r->status = CHILD_FAILED;
	r->retryable = 1;
	json_object_set_new(r->rec, "status", json_string("failed"));
	json_object_set_new(r->rec, "reason", json_string(reason));
}

/* The summary's cursor of a successful run, checked; 1 when there is one
 * to store. A cursor that is not valid fails the run as bad_output. */
static int
cursor_outcome(struct run *r)
{
	const char *reason = "bad output: the summary's cursor is not "
	    "printable ASCII of at most 1024 bytes";

	if (!r->sj->jc->cursor || r->status != CHILD_SUCCESS || r->acct == NULL)
		return 0;
	if (r->next_cursor == NULL) {
		log_warnx("job %s id %s: no cursor in the summary: the stored "
		    "one stays", r->sj->jc->name, r->job_id);
		return 0;
	}
	if (conf_cursor_valid(r->next_cursor, strlen(r->next_cursor)))
		return 1;
	log_warnx("job %s id %s: %s", r->sj->jc->name, r->job_id, reason);
	r->status = CHILD_BAD_OUTPUT;
	r->retryable = 0;
	json_object_set_new(r->rec, "status", json_string("bad_output"));
	json_object_set_new(r->rec, "reason", json_string(reason));
	return 0;
}

/* The record of a run that is not a queued job, with its new cursor in
 * the same script when there is one. */
static void
run_store(struct run *r, int with_cursor)
{
	struct mvd *d = r->d;
	const char *name = r->sj->jc->name;
	char key[512];
	struct stats_cmd set = { 3, (const char *[]){ "SET", key,
	    r->next_cursor }, NULL };

	if (!with_cursor) {
		stats_record(d->stats, name, r->job_id, r->rec);
		r->rec = NULL;
		return;
	}
	cursor_key(d, name, r->acct->name, key, sizeof(key));
	(void)stats_record_tx(d->stats, name, r->job_id, r->rec, &set, 1);
	r->rec = NULL;
}

/* A queued job's new cursor, sent before its record and ack. */
static void
cursor_send(struct run *r)
{
	char key[512];

	cursor_key(r->d, r->sj->jc->name, r->acct->name, key, sizeof(key));
	if (rds_command(r->d->rds, 3, (const char *[]){ "SET", key,
	    r->next_cursor }, NULL, NULL, NULL) == -1)
		log_warn("job %s id %s: cursor not stored", r->sj->jc->name,
		    r->job_id);
}

/* The end of a run whose worker is done and whose lines are all in their
 * stream (or failed to go there): its cursor, record, retry. */
static void
run_finish(struct run *r)
{
	struct mvd *d = r->d;
	int with_cursor;

	d->running--;
	TAILQ_REMOVE(&d->active, r, entry);
	if (r->sj->jc->emit != NULL)
		emit_outcome(r);
	with_cursor = cursor_outcome(r);
	if (r->qm != NULL) {
		/* The queue writes the record with its ack, retry or dead
		 * letter, in one transaction. */
		if (with_cursor)
			cursor_send(r);
		queue_finish(d->queue_mod, r->qm, r->rec,
		    r->status == CHILD_SUCCESS ||
		    r->status == CHILD_REVOKED ? Q_ACK :
		    r->retryable ? Q_RETRY : Q_DLQ, r->retry_after, NULL);
		r->rec = NULL;
		r->qm = NULL;
		run_free(r);
	} else {
		run_store(r, with_cursor);
		if (!run_retry(r, r->retryable, r->retry_after))
			run_free(r);
	}
	dispatch(d);
	maybe_exit(d);
}

static void
run_done(struct child *c, const struct child_result *res, void *arg)
{
	struct run *r = arg;
	const char *cur;

	(void)c;
	r->child = NULL;
	r->rec = child_record(r->sj->jc->name, r->job_id, r->attempt, res);
	if (r->acct)
		json_object_set_new(r->rec, "account", json_string(
		    r->acct->name));
	log_info("job %s id %s: %s after %.3f s (attempt %d)",
	    r->sj->jc->name, r->job_id, child_status_name(res->status),
	    res->duration, r->attempt);
	if (res->status == CHILD_REVOKED)
		revoke_forget(r->d, r);
	r->status = res->status;
	r->retryable = res->retryable;
	r->retry_after = worker_retry_after(res);
	cur = json_string_value(json_object_get(res->result, "cursor"));
	free(r->next_cursor);
	r->next_cursor = cur != NULL ? strdup(cur) : NULL;
	r->child_done = 1;
	if (r->emit_pending == 0)
		run_finish(r);
}

/* 64-bit FNV-1a of s[0..len): the key of a line that is not a change. */
static unsigned long long
emit_hash(const char *s, size_t len)
{
	unsigned long long h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The key of a line of a job that does not consume (see emit_key()). */
static void
emit_key_line(const struct run *r, const char *s, size_t len, char *key,
    size_t keylen)
{
	json_t *o = json_loadb(s, len, 0, NULL), *v;
	const char *acct = r->acct != NULL ? r->acct->name : "";
	const char *change = json_string_value(json_object_get(o, "change"));
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *ver = r->cursor != NULL ? r->cursor : "";
	char num[32];
	int n = -1;

	v = json_object_get(json_object_get(o, "email"), "history_id");
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
		v = json_string(num);
	} else
		json_incref(v);
	if (change != NULL && strcmp(change, "added") == 0 &&
	    json_is_string(v))
		ver = json_string_value(v);
	if (change != NULL && id != NULL)
		n = snprintf(key, keylen, "%s:%s:%s:%s", acct, change, id, ver);
	if (n < 0 || (size_t)n >= keylen)
		snprintf(key, keylen, "%s:%s:%016llx", r->sj->jc->name, acct,
		    emit_hash(s, len));
	json_decref(v);
	json_decref(o);
}

/*
 * The idempotency key of one emitted line. A change line ("change", "id"):
 * ACCOUNT:CHANGE:ID:VERSION, VERSION being the message's own
 * email.history_id for "added", else the cursor the run started from (a
 * later run from the same cursor prints the same change again; a newer
 * change comes from a newer cursor). Any other line: JOB:ACCOUNT:HASH of
 * the line as printed. A job that consumes a stream: JOB:INPUT:N, INPUT
 * the key of the entry (or batch) it ran for and N the line's number in
 * the run (from 1), so that a run again for the same input (a retry, a
 * reclaim) gives the same keys whatever it prints.
 */
static void
emit_key(const struct run *r, const char *s, size_t len, char *key,
    size_t keylen)
{
	if (r->qm != NULL && r->qm->stream != NULL) {
		snprintf(key, keylen, "%s:%s:%ld", r->sj->jc->name, r->in_key,
		    r->lines);
		return;
	}
	emit_key_line(r, s, len, key, keylen);
}

static void
emit_done(struct rds *rds, redisReply *rep, void *arg)
{
	struct run *r = arg;
	const char *why = rep == NULL ? "Redis unreachable" :
	    rep->type == REDIS_REPLY_ERROR ? rep->str : NULL;

	(void)rds;
	r->emit_pending--;
	if (why == NULL)
		r->emitted++;
	else if (r->emit_err == NULL)
		r->emit_err = strdup(why);
	if (r->child != NULL && r->emit_pending == EMIT_RESUME)
		child_pause_stdout(r->child, 0);
	if (r->child_done && r->emit_pending == 0)
		run_finish(r);
}

/* One line of a job that emits: XADD to its stream, pipelined. */
static void
emit_line(const char *s, size_t len, void *arg)
{
	struct run *r = arg;
	const struct job_conf *jc = r->sj->jc;
	const struct account_conf *a = r->acct;
	char stream[256], maxlen[32], key[4096];
	const char *argv[19] = { "XADD", stream, "MAXLEN", "~", maxlen, "*",
	    "data", s, "job", jc->name, "job_id", r->job_id, "account",
	    a ? a->name : "", "tenant_id", a ? a->tenant_id : "", "user_id",
	    a ? a->user_id : "", "key" };
	size_t lens[20];
	const char *all[20];

	r->lines++;
	if (r->emit_err != NULL)
		return;		/* the run has failed already */
	snprintf(stream, sizeof(stream), "%smailvisor:stream:%s",
	    r->d->key_prefix, jc->emit);
	snprintf(maxlen, sizeof(maxlen), "%ld",
	    conf_stream_maxlen(r->sj->cref->conf, jc->emit));
	emit_key(r, s, len, key, sizeof(key));
	for (int i = 0; i < 19; i++) {
		all[i] = argv[i];
		lens[i] = i == 7 ? len : strlen(argv[i]);
	}
	all[19] = key;
	lens[19] = strlen(key);
	if (rds_command(r->d->rds, 20, all, lens, emit_done, r) == -1) {
		r->emit_err = strdup(errno == ENOTCONN ? "Redis unreachable" :
		    strerror(errno));
		return;
	}
	if (++r->emit_pending == EMIT_PAUSE && r->child != NULL)
		child_pause_stdout(r->child, 1);
}

/* The limits of a job's runs, from its configuration. */
static void
run_limits(const struct mvd *d, const struct job_conf *jc, char **envp,
    struct child_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->memory = jc->memory_limit;
	l->cpu_s = jc->cpu_limit;
	l->nofile = jc->nofile;
	l->soft_timeout = (double)jc->soft_timeout;
	l->timeout = (double)jc->timeout;
	l->max_output = jc->max_output;
	l->cwd = jc->working_directory;
	l->envp = envp;
	l->cgroup = d->conf->daemon.cgroup;
	l->drop_privs = d->conf->daemon.drop_privs;
	l->uid = d->conf->daemon.uid;
	l->gid = d->conf->daemon.gid;
}

/* Spawns the run's worker; its cursor, when it keeps one, is read. */
static void
run_spawn(struct run *r)
{
	const struct job_conf *jc = r->sj->jc;
	struct child_limits lim;
	char err[256], tag[160], **argv, **envp;

	if ((argv = conf_render_argv_cursor(jc, r->acct, r->args, r->cursor,
	    err, sizeof(err))) == NULL) {
		record_not_run(r, "failed", err);
		run_free(r);
		return;
	}
	envp = conf_render_env(jc);
	run_limits(r->d, jc, envp, &lim);
	if (jc->emit != NULL) {
		lim.on_line = emit_line;
		lim.line_arg = r;
		lim.max_line = jc->max_line;
	}
	lim.input = r->input;
	lim.input_len = r->input_len;
	r->lines = 0;
	r->emitted = 0;
	r->emit_pending = 0;
	r->child_done = 0;
	free(r->emit_err);
	r->emit_err = NULL;
	snprintf(tag, sizeof(tag), "job %s id %s", jc->name, r->job_id);
	r->child = child_spawn(r->d->base, argv, &lim, tag, run_done, r, err,
	    sizeof(err));
	conf_argv_free(argv);
	conf_argv_free(envp);
	if (r->child == NULL) {
		log_warnx("job %s: %s", jc->name, err);
		record_not_run(r, "failed", err);
		run_free(r);
		return;
	}
	r->started_at = time(NULL);
	r->d->running++;
	TAILQ_INSERT_TAIL(&r->d->active, r, entry);
}

/* A run whose cursor could not be read: failed, retryable (nothing ran,
 * nothing is lost). */
static void
run_no_cursor(struct run *r, const char *why)
{
	json_t *rec = mv_record_skeleton(r->sj->jc->name, r->job_id, "failed",
	    r->attempt, time(NULL));

	json_object_set_new(rec, "reason", json_sprintf("cursor: %s", why));
	json_object_set_new(rec, "account", json_string(r->acct->name));
	log_warnx("job %s id %s: cursor: %s", r->sj->jc->name, r->job_id,
	    why);
	if (r->qm != NULL) {
		queue_finish(r->d->queue_mod, r->qm, rec, Q_RETRY, 0, NULL);
		r->qm = NULL;
		run_free(r);
		return;
	}
	stats_record(r->d->stats, r->sj->jc->name, r->job_id, rec);
	if (!run_retry(r, 1, 0))
		run_free(r);
}

/* GET of a run's cursor answered: the run starts with it (a nil: none
 * yet; one that is not valid: none, said). */
static void
cursor_read(struct rds *rds, redisReply *rep, void *arg)
{
	struct run *r = arg;
	struct mvd *d = r->d;

	(void)rds;
	d->running--;
	TAILQ_REMOVE(&d->active, r, entry);
	if (rep == NULL || (rep->type != REDIS_REPLY_STRING &&
	    rep->type != REDIS_REPLY_NIL))
		run_no_cursor(r, rep == NULL ? "Redis unreachable" :
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "not a string");
	else if (d->stopping) {
		record_not_run(r, "skipped", "daemon stopping");
		run_free(r);
	} else {
		if (rep->type == REDIS_REPLY_STRING &&
		    !conf_cursor_valid(rep->str, rep->len))
			log_warnx("job %s id %s: the stored cursor is not "
			    "printable ASCII of at most %d bytes: a full sync",
			    r->sj->jc->name, r->job_id, CONF_CURSOR_MAX);
		else if (rep->type == REDIS_REPLY_STRING)
			r->cursor = strdup(rep->str);
		if (r->cursor == NULL && (r->cursor = strdup("")) == NULL)
			run_no_cursor(r, "out of memory");
		else
			run_spawn(r);
	}
	dispatch(d);
	maybe_exit(d);
}

static void run_start(struct run *);

static void
cursor_retry(evutil_socket_t fd, short ev, void *arg)
{
	struct run *r = arg;
	struct mvd *d = r->d;

	(void)fd;
	(void)ev;
	d->running--;
	TAILQ_REMOVE(&d->active, r, entry);
	if (d->stopping) {
		record_not_run(r, "skipped", "daemon stopping");
		run_free(r);
	} else
		run_start(r);
	dispatch(d);
	maybe_exit(d);
}

/* Redis is not connected: 1 when the run waits a little for it (its slot
 * held), 0 when it has waited long enough. */
static int
cursor_wait(struct run *r)
{
	struct timeval tv = { 0, CURSOR_RETRY_MS * 1000 };

	if (r->cursor_since == 0)
		r->cursor_since = mv_mono_ms();
	if (mv_mono_ms() - r->cursor_since >= CURSOR_WAIT_MS)
		return 0;
	if (r->cursor_timer == NULL && (r->cursor_timer = evtimer_new(
	    r->d->base, cursor_retry, r)) == NULL)
		return 0;
	evtimer_add(r->cursor_timer, &tv);
	r->started_at = time(NULL);
	r->d->running++;
	TAILQ_INSERT_TAIL(&r->d->active, r, entry);
	return 1;
}

/* Starts a run: a job that keeps a cursor reads it first (holding its
 * slot meanwhile), unless the run is a full sync. */
static void
run_start(struct run *r)
{
	struct mvd *d = r->d;
	char key[512];

	if (!r->sj->jc->cursor || r->acct == NULL || r->cursor != NULL) {
		run_spawn(r);
		return;
	}
	if (r->full) {
		if ((r->cursor = strdup("")) == NULL)
			run_no_cursor(r, "out of memory");
		else
			run_spawn(r);
		return;
	}
	cursor_key(d, r->sj->jc->name, r->acct->name, key, sizeof(key));
	if (rds_command(d->rds, 2, (const char *[]){ "GET", key }, NULL,
	    cursor_read, r) == -1) {
		if (errno == ENOTCONN && cursor_wait(r))
			return;
		run_no_cursor(r, errno == ENOTCONN ? "Redis unreachable" :
		    strerror(errno));
		return;
	}
	r->cursor_since = 0;
	r->started_at = time(NULL);
	d->running++;
	TAILQ_INSERT_TAIL(&d->active, r, entry);
}

/* Starts waiting runs while slots are free. */
static void
start_waiting(struct mvd *d)
{
	struct run *r;

	while (!d->stopping && d->running < d->conf->daemon.max_children &&
	    (r = runq_pop(d)) != NULL)
		run_start(r);
}

/* Starts waiting runs while slots are free, then asks the queues for work
 * for the slots left. */
static void
dispatch(struct mvd *d)
{
	int free_slots;

	start_waiting(d);
	/* Queued jobs are read only for the slots nothing local wants. */
	free_slots = (int)d->conf->daemon.max_children - d->running -
	    d->queued;
	if (!d->stopping && d->queue_mod != NULL && free_slots > 0)
		queue_poll(d->queue_mod, free_slots);
	maybe_exit(d);
}

/* Is q a run of the job called name, for the same account as acct
 * (accounts matched by name: a reload makes new account structs)? */
static int
same_instance(const struct run *q, const char *name,
    const struct account_conf *acct)
{
	if (strcmp(q->sj->jc->name, name) != 0)
		return 0;
	if (q->acct == NULL || acct == NULL)
		return q->acct == acct;
	return strcmp(q->acct->name, acct->name) == 0;
}

/* Runs of job name for acct that are running or queued: the instances
 * max_instances bounds (per account for for_each_account jobs). */
static int
instances(struct mvd *d, const char *name, const struct account_conf *acct)
{
	struct run *q;
	int n = 0;

	TAILQ_FOREACH(q, &d->active, entry)
		n += same_instance(q, name, acct);
	TAILQ_FOREACH(q, &d->queue, entry)
		n += same_instance(q, name, acct);
	return n;
}

/* Queues one run, or records it skipped past max_instances. */
static void
enqueue(struct sjob *sj, const struct account_conf *acct, json_t *args,
    int scheduled)
{
	struct run *r;
	int queued = 0;

	if ((r = run_new(sj, acct, args)) == NULL) {
		log_warnx("job %s: out of memory; run dropped", sj->jc->name);
		return;
	}
	if (scheduled)		/* only fires honour max_instances */
		queued = instances(sj->d, sj->jc->name, acct);
	if (scheduled && queued >= sj->jc->max_instances) {
		record_not_run(r, "skipped", "max_instances reached: the "
		    "previous run is still going");
		run_free(r);
		return;
	}
	runq_push(sj->d, r);
}

/* One fire: a run, or one per account of the job's provider. */
static void
fire(struct sjob *sj, int scheduled, json_t *args)
{
	struct conf *c = sj->cref->conf;

	if (!sj->jc->for_each_account) {
		enqueue(sj, NULL, args, scheduled);
		return;
	}
	for (size_t i = 0; i < c->naccounts; i++)
		if (conf_job_serves(sj->jc, &c->accounts[i]))
			enqueue(sj, &c->accounts[i], args, scheduled);
}

static void sjob_arm(struct sjob *, time_t after);

/* A fire time being claimed in Redis. */
struct claim {
	struct sjob	*sj;		/* reference held */
	time_t		 base;
};

/* A run of sj for acct that will not happen, recorded skipped. */
static void
skip_run(struct sjob *sj, const struct account_conf *acct,
    const char *reason)
{
	struct run *r = run_new(sj, acct, NULL);

	if (r != NULL) {
		record_not_run(r, "skipped", reason);
		run_free(r);
	}
}

/* A fire that cannot be claimed (Redis unreachable), under
 * unclaimed_fires = skip: each run it would have made is recorded
 * skipped (the records wait for Redis with the others), so that no
 * daemon runs it twice. */
static void
fire_unclaimed(struct sjob *sj, time_t base)
{
	static const char why[] = "redis unreachable: fire not claimed";
	const struct conf *c = sj->cref->conf;

	log_warnx("job %s: fire time %lld not claimed (Redis unreachable): "
	    "skipped", sj->jc->name, (long long)base);
	if (!sj->live)
		return;
	if (!sj->jc->for_each_account) {
		skip_run(sj, NULL, why);
		return;
	}
	for (size_t i = 0; i < c->naccounts; i++)
		if (conf_job_serves(sj->jc, &c->accounts[i]))
			skip_run(sj, &c->accounts[i], why);
}

static void
fire_claimed(void *arg, int won)
{
	struct claim *cl = arg;
	struct sjob *sj = cl->sj;
	struct mvd *d = sj->d;

	if (won == 1 && sj->d->stopping) {
		/* Ours, but too late to run: said, not dropped. */
		skip_run(sj, NULL, "daemon stopping");
	} else if (won == -1 && !sj->d->stopping &&
	    sj->cref->conf->daemon.unclaimed_fires == CONF_UNCLAIMED_SKIP) {
		fire_unclaimed(sj, cl->base);
	} else if (won == 1 || (won == -1 && !sj->d->stopping)) {
		if (won == -1)
			log_warnx("job %s: fire time %lld not claimed (Redis "
			    "unreachable): running it here", sj->jc->name,
			    (long long)cl->base);
		if (sj->live)
			fire(sj, 1, NULL);
		dispatch(sj->d);
	} else
		log_debug("job %s: fire time %lld claimed by another daemon",
		    sj->jc->name, (long long)cl->base);
	sjob_put(sj);
	free(cl);
	d->claims--;
	maybe_exit(d);
}

/* Fires once across every daemon sharing the Redis: the first to claim
 * the fire time runs it. */
static void
fire_once(struct sjob *sj, time_t base)
{
	struct claim *cl;

	if ((cl = malloc(sizeof(*cl))) == NULL) {
		fire(sj, 1, NULL);
		return;
	}
	cl->sj = sj;
	cl->base = base;
	sj->refs++;
	sj->d->claims++;
	if (queue_claim_fire(sj->d->queue_mod, sj->jc->name, base,
	    fire_claimed, cl) == -1)
		fire_claimed(cl, -1);
}

static void
sjob_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct sjob *sj = arg;
	time_t now = time(NULL), base = sj->next_base;
	long missed;

	(void)fd;
	(void)ev;
	if (sj->d->stopping || !sj->live)
		return;
	/* A late wake (a suspended machine, a stalled loop): every fire
	 * time that passed becomes this one run, said in the log. */
	missed = sched_missed(&sj->jc->sched, base, now);
	if (missed > 0)
		log_warnx("job %s: %ld fire time(s) missed since %lld; running "
		    "once", sj->jc->name, missed, (long long)base);
	if (sj->paused || sj->removed)
		log_debug("job %s: %s; not run", sj->jc->name, sj->paused ?
		    "paused" : "removed");
	else
		fire_once(sj, base);
	sjob_arm(sj, missed > 0 ? now : base);
	dispatch(sj->d);
}

static void
sjob_arm(struct sjob *sj, time_t after)
{
	struct timeval tv;
	time_t now = time(NULL), next;

	if (!sj->jc->has_schedule)
		return;
	next = sched_next_jittered_base(&sj->jc->sched, after, sj->jc->name,
	    &sj->next_base);
	if (next < 0) {
		log_warnx("job %s: its schedule never fires again",
		    sj->jc->name);
		return;
	}
	sj->next_fire = next;
	tv.tv_sec = next > now ? next - now : 0;
	tv.tv_usec = 0;
	if (sj->timer == NULL)
		sj->timer = evtimer_new(sj->d->base, sjob_timer, sj);
	evtimer_add(sj->timer, &tv);
}

static struct sjob *
sjob_new(struct mvd *d, struct cref *cr, const struct job_conf *jc)
{
	struct sjob *sj;

	if ((sj = calloc(1, sizeof(*sj))) == NULL)
		return NULL;
	sj->d = d;
	sj->cref = cref_get(cr);
	sj->jc = jc;
	sj->live = 1;
	sj->refs = 1;
	return sj;
}

static void
jobs_retire(struct mvd *d)
{
	for (size_t i = 0; i < d->njobs; i++) {
		d->jobs[i]->live = 0;
		if (d->jobs[i]->timer)
			evtimer_del(d->jobs[i]->timer);
		sjob_put(d->jobs[i]);
	}
	free(d->jobs);
	d->jobs = NULL;
	d->njobs = 0;
}

/* Builds the run-time jobs of c and arms their schedules; paused and
 * removed states carry over by name (running counts are found by name
 * too, see instances()). */
static int
jobs_build(struct mvd *d, struct cref *cr)
{
	struct conf *c = cr->conf;
	struct sjob **jobs;
	time_t now = time(NULL);

	if ((jobs = calloc(c->njobs ? c->njobs : 1, sizeof(*jobs))) == NULL)
		return -1;
	for (size_t i = 0; i < c->njobs; i++) {
		if ((jobs[i] = sjob_new(d, cr, &c->jobs[i])) == NULL) {
			while (i-- > 0)
				sjob_put(jobs[i]);
			free(jobs);
			return -1;
		}
		for (size_t j = 0; j < d->njobs; j++)
			if (strcmp(d->jobs[j]->jc->name, c->jobs[i].name) == 0) {
				jobs[i]->paused = d->jobs[j]->paused;
				jobs[i]->removed = d->jobs[j]->removed;
			}
	}
	jobs_retire(d);
	d->jobs = jobs;
	d->njobs = c->njobs;
	for (size_t i = 0; i < d->njobs; i++)
		sjob_arm(d->jobs[i], now);
	return 0;
}

static struct sjob *
job_find(struct mvd *d, const char *name)
{
	for (size_t i = 0; i < d->njobs; i++)
		if (strcmp(d->jobs[i]->jc->name, name) == 0)
			return d->jobs[i];
	return NULL;
}

/* The paused and removed sets, kept in Redis so that a restart keeps
 * them (mailvisorctl and the HTTP API change them there). */
struct pause_poll {
	struct mvd	*d;
	unsigned	 gen;		/* d->sched_gen when sent */
};

static void
pause_state_reply(struct rds *rds, redisReply *rep, void *arg)
{
	struct pause_poll *p = arg;
	struct mvd *d = p->d;
	redisReply *el;
	int removed, stale = p->gen != d->sched_gen;

	(void)rds;
	free(p);
	/* A state set here after the poll was sent is newer than its
	 * answer: the next poll reads it. */
	if (stale || rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2)
		return;
	for (size_t i = 0; i < d->njobs; i++)
		d->jobs[i]->paused = d->jobs[i]->removed = 0;
	for (int set = 0; set < 2; set++) {
		el = rep->element[set];
		removed = set == 1;
		if (el->type != REDIS_REPLY_ARRAY)
			continue;
		for (size_t i = 0; i < el->elements; i++) {
			struct sjob *sj;

			if (el->element[i]->type != REDIS_REPLY_STRING ||
			    (sj = job_find(d, el->element[i]->str)) == NULL)
				continue;
			if (removed)
				sj->removed = 1;
			else
				sj->paused = 1;
		}
	}
}

static void
pause_state_poll(evutil_socket_t fd, short ev, void *arg)
{
	struct mvd *d = arg;
	struct pause_poll *p;
	char pk[256], rk[256];
	const char *argv[] = { "EVAL", "return {redis.call('SMEMBERS', "
	    "KEYS[1]), redis.call('SMEMBERS', KEYS[2])}", "2", pk, rk };

	(void)fd;
	(void)ev;
	snprintf(pk, sizeof(pk), "%smailvisor:schedule:paused",
	    d->key_prefix);
	snprintf(rk, sizeof(rk), "%smailvisor:schedule:removed",
	    d->key_prefix);
	if (!rds_connected(d->rds) || (p = malloc(sizeof(*p))) == NULL)
		return;
	p->d = d;
	p->gen = d->sched_gen;
	if (rds_command(d->rds, 5, argv, NULL, pause_state_reply, p) == -1)
		free(p);
}

static struct run *
active_find(struct mvd *d, const char *id)
{
	struct run *r;

	TAILQ_FOREACH(r, &d->active, entry)
		if (strcmp(r->job_id, id) == 0 ||
		    (r->qm != NULL && strcmp(r->qm->id, id) == 0))
			return r;
	return NULL;
}

int
mvd_revoke(struct mvd *d, const char *job_id)
{
	struct run *r = active_find(d, job_id);

	if (r == NULL || r->child == NULL)
		return 0;
	log_info("job %s id %s: revoked", r->sj->jc->name, r->job_id);
	child_revoke(r->child);
	return 1;
}

/* A revoked run has ended: its ids leave the revoked set (a queued job
 * revoked before it started leaves it with its record, in queue.c). */
static void
revoke_forget(struct mvd *d, const struct run *r)
{
	char key[256];

	snprintf(key, sizeof(key), "%smailvisor:revoked", d->key_prefix);
	(void)rds_command(d->rds, r->qm != NULL ? 4 : 3, (const char *[]){
	    "SREM", key, r->job_id, r->qm != NULL ? r->qm->id : NULL }, NULL,
	    NULL, NULL);
}

/* The answer to SMISMEMBER revoked ID...: the ids sent are in arg's
 * list, in order. */
struct revoke_poll {
	struct mvd	*d;
	size_t		 n;
	char		 ids[][48];
};

static void
revoke_reply(struct rds *rds, redisReply *rep, void *arg)
{
	struct revoke_poll *p = arg;

	(void)rds;
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == p->n)
		for (size_t i = 0; i < p->n; i++)
			if (rep->element[i]->type == REDIS_REPLY_INTEGER &&
			    rep->element[i]->integer == 1)
				mvd_revoke(p->d, p->ids[i]);
	free(p);
}

/* Asks Redis which of the runs going here were revoked (by the API of
 * any daemon, or by hand): their job ids and, for queued jobs, their
 * entry ids. */
static void
revoke_poll(evutil_socket_t fd, short ev, void *arg)
{
	struct mvd *d = arg;
	struct revoke_poll *p;
	const char **argv;
	char key[256];
	struct run *r;
	size_t n = 0;

	(void)fd;
	(void)ev;
	if (d->running == 0 || !rds_connected(d->rds))
		return;
	p = calloc(1, sizeof(*p) + 2 * (size_t)d->running * sizeof(p->ids[0]));
	argv = calloc(2 + 2 * (size_t)d->running, sizeof(*argv));
	if (p == NULL || argv == NULL) {
		free(p);
		free(argv);
		return;
	}
	snprintf(key, sizeof(key), "%smailvisor:revoked", d->key_prefix);
	argv[0] = "SMISMEMBER";
	argv[1] = key;
	TAILQ_FOREACH(r, &d->active, entry) {
		strlcpy(p->ids[n], r->job_id, sizeof(p->ids[n]));
		argv[2 + n] = p->ids[n];
		n++;
		if (r->qm != NULL && strcmp(r->qm->id, r->job_id) != 0) {
			strlcpy(p->ids[n], r->qm->id, sizeof(p->ids[n]));
			argv[2 + n] = p->ids[n];
			n++;
		}
	}
	p->d = d;
	p->n = n;
	if (rds_command(d->rds, 2 + (int)n, argv, NULL, revoke_reply, p) == -1)
		free(p);
	free(argv);
}

/* A message from a Redis Streams queue, validated against the current
 * configuration: it becomes a run like any other. */
static void
queue_deliver(void *arg, struct qmsg *m)
{
	struct mvd *d = arg;
	struct sjob *sj = job_find(d, m->job->name);
	struct run *r;

	if (sj == NULL || (r = run_new(sj, m->acct, m->args)) == NULL) {
		queue_finish(d->queue_mod, m, mv_record_skeleton(m->job->name,
		    m->job_id, "failed", m->attempt, time(NULL)), Q_DLQ, 0,
		    sj == NULL ? "job not in the configuration" :
		    "out of memory");
		return;
	}
	strlcpy(r->job_id, m->job_id, sizeof(r->job_id));
	r->attempt = m->attempt;
	if (m->stream != NULL) {
		/* Entries are data, never argv: they go to stdin. */
		if ((r->input = queue_input(m, &r->input_len)) == NULL) {
			run_free(r);
			queue_finish(d->queue_mod, m, NULL, Q_RETRY, 0,
			    "out of memory");
			return;
		}
		queue_input_key(m, r->in_key, sizeof(r->in_key));
	}
	r->qm = m;
	runq_push(d, r);
	start_waiting(d);	/* not dispatch(): we are inside the queue */
}

/* The streams of the jobs of c that consume one, after the nq queues of
 * qs (reallocated; freed on failure). Returns qs or NULL. */
static struct queue_conf *
queue_consumers(const struct conf *c, struct queue_conf *qs, size_t *nq)
{
	struct queue_conf *v;
	size_t k = *nq;

	if ((v = reallocarray(qs, *nq + c->njobs + 1, sizeof(*qs))) == NULL) {
		queue_conf_free(qs, *nq);
		return NULL;
	}
	qs = v;
	for (size_t i = 0; i < c->njobs; i++) {
		const struct job_conf *j = &c->jobs[i];

		if (j->consume == NULL)
			continue;
		memset(&qs[k], 0, sizeof(qs[k]));
		qs[k].priority = (int)j->priority;
		qs[k].max_retries = (int)j->max_retries;
		qs[k].backoff = j->backoff;
		qs[k].share = (int)j->share;
		qs[k].batch = (int)j->batch;
		qs[k].name = strdup(j->consume);
		qs[k].job = strdup(j->name);
		k++;
		if (qs[k - 1].name == NULL || qs[k - 1].job == NULL) {
			queue_conf_free(qs, k);
			return NULL;
		}
	}
	*nq = k;
	return qs;
}

/* The queues of c: its [queue:NAME] sections, else the seed queues; then
 * the streams its jobs consume. Returns a new array (queue_conf_free())
 * or NULL. */
static struct queue_conf *
queue_confs(const struct conf *c, size_t *n)
{
	struct queue_conf *qs;

	if (c->nqueues == 0)
		return (qs = queue_defaults(n)) == NULL ? NULL :
		    queue_consumers(c, qs, n);
	if ((qs = calloc(c->nqueues, sizeof(*qs))) == NULL)
		return NULL;
	for (size_t i = 0; i < c->nqueues; i++) {
		const struct queue_section *q = &c->queues[i];

		if ((qs[i].name = strdup(q->name)) == NULL) {
			queue_conf_free(qs, i);
			return NULL;
		}
		qs[i].priority = (int)q->priority;
		qs[i].max_retries = (int)q->max_retries;
		qs[i].backoff = q->backoff;
		qs[i].share = (int)q->share;
	}
	*n = c->nqueues;
	return queue_consumers(c, qs, n);
}

/* Starts the queue consumer on a connection of its own for blocking
 * reads. Returns 0 or -1. */
static int
queue_start(struct mvd *d)
{
	struct queue_opts o;
	struct conf *c = d->conf;
	struct queue_conf *qs;
	size_t n;

	memset(&o, 0, sizeof(o));
	o.key_prefix = d->key_prefix;
	o.group = c->daemon.queue_group;
	o.consumer = c->daemon.consumer_name;
	o.idempotency_ttl = c->daemon.idempotency_ttl;
	o.tenant_limit = (int)c->daemon.tenant_limit;
	o.reclaim_margin = (double)c->daemon.reclaim_margin;
	d->rds_block = rds_new(d->base, c->redis.url, c->redis.socket,
	    c->redis.password_file, (int)c->redis.db);
	if (d->rds_block == NULL || (qs = queue_confs(c, &n)) == NULL)
		return -1;
	rds_set_name(d->rds_block, "redis (queue reads)");
	rds_set_timeout(d->rds_block, QUEUE_BLOCK_MS / 1000.0 + 10);
	d->rds_wake = rds_new(d->base, c->redis.url, c->redis.socket,
	    c->redis.password_file, (int)c->redis.db);
	if (d->rds_wake == NULL) {
		queue_conf_free(qs, n);
		return -1;
	}
	rds_set_name(d->rds_wake, "redis (stream wake-ups)");
	rds_set_timeout(d->rds_wake, QUEUE_BLOCK_MS / 1000.0 + 10);
	d->queue_mod = queue_new(d->base, d->rds, d->rds_block, d->stats,
	    qs, n, &o, c, queue_deliver, d);
	queue_conf_free(qs, n);
	if (d->queue_mod == NULL)
		return -1;
	queue_set_wake(d->queue_mod, d->rds_wake);
	return 0;
}

static void
watchdog_ping(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	notify_send("WATCHDOG=1");
}

static void
timers_start(struct mvd *d)
{
	struct timeval tv = { SCHED_STATE_POLL, 0 };
	unsigned long long wd = notify_watchdog_usec();

	d->poll_timer = event_new(d->base, -1, EV_PERSIST, pause_state_poll,
	    d);
	event_add(d->poll_timer, &tv);
	tv.tv_sec = REVOKE_POLL;
	d->revoke_timer = event_new(d->base, -1, EV_PERSIST, revoke_poll, d);
	event_add(d->revoke_timer, &tv);
	if (wd > 0) {
		tv.tv_sec = (time_t)(wd / 2 / 1000000);
		tv.tv_usec = (suseconds_t)(wd / 2 % 1000000);
		d->watchdog = event_new(d->base, -1, EV_PERSIST, watchdog_ping,
		    d);
		event_add(d->watchdog, &tv);
	}
}

static void
on_redis_connect(void *arg)
{
	pause_state_poll(-1, 0, arg);
}

struct mvd *
mvd_new(struct event_base *base, struct conf *c, const char *path)
{
	struct mvd *d;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->conf_path = strdup(path)) == NULL ||
	    (d->key_prefix = strdup(c->redis.key_prefix)) == NULL) {
		if (d)
			free(d->conf_path);
		free(d);
		log_warnx("out of memory");
		return NULL;
	}
	d->base = base;
	d->conf = c;
	d->started_at = time(NULL);
	TAILQ_INIT(&d->queue);
	TAILQ_INIT(&d->active);
	TAILQ_INIT(&d->retrying);
	if ((d->cref = cref_new(c)) == NULL) {
		free(d->key_prefix);
		free(d->conf_path);
		free(d);
		return NULL;
	}
	d->rds = rds_new(base, c->redis.url, c->redis.socket,
	    c->redis.password_file, (int)c->redis.db);
	if (d->rds == NULL) {
		log_warnx("cannot set up the Redis connection");
		cref_put(d->cref);
		free(d->key_prefix);
		free(d->conf_path);
		free(d);
		return NULL;
	}
	rds_set_name(d->rds, "redis (commands)");
	d->stats = stats_new(d->rds, c->redis.key_prefix,
	    (size_t)c->daemon.record_buffer, (int)c->redis.metrics_ttl,
	    (int)c->redis.history_max, c->redis.failures_max_age);
	if (d->stats == NULL) {
		log_warnx("cannot set up the records writer");
		rds_free(d->rds);
		cref_put(d->cref);
		free(d->key_prefix);
		free(d->conf_path);
		free(d);
		return NULL;
	}
	rds_on_connect(d->rds, on_redis_connect, d);
	if (queue_start(d) == -1) {
		log_warnx("cannot set up the job queues");
		mvd_free(d);
		return NULL;
	}
	if (jobs_build(d, d->cref) == -1) {
		mvd_free(d);
		return NULL;
	}
	timers_start(d);
	dispatch(d);		/* starts reading the queues */
	return d;
}

void
mvd_free(struct mvd *d)
{
	struct run *r;

	if (d == NULL)
		return;
	while ((r = runq_pop(d)) != NULL)
		run_free(r);
	while ((r = TAILQ_FIRST(&d->retrying)) != NULL) {
		TAILQ_REMOVE(&d->retrying, r, entry);
		run_free(r);
	}
	jobs_retire(d);
	if (d->poll_timer)
		event_free(d->poll_timer);
	if (d->revoke_timer)
		event_free(d->revoke_timer);
	if (d->watchdog)
		event_free(d->watchdog);
	if (d->stop_timer)
		event_free(d->stop_timer);
	queue_free(d->queue_mod);
	stats_free(d->stats);
	rds_free(d->rds_block);
	rds_free(d->rds_wake);
	rds_free(d->rds);
	cref_put(d->cref);
	free(d->key_prefix);
	free(d->conf_path);
	free(d);
}

/* Checks args against job's declarations, rendering its argv once for
 * acct (or its first account of its provider when it needs one and acct
 * is NULL).
 * 0, or -1 with err. */
static int
trigger_check(const struct sjob *sj, const struct account_conf *acct,
    json_t *args, char *err, size_t errlen)
{
	const struct conf *c = sj->cref->conf;
	char **argv;

	if (acct == NULL && sj->jc->needs_account) {
		if (!sj->jc->for_each_account) {
			snprintf(err, errlen, "job '%s' needs an account",
			    sj->jc->name);
			return -1;
		}
		for (size_t i = 0; acct == NULL && i < c->naccounts; i++)
			if (conf_job_serves(sj->jc, &c->accounts[i]))
				acct = &c->accounts[i];
		if (acct == NULL)
			return 0;	/* nothing will run */
	}
	if ((argv = conf_render_argv(sj->jc, acct, args, err, errlen)) == NULL)
		return -1;
	conf_argv_free(argv);
	return 0;
}

int
mvd_trigger(struct mvd *d, const char *job, const char *account,
    json_t *args, json_t *job_ids, char *err, size_t errlen)
{
	return mvd_trigger_full(d, job, account, args, 0, job_ids, err,
	    errlen);
}

int
mvd_trigger_full(struct mvd *d, const char *job, const char *account,
    json_t *args, int full, json_t *job_ids, char *err, size_t errlen)
{
	struct sjob *sj = job_find(d, job);
	const struct account_conf *acct = NULL;
	struct run *last, *r;
	int n = 0;

	if (sj == NULL) {
		snprintf(err, errlen, "no job named '%s'", job);
		errno = ENOENT;
		return -1;
	}
	if (account != NULL &&
	    (acct = conf_account(sj->cref->conf, account)) == NULL) {
		snprintf(err, errlen, "no account named '%s'", account);
		errno = ENOENT;
		return -1;
	}
	if (sj->jc->consume != NULL) {
		snprintf(err, errlen, "job '%s' consumes stream '%s': it runs "
		    "for its entries only", job, sj->jc->consume);
		errno = EINVAL;
		return -1;
	}
	if (acct != NULL && !conf_job_serves(sj->jc, acct)) {
		snprintf(err, errlen, "job '%s' runs for %s accounts; account "
		    "'%s' is %s", job, conf_provider_name(sj->jc->provider),
		    account, conf_provider_name(acct->provider));
		errno = EINVAL;
		return -1;
	}
	if (trigger_check(sj, acct, args, err, errlen) == -1) {
		errno = EINVAL;
		return -1;
	}
	last = TAILQ_LAST(&d->queue, runq);
	if (acct != NULL)
		enqueue(sj, acct, args, 0);
	else
		fire(sj, 0, args);
	for (r = last ? TAILQ_NEXT(last, entry) : TAILQ_FIRST(&d->queue);
	    r != NULL; r = TAILQ_NEXT(r, entry)) {
		r->full = full;
		if (json_is_array(job_ids))
			json_array_append_new(job_ids, json_string(r->job_id));
		n++;
	}
	dispatch(d);
	return n;
}

int
mvd_reload(struct mvd *d)
{
	struct conf *c;
	struct cref *cr;

	notify_send("RELOADING=1");
	if ((c = conf_load(d->conf_path, stderr)) == NULL) {
		log_warnx("reload of %s failed: keeping the running "
		    "configuration", d->conf_path);
		notify_send("READY=1");
		return -1;
	}
	if ((cr = cref_new(c)) == NULL || jobs_build(d, cr) == -1) {
		log_warnx("reload: out of memory; keeping the running "
		    "configuration");
		if (cr)
			cref_put(cr);
		else
			conf_free(c);
		notify_send("READY=1");
		return -1;
	}
	if (d->queue_mod != NULL) {
		struct queue_conf *qs;
		size_t n;

		if ((qs = queue_confs(c, &n)) == NULL ||
		    queue_set_conf(d->queue_mod, qs, n, c) == -1)
			log_warnx("reload: the queues keep their previous "
			    "configuration");
		queue_conf_free(qs, qs ? n : 0);
	}
	cref_put(d->cref);
	d->cref = cr;
	d->conf = c;
	log_info("configuration %s reloaded: %zu jobs, %zu accounts",
	    d->conf_path, c->njobs, c->naccounts);
	notify_send("READY=1");
	dispatch(d);
	return 0;
}

void
mvd_stop(struct mvd *d)
{
	struct run *r;

	if (d->stopping)
		return;
	d->stopping = 1;
	notify_send("STOPPING=1");
	log_info("stopping: %d run(s) going, %d waiting to retry",
	    d->running, d->waiting_retry);
	for (size_t i = 0; i < d->njobs; i++)
		if (d->jobs[i]->timer)
			evtimer_del(d->jobs[i]->timer);
	while ((r = runq_pop(d)) != NULL) {
		/* A queued job not started stays pending in its stream: this
		 * daemon takes it up again at restart, or another one
		 * reclaims it. */
		if (r->qm == NULL)
			record_not_run(r, "skipped", "daemon stopping");
		run_free(r);
	}
	while ((r = TAILQ_FIRST(&d->retrying)) != NULL) {
		TAILQ_REMOVE(&d->retrying, r, entry);
		d->waiting_retry--;
		record_not_run(r, "skipped", "daemon stopping before its "
		    "next attempt");
		run_free(r);
	}
	child_terminate_all((double)d->conf->daemon.grace_period);
	maybe_exit(d);
}

int
mvd_flush(struct mvd *d, double seconds)
{
	return stats_flush_wait(d->stats, seconds);
}

void
mvd_exit_when_idle(struct mvd *d)
{
	d->exit_when_idle = 1;
	maybe_exit(d);
}

struct rds *
mvd_rds(struct mvd *d)
{
	return d->rds;
}

struct stats *
mvd_stats(struct mvd *d)
{
	return d->stats;
}

struct queue *
mvd_queue(struct mvd *d)
{
	return d->queue_mod;
}

const struct conf *
mvd_conf(const struct mvd *d)
{
	return d->conf;
}

const char *
mvd_key_prefix(const struct mvd *d)
{
	return d->key_prefix;
}

void
mvd_counts(const struct mvd *d, struct mvd_counts *c)
{
	c->running = d->running;
	c->queued = d->queued;
	c->retrying = d->waiting_retry;
	c->max_children = (int)d->conf->daemon.max_children;
	c->started_at = d->started_at;
}

static json_t *
iso_or_null(time_t t)
{
	char buf[32];

	return t > 0 ? json_string(mv_iso8601(t, buf, sizeof(buf))) :
	    json_null();
}

/* The declared arguments of jc as JSON. */
static json_t *
args_json(const struct job_conf *jc)
{
	static const char *types[] = { "int", "string", "bool" };
	json_t *a = json_array();

	for (size_t i = 0; i < jc->args.n; i++) {
		const struct conf_arg *ca = &jc->args.v[i];
		json_t *def = json_null();

		if (ca->has_default)
			def = ca->type == CONF_ARG_INT ?
			    json_integer(ca->def_int) :
			    ca->type == CONF_ARG_BOOL ?
			    json_boolean(ca->def_int) : json_string(ca->def_str);
		json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:b}",
		    "name", ca->name, "type", types[ca->type], "default", def,
		    "required", !ca->has_default));
	}
	return a;
}

json_t *
mvd_schedules(struct mvd *d)
{
	json_t *a = json_array();
	struct run *r;

	for (size_t i = 0; i < d->njobs; i++) {
		const struct sjob *sj = d->jobs[i];
		const struct job_conf *jc = sj->jc;
		int running = 0;

		TAILQ_FOREACH(r, &d->active, entry)
			running += strcmp(r->sj->jc->name, jc->name) == 0;
		json_array_append_new(a, json_pack("{s:s, s:o, s:s, s:o, s:b, "
		    "s:b, s:i, s:b, s:o, s:i, s:o, s:o}", "name", jc->name,
		    "schedule", jc->schedule ? json_string(jc->schedule) :
		    json_null(), "timezone", jc->timezone ? jc->timezone : "UTC",
		    "next_run", iso_or_null(jc->has_schedule && !sj->paused &&
		    !sj->removed ? sj->next_fire : 0), "paused", sj->paused,
		    "removed", sj->removed, "running", running,
		    "for_each_account", jc->for_each_account,
		    "provider", jc->provider == CONF_PROVIDER_ANY ?
		    json_null() : json_string(conf_provider_name(jc->provider)),
		    "max_instances", (int)jc->max_instances,
		    "args", args_json(jc), "consumes", jc->consume ?
		    json_string(jc->consume) : json_null()));
	}
	return a;
}

static json_t *
run_json(const struct run *r, time_t now)
{
	return json_pack("{s:s, s:s, s:o, s:I, s:o, s:I, s:i, s:o}",
	    "job_id", r->job_id, "job", r->sj->jc->name,
	    "account", r->acct ? json_string(r->acct->name) : json_null(),
	    "pid", (json_int_t)(r->child ? child_pid(r->child) : 0),
	    "started_at", iso_or_null(r->started_at),
	    "running_for", (json_int_t)(now - r->started_at),
	    "attempt", r->attempt,
	    "queue", r->qm ? json_string(r->qm->queue) : json_null());
}

json_t *
mvd_active(struct mvd *d)
{
	json_t *a = json_array();
	time_t now = time(NULL);
	struct run *r;

	TAILQ_FOREACH(r, &d->active, entry)
		json_array_append_new(a, run_json(r, now));
	return a;
}

json_t *
mvd_active_find(struct mvd *d, const char *job_id)
{
	struct run *r = active_find(d, job_id);

	return r ? run_json(r, time(NULL)) : NULL;
}

int
mvd_schedule_set(struct mvd *d, const char *job, int paused, int removed)
{
	struct sjob *sj = job_find(d, job);

	if (sj == NULL) {
		errno = ENOENT;
		return -1;
	}
	sj->paused = paused;
	sj->removed = removed;
	d->sched_gen++;
	log_info("job %s: schedule %s", job, removed ? "removed" :
	    paused ? "paused" : "resumed");
	return 0;
}
