/* UTF-8 checks (RFC 3629, Unicode Table 3-7) and U+FFFD repair. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/utf8.h"

size_t
mv_utf8_seqlen(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int
mv_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = mv_utf8_seqlen(p + i, n - i)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

char *
mv_utf8_sanitize(const char *s, size_t n, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, l;

	if (n > ((size_t)-1) / 3 - 1)
		return NULL;
	if ((out = malloc(n * 3 + 1)) == NULL)
		return NULL;
	o = out;
	while (i < n) {
		if (p[i] != 0 && (l = mv_utf8_seqlen(p + i, n - i)) != 0) {
			memcpy(o, p + i, l);
			o += l;
			i += l;
			continue;
		}
		memcpy(o, "\xef\xbf\xbd", 3);
		o += 3;
		i++;
	}
	*o = '\0';
	if (outlen)
		*outlen = (size_t)(o - out);
	return out;
}

json_t *
mv_json_strn(const char *s, size_t n)
{
	json_t *j;
	char *fixed;
	size_t len;

	if (s == NULL)
		return json_null();
	if (memchr(s, '\0', n) == NULL && mv_utf8_valid(s, n))
		return json_stringn_nocheck(s, n);
	if ((fixed = mv_utf8_sanitize(s, n, &len)) == NULL)
		return json_null();
	j = json_stringn_nocheck(fixed, len);
	free(fixed);
	return j;
}

json_t *
mv_json_str(const char *s)
{
	return s ? mv_json_strn(s, strlen(s)) : json_null();
}

void
mv_json_wipe(json_t *doc)
{
	const char *key;
	json_t *v;

	if (!json_is_object(doc))
		return;
	json_object_foreach(doc, key, v) {
		if (json_is_string(v))
			explicit_bzero((void *)(uintptr_t)json_string_value(v),
			    json_string_length(v));
	}
}

char *
mv_json_dumps(const json_t *v, size_t flags)
{
	json_t *back;
	char *s = NULL;
	int same;

	for (int p = 15; p <= 17; p++) {
		free(s);
		if ((s = json_dumps(v, flags | JSON_REAL_PRECISION(p))) ==
		    NULL || p == 17)
			break;
		back = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		same = back != NULL && json_equal(v, back);
		json_decref(back);
		if (same)
			break;
	}
	return s;
}
