/* The HTTP API's route table, its matcher and its path builder. */
#include <string.h>

#include "shared/str.h"
#include "supervisor/routes.h"

/* Literal paths before parameterised ones of the same shape. */
static const struct route routes[R_COUNT] = {
	{ R_DASHBOARD, "GET", "/", 0, 0 },
	{ R_HEALTHZ, "GET", "/healthz", 0, 0 },
	{ R_METRICS, "GET", "/metrics", 1, 0 },
	{ R_DAEMON, "GET", "/api/v1/daemon", 1, 0 },
	{ R_SYNC_TRIGGER, "POST", "/api/v1/workers/sync/trigger", 1, 1 },
	{ R_AI_TRIGGER, "POST", "/api/v1/workers/ai/process/trigger", 1, 1 },
	{ R_SCHED_STATUS, "GET", "/api/v1/workers/scheduler/status", 1, 0 },
	{ R_SCHED_PAUSE, "POST", "/api/v1/workers/scheduler/{job}/pause", 1,
	    0 },
	{ R_SCHED_RESUME, "POST", "/api/v1/workers/scheduler/{job}/resume", 1,
	    0 },
	{ R_SCHED_REMOVE, "DELETE", "/api/v1/workers/scheduler/{job}", 1, 0 },
	{ R_MONITOR_STATS, "GET", "/api/v1/workers/monitor/stats", 1, 0 },
	{ R_MONITOR_CLEAR, "DELETE", "/api/v1/workers/monitor/stats", 1, 0 },
	{ R_MONITOR_FAILURES, "GET", "/api/v1/workers/monitor/failures", 1,
	    0 },
	{ R_MONITOR_HISTORY, "GET", "/api/v1/workers/monitor/{worker}/history",
	    1, 0 },
	{ R_JOB_TRIGGER, "POST", "/api/v1/jobs/{job}/trigger", 1, 1 },
	{ R_JOBS_ACTIVE, "GET", "/api/v1/jobs/active", 1, 0 },
	{ R_JOB_GET, "GET", "/api/v1/jobs/{job_id}", 1, 0 },
	{ R_JOB_REVOKE, "POST", "/api/v1/jobs/{job_id}/revoke", 1, 0 },
	{ R_QUEUES, "GET", "/api/v1/queues", 1, 0 },
	{ R_QUEUE_ENQUEUE, "POST", "/api/v1/queues/{queue}/enqueue", 1, 1 },
	{ R_QUEUE_PURGE, "POST", "/api/v1/queues/{queue}/purge", 1, 0 },
	{ R_DLQ_PEEK, "GET", "/api/v1/dlq", 1, 0 },
	{ R_DLQ_REPROCESS, "POST", "/api/v1/dlq/reprocess", 1, 1 },
	{ R_DLQ_PURGE, "DELETE", "/api/v1/dlq", 1, 0 },
	{ R_CURSOR_SHOW, "GET", "/api/v1/cursors/{job}", 1, 0 },
	{ R_CURSOR_RESET, "DELETE", "/api/v1/cursors/{job}", 1, 0 },
	{ R_STREAMS, "GET", "/api/v1/streams", 1, 0 },
	{ R_STREAM_ENTRIES, "GET", "/api/v1/streams/{stream}/entries", 1, 0 },
};

const struct route *
route_get(enum route_id id)
{
	if ((int)id < 0 || id >= R_COUNT)
		return NULL;
	return &routes[id];
}

/* Decodes the segment [s, e) into out. 0, or -1 when malformed. */
static int
segment_decode(const char *s, const char *e, char *out, size_t outlen)
{
	size_t n = 0;
	int hi, lo;

	if (s == e)
		return -1;
	for (; s < e; s++) {
		char c = *s;

		if (c == '%') {
			if (e - s < 3 || (hi = mv_hexval(s[1])) < 0 ||
			    (lo = mv_hexval(s[2])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			s += 2;
		}
		if (c == '\0' || c == '/' || n + 1 >= outlen)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/*
 * Does path fit the template? 1 yes (params filled), 0 no, -1 when it
 * fits but a parameter is malformed.
 */
static int
path_fits(const char *tmpl, const char *path,
    char params[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX])
{
	int np = 0, bad = 0;

	if (strcmp(tmpl, "/") == 0)
		return strcmp(path, "/") == 0;
	while (*tmpl == '/' && *path == '/') {
		const char *te = strchr(tmpl + 1, '/');
		const char *pe = strchr(path + 1, '/');
		size_t tl, pl;

		te = te ? te : tmpl + strlen(tmpl);
		pe = pe ? pe : path + strlen(path);
		tl = (size_t)(te - tmpl - 1);
		pl = (size_t)(pe - path - 1);
		if (tmpl[1] == '{') {
			if (np == ROUTE_PARAMS_MAX || pl == 0)
				return 0;
			if (segment_decode(path + 1, pe, params[np++],
			    ROUTE_PARAM_MAX) == -1)
				bad = 1;
		} else if (tl != pl || memcmp(tmpl + 1, path + 1, tl) != 0)
			return 0;
		tmpl = te;
		path = pe;
	}
	if (*tmpl != '\0' || *path != '\0')
		return 0;
	return bad ? -1 : 1;
}

const struct route *
route_match(const char *method, const char *path,
    char params[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX], int *status,
    char *allow, size_t allowlen)
{
	char scratch[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX];
	int fit, bad = 0, other = 0;

	if (allowlen > 0)
		allow[0] = '\0';
	for (int i = 0; i < R_COUNT; i++) {
		const struct route *r = &routes[i];
		int same = strcmp(r->method, method) == 0;

		fit = path_fits(r->path, path, same ? params : scratch);
		if (fit == 0)
			continue;
		if (fit == -1) {
			bad = 1;
			continue;
		}
		if (same)
			return r;
		if (allowlen > 0 && strstr(allow, r->method) == NULL) {
			if (allow[0] != '\0')
				strlcat(allow, ", ", allowlen);
			strlcat(allow, r->method, allowlen);
		}
		other = 1;
	}
	*status = other ? 405 : bad ? 400 : 404;
	return NULL;
}

int
route_path(enum route_id id, const char *const *params, size_t nparams,
    char *buf, size_t buflen)
{
	static const char hex[] = "0123456789ABCDEF";
	const struct route *r = route_get(id);
	const char *t;
	size_t n = 0, used = 0;

	if (r == NULL || buflen == 0)
		return -1;
	for (t = r->path; *t != '\0'; t++) {
		if (*t == '{') {
			const unsigned char *p;

			if (used == nparams || params[used] == NULL)
				return -1;
			for (p = (const unsigned char *)params[used++]; *p;
			    p++) {
				if ((*p >= 'A' && *p <= 'Z') ||
				    (*p >= 'a' && *p <= 'z') ||
				    (*p >= '0' && *p <= '9') ||
				    strchr("-._~", *p) != NULL) {
					if (n + 1 >= buflen)
						return -1;
					buf[n++] = (char)*p;
				} else {
					if (n + 3 >= buflen)
						return -1;
					buf[n++] = '%';
					buf[n++] = hex[*p >> 4];
					buf[n++] = hex[*p & 15];
				}
			}
			if ((t = strchr(t, '}')) == NULL)
				return -1;
			continue;
		}
		if (n + 1 >= buflen)
			return -1;
		buf[n++] = *t;
	}
	if (used != nparams)
		return -1;
	buf[n] = '\0';
	return (int)n;
}
