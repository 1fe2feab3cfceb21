/* mailvisord's stats writer: execution records to Redis (contract §3),
 * one atomic script call per record, buffered in a bounded FIFO while Redis is
 * down. */
#ifndef MVD_STATS_H
#define MVD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct rds;
struct stats;

/* Records sent before their replies come (a pipeline of transactions). */
#define STATS_WINDOW		16
/* Default bound on the bytes of the records kept (see stats_set_bytes). */
#define STATS_BYTES_MAX		((size_t)256 << 20)
/* Longest key prefix, worker name and job id. */
#define STATS_PREFIX_MAX	200
#define STATS_NAME_MAX		200
/* Refused transactions are retried after 1 s, doubling to 30 s. */
#define STATS_RETRY_MIN_MS	1000
#define STATS_RETRY_MAX_MS	30000

/* Counts since stats_new(). */
struct stats_counters {
	uint64_t	written;	/* its script ran */
	uint64_t	dropped;	/* oldest, out of a full buffer */
	uint64_t	invalid;	/* refused by stats_record() */
	uint64_t	errors;		/* written, a command in it failed */
	size_t		buffered;	/* not yet written, incl. in flight */
	int		connected;	/* rds_connected() */
};

/*
 * A writer on rds (borrowed: free the stats before the rds) with keys
 * prefixed by key_prefix (NULL or "": none; at most STATS_PREFIX_MAX
 * bytes). At most buffer_max (>= 1) records wait to be sent, besides up
 * to STATS_WINDOW in flight; history lists keep history_max (>= 1)
 * records; metrics keys live metrics_ttl (>= 1) seconds; failures older
 * than failures_max_age seconds are trimmed (0: never).
 * Returns NULL with errno EINVAL or ENOMEM. Free with stats_free().
 */
struct stats *stats_new(struct rds *rds, const char *key_prefix,
    size_t buffer_max, int metrics_ttl, int history_max,
    long failures_max_age);

/* Also bounds the waiting records by their size in bytes (the record, and
 * the record without result): the oldest go first, but the newest record
 * is always kept. STATS_BYTES_MAX by default; 0 is ignored. */
void stats_set_bytes(struct stats *, size_t bytes_max);

/*
 * Records one execution (contract §2 record; stolen, whatever happens) of
 * worker (the job's name) with job_id. In one call of a constant script
 * (EVALSHA; atomic as a MULTI ... EXEC), with prefix:
 *   worker:stats:{worker}    HINCRBY total_executions; for success
 *                            successful_executions, for skipped nothing,
 *                            else failed_executions; unless skipped,
 *                            HINCRBYFLOAT total_duration and
 *                            average_duration = total_duration /
 *                            (successful + failed), computed in the
 *                            script; HSET last_execution (completed_at,
 *                            else now, as YYYY-MM-DDTHH:MM:SSZ) and
 *                            last_status (and average_duration);
 *   worker:history:{worker}  LPUSH the record without "result", LTRIM;
 *   worker:metrics:{worker}:{job_id}  SET the record EX metrics_ttl;
 *   worker:failures          unless success or skipped, ZADD score
 *                            completed_at (unix s) the record; and
 *                            ZREMRANGEBYSCORE of those older than
 *                            failures_max_age (with a failure, else at
 *                            most once a second).
 * The record is sent at once when connected, else buffered (FIFO; when
 * full the oldest waiting record is dropped, counted, and logged at most
 * once a minute) and sent in order once Redis is back. A record leaves the
 * buffer only when its script has run; one whose reply was lost with the
 * connection is sent again (at least once). When the script ran but a
 * command in it failed (a key of the wrong type), the record counts as
 * written and in errors, and is not sent again; when Redis refused the
 * whole record (loading, out of memory: nothing written), sending pauses and the record is
 * retried after 1 s, doubling up to 30 s (records sent with it in the
 * window may then be written before it). A record that is not a JSON object
 * with a non-empty "status" string, that cannot be serialised (invalid
 * UTF-8), or whose worker or job_id is empty, longer than STATS_NAME_MAX
 * or has bytes outside 0x21-0x7e, is counted invalid and logged.
 */
void stats_record(struct stats *, const char *worker, const char *job_id,
    json_t *record);

/* One extra command of a record's transaction: argc arguments argv with
 * lengths len (NULL: each argv[i] is a C string). Borrowed by
 * stats_record_tx(), which copies it. */
struct stats_cmd {
	int		 argc;
	const char	**argv;
	const size_t	*len;
};

/* Most extra commands in one record's transaction. */
#define STATS_EXTRA_MAX	80

/*
 * As stats_record(), and the nextra (at most STATS_EXTRA_MAX) commands
 * extra (copied) are run after the record's own commands INSIDE its
 * script call: they are buffered with the record, applied at the same
 * time as it, and dropped with it. Their replies are not examined beyond
 * counting an error as stats_record() does. Returns 0 when the record was
 * kept (written or buffered), or -1 when it was refused (counted invalid
 * and logged as by stats_record(); also for nextra out of range or an
 * extra command with argc < 1) or memory ran out: then nothing is sent.
 * The record is stolen either way.
 */
int stats_record_tx(struct stats *, const char *worker, const char *job_id,
    json_t *record, const struct stats_cmd *extra, size_t nextra);

/* Calls fn(arg, worker, record) for every record accepted by
 * stats_record() or stats_record_tx() (the whole record, result included;
 * borrowed, during the call only), before it is sent or buffered: for
 * metrics. fn NULL: none. */
void stats_set_observer(struct stats *, void (*fn)(void *arg,
    const char *worker, const json_t *record), void *arg);

/* Fills c with the counters. */
void stats_counters(const struct stats *, struct stats_counters *c);

/*
 * Runs the event loop until every buffered record is written or seconds
 * have passed (for shutdown). Other events of the loop run meanwhile.
 * Call it with the loop stopped (after event_base_dispatch() returned):
 * libevent does not run a loop from within one of its own callbacks.
 * Returns 0 when the buffer is empty, else -1 with errno ETIMEDOUT, or
 * EDEADLK when called from inside the running loop.
 */
int stats_flush_wait(struct stats *, double seconds);

/* Frees the writer and the records still buffered (logging how many).
 * NULL-safe. Call it before rds_free() of its connection. */
void stats_free(struct stats *);

#endif
