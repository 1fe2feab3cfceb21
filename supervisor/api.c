/* mailvisord's HTTP API: routing, the bearer token, strict JSON bodies
 * and query strings, and one handler per route, all on the daemon's
 * event loop (Redis answers come back through callbacks). */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "shared/buf.h"
#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/str.h"
#include "shared/utf8.h"
#include "supervisor/api.h"
#include "supervisor/daemon.h"
#include "supervisor/guard.h"
#include "supervisor/metrics.h"
#include "supervisor/queue.h"
#include "supervisor/rds.h"
#include "supervisor/reqbody.h"
#include "supervisor/routes.h"
#include "supervisor/stats.h"

/* The dashboard page, compiled in from supervisor/dashboard.html. */
extern const unsigned char dashboard_html[];
extern const size_t dashboard_html_len;

#define IDEM_MAX	200	/* longest idempotency key */
#define ID_MAX		200	/* longest job id or worker name */
#define KEY_MAX		(STATS_PREFIX_MAX + ROUTE_PARAM_MAX + 64)
#define CT_JSON		"application/json"
#define CT_METRICS	"text/plain; version=0.0.4; charset=utf-8"
#define CT_HTML		"text/html; charset=utf-8"

struct areq;
struct srefresh;

struct api {
	struct event_base	*base;
	struct mvd		*d;
	struct evhttp		*http;
	struct metrics		*metrics;
	struct guard		*guard;		/* of the heads */
	unsigned char		 token[CONF_TOKEN_MAX];	/* zero-padded */
	size_t			 tokenlen;		/* 0: none */
	size_t			 max_body;
	char			 sync_job[CONF_SYNC_JOBS *
				     (CONF_NAME_MAX + 1)];	/* as given */
	char			 sync_jobs[CONF_SYNC_JOBS]
				     [CONF_NAME_MAX + 1];	/* its names */
	int			 nsync;
	char			 ai_thread_job[CONF_NAME_MAX + 1];
	char			 ai_bulk_job[CONF_NAME_MAX + 1];
	char			*hosts;		/* " a b ": Host names
						 * taken, lower case */
	TAILQ_HEAD(, areq)	 reqs;			/* waiting */
	json_t			*streams;	/* as last read, for /metrics;
						 * NULL: not yet */
	double			 streams_at;	/* mono_ms() of that read */
	struct srefresh		*refresh;	/* under way, or NULL */
};

/* One request, from its arrival to its answer. */
struct areq {
	TAILQ_ENTRY(areq)	  entry;
	struct api		 *api;
	struct evhttp_request	 *req;
	struct evhttp_connection *evcon;	/* set while waiting */
	const struct route	 *route;
	char			  method[16];
	char			  path[96];	/* cleaned, for the log */
	double			  t0;		/* mono_ms() */
	char			  p[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX];
	json_t			 *body;		/* the object, or NULL */
	/* query values */
	char			  worker[ROUTE_PARAM_MAX];	/* "": none */
	char			  account[ROUTE_PARAM_MAX];	/* "": none */
	char			  start[64];
	char			  after[64];	/* "": the newest */
	long			  limit, hours, count;
	/* while waiting */
	int			  waiting;	/* Redis replies to come */
	int			  seen;		/* replies seen */
	int			  stage;
	int			  known;	/* route-specific flags */
	int			  paused, removed;
	int			  okcode;	/* of a queue tool's answer */
	json_t			 *names;	/* one per command sent */
	json_t			 *acc;		/* the answer being built */
};

/* ---- answers ---- */

/* Monotonic time in milliseconds, to the microsecond. */
static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static const char *
err_type(int code)
{
	switch (code) {
	case 400:
		return "invalid_argument";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 409:
		return "conflict";
	case 411:
		return "length_required";
	case 413:
		return "payload_too_large";
	case 415:
		return "unsupported_media_type";
	case 503:
		return "unavailable";
	default:
		return "internal";
	}
}

/* Frees r (NULL-safe); its answer was sent, or will never be. */
static void
areq_free(struct areq *r)
{
	if (r == NULL)
		return;
	if (r->evcon != NULL)
		TAILQ_REMOVE(&r->api->reqs, r, entry);
	json_decref(r->body);
	json_decref(r->names);
	json_decref(r->acc);
	free(r);
}

/* Forgets the Redis replies and queue tool answers r waits for. */
static void
areq_cancel(struct areq *r)
{
	struct queue *q = mvd_queue(r->api->d);

	rds_cancel(mvd_rds(r->api->d), r);
	if (q != NULL)
		queue_tool_cancel(q, r);
}

/* Sends the answer: code, ctype and len bytes of body (copied); logs
 * it; frees r. */
static void
areq_send(struct areq *r, int code, const char *ctype, const void *body,
    size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Server", "mailvisord/" MV_VERSION);
	if (r->evcon != NULL)
		evhttp_connection_set_closecb(r->evcon, NULL, NULL);
	if (b == NULL || evbuffer_add(b, body, len) == -1) {
		code = 500;
		evhttp_send_error(r->req, code, NULL);
	} else
		evhttp_send_reply(r->req, code, NULL, b);
	if (b != NULL)
		evbuffer_free(b);
	log_debug("http: %s %s %d %.1f ms", r->method, r->path, code,
	    mono_ms() - r->t0);
	areq_free(r);
}

/* Answers with the JSON value v (stolen; NULL: out of memory). */
static void
areq_json(struct areq *r, int code, json_t *v)
{
	static const char oom[] = "{\"error\":{\"type\":\"internal\","
	    "\"message\":\"out of memory\"}}";
	char *s = v != NULL ? mv_json_dumps(v, JSON_COMPACT) : NULL;

	json_decref(v);
	if (s == NULL) {
		areq_send(r, 500, CT_JSON, oom, sizeof(oom) - 1);
		return;
	}
	areq_send(r, code, CT_JSON, s, strlen(s));
	free(s);
}

/* Answers code with the error body {"error": {"type", "message"}}. */
static void __attribute__((format(printf, 3, 4)))
areq_fail(struct areq *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code == 401)
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "WWW-Authenticate", "Bearer");
	areq_json(r, code, json_pack("{s:{s:s, s:o}}", "error", "type",
	    err_type(code), "message", mv_json_str(msg)));
}

/* s, cleaned and cut, for a message. */
static const char *
q(char *buf, size_t len, const char *s)
{
	mv_quote_clean(buf, len, s, len - 1);
	return buf;
}

/* The client went before its answer: forget it. */
static void
areq_closed(struct evhttp_connection *evcon, void *arg)
{
	struct areq *r = arg;

	(void)evcon;
	log_debug("http: %s %s: the client left before the answer",
	    r->method, r->path);
	areq_cancel(r);
	r->evcon = NULL;
	TAILQ_REMOVE(&r->api->reqs, r, entry);
	areq_free(r);
}

/* r waits for answers from the loop (once per request). */
static void
areq_wait(struct areq *r)
{
	if (r->evcon != NULL)
		return;
	r->evcon = evhttp_request_get_connection(r->req);
	TAILQ_INSERT_TAIL(&r->api->reqs, r, entry);
	evhttp_connection_set_closecb(r->evcon, areq_closed, r);
}

/* Sends one Redis command for r, which then waits for one more reply.
 * Returns 0, or -1 after answering (r is then freed). */
static int
areq_cmd(struct areq *r, int argc, const char **argv, rds_reply_fn cb)
{
	struct rds *rds = mvd_rds(r->api->d);

	if (rds_command(rds, argc, argv, NULL, cb, r) == -1) {
		int e = errno;

		rds_cancel(rds, r);
		if (e == ENOTCONN)
			areq_fail(r, 503, "Redis is not connected");
		else
			areq_fail(r, 500, "cannot send a command to Redis: %s",
			    strerror(e));
		return -1;
	}
	r->waiting++;
	areq_wait(r);
	return 0;
}

/* Checks one Redis reply of r: 1 when usable; 0 after answering 503 (no
 * reply: Redis went away) or 500 (an error reply), r then freed. */
static int
reply_ok(struct areq *r, const redisReply *reply)
{
	r->seen++;
	if (reply != NULL && reply->type != REDIS_REPLY_ERROR)
		return 1;
	areq_cancel(r);
	if (reply == NULL) {
		areq_fail(r, 503, "Redis went away before it answered");
		return 0;
	}
	log_warnx("http: %s %s: Redis answered: %.*s", r->method, r->path,
	    (int)(reply->len > 200 ? 200 : reply->len), reply->str);
	areq_fail(r, 500, "Redis refused the command");
	return 0;
}

/* 503 unless Redis is connected. 0, or -1 after answering. */
static int
need_redis(struct areq *r)
{
	if (rds_connected(mvd_rds(r->api->d)))
		return 0;
	areq_fail(r, 503, "Redis is not connected");
	return -1;
}

/* ---- small helpers ---- */

/* key_prefix + what, into buf. */
static const char *
key(const struct api *a, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static const char *
key(const struct api *a, char *buf, size_t len, const char *fmt, ...)
{
	const char *prefix = mvd_key_prefix(a->d);
	size_t n;
	va_list ap;

	n = (size_t)snprintf(buf, len, "%s", prefix != NULL ? prefix : "");
	if (n >= len)
		n = len - 1;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return buf;
}

/* 1 when s is 1 to ID_MAX bytes from 0x21 to 0x7e (job ids and worker
 * names as the stats writer accepts them). */
static int
is_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
			return 0;
	return n > 0 && n <= ID_MAX;
}

/* 1 when s is a stream entry id: MS or MS-SEQ, digits. */
static int
is_stream_id(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 20)
		return 0;
	if (s[n] == '\0')
		return 1;
	if (s[n] != '-')
		return 0;
	s += n + 1;
	n = strspn(s, "0123456789");
	return n > 0 && n <= 20 && s[n] == '\0';
}

/* 1 when s is a UUID (8-4-4-4-12 hexadecimal digits), as the daemon
 * gives its scheduled and triggered runs. */
static int
is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (mv_hexval((unsigned char)s[i]) < 0)
			return 0;
	}
	return s[36] == '\0';
}

/* The daemon's consumer name, as the queues use it ("" without queues). */
static const char *
consumer_name(const struct api *a)
{
	struct queue *q = mvd_queue(a->d);

	return q != NULL ? queue_consumer(q) : "";
}

static json_int_t
uptime(const struct mvd_counts *c)
{
	time_t now = time(NULL);

	return now > c->started_at ? (json_int_t)(now - c->started_at) : 0;
}

/* The names of the queues this daemon serves, as a new JSON array. */
static json_t *
served_queues(const struct conf *c)
{
	struct queue_conf *qs;
	json_t *v = json_array();
	size_t n;

	if (v == NULL)
		return NULL;
	if (c->nqueues > 0) {
		for (size_t i = 0; i < c->nqueues; i++)
			json_array_append_new(v,
			    json_string(c->queues[i].name));
		return v;
	}
	if ((qs = queue_defaults(&n)) == NULL) {
		json_decref(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(v, json_string(qs[i].name));
	queue_conf_free(qs, n);
	return v;
}

/* 1 when the array of strings v holds s. */
static int
has_string(const json_t *v, const char *s)
{
	const json_t *e;
	size_t i;

	json_array_foreach(v, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return 1;
	return 0;
}

/* A JSON value from a Redis string holding JSON; NULL when it holds
 * none. New reference. */
static json_t *
reply_json(const redisReply *e)
{
	json_error_t je;

	if (e == NULL || e->type != REDIS_REPLY_STRING)
		return NULL;
	return json_loadb(e->str, e->len, 0, &je);
}

/* The JSON values of the elements of an array reply, as a new array
 * (elements that are not JSON left out). */
static json_t *
reply_records(const redisReply *reply)
{
	json_t *out = json_array(), *v;

	if (out == NULL || reply->type != REDIS_REPLY_ARRAY)
		return out;
	for (size_t i = 0; i < reply->elements; i++)
		if ((v = reply_json(reply->element[i])) != NULL)
			json_array_append_new(out, v);
	return out;
}

/* ---- request checks: route, token, query, body ---- */

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "?";
}

/* Finds r's route. 0, or -1 after answering 404, 405 or 400. */
static int
areq_route(struct areq *r, const char *path)
{
	char allow[64];
	int status = 404;

	r->route = route_match(strcmp(r->method, "HEAD") == 0 ? "GET" :
	    r->method, path, r->p, &status, allow, sizeof(allow));
	if (r->route != NULL)
		return 0;
	if (status == 405) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Allow", allow);
		areq_fail(r, 405, "%s is not allowed here (only %s)",
		    r->method, allow);
	} else if (status == 400)
		areq_fail(r, 400, "malformed path parameter");
	else
		areq_fail(r, 404, "no such route");
	return -1;
}

/* 1 when a and b (n bytes each) differ; every byte is compared, so that
 * the time taken depends on n only. */
static int
ct_differ(const unsigned char *a, const unsigned char *b, size_t n)
{
	volatile unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d != 0;
}

/*
 * The bearer token, when the daemon has one and the route needs it. Both
 * buffers are CONF_TOKEN_MAX bytes, zero-padded, compared whole in
 * constant time, whatever the length given. 0, or -1 after answering 401.
 */
static int
areq_auth(struct areq *r)
{
	const struct api *a = r->api;
	unsigned char got[CONF_TOKEN_MAX];
	const char *h;
	size_t n = 0;
	int bearer = 0, same;

	if (a->tokenlen == 0 || !r->route->needs_token)
		return 0;
	memset(got, 0, sizeof(got));
	h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Authorization");
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		bearer = 1;
		h += 7 + strspn(h + 7, " ");
		n = strlen(h);
		memcpy(got, h, n < sizeof(got) ? n : sizeof(got));
	}
	same = !ct_differ(got, a->token, sizeof(got));
	same &= n == a->tokenlen;
	explicit_bzero(got, sizeof(got));
	if (bearer && same)
		return 0;
	areq_fail(r, 401, bearer ? "wrong token" : "missing bearer token: "
	    "send Authorization: Bearer TOKEN");
	return -1;
}

/*
 * The name of a Host header h (lower case, an IPv6 address kept in its
 * brackets, the port left out) into buf. 0, or -1 when h is malformed:
 * empty, a port that is not digits, a character that no name has.
 */
static int
host_name(const char *h, char *buf, size_t len)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
	size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":");
	const char *port = h + n;

	if (n == 0 || n >= len || (h[0] == '[' && h[n - 1] != ']'))
		return -1;
	if (h[0] != '[' && strspn(h, ok) != n)
		return -1;
	if (h[0] == '[' && strspn(h + 1, "0123456789abcdefABCDEF:.") != n - 2)
		return -1;
	if (*port == ':' && (port[1] == '\0' ||
	    port[1 + strspn(port + 1, "0123456789")] != '\0'))
		return -1;
	if (*port != ':' && *port != '\0')
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)h[i]);
	buf[n] = '\0';
	return 0;
}

/*
 * The Host header names this daemon: on a loopback listen address,
 * localhost, 127.0.0.1 or [::1]; else a name of allowed_hosts. A page
 * of another site that got its name to resolve to this daemon (DNS
 * rebinding) sends its own name. 0, or -1 after answering 403.
 */
static int
areq_host(struct areq *r)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(
	    r->req), "Host");
	char name[300], w[304], b[64];

	if (h == NULL) {
		areq_fail(r, 403, "no Host header");
		return -1;
	}
	if (host_name(h, name, sizeof(name)) == 0) {
		snprintf(w, sizeof(w), " %s ", name);
		if (strstr(r->api->hosts, w) != NULL)
			return 0;
	}
	log_warnx("http: %s %s: refused: Host '%s' is not a name of this "
	    "daemon", r->method, r->path, q(b, sizeof(b), h));
	areq_fail(r, 403, "Host '%s' is not a name of this daemon (see "
	    "allowed_hosts in mailvisord.conf(5))", q(b, sizeof(b), h));
	return -1;
}

/* 1 when origin is http:// or https:// followed by host, the request's
 * Host (already checked): the daemon's own origin. */
static int
same_origin(const char *origin, const char *host)
{
	if (strncasecmp(origin, "http://", 7) == 0)
		origin += 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		origin += 8;
	else
		return 0;
	return strcasecmp(origin, host) == 0;
}

/*
 * A request that changes state (any method but GET and HEAD) must come
 * from this daemon's own pages or from a program: Content-Type
 * application/json, which an HTML form cannot send and a script of
 * another site cannot without asking first (a CORS preflight this
 * server never grants); no Origin of another site; no Sec-Fetch-Site
 * cross-site. 0, or -1 after answering 403.
 */
static int
areq_same_site(struct areq *r)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	const char *ct = evhttp_find_header(in, "Content-Type");
	const char *origin = evhttp_find_header(in, "Origin");
	const char *site = evhttp_find_header(in, "Sec-Fetch-Site");
	const char *host = evhttp_find_header(in, "Host");
	const char *why = NULL;
	char b[64];

	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
		return 0;
	if (site != NULL && strcasecmp(site, "cross-site") == 0)
		why = "Sec-Fetch-Site: cross-site";
	else if (origin != NULL && !same_origin(origin, host))
		why = "Origin";
	else if (ct == NULL || !reqbody_is_json(ct))
		why = "Content-Type";
	if (why == NULL)
		return 0;
	log_warnx("http: %s %s: refused: %s", r->method, r->path,
	    why[0] == 'O' ? q(b, sizeof(b), origin) : why);
	if (why[0] == 'S')
		areq_fail(r, 403, "a request from another site may not change "
		    "anything (%s)", why);
	else if (why[0] == 'O')
		areq_fail(r, 403, "Origin '%s' is not this daemon's",
		    q(b, sizeof(b), origin));
	else
		areq_fail(r, 403, "a %s must carry Content-Type: "
		    "application/json (even with an empty body)", r->method);
	return -1;
}

enum qkind {
	QK_INT,		/* decimal in [min, max] */
	QK_WORKER,	/* a worker name */
	QK_START,	/* "-" or a stream entry id */
	QK_ID,		/* a stream entry id */
};

/* The query parameters each route takes. */
static const struct qparam {
	enum route_id	 route;
	const char	*name;
	enum qkind	 kind;
	long		 min, max, def;
	size_t		 off;		/* long, or char[] of size len */
	size_t		 len;
} qparams[] = {
	{ R_MONITOR_STATS, "worker_name", QK_WORKER, 0, 0, 0,
	  offsetof(struct areq, worker), ROUTE_PARAM_MAX },
	{ R_MONITOR_CLEAR, "worker_name", QK_WORKER, 0, 0, 0,
	  offsetof(struct areq, worker), ROUTE_PARAM_MAX },
	{ R_MONITOR_HISTORY, "limit", QK_INT, 1, 100, 20,
	  offsetof(struct areq, limit), 0 },
	{ R_MONITOR_FAILURES, "limit", QK_INT, 1, 1000, 50,
	  offsetof(struct areq, limit), 0 },
	{ R_MONITOR_FAILURES, "hours", QK_INT, 1, 8760, 24,
	  offsetof(struct areq, hours), 0 },
	{ R_CURSOR_SHOW, "account", QK_WORKER, 0, 0, 0,
	  offsetof(struct areq, account), ROUTE_PARAM_MAX },
	{ R_CURSOR_RESET, "account", QK_WORKER, 0, 0, 0,
	  offsetof(struct areq, account), ROUTE_PARAM_MAX },
	{ R_DLQ_PEEK, "count", QK_INT, 1, 1000, 20,
	  offsetof(struct areq, count), 0 },
	{ R_DLQ_PEEK, "start", QK_START, 0, 0, 0,
	  offsetof(struct areq, start), 64 },
	{ R_STREAM_ENTRIES, "count", QK_INT, 1, 1000, 20,
	  offsetof(struct areq, count), 0 },
	{ R_STREAM_ENTRIES, "after", QK_ID, 0, 0, 0,
	  offsetof(struct areq, after), 64 },
};

#define NQPARAMS	(sizeof(qparams) / sizeof(qparams[0]))

/* Checks and stores one query value. 0, or -1 after answering 400. */
static int
qparam_set(struct areq *r, const struct qparam *qp, const char *v)
{
	char *field = (char *)r + qp->off, *end, b[64];
	long n;

	switch (qp->kind) {
	case QK_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (v[0] >= '0' && v[0] <= '9' && *end == '\0' && errno == 0 &&
		    strlen(v) <= 10 && n >= qp->min && n <= qp->max) {
			*(long *)(void *)field = n;
			return 0;
		}
		areq_fail(r, 400, "query parameter '%s': '%s' is not an "
		    "integer from %ld to %ld", qp->name, q(b, sizeof(b), v),
		    qp->min, qp->max);
		return -1;
	case QK_WORKER:
		if (is_id(v))
			break;
		areq_fail(r, 400, "query parameter '%s': '%s' is not a worker "
		    "name", qp->name, q(b, sizeof(b), v));
		return -1;
	case QK_START:
		if (strcmp(v, "-") == 0 || is_stream_id(v))
			break;
		areq_fail(r, 400, "query parameter '%s': '%s' is not '-' nor a "
		    "stream entry id", qp->name, q(b, sizeof(b), v));
		return -1;
	case QK_ID:
		if (is_stream_id(v))
			break;
		areq_fail(r, 400, "query parameter '%s': '%s' is not a stream "
		    "entry id", qp->name, q(b, sizeof(b), v));
		return -1;
	}
	strlcpy(field, v, qp->len);
	return 0;
}

/* The defaults of r's query parameters. */
static void
query_defaults(struct areq *r)
{
	for (size_t i = 0; i < NQPARAMS; i++)
		if (qparams[i].route == r->route->id &&
		    qparams[i].kind == QK_INT)
			*(long *)(void *)((char *)r + qparams[i].off) =
			    qparams[i].def;
	strlcpy(r->start, "-", sizeof(r->start));
	r->after[0] = '\0';
	r->worker[0] = '\0';
	r->account[0] = '\0';
}

/* One key=value of the query. 0, or -1 after answering 400. */
static int
query_one(struct areq *r, const struct evkeyval *e, unsigned *seen)
{
	char b[64];

	for (size_t i = 0; i < NQPARAMS; i++) {
		if (qparams[i].route != r->route->id ||
		    strcmp(qparams[i].name, e->key) != 0)
			continue;
		if (*seen & (1U << i)) {
			areq_fail(r, 400, "query parameter '%s' is given twice",
			    e->key);
			return -1;
		}
		*seen |= 1U << i;
		return qparam_set(r, &qparams[i], e->value);
	}
	areq_fail(r, 400, "unknown query parameter '%s'",
	    q(b, sizeof(b), e->key));
	return -1;
}

/* Reads the query string strictly. 0, or -1 after answering 400. */
static int
areq_query(struct areq *r)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r->req);
	const char *qs = u != NULL ? evhttp_uri_get_query(u) : NULL;
	struct evkeyvalq kv;
	struct evkeyval *e;
	unsigned seen = 0;
	int rc = 0;

	query_defaults(r);
	if (qs == NULL || *qs == '\0')
		return 0;
	TAILQ_INIT(&kv);
	if (evhttp_parse_query_str(qs, &kv) == -1) {
		evhttp_clear_headers(&kv);
		areq_fail(r, 400, "malformed query string");
		return -1;
	}
	TAILQ_FOREACH(e, &kv, next)
		if ((rc = query_one(r, e, &seen)) == -1)
			break;
	evhttp_clear_headers(&kv);
	return rc;
}

/* Reads the body (reqbody_parse()). 0, or -1 after answering. */
static int
areq_body(struct areq *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	const char *ct, *data = NULL;
	char err[512];
	int code;

	ct = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Content-Type");
	if (len > 0 && r->route->has_body && len <= r->api->max_body &&
	    (data = (const char *)evbuffer_pullup(in, -1)) == NULL) {
		areq_fail(r, 500, "out of memory");
		return -1;
	}
	if (reqbody_parse(r->route, ct, data, len, r->api->max_body,
	    &r->body, &code, err, sizeof(err)) == -1) {
		areq_fail(r, code, "%s", err);
		return -1;
	}
	return 0;
}

/* The string field name of r's body, or NULL. Borrowed. */
static const char *
body_str(const struct areq *r, const char *name)
{
	return json_string_value(json_object_get(r->body, name));
}

/* ---- handlers: the daemon ---- */

static void
h_dashboard(struct areq *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	areq_send(r, 200, CT_HTML, dashboard_html, dashboard_html_len);
}

/* Up: "ok" with Redis, "degraded" without (no records, no queues). */
static void
h_healthz(struct areq *r)
{
	struct mvd_counts c;
	int redis = rds_connected(mvd_rds(r->api->d));

	mvd_counts(r->api->d, &c);
	areq_json(r, 200, json_pack("{s:s, s:s, s:I, s:I, s:b}", "status",
	    redis ? "ok" : "degraded", "version", MV_VERSION, "pid",
	    (json_int_t)getpid(), "uptime", uptime(&c), "redis", redis));
}

/* /metrics with the queue figures (NULL: left out). */
static void
metrics_answer(struct areq *r, const json_t *queues)
{
	struct metrics_gauges g;
	struct stats_counters sc;
	struct mvd_counts c;
	struct mv_buf b;

	mvd_counts(r->api->d, &c);
	stats_counters(mvd_stats(r->api->d), &sc);
	memset(&g, 0, sizeof(g));
	g.running = c.running;
	g.queued = c.queued;
	g.redis_connected = rds_connected(mvd_rds(r->api->d));
	g.buffered = sc.buffered;
	g.dropped = sc.dropped;
	g.written = sc.written;
	g.started_at = c.started_at;
	g.queues = queues;
	g.streams = r->api->streams;
	mv_buf_init(&b, 0);
	if (metrics_write(r->api->metrics, &g, &b) == -1) {
		mv_buf_free(&b);
		areq_fail(r, 500, "out of memory");
		return;
	}
	areq_send(r, 200, CT_METRICS, b.data, b.len);
	mv_buf_free(&b);
}

static void
metrics_queues_done(void *arg, json_t *result, int status,
    const char *message)
{
	(void)status;
	(void)message;
	metrics_answer(arg, result);
	json_decref(result);
}

static void streams_refresh(struct api *);

static void
h_metrics(struct areq *r)
{
	struct queue *qu = mvd_queue(r->api->d);

	streams_refresh(r->api);
	if (qu != NULL && rds_connected(mvd_rds(r->api->d)) &&
	    queue_tool_queues(qu, metrics_queues_done, r) == 0) {
		areq_wait(r);
		return;
	}
	metrics_answer(r, NULL);
}

static void
h_daemon(struct areq *r)
{
	struct mvd *d = r->api->d;
	struct queue *qu = mvd_queue(d);
	struct queue_counters qc;
	struct stats_counters sc;
	struct mvd_counts c;
	char iso[32];
	const char *addr = rds_address(mvd_rds(d));

	mvd_counts(d, &c);
	stats_counters(mvd_stats(d), &sc);
	memset(&qc, 0, sizeof(qc));
	if (qu != NULL)
		queue_counters(qu, &qc);
	if (mv_iso8601(c.started_at, iso, sizeof(iso)) == NULL)
		iso[0] = '\0';
	areq_json(r, 200, json_pack("{s:s, s:I, s:s, s:I, s:s, s:i, s:i, s:i, "
	    "s:i, s:{s:b, s:s}, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I}}", "version", MV_VERSION, "pid",
	    (json_int_t)getpid(), "consumer", consumer_name(r->api), "uptime",
	    uptime(&c), "started_at", iso,
	    "max_children", c.max_children, "running", c.running, "queued",
	    c.queued, "retrying", c.retrying, "redis", "connected",
	    rds_connected(mvd_rds(d)), "address", addr != NULL ? addr : "",
	    "records", "written", (json_int_t)sc.written, "buffered",
	    (json_int_t)sc.buffered, "dropped", (json_int_t)sc.dropped,
	    "invalid", (json_int_t)sc.invalid, "queue", "delivered",
	    (json_int_t)qc.delivered, "acked", (json_int_t)qc.acked, "retried",
	    (json_int_t)qc.retried, "dead", (json_int_t)qc.dead, "skipped",
	    (json_int_t)qc.skipped, "revoked", (json_int_t)qc.revoked,
	    "reclaimed", (json_int_t)qc.reclaimed));
}

/* ---- handlers: schedules ---- */

static void
h_sched_status(struct areq *r)
{
	struct mvd_counts c;
	json_t *jobs = mvd_schedules(r->api->d);

	mvd_counts(r->api->d, &c);
	areq_json(r, 200, json_pack("{s:o, s:i, s:i}", "jobs", jobs != NULL ?
	    jobs : json_array(), "running", c.running, "max_children",
	    c.max_children));
}

/* The schedule state of job as the daemon has it now. */
static void
sched_state(struct mvd *d, const char *job, int *paused, int *removed)
{
	json_t *all = mvd_schedules(d), *j;
	size_t i;

	*paused = *removed = 0;
	json_array_foreach(all, i, j) {
		const char *n = json_string_value(json_object_get(j, "name"));

		if (n == NULL || strcmp(n, job) != 0)
			continue;
		*paused = json_is_true(json_object_get(j, "paused"));
		*removed = json_is_true(json_object_get(j, "removed"));
	}
	json_decref(all);
}

static void
sched_set_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;
	const char *job = r->p[0];

	(void)rds;
	if (!reply_ok(r, reply) || r->seen < r->waiting)
		return;
	if (mvd_schedule_set(r->api->d, job, r->paused, r->removed) == -1) {
		areq_fail(r, 404, "no job '%s'", job);
		return;
	}
	if (r->route->id == R_SCHED_PAUSE)
		areq_json(r, 200, json_pack("{s:s, s:b}", "job", job,
		    "paused", 1));
	else if (r->route->id == R_SCHED_REMOVE)
		areq_json(r, 200, json_pack("{s:s, s:b}", "job", job,
		    "removed", 1));
	else
		areq_json(r, 200, json_pack("{s:s, s:b, s:b}", "job", job,
		    "paused", 0, "removed", 0));
}

/* POST .../pause, .../resume and DELETE .../{job}: the Redis sets first,
 * then the daemon's own state. */
static void
h_sched_set(struct areq *r)
{
	const char *job = r->p[0];
	char kp[KEY_MAX], kr[KEY_MAX], b[64];

	if (conf_job(mvd_conf(r->api->d), job) == NULL) {
		areq_fail(r, 404, "no job '%s'", q(b, sizeof(b), job));
		return;
	}
	if (need_redis(r) == -1)
		return;
	sched_state(r->api->d, job, &r->paused, &r->removed);
	key(r->api, kp, sizeof(kp), "mailvisor:schedule:paused");
	key(r->api, kr, sizeof(kr), "mailvisor:schedule:removed");
	switch (r->route->id) {
	case R_SCHED_PAUSE:
		r->paused = 1;
		areq_cmd(r, 3, (const char *[]){ "SADD", kp, job },
		    sched_set_done);
		break;
	case R_SCHED_REMOVE:
		r->removed = 1;
		areq_cmd(r, 3, (const char *[]){ "SADD", kr, job },
		    sched_set_done);
		break;
	default:
		r->paused = r->removed = 0;
		if (areq_cmd(r, 3, (const char *[]){ "SREM", kp, job },
		    sched_set_done) == 0)
			areq_cmd(r, 3, (const char *[]){ "SREM", kr, job },
			    sched_set_done);
		break;
	}
}

/* ---- handlers: triggers ---- */

/*
 * Triggers job for account (NULL: as the job says) with args (borrowed;
 * NULL: the defaults), full: without its cursor; answers 202 with the job
 * ids.
 */
/* Runs of job for account (NULL: each of its accounts) added to ids;
 * or for the accounts of provider p only (p >= 0: the job runs for any
 * provider and for each account). 0, or -1 after answering (404 for an
 * account or job not configured, 400 for arguments it refuses). */
static int
trigger_into(struct areq *r, const char *job, const char *account, int p,
    json_t *args, int full, json_t *ids)
{
	const struct conf *c = mvd_conf(r->api->d);
	char err[256], b[64];

	if (account != NULL && conf_account(c, account) == NULL) {
		areq_fail(r, 404, "no account '%s'", q(b, sizeof(b), account));
		return -1;
	}
	for (size_t i = 0; i < (p >= 0 ? c->naccounts : 1); i++) {
		if (p >= 0 && c->accounts[i].provider != p)
			continue;
		if (mvd_trigger_full(r->api->d, job, p >= 0 ?
		    c->accounts[i].name : account, args, full, ids, err,
		    sizeof(err)) == -1) {
			areq_fail(r, errno == ENOENT ? 404 : errno == EINVAL ?
			    400 : 500, "%s", err);
			return -1;
		}
	}
	return 0;
}

static void
trigger(struct areq *r, const char *job, const char *account, json_t *args,
    int full)
{
	json_t *ids = json_array();

	if (ids == NULL) {
		areq_fail(r, 500, "out of memory");
		return;
	}
	if (trigger_into(r, job, account, -1, args, full, ids) == -1) {
		json_decref(ids);
		return;
	}
	log_info("http: job %s: triggered (%zu runs)", job,
	    json_array_size(ids));
	areq_json(r, 202, json_pack("{s:s, s:o}", "job", job, "job_ids", ids));
}

/* 1 when job j declares the argument name. */
static int
job_declares(const struct job_conf *j, const char *name)
{
	for (size_t k = 0; k < j->args.n; k++)
		if (strcmp(j->args.v[k].name, name) == 0)
			return 1;
	return 0;
}

/* 400 naming the arguments j declares: name is not one of them. */
static void
undeclared(struct areq *r, const struct job_conf *j, const char *name)
{
	struct mv_buf b;

	mv_buf_init(&b, 0);
	for (size_t k = 0; k < j->args.n; k++)
		mv_buf_printf(&b, "%s%s", k > 0 ? ", " : "", j->args.v[k].name);
	areq_fail(r, 400, "field '%s': job %s has no argument %s (its "
	    "arguments: %s)", name, j->name, name, b.len > 0 ? b.data :
	    "none");
	mv_buf_free(&b);
}

/* The jobs of sync_job, in *v: their number, or -1 after answering 404
 * for a name that is not a job of the configuration. */
static int
sync_jobs(struct areq *r, const struct job_conf **v)
{
	const struct api *a = r->api;

	for (int i = 0; i < a->nsync; i++)
		if ((v[i] = conf_job(mvd_conf(a->d), a->sync_jobs[i])) ==
		    NULL) {
			areq_fail(r, 404, "sync_job '%s' is not configured",
			    a->sync_jobs[i]);
			return -1;
		}
	return a->nsync;
}

/* Of the n jobs v, the one for provider p: the one that runs for p,
 * else one that runs for any. NULL when none. */
static const struct job_conf *
sync_job_for(const struct job_conf *const *v, int n, int p)
{
	const struct job_conf *any = NULL;

	for (int i = 0; i < n; i++) {
		if (v[i]->provider == p)
			return v[i];
		if (v[i]->provider == CONF_PROVIDER_ANY && any == NULL)
			any = v[i];
	}
	return any;
}

/* The provider a sync trigger is for: its provider field, else its
 * account's; -1 when neither; -2 after answering 400 (or 404 for an
 * account not configured). */
static int
sync_provider(struct areq *r, const char *account)
{
	const char *prov = body_str(r, "provider");
	const struct account_conf *a = NULL;
	char b[64];
	int p = -1;

	if (account != NULL && (a = conf_account(mvd_conf(r->api->d),
	    account)) == NULL) {
		areq_fail(r, 404, "no account '%s'", q(b, sizeof(b), account));
		return -2;
	}
	if (prov != NULL && (p = conf_provider_parse(prov)) == -1) {
		areq_fail(r, 400, "field 'provider' must be one of gmail, "
		    "imap, pop3");
		return -2;
	}
	if (a != NULL && p >= 0 && a->provider != p) {
		areq_fail(r, 400, "account '%s' is %s, not %s", a->name,
		    conf_provider_name(a->provider), prov);
		return -2;
	}
	return p >= 0 ? p : a != NULL ? a->provider : -1;
}

/* The arguments of sync job j from the request, in *args (new), and
 * *full: see h_sync_trigger(). 0, or -1 after answering. */
static int
sync_args(struct areq *r, const struct job_conf *j, json_t **args, int *full)
{
	static const char *const passed[] = { "provider", "full_sync",
	    "lookback_days" };
	json_t *fs = json_object_get(r->body, "full_sync");

	*args = NULL;
	*full = 0;
	if (fs != NULL && j->cursor) {
		if (!json_is_boolean(fs)) {
			areq_fail(r, 400, "field 'full_sync' must be true or "
			    "false");
			return -1;
		}
		*full = json_is_true(fs);
	}
	if ((*args = json_object()) == NULL) {
		areq_fail(r, 500, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		json_t *v = json_object_get(r->body, passed[i]);

		if (v == NULL || (i == 0 && !job_declares(j, passed[i])) ||
		    (i == 1 && j->cursor && !job_declares(j, passed[i])))
			continue;
		if (!job_declares(j, passed[i])) {
			json_decref(*args);
			*args = NULL;
			undeclared(r, j, passed[i]);
			return -1;
		}
		json_object_set(*args, passed[i], v);
	}
	return 0;
}

/*
 * The sync trigger runs the jobs of sync_job (one per provider at most):
 * for an account, or a provider, that provider's job (else one that runs
 * for any: for the accounts of that provider only); for neither, each.
 * The sync fields go to a job as its arguments; full_sync or
 * lookback_days that it does not declare is refused (400), not dropped,
 * except full_sync for a job that keeps a cursor: true runs it once
 * without the cursor (and goes as an argument too when declared).
 * provider goes as an argument when declared. Answers {"job","job_ids"}
 * (several jobs: "job" their names, and "jobs" each with its ids).
 */
static void
h_sync_trigger(struct areq *r)
{
	const struct job_conf *v[CONF_SYNC_JOBS], *one;
	const char *account = body_str(r, "account");
	json_t *args[CONF_SYNC_JOBS] = { NULL }, *ids = NULL, *jobs = NULL;
	json_t *mine;
	struct mv_buf names;
	int n, p, full[CONF_SYNC_JOBS], i;

	if ((n = sync_jobs(r, v)) == -1 || (p = sync_provider(r, account)) ==
	    -2)
		return;
	if (p >= 0) {
		if ((one = sync_job_for(v, n, p)) == NULL && n == 1) {
			areq_fail(r, 400, "sync_job '%s' runs for %s accounts, "
			    "not %s", v[0]->name, conf_provider_name(
			    v[0]->provider), conf_provider_name(p));
			return;
		}
		if (one == NULL) {
			areq_fail(r, 400, "no job of sync_job '%s' runs for %s "
			    "accounts", r->api->sync_job,
			    conf_provider_name(p));
			return;
		}
		v[0] = one;
		n = 1;
	}
	mv_buf_init(&names, 0);
	/* Every job's arguments checked before any runs. */
	for (i = 0; i < n; i++)
		if (sync_args(r, v[i], &args[i], &full[i]) == -1)
			goto fail;
	if ((ids = json_array()) == NULL || (n > 1 &&
	    (jobs = json_array()) == NULL)) {
		areq_fail(r, 500, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		mine = n > 1 ? json_array() : json_incref(ids);
		if (mine == NULL || trigger_into(r, v[i]->name, account, account ==
		    NULL && p >= 0 && v[i]->provider == CONF_PROVIDER_ANY &&
		    v[i]->for_each_account ? p : -1, args[i], full[i],
		    mine) == -1) {
			if (mine == NULL)
				areq_fail(r, 500, "out of memory");
			json_decref(mine);
			goto fail;
		}
		log_info("http: job %s: sync triggered (%zu runs)", v[i]->name,
		    json_array_size(mine));
		mv_buf_printf(&names, "%s%s", i > 0 ? " " : "", v[i]->name);
		if (n > 1) {
			json_array_extend(ids, mine);
			json_array_append_new(jobs, json_pack("{s:s, s:o}",
			    "job", v[i]->name, "job_ids", mine));
		} else
			json_decref(mine);
	}
	if (names.data == NULL) {
		areq_fail(r, 500, "out of memory");
		goto fail;
	}
	areq_json(r, 202, n > 1 ? json_pack("{s:s, s:O, s:O}", "job",
	    names.data, "job_ids", ids, "jobs", jobs) : json_pack("{s:s, s:O}",
	    "job", names.data, "job_ids", ids));
fail:
	for (i = 0; i < n; i++)
		json_decref(args[i]);
	json_decref(ids);
	json_decref(jobs);
	mv_buf_free(&names);
}

/*
 * The seeds' AI trigger: with thread_id, ai_thread_job for that thread of
 * account (required: a thread id means something in one mailbox only);
 * without, ai_bulk_job, for account or as the job says. thread_id, limit
 * and tasks go as the job's arguments; one it does not declare is
 * refused (400), not dropped.
 */
static void
h_ai_trigger(struct areq *r)
{
	static const char *const passed[] = { "thread_id", "limit", "tasks" };
	const char *thread = body_str(r, "thread_id");
	const char *account = body_str(r, "account");
	const char *name = thread != NULL ? r->api->ai_thread_job :
	    r->api->ai_bulk_job;
	const struct job_conf *j = conf_job(mvd_conf(r->api->d), name);
	json_t *args;

	if (thread != NULL && account == NULL) {
		areq_fail(r, 400, "field 'account' is required with "
		    "'thread_id'");
		return;
	}
	if (j == NULL) {
		areq_fail(r, 404, "%s '%s' is not configured", thread != NULL ?
		    "ai_thread_job" : "ai_bulk_job", name);
		return;
	}
	if ((args = json_object()) == NULL) {
		areq_fail(r, 500, "out of memory");
		return;
	}
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		json_t *v = json_object_get(r->body, passed[i]);

		if (v == NULL)
			continue;
		if (!job_declares(j, passed[i])) {
			json_decref(args);
			undeclared(r, j, passed[i]);
			return;
		}
		json_object_set(args, passed[i], v);
	}
	trigger(r, name, account, args, 0);
	json_decref(args);
}

static void
h_job_trigger(struct areq *r)
{
	char b[64];

	if (conf_job(mvd_conf(r->api->d), r->p[0]) == NULL) {
		areq_fail(r, 404, "no job '%s'", q(b, sizeof(b), r->p[0]));
		return;
	}
	trigger(r, r->p[0], body_str(r, "account"), json_object_get(r->body,
	    "args"), 0);
}

/* ---- handlers: cursors ---- */

/* The answer to MGET or DEL of the cursors of the accounts in r->names. */
static void
cursor_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;
	json_t *cur = json_object();
	size_t i;
	json_t *n;

	(void)rds;
	if (!reply_ok(r, reply)) {
		json_decref(cur);
		return;
	}
	json_array_foreach(r->names, i, n) {
		const redisReply *e = reply->type == REDIS_REPLY_ARRAY &&
		    i < reply->elements ? reply->element[i] : NULL;

		json_object_set_new(cur, json_string_value(n), e != NULL &&
		    e->type == REDIS_REPLY_STRING ? mv_json_strn(e->str,
		    e->len) : json_null());
	}
	if (r->route->id == R_CURSOR_SHOW)
		areq_json(r, 200, json_pack("{s:s, s:o}", "job", r->p[0],
		    "cursors", cur));
	else {
		json_decref(cur);
		log_info("http: job %s: %zu cursors reset", r->p[0],
		    json_array_size(r->names));
		areq_json(r, 200, json_pack("{s:s, s:O, s:I}", "job", r->p[0],
		    "reset", r->names, "deleted", (json_int_t)(reply->type ==
		    REDIS_REPLY_INTEGER ? reply->integer : 0)));
	}
}

/* Sends MGET or DEL of job j's cursors: of every account of its provider,
 * or of r->account; their names in r->names. Answers at once when there is
 * none. */
static void
cursor_cmd(struct areq *r, const struct conf *c, const struct job_conf *j)
{
	const char **argv = calloc(c->naccounts + 1, sizeof(*argv));
	char (*keys)[512] = calloc(c->naccounts + 1, sizeof(*keys));
	size_t n = 0;

	if (argv == NULL || keys == NULL ||
	    (r->names = json_array()) == NULL) {
		areq_fail(r, 500, "out of memory");
		goto done;
	}
	argv[0] = r->route->id == R_CURSOR_SHOW ? "MGET" : "DEL";
	for (size_t i = 0; i < c->naccounts; i++) {
		const char *a = c->accounts[i].name;

		if ((r->account[0] != '\0' && strcmp(a, r->account) != 0) ||
		    !conf_job_serves(j, &c->accounts[i]))
			continue;
		n++;
		argv[n] = key(r->api, keys[n], sizeof(keys[n]),
		    "mailvisor:cursor:%s:%s", j->name, a);
		json_array_append_new(r->names, json_string(a));
	}
	if (n == 0 && r->route->id == R_CURSOR_SHOW)
		areq_json(r, 200, json_pack("{s:s, s:{}}", "job", j->name,
		    "cursors"));
	else if (n == 0)
		areq_json(r, 200, json_pack("{s:s, s:[], s:i}", "job", j->name,
		    "reset", "deleted", 0));
	else
		areq_cmd(r, (int)n + 1, argv, cursor_done);
done:
	free(keys);
	free(argv);
}

/* GET and DELETE /api/v1/cursors/{job}[?account=A]: the cursors of the
 * job's accounts (all, or A), read or deleted (the next run of each is a
 * full sync). */
static void
h_cursor(struct areq *r)
{
	const struct conf *c = mvd_conf(r->api->d);
	const struct job_conf *j = conf_job(c, r->p[0]);
	char b[64];

	if (j == NULL || !j->cursor) {
		areq_fail(r, j == NULL ? 404 : 400, j == NULL ? "no job '%s'" :
		    "job '%s' keeps no cursor", q(b, sizeof(b), r->p[0]));
		return;
	}
	if (r->account[0] != '\0' && conf_account(c, r->account) == NULL) {
		areq_fail(r, 404, "no account '%s'", q(b, sizeof(b),
		    r->account));
		return;
	}
	if (need_redis(r) == -1)
		return;
	cursor_cmd(r, c, j);
}

/* ---- handlers: monitor ---- */

/* One worker's stats from its HGETALL reply, as a new object. */
static json_t *
stats_object(const redisReply *h)
{
	json_int_t total = 0, ok = 0, failed = 0;
	double td = 0, avg = 0;
	json_t *last = NULL, *status = NULL, *v;

	for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements;
	    i += 2) {
		const redisReply *k = h->element[i], *e = h->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || e->type !=
		    REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "total_executions") == 0)
			total = strtoll(e->str, NULL, 10);
		else if (strcmp(k->str, "successful_executions") == 0)
			ok = strtoll(e->str, NULL, 10);
		else if (strcmp(k->str, "failed_executions") == 0)
			failed = strtoll(e->str, NULL, 10);
		else if (strcmp(k->str, "total_duration") == 0)
			td = strtod(e->str, NULL);
		else if (strcmp(k->str, "average_duration") == 0)
			avg = strtod(e->str, NULL);
		else if (strcmp(k->str, "last_execution") == 0 && last == NULL)
			last = mv_json_strn(e->str, e->len);
		else if (strcmp(k->str, "last_status") == 0 && status == NULL)
			status = mv_json_strn(e->str, e->len);
	}
	v = json_pack("{s:I, s:I, s:I, s:f, s:f, s:o, s:o}",
	    "total_executions", total, "successful_executions", ok,
	    "failed_executions", failed, "total_duration", td,
	    "average_duration", avg, "last_execution", last != NULL ? last :
	    json_null(), "last_status", status != NULL ? status : json_null());
	return v;
}

static void
stats_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;
	const char *name;
	char b[64];

	(void)rds;
	if (!reply_ok(r, reply))
		return;
	name = json_string_value(json_array_get(r->names, (size_t)r->seen - 1));
	if (r->worker[0] != '\0' && !r->known && reply->type ==
	    REDIS_REPLY_ARRAY && reply->elements == 0) {
		areq_cancel(r);
		areq_fail(r, 404, "no worker '%s'", q(b, sizeof(b), r->worker));
		return;
	}
	if (name != NULL)
		json_object_set_new(r->acc, name, stats_object(reply));
	if (r->seen < r->waiting)
		return;
	areq_json(r, 200, json_pack("{s:O}", "workers", r->acc));
}

/* The names a monitor route works on: worker_name, or every job. r->known
 * says whether worker_name is a job. New array, or NULL. */
static json_t *
monitor_names(struct areq *r)
{
	const struct conf *c = mvd_conf(r->api->d);
	json_t *names = json_array();

	if (names == NULL)
		return NULL;
	if (r->worker[0] != '\0') {
		r->known = conf_job(c, r->worker) != NULL;
		json_array_append_new(names, json_string(r->worker));
		return names;
	}
	for (size_t i = 0; i < c->njobs; i++)
		json_array_append_new(names, json_string(c->jobs[i].name));
	return names;
}

static void
h_monitor_stats(struct areq *r)
{
	char k[KEY_MAX];
	size_t i;
	json_t *n;

	if (need_redis(r) == -1)
		return;
	if ((r->names = monitor_names(r)) == NULL ||
	    (r->acc = json_object()) == NULL) {
		areq_fail(r, 500, "out of memory");
		return;
	}
	if (json_array_size(r->names) == 0) {
		areq_json(r, 200, json_pack("{s:{}}", "workers"));
		return;
	}
	json_array_foreach(r->names, i, n) {
		key(r->api, k, sizeof(k), "worker:stats:%s",
		    json_string_value(n));
		if (areq_cmd(r, 2, (const char *[]){ "HGETALL", k },
		    stats_done) == -1)
			return;
	}
}

static void
clear_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;
	char b[64];

	(void)rds;
	if (!reply_ok(r, reply))
		return;
	if (r->worker[0] != '\0' && !r->known && reply->type ==
	    REDIS_REPLY_INTEGER && reply->integer == 0) {
		areq_fail(r, 404, "no worker '%s'", q(b, sizeof(b), r->worker));
		return;
	}
	log_info("http: monitor stats cleared (%zu workers)",
	    json_array_size(r->names));
	areq_json(r, 200, json_pack("{s:O}", "cleared", r->names));
}

/* DELETE of the stats and history keys (and, for every job, the failures
 * set) in one command. */
static void
h_monitor_clear(struct areq *r)
{
	char (*keys)[KEY_MAX];
	const char **argv;
	size_t i, n, argc = 1;
	json_t *e;

	if (need_redis(r) == -1)
		return;
	if ((r->names = monitor_names(r)) == NULL) {
		areq_fail(r, 500, "out of memory");
		return;
	}
	n = json_array_size(r->names);
	argv = calloc(2 * n + 2, sizeof(*argv));
	keys = calloc(2 * n + 1, sizeof(*keys));
	if (argv == NULL || keys == NULL) {
		free(argv);
		free(keys);
		areq_fail(r, 500, "out of memory");
		return;
	}
	argv[0] = "DEL";
	json_array_foreach(r->names, i, e) {
		argv[argc] = key(r->api, keys[argc - 1], KEY_MAX,
		    "worker:stats:%s", json_string_value(e));
		argc++;
		argv[argc] = key(r->api, keys[argc - 1], KEY_MAX,
		    "worker:history:%s", json_string_value(e));
		argc++;
	}
	if (r->worker[0] == '\0') {
		argv[argc] = key(r->api, keys[argc - 1], KEY_MAX,
		    "worker:failures");
		argc++;
	}
	areq_cmd(r, (int)argc, argv, clear_done);
	free(keys);
	free(argv);
}

static void
history_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;
	char b[64];

	(void)rds;
	if (!reply_ok(r, reply))
		return;
	if (!r->known && (reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements == 0)) {
		areq_fail(r, 404, "no worker '%s'", q(b, sizeof(b), r->p[0]));
		return;
	}
	areq_json(r, 200, json_pack("{s:o, s:o}", "worker",
	    mv_json_str(r->p[0]), "history", reply_records(reply)));
}

static void
h_monitor_history(struct areq *r)
{
	char k[KEY_MAX], stop[32];

	if (need_redis(r) == -1)
		return;
	r->known = conf_job(mvd_conf(r->api->d), r->p[0]) != NULL;
	key(r->api, k, sizeof(k), "worker:history:%s", r->p[0]);
	snprintf(stop, sizeof(stop), "%ld", r->limit - 1);
	areq_cmd(r, 4, (const char *[]){ "LRANGE", k, "0", stop },
	    history_done);
}

static void
failures_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;

	(void)rds;
	if (!reply_ok(r, reply))
		return;
	areq_json(r, 200, json_pack("{s:o}", "failures",
	    reply_records(reply)));
}

static void
h_monitor_failures(struct areq *r)
{
	char k[KEY_MAX], min[32], count[32];

	if (need_redis(r) == -1)
		return;
	key(r->api, k, sizeof(k), "worker:failures");
	snprintf(min, sizeof(min), "%lld", (long long)time(NULL) -
	    (long long)r->hours * 3600);
	snprintf(count, sizeof(count), "%ld", r->limit);
	areq_cmd(r, 7, (const char *[]){ "ZREVRANGEBYSCORE", k, "+inf", min,
	    "LIMIT", "0", count }, failures_done);
}

/* ---- handlers: jobs ---- */

static void
h_jobs_active(struct areq *r)
{
	json_t *jobs = mvd_active(r->api->d);

	areq_json(r, 200, json_pack("{s:o, s:s}", "jobs", jobs != NULL ? jobs :
	    json_array(), "consumer", consumer_name(r->api)));
}

static void
job_get_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;
	json_t *rec;
	char b[64];

	(void)rds;
	if (!reply_ok(r, reply))
		return;
	for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY &&
	    i < reply->elements; i++) {
		if ((rec = reply_json(reply->element[i])) == NULL)
			continue;
		areq_json(r, 200, json_pack("{s:s, s:s, s:o}", "job_id",
		    r->p[0], "state", "done", "record", rec));
		return;
	}
	areq_fail(r, 404, "no job id '%s'", q(b, sizeof(b), r->p[0]));
}

/* Running here: its active fields; else its record, by one MGET of its
 * metrics key under every job. */
static void
h_job_get(struct areq *r)
{
	const struct conf *c = mvd_conf(r->api->d);
	const char **argv;
	json_t *act, *v;
	char (*keys)[KEY_MAX], b[64];

	if (!is_id(r->p[0])) {
		areq_fail(r, 400, "'%s' is not a job id", q(b, sizeof(b),
		    r->p[0]));
		return;
	}
	if ((act = mvd_active_find(r->api->d, r->p[0])) != NULL) {
		v = json_pack("{s:s, s:s}", "job_id", r->p[0], "state",
		    "running");
		if (v != NULL)
			json_object_update_missing(v, act);
		json_decref(act);
		areq_json(r, 200, v);
		return;
	}
	if (c->njobs == 0) {
		areq_fail(r, 404, "no job id '%s'", q(b, sizeof(b), r->p[0]));
		return;
	}
	if (need_redis(r) == -1)
		return;
	argv = calloc(c->njobs + 1, sizeof(*argv));
	keys = calloc(c->njobs, sizeof(*keys));
	if (argv == NULL || keys == NULL) {
		areq_fail(r, 500, "out of memory");
	} else {
		argv[0] = "MGET";
		for (size_t i = 0; i < c->njobs; i++)
			argv[i + 1] = key(r->api, keys[i], KEY_MAX,
			    "worker:metrics:%s:%s", c->jobs[i].name, r->p[0]);
		areq_cmd(r, (int)c->njobs + 1, argv, job_get_done);
	}
	free(argv);
	free(keys);
}

/* What a revoke did: the run was killed here, the queued entry will be
 * skipped, or the id was marked for the daemon that runs it. */
enum revoke_outcome {
	RV_KILLED,
	RV_SKIPPED,
	RV_MARKED,
};

#define RV_RECORD	1	/* r->known: the id has a record */
#define RV_QUEUED	2	/* r->known: the id is a queue's entry */

static void
revoke_answer(struct areq *r, enum revoke_outcome o)
{
	static const char *const words[] = { "killed", "skipped", "marked" };

	log_info("http: job id %s: revoked (%s)", r->p[0], words[o]);
	areq_json(r, 202, json_pack("{s:s, s:b, s:s}", "job_id", r->p[0],
	    "running_here", o == RV_KILLED, "outcome", words[o]));
}

static void
revoke_marked(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;

	(void)rds;
	if (reply_ok(r, reply))
		revoke_answer(r, r->known & RV_QUEUED ? RV_SKIPPED : RV_MARKED);
}

/* Marks r's id in mailvisor:revoked, then answers. */
static void
revoke_mark(struct areq *r)
{
	char k[KEY_MAX];

	key(r->api, k, sizeof(k), "mailvisor:revoked");
	r->stage = 1;
	areq_cmd(r, 3, (const char *[]){ "SADD", k, r->p[0] }, revoke_marked);
}

/*
 * Once every answer is in: an entry still queued is marked (it will be
 * skipped); an id with a record only has finished (409); a UUID without
 * a record may be running on another daemon (marked); anything else is
 * unknown (409).
 */
static void
revoke_decide(struct areq *r)
{
	char b[64];

	if (r->known & RV_QUEUED)
		revoke_mark(r);
	else if (r->known & RV_RECORD)
		areq_fail(r, 409, "job id '%s' has finished: nothing to revoke",
		    q(b, sizeof(b), r->p[0]));
	else if (is_uuid(r->p[0]))
		revoke_mark(r);
	else
		areq_fail(r, 409, "job id '%s' is neither running nor known",
		    q(b, sizeof(b), r->p[0]));
}

/* The EXISTS of the records (an integer) or the XRANGE of a queue (an
 * array); once all are in, the decision. */
static void
revoke_checked(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;

	(void)rds;
	if (!reply_ok(r, reply))
		return;
	if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
		r->known |= RV_RECORD;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
		r->known |= RV_QUEUED;
	if (r->seen == r->waiting)
		revoke_decide(r);
}

/* Is the id known: a record under some job (EXISTS), or an entry of a
 * served queue or of a consumed stream (XRANGE)? */
static void
revoke_check(struct areq *r)
{
	const struct conf *c = mvd_conf(r->api->d);
	json_t *qs = NULL, *e;
	const char **argv;
	char (*keys)[KEY_MAX], k[KEY_MAX];
	size_t i;
	int rc = 0;

	argv = calloc(c->njobs + 1, sizeof(*argv));
	keys = calloc(c->njobs + 1, sizeof(*keys));
	if (argv == NULL || keys == NULL ||
	    (is_stream_id(r->p[0]) && (qs = served_queues(c)) == NULL)) {
		free(argv);
		free(keys);
		areq_fail(r, 500, "out of memory");
		return;
	}
	argv[0] = "EXISTS";
	for (i = 0; i < c->njobs; i++)
		argv[i + 1] = key(r->api, keys[i], KEY_MAX,
		    "worker:metrics:%s:%s", c->jobs[i].name, r->p[0]);
	if (c->njobs > 0)
		rc = areq_cmd(r, (int)c->njobs + 1, argv, revoke_checked);
	json_array_foreach(qs, i, e) {
		if (rc == -1)
			break;
		key(r->api, k, sizeof(k), "mailvisor:queue:%s",
		    json_string_value(e));
		rc = areq_cmd(r, 6, (const char *[]){ "XRANGE", k, r->p[0],
		    r->p[0], "COUNT", "1" }, revoke_checked);
	}
	/* An entry of a stream a job consumes: revoked before it runs there
	 * (or killed where it runs). */
	for (i = 0; qs != NULL && rc == 0 && i < c->njobs; i++) {
		if (c->jobs[i].consume == NULL)
			continue;
		key(r->api, k, sizeof(k), "mailvisor:stream:%s",
		    c->jobs[i].consume);
		rc = areq_cmd(r, 6, (const char *[]){ "XRANGE", k, r->p[0],
		    r->p[0], "COUNT", "1" }, revoke_checked);
	}
	if (rc == 0 && r->waiting == 0)
		revoke_decide(r);
	json_decref(qs);
	free(argv);
	free(keys);
}

/*
 * Kills the run when it runs here; marks the id revoked in Redis for the
 * other daemons and the queues. An id that runs nowhere here must be
 * a queue's entry (skipped when its turn comes) or a UUID without a
 * record (as scheduled runs have, which may run on another daemon); an
 * id with a record has finished, and any other is unknown: 409.
 */
static void
h_job_revoke(struct areq *r)
{
	struct rds *rds = mvd_rds(r->api->d);
	char k[KEY_MAX], b[64];

	if (!is_id(r->p[0])) {
		areq_fail(r, 400, "'%s' is not a job id", q(b, sizeof(b),
		    r->p[0]));
		return;
	}
	if (mvd_revoke(r->api->d, r->p[0]) == 1) {
		key(r->api, k, sizeof(k), "mailvisor:revoked");
		if (rds_connected(rds))
			(void)rds_command(rds, 3, (const char *[]){ "SADD", k,
			    r->p[0] }, NULL, NULL, NULL);
		revoke_answer(r, RV_KILLED);
		return;
	}
	if (need_redis(r) == -1)
		return;
	revoke_check(r);
}

/* ---- handlers: queues ---- */

/* A queue tool's answer. */
static void
tool_done(void *arg, json_t *result, int status, const char *message)
{
	struct areq *r = arg;

	if (result != NULL) {
		if (r->route->id != R_QUEUES && r->route->id != R_DLQ_PEEK)
			log_info("http: %s %s: done", r->method, r->path);
		areq_json(r, r->okcode, result);
		return;
	}
	areq_fail(r, status >= 400 && status <= 599 ? status : 500, "%s",
	    message != NULL ? message : "the queue tool failed");
}

/* After a queue tool was called: waits, or answers its failure. */
static void
tool_started(struct areq *r, int rc, int okcode)
{
	char b[64];

	if (rc == 0) {
		r->okcode = okcode;
		areq_wait(r);
		return;
	}
	switch (errno) {
	case ENOTCONN:
		areq_fail(r, 503, "Redis is not connected");
		break;
	case ENOENT:
		areq_fail(r, 404, "no queue '%s'", q(b, sizeof(b), r->p[0]));
		break;
	case EINVAL:
		areq_fail(r, 400, "invalid argument");
		break;
	default:
		areq_fail(r, 500, "%s", strerror(errno));
		break;
	}
}

/* The queue module, or NULL after answering 503. */
static struct queue *
need_queue(struct areq *r)
{
	struct queue *qu = mvd_queue(r->api->d);

	if (qu == NULL)
		areq_fail(r, 503, "the queues are not running");
	return qu;
}

static void
h_queues(struct areq *r)
{
	struct queue *qu;

	if ((qu = need_queue(r)) != NULL)
		tool_started(r, queue_tool_queues(qu, tool_done, r), 200);
}

/* The enqueue body against this daemon's configuration: 404 for a queue
 * it does not serve, 400 for a job, account or args it would refuse.
 * 0, or -1 after answering. */
static int
enqueue_check(struct areq *r)
{
	const struct conf *c = mvd_conf(r->api->d);
	const char *job = body_str(r, "job"), *idem;
	const struct account_conf *acct;
	const struct job_conf *j;
	char err[256], b[64], b2[64], **argv;
	json_t *qs = served_queues(c);
	int served = qs != NULL && has_string(qs, r->p[0]);

	json_decref(qs);
	if (!served) {
		areq_fail(r, 404, "no queue '%s'", q(b, sizeof(b), r->p[0]));
		return -1;
	}
	if ((j = conf_job(c, job)) == NULL) {
		areq_fail(r, 400, "no job '%s' in this daemon's configuration",
		    q(b, sizeof(b), job));
		return -1;
	}
	if ((acct = conf_account_by_ids(c, body_str(r, "tenant_id"),
	    body_str(r, "user_id"))) == NULL) {
		areq_fail(r, 400, "no account has tenant_id '%s' and user_id "
		    "'%s'", q(b, sizeof(b), body_str(r, "tenant_id")),
		    q(b2, sizeof(b2), body_str(r, "user_id")));
		return -1;
	}
	if (!conf_job_serves(j, acct)) {
		areq_fail(r, 400, "job '%s' runs for %s accounts; account '%s' "
		    "is %s", j->name, conf_provider_name(j->provider),
		    acct->name, conf_provider_name(acct->provider));
		return -1;
	}
	if ((argv = conf_render_argv(j, acct, json_object_get(r->body, "args"),
	    err, sizeof(err))) == NULL) {
		areq_fail(r, 400, "%s", err);
		return -1;
	}
	conf_argv_free(argv);
	idem = body_str(r, "idempotency_key");
	for (size_t i = 0; idem != NULL && idem[i] != '\0'; i++)
		if ((unsigned char)idem[i] < 0x20 || (unsigned char)idem[i] >
		    0x7e || i >= IDEM_MAX) {
			areq_fail(r, 400, "field 'idempotency_key' must be 1 "
			    "to %d printable ASCII characters", IDEM_MAX);
			return -1;
		}
	return 0;
}

static void
h_queue_enqueue(struct areq *r)
{
	struct queue *qu;
	json_t *args;

	if (enqueue_check(r) == -1 || (qu = need_queue(r)) == NULL ||
	    need_redis(r) == -1)
		return;
	args = json_object_get(r->body, "args");
	if (args == NULL && (args = json_object()) != NULL)
		json_object_set_new(r->body, "args", args);
	tool_started(r, queue_tool_enqueue(qu, r->p[0], body_str(r, "job"),
	    body_str(r, "tenant_id"), body_str(r, "user_id"), args,
	    body_str(r, "idempotency_key"), tool_done, r), 202);
}

static void
h_queue_purge(struct areq *r)
{
	struct queue *qu;

	if ((qu = need_queue(r)) != NULL)
		tool_started(r, queue_tool_purge(qu, r->p[0], tool_done, r),
		    200);
}

static void
h_dlq_peek(struct areq *r)
{
	struct queue *qu;

	if ((qu = need_queue(r)) != NULL)
		tool_started(r, queue_tool_dlq_peek(qu, strcmp(r->start, "-") ==
		    0 ? NULL : r->start, (int)r->count, tool_done, r), 200);
}

static void
h_dlq_reprocess(struct areq *r)
{
	const char *id = body_str(r, "id");
	json_t *all = json_object_get(r->body, "all");
	struct queue *qu;
	char b[64];

	if ((id != NULL) == (all != NULL) || (all != NULL &&
	    !json_is_true(all))) {
		areq_fail(r, 400, "give either \"id\" or \"all\": true");
		return;
	}
	if (id != NULL && !is_stream_id(id)) {
		areq_fail(r, 400, "field 'id': '%s' is not a stream entry id",
		    q(b, sizeof(b), id));
		return;
	}
	if ((qu = need_queue(r)) != NULL)
		tool_started(r, queue_tool_dlq_reprocess(qu, id, tool_done, r),
		    200);
}

static void
h_dlq_purge(struct areq *r)
{
	struct queue *qu;

	if ((qu = need_queue(r)) != NULL)
		tool_started(r, queue_tool_dlq_purge(qu, tool_done, r), 200);
}

/* ---- handlers: streams ---- */

/* The streams the configuration names: its [stream:NAME] sections, then
 * those jobs emit into or consume, each once. New array, or NULL. */
static json_t *
stream_names(const struct conf *c)
{
	json_t *names = json_array();

	if (names == NULL)
		return NULL;
	for (size_t i = 0; i < c->nstreams; i++)
		json_array_append_new(names, json_string(c->streams[i].name));
	for (size_t i = 0; i < c->njobs; i++)
		if (c->jobs[i].emit != NULL &&
		    !has_string(names, c->jobs[i].emit))
			json_array_append_new(names,
			    json_string(c->jobs[i].emit));
	for (size_t i = 0; i < c->njobs; i++)
		if (c->jobs[i].consume != NULL &&
		    !has_string(names, c->jobs[i].consume))
			json_array_append_new(names,
			    json_string(c->jobs[i].consume));
	return names;
}

/* The field name of a flat key/value array reply (XINFO), or NULL.
 * Borrowed from reply. */
static const redisReply *
reply_field(const redisReply *flat, const char *name)
{
	for (size_t i = 0; flat->type == REDIS_REPLY_ARRAY &&
	    i + 1 < flat->elements; i += 2)
		if (flat->element[i]->type == REDIS_REPLY_STATUS ||
		    flat->element[i]->type == REDIS_REPLY_STRING)
			if (strcmp(flat->element[i]->str, name) == 0)
				return flat->element[i + 1];
	return NULL;
}

/* An integer reply as a new JSON integer; null for anything else. */
static json_t *
reply_int(const redisReply *e)
{
	if (e != NULL && e->type == REDIS_REPLY_INTEGER)
		return json_integer(e->integer);
	return json_null();
}

/* A string reply as a new JSON string; null for anything else. */
static json_t *
reply_str(const redisReply *e)
{
	if (e != NULL && (e->type == REDIS_REPLY_STRING ||
	    e->type == REDIS_REPLY_STATUS))
		return mv_json_strn(e->str, e->len);
	return json_null();
}

/* The time of stream entry id (its milliseconds since the epoch) as a new
 * ISO 8601 string; null when id is not an entry id. */
static json_t *
id_time(const char *id)
{
	char t[32];

	if (id == NULL || !is_stream_id(id) ||
	    mv_iso8601((time_t)(strtoull(id, NULL, 10) / 1000), t,
	    sizeof(t)) == NULL)
		return json_null();
	return json_string(t);
}

/* Compares two stream entry ids: <0, 0, >0. */
static int
id_cmp(const char *a, const char *b)
{
	unsigned long long ma = strtoull(a, NULL, 10), mb = strtoull(b, NULL,
	    10), sa = 0, sb = 0;
	const char *d;

	if ((d = strchr(a, '-')) != NULL)
		sa = strtoull(d + 1, NULL, 10);
	if ((d = strchr(b, '-')) != NULL)
		sb = strtoull(d + 1, NULL, 10);
	if (ma != mb)
		return ma < mb ? -1 : 1;
	return sa < sb ? -1 : sa > sb;
}

/* One stream entry [id, [field, value, ...]] as a new {"id", "fields"};
 * NULL when it is not one. */
static json_t *
entry_object(const redisReply *e)
{
	const redisReply *f;
	json_t *fields;

	if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    (fields = json_object()) == NULL)
		return NULL;
	f = e->element[1];
	for (size_t i = 0; f->type == REDIS_REPLY_ARRAY &&
	    i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING)
			json_object_set_new(fields, f->element[i]->str,
			    reply_str(f->element[i + 1]));
	return json_pack("{s:o, s:o}", "id", mv_json_strn(e->element[0]->str,
	    e->element[0]->len), "fields", fields);
}

/* Sets "NAME_id" and "NAME_time" of s from the entry e (XINFO STREAM's
 * first-entry or last-entry; nil for an empty stream). */
static void
stream_end(json_t *s, const char *name, const redisReply *e)
{
	char k[32];
	const char *id = NULL;

	if (e != NULL && e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
	    e->element[0]->type == REDIS_REPLY_STRING)
		id = e->element[0]->str;
	snprintf(k, sizeof(k), "%s_id", name);
	json_object_set_new(s, k, id != NULL ? json_string(id) : json_null());
	snprintf(k, sizeof(k), "%s_time", name);
	json_object_set_new(s, k, id_time(id));
}

/* s from its XINFO STREAM reply (NULL: the key does not exist). */
static void
stream_info(json_t *s, const redisReply *info)
{
	const redisReply *len = info != NULL ? reply_field(info, "length") :
	    NULL;

	json_object_set_new(s, "length", len != NULL ? reply_int(len) :
	    json_integer(0));
	stream_end(s, "first", info != NULL ? reply_field(info,
	    "first-entry") : NULL);
	stream_end(s, "last", info != NULL ? reply_field(info,
	    "last-entry") : NULL);
}

/*
 * A group's lag: Redis 7's lag field when it has one (null when Redis
 * cannot tell), else 0 when the group has read up to the last entry (or
 * the stream is empty), else null. New reference.
 */
static json_t *
group_lag(const json_t *s, const redisReply *g)
{
	const redisReply *lag = reply_field(g, "lag"),
	    *last = reply_field(g, "last-delivered-id");
	const char *end = json_string_value(json_object_get(s, "last_id"));

	if (lag != NULL)
		return reply_int(lag);
	if (end == NULL)
		return json_integer(0);
	if (last != NULL && last->type == REDIS_REPLY_STRING &&
	    is_stream_id(last->str) && id_cmp(last->str, end) >= 0)
		return json_integer(0);
	return json_null();
}

/* s's "groups" from its XINFO GROUPS reply (NULL: no key). */
static void
stream_groups(json_t *s, const redisReply *groups)
{
	json_t *a = json_array();

	for (size_t i = 0; groups != NULL && groups->type ==
	    REDIS_REPLY_ARRAY && i < groups->elements; i++) {
		const redisReply *g = groups->element[i];

		json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:o, s:o}",
		    "name", reply_str(reply_field(g, "name")), "consumers",
		    reply_int(reply_field(g, "consumers")), "pending",
		    reply_int(reply_field(g, "pending")), "last_delivered_id",
		    reply_str(reply_field(g, "last-delivered-id")), "lag",
		    group_lag(s, g)));
	}
	json_object_set_new(s, "groups", a);
}

/* 1 when reply is the error XINFO answers for a key that does not
 * exist. */
static int
reply_no_key(const redisReply *reply)
{
	return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strstr(reply->str, "no such key") != NULL;
}

/*
 * Like reply_ok(), but an error reply saying the key does not exist is
 * usable too: *absent is then 1.
 */
static int
reply_ok_absent(struct areq *r, const redisReply *reply, int *absent)
{
	*absent = reply_no_key(reply);
	if (*absent) {
		r->seen++;
		return 1;
	}
	return reply_ok(r, reply);
}

/* Reply n (from 0) of the XINFO STREAM and XINFO GROUPS sent for each
 * stream in turn into acc (reply NULL: the key does not exist). */
static void
stream_reply(json_t *acc, int n, const redisReply *reply)
{
	json_t *s = json_array_get(acc, (size_t)n / 2);

	if (n % 2 == 0)
		stream_info(s, reply);
	else
		stream_groups(s, reply);
}

static void
streams_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;
	int absent;

	(void)rds;
	if (!reply_ok_absent(r, reply, &absent))
		return;
	stream_reply(r->acc, r->seen - 1, absent ? NULL : reply);
	if (r->seen < r->waiting)
		return;
	areq_json(r, 200, json_pack("{s:O}", "streams", r->acc));
}

/* The head of a stream's entry: a new {"name", "maxlen"}, filled in by
 * its XINFO replies. */
static json_t *
stream_head(const struct conf *c, const char *name)
{
	return json_pack("{s:s, s:I}", "name", name, "maxlen",
	    (json_int_t)conf_stream_maxlen(c, name));
}

/* GET /api/v1/streams: length, ends and consumer groups of each stream
 * the configuration names. */
static void
h_streams(struct areq *r)
{
	const struct conf *c = mvd_conf(r->api->d);
	char k[KEY_MAX];
	size_t i;
	json_t *n;

	if (need_redis(r) == -1)
		return;
	if ((r->names = stream_names(c)) == NULL ||
	    (r->acc = json_array()) == NULL) {
		areq_fail(r, 500, "out of memory");
		return;
	}
	if (json_array_size(r->names) == 0) {
		areq_json(r, 200, json_pack("{s:[]}", "streams"));
		return;
	}
	json_array_foreach(r->names, i, n) {
		const char *name = json_string_value(n);

		json_array_append_new(r->acc, stream_head(c, name));
		key(r->api, k, sizeof(k), "mailvisor:stream:%s", name);
		if (areq_cmd(r, 3, (const char *[]){ "XINFO", "STREAM", k },
		    streams_done) == -1 ||
		    areq_cmd(r, 3, (const char *[]){ "XINFO", "GROUPS", k },
		    streams_done) == -1)
			return;
	}
}

/* The streams as last read for /metrics, read again in the background
 * when older than this. */
#define STREAMS_REFRESH_MS	5000

/* One background read of the streams for /metrics. */
struct srefresh {
	struct api	*api;
	json_t		*acc;		/* the streams being read */
	int		 sent, seen, failed;
};

static void
refresh_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct srefresh *f = arg;
	int absent = reply_no_key(reply);

	(void)rds;
	if (reply == NULL || (reply->type == REDIS_REPLY_ERROR && !absent))
		f->failed = 1;
	else
		stream_reply(f->acc, f->seen, absent ? NULL : reply);
	if (++f->seen < f->sent)
		return;
	if (!f->failed) {
		json_decref(f->api->streams);
		f->api->streams = json_incref(f->acc);
	}
	f->api->refresh = NULL;
	json_decref(f->acc);
	free(f);
}

/*
 * Starts reading the streams again for /metrics when the last read is
 * older than STREAMS_REFRESH_MS and none is under way: the scrape serves
 * the values read before, never waiting for these.
 */
static void
streams_refresh(struct api *a)
{
	const struct conf *c = mvd_conf(a->d);
	struct rds *rds = mvd_rds(a->d);
	struct srefresh *f;
	char k[KEY_MAX];
	size_t i;
	json_t *names, *n;

	if (a->refresh != NULL || !rds_connected(rds) || (a->streams_at > 0 &&
	    mono_ms() - a->streams_at < STREAMS_REFRESH_MS) ||
	    (f = calloc(1, sizeof(*f))) == NULL)
		return;
	a->streams_at = mono_ms();
	f->api = a;
	names = stream_names(c);
	f->acc = json_array();
	json_array_foreach(names, i, n) {
		json_array_append_new(f->acc, stream_head(c,
		    json_string_value(n)));
		key(a, k, sizeof(k), "mailvisor:stream:%s",
		    json_string_value(n));
		if (rds_command(rds, 3, (const char *[]){ "XINFO", "STREAM", k },
		    NULL, refresh_done, f) == 0)
			f->sent++;
		if (rds_command(rds, 3, (const char *[]){ "XINFO", "GROUPS", k },
		    NULL, refresh_done, f) == 0)
			f->sent++;
	}
	json_decref(names);
	if (f->sent != 2 * (int)json_array_size(f->acc)) {
		rds_cancel(rds, f);
		json_decref(f->acc);
		free(f);
		return;
	}
	a->refresh = f;
}

/* XRANGE (after) or XREVRANGE (the newest): entries newest last. */
static void
entries_done(struct rds *rds, redisReply *reply, void *arg)
{
	struct areq *r = arg;
	json_t *a = json_array(), *e;
	size_t n;

	(void)rds;
	if (!reply_ok(r, reply)) {
		json_decref(a);
		return;
	}
	n = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
	for (size_t i = 0; i < n; i++) {
		size_t at = r->after[0] != '\0' ? i : n - 1 - i;

		if ((e = entry_object(reply->element[at])) != NULL)
			json_array_append_new(a, e);
	}
	areq_json(r, 200, json_pack("{s:s, s:o}", "stream", r->p[0],
	    "entries", a));
}

/* GET /api/v1/streams/{stream}/entries?count=N&after=ID: the count
 * entries after ID, else the newest count; 404 for a stream the
 * configuration does not name. */
static void
h_stream_entries(struct areq *r)
{
	char k[KEY_MAX], from[72], cnt[24], b[64];

	if (!conf_stream_named(mvd_conf(r->api->d), r->p[0])) {
		areq_fail(r, 404, "no stream '%s'", q(b, sizeof(b), r->p[0]));
		return;
	}
	if (need_redis(r) == -1)
		return;
	key(r->api, k, sizeof(k), "mailvisor:stream:%s", r->p[0]);
	snprintf(cnt, sizeof(cnt), "%ld", r->count);
	if (r->after[0] != '\0') {
		snprintf(from, sizeof(from), "(%s", r->after);
		areq_cmd(r, 6, (const char *[]){ "XRANGE", k, from, "+",
		    "COUNT", cnt }, entries_done);
	} else
		areq_cmd(r, 6, (const char *[]){ "XREVRANGE", k, "+", "-",
		    "COUNT", cnt }, entries_done);
}

/* ---- dispatch ---- */

typedef void (*handler_fn)(struct areq *);

static const handler_fn handlers[R_COUNT] = {
	[R_DASHBOARD] = h_dashboard,
	[R_HEALTHZ] = h_healthz,
	[R_METRICS] = h_metrics,
	[R_DAEMON] = h_daemon,
	[R_SYNC_TRIGGER] = h_sync_trigger,
	[R_AI_TRIGGER] = h_ai_trigger,
	[R_SCHED_STATUS] = h_sched_status,
	[R_SCHED_PAUSE] = h_sched_set,
	[R_SCHED_RESUME] = h_sched_set,
	[R_SCHED_REMOVE] = h_sched_set,
	[R_MONITOR_STATS] = h_monitor_stats,
	[R_MONITOR_CLEAR] = h_monitor_clear,
	[R_MONITOR_FAILURES] = h_monitor_failures,
	[R_MONITOR_HISTORY] = h_monitor_history,
	[R_JOB_TRIGGER] = h_job_trigger,
	[R_CURSOR_SHOW] = h_cursor,
	[R_CURSOR_RESET] = h_cursor,
	[R_JOBS_ACTIVE] = h_jobs_active,
	[R_JOB_GET] = h_job_get,
	[R_JOB_REVOKE] = h_job_revoke,
	[R_QUEUES] = h_queues,
	[R_QUEUE_ENQUEUE] = h_queue_enqueue,
	[R_QUEUE_PURGE] = h_queue_purge,
	[R_DLQ_PEEK] = h_dlq_peek,
	[R_DLQ_REPROCESS] = h_dlq_reprocess,
	[R_DLQ_PURGE] = h_dlq_purge,
	[R_STREAMS] = h_streams,
	[R_STREAM_ENTRIES] = h_stream_entries,
};

/*
 * A request the guard stood in for (see guard.c): its error, and the
 * connection closed after it; for a method evhttp does not know, the
 * method, which the routes answer (405 or 404). 0, or -1 after
 * answering.
 */
static int
areq_guarded(struct areq *r)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(
	    r->req), GUARD_HEADER);
	char method[sizeof(r->method)];
	int why;

	if (v == NULL || (why = guard_marked(r->api->guard, v, method,
	    sizeof(method))) == -1)
		return 0;
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Connection", "close");
	if (why == GW_METHOD) {
		mv_quote_clean(r->method, sizeof(r->method), method, 15);
		return 0;
	}
	if (why == GW_BIG)
		areq_fail(r, 413, "the body is larger than %zu bytes",
		    r->api->max_body);
	else if (why == GW_HEAD)
		areq_fail(r, 400, "the request line and headers are larger "
		    "than %d bytes", API_HEADERS_MAX);
	else
		areq_fail(r, why == GW_CHUNKED ? 411 : 400, "%s",
		    guard_message(why));
	return -1;
}

/* Every request: route, token, query, body, then its handler. */
static void
api_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	struct areq *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	r->api = arg;
	r->req = req;
	r->t0 = mono_ms();
	strlcpy(r->method, method_name(evhttp_request_get_command(req)),
	    sizeof(r->method));
	if (path == NULL)
		path = "";
	mv_quote_clean(r->path, sizeof(r->path), path, 80);
	if (areq_guarded(r) == -1 || areq_host(r) == -1 ||
	    areq_route(r, path) == -1 ||
	    areq_same_site(r) == -1 || areq_auth(r) == -1 ||
	    areq_query(r) == -1 || areq_body(r) == -1)
		return;
	handlers[r->route->id](r);
}

/* ---- start and stop ---- */

/* 1 when sa is a loopback address. */
static int
sa_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)(const void *)sa;
	return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
}

/* A listening socket on ai, or -1 with errno. */
static int
listen_on(const struct addrinfo *ai)
{
	int fd, on = 1, e;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
	    listen(fd, API_BACKLOG) == 0)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Binds the first address of host:port that works. 0, or -1 with err. */
static int
api_listen(struct api *a, const struct conf_http *h, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	int fd = -1, e = EADDRNOTAVAIL, rc, exposed = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", h->port);
	if ((rc = getaddrinfo(h->host, port, &hints, &res)) != 0)
		return mv_errf(err, errlen, "cannot listen on %s: %s",
		    h->listen, gai_strerror(rc));
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if (a->tokenlen == 0 && !sa_loopback(ai->ai_addr)) {
			exposed = 1;
			continue;
		}
		if ((fd = listen_on(ai)) == -1)
			e = errno;
	}
	freeaddrinfo(res);
	if (fd == -1 && exposed)
		return mv_errf(err, errlen, "cannot listen on %s: not a "
		    "loopback address, and no token_file", h->listen);
	if (fd == -1)
		return mv_errf(err, errlen, "cannot listen on %s: %s",
		    h->listen, strerror(e));
	if (evhttp_accept_socket_with_handle(a->http, fd) == NULL)
		return mv_errf(err, errlen, "cannot serve on %s", h->listen);
	return 0;
}

/* Appends " name" to b: lower case, an IPv6 address in brackets. */
static int
hosts_add(struct mv_buf *b, const char *name, size_t n)
{
	int v6 = memchr(name, ':', n) != NULL && name[0] != '[';

	if (mv_buf_printf(b, "%s%.*s%s", v6 ? "[" : "", (int)n, name,
	    v6 ? "]" : "") == -1 || mv_buf_putc(b, ' ') == -1)
		return -1;
	return 0;
}

/*
 * The Host names a request may give, as " a b c " in a->hosts: on a
 * loopback listen address the loopback names, and allowed_hosts; else
 * allowed_hosts, or the host of listen. 0, or -1 when out of memory.
 */
static int
api_hosts(struct api *a, const struct conf_http *h)
{
	const char *p = h->allowed_hosts;
	struct mv_buf b;
	size_t n;

	mv_buf_init(&b, 0);
	if (mv_buf_putc(&b, ' ') == -1 || (h->loopback &&
	    mv_buf_puts(&b, "localhost 127.0.0.1 [::1] ") == -1))
		goto fail;
	if (p == NULL && !h->loopback && hosts_add(&b, h->host,
	    strlen(h->host)) == -1)
		goto fail;
	while (p != NULL && *(p += strspn(p, " \t,")) != '\0') {
		n = strcspn(p, " \t,");
		if (hosts_add(&b, p, n) == -1)
			goto fail;
		p += n;
	}
	for (size_t i = 0; i < b.len; i++)
		b.data[i] = (char)tolower((unsigned char)b.data[i]);
	a->hosts = b.data;
	return 0;
fail:
	mv_buf_free(&b);
	return -1;
}

/* The evhttp server with the limits of h. 0, or -1 when out of memory. */
static int
api_server(struct api *a, const struct conf_http *h)
{
	if ((a->http = evhttp_new(a->base)) == NULL ||
	    (a->guard = guard_new(API_HEADERS_MAX, h->max_body)) == NULL)
		return -1;
	/* The guard refuses first, with JSON; evhttp's limits stay behind
	 * it, its head limit above the guard's (see guard.c). */
	evhttp_set_bevcb(a->http, guard_bev, a->guard);
	evhttp_set_max_body_size(a->http, (ev_ssize_t)h->max_body);
	evhttp_set_max_headers_size(a->http, 2 * API_HEADERS_MAX);
	evhttp_set_timeout(a->http, (int)h->timeout);
	/* Every method reaches api_cb, which answers 405 with Allow. */
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(a->http, api_cb, a);
	return 0;
}

struct api *
api_new(struct event_base *base, struct mvd *d, const struct conf_http *h,
    char *err, size_t errlen)
{
	struct api *a;

	if (h->listen == NULL || h->host == NULL) {
		mv_errf(err, errlen, "no listen address");
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		mv_errf(err, errlen, "out of memory");
		return NULL;
	}
	a->base = base;
	a->d = d;
	a->max_body = h->max_body;
	TAILQ_INIT(&a->reqs);
	strlcpy(a->sync_job, h->sync_job != NULL ? h->sync_job : "email_sync",
	    sizeof(a->sync_job));
	if ((a->nsync = conf_names(a->sync_job, a->sync_jobs,
	    CONF_SYNC_JOBS)) < 1) {
		mv_errf(err, errlen, "sync_job: no job name");
		free(a);
		return NULL;
	}
	strlcpy(a->ai_thread_job, h->ai_thread_job != NULL ?
	    h->ai_thread_job : "ai_thread", sizeof(a->ai_thread_job));
	strlcpy(a->ai_bulk_job, h->ai_bulk_job != NULL ? h->ai_bulk_job :
	    "ai_bulk", sizeof(a->ai_bulk_job));
	if (h->token != NULL) {
		a->tokenlen = strlen(h->token);
		if (a->tokenlen > sizeof(a->token))
			a->tokenlen = sizeof(a->token);
		memcpy(a->token, h->token, a->tokenlen);
	}
	if ((a->metrics = metrics_new(0)) == NULL || api_server(a, h) == -1 ||
	    api_hosts(a, h) == -1) {
		mv_errf(err, errlen, "out of memory");
		api_free(a);
		return NULL;
	}
	if (api_listen(a, h, err, errlen) == -1) {
		api_free(a);
		return NULL;
	}
	stats_set_observer(mvd_stats(d), metrics_observe, a->metrics);
	log_info("http: listening on %s%s", h->listen, a->tokenlen > 0 ?
	    "" : " (no token: loopback only)");
	return a;
}

void
api_free(struct api *a)
{
	struct areq *r;

	if (a == NULL)
		return;
	if (a->metrics != NULL)
		stats_set_observer(mvd_stats(a->d), NULL, NULL);
	/* Closing the connections calls areq_closed() for those waiting. */
	if (a->http != NULL)
		evhttp_free(a->http);
	guard_free(a->guard);
	while ((r = TAILQ_FIRST(&a->reqs)) != NULL) {
		areq_cancel(r);
		areq_free(r);
	}
	if (a->refresh != NULL) {
		rds_cancel(mvd_rds(a->d), a->refresh);
		json_decref(a->refresh->acc);
		free(a->refresh);
	}
	json_decref(a->streams);
	metrics_free(a->metrics);
	free(a->hosts);
	explicit_bzero(a->token, sizeof(a->token));
	free(a);
}
