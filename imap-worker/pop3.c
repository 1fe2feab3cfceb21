/* POP3 (credentials "type": "pop3"): ping, fetch_emails, sync over UIDL
 * and delete, through libetpan's POP3 client on the same connection as
 * IMAP's (conn.c). A message's id is pop3:UIDL (percent-encoded); it has
 * no folder but INBOX and no flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/mime.h"
#include "imap-worker/actions.h"
#include "imap-worker/fetch.h"
#include "imap-worker/msgid.h"
#include "imap-worker/pop3.h"
#include "imap-worker/uidset.h"
#include "shared/buf.h"
#include "shared/b64.h"
#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/str.h"
#include "shared/utf8.h"

#define POP3_SLACK	(64u << 10)
#define POP3_CURSOR_TAG	"pop31"
#define POP3_LIST_MAX	700	/* bytes of UIDLs a cursor lists */

static int
pop3_fail(struct session *s, int r, const char *what, struct mv_err *err)
{
	char said[256];

	if (r == MAILPOP3_ERROR_STREAM || s->conn.fail != CONN_OK)
		return conn_error(&s->conn, what, err);
	if (r == MAILPOP3_ERROR_BAD_PASSWORD || r == MAILPOP3_ERROR_BAD_USER ||
	    r == MAILPOP3_ERROR_DENIED)
		return mv_err_set(err, MV_E_AUTH, "%s refused", what);
	if (r == MAILPOP3_ERROR_STLS_NOT_SUPPORTED) {
		mv_err_set(err, MV_E_NETWORK, "%.200s offers no STLS, which the"
		    " credentials require", s->conn.host);
		err->retryable = 0;
		return -1;
	}
	mv_quote_clean(said, sizeof(said), s->p3 && s->p3->pop3_response ?
	    s->p3->pop3_response : "no reason given", 200);
	return mv_err_set(err, MV_E_API, "%s: %.200s answered: %s", what,
	    s->conn.host, said);
}

int
pop3_open(struct session *s, struct mv_err *err)
{
	mailstream *st;
	int r;

	if (s->acct.has_oauth)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "oauth2 is for "
		    "IMAP: a pop3 document needs a password");
	if ((s->p3 = mailpop3_new(0, NULL)) == NULL ||
	    (st = conn_stream(&s->conn)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	conn_set_budget(&s->conn, SESSION_BUDGET);
	if ((r = mailpop3_connect(s->p3, st)) != MAILPOP3_NO_ERROR)
		return pop3_fail(s, r, "greeting", err);
	if (s->acct.in.security == SEC_STARTTLS) {
		if ((r = mailpop3_stls(s->p3)) != MAILPOP3_NO_ERROR)
			return pop3_fail(s, r == MAILPOP3_ERROR_STREAM ? r :
			    MAILPOP3_ERROR_STLS_NOT_SUPPORTED, "STLS", err);
		if (conn_tls(&s->conn, s->o->ca_file, err) == -1)
			return -1;
	}
	conn_set_budget(&s->conn, SESSION_BUDGET);
	if ((r = mailpop3_user(s->p3, s->acct.username)) != MAILPOP3_NO_ERROR)
		return pop3_fail(s, r, "USER", err);
	if ((r = mailpop3_pass(s->p3, s->acct.password)) != MAILPOP3_NO_ERROR)
		return pop3_fail(s, r, "PASS", err);
	return 0;
}

void
pop3_close(struct session *s)
{
	if (s->p3 == NULL)
		return;
	if (s->conn.fail == CONN_OK && s->p3->pop3_stream != NULL) {
		conn_set_budget(&s->conn, 1u << 16);
		mailpop3_quit(s->p3);
	}
	mailpop3_free(s->p3);
	s->p3 = NULL;
}

/* "pop3:" and the UIDL percent-encoded. New string or NULL. */
static char *
pop3_id(const char *uidl)
{
	char *m = msgid_make(uidl, 1, 1), *id;

	if (m == NULL)
		return NULL;
	*strchr(m, '/') = '\0';
	if ((id = malloc(strlen(m) + 6)) != NULL)
		sprintf(id, "pop3:%s", m);
	free(m);
	return id;
}

/* The UIDL of a pop3: id. New string or NULL. */
static char *
pop3_uidl(const char *id)
{
	char buf[300];
	struct msgid m;

	if (strncmp(id, "pop3:", 5) != 0 || strlen(id) > 250)
		return NULL;
	snprintf(buf, sizeof(buf), "%s/1/1", id + 5);
	if (msgid_parse(buf, &m) == -1)
		return NULL;
	return m.folder;
}

/* LIST and UIDL. Borrowed: libetpan's, valid until QUIT. */
static int
pop3_list(struct session *s, carray **list, struct mv_err *err)
{
	int r;

	conn_set_budget(&s->conn, SESSION_BUDGET * 4);
	if ((r = mailpop3_list(s->p3, list)) != MAILPOP3_NO_ERROR)
		return pop3_fail(s, r, "LIST", err);
	return 0;
}

/* The message (RETR), or its header (TOP n 0) when headers. */
static int
pop3_get(struct session *s, const struct mailpop3_msg_info *mi, int headers,
    char **data, size_t *len, struct mv_err *err)
{
	int r;

	conn_set_budget(&s->conn, POP3_SLACK + (headers ? SESSION_BUDGET :
	    mi->msg_size + mi->msg_size / 16));
	r = headers ? mailpop3_top(s->p3, mi->msg_index, 0, data, len) :
	    mailpop3_retr(s->p3, mi->msg_index, data, len);
	if (r != MAILPOP3_NO_ERROR)
		return pop3_fail(s, r, headers ? "TOP" : "RETR", err);
	return 0;
}

/* The EMAIL of one message; NULL with err, or NULL without err when it is
 * older than since (an ISO 8601 date, or NULL). */
static json_t *
pop3_email(struct session *s, const struct mailpop3_msg_info *mi,
    const char *since, struct mv_err *err)
{
	int big = mi->msg_size > (uint32_t)s->o->max_message_size;
	int meta = strcmp(s->o->format, "metadata") == 0;
	json_t *res = json_object(), *e = NULL, *d;
	char *data = NULL, *id = pop3_id(mi->msg_uidl), *raw;
	size_t len = 0;

	json_object_set_new(res, "id", id ? json_string(id) : json_null());
	json_object_set_new(res, "labelIds", json_pack("[s]", "INBOX"));
	json_object_set_new(res, "sizeEstimate", json_integer(mi->msg_size));
	free(id);
	if (pop3_get(s, mi, big || meta, &data, &len, err) == 0)
		e = mime_email_bytes(data, len, res, big || meta ?
		    MIME_METADATA : MIME_RAW, err);
	json_decref(res);
	d = json_object_get(e, "date");
	if (e != NULL && since != NULL && (!json_is_string(d) ||
	    strcmp(json_string_value(d), since) < 0)) {
		json_decref(e);
		e = NULL;
	} else if (e != NULL) {
		json_object_set_new(e, "thread_id", json_null());
		json_object_set_new(e, "history_id", json_null());
		if (big && !meta)
			json_object_set_new(e, "too_large", json_true());
		if (!big && !meta)
			json_object_set_new(e, "snippet", fetch_snippet(e));
		fetch_attachment_ids(e);
		if (strcmp(s->o->format, "raw") == 0 && !big &&
		    (raw = mv_b64_encode(data, len, 1, 0)) != NULL) {
			json_object_set_new(e, "raw", json_string(raw));
			free(raw);
		}
	}
	if (data != NULL)
		(big || meta ? mailpop3_top_free : mailpop3_retr_free)(data);
	return e;
}

/* The cut-off date of days (UTC, ISO 8601), or NULL for any age. */
static const char *
pop3_since(long days, char *buf, size_t len)
{
	if (days == 0)
		return NULL;
	return mv_iso8601(time(NULL) - days * 86400, buf, len);
}

/* Sinks the messages of list from index first on (0-based), newest
 * first, since days. */
static int
pop3_fetch_from(struct session *s, struct sink *k, carray *list,
    unsigned first, long days, struct mv_err *err)
{
	char buf[64];
	const char *since = pop3_since(days, buf, sizeof(buf));
	unsigned i;
	json_t *e;

	for (i = carray_count(list); i-- > first;) {
		struct mailpop3_msg_info *mi = carray_get(list, i);

		if (mi == NULL || mi->msg_deleted)
			continue;
		if (k->max > 0 && k->count >= (size_t)k->max)
			break;
		mv_err_clear(err);
		if ((e = pop3_email(s, mi, since, err)) == NULL) {
			if (err->type != MV_OK)
				return -1;
			continue;
		}
		if (k->change != NULL) {
			json_t *c = json_object();

			json_object_set_new(c, "change", json_string("added"));
			json_object_set(c, "id", json_object_get(e, "id"));
			json_object_set_new(c, "email", e);
			e = c;
		}
		k->count++;
		if (sink_emit(k, e, err) == -1)
			return -1;
	}
	return 0;
}

static int
pop3_fetch_emails(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct sink k = { s, s->ndjson ? NULL : json_array(), 0,
	    s->o->max_results, NULL, NULL, NULL };
	carray *list;
	int rc;

	rc = pop3_list(s, &list, &err) == -1 ? -1 :
	    pop3_fetch_from(s, &k, list, 0, s->o->days_back, &err);
	return fetch_finish(&k, rc == -1 ? &err : NULL);
}

/* The 0-based index of the message of uidl in list, or -1. */
static long
pop3_find(carray *list, const char *uidl)
{
	for (unsigned i = 0; i < carray_count(list); i++) {
		struct mailpop3_msg_info *mi = carray_get(list, i);

		if (mi != NULL && mi->msg_uidl != NULL &&
		    strcmp(mi->msg_uidl, uidl) == 0)
			return (long)i;
	}
	return -1;
}

/* What a cursor "pop31;NEWEST[;SET]" knows: the newest message's UIDL
 * and, in SET, the UIDLs there were: "l" and their list (percent-encoded,
 * comma-separated) when it fits in POP3_LIST_MAX bytes, else "h", their
 * count, "." and a hash of them (base 36). */
struct p3cur {
	char		*newest;	/* NULL: the mailbox was empty */
	int		 has_set, listed;
	char		**uidl;		/* listed ones */
	size_t		 n;
	uint64_t	 count, hash;
};

static void
p3cur_free(struct p3cur *c)
{
	free(c->newest);
	for (size_t i = 0; i < c->n; i++)
		free(c->uidl[i]);
	free(c->uidl);
	memset(c, 0, sizeof(*c));
}

/* A UIDL's part of a set's hash (their sum). */
static uint64_t
pop3_hash(const char *uidl)
{
	return uidset_mix(uidset_fnv(UIDSET_FNV, uidl));
}

/* The UIDL percent-encoded in s[0..len). New string or NULL. */
static char *
pop3_decode(const char *s, size_t len)
{
	char buf[300];
	struct msgid m;

	if (len == 0 || len > 250)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s/1/1", (int)len, s);
	if (msgid_parse(buf, &m) == -1)
		return NULL;
	return m.folder;
}

/* The list of "l" (after it) into c. */
static int
p3cur_list(const char *s, struct p3cur *c)
{
	size_t n = *s != '\0', len;
	const char *p;

	for (p = s; *p; p++)
		n += *p == ',';
	if ((c->uidl = calloc(n + 1, sizeof(*c->uidl))) == NULL)
		return -1;
	for (p = s; c->n < n; p += len + 1) {
		len = strcspn(p, ",");
		if ((c->uidl[c->n] = pop3_decode(p, len)) == NULL)
			return -1;
		c->hash += pop3_hash(c->uidl[c->n++]);
		if (p[len] == '\0')
			break;
	}
	c->count = c->n;
	c->listed = 1;
	return 0;
}

/* The SET of a cursor into c. */
static int
p3cur_set(const char *s, struct p3cur *c)
{
	const char *end = s + strlen(s);

	c->has_set = 1;
	if (*s == 'l')
		return p3cur_list(s + 1, c);
	if (*s++ != 'h' || uidset_b36_get(&s, end, &c->count) == -1 ||
	    *s++ != '.' || uidset_b36_get(&s, end, &c->hash) == -1 ||
	    s != end)
		return -1;
	return 0;
}

/* Parses "pop31;NEWEST[;SET]" (NEWEST a pop3: id, or empty). Returns 0,
 * or -1 (not one of ours). */
static int
p3cur_parse(const char *s, struct p3cur *c)
{
	const char *semi;
	char id[256];
	size_t len;

	memset(c, 0, sizeof(*c));
	if (strncmp(s, POP3_CURSOR_TAG ";", sizeof(POP3_CURSOR_TAG)) != 0)
		return -1;
	s += sizeof(POP3_CURSOR_TAG);
	len = (semi = strchr(s, ';')) ? (size_t)(semi - s) : strlen(s);
	if (len >= sizeof(id))
		return -1;
	memcpy(id, s, len);
	id[len] = '\0';
	if (len > 0 && (c->newest = pop3_uidl(id)) == NULL)
		return -1;
	if (semi != NULL && p3cur_set(semi + 1, c) == -1) {
		p3cur_free(c);
		return -1;
	}
	return 0;
}

/* The UIDLs of list as a cursor's SET into b: listed when they fit in
 * POP3_LIST_MAX bytes, else counted and hashed. */
static int
pop3_set(carray *list, struct mv_buf *b)
{
	struct mailpop3_msg_info *mi;
	uint64_t count = 0, hash = 0;
	size_t start = b->len;
	char *id;

	mv_buf_putc(b, 'l');
	for (unsigned i = 0; i < carray_count(list); i++) {
		mi = carray_get(list, i);
		if (mi == NULL || mi->msg_uidl == NULL)
			continue;
		if ((id = pop3_id(mi->msg_uidl)) == NULL)
			return -1;
		if (b->len - start <= POP3_LIST_MAX + 1)
			mv_buf_printf(b, "%s%s", count ? "," : "", id + 5);
		free(id);
		count++;
		hash += pop3_hash(mi->msg_uidl);
	}
	if (b->len - start > POP3_LIST_MAX + 1) {
		b->len = start;
		mv_buf_putc(b, 'h');
		uidset_b36_put(b, count);
		mv_buf_putc(b, '.');
		uidset_b36_put(b, hash);
	}
	return b->data == NULL ? -1 : 0;
}

/* The cursor: "pop31;", the newest message's id (nothing for an empty
 * mailbox), ";" and the SET of the UIDLs there are. New string or NULL. */
static char *
pop3_cursor(carray *list)
{
	struct mailpop3_msg_info *mi = carray_count(list) ?
	    carray_get(list, carray_count(list) - 1) : NULL;
	char *id = mi && mi->msg_uidl ? pop3_id(mi->msg_uidl) : NULL;
	struct mv_buf b;

	mv_buf_init(&b, 0);
	mv_buf_printf(&b, "%s;%s;", POP3_CURSOR_TAG, id ? id : "");
	free(id);
	if (pop3_set(list, &b) == -1) {
		mv_buf_free(&b);
		return NULL;
	}
	return mv_buf_steal(&b, NULL);
}

/* 1 when the UIDLs of list[0..first) are the cursor's (count and hash). */
static int
pop3_same(carray *list, unsigned first, const struct p3cur *c)
{
	struct mailpop3_msg_info *mi;
	uint64_t count = 0, hash = 0;

	for (unsigned i = 0; i < first; i++) {
		mi = carray_get(list, i);
		if (mi == NULL || mi->msg_uidl == NULL)
			continue;
		count++;
		hash += pop3_hash(mi->msg_uidl);
	}
	return count == c->count && hash == c->hash;
}

/* With the cursor's UIDLs listed: "deleted" for those gone from list;
 * *first the index after the last one still there. */
static int
pop3_deleted(struct sink *k, carray *list, const struct p3cur *c,
    unsigned *first, size_t *deleted, struct mv_err *err)
{
	json_t *o;
	char *id;
	long at;

	for (size_t j = 0; j < c->n; j++) {
		if ((at = pop3_find(list, c->uidl[j])) >= 0) {
			if ((unsigned)at + 1 > *first)
				*first = (unsigned)at + 1;
			continue;
		}
		if ((id = pop3_id(c->uidl[j])) == NULL)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		o = json_object();
		json_object_set_new(o, "change", json_string("deleted"));
		json_object_set_new(o, "id", json_string(id));
		free(id);
		if (sink_emit(k, o, err) == -1)
			return -1;
		(*deleted)++;
	}
	return 0;
}

/* Where the messages new since the cursor c start in list (*first), the
 * deletions it can name printed; *full (with reason) when it cannot tell
 * what changed: its newest message gone, or messages deleted that it
 * only counted. */
static int
pop3_after(struct sink *k, carray *list, const struct p3cur *c,
    unsigned *first, int *full, size_t *deleted, char *reason, size_t rlen,
    struct mv_err *err)
{
	long at = c->newest ? pop3_find(list, c->newest) : -1;

	*first = 0;
	*full = 0;
	if (c->listed)
		return pop3_deleted(k, list, c, first, deleted, err);
	if (c->newest != NULL && at < 0) {
		*full = 1;
		snprintf(reason, rlen, "the newest message the cursor saw is "
		    "gone from the server");
		return 0;
	}
	*first = (unsigned)(at + 1);
	if (c->has_set && !pop3_same(list, *first, c)) {
		*full = 1;
		*first = 0;
		snprintf(reason, rlen, "messages were deleted, which the cursor"
		    " cannot name");
	}
	return 0;
}

static int
pop3_sync(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct sink k = { s, s->ndjson ? NULL : json_array(), 0, 0, "added",
	    NULL, NULL };
	struct p3cur c;
	char reason[128] = "", *cur = NULL;
	carray *list;
	unsigned first = 0;
	size_t deleted = 0;
	int full = 1, rc;
	json_t *env;

	memset(&c, 0, sizeof(c));
	if (s->o->cursor == NULL || *s->o->cursor == '\0')
		snprintf(reason, sizeof(reason), "no cursor");
	else if (p3cur_parse(s->o->cursor, &c) == -1)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "--cursor: not a "
		    "cursor of imap-worker's for POP3");
	rc = err.type != MV_OK || pop3_list(s, &list, &err) == -1 ||
	    (reason[0] == '\0' && pop3_after(&k, list, &c, &first, &full,
	    &deleted, reason, sizeof(reason), &err) == -1) ||
	    pop3_fetch_from(s, &k, list, first, full ? s->o->lookback_days : 0,
	    &err) == -1 || (cur = pop3_cursor(list)) == NULL ? -1 : 0;
	p3cur_free(&c);
	if (rc == -1) {
		if (err.type == MV_OK)
			mv_err_set(&err, MV_E_INTERNAL, "out of memory");
		json_decref(k.emails);
		return action_fail(s, &err);
	}
	env = action_success(s);
	json_object_set_new(env, "full_sync", json_boolean(full));
	if (reason[0])
		json_object_set_new(env, "reason", json_string(reason));
	json_object_set_new(env, "cursor", json_string(cur));
	free(cur);
	json_object_set_new(env, "added", json_integer((json_int_t)k.count));
	json_object_set_new(env, "deleted", json_integer((json_int_t)deleted));
	json_object_set_new(env, "labels", json_integer(0));
	if (k.emails != NULL)
		json_object_set_new(env, "changes", k.emails);
	return action_finish(s, env, NULL);
}

/* DELE of every --id; QUIT (at close) makes it so. */
static int
pop3_delete(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	carray *list;
	char *uidl;
	long at;
	size_t i;
	json_t *env;
	int r;

	if (!s->o->confirm)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "delete is permanent: "
		    "add --confirm");
	else if (s->o->id.n == 0)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "delete needs --id");
	else
		pop3_list(s, &list, &err);
	for (i = 0; err.type == MV_OK && i < s->o->id.n; i++) {
		if ((uidl = pop3_uidl(s->o->id.v[i])) == NULL) {
			mv_err_set(&err, MV_E_INVALID_ARGUMENT, "--id %.200s: "
			    "not pop3:UIDL", s->o->id.v[i]);
			break;
		}
		at = pop3_find(list, uidl);
		free(uidl);
		if (at < 0)
			mv_err_set(&err, MV_E_NOT_FOUND, "message %.200s: not "
			    "found", s->o->id.v[i]);
		else if ((r = mailpop3_dele(s->p3, (unsigned)at + 1)) !=
		    MAILPOP3_NO_ERROR)
			pop3_fail(s, r, "DELE", &err);
	}
	if (err.type != MV_OK) {
		conn_set_budget(&s->conn, SESSION_BUDGET);
		mailpop3_rset(s->p3);	/* nothing deleted after all */
		return action_fail(s, &err);
	}
	conn_set_budget(&s->conn, SESSION_BUDGET);
	if ((r = mailpop3_quit(s->p3)) != MAILPOP3_NO_ERROR) {
		pop3_fail(s, r, "QUIT", &err);
		return action_fail(s, &err);
	}
	env = action_success(s);
	json_object_set_new(env, "deleted", json_integer((json_int_t)
	    s->o->id.n));
	return action_finish(s, env, NULL);
}

int
pop3_run(struct session *s, const char *action)
{
	struct mv_err err = MV_ERR_INIT;

	if (strcmp(action, "ping") == 0)
		return act_ping(s);
	if (strcmp(action, "fetch_emails") == 0)
		return pop3_fetch_emails(s);
	if (strcmp(action, "sync") == 0)
		return pop3_sync(s);
	if (strcmp(action, "delete") == 0)
		return pop3_delete(s);
	mv_err_set(&err, MV_E_INVALID_ARGUMENT, "%s: not with POP3 (ping, "
	    "fetch_emails, sync and delete are)", action);
	return action_fail(s, &err);
}
