/* The IMAP session: connection, TLS or STARTTLS, login (password,
 * XOAUTH2 or OAUTHBEARER), EXAMINE, and libetpan's return codes as the
 * contract's errors. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/http.h"
#include "common/oauth.h"
#include "imap-worker/gmlabels.h"
#include "imap-worker/mutf7.h"
#include "imap-worker/pop3.h"
#include "imap-worker/session.h"
#include "shared/b64.h"
#include "shared/log.h"
#include "shared/str.h"

/* Text of the server's last tagged answer, cleaned for a message. */
static const char *
session_said(struct session *s, char *buf, size_t len)
{
	if (s->m == NULL || s->m->imap_response == NULL)
		return "no reason given";
	mv_quote_clean(buf, len, s->m->imap_response, 200);
	return buf;
}

int
session_fail(struct session *s, int r, const char *what, struct mv_err *err)
{
	char said[256];

	if (r == MAILIMAP_ERROR_STREAM || s->conn.fail != CONN_OK)
		return conn_error(&s->conn, what, err);
	if (r == MAILIMAP_ERROR_PARSE)
		return mv_err_set(err, MV_E_API, "%s: the answer of %.200s does "
		    "not parse", what, s->conn.host);
	if (r == MAILIMAP_ERROR_MEMORY)
		return mv_err_set(err, MV_E_INTERNAL, "%s: out of memory",
		    what);
	if (r == MAILIMAP_ERROR_LOGIN)
		return mv_err_set(err, MV_E_AUTH, "%s refused: %s", what,
		    session_said(s, said, sizeof(said)));
	return mv_err_set(err, MV_E_API, "%s: %.200s answered: %s", what,
	    s->conn.host, session_said(s, said, sizeof(said)));
}

/* CAPABILITY: libetpan keeps what the server says for
 * mailimap_has_extension(). */
static int
session_capability(struct session *s)
{
	struct mailimap_capability_data *cap = NULL;
	int r;

	conn_set_budget(&s->conn, SESSION_BUDGET);
	r = mailimap_capability(s->m, &cap);
	if (cap != NULL)
		mailimap_capability_data_free(cap);
	return r;
}

/* The greeting, read through our stream. */
static int
session_greet(struct session *s, struct mv_err *err)
{
	mailstream *st;
	int r;

	gmlabels_register();
	if ((s->m = mailimap_new(0, NULL)) == NULL ||
	    (st = conn_stream(&s->conn)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	conn_set_budget(&s->conn, SESSION_BUDGET);
	r = mailimap_connect(s->m, st);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_AUTHENTICATED)
		return session_fail(s, r, "greeting", err);
	return 0;
}

/* STARTTLS, required: a server that does not offer it is refused before
 * the password is sent. */
static int
session_starttls(struct session *s, struct mv_err *err)
{
	int r;

	if ((r = session_capability(s)) != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "CAPABILITY", err);
	if (!mailimap_has_extension(s->m, "STARTTLS")) {
		mv_err_set(err, MV_E_NETWORK, "%.200s offers no STARTTLS, which"
		    " the credentials require", s->conn.host);
		err->retryable = 0;
		return -1;
	}
	if ((r = mailimap_starttls(s->m)) != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "STARTTLS", err);
	return conn_tls(&s->conn, s->o->ca_file, err);
}

/* The OAuth2 access token: as given, or from the refresh-token grant. New
 * string (caller wipes and frees), or NULL with err. */
static char *
session_token(struct session *s, struct mv_err *err)
{
	struct http_opts ho = { 0 };
	struct http_engine *eng;
	struct http_req *r;
	const char *uri;
	char *body, *tok = NULL;

	if (s->acct.oauth.type == CREDS_ACCESS_TOKEN) {
		tok = strdup(s->acct.oauth.access_token);
		return tok ? tok : (mv_err_set(err, MV_E_INTERNAL, "out of "
		    "memory"), NULL);
	}
	uri = oauth_token_uri(&s->acct.oauth, s->o->token_uri);
	if ((body = oauth_token_body(&s->acct.oauth, uri, NULL, NULL,
	    time(NULL), err)) == NULL)
		return NULL;
	ho.timeout_s = s->o->timeout;
	ho.max_wait_s = 60;
	ho.max_in_flight = 1;
	ho.max_response = 1u << 20;
	ho.verbose = s->o->verbose;
	ho.user_agent = "imap-worker";
	if ((eng = http_engine_new(&ho)) == NULL) {
		free(body);
		mv_err_set(err, MV_E_INTERNAL, "cannot start libcurl");
		return NULL;
	}
	r = http_req_new("POST", uri, body, strlen(body),
	    "application/x-www-form-urlencoded", 0, 0, "token request");
	explicit_bzero(body, strlen(body));
	free(body);
	if (http_call(eng, r) == -1 && r->status == 0)
		*err = r->err;
	else
		oauth_token_parse(r->status, r->resp.data, r->resp.len, &tok,
		    &s->token_expires_in, err);
	if (r->resp.data != NULL)
		explicit_bzero(r->resp.data, r->resp.len);
	http_req_free(r);
	http_engine_free(eng);
	return tok;
}

/* The "status" of an OAUTHBEARER failure (RFC 7628 §3.2.2: base64 of a
 * JSON object), cleaned, into buf; "" when there is none. */
static void
session_bearer_status(const char *b64, char *buf, size_t len)
{
	unsigned char *js;
	json_t *doc;
	size_t n;

	buf[0] = '\0';
	if ((js = mv_b64_decode(b64, strlen(b64), &n)) == NULL)
		return;
	if ((doc = json_loadb((char *)js, n, 0, NULL)) != NULL &&
	    json_is_string(json_object_get(doc, "status")))
		mv_quote_clean(buf, len, json_string_value(json_object_get(doc,
		    "status")), 60);
	json_decref(doc);
	free(js);
}

/*
 * AUTHENTICATE OAUTHBEARER (RFC 7628), which libetpan lacks, spoken on its
 * stream: the initial response inline when the server has SASL-IR, else
 * after the first "+"; a "+" carrying the server's error is answered with
 * the dummy response ^A, then the tagged NO follows. Returns libetpan's
 * codes: MAILIMAP_NO_ERROR (the session then authenticated), _ERROR_LOGIN
 * (with *status the error's status when the server gave one), _ERROR_STREAM
 * or _ERROR_PARSE.
 */
static int
session_oauthbearer(struct session *s, const char *tok, char *status,
    size_t statuslen)
{
	static const char tag[] = "OB1";
	mailstream *st = s->m->imap_stream;
	char *gs2, *b64, *line;
	size_t n, len;
	int sent = 0, ir = session_has(s, "SASL-IR"), r;

	status[0] = '\0';
	len = strlen(s->acct.username) + strlen(s->acct.in.host) +
	    strlen(tok) + 64;
	if ((gs2 = malloc(len)) == NULL)
		return MAILIMAP_ERROR_MEMORY;
	n = (size_t)snprintf(gs2, len, "n,a=%s,\001host=%s\001port=%d\001"
	    "auth=Bearer %s\001\001", s->acct.username, s->acct.in.host,
	    s->acct.in.port, tok);
	b64 = mv_b64_encode(gs2, n, 0, 1);
	explicit_bzero(gs2, len);
	free(gs2);
	if (b64 == NULL)
		return MAILIMAP_ERROR_MEMORY;
	r = MAILIMAP_ERROR_STREAM;
	if (mailstream_write(st, tag, strlen(tag)) == -1 ||
	    mailstream_write(st, " AUTHENTICATE OAUTHBEARER", 25) == -1)
		goto out;
	if (ir && (mailstream_write(st, " ", 1) == -1 ||
	    mailstream_write(st, b64, strlen(b64)) == -1))
		goto out;
	sent = ir;
	if (mailstream_write(st, "\r\n", 2) == -1 || mailstream_flush(st) == -1)
		goto out;
	for (;;) {
		if ((line = mailimap_read_line(s->m)) == NULL) {
			r = MAILIMAP_ERROR_STREAM;
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '+') {
			/* The token, or (sent already) the error: ^A. */
			if (!sent) {
				sent = 1;
				if (mailstream_write(st, b64, strlen(b64)) ==
				    -1)
					goto out;
			} else {
				session_bearer_status(line + 1 + (line[1] ==
				    ' '), status, statuslen);
				if (mailstream_write(st, "AQ==", 4) == -1)
					goto out;
			}
			if (mailstream_write(st, "\r\n", 2) == -1 ||
			    mailstream_flush(st) == -1)
				goto out;
			continue;
		}
		if (strncmp(line, tag, strlen(tag)) != 0 ||
		    line[strlen(tag)] != ' ')
			continue;	/* untagged: CAPABILITY and the like */
		line += strlen(tag) + 1;
		if (strncasecmp(line, "OK", 2) == 0) {
			s->m->imap_state = MAILIMAP_STATE_AUTHENTICATED;
			r = MAILIMAP_NO_ERROR;
		} else if (strncasecmp(line, "NO", 2) == 0 ||
		    strncasecmp(line, "BAD", 3) == 0) {
			if (status[0] == '\0')
				mv_quote_clean(status, statuslen, line, 200);
			r = MAILIMAP_ERROR_LOGIN;
		} else
			r = MAILIMAP_ERROR_PARSE;
		goto out;
	}
out:
	explicit_bzero(b64, strlen(b64));
	free(b64);
	return r;
}

/* Which mechanism a token logs in with: the document's, else OAUTHBEARER
 * when the server offers it, else XOAUTH2. */
static int
session_bearer(struct session *s)
{
	if (s->acct.mech != OAUTH_AUTO)
		return s->acct.mech == OAUTH_OAUTHBEARER;
	return mailimap_has_authentication(s->m, "OAUTHBEARER");
}

static int
session_login(struct session *s, struct mv_err *err)
{
	char status[256];
	const char *what = "LOGIN";
	char *tok;
	int r;

	conn_set_budget(&s->conn, SESSION_BUDGET);
	if (!s->acct.has_oauth)
		r = mailimap_login(s->m, s->acct.username, s->acct.password);
	else {
		if ((tok = session_token(s, err)) == NULL)
			return -1;
		s->token = tok;		/* SMTP may need it too */
		/* What the server offers before login decides. */
		if (s->acct.mech == OAUTH_AUTO &&
		    (r = session_capability(s)) != MAILIMAP_NO_ERROR)
			return session_fail(s, r, "CAPABILITY", err);
		conn_set_budget(&s->conn, SESSION_BUDGET);
		if (session_bearer(s)) {
			what = "AUTHENTICATE OAUTHBEARER";
			r = session_oauthbearer(s, tok, status,
			    sizeof(status));
			if (r == MAILIMAP_ERROR_LOGIN)
				return mv_err_set(err, MV_E_AUTH, "%s refused:"
				    " %s", what, status[0] ? status :
				    "no reason given");
		} else {
			what = "AUTHENTICATE XOAUTH2";
			r = mailimap_oauth2_authenticate(s->m,
			    s->acct.username, tok);
		}
	}
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r == MAILIMAP_ERROR_STREAM ||
		    r == MAILIMAP_ERROR_PARSE ? r : MAILIMAP_ERROR_LOGIN,
		    what, err);
	/* The capabilities after login are the ones that count. */
	if ((r = session_capability(s)) != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "CAPABILITY", err);
	s->gmail = session_has(s, "X-GM-EXT-1");
	return 0;
}

int
session_open(struct session *s, const struct opts *o, int connect,
    struct mv_err *err)
{
	memset(s, 0, sizeof(*s));
	s->conn.fd = -1;
	s->o = o;
	s->out = stdout;
	s->ndjson = strcmp(o->output, "ndjson") == 0;
	s->token_expires_in = -1;
	if (account_load(o->credentials, &s->acct, err) == -1)
		return -1;
	if (!connect) {
		/* SMTP alone: the OAuth2 token is all it needs of IMAP's. */
		if (s->acct.has_oauth && (s->token = session_token(s,
		    err)) == NULL)
			return -1;
		return 0;
	}
	if (s->acct.in.security == SEC_NONE && !o->allow_plaintext)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "the credentials "
		    "say \"security\": \"none\": the password would cross the "
		    "network in clear; add --allow_plaintext to accept that");
	log_info("connecting to %s port %d (%s)", s->acct.in.host,
	    s->acct.in.port, account_sec_name(s->acct.in.security));
	if (conn_open(&s->conn, s->acct.in.host, s->acct.in.port,
	    (int)o->timeout, err) == -1)
		return -1;
	if (s->acct.in.security == SEC_TLS &&
	    conn_tls(&s->conn, o->ca_file, err) == -1)
		return -1;
	if (s->acct.pop3)
		return pop3_open(s, err);
	if (session_greet(s, err) == -1)
		return -1;
	if (s->acct.in.security == SEC_STARTTLS &&
	    session_starttls(s, err) == -1)
		return -1;
	return session_login(s, err);
}

int
session_has(struct session *s, const char *cap)
{
	return s->m != NULL && mailimap_has_extension(s->m, cap);
}

/* EXAMINE, with CONDSTORE's HIGHESTMODSEQ when modseq is not NULL; or
 * SELECT when rw. */
static int
session_examine1(struct session *s, const char *folder,
    unsigned long long *modseq, int rw, struct mv_err *err)
{
	char said[256], *wire;
	uint64_t ms = 0;
	int r;

	if ((wire = mutf7_encode(folder)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	free(s->examined);
	s->examined = NULL;
	s->rw = rw;
	conn_set_budget(&s->conn, SESSION_BUDGET);
	if (rw)
		r = mailimap_select(s->m, wire);
	else
		r = modseq ? mailimap_examine_condstore(s->m, wire, &ms) :
		    mailimap_examine(s->m, wire);
	free(wire);
	if (r == MAILIMAP_ERROR_EXAMINE || r == MAILIMAP_ERROR_SELECT ||
	    (r == MAILIMAP_ERROR_EXTENSION && s->conn.fail == CONN_OK))
		return mv_err_set(err, MV_E_NOT_FOUND, "folder '%.200s' cannot "
		    "be opened: %s", folder, session_said(s, said,
		    sizeof(said)));
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "EXAMINE", err);
	if ((s->examined = strdup(folder)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	s->uidvalidity = s->m->imap_selection_info->sel_uidvalidity;
	s->uidnext = s->m->imap_selection_info->sel_uidnext;
	s->exists = s->m->imap_selection_info->sel_exists;
	if (modseq != NULL)
		*modseq = ms;
	return 0;
}

int
session_examine(struct session *s, const char *folder, struct mv_err *err)
{
	if (s->examined != NULL && strcmp(s->examined, folder) == 0)
		return 0;
	return session_examine1(s, folder, NULL, 0, err);
}

int
session_select(struct session *s, const char *folder, struct mv_err *err)
{
	if (s->examined != NULL && s->rw && strcmp(s->examined, folder) == 0)
		return 0;
	return session_examine1(s, folder, NULL, 1, err);
}

int
session_examine_modseq(struct session *s, const char *folder,
    unsigned long long *modseq, struct mv_err *err)
{
	*modseq = 0;
	if (!session_has(s, "CONDSTORE"))
		return session_examine1(s, folder, NULL, 0, err);
	return session_examine1(s, folder, modseq, 0, err);
}

int
session_enable_qresync(struct session *s)
{
	struct mailimap_capability_data *want, *got = NULL;
	struct mailimap_capability *cap;
	clist *l;
	char *name;
	int r;

	if (!session_has(s, "QRESYNC") || !session_has(s, "CONDSTORE") ||
	    !session_has(s, "ENABLE"))
		return 0;
	if ((l = clist_new()) == NULL || (name = strdup("QRESYNC")) == NULL ||
	    (cap = mailimap_capability_new(MAILIMAP_CAPABILITY_NAME, NULL,
	    name)) == NULL || clist_append(l, cap) < 0 ||
	    (want = mailimap_capability_data_new(l)) == NULL)
		return 0;	/* out of memory: sync without it */
	conn_set_budget(&s->conn, SESSION_BUDGET);
	r = mailimap_enable(s->m, want, &got);
	mailimap_capability_data_free(want);
	if (got != NULL)
		mailimap_capability_data_free(got);
	return r == MAILIMAP_NO_ERROR;
}

void
session_close(struct session *s)
{
	if (s == NULL)
		return;
	pop3_close(s);
	if (s->m != NULL) {
		if (s->conn.fail == CONN_OK && s->m->imap_state !=
		    MAILIMAP_STATE_DISCONNECTED) {
			conn_set_budget(&s->conn, 1u << 16);
			mailimap_logout(s->m);
		}
		mailimap_free(s->m);
	}
	s->m = NULL;
	conn_close(&s->conn);
	free(s->examined);
	s->examined = NULL;
	creds_wipe_str(&s->token);
	account_free(&s->acct);
}
