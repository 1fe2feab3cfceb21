/* Fuzzes what the worker reads of Google's answers (retry.c): the first
 * line as a Retry-After value, the whole as an error body (message,
 * reason, "Retry after <time>") of a 429 and of a 503. */
#include <stdlib.h>
#include <string.h>

#include "common/retry.h"
#include "shared/err.h"
#include "tests/fuzz/fuzz.h"

/* A fixed "now" (2026-01-01): the parse must not depend on the clock. */
#define NOW	((time_t)1767225600)

static void
classify(long status, const char *body, size_t len, int hdr)
{
	struct mv_err err = MV_ERR_INIT;
	int retryable = -1;

	FUZZ_ASSERT(retry_classify(1, 0, NULL, status, body, len, hdr, NOW,
	    &err, &retryable) == -1);
	FUZZ_ASSERT(retryable == 0 || retryable == 1);
	FUZZ_ASSERT(err.type != MV_OK);
	FUZZ_ASSERT(err.retry_after >= -1);
	FUZZ_ASSERT(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *head, *rest;
	size_t headlen, restlen;
	char *hdr = NULL, *body, msg[256], reason[64];
	int ra;

	fuzz_cut(data, size, &head, &headlen, &rest, &restlen);
	hdr = fuzz_strndup(head, headlen);
	ra = retry_after_parse(hdr, NOW);
	FUZZ_ASSERT(ra >= -1);
	free(hdr);

	/* Exactly size bytes: the body has no NUL after it. */
	body = fuzz_copy(data, size);
	retry_google_error(body, size, msg, sizeof(msg), reason,
	    sizeof(reason));
	FUZZ_ASSERT(memchr(msg, '\0', sizeof(msg)) != NULL);
	FUZZ_ASSERT(memchr(reason, '\0', sizeof(reason)) != NULL);
	classify(429, body, size, ra);
	classify(503, body, size, -1);
	classify(403, body, size, -1);
	free(body);
	return 0;
}
