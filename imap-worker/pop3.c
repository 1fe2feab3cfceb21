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
#include "shared/b64.h"
#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/str.h"
#include "shared/utf8.h"

#define POP3_SLACK	(64u << 10)
#define POP3_CURSOR_TAG	"pop31"

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

/* The cursor: "pop31;" and the newest message's id (pop3:UIDL), or
 * "pop31;" alone for an empty mailbox. */
static char *
pop3_cursor(carray *list)
{
	struct mailpop3_msg_info *mi = carray_count(list) ?
	    carray_get(list, carray_count(list) - 1) : NULL;
	char *id = mi && mi->msg_uidl ? pop3_id(mi->msg_uidl) : NULL, *c;

	c = malloc((id ? strlen(id) : 0) + sizeof(POP3_CURSOR_TAG) + 2);
	if (c != NULL)
		sprintf(c, "%s;%s", POP3_CURSOR_TAG, id ? id : "");
	free(id);
	return c;
}

/* Where the cursor's newest message is in list: *first the index after
 * it; *full set (with reason) when it is gone. */
static int
pop3_cursor_at(struct session *s, carray *list, unsigned *first, int *full,
    char *reason, size_t rlen, struct mv_err *err)
{
	const char *c = s->o->cursor;
	char *uidl;
	long at;

	*first = 0;
	*full = 1;
	if (c == NULL || *c == '\0') {
		snprintf(reason, rlen, "no cursor");
		return 0;
	}
	if (strncmp(c, POP3_CURSOR_TAG ";", sizeof(POP3_CURSOR_TAG)) != 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--cursor: not a "
		    "cursor of imap-worker's for POP3");
	c += sizeof(POP3_CURSOR_TAG);
	if (*c == '\0') {	/* the mailbox was empty */
		*full = 0;
		return 0;
	}
	if ((uidl = pop3_uidl(c)) == NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--cursor: not a "
		    "cursor of imap-worker's for POP3");
	at = pop3_find(list, uidl);
	free(uidl);
	if (at < 0) {
		snprintf(reason, rlen, "the newest message the cursor saw is "
		    "gone from the server");
		return 0;
	}
	*first = (unsigned)at + 1;
	*full = 0;
	return 0;
}

static int
pop3_sync(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct sink k = { s, s->ndjson ? NULL : json_array(), 0, 0, "added", NULL,
	    NULL };
	char reason[128] = "", *cur;
	carray *list;
	unsigned first;
	int full;
	json_t *env;

	if (pop3_list(s, &list, &err) == -1 ||
	    pop3_cursor_at(s, list, &first, &full, reason, sizeof(reason),
	    &err) == -1 ||
	    pop3_fetch_from(s, &k, list, first, full ? s->o->lookback_days : 0,
	    &err) == -1 || (cur = pop3_cursor(list)) == NULL) {
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
	json_object_set_new(env, "deleted", json_integer(0));
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
