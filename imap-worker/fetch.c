/* fetch_emails and get_email: UID SEARCH, then UID FETCH of the sizes and
 * flags, then of the bodies (BODY.PEEK: nothing is marked read) in
 * batches bounded in bytes, each message decoded by common/mime into the
 * EMAIL object. On Gmail (X-GM-EXT-1) the labels and the thread come from
 * X-GM-LABELS and X-GM-THRID, and each message is read once, from All
 * Mail. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/mime.h"
#include "common/output.h"
#include "imap-worker/actions.h"
#include "imap-worker/fetch.h"
#include "imap-worker/gmlabels.h"
#include "imap-worker/folders.h"
#include "imap-worker/msgid.h"
#include "imap-worker/mutf7.h"
#include "shared/b64.h"
#include "shared/log.h"
#include "shared/utf8.h"

#define META_BATCH	200		/* UIDs per FETCH of sizes and flags */
#define BODY_BATCH	50		/* messages per FETCH of bodies */
#define BODY_BYTES	(8u << 20)	/* bytes per FETCH of bodies */
#define PER_MSG_SLACK	(64u << 10)	/* the FETCH line around a body */

/* What the first FETCH tells of one message. */
struct meta {
	uint32_t	 uid;
	uint32_t	 size;
	int64_t		 internal;	/* epoch seconds; -1 unknown */
	json_t		*labels;	/* label_ids: folder, UNREAD, ... */
	int		 seen;
	int		 gm;		/* X-GM-LABELS answered */
	uint64_t	 thrid, gmid;	/* X-GM-THRID, X-GM-MSGID (0: none) */
};

/* Appends label to labels unless it is there already. */
static void
label_add(json_t *labels, json_t *label)
{
	json_t *v;
	size_t i;

	if (label == NULL)
		return;
	json_array_foreach(labels, i, v)
		if (json_equal(v, label)) {
			json_decref(label);
			return;
		}
	json_array_append_new(labels, label);
}

/* The extension items of a FETCH answer: X-GM-LABELS, X-GM-THRID and
 * X-GM-MSGID. */
static void
meta_ext(struct meta *m, const struct mailimap_extension_data *x)
{
	const struct mailimap_msg_att_xgmlabels *gl;
	clistiter *it;

	if (x == NULL || x->ext_data == NULL)
		return;
	if (gmlabels_is(x)) {
		gl = x->ext_data;
		m->gm = 1;
		for (it = clist_begin(gl->att_labels); it; it = clist_next(it))
			if (m->labels != NULL && clist_content(it) != NULL)
				label_add(m->labels, gmlabels_api(
				    clist_content(it)));
	} else if (x->ext_extension == &mailimap_extension_xgmthrid)
		m->thrid = *(uint64_t *)x->ext_data;
	else if (x->ext_extension == &mailimap_extension_xgmmsgid)
		m->gmid = *(uint64_t *)x->ext_data;
}

static int64_t
meta_time(const struct mailimap_date_time *d)
{
	struct tm tm;
	int z, off;

	if (d == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	z = d->dt_zone < 0 ? -d->dt_zone : d->dt_zone;
	off = (z / 100) * 3600 + (z % 100) * 60;
	return (int64_t)timegm(&tm) - (d->dt_zone < 0 ? -off : off);
}

/* One flag as a label id: \Seen clears UNREAD, \Flagged is STARRED,
 * \Draft DRAFT, keywords as they are. */
static void
meta_flag(struct meta *m, const struct mailimap_flag *f)
{
	switch (f->fl_type) {
	case MAILIMAP_FLAG_SEEN:
		m->seen = 1;
		break;
	case MAILIMAP_FLAG_FLAGGED:
		label_add(m->labels, json_string("STARRED"));
		break;
	case MAILIMAP_FLAG_DRAFT:
		label_add(m->labels, json_string("DRAFT"));
		break;
	case MAILIMAP_FLAG_KEYWORD:
		/* Gmail's keywords ($NotPhishing, ...) are no labels. */
		if (f->fl_data.fl_keyword != NULL && !m->gm)
			label_add(m->labels,
			    mv_json_str(f->fl_data.fl_keyword));
		break;
	default:
		break;
	}
}

static void
meta_flags(struct meta *m, const struct mailimap_msg_att_dynamic *dyn)
{
	clistiter *it;

	if (dyn == NULL || dyn->att_list == NULL)
		return;
	for (it = clist_begin(dyn->att_list); it; it = clist_next(it)) {
		struct mailimap_flag_fetch *ff = clist_content(it);

		if (ff->fl_type == MAILIMAP_FLAG_FETCH_OTHER && ff->fl_flag)
			meta_flag(m, ff->fl_flag);
	}
}

/* Fills m from one FETCH response (UID, FLAGS, RFC822.SIZE,
 * INTERNALDATE); *body, *blen the BODY[...] section when there is one. */
static void
meta_take(struct meta *m, const struct mailimap_msg_att *att,
    const char **body, size_t *blen)
{
	clistiter *it;

	/* X-GM-LABELS first: it decides what the flags add. */
	for (it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *i = clist_content(it);

		if (i->att_type == MAILIMAP_MSG_ATT_ITEM_EXTENSION)
			meta_ext(m, i->att_data.att_extension_data);
	}
	for (it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *i = clist_content(it);
		struct mailimap_msg_att_static *st;

		if (i->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
			meta_flags(m, i->att_data.att_dyn);
			continue;
		}
		if (i->att_type == MAILIMAP_MSG_ATT_ITEM_EXTENSION)
			continue;
		st = i->att_data.att_static;
		if (st->att_type == MAILIMAP_MSG_ATT_UID)
			m->uid = st->att_data.att_uid;
		else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
			m->size = st->att_data.att_rfc822_size;
		else if (st->att_type == MAILIMAP_MSG_ATT_INTERNALDATE)
			m->internal = meta_time(st->att_data.att_internal_date);
		else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
		    body != NULL && st->att_data.att_body_section != NULL) {
			*body = st->att_data.att_body_section->sec_body_part;
			*blen = st->att_data.att_body_section->sec_length;
		}
	}
}

/* A set of UIDs as libetpan wants it. NULL when out of memory. */
static struct mailimap_set *
uid_set(const uint32_t *uids, size_t n)
{
	struct mailimap_set *set = mailimap_set_new_empty();

	for (size_t i = 0; set != NULL && i < n; i++)
		if (mailimap_set_add_single(set, uids[i]) != MAILIMAP_NO_ERROR) {
			mailimap_set_free(set);
			return NULL;
		}
	return set;
}

/* UID FETCH uids with the attributes of ft; *res the answers. */
static int
uid_fetch(struct session *s, const uint32_t *uids, size_t n,
    struct mailimap_fetch_type *ft, size_t budget, clist **res,
    struct mv_err *err)
{
	struct mailimap_set *set = uid_set(uids, n);
	int r;

	*res = NULL;
	if (set == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	conn_set_budget(&s->conn, budget);
	r = mailimap_uid_fetch(s->m, set, ft, res);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "UID FETCH", err);
	return 0;
}

/* The label ids of one FETCH answer into m->labels: on Gmail X-GM-LABELS,
 * then gm_folder (the label the folder read stands for, when not NULL),
 * the flags' and UNREAD; else the folder, UNREAD, the flags'. */
static void
meta_labels(struct meta *m, const char *folder, const char *gm_folder,
    const struct mailimap_msg_att *att)
{
	m->labels = json_array();
	meta_take(m, att, NULL, NULL);
	if (!m->gm) {
		json_array_insert_new(m->labels, 0, mv_json_str(folder));
		if (!m->seen)
			json_array_insert_new(m->labels, 1,
			    json_string("UNREAD"));
		return;
	}
	if (gm_folder != NULL)
		label_add(m->labels, mv_json_str(gm_folder));
	if (!m->seen)
		label_add(m->labels, json_string("UNREAD"));
}

json_t *
fetch_label_ids(const char *folder, const struct mailimap_msg_att *att,
    uint32_t *uid)
{
	struct meta m = { 0, 0, -1, NULL, 0, 0, 0, 0 };

	meta_labels(&m, folder, NULL, att);
	*uid = m.uid;
	return m.labels;
}

const char *
fetch_gm_folder_label(const struct folder *fo)
{
	static const struct {
		const char *role, *label;
	} map[] = {
		{ "inbox", "INBOX" }, { "sent", "SENT" }, { "drafts", "DRAFT" },
		{ "trash", "TRASH" }, { "junk", "SPAM" },
		{ "flagged", "STARRED" }, { "important", "IMPORTANT" },
	};
	size_t i;

	if (fo->role == NULL)
		return strncmp(fo->name, "[Gmail]/", 8) == 0 ||
		    strncmp(fo->name, "[Google Mail]/", 14) == 0 ? NULL :
		    strcasecmp(fo->name, "INBOX") == 0 ? "INBOX" : fo->name;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(fo->role, map[i].role) == 0)
			return map[i].label;
	return NULL;
}

/* The hexadecimal of a Gmail id, as its API prints it, into buf. */
static const char *
gm_hex(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIx64, v);
	return buf;
}

/* The first FETCH: flags, size and arrival of uids[0..n). metas[i] for
 * uids[i]; a UID the server no longer has keeps size 0 and uid 0. */
static int
fetch_meta(struct session *s, const char *folder, const char *gm_folder,
    json_t *seen, const uint32_t *uids, size_t n, struct meta *metas,
    struct mv_err *err)
{
	char hex[24];
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	clist *res;
	clistiter *it;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_internaldate());
	if (s->gmail) {
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_xgmlabels());
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_xgmthrid());
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_xgmmsgid());
	}
	if (uid_fetch(s, uids, n, ft, SESSION_BUDGET, &res, err) == -1) {
		mailimap_fetch_type_free(ft);
		return -1;
	}
	mailimap_fetch_type_free(ft);
	for (it = clist_begin(res); it; it = clist_next(it)) {
		struct meta m = { 0, 0, -1, NULL, 0, 0, 0, 0 };
		size_t i;

		meta_labels(&m, folder, gm_folder, clist_content(it));
		for (i = 0; i < n && uids[i] != m.uid; i++)
			;
		if (i == n || metas[i].uid != 0) {
			json_decref(m.labels);
			continue;
		}
		/* Gmail shows a message in each of its labels' folders: the
		 * first one read gives it, the others are left out. */
		if (seen != NULL && m.gmid != 0) {
			gm_hex(m.gmid, hex, sizeof(hex));
			if (json_object_get(seen, hex) != NULL) {
				json_decref(m.labels);
				continue;
			}
			json_object_set_new(seen, hex, json_true());
		}
		metas[i] = m;
	}
	mailimap_fetch_list_free(res);
	return 0;
}

json_t *
fetch_snippet(json_t *email)
{
	const char *t = json_string_value(json_object_get(email, "body_text"));
	char buf[1024];
	size_t o = 0, chars = 0;
	int space = 0;

	for (; t != NULL && *t && chars < 200 && o < sizeof(buf) - 5; t++) {
		unsigned char c = (unsigned char)*t;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = o > 0;
			continue;
		}
		if (space)
			buf[o++] = ' ', chars++;
		space = 0;
		buf[o++] = (char)c;
		chars += (c & 0xC0) != 0x80;
	}
	while (t != NULL && *t && o > 0 && ((unsigned char)*t & 0xC0) == 0x80 &&
	    o < sizeof(buf) - 1)
		buf[o++] = *t++;
	return mv_json_strn(buf, o);
}

void
fetch_attachment_ids(json_t *e)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(e, "attachments"), i, a)
		json_object_set_new(a, "attachment_id", json_sprintf("%zu",
		    i + 1));
}

/* The EMAIL object of one message from its bytes and its meta. New
 * reference or NULL with err. */
static json_t *
email_build(struct session *s, const char *folder, const struct meta *m,
    const char *bytes, size_t len, int headers_only, struct mv_err *err)
{
	enum mime_format fmt = strcmp(s->o->format, "metadata") == 0 ||
	    headers_only ? MIME_METADATA : MIME_RAW;
	json_t *res = json_object(), *e;
	char *id = msgid_make(folder, s->uidvalidity, m->uid), *raw, hex[24];

	json_object_set_new(res, "id", id ? json_string(id) : json_null());
	free(id);
	json_object_set(res, "labelIds", m->labels);
	if (m->internal >= 0)
		json_object_set_new(res, "internalDate",
		    json_integer((json_int_t)m->internal * 1000));
	json_object_set_new(res, "sizeEstimate", json_integer(m->size));
	e = mime_email_bytes(bytes, len, res, fmt, err);
	json_decref(res);
	if (e == NULL)
		return NULL;
	json_object_set_new(e, "thread_id", m->thrid != 0 ?
	    json_string(gm_hex(m->thrid, hex, sizeof(hex))) : json_null());
	json_object_set_new(e, "history_id", json_null());
	if (fmt != MIME_METADATA)
		json_object_set_new(e, "snippet", fetch_snippet(e));
	if (headers_only)
		json_object_set_new(e, "too_large", json_true());
	fetch_attachment_ids(e);
	if (strcmp(s->o->format, "raw") == 0 && !headers_only) {
		raw = mv_b64_encode(bytes, len, 1, 0);
		json_object_set_new(e, "raw", raw ? json_string(raw) :
		    json_null());
		free(raw);
	}
	return e;
}

int
sink_emit(struct sink *k, json_t *obj, struct mv_err *err)
{
	if (k->emails != NULL)
		return json_array_append_new(k->emails, obj) == 0 ? 0 :
		    mv_err_set(err, MV_E_INTERNAL, "out of memory");
	if (output_line(k->s->out, obj) == -1) {
		json_decref(obj);
		return mv_err_set(err, MV_E_INTERNAL, "stdout: write failed");
	}
	json_decref(obj);
	return 0;
}

/* Hands one email to the sink (stolen), as a change line for sync.
 * Returns 0, or -1 with err. */
static int
sink_put(struct sink *k, json_t *e, struct mv_err *err)
{
	json_t *c;

	k->count++;
	if (k->change == NULL)
		return sink_emit(k, e, err);
	c = json_object();
	json_object_set_new(c, "change", json_string(k->change));
	json_object_set(c, "id", json_object_get(e, "id"));
	json_object_set_new(c, "email", e);
	return sink_emit(k, c, err);
}

/* BODY.PEEK[] (or [HEADER]) of uids[0..n), each decoded and sunk. */
static int
fetch_bodies(struct sink *k, const char *folder, const struct meta *metas,
    const uint32_t *uids, size_t n, int headers, struct mv_err *err)
{
	struct session *s = k->s;
	struct mailimap_section *sec = headers ?
	    mailimap_section_new_header() : mailimap_section_new(NULL);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	size_t budget = PER_MSG_SLACK, i;
	json_t *out[BODY_BATCH];
	clist *res;
	clistiter *it;
	int rc = 0;

	for (i = 0; i < n; i++)
		budget += PER_MSG_SLACK + (headers ? 0 : metas[i].size);
	if (headers)
		budget += n * (size_t)SESSION_BUDGET / 16;
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(sec));
	if (uid_fetch(s, uids, n, ft, budget, &res, err) == -1) {
		mailimap_fetch_type_free(ft);
		return -1;
	}
	mailimap_fetch_type_free(ft);
	memset(out, 0, sizeof(out));
	for (it = clist_begin(res); rc == 0 && it; it = clist_next(it)) {
		struct meta m = { 0, 0, -1, NULL, 0, 0, 0, 0 };
		const char *body = NULL;
		size_t blen = 0;

		meta_take(&m, clist_content(it), &body, &blen);
		for (i = 0; i < n && uids[i] != m.uid; i++)
			;
		if (i == n || body == NULL || out[i] != NULL)
			continue;
		if ((out[i] = email_build(s, folder, &metas[i], body, blen,
		    headers && strcmp(s->o->format, "metadata") != 0,
		    err)) == NULL)
			rc = -1;
	}
	mailimap_fetch_list_free(res);
	/* In the order asked (newest first), not the server's. */
	for (i = 0; i < n; i++)
		if (out[i] != NULL && rc == 0)
			rc = sink_put(k, out[i], err);
		else
			json_decref(out[i]);
	return rc;
}

/* Bodies of metas[0..n) in batches of at most BODY_BATCH messages and
 * BODY_BYTES bytes; those past --max_message_size (and every one for
 * --format metadata) by their header only. */
static int
fetch_batch(struct sink *k, const char *folder, struct meta *metas,
    size_t n, struct mv_err *err)
{
	uint32_t uids[BODY_BATCH];
	struct meta sel[BODY_BATCH];
	size_t i = 0, j, bytes;
	int meta_only = strcmp(k->s->o->format, "metadata") == 0, big;

	while (i < n) {
		if (metas[i].uid == 0) {
			i++;
			continue;
		}
		big = meta_only || metas[i].size > k->s->o->max_message_size;
		for (j = 0, bytes = 0; i < n && j < BODY_BATCH; i++) {
			if (metas[i].uid == 0)
				continue;
			if ((meta_only || metas[i].size >
			    k->s->o->max_message_size) != big)
				break;
			if (j > 0 && !big && bytes + metas[i].size > BODY_BYTES)
				break;
			bytes += metas[i].size;
			sel[j] = metas[i];
			uids[j++] = metas[i].uid;
		}
		if (fetch_bodies(k, folder, sel, uids, j, big, err) == -1)
			return -1;
	}
	return 0;
}

static void
metas_free(struct meta *metas, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(metas[i].labels);
}

/* META_BATCH UIDs at a time. */
int
fetch_uids(struct sink *k, const char *folder, const uint32_t *uids,
    size_t n, struct mv_err *err)
{
	struct meta metas[META_BATCH];
	size_t off, m;
	int rc = 0;

	for (off = 0; rc == 0 && off < n; off += m) {
		m = n - off < META_BATCH ? n - off : META_BATCH;
		memset(metas, 0, sizeof(metas));
		rc = fetch_meta(k->s, folder, k->gm_folder, k->seen,
		    uids + off, m, metas, err);
		if (rc == 0)
			rc = fetch_batch(k, folder, metas, m, err);
		metas_free(metas, m);
	}
	return rc;
}

static int uid_desc(const void *, const void *);

int
fetch_search(struct session *s, long days, uint32_t **uids, size_t *n,
    struct mv_err *err)
{
	struct mailimap_search_key *key;
	clist *res = NULL;
	clistiter *it;
	time_t t = time(NULL) - days * 86400;
	struct tm tm;
	size_t i;
	int r;

	gmtime_r(&t, &tm);
	key = days == 0 ? mailimap_search_key_new_all() :
	    mailimap_search_key_new_since(mailimap_date_new(tm.tm_mday,
	    tm.tm_mon + 1, tm.tm_year + 1900));
	conn_set_budget(&s->conn, SESSION_BUDGET * 4);
	r = mailimap_uid_search(s->m, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "UID SEARCH", err);
	*n = clist_count(res);
	*uids = calloc(*n + 1, sizeof(**uids));
	if (*uids == NULL) {
		mailimap_search_result_free(res);
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	}
	i = *n;
	for (it = clist_begin(res); it; it = clist_next(it))
		(*uids)[--i] = *(uint32_t *)clist_content(it);
	mailimap_search_result_free(res);
	qsort(*uids, *n, sizeof(**uids), uid_desc);
	return 0;
}

static int
uid_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* One folder of fetch_emails (gm_folder: the label it stands for, on
 * Gmail). */
static int
fetch_folder(struct sink *k, const char *folder, const char *gm_folder,
    struct mv_err *err)
{
	uint32_t *uids = NULL;
	size_t n = 0;
	int rc;

	if (session_examine(k->s, folder, err) == -1)
		return -1;
	if (k->s->exists == 0)
		return 0;
	if (fetch_search(k->s, k->s->o->days_back, &uids, &n, err) == -1)
		return -1;
	if (k->max > 0 && n > (size_t)k->max - k->count)
		n = (size_t)k->max - k->count;
	log_info("%s: %zu messages to fetch", folder, n);
	k->gm_folder = gm_folder;
	rc = fetch_uids(k, folder, uids, n, err);
	free(uids);
	return rc;
}

/* Drops f->v[i] from what is read (its name freed). */
static void
folder_skip(struct folders *f, size_t i)
{
	free(f->v[i].name);
	f->v[i].name = NULL;
}

/* On Gmail, the folder --label names: a folder of that name, else the
 * folder whose role a Gmail label id stands for (SENT: the \Sent one).
 * NULL when neither. */
static const struct folder *
gm_label_folder(const struct folders *all, const char *label)
{
	static const struct {
		const char *label, *role;
	} map[] = {
		{ "SENT", "sent" }, { "DRAFT", "drafts" }, { "TRASH", "trash" },
		{ "SPAM", "junk" }, { "STARRED", "flagged" },
		{ "IMPORTANT", "important" },
	};
	size_t i;

	for (i = 0; i < all->n; i++)
		if (strcmp(all->v[i].name, label) == 0 ||
		    (strcasecmp(label, "INBOX") == 0 &&
		    strcasecmp(all->v[i].name, "INBOX") == 0))
			return &all->v[i];
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(label, map[i].label) == 0)
			return folders_by_role(all, map[i].role);
	return NULL;
}

/* Gmail's folders to read: --label's, else All Mail (every message once:
 * Gmail shows it again in each label's folder), with Spam and Trash (not
 * in All Mail) for --include_spam_trash. Without an All Mail folder (hidden
 * from IMAP), the default folders, each message read once all the same. */
static int
gm_folders(struct session *s, struct folders *f, struct mv_err *err)
{
	const struct folder *fo, *all_mail;
	struct folders all;
	size_t i;

	if (folders_list(s, &all, err) == -1)
		return -1;
	if (s->o->label.n == 0) {
		all_mail = folders_by_role(&all, "all");
		for (i = 0; i < all.n; i++) {
			fo = &all.v[i];
			if (all_mail != NULL ? fo != all_mail && (fo->role ==
			    NULL || (strcmp(fo->role, "junk") != 0 &&
			    strcmp(fo->role, "trash") != 0) ||
			    !s->o->include_spam_trash) :
			    !folders_default(fo, s->o->include_spam_trash))
				folder_skip(&all, i);
		}
		*f = all;
		return 0;
	}
	f->v = calloc(s->o->label.n, sizeof(*f->v));
	if (f->v == NULL) {
		folders_free(&all);
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	}
	for (i = 0; i < s->o->label.n; i++) {
		if ((fo = gm_label_folder(&all, s->o->label.v[i])) == NULL)
			f->v[f->n].name = strdup(s->o->label.v[i]);
		else {
			f->v[f->n] = *fo;
			f->v[f->n].name = strdup(fo->name);
		}
		if (f->v[f->n++].name == NULL) {
			folders_free(&all);
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		}
	}
	folders_free(&all);
	return 0;
}

/* The folders to read: --label, else every default one. */
static int
fetch_folders(struct session *s, struct folders *f, struct mv_err *err)
{
	struct folders all;
	size_t i;

	memset(f, 0, sizeof(*f));
	if (s->gmail)
		return gm_folders(s, f, err);
	if (s->o->label.n > 0) {
		f->v = calloc(s->o->label.n, sizeof(*f->v));
		if (f->v == NULL)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		for (i = 0; i < s->o->label.n; i++)
			if ((f->v[f->n++].name = strdup(s->o->label.v[i])) ==
			    NULL)
				return mv_err_set(err, MV_E_INTERNAL, "out of "
				    "memory");
		return 0;
	}
	if (folders_list(s, &all, err) == -1)
		return -1;
	*f = all;
	for (i = 0; i < all.n; i++)
		if (!folders_default(&all.v[i], s->o->include_spam_trash))
			folder_skip(&all, i);
	return 0;
}

int
fetch_finish(struct sink *k, const struct mv_err *err)
{
	json_t *env;

	if (err != NULL) {
		json_decref(k->emails);
		return action_fail(k->s, err);
	}
	env = action_success(k->s);
	json_object_set_new(env, "count", json_integer((json_int_t)k->count));
	json_object_set_new(env, "history_id", json_null());
	if (k->emails != NULL)
		json_object_set_new(env, "emails", k->emails);
	return action_finish(k->s, env, NULL);
}

/* A message --max_results over several folders may take: its folder
 * (index in the folders read), UID and arrival. */
struct cand {
	size_t		 fi;
	uint32_t	 uid;
	int64_t		 internal;	/* -1 unknown */
};

/* Newest arrival first; then by folder, highest UID first. */
static int
cand_newest(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->internal != y->internal)
		return x->internal < y->internal ? 1 : -1;
	if (x->fi != y->fi)
		return x->fi < y->fi ? -1 : 1;
	return x->uid < y->uid ? 1 : x->uid > y->uid ? -1 : 0;
}

/* By folder, highest UID (newest) first in each. */
static int
cand_by_folder(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->fi != y->fi)
		return x->fi < y->fi ? -1 : 1;
	return x->uid < y->uid ? 1 : x->uid > y->uid ? -1 : 0;
}

/* Adds to *c the arrival of folder fi's newest k->max messages of
 * --days_back (a folder's newest by UID: only those can be among the
 * newest of all). Returns 0, or -1 with err. */
static int
cand_folder(struct sink *k, const struct folders *f, size_t fi,
    struct cand **c, size_t *nc, struct mv_err *err)
{
	struct meta metas[META_BATCH];
	uint32_t *uids = NULL;
	struct cand *v;
	size_t n = 0, off, m, j;
	int rc = 0;

	if (session_examine(k->s, f->v[fi].name, err) == -1)
		return -1;
	if (k->s->exists == 0)
		return 0;
	if (fetch_search(k->s, k->s->o->days_back, &uids, &n, err) == -1)
		return -1;
	if (n > (size_t)k->max)
		n = (size_t)k->max;
	if ((v = realloc(*c, (*nc + n + 1) * sizeof(*v))) == NULL) {
		free(uids);
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	}
	*c = v;
	for (off = 0; rc == 0 && off < n; off += m) {
		m = n - off < META_BATCH ? n - off : META_BATCH;
		memset(metas, 0, sizeof(metas));
		rc = fetch_meta(k->s, f->v[fi].name, NULL, NULL, uids + off,
		    m, metas, err);
		for (j = 0; rc == 0 && j < m; j++)
			if (metas[j].uid != 0)
				v[(*nc)++] = (struct cand){ fi, metas[j].uid,
				    metas[j].internal };
		metas_free(metas, m);
	}
	free(uids);
	return rc;
}

/*
 * --max_results over several folders: the newest N of them all, not the
 * first folders' N. Each folder's newest N by UID are the only ones that
 * can be; their arrival (the flags and sizes FETCH, without bodies) ranks
 * them all; the N newest are fetched folder by folder, newest first in
 * each. Returns 0, or -1 with err.
 */
static int
fetch_newest(struct sink *k, const struct folders *f, struct mv_err *err)
{
	struct cand *c = NULL;
	uint32_t *uids = NULL;
	size_t nc = 0, i, j, n;
	int rc = 0;

	for (i = 0; rc == 0 && i < f->n; i++)
		if (f->v[i].name != NULL)
			rc = cand_folder(k, f, i, &c, &nc, err);
	if (rc == 0 && nc > 0) {
		qsort(c, nc, sizeof(*c), cand_newest);
		if (nc > (size_t)k->max)
			nc = (size_t)k->max;
		qsort(c, nc, sizeof(*c), cand_by_folder);
		log_info("the newest %zu messages of %zu folders to fetch", nc,
		    f->n);
	}
	if (rc == 0 && nc > 0 && (uids = calloc(nc, sizeof(*uids))) == NULL)
		rc = mv_err_set(err, MV_E_INTERNAL, "out of memory");
	for (i = 0; rc == 0 && i < nc; i += n) {
		for (n = 0; i + n < nc && c[i + n].fi == c[i].fi; n++)
			uids[n] = c[i + n].uid;
		j = c[i].fi;
		k->gm_folder = k->s->gmail ? fetch_gm_folder_label(&f->v[j]) :
		    NULL;
		if ((rc = session_examine(k->s, f->v[j].name, err)) == 0)
			rc = fetch_uids(k, f->v[j].name, uids, n, err);
	}
	free(uids);
	free(c);
	return rc;
}

/* How many folders f has left to read. */
static size_t
folders_read(const struct folders *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		n += f->v[i].name != NULL;
	return n;
}

int
act_fetch_emails(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct sink k = { s, NULL, 0, s->o->max_results, NULL, NULL, NULL };
	struct folders f;
	size_t i;
	int rc = 0;

	if (!s->ndjson)
		k.emails = json_array();
	if (s->gmail)
		k.seen = json_object();
	if (fetch_folders(s, &f, &err) == -1)
		rc = -1;
	else if (k.max > 0 && folders_read(&f) > 1)
		rc = fetch_newest(&k, &f, &err);
	else
		for (i = 0; rc == 0 && i < f.n; i++)
			if (f.v[i].name != NULL && (k.max == 0 ||
			    k.count < (size_t)k.max))
				rc = fetch_folder(&k, f.v[i].name, s->gmail ?
				    fetch_gm_folder_label(&f.v[i]) : NULL,
				    &err);
	folders_free(&f);
	json_decref(k.seen);
	return fetch_finish(&k, rc == -1 ? &err : NULL);
}

int
act_get_email(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct sink k = { s, json_array(), 0, 0, NULL, NULL, NULL };
	struct folders all = { NULL, 0 };
	const struct folder *fo;
	struct msgid id;
	json_t *env;

	if (s->o->id.n != 1) {
		json_decref(k.emails);
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "get_email: give one "
		    "--id FOLDER/UIDVALIDITY/UID");
		return action_fail(s, &err);
	}
	if (msgid_parse(s->o->id.v[0], &id) == -1) {
		json_decref(k.emails);
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "--id: not "
		    "FOLDER/UIDVALIDITY/UID");
		return action_fail(s, &err);
	}
	if (session_examine(s, id.folder, &err) == 0 &&
	    s->uidvalidity != id.uidvalidity)
		mv_err_set(&err, MV_E_NOT_FOUND, "message %.300s: the folder's"
		    " UIDVALIDITY is now %u: its ids changed", s->o->id.v[0],
		    s->uidvalidity);
	else if (err.type == MV_OK && s->gmail &&
	    folders_list(s, &all, &err) == 0 &&
	    (fo = gm_label_folder(&all, id.folder)) != NULL)
		k.gm_folder = fetch_gm_folder_label(fo);
	if (err.type == MV_OK &&
	    fetch_uids(&k, id.folder, &id.uid, 1, &err) == 0 && k.count == 0)
		mv_err_set(&err, MV_E_NOT_FOUND, "message %.300s: not found",
		    s->o->id.v[0]);
	msgid_free(&id);
	folders_free(&all);
	if (err.type != MV_OK) {
		json_decref(k.emails);
		return action_fail(s, &err);
	}
	env = action_success(s);
	json_object_set(env, "email", json_array_get(k.emails, 0));
	json_decref(k.emails);
	return action_finish(s, env, NULL);
}

/* The whole message of uid in the folder examined, within
 * --max_message_size. New buffer (caller frees), or NULL with err. */
static char *
fetch_raw(struct session *s, uint32_t uid, size_t *len, struct mv_err *err)
{
	struct meta m[1];
	struct mailimap_fetch_type *ft;
	clist *res;
	const char *body = NULL;
	char *out = NULL;

	memset(m, 0, sizeof(m));
	if (fetch_meta(s, "", NULL, NULL, &uid, 1, m, err) == -1)
		return NULL;
	json_decref(m[0].labels);
	if (m[0].uid == 0) {
		mv_err_set(err, MV_E_NOT_FOUND, "message %.300s: not found",
		    s->o->id.v[0]);
		return NULL;
	}
	if (m[0].size > s->o->max_message_size) {
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "message %.300s: %u "
		    "bytes, past --max_message_size", s->o->id.v[0],
		    m[0].size);
		return NULL;
	}
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	if (uid_fetch(s, &uid, 1, ft, m[0].size + 2 * PER_MSG_SLACK, &res,
	    err) == -1) {
		mailimap_fetch_type_free(ft);
		return NULL;
	}
	mailimap_fetch_type_free(ft);
	if (clist_begin(res) != NULL)
		meta_take(&m[0], clist_content(clist_begin(res)), &body, len);
	if (body != NULL && (out = malloc(*len + 1)) != NULL)
		memcpy(out, body, *len);
	else
		mv_err_set(err, MV_E_NOT_FOUND, "message %.300s: not found",
		    s->o->id.v[0]);
	mailimap_fetch_list_free(res);
	return out;
}

int
act_get_attachment(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	const struct opts *o = s->o;
	unsigned char *bytes = NULL;
	char *raw = NULL, *end;
	size_t len = 0, n = 0, nth;
	struct msgid id = { NULL, 0, 0 };
	json_t *env;

	nth = o->attachment_id ? strtoul(o->attachment_id, &end, 10) : 0;
	if (o->id.n != 1 || !o->attachment_id || !o->output_file ||
	    nth == 0 || *end != '\0')
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "get_attachment needs "
		    "one --id, --attachment_id N (from 1) and --output_file "
		    "(FILE or -)");
	else if (msgid_parse(o->id.v[0], &id) == -1)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "--id: not "
		    "FOLDER/UIDVALIDITY/UID");
	else if (session_examine(s, id.folder, &err) == 0 &&
	    s->uidvalidity != id.uidvalidity)
		mv_err_set(&err, MV_E_NOT_FOUND, "message %.300s: the folder's"
		    " UIDVALIDITY is now %u", o->id.v[0], s->uidvalidity);
	else if (err.type == MV_OK &&
	    (raw = fetch_raw(s, id.uid, &len, &err)) != NULL &&
	    (bytes = mime_attachment_bytes(raw, len, nth, &n)) == NULL)
		mv_err_set(&err, MV_E_NOT_FOUND, "message %.300s: no "
		    "attachment %zu", o->id.v[0], nth);
	msgid_free(&id);
	free(raw);
	if (err.type == MV_OK)
		output_write_file(o->output_file, bytes, n, &err);
	free(bytes);
	if (err.type != MV_OK)
		return action_fail(s, &err);
	env = action_success(s);
	json_object_set_new(env, "size", json_integer((json_int_t)n));
	json_object_set_new(env, "path", mv_json_str(o->output_file));
	if (strcmp(o->output_file, "-") == 0)
		s->out = stderr;	/* stdout holds the bytes */
	return action_finish(s, env, NULL);
}
