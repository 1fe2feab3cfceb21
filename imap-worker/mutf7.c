/* Modified UTF-7 (RFC 3501 5.1.3) to and from UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-worker/mutf7.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* One code point from UTF-8 at *s (advanced); U+FFFD for a bad one. */
static uint32_t
utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t c = *p++;
	int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;

	if (c >= 0x80 && n == 0) {
		*s = p;
		return 0xFFFD;
	}
	c &= n == 3 ? 0x07 : n == 2 ? 0x0F : n == 1 ? 0x1F : 0x7F;
	for (; n > 0; n--, p++) {
		if ((*p & 0xC0) != 0x80) {
			*s = p;
			return 0xFFFD;
		}
		c = c << 6 | (*p & 0x3F);
	}
	*s = p;
	return c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) ? 0xFFFD : c;
}

/* Appends 16 bits to the base64 run. */
static char *
run_put(char *o, uint32_t u, uint32_t *bits, int *nbits)
{
	*bits = *bits << 16 | u;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		*o++ = b64[(*bits >> *nbits) & 0x3F];
	}
	return o;
}

char *
mutf7_encode(const char *utf8)
{
	const unsigned char *s = (const unsigned char *)utf8;
	char *out = malloc(strlen(utf8) * 4 + 2), *o = out;
	uint32_t c, bits = 0;
	int nbits = 0, inrun = 0;

	if (out == NULL)
		return NULL;
	while (*s) {
		if (*s >= 0x20 && *s < 0x7F) {
			if (inrun) {
				if (nbits > 0)
					*o++ = b64[(bits << (6 - nbits)) & 0x3F];
				*o++ = '-';
				inrun = 0;
				nbits = 0;
			}
			*o++ = (char)*s;
			if (*s++ == '&')
				*o++ = '-';
			continue;
		}
		if (!inrun) {
			*o++ = '&';
			inrun = 1;
			bits = 0;
		}
		c = utf8_next(&s);
		if (c >= 0x10000) {
			c -= 0x10000;
			o = run_put(o, 0xD800 | (c >> 10), &bits, &nbits);
			o = run_put(o, 0xDC00 | (c & 0x3FF), &bits, &nbits);
		} else
			o = run_put(o, c, &bits, &nbits);
	}
	if (inrun) {
		if (nbits > 0)
			*o++ = b64[(bits << (6 - nbits)) & 0x3F];
		*o++ = '-';
	}
	*o = '\0';
	return out;
}

/* Appends c as UTF-8. */
static char *
utf8_put(char *o, uint32_t c)
{
	if (c < 0x80)
		*o++ = (char)c;
	else if (c < 0x800) {
		*o++ = (char)(0xC0 | c >> 6);
		*o++ = (char)(0x80 | (c & 0x3F));
	} else if (c < 0x10000) {
		*o++ = (char)(0xE0 | c >> 12);
		*o++ = (char)(0x80 | ((c >> 6) & 0x3F));
		*o++ = (char)(0x80 | (c & 0x3F));
	} else {
		*o++ = (char)(0xF0 | c >> 18);
		*o++ = (char)(0x80 | ((c >> 12) & 0x3F));
		*o++ = (char)(0x80 | ((c >> 6) & 0x3F));
		*o++ = (char)(0x80 | (c & 0x3F));
	}
	return o;
}

/* Decodes the run at s (after '&', up to '-') into o. Returns the end of
 * the run ('-'), or NULL when it is not valid. */
static const char *
run_decode(const char *s, char **op)
{
	uint32_t bits = 0, hi = 0, u;
	int nbits = 0;
	const char *v;
	char *o = *op;

	for (; *s && *s != '-'; s++) {
		if ((v = strchr(b64, *s)) == NULL)
			return NULL;
		bits = bits << 6 | (uint32_t)(v - b64);
		if ((nbits += 6) < 16)
			continue;
		nbits -= 16;
		u = (bits >> nbits) & 0xFFFF;
		if (u >= 0xD800 && u < 0xDC00 && hi == 0)
			hi = u;
		else if (u >= 0xDC00 && u < 0xE000 && hi != 0) {
			o = utf8_put(o, 0x10000 + ((hi - 0xD800) << 10) +
			    (u - 0xDC00));
			hi = 0;
		} else if (hi != 0 || (u >= 0xD800 && u < 0xE000) ||
		    (u >= 0x20 && u < 0x7F))
			return NULL;
		else
			o = utf8_put(o, u);
	}
	if (*s != '-' || hi != 0 || nbits >= 6 ||
	    (bits & ((1u << nbits) - 1)) != 0)
		return NULL;
	*op = o;
	return s;
}

char *
mutf7_decode(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7F)
			goto bad;
		if (*s != '&') {
			*o++ = *s;
			continue;
		}
		if (s[1] == '-') {
			*o++ = '&';
			s++;
			continue;
		}
		if ((s = run_decode(s + 1, &o)) == NULL)
			goto bad;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}
