/* Fuzzes schedules (sched.c): each input line is "EXPR" or "EXPR|TZ"
 * (a zone name, looked up under /usr/share/zoneinfo); a parsed spec then
 * gives fire times after a fixed instant, which must move forward. */
#include <stdlib.h>
#include <string.h>

#include "supervisor/sched.h"
#include "tests/fuzz/fuzz.h"

/* A fixed "now" (2026-01-01): the outcome must not depend on the clock. */
#define NOW	((time_t)1767225600)

static void
one(char *line)
{
	struct sched_spec sp;
	char err[256], *bar = strchr(line, '|');
	const char *tz = NULL;
	time_t t = NOW, next;

	if (bar != NULL) {
		*bar = '\0';
		tz = bar + 1;
		/* No path outside the zone directory. */
		if (strstr(tz, "..") != NULL || tz[0] == '/')
			return;
	}
	err[0] = '\0';
	if (sched_parse(line, tz, 0, &sp, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		FUZZ_ASSERT(sp.kind == SCHED_NONE);
		return;
	}
	FUZZ_ASSERT(sp.kind == SCHED_INTERVAL || sp.kind == SCHED_CRON);
	FUZZ_ASSERT(sp.zone != NULL);
	for (int i = 0; i < 4; i++) {
		if ((next = sched_next(&sp, t)) == -1)
			break;
		FUZZ_ASSERT(next > t);
		FUZZ_ASSERT(sched_missed(&sp, t, next) == 1);
		t = next;
	}
	FUZZ_ASSERT(sched_utc_offset(&sp, NOW) > -86400);
	FUZZ_ASSERT(sched_utc_offset(&sp, NOW) < 86400);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size), *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(s, "\n", &save); line != NULL && n < 8;
	    line = strtok_r(NULL, "\n", &save), n++)
		one(line);
	free(s);
	return 0;
}
