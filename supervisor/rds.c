/* mailvisord's asynchronous Redis connection: address parsing, connect,
 * AUTH, SELECT, timeouts, and reconnection with backoff. */
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>

#include "shared/buf.h"
#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/str.h"
#include "supervisor/rds.h"

#define RDS_DEFAULT_URL	"redis://127.0.0.1:6379"
#define RDS_PORT	6379

enum rds_state {
	RDS_IDLE,		/* no context; the retry timer is armed */
	RDS_CONNECTING,		/* connect(2) under way */
	RDS_HANDSHAKE,		/* AUTH and SELECT sent */
	RDS_READY,
	RDS_CLOSING,		/* the close timer frees the context */
};

/* A script call kept for a second send by EVAL (see rds_eval()). */
struct rds_ereq {
	struct rds_script	*s;
	rds_reply_fn		 cb;		/* NULL: cancelled */
	void			*arg;
	int			 argc;
	const char		**argv;		/* into data */
	size_t			*len;
	char			*data;
};

/* One command awaiting its reply: hiredis's privdata. */
struct rds_req {
	TAILQ_ENTRY(rds_req)	 entry;
	struct rds		*r;
	rds_reply_fn		 cb;
	void			*arg;
	struct rds_ereq		*ereq;		/* a script call, or NULL */
	int64_t			 sent_ms;
};
TAILQ_HEAD(rds_reqs, rds_req);

struct rds_hook {
	void	(*fn)(void *);
	void	*arg;
};

struct rds {
	struct event_base	*base;
	redisAsyncContext	*ac;
	enum rds_state		 state;
	char			*sock;		/* NULL: TCP to host:port */
	char			*host;
	int			 port;
	int			 db;
	char			*user;		/* NULL: AUTH without user */
	char			*url_password;
	char			*password_file;
	char			*password;	/* only between read and AUTH */
	size_t			 password_len;
	char			 addr[300];
	char			 name[48];	/* of its log lines */
	struct rds_reqs		 reqs;
	struct event		*retry_ev;
	struct event		*close_ev;
	struct event		*watch_ev;
	int64_t			 state_ms;
	int64_t			 backoff_ms;
	int64_t			 timeout_ms;
	int			 outage;
	int64_t			 outage_ms;
	int			 ever_ready;
	struct rds_hook		 hooks[RDS_HOOKS_MAX];
	int			 nhooks;
	struct rds_script	*scripts[RDS_SCRIPTS_MAX];
	int			 nscripts;
};

static void rds_connect(struct rds *);
static void rds_watch(struct rds *);
static void rds_load_scripts(struct rds *);

static void
rds_arm(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* Wipes and frees a secret (NULL-safe). */
static void
rds_wipe(char **p, size_t len)
{
	if (*p == NULL)
		return;
	explicit_bzero(*p, len);
	free(*p);
	*p = NULL;
}

/*
 * Decodes the %XX escapes of the n bytes at s into a new C string (caller
 * frees). NULL with errno EINVAL for a bad escape or an encoded NUL;
 * ENOMEM.
 */
static char *
rds_unescape(const char *s, size_t n)
{
	char *out, *o;
	size_t i;
	int hi, lo;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		hi = i + 2 < n ? mv_hexval((unsigned char)s[i + 1]) : -1;
		lo = i + 2 < n ? mv_hexval((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			free(out);
			errno = EINVAL;
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* Parses n (1 to 10) decimal digits at s, at most max. 0 or -1. */
static int
rds_atoi(const char *s, size_t n, long max, int *out)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* "[user][:password]" between s and e. 0 or -1 (errno). */
static int
rds_parse_userinfo(struct rds *r, const char *s, const char *e)
{
	const char *colon = memchr(s, ':', (size_t)(e - s));
	const char *ue = colon != NULL ? colon : e;

	if (ue > s && (r->user = rds_unescape(s, (size_t)(ue - s))) == NULL)
		return -1;
	if (colon != NULL && e > colon + 1 &&
	    (r->url_password = rds_unescape(colon + 1,
	    (size_t)(e - colon - 1))) == NULL)
		return -1;
	return 0;
}

/* "host[:port]" or "[v6][:port]", the n bytes at s. 0 or -1. */
static int
rds_parse_hostport(struct rds *r, const char *s, size_t n)
{
	size_t hs = 0, he, p, i;

	if (n > 0 && s[0] == '[') {
		hs = 1;
		for (he = hs; he < n && s[he] != ']'; he++)
			;
		if (he == n)
			return -1;
		p = he + 1;
	} else {
		for (he = 0; he < n && s[he] != ':'; he++)
			;
		p = he;
	}
	if (he == hs)
		return -1;
	for (i = hs; i < he; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return -1;
	r->port = RDS_PORT;
	if (p < n && (s[p] != ':' ||
	    rds_atoi(s + p + 1, n - p - 1, 65535, &r->port) == -1 ||
	    r->port == 0))
		return -1;
	if ((r->host = strndup(s + hs, he - hs)) == NULL)
		return -1;
	return 0;
}

/*
 * Fills host, port, user, url_password and db from a redis:// url.
 * 0, or -1 with errno EINVAL (the url is never logged: it may hold a
 * password), ENOMEM.
 */
static int
rds_parse_url(struct rds *r, const char *url)
{
	const char *auth, *end, *at;

	errno = EINVAL;
	if (strncasecmp(url, "redis://", 8) != 0)
		return -1;
	auth = url + 8;
	end = auth + strcspn(auth, "/?#");
	if (*end == '?' || *end == '#')
		return -1;
	at = memrchr(auth, '@', (size_t)(end - auth));
	if (at != NULL && rds_parse_userinfo(r, auth, at) == -1)
		return -1;
	if (at != NULL)
		auth = at + 1;
	errno = EINVAL;
	if (rds_parse_hostport(r, auth, (size_t)(end - auth)) == -1)
		return -1;
	errno = EINVAL;
	if (*end == '/' && end[1] != '\0' &&
	    rds_atoi(end + 1, strlen(end + 1), INT_MAX, &r->db) == -1)
		return -1;
	return 0;
}

/*
 * Loads the password for the next AUTH into r->password: from the file
 * when there is one, else from the url. Returns NULL, or why not (a
 * static string or strerror()) with errno set (EINVAL for a file that is
 * empty, too long or of several lines); the password is never part of it.
 */
static const char *
rds_read_password(struct rds *r)
{
	size_t len;
	char *p;

	rds_wipe(&r->password, r->password_len);
	if (r->password_file == NULL) {
		if (r->url_password == NULL)
			return NULL;
		if ((r->password = strdup(r->url_password)) == NULL)
			return strerror(errno);
		r->password_len = strlen(r->password);
		return NULL;
	}
	p = mv_read_file(r->password_file, RDS_PASSWORD_MAX, &len);
	if (p == NULL && errno == EMSGSIZE) {
		errno = EINVAL;
		return "file too long";
	}
	if (p == NULL)
		return strerror(errno);
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		p[--len] = '\0';
	r->password = p;
	r->password_len = len;
	if (len == 0 || memchr(p, '\n', len) != NULL ||
	    memchr(p, '\r', len) != NULL) {
		rds_wipe(&r->password, len);
		errno = EINVAL;
		return len == 0 ? "empty file" : "more than one line";
	}
	return NULL;
}

/* Waits the backoff, then tries again; the next wait is twice as long. */
static void
rds_retry_later(struct rds *r)
{
	evtimer_del(r->watch_ev);
	r->state = RDS_IDLE;
	r->state_ms = mv_mono_ms();
	rds_arm(r->retry_ev, r->backoff_ms);
	log_debug("%s: next attempt on %s in %lld ms", r->name, r->addr,
	    (long long)r->backoff_ms);
	r->backoff_ms *= 2;
	if (r->backoff_ms > RDS_BACKOFF_MAX_MS)
		r->backoff_ms = RDS_BACKOFF_MAX_MS;
}

/*
 * Something failed: says what, then why (once per outage; later failures
 * at debug level), and reconnects later. A live context is closed from
 * the loop, never here: we may be inside one of its callbacks.
 */
static void
rds_fail(struct rds *r, const char *what, const char *why)
{
	if (!r->outage) {
		log_warnx("%s: %s %s: %s (retrying)", r->name, what, r->addr,
		    why);
		r->outage = 1;
		r->outage_ms = mv_mono_ms();
	} else
		log_debug("%s: %s %s: %s", r->name, what, r->addr, why);
	rds_wipe(&r->password, r->password_len);
	evtimer_del(r->watch_ev);
	if (r->ac == NULL) {
		rds_retry_later(r);
		return;
	}
	r->state = RDS_CLOSING;
	rds_arm(r->close_ev, 0);
}

/* The close timer: frees the abandoned context (its pending callbacks get
 * NULL), then waits for the next attempt. */
static void
rds_close_cb(int fd, short ev, void *arg)
{
	struct rds *r = arg;
	redisAsyncContext *ac = r->ac;

	(void)fd;
	(void)ev;
	r->ac = NULL;
	if (ac != NULL)
		redisAsyncFree(ac);
	rds_retry_later(r);
}

static void
rds_retry_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	rds_connect(arg);
}

/* Deadline passed for connecting, the handshake or a reply? */
static void
rds_watch_cb(int fd, short ev, void *arg)
{
	struct rds *r = arg;

	(void)fd;
	(void)ev;
	if (r->state == RDS_CONNECTING)
		rds_fail(r, "connect to", "timed out");
	else if (r->state == RDS_HANDSHAKE || r->state == RDS_READY)
		rds_fail(r, "no reply from", "timed out");
}

/* Arms the watchdog for the oldest unanswered step, or disarms it. */
static void
rds_watch(struct rds *r)
{
	struct rds_req *q = TAILQ_FIRST(&r->reqs);
	int64_t since;

	if (r->state == RDS_CONNECTING)
		since = r->state_ms;
	else if ((r->state == RDS_HANDSHAKE || r->state == RDS_READY) &&
	    q != NULL)
		since = q->sent_ms;
	else {
		evtimer_del(r->watch_ev);
		return;
	}
	rds_arm(r->watch_ev, since + r->timeout_ms - mv_mono_ms());
}

/* hiredis's reply callback for every command: hands the reply on. */
static void
rds_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rds_req *q = privdata;
	struct rds *r = q->r;

	TAILQ_REMOVE(&r->reqs, q, entry);
	if (q->cb != NULL)
		q->cb(r, reply, q->arg);
	free(q);
	if (ac == r->ac)
		rds_watch(r);
}

/* Queues one command on the current context, whatever the state. */
static int
rds_send(struct rds *r, int argc, const char **argv, const size_t *argvlen,
    rds_reply_fn cb, void *arg)
{
	struct rds_req *q;

	if (r->ac == NULL || (r->ac->c.flags &
	    (REDIS_DISCONNECTING | REDIS_FREEING))) {
		errno = ENOTCONN;
		return -1;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->sent_ms = mv_mono_ms();
	if (redisAsyncCommandArgv(r->ac, rds_reply, q, argc, argv,
	    argvlen) != REDIS_OK) {
		free(q);
		errno = ENOMEM;
		return -1;
	}
	TAILQ_INSERT_TAIL(&r->reqs, q, entry);
	if (TAILQ_FIRST(&r->reqs) == q)
		rds_watch(r);
	return 0;
}

/* Handshake done: tells the hooks. */
static void
rds_ready(struct rds *r)
{
	struct rds_hook hooks[RDS_HOOKS_MAX];
	int i, n = r->nhooks;

	r->state = RDS_READY;
	r->backoff_ms = RDS_BACKOFF_MIN_MS;
	if (r->outage)
		log_info("%s: connected to %s%s after %.1f s", r->name,
		    r->addr, r->ever_ready ? " again" : "",
		    (double)(mv_mono_ms() - r->outage_ms) / 1000);
	else
		log_info("%s: connected to %s", r->name, r->addr);
	r->outage = 0;
	r->ever_ready = 1;
	rds_watch(r);
	rds_load_scripts(r);
	memcpy(hooks, r->hooks, sizeof(hooks));
	for (i = 0; i < n && r->state == RDS_READY; i++)
		hooks[i].fn(hooks[i].arg);
}

static void
rds_auth_done(struct rds *r, redisReply *reply, void *arg)
{
	(void)arg;
	if (reply == NULL || r->state != RDS_HANDSHAKE)
		return;
	if (reply->type == REDIS_REPLY_ERROR)
		rds_fail(r, "AUTH to", reply->str);
}

static void
rds_select_done(struct rds *r, redisReply *reply, void *arg)
{
	char what[64];

	(void)arg;
	if (reply == NULL || r->state != RDS_HANDSHAKE)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(what, sizeof(what), "SELECT %d on", r->db);
		rds_fail(r, what, reply->str);
		return;
	}
	rds_ready(r);
}

/* Connected: AUTH (when there is a password) and SELECT, pipelined. */
static void
rds_handshake(struct rds *r)
{
	const char *argv[3];
	size_t len[3];
	char db[16];
	int n = 0, rc = 0;

	r->state = RDS_HANDSHAKE;
	if (r->password != NULL) {
		argv[n] = "AUTH";
		len[n++] = 4;
		if (r->user != NULL) {
			argv[n] = r->user;
			len[n++] = strlen(r->user);
		}
		argv[n] = r->password;
		len[n++] = r->password_len;
		rc = rds_send(r, n, argv, len, rds_auth_done, NULL);
		rds_wipe(&r->password, r->password_len);
	}
	snprintf(db, sizeof(db), "%d", r->db);
	argv[0] = "SELECT";
	argv[1] = db;
	if (rc == 0)
		rc = rds_send(r, 2, argv, NULL, rds_select_done, NULL);
	if (rc == -1)
		rds_fail(r, "handshake with", strerror(errno));
}

static void
rds_connect_done(const redisAsyncContext *ac, int status)
{
	struct rds *r = ac->data;

	if (ac != r->ac)
		return;
	if (status == REDIS_OK) {
		if (r->state == RDS_CONNECTING)
			rds_handshake(r);
		return;
	}
	/* hiredis frees the context after this callback; when closing, the
	 * close timer schedules the next attempt. */
	r->ac = NULL;
	if (r->state != RDS_CLOSING)
		rds_fail(r, "connect to", ac->c.errstr);
}

static void
rds_disconnect_done(const redisAsyncContext *ac, int status)
{
	struct rds *r = ac->data;

	(void)status;
	if (ac != r->ac)
		return;
	r->ac = NULL;
	if (r->state != RDS_CLOSING)
		rds_fail(r, "lost connection to",
		    ac->c.errstr[0] != '\0' ? ac->c.errstr : "closed");
}

/* One connection attempt; on failure, the next one is scheduled. */
static void
rds_connect(struct rds *r)
{
	redisAsyncContext *ac;
	const char *why;

	if ((why = rds_read_password(r)) != NULL) {
		rds_fail(r, "read password file for", why);
		return;
	}
	log_debug("%s: connecting to %s", r->name, r->addr);
	if (r->sock != NULL)
		ac = redisAsyncConnectUnix(r->sock);
	else
		ac = redisAsyncConnect(r->host, r->port);
	if (ac == NULL || ac->err) {
		rds_fail(r, "connect to", ac != NULL ? ac->c.errstr :
		    "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		return;
	}
	ac->data = r;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, rds_connect_done);
	redisAsyncSetDisconnectCallback(ac, rds_disconnect_done);
	r->ac = ac;
	r->state = RDS_CONNECTING;
	r->state_ms = mv_mono_ms();
	rds_watch(r);
}

/* Fills r->addr for messages. */
static void
rds_set_addr(struct rds *r)
{
	if (r->sock != NULL)
		snprintf(r->addr, sizeof(r->addr), "unix:%s", r->sock);
	else if (strchr(r->host, ':') != NULL)
		snprintf(r->addr, sizeof(r->addr), "[%s]:%d", r->host,
		    r->port);
	else
		snprintf(r->addr, sizeof(r->addr), "%s:%d", r->host, r->port);
}

/* The parts of rds_new() that can fail before connecting. */
static int
rds_setup(struct rds *r, const char *url, const char *sock,
    const char *password_file)
{
	const char *why;

	if (sock != NULL && *sock != '\0') {
		if ((r->sock = strdup(sock)) == NULL)
			return -1;
	} else if (rds_parse_url(r, url != NULL ? url : RDS_DEFAULT_URL) ==
	    -1) {
		log_warnx("redis: url: %s", errno == EINVAL ?
		    "not redis://[[user]:password@]host[:port][/db]" :
		    strerror(errno));
		return -1;
	}
	rds_set_addr(r);
	if (password_file != NULL &&
	    (r->password_file = strdup(password_file)) == NULL)
		return -1;
	if ((why = rds_read_password(r)) != NULL) {
		log_warnx("redis: password file %s: %s", password_file, why);
		return -1;
	}
	rds_wipe(&r->password, r->password_len);
	r->retry_ev = evtimer_new(r->base, rds_retry_cb, r);
	r->close_ev = evtimer_new(r->base, rds_close_cb, r);
	r->watch_ev = evtimer_new(r->base, rds_watch_cb, r);
	if (r->retry_ev == NULL || r->close_ev == NULL || r->watch_ev == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

struct rds *
rds_new(struct event_base *base, const char *url, const char *sock,
    const char *password_file, int db)
{
	struct rds *r;

	if (base == NULL || db < 0 ||
	    (password_file != NULL && strcmp(password_file, "-") == 0)) {
		errno = EINVAL;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	TAILQ_INIT(&r->reqs);
	strlcpy(r->name, "redis", sizeof(r->name));
	r->base = base;
	r->db = db;
	r->backoff_ms = RDS_BACKOFF_MIN_MS;
	r->timeout_ms = RDS_TIMEOUT_MS;
	if (rds_setup(r, url, sock, password_file) == -1) {
		rds_free(r);
		return NULL;
	}
	rds_connect(r);
	return r;
}

void
rds_set_name(struct rds *r, const char *name)
{
	strlcpy(r->name, name, sizeof(r->name));
}

int
rds_connected(const struct rds *r)
{
	return r->state == RDS_READY && r->ac != NULL &&
	    !(r->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING));
}

int
rds_command(struct rds *r, int argc, const char **argv,
    const size_t *argvlen, rds_reply_fn cb, void *arg)
{
	if (argc < 1 || argv == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (!rds_connected(r)) {
		errno = ENOTCONN;
		return -1;
	}
	return rds_send(r, argc, argv, argvlen, cb, arg);
}

void
rds_cancel(struct rds *r, void *arg)
{
	struct rds_req *q;

	TAILQ_FOREACH(q, &r->reqs, entry)
		if (q->ereq != NULL && q->ereq->arg == arg)
			q->ereq->cb = NULL;
		else if (q->ereq == NULL && q->arg == arg)
			q->cb = NULL;
}

/* The answer to SCRIPT LOAD: the digest to call the script by. */
static void
rds_script_loaded(struct rds *r, redisReply *reply, void *arg)
{
	struct rds_script *s = arg;

	(void)r;
	if (reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_STRING && reply->len == 40)
		memcpy(s->sha, reply->str, 41);
	else if (reply->type == REDIS_REPLY_ERROR)
		log_warnx("redis: SCRIPT LOAD: %s", reply->str);
}

/* Loads every script used so far on this connection (a restarted Redis
 * has none). */
static void
rds_load_scripts(struct rds *r)
{
	int i;

	for (i = 0; i < r->nscripts; i++)
		(void)rds_send(r, 3, (const char *[]){ "SCRIPT", "LOAD",
		    r->scripts[i]->text }, NULL, rds_script_loaded,
		    r->scripts[i]);
}

/* Notes that r uses s, and loads it the first time. */
static void
rds_script_use(struct rds *r, struct rds_script *s)
{
	int i;

	for (i = 0; i < r->nscripts; i++)
		if (r->scripts[i] == s)
			return;
	if (r->nscripts == RDS_SCRIPTS_MAX)
		return;		/* then always sent by EVAL */
	r->scripts[r->nscripts++] = s;
	if (s->sha[0] == '\0')
		(void)rds_send(r, 3, (const char *[]){ "SCRIPT", "LOAD",
		    s->text }, NULL, rds_script_loaded, s);
}

static void
rds_ereq_free(struct rds_ereq *e)
{
	if (e == NULL)
		return;
	free(e->argv);
	free(e->len);
	free(e->data);
	free(e);
}

/* A copy of a script call. NULL: out of memory. */
static struct rds_ereq *
rds_ereq_new(struct rds_script *s, int argc, const char **argv,
    const size_t *argvlen, rds_reply_fn cb, void *arg)
{
	struct rds_ereq *e;
	size_t total = 0, off = 0;
	int i;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->argv = calloc((size_t)argc + 2, sizeof(*e->argv));
	e->len = calloc((size_t)argc + 2, sizeof(*e->len));
	if (e->argv == NULL || e->len == NULL) {
		rds_ereq_free(e);
		return NULL;
	}
	for (i = 0; i < argc; i++) {
		e->len[i + 2] = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
		total += e->len[i + 2] + 1;
	}
	if ((e->data = malloc(total + 1)) == NULL) {
		rds_ereq_free(e);
		return NULL;
	}
	for (i = 0; i < argc; i++) {
		memcpy(e->data + off, argv[i], e->len[i + 2]);
		e->data[off + e->len[i + 2]] = '\0';
		e->argv[i + 2] = e->data + off;
		off += e->len[i + 2] + 1;
	}
	e->s = s;
	e->cb = cb;
	e->arg = arg;
	e->argc = argc;
	return e;
}

static void rds_eval_reply(struct rds *, redisReply *, void *);

/* Sends e by EVALSHA (sha) or EVAL. 0 or -1. */
static int
rds_ereq_send(struct rds *r, struct rds_ereq *e, int sha)
{
	struct rds_req *q;

	e->argv[0] = sha ? "EVALSHA" : "EVAL";
	e->argv[1] = sha ? e->s->sha : e->s->text;
	e->len[0] = strlen(e->argv[0]);
	e->len[1] = strlen(e->argv[1]);
	if (rds_send(r, e->argc + 2, e->argv, e->len, rds_eval_reply, e) ==
	    -1)
		return -1;
	q = TAILQ_LAST(&r->reqs, rds_reqs);
	q->ereq = e;
	return 0;
}

/* A script's answer: NOSCRIPT sends it again by EVAL. */
static void
rds_eval_reply(struct rds *r, redisReply *reply, void *arg)
{
	struct rds_ereq *e = arg;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0 && e->cb != NULL &&
	    strcmp(e->argv[0], "EVALSHA") == 0 && rds_ereq_send(r, e, 0) == 0)
		return;
	if (e->cb != NULL)
		e->cb(r, reply, e->arg);
	rds_ereq_free(e);
}

int
rds_eval(struct rds *r, struct rds_script *s, int argc, const char **argv,
    const size_t *argvlen, rds_reply_fn cb, void *arg)
{
	struct rds_ereq *e;

	if (s == NULL || argc < 1 || argv == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (!rds_connected(r)) {
		errno = ENOTCONN;
		return -1;
	}
	rds_script_use(r, s);
	if ((e = rds_ereq_new(s, argc, argv, argvlen, cb, arg)) == NULL)
		return -1;
	if (rds_ereq_send(r, e, s->sha[0] != '\0') == -1) {
		rds_ereq_free(e);
		return -1;
	}
	return 0;
}

void
rds_on_connect(struct rds *r, void (*fn)(void *), void *arg)
{
	int i, j;

	if (fn == NULL) {
		for (i = j = 0; i < r->nhooks; i++)
			if (r->hooks[i].arg != arg)
				r->hooks[j++] = r->hooks[i];
		r->nhooks = j;
		return;
	}
	for (i = 0; i < r->nhooks; i++)
		if (r->hooks[i].fn == fn && r->hooks[i].arg == arg)
			return;
	if (r->nhooks == RDS_HOOKS_MAX) {
		log_warnx("%s: more than %d connect hooks", r->name,
		    RDS_HOOKS_MAX);
		return;
	}
	r->hooks[r->nhooks].fn = fn;
	r->hooks[r->nhooks++].arg = arg;
}

void
rds_reset(struct rds *r, const char *why)
{
	if (r->state == RDS_CONNECTING || r->state == RDS_HANDSHAKE ||
	    r->state == RDS_READY)
		rds_fail(r, "reset connection to", why);
}

void
rds_set_timeout(struct rds *r, double seconds)
{
	if (!(seconds > 0) || seconds > 86400)
		return;
	r->timeout_ms = (int64_t)(seconds * 1000);
	if (r->timeout_ms < 1)
		r->timeout_ms = 1;
	rds_watch(r);
}

struct event_base *
rds_base(const struct rds *r)
{
	return r->base;
}

const char *
rds_address(const struct rds *r)
{
	return r->addr;
}

void
rds_free(struct rds *r)
{
	redisAsyncContext *ac;
	struct rds_req *q;

	if (r == NULL)
		return;
	r->state = RDS_CLOSING;
	ac = r->ac;
	r->ac = NULL;
	if (ac != NULL)
		redisAsyncFree(ac);
	while ((q = TAILQ_FIRST(&r->reqs)) != NULL) {
		TAILQ_REMOVE(&r->reqs, q, entry);
		free(q);
	}
	if (r->retry_ev != NULL)
		event_free(r->retry_ev);
	if (r->close_ev != NULL)
		event_free(r->close_ev);
	if (r->watch_ev != NULL)
		event_free(r->watch_ev);
	rds_wipe(&r->password, r->password_len);
	if (r->url_password != NULL)
		rds_wipe(&r->url_password, strlen(r->url_password));
	free(r->user);
	free(r->host);
	free(r->sock);
	free(r->password_file);
	free(r);
}
