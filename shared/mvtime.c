/* Clocks and ISO 8601 time stamps in UTC. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/mvtime.h"

int64_t
mv_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mv_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
mv_iso8601(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return NULL;
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return buf;
}

int
mv_parse_iso8601(const char *s, time_t *t)
{
	struct tm tm;
	const char *p;
	int sign, oh, om;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	*t = timegm(&tm);
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0' ? 0 : -1;
	if ((*p != '+' && *p != '-') ||
	    sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || strlen(p) != 6)
		return -1;
	sign = *p == '-' ? -1 : 1;
	*t -= sign * (oh * 3600 + om * 60);
	return 0;
}
