/* Fuzzes reqbody_parse(), the HTTP API's reading of request bodies: the
 * first byte picks the route, the rest is the body (a buffer of exactly
 * its size). An accepted body holds known fields of their types only. */
#include <stdlib.h>
#include <string.h>

#include "supervisor/reqbody.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route *rt;
	char err[512], *body;
	json_t *out = NULL;
	int code = 0;

	if (size == 0)
		return 0;
	rt = route_get((enum route_id)(data[0] % R_COUNT));
	FUZZ_ASSERT(rt != NULL);
	size--;
	body = fuzz_copy(data + 1, size);
	err[0] = '\0';
	if (reqbody_parse(rt, data[0] & 0x80 ? "text/plain" : NULL, body,
	    size, 4096, &out, &code, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(rt->has_body ? json_is_object(out) : out == NULL);
		fuzz_json_utf8(out, 0);
	} else {
		FUZZ_ASSERT(out == NULL);
		FUZZ_ASSERT(code == 400 || code == 413 || code == 415);
		FUZZ_ASSERT(err[0] != '\0');
	}
	json_decref(out);
	free(body);
	return 0;
}
