/* The sync action (contract §5) over IMAP: a cursor holds, per folder,
 * UIDVALIDITY, HIGHESTMODSEQ (CONDSTORE) and UIDNEXT. With QRESYNC, a
 * folder's changes since the cursor are one UID FETCH (FLAGS) CHANGEDSINCE
 * with VANISHED: new UIDs are "added", old ones "labels", vanished ones
 * "deleted". Without CONDSTORE, the UIDs from UIDNEXT on are "added". A
 * folder whose UIDVALIDITY changed is synced in full, and the summary says
 * so; so it does of a folder the cursor followed that is gone (deleted or
 * renamed), whose messages nothing can list any more. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/output.h"
#include "imap-worker/actions.h"
#include "imap-worker/fetch.h"
#include "imap-worker/folders.h"
#include "imap-worker/msgid.h"
#include "shared/buf.h"
#include "shared/log.h"

#define CURSOR_MAX	1024	/* contract §5 */
#define CURSOR_TAG	"imap1"
#define VANISHED_MAX	1000000	/* UIDs one folder may report gone */

/* What the cursor knows of one folder. */
struct fcur {
	char		*folder;
	uint32_t	 uidvalidity, uidnext;
	unsigned long long modseq;	/* 0: no CONDSTORE */
};

struct cursor {
	struct fcur	*v;
	size_t		 n;
};

struct sync {
	struct session	*s;
	struct sink	 k;		/* "added" lines */
	struct cursor	 old, new;
	int		 qresync;
	int		 full;		/* some folder synced in full */
	char		 reason[512];
	json_t		*gone;		/* folders_gone, or NULL */
	size_t		 deleted, labels;
};

static void
cursor_free(struct cursor *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].folder);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* One "FOLDER,UIDVALIDITY,MODSEQ,UIDNEXT" (folder percent-encoded: the
 * id's encoding, through msgid_parse()). */
static int
cursor_item(const char *s, size_t len, struct fcur *f)
{
	char id[CURSOR_MAX + 8];
	const char *comma = memchr(s, ',', len);
	struct msgid m;
	int n;

	if (comma == NULL || len > CURSOR_MAX)
		return -1;
	if (sscanf(comma + 1, "%u,%llu,%u%n", &f->uidvalidity, &f->modseq,
	    &f->uidnext, &n) != 3 || comma + 1 + n != s + len)
		return -1;
	/* The folder goes through the id parser, as "FOLDER/1/1". */
	snprintf(id, sizeof(id), "%.*s/1/1", (int)(comma - s), s);
	if (msgid_parse(id, &m) == -1)
		return -1;
	f->folder = m.folder;
	return 0;
}

/* Parses "imap1;ITEM;ITEM...". Returns 0, or -1 (not one of ours). */
static int
cursor_parse(const char *s, struct cursor *c)
{
	const char *p, *e;
	size_t n = 1;

	memset(c, 0, sizeof(*c));
	if (strncmp(s, CURSOR_TAG, strlen(CURSOR_TAG)) != 0)
		return -1;
	for (p = s; *p; p++)
		n += *p == ';';
	if ((c->v = calloc(n, sizeof(*c->v))) == NULL)
		return -1;
	for (p = s + strlen(CURSOR_TAG); *p == ';'; p = e) {
		p++;
		e = p + strcspn(p, ";");
		if (cursor_item(p, (size_t)(e - p), &c->v[c->n]) == -1) {
			cursor_free(c);
			return -1;
		}
		c->n++;
	}
	if (*p != '\0') {
		cursor_free(c);
		return -1;
	}
	return 0;
}

/* The cursor as a new string, or NULL when it would pass CURSOR_MAX. */
static char *
cursor_format(const struct cursor *c)
{
	struct mv_buf b;
	char *id, *slash;

	mv_buf_init(&b, CURSOR_MAX + 1);
	mv_buf_puts(&b, CURSOR_TAG);
	for (size_t i = 0; i < c->n; i++) {
		if ((id = msgid_make(c->v[i].folder, 1, 1)) == NULL)
			break;
		slash = strchr(id, '/');
		*slash = '\0';
		mv_buf_printf(&b, ";%s,%u,%llu,%u", id, c->v[i].uidvalidity,
		    c->v[i].modseq, c->v[i].uidnext);
		free(id);
	}
	if (b.len > CURSOR_MAX || b.data == NULL) {
		mv_buf_free(&b);
		return NULL;
	}
	return mv_buf_steal(&b, NULL);
}

static const struct fcur *
cursor_find(const struct cursor *c, const char *folder)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].folder, folder) == 0)
			return &c->v[i];
	return NULL;
}

/* Adds a reason to the summary's, after a "; " when there is one; one
 * that would not fit is cut. */
static void __attribute__((format(printf, 2, 3)))
sync_reason(struct sync *y, const char *fmt, ...)
{
	size_t len = strlen(y->reason);
	va_list ap;

	if (len > 0 && len + 2 < sizeof(y->reason)) {
		memcpy(y->reason + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(y->reason + len, sizeof(y->reason) - len, fmt, ap);
	va_end(ap);
}

/* A "deleted" or "labels" line. */
static int
sync_line(struct sync *y, const char *change, const char *folder,
    uint32_t uid, json_t *labels, struct mv_err *err)
{
	json_t *o = json_object();
	char *id = msgid_make(folder, y->s->uidvalidity, uid);

	json_object_set_new(o, "change", json_string(change));
	json_object_set_new(o, "id", id ? json_string(id) : json_null());
	free(id);
	if (labels != NULL)
		json_object_set_new(o, "label_ids", labels);
	return sink_emit(&y->k, o, err);
}

/* Every message of the folder since --lookback_days, as "added". */
static int
sync_full(struct sync *y, const char *folder, struct mv_err *err)
{
	uint32_t *uids = NULL;
	size_t n = 0;
	int rc;

	if (fetch_search(y->s, y->s->o->lookback_days, &uids, &n, err) == -1)
		return -1;
	log_info("%s: full sync, %zu messages", folder, n);
	rc = fetch_uids(&y->k, folder, uids, n, err);
	free(uids);
	return rc;
}

/* The UIDs from uidnext on, as "added" (no CONDSTORE). */
static int
sync_new(struct sync *y, const char *folder, uint32_t from,
    struct mv_err *err)
{
	struct mailimap_search_key *key;
	clist *res = NULL;
	clistiter *it;
	uint32_t *uids;
	size_t n = 0;
	int r, rc;

	if (from >= y->s->uidnext)
		return 0;
	key = mailimap_search_key_new_uid(mailimap_set_new_interval(from, 0));
	conn_set_budget(&y->s->conn, SESSION_BUDGET * 4);
	r = mailimap_uid_search(y->s->m, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(y->s, r, "UID SEARCH", err);
	uids = calloc(clist_count(res) + 1, sizeof(*uids));
	for (it = clist_begin(res); uids && it; it = clist_next(it))
		if (*(uint32_t *)clist_content(it) >= from)
			uids[n++] = *(uint32_t *)clist_content(it);
	mailimap_search_result_free(res);
	if (uids == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	rc = fetch_uids(&y->k, folder, uids, n, err);
	free(uids);
	return rc;
}

/* VANISHED UIDs below the old UIDNEXT, as "deleted". */
static int
sync_vanished(struct sync *y, const char *folder,
    const struct mailimap_qresync_vanished *v, uint32_t below,
    struct mv_err *err)
{
	clistiter *it;
	size_t count = 0;
	uint32_t u, last;

	if (v == NULL || v->qr_known_uids == NULL)
		return 0;
	for (it = clist_begin(v->qr_known_uids->set_list); it;
	    it = clist_next(it)) {
		struct mailimap_set_item *si = clist_content(it);

		last = si->set_last == 0 || si->set_last >= below ? below - 1 :
		    si->set_last;
		for (u = si->set_first; u != 0 && u <= last; u++) {
			if (++count > VANISHED_MAX)
				return mv_err_set(err, MV_E_API, "%s: more than"
				    " %d messages vanished", folder,
				    VANISHED_MAX);
			if (sync_line(y, "deleted", folder, u, NULL, err) == -1)
				return -1;
			y->deleted++;
			if (u == UINT32_MAX)
				break;
		}
	}
	return 0;
}

/* The answers of CHANGEDSINCE: "labels" for old UIDs; new ones into
 * added[]. */
static int
sync_changed(struct sync *y, const char *folder, clist *res, uint32_t below,
    uint32_t *added, size_t *nadded, struct mv_err *err)
{
	clistiter *it;
	uint32_t uid;
	json_t *labels;

	for (it = clist_begin(res); it; it = clist_next(it)) {
		labels = fetch_label_ids(folder, clist_content(it), &uid);
		if (uid == 0) {
			json_decref(labels);
			continue;
		}
		if (uid >= below) {
			added[(*nadded)++] = uid;
			json_decref(labels);
			continue;
		}
		if (sync_line(y, "labels", folder, uid, labels, err) == -1)
			return -1;
		y->labels++;
	}
	return 0;
}

/* The changes since old->modseq (QRESYNC). */
static int
sync_qresync(struct sync *y, const char *folder, const struct fcur *old,
    struct mv_err *err)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	struct mailimap_qresync_vanished *v = NULL;
	clist *res = NULL;
	uint32_t *added = NULL;
	size_t nadded = 0;
	int r, rc;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	if (y->s->gmail)
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_xgmlabels());
	conn_set_budget(&y->s->conn, SESSION_BUDGET * 4);
	r = mailimap_uid_fetch_qresync(y->s->m, set, ft, old->modseq, &res, &v);
	mailimap_set_free(set);
	mailimap_fetch_type_free(ft);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(y->s, r, "UID FETCH CHANGEDSINCE", err);
	rc = sync_vanished(y, folder, v, old->uidnext, err);
	if (rc == 0 && (added = calloc(clist_count(res) + 1,
	    sizeof(*added))) == NULL)
		rc = mv_err_set(err, MV_E_INTERNAL, "out of memory");
	if (rc == 0)
		rc = sync_changed(y, folder, res, old->uidnext, added, &nadded,
		    err);
	if (rc == 0)
		rc = fetch_uids(&y->k, folder, added, nadded, err);
	free(added);
	mailimap_fetch_list_free(res);
	if (v != NULL)
		mailimap_qresync_vanished_free(v);
	return rc;
}

/* One folder: its state now into *now, its changes printed. */
static int
sync_folder(struct sync *y, const char *folder, struct fcur *now,
    struct mv_err *err)
{
	const struct fcur *old = cursor_find(&y->old, folder);

	if (session_examine_modseq(y->s, folder, &now->modseq, err) == -1)
		return -1;
	now->uidvalidity = y->s->uidvalidity;
	now->uidnext = y->s->uidnext;
	if (old != NULL && old->uidvalidity != now->uidvalidity) {
		y->full = 1;
		sync_reason(y, "the UIDVALIDITY of %.180s changed", folder);
		old = NULL;
	}
	if (old == NULL)
		return sync_full(y, folder, err);
	if (y->qresync && old->modseq != 0 && now->modseq != 0) {
		if (now->modseq == old->modseq)
			return 0;
		return sync_qresync(y, folder, old, err);
	}
	return sync_new(y, folder, old->uidnext, err);
}

/* 1 when f lists name. */
static int
sync_listed(const struct folders *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].name != NULL && strcmp(f->v[i].name, name) == 0)
			return 1;
	return 0;
}

/* The folders of the old cursor this run does not follow: their messages
 * are no longer where the cursor knew them, and a folder deleted or
 * renamed cannot be listed to name them. The summary says so: full_sync,
 * the reason naming them, and in folders_gone each one with the prefix of
 * its ids. f: this run's LIST (a folder it follows has no name there). */
static int
sync_gone(struct sync *y, const struct folders *f, struct mv_err *err)
{
	const struct fcur *o;
	char *id;

	for (size_t i = 0; i < y->old.n; i++) {
		o = &y->old.v[i];
		if (cursor_find(&y->new, o->folder) != NULL)
			continue;
		y->full = 1;
		sync_reason(y, "folder '%.100s' %s", o->folder,
		    sync_listed(f, o->folder) ? "is no longer synced" :
		    "is gone (deleted or renamed)");
		if ((id = msgid_make(o->folder, o->uidvalidity, 1)) == NULL)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		strrchr(id, '/')[1] = '\0';
		if (y->gone == NULL)
			y->gone = json_array();
		json_array_append_new(y->gone, json_pack("{s:s, s:I, s:s}",
		    "folder", o->folder, "uidvalidity", (json_int_t)
		    o->uidvalidity, "id_prefix", id));
		free(id);
	}
	return 0;
}

/* Every folder a fetch reads by default; on Gmail, All Mail alone (every
 * message but spam and trash, once). */
static int
sync_folders(struct sync *y, struct mv_err *err)
{
	const struct folder *all;
	struct folders f;
	size_t i;
	int rc = 0;

	if (folders_list(y->s, &f, err) == -1)
		return -1;
	all = y->s->gmail ? folders_by_role(&f, "all") : NULL;
	y->new.v = calloc(f.n + 1, sizeof(*y->new.v));
	if (y->new.v == NULL)
		rc = mv_err_set(err, MV_E_INTERNAL, "out of memory");
	for (i = 0; rc == 0 && i < f.n; i++) {
		if (all != NULL ? &f.v[i] != all : !folders_default(&f.v[i], 0))
			continue;
		y->new.v[y->new.n].folder = f.v[i].name;
		f.v[i].name = NULL;
		rc = sync_folder(y, y->new.v[y->new.n].folder,
		    &y->new.v[y->new.n], err);
		y->new.n++;
	}
	if (rc == 0)
		rc = sync_gone(y, &f, err);
	folders_free(&f);
	return rc;
}

/* The summary, with the new cursor. */
static int
sync_summary(struct sync *y)
{
	struct mv_err err = MV_ERR_INIT;
	char *cur = cursor_format(&y->new);
	json_t *env;

	if (cur == NULL) {
		json_decref(y->k.emails);
		mv_err_set(&err, MV_E_API, "sync: the cursor of %zu folders "
		    "passes %d bytes", y->new.n, CURSOR_MAX);
		return action_fail(y->s, &err);
	}
	env = action_success(y->s);
	json_object_set_new(env, "full_sync", json_boolean(y->full));
	if (y->reason[0])
		json_object_set_new(env, "reason", json_string(y->reason));
	json_object_set_new(env, "cursor", json_string(cur));
	free(cur);
	json_object_set_new(env, "added", json_integer((json_int_t)y->k.count));
	json_object_set_new(env, "deleted", json_integer((json_int_t)
	    y->deleted));
	json_object_set_new(env, "labels", json_integer((json_int_t)
	    y->labels));
	if (y->gone != NULL)
		json_object_set(env, "folders_gone", y->gone);
	if (y->k.emails != NULL)
		json_object_set_new(env, "changes", y->k.emails);
	return action_finish(y->s, env, NULL);
}

int
act_sync(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct sync y;
	int rc;

	memset(&y, 0, sizeof(y));
	y.s = s;
	y.k.s = s;
	y.k.change = "added";
	if (!s->ndjson)
		y.k.emails = json_array();
	if (s->o->cursor == NULL || *s->o->cursor == '\0') {
		y.full = 1;
		snprintf(y.reason, sizeof(y.reason), "no cursor");
	} else if (strlen(s->o->cursor) > CURSOR_MAX ||
	    cursor_parse(s->o->cursor, &y.old) == -1) {
		json_decref(y.k.emails);
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "--cursor: not a "
		    "cursor of imap-worker's");
		return action_fail(s, &err);
	}
	y.qresync = session_enable_qresync(s);
	if (sync_folders(&y, &err) == -1) {
		json_decref(y.k.emails);
		rc = action_fail(s, &err);
	} else
		rc = sync_summary(&y);
	cursor_free(&y.old);
	cursor_free(&y.new);
	json_decref(y.gone);
	return rc;
}
