/* Fuzzes creds_parse(): the input is a credentials document. */
#include <stdlib.h>
#include <string.h>

#include "common/creds.h"
#include "shared/err.h"
#include "tests/fuzz/fuzz.h"

/* The fields its type needs are there, non-empty. */
static void
complete(const struct creds *c)
{
	switch (c->type) {
	case CREDS_AUTHORIZED_USER:
		FUZZ_ASSERT(c->client_id && *c->client_id);
		FUZZ_ASSERT(c->client_secret && *c->client_secret);
		FUZZ_ASSERT(c->refresh_token && *c->refresh_token);
		break;
	case CREDS_SERVICE_ACCOUNT:
		FUZZ_ASSERT(c->client_email && *c->client_email);
		FUZZ_ASSERT(c->private_key && *c->private_key);
		break;
	case CREDS_ACCESS_TOKEN:
		FUZZ_ASSERT(c->access_token && *c->access_token);
		break;
	default:
		FUZZ_ASSERT(!"a known type");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_err err = MV_ERR_INIT;
	struct creds c;
	char *doc = fuzz_copy(data, size);

	memset(&c, 0, sizeof(c));
	if (creds_parse(doc, size, "fuzz", &c, &err) == 0) {
		complete(&c);
		creds_free(&c);
	} else {
		FUZZ_ASSERT(err.type == MV_E_BAD_CREDENTIALS);
		FUZZ_ASSERT(memchr(err.msg, '\0',
		    sizeof(err.msg)) != NULL);
	}
	free(doc);
	return 0;
}
