/* Small string helpers. */
#ifndef MV_STR_H
#define MV_STR_H

#include <stddef.h>

/* The value of a hexadecimal digit, or -1. */
int mv_hexval(int c);

/*
 * Copies s into dst (dstlen bytes, at least 4) for quoting in a message:
 * whole UTF-8 sequences only, control characters become spaces, ill-formed
 * bytes '?', and "..." ends a copy cut at max bytes or at dstlen.
 */
void mv_quote_clean(char *dst, size_t dstlen, const char *s, size_t max);

/* 1 when the len bytes at s spell the option name name, '-' and '_'
 * alike (--days-back is --days_back); else 0. */
int mv_optname_eq(const char *name, const char *s, size_t len);

/* Formats a message into err (errlen bytes; nothing when err is NULL or
 * errlen 0), keeping errno. Returns -1, so that callers can
 * `return mv_errf(err, errlen, ...)`. */
int mv_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The shortest text of d that reads back as d: %.15g, else %.16g, else
 * %.17g ("0.003", not "0.0030000000000000001"); "+Inf", "-Inf", "NaN"
 * as Prometheus writes them. Returns buf. */
const char *mv_fmt_double(char *buf, size_t len, double d);

#endif
