/* mailvisord's core: scheduled fires, the run queue under max_children,
 * spawning, results to records and stats, retries, reload and stop. */
#ifndef MVD_DAEMON_H
#define MVD_DAEMON_H

#include <event2/event.h>
#include <jansson.h>
#include <time.h>

#include "supervisor/conf.h"

struct mvd;

/* Takes ownership of conf. Connects to Redis (in the background) and
 * arms the schedules. Returns NULL with a message logged. */
struct mvd *mvd_new(struct event_base *, struct conf *conf,
    const char *conf_path);
void mvd_free(struct mvd *);

/*
 * Queues one run of job now, with args (borrowed; NULL: the declared
 * defaults): for the account named account, or when account is NULL one
 * per account for a for_each_account job (else one). The args are checked
 * against the job's declarations before anything is queued. When job_ids
 * is a JSON array, the id of each run is appended to it. Returns the
 * number of runs queued, or -1 with err and errno ENOENT (no such job or
 * account), EINVAL (an argument the job does not declare, of the wrong
 * type or out of bounds; a job that needs an account given none), ENOMEM.
 */
int mvd_trigger(struct mvd *, const char *job, const char *account,
    json_t *args, json_t *job_ids, char *err, size_t errlen);

/* As mvd_trigger(); with full set, a job that keeps a cursor runs once
 * without it (a full sync; the cursor it ends with is stored). */
int mvd_trigger_full(struct mvd *, const char *job, const char *account,
    json_t *args, int full, json_t *job_ids, char *err, size_t errlen);

/* SIGHUP: loads the file again; on error keeps the running configuration
 * and says why. Returns 0 or -1. */
int mvd_reload(struct mvd *);

/* SIGTERM/SIGINT: starts no more runs, terminates the running ones (grace
 * period, then SIGKILL), flushes the records, then leaves the loop. */
void mvd_stop(struct mvd *);

/* After the loop ended: waits up to seconds for the records still
 * buffered to reach Redis. Returns 0 when all did, else -1. */
int mvd_flush(struct mvd *, double seconds);

/* One-shot mode: leave the loop once nothing runs, waits or is queued. */
void mvd_exit_when_idle(struct mvd *);

/*
 * For the HTTP API. The pointers are borrowed; mvd_conf() is the current
 * configuration (valid until the next reload: do not keep it across
 * turns of the loop).
 */
struct rds *mvd_rds(struct mvd *);
struct stats *mvd_stats(struct mvd *);
struct queue *mvd_queue(struct mvd *);		/* NULL: no queues */
const struct conf *mvd_conf(const struct mvd *);
const char *mvd_key_prefix(const struct mvd *);

struct mvd_counts {
	int	 running;	/* children */
	int	 queued;	/* waiting for a slot */
	int	 retrying;	/* waiting for their backoff */
	int	 max_children;
	time_t	 started_at;
};
void mvd_counts(const struct mvd *, struct mvd_counts *);

/* The scheduler's jobs as a new JSON array of {"name", "schedule",
 * "timezone", "next_run", "paused", "removed", "running",
 * "for_each_account", "max_instances", "args"} (see mailvisord(8)). */
json_t *mvd_schedules(struct mvd *);

/* The runs of this daemon now: a new JSON array of {"job_id", "job",
 * "account", "pid", "started_at", "running_for", "attempt", "queue"};
 * mvd_active_find(): the one whose job_id is job_id, or NULL. */
json_t *mvd_active(struct mvd *);
json_t *mvd_active_find(struct mvd *, const char *job_id);

/*
 * Sets the schedule state of job here at once (the caller also writes it
 * to the Redis sets mailvisor:schedule:paused and
 * mailvisor:schedule:removed, which every daemon reads every few
 * seconds). Returns 0, or -1 with errno ENOENT for an unknown job.
 */
int mvd_schedule_set(struct mvd *, const char *job, int paused,
    int removed);

/* Kills the run job_id when it runs here (its group; recorded "revoked",
 * never retried). Returns 1 when it did, 0 when job_id does not run here.
 * Other daemons learn of a revoke from the set mailvisor:revoked, which
 * the caller adds job_id to, and each daemon reads for its runs every
 * second. */
int mvd_revoke(struct mvd *, const char *job_id);

#endif
