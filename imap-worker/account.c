/* imap-worker's credentials document: read through common/creds (the same
 * sources and rules as gmail-worker's), checked field by field. */
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include <jansson.h>

#include "imap-worker/account.h"
#include "shared/str.h"
#include "shared/utf8.h"

#define ACCOUNT_ENV	"IMAP_WORKER_CREDENTIALS"

static const char *const sec_names[] = { "tls", "starttls", "none" };

const char *
account_sec_name(enum sec s)
{
	return sec_names[s];
}

void
account_free(struct account *a)
{
	if (a == NULL)
		return;
	free(a->in.host);
	free(a->smtp.host);
	free(a->username);
	creds_wipe_str(&a->password);
	creds_free(&a->oauth);
	memset(a, 0, sizeof(*a));
}

/* A string field: *out a new copy, or NULL when absent and optional.
 * Returns 0, or -1 with err. */
static int
take_str(json_t *doc, const char *name, int required, const char *source,
    char **out, struct mv_err *err)
{
	json_t *v = json_object_get(doc, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: field '%s' is missing", source, name) : 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field '%s' "
		    "must be a non-empty string", source, name);
	if ((*out = strdup(json_string_value(v))) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	return 0;
}

/* security: tls (default), starttls or none. */
static int
take_sec(json_t *doc, const char *source, const char *what, enum sec *s,
    struct mv_err *err)
{
	json_t *v = json_object_get(doc, "security");
	size_t i;

	*s = SEC_TLS;
	if (v == NULL)
		return 0;
	for (i = 0; json_is_string(v) && i < 3; i++)
		if (strcmp(json_string_value(v), sec_names[i]) == 0) {
			*s = (enum sec)i;
			return 0;
		}
	return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field '%ssecurity' "
	    "must be tls, starttls or none", source, what);
}

/* port: 1-65535, else the default for the protocol and security. */
static int
take_port(json_t *doc, const char *source, const char *what, int dflt,
    int *port, struct mv_err *err)
{
	json_t *v = json_object_get(doc, "port");

	*port = dflt;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 65535)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field '%sport'"
		    " must be a number from 1 to 65535", source, what);
	*port = (int)json_integer_value(v);
	return 0;
}

static int
default_port(int pop3, int smtp, enum sec s)
{
	if (smtp)
		return s == SEC_TLS ? 465 : 587;
	if (pop3)
		return s == SEC_TLS ? 995 : 110;
	return s == SEC_TLS ? 993 : 143;
}

/* One server block: host, port, security. */
static int
take_server(json_t *doc, const char *source, const char *what, int pop3,
    int smtp, struct server *sv, struct mv_err *err)
{
	if (!json_is_object(doc))
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field '%.*s' "
		    "must be an object", source, (int)strlen(what) - 1, what);
	if (take_str(doc, "host", 1, source, &sv->host, err) == -1 ||
	    take_sec(doc, source, what, &sv->security, err) == -1)
		return -1;
	if (strcspn(sv->host, " /\\@\r\n\t") != strlen(sv->host))
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field "
		    "'%shost' is not a host name", source, what);
	return take_port(doc, source, what, default_port(pop3, smtp,
	    sv->security), &sv->port, err);
}

/* type: imap (default) or pop3. */
static int
take_type(json_t *doc, const char *source, int *pop3, struct mv_err *err)
{
	json_t *v = json_object_get(doc, "type");

	*pop3 = 0;
	if (v == NULL || (json_is_string(v) &&
	    strcmp(json_string_value(v), "imap") == 0))
		return 0;
	if (json_is_string(v) && strcmp(json_string_value(v), "pop3") == 0) {
		*pop3 = 1;
		return 0;
	}
	return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field 'type' must "
	    "be imap or pop3", source);
}

/* The secret: password, or oauth2 (a document of its own). */
static int
take_secret(json_t *doc, const char *source, struct account *a,
    struct mv_err *err)
{
	json_t *o = json_object_get(doc, "oauth2"), *m;
	char src[300];

	if (o != NULL && json_object_get(doc, "password") != NULL)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: fields "
		    "'password' and 'oauth2' exclude each other", source);
	if (o == NULL)
		return take_str(doc, "password", 1, source, &a->password, err);
	snprintf(src, sizeof(src), "%s: field 'oauth2'", source);
	if (creds_from_json(o, src, &a->oauth, err) == -1)
		return -1;
	if (a->oauth.type == CREDS_SERVICE_ACCOUNT)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: a "
		    "service_account cannot log in to a mailbox", src);
	if ((m = json_object_get(o, "mechanism")) == NULL)
		a->mech = OAUTH_AUTO;
	else if (json_is_string(m) && strcasecmp(json_string_value(m),
	    "xoauth2") == 0)
		a->mech = OAUTH_XOAUTH2;
	else if (json_is_string(m) && strcasecmp(json_string_value(m),
	    "oauthbearer") == 0)
		a->mech = OAUTH_OAUTHBEARER;
	else
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field "
		    "'mechanism' must be xoauth2 or oauthbearer", src);
	a->has_oauth = 1;
	return 0;
}

static int
account_from_doc(json_t *doc, const char *source, struct account *a,
    struct mv_err *err)
{
	json_t *smtp;

	if (!json_is_object(doc))
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: not a JSON "
		    "object", source);
	if (take_type(doc, source, &a->pop3, err) == -1 ||
	    take_server(doc, source, "", a->pop3, 0, &a->in, err) == -1 ||
	    take_str(doc, "username", 1, source, &a->username, err) == -1 ||
	    take_secret(doc, source, a, err) == -1)
		return -1;
	smtp = json_object_get(doc, "smtp");
	if (smtp != NULL && !json_is_null(smtp) && take_server(smtp, source,
	    "smtp.", 0, 1, &a->smtp, err) == -1)
		return -1;
	return 0;
}

/* A creds_parse_fn: the document's bytes to *arg (struct account). */
static int
account_parse(const char *json, size_t len, const char *source, void *arg,
    struct mv_err *err)
{
	struct account *a = arg;
	json_error_t je;
	json_t *doc;
	int rc;

	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: not valid "
		    "JSON (line %d, column %d)", source, je.line, je.column);
	rc = account_from_doc(doc, source, a, err);
	mv_json_wipe(doc);
	json_decref(doc);
	return rc;
}

int
account_load(const char *spec, struct account *a, struct mv_err *err)
{
	memset(a, 0, sizeof(*a));
	if (creds_load_doc(spec, ACCOUNT_ENV, account_parse, a, err) == 0)
		return 0;
	account_free(a);
	return -1;
}
