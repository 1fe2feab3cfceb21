/* Redaction of secrets in diagnostic text. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/redact.h"
#include "shared/buf.h"

static const char *const secret_names[] = {
	"access_token", "refresh_token", "client_secret", "assertion",
	"id_token",
};
static const char *const secret_headers[] = {
	"authorization:", "proxy-authorization:", "api-key:", "x-api-key:",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Does the text at p (n bytes left) start with word, any case? */
static int
starts(const char *p, size_t n, const char *word)
{
	size_t wl = strlen(word);

	return n >= wl && strncasecmp(p, word, wl) == 0;
}

static int
is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* Bytes of a header line's value from p: to the end of the line. */
static size_t
line_rest(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '\r' && p[i] != '\n')
		i++;
	return i;
}

/* Bytes of a form or query value from p: to '&', a quote or a space. */
static size_t
form_value(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !strchr("&\"' \t\r\n", p[i]))
		i++;
	return i;
}

/* Bytes of a JSON string's contents from p (after its quote), escapes
 * included, to the closing quote. */
static size_t
json_value(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '"')
		i += p[i] == '\\' && i + 1 < n ? 2 : 1;
	return i;
}

/*
 * A secret name at p (n bytes left; at a word start): *keep gets the bytes
 * to copy as they are (the name and what leads to the value) and the
 * value's length is returned; 0 when no secret starts here.
 */
static size_t
secret_at(const char *p, size_t n, size_t *keep)
{
	size_t i, k;

	for (i = 0; i < NELEM(secret_names); i++) {
		k = strlen(secret_names[i]);
		if (!starts(p, n, secret_names[i]) ||
		    (k < n && is_name_char((unsigned char)p[k])))
			continue;
		if (k < n && p[k] == '=') {
			*keep = k + 1;
			return form_value(p + k + 1, n - k - 1);
		}
		if (k < n && p[k] == '"') {	/* "name": "value" */
			k++;
			while (k < n && (p[k] == ' ' || p[k] == ':'))
				k++;
			if (k < n && p[k] == '"') {
				*keep = k + 1;
				return json_value(p + k + 1, n - k - 1);
			}
		}
	}
	return 0;
}

/* A header whose whole value is secret at a line start p: its length
 * (name and colon), else 0. */
static size_t
secret_header_at(const char *p, size_t n)
{
	for (size_t i = 0; i < NELEM(secret_headers); i++)
		if (starts(p, n, secret_headers[i]))
			return strlen(secret_headers[i]);
	return 0;
}

static void
put(struct mv_buf *b, const char *p, size_t n)
{
	if (mv_buf_append(b, p, n) == -1)
		abort();
}

char *
redact_secrets(const char *s, size_t len)
{
	struct mv_buf b;
	size_t i = 0, k, keep, v;
	char *out;

	mv_buf_init(&b, 0);
	while (i < len) {
		int word = i == 0 || !is_name_char((unsigned char)s[i - 1]);
		int bol = i == 0 || s[i - 1] == '\n';

		if (bol && (k = secret_header_at(s + i, len - i)) > 0) {
			put(&b, s + i, k);
			put(&b, " " REDACTED, strlen(" " REDACTED));
			i += k + line_rest(s + i + k, len - i - k);
		} else if (word && starts(s + i, len - i, "bearer ")) {
			put(&b, s + i, 7);
			put(&b, REDACTED, strlen(REDACTED));
			i += 7 + form_value(s + i + 7, len - i - 7);
		} else if (word && (v = secret_at(s + i, len - i, &keep)) > 0) {
			put(&b, s + i, keep);
			put(&b, REDACTED, strlen(REDACTED));
			i += keep + v;
		} else
			put(&b, s + i++, 1);
	}
	if ((out = mv_buf_steal(&b, NULL)) == NULL)
		abort();
	return out;
}
