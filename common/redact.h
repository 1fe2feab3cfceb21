/* Secrets out of diagnostic text: the request lines of -vv and libcurl's
 * trace of -vvv pass through here before they reach stderr. */
#ifndef MV_COMMON_REDACT_H
#define MV_COMMON_REDACT_H

#include <stddef.h>

#define REDACTED	"<redacted>"

/*
 * Copies the len bytes at s with every secret replaced by REDACTED: the
 * value of an Authorization or Proxy-Authorization header line, the word
 * after "Bearer ", and the values of access_token, refresh_token,
 * client_secret, assertion and id_token written name=value (a query or a
 * form) or "name": "value" (JSON). Returns a new NUL-terminated string;
 * caller frees. Aborts when out of memory.
 */
char *redact_secrets(const char *s, size_t len);

#endif
