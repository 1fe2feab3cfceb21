/* Fuzzes mime_email() on Gmail Message resources (the payload walk of
 * formats full and metadata) and mime_pending_bodies(): the input is the
 * JSON of messages.get. */
#include "common/mime.h"
#include "shared/err.h"
#include "tests/fuzz/fuzz.h"

static void
one(json_t *msg, enum mime_format fmt)
{
	struct mv_err err = MV_ERR_INIT;
	json_t *e = mime_email(msg, fmt, &err);

	if (!json_is_object(msg)) {
		FUZZ_ASSERT(e == NULL && err.type == MV_E_API);
		return;
	}
	FUZZ_ASSERT(e != NULL);
	fuzz_email(e);
	if (fmt == MIME_METADATA) {
		FUZZ_ASSERT(json_is_null(json_object_get(e, "body_text")));
		FUZZ_ASSERT(json_is_null(json_object_get(e, "body_html")));
	}
	json_decref(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *msg = json_loadb((const char *)data, size,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	json_t *bodies[8];
	size_t n;

	if (msg == NULL)
		return 0;
	one(msg, MIME_FULL);
	one(msg, MIME_METADATA);
	n = mime_pending_bodies(msg, bodies, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		FUZZ_ASSERT(json_is_object(bodies[i]));
	json_decref(msg);
	return 0;
}
