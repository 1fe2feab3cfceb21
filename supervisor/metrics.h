/* mailvisord's run metrics for /metrics: counters and duration histograms
 * per worker and status, written in the Prometheus text format. */
#ifndef MVD_METRICS_H
#define MVD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct mv_buf;
struct metrics;

/* Most workers tracked by name; the records of others count under
 * worker="_other". */
#define METRICS_WORKERS_MAX	1000
#define METRICS_OTHER		"_other"
/* Upper bounds of the duration buckets, in seconds (+Inf follows). */
#define METRICS_BUCKETS		12

/* A new, empty set of counters tracking at most max_workers workers by
 * name (0: METRICS_WORKERS_MAX). NULL when out of memory. Free with
 * metrics_free(). */
struct metrics *metrics_new(size_t max_workers);
void metrics_free(struct metrics *);

/*
 * Counts one execution record (borrowed) of worker: one more in
 * mailvisor_runs_total{worker, status} (status: the record's "status"
 * string, else "unknown"), and, unless the status is "skipped", its
 * "duration" (a number >= 0; otherwise not observed) in
 * mailvisor_run_duration_seconds{worker}; and the prompt_tokens and
 * completion_tokens of the record's result's "usage", when there is one,
 * in mailvisor_ai_tokens_total{job, kind}. m is a struct metrics *: the
 * signature is that of stats_set_observer(). A worker past the bound
 * counts under METRICS_OTHER; a record when memory runs out is lost.
 */
void metrics_observe(void *m, const char *worker, const json_t *record);

/* The figures of the daemon at scrape time. */
struct metrics_gauges {
	int		 running;	/* children */
	int		 queued;	/* waiting for a slot */
	int		 redis_connected;
	size_t		 buffered;	/* records not yet written */
	uint64_t	 dropped;
	uint64_t	 written;
	time_t		 started_at;
	const json_t	*queues;	/* borrowed: the object of
					 * queue_tool_queues(), or NULL (Redis
					 * down: the queue families are left
					 * out) */
	const json_t	*streams;	/* borrowed: the "streams" array of
					 * GET /api/v1/streams as last read,
					 * or NULL (families left out) */
};

/*
 * Appends every family of /metrics to out, each with its HELP and TYPE
 * lines, in the order of mailvisord(8): the runs and their durations
 * (workers, and each worker's statuses, in byte order; a histogram for
 * every worker seen), the model tokens of the workers that reported
 * some, then the gauges of g.
 * Label values are escaped (\\ \" \n). Returns 0, or -1 with errno
 * (ENOMEM, or EMSGSIZE past out's cap).
 */
int metrics_write(const struct metrics *, const struct metrics_gauges *g,
    struct mv_buf *out);

/* Appends s to out as a label value, escaped. 0 or -1. */
int metrics_label(struct mv_buf *out, const char *s);

/* The number of workers tracked, METRICS_OTHER included once used. */
size_t metrics_workers(const struct metrics *);

#endif
