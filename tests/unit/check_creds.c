/* Unit tests for common/creds.c and common/oauth.c. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/creds.h"
#include "common/oauth.h"
#include "shared/b64.h"
#include "shared/buf.h"
#include "shared/err.h"
#include "shared/log.h"

#define MIB		(1024 * 1024)
#define EMAIL		"svc@proj.iam.gserviceaccount.com"
#define SCOPES		"https://mail.google.com/ " \
			"https://www.googleapis.com/auth/gmail.modify"
#define NOW		((time_t)1700000000)
#define JWT_GRANT	"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type" \
			"%3Ajwt-bearer&assertion="
#define USER_DOC	"{\"type\":\"authorized_user\",\"client_id\":\"cid\"," \
			"\"client_secret\":\"SECRET-cs\",\"refresh_token\":" \
			"\"SECRET-rt\"}"

/* Test keys, made once in main() before the tests fork. */
static EVP_PKEY *rsa_key;
static char *pem_pkcs8, *pem_pkcs1, *pem_ec, *pem_enc, *pem_pub;
static char tmpdir[] = "/tmp/check_creds.XXXXXX";

#define ck_err(rc, e, t, m) do {					\
	ck_assert_int_eq((rc), -1);					\
	ck_assert_str_eq(mv_err_name((e)->type), mv_err_name(t));	\
	ck_assert_str_eq((e)->msg, (m));				\
	ck_assert_ptr_null(strstr((e)->msg, "SECRET"));			\
} while (0)

enum pem_kind { PEM_PKCS8, PEM_PKCS1, PEM_ENCRYPTED, PEM_PUBLIC };

static char *
pem_of(EVP_PKEY *k, enum pem_kind kind)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;
	int ok = 0;

	switch (kind) {
	case PEM_PKCS8:
		ok = PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
		break;
	case PEM_PKCS1:
		ok = PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0,
		    NULL, NULL);
		break;
	case PEM_ENCRYPTED:
		ok = PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_128_cbc(),
		    NULL, 0, NULL, (void *)(uintptr_t)"pass");
		break;
	case PEM_PUBLIC:
		ok = PEM_write_bio_PUBKEY(b, k);
		break;
	}
	if (ok != 1)
		abort();
	n = BIO_get_mem_data(b, &p);
	s = strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

/* A service_account document (new string). */
static char *
sa_doc(const char *pem, const char *kid)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "service_account",
	    "project_id", "proj", "client_email", EMAIL, "private_key", pem,
	    "client_id", "1234");
	if (kid != NULL)
		json_object_set_new(o, "private_key_id", json_string(kid));
	s = json_dumps(o, 0);
	json_decref(o);
	return s;
}

static int
parse(const char *json, struct creds *c, struct mv_err *e)
{
	mv_err_clear(e);
	return creds_parse(json, strlen(json), "test", c, e);
}

/* Writes a file under tmpdir with the given mode; returns its path. */
static const char *
put_file(const char *name, const char *data, size_t len, mode_t mode)
{
	static char path[PATH_MAX];
	ssize_t n;
	size_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	while (off < len) {
		n = write(fd, data + off, len - off);
		ck_assert_int_gt(n, 0);
		off += (size_t)n;
	}
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* Loads "@path" with stderr captured; returns what was written there. */
static char *
load_capture(const char *spec, struct creds *c, struct mv_err *e, int *rc)
{
	char cap[PATH_MAX];
	char *out;
	int fd, saved;

	snprintf(cap, sizeof(cap), "%s/stderr.XXXXXX", tmpdir);
	fd = mkstemp(cap);
	ck_assert_int_ne(fd, -1);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	mv_err_clear(e);
	*rc = creds_load(spec, c, e);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	out = mv_read_file(cap, MIB, NULL);
	ck_assert_ptr_nonnull(out);
	unlink(cap);
	return out;
}

/* Runs creds_load("-") with stdin reading from a pipe fed len bytes of
 * data by a child process. */
static int
load_stdin(const char *data, size_t len, struct creds *c, struct mv_err *e)
{
	int p[2], saved, rc, st;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(p[0]);
		if (write(p[1], data, len) != (ssize_t)len)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	saved = dup(STDIN_FILENO);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	mv_err_clear(e);
	rc = creds_load("-", c, e);
	dup2(saved, STDIN_FILENO);
	close(saved);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return rc;
}

/* creds_parse */

START_TEST(test_parse_user)
{
	struct creds c;
	struct mv_err e;
	const char *doc = "{\"type\":\"authorized_user\",\"client_id\":"
	    "\"123.apps.googleusercontent.com\","
	    "\"client_secret\":\"SECRET-cs\",\"refresh_token\":"
	    "\"1//SECRET-rt\",\"quota_project\":\"q\","
	    "\"token_uri\":\"http://127.0.0.1:9/token\"}";

	ck_assert_int_eq(parse(doc, &c, &e), 0);
	ck_assert_int_eq(c.type, CREDS_AUTHORIZED_USER);
	ck_assert_str_eq(c.client_id, "123.apps.googleusercontent.com");
	ck_assert_str_eq(c.client_secret, "SECRET-cs");
	ck_assert_str_eq(c.refresh_token, "1//SECRET-rt");
	ck_assert_str_eq(c.token_uri, "http://127.0.0.1:9/token");
	ck_assert_ptr_null(c.client_email);
	ck_assert_ptr_null(c.private_key);
	ck_assert_ptr_null(c.access_token);
	creds_free(&c);

	/* token_uri absent, null or empty: the default applies. */
	ck_assert_int_eq(parse(USER_DOC, &c, &e), 0);
	ck_assert_ptr_null(c.token_uri);
	creds_free(&c);
	ck_assert_int_eq(parse("{\"type\":\"authorized_user\",\"client_id\":"
	    "\"a\",\"client_secret\":\"b\",\"refresh_token\":\"c\","
	    "\"token_uri\":null}", &c, &e), 0);
	ck_assert_ptr_null(c.token_uri);
	creds_free(&c);
	ck_assert_int_eq(parse("{\"type\":\"authorized_user\",\"client_id\":"
	    "\"a\",\"client_secret\":\"b\",\"refresh_token\":\"c\","
	    "\"token_uri\":\"\"}", &c, &e), 0);
	ck_assert_ptr_null(c.token_uri);
	creds_free(&c);
}
END_TEST

START_TEST(test_parse_service_account)
{
	struct creds c;
	struct mv_err e;
	char *doc;

	doc = sa_doc(pem_pkcs8, "kid-1");
	ck_assert_int_eq(parse(doc, &c, &e), 0);
	ck_assert_int_eq(c.type, CREDS_SERVICE_ACCOUNT);
	ck_assert_str_eq(c.client_email, EMAIL);
	ck_assert_str_eq(c.private_key, pem_pkcs8);
	ck_assert_str_eq(c.private_key_id, "kid-1");
	ck_assert_ptr_null(c.token_uri);
	ck_assert_ptr_null(c.client_id);
	creds_free(&c);
	free(doc);

	doc = sa_doc(pem_pkcs1, NULL);
	ck_assert_ptr_nonnull(strstr(doc, "BEGIN RSA PRIVATE KEY"));
	ck_assert_int_eq(parse(doc, &c, &e), 0);
	ck_assert_str_eq(c.private_key, pem_pkcs1);
	ck_assert_ptr_null(c.private_key_id);
	creds_free(&c);
	free(doc);
}
END_TEST

START_TEST(test_parse_access_token)
{
	struct creds c;
	struct mv_err e;

	ck_assert_int_eq(parse("{\"access_token\":\"ya29.SECRET\","
	    "\"expires_in\":3599}", &c, &e), 0);
	ck_assert_int_eq(c.type, CREDS_ACCESS_TOKEN);
	ck_assert_str_eq(c.access_token, "ya29.SECRET");
	ck_assert_ptr_null(c.refresh_token);
	creds_free(&c);

	ck_err(parse("{\"access_token\":\"\"}", &c, &e), &e,
	    MV_E_BAD_CREDENTIALS, "test: field 'access_token' is empty");
	ck_err(parse("{\"access_token\":[\"SECRET\"]}", &c, &e), &e,
	    MV_E_BAD_CREDENTIALS,
	    "test: field 'access_token' must be a string");
	ck_err(parse("{\"access_token\":null}", &c, &e), &e,
	    MV_E_BAD_CREDENTIALS,
	    "test: field 'access_token' must be a string");
}
END_TEST

START_TEST(test_parse_missing)
{
	static const char *const user[] = { "client_id", "client_secret",
	    "refresh_token" };
	struct creds c;
	struct mv_err e;
	char msg[128];
	json_t *o;
	char *doc;
	size_t i;

	for (i = 0; i < 3; i++) {
		o = json_loads(USER_DOC, 0, NULL);
		json_object_del(o, user[i]);
		doc = json_dumps(o, 0);
		snprintf(msg, sizeof(msg), "test: field '%s' is missing",
		    user[i]);
		ck_err(parse(doc, &c, &e), &e, MV_E_BAD_CREDENTIALS, msg);
		free(doc);
		json_object_set_new(o, user[i], json_string(""));
		doc = json_dumps(o, 0);
		snprintf(msg, sizeof(msg), "test: field '%s' is empty",
		    user[i]);
		ck_err(parse(doc, &c, &e), &e, MV_E_BAD_CREDENTIALS, msg);
		free(doc);
		json_decref(o);
	}
	ck_err(parse("{\"type\":\"service_account\",\"private_key\":\"x\"}",
	    &c, &e), &e, MV_E_BAD_CREDENTIALS,
	    "test: field 'client_email' is missing");
	ck_err(parse("{\"type\":\"service_account\",\"client_email\":\"a\"}",
	    &c, &e), &e, MV_E_BAD_CREDENTIALS,
	    "test: field 'private_key' is missing");
	ck_err(parse("{\"client_secret\":\"SECRET\"}", &c, &e), &e,
	    MV_E_BAD_CREDENTIALS, "test: field 'type' is missing "
	    "(authorized_user or service_account)");
	ck_err(parse("{}", &c, &e), &e, MV_E_BAD_CREDENTIALS,
	    "test: field 'type' is missing "
	    "(authorized_user or service_account)");
}
END_TEST

START_TEST(test_parse_types)
{
	static const struct {
		const char	*doc;
		const char	*msg;
	} t[] = {
		{ "{\"type\":\"authorized_user\",\"client_id\":12,"
		  "\"client_secret\":\"SECRET\",\"refresh_token\":\"SECRET\"}",
		  "test: field 'client_id' must be a string" },
		{ "{\"type\":\"authorized_user\",\"client_id\":\"a\","
		  "\"client_secret\":true,\"refresh_token\":\"SECRET\"}",
		  "test: field 'client_secret' must be a string" },
		{ "{\"type\":\"authorized_user\",\"client_id\":\"a\","
		  "\"client_secret\":\"SECRET\",\"refresh_token\":{}}",
		  "test: field 'refresh_token' must be a string" },
		{ "{\"type\":\"authorized_user\",\"client_id\":null,"
		  "\"client_secret\":\"SECRET\",\"refresh_token\":\"SECRET\"}",
		  "test: field 'client_id' must be a string" },
		{ "{\"type\":\"authorized_user\",\"client_id\":\"a\","
		  "\"client_secret\":\"SECRET\",\"refresh_token\":\"SECRET\","
		  "\"token_uri\":42}",
		  "test: field 'token_uri' must be a string" },
		{ "{\"type\":\"authorized_user\",\"client_id\":\"a\","
		  "\"client_secret\":\"SECRET\",\"refresh_token\":\"SECRET\","
		  "\"token_uri\":\"file:///etc/passwd\"}",
		  "test: field 'token_uri' must be an http(s) URL" },
		{ "{\"type\":\"service_account\",\"client_email\":[],"
		  "\"private_key\":\"SECRET\"}",
		  "test: field 'client_email' must be a string" },
		{ "{\"type\":\"service_account\",\"client_email\":\"a\","
		  "\"private_key\":1.5}",
		  "test: field 'private_key' must be a string" },
		{ "{\"type\":7}", "test: field 'type' must be a string" },
		{ "{\"type\":null,\"access_token\":\"SECRET\"}",
		  "test: field 'type' must be a string" },
	};
	struct creds c;
	struct mv_err e;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_err(parse(t[i].doc, &c, &e), &e, MV_E_BAD_CREDENTIALS,
		    t[i].msg);
		ck_assert_ptr_null(c.client_id);
		ck_assert_ptr_null(c.client_secret);
	}
}
END_TEST

START_TEST(test_parse_unknown_type)
{
	struct creds c;
	struct mv_err e;
	char doc[512], want[512];

	ck_err(parse("{\"type\":\"external_account\"}", &c, &e), &e,
	    MV_E_BAD_CREDENTIALS,
	    "test: unsupported credentials type 'external_account'");
	/* Control characters are blanked, the rest cut at 40 bytes. */
	ck_err(parse("{\"type\":\"a\\nb\\u0007c\\u0085d\\u00e9"
	    "0123456789012345678901234567890123456789\"}", &c, &e), &e,
	    MV_E_BAD_CREDENTIALS, "test: unsupported credentials type "
	    "'a b c d\xc3\xa9" "0123456789012345678901234567890...'");
	snprintf(doc, sizeof(doc), "{\"type\":\"%0300d\"}", 0);
	snprintf(want, sizeof(want), "test: unsupported credentials type "
	    "'%040d...'", 0);
	ck_err(parse(doc, &c, &e), &e, MV_E_BAD_CREDENTIALS, want);
}
END_TEST

START_TEST(test_parse_not_json)
{
	static const struct {
		const char	*doc;
		size_t		 len;		/* 0: strlen(doc) */
		const char	*why;
	} t[] = {
		{ "", 0, "truncated at line 1, column 0" },
		{ "not json SECRET", 0, "syntax error at line 1, column 3" },
		{ "{\"type\":", 0, "truncated at line 1, column 8" },
		{ "{} SECRET", 0, "data after the document at line 1, "
		  "column 9" },
		{ "\"SECRET\"", 0, "syntax error at line 1, column 8" },
		{ "{\"a\":\"b\0SECRET\"}", 16, "syntax error at line 1, "
		  "column 7" },
		{ "{\"a\":\"\xff\"}", 0, "invalid UTF-8 at line 1, column 6" },
		{ "{\"a\":\"\\u0000\"}", 0, "NUL character at line 1, "
		  "column 13" },
		{ "{\"client_secret\":\"SECRET\",\n\"client_secret\":\"x\"}",
		  0, "duplicate key at line 2, column 15" },
	};
	struct creds c;
	struct mv_err e;
	char want[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mv_err_clear(&e);
		snprintf(want, sizeof(want), "test: not valid JSON (%s)",
		    t[i].why);
		ck_err(creds_parse(t[i].doc, t[i].len ? t[i].len :
		    strlen(t[i].doc), "test", &c, &e), &e,
		    MV_E_BAD_CREDENTIALS, want);
	}
	ck_err(parse("[{\"type\":\"authorized_user\"}]", &c, &e), &e,
	    MV_E_BAD_CREDENTIALS, "test: not a JSON object");
	ck_err(creds_parse(NULL, 0, NULL, &c, &e), &e, MV_E_BAD_CREDENTIALS,
	    "credentials: not valid JSON (truncated at line 1, column 0)");
}
END_TEST

START_TEST(test_parse_hostile)
{
	struct creds c;
	struct mv_err e;
	size_t depth = 100000, len;
	char *doc;

	/* Deep nesting stops at jansson's depth limit. */
	doc = malloc(depth + 64);
	strcpy(doc, "{\"type\":\"authorized_user\",\"x\":");
	len = strlen(doc);
	memset(doc + len, '[', depth);
	doc[len + depth] = '\0';
	ck_err(parse(doc, &c, &e), &e, MV_E_BAD_CREDENTIALS,
	    "test: not valid JSON (nested too deeply at line 1, column 2078)");
	free(doc);

	/* Past 1 MiB nothing is parsed. */
	doc = malloc(MIB + 2);
	memset(doc, ' ', MIB + 1);
	memcpy(doc, USER_DOC, strlen(USER_DOC));
	doc[MIB + 1] = '\0';
	ck_err(creds_parse(doc, MIB + 1, "test", &c, &e), &e,
	    MV_E_BAD_CREDENTIALS, "test: larger than 1 MiB");
	ck_assert_int_eq(creds_parse(doc, MIB, "test", &c, &e), 0);
	creds_free(&c);
	free(doc);

	/* Large string values are fine under the cap. */
	doc = malloc(MIB);
	len = (size_t)snprintf(doc, MIB, "{\"type\":\"authorized_user\","
	    "\"client_id\":\"a\",\"refresh_token\":\"b\",\"client_secret\":\"");
	memset(doc + len, 'S', 500000);
	strcpy(doc + len + 500000, "\"}");
	ck_assert_int_eq(parse(doc, &c, &e), 0);
	ck_assert_uint_eq(strlen(c.client_secret), 500000);
	creds_free(&c);
	free(doc);
}
END_TEST

START_TEST(test_parse_bad_key)
{
	const char *keys[7];
	struct creds c;
	struct mv_err e;
	char *trunc, *doc;
	size_t i;

	trunc = strndup(pem_pkcs8, strlen(pem_pkcs8) / 2);
	keys[0] = pem_ec;
	keys[1] = pem_enc;
	keys[2] = pem_pub;
	keys[3] = trunc;
	keys[4] = "-----BEGIN PRIVATE KEY-----\nSECRETxx\n"
	    "-----END PRIVATE KEY-----\n";
	keys[5] = "SECRET not a key at all";
	keys[6] = "-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE "
	    "KEY-----\n";
	for (i = 0; i < 7; i++) {
		doc = sa_doc(keys[i], "k");
		ck_err(parse(doc, &c, &e), &e, MV_E_BAD_CREDENTIALS,
		    "test: field 'private_key' is not a PEM RSA private key");
		ck_assert_ptr_null(c.private_key);
		free(doc);
	}
	free(trunc);
}
END_TEST

/* creds_load */

START_TEST(test_load_file)
{
	struct creds c;
	struct mv_err e;
	char spec[PATH_MAX], *out, *doc;
	int rc;

	doc = sa_doc(pem_pkcs8, "kid-9");
	snprintf(spec, sizeof(spec), "@%s",
	    put_file("sa.json", doc, strlen(doc), 0600));
	out = load_capture(spec, &c, &e, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(c.type, CREDS_SERVICE_ACCOUNT);
	ck_assert_str_eq(c.private_key_id, "kid-9");
	creds_free(&c);
	free(out);
	free(doc);

	/* Read-only for the owner is fine too. */
	snprintf(spec, sizeof(spec), "@%s",
	    put_file("ro.json", USER_DOC, strlen(USER_DOC), 0400));
	out = load_capture(spec, &c, &e, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(c.refresh_token, "SECRET-rt");
	creds_free(&c);
	free(out);
}
END_TEST

START_TEST(test_load_group_readable)
{
	static const mode_t modes[] = { 0644, 0640, 0620, 0604 };
	struct creds c;
	struct mv_err e;
	char spec[PATH_MAX], want[PATH_MAX + 128], *out;
	const char *path;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		path = put_file("open.json", USER_DOC, strlen(USER_DOC),
		    modes[i]);
		snprintf(spec, sizeof(spec), "@%s", path);
		snprintf(want, sizeof(want), "check_creds: credentials file "
		    "%s is readable by group or others; chmod 600 it\n", path);
		out = load_capture(spec, &c, &e, &rc);
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(out, want);
		ck_assert_ptr_null(strstr(out, "SECRET"));
		creds_free(&c);
		free(out);
	}

	/* The warning comes before the parse; errors stay free of secrets. */
	path = put_file("bad.json", "{\"client_secret\":\"SECRET\"",
	    26, 0644);
	snprintf(spec, sizeof(spec), "@%s", path);
	out = load_capture(spec, &c, &e, &rc);
	ck_assert_ptr_null(strstr(out, "SECRET"));
	ck_assert_ptr_nonnull(strstr(out, "chmod 600"));
	snprintf(want, sizeof(want), "credentials file %s: not valid JSON "
	    "(truncated at line 1, column 26)", path);
	ck_err(rc, &e, MV_E_BAD_CREDENTIALS, want);
	free(out);
}
END_TEST

START_TEST(test_load_missing)
{
	struct creds c;
	struct mv_err e;
	char spec[PATH_MAX], want[PATH_MAX + 64];

	snprintf(spec, sizeof(spec), "@%s/nope.json", tmpdir);
	snprintf(want, sizeof(want), "credentials file %s/nope.json: No such "
	    "file or directory", tmpdir);
	mv_err_clear(&e);
	ck_err(creds_load(spec, &c, &e), &e, MV_E_NO_INPUT, want);

	/* A hostile name is quoted without its control characters. */
	snprintf(spec, sizeof(spec), "@%s/no\nsuch\x1b[31m", tmpdir);
	snprintf(want, sizeof(want), "credentials file %s/no such [31m: No "
	    "such file or directory", tmpdir);
	ck_err(creds_load(spec, &c, &e), &e, MV_E_NO_INPUT, want);

	snprintf(spec, sizeof(spec), "@%s/bad\xffname", tmpdir);
	snprintf(want, sizeof(want), "credentials file %s/bad?name: No "
	    "such file or directory", tmpdir);
	ck_err(creds_load(spec, &c, &e), &e, MV_E_NO_INPUT, want);

	/* A long one is cut at 200 bytes. */
	snprintf(spec, sizeof(spec), "@%s/%0250d", tmpdir, 0);
	snprintf(want, sizeof(want), "credentials file %.200s...: No such "
	    "file or directory", spec + 1);
	ck_err(creds_load(spec, &c, &e), &e, MV_E_NO_INPUT, want);

	ck_err(creds_load("@", &c, &e), &e, MV_E_INVALID_ARGUMENT,
	    "credentials: no file name after '@'");
}
END_TEST

START_TEST(test_load_directory)
{
	struct creds c;
	struct mv_err e;
	char spec[PATH_MAX], want[PATH_MAX + 64];

	snprintf(spec, sizeof(spec), "@%s", tmpdir);
	snprintf(want, sizeof(want), "credentials file %s: Is a directory",
	    tmpdir);
	mv_err_clear(&e);
	ck_err(creds_load(spec, &c, &e), &e, MV_E_NO_INPUT, want);
}
END_TEST

START_TEST(test_load_unreadable)
{
	struct creds c;
	struct mv_err e;
	char spec[PATH_MAX], want[PATH_MAX + 64];
	const char *path;

	path = put_file("locked.json", USER_DOC, strlen(USER_DOC), 0);
	snprintf(spec, sizeof(spec), "@%s", path);
	mv_err_clear(&e);
	if (geteuid() == 0) {
		/* root reads it anyway: nothing to refuse. */
		ck_assert_int_eq(creds_load(spec, &c, &e), 0);
		creds_free(&c);
		return;
	}
	snprintf(want, sizeof(want), "credentials file %s: Permission denied",
	    path);
	ck_err(creds_load(spec, &c, &e), &e, MV_E_NO_INPUT, want);
}
END_TEST

START_TEST(test_load_size)
{
	struct creds c;
	struct mv_err e;
	char spec[PATH_MAX], want[PATH_MAX + 64], *doc;
	const char *path;

	doc = malloc(MIB + 1);
	memset(doc, '\n', MIB + 1);
	memcpy(doc, USER_DOC, strlen(USER_DOC));
	path = put_file("big.json", doc, MIB + 1, 0600);
	snprintf(spec, sizeof(spec), "@%s", path);
	snprintf(want, sizeof(want), "credentials file %s: larger than 1 MiB",
	    path);
	mv_err_clear(&e);
	ck_err(creds_load(spec, &c, &e), &e, MV_E_BAD_CREDENTIALS, want);

	/* Exactly 1 MiB is accepted. */
	path = put_file("max.json", doc, MIB, 0600);
	snprintf(spec, sizeof(spec), "@%s", path);
	ck_assert_int_eq(creds_load(spec, &c, &e), 0);
	ck_assert_str_eq(c.client_id, "cid");
	creds_free(&c);
	free(doc);

	path = put_file("empty.json", "", 0, 0600);
	snprintf(spec, sizeof(spec), "@%s", path);
	snprintf(want, sizeof(want), "credentials file %s: not valid JSON "
	    "(truncated at line 1, column 0)", path);
	ck_err(creds_load(spec, &c, &e), &e, MV_E_BAD_CREDENTIALS, want);
}
END_TEST

START_TEST(test_load_inline)
{
	static const char *const specs[] = {
		"{\"type\":\"authorized_user\",\"client_secret\":\"SECRET\"}",
		" {\"access_token\":\"SECRET\"}",
		"creds.json",
		"SECRET",
		"--",
	};
	struct creds c;
	struct mv_err e;
	size_t i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		mv_err_clear(&e);
		ck_err(creds_load(specs[i], &c, &e), &e,
		    MV_E_INVALID_ARGUMENT, "inline credentials refused: argv "
		    "is readable by every user; use --credentials @FILE or -");
	}
	ck_err(creds_load("", &c, &e), &e, MV_E_INVALID_ARGUMENT,
	    "no credentials: use --credentials @FILE, --credentials - or "
	    "GMAIL_WORKER_CREDENTIALS");
}
END_TEST

START_TEST(test_load_env)
{
	struct creds c;
	struct mv_err e;
	char spec[PATH_MAX];

	snprintf(spec, sizeof(spec), "@%s",
	    put_file("env.json", USER_DOC, strlen(USER_DOC), 0600));
	mv_err_clear(&e);
	ck_assert_int_eq(setenv("GMAIL_WORKER_CREDENTIALS", spec, 1), 0);
	ck_assert_int_eq(creds_load(NULL, &c, &e), 0);
	ck_assert_str_eq(c.client_secret, "SECRET-cs");
	creds_free(&c);

	/* An explicit spec wins over the environment. */
	ck_err(creds_load("@/nonexistent/x", &c, &e), &e, MV_E_NO_INPUT,
	    "credentials file /nonexistent/x: No such file or directory");

	setenv("GMAIL_WORKER_CREDENTIALS", USER_DOC, 1);
	ck_err(creds_load(NULL, &c, &e), &e, MV_E_INVALID_ARGUMENT,
	    "inline credentials refused in GMAIL_WORKER_CREDENTIALS: set it "
	    "to @FILE or -");
	setenv("GMAIL_WORKER_CREDENTIALS", "", 1);
	ck_err(creds_load(NULL, &c, &e), &e, MV_E_INVALID_ARGUMENT,
	    "no credentials: use --credentials @FILE, --credentials - or "
	    "GMAIL_WORKER_CREDENTIALS");
	unsetenv("GMAIL_WORKER_CREDENTIALS");
	ck_err(creds_load(NULL, &c, &e), &e, MV_E_INVALID_ARGUMENT,
	    "no credentials: use --credentials @FILE, --credentials - or "
	    "GMAIL_WORKER_CREDENTIALS");
}
END_TEST

START_TEST(test_load_stdin)
{
	struct creds c;
	struct mv_err e;
	char *big;

	ck_assert_int_eq(load_stdin(USER_DOC, strlen(USER_DOC), &c, &e), 0);
	ck_assert_int_eq(c.type, CREDS_AUTHORIZED_USER);
	ck_assert_str_eq(c.refresh_token, "SECRET-rt");
	creds_free(&c);

	ck_err(load_stdin("", 0, &c, &e), &e, MV_E_BAD_CREDENTIALS,
	    "credentials on stdin: not valid JSON (truncated at line 1, "
	    "column 0)");
	ck_err(load_stdin("{\"type\":\"x\"}", 12, &c, &e), &e,
	    MV_E_BAD_CREDENTIALS,
	    "credentials on stdin: unsupported credentials type 'x'");

	big = malloc(2 * MIB);
	memset(big, ' ', 2 * MIB);
	memcpy(big, USER_DOC, strlen(USER_DOC));
	ck_err(load_stdin(big, 2 * MIB, &c, &e), &e, MV_E_BAD_CREDENTIALS,
	    "credentials on stdin: larger than 1 MiB");
	ck_assert_int_eq(load_stdin(big, MIB, &c, &e), 0);
	creds_free(&c);
	free(big);
}
END_TEST

START_TEST(test_load_pipe_path)
{
	struct creds c;
	struct mv_err e;
	char spec[64], *out;
	int p[2], rc;

	/* "@/dev/fd/N", as a shell's @<(command) gives. */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], USER_DOC, strlen(USER_DOC)),
	    (ssize_t)strlen(USER_DOC));
	close(p[1]);
	snprintf(spec, sizeof(spec), "@/dev/fd/%d", p[0]);
	out = load_capture(spec, &c, &e, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(c.client_id, "cid");
	creds_free(&c);
	free(out);
	close(p[0]);
}
END_TEST

/* creds_free */

START_TEST(test_free)
{
	struct creds c;
	struct mv_err e;

	creds_free(NULL);
	memset(&c, 0, sizeof(c));
	creds_free(&c);
	ck_assert_int_eq(parse(USER_DOC, &c, &e), 0);
	c.private_key_id = strdup("extra");
	creds_free(&c);
	ck_assert_ptr_null(c.client_id);
	ck_assert_ptr_null(c.client_secret);
	ck_assert_ptr_null(c.refresh_token);
	ck_assert_ptr_null(c.private_key_id);
	creds_free(&c);		/* twice is harmless */

	/* After a failed load there is nothing left to free. */
	ck_assert_int_eq(parse("{\"type\":\"authorized_user\",\"client_id\":"
	    "\"a\",\"client_secret\":\"SECRET\"}", &c, &e), -1);
	ck_assert_ptr_null(c.client_id);
	ck_assert_ptr_null(c.client_secret);
}
END_TEST

/* oauth_token_uri */

START_TEST(test_token_uri)
{
	struct creds c;

	memset(&c, 0, sizeof(c));
	ck_assert_str_eq(oauth_token_uri(&c, NULL),
	    "https://oauth2.googleapis.com/token");
	ck_assert_str_eq(oauth_token_uri(NULL, NULL),
	    "https://oauth2.googleapis.com/token");
	c.token_uri = strdup("https://accounts.google.com/o/oauth2/token");
	ck_assert_str_eq(oauth_token_uri(&c, NULL),
	    "https://accounts.google.com/o/oauth2/token");
	ck_assert_str_eq(oauth_token_uri(&c, ""),
	    "https://accounts.google.com/o/oauth2/token");
	ck_assert_str_eq(oauth_token_uri(&c, "http://127.0.0.1:8/t"),
	    "http://127.0.0.1:8/t");
	c.token_uri[0] = '\0';
	ck_assert_str_eq(oauth_token_uri(&c, NULL),
	    "https://oauth2.googleapis.com/token");
	creds_free(&c);
}
END_TEST

/* oauth_jwt */

/* Splits a JWT, checks its alphabet, and returns header and claims
 * decoded (new strings) and whether the signature verifies. */
static int
jwt_open(const char *jwt, char **header, char **claims)
{
	const char *d1, *d2, *p;
	unsigned char *sig;
	size_t siglen;
	EVP_MD_CTX *md;
	int ok;

	for (p = jwt; *p != '\0'; p++)
		ck_assert_ptr_nonnull(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_.", *p));
	d1 = strchr(jwt, '.');
	ck_assert_ptr_nonnull(d1);
	d2 = strchr(d1 + 1, '.');
	ck_assert_ptr_nonnull(d2);
	ck_assert_ptr_null(strchr(d2 + 1, '.'));
	*header = (char *)mv_b64_decode(jwt, (size_t)(d1 - jwt), NULL);
	*claims = (char *)mv_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), NULL);
	sig = mv_b64_decode(d2 + 1, strlen(d2 + 1), &siglen);
	ck_assert_ptr_nonnull(*header);
	ck_assert_ptr_nonnull(*claims);
	ck_assert_ptr_nonnull(sig);
	ck_assert_uint_eq(siglen, 256);
	md = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    rsa_key), 1);
	ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt,
	    (size_t)(d2 - jwt)) == 1;
	EVP_MD_CTX_free(md);
	free(sig);
	return ok;
}

static void
sa_creds(struct creds *c, const char *pem, const char *kid)
{
	memset(c, 0, sizeof(*c));
	c->type = CREDS_SERVICE_ACCOUNT;
	c->client_email = strdup(EMAIL);
	c->private_key = strdup(pem);
	c->private_key_id = kid ? strdup(kid) : NULL;
}

START_TEST(test_jwt)
{
	struct creds c;
	struct mv_err e;
	char *jwt, *h, *cl, *tampered, *dot;
	json_t *o;

	sa_creds(&c, pem_pkcs8, "0123abcd");
	mv_err_clear(&e);
	jwt = oauth_jwt(&c, OAUTH_DEFAULT_TOKEN_URI, "user@example.com",
	    SCOPES, NOW, &e);
	ck_assert_ptr_nonnull(jwt);
	ck_assert_int_eq(jwt_open(jwt, &h, &cl), 1);
	ck_assert_str_eq(h, "{\"alg\":\"RS256\",\"typ\":\"JWT\","
	    "\"kid\":\"0123abcd\"}");
	ck_assert_str_eq(cl, "{\"iss\":\"" EMAIL "\",\"scope\":\"" SCOPES
	    "\",\"aud\":\"https://oauth2.googleapis.com/token\","
	    "\"iat\":1700000000,\"exp\":1700003600,"
	    "\"sub\":\"user@example.com\"}");
	o = json_loads(cl, 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "exp")) -
	    json_integer_value(json_object_get(o, "iat")), 3600);
	json_decref(o);
	free(h);
	free(cl);

	/* A changed claim no longer verifies. */
	tampered = strdup(jwt);
	dot = strchr(tampered, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(jwt_open(tampered, &h, &cl), 0);
	free(h);
	free(cl);
	free(tampered);
	free(jwt);
	creds_free(&c);
}
END_TEST

START_TEST(test_jwt_no_kid)
{
	struct creds c;
	struct mv_err e;
	char *jwt, *jwt2, *h, *cl;

	sa_creds(&c, pem_pkcs1, NULL);
	mv_err_clear(&e);
	jwt = oauth_jwt(&c, "http://127.0.0.1:1/token", NULL, "s", 0, &e);
	ck_assert_ptr_nonnull(jwt);
	ck_assert_int_eq(jwt_open(jwt, &h, &cl), 1);
	ck_assert_str_eq(h, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
	ck_assert_str_eq(cl, "{\"iss\":\"" EMAIL "\",\"scope\":\"s\","
	    "\"aud\":\"http://127.0.0.1:1/token\",\"iat\":0,\"exp\":3600}");
	free(h);
	free(cl);

	/* An empty sub is left out too; PKCS#1 v1.5 is deterministic, so
	 * the PKCS#8 form of the same key signs the same bytes. */
	creds_free(&c);
	sa_creds(&c, pem_pkcs8, NULL);
	jwt2 = oauth_jwt(&c, "http://127.0.0.1:1/token", "", "s", 0, &e);
	ck_assert_ptr_nonnull(jwt2);
	ck_assert_str_eq(jwt, jwt2);
	free(jwt);
	free(jwt2);

	/* UTF-8 in sub goes through as it is. */
	jwt = oauth_jwt(&c, "a", "j\xc3\xbcrgen@example.com", "s", 5, &e);
	ck_assert_int_eq(jwt_open(jwt, &h, &cl), 1);
	ck_assert_str_eq(cl, "{\"iss\":\"" EMAIL "\",\"scope\":\"s\","
	    "\"aud\":\"a\",\"iat\":5,\"exp\":3605,"
	    "\"sub\":\"j\xc3\xbcrgen@example.com\"}");
	free(h);
	free(cl);
	free(jwt);
	creds_free(&c);
}
END_TEST

START_TEST(test_jwt_errors)
{
	struct creds c;
	struct mv_err e;

	sa_creds(&c, pem_ec, "k");
	mv_err_clear(&e);
	ck_assert_ptr_null(oauth_jwt(&c, "a", "u", "s", NOW, &e));
	ck_err(-1, &e, MV_E_BAD_CREDENTIALS,
	    "service account private_key is not a PEM RSA private key");
	creds_free(&c);

	sa_creds(&c, "SECRET garbage", "k");
	ck_assert_ptr_null(oauth_jwt(&c, "a", "u", "s", NOW, &e));
	ck_err(-1, &e, MV_E_BAD_CREDENTIALS,
	    "service account private_key is not a PEM RSA private key");
	creds_free(&c);

	sa_creds(&c, pem_enc, "k");
	ck_assert_ptr_null(oauth_jwt(&c, "a", "u", "s", NOW, &e));
	ck_err(-1, &e, MV_E_BAD_CREDENTIALS,
	    "service account private_key is not a PEM RSA private key");
	creds_free(&c);

	sa_creds(&c, pem_pkcs8, "k");
	ck_assert_ptr_null(oauth_jwt(&c, "a", "u\xff", "s", NOW, &e));
	ck_err(-1, &e, MV_E_INVALID_ARGUMENT, "JWT: user email, scopes or "
	    "token URI is not valid UTF-8");
	ck_assert_ptr_null(oauth_jwt(&c, NULL, "u", "s", NOW, &e));
	ck_err(-1, &e, MV_E_INTERNAL, "JWT: no service account, audience "
	    "or scopes");
	ck_assert_ptr_null(oauth_jwt(&c, "a", "u", NULL, NOW, &e));
	ck_err(-1, &e, MV_E_INTERNAL, "JWT: no service account, audience "
	    "or scopes");
	c.type = CREDS_AUTHORIZED_USER;
	ck_assert_ptr_null(oauth_jwt(&c, "a", "u", "s", NOW, &e));
	ck_err(-1, &e, MV_E_INTERNAL, "JWT: no service account, audience "
	    "or scopes");
	creds_free(&c);
}
END_TEST

/* oauth_token_body */

static void
user_creds(struct creds *c, const char *id, const char *secret,
    const char *refresh)
{
	memset(c, 0, sizeof(*c));
	c->type = CREDS_AUTHORIZED_USER;
	c->client_id = strdup(id);
	c->client_secret = strdup(secret);
	c->refresh_token = strdup(refresh);
}

START_TEST(test_body_refresh)
{
	struct creds c;
	struct mv_err e;
	char *body;

	user_creds(&c, "id 1&x=y", "s+/=%~-._:\xc3\xa9\"'<>#?",
	    "1//0g-TOKEN");
	mv_err_clear(&e);
	body = oauth_token_body(&c, NULL, NULL, NULL, NOW, &e);
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, "grant_type=refresh_token&client_id=id%201%26x"
	    "%3Dy&client_secret=s%2B%2F%3D%25~-._%3A%C3%A9%22%27%3C%3E%23%3F"
	    "&refresh_token=1%2F%2F0g-TOKEN");
	free(body);
	creds_free(&c);

	user_creds(&c, "", "", "");
	body = oauth_token_body(&c, NULL, NULL, NULL, NOW, &e);
	ck_assert_str_eq(body, "grant_type=refresh_token&client_id="
	    "&client_secret=&refresh_token=");
	free(body);
	creds_free(&c);
}
END_TEST

START_TEST(test_body_bytes)
{
	struct creds c;
	struct mv_err e;
	char all[256], want[1024], *w, *body, *big;
	size_t i;
	int ch;

	/* Every byte value: unreserved ones as they are, others %XX. */
	for (i = 0; i < 255; i++)
		all[i] = (char)(i + 1);
	all[255] = '\0';
	w = want;
	w += sprintf(w, "grant_type=refresh_token&client_id=");
	for (ch = 1; ch < 256; ch++) {
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch))
			*w++ = (char)ch;
		else
			w += sprintf(w, "%%%02X", ch);
	}
	strcpy(w, "&client_secret=x&refresh_token=y");
	user_creds(&c, all, "x", "y");
	mv_err_clear(&e);
	body = oauth_token_body(&c, NULL, NULL, NULL, NOW, &e);
	ck_assert_str_eq(body, want);
	ck_assert_uint_eq(strlen(body), 35 + 66 + 189 * 3 + 32);
	free(body);
	creds_free(&c);

	/* A large secret is encoded whole. */
	big = malloc(MIB + 1);
	memset(big, '/', MIB);
	big[MIB] = '\0';
	user_creds(&c, "a", big, "b");
	body = oauth_token_body(&c, NULL, NULL, NULL, NOW, &e);
	ck_assert_uint_eq(strlen(body), 3 * MIB + 67);
	ck_assert_str_eq(body + strlen(body) - 22, "%2F%2F&refresh_token=b");
	free(body);
	free(big);
	creds_free(&c);
}
END_TEST

START_TEST(test_body_jwt)
{
	struct creds c;
	struct mv_err e;
	char *body, *jwt, *h, *cl;
	size_t n = strlen(JWT_GRANT);

	sa_creds(&c, pem_pkcs8, "kk");
	mv_err_clear(&e);
	body = oauth_token_body(&c, "http://127.0.0.1:5/token",
	    "user@example.com", SCOPES, NOW, &e);
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(strncmp(body, JWT_GRANT, n), 0);
	jwt = oauth_jwt(&c, "http://127.0.0.1:5/token", "user@example.com",
	    SCOPES, NOW, &e);
	ck_assert_str_eq(body + n, jwt);
	ck_assert_int_eq(jwt_open(body + n, &h, &cl), 1);
	ck_assert_str_eq(cl, "{\"iss\":\"" EMAIL "\",\"scope\":\"" SCOPES
	    "\",\"aud\":\"http://127.0.0.1:5/token\",\"iat\":1700000000,"
	    "\"exp\":1700003600,\"sub\":\"user@example.com\"}");
	free(h);
	free(cl);
	free(jwt);
	free(body);

	/* No token URI given: the credentials' one, else the default. */
	body = oauth_token_body(&c, NULL, "u@x", "s", NOW, &e);
	ck_assert_int_eq(jwt_open(body + n, &h, &cl), 1);
	ck_assert_ptr_nonnull(strstr(cl,
	    "\"aud\":\"https://oauth2.googleapis.com/token\""));
	free(h);
	free(cl);
	free(body);
	c.token_uri = strdup("http://t.example/tok");
	body = oauth_token_body(&c, NULL, "u@x", "s", NOW, &e);
	ck_assert_int_eq(jwt_open(body + n, &h, &cl), 1);
	ck_assert_ptr_nonnull(strstr(cl, "\"aud\":\"http://t.example/tok\""));
	free(h);
	free(cl);
	free(body);
	creds_free(&c);
}
END_TEST

START_TEST(test_body_errors)
{
	struct creds c;
	struct mv_err e;

	sa_creds(&c, pem_pkcs8, "kk");
	mv_err_clear(&e);
	ck_assert_ptr_null(oauth_token_body(&c, NULL, NULL, "s", NOW, &e));
	ck_err(-1, &e, MV_E_INVALID_ARGUMENT, "service_account credentials "
	    "need --user_email (the mailbox to act for)");
	ck_assert_ptr_null(oauth_token_body(&c, NULL, "", "s", NOW, &e));
	ck_err(-1, &e, MV_E_INVALID_ARGUMENT, "service_account credentials "
	    "need --user_email (the mailbox to act for)");
	creds_free(&c);

	sa_creds(&c, pem_pub, "kk");
	ck_assert_ptr_null(oauth_token_body(&c, NULL, "u@x", "s", NOW, &e));
	ck_err(-1, &e, MV_E_BAD_CREDENTIALS,
	    "service account private_key is not a PEM RSA private key");
	creds_free(&c);

	memset(&c, 0, sizeof(c));
	c.type = CREDS_ACCESS_TOKEN;
	c.access_token = strdup("SECRET");
	ck_assert_ptr_null(oauth_token_body(&c, NULL, "u@x", "s", NOW, &e));
	ck_err(-1, &e, MV_E_INTERNAL, "token request: access_token "
	    "credentials need none");
	creds_free(&c);

	user_creds(&c, "a", "SECRET", "b");
	free(c.refresh_token);
	c.refresh_token = NULL;
	ck_assert_ptr_null(oauth_token_body(&c, NULL, NULL, NULL, NOW, &e));
	ck_err(-1, &e, MV_E_INTERNAL, "token request: incomplete "
	    "authorized_user credentials");
	creds_free(&c);

	ck_assert_ptr_null(oauth_token_body(NULL, NULL, NULL, NULL, NOW, &e));
	ck_err(-1, &e, MV_E_INTERNAL, "token request: no credentials");
}
END_TEST

/* oauth_token_parse */

static const struct parse_case {
	long		 status;
	const char	*body;		/* NULL: no body */
	size_t		 len;		/* 0: strlen(body) */
	enum mv_errtype	 type;		/* MV_OK: success */
	const char	*msg_or_token;
	long		 expires;
} parse_cases[] = {
	{ 200, "{\"access_token\":\"ya29.SECRET\",\"expires_in\":3599,"
	  "\"token_type\":\"Bearer\",\"scope\":\"s\"}", 0, MV_OK,
	  "ya29.SECRET", 3599 },
	{ 200, "{\"access_token\":\"ya29.B\"}", 0, MV_OK, "ya29.B", 3600 },
	{ 200, "{\"access_token\":\"t\",\"expires_in\":\"120\"}", 0, MV_OK,
	  "t", 120 },
	{ 200, "{\"access_token\":\"t\",\"expires_in\":-5}", 0, MV_OK, "t",
	  3600 },
	{ 200, "{\"access_token\":\"t\",\"expires_in\":\"12x\"}", 0, MV_OK,
	  "t", 3600 },
	{ 200, "{\"access_token\":\"t\",\"expires_in\":0}", 0, MV_OK, "t", 0 },
	{ 200, "not json", 0, MV_E_API, "token endpoint answered HTTP 200 "
	  "with a body that is not a JSON object", 0 },
	{ 200, "[\"ya29.SECRET\"]", 0, MV_E_API, "token endpoint answered "
	  "HTTP 200 with a body that is not a JSON object", 0 },
	{ 200, "{\"access_token\":\"ya29.SECRET", 0, MV_E_API, "token "
	  "endpoint answered HTTP 200 with a body that is not a JSON object",
	  0 },
	{ 200, "{\"access_token\":\"a\"}\0garbage", 28, MV_E_API, "token "
	  "endpoint answered HTTP 200 with a body that is not a JSON object",
	  0 },
	{ 200, "{\"access_token\":\"\xff\"}", 0, MV_E_API, "token endpoint "
	  "answered HTTP 200 with a body that is not a JSON object", 0 },
	{ 200, NULL, 0, MV_E_API, "token endpoint answered HTTP 200 with a "
	  "body that is not a JSON object", 0 },
	{ 200, "{\"token_type\":\"Bearer\"}", 0, MV_E_API, "token endpoint "
	  "answered HTTP 200 without an access_token", 0 },
	{ 200, "{\"access_token\":\"\"}", 0, MV_E_API, "token endpoint "
	  "answered HTTP 200 without an access_token", 0 },
	{ 200, "{\"access_token\":42}", 0, MV_E_API, "token endpoint "
	  "answered HTTP 200 without an access_token", 0 },
	{ 400, "{\"error\":\"invalid_grant\",\"error_description\":"
	  "\"Token has been expired or revoked.\"}", 0, MV_E_AUTH,
	  "token endpoint refused the credentials: invalid_grant: Token has "
	  "been expired or revoked.", 0 },
	{ 401, "{\"error\":\"unauthorized_client\",\"error_description\":"
	  "\"Client is unauthorized to retrieve access tokens using this "
	  "method.\"}", 0, MV_E_AUTH, "token endpoint refused the "
	  "credentials: unauthorized_client: Client is unauthorized to "
	  "retrieve access tokens using this method.", 0 },
	{ 401, "{\"error\":\"invalid_client\"}", 0, MV_E_AUTH, "token "
	  "endpoint refused the credentials: invalid_client", 0 },
	{ 403, "{\"error\":\"access_denied\",\"error_description\":\"\"}", 0,
	  MV_E_AUTH, "token endpoint refused the credentials: access_denied",
	  0 },
	{ 400, "{\"error\":\"invalid_scope\",\"error_description\":"
	  "\"a\\nb\\u0007c\\u0085d\\u202ee\"}", 0, MV_E_AUTH, "token endpoint "
	  "refused the credentials: invalid_scope: a b c d\xe2\x80\xae" "e",
	  0 },
	{ 401, "", 0, MV_E_AUTH, "token endpoint refused the credentials "
	  "(HTTP 401)", 0 },
	{ 401, "{\"error\":{\"code\":401,\"message\":\"Request had invalid "
	  "authentication credentials.\",\"status\":\"UNAUTHENTICATED\"}}", 0,
	  MV_E_AUTH, "token endpoint refused the credentials (HTTP 401): "
	  "UNAUTHENTICATED: Request had invalid authentication credentials.",
	  0 },
	{ 400, "{\"error\":\"something_else\",\"error_description\":\"x\"}",
	  0, MV_E_API, "token endpoint answered HTTP 400: something_else: x",
	  0 },
	{ 400, "{\"error\":17,\"error_description\":\"only this\"}", 0,
	  MV_E_API, "token endpoint answered HTTP 400: only this", 0 },
	{ 404, "<html><body>Not Found</body></html>", 0, MV_E_API,
	  "token endpoint answered HTTP 404", 0 },
	{ 429, "", 0, MV_E_RATE_LIMITED, "token endpoint rate limited the "
	  "request (HTTP 429)", 0 },
	{ 429, "{\"error\":\"rate_limit_exceeded\",\"error_description\":"
	  "\"slow down\"}", 0, MV_E_RATE_LIMITED, "token endpoint rate "
	  "limited the request (HTTP 429): rate_limit_exceeded: slow down",
	  0 },
	{ 500, "{\"error\":\"internal_failure\"}", 0, MV_E_API, "token "
	  "endpoint failed: HTTP 500: internal_failure", 0 },
	{ 503, NULL, 0, MV_E_API, "token endpoint failed: HTTP 503", 0 },
	{ 302, "", 0, MV_E_API, "token endpoint answered HTTP 302", 0 },
	{ 0, "", 0, MV_E_API, "token endpoint answered HTTP 0", 0 },
	{ 400, "{\"error\":\"invalid_grant\"\0SECRET}", 32, MV_E_API,
	  "token endpoint answered HTTP 400", 0 },
};

START_TEST(test_parse_answer)
{
	const struct parse_case *t = &parse_cases[_i];
	struct mv_err e;
	char *token = (char *)(uintptr_t)"stale";
	long exp = -1;
	size_t len;
	int rc;

	len = t->len ? t->len : t->body ? strlen(t->body) : 0;
	mv_err_clear(&e);
	rc = oauth_token_parse(t->status, t->body, len, &token, &exp, &e);
	if (t->type == MV_OK) {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(token, t->msg_or_token);
		ck_assert_int_eq(exp, t->expires);
		free(token);
		return;
	}
	ck_err(rc, &e, t->type, t->msg_or_token);
	ck_assert_ptr_null(token);
	ck_assert_int_eq(e.http_status, t->status);
}
END_TEST

START_TEST(test_parse_answer_hostile)
{
	struct mv_err e;
	struct mv_buf b;
	char want[512], *token;
	long exp;
	size_t i;

	/* A long description is cut on a character boundary. */
	mv_buf_init(&b, 0);
	mv_buf_puts(&b, "{\"error\":\"invalid_grant\",");
	mv_buf_puts(&b, "\"error_description\":\"");
	for (i = 0; i < 100000; i++)
		mv_buf_puts(&b, "\xc3\xa9");
	mv_buf_puts(&b, "\"}");
	strcpy(want, "token endpoint refused the credentials: invalid_grant: ");
	for (i = 0; i < 100; i++)
		strcat(want, "\xc3\xa9");
	strcat(want, "...");
	mv_err_clear(&e);
	ck_err(oauth_token_parse(400, b.data, b.len, &token, &exp, &e), &e,
	    MV_E_AUTH, want);
	mv_buf_free(&b);

	/* Deep nesting is no JSON at all. */
	mv_buf_init(&b, 0);
	for (i = 0; i < 100000; i++)
		mv_buf_putc(&b, '[');
	ck_err(oauth_token_parse(200, b.data, b.len, &token, &exp, &e), &e,
	    MV_E_API, "token endpoint answered HTTP 200 with a body that is "
	    "not a JSON object");
	ck_assert_int_eq(e.http_status, 200);
	mv_buf_free(&b);
}
END_TEST

static Suite *
creds_suite(void)
{
	Suite *s = suite_create("creds");
	TCase *tc;

	tc = tcase_create("creds_parse");
	tcase_add_test(tc, test_parse_user);
	tcase_add_test(tc, test_parse_service_account);
	tcase_add_test(tc, test_parse_access_token);
	tcase_add_test(tc, test_parse_missing);
	tcase_add_test(tc, test_parse_types);
	tcase_add_test(tc, test_parse_unknown_type);
	tcase_add_test(tc, test_parse_not_json);
	tcase_add_test(tc, test_parse_hostile);
	tcase_add_test(tc, test_parse_bad_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("creds_load");
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_group_readable);
	tcase_add_test(tc, test_load_missing);
	tcase_add_test(tc, test_load_directory);
	tcase_add_test(tc, test_load_unreadable);
	tcase_add_test(tc, test_load_size);
	tcase_add_test(tc, test_load_inline);
	tcase_add_test(tc, test_load_env);
	tcase_add_test(tc, test_load_stdin);
	tcase_add_test(tc, test_load_pipe_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("creds_free");
	tcase_add_test(tc, test_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("oauth_token_uri");
	tcase_add_test(tc, test_token_uri);
	suite_add_tcase(s, tc);

	tc = tcase_create("oauth_jwt");
	tcase_add_test(tc, test_jwt);
	tcase_add_test(tc, test_jwt_no_kid);
	tcase_add_test(tc, test_jwt_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("oauth_token_body");
	tcase_add_test(tc, test_body_refresh);
	tcase_add_test(tc, test_body_bytes);
	tcase_add_test(tc, test_body_jwt);
	tcase_add_test(tc, test_body_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("oauth_token_parse");
	tcase_add_loop_test(tc, test_parse_answer, 0,
	    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_parse_answer_hostile);
	suite_add_tcase(s, tc);
	return s;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Makes the keys the tests use: one RSA key in several encodings, and
 * keys that must be refused. */
static void
make_keys(void)
{
	EVP_PKEY *ec;

	rsa_key = EVP_RSA_gen(2048);
	ec = EVP_EC_gen("P-256");
	if (rsa_key == NULL || ec == NULL)
		abort();
	pem_pkcs8 = pem_of(rsa_key, PEM_PKCS8);
	pem_pkcs1 = pem_of(rsa_key, PEM_PKCS1);
	pem_enc = pem_of(rsa_key, PEM_ENCRYPTED);
	pem_pub = pem_of(rsa_key, PEM_PUBLIC);
	pem_ec = pem_of(ec, PEM_PKCS8);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("check_creds", LOG_LVL_INFO);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	unsetenv("GMAIL_WORKER_CREDENTIALS");
	make_keys();
	sr = srunner_create(creds_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	EVP_PKEY_free(rsa_key);
	free(pem_pkcs8);
	free(pem_pkcs1);
	free(pem_enc);
	free(pem_pub);
	free(pem_ec);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
