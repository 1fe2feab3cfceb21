/* The execution record of contract §2 as JSON, and signal names. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mvtime.h"
#include "shared/record.h"
#include "shared/utf8.h"

static const char *const record_statuses[] = {
	"success", "failed", "timeout", "killed", "output_too_large",
	"bad_output", "revoked", "skipped",
};

#define SIGNAME(s)	{ s, #s }
static const struct {
	int		 sig;
	const char	*name;
} record_signals[] = {
	SIGNAME(SIGHUP), SIGNAME(SIGINT), SIGNAME(SIGQUIT), SIGNAME(SIGILL),
	SIGNAME(SIGTRAP), SIGNAME(SIGABRT), SIGNAME(SIGBUS), SIGNAME(SIGFPE),
	SIGNAME(SIGKILL), SIGNAME(SIGUSR1), SIGNAME(SIGSEGV), SIGNAME(SIGUSR2),
	SIGNAME(SIGPIPE), SIGNAME(SIGALRM), SIGNAME(SIGTERM),
	SIGNAME(SIGSTKFLT), SIGNAME(SIGCHLD), SIGNAME(SIGCONT),
	SIGNAME(SIGSTOP), SIGNAME(SIGTSTP), SIGNAME(SIGTTIN), SIGNAME(SIGTTOU),
	SIGNAME(SIGURG), SIGNAME(SIGXCPU), SIGNAME(SIGXFSZ),
	SIGNAME(SIGVTALRM), SIGNAME(SIGPROF), SIGNAME(SIGWINCH),
	SIGNAME(SIGIO), SIGNAME(SIGPWR), SIGNAME(SIGSYS),
};

void
mv_record_init(struct mv_record *r)
{
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	r->max_rss_kb = -1;
	r->attempt = 1;
}

int
mv_record_status_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof(record_statuses) / sizeof(record_statuses[0]);
	    i++)
		if (strcmp(s, record_statuses[i]) == 0)
			return 1;
	return 0;
}

const char *
mv_signal_name(int sig, char *buf, size_t len)
{
	size_t i;

	if (sig <= 0)
		return NULL;
	for (i = 0; i < sizeof(record_signals) / sizeof(record_signals[0]);
	    i++)
		if (record_signals[i].sig == sig)
			return record_signals[i].name;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "SIG%d", sig);
	return buf;
}

/* Seconds rounded to the millisecond, so that they print short (no
 * libm: every program links shared/). Negative or absurd values are 0. */
static json_t *
record_secs(double s)
{
	if (!(s > 0 && s < 1e12))
		s = 0;
	return json_real((double)(long long)(s * 1000.0 + 0.5) / 1000.0);
}

static json_t *
record_time(time_t t)
{
	char buf[32];

	if (mv_iso8601(t, buf, sizeof(buf)) == NULL)
		return NULL;
	return json_string(buf);
}

/* An integer, or null for a negative "none". */
static json_t *
record_num(long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *
record_signal(int sig)
{
	char buf[32];

	return sig > 0 ? json_string(mv_signal_name(sig, buf, sizeof(buf))) :
	    json_null();
}

/* Sets key to v (stolen). Returns 0, or -1 when v is NULL or the set
 * failed. */
static int
record_set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL)
		return -1;
	return json_object_set_new(o, key, v);
}

/* status to result. Returns 0 or -1. */
static int
record_fill_head(json_t *o, const struct mv_record *r, int flags)
{
	if (record_set(o, "status", json_string(r->status)) == -1 ||
	    record_set(o, "worker", mv_json_str(r->worker)) == -1 ||
	    record_set(o, "job_id", mv_json_str(r->job_id)) == -1 ||
	    record_set(o, "duration", record_secs(r->duration)) == -1)
		return -1;
	if (flags & MV_RECORD_NO_RESULT)
		return 0;
	return record_set(o, "result", r->result != NULL ?
	    json_incref(r->result) : json_null());
}

/* started_at to system_cpu. Returns 0 or -1. */
static int
record_fill_run(json_t *o, const struct mv_record *r)
{
	if (record_set(o, "started_at", record_time(r->started_at)) == -1 ||
	    record_set(o, "completed_at", record_time(r->completed_at)) == -1 ||
	    record_set(o, "exit_code", record_num(r->exit_code)) == -1 ||
	    record_set(o, "signal", record_signal(r->signal)) == -1 ||
	    record_set(o, "attempt", json_integer(r->attempt)) == -1 ||
	    record_set(o, "max_rss_kb", record_num(r->max_rss_kb)) == -1 ||
	    record_set(o, "rss_source", mv_json_str(r->rss_source)) == -1 ||
	    record_set(o, "user_cpu", record_secs(r->user_cpu)) == -1 ||
	    record_set(o, "system_cpu", record_secs(r->system_cpu)) == -1)
		return -1;
	return 0;
}

/* stderr_tail and reason, for runs that did not succeed. */
static int
record_fill_failure(json_t *o, const struct mv_record *r)
{
	if (strcmp(r->status, "success") == 0)
		return 0;
	if (r->stderr_tail != NULL &&
	    record_set(o, "stderr_tail", mv_json_str(r->stderr_tail)) == -1)
		return -1;
	if (r->reason != NULL &&
	    record_set(o, "reason", mv_json_str(r->reason)) == -1)
		return -1;
	return 0;
}

json_t *
mv_record_json(const struct mv_record *r, int flags)
{
	json_t *o;

	if (r == NULL || !mv_record_status_valid(r->status) ||
	    r->worker == NULL || r->job_id == NULL || r->attempt < 1) {
		errno = EINVAL;
		return NULL;
	}
	if ((o = json_object()) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (record_fill_head(o, r, flags) == -1 ||
	    record_fill_run(o, r) == -1 || record_fill_failure(o, r) == -1) {
		json_decref(o);
		errno = EINVAL;
		return NULL;
	}
	return o;
}

json_t *
mv_record_skeleton(const char *worker, const char *job_id, const char *status,
    int attempt, time_t when)
{
	struct mv_record r;

	mv_record_init(&r);
	r.status = status;
	r.worker = worker;
	r.job_id = job_id;
	r.attempt = attempt;
	r.started_at = r.completed_at = when;
	return mv_record_json(&r, 0);
}

char *
mv_record_dumps(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
}
