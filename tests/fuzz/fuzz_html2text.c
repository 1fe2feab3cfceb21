/* Fuzzes html_to_text() and html_unescape(): UTF-8 text out, whatever
 * comes in, of the length reported. */
#include <stdlib.h>
#include <string.h>

#include "gmail-worker/html2text.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_copy(data, size), *out;
	size_t n = (size_t)-1;

	out = html_to_text(in, size, &n);
	fuzz_text(out, n);
	free(out);
	n = (size_t)-1;
	out = html_unescape(in, size, &n);
	fuzz_text(out, n);
	free(out);
	free(in);
	return 0;
}
