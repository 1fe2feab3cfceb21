/* The run's context: quota profiles, token minting, URLs, labels. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gmail-worker/gmail.h"
#include "common/oauth.h"
#include "common/pace.h"
#include "shared/buf.h"
#include "shared/log.h"
#include "shared/utf8.h"

/* Units per method: Google's table for projects created before, and
 * from, 2026-05-01 (gmail-api-facts.md §4; threads.get from third-party
 * tables, Google's excerpts do not name it). */
static const int costs_classic[GM__COUNT] = {
	[GM_GET_PROFILE] = 1, [GM_LABELS_LIST] = 1, [GM_LABELS_GET] = 1,
	[GM_HISTORY_LIST] = 2, [GM_MESSAGES_LIST] = 5, [GM_MESSAGES_GET] = 5,
	[GM_ATTACHMENTS_GET] = 5, [GM_MESSAGES_MODIFY] = 5,
	[GM_MESSAGES_TRASH] = 5, [GM_MESSAGES_UNTRASH] = 5,
	[GM_MESSAGES_DELETE] = 10, [GM_MESSAGES_BATCH_MODIFY] = 50,
	[GM_MESSAGES_BATCH_DELETE] = 50, [GM_MESSAGES_SEND] = 100,
	[GM_THREADS_GET] = 10, [GM_TOKEN] = 0,
};
static const int costs_2026[GM__COUNT] = {
	[GM_GET_PROFILE] = 1, [GM_LABELS_LIST] = 1, [GM_LABELS_GET] = 1,
	[GM_HISTORY_LIST] = 2, [GM_MESSAGES_LIST] = 5, [GM_MESSAGES_GET] = 20,
	[GM_ATTACHMENTS_GET] = 20, [GM_MESSAGES_MODIFY] = 5,
	[GM_MESSAGES_TRASH] = 20, [GM_MESSAGES_UNTRASH] = 5,
	[GM_MESSAGES_DELETE] = 10, [GM_MESSAGES_BATCH_MODIFY] = 50,
	[GM_MESSAGES_BATCH_DELETE] = 50, [GM_MESSAGES_SEND] = 100,
	[GM_THREADS_GET] = 40, [GM_TOKEN] = 0,
};

static const struct {
	const char	*name;
	const int	*costs;
	double		 rate;		/* per-user units per second */
} profiles[] = {
	{ "classic", costs_classic, 15000 / 60.0 },
	{ "2026", costs_2026, 6000 / 60.0 },
};

double
gm_profile_rate(const char *name)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return profiles[i].rate;
	return -1;
}

double
gm_pace_rate(const struct opts *o)
{
	double quota = o->quota_units_per_sec >= 0 ? o->quota_units_per_sec :
	    gm_profile_rate(o->quota_profile);

	return quota > 0 ? quota * PACE_SHARE : 0;
}

static const int *
gm_profile_costs(const char *name)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return profiles[i].costs;
	return NULL;
}

static struct http_req *
mint_request(void *arg, struct mv_err *err)
{
	struct gm *g = arg;
	struct http_req *r;
	char *body;

	if ((body = oauth_token_body(&g->creds, g->token_uri, g->user_email,
	    g->scopes, time(NULL), err)) == NULL)
		return NULL;
	r = http_req_new("POST", g->token_uri, body, strlen(body),
	    "application/x-www-form-urlencoded", 0, 0, "token request");
	explicit_bzero(body, strlen(body));
	free(body);
	return r;
}

static int
mint_parse(void *arg, struct http_req *r, char **token, long *expires_in,
    struct mv_err *err)
{
	(void)arg;
	if (r->err.type != MV_OK && r->status == 0) {
		*err = r->err;		/* never got an answer */
		return -1;
	}
	return oauth_token_parse(r->status, r->resp.data, r->resp.len, token,
	    expires_in, err);
}

int
gm_init(struct gm *g, struct opts *o, const char *scopes, struct mv_err *err)
{
	struct http_opts ho = { 0 };
	struct http_minter m = { mint_request, mint_parse, g };

	g->o = o;
	g->scopes = scopes;
	g->user_email = o->user_email;
	g->ndjson = strcmp(o->output, "ndjson") == 0;
	g->out = stdout;
	if ((g->costs = gm_profile_costs(o->quota_profile)) == NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--quota_profile:"
		    " '%.32s' is neither classic nor 2026", o->quota_profile);
	ho.timeout_s = o->timeout;
	ho.max_wait_s = (int)o->max_wait;
	ho.max_in_flight = (int)o->max_in_flight;
	ho.units_per_sec = gm_pace_rate(o);
	ho.max_response = 256u << 20;
	ho.verbose = o->verbose;
	if ((g->eng = http_engine_new(&ho)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "cannot start libcurl");
	if (creds_load(o->credentials, &g->creds, err) == -1)
		return -1;
	g->have_creds = 1;
	g->token_uri = oauth_token_uri(&g->creds, o->token_uri);
	if (g->creds.type == CREDS_ACCESS_TOKEN)
		return http_set_token(g->eng, g->creds.access_token) == 0 ? 0 :
		    mv_err_set(err, MV_E_INTERNAL, "out of memory");
	if (g->creds.type == CREDS_SERVICE_ACCOUNT && g->user_email == NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "service-account "
		    "credentials need --user_email: the user to act as");
	http_set_minter(g->eng, &m);
	return 0;
}

void
gm_free(struct gm *g)
{
	http_engine_free(g->eng);
	if (g->have_creds)
		creds_free(&g->creds);
	json_decref(g->labels);
	free(g->learnt_email);
}

static char *
gm_vformat(const char *prefix, const char *fmt, va_list ap)
{
	char *tail, *s;
	size_t plen = strlen(prefix);

	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (vasprintf(&tail, fmt, ap) == -1)
		abort();
	if (asprintf(&s, "%.*s/gmail/v1/users/me%s", (int)plen, prefix,
	    tail) == -1)
		abort();
	free(tail);
	return s;
}

char *
gm_url(struct gm *g, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = gm_vformat(g->o->api_base, fmt, ap);
	va_end(ap);
	return s;
}

char *
gm_path(struct gm *g, const char *fmt, ...)
{
	va_list ap;
	char *s;

	(void)g;
	va_start(ap, fmt);
	s = gm_vformat("", fmt, ap);
	va_end(ap);
	return s;
}

char *
gm_batch_url(struct gm *g)
{
	size_t n = strlen(g->o->api_base);
	char *s;

	while (n > 0 && g->o->api_base[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s/batch/gmail/v1", (int)n, g->o->api_base) == -1)
		abort();
	return s;
}

struct http_req *
gm_req(struct gm *g, enum gm_method m, const char *http_method,
    char *url, const json_t *body, const char *what)
{
	struct http_req *r;
	char *js = NULL;

	if (body && (js = json_dumps(body, JSON_COMPACT)) == NULL)
		abort();
	r = http_req_new(http_method, url, js, js ? strlen(js) : 0,
	    js ? "application/json" : NULL, g->costs[m], HTTP_AUTH, what);
	free(js);
	free(url);
	return r;
}

int
gm_parse_json(struct http_req *r, json_t **out, struct mv_err *err)
{
	json_error_t je;

	*out = NULL;
	if (r->err.type != MV_OK) {
		*err = r->err;
		return -1;
	}
	if (r->resp.len == 0)
		return 0;
	if ((*out = json_loadb(r->resp.data, r->resp.len, 0, &je)) == NULL)
		return mv_err_set(err, MV_E_API, "%s: the answer is not JSON: "
		    "%s", r->what, je.text);
	return 0;
}

int
gm_call_json(struct gm *g, struct http_req *r, json_t **out,
    struct mv_err *err)
{
	int rc;

	http_call(g->eng, r);
	rc = gm_parse_json(r, out, err);
	http_req_free(r);
	return rc;
}

int
gm_load_labels(struct gm *g, struct mv_err *err)
{
	json_t *res;

	if (g->labels)
		return 0;
	if (gm_call_json(g, gm_req(g, GM_LABELS_LIST, "GET",
	    gm_url(g, "/labels"), NULL, "labels.list"), &res, err) == -1)
		return -1;
	g->labels = json_incref(json_object_get(res, "labels"));
	json_decref(res);
	if (!json_is_array(g->labels)) {
		json_decref(g->labels);
		g->labels = NULL;
		return mv_err_set(err, MV_E_API, "labels.list: no labels array");
	}
	return 0;
}

/* System label ids are upper-case words: INBOX, CATEGORY_SOCIAL... */
static int
is_system_id(const char *s)
{
	for (; *s; s++)
		if (!isupper((unsigned char)*s) && *s != '_' &&
		    !isdigit((unsigned char)*s))
			return 0;
	return 1;
}

const char *
gm_label_id(struct gm *g, const char *name, struct mv_err *err)
{
	size_t i;
	json_t *l;

	if (*name == '\0') {
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "empty label name");
		return NULL;
	}
	if (is_system_id(name))
		return name;
	if (gm_load_labels(g, err) == -1)
		return NULL;
	json_array_foreach(g->labels, i, l) {
		const char *id = json_string_value(json_object_get(l, "id"));
		const char *n = json_string_value(json_object_get(l, "name"));

		if (id && (strcmp(id, name) == 0 ||
		    (n && strcasecmp(n, name) == 0)))
			return id;
	}
	mv_err_set(err, MV_E_NOT_FOUND, "no label named '%.100s'", name);
	return NULL;
}

int
gm_check_id(const char *id, struct mv_err *err)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64 || strspn(id, "0123456789abcdefABCDEF"
	    "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ-_") != n) {
		err->http_status = 0;
		return mv_err_set(err, MV_E_NOT_FOUND, "invalid message id "
		    "'%.64s'", id);
	}
	return 0;
}

char *
gm_history_url(struct gm *g, const char *start, const char *label,
    const char *page, int sync_types)
{
	struct mv_buf u;
	char *s, *url;

	mv_buf_init(&u, 0);
	s = http_escape(start);
	mv_buf_printf(&u, "/history?maxResults=500&startHistoryId=%s", s);
	free(s);
	if (sync_types)
		mv_buf_puts(&u, "&historyTypes=messageAdded"
		    "&historyTypes=messageDeleted&historyTypes=labelAdded"
		    "&historyTypes=labelRemoved");
	if (label) {
		s = http_escape(label);
		mv_buf_printf(&u, "&labelId=%s", s);
		free(s);
	}
	if (page) {
		s = http_escape(page);
		mv_buf_printf(&u, "&pageToken=%s", s);
		free(s);
	}
	url = gm_url(g, "%s", u.data);
	mv_buf_free(&u);
	return url;
}
