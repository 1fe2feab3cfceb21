/* The HTTP engine: curl multi, in-flight cap, pacing, retries, tokens. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/http.h"
#include "common/pace.h"
#include "common/redact.h"
#include "common/retry.h"
#include "shared/log.h"
#include "shared/mvtime.h"

#define HTTP_POOL_MAX	16
#define HTTP_USER_AGENT	"mailvisor-gmail-worker/" MV_VERSION " (gzip)"
/* Refresh a token this long before Google would refuse it. */
#define HTTP_TOKEN_SLACK_MS 60000
/* Tokens refused in a row (no request got through with any of them)
 * before a 401 is final: a server that refuses every token cannot make
 * the run loop. */
#define HTTP_RENEWALS_MAX 5

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif

TAILQ_HEAD(http_queue, http_req);

struct http_engine {
	CURLM			*multi;
	struct http_opts	 o;
	struct pace		 pace;
	struct http_queue	 queue;		/* ready or waiting to retry */
	struct http_queue	 waiting;	/* for a token */
	int			 in_flight;
	char			*token;
	unsigned		 token_gen;
	int64_t			 token_expiry;	/* mono ms; 0: unknown */
	int			 minting;
	int			 have_minter;
	struct http_minter	 minter;
	int			 auth_failed;
	struct mv_err		 auth_err;
	int			 renewals;	/* on 401, in a row */
	int			 aborted;
	struct mv_err		 abort_err;
	struct http_stats	 st;
	CURL			*pool[HTTP_POOL_MAX];
	int			 npool;
};

static void engine_minted(struct http_req *, void *);

struct http_engine *
http_engine_new(const struct http_opts *o)
{
	struct http_engine *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->o = *o;
	if (e->o.max_in_flight < 1)
		e->o.max_in_flight = 1;
	TAILQ_INIT(&e->queue);
	TAILQ_INIT(&e->waiting);
	pace_init(&e->pace, o->units_per_sec, mv_mono_ms());
	if ((e->multi = curl_multi_init()) == NULL) {
		free(e);
		return NULL;
	}
	curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)e->o.max_in_flight);
	curl_multi_setopt(e->multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX);
	return e;
}

static void
token_clear(struct http_engine *e)
{
	if (e->token) {
		explicit_bzero(e->token, strlen(e->token));
		free(e->token);
		e->token = NULL;
	}
}

void
http_engine_free(struct http_engine *e)
{
	struct http_req *r;

	if (e == NULL)
		return;
	while ((r = TAILQ_FIRST(&e->queue)) != NULL) {
		TAILQ_REMOVE(&e->queue, r, entry);
		http_req_free(r);
	}
	while ((r = TAILQ_FIRST(&e->waiting)) != NULL) {
		TAILQ_REMOVE(&e->waiting, r, entry);
		http_req_free(r);
	}
	for (int i = 0; i < e->npool; i++)
		curl_easy_cleanup(e->pool[i]);
	curl_multi_cleanup(e->multi);
	token_clear(e);
	free(e);
}

int
http_set_token(struct http_engine *e, const char *token)
{
	char *t;

	if ((t = strdup(token)) == NULL)
		return -1;
	token_clear(e);
	e->token = t;
	e->token_gen++;
	e->token_expiry = 0;
	return 0;
}

void
http_set_minter(struct http_engine *e, const struct http_minter *m)
{
	e->minter = *m;
	e->have_minter = 1;
}

long
http_token_expires_in(const struct http_engine *e)
{
	if (e->token == NULL || e->token_expiry == 0)
		return -1;
	return (long)((e->token_expiry - mv_mono_ms()) / 1000);
}

void
http_get_stats(const struct http_engine *e, struct http_stats *st)
{
	*st = e->st;
}

struct http_req *
http_req_new(const char *method, const char *url, const char *body,
    size_t body_len, const char *content_type, int cost, int flags,
    const char *what)
{
	struct http_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->url = strdup(url)) == NULL)
		abort();
	if (body) {
		if ((r->body = malloc(body_len + 1)) == NULL)
			abort();
		memcpy(r->body, body, body_len);
		r->body[body_len] = '\0';
		r->body_len = body_len;
	}
	if (content_type && (r->content_type = strdup(content_type)) == NULL)
		abort();
	r->method = method;
	r->cost = cost;
	r->flags = flags;
	r->what = what ? what : method;
	r->retry_after = -1;
	mv_err_clear(&r->err);
	return r;
}

void
http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	free(r->url);
	if (r->body) {
		explicit_bzero(r->body, r->body_len);	/* may hold secrets */
		free(r->body);
	}
	free(r->content_type);
	free(r->tag);
	free(r->resp_type);
	mv_buf_free(&r->resp);
	curl_slist_free_all(r->hdrs);
	free(r);
}

void
http_submit(struct http_engine *e, struct http_req *r)
{
	int64_t now = mv_mono_ms();

	r->not_before = now;
	r->deadline = now + (int64_t)e->o.max_wait_s * 1000;
	mv_buf_init(&r->resp, e->o.max_response);
	TAILQ_INSERT_TAIL(&e->queue, r, entry);
}

void
http_abort(struct http_engine *e, const struct mv_err *err)
{
	if (e->aborted)
		return;
	e->aborted = 1;
	e->abort_err = *err;
}

static void
req_complete(struct http_req *r)
{
	if (r->done)
		r->done(r, r->arg);
}

static void
req_fail(struct http_req *r, const struct mv_err *err)
{
	r->err = *err;
	req_complete(r);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;

	if (mv_buf_append(&r->resp, p, size * n) == -1) {
		r->too_large = errno == EMSGSIZE;
		return 0;
	}
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n;
	char line[512];

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "HTTP/", 5) == 0) {	/* a new response */
		r->retry_after = -1;
		free(r->resp_type);
		r->resp_type = NULL;
	} else if (strncasecmp(line, "Retry-After:", 12) == 0)
		r->retry_after = retry_after_parse(line + 12, time(NULL));
	else if (strncasecmp(line, "Content-Type:", 13) == 0) {
		free(r->resp_type);
		r->resp_type = strdup(line + 13 + strspn(line + 13, " \t"));
	}
	return len;
}

static CURL *
easy_get(struct http_engine *e)
{
	if (e->npool > 0)
		return e->pool[--e->npool];
	return curl_easy_init();
}

static void
easy_put(struct http_engine *e, CURL *h)
{
	if (e->npool < HTTP_POOL_MAX) {
		curl_easy_reset(h);
		e->pool[e->npool++] = h;
	} else
		curl_easy_cleanup(h);
}

/* Builds the header list: the request's own, then the token. */
static int
req_headers(struct http_engine *e, struct http_req *r)
{
	char line[8192];
	struct curl_slist *l = NULL, *t;

	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	if ((l = curl_slist_append(l, "Expect:")) == NULL)
		return -1;
	if (r->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s",
		    r->content_type);
		if ((t = curl_slist_append(l, line)) == NULL)
			goto fail;
		l = t;
	}
	if ((r->flags & HTTP_AUTH) && e->token) {
		if ((e->o.key_header ? (size_t)snprintf(line, sizeof(line),
		    "%s: %s", e->o.key_header, e->token) :
		    (size_t)snprintf(line, sizeof(line),
		    "Authorization: Bearer %s", e->token)) >= sizeof(line))
			goto fail;
		t = curl_slist_append(l, line);
		explicit_bzero(line, sizeof(line));
		if (t == NULL)
			goto fail;
		l = t;
		r->token_gen = e->token_gen;
	}
	r->hdrs = l;
	return 0;
fail:
	curl_slist_free_all(l);
	return -1;
}

/* libcurl's trace (-vvv) through the log, secrets redacted; bodies are
 * counted, never shown (they hold mail and tokens), as curl -v does. */
static int
on_trace(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	static const char mark[] = { '*', '<', '>', '<', '>' };
	char *text, *line, *save;

	(void)h;
	(void)arg;
	if (type == CURLINFO_DATA_IN || type == CURLINFO_DATA_OUT) {
		log_debug("%c [%zu bytes of data]", mark[type], size);
		return 0;
	}
	if (type > CURLINFO_HEADER_OUT)
		return 0;		/* TLS records */
	text = redact_secrets(data, size);
	for (line = strtok_r(text, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save))
		log_debug("%c %s", mark[type], line);
	free(text);
	return 0;
}

static void
req_setopts(struct http_engine *e, struct http_req *r, CURL *h)
{
	long connect = e->o.timeout_s < 10 ? e->o.timeout_s : 10;

	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, e->o.user_agent ?
	    e->o.user_agent : HTTP_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, e->o.timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect > 0 ? connect : 1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
	if (e->o.verbose >= 3) {
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_trace);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	}
	if (strcmp(r->method, "GET") == 0)
		return;
	if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	} else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
}

static int
req_start(struct http_engine *e, struct http_req *r)
{
	struct mv_err err = MV_ERR_INIT;
	CURL *h;

	if (req_headers(e, r) == -1 || (h = easy_get(e)) == NULL) {
		mv_err_set(&err, MV_E_INTERNAL, "out of memory");
		req_fail(r, &err);
		return -1;
	}
	r->easy = h;
	r->curl_err[0] = '\0';
	r->too_large = 0;
	mv_buf_reset(&r->resp);
	req_setopts(e, r, h);
	if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
		easy_put(e, h);
		r->easy = NULL;
		mv_err_set(&err, MV_E_INTERNAL, "curl refused a request");
		req_fail(r, &err);
		return -1;
	}
	e->in_flight++;
	e->st.requests++;
	e->st.units += r->cost;
	r->started = mv_mono_ms();
	return 0;
}

/* Starts minting a token, at the head of the queue. */
static void
mint_start(struct http_engine *e)
{
	struct http_req *m;
	struct mv_err err = MV_ERR_INIT;
	struct http_req *r;

	if (e->minting)
		return;
	if ((m = e->minter.request(e->minter.arg, &err)) == NULL) {
		e->auth_failed = 1;
		e->auth_err = err;
		while ((r = TAILQ_FIRST(&e->waiting)) != NULL) {
			TAILQ_REMOVE(&e->waiting, r, entry);
			req_fail(r, &err);
		}
		return;
	}
	e->minting = 1;
	e->st.refreshes++;
	m->done = engine_minted;
	m->arg = e;
	http_submit(e, m);
	TAILQ_REMOVE(&e->queue, m, entry);
	TAILQ_INSERT_HEAD(&e->queue, m, entry);
}

static void
engine_minted(struct http_req *m, void *arg)
{
	struct http_engine *e = arg;
	struct http_req *r;
	struct mv_err err = MV_ERR_INIT;
	char *token = NULL;
	long expires_in = -1;

	e->minting = 0;
	if (e->minter.parse(e->minter.arg, m, &token, &expires_in, &err) == 0) {
		token_clear(e);
		e->token = token;
		e->token_gen++;
		e->token_expiry = expires_in > 0 ?
		    mv_mono_ms() + expires_in * 1000 : 0;
		while ((r = TAILQ_LAST(&e->waiting, http_queue)) != NULL) {
			TAILQ_REMOVE(&e->waiting, r, entry);
			TAILQ_INSERT_HEAD(&e->queue, r, entry);
		}
	} else {
		e->auth_failed = 1;
		e->auth_err = err;
		while ((r = TAILQ_FIRST(&e->waiting)) != NULL) {
			TAILQ_REMOVE(&e->waiting, r, entry);
			req_fail(r, &err);
		}
	}
	http_req_free(m);
}

/* Does r need a token we do not have? Then park it (and mint). */
static int
needs_token(struct http_engine *e, struct http_req *r, int64_t now)
{
	if (!(r->flags & HTTP_AUTH) || !e->have_minter)
		return 0;
	if (e->token && e->token_expiry &&
	    now > e->token_expiry - HTTP_TOKEN_SLACK_MS)
		token_clear(e);		/* about to expire: renew first */
	if (e->token)
		return 0;
	TAILQ_REMOVE(&e->queue, r, entry);
	if (e->auth_failed) {
		req_fail(r, &e->auth_err);
		return 1;
	}
	TAILQ_INSERT_TAIL(&e->waiting, r, entry);
	mint_start(e);
	return 1;
}

/* Starts what may start. Returns ms until something else may, or -1. */
static int64_t
engine_dispatch(struct http_engine *e)
{
	int64_t now = mv_mono_ms(), wake = -1, w;
	struct http_req *r, *next;

	for (r = TAILQ_FIRST(&e->queue); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (e->in_flight >= e->o.max_in_flight)
			break;
		if (e->aborted && r->done != engine_minted) {
			TAILQ_REMOVE(&e->queue, r, entry);
			req_fail(r, &e->abort_err);
			next = TAILQ_FIRST(&e->queue);
			continue;
		}
		if (r->not_before > now) {
			w = r->not_before - now;
			wake = wake < 0 || w < wake ? w : wake;
			continue;
		}
		if (needs_token(e, r, now)) {
			next = TAILQ_FIRST(&e->queue);
			continue;
		}
		if ((w = pace_wait(&e->pace, r->cost, now)) > 0) {
			/* In order: a later, cheaper request may not pass. */
			e->st.paced_ms += w;
			return wake < 0 || w < wake ? w : wake;
		}
		pace_take(&e->pace, r->cost, now);
		TAILQ_REMOVE(&e->queue, r, entry);
		req_start(e, r);
		next = TAILQ_FIRST(&e->queue);
	}
	return wake;
}

/*
 * A 401 with a token we could renew: try again when the refused token is
 * newer than the one this request was last refused with (renewing it when
 * it is still the current one; else another request already did). A
 * token that let a request through resets the count of renewals in a
 * row; past HTTP_RENEWALS_MAX of them the 401 is final.
 */
static int
retry_auth(struct http_engine *e, struct http_req *r)
{
	if (r->status != 401 || !(r->flags & HTTP_AUTH) || !e->have_minter ||
	    r->token_gen <= r->auth_gen || e->auth_failed)
		return 0;
	if (r->token_gen == e->token_gen && e->token) {
		if (e->renewals >= HTTP_RENEWALS_MAX) {
			log_warnx("%s: access token refused; %d new tokens "
			    "refused in a row, giving up", r->what,
			    e->renewals);
			return 0;
		}
		e->renewals++;
		token_clear(e);
	}
	r->auth_gen = r->token_gen;
	log_info("%s: access token refused; getting a new one", r->what);
	r->not_before = 0;
	TAILQ_INSERT_HEAD(&e->queue, r, entry);
	return 1;
}

/* Retries r after its failed attempt when it may and the budget allows
 * it, else completes it with its error. */
static void
engine_retry(struct http_engine *e, struct http_req *r, CURLcode rc,
    int retryable)
{
	struct retry_budget b = { r->deadline, 10, 1000, 32000 };
	int64_t now = mv_mono_ms(), d;

	if (retry_auth(e, r))
		return;
	if ((r->flags & HTTP_UNSAFE) && retryable && r->status != 429 &&
	    !(r->status == 403 && r->err.type == MV_E_RATE_LIMITED) &&
	    rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST) {
		/* It may have been carried out: retrying could do it twice. */
		retryable = 0;
		r->err.retryable = 0;
		strlcat(r->err.msg, " (it may have been carried out: not "
		    "retried)", sizeof(r->err.msg));
	}
	if (retryable && !(r->flags & HTTP_NO_RETRY) && !e->aborted &&
	    (d = retry_delay(&b, r->attempts, &r->err, now)) >= 0) {
		log_warnx("%s: %s; retrying in %.1f s, %lld s left", r->what,
		    r->err.msg, d / 1000.0,
		    (long long)((r->deadline - now - d) / 1000));
		e->st.retries++;
		r->not_before = now + d;
		TAILQ_INSERT_TAIL(&e->queue, r, entry);
		return;
	}
	req_complete(r);
}

/* -vv: one line per attempt, its URL's secrets redacted. */
static void
req_log(const struct http_req *r, CURLcode rc)
{
	long long ms = (long long)(mv_mono_ms() - r->started);
	char *url;

	if (log_get_level() < LOG_LVL_DEBUG)
		return;
	url = redact_secrets(r->url, strlen(r->url));
	if (r->status > 0)
		log_debug("%s %s: %ld, %zu bytes, %lld ms, attempt %d",
		    r->method, url, r->status, r->resp.len, ms, r->attempts);
	else
		log_debug("%s %s: no answer (%s), %lld ms, attempt %d",
		    r->method, url, r->curl_err[0] ? r->curl_err :
		    curl_easy_strerror(rc), ms, r->attempts);
	free(url);
}

static void
engine_finished(struct http_engine *e, struct http_req *r, CURLcode rc)
{
	int retryable;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_multi_remove_handle(e->multi, r->easy);
	easy_put(e, r->easy);
	r->easy = NULL;
	e->in_flight--;
	r->attempts++;
	req_log(r, rc);
	if (r->too_large) {
		mv_err_set(&r->err, MV_E_API, "%s: answer larger than %zu "
		    "bytes", r->what, e->o.max_response);
		req_complete(r);
		return;
	}
	if (retry_classify(rc == CURLE_OK, rc == CURLE_OPERATION_TIMEDOUT,
	    r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc), r->status,
	    r->resp.data, r->resp.len, r->retry_after, time(NULL), &r->err,
	    &retryable) == 0) {
		if ((r->flags & HTTP_AUTH) && r->token_gen == e->token_gen)
			e->renewals = 0;	/* this token works */
		req_complete(r);
		return;
	}
	engine_retry(e, r, rc, retryable);
}

void
http_submit_answered(struct http_engine *e, struct http_req *r,
    const struct http_req *parent, long status, const char *body, size_t len,
    int retry_after)
{
	int retryable;

	http_submit(e, r);
	TAILQ_REMOVE(&e->queue, r, entry);
	r->deadline = parent->deadline;
	r->attempts = parent->attempts;
	r->token_gen = parent->token_gen;
	r->status = status;
	if (retry_classify(1, 0, NULL, status, body, len, retry_after,
	    time(NULL), &r->err, &retryable) == 0) {
		mv_err_set(&r->err, MV_E_INTERNAL, "%s: answered %ld as a "
		    "failure", r->what, status);
		req_complete(r);
		return;
	}
	engine_retry(e, r, CURLE_OK, retryable);
}

static void
engine_collect(struct http_engine *e)
{
	struct http_req *r;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r != NULL)
			engine_finished(e, r, m->data.result);
	}
}

int
http_run(struct http_engine *e)
{
	int64_t wake;
	int running, timeout;

	for (;;) {
		wake = engine_dispatch(e);
		if (e->in_flight == 0 && TAILQ_EMPTY(&e->queue))
			return 0;
		if (e->in_flight > 0 &&
		    curl_multi_perform(e->multi, &running) != CURLM_OK)
			return -1;
		engine_collect(e);
		wake = engine_dispatch(e);
		if (e->in_flight == 0 && TAILQ_EMPTY(&e->queue))
			return 0;
		timeout = wake < 0 || wake > 1000 ? 1000 : (int)wake;
		if (curl_multi_poll(e->multi, NULL, 0, timeout, NULL) !=
		    CURLM_OK)
			return -1;
	}
}

int
http_call(struct http_engine *e, struct http_req *r)
{
	r->done = NULL;
	http_submit(e, r);
	if (http_run(e) == -1 && r->err.type == MV_OK)
		mv_err_set(&r->err, MV_E_INTERNAL, "curl multi failed");
	return r->err.type == MV_OK ? 0 : -1;
}

char *
http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out, *o;

	if ((out = malloc(n * 3 + 1)) == NULL)
		abort();
	for (o = out; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
