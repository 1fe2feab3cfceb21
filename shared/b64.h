/* base64 (RFC 4648 §4) and base64url (§5) encoding and decoding. */
#ifndef MV_B64_H
#define MV_B64_H

#include <stddef.h>

/* Decodes base64 or base64url (either alphabet, padded or not; whitespace
 * skipped). Returns a new buffer (NUL-terminated, caller frees) and its
 * length in *lenp, or NULL with errno EINVAL on a bad character or a
 * truncated final quantum (a lone 6-bit group). */
unsigned char *mv_b64_decode(const char *in, size_t inlen, size_t *lenp);

/* Decodes base64 as mail readers do: characters outside the alphabet
 * skipped, '=' ends a quantum (so padded pieces may follow each other), a
 * dangling partial quantum dropped. Never fails on content. Returns a new
 * NUL-terminated buffer (caller frees), NULL when out of memory. */
unsigned char *mv_b64_decode_lenient(const char *in, size_t inlen,
    size_t *lenp);

/* Encodes n bytes. url: the base64url alphabet; pad: add '=' padding.
 * Returns a new NUL-terminated string; caller frees. NULL when out of
 * memory. */
char *mv_b64_encode(const void *in, size_t n, int url, int pad);

/* Encodes into MIME lines of at most 76 characters ending in CRLF.
 * Returns a new string; caller frees. */
char *mv_b64_encode_mime(const void *in, size_t n);

#endif
