/* Every action but fetching: profile, labels, history, send, label
 * changes, trash, delete, attachments, ping. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gmail-worker/actions.h"
#include "common/compose.h"
#include "gmail-worker/fetch.h"
#include "common/output.h"
#include "gmail-worker/sync.h"
#include "shared/b64.h"
#include "shared/buf.h"
#include "shared/log.h"
#include "shared/utf8.h"

#define SCOPE_READ	"https://www.googleapis.com/auth/gmail.readonly"
#define SCOPE_MODIFY	"https://www.googleapis.com/auth/gmail.modify"
#define SCOPE_SEND	"https://www.googleapis.com/auth/gmail.send"
#define SCOPE_FULL	"https://mail.google.com/"
/* Gmail's limit for ids in one batchModify or batchDelete. */
#define BATCH_IDS	1000
/* Bigger messages go through the upload endpoint. */
#define SEND_INLINE_MAX	(4u << 20)

static const struct action actions[] = {
	{ "archive", act_archive, SCOPE_MODIFY },
	{ "delete", act_delete, SCOPE_FULL },
	{ "fetch_emails", fetch_emails, SCOPE_READ },
	{ "get_attachment", act_get_attachment, SCOPE_READ },
	{ "get_email", fetch_one, SCOPE_READ },
	{ "get_profile", act_get_profile, SCOPE_READ },
	{ "get_thread", fetch_thread, SCOPE_READ },
	{ "list_history", act_list_history, SCOPE_READ },
	{ "list_labels", act_list_labels, SCOPE_READ },
	{ "mark_read", act_mark_read, SCOPE_MODIFY },
	{ "mark_unread", act_mark_unread, SCOPE_MODIFY },
	{ "modify_labels", act_modify_labels, SCOPE_MODIFY },
	{ "ping", act_ping, SCOPE_READ },
	{ "send_email", act_send_email, SCOPE_SEND },
	{ "sync", sync_run, SCOPE_READ },
	{ "trash", act_trash, SCOPE_MODIFY },
	{ "untrash", act_untrash, SCOPE_MODIFY },
};

const struct action *
action_find(const char *name)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

/* Prints env (stolen) as the result; returns the exit code. */
static int
finish(struct gm *g, json_t *env, const char *items)
{
	int rc = output_result(g->out, g->ndjson, env, items) == 0 ? 0 :
	    mv_err_exit(MV_E_INTERNAL);

	json_decref(env);
	return rc;
}

static int
fail(struct gm *g, const struct mv_err *err)
{
	return output_error(g->out, g->ndjson, g->o->action, err);
}

static json_t *
success(struct gm *g)
{
	return mv_envelope_success(g->o->action, g->user_email);
}

/* A JSON integer from a member that may be a number or a numeric string. */
static json_t *
int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer(json_integer_value(v));
	if (json_is_string(v))
		return json_integer(strtoll(json_string_value(v), NULL, 10));
	return json_null();
}

/* The array member key (a new reference), or a new empty array. */
static json_t *
arr_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_array(v) ? json_incref(v) : json_array();
}

static json_t *
str_of(json_t *o, const char *key)
{
	return mv_json_str(json_string_value(json_object_get(o, key)));
}

int
act_get_profile(struct gm *g)
{
	struct mv_err err = MV_ERR_INIT;
	json_t *p, *env;

	if (gm_call_json(g, gm_req(g, GM_GET_PROFILE, "GET",
	    gm_url(g, "/profile"), NULL, "getProfile"), &p, &err) == -1)
		return fail(g, &err);
	env = success(g);
	json_object_set_new(env, "email_address", str_of(p, "emailAddress"));
	json_object_set_new(env, "messages_total", int_of(p, "messagesTotal"));
	json_object_set_new(env, "threads_total", int_of(p, "threadsTotal"));
	json_object_set_new(env, "history_id", str_of(p, "historyId"));
	json_decref(p);
	return finish(g, env, NULL);
}

/* labels.get answers, one per label, into slots of the result. */
struct label_job {
	json_t		*out;
	struct mv_err	*err;
};

static void
label_done(struct http_req *r, void *arg)
{
	struct label_job *j = arg;
	json_t *l, *o = json_array_get(j->out, r->slot);
	struct mv_err err = MV_ERR_INIT;

	if (gm_parse_json(r, &l, &err) == -1) {
		if (j->err->type == MV_OK)
			*j->err = err;
	} else {
		json_object_set_new(o, "messages_total",
		    int_of(l, "messagesTotal"));
		json_object_set_new(o, "messages_unread",
		    int_of(l, "messagesUnread"));
		json_decref(l);
	}
	http_req_free(r);
}

int
act_list_labels(struct gm *g)
{
	struct mv_err err = MV_ERR_INIT;
	struct label_job j = { json_array(), &err };
	json_t *env, *l;
	size_t i;

	mv_err_clear(&err);
	if (gm_load_labels(g, &err) == -1) {
		json_decref(j.out);
		return fail(g, &err);
	}
	json_array_foreach(g->labels, i, l) {
		const char *id = json_string_value(json_object_get(l, "id"));
		char *eid = http_escape(id ? id : "");
		json_t *o = json_object();
		struct http_req *r;

		json_object_set_new(o, "id", str_of(l, "id"));
		json_object_set_new(o, "name", str_of(l, "name"));
		json_object_set_new(o, "type", str_of(l, "type"));
		json_array_append_new(j.out, o);
		r = gm_req(g, GM_LABELS_GET, "GET", gm_url(g, "/labels/%s",
		    eid), NULL, "labels.get");
		free(eid);
		r->done = label_done;
		r->arg = &j;
		r->slot = i;
		http_submit(g->eng, r);
	}
	http_run(g->eng);
	if (err.type != MV_OK) {
		json_decref(j.out);
		return fail(g, &err);
	}
	env = success(g);
	json_object_set_new(env, "labels", j.out);
	return finish(g, env, "labels");
}

/* The ids of a history record's typed array ("messagesAdded"...). */
static json_t *
history_ids(json_t *h, const char *key, int with_labels)
{
	json_t *out = json_array(), *e;
	size_t i;

	json_array_foreach(json_object_get(h, key), i, e) {
		json_t *id = str_of(json_object_get(e, "message"), "id");

		if (!with_labels) {
			json_array_append_new(out, id);
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "id", id);
		json_object_set_new(o, "label_ids", arr_of(e, "labelIds"));
		json_array_append_new(out, o);
	}
	return out;
}

static void
history_append(json_t *changes, json_t *page)
{
	json_t *h;
	size_t i;

	json_array_foreach(json_object_get(page, "history"), i, h) {
		json_t *c = json_object();

		json_object_set_new(c, "history_id", str_of(h, "id"));
		json_object_set_new(c, "messages_added",
		    history_ids(h, "messagesAdded", 0));
		json_object_set_new(c, "messages_deleted",
		    history_ids(h, "messagesDeleted", 0));
		json_object_set_new(c, "labels_added",
		    history_ids(h, "labelsAdded", 1));
		json_object_set_new(c, "labels_removed",
		    history_ids(h, "labelsRemoved", 1));
		json_array_append_new(changes, c);
	}
}

static int
history_args(struct gm *g, const char **label, struct mv_err *err)
{
	const char *h = g->o->start_history_id;

	*label = NULL;
	if (h == NULL || *h == '\0' || strspn(h, "0123456789") != strlen(h))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "list_history "
		    "needs --start_history_id, a decimal history id");
	if (g->o->label.n > 1)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "list_history "
		    "takes at most one --label");
	if (g->o->label.n == 1 &&
	    (*label = gm_label_id(g, g->o->label.v[0], err)) == NULL)
		return -1;
	return 0;
}

int
act_list_history(struct gm *g)
{
	struct mv_err err = MV_ERR_INIT;
	const char *label;
	json_t *changes, *page, *env;
	char *token = NULL, *latest = NULL;
	int pages;

	mv_err_clear(&err);
	if (history_args(g, &label, &err) == -1)
		return fail(g, &err);
	changes = json_array();
	pages = 0;
	do {
		if (gm_call_json(g, gm_req(g, GM_HISTORY_LIST, "GET",
		    gm_history_url(g, g->o->start_history_id, label, token, 0),
		    NULL, "history.list"), &page,
		    &err) == -1) {
			if (err.type == MV_E_NOT_FOUND)
				err.type = MV_E_HISTORY_EXPIRED;
			json_decref(changes);
			free(token);
			free(latest);
			return fail(g, &err);
		}
		history_append(changes, page);
		pages++;
		free(token);
		free(latest);
		token = json_string_value(json_object_get(page,
		    "nextPageToken")) ? strdup(json_string_value(
		    json_object_get(page, "nextPageToken"))) : NULL;
		latest = json_string_value(json_object_get(page, "historyId")) ?
		    strdup(json_string_value(json_object_get(page,
		    "historyId"))) : NULL;
		json_decref(page);
	} while (token != NULL);
	log_info("read %zu history records in %d pages",
	    json_array_size(changes), pages);
	env = success(g);
	json_object_set_new(env, "changes", changes);
	json_object_set_new(env, "history_id", mv_json_str(latest));
	free(latest);
	return finish(g, env, "changes");
}

/* The message to send: --raw_file as it is, or composed from options. */
static char *
send_message(struct gm *g, size_t *len, struct mv_err *err)
{
	const struct opts *o = g->o;
	struct compose_req r = {
		g->user_email, o->raw_file, o->to.v, o->cc.v, o->bcc.v,
		o->attach.v, o->to.n, o->cc.n, o->bcc.n, o->attach.n,
		o->subject, o->body, o->body_file, o->html_file, o->in_reply_to,
	};

	return compose_request(&r, len, err);
}

/* Small messages go as JSON {"raw"}, big ones to the upload endpoint as
 * multipart/related (metadata, then the message). */
static struct http_req *
send_request(struct gm *g, const char *msg, size_t len)
{
	struct http_req *r;
	json_t *body = json_object();
	char *raw, *meta, *url, *up;
	struct mv_buf b;

	if (len <= SEND_INLINE_MAX) {
		if ((raw = mv_b64_encode(msg, len, 1, 1)) == NULL)
			abort();
		json_object_set_new(body, "raw", json_string(raw));
		free(raw);
		if (g->o->thread_id)
			json_object_set_new(body, "threadId",
			    mv_json_str(g->o->thread_id));
		r = gm_req(g, GM_MESSAGES_SEND, "POST",
		    gm_url(g, "/messages/send"), body, "messages.send");
		json_decref(body);
		return r;
	}
	if (g->o->thread_id)
		json_object_set_new(body, "threadId",
		    mv_json_str(g->o->thread_id));
	meta = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	mv_buf_init(&b, 0);
	mv_buf_printf(&b, "--mailvisor_upload\r\nContent-Type: application/"
	    "json; charset=UTF-8\r\n\r\n%s\r\n--mailvisor_upload\r\n"
	    "Content-Type: message/rfc822\r\n\r\n", meta);
	mv_buf_append(&b, msg, len);
	mv_buf_puts(&b, "\r\n--mailvisor_upload--\r\n");
	free(meta);
	url = gm_url(g, "/messages/send?uploadType=multipart");
	if (asprintf(&up, "%.*s/upload%s", (int)(strstr(url, "/gmail/v1/") -
	    url), url, strstr(url, "/gmail/v1/")) == -1)
		abort();
	free(url);
	r = http_req_new("POST", up, b.data, b.len,
	    "multipart/related; boundary=mailvisor_upload",
	    g->costs[GM_MESSAGES_SEND], HTTP_AUTH | HTTP_UNSAFE,
	    "messages.send upload");
	free(up);
	mv_buf_free(&b);
	return r;
}

int
act_send_email(struct gm *g)
{
	struct mv_err err = MV_ERR_INIT;
	struct http_req *r;
	json_t *res, *env;
	char *msg;
	size_t len;

	mv_err_clear(&err);
	if ((msg = send_message(g, &len, &err)) == NULL)
		return fail(g, &err);
	r = send_request(g, msg, len);
	free(msg);
	r->flags |= HTTP_UNSAFE;
	if (gm_call_json(g, r, &res, &err) == -1)
		return fail(g, &err);
	env = success(g);
	json_object_set_new(env, "id", str_of(res, "id"));
	json_object_set_new(env, "thread_id", str_of(res, "threadId"));
	json_object_set_new(env, "label_ids", arr_of(res, "labelIds"));
	json_decref(res);
	return finish(g, env, NULL);
}

/* Checks every --id; at least one. */
static int
ids_check(struct gm *g, struct mv_err *err)
{
	if (g->o->id.n == 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "%s needs --id "
		    "(repeatable)", g->o->action);
	for (size_t i = 0; i < g->o->id.n; i++)
		if (gm_check_id(g->o->id.v[i], err) == -1)
			return -1;
	return 0;
}

/* Label names or ids to a JSON array of ids. */
static json_t *
label_ids(struct gm *g, const struct strlist *l, struct mv_err *err)
{
	json_t *out = json_array();
	const char *id;

	for (size_t i = 0; i < l->n; i++) {
		if ((id = gm_label_id(g, l->v[i], err)) == NULL) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, json_string(id));
	}
	return out;
}

static json_t *
ids_slice(struct gm *g, size_t from, size_t n)
{
	json_t *a = json_array();

	for (size_t i = from; i < from + n; i++)
		json_array_append_new(a, mv_json_str(g->o->id.v[i]));
	return a;
}

/* One call per --id (trash, untrash, modify of a single message) or per
 * 1000 ids (batchModify, batchDelete), all through the engine. */
struct multi_job {
	struct mv_err	err;
};

static void
multi_done(struct http_req *r, void *arg)
{
	struct multi_job *j = arg;

	if (r->err.type != MV_OK && j->err.type == MV_OK)
		j->err = r->err;
	http_req_free(r);
}

static void
multi_submit(struct gm *g, struct multi_job *j, struct http_req *r)
{
	r->done = multi_done;
	r->arg = j;
	http_submit(g->eng, r);
}

/* Result {"<field>": N} once every call succeeded. */
static int
multi_finish(struct gm *g, struct multi_job *j, const char *field)
{
	json_t *env;

	http_run(g->eng);
	if (j->err.type != MV_OK)
		return fail(g, &j->err);
	env = success(g);
	json_object_set_new(env, field, json_integer((json_int_t)g->o->id.n));
	return finish(g, env, NULL);
}

static int
modify(struct gm *g, const struct strlist *add, const struct strlist *rm)
{
	struct multi_job j;
	json_t *a, *r, *body;
	size_t i, n;

	mv_err_clear(&j.err);
	if (ids_check(g, &j.err) == -1)
		return fail(g, &j.err);
	if (add->n + rm->n == 0) {
		mv_err_set(&j.err, MV_E_INVALID_ARGUMENT, "modify_labels "
		    "needs --add_label or --remove_label");
		return fail(g, &j.err);
	}
	if ((a = label_ids(g, add, &j.err)) == NULL)
		return fail(g, &j.err);
	if ((r = label_ids(g, rm, &j.err)) == NULL) {
		json_decref(a);
		return fail(g, &j.err);
	}
	for (i = 0; i < g->o->id.n; i += n) {
		n = g->o->id.n - i < BATCH_IDS ? g->o->id.n - i : BATCH_IDS;
		body = json_pack("{sOsO}", "addLabelIds", a, "removeLabelIds",
		    r);
		if (g->o->id.n == 1) {
			char *eid = http_escape(g->o->id.v[0]);

			multi_submit(g, &j, gm_req(g, GM_MESSAGES_MODIFY,
			    "POST", gm_url(g, "/messages/%s/modify", eid), body,
			    "messages.modify"));
			free(eid);
		} else {
			json_object_set_new(body, "ids", ids_slice(g, i, n));
			multi_submit(g, &j, gm_req(g, GM_MESSAGES_BATCH_MODIFY,
			    "POST", gm_url(g, "/messages/batchModify"), body,
			    "messages.batchModify"));
		}
		json_decref(body);
	}
	json_decref(a);
	json_decref(r);
	return multi_finish(g, &j, "modified");
}

int
act_modify_labels(struct gm *g)
{
	return modify(g, &g->o->add_label, &g->o->remove_label);
}

/* mark_read and friends: one fixed label change, no label options. */
static int
modify_fixed(struct gm *g, const char *label, int add)
{
	const char *v[1] = { label };
	struct strlist one = { v, 1 }, none = { NULL, 0 };
	struct mv_err err = MV_ERR_INIT;

	if (g->o->add_label.n || g->o->remove_label.n) {
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "%s takes no "
		    "--add_label/--remove_label (use modify_labels)",
		    g->o->action);
		return fail(g, &err);
	}
	return add ? modify(g, &one, &none) : modify(g, &none, &one);
}

int
act_mark_read(struct gm *g)
{
	return modify_fixed(g, "UNREAD", 0);
}

int
act_mark_unread(struct gm *g)
{
	return modify_fixed(g, "UNREAD", 1);
}

int
act_archive(struct gm *g)
{
	return modify_fixed(g, "INBOX", 0);
}

static int
trash_untrash(struct gm *g, enum gm_method m, const char *verb)
{
	struct multi_job j;

	mv_err_clear(&j.err);
	if (ids_check(g, &j.err) == -1)
		return fail(g, &j.err);
	for (size_t i = 0; i < g->o->id.n; i++) {
		char *eid = http_escape(g->o->id.v[i]);

		multi_submit(g, &j, gm_req(g, m, "POST", gm_url(g,
		    "/messages/%s/%s", eid, verb), NULL, m == GM_MESSAGES_TRASH ?
		    "messages.trash" : "messages.untrash"));
		free(eid);
	}
	return multi_finish(g, &j, "modified");
}

int
act_trash(struct gm *g)
{
	return trash_untrash(g, GM_MESSAGES_TRASH, "trash");
}

int
act_untrash(struct gm *g)
{
	return trash_untrash(g, GM_MESSAGES_UNTRASH, "untrash");
}

int
act_delete(struct gm *g)
{
	struct multi_job j;
	json_t *body;
	size_t i, n;

	mv_err_clear(&j.err);
	if (!g->o->confirm)
		mv_err_set(&j.err, MV_E_INVALID_ARGUMENT, "delete is permanent:"
		    " add --confirm (or use trash)");
	else
		ids_check(g, &j.err);
	if (j.err.type != MV_OK)
		return fail(g, &j.err);
	if (g->o->id.n == 1) {
		char *eid = http_escape(g->o->id.v[0]);

		multi_submit(g, &j, gm_req(g, GM_MESSAGES_DELETE, "DELETE",
		    gm_url(g, "/messages/%s", eid), NULL, "messages.delete"));
		free(eid);
		return multi_finish(g, &j, "deleted");
	}
	for (i = 0; i < g->o->id.n; i += n) {
		n = g->o->id.n - i < BATCH_IDS ? g->o->id.n - i : BATCH_IDS;
		body = json_object();
		json_object_set_new(body, "ids", ids_slice(g, i, n));
		multi_submit(g, &j, gm_req(g, GM_MESSAGES_BATCH_DELETE, "POST",
		    gm_url(g, "/messages/batchDelete"), body,
		    "messages.batchDelete"));
		json_decref(body);
	}
	return multi_finish(g, &j, "deleted");
}

int
act_get_attachment(struct gm *g)
{
	const struct opts *o = g->o;
	struct mv_err err = MV_ERR_INIT;
	unsigned char *bytes;
	const char *data;
	json_t *res, *env;
	char *eid, *eaid;
	size_t n;

	mv_err_clear(&err);
	if (o->id.n != 1 || !o->attachment_id || !o->output_file)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "get_attachment needs "
		    "one --id, --attachment_id and --output_file (FILE or -)");
	else
		gm_check_id(o->id.v[0], &err);
	if (err.type != MV_OK)
		return fail(g, &err);
	eid = http_escape(o->id.v[0]);
	eaid = http_escape(o->attachment_id);
	if (gm_call_json(g, gm_req(g, GM_ATTACHMENTS_GET, "GET", gm_url(g,
	    "/messages/%s/attachments/%s", eid, eaid), NULL,
	    "attachments.get"), &res, &err) == -1) {
		free(eid);
		free(eaid);
		return fail(g, &err);
	}
	free(eid);
	free(eaid);
	data = json_string_value(json_object_get(res, "data"));
	if (data == NULL || (bytes = mv_b64_decode(data, strlen(data), &n)) ==
	    NULL) {
		json_decref(res);
		mv_err_set(&err, MV_E_API, "attachments.get: no valid data");
		return fail(g, &err);
	}
	json_decref(res);
	if (output_write_file(o->output_file, bytes, n, &err) == -1) {
		free(bytes);
		return fail(g, &err);
	}
	free(bytes);
	env = success(g);
	json_object_set_new(env, "size", json_integer((json_int_t)n));
	json_object_set_new(env, "path", mv_json_str(o->output_file));
	if (strcmp(o->output_file, "-") == 0)
		g->out = stderr;	/* stdout holds the bytes */
	return finish(g, env, NULL);
}

int
act_ping(struct gm *g)
{
	struct mv_err err = MV_ERR_INIT;
	json_t *p, *env;
	long left;

	if (gm_call_json(g, gm_req(g, GM_GET_PROFILE, "GET",
	    gm_url(g, "/profile"), NULL, "getProfile"), &p, &err) == -1)
		return fail(g, &err);
	if (g->user_email == NULL) {
		const char *e = json_string_value(json_object_get(p,
		    "emailAddress"));

		if (e && (g->learnt_email = strdup(e)) != NULL)
			g->user_email = g->learnt_email;
	}
	json_decref(p);
	env = success(g);
	if (!json_object_get(env, "user_email"))
		json_object_set_new(env, "user_email", json_null());
	left = http_token_expires_in(g->eng);
	json_object_set_new(env, "token_expires_in", left >= 0 ?
	    json_integer(left) : json_null());
	return finish(g, env, NULL);
}
