/* MIME header decoding: RFC 2047 encoded words, RFC 2231 parameters. */
#ifndef MV_COMMON_RFC2047_H
#define MV_COMMON_RFC2047_H

#include <stddef.h>

/*
 * Decodes the RFC 2047 encoded words (B and Q, charset*language) in a header
 * value; whitespace between adjacent encoded words is dropped, malformed
 * words are left as they are, and text outside the words that is not valid
 * UTF-8 is converted from windows-1252 (8-bit headers from old mailers).
 * A no-op on text that Gmail already decoded.
 * Returns a new UTF-8 string; caller frees. NULL only when out of memory.
 */
char *rfc2047_decode(const char *in, size_t len);

/*
 * The value of parameter `name` (case-insensitive) in a structured header
 * value such as `attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`:
 * quoted strings, RFC 2231 continuations (name*0, name*1*) with
 * charset'language'%XX, and RFC 2047 words inside quoted values (what many
 * mailers send). Returns a new UTF-8 string (caller frees) or NULL when the
 * parameter is absent.
 */
char *mime_param(const char *value, const char *name);

/* The media type of a Content-Type value, lower-cased and trimmed
 * ("text/plain"); "text/plain" when the value is NULL or unparsable.
 * Returns a new string; caller frees. */
char *mime_media_type(const char *value);

#endif
