/* UTF-8 validation and repair, and JSON strings that are always valid. */
#ifndef MV_UTF8_H
#define MV_UTF8_H

#include <stddef.h>
#include <jansson.h>

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF). NUL bytes are valid. */
int mv_utf8_valid(const char *s, size_t n);

/* Length of the well-formed sequence at s (1..4), or 0 when the bytes there
 * do not start one. */
size_t mv_utf8_seqlen(const unsigned char *s, size_t n);

/* Copies s[0..n) replacing each ill-formed byte with U+FFFD and each NUL
 * with U+FFFD (JSON consumers choke on NUL). Returns a new NUL-terminated
 * string; caller frees. NULL when out of memory. */
char *mv_utf8_sanitize(const char *s, size_t n, size_t *outlen);

/* A JSON string from arbitrary bytes, repaired as above; json_null() for a
 * NULL s. Returns a new reference. */
json_t *mv_json_strn(const char *s, size_t n);
json_t *mv_json_str(const char *s);

/*
 * json_dumps() with reals in their shortest text that reads back the same:
 * the document is written with JSON_REAL_PRECISION(15), else 16, else 17,
 * the first that loads back equal (jansson's own default, 17 digits,
 * writes 0.003 as 0.0030000000000000001). flags must not hold a
 * precision. Returns a new string (caller frees) or NULL.
 */
char *mv_json_dumps(const json_t *v, size_t flags);

/* Overwrites the string values at the top level of a JSON object (which
 * may hold secrets) before jansson frees them. */
void mv_json_wipe(json_t *);

#endif
