/* fetch_emails: messages.list pages feed batches of messages.get whose
 * answers are decoded and, in ndjson mode, printed and freed at once, so
 * that memory stays flat whatever the mailbox size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gmail-worker/batch.h"
#include "gmail-worker/fetch.h"
#include "common/mime.h"
#include "common/output.h"
#include "shared/log.h"
#include "shared/utf8.h"

/* Stop listing while this many messages wait to be fetched. */
#define FETCH_AHEAD	1000
#define PENDING_MAX	64	/* attachment-backed bodies per message */

struct fetch {
	struct gm	*g;
	enum mime_format fmt;
	const char	*fmt_name;
	struct fetch_sink sink;		/* .email NULL: print or keep */
	int		 print;		/* ndjson: print each EMAIL */
	json_t		*emails;	/* else: one slot per listed id */
	size_t		 listed;
	size_t		 outstanding;	/* listed, not yet decoded */
	size_t		 count;
	long		 max;
	char		*q;
	char		*page_token;
	int		 want_page;	/* a next page waits for room */
	int		 strict;	/* a missing message is an error */
	int		 pages;		/* messages.list pages read */
	int		 batches;	/* batch requests sent */
	int		 resent;	/* batch parts sent again alone */
	int		 failed;
	struct mv_err	 err;
};

/* One message being fetched: its slot, and bodies still to come. */
struct fmsg {
	struct fetch	*f;
	size_t		 slot;
	char		*id;
	json_t		*msg;
	int		 waiting;
};

static void fetch_list_page(struct fetch *);
static void fetch_single(struct fetch *, const char *id, size_t slot);

static void
fetch_fail(struct fetch *f, const struct mv_err *err)
{
	if (f->failed)
		return;
	f->failed = 1;
	f->err = *err;
	http_abort(f->g->eng, err);
}

static void
fmsg_free(struct fmsg *m)
{
	json_decref(m->msg);
	free(m->id);
	free(m);
}

/* A message is done (decoded, or gone): make room for the next page. */
static void
fetch_settle(struct fetch *f)
{
	f->outstanding--;
	if (f->want_page && !f->failed && f->outstanding < FETCH_AHEAD / 2) {
		f->want_page = 0;
		fetch_list_page(f);
	}
}

static void
fetch_decode(struct fmsg *m)
{
	struct fetch *f = m->f;
	struct mv_err err = MV_ERR_INIT;
	json_t *email;

	if (f->failed)
		return;
	mv_err_clear(&err);
	if ((email = mime_email(m->msg, f->fmt, &err)) == NULL) {
		fetch_fail(f, &err);
		return;
	}
	f->count++;
	if (f->sink.email) {
		if (f->sink.email(f->sink.arg, m->id, email, &err) == -1)
			fetch_fail(f, &err);
	} else if (f->print) {
		if (output_line(f->g->out, email) == -1) {
			mv_err_set(&err, MV_E_INTERNAL, "cannot write to "
			    "stdout");
			fetch_fail(f, &err);
		}
		json_decref(email);
	} else
		json_array_set_new(f->emails, m->slot, email);
	fetch_settle(f);
}

static void
body_done(struct http_req *r, void *arg)
{
	struct fmsg *m = arg;
	json_t *part = r->arg2, *res = NULL;
	struct mv_err err = MV_ERR_INIT;

	if (gm_parse_json(r, &res, &err) == -1)
		fetch_fail(m->f, &err);
	else if (json_is_string(json_object_get(res, "data")))
		json_object_set(part, "data", json_object_get(res, "data"));
	json_decref(res);
	json_decref(part);
	http_req_free(r);
	if (--m->waiting == 0) {
		fetch_decode(m);
		fmsg_free(m);
	}
}

/* A message resource arrived: fetch bodies Gmail left out, or decode. */
static void
fetch_got(struct fetch *f, const char *id, size_t slot, json_t *msg)
{
	json_t *bodies[PENDING_MAX];
	struct fmsg *m;
	struct http_req *r;
	size_t n;

	if ((m = calloc(1, sizeof(*m))) == NULL || (m->id = strdup(id)) ==
	    NULL)
		abort();
	m->f = f;
	m->slot = slot;
	m->msg = msg;
	n = f->fmt == MIME_METADATA ? 0 :
	    mime_pending_bodies(msg, bodies, PENDING_MAX);
	if (n > PENDING_MAX)
		n = PENDING_MAX;
	if (n == 0) {
		fetch_decode(m);
		fmsg_free(m);
		return;
	}
	m->waiting = (int)n;
	for (size_t i = 0; i < n; i++) {
		char *aid = http_escape(json_string_value(json_object_get(
		    bodies[i], "attachmentId")) ?: "");
		char *eid = http_escape(id);

		r = gm_req(f->g, GM_ATTACHMENTS_GET, "GET", gm_url(f->g,
		    "/messages/%s/attachments/%s", eid, aid), NULL,
		    "attachments.get");
		free(aid);
		free(eid);
		r->done = body_done;
		r->arg = m;
		r->arg2 = json_incref(bodies[i]);
		http_submit(f->g->eng, r);
	}
}

/* A message that vanished between list and get is skipped (or handed to
 * the sink), not fatal. */
static int
fetch_gone(struct fetch *f, const char *id, long status)
{
	struct mv_err err = MV_ERR_INIT;

	if (status != 404 || f->strict)
		return 0;
	if (f->sink.gone == NULL)
		log_warnx("message %s disappeared while fetching; skipped", id);
	else if (!f->failed && f->sink.gone(f->sink.arg, id, &err) == -1)
		fetch_fail(f, &err);
	fetch_settle(f);
	return 1;
}

static void
single_done(struct http_req *r, void *arg)
{
	struct fetch *f = arg;
	struct mv_err err = MV_ERR_INIT;
	json_t *msg;
	const char *id = r->tag;

	if (r->err.type != MV_OK && fetch_gone(f, id, r->status))
		;
	else if (gm_parse_json(r, &msg, &err) == -1)
		fetch_fail(f, &err);
	else if (!json_is_object(msg)) {
		json_decref(msg);
		mv_err_set(&err, MV_E_API, "messages.get %s: not a message",
		    id);
		fetch_fail(f, &err);
	} else
		fetch_got(f, id, r->slot, msg);
	http_req_free(r);
}

/* The messages.get of one message, not yet submitted. */
static struct http_req *
fetch_single_req(struct fetch *f, const char *id, size_t slot)
{
	struct http_req *r;
	char *eid = http_escape(id);

	r = gm_req(f->g, GM_MESSAGES_GET, "GET", gm_url(f->g,
	    "/messages/%s?format=%s", eid, f->fmt_name), NULL, "messages.get");
	free(eid);
	r->done = single_done;
	r->arg = f;
	r->slot = slot;
	if ((r->tag = strdup(id)) == NULL)
		abort();
	return r;
}

static void
fetch_single(struct fetch *f, const char *id, size_t slot)
{
	http_submit(f->g->eng, fetch_single_req(f, id, slot));
}

/* The ids and slots of one batch request. */
struct fbatch {
	struct fetch	*f;
	size_t		 n;
	char		*ids[BATCH_MAX];
	size_t		 slots[BATCH_MAX];
};

static void
fbatch_part(struct fbatch *b, const struct http_req *br, size_t i,
    struct batch_part *p)
{
	struct fetch *f = b->f;
	json_t *msg;

	if (p->status == 200 && (msg = json_loadb(p->body, p->len, 0,
	    NULL)) != NULL && json_is_object(msg)) {
		fetch_got(f, b->ids[i], b->slots[i], msg);
		return;
	}
	if (p->status == 200)
		json_decref(msg);
	if (p->status == 404 && fetch_gone(f, b->ids[i], 404))
		return;
	/* A rate limit (429, or a 403 that may be one) is this call's first
	 * answer: it waits, within the batch's budget, as the whole batch
	 * would have. */
	f->resent++;
	if (p->status == 429 || p->status == 403) {
		http_submit_answered(f->g->eng, fetch_single_req(f, b->ids[i],
		    b->slots[i]), br, p->status, p->body, p->len,
		    p->retry_after);
		return;
	}
	/* Anything else (5xx, 401...) goes again on its own, with the
	 * engine's retries and token renewal. */
	fetch_single(f, b->ids[i], b->slots[i]);
}

static void
batch_done(struct http_req *r, void *arg)
{
	struct fbatch *b = arg;
	struct batch_part parts[BATCH_MAX];
	size_t i;

	memset(parts, 0, sizeof(parts));
	if (r->err.type != MV_OK)
		fetch_fail(b->f, &r->err);
	else if (batch_parse(r->resp_type, r->resp.data, r->resp.len, parts,
	    b->n) == -1) {
		log_warnx("batch answer is not multipart; fetching one by one");
		b->f->resent += (int)b->n;
		for (i = 0; i < b->n; i++)
			fetch_single(b->f, b->ids[i], b->slots[i]);
	} else
		for (i = 0; i < b->n && !b->f->failed; i++)
			fbatch_part(b, r, i, &parts[i]);
	batch_parts_clear(parts, b->n);
	for (i = 0; i < b->n; i++)
		free(b->ids[i]);
	free(b);
	http_req_free(r);
}

static void
fetch_batch(struct fetch *f, json_t *ids, size_t from, size_t n, size_t slot)
{
	struct batch_part parts[BATCH_MAX];
	struct fbatch *b;
	struct http_req *r;
	char boundary[40], ctype[80], *body, *url;
	unsigned char rnd[12];
	size_t len, i;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		abort();
	b->f = f;
	b->n = n;
	for (i = 0; i < n; i++) {
		const char *id = json_string_value(json_object_get(
		    json_array_get(ids, from + i), "id"));
		char *eid = http_escape(id ? id : "");

		if ((b->ids[i] = strdup(id ? id : "")) == NULL)
			abort();
		b->slots[i] = slot + i;
		parts[i].path = gm_path(f->g, "/messages/%s?format=%s", eid,
		    f->fmt_name);
		free(eid);
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	len = 0;
	for (i = 0; i < sizeof(rnd); i++)
		len += (size_t)snprintf(boundary + len, sizeof(boundary) - len,
		    "%02x", rnd[i]);
	snprintf(ctype, sizeof(ctype), "multipart/mixed; boundary=%s",
	    boundary);
	body = batch_build(boundary, parts, n, &len);
	for (i = 0; i < n; i++)
		free((char *)(uintptr_t)parts[i].path);
	if (body == NULL)
		abort();
	url = gm_batch_url(f->g);
	r = http_req_new("POST", url, body, len, ctype,
	    (int)n * f->g->costs[GM_MESSAGES_GET], HTTP_AUTH, "batch get");
	free(url);
	free(body);
	r->done = batch_done;
	r->arg = b;
	f->batches++;
	http_submit(f->g->eng, r);
}

/* Queues the gets of one page's ids, in batches or one by one. */
static void
fetch_page_ids(struct fetch *f, json_t *ids)
{
	size_t n = json_array_size(ids), i, chunk;
	size_t bs = (size_t)f->g->o->batch_size;
	double burst = gm_pace_rate(f->g->o);

	/* Paced: a batch may not cost more than a second of budget. */
	if (burst > 0 && bs * (size_t)f->g->costs[GM_MESSAGES_GET] > burst)
		bs = (size_t)(burst / f->g->costs[GM_MESSAGES_GET]);
	if (bs < 1)
		bs = 1;
	if (f->max > 0 && f->listed + n > (size_t)f->max)
		n = (size_t)f->max - f->listed;
	if (f->emails)
		for (i = 0; i < n; i++)
			json_array_append_new(f->emails, json_null());
	for (i = 0; i < n; i += chunk) {
		chunk = n - i < bs ? n - i : bs;
		if (chunk == 1) {
			const char *id = json_string_value(json_object_get(
			    json_array_get(ids, i), "id"));

			fetch_single(f, id ? id : "", f->listed + i);
		} else
			fetch_batch(f, ids, i, chunk, f->listed + i);
	}
	f->listed += n;
	f->outstanding += n;
}

static void
list_done(struct http_req *r, void *arg)
{
	struct fetch *f = arg;
	struct mv_err err = MV_ERR_INIT;
	json_t *res, *ids;
	const char *next;

	if (gm_parse_json(r, &res, &err) == -1) {
		fetch_fail(f, &err);
		http_req_free(r);
		return;
	}
	http_req_free(r);
	f->pages++;
	ids = json_object_get(res, "messages");
	if (ids != NULL && !json_is_array(ids)) {
		mv_err_set(&err, MV_E_API, "messages.list: messages is not an "
		    "array");
		fetch_fail(f, &err);
		json_decref(res);
		return;
	}
	if (ids)
		fetch_page_ids(f, ids);
	next = json_string_value(json_object_get(res, "nextPageToken"));
	free(f->page_token);
	f->page_token = next && *next ? strdup(next) : NULL;
	json_decref(res);
	if (f->page_token == NULL || (f->max > 0 && f->listed >= (size_t)f->max))
		return;
	if (f->outstanding < FETCH_AHEAD)
		fetch_list_page(f);
	else
		f->want_page = 1;
}

static void
fetch_list_page(struct fetch *f)
{
	struct mv_buf u;
	struct http_req *r;
	long page = 500;
	char *s;

	if (f->max > 0 && f->max - (long)f->listed < page)
		page = f->max - (long)f->listed;
	mv_buf_init(&u, 0);
	mv_buf_printf(&u, "/messages?maxResults=%ld", page);
	if (f->q) {
		s = http_escape(f->q);
		mv_buf_printf(&u, "&q=%s", s);
		free(s);
	}
	for (size_t i = 0; i < f->g->o->label.n; i++) {
		s = http_escape(f->g->o->label.v[i]);
		mv_buf_printf(&u, "&labelIds=%s", s);
		free(s);
	}
	if (f->g->o->include_spam_trash)
		mv_buf_puts(&u, "&includeSpamTrash=true");
	if (f->page_token) {
		s = http_escape(f->page_token);
		mv_buf_printf(&u, "&pageToken=%s", s);
		free(s);
	}
	r = gm_req(f->g, GM_MESSAGES_LIST, "GET", gm_url(f->g, "%s", u.data),
	    NULL, "messages.list");
	mv_buf_free(&u);
	r->done = list_done;
	r->arg = f;
	http_submit(f->g->eng, r);
}

/* "after:EPOCH" for the last days days (0: any age), ANDed with --query.
 * A cutoff at or before the epoch (36500 days is about 1926) asks for
 * every message: no after: term then, since Gmail reads a negative one as
 * no match at all. */
static char *
fetch_query(const struct opts *o, long days)
{
	char *q = NULL;
	const char *user = o->query && *o->query ? o->query : NULL;
	int group = user && (strstr(user, " OR ") || strchr(user, '{'));
	long long after = 0;

	if (days > 0)
		after = (long long)time(NULL) - days * 86400LL;
	if (after > 0) {
		if (asprintf(&q, "after:%lld%s%s%s%s", after, user ? " " : "",
		    group ? "(" : "", user ? user : "", group ? ")" : "") == -1)
			abort();
	} else if (user && (q = strdup(user)) == NULL)
		abort();
	return q;
}

/* The --format name as a mime format; returns name, or NULL with err. */
static const char *
fetch_format(const char *name, enum mime_format *fmt, struct mv_err *err)
{
	if (strcmp(name, "full") == 0)
		*fmt = MIME_FULL;
	else if (strcmp(name, "metadata") == 0)
		*fmt = MIME_METADATA;
	else if (strcmp(name, "raw") == 0)
		*fmt = MIME_RAW;
	else {
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "--format: '%.32s' is "
		    "not full, metadata or raw", name);
		return NULL;
	}
	return name;
}

int
fetch_profile(struct gm *g, char **history_id, struct mv_err *err)
{
	json_t *p;
	const char *h, *e;

	if (gm_call_json(g, gm_req(g, GM_GET_PROFILE, "GET",
	    gm_url(g, "/profile"), NULL, "getProfile"), &p, err) == -1)
		return -1;
	h = json_string_value(json_object_get(p, "historyId"));
	e = json_string_value(json_object_get(p, "emailAddress"));
	*history_id = h ? strdup(h) : NULL;
	if (g->user_email == NULL && e && (g->learnt_email = strdup(e)))
		g->user_email = g->learnt_email;
	json_decref(p);
	return 0;
}

static int
fetch_labels(struct gm *g, struct mv_err *err)
{
	for (size_t i = 0; i < g->o->label.n; i++) {
		const char *id = gm_label_id(g, g->o->label.v[i], err);

		if (id == NULL)
			return -1;
		g->o->label.v[i] = id;
	}
	return 0;
}

/* Drops the slots of messages that disappeared. */
static void
fetch_compact(json_t *emails)
{
	for (size_t i = json_array_size(emails); i-- > 0;)
		if (json_is_null(json_array_get(emails, i)))
			json_array_remove(emails, i);
}

void
fetch_report(const struct fetch *f)
{
	if (f->pages > 0)
		log_info("listed %zu messages in %d pages", f->listed,
		    f->pages);
	log_info("fetched %zu messages in %d batches, %d parts sent again "
	    "alone", f->count, f->batches, f->resent);
}

/* Clears f for g, with the --format name; 0, or -1 with f->err. */
static int
fetch_init(struct fetch *f, struct gm *g, const char *format)
{
	memset(f, 0, sizeof(*f));
	f->g = g;
	mv_err_clear(&f->err);
	return (f->fmt_name = fetch_format(format, &f->fmt, &f->err)) == NULL ?
	    -1 : 0;
}

/* Runs the engine until every queued get is done. Returns 0, or -1 with
 * f->err. */
static int
fetch_drain(struct fetch *f)
{
	if (http_run(f->g->eng) == -1 && !f->failed)
		mv_err_set(&f->err, MV_E_INTERNAL, "curl multi failed"),
		    f->failed = 1;
	return f->failed ? -1 : 0;
}

int
fetch_emails(struct gm *g)
{
	struct fetch f;
	char *history_id = NULL;
	json_t *env;
	int rc;

	if (fetch_init(&f, g, g->o->format) == -1 ||
	    fetch_labels(g, &f.err) == -1 ||
	    fetch_profile(g, &history_id, &f.err) == -1)
		return output_error(g->out, g->ndjson, g->o->action, &f.err);
	f.max = g->o->max_results;
	f.q = fetch_query(g->o, g->o->days_back);
	f.print = g->ndjson;
	f.emails = g->ndjson ? NULL : json_array();
	fetch_list_page(&f);
	fetch_drain(&f);
	fetch_report(&f);
	if (f.failed) {
		rc = output_error(g->out, g->ndjson, g->o->action, &f.err);
	} else {
		env = mv_envelope_success(g->o->action, g->user_email);
		json_object_set_new(env, "count", json_integer((json_int_t)
		    f.count));
		json_object_set_new(env, "history_id", mv_json_str(history_id));
		if (f.emails) {
			fetch_compact(f.emails);
			json_object_set(env, "emails", f.emails);
		}
		rc = output_result(g->out, g->ndjson, env, NULL) == 0 ? 0 :
		    mv_err_exit(MV_E_INTERNAL);
		json_decref(env);
	}
	json_decref(f.emails);
	free(f.q);
	free(f.page_token);
	free(history_id);
	return rc;
}

int
fetch_one(struct gm *g)
{
	struct mv_err err = MV_ERR_INIT;
	const char *id;
	struct fetch f;
	json_t *env;
	int rc;

	mv_err_clear(&err);
	if (g->o->id.n != 1)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "get_email needs "
		    "exactly one --id");
	else if (fetch_init(&f, g, g->o->format) == -1)
		err = f.err;
	else
		gm_check_id(g->o->id.v[0], &err);
	if (err.type != MV_OK)
		return output_error(g->out, g->ndjson, g->o->action, &err);
	id = g->o->id.v[0];
	f.strict = 1;
	f.print = g->ndjson;
	f.emails = json_array();
	json_array_append_new(f.emails, json_null());
	f.listed = f.outstanding = 1;
	fetch_single(&f, id, 0);
	fetch_drain(&f);
	if (f.failed) {
		rc = output_error(g->out, g->ndjson, g->o->action, &f.err);
	} else {
		env = mv_envelope_success(g->o->action, g->user_email);
		json_object_set(env, "email", json_array_get(f.emails, 0));
		rc = output_result(g->out, g->ndjson, env, NULL) == 0 ? 0 :
		    mv_err_exit(MV_E_INTERNAL);
		json_decref(env);
	}
	json_decref(f.emails);
	return rc;
}

struct fetch *
fetch_new(struct gm *g, const char *format, const struct fetch_sink *sink,
    struct mv_err *err)
{
	struct fetch *f;

	if ((f = malloc(sizeof(*f))) == NULL)
		abort();
	if (fetch_init(f, g, format) == -1) {
		*err = f->err;
		free(f);
		return NULL;
	}
	f->sink = *sink;
	return f;
}

void
fetch_free(struct fetch *f)
{
	if (f == NULL)
		return;
	json_decref(f->emails);
	free(f->q);
	free(f->page_token);
	free(f);
}

void
fetch_ids(struct fetch *f, json_t *ids)
{
	if (!f->failed && json_array_size(ids) > 0)
		fetch_page_ids(f, ids);
}

void
fetch_listing(struct fetch *f, long days)
{
	free(f->q);
	f->q = fetch_query(f->g->o, days);
	fetch_list_page(f);
}

int
fetch_wait(struct fetch *f, struct mv_err *err)
{
	if (fetch_drain(f) == -1) {
		*err = f->err;
		return -1;
	}
	return 0;
}


/* The thread's messages (oldest first, as threads.get gives them) into
 * slots of f->emails, their bodies fetched where Gmail left them out. */
static int
thread_fetch(struct fetch *f, const char *id)
{
	json_t *t, *msgs, *msg;
	char *eid = http_escape(id);
	size_t i;

	if (gm_call_json(f->g, gm_req(f->g, GM_THREADS_GET, "GET",
	    gm_url(f->g, "/threads/%s?format=%s", eid, f->fmt_name), NULL,
	    "threads.get"), &t, &f->err) == -1) {
		free(eid);
		return -1;
	}
	free(eid);
	if (!json_is_array(msgs = json_object_get(t, "messages"))) {
		json_decref(t);
		return mv_err_set(&f->err, MV_E_API, "threads.get: no "
		    "messages array");
	}
	json_array_foreach(msgs, i, msg) {
		const char *mid = json_string_value(json_object_get(msg, "id"));

		json_array_append_new(f->emails, json_null());
		f->listed++;
		f->outstanding++;
		fetch_got(f, mid ? mid : "", i, json_incref(msg));
	}
	json_decref(t);
	return fetch_drain(f);
}

/* get_thread's options, checked before any request. */
static int
thread_args(struct fetch *f, struct gm *g)
{
	if (fetch_init(f, g, g->o->format) == -1)
		return -1;
	if (f->fmt == MIME_RAW)
		return mv_err_set(&f->err, MV_E_INVALID_ARGUMENT, "get_thread: "
		    "--format is full or metadata");
	if (g->o->thread_id == NULL)
		return mv_err_set(&f->err, MV_E_INVALID_ARGUMENT, "get_thread "
		    "needs --thread_id");
	return gm_check_id(g->o->thread_id, &f->err);
}

int
fetch_thread(struct gm *g)
{
	struct fetch f;
	json_t *env;
	int rc;

	if (thread_args(&f, g) == -1)
		return output_error(g->out, g->ndjson, g->o->action, &f.err);
	f.strict = 1;
	f.emails = json_array();
	if (thread_fetch(&f, g->o->thread_id) == -1) {
		json_decref(f.emails);
		return output_error(g->out, g->ndjson, g->o->action, &f.err);
	}
	env = mv_envelope_success(g->o->action, g->user_email);
	json_object_set_new(env, "thread_id", mv_json_str(g->o->thread_id));
	json_object_set_new(env, "count", json_integer((json_int_t)f.count));
	json_object_set_new(env, "emails", f.emails);
	rc = output_result(g->out, g->ndjson, env, "emails") == 0 ? 0 :
	    mv_err_exit(MV_E_INTERNAL);
	json_decref(env);
	return rc;
}
