/* base64 and base64url, both alphabets accepted when decoding. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "shared/b64.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int
b64_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

unsigned char *
mv_b64_decode(const char *in, size_t inlen, size_t *lenp)
{
	unsigned char *out;
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, v, ended = 0;

	if ((out = malloc(inlen / 4 * 3 + 4)) == NULL)
		return NULL;
	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (b64_space(c))
			continue;
		if (c == '=') {
			ended = 1;
			continue;
		}
		if (ended || (v = b64_value(c)) == -1)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (bits >= 6)		/* a lone 6-bit group encodes nothing */
		goto bad;
	out[o] = '\0';
	if (lenp)
		*lenp = o;
	return out;
bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

unsigned char *
mv_b64_decode_lenient(const char *in, size_t inlen, size_t *lenp)
{
	unsigned char *out;
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0, v;

	if ((out = malloc(inlen / 4 * 3 + 4)) == NULL)
		return NULL;
	for (size_t i = 0; i < inlen; i++) {
		if (in[i] == '=') {
			acc = 0;
			bits = 0;
			continue;
		}
		if ((v = b64_value((unsigned char)in[i])) < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	out[o] = '\0';
	if (lenp)
		*lenp = o;
	return out;
}

char *
mv_b64_encode(const void *in, size_t n, int url, int pad)
{
	const char *alpha = url ? b64_url : b64_std;
	const unsigned char *p = in;
	char *out, *o;
	size_t i;

	if (n > ((size_t)-1) / 4 - 2)
		return NULL;
	if ((out = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
		    p[i + 2];
		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		*o++ = alpha[(v >> 6) & 63];
		*o++ = alpha[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		if (i + 1 < n)
			*o++ = alpha[(v >> 6) & 63];
		else if (pad)
			*o++ = '=';
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
	return out;
}

char *
mv_b64_encode_mime(const void *in, size_t n)
{
	char *flat, *out, *o;
	size_t len, i;

	if ((flat = mv_b64_encode(in, n, 0, 1)) == NULL)
		return NULL;
	for (len = 0; flat[len]; len++)
		;
	if ((out = malloc(len + (len / 76 + 1) * 2 + 1)) == NULL) {
		free(flat);
		return NULL;
	}
	o = out;
	for (i = 0; i < len; i++) {
		*o++ = flat[i];
		if ((i + 1) % 76 == 0 || i + 1 == len) {
			*o++ = '\r';
			*o++ = '\n';
		}
	}
	*o = '\0';
	free(flat);
	return out;
}
