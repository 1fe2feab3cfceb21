/* Credentials: where they come from (@FILE, stdin, the environment) and
 * the three document formats (authorized_user, service_account, token). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/creds.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/utf8.h"

#define CREDS_MAX	(1024 * 1024)	/* the largest document read */
#define CREDS_ENV	"GMAIL_WORKER_CREDENTIALS"	/* gmail-worker's */
#define CREDS_NAMEMAX	200	/* bytes of a path quoted in messages */

#define CREDS_MSG_ARGV	"inline credentials refused: argv is readable " \
			"by every user; use --credentials @FILE or -"

/* A string member of struct creds and whether a format requires it. */
struct creds_field {
	const char	*name;
	size_t		 off;
	int		 required;
};

#define CREDS_FIELD(m, req)	{ #m, offsetof(struct creds, m), req }

static const struct creds_field creds_user_fields[] = {
	CREDS_FIELD(client_id, 1),
	CREDS_FIELD(client_secret, 1),
	CREDS_FIELD(refresh_token, 1),
	CREDS_FIELD(token_uri, 0),
	{ NULL, 0, 0 },
};

static const struct creds_field creds_sa_fields[] = {
	CREDS_FIELD(client_email, 1),
	CREDS_FIELD(private_key, 1),
	CREDS_FIELD(private_key_id, 0),
	CREDS_FIELD(token_uri, 0),
	{ NULL, 0, 0 },
};

static const struct creds_field creds_token_fields[] = {
	CREDS_FIELD(access_token, 1),
	{ NULL, 0, 0 },
};

void
creds_wipe_str(char **p)
{
	if (*p == NULL)
		return;
	explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

void
creds_free(struct creds *c)
{
	if (c == NULL)
		return;
	creds_wipe_str(&c->client_id);
	creds_wipe_str(&c->client_secret);
	creds_wipe_str(&c->refresh_token);
	creds_wipe_str(&c->client_email);
	creds_wipe_str(&c->private_key);
	creds_wipe_str(&c->private_key_id);
	creds_wipe_str(&c->token_uri);
	creds_wipe_str(&c->access_token);
}

/* What a jansson error was, without quoting the document. */
static const char *
creds_json_why(const json_error_t *je)
{
	switch (json_error_code(je)) {
	case json_error_duplicate_key:
		return "duplicate key";
	case json_error_premature_end_of_input:
		return "truncated";
	case json_error_end_of_input_expected:
		return "data after the document";
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "NUL character";
	case json_error_stack_overflow:
		return "nested too deeply";
	case json_error_out_of_memory:
		return "out of memory";
	default:
		return "syntax error";
	}
}

/* Refuses key files sealed with a passphrase instead of prompting. */
static int
creds_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* 1 when pem is an unencrypted PEM RSA private key (PKCS#8 or PKCS#1). */
static int
creds_rsa_key_ok(const char *pem)
{
	EVP_PKEY *key;
	BIO *bio;
	int ok;

	if (strstr(pem, "-----BEGIN PRIVATE KEY-----") == NULL &&
	    strstr(pem, "-----BEGIN RSA PRIVATE KEY-----") == NULL)
		return 0;
	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
		return 0;
	key = PEM_read_bio_PrivateKey(bio, NULL, creds_no_passphrase, NULL);
	ok = key != NULL && EVP_PKEY_is_a(key, "RSA");
	EVP_PKEY_free(key);
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

/*
 * Copies one string member of the document into c. An optional field that
 * is absent, null or empty stays NULL. Returns 0, or -1 with err
 * (bad_credentials naming the field; internal when out of memory).
 */
static int
creds_take(json_t *doc, const struct creds_field *f, const char *source,
    struct creds *c, struct mv_err *err)
{
	char **slot = (char **)((char *)c + f->off);
	json_t *v = json_object_get(doc, f->name);

	if (v == NULL || (json_is_null(v) && !f->required)) {
		if (f->required)
			return mv_err_set(err, MV_E_BAD_CREDENTIALS,
			    "%s: field '%s' is missing", source, f->name);
		return 0;
	}
	if (!json_is_string(v))
		return mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: field '%s' must be a string", source, f->name);
	if (json_string_length(v) == 0) {
		if (f->required)
			return mv_err_set(err, MV_E_BAD_CREDENTIALS,
			    "%s: field '%s' is empty", source, f->name);
		return 0;
	}
	*slot = strdup(json_string_value(v));
	if (*slot == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "%s: out of memory",
		    source);
	return 0;
}

/* Decides the format from "type" (or a bare "access_token"). Returns the
 * field table, or NULL with err. */
static const struct creds_field *
creds_format(json_t *doc, const char *source, struct creds *c,
    struct mv_err *err)
{
	char name[CREDS_NAMEMAX + 4];
	json_t *v = json_object_get(doc, "type");

	if (v == NULL && json_object_get(doc, "access_token") != NULL) {
		c->type = CREDS_ACCESS_TOKEN;
		return creds_token_fields;
	}
	if (v == NULL) {
		mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field 'type' is "
		    "missing (authorized_user or service_account)", source);
		return NULL;
	}
	if (!json_is_string(v)) {
		mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: field 'type' must be a string", source);
		return NULL;
	}
	if (strcmp(json_string_value(v), "authorized_user") == 0) {
		c->type = CREDS_AUTHORIZED_USER;
		return creds_user_fields;
	}
	if (strcmp(json_string_value(v), "service_account") == 0) {
		c->type = CREDS_SERVICE_ACCOUNT;
		return creds_sa_fields;
	}
	mv_quote_clean(name, sizeof(name), json_string_value(v), 40);
	mv_err_set(err, MV_E_BAD_CREDENTIALS,
	    "%s: unsupported credentials type '%s'", source, name);
	return NULL;
}

/* Fills c from a parsed document. Returns 0, or -1 with err (c may then
 * hold members the caller frees). */
static int
creds_from_doc(json_t *doc, const char *source, struct creds *c,
    struct mv_err *err)
{
	const struct creds_field *f;

	memset(c, 0, sizeof(*c));

	if (!json_is_object(doc))
		return mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: not a JSON object", source);
	f = creds_format(doc, source, c, err);
	if (f == NULL)
		return -1;
	for (; f->name != NULL; f++)
		if (creds_take(doc, f, source, c, err) == -1)
			return -1;
	if (c->token_uri != NULL && strncmp(c->token_uri, "https://", 8) != 0 &&
	    strncmp(c->token_uri, "http://", 7) != 0)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: field 'token_uri' must be an http(s) URL", source);
	if (c->type == CREDS_SERVICE_ACCOUNT &&
	    !creds_rsa_key_ok(c->private_key))
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: field "
		    "'private_key' is not a PEM RSA private key", source);
	return 0;
}

/*
 * Parses a credentials document. source prefixes every message (for
 * instance "credentials file /etc/x.json"; NULL: "credentials"). Messages
 * never quote the document, only field names and the type. Returns 0, or
 * -1 with err and c empty.
 */
int
creds_parse(const char *json, size_t len, const char *source,
    struct creds *c, struct mv_err *err)
{
	json_error_t je;
	json_t *doc;
	int rc;

	memset(c, 0, sizeof(*c));
	if (source == NULL)
		source = "credentials";
	if (len > CREDS_MAX)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: larger than 1 MiB", source);
	doc = json_loadb(json ? json : "", json ? len : 0,
	    JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: not valid JSON (%s at line %d, column %d)", source,
		    creds_json_why(&je), je.line, je.column);
	rc = creds_from_doc(doc, source, c, err);
	mv_json_wipe(doc);
	json_decref(doc);
	if (rc == -1)
		creds_free(c);
	return rc;
}

int
creds_from_json(json_t *doc, const char *source, struct creds *c,
    struct mv_err *err)
{
	if (source == NULL)
		source = "credentials";
	if (creds_from_doc(doc, source, c, err) == 0)
		return 0;
	creds_free(c);
	return -1;
}

/* creds_parse() as a creds_parse_fn. */
static int
creds_parse_cb(const char *json, size_t len, const char *source, void *arg,
    struct mv_err *err)
{
	return creds_parse(json, len, source, arg, err);
}

/* Where a document comes from and what reads it. */
struct creds_src {
	const char	*env;	/* the environment variable's name */
	int		 from_env;
	creds_parse_fn	 parse;
	void		*arg;
};

/*
 * Reads fd to its end (at most 1 MiB) and parses it. The buffer is
 * allocated once, so no copy of the secrets is left behind by a realloc,
 * and wiped before it is freed. Returns 0, or -1 with err.
 */
static int
creds_load_fd(int fd, const char *source, const struct creds_src *src,
    struct mv_err *err)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int rc;

	buf = malloc(CREDS_MAX + 1);
	if (buf == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "%s: out of memory",
		    source);
	do {
		n = read(fd, buf + len, CREDS_MAX + 1 - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 && len <= CREDS_MAX) || (n == -1 && errno == EINTR));
	if (n == -1)
		rc = mv_err_set(err, MV_E_NO_INPUT, "%s: %s", source,
		    strerror(errno));
	else if (len > CREDS_MAX)
		rc = mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: larger than 1 MiB", source);
	else
		rc = src->parse(buf, len, source, src->arg, err);
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

/* Checks what fd (opened on name) is: a directory is no input, a regular
 * file over the cap is refused, one open to group or others is warned
 * about. Returns 0, or -1 with err. */
static int
creds_check_file(int fd, const char *name, const char *source,
    struct mv_err *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return mv_err_set(err, MV_E_NO_INPUT, "%s: %s", source,
		    strerror(errno));
	if (S_ISDIR(st.st_mode))
		return mv_err_set(err, MV_E_NO_INPUT, "%s: %s", source,
		    strerror(EISDIR));
	if (!S_ISREG(st.st_mode))
		return 0;	/* a pipe, as from `@<(command)` */
	if (st.st_size > CREDS_MAX)
		return mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "%s: larger than 1 MiB", source);
	if (st.st_mode & 077)
		log_warnx("credentials file %s is readable by group or others; "
		    "chmod 600 it", name);
	return 0;
}

/* Loads "@PATH". Returns 0, or -1 with err. */
static int
creds_load_path(const char *path, const struct creds_src *src,
    struct mv_err *err)
{
	char name[CREDS_NAMEMAX + 4], source[sizeof(name) + 32];
	int fd, rc;

	if (*path == '\0')
		return mv_err_set(err, MV_E_INVALID_ARGUMENT,
		    "credentials: no file name after '@'");
	mv_quote_clean(name, sizeof(name), path, CREDS_NAMEMAX);
	snprintf(source, sizeof(source), "credentials file %s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return mv_err_set(err, MV_E_NO_INPUT, "%s: %s", source,
		    strerror(errno));
	rc = creds_check_file(fd, name, source, err);
	if (rc == 0)
		rc = creds_load_fd(fd, source, src, err);
	close(fd);
	return rc;
}

/*
 * A spec without '@' that names an existing file is a path missing its
 * '@': say so. Anything else may be inline JSON with secrets in it, so it
 * is never quoted.
 */
static int
creds_refuse_inline(const char *spec, const struct creds_src *src,
    struct mv_err *err)
{
	char name[CREDS_NAMEMAX + 4];

	if (spec[0] != '{' && access(spec, F_OK) == 0) {
		mv_quote_clean(name, sizeof(name), spec, CREDS_NAMEMAX);
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "credentials: "
		    "%s is a file name: write %s%s@%s to read it", name,
		    src->from_env ? src->env : "--credentials ",
		    src->from_env ? "=" : "", name);
	}
	if (src->from_env)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "inline "
		    "credentials refused in %s: set it to @FILE or -",
		    src->env);
	return mv_err_set(err, MV_E_INVALID_ARGUMENT, "%s", CREDS_MSG_ARGV);
}

int
creds_load_doc(const char *spec, const char *env, creds_parse_fn parse,
    void *arg, struct mv_err *err)
{
	struct creds_src src = { env, 0, parse, arg };

	if (spec == NULL) {
		spec = getenv(env);
		src.from_env = 1;
	}
	if (spec == NULL || *spec == '\0')
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "no "
		    "credentials: use --credentials @FILE, --credentials - or "
		    "%s", env);
	if (strcmp(spec, "-") == 0)
		return creds_load_fd(STDIN_FILENO, "credentials on stdin",
		    &src, err);
	if (spec[0] != '@')
		return creds_refuse_inline(spec, &src, err);
	return creds_load_path(spec + 1, &src, err);
}

int
creds_load(const char *spec, struct creds *c, struct mv_err *err)
{
	memset(c, 0, sizeof(*c));
	return creds_load_doc(spec, CREDS_ENV, creds_parse_cb, c, err);
}
