/* Fuzzes the raw path of mime_email(): the input is an RFC 5322 message,
 * given as Gmail gives it (base64url in "raw"). */
#include <stdlib.h>

#include "common/mime.h"
#include "shared/b64.h"
#include "shared/err.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_err err = MV_ERR_INIT;
	char *raw = mv_b64_encode(data, size, 1, 0);
	json_t *msg, *e;

	FUZZ_ASSERT(raw != NULL);
	msg = json_pack("{s:s, s:s, s:s}", "id", "fuzz", "threadId", "fuzz",
	    "raw", raw);
	free(raw);
	FUZZ_ASSERT(msg != NULL);
	e = mime_email(msg, MIME_RAW, &err);
	FUZZ_ASSERT(e != NULL);
	fuzz_email(e);
	FUZZ_ASSERT(json_equal(json_object_get(e, "raw"),
	    json_object_get(msg, "raw")));
	json_decref(e);
	json_decref(msg);
	return 0;
}
