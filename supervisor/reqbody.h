/* The HTTP API's request bodies: strict JSON objects whose fields the
 * route declares. */
#ifndef MVD_REQBODY_H
#define MVD_REQBODY_H

#include <stddef.h>

#include <jansson.h>

#include "supervisor/routes.h"

/* Longest string field of a body, in bytes. */
#define REQBODY_STR_MAX	1024

/*
 * Reads the body of a request to route rt: data[0..len) (need not end in
 * a NUL; may be NULL when len is 0) sent with Content-Type ctype (NULL:
 * none). A route without a body takes none; the others take at most
 * max_body bytes of a JSON object (an empty body counts as {}) with no
 * duplicate key, whose fields are all known to the route, each of its
 * type, the required ones there. Returns 0 and stores a new reference in
 * *out (NULL for a route without a body), or -1 with the HTTP status
 * (400, 413 or 415) in *code and a message in err.
 */
int reqbody_parse(const struct route *rt, const char *ctype,
    const char *data, size_t len, size_t max_body, json_t **out, int *code,
    char *err, size_t errlen);

/* 1 when the Content-Type ct names JSON (parameters aside), else 0. */
int reqbody_is_json(const char *ct);

#endif
