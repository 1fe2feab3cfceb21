/* mailvisorctl's human output: aligned tables and lines made from the
 * API's answers, with every string from the daemon escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "shared/buf.h"
#include "shared/utf8.h"
#include "supervisor/ctl/ctl.h"

#define TABLE_COLS_MAX	8
#define CELL_MAX	64	/* characters of a cell... */
#define LAST_MAX	160	/* ...and of a last column */
#define VALUE_MAX	400	/* of a value in a key: value list */

/* Appends the escape of the character at p (k bytes; 0: ill-formed). */
static int
escape_one(struct mv_buf *b, const unsigned char *p, size_t k)
{
	if (k == 0)
		return mv_buf_printf(b, "\\x%02x", p[0]);
	if (k == 1 && p[0] == '\n')
		return mv_buf_puts(b, "\\n");
	if (k == 1 && p[0] == '\t')
		return mv_buf_puts(b, "\\t");
	if (k == 1 && p[0] == '\r')
		return mv_buf_puts(b, "\\r");
	if (k == 1 && p[0] == '\\')
		return mv_buf_puts(b, "\\\\");
	if (k == 1 && (p[0] < 0x20 || p[0] == 0x7f))
		return mv_buf_printf(b, "\\x%02x", p[0]);
	if (k == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return mv_buf_printf(b, "\\u%04x", p[1]);
	return mv_buf_append(b, p, k);
}

char *
ctl_escape(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k, chars = 0;
	struct mv_buf b;

	mv_buf_init(&b, 0);
	if (mv_buf_puts(&b, "") == -1)
		return NULL;
	for (; i < n; i += k ? k : 1, chars++) {
		if (max > 0 && chars == max) {
			if (mv_buf_puts(&b, "...") == -1)
				goto fail;
			break;
		}
		k = mv_utf8_seqlen(p + i, n - i);
		if (escape_one(&b, p + i, k) == -1)
			goto fail;
	}
	return mv_buf_steal(&b, NULL);
fail:
	mv_buf_free(&b);
	return NULL;
}

/* Characters (code points) of a well-formed UTF-8 string. */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Rows of escaped cells, printed with aligned columns. */
struct table {
	size_t	  ncols, nrows, cap;
	char	**cells;		/* nrows * ncols */
	size_t	  width[TABLE_COLS_MAX];
	int	  oom;
};

/* Adds a row of ncols values (NULL: "-"), escaped and cut. A failure is
 * remembered, and reported by table_print(). */
static void
table_row(struct table *t, const char *const *v)
{
	char **nc;

	if (t->oom)
		return;
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		if ((nc = reallocarray(t->cells, t->cap * t->ncols,
		    sizeof(*nc))) == NULL) {
			t->oom = 1;
			return;
		}
		t->cells = nc;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *e = ctl_escape(v[i] ? v[i] : "-",
		    i + 1 == t->ncols ? LAST_MAX : CELL_MAX);
		size_t w;

		t->cells[t->nrows * t->ncols + i] = e;
		if (e == NULL)
			t->oom = 1;
		else if ((w = text_width(e)) > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
}

static void
table_init(struct table *t, size_t ncols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	if (head != NULL)
		table_row(t, head);
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* Prints and frees t. Returns 0, or 70 when a row could not be kept. */
static int
table_print(struct table *t)
{
	int oom = t->oom;

	for (size_t r = 0; r < t->nrows && !oom; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *e = t->cells[r * t->ncols + i];

			if (i + 1 == t->ncols)
				printf("%s\n", e);
			else
				printf("%s%*s", e, (int)(t->width[i] -
				    text_width(e) + 2), "");
		}
	}
	table_free(t);
	return oom ? ctl_fail(EX_SOFTWARE, "out of memory") : 0;
}

/*
 * The text of a scalar value into buf: a string as it is, a number (reals
 * with two decimals), true or false; NULL for null or absent; compact JSON
 * for an array or object. Returns a pointer into buf or into v.
 */
static const char *
val(const json_t *v, char *buf, size_t len)
{
	char *d;

	if (v == NULL)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, len, "%.2f", json_real_value(v));
		return buf;
	case JSON_TRUE:
	case JSON_FALSE:
		return json_is_true(v) ? "true" : "false";
	case JSON_OBJECT:
	case JSON_ARRAY:
		d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(buf, len, "%s", d ? d : "?");
		free(d);
		return buf;
	default:
		return NULL;
	}
}

/* The member key of o when it has type t, else NULL after saying that the
 * answer is not the expected one. */
static json_t *
expect(json_t *o, const char *key, json_type t)
{
	json_t *v = json_object_get(o, key);

	if (v != NULL && json_typeof(v) == t)
		return v;
	ctl_fail(EX_SOFTWARE, "unexpected answer: no '%s' %s", key,
	    t == JSON_ARRAY ? "list" : t == JSON_OBJECT ? "object" : "value");
	return NULL;
}

/* Each element of a is an object. Returns 1, or 0 after saying so. */
static int
all_objects(json_t *a, const char *key)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
		if (!json_is_object(e)) {
			ctl_fail(EX_SOFTWARE, "unexpected answer: an element "
			    "of '%s' is not an object", key);
			return 0;
		}
	return 1;
}

/* A string member, or NULL. */
static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A member as text into buf (see val()). */
#define V(o, k, b) val(json_object_get((o), (k)), (b), sizeof(b))

/* Prints "label: s" with s escaped (cut at VALUE_MAX). 0 or 70. */
static int
print_escaped(const char *label, const char *s)
{
	char *e;

	if ((e = ctl_escape(s ? s : "-", VALUE_MAX)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	printf("%s%s\n", label, e);
	free(e);
	return 0;
}

static const char *
plural(long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* The state of a scheduler entry. */
static const char *
sched_state(const json_t *j)
{
	if (json_is_true(json_object_get(j, "removed")))
		return "removed";
	if (json_is_true(json_object_get(j, "paused")))
		return "paused";
	if (json_is_string(json_object_get(j, "consumes")))
		return "consuming";
	if (!json_is_string(json_object_get(j, "schedule")))
		return "unscheduled";
	return "active";
}

/* "SCHEDULE" or "SCHEDULE (ZONE)" when the zone is not UTC. */
static const char *
sched_text(const json_t *j, char *buf, size_t len)
{
	const char *s = str(j, "schedule"), *tz = str(j, "timezone");
	const char *c = str(j, "consumes");

	if (s == NULL && c != NULL) {
		snprintf(buf, len, "stream %s", c);
		return buf;
	}
	if (s == NULL)
		return NULL;
	if (tz == NULL || strcmp(tz, "UTC") == 0)
		return s;
	snprintf(buf, len, "%s (%s)", s, tz);
	return buf;
}

int
ctl_print_sched_status(json_t *a, const char *const *w)
{
	static const char *const head[] = { "JOB", "SCHEDULE", "NEXT RUN",
	    "STATE", "RUNNING" };
	json_t *jobs, *j, *run = json_object_get(a, "running"),
	    *max = json_object_get(a, "max_children");
	char b1[512], b2[32];
	struct table t;
	size_t i;
	int rc;

	(void)w;
	if ((jobs = expect(a, "jobs", JSON_ARRAY)) == NULL ||
	    !all_objects(jobs, "jobs"))
		return EX_SOFTWARE;
	table_init(&t, 5, head);
	json_array_foreach(jobs, i, j) {
		const char *row[] = { str(j, "name"), sched_text(j, b1,
		    sizeof(b1)), str(j, "next_run"), sched_state(j),
		    V(j, "running", b2) };

		table_row(&t, row);
	}
	if ((rc = table_print(&t)) != 0)
		return rc;
	if (json_is_integer(run) && json_is_integer(max))
		printf("%lld running, at most %lld at once\n",
		    (long long)json_integer_value(run),
		    (long long)json_integer_value(max));
	return 0;
}

static int
next_run_cmp(const void *x, const void *y)
{
	const char *a = str(*(json_t *const *)x, "next_run");
	const char *b = str(*(json_t *const *)y, "next_run");

	return strcmp(a, b);
}

int
ctl_print_scheduled(json_t *a, const char *const *w)
{
	static const char *const head[] = { "NEXT RUN", "JOB", "SCHEDULE" };
	json_t *jobs, *j, **v;
	char b[512];
	struct table t;
	size_t i, n = 0;

	(void)w;
	if ((jobs = expect(a, "jobs", JSON_ARRAY)) == NULL ||
	    !all_objects(jobs, "jobs"))
		return EX_SOFTWARE;
	if ((v = calloc(json_array_size(jobs) + 1, sizeof(*v))) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	json_array_foreach(jobs, i, j)
		if (str(j, "next_run") != NULL)
			v[n++] = j;
	qsort(v, n, sizeof(*v), next_run_cmp);
	table_init(&t, 3, head);
	for (i = 0; i < n; i++) {
		const char *row[] = { str(v[i], "next_run"), str(v[i], "name"),
		    sched_text(v[i], b, sizeof(b)) };

		table_row(&t, row);
	}
	free(v);
	if (n == 0) {
		table_free(&t);
		printf("nothing scheduled\n");
		return 0;
	}
	return table_print(&t);
}

int
ctl_print_sched_change(json_t *a, const char *const *w)
{
	const char *what = "removed from the schedule";
	char *job;

	if (strcmp(w[1], "pause") == 0)
		what = "paused";
	else if (strcmp(w[1], "resume") == 0)
		what = "resumed";
	if (expect(a, "job", JSON_STRING) == NULL)
		return EX_SOFTWARE;
	if ((job = ctl_escape(str(a, "job"), CELL_MAX)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	printf("%s: %s\n", job, what);
	free(job);
	return 0;
}

/* Prints the strings of a, one a line after prefix. 0 or 70. */
static int
print_list(json_t *a, const char *prefix)
{
	size_t i;
	json_t *e;
	char b[64];

	json_array_foreach(a, i, e)
		if (print_escaped(prefix, val(e, b, sizeof(b))) != 0)
			return EX_SOFTWARE;
	return 0;
}

/* Prints the strings of a on one line, after label. 0 or 70. */
static int
print_joined(const char *label, json_t *a)
{
	struct mv_buf b;
	size_t i;
	json_t *e;
	char v[64];
	int rc;

	mv_buf_init(&b, 0);
	json_array_foreach(a, i, e) {
		const char *t = val(e, v, sizeof(v));

		if (mv_buf_printf(&b, "%s%s", i ? ", " : "", t ? t : "-") ==
		    -1)
			break;
	}
	rc = print_escaped(label, b.data ? b.data : "");
	mv_buf_free(&b);
	return rc;
}

int
ctl_print_trigger(json_t *a, const char *const *w)
{
	json_t *ids;
	char *job;
	size_t n;

	(void)w;
	if (expect(a, "job", JSON_STRING) == NULL ||
	    (ids = expect(a, "job_ids", JSON_ARRAY)) == NULL)
		return EX_SOFTWARE;
	if ((job = ctl_escape(str(a, "job"), CELL_MAX)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	n = json_array_size(ids);
	printf("%s: %zu %s queued\n", job, n, plural((long long)n, "run",
	    "runs"));
	free(job);
	return print_list(ids, "  ") != 0 ? EX_SOFTWARE : 0;
}

int
ctl_print_enqueue(json_t *a, const char *const *w)
{
	char label[128], *q;

	(void)w;
	if (expect(a, "queue", JSON_STRING) == NULL ||
	    expect(a, "id", JSON_STRING) == NULL)
		return EX_SOFTWARE;
	if ((q = ctl_escape(str(a, "queue"), CELL_MAX)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	snprintf(label, sizeof(label), "enqueued on %s: ", q);
	free(q);
	return print_escaped(label, str(a, "id"));
}

static int
name_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int
ctl_print_stats(json_t *a, const char *const *w)
{
	static const char *const head[] = { "WORKER", "TOTAL", "OK", "FAILED",
	    "AVG(s)", "LAST", "STATUS" };
	const char **names, *k;
	json_t *ws, *s;
	char b[4][32];
	struct table t;
	size_t n = 0;

	(void)w;
	if ((ws = expect(a, "workers", JSON_OBJECT)) == NULL)
		return EX_SOFTWARE;
	if ((names = calloc(json_object_size(ws) + 1, sizeof(*names))) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	json_object_foreach(ws, k, s)
		names[n++] = k;
	qsort(names, n, sizeof(*names), name_cmp);
	table_init(&t, 7, head);
	for (size_t i = 0; i < n; i++) {
		s = json_object_get(ws, names[i]);
		const char *row[] = { names[i],
		    V(s, "total_executions", b[0]),
		    V(s, "successful_executions", b[1]),
		    V(s, "failed_executions", b[2]),
		    V(s, "average_duration", b[3]), str(s, "last_execution"),
		    str(s, "last_status") };

		table_row(&t, row);
	}
	free(names);
	return table_print(&t);
}

/* The exit column of a record: the signal's name, or the exit code. */
static const char *
rec_exit(const json_t *r, char *buf, size_t len)
{
	const char *sig = str(r, "signal");

	if (sig != NULL)
		return sig;
	return val(json_object_get(r, "exit_code"), buf, len);
}

int
ctl_print_history(json_t *a, const char *const *w)
{
	static const char *const head[] = { "STARTED", "STATUS",
	    "DURATION(s)", "ATTEMPT", "EXIT", "JOB ID" };
	json_t *h, *r;
	char b[3][32];
	struct table t;
	size_t i;

	if ((h = expect(a, "history", JSON_ARRAY)) == NULL ||
	    !all_objects(h, "history"))
		return EX_SOFTWARE;
	if (json_array_size(h) == 0)
		return print_escaped("no history for ", w[2]);
	table_init(&t, 6, head);
	json_array_foreach(h, i, r) {
		const char *row[] = { str(r, "started_at"), str(r, "status"),
		    V(r, "duration", b[0]), V(r, "attempt", b[1]),
		    rec_exit(r, b[2], sizeof(b[2])), str(r, "job_id") };

		table_row(&t, row);
	}
	return table_print(&t);
}

/* The first line of s that is not blank into buf, or NULL. */
static const char *
first_line(const char *s, char *buf, size_t len)
{
	size_t n;

	if (s == NULL)
		return NULL;
	s += strspn(s, " \t\r\n");
	if (*s == '\0')
		return NULL;
	n = strcspn(s, "\r\n");
	snprintf(buf, len, "%.*s", (int)n, s);
	return buf;
}

/* Why a run failed: its reason, the worker's error message, or the first
 * line of its stderr. */
static const char *
rec_reason(const json_t *r, char *buf, size_t len)
{
	const char *m;

	if ((m = str(r, "reason")) != NULL && *m != '\0')
		return m;
	m = json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "result"), "error"), "message"));
	if (m != NULL && *m != '\0')
		return m;
	return first_line(str(r, "stderr_tail"), buf, len);
}

int
ctl_print_failures(json_t *a, const char *const *w)
{
	static const char *const head[] = { "TIME", "WORKER", "STATUS",
	    "REASON" };
	json_t *f, *r;
	char b[512];
	struct table t;
	size_t i;

	(void)w;
	if ((f = expect(a, "failures", JSON_ARRAY)) == NULL ||
	    !all_objects(f, "failures"))
		return EX_SOFTWARE;
	if (json_array_size(f) == 0) {
		printf("no failures\n");
		return 0;
	}
	table_init(&t, 4, head);
	json_array_foreach(f, i, r) {
		const char *row[] = { str(r, "completed_at"), str(r, "worker"),
		    str(r, "status"), rec_reason(r, b, sizeof(b)) };

		table_row(&t, row);
	}
	return table_print(&t);
}

int
ctl_print_cleared(json_t *a, const char *const *w)
{
	json_t *c;

	(void)w;
	if ((c = expect(a, "cleared", JSON_ARRAY)) == NULL)
		return EX_SOFTWARE;
	if (json_array_size(c) == 0) {
		printf("nothing cleared\n");
		return 0;
	}
	return print_joined("cleared: ", c);
}

int
ctl_print_active(json_t *a, const char *const *w)
{
	static const char *const head[] = { "JOB ID", "JOB", "ACCOUNT", "PID",
	    "STARTED", "RUNNING(s)", "ATTEMPT", "QUEUE" };
	json_t *jobs, *j;
	char b[3][32];
	struct table t;
	size_t i;

	(void)w;
	if ((jobs = expect(a, "jobs", JSON_ARRAY)) == NULL ||
	    !all_objects(jobs, "jobs"))
		return EX_SOFTWARE;
	if (json_array_size(jobs) == 0)
		return print_escaped("no job running on ", str(a, "consumer"));
	table_init(&t, 8, head);
	json_array_foreach(jobs, i, j) {
		const char *row[] = { str(j, "job_id"), str(j, "job"),
		    str(j, "account"), V(j, "pid", b[0]), str(j, "started_at"),
		    V(j, "running_for", b[1]), V(j, "attempt", b[2]),
		    str(j, "queue") };

		table_row(&t, row);
	}
	return table_print(&t);
}

/* v, or "?" when NULL. */
static const char *
or_unknown(const char *v)
{
	return v != NULL ? v : "?";
}

/* 1 when the daemon's answer says Redis is connected. */
static int
redis_up(json_t *a)
{
	return json_is_true(json_object_get(json_object_get(a, "redis"),
	    "connected"));
}

int
ctl_print_ping(json_t *a, const char *const *w)
{
	char b[3][64], line[256];

	(void)w;
	if (expect(a, "redis", JSON_OBJECT) == NULL)
		return EX_SOFTWARE;
	snprintf(line, sizeof(line), "mailvisord %s: %s, pid %s, up %s s, "
	    "Redis %s", or_unknown(V(a, "version", b[0])), redis_up(a) ? "ok" :
	    "degraded", or_unknown(V(a, "pid", b[1])), or_unknown(V(a,
	    "uptime", b[2])), redis_up(a) ? "connected" : "not connected");
	return print_escaped("", line);
}

int
ctl_verdict_ping(json_t *a)
{
	char addr[256];
	const char *s = str(json_object_get(a, "redis"), "address");

	if (redis_up(a))
		return 0;
	return ctl_fail(EX_UNAVAILABLE, "the daemon is up but not connected "
	    "to Redis%s%s: no record is written, no queue is served",
	    s != NULL && *s != '\0' ? " at " : "", s != NULL ? ctl_clean(addr,
	    sizeof(addr), s, 200) : "");
}

/* Adds "prefix.key" and the value of each member of o to t, members that
 * are objects flattened in turn (to a depth of 4). */
static void
flatten(struct table *t, json_t *o, const char *prefix, int depth)
{
	char name[256], b[VALUE_MAX + 8];
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." :
		    "", k);
		if (json_is_object(v) && json_object_size(v) > 0 && depth < 4)
			flatten(t, v, name, depth + 1);
		else {
			const char *row[] = { name, val(v, b, sizeof(b)) };

			table_row(t, row);
		}
	}
}

/* The answer as "key  value" lines. */
static int
print_flat(json_t *a)
{
	struct table t;

	table_init(&t, 2, NULL);
	flatten(&t, a, "", 0);
	return table_print(&t);
}

int
ctl_print_daemon(json_t *a, const char *const *w)
{
	(void)w;
	if (expect(a, "version", JSON_STRING) == NULL)
		return EX_SOFTWARE;
	return print_flat(a);
}

int
ctl_print_job(json_t *a, const char *const *w)
{
	(void)w;
	if (expect(a, "job_id", JSON_STRING) == NULL ||
	    expect(a, "state", JSON_STRING) == NULL)
		return EX_SOFTWARE;
	return print_flat(a);
}

int
ctl_print_revoke(json_t *a, const char *const *w)
{
	char label[160], *id;
	const char *o = str(a, "outcome"), *what = "not running here (a "
	    "daemon that runs it kills it)";

	(void)w;
	if (expect(a, "job_id", JSON_STRING) == NULL)
		return EX_SOFTWARE;
	if ((id = ctl_escape(str(a, "job_id"), CELL_MAX)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	snprintf(label, sizeof(label), "revoked %s: ", id);
	free(id);
	if (json_is_true(json_object_get(a, "running_here")))
		what = "killed here";
	else if (o != NULL && strcmp(o, "skipped") == 0)
		what = "queued: it will be skipped";
	return print_escaped(label, what);
}

int
ctl_print_queues(json_t *a, const char *const *w)
{
	static const char *const head[] = { "QUEUE", "PRIO", "LENGTH",
	    "PENDING", "DELAYED" };
	json_t *qs, *q;
	char b[6][32], line[160];
	struct table t;
	size_t i;
	int rc;

	(void)w;
	if ((qs = expect(a, "queues", JSON_ARRAY)) == NULL ||
	    !all_objects(qs, "queues"))
		return EX_SOFTWARE;
	table_init(&t, 5, head);
	json_array_foreach(qs, i, q) {
		const char *row[] = { str(q, "name"), V(q, "priority", b[0]),
		    V(q, "length", b[1]), V(q, "pending", b[2]),
		    V(q, "delayed", b[3]) };

		table_row(&t, row);
	}
	if ((rc = table_print(&t)) != 0)
		return rc;
	snprintf(line, sizeof(line), "dead letters: %s, delayed retries: %s",
	    or_unknown(V(a, "dlq", b[4])), or_unknown(V(a, "delayed", b[5])));
	return print_escaped("", line);
}

int
ctl_print_purge(json_t *a, const char *const *w)
{
	char b[32], label[128], *q;

	(void)w;
	if (expect(a, "queue", JSON_STRING) == NULL ||
	    expect(a, "removed", JSON_INTEGER) == NULL)
		return EX_SOFTWARE;
	if ((q = ctl_escape(str(a, "queue"), CELL_MAX)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	snprintf(label, sizeof(label), "%s: ", q);
	free(q);
	printf("%s%s %s removed\n", label, V(a, "removed", b),
	    plural(json_integer_value(json_object_get(a, "removed")),
	    "entry", "entries"));
	return 0;
}

/* ACCOUNT CURSOR, one account a line; "-" for none (the next run is a
 * full sync). */
int
ctl_print_cursors(json_t *a, const char *const *w)
{
	json_t *cs, *v;
	const char *acct;
	char *e1, *e2;

	(void)w;
	if ((cs = expect(a, "cursors", JSON_OBJECT)) == NULL)
		return EX_SOFTWARE;
	json_object_foreach(cs, acct, v) {
		e1 = ctl_escape(acct, CELL_MAX);
		e2 = ctl_escape(json_is_string(v) ? json_string_value(v) : "-",
		    2048);
		if (e1 == NULL || e2 == NULL) {
			free(e1);
			free(e2);
			return ctl_fail(EX_SOFTWARE, "out of memory");
		}
		printf("%s %s\n", e1, e2);
		free(e1);
		free(e2);
	}
	return 0;
}

int
ctl_print_cursor_reset(json_t *a, const char *const *w)
{
	char b[32], *j;

	(void)w;
	if (expect(a, "job", JSON_STRING) == NULL ||
	    expect(a, "reset", JSON_ARRAY) == NULL)
		return EX_SOFTWARE;
	if ((j = ctl_escape(str(a, "job"), CELL_MAX)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	snprintf(b, sizeof(b), "%zu", json_array_size(json_object_get(a,
	    "reset")));
	printf("%s: %s %s reset: the next run of each is a full sync\n", j,
	    b, plural((json_int_t)json_array_size(json_object_get(a,
	    "reset")), "cursor", "cursors"));
	free(j);
	return 0;
}

int
ctl_print_dlq(json_t *a, const char *const *w)
{
	static const char *const head[] = { "DLQ ID", "AT", "QUEUE", "JOB",
	    "ATTEMPTS", "REASON" };
	json_t *es, *e;
	char b[32];
	struct table t;
	size_t i;

	(void)w;
	if ((es = expect(a, "entries", JSON_ARRAY)) == NULL ||
	    !all_objects(es, "entries"))
		return EX_SOFTWARE;
	if (json_array_size(es) == 0) {
		printf("no dead letters\n");
		return 0;
	}
	table_init(&t, 6, head);
	json_array_foreach(es, i, e) {
		const char *row[] = { str(e, "dlq_id"), str(e, "at"),
		    str(e, "queue"), str(json_object_get(e, "fields"), "job"),
		    b, str(e, "reason") };

		snprintf(b, sizeof(b), "%zu",
		    json_array_size(json_object_get(e, "attempts")));
		table_row(&t, row);
	}
	return table_print(&t);
}

int
ctl_print_reprocess(json_t *a, const char *const *w)
{
	json_t *n;

	(void)w;
	if ((n = expect(a, "reprocessed", JSON_INTEGER)) == NULL)
		return EX_SOFTWARE;
	printf("reprocessed %lld dead %s\n", (long long)json_integer_value(n),
	    plural(json_integer_value(n), "letter", "letters"));
	return 0;
}

int
ctl_print_dlq_purge(json_t *a, const char *const *w)
{
	json_t *n;

	(void)w;
	if ((n = expect(a, "purged", JSON_INTEGER)) == NULL)
		return EX_SOFTWARE;
	printf("purged %lld dead %s\n", (long long)json_integer_value(n),
	    plural(json_integer_value(n), "letter", "letters"));
	return 0;
}

/* One row per consumer group of stream s (one with "-" when it has
 * none). */
static void
stream_rows(struct table *t, json_t *s)
{
	json_t *gs = json_object_get(s, "groups"), *g;
	char b[6][32];
	size_t i;

	if (json_array_size(gs) == 0) {
		const char *row[] = { str(s, "name"), V(s, "length", b[0]),
		    V(s, "maxlen", b[1]), str(s, "last_time"), NULL, NULL,
		    NULL };

		table_row(t, row);
		return;
	}
	json_array_foreach(gs, i, g) {
		const char *row[] = { str(s, "name"), V(s, "length", b[0]),
		    V(s, "maxlen", b[1]), str(s, "last_time"), str(g, "name"),
		    V(g, "pending", b[2]), V(g, "lag", b[3]) };

		table_row(t, row);
	}
}

/* STREAM LENGTH MAXLEN LAST GROUP PENDING LAG: one line per consumer
 * group; "-" for none, for an empty stream's LAST and an unknown LAG. */
int
ctl_print_streams(json_t *a, const char *const *w)
{
	static const char *const head[] = { "STREAM", "LENGTH", "MAXLEN",
	    "LAST", "GROUP", "PENDING", "LAG" };
	json_t *ss, *s;
	struct table t;
	size_t i;

	(void)w;
	if ((ss = expect(a, "streams", JSON_ARRAY)) == NULL ||
	    !all_objects(ss, "streams"))
		return EX_SOFTWARE;
	table_init(&t, 7, head);
	json_array_foreach(ss, i, s)
		stream_rows(&t, s);
	return table_print(&t);
}

void
ctl_json_put(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) {
			printf("\\u%04x", p[1]);
			p++;
		} else
			putchar(*p);
	}
	putchar('\n');
}

/* 1 when s has a C0 control character or DEL: not a JSON line. */
static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* The entries' data fields, one a line: ndjson as the jobs printed it
 * (C1 characters as \u escapes; a line with control characters
 * escaped). */
int
ctl_print_tail(json_t *a, const char *const *w)
{
	json_t *es, *e;
	const char *d;
	size_t i;
	int rc;

	(void)w;
	if ((es = expect(a, "entries", JSON_ARRAY)) == NULL ||
	    !all_objects(es, "entries"))
		return EX_SOFTWARE;
	json_array_foreach(es, i, e) {
		d = str(json_object_get(e, "fields"), "data");
		if (d == NULL)
			continue;
		if (!has_control(d))
			ctl_json_put(d);
		else if ((rc = print_escaped("", d)) != 0)
			return rc;
	}
	return 0;
}
