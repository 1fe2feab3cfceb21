/* mailvisorctl's HTTP client: one request to the API with libcurl, its
 * answer read with a cap, and the exit status it means. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <curl/curl.h>

#include "shared/buf.h"
#include "supervisor/ctl/ctl.h"

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif

/* What the transfer gathers. */
struct client_io {
	struct mv_buf	 body;
	int		 toobig;	/* the answer passed the cap */
};

static size_t
client_write(char *p, size_t size, size_t n, void *arg)
{
	struct client_io *io = arg;

	if (mv_buf_append(&io->body, p, size * n) == -1) {
		io->toobig = errno == EMSGSIZE;
		return 0;
	}
	return size * n;
}

int
ctl_http_exit(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
	case 413:
		return EX_USAGE;
	case 404:
	case 409:
		return EX_DATAERR;
	case 408:
		return EX_TEMPFAIL;
	case 401:
	case 403:
		return EX_NOPERM;
	case 503:
		return EX_UNAVAILABLE;
	default:
		return EX_SOFTWARE;
	}
}

/* The whole URL of req on t into b. Returns 0 or -1. */
static int
client_url(const struct ctl_target *t, const struct ctl_request *req,
    struct mv_buf *b)
{
	char path[4 * ROUTE_PARAM_MAX + 128];

	if (route_path(req->route, req->params, req->nparams, path,
	    sizeof(path)) == -1)
		return -1;
	if (mv_buf_puts(b, t->url) == -1 || mv_buf_puts(b, path) == -1)
		return -1;
	if (req->query != NULL && req->query[0] != '\0' &&
	    (mv_buf_putc(b, '?') == -1 || mv_buf_puts(b, req->query) == -1))
		return -1;
	return 0;
}

/* Wipes the Authorization line's copy in the list, then frees it. */
static void
client_headers_free(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p != NULL; p = p->next)
		if (strncmp(p->data, "Authorization:", 14) == 0)
			explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

/* The request's headers (changes: a method other than GET, which the
 * daemon takes as JSON only, an empty body too): a new list (free with
 * client_headers_free()), or NULL when out of memory. */
static struct curl_slist *
client_headers(const struct ctl_target *t, int changes)
{
	struct curl_slist *h = NULL, *n;
	char auth[CTL_TOKEN_MAX + 32];
	const char *lines[] = { "Accept: application/json", "Expect:",
	    changes ? "Content-Type: application/json" : "Content-Type:" };

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if ((n = curl_slist_append(h, lines[i])) == NULL)
			goto fail;
		h = n;
	}
	if (t->token == NULL)
		return h;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t->token);
	n = curl_slist_append(h, auth);
	explicit_bzero(auth, sizeof(auth));
	if (n != NULL)
		return n;
fail:
	client_headers_free(h);
	return NULL;
}

/* Method and body of req on the handle. body: the JSON text or NULL. */
static void
client_method(CURL *c, const struct route *r, const char *body)
{
	if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
		    body ? (long)strlen(body) : 0L);
	} else if (strcmp(r->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
}

/* The handle's options for one request. */
static void
client_setup(CURL *c, const struct ctl_target *t, long timeout,
    struct client_io *io, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mailvisorctl/" MV_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, io);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (t->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->cacert);
}

/* The exit status of a transfer that failed with rc. */
static int
client_curl_fail(CURLcode rc, const struct ctl_target *t, long timeout,
    const struct client_io *io, const char *errbuf)
{
	char url[256], why[CURL_ERROR_SIZE + 8];

	ctl_clean(url, sizeof(url), t->url, 200);
	ctl_clean(why, sizeof(why), errbuf[0] ? errbuf :
	    curl_easy_strerror(rc), CURL_ERROR_SIZE);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return ctl_fail(EX_TEMPFAIL, "%s: no answer within %ld s",
		    url, timeout);
	case CURLE_WRITE_ERROR:
		if (io->toobig)
			return ctl_fail(EX_SOFTWARE, "%s: the answer is larger "
			    "than %d bytes", url, CTL_ANSWER_MAX);
		return ctl_fail(EX_SOFTWARE, "%s: out of memory", url);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return ctl_fail(EX_USAGE, "%s (from %s): %s", url,
		    t->url_from ? t->url_from : "--url", why);
	case CURLE_OUT_OF_MEMORY:
		return ctl_fail(EX_SOFTWARE, "out of memory");
	default:
		return ctl_fail(EX_UNAVAILABLE, "cannot reach the daemon at "
		    "%s: %s", url, why);
	}
}

/* The exit status of an answer that is not 2xx, after saying why: the
 * API's error message when the body has one. */
static int
client_http_fail(CURL *c, const struct ctl_target *t, long status,
    const struct client_io *io)
{
	char msg[600], url[256];
	const char *m = NULL, *loc = NULL;
	json_t *doc;

	ctl_clean(url, sizeof(url), t->url, 200);
	doc = json_loadb(io->body.data ? io->body.data : "", io->body.len, 0,
	    NULL);
	m = json_string_value(json_object_get(json_object_get(doc, "error"),
	    "message"));
	if (m != NULL)
		ctl_fail(ctl_http_exit(status), "%s%s", ctl_clean(msg,
		    sizeof(msg), m, 500), (status == 401 && t->token == NULL) ?
		    " (no token was sent: give --token-file or set "
		    "MAILVISOR_TOKEN)" : "");
	else if (status >= 300 && status < 400 &&
	    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
	    loc != NULL)
		ctl_fail(EX_SOFTWARE, "%s: HTTP %ld, a redirect to %s "
		    "(redirects are not followed)", url, status,
		    ctl_clean(msg, sizeof(msg), loc, 300));
	else
		ctl_fail(ctl_http_exit(status), "%s: HTTP %ld without an "
		    "error message", url, status);
	json_decref(doc);
	return ctl_http_exit(status);
}

/* The 2xx answer as a JSON object in *answer. 0, or 70. */
static int
client_answer(const struct ctl_target *t, const struct client_io *io,
    json_t **answer)
{
	char url[256];
	json_error_t jerr;

	*answer = json_loadb(io->body.data ? io->body.data : "",
	    io->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (*answer != NULL && json_is_object(*answer))
		return 0;
	json_decref(*answer);
	*answer = NULL;
	return ctl_fail(EX_SOFTWARE, "%s: the answer is not a JSON object",
	    ctl_clean(url, sizeof(url), t->url, 200));
}

/* Performs the transfer prepared on c. Returns 0 or an exit status. */
static int
client_perform(CURL *c, const struct ctl_target *t, long timeout,
    struct client_io *io, json_t **answer)
{
	char errbuf[CURL_ERROR_SIZE];
	long status = 0;
	CURLcode rc;

	errbuf[0] = '\0';
	client_setup(c, t, timeout, io, errbuf);
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		return client_curl_fail(rc, t, timeout, io, errbuf);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300)
		return client_http_fail(c, t, status, io);
	return client_answer(t, io, answer);
}

int
ctl_call(const struct ctl_target *t, long timeout,
    const struct ctl_request *req, json_t **answer, char **raw)
{
	const struct route *r = route_get(req->route);
	struct client_io io;
	struct mv_buf url;
	struct curl_slist *h = NULL;
	char *body = NULL;
	CURL *c = NULL;
	int rc = EX_SOFTWARE;

	*answer = NULL;
	if (raw != NULL)
		*raw = NULL;
	mv_buf_init(&io.body, CTL_ANSWER_MAX);
	io.toobig = 0;
	mv_buf_init(&url, 0);
	if (r != NULL && r->has_body && req->body != NULL)
		body = json_dumps(req->body, JSON_COMPACT);
	else if (r != NULL && r->has_body)
		body = strdup("{}");
	if (r == NULL || (r->has_body && body == NULL))
		ctl_fail(rc, "cannot build the request");
	else if (client_url(t, req, &url) == -1)
		rc = ctl_fail(EX_USAGE, "an argument is too long for a URL");
	else if ((c = curl_easy_init()) == NULL ||
	    (h = client_headers(t, strcmp(r->method, "GET") != 0)) == NULL)
		ctl_fail(rc, "cannot start libcurl");
	else {
		curl_easy_setopt(c, CURLOPT_URL, url.data);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		client_method(c, r, body);
		rc = client_perform(c, t, timeout, &io, answer);
	}
	if (rc == 0 && raw != NULL && (*raw = mv_buf_steal(&io.body,
	    NULL)) == NULL)
		rc = ctl_fail(EX_SOFTWARE, "out of memory");
	if (c != NULL)
		curl_easy_cleanup(c);
	client_headers_free(h);
	free(body);
	mv_buf_free(&url);
	mv_buf_free(&io.body);
	return rc;
}
