/* The sync action (contract §5) over IMAP: a cursor holds, per folder,
 * UIDVALIDITY, HIGHESTMODSEQ (CONDSTORE) and UIDNEXT. With QRESYNC, a
 * folder's changes since the cursor are one UID FETCH (FLAGS) CHANGEDSINCE
 * with VANISHED: new UIDs are "added", old ones "labels", vanished ones
 * "deleted". Without QRESYNC the cursor also remembers which UIDs were
 * there (uidset.h) and, without CONDSTORE, a hash of their flags for each
 * bucket of UIDs: a pass over the folder's UIDs (UID FETCH A:B (UID
 * FLAGS) range by range, or UID SEARCH with CONDSTORE, whose CHANGEDSINCE
 * gives the flags) names the deleted ones and tells in which buckets
 * flags changed. A cursor item is
 * "FOLDER,UIDVALIDITY,MODSEQ,UIDNEXT[,SET[,FLAGS]]", SET uidset_format()'s
 * and FLAGS the buckets' hashes in base 36, separated by "."; one without
 * SET (written before) still parses. A folder whose UIDVALIDITY changed,
 * or whose deletions the cursor cannot name, is synced in full, and the
 * summary says so; so it does of a folder the cursor followed that is
 * gone (deleted or renamed), whose messages nothing can list any more. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/output.h"
#include "imap-worker/actions.h"
#include "imap-worker/fetch.h"
#include "imap-worker/folders.h"
#include "imap-worker/msgid.h"
#include "imap-worker/uidset.h"
#include "shared/buf.h"
#include "shared/log.h"

#define CURSOR_MAX	1024	/* contract §5 */
#define CURSOR_TAG	"imap1"
#define VANISHED_MAX	1000000	/* UIDs one folder may report gone */

#define GUESS_MAX	4096	/* flag sets tried for deleted messages */
#define DEL_KEEP	8	/* deleted UIDs whose flags may be guessed */
#define FB_MAX		16	/* buckets of a folder's flags hash */
#define FB_MIN		64	/* messages a bucket holds, at least */
#define PASS_CHUNK	20000	/* messages one UID FETCH of a pass reads,
				   about */

/* What the cursor knows of one folder. */
struct fcur {
	char		*folder;
	uint32_t	 uidvalidity, uidnext;
	unsigned long long modseq;	/* 0: no CONDSTORE */
	struct uidset	 set;		/* the UIDs below uidnext */
	int		 has_set;
	uint64_t	 fb[FB_MAX];	/* flags hashes: sums of flag_hash() of
					   the UIDs of each bucket */
	unsigned	 nfb;		/* buckets in fb (0: no flags hash) */
	unsigned	 wfb;		/* buckets written: divides nfb */
};

/* The deleted UIDs of one bucket: the first DEL_KEEP + 1 of them. */
struct dels {
	uint32_t	 uid[DEL_KEEP + 1];
	size_t		 n;
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
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].folder);
		uidset_free(&c->v[i].set);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* The ",SET[,FLAGS]" that may follow an item's numbers, s[0..end); FLAGS
 * is the hash of each bucket, separated by ".". */
static int
cursor_fingerprint(const char *s, const char *end, struct fcur *f)
{
	const char *comma;

	if (s == end)
		return 0;	/* written before fingerprints */
	if (*s++ != ',')
		return -1;
	if ((comma = memchr(s, ',', (size_t)(end - s))) == NULL)
		comma = end;
	if (uidset_parse(s, (size_t)(comma - s), f->uidnext, &f->set) == -1)
		return -1;
	f->has_set = 1;
	if (comma == end)
		return 0;
	for (s = comma; s < end && f->nfb < FB_MAX; f->nfb++)
		if (*s++ != (f->nfb ? '.' : ',') ||
		    uidset_b36_get(&s, end, &f->fb[f->nfb]) == -1)
			return -1;
	f->wfb = f->nfb;
	/* 1, 2, 4, 8 or 16 buckets */
	return s == end && (f->nfb & (f->nfb - 1)) == 0 ? 0 : -1;
}

/* One "FOLDER,UIDVALIDITY,MODSEQ,UIDNEXT[,SET[,FLAGS]]" (folder
 * percent-encoded: the id's encoding, through msgid_parse()). */
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
	    &f->uidnext, &n) != 3 || comma + 1 + n > s + len ||
	    cursor_fingerprint(comma + 1 + n, s + len, f) == -1)
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
			uidset_free(&c->v[c->n].set);
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

/* The flags hashes of f in wfb buckets into b. */
static int
cursor_flags(const struct fcur *f, unsigned wfb, struct mv_buf *b)
{
	unsigned j, k, per = f->nfb / wfb;
	uint64_t h;

	for (j = 0; j < wfb; j++) {
		for (h = 0, k = j * per; k < (j + 1) * per; k++)
			h += f->fb[k];
		if (mv_buf_putc(b, j ? '.' : ',') == -1 ||
		    uidset_b36_put(b, h) == -1)
			return -1;
	}
	return 0;
}

/* The cursor into b, the sets of the items hashed[i] as hashes (or left
 * out, with their flags, when hashed[i] is 2), their flags in wfb[i]
 * buckets; *widest the item whose set is the longest list of runs (that
 * a hash would shorten) or whose flags take the most room (*flags 1), or
 * c->n. */
static int
cursor_format1(const struct cursor *c, const char *hashed,
    const unsigned *wfb, struct mv_buf *b, size_t *widest, int *flags)
{
	const struct fcur *f;
	size_t len, most = 0;
	char *id;

	*widest = c->n;
	mv_buf_reset(b);
	mv_buf_puts(b, CURSOR_TAG);
	for (size_t i = 0; i < c->n; i++) {
		f = &c->v[i];
		if ((id = msgid_make(f->folder, 1, 1)) == NULL)
			return -1;
		*strchr(id, '/') = '\0';
		mv_buf_printf(b, ";%s,%u,%llu,%u", id, f->uidvalidity,
		    f->modseq, f->uidnext);
		free(id);
		if (!f->has_set || hashed[i] == 2)
			continue;
		len = b->len;
		if (mv_buf_putc(b, ',') == -1 || uidset_format(&f->set,
		    hashed[i] ? 0 : CURSOR_MAX, b) == -1)
			return -1;
		/* Runs longer than a hash could be ("h", 13 digits, ".",
		 * 13) only: shorter, they take less room than it. */
		if (b->data[len + 1] == 'r' && b->len - len > 29 &&
		    b->len - len > most) {
			most = b->len - len;
			*widest = i;
			*flags = 0;
		}
		len = b->len;
		if (f->nfb > 0 && cursor_flags(f, wfb[i], b) == -1)
			return -1;
		if (wfb[i] > 1 && b->len - len > most) {
			most = b->len - len;
			*widest = i;
			*flags = 1;
		}
	}
	return b->data == NULL ? -1 : 0;
}

/* The item with the fewest messages whose UIDs are still in the cursor
 * (hashed[i] below 2), or c->n. */
static size_t
cursor_smallest(const struct cursor *c, const char *hashed)
{
	size_t i, least = c->n;

	for (i = 0; i < c->n; i++)
		if (c->v[i].has_set && hashed[i] != 2 && (least == c->n ||
		    c->v[i].set.count < c->v[least].set.count))
			least = i;
	return least;
}

/* The cursor as a new string, or NULL when it would pass CURSOR_MAX even
 * in the form of before. While the cursor is too long, what takes the most
 * room gives way: the longest list of runs to its hash, or the most flags
 * buckets to half as many; at last, folder by folder, the UIDs and flags
 * are left out (the next sync sees only its new messages, as before). */
static char *
cursor_format(const struct cursor *c)
{
	struct mv_buf b;
	char *hashed = calloc(c->n + 1, 1);
	unsigned *wfb = calloc(c->n + 1, sizeof(*wfb));
	size_t i, widest;
	int rc = -1, flags = 0;

	mv_buf_init(&b, 0);
	for (i = 0; wfb != NULL && i < c->n; i++)
		wfb[i] = c->v[i].wfb;
	while (hashed != NULL && wfb != NULL &&
	    (rc = cursor_format1(c, hashed, wfb, &b, &widest, &flags)) == 0 &&
	    b.len > CURSOR_MAX) {
		if (widest == c->n) {
			if ((i = cursor_smallest(c, hashed)) == c->n)
				break;
			log_info("%s: its UIDs left out of a full cursor",
			    c->v[i].folder);
			hashed[i] = 2;
		} else if (flags)
			wfb[widest] /= 2;
		else
			hashed[widest] = 1;
	}
	free(hashed);
	free(wfb);
	if (rc == -1 || b.len > CURSOR_MAX) {
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

/* UID SEARCH UID first:last (last 0: "*"); *uids a new array (caller
 * frees) of the UIDs answered within, unsorted. Returns 0, or -1 with
 * err. */
static int
sync_search(struct sync *y, uint32_t first, uint32_t last, uint32_t **uids,
    size_t *n, struct mv_err *err)
{
	struct mailimap_search_key *key;
	clist *res = NULL;
	clistiter *it;
	uint32_t u;
	int r;

	*n = 0;
	key = mailimap_search_key_new_uid(mailimap_set_new_interval(first,
	    last));
	conn_set_budget(&y->s->conn, SESSION_BUDGET * 4);
	r = mailimap_uid_search(y->s->m, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(y->s, r, "UID SEARCH", err);
	*uids = calloc(clist_count(res) + 1, sizeof(**uids));
	for (it = clist_begin(res); *uids && it; it = clist_next(it)) {
		u = *(uint32_t *)clist_content(it);
		if (u >= first && (last == 0 || u <= last))
			(*uids)[(*n)++] = u;
	}
	mailimap_search_result_free(res);
	if (*uids == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	return 0;
}

/* The UIDs from uidnext on, as "added". */
static int
sync_new(struct sync *y, const char *folder, uint32_t from,
    struct mv_err *err)
{
	uint32_t *uids;
	size_t n;
	int rc;

	if (from >= y->s->uidnext)
		return 0;
	if (sync_search(y, from, 0, &uids, &n, err) == -1)
		return -1;
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

/* What a change of flags is read with: UID FLAGS, and X-GM-LABELS on
 * Gmail. New; the caller frees it. */
static struct mailimap_fetch_type *
sync_fetch_type(struct sync *y)
{
	struct mailimap_fetch_type *ft;

	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_flags());
	if (y->s->gmail)
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_xgmlabels());
	return ft;
}

/* The changes since old->modseq (QRESYNC). */
static int
sync_qresync(struct sync *y, const char *folder, const struct fcur *old,
    struct mv_err *err)
{
	struct mailimap_fetch_type *ft = sync_fetch_type(y);
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	struct mailimap_qresync_vanished *v = NULL;
	clist *res = NULL;
	uint32_t *added = NULL;
	size_t nadded = 0;
	int r, rc;

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

/* One message a pass saw. */
struct seen {
	uint32_t	 uid;
	uint64_t	 lh;		/* label_hash() of its label_ids */
	struct mailimap_msg_att *att;	/* in its pass's res, or NULL */
};

/* What a UID FETCH (UID FLAGS) saw. */
struct pass {
	clist		*res;		/* libetpan's answer (CHANGEDSINCE) */
	struct seen	*v;		/* sorted by UID */
	size_t		 n, cap;
};

/* What a chunked pass calls for each message; -1 (with err) stops it. */
typedef int pass_fn(struct sync *, const char *,
    const struct mailimap_msg_att *, void *, struct mv_err *);

static void
pass_free(struct pass *p)
{
	if (p->res != NULL)
		mailimap_fetch_list_free(p->res);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A hash of label_ids in any order: FNV-1a over the sorted names, each
 * with its NUL. */
static uint64_t
label_hash(json_t *labels)
{
	const char **name = calloc(json_array_size(labels) + 1,
	    sizeof(*name));
	uint64_t h = UIDSET_FNV;
	size_t i, n = 0;
	json_t *v;

	if (name == NULL)
		return 0;	/* then flags seem changed: labels again */
	json_array_foreach(labels, i, v)
		if (json_is_string(v))
			name[n++] = json_string_value(v);
	qsort(name, n, sizeof(*name), name_cmp);
	for (i = 0; i < n; i++)
		h = uidset_fnv(h, name[i]);
	free(name);
	return h;
}

/* A message's part of a folder's flags hash (their sum). */
static uint64_t
flag_hash(uint32_t uid, uint64_t lh)
{
	return uidset_mix(uidset_mix(uid) ^ lh);
}

/* The bucket of uid among k, of the UIDs below uidnext. */
static unsigned
flag_bucket(uint32_t uid, uint32_t uidnext, unsigned k)
{
	if (uidnext <= 1 || uid >= uidnext)
		return 0;
	return (unsigned)((uint64_t)(uid - 1) * k / (uidnext - 1));
}

static int
seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* UID FETCH first:last (UID FLAGS), X-GM-LABELS too on Gmail, in UID
 * ranges sized to hold about PASS_CHUNK messages each: fn called with each
 * message answered, each answer freed before the next is asked for (the
 * memory of a pass stays bounded whatever the folder's size). Returns 0,
 * or -1 with err. */
static int
pass_chunks(struct sync *y, const char *folder, uint32_t first,
    uint32_t last, pass_fn *fn, void *arg, struct mv_err *err)
{
	struct mailimap_fetch_type *ft;
	struct mailimap_set *set;
	uint64_t lo = first, hi, span = PASS_CHUNK;
	clist *res;
	clistiter *it;
	size_t got;
	int r, rc = 0;

	while (rc == 0 && lo <= last) {
		hi = lo + span - 1 < last ? lo + span - 1 : last;
		ft = sync_fetch_type(y);
		set = mailimap_set_new_interval((uint32_t)lo, (uint32_t)hi);
		res = NULL;
		conn_set_budget(&y->s->conn, SESSION_BUDGET * 4);
		r = mailimap_uid_fetch(y->s->m, set, ft, &res);
		mailimap_set_free(set);
		mailimap_fetch_type_free(ft);
		if (r != MAILIMAP_NO_ERROR)
			return session_fail(y->s, r, "UID FETCH", err);
		got = res != NULL ? clist_count(res) : 0;
		for (it = res ? clist_begin(res) : NULL; rc == 0 && it;
		    it = clist_next(it))
			rc = fn(y, folder, clist_content(it), arg, err);
		if (res != NULL)
			mailimap_fetch_list_free(res);
		lo = hi + 1;
		span = got == 0 ? span * 4 : span * PASS_CHUNK / got;
		span = span < 1024 ? 1024 : span > UINT32_MAX ? UINT32_MAX :
		    span;
	}
	return rc;
}

/* pass_fn: the message's UID and label hash into the pass arg. */
static int
pass_collect(struct sync *y, const char *folder,
    const struct mailimap_msg_att *att, void *arg, struct mv_err *err)
{
	struct pass *p = arg;
	struct seen *v;
	json_t *labels;
	uint32_t uid;
	uint64_t lh;

	(void)y;
	labels = fetch_label_ids(folder, att, &uid);
	lh = label_hash(labels);
	json_decref(labels);
	if (uid == 0)
		return 0;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		if ((v = realloc(p->v, p->cap * sizeof(*v))) == NULL)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		p->v = v;
	}
	p->v[p->n].uid = uid;
	p->v[p->n].lh = lh;
	p->v[p->n].att = NULL;
	p->n++;
	return 0;
}

/* UID FETCH 1:* (UID FLAGS), X-GM-LABELS too on Gmail, CHANGEDSINCE
 * modseq, into p (its answer kept). Returns 0, or -1 with err. */
static int
pass_changed(struct sync *y, const char *folder, unsigned long long modseq,
    struct pass *p, struct mv_err *err)
{
	struct mailimap_fetch_type *ft = sync_fetch_type(y);
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	clistiter *it;
	json_t *labels;
	int r;

	conn_set_budget(&y->s->conn, SESSION_BUDGET * 4);
	r = mailimap_uid_fetch_changedsince(y->s->m, set, ft, modseq, &p->res);
	mailimap_set_free(set);
	mailimap_fetch_type_free(ft);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(y->s, r, "UID FETCH CHANGEDSINCE", err);
	if (p->res == NULL)
		return 0;
	p->cap = clist_count(p->res) + 1;
	if ((p->v = calloc(p->cap, sizeof(*p->v))) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	for (it = clist_begin(p->res); it; it = clist_next(it)) {
		p->v[p->n].att = clist_content(it);
		labels = fetch_label_ids(folder, p->v[p->n].att,
		    &p->v[p->n].uid);
		p->v[p->n].lh = label_hash(labels);
		json_decref(labels);
		if (p->v[p->n].uid != 0)
			p->n++;
	}
	qsort(p->v, p->n, sizeof(*p->v), seen_cmp);
	return 0;
}

/* The set of the UIDs now below now->uidnext, and without CONDSTORE the
 * hash of their flags, into now: from UID FETCH (UID FLAGS) into p (its
 * flags wanted), else from UID SEARCH. Returns 0, or -1 with err. */
static int
track_now(struct sync *y, const char *folder, int flags, struct fcur *now,
    struct pass *p, struct mv_err *err)
{
	uint32_t *uids = NULL;
	size_t n = 0, i;
	int rc = 0;

	uidset_init(&now->set);
	now->has_set = 1;
	if (now->uidnext <= 1)
		return 0;
	if (!flags) {
		if (sync_search(y, 1, now->uidnext - 1, &uids, &n, err) == -1)
			return -1;
		rc = uidset_from(&now->set, uids, n);
		free(uids);
		return rc == 0 ? 0 : mv_err_set(err, MV_E_INTERNAL,
		    "out of memory");
	}
	if (pass_chunks(y, folder, 1, now->uidnext - 1, pass_collect, p,
	    err) == -1)
		return -1;
	qsort(p->v, p->n, sizeof(*p->v), seen_cmp);
	for (i = 0; rc == 0 && i < p->n; i++) {
		/* Unsolicited FETCHes may name others: left out. */
		if ((i > 0 && p->v[i].uid == p->v[i - 1].uid) ||
		    p->v[i].uid >= now->uidnext)
			continue;
		rc = uidset_push(&now->set, p->v[i].uid);
		now->fb[flag_bucket(p->v[i].uid, now->uidnext, FB_MAX)] +=
		    flag_hash(p->v[i].uid, p->v[i].lh);
	}
	if (now->modseq == 0) {
		now->nfb = FB_MAX;
		for (now->wfb = 1; now->wfb < FB_MAX &&
		    now->set.count >= (uint64_t)now->wfb * 2 * FB_MIN;)
			now->wfb *= 2;
	}
	return rc == 0 ? 0 : mv_err_set(err, MV_E_INTERNAL, "out of memory");
}

/* The flags hashes of the messages of p in old's buckets. */
static void
pass_flags(const struct pass *p, const struct fcur *old, uint64_t *fb)
{
	memset(fb, 0, FB_MAX * sizeof(*fb));
	for (size_t i = 0; i < p->n && p->v[i].uid < old->uidnext; i++)
		if (i == 0 || p->v[i].uid != p->v[i - 1].uid)
			fb[flag_bucket(p->v[i].uid, old->uidnext, old->nfb)] +=
			    flag_hash(p->v[i].uid, p->v[i].lh);
}

/* 1 when have plus the flag hashes of del[0..nd), each with one of the
 * label sets lh[0..nl), can make want: the flags of the messages kept are
 * those the cursor saw, whatever the deleted ones had among the label
 * sets seen now. */
static int
flags_guess(uint64_t want, uint64_t have, const uint32_t *del, size_t nd,
    const uint64_t *lh, size_t nl)
{
	if (nd == 0)
		return have == want;
	for (size_t j = 0; j < nl; j++)
		if (flags_guess(want, have + flag_hash(del[0], lh[j]), del + 1,
		    nd - 1, lh, nl))
			return 1;
	return 0;
}

/* The buckets of old whose flags changed since the cursor (a bit each),
 * the messages deleted since being del[]. */
static unsigned
flags_changed(const struct fcur *old, const struct pass *p,
    const struct dels *del)
{
	uint64_t lh[8], fb[FB_MAX], tries;
	size_t nl = 0, i, j;
	unsigned changed = 0;

	for (i = 0; i < p->n && nl < sizeof(lh) / sizeof(lh[0]); i++) {
		for (j = 0; j < nl && lh[j] != p->v[i].lh; j++)
			;
		if (j == nl)
			lh[nl++] = p->v[i].lh;
	}
	pass_flags(p, old, fb);
	for (unsigned b = 0; b < old->nfb; b++) {
		for (tries = 1, i = 0; i < del[b].n && tries <= GUESS_MAX; i++)
			tries *= nl;
		if (del[b].n > DEL_KEEP || tries > GUESS_MAX ||
		    !flags_guess(old->fb[b], fb[b], del[b].uid, del[b].n, lh,
		    nl))
			changed |= 1u << b;
	}
	return changed;
}

/* "deleted" for each UID of old->set missing from now->set, each kept in
 * del[] by old's flags bucket. Returns 0, or -1 with err. */
static int
sync_deleted(struct sync *y, const char *folder, const struct fcur *old,
    const struct fcur *now, struct dels *del, struct mv_err *err)
{
	struct dels *d;

	const struct uidrun *r;
	size_t count = 0;

	for (r = old->set.r; r < old->set.r + old->set.nr; r++)
		for (uint32_t u = r->first;; u++) {
			if (!uidset_has(&now->set, u)) {
				if (++count > VANISHED_MAX)
					return mv_err_set(err, MV_E_API, "%s: "
					    "more than %d messages deleted",
					    folder, VANISHED_MAX);
				if (sync_line(y, "deleted", folder, u, NULL,
				    err) == -1)
					return -1;
				y->deleted++;
				d = &del[flag_bucket(u, old->uidnext,
				    old->nfb ? old->nfb : 1)];
				if (d->n <= DEL_KEEP)
					d->uid[d->n] = u;
				d->n++;
			}
			if (u == r->last)
				break;
		}
	return 0;
}

/* Which labels lines a pass over buckets prints. */
struct relabel {
	uint32_t	 below;
	unsigned	 k, changed;	/* buckets; those changed, a bit each */
};

/* pass_fn: a "labels" line for a message of a changed bucket. */
static int
pass_relabel(struct sync *y, const char *folder,
    const struct mailimap_msg_att *att, void *arg, struct mv_err *err)
{
	const struct relabel *r = arg;
	json_t *labels;
	uint32_t uid;

	labels = fetch_label_ids(folder, att, &uid);
	if (uid == 0 || uid >= r->below ||
	    !(r->changed & 1u << flag_bucket(uid, r->below, r->k))) {
		json_decref(labels);
		return 0;
	}
	if (sync_line(y, "labels", folder, uid, labels, err) == -1)
		return -1;
	y->labels++;
	return 0;
}

/* "labels" for the messages below old->uidnext of the buckets whose bits
 * are set in changed: their flags read again, bucket by bucket (adjacent
 * ones at once). Returns 0, or -1 with err. */
static int
flags_labels(struct sync *y, const char *folder, const struct fcur *old,
    unsigned changed, struct mv_err *err)
{
	struct relabel r = { old->uidnext, old->nfb, changed };
	uint64_t n = old->uidnext - 1, k = old->nfb, lo, hi;
	unsigned j, e;

	for (j = 0; j < old->nfb; j = e) {
		for (e = j; e < old->nfb && (changed & 1u << e); e++)
			;
		if (e == j) {
			e++;
			continue;
		}
		/* The UIDs u with (u - 1) * k / n in [j, e). */
		lo = (j * n + k - 1) / k + 1;
		hi = (e * n + k - 1) / k;
		if (lo <= hi && pass_chunks(y, folder, (uint32_t)lo,
		    (uint32_t)hi, pass_relabel, &r, err) == -1)
			return -1;
	}
	return 0;
}

/* "labels" for the messages of p (CHANGEDSINCE's) below below. */
static int
pass_labels(struct sync *y, const char *folder, const struct pass *p,
    uint32_t below, struct mv_err *err)
{
	json_t *labels;
	uint32_t uid;

	for (size_t i = 0; i < p->n && p->v[i].uid < below; i++) {
		labels = fetch_label_ids(folder, p->v[i].att, &uid);
		if (sync_line(y, "labels", folder, uid, labels, err) == -1)
			return -1;
		y->labels++;
	}
	return 0;
}

/* The messages of p from from on, as "added". */
static int
pass_added(struct sync *y, const char *folder, const struct pass *p,
    uint32_t from, struct mv_err *err)
{
	uint32_t *uids = calloc(p->n + 1, sizeof(*uids));
	size_t n = 0;
	int rc;

	if (uids == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].uid >= from)
			uids[n++] = p->v[i].uid;
	rc = fetch_uids(&y->k, folder, uids, n, err);
	free(uids);
	return rc;
}

/* With CONDSTORE: the changes since old->modseq into p (UID FETCH
 * CHANGEDSINCE), then the set of UIDs now. While the messages are as many
 * as the cursor's and the new ones, none was deleted: the set is the
 * cursor's and the new UIDs, without asking. */
static int
track_condstore(struct sync *y, const char *folder, const struct fcur *old,
    struct fcur *now, struct pass *p, struct mv_err *err)
{
	uint64_t nnew = 0;
	size_t i;

	if (now->modseq != old->modseq &&
	    pass_changed(y, folder, old->modseq, p, err) == -1)
		return -1;
	for (i = 0; i < p->n; i++)
		nnew += p->v[i].uid >= old->uidnext &&
		    p->v[i].uid < now->uidnext;
	if (!old->has_set || y->s->exists != old->set.count + nnew)
		return track_now(y, folder, 0, now, NULL, err);
	if (uidset_copy(&now->set, &old->set) == -1)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	now->has_set = 1;
	for (i = 0; i < p->n; i++)
		if (p->v[i].uid >= old->uidnext && p->v[i].uid < now->uidnext &&
		    uidset_push(&now->set, p->v[i].uid) == -1)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	return 0;
}

/* A folder without QRESYNC, known to the cursor as old: deletions named
 * from old's set (the folder synced in full when only its hash was kept),
 * "labels" from CHANGEDSINCE, or for every old message of a bucket whose
 * flags hash changed, then the new messages. */
static int
sync_tracked(struct sync *y, const char *folder, const struct fcur *old,
    struct fcur *now, struct pass *p, struct mv_err *err)
{
	int cond = now->modseq != 0 && old->modseq != 0;
	struct dels del[FB_MAX];
	uint64_t count, hash;
	unsigned changed = 0;

	memset(del, 0, sizeof(del));
	if (cond ? track_condstore(y, folder, old, now, p, err) == -1 :
	    track_now(y, folder, 1, now, p, err) == -1)
		return -1;
	if (old->has_set) {
		uidset_below(&now->set, old->uidnext, &count, &hash);
		if ((count != old->set.count || hash != old->set.hash) &&
		    !old->set.exact) {
			y->full = 1;
			sync_reason(y, "messages of %.160s were deleted, which "
			    "the cursor cannot name", folder);
			return sync_full(y, folder, err);
		}
		if (count != old->set.count &&
		    sync_deleted(y, folder, old, now, del, err) == -1)
			return -1;
	}
	if (cond && pass_labels(y, folder, p, old->uidnext, err) == -1)
		return -1;
	if (!cond && old->nfb > 0 && old->uidnext > 1 &&
	    (changed = flags_changed(old, p, del)) != 0 &&
	    flags_labels(y, folder, old, changed, err) == -1)
		return -1;
	return pass_added(y, folder, p, old->uidnext, err);
}

/* One folder: its state now into *now, its changes printed. */
static int
sync_folder(struct sync *y, const char *folder, struct fcur *now,
    struct mv_err *err)
{
	const struct fcur *old = cursor_find(&y->old, folder);
	struct pass p = { NULL, NULL, 0, 0 };
	int rc;

	if (session_examine_modseq(y->s, folder, &now->modseq, err) == -1)
		return -1;
	now->uidvalidity = y->s->uidvalidity;
	now->uidnext = y->s->uidnext;
	if (old != NULL && old->uidvalidity != now->uidvalidity) {
		y->full = 1;
		sync_reason(y, "the UIDVALIDITY of %.180s changed", folder);
		old = NULL;
	}
	if (y->qresync && now->modseq != 0) {
		if (old == NULL)
			return sync_full(y, folder, err);
		if (old->modseq == 0)
			return sync_new(y, folder, old->uidnext, err);
		if (now->modseq == old->modseq)
			return 0;
		return sync_qresync(y, folder, old, err);
	}
	if (old == NULL) {
		rc = sync_full(y, folder, err);
		if (rc == 0)
			rc = track_now(y, folder, now->modseq == 0, now, &p,
			    err);
	} else
		rc = sync_tracked(y, folder, old, now, &p, err);
	pass_free(&p);
	return rc;
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

static int
fcur_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fcur *)a)->folder,
	    ((const struct fcur *)b)->folder);
}

/* The summary, with the new cursor (its folders in order, whatever the
 * order of LIST: nothing changed, the same cursor). */
static int
sync_summary(struct sync *y)
{
	struct mv_err err = MV_ERR_INIT;
	char *cur;
	json_t *env;

	qsort(y->new.v, y->new.n, sizeof(*y->new.v), fcur_cmp);
	cur = cursor_format(&y->new);

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
