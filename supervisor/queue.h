/* mailvisord's queued jobs: Redis Streams with priorities, validation,
 * idempotency, delayed retries, dead letters and claims of scheduled
 * fires (contract §4). */
#ifndef MVD_QUEUE_H
#define MVD_QUEUE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "supervisor/backoff.h"
#include "supervisor/conf.h"

struct event_base;
struct rds;
struct stats;
struct queue;

/*
 * Keys, each after the key prefix:
 *   mailvisor:queue:{NAME}   one stream per queue, one consumer group
 *   mailvisor:dlq            dead letters (stream)
 *   mailvisor:delayed        retries: sorted set, score the due time
 *                            (unix ms), member {"q":NAME,"f":[field,
 *                            value, ...]} (the message to add back)
 *   mailvisor:idem:{KEY}     idempotency hold, value the job's origin id
 *   mailvisor:revoked        set of revoked entry or origin ids
 *   mailvisor:fire:{JOB}:{T} claim of a scheduled fire at unix time T
 *   mailvisor:consumer:{C}   heartbeat of consumer C (unix s, EX 15)
 *
 * A message (stream entry) has the fields job, args (a JSON object),
 * tenant_id, user_id, and optionally idempotency_key, attempt (1 when
 * absent), enqueued_at; the daemon itself adds origin_id (the id of the
 * job's first entry) and attempts (a JSON array of the statuses of the
 * earlier attempts) when it puts a retry back. Any other field, or one of
 * these twice, sends the message to the DLQ.
 *
 * The job id of every record of a queued job is its origin id (the first
 * entry's id), so that all its attempts share it. A message with an
 * idempotency_key holds it (SET NX EX) in the name of its origin, so that
 * a retry, a reclaim or a reprocessed dead letter of the same job runs,
 * and another message with the same key is recorded "skipped" and
 * acknowledged, never run. A message without one takes no hold.
 *
 * Reclaim: every heartbeat (QUEUE_HEARTBEAT_MS) a daemon sets its
 * consumer key (EX QUEUE_HEARTBEAT_TTL), resets the idle time of the
 * entries it runs (XCLAIM ... JUSTID), and, by a constant script per
 * stream, takes over (XCLAIM) the entries of a consumer whose heartbeat
 * key is gone that are idle longer than their job's timeout plus
 * reclaim_margin. A reclaimed entry has used an attempt: its attempt is
 * one more and "lost" is added to its attempts.
 *
 * A job that consumes a stream (queue_conf.job set) reads
 *   mailvisor:stream:{NAME}  through the consumer group named after the
 *                            job, created at "0" (a new job runs for the
 *                            entries the stream holds); entries are
 *                            acknowledged, never deleted (other groups
 *                            read them; maxlen trims the stream)
 *   mailvisor:retry:{JOB}    the job's own retries and reprocessed dead
 *                            letters, same group; deleted once done
 * An entry has the fields data, and optionally account, tenant_id,
 * user_id, key (and those an emitting job adds: job, job_id); a retry
 * adds attempt, origin_id, attempts; other fields are ignored. Its
 * account, when named, must be configured, with the same tenant_id and
 * user_id when those are given; a job whose command names an account
 * needs one. Else: the dead letters, never run. The origin id of an
 * entry is its id in the stream; the idempotency hold is
 * mailvisor:idem:{JOB}:{key} (none without a key; a key longer than
 * 200 bytes by its hash), so that each consuming job has its own.
 * With batch above 1, a run takes up to batch entries read and checked
 * together, all of one account (or all of none).
 *
 * Priorities: strict, highest first, except that every QUEUE_AGE_EVERY-th
 * delivery goes to the oldest waiting message whatever its queue, so that
 * lower queues are never starved.
 */
#define QUEUE_AGE_EVERY		4
#define QUEUE_TICK_MS		250	/* delayed retries moved back */
#define QUEUE_HEARTBEAT_MS	5000	/* heartbeat and idle refresh */
#define QUEUE_HEARTBEAT_TTL	15	/* seconds */
#define QUEUE_BLOCK_MS		1000	/* XREADGROUP BLOCK */
#define QUEUE_BATCH_MAX		64	/* entries read per stream */
#define QUEUE_PREFETCH		8	/* read beyond twice the slots */
#define QUEUE_CHECK_FRESH_MS	200	/* a verdict older: checked again */
#define QUEUE_NAME_MAX		64
#define QUEUE_KEY_MAX		512	/* longest idempotency key: 200 */
#define QUEUE_IDEM_TTL		(7L * 86400)

/* [queue:NAME], or a job that consumes the stream NAME (job set). */
struct queue_conf {
	char		*name;		/* [A-Za-z0-9_.-], QUEUE_NAME_MAX */
	int		 priority;	/* higher first */
	int		 max_retries;	/* attempts = max_retries + 1 */
	struct backoff	 backoff;
	int		 share;		/* percent of max_children; 0: any */
	char		*job;		/* consuming job; NULL: a queue */
	int		 batch;		/* entries per run (consume) */
};

struct queue_opts {
	const char	*group;		/* NULL: "mailvisor" */
	const char	*consumer;	/* NULL: host:pid */
	const char	*key_prefix;	/* NULL: "" */
	long		 idempotency_ttl; /* s; 0: QUEUE_IDEM_TTL */
	double		 reclaim_margin;  /* s */
	int		 tenant_limit;	/* running per tenant; 0: none */
	int		 block_ms;	/* 0: QUEUE_BLOCK_MS */
	int		 heartbeat_ms;	/* 0: QUEUE_HEARTBEAT_MS */
	int		 tick_ms;	/* 0: QUEUE_TICK_MS */
};

enum qoutcome {
	Q_ACK,		/* done (success, or a failure not to retry) */
	Q_RETRY,	/* retryable failure: delayed, or DLQ when exhausted */
	Q_DLQ,		/* not retryable: to the dead letters */
};

/* A delivered message. The public fields are valid until queue_finish();
 * job and acct are borrowed from the configuration that was current at
 * delivery (keep it alive until then). */
struct qmsg {
	TAILQ_ENTRY(qmsg)		 entry;
	struct queue			*q;
	const char			*queue;		/* its queue's name */
	char				 id[48];	/* stream entry id */
	char				 job_id[48];	/* origin id */
	const struct job_conf		*job;
	const struct account_conf	*acct;
	json_t				*args;		/* object; borrowed */
	int				 attempt;	/* 1 for the first */
	const char			*stream;	/* the consumed stream;
							 * NULL: a queued job */
	int				 nmore;		/* entries of the batch
							 * beside this one */
	/* private */
	TAILQ_HEAD(, qmsg)		 more;		/* those entries */
	int				 qi;
	int				 state;
	json_t				*fields;	/* as received */
	json_t				*attempts;	/* earlier statuses */
	char				*tenant;
	char				*idem;		/* NULL: none */
	unsigned long long		 ms, seq;
	int64_t				 checked_ms;	/* verdict 0 */
};

/* Called for each message to run; the daemon runs m->job for m->acct with
 * m->args and then calls queue_finish(m). */
typedef void (*queue_deliver_fn)(void *arg, struct qmsg *m);

/*
 * The seed queues: sync 10 (5 retries, 60 s doubling to 240 s), send 8
 * (3), delete 5 (2), spam 3 (2), periodic 10 (1); the others back off 30 s
 * doubling to 120 s; jitter 0.1. Sets *n; returns a new array of *n (free
 * with queue_conf_free()), or NULL when out of memory.
 */
struct queue_conf *queue_defaults(size_t *n);
void queue_conf_free(struct queue_conf *, size_t n);

/*
 * Consumes the n queues qs (copied) for the configuration conf (borrowed:
 * see queue_set_conf()) on base. cmd carries every command; blocking
 * (may be the same as cmd only in tests that never block) carries the
 * XREADGROUP BLOCK: give it a timeout (rds_set_timeout) longer than
 * block_ms. Records go to st, with the acknowledgements inside their
 * transactions (stats_record_tx). Creates each group (MKSTREAM; BUSYGROUP
 * ignored) on every connection. Returns NULL with errno EINVAL (bad
 * name, n == 0, a NULL argument) or ENOMEM. Free with queue_free().
 */
struct queue *queue_new(struct event_base *base, struct rds *cmd,
    struct rds *blocking, struct stats *st, const struct queue_conf *qs,
    size_t n, const struct queue_opts *opts, const struct conf *conf,
    queue_deliver_fn deliver, void *arg);

/* After a reload: new queues and configuration (the old one must live
 * until the messages delivered under it are finished). 0 or -1 (EINVAL,
 * ENOMEM; nothing changed). */
int queue_set_conf(struct queue *, const struct queue_conf *qs, size_t n,
    const struct conf *conf);

/* Gives q a connection of its own (NULL: none) on which it waits for a
 * new entry in the streams its jobs consume (XREAD BLOCK), so that an
 * idle one starts its runs at once instead of at the next tick. */
void queue_set_wake(struct queue *q, struct rds *wake);

/*
 * Tells how many runs may start now; delivers up to that many (later,
 * from the loop, as messages arrive). Call it whenever slots free up.
 */
void queue_poll(struct queue *, int free_slots);

/*
 * The end of a delivered message: record (stolen) is written with, in the
 * same transaction, XACK and per outcome: Q_RETRY, when attempts are left,
 * ZADD of the next attempt to the delayed set, due after the queue's
 * backoff or retry_after seconds when longer; Q_DLQ, or Q_RETRY with no
 * attempt left, XADD to the DLQ with reason (NULL: the record's status),
 * the record, the fields and every attempt's status. Each entry of a
 * batch is settled so, with the one record. Frees m.
 */
void queue_finish(struct queue *, struct qmsg *m, json_t *record,
    enum qoutcome, double retry_after, const char *reason);

/*
 * The stdin of a run for consumed entries: the entry's data as stored;
 * for a job that consumes in batches (batch above 1), a JSON array of
 * every entry's data, of one entry too. Returns a new buffer
 * of *len bytes (NUL-terminated), or NULL when out of memory.
 */
char *queue_input(struct qmsg *, size_t *len);

/* The key of a run's input: the entry's key (else its origin id); for a
 * batch, "batch-" and a hash of every entry's key. Truncated to len. */
void queue_input_key(struct qmsg *, char *buf, size_t len);

/*
 * Claims the scheduled fire of job at fire (unix s) across daemons with
 * SET NX EX 86400; cb(arg, won) is called from the loop with won 1 (ours:
 * run it), 0 (another daemon has it) or -1 (no answer: connection lost).
 * Returns 0, or -1 (not connected, ENOMEM) without calling cb.
 */
int queue_claim_fire(struct queue *, const char *job, time_t fire,
    void (*cb)(void *arg, int won), void *arg);

/* Marks the queued entry (or origin) id as revoked: when delivered it is
 * recorded "revoked" and acknowledged, never run. 0 or -1. */
int queue_revoke(struct queue *, const char *id);

/* This daemon's consumer name (borrowed). */
const char *queue_consumer(const struct queue *);

/* Counts, for tests and status. */
struct queue_counters {
	unsigned long	delivered, acked, retried, dead, skipped, revoked;
	unsigned long	reclaimed;
	int		running, buffered;
};
void queue_counters(const struct queue *, struct queue_counters *);

/*
 * Asynchronous tools for the HTTP API, each one command (a constant
 * script) on the queue's command connection: cb(arg, result, status,
 * message) is called once from the loop with result a new JSON object
 * (the caller owns it) and status 200, or result NULL, an HTTP-like status
 * (404 no such entry, 503 Redis lost, 500 an unexpected reply) and a
 * message. The results:
 *   queue_tool_queues       {"queues":[{"name","priority","max_retries",
 *                           "share","length","pending","delayed"}],
 *                           "dlq":N,"delayed":N}
 *   queue_tool_enqueue      {"queue","id","job_id"} (XADD of job,
 *                           args (JSON text of an object), tenant_id,
 *                           user_id, idempotency_key when not NULL,
 *                           enqueued_at; checked by the caller)
 *   queue_tool_purge        {"queue","removed":N}
 *   queue_tool_dlq_peek     {"entries":[{"dlq_id","queue","id","job_id",
 *                           "reason","fields":{},"attempts":[],
 *                           "record":{},"at"}]} (count 1..1000, start
 *                           NULL: the first)
 *   queue_tool_dlq_reprocess {"reprocessed":N} (id NULL: every entry;
 *                           404 when id is not in the DLQ)
 *   queue_tool_dlq_purge    {"purged":N}
 * Each returns 0, or -1 with errno ENOTCONN (Redis down: cb is not
 * called), ENOENT (no such queue: cb is not called), EINVAL, ENOMEM.
 * queue_tool_cancel(): cb will not be called for arg (its owner goes).
 */
typedef void (*queue_tool_fn)(void *arg, json_t *result, int status,
    const char *message);
int queue_tool_queues(struct queue *, queue_tool_fn, void *arg);
int queue_tool_enqueue(struct queue *, const char *queue, const char *job,
    const char *tenant, const char *user, json_t *args, const char *idem,
    queue_tool_fn, void *arg);
int queue_tool_purge(struct queue *, const char *queue, queue_tool_fn,
    void *arg);
int queue_tool_dlq_peek(struct queue *, const char *start, int count,
    queue_tool_fn, void *arg);
int queue_tool_dlq_reprocess(struct queue *, const char *id, queue_tool_fn,
    void *arg);
int queue_tool_dlq_purge(struct queue *, queue_tool_fn, void *arg);
void queue_tool_cancel(struct queue *, void *arg);

/* Frees q; messages still delivered are forgotten (they stay pending in
 * Redis, to be reclaimed). NULL-safe. Before the rds and stats. */
void queue_free(struct queue *);

#endif
