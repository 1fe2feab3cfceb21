/* Fuzzes html_to_text() and html_unescape(): UTF-8 text out, whatever
 * comes in, of the length reported. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/html2text.h"
#include "tests/fuzz/fuzz.h"

/* 1 when the HTML has a <pre> (any case). */
static int
has_pre(const uint8_t *data, size_t size)
{
	char *s = fuzz_copy(data, size);
	int pre;

	for (size_t i = 0; i < size; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	pre = memmem(s, size, "<pre", 4) != NULL;

	free(s);
	return pre;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_copy(data, size), *out;
	size_t n = (size_t)-1;

	out = html_to_text(in, size, &n);
	fuzz_text(out, n);
	/* Trimmed (of HTML's white space), at most one blank line in a
	 * row (but <pre> keeps its own). */
	FUZZ_ASSERT(n == 0 || (strchr(" \t\n\r\f", out[0]) == NULL &&
	    strchr(" \t\n\r\f", out[n - 1]) == NULL));
	FUZZ_ASSERT(strstr(out, "\n\n\n") == NULL || has_pre(data, size));
	free(out);
	n = (size_t)-1;
	out = html_unescape(in, size, &n);
	fuzz_text(out, n);
	free(out);
	free(in);
	return 0;
}
