/* Date header values (RFC 5322, its obsolete forms and common variants)
 * to UTC instants.
 *
 * Accepted, case-insensitively, with comments and extra whitespace
 * anywhere between the parts:
 *   [Day[,]] D[D] Mon YY[YY] HH:MM[:SS[.frac]] [zone]   (RFC 5322, obs-)
 *   [Day[,]] D-Mon-YYYY HH:MM[:SS] [zone]
 *   [Day] Mon D[D] HH:MM[:SS] [zone] YYYY               (asctime, Unix date)
 *   YYYY-MM-DD[T| ]HH:MM[:SS[.frac]][zone]              (ISO 8601-like)
 * Day and month names: three-letter or full English names ("Sept" too).
 * Zones: +HHMM, -HHMM, +HH:MM; UT, UTC, GMT, Z; EST EDT CST CDT MST MDT
 * PST PDT; military letters and any other alphabetic zone of up to five
 * letters mean +0000 (RFC 5322 4.3: their meaning is unknown). A missing
 * zone is taken as UTC. Whatever follows the zone is ignored ("+0000
 * (UTC)", "-0800 PST").
 * Refused: "GMT+1" and similar (its sign is read both ways in the wild),
 * a missing time, out-of-range fields (30 February, 24:00, minute 60,
 * offsets past 23:59), years before 1900 or after 9999, and numbers with
 * more digits than their field has.
 * Two-digit years 00-49 are 20xx and 50-99 19xx; three-digit years have
 * 1900 added. Second 60 (a leap second) is accepted and lands on the
 * next minute.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/date.h"

#define DT_WORDMAX	16	/* longer words are none we know */

struct dt {
	int	 year, mon, day, hour, min, sec;
	long	 off;		/* seconds east of UTC */
};

static const char *dt_months[12] = { "jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *dt_month_names[12] = { "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october",
    "november", "december" };
static const char *dt_days[7] = { "mon", "tue", "wed", "thu", "fri", "sat",
    "sun" };
static const char *dt_day_names[7] = { "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday" };

static const struct dt_zone {
	const char	*name;
	int		 hours;
} dt_zones[] = {
	{ "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
	{ "est", -5 }, { "edt", -4 }, { "cst", -6 }, { "cdt", -5 },
	{ "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 },
};

/* Skips whitespace and comments (nested, counted; an unterminated one
 * runs to the end). */
static const char *
dt_skip(const char *p)
{
	size_t depth;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '(')
			return p;
		for (depth = 0; *p; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

/* Reads mind..maxd digits into *v. -1 when there are fewer, or more
 * (which also keeps huge numbers from overflowing). */
static int
dt_num(const char **pp, int mind, int maxd, int *v, int *ndig)
{
	const char *p = *pp;
	int n = 0;

	*v = 0;
	while (isdigit((unsigned char)*p)) {
		if (++n > maxd)
			return -1;
		*v = *v * 10 + (*p++ - '0');
	}
	if (n < mind)
		return -1;
	if (ndig != NULL)
		*ndig = n;
	*pp = p;
	return 0;
}

/* Reads a run of letters, lower-cased, into w. -1 when there is none or
 * it is too long. */
static int
dt_word(const char **pp, char *w)
{
	const char *p = *pp;
	size_t n = 0;

	while (isalpha((unsigned char)*p)) {
		if (n + 1 >= DT_WORDMAX)
			return -1;
		w[n++] = (char)tolower((unsigned char)*p++);
	}
	w[n] = '\0';
	if (n == 0)
		return -1;
	*pp = p;
	return 0;
}

/* Index of w among abbreviations or full names, or -1. */
static int
dt_lookup(const char *w, const char **abbr, const char **full, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(w, abbr[i]) == 0 || strcmp(w, full[i]) == 0)
			return i;
	return -1;
}

/* A month name at *pp: sets d->mon (1-12). */
static int
dt_month(const char **pp, struct dt *d)
{
	char w[DT_WORDMAX];
	int m;

	if (dt_word(pp, w) == -1)
		return -1;
	if ((m = dt_lookup(w, dt_months, dt_month_names, 12)) == -1 &&
	    strcmp(w, "sept") == 0)
		m = 8;
	if (m == -1)
		return -1;
	d->mon = m + 1;
	return 0;
}

/* 1 when a day name starts at p. */
static int
dt_is_dayname(const char *p)
{
	char w[DT_WORDMAX];

	return dt_word(&p, w) == 0 &&
	    dt_lookup(w, dt_days, dt_day_names, 7) != -1;
}

/* A 2-, 3- or 4-digit year, widened as RFC 5322 4.3 says. */
static int
dt_year(const char **pp, struct dt *d)
{
	int n;

	if (dt_num(pp, 2, 4, &d->year, &n) == -1)
		return -1;
	if (n == 2)
		d->year += d->year < 50 ? 2000 : 1900;
	else if (n == 3)
		d->year += 1900;
	return 0;
}

/* HH:MM[:SS[.fraction]] */
static int
dt_time(const char **pp, struct dt *d)
{
	const char *p = *pp;

	if (dt_num(&p, 1, 2, &d->hour, NULL) == -1 || *p++ != ':' ||
	    dt_num(&p, 2, 2, &d->min, NULL) == -1)
		return -1;
	d->sec = 0;
	if (*p == ':') {
		p++;
		if (dt_num(&p, 2, 2, &d->sec, NULL) == -1)
			return -1;
		if (*p == '.' && isdigit((unsigned char)p[1]))
			for (p++; isdigit((unsigned char)*p); p++)
				;
	}
	*pp = p;
	return 0;
}

/* +HHMM, -HHMM or +HH:MM at *pp. */
static int
dt_numeric_zone(const char **pp, struct dt *d)
{
	const char *p = *pp;
	int sign = *p == '-' ? -1 : 1, hh, mm, n;

	p++;
	if (dt_num(&p, 2, 4, &hh, &n) == -1)
		return -1;
	if (n == 4) {
		mm = hh % 100;
		hh /= 100;
	} else if (n == 2 && *p == ':') {
		p++;
		if (dt_num(&p, 2, 2, &mm, NULL) == -1)
			return -1;
	} else
		return -1;
	if (hh > 23 || mm > 59)
		return -1;
	d->off = sign * (hh * 3600L + mm * 60L);
	*pp = p;
	return 0;
}

/* A zone name at *pp. "GMT+1" and the like are refused. */
static int
dt_named_zone(const char **pp, struct dt *d)
{
	char w[DT_WORDMAX];
	size_t i;

	if (dt_word(pp, w) == -1 || strlen(w) > 5 || **pp == '+' ||
	    **pp == '-')
		return -1;
	d->off = 0;
	for (i = 0; i < sizeof(dt_zones) / sizeof(dt_zones[0]); i++)
		if (strcmp(w, dt_zones[i].name) == 0)
			d->off = dt_zones[i].hours * 3600L;
	return 0;
}

/* An optional zone at *pp (none: UTC). */
static int
dt_zone(const char **pp, struct dt *d)
{
	d->off = 0;
	if (**pp == '+' || **pp == '-')
		return dt_numeric_zone(pp, d);
	if (isalpha((unsigned char)**pp))
		return dt_named_zone(pp, d);
	return 0;
}

/* D[D][-| ]Mon[-| ]YY[YY] HH:MM[:SS] [zone], after the day name. */
static int
dt_rfc(const char *p, struct dt *d)
{
	if (dt_num(&p, 1, 2, &d->day, NULL) == -1)
		return -1;
	p = dt_skip(*p == '-' ? p + 1 : p);
	if (dt_month(&p, d) == -1)
		return -1;
	p = dt_skip(*p == '-' ? p + 1 : p);
	if (dt_year(&p, d) == -1)
		return -1;
	p = dt_skip(p);
	if (dt_time(&p, d) == -1)
		return -1;
	p = dt_skip(p);
	return dt_zone(&p, d);
}

/* Mon D[D] HH:MM[:SS] [zone] YYYY (asctime and Unix date). */
static int
dt_asctime(const char *p, struct dt *d)
{
	if (dt_month(&p, d) == -1)
		return -1;
	p = dt_skip(p);
	if (dt_num(&p, 1, 2, &d->day, NULL) == -1)
		return -1;
	p = dt_skip(p);
	if (dt_time(&p, d) == -1)
		return -1;
	p = dt_skip(p);
	if (!isdigit((unsigned char)*p)) {
		if (dt_zone(&p, d) == -1)
			return -1;
		p = dt_skip(p);
	}
	return dt_year(&p, d);
}

/* YYYY-MM-DD[T| ]HH:MM[:SS[.frac]][Z|+HH:MM|+HHMM| zone] */
static int
dt_iso(const char *p, struct dt *d)
{
	if (dt_num(&p, 4, 4, &d->year, NULL) == -1 || *p++ != '-' ||
	    dt_num(&p, 2, 2, &d->mon, NULL) == -1 || *p++ != '-' ||
	    dt_num(&p, 2, 2, &d->day, NULL) == -1)
		return -1;
	if (*p == 'T' || *p == 't')
		p++;
	else
		p = dt_skip(p);
	if (dt_time(&p, d) == -1)
		return -1;
	p = dt_skip(p);
	return dt_zone(&p, d);
}

static int
dt_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Range checks on every field. */
static int
dt_valid(const struct dt *d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int dim;

	if (d->year < 1900 || d->year > 9999 || d->mon < 1 || d->mon > 12)
		return 0;
	dim = mdays[d->mon - 1] + (d->mon == 2 && dt_leap(d->year));
	return d->day >= 1 && d->day <= dim && d->hour <= 23 &&
	    d->min <= 59 && d->sec <= 60;
}

/* Picks the form by the first part (after an optional day name). */
static int
dt_parse(const char *p, struct dt *d)
{
	p = dt_skip(p);
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) &&
	    p[4] == '-')
		return dt_iso(p, d);
	if (dt_is_dayname(p)) {
		while (isalpha((unsigned char)*p))
			p++;
		p = dt_skip(p);
		if (*p == ',')
			p = dt_skip(p + 1);
	}
	if (isdigit((unsigned char)*p))
		return dt_rfc(p, d);
	return dt_asctime(p, d);
}

int
date_parse(const char *s, time_t *out)
{
	struct dt d;
	struct tm tm;
	time_t t;

	if (s == NULL || out == NULL)
		return -1;
	memset(&d, 0, sizeof(d));
	if (dt_parse(s, &d) == -1 || !dt_valid(&d))
		return -1;
	if (sizeof(time_t) < 8 && d.year > 2037)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d.year - 1900;
	tm.tm_mon = d.mon - 1;
	tm.tm_mday = d.day;
	tm.tm_hour = d.hour;
	tm.tm_min = d.min;
	tm.tm_sec = d.sec;
	t = timegm(&tm);
	*out = t - (time_t)d.off;
	return 0;
}
