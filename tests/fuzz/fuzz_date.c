/* Fuzzes date_parse() (RFC 5322 dates and their common garbage). */
#include <stdlib.h>
#include <time.h>

#include "common/date.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	time_t t = 12345;
	struct tm tm;
	int rc = date_parse(s, &t);

	FUZZ_ASSERT(rc == 0 || rc == -1);
	/* A parsed instant is a real date: gmtime() takes it. */
	if (rc == 0)
		FUZZ_ASSERT(gmtime_r(&t, &tm) != NULL);
	free(s);
	return 0;
}
