/* mailvisord's core: scheduled fires, the run queue under max_children,
 * spawning, results to records and stats, retries, reload and stop. */
#ifndef MVD_DAEMON_H
#define MVD_DAEMON_H

#include <event2/event.h>
#include <jansson.h>

#include "supervisor/conf.h"

struct mvd;

/* Takes ownership of conf. Connects to Redis (in the background) and
 * arms the schedules. Returns NULL with a message logged. */
struct mvd *mvd_new(struct event_base *, struct conf *conf,
    const char *conf_path);
void mvd_free(struct mvd *);

/* Queues one run of job now (for_each_account: one per account), with
 * args (borrowed; NULL: the declared defaults). Returns the number of runs
 * queued, or -1 with err. */
int mvd_trigger(struct mvd *, const char *job, json_t *args, char *err,
    size_t errlen);

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

#endif
