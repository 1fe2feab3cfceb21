/* Results on stdout: one JSON document, or NDJSON lines then a summary. */
#ifndef MV_COMMON_OUTPUT_H
#define MV_COMMON_OUTPUT_H

#include <stdio.h>
#include <jansson.h>

#include "shared/err.h"

/* Writes one JSON value on its own line and flushes. Returns 0 or -1. */
int output_line(FILE *, const json_t *);

/*
 * Prints the final result of an action: in json mode the envelope; in
 * ndjson mode, first one line per element of the envelope's array field
 * `items` (when not NULL and present; the field is then left out of the
 * summary), then the envelope with "summary": true. Returns 0 or -1.
 */
int output_result(FILE *, int ndjson, json_t *envelope, const char *items);

/* Prints the error envelope (with "summary": true in ndjson mode) and
 * returns the exit code of err. */
int output_error(FILE *, int ndjson, const char *action,
    const struct mv_err *err);

/* Writes n bytes to path ("-": stdout), creating it 0600. Returns 0, or
 * -1 with err (no_input: it cannot be opened; internal: a write fails). */
int output_write_file(const char *path, const void *bytes, size_t n,
    struct mv_err *err);

#endif
