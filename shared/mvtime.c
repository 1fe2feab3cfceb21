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

/* 1 when s starts with "YYYY-MM-DDTHH:MM:SS", every digit present:
 * strptime alone takes "2026-1-2T3:4:5" and leading blanks. */
static int
iso_shape(const char *s)
{
	static const char form[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; form[i] != '\0'; i++) {
		if (form[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != form[i])
			return 0;
	}
	return 1;
}

/* Parses a "+HH:MM" or "-HH:MM" offset that ends the string into
 * seconds east of UTC. Returns 0, or -1 on anything else. */
static int
iso_offset(const char *p, long *off)
{
	long h, m;

	if ((p[0] != '+' && p[0] != '-') || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || p[3] != ':' ||
	    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]) ||
	    p[6] != '\0')
		return -1;
	h = (p[1] - '0') * 10 + (p[2] - '0');
	m = (p[4] - '0') * 10 + (p[5] - '0');
	if (h > 23 || m > 59)
		return -1;
	*off = (p[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

int
mv_parse_iso8601(const char *s, time_t *t)
{
	struct tm tm;
	const char *p;
	long off = 0;
	int mday;

	memset(&tm, 0, sizeof(tm));
	if (!iso_shape(s) ||
	    (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return -1;
		for (p++; isdigit((unsigned char)*p); p++)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		if (p[1] != '\0')
			return -1;
	} else if (iso_offset(p, &off) == -1)
		return -1;
	if (tm.tm_sec == 60)	/* a leap second: time_t has none */
		tm.tm_sec = 59;
	mday = tm.tm_mday;
	*t = timegm(&tm);	/* normalises 30 February to 2 March */
	if (tm.tm_mday != mday)
		return -1;
	*t -= off;
	return 0;
}
