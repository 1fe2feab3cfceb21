/* Fuzzes batch_parse(): the input is the body of a batch answer, in a
 * buffer of exactly its size (the parser must not read past it). */
#include <stdlib.h>
#include <string.h>

#include "gmail-worker/batch.h"
#include "tests/fuzz/fuzz.h"

#define NPARTS	4

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch_part p[NPARTS];
	char *body = fuzz_copy(data, size);
	int n, filled = 0;

	memset(p, 0, sizeof(p));
	n = batch_parse("multipart/mixed; boundary=batch_Qz", body, size, p,
	    NPARTS);
	FUZZ_ASSERT(n >= -1 && n <= 1000000);
	for (size_t i = 0; i < NPARTS; i++) {
		if (p[i].body == NULL) {
			FUZZ_ASSERT(p[i].status == 0 && p[i].len == 0);
			continue;
		}
		filled++;
		FUZZ_ASSERT(p[i].body[p[i].len] == '\0');
		FUZZ_ASSERT(p[i].len <= size);
		FUZZ_ASSERT(p[i].retry_after >= -1);
	}
	FUZZ_ASSERT(n == -1 ? filled == 0 : filled <= n);
	batch_parts_clear(p, NPARTS);
	free(body);
	return 0;
}
