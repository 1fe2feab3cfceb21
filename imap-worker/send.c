/* send_email: the message composed by common/compose (or --raw_file),
 * its envelope recipients read back from its To, Cc and Bcc by
 * common/mime, the Bcc field taken out, then SMTP submission with libcurl
 * (TLS verified, STARTTLS required when the document says so), and with
 * --save_sent a copy APPENDed to the Sent folder. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/compose.h"
#include "common/mime.h"
#include "imap-worker/actions.h"
#include "imap-worker/folders.h"
#include "imap-worker/msgid.h"
#include "imap-worker/mutf7.h"
#include "shared/log.h"

/* Where the system's CAs are, beside --ca_file. */
#define SYSTEM_CA_PATH	"/etc/ssl/certs"

struct upload {
	const char	*p;
	size_t		 left;
};

static size_t
upload_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

/* The length of the header field starting at p (its folded lines too). */
static size_t
field_len(const char *p, const char *end)
{
	const char *q = p;

	do {
		while (q < end && *q != '\n')
			q++;
		if (q < end)
			q++;
	} while (q < end && (*q == ' ' || *q == '\t'));
	return (size_t)(q - p);
}

/* Takes every Bcc field out of the header of msg, in place. */
static void
strip_bcc(char *msg, size_t *len)
{
	char *p = msg, *end = msg + *len;
	size_t n;

	while (p < end && *p != '\r' && *p != '\n') {
		n = field_len(p, end);
		if (n >= 4 && strncasecmp(p, "Bcc:", 4) == 0) {
			memmove(p, p + n, (size_t)(end - p - (ptrdiff_t)n));
			end -= n;
			*len -= n;
			continue;
		}
		p += n;
	}
}

/* The envelope: every address of To, Cc and Bcc. */
static struct curl_slist *
rcpts_of(json_t *email, size_t *n)
{
	static const char *const fields[] = { "to", "cc", "bcc" };
	struct curl_slist *l = NULL, *t;
	char buf[600];
	json_t *a;
	size_t i, j;

	*n = 0;
	for (i = 0; i < 3; i++)
		json_array_foreach(json_object_get(email, fields[i]), j, a) {
			const char *e = json_string_value(json_object_get(a,
			    "email"));

			if (e == NULL || *e == '\0' || strlen(e) > 500 ||
			    strpbrk(e, "<>\r\n ") != NULL)
				continue;
			snprintf(buf, sizeof(buf), "<%s>", e);
			if ((t = curl_slist_append(l, buf)) == NULL)
				break;
			l = t;
			(*n)++;
		}
	return l;
}

/* libcurl's failure as the contract's error. Past the start of DATA the
 * message may have gone: never retryable then. */
static int
smtp_error(CURLcode c, const char *why, struct mv_err *err)
{
	switch (c) {
	case CURLE_LOGIN_DENIED:
		return mv_err_set(err, MV_E_AUTH, "SMTP login refused: %s",
		    why);
	case CURLE_OPERATION_TIMEDOUT:
		return mv_err_set(err, MV_E_TIMEOUT, "SMTP: %s", why);
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return mv_err_set(err, MV_E_NETWORK, "SMTP: %s", why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
		mv_err_set(err, MV_E_NETWORK, "SMTP: %s", why);
		err->retryable = 0;
		return -1;
	default:
		mv_err_set(err, MV_E_API, "SMTP: %s", why);
		err->retryable = 0;
		return -1;
	}
}

/* Security, trust and deadlines, as for IMAP. */
static void
smtp_tls(CURL *c, struct session *s)
{
	const struct server *sv = &s->acct.smtp;
	char url[400];

	snprintf(url, sizeof(url), "%s://%s:%d/", sv->security == SEC_TLS ?
	    "smtps" : "smtp", sv->host, sv->port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (sv->security == SEC_STARTTLS)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->o->ca_file != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, s->o->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, SYSTEM_CA_PATH);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->o->timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->o->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
}

/* Submits msg to rcpts. Returns 0, or -1 with err. */
static int
smtp_send(struct session *s, const char *msg, size_t len,
    struct curl_slist *rcpts, struct mv_err *err)
{
	char from[600], why[CURL_ERROR_SIZE] = "";
	struct upload u = { msg, len };
	CURL *c;
	CURLcode rc;

	if ((c = curl_easy_init()) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "cannot start libcurl");
	smtp_tls(c, s);
	snprintf(from, sizeof(from), "<%s>", strchr(s->acct.username, '@') ?
	    s->acct.username : "");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_USERNAME, s->acct.username);
	if (s->token != NULL)
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, s->token);
	else
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->acct.password);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
	log_info("sending %zu bytes through %s port %d (%s)", len,
	    s->acct.smtp.host, s->acct.smtp.port,
	    account_sec_name(s->acct.smtp.security));
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (rc == CURLE_OK)
		return 0;
	return smtp_error(rc, why[0] ? why : curl_easy_strerror(rc), err);
}

/* APPENDs msg to the Sent folder, \Seen; *id its id when the server says
 * (UIDPLUS). Returns 0, or -1 with err. */
static int
save_sent(struct session *s, const char *msg, size_t len, char **id,
    char **folder, struct mv_err *err)
{
	struct mailimap_flag_list *fl;
	const struct folder *fo;
	struct folders f;
	uint32_t uv = 0, uid = 0;
	char *wire;
	int r;

	*id = NULL;
	if (folders_list(s, &f, err) == -1)
		return -1;
	fo = folders_by_role(&f, "sent");
	*folder = fo ? strdup(fo->name) : NULL;
	folders_free(&f);
	if (*folder == NULL)
		return mv_err_set(err, MV_E_NOT_FOUND, "sent, but the mailbox "
		    "has no Sent folder (special-use) to keep a copy in");
	if ((wire = mutf7_encode(*folder)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	fl = mailimap_flag_list_new_empty();
	mailimap_flag_list_add(fl, mailimap_flag_new_seen());
	conn_set_budget(&s->conn, SESSION_BUDGET);
	r = mailimap_uidplus_append(s->m, wire, fl, NULL, msg, len, &uv,
	    &uid);
	free(wire);
	mailimap_flag_list_free(fl);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "APPEND", err);
	if (uv != 0 && uid != 0)
		*id = msgid_make(*folder, uv, uid);
	return 0;
}

/* The message and its envelope, checked. */
static char *
send_prepare(struct session *s, size_t *len, struct curl_slist **rcpts,
    json_t **email, struct mv_err *err)
{
	const struct opts *o = s->o;
	struct compose_req r = {
		strchr(s->acct.username, '@') ? s->acct.username : NULL,
		o->raw_file, o->to.v, o->cc.v, o->bcc.v, o->attach.v, o->to.n,
		o->cc.n, o->bcc.n, o->attach.n, o->subject, o->body,
		o->body_file, o->html_file, o->in_reply_to,
	};
	json_t *res = json_object();
	size_t n;
	char *msg;

	*rcpts = NULL;
	*email = NULL;
	if ((msg = compose_request(&r, len, err)) == NULL) {
		json_decref(res);
		return NULL;
	}
	*email = mime_email_bytes(msg, *len, res, MIME_METADATA, err);
	json_decref(res);
	if (*email != NULL && (*rcpts = rcpts_of(*email, &n)) == NULL)
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "send_email: the "
		    "message has no recipient in To, Cc or Bcc");
	if (*rcpts == NULL) {
		free(msg);
		return NULL;
	}
	strip_bcc(msg, len);
	return msg;
}

int
act_send_email(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct curl_slist *rcpts;
	json_t *email = NULL, *env, *labels = json_array();
	char *msg, *id = NULL, *folder = NULL;
	size_t len;
	int rc = -1;

	if (s->acct.smtp.host == NULL)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "send_email: the "
		    "credentials document has no smtp server");
	else if (s->acct.smtp.security == SEC_NONE && !s->o->allow_plaintext)
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "the smtp server's "
		    "security is none: add --allow_plaintext to accept that");
	else if ((msg = send_prepare(s, &len, &rcpts, &email, &err)) != NULL) {
		rc = smtp_send(s, msg, len, rcpts, &err);
		if (rc == 0 && s->o->save_sent)
			rc = save_sent(s, msg, len, &id, &folder, &err);
		curl_slist_free_all(rcpts);
		free(msg);
	}
	if (rc == -1) {
		json_decref(labels);
		json_decref(email);
		free(id);
		free(folder);
		return action_fail(s, &err);
	}
	env = action_success(s);
	json_object_set_new(env, "id", id ? json_string(id) : json_null());
	json_object_set_new(env, "thread_id", json_null());
	if (folder != NULL)
		json_array_append_new(labels, json_string(folder));
	json_object_set_new(env, "label_ids", labels);
	json_object_set(env, "message_id", json_object_get(email,
	    "message_id"));
	json_decref(email);
	free(id);
	free(folder);
	return action_finish(s, env, NULL);
}
