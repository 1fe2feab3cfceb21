/* The HTTP engine: libcurl multi with reused connections (HTTP/2 where
 * offered, gzip), requests in flight capped, quota pacing, retries with
 * backoff, and bearer tokens minted and refreshed on demand. One engine
 * serves one user; everything runs in http_run(), single-threaded. */
#ifndef MV_COMMON_HTTP_H
#define MV_COMMON_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <curl/curl.h>

#include "shared/buf.h"
#include "shared/err.h"

#define HTTP_AUTH	0x01	/* send the bearer token */
#define HTTP_NO_RETRY	0x02	/* one attempt only */
#define HTTP_UNSAFE	0x04	/* not idempotent (send): retried only when
				   it surely was not carried out */

struct http_req;
typedef void (*http_done_fn)(struct http_req *, void *arg);

struct http_req {
	/* Set by the caller (http_req_new()). */
	const char	*method;	/* static string */
	char		*url;		/* owned */
	char		*body;		/* owned, may be NULL */
	size_t		 body_len;
	char		*content_type;	/* owned, may be NULL */
	int		 cost;		/* quota units */
	int		 flags;
	const char	*what;		/* for log lines; static */
	http_done_fn	 done;
	void		*arg;
	void		*arg2;		/* caller's, as it likes */
	size_t		 slot;		/* caller's */
	char		*tag;		/* caller's string, freed with r */

	/* Results, valid in done(). */
	long		 status;	/* 0: no HTTP answer */
	struct mv_buf	 resp;
	char		*resp_type;	/* Content-Type, owned */
	struct mv_err	 err;		/* type MV_OK on success */
	int		 attempts;
	int64_t		 started;	/* mono ms of this attempt */

	/* Engine state. */
	int		 retry_after;
	unsigned	 auth_gen;	/* the token it was last refused */
	int		 too_large;
	unsigned	 token_gen;
	int64_t		 not_before;
	int64_t		 deadline;
	CURL		*easy;
	struct curl_slist *hdrs;
	char		 curl_err[CURL_ERROR_SIZE];
	TAILQ_ENTRY(http_req) entry;
};

struct http_opts {
	long	 timeout_s;		/* per request */
	int	 max_wait_s;		/* retry budget */
	int	 max_in_flight;
	double	 units_per_sec;		/* 0: pacing off */
	size_t	 max_response;		/* bytes */
	int	 verbose;		/* 2: a line per request; 3: and
					   libcurl's trace, redacted */
	const char *user_agent;	/* NULL: gmail-worker's */
	const char *key_header;	/* NULL: the token goes as "Authorization:
				   Bearer TOKEN"; else in this header, bare
				   (one common/redact.c knows) */
};

/* Token minting: build the token request, then read its answer. */
struct http_minter {
	struct http_req *(*request)(void *arg, struct mv_err *);
	int (*parse)(void *arg, struct http_req *, char **token,
	    long *expires_in, struct mv_err *);
	void	*arg;
};

struct http_engine;

/* Returns a new engine or NULL (out of memory, curl refused to start). */
struct http_engine *http_engine_new(const struct http_opts *);
void http_engine_free(struct http_engine *);
/* Sets the current bearer token (copied). */
int http_set_token(struct http_engine *, const char *token);
/* Installs the minter used when there is no token or on a 401. Without
 * one, a 401 is final (a static access token). */
void http_set_minter(struct http_engine *, const struct http_minter *);
/* Seconds until the current token expires, or -1 when unknown. */
long http_token_expires_in(const struct http_engine *);

/* A new request; url and body are copied. Never NULL (aborts on OOM). */
struct http_req *http_req_new(const char *method, const char *url,
    const char *body, size_t body_len, const char *content_type, int cost,
    int flags, const char *what);
void http_req_free(struct http_req *);

/* Queues r; its done() runs from http_run(). done() may submit more
 * requests and must free r (or keep it). */
void http_submit(struct http_engine *, struct http_req *r);
/* Runs until no request is queued or in flight. Returns 0, or -1 when
 * curl itself failed. */
int http_run(struct http_engine *);
/*
 * Queues r as the next attempt of a call that was answered inside parent
 * (a part of a batch): status, body and Retry-After are that answer,
 * classified as an answer to r would be. r inherits parent's attempts,
 * token and --max_wait budget: it waits and retries as parent would have,
 * or, when no retry fits, its done() runs at once with the error (with
 * retry_after when the server named a time past the budget). status must
 * be a failure.
 */
void http_submit_answered(struct http_engine *, struct http_req *r,
    const struct http_req *parent, long status, const char *body,
    size_t len, int retry_after);
/* Submits r, runs until it is done. Returns 0 when r succeeded, else -1
 * (r->err says why). r->done must be NULL; the caller frees r. */
int http_call(struct http_engine *, struct http_req *r);
/* Stops dispatching queued requests: they finish with err (the first error
 * wins; used to abandon a fetch that can no longer succeed). */
void http_abort(struct http_engine *, const struct mv_err *err);

/* Counters for tests and benchmarks. */
struct http_stats {
	long	 requests;	/* HTTP requests sent */
	long	 retries;
	long	 refreshes;
	long	 units;
	int64_t	 paced_ms;	/* time spent waiting for the pacer */
};
void http_get_stats(const struct http_engine *, struct http_stats *);

/* Percent-encodes s for a URL query or path segment. Returns a new
 * string; caller frees. */
char *http_escape(const char *s);

#endif
