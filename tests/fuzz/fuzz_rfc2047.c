/* Fuzzes MIME header decoding: rfc2047_decode() on the whole input, and
 * mime_param() and mime_media_type() on it as a structured header value
 * (the first line names the parameter; without a line, "filename"). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/rfc2047.h"
#include "shared/utf8.h"
#include "tests/fuzz/fuzz.h"

static int
has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

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
	/* A no-op on text Gmail already decoded: UTF-8 without a word
	 * (nor a control character, that unfolding may touch). */
	if (mv_utf8_valid(s, size) && !has_control(s, size) &&
	    memmem(s, size, "=?", 2) == NULL)
		FUZZ_ASSERT(strlen(out) == size && memcmp(out, s, size) == 0);
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
	FUZZ_ASSERT(out[0] != '\0' && !isspace((unsigned char)out[0]) &&
	    !isspace((unsigned char)out[strlen(out) - 1]));
	free(out);
	free(name);
	free(value);
	return 0;
}
