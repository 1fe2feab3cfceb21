/* Fuzzes sched_zone_parse(): the input is a TZif file (RFC 8536). */
#include <stdlib.h>
#include <string.h>

#include "supervisor/sched.h"
#include "tests/fuzz/fuzz.h"

static struct sched_zone z;	/* about 6 KiB: not on the stack */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = (unsigned char *)fuzz_copy(data, size);
	char err[256];

	err[0] = '\0';
	if (sched_zone_parse(buf, size, &z, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(z.n >= 0 && z.n <= SCHED_TZ_MAX);
		for (int i = 1; i < z.n; i++)
			FUZZ_ASSERT(z.at[i - 1] < z.at[i]);
	} else
		FUZZ_ASSERT(err[0] != '\0');
	free(buf);
	return 0;
}
