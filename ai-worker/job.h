/* Runs: one model call chain per thread (response_format fallback, one
 * retry of an answer that does not fit), for one document or for ndjson
 * input with several threads in flight, results in input order. */
#ifndef AI_JOB_H
#define AI_JOB_H

#include <stdio.h>

#include "ai-worker/opts.h"
#include "shared/err.h"

struct http_engine;

/* Runs the action over the input o names and prints the result(s) on
 * out. key may be NULL (no Authorization header). Returns the exit
 * code. */
int job_run(const struct ai_opts *o, struct http_engine *e, int have_key,
    FILE *out);

#endif
