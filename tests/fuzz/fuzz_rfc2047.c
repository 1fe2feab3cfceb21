/* Fuzzes MIME header decoding: rfc2047_decode() on the whole input, and
 * mime_param() and mime_media_type() on it as a structured header value
 * (the first line names the parameter; without a line, "filename"). */
#include <stdlib.h>
#include <string.h>

#include "gmail-worker/rfc2047.h"
#include "shared/utf8.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *head, *rest;
	size_t headlen, restlen;
	char *s, *name, *value, *out;

	s = fuzz_copy(data, size);
	out = rfc2047_decode(s, size);
	FUZZ_ASSERT(out != NULL);
	FUZZ_ASSERT(mv_utf8_valid(out, strlen(out)));
	free(out);
	free(s);

	fuzz_cut(data, size, &head, &headlen, &rest, &restlen);
	if (rest == data + size) {
		name = fuzz_strndup((const uint8_t *)"filename", 8);
		value = fuzz_strndup(data, size);
	} else {
		name = fuzz_strndup(head, headlen);
		value = fuzz_strndup(rest, restlen);
	}
	if ((out = mime_param(value, name)) != NULL) {
		FUZZ_ASSERT(mv_utf8_valid(out, strlen(out)));
		free(out);
	}
	out = mime_media_type(value);
	FUZZ_ASSERT(out != NULL && mv_utf8_valid(out, strlen(out)));
	for (const char *p = out; *p != '\0'; p++)
		FUZZ_ASSERT(*p < 'A' || *p > 'Z');
	free(out);
	free(name);
	free(value);
	return 0;
}
