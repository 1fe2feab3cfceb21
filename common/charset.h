/* Text in any declared charset to UTF-8, with U+FFFD for what cannot be
 * decoded (never dropped bytes). */
#ifndef MV_COMMON_CHARSET_H
#define MV_COMMON_CHARSET_H

#include <stddef.h>

/*
 * Converts a text body to UTF-8 by the contract's rule: bytes that are
 * valid UTF-8 are kept as they are (Gmail usually hands bodies over already
 * converted, leaving the declared charset in place) unless the declared
 * charset is a 7-bit stateful one (ISO-2022-*, UTF-7, HZ) and its escape
 * sequences are present, or UTF-16/UTF-32 and the bytes hold a byte order
 * mark or NUL bytes; anything else is converted from the declared
 * charset with iconv. An unknown or missing charset falls back to
 * windows-1252 (every byte maps to something). Undecodable bytes become
 * U+FFFD. NUL bytes become U+FFFD too.
 * Returns a new NUL-terminated string (caller frees) and its length in
 * *outlen (may be NULL); NULL only when out of memory.
 */
char *charset_text_to_utf8(const char *data, size_t len, const char *charset,
    size_t *outlen);

/*
 * Converts strictly from charset (no keep-if-UTF-8 rule): for RFC 2047
 * words and RFC 2231 parameters, whose bytes are always in their charset.
 * Same fallback, U+FFFD and ownership rules as above.
 */
char *charset_convert(const char *data, size_t len, const char *charset,
    size_t *outlen);

/* 1 when iconv knows the charset (after alias mapping), else 0. */
int charset_known(const char *charset);

#endif
