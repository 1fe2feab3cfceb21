/* sync: without a cursor, a full sync of --lookback_days through the
 * listing of fetch_emails; with one, Gmail's history since it, page after
 * page, each page folded into one change per message (its last state)
 * and printed as it comes, the added messages fetched through the same
 * batches as fetch_emails. The summary's cursor is the history id of the
 * last page: it covers exactly the changes printed before it, and a run
 * that fails part-way prints none, so nothing is ever skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmail-worker/fetch.h"
#include "common/output.h"
#include "gmail-worker/sync.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/utf8.h"

#define REASON_NONE	"no cursor"
#define REASON_EXPIRED	"cursor expired: history.list answered 404"

struct sync {
	struct gm	*g;
	json_t		*changes;	/* json mode; NULL: ndjson, printed */
	struct fetch	*emails;	/* added messages, in --format */
	struct fetch	*labels;	/* label ids a record left out */
	long		 added, deleted, relabelled;
	int		 pages;		/* of history */
	const char	*reason;	/* why a full sync; NULL: none */
	char		*cursor;
};

/* Prints (ndjson) or keeps (json) change c, stolen. */
static int
sync_emit(struct sync *s, json_t *c, struct mv_err *err)
{
	int rc = 0;

	if (s->changes)
		return json_array_append_new(s->changes, c) == 0 ? 0 :
		    mv_err_set(err, MV_E_INTERNAL, "out of memory");
	if (output_line(s->g->out, c) == -1)
		rc = mv_err_set(err, MV_E_INTERNAL, "cannot write to stdout");
	json_decref(c);
	return rc;
}

static json_t *
change_new(const char *kind, const char *id)
{
	json_t *c = json_object();

	json_object_set_new(c, "change", json_string(kind));
	json_object_set_new(c, "id", mv_json_str(id));
	return c;
}

static int
sync_deleted(struct sync *s, const char *id, struct mv_err *err)
{
	s->deleted++;
	return sync_emit(s, change_new("deleted", id), err);
}

/* A labels change with the message's current label ids (borrowed; not an
 * array: none, as Gmail leaves out an empty labelIds). */
static int
sync_relabelled(struct sync *s, const char *id, json_t *label_ids,
    struct mv_err *err)
{
	json_t *c = change_new("labels", id);

	json_object_set_new(c, "label_ids", json_is_array(label_ids) ?
	    json_incref(label_ids) : json_array());
	s->relabelled++;
	return sync_emit(s, c, err);
}

/* The sinks of the two fetches. A message gone before its get was
 * deleted after its change: deleted is then its last state. */
static int
on_added(void *arg, const char *id, json_t *email, struct mv_err *err)
{
	struct sync *s = arg;
	json_t *c = change_new("added", id);

	json_object_set_new(c, "email", email);
	s->added++;
	return sync_emit(s, c, err);
}

static int
on_gone(void *arg, const char *id, struct mv_err *err)
{
	return sync_deleted(arg, id, err);
}

static int
on_labels(void *arg, const char *id, json_t *email, struct mv_err *err)
{
	int rc = sync_relabelled(arg, id, json_object_get(email, "label_ids"),
	    err);

	json_decref(email);
	return rc;
}

/* One history page folded: each message's last state, {"change": KIND,
 * "label_ids"?}, and the order in which the messages first appear. */
struct fold {
	json_t	*state;
	json_t	*order;
};

static void
fold_set(struct fold *fd, const char *id, const char *kind, json_t *labels)
{
	json_t *st = json_object_get(fd->state, id);

	if (st == NULL) {
		st = json_object();
		json_object_set_new(fd->state, id, st);
		json_array_append_new(fd->order, json_string(id));
	}
	json_object_set_new(st, "change", json_string(kind));
	if (labels)
		json_object_set(st, "label_ids", labels);
	else
		json_object_del(st, "label_ids");
}

/* The entries of one typed array of a history record. A label change
 * does not override an addition (the get brings the current labels) nor
 * a deletion; its label ids are the record's message's, or left to a
 * metadata get when the record has none. */
static void
fold_typed(struct fold *fd, json_t *rec, const char *key, const char *kind)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(rec, key), i, e) {
		json_t *msg = json_object_get(e, "message");
		const char *id = json_string_value(json_object_get(msg, "id"));
		const char *was;

		if (id == NULL)
			continue;
		if (strcmp(kind, "labels") != 0) {
			fold_set(fd, id, kind, NULL);
			continue;
		}
		was = json_string_value(json_object_get(json_object_get(
		    fd->state, id), "change"));
		if (was == NULL || strcmp(was, "labels") == 0)
			fold_set(fd, id, kind, json_object_get(msg,
			    "labelIds"));
	}
}

static void
fold_page(struct fold *fd, json_t *page)
{
	size_t i;
	json_t *rec;

	json_array_foreach(json_object_get(page, "history"), i, rec) {
		fold_typed(fd, rec, "messagesAdded", "added");
		fold_typed(fd, rec, "labelsAdded", "labels");
		fold_typed(fd, rec, "labelsRemoved", "labels");
		fold_typed(fd, rec, "messagesDeleted", "deleted");
	}
}

static json_t *
id_ref(const char *id)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(id));
	return o;
}

/* Prints a folded page's deletions and label changes, then fetches its
 * additions (and the labels its records left out), printing them as
 * they arrive. Returns 0, or -1 with err. */
static int
fold_emit(struct sync *s, struct fold *fd, struct mv_err *err)
{
	json_t *add = json_array(), *meta = json_array(), *v, *st;
	size_t i;
	int rc = 0;

	json_array_foreach(fd->order, i, v) {
		const char *id = json_string_value(v), *kind;

		st = json_object_get(fd->state, id);
		kind = json_string_value(json_object_get(st, "change"));
		if (strcmp(kind, "added") == 0)
			json_array_append_new(add, id_ref(id));
		else if (strcmp(kind, "deleted") == 0)
			rc = sync_deleted(s, id, err);
		else if (json_object_get(st, "label_ids") == NULL)
			json_array_append_new(meta, id_ref(id));
		else
			rc = sync_relabelled(s, id, json_object_get(st,
			    "label_ids"), err);
		if (rc == -1)
			break;
	}
	if (rc == 0) {
		fetch_ids(s->emails, add);
		fetch_ids(s->labels, meta);
		if (fetch_wait(s->emails, err) == -1 ||
		    fetch_wait(s->labels, err) == -1)
			rc = -1;
	}
	json_decref(add);
	json_decref(meta);
	return rc;
}

static int
sync_page(struct sync *s, json_t *page, struct mv_err *err)
{
	struct fold fd = { json_object(), json_array() };
	int rc;

	fold_page(&fd, page);
	rc = fold_emit(s, &fd, err);
	json_decref(fd.state);
	json_decref(fd.order);
	return rc;
}

/* Replaces *dst with a copy of the string member key of o (NULL when
 * absent or empty). */
static void
take_str(char **dst, json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	free(*dst);
	*dst = NULL;
	if (v && *v && (*dst = strdup(v)) == NULL)
		abort();
}

/*
 * The history since cursor, page after page, each printed before the next
 * is asked for; s->cursor is the last page's historyId. Returns 0, 1 when
 * Gmail no longer has that history (404: do a full sync), or -1 with err.
 */
static int
sync_history(struct sync *s, const char *cursor, struct mv_err *err)
{
	char *token = NULL;
	json_t *page;
	int rc;

	do {
		if (gm_call_json(s->g, gm_req(s->g, GM_HISTORY_LIST, "GET",
		    gm_history_url(s->g, cursor, NULL, token, 1), NULL,
		    "history.list"), &page, err) == -1) {
			free(token);
			return err->type == MV_E_NOT_FOUND ? 1 : -1;
		}
		s->pages++;
		rc = sync_page(s, page, err);
		take_str(&token, page, "nextPageToken");
		take_str(&s->cursor, page, "historyId");
		json_decref(page);
	} while (rc == 0 && token != NULL);
	free(token);
	if (rc == 0 && s->cursor == NULL)
		rc = mv_err_set(err, MV_E_API, "history.list: no historyId");
	return rc;
}

/* Every message of the last --lookback_days, as added changes; the cursor
 * is the history id read before the listing starts, so that what arrives
 * during it is in the next run. */
static int
sync_full(struct sync *s, const char *reason, struct mv_err *err)
{
	s->reason = reason;
	free(s->cursor);
	s->cursor = NULL;
	if (fetch_profile(s->g, &s->cursor, err) == -1)
		return -1;
	if (s->cursor == NULL)
		return mv_err_set(err, MV_E_API, "getProfile: no historyId");
	fetch_listing(s->emails, s->g->o->lookback_days);
	return fetch_wait(s->emails, err);
}

static int
sync_changes(struct sync *s, struct mv_err *err)
{
	const char *cursor = s->g->o->cursor;
	char *ignored = NULL;
	int rc;

	if (cursor == NULL || *cursor == '\0')
		return sync_full(s, REASON_NONE, err);
	if (s->g->user_email == NULL) {		/* for the summary */
		rc = fetch_profile(s->g, &ignored, err);
		free(ignored);
		if (rc == -1)
			return -1;
	}
	if ((rc = sync_history(s, cursor, err)) != 1)
		return rc;
	log_warnx("cursor %s: history.list answered 404; doing a full sync",
	    cursor);
	return sync_full(s, REASON_EXPIRED, err);
}

static int
printable_ascii(const char *p)
{
	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return 0;
	return 1;
}

/* The options a sync takes, checked before any request. */
static int
sync_args(const struct opts *o, struct mv_err *err)
{
	const char *c = o->cursor;
	char shown[80];

	if (o->query || o->label.n || o->max_results || o->include_spam_trash)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "sync follows "
		    "the whole mailbox: no --query, --label, --max_results or "
		    "--include_spam_trash");
	if (strcmp(o->format, "full") != 0 && strcmp(o->format, "metadata"))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "sync: --format "
		    "is full or metadata");
	if (c == NULL || *c == '\0')
		return 0;
	if (strlen(c) > SYNC_CURSOR_MAX || !printable_ascii(c))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--cursor: not a "
		    "cursor (printable ASCII, at most %d bytes)",
		    SYNC_CURSOR_MAX);
	mv_quote_clean(shown, sizeof(shown), c, 64);
	if (strspn(c, "0123456789") != strlen(c) || strlen(c) > 20)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--cursor: '%s' "
		    "is not a Gmail cursor (a history id: digits)", shown);
	return 0;
}

static int
sync_summary(struct sync *s)
{
	json_t *env = mv_envelope_success(s->g->o->action, s->g->user_email);
	int rc;

	json_object_set_new(env, "full_sync", json_boolean(s->reason));
	if (s->reason)
		json_object_set_new(env, "reason", json_string(s->reason));
	json_object_set_new(env, "cursor", mv_json_str(s->cursor));
	json_object_set_new(env, "added", json_integer(s->added));
	json_object_set_new(env, "deleted", json_integer(s->deleted));
	json_object_set_new(env, "labels", json_integer(s->relabelled));
	if (s->changes)
		json_object_set(env, "changes", s->changes);
	rc = output_result(s->g->out, s->g->ndjson, env, NULL) == 0 ? 0 :
	    mv_err_exit(MV_E_INTERNAL);
	json_decref(env);
	return rc;
}

int
sync_run(struct gm *g)
{
	struct sync s;
	struct mv_err err = MV_ERR_INIT;
	struct fetch_sink add = { on_added, on_gone, &s };
	struct fetch_sink lab = { on_labels, on_gone, &s };
	int rc = -1;

	memset(&s, 0, sizeof(s));
	s.g = g;
	if (sync_args(g->o, &err) == 0 &&
	    (s.emails = fetch_new(g, g->o->format, &add, &err)) != NULL &&
	    (s.labels = fetch_new(g, "metadata", &lab, &err)) != NULL) {
		s.changes = g->ndjson ? NULL : json_array();
		rc = sync_changes(&s, &err);
		log_info("sync: %s, %d history pages: %ld added, %ld deleted, "
		    "%ld label changes", s.reason ? s.reason : "incremental",
		    s.pages, s.added, s.deleted, s.relabelled);
		fetch_report(s.emails);
	}
	rc = rc == -1 ? output_error(g->out, g->ndjson, g->o->action, &err) :
	    sync_summary(&s);
	fetch_free(s.emails);
	fetch_free(s.labels);
	json_decref(s.changes);
	free(s.cursor);
	return rc;
}
