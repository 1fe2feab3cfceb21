/* The HTTP API's routes: one table shared by mailvisord's server (matching
 * requests) and mailvisorctl (building them). */
#ifndef MVD_ROUTES_H
#define MVD_ROUTES_H

#include <stddef.h>

enum route_id {
	R_DASHBOARD,		/* GET / */
	R_HEALTHZ,		/* GET /healthz */
	R_METRICS,		/* GET /metrics */
	R_DAEMON,		/* GET /api/v1/daemon */
	R_SYNC_TRIGGER,		/* POST /api/v1/workers/sync/trigger */
	R_AI_TRIGGER,		/* POST /api/v1/workers/ai/process/trigger */
	R_SCHED_STATUS,		/* GET /api/v1/workers/scheduler/status */
	R_SCHED_PAUSE,		/* POST /api/v1/workers/scheduler/{job}/pause */
	R_SCHED_RESUME,		/* POST .../scheduler/{job}/resume */
	R_SCHED_REMOVE,		/* DELETE /api/v1/workers/scheduler/{job} */
	R_MONITOR_STATS,	/* GET /api/v1/workers/monitor/stats */
	R_MONITOR_CLEAR,	/* DELETE /api/v1/workers/monitor/stats */
	R_MONITOR_FAILURES,	/* GET /api/v1/workers/monitor/failures */
	R_MONITOR_HISTORY,	/* GET /api/v1/workers/monitor/{worker}/history */
	R_JOB_TRIGGER,		/* POST /api/v1/jobs/{job}/trigger */
	R_JOBS_ACTIVE,		/* GET /api/v1/jobs/active */
	R_JOB_GET,		/* GET /api/v1/jobs/{job_id} */
	R_JOB_REVOKE,		/* POST /api/v1/jobs/{job_id}/revoke */
	R_QUEUES,		/* GET /api/v1/queues */
	R_QUEUE_ENQUEUE,	/* POST /api/v1/queues/{queue}/enqueue */
	R_QUEUE_PURGE,		/* POST /api/v1/queues/{queue}/purge */
	R_DLQ_PEEK,		/* GET /api/v1/dlq */
	R_DLQ_REPROCESS,	/* POST /api/v1/dlq/reprocess */
	R_DLQ_PURGE,		/* DELETE /api/v1/dlq */
	R_CURSOR_SHOW,		/* GET /api/v1/cursors/{job} */
	R_CURSOR_RESET,		/* DELETE /api/v1/cursors/{job} */
	R_STREAMS,		/* GET /api/v1/streams */
	R_STREAM_ENTRIES,	/* GET /api/v1/streams/{stream}/entries */
	R_COUNT
};

/* Most {parameters} in one path, and the longest decoded parameter. */
#define ROUTE_PARAMS_MAX	2
#define ROUTE_PARAM_MAX		256

struct route {
	enum route_id	 id;
	const char	*method;	/* "GET", "POST", "DELETE" */
	const char	*path;		/* segments; "{name}" is a parameter */
	int		 needs_token;	/* when the daemon has a token */
	int		 has_body;	/* takes a JSON object */
};

/* The route id, or NULL for an id out of range. Borrowed (static). */
const struct route *route_get(enum route_id);

/*
 * Matches path (no query string; %-encoded) against the table. Returns the
 * route and fills params[0..n) with the %-decoded {parameters} (each at
 * most ROUTE_PARAM_MAX - 1 bytes, no NUL, no '/') when method and path
 * match; NULL with *status 404 when no path matches, 405 when a path
 * matches under another method (allow then names the methods, comma
 * separated), 400 for a parameter that is malformed (bad %-encoding, NUL,
 * too long, empty).
 */
const struct route *route_match(const char *method, const char *path,
    char params[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX], int *status,
    char *allow, size_t allowlen);

/*
 * Builds the path of route id into buf with params (as many as its path
 * has, %-encoded: only A-Z a-z 0-9 - . _ ~ pass as they are). Returns the
 * length, or -1 when buf is too small or a parameter count is wrong.
 */
int route_path(enum route_id id, const char *const *params, size_t nparams,
    char *buf, size_t buflen);

#endif
