/* OAuth2 token requests: the form bodies of the refresh-token and JWT
 * bearer grants, the service-account JWT (RS256), and the token endpoint's
 * answers. No I/O. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/oauth.h"
#include "shared/b64.h"
#include "shared/str.h"
#include "shared/utf8.h"

#define OAUTH_LIFETIME	3600	/* JWT exp - iat: Google's maximum */
#define OAUTH_EXPIRES	3600	/* expires_in when the answer lacks it */
#define OAUTH_JWT_GRANT	"urn:ietf:params:oauth:grant-type:jwt-bearer"
#define OAUTH_TEXTMAX	200	/* bytes of server text quoted */

/* One key=value pair of a form body. */
struct oauth_pair {
	const char	*key;
	const char	*value;
};

/* The error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, and
 * Google's own for clients refused by policy. */
static const char *const oauth_error_codes[] = {
	"invalid_request", "invalid_client", "invalid_grant",
	"unauthorized_client", "unsupported_grant_type", "invalid_scope",
	"access_denied", "invalid_token", "insufficient_scope",
	"admin_policy_enforced", "org_internal", "deleted_client",
	"disabled_client", "unsupported_response_type",
	NULL
};

/*
 * The token endpoint. An empty override counts as none, since an empty
 * GMAIL_TOKEN_URI is how a shell unsets it.
 */
const char *
oauth_token_uri(const struct creds *c, const char *override)
{
	if (override != NULL && *override != '\0')
		return override;
	if (c != NULL && c->token_uri != NULL && *c->token_uri != '\0')
		return c->token_uri;
	return OAUTH_DEFAULT_TOKEN_URI;
}

/* Refuses key files sealed with a passphrase instead of prompting. */
static int
oauth_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* The RSA private key in pem, or NULL. Caller frees with EVP_PKEY_free. */
static EVP_PKEY *
oauth_load_key(const char *pem)
{
	EVP_PKEY *key;
	BIO *bio;

	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, oauth_no_passphrase, NULL);
	BIO_free(bio);
	if (key != NULL && !EVP_PKEY_is_a(key, "RSA")) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	ERR_clear_error();
	return key;
}

/* "a.b" in one allocation of the exact size, so that no partial copy of a
 * token is left behind. New string or NULL. */
static char *
oauth_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s;

	s = malloc(la + lb + 2);
	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	s[la] = '.';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

/* base64url, unpadded, of the compact JSON of o. New string or NULL. */
static char *
oauth_b64_json(const json_t *o)
{
	char *s, *b;

	s = json_dumps(o, JSON_COMPACT);
	if (s == NULL)
		return NULL;
	b = mv_b64_encode(s, strlen(s), 1, 0);
	free(s);
	return b;
}

/* {"alg":"RS256","typ":"JWT"[,"kid":..]}. New reference or NULL. */
static json_t *
oauth_jwt_header(const struct creds *c)
{
	json_t *h = json_object();

	if (h == NULL)
		return NULL;
	if (json_object_set_new(h, "alg", json_string("RS256")) == -1 ||
	    json_object_set_new(h, "typ", json_string("JWT")) == -1 ||
	    (c->private_key_id != NULL && json_object_set_new(h, "kid",
	    json_string(c->private_key_id)) == -1)) {
		json_decref(h);
		return NULL;
	}
	return h;
}

/* The claims of the JWT bearer grant. New reference or NULL. */
static json_t *
oauth_jwt_claims(const struct creds *c, const char *aud, const char *sub,
    const char *scopes, time_t now)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "iss", json_string(c->client_email)) == -1 ||
	    json_object_set_new(o, "scope", json_string(scopes)) == -1 ||
	    json_object_set_new(o, "aud", json_string(aud)) == -1 ||
	    json_object_set_new(o, "iat", json_integer(now)) == -1 ||
	    json_object_set_new(o, "exp",
	    json_integer((json_int_t)now + OAUTH_LIFETIME)) == -1 ||
	    (sub != NULL && json_object_set_new(o, "sub",
	    json_string(sub)) == -1)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "b64(header).b64(claims)": the signing input. New string or NULL. */
static char *
oauth_jwt_input(const struct creds *c, const char *aud, const char *sub,
    const char *scopes, time_t now)
{
	json_t *h, *cl;
	char *hb = NULL, *cb = NULL, *in = NULL;

	h = oauth_jwt_header(c);
	cl = oauth_jwt_claims(c, aud, sub, scopes, now);
	if (h != NULL && cl != NULL) {
		hb = oauth_b64_json(h);
		cb = oauth_b64_json(cl);
	}
	if (hb != NULL && cb != NULL)
		in = oauth_join(hb, cb);
	json_decref(h);
	json_decref(cl);
	free(hb);
	free(cb);
	return in;
}

/* RSASSA-PKCS1-v1_5 with SHA-256 of in. Returns 0 with *sig (caller frees)
 * and *siglen, or -1. */
static int
oauth_sign(EVP_PKEY *key, const char *in, unsigned char **sig,
    size_t *siglen)
{
	EVP_MD_CTX *md;
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = 0;
	int rc = -1;

	*sig = NULL;
	md = EVP_MD_CTX_new();
	if (md == NULL)
		return -1;
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_DigestSign(md, NULL, &len, (const unsigned char *)in,
	    strlen(in)) != 1)
		goto done;
	*sig = malloc(len);
	if (*sig == NULL || EVP_DigestSign(md, *sig, &len,
	    (const unsigned char *)in, strlen(in)) != 1) {
		free(*sig);
		*sig = NULL;
		goto done;
	}
	*siglen = len;
	rc = 0;
done:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/* "input.b64(signature)". New string, or NULL with err. */
static char *
oauth_jwt_finish(EVP_PKEY *key, const char *input, struct mv_err *err)
{
	unsigned char *sig;
	size_t siglen;
	char *sb, *jwt = NULL;

	if (oauth_sign(key, input, &sig, &siglen) == -1) {
		mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "service account private_key cannot sign (RS256)");
		return NULL;
	}
	sb = mv_b64_encode(sig, siglen, 1, 0);
	if (sb != NULL)
		jwt = oauth_join(input, sb);
	if (jwt == NULL)
		mv_err_set(err, MV_E_INTERNAL, "JWT: out of memory");
	free(sig);
	free(sb);
	return jwt;
}

/* 1 when s is valid UTF-8 (jansson refuses anything else). */
static int
oauth_utf8(const char *s)
{
	return mv_utf8_valid(s, strlen(s));
}

char *
oauth_jwt(const struct creds *c, const char *aud, const char *sub,
    const char *scopes, time_t now, struct mv_err *err)
{
	EVP_PKEY *key;
	char *input, *jwt;

	if (c == NULL || c->type != CREDS_SERVICE_ACCOUNT ||
	    c->client_email == NULL || c->private_key == NULL ||
	    aud == NULL || scopes == NULL) {
		mv_err_set(err, MV_E_INTERNAL, "JWT: no service account, "
		    "audience or scopes");
		return NULL;
	}
	if (sub != NULL && *sub == '\0')
		sub = NULL;
	if (!oauth_utf8(aud) || !oauth_utf8(scopes) ||
	    (sub != NULL && !oauth_utf8(sub))) {
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "JWT: user email, "
		    "scopes or token URI is not valid UTF-8");
		return NULL;
	}
	key = oauth_load_key(c->private_key);
	if (key == NULL) {
		mv_err_set(err, MV_E_BAD_CREDENTIALS,
		    "service account private_key is not a PEM RSA private key");
		return NULL;
	}
	input = oauth_jwt_input(c, aud, sub, scopes, now);
	jwt = NULL;
	if (input == NULL)
		mv_err_set(err, MV_E_INTERNAL, "JWT: out of memory");
	else
		jwt = oauth_jwt_finish(key, input, err);
	EVP_PKEY_free(key);
	free(input);
	return jwt;
}

/* 1 for the bytes RFC 3986 §2.3 leaves as they are. */
static int
oauth_unreserved(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
	    ch == '~';
}

/* Percent-encodes s at d (room checked by the caller); returns the end. */
static char *
oauth_encode(char *d, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (oauth_unreserved(*p)) {
			*d++ = (char)*p;
			continue;
		}
		*d++ = '%';
		*d++ = hex[*p >> 4];
		*d++ = hex[*p & 0xf];
	}
	return d;
}

/*
 * Joins n pairs into "k=v&k=v", every byte outside the unreserved set
 * percent-encoded. Sized in one pass and allocated once, so that no copy
 * of a secret is left behind by a realloc. New string (caller wipes and
 * frees) or NULL.
 */
static char *
oauth_form(const struct oauth_pair *kv, size_t n)
{
	size_t i, len = 1;
	char *body, *p;

	for (i = 0; i < n; i++)
		len += (strlen(kv[i].key) + strlen(kv[i].value)) * 3 + 2;
	body = malloc(len);
	if (body == NULL)
		return NULL;
	p = body;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = '&';
		p = oauth_encode(p, kv[i].key);
		*p++ = '=';
		p = oauth_encode(p, kv[i].value);
	}
	*p = '\0';
	return body;
}

/* The refresh-token grant. New string or NULL with err. */
static char *
oauth_body_refresh(const struct creds *c, struct mv_err *err)
{
	struct oauth_pair kv[] = {
		{ "grant_type",		"refresh_token" },
		{ "client_id",		c->client_id },
		{ "client_secret",	c->client_secret },
		{ "refresh_token",	c->refresh_token },
	};
	char *body;

	if (c->client_id == NULL || c->client_secret == NULL ||
	    c->refresh_token == NULL) {
		mv_err_set(err, MV_E_INTERNAL, "token request: incomplete "
		    "authorized_user credentials");
		return NULL;
	}
	body = oauth_form(kv, sizeof(kv) / sizeof(kv[0]));
	if (body == NULL)
		mv_err_set(err, MV_E_INTERNAL, "token request: out of memory");
	return body;
}

/* The JWT bearer grant. New string or NULL with err. */
static char *
oauth_body_jwt(const struct creds *c, const char *token_uri,
    const char *user_email, const char *scopes, time_t now,
    struct mv_err *err)
{
	struct oauth_pair kv[2];
	char *jwt, *body;

	if (user_email == NULL || *user_email == '\0') {
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "service_account "
		    "credentials need --user_email (the mailbox to act for)");
		return NULL;
	}
	if (token_uri == NULL)
		token_uri = oauth_token_uri(c, NULL);
	jwt = oauth_jwt(c, token_uri, user_email, scopes, now, err);
	if (jwt == NULL)
		return NULL;
	kv[0].key = "grant_type";
	kv[0].value = OAUTH_JWT_GRANT;
	kv[1].key = "assertion";
	kv[1].value = jwt;
	body = oauth_form(kv, 2);
	if (body == NULL)
		mv_err_set(err, MV_E_INTERNAL, "token request: out of memory");
	explicit_bzero(jwt, strlen(jwt));
	free(jwt);
	return body;
}

char *
oauth_token_body(const struct creds *c, const char *token_uri,
    const char *user_email, const char *scopes, time_t now,
    struct mv_err *err)
{
	if (c == NULL) {
		mv_err_set(err, MV_E_INTERNAL, "token request: no credentials");
		return NULL;
	}
	switch (c->type) {
	case CREDS_AUTHORIZED_USER:
		return oauth_body_refresh(c, err);
	case CREDS_SERVICE_ACCOUNT:
		return oauth_body_jwt(c, token_uri, user_email, scopes, now,
		    err);
	default:
		mv_err_set(err, MV_E_INTERNAL, "token request: access_token "
		    "credentials need none");
		return NULL;
	}
}

/* The string member key of o, or NULL. Borrowed. */
static const char *
oauth_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/*
 * ": code: description" (either may be missing; "" when both are) from an
 * OAuth error body {"error":..,"error_description":..} or a Google API one
 * {"error":{"status":..,"message":..}}, cleaned for quoting. code gets the
 * bare error code.
 */
static void
oauth_error_text(const json_t *doc, char *code, size_t codelen, char *what,
    size_t whatlen)
{
	const json_t *e = json_object_get(doc, "error");
	const char *c = json_string_value(e), *d;
	char desc[OAUTH_TEXTMAX + 4];

	d = oauth_str(doc, "error_description");
	if (json_is_object(e)) {
		c = oauth_str(e, "status");
		d = oauth_str(e, "message");
	}
	mv_quote_clean(code, codelen, c ? c : "", 64);
	mv_quote_clean(desc, sizeof(desc), d ? d : "", OAUTH_TEXTMAX);
	if (*code != '\0' && *desc != '\0')
		snprintf(what, whatlen, ": %s: %s", code, desc);
	else if (*code != '\0' || *desc != '\0')
		snprintf(what, whatlen, ": %s", *code ? code : desc);
	else
		*what = '\0';
}

/* 1 when code is one of the OAuth error codes. */
static int
oauth_is_oauth_error(const char *code)
{
	size_t i;

	for (i = 0; oauth_error_codes[i] != NULL; i++)
		if (strcmp(code, oauth_error_codes[i]) == 0)
			return 1;
	return 0;
}

/* Classifies a refusal (status other than 200). Returns -1 with err. */
static int
oauth_parse_refusal(long status, const json_t *doc, struct mv_err *err)
{
	char code[72], what[OAUTH_TEXTMAX + 96];

	oauth_error_text(doc, code, sizeof(code), what, sizeof(what));
	if (status == 429)
		return mv_err_set(err, MV_E_RATE_LIMITED,
		    "token endpoint rate limited the request (HTTP 429)%s",
		    what);
	if (status >= 500 && status <= 599)
		return mv_err_set(err, MV_E_API,
		    "token endpoint failed: HTTP %ld%s", status, what);
	if (status >= 400 && status <= 499 && oauth_is_oauth_error(code))
		return mv_err_set(err, MV_E_AUTH,
		    "token endpoint refused the credentials%s", what);
	if (status == 401)
		return mv_err_set(err, MV_E_AUTH,
		    "token endpoint refused the credentials (HTTP 401)%s",
		    what);
	return mv_err_set(err, MV_E_API, "token endpoint answered HTTP %ld%s",
	    status, what);
}

/* expires_in as a number or a string of digits; the default otherwise. */
static long
oauth_expires(const json_t *v)
{
	const char *s;
	char *end;
	long n;

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= INT_MAX)
		return (long)json_integer_value(v);
	s = json_string_value(v);
	if (s == NULL || *s < '0' || *s > '9')
		return OAUTH_EXPIRES;
	n = strtol(s, &end, 10);
	if (*end != '\0' || n > INT_MAX)
		return OAUTH_EXPIRES;
	return n;
}

/* Reads a 200 answer. Returns 0 with *token and *expires_in, or -1. */
static int
oauth_parse_grant(const json_t *doc, char **token, long *expires_in,
    struct mv_err *err)
{
	const json_t *v;

	if (!json_is_object(doc))
		return mv_err_set(err, MV_E_API, "token endpoint answered "
		    "HTTP 200 with a body that is not a JSON object");
	v = json_object_get(doc, "access_token");
	if (!json_is_string(v) || json_string_length(v) == 0)
		return mv_err_set(err, MV_E_API, "token endpoint answered "
		    "HTTP 200 without an access_token");
	*token = strdup(json_string_value(v));
	if (*token == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	*expires_in = oauth_expires(json_object_get(doc, "expires_in"));
	return 0;
}

int
oauth_token_parse(long status, const char *body, size_t len, char **token,
    long *expires_in, struct mv_err *err)
{
	json_t *doc = NULL;
	int rc;

	*token = NULL;
	*expires_in = 0;
	if (body != NULL)
		doc = json_loadb(body, len, 0, NULL);
	if (status == 200)
		rc = oauth_parse_grant(doc, token, expires_in, err);
	else
		rc = oauth_parse_refusal(status, doc, err);
	if (rc == -1)
		err->http_status = status < 0 || status > INT_MAX ? 0 :
		    (int)status;
	mv_json_wipe(doc);
	json_decref(doc);
	return rc;
}
