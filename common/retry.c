/* Classification of Google's answers and backoff with jitter. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <jansson.h>

#include "common/retry.h"
#include "shared/mvtime.h"

void
retry_google_error(const char *body, size_t len, char *msg, size_t msglen,
    char *reason, size_t reasonlen)
{
	json_t *root, *e, *errs;
	const char *m = NULL, *r = NULL;

	msg[0] = reason[0] = '\0';
	if (body == NULL || len == 0)
		return;
	if ((root = json_loadb(body, len, 0, NULL)) == NULL)
		return;
	e = json_object_get(root, "error");
	if (json_is_object(e)) {
		m = json_string_value(json_object_get(e, "message"));
		errs = json_object_get(e, "errors");
		r = json_string_value(json_object_get(json_array_get(errs, 0),
		    "reason"));
		if (r == NULL)
			r = json_string_value(json_object_get(e, "status"));
	} else if (json_is_string(e)) {	/* OAuth style */
		r = json_string_value(e);
		m = json_string_value(json_object_get(root,
		    "error_description"));
	}
	if (m)
		strlcpy(msg, m, msglen);
	if (r)
		strlcpy(reason, r, reasonlen);
	json_decref(root);
}

int
retry_after_parse(const char *value, time_t now)
{
	struct tm tm;
	char *end;
	long v;

	while (isspace((unsigned char)*value))
		value++;
	if (isdigit((unsigned char)*value)) {
		v = strtol(value, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0' || v < 0 || v > 86400 * 7)
			return -1;
		return (int)v;
	}
	memset(&tm, 0, sizeof(tm));
	if (strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return -1;
	v = (long)(timegm(&tm) - now);
	return v < 0 ? 0 : (int)(v > 86400 * 7 ? 86400 * 7 : v);
}

/* "... Retry after 2024-11-12T11:16:42.247Z (Forwarding rules)" */
static int
retry_after_in_message(const char *msg, time_t now)
{
	const char *p = strcasestr(msg, "retry after ");
	char stamp[64];
	size_t n;
	time_t t;

	if (p == NULL)
		return -1;
	p += strlen("retry after ");
	for (n = 0; p[n] && !isspace((unsigned char)p[n]) &&
	    n < sizeof(stamp) - 1; n++)
		stamp[n] = p[n];
	stamp[n] = '\0';
	if (mv_parse_iso8601(stamp, &t) == -1)
		return -1;
	return t <= now ? 0 : (int)(t - now);
}

static int
is_rate_reason(const char *reason)
{
	return strcmp(reason, "rateLimitExceeded") == 0 ||
	    strcmp(reason, "userRateLimitExceeded") == 0 ||
	    strcmp(reason, "RESOURCE_EXHAUSTED") == 0;
}

/* Maps a non-2xx status to an error type and whether to retry. */
static enum mv_errtype
retry_status_type(long status, const char *msg, const char *reason,
    int *retryable)
{
	*retryable = 0;
	if (status == 408 || status == 429 || status >= 500) {
		*retryable = 1;
		return status == 408 ? MV_E_TIMEOUT : status == 429 ?
		    MV_E_RATE_LIMITED : MV_E_API;
	}
	switch (status) {
	case 400:
		/* Gmail's words for ids it cannot know. */
		if (strcasestr(msg, "invalid id value") ||
		    strcasestr(msg, "invalid attachment token") ||
		    strncasecmp(msg, "invalid label", 13) == 0)
			return MV_E_NOT_FOUND;
		return MV_E_INVALID_ARGUMENT;
	case 401:
		return MV_E_AUTH;
	case 403:
		if (is_rate_reason(reason)) {
			*retryable = 1;
			return MV_E_RATE_LIMITED;
		}
		if (strcmp(reason, "dailyLimitExceeded") == 0)
			return MV_E_RATE_LIMITED;
		return MV_E_PERMISSION;
	case 404:
	case 410:
		return MV_E_NOT_FOUND;
	default:
		return MV_E_API;
	}
}

int
retry_classify(int curl_ok, int timed_out, const char *curl_msg,
    long status, const char *body, size_t len, int retry_after_hdr,
    time_t now, struct mv_err *err, int *retryable)
{
	char msg[400], reason[64];
	enum mv_errtype type;
	int ra;

	mv_err_clear(err);
	*retryable = 0;
	if (!curl_ok) {
		*retryable = 1;
		return mv_err_set(err, timed_out ? MV_E_TIMEOUT : MV_E_NETWORK,
		    "%s", curl_msg && *curl_msg ? curl_msg : "transfer failed");
	}
	if (status >= 200 && status < 300)
		return 0;
	retry_google_error(body, len, msg, sizeof(msg), reason, sizeof(reason));
	type = retry_status_type(status, msg, reason, retryable);
	err->http_status = (int)status;
	ra = retry_after_hdr;
	if (ra < 0 && msg[0])
		ra = retry_after_in_message(msg, now);
	if (ra >= 0 && (type == MV_E_RATE_LIMITED || *retryable))
		err->retry_after = ra;
	if (msg[0])
		return mv_err_set(err, type, "HTTP %ld%s%s: %s", status,
		    reason[0] ? " " : "", reason, msg);
	return mv_err_set(err, type, "HTTP %ld", status);
}

static uint32_t
retry_random(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)rand();
	return r;
}

int64_t
retry_delay(const struct retry_budget *b, int attempt,
    const struct mv_err *err, int64_t now_ms)
{
	int64_t d;

	if (attempt >= b->max_attempts)
		return -1;
	if (err->retry_after >= 0) {
		d = (int64_t)err->retry_after * 1000 + retry_random() % 250;
	} else {
		d = b->base_ms;
		for (int i = 1; i < attempt && d < b->cap_ms; i++)
			d *= 2;
		if (d > b->cap_ms)
			d = b->cap_ms;
		d = d / 2 + (int64_t)(retry_random() % (uint32_t)(d / 2 + 1));
	}
	if (now_ms + d > b->deadline_ms)
		return -1;
	return d;
}
