/* mailvisord's run metrics: counters and duration histograms per worker
 * and status, fed by the stats writer's observer, written as Prometheus
 * text. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/buf.h"
#include "shared/str.h"
#include "supervisor/metrics.h"

/* Most statuses kept by name per worker; and their longest name. */
#define STATUSES_MAX	32
#define STATUS_LEN_MAX	64

static const double bucket_le[METRICS_BUCKETS] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
};
static const char *const bucket_txt[METRICS_BUCKETS] = {
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
	"120", "300",
};

struct mstatus {
	char		*name;
	uint64_t	 n;
};

/* One worker: its runs by status (sorted by name) and its histogram
 * (counts per bucket, not cumulative; above the last bucket only in
 * count). */
struct mworker {
	char		*name;
	struct mstatus	*st;
	size_t		 nst;
	uint64_t	 bucket[METRICS_BUCKETS];
	uint64_t	 count;
	long long	 sum_us;	/* microseconds: doubles would add
					 * up to 0.30000000000000004 */
	uint64_t	 tokens[2];	/* prompt, completion */
	int		 has_tokens;
};

struct metrics {
	struct mworker	**w;		/* sorted by name */
	size_t		  n, cap;
	size_t		  max;		/* named workers, METRICS_OTHER
					 * aside */
};

struct metrics *
metrics_new(size_t max_workers)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->max = max_workers > 0 ? max_workers : METRICS_WORKERS_MAX;
	return m;
}

static void
mworker_free(struct mworker *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nst; i++)
		free(w->st[i].name);
	free(w->st);
	free(w->name);
	free(w);
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		mworker_free(m->w[i]);
	free(m->w);
	free(m);
}

size_t
metrics_workers(const struct metrics *m)
{
	return m->n;
}

/* Index of name in the sorted workers, or where it would go (*found 0). */
static size_t
worker_pos(const struct metrics *m, const char *name, int *found)
{
	size_t lo = 0, hi = m->n;
	int c;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((c = strcmp(m->w[mid]->name, name)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Inserts a new worker name at pos. NULL when out of memory. */
static struct mworker *
worker_insert(struct metrics *m, size_t pos, const char *name)
{
	struct mworker *w, **v;

	if (m->n == m->cap) {
		v = reallocarray(m->w, m->cap ? 2 * m->cap : 16, sizeof(*v));
		if (v == NULL)
			return NULL;
		m->w = v;
		m->cap = m->cap ? 2 * m->cap : 16;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->name = strdup(name)) == NULL) {
		free(w);
		return NULL;
	}
	memmove(&m->w[pos + 1], &m->w[pos], (m->n - pos) * sizeof(*m->w));
	m->w[pos] = w;
	m->n++;
	return w;
}

/* The worker of that name, made when new; past the bound, the
 * METRICS_OTHER one. NULL when out of memory. */
static struct mworker *
worker_get(struct metrics *m, const char *name)
{
	size_t pos, named;
	int found;

	pos = worker_pos(m, name, &found);
	if (found)
		return m->w[pos];
	worker_pos(m, METRICS_OTHER, &found);
	named = m->n - (size_t)found;
	if (named >= m->max && strcmp(name, METRICS_OTHER) != 0) {
		name = METRICS_OTHER;
		pos = worker_pos(m, name, &found);
		if (found)
			return m->w[pos];
	}
	return worker_insert(m, pos, name);
}

/* The counter of status of w, made when new (past STATUSES_MAX, or for a
 * name too long, the METRICS_OTHER one). NULL when out of memory. */
static uint64_t *
status_get(struct mworker *w, const char *status)
{
	struct mstatus *v;
	size_t pos = 0;

	if (strlen(status) > STATUS_LEN_MAX)
		status = METRICS_OTHER;
	for (int pass = 0; pass < 2; pass++) {
		for (pos = 0; pos < w->nst; pos++) {
			int c = strcmp(w->st[pos].name, status);

			if (c == 0)
				return &w->st[pos].n;
			if (c > 0)
				break;
		}
		if (w->nst < STATUSES_MAX || strcmp(status, METRICS_OTHER) == 0)
			break;
		status = METRICS_OTHER;
	}
	if ((v = reallocarray(w->st, w->nst + 1, sizeof(*v))) == NULL)
		return NULL;
	w->st = v;
	memmove(&v[pos + 1], &v[pos], (w->nst - pos) * sizeof(*v));
	if ((v[pos].name = strdup(status)) == NULL) {
		memmove(&v[pos], &v[pos + 1], (w->nst - pos) * sizeof(*v));
		return NULL;
	}
	v[pos].n = 0;
	w->nst++;
	return &v[pos].n;
}

static void
observe_duration(struct mworker *w, double d)
{
	for (size_t i = 0; i < METRICS_BUCKETS; i++)
		if (d <= bucket_le[i]) {
			w->bucket[i]++;
			break;
		}
	w->count++;
	w->sum_us += (long long)(d * 1e6 + 0.5);
}

/* The model tokens in the result's "usage", as ai-worker reports them. */
static void
observe_usage(struct mworker *w, const json_t *record)
{
	static const char *const kinds[2] = { "prompt_tokens",
	    "completion_tokens" };
	const json_t *u = json_object_get(json_object_get(record, "result"),
	    "usage"), *v;

	if (!json_is_object(u))
		return;
	for (size_t i = 0; i < 2; i++) {
		v = json_object_get(u, kinds[i]);
		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			w->tokens[i] += (uint64_t)json_integer_value(v);
			w->has_tokens = 1;
		}
	}
}

void
metrics_observe(void *arg, const char *worker, const json_t *record)
{
	struct metrics *m = arg;
	const char *status;
	struct mworker *w;
	uint64_t *n;
	json_t *v;
	double d;

	if (m == NULL || worker == NULL || !json_is_object(record))
		return;
	status = json_string_value(json_object_get(record, "status"));
	if (status == NULL || *status == '\0')
		status = "unknown";
	if ((w = worker_get(m, worker)) == NULL ||
	    (n = status_get(w, status)) == NULL)
		return;
	(*n)++;
	if (strcmp(status, "skipped") == 0)
		return;
	observe_usage(w, record);
	v = json_object_get(record, "duration");
	if (!json_is_number(v))
		return;
	d = json_number_value(v);
	if (isfinite(d) && d >= 0)
		observe_duration(w, d);
}

int
metrics_label(struct mv_buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		int r;

		if (*s == '\\')
			r = mv_buf_puts(out, "\\\\");
		else if (*s == '"')
			r = mv_buf_puts(out, "\\\"");
		else if (*s == '\n')
			r = mv_buf_puts(out, "\\n");
		else
			r = mv_buf_putc(out, *s);
		if (r == -1)
			return -1;
	}
	return 0;
}

/* "# HELP name help" and "# TYPE name type". */
static int
family(struct mv_buf *out, const char *name, const char *type,
    const char *help)
{
	return mv_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* name{label="value"} (label NULL: name) followed by a blank. */
static int
series(struct mv_buf *out, const char *name, const char *label,
    const char *value)
{
	if (mv_buf_puts(out, name) == -1)
		return -1;
	if (label == NULL)
		return mv_buf_putc(out, ' ');
	if (mv_buf_printf(out, "{%s=\"", label) == -1 ||
	    metrics_label(out, value) == -1)
		return -1;
	return mv_buf_puts(out, "\"} ");
}

static int
write_runs(const struct metrics *m, struct mv_buf *out)
{
	if (family(out, "mailvisor_runs_total", "counter", "Execution records "
	    "since the daemon started, by worker and status.") == -1)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		const struct mworker *w = m->w[i];

		for (size_t k = 0; k < w->nst; k++) {
			if (mv_buf_puts(out, "mailvisor_runs_total{worker=\"")
			    == -1 || metrics_label(out, w->name) == -1 ||
			    mv_buf_puts(out, "\",status=\"") == -1 ||
			    metrics_label(out, w->st[k].name) == -1 ||
			    mv_buf_printf(out, "\"} %" PRIu64 "\n",
			    w->st[k].n) == -1)
				return -1;
		}
	}
	return 0;
}

/* One line of worker w's histogram: name_suffix{worker="w"[,le="le"]}. */
static int
hist_line(struct mv_buf *out, const struct mworker *w, const char *suffix,
    const char *le, const char *value)
{
	if (mv_buf_printf(out, "mailvisor_run_duration_seconds_%s{worker=\"",
	    suffix) == -1 || metrics_label(out, w->name) == -1)
		return -1;
	if (le != NULL && mv_buf_printf(out, "\",le=\"%s", le) == -1)
		return -1;
	return mv_buf_printf(out, "\"} %s\n", value);
}

static int
write_histogram(const struct mworker *w, struct mv_buf *out)
{
	char v[64];
	uint64_t cum = 0;

	for (size_t i = 0; i < METRICS_BUCKETS; i++) {
		cum += w->bucket[i];
		snprintf(v, sizeof(v), "%" PRIu64, cum);
		if (hist_line(out, w, "bucket", bucket_txt[i], v) == -1)
			return -1;
	}
	snprintf(v, sizeof(v), "%" PRIu64, w->count);
	if (hist_line(out, w, "bucket", "+Inf", v) == -1)
		return -1;
	mv_fmt_double(v, sizeof(v), (double)w->sum_us / 1e6);
	if (hist_line(out, w, "sum", NULL, v) == -1)
		return -1;
	snprintf(v, sizeof(v), "%" PRIu64, w->count);
	return hist_line(out, w, "count", NULL, v);
}

static int
write_durations(const struct metrics *m, struct mv_buf *out)
{
	if (family(out, "mailvisor_run_duration_seconds", "histogram",
	    "Seconds each run took, by worker (skipped runs left out).") == -1)
		return -1;
	for (size_t i = 0; i < m->n; i++)
		if (write_histogram(m->w[i], out) == -1)
			return -1;
	return 0;
}

/* A family of one sample without labels. */
static int
scalar(struct mv_buf *out, const char *name, const char *type,
    const char *help, uint64_t v)
{
	if (family(out, name, type, help) == -1 ||
	    series(out, name, NULL, NULL) == -1)
		return -1;
	return mv_buf_printf(out, "%" PRIu64 "\n", v);
}

/* A gauge with one sample per queue, from member key of each queue. */
static int
per_queue(struct mv_buf *out, const json_t *qs, const char *name,
    const char *key, const char *help)
{
	const json_t *q;
	size_t i;

	if (family(out, name, "gauge", help) == -1)
		return -1;
	json_array_foreach(json_object_get(qs, "queues"), i, q) {
		const char *qn = json_string_value(json_object_get(q, "name"));
		const json_t *v = json_object_get(q, key);

		if (qn == NULL || !json_is_integer(v))
			continue;
		if (series(out, name, "queue", qn) == -1 ||
		    mv_buf_printf(out, "%" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(v)) == -1)
			return -1;
	}
	return 0;
}

/* A gauge from an integer member of qs; left without sample when
 * missing. */
static int
queue_total(struct mv_buf *out, const json_t *qs, const char *name,
    const char *key, const char *help)
{
	const json_t *v = json_object_get(qs, key);

	if (family(out, name, "gauge", help) == -1)
		return -1;
	if (!json_is_integer(v))
		return 0;
	if (series(out, name, NULL, NULL) == -1)
		return -1;
	return mv_buf_printf(out, "%" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(v));
}

static int
write_queues(const json_t *qs, struct mv_buf *out)
{
	if (qs == NULL)
		return 0;
	if (per_queue(out, qs, "mailvisor_queue_length", "length", "Entries "
	    "waiting in each queue's stream, not yet delivered.") == -1 ||
	    per_queue(out, qs, "mailvisor_queue_pending", "pending", "Entries "
	    "of each queue delivered and not yet acknowledged, by all "
	    "daemons.") == -1 ||
	    queue_total(out, qs, "mailvisor_queue_delayed", "delayed",
	    "Retries of queued jobs waiting for their time.") == -1 ||
	    queue_total(out, qs, "mailvisor_dlq_length", "dlq", "Entries in "
	    "the dead-letter stream.") == -1)
		return -1;
	return 0;
}

/* The lag of each consumer group of each stream: mailvisor_stream_lag
 * {stream, group}; a group whose lag is unknown left out. */
static int
stream_lags(const json_t *ss, struct mv_buf *out)
{
	const json_t *s, *g;
	size_t i, k;

	json_array_foreach(ss, i, s) {
		const char *sn = json_string_value(json_object_get(s, "name"));

		json_array_foreach(json_object_get(s, "groups"), k, g) {
			const char *gn = json_string_value(json_object_get(g,
			    "name"));
			const json_t *v = json_object_get(g, "lag");

			if (sn == NULL || gn == NULL || !json_is_integer(v))
				continue;
			if (mv_buf_puts(out, "mailvisor_stream_lag{stream=\"") ==
			    -1 || metrics_label(out, sn) == -1 ||
			    mv_buf_puts(out, "\",group=\"") == -1 ||
			    metrics_label(out, gn) == -1 ||
			    mv_buf_printf(out, "\"} %" JSON_INTEGER_FORMAT "\n",
			    json_integer_value(v)) == -1)
				return -1;
		}
	}
	return 0;
}

/* The stream families, from the "streams" array of GET /api/v1/streams
 * (NULL: none read yet, left out). */
static int
write_streams(const json_t *ss, struct mv_buf *out)
{
	const json_t *s;
	size_t i;

	if (ss == NULL)
		return 0;
	if (family(out, "mailvisor_stream_length", "gauge", "Entries in each "
	    "stream jobs emit into or consume, as last read.") == -1)
		return -1;
	json_array_foreach(ss, i, s) {
		const char *sn = json_string_value(json_object_get(s, "name"));
		const json_t *v = json_object_get(s, "length");

		if (sn == NULL || !json_is_integer(v))
			continue;
		if (series(out, "mailvisor_stream_length", "stream", sn) ==
		    -1 || mv_buf_printf(out, "%" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(v)) == -1)
			return -1;
	}
	if (family(out, "mailvisor_stream_lag", "gauge", "Entries of each "
	    "stream a consumer group has not read yet, as last read.") == -1)
		return -1;
	return stream_lags(ss, out);
}

static int
write_gauges(const struct metrics_gauges *g, struct mv_buf *out)
{
	if (scalar(out, "mailvisor_running_children", "gauge", "Workers "
	    "running now.", (uint64_t)(g->running > 0 ? g->running : 0)) ==
	    -1 || scalar(out, "mailvisor_queued_runs", "gauge", "Runs waiting "
	    "here for a free slot.", (uint64_t)(g->queued > 0 ? g->queued :
	    0)) == -1 || write_queues(g->queues, out) == -1 ||
	    write_streams(g->streams, out) == -1 ||
	    scalar(out, "mailvisor_redis_connected", "gauge", "1 when the "
	    "daemon is connected to Redis, else 0.", g->redis_connected ? 1 :
	    0) == -1 || scalar(out, "mailvisor_records_buffered", "gauge",
	    "Execution records waiting to be written to Redis.",
	    (uint64_t)g->buffered) == -1 || scalar(out,
	    "mailvisor_records_dropped_total", "counter", "Execution records "
	    "dropped from a full buffer.", g->dropped) == -1 || scalar(out,
	    "mailvisor_records_written_total", "counter", "Execution records "
	    "written to Redis.", g->written) == -1 || scalar(out,
	    "mailvisor_up", "gauge", "1: the daemon answers.", 1) == -1 ||
	    scalar(out, "mailvisor_start_time_seconds", "gauge", "When the "
	    "daemon started, in seconds since the epoch.",
	    (uint64_t)(g->started_at > 0 ? g->started_at : 0)) == -1)
		return -1;
	return 0;
}

static int
write_tokens(const struct metrics *m, struct mv_buf *out)
{
	static const char *const kinds[2] = { "prompt", "completion" };

	if (family(out, "mailvisor_ai_tokens_total", "counter", "Model tokens "
	    "in the usage of the runs' results, by job and kind.") == -1)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		const struct mworker *w = m->w[i];

		for (size_t k = 0; w->has_tokens && k < 2; k++)
			if (mv_buf_puts(out, "mailvisor_ai_tokens_total{job=\"")
			    == -1 || metrics_label(out, w->name) == -1 ||
			    mv_buf_printf(out, "\",kind=\"%s\"} %" PRIu64 "\n",
			    kinds[k], w->tokens[k]) == -1)
				return -1;
	}
	return 0;
}

int
metrics_write(const struct metrics *m, const struct metrics_gauges *g,
    struct mv_buf *out)
{
	if (write_runs(m, out) == -1 || write_durations(m, out) == -1 ||
	    write_tokens(m, out) == -1 || write_gauges(g, out) == -1)
		return -1;
	return 0;
}
