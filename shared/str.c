/* Small string helpers: hex digits, text cleaned for quoting. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/str.h"
#include "shared/utf8.h"

int
mv_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
mv_quote_clean(char *dst, size_t dstlen, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0, k;

	if (max > dstlen - 4)
		max = dstlen - 4;
	while (i < n) {
		k = mv_utf8_seqlen(p + i, n - i);
		if (o + (k ? k : 1) > max) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (k == 0)
			dst[o++] = '?';
		else if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f))
			dst[o++] = ' ';
		else if (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			dst[o++] = ' ';		/* C1 control */
		else {
			memcpy(dst + o, p + i, k);
			o += k;
		}
		i += k ? k : 1;
	}
	dst[o] = '\0';
}

int
mv_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return -1;
}

int
mv_optname_eq(const char *name, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && name[i] != '\0'; i++)
		if ((name[i] == '_' ? '-' : name[i]) !=
		    (s[i] == '_' ? '-' : s[i]))
			return 0;
	return i == len && name[i] == '\0';
}

const char *
mv_fmt_double(char *buf, size_t len, double d)
{
	if (isinf(d))
		snprintf(buf, len, d > 0 ? "+Inf" : "-Inf");
	else if (isnan(d))
		snprintf(buf, len, "NaN");
	else
		for (int p = 15; p <= 17; p++) {
			snprintf(buf, len, "%.*g", p, d);
			if (strtod(buf, NULL) == d)
				break;
		}
	return buf;
}
