/* What an HTTP answer from Google means: done, retry (and when), or which
 * error of the contract. */
#ifndef MV_COMMON_RETRY_H
#define MV_COMMON_RETRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "shared/err.h"

struct retry_budget {
	int64_t	 deadline_ms;	/* monotonic; no retry may wait past it */
	int	 max_attempts;
	int	 base_ms;	/* first backoff */
	int	 cap_ms;	/* longest single backoff */
};

/*
 * Classifies a finished attempt: curl_ok 0 means the transfer failed
 * (timed_out tells whether by timeout), else status is the HTTP status and
 * body the answer. Returns 0 for a 2xx; else -1 with err set (type,
 * message, http_status, retry_after from retry_after_hdr or from a
 * "Retry after <time>" in Google's message) and *retryable set when a
 * later attempt may succeed (408, 429, 5xx, rate-limit 403s, network,
 * timeouts).
 */
int retry_classify(int curl_ok, int timed_out, const char *curl_msg,
    long status, const char *body, size_t len, int retry_after_hdr,
    time_t now, struct mv_err *err, int *retryable);

/*
 * The delay before attempt number `attempt` (1 for the first retry):
 * err->retry_after when the server gave one, else exponential backoff
 * base * 2^(attempt-1), capped, with jitter (half fixed, half random).
 * Returns the delay in ms, or -1 when the retry would not fit in the
 * budget or attempts are exhausted (the caller then reports err; for a
 * server-given time past the deadline, err->retry_after stays set so that
 * the caller can schedule the retry itself).
 */
int64_t retry_delay(const struct retry_budget *, int attempt,
    const struct mv_err *err, int64_t now_ms);

/* Parses a Retry-After header value: delta seconds or an HTTP-date.
 * Returns seconds from now (>= 0), or -1. */
int retry_after_parse(const char *value, time_t now);

/* Google's error message and first reason from an error body, into the
 * given buffers (empty when absent). */
void retry_google_error(const char *body, size_t len, char *msg, size_t msglen,
    char *reason, size_t reasonlen);

#endif
