/* Schedules: parsing, fire times in UTC or a TZif zone, jitter, misses. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/buf.h"
#include "shared/str.h"
#include "supervisor/sched.h"

#define SCHED_TMAX	((int64_t)253402300799)	/* 9999-12-31T23:59:59Z */
#define SCHED_NEVER	INT64_MAX	/* no offset change after */
#define SCHED_EVER	INT64_MIN	/* no offset change before */
#define SCHED_NONE_L	INT64_MIN	/* no matching local time */
#define SCHED_TZFILE_MAX (1024 * 1024)
#define SCHED_OFF_MAX	(26 * 3600)	/* largest plausible UTC offset */
#define SCHED_T_FAR	((int64_t)1 << 60)	/* zic's big bang is -2^59 */

struct sched_field {
	const char		*name;
	int			 min, max;
	const char *const	*names;		/* names[i] is min + i */
};

struct sched_seg {
	int64_t		 start;		/* last change <= t, or SCHED_EVER */
	int64_t		 end;		/* next change > t, or SCHED_NEVER */
	int32_t		 off;		/* offset in [start, end) */
	int32_t		 prev_off;	/* offset before start */
};

static const char *const sched_months[] = { "jan", "feb", "mar", "apr",
    "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const sched_days[] = { "sun", "mon", "tue", "wed",
    "thu", "fri", "sat", NULL };

static const struct sched_field sched_fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, sched_months },
	{ "day-of-week", 0, 7, sched_days },
};

static const struct {
	const char	*name;
	const char	*cron;
} sched_macros[] = {
	{ "@hourly", "0 * * * *" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@monthly", "0 0 1 * *" },
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
};

/* Copies n bytes of s, cleaned, for quoting in a message. */
static void
sched_quote(char *dst, size_t dstlen, const char *s, size_t n)
{
	char tmp[64];

	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	mv_quote_clean(dst, dstlen, tmp, 40);
}

/* Calendar arithmetic on day numbers (0 = 1970-01-01), proleptic
 * Gregorian, valid far beyond the years a schedule can reach. */

static int64_t
sched_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static int64_t
sched_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = sched_floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
sched_civil(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468, era, doe, yoe, doy, mp;

	era = sched_floordiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* 0 is Sunday. */
static int
sched_weekday(int64_t days)
{
	return (int)(((days + 4) % 7 + 7) % 7);
}

static int
sched_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
sched_mdays(int64_t y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return len[m - 1] + (m == 2 && sched_leap(y));
}

/*
 * Cron fields.
 */

/* Reads a number in the field's range, or one of its names, at *sp into
 * *v and moves *sp past it. Returns 0, or -1 with err set. */
static int
sched_value(const char **sp, const struct sched_field *f, int *v, char *err,
    size_t errlen)
{
	const char *p = *sp, *q = p;
	char quoted[64];
	long n = 0;
	int i;

	if (isdigit((unsigned char)*p)) {
		for (; isdigit((unsigned char)*q); q++)
			n = n > 9999 ? n : n * 10 + (*q - '0');
		if (n < f->min || n > f->max) {
			sched_quote(quoted, sizeof(quoted), p, (size_t)(q - p));
			mv_errf(err, errlen, "%s: %s out of range %d-%d",
			    f->name, quoted, f->min, f->max);
			return -1;
		}
		*v = (int)n;
		*sp = q;
		return 0;
	}
	while (isalpha((unsigned char)*q))
		q++;
	if (*p == '\0') {
		mv_errf(err, errlen, "%s: a number or name is missing",
		    f->name);
		return -1;
	}
	if (q == p) {
		sched_quote(quoted, sizeof(quoted), p, strlen(p));
		mv_errf(err, errlen, "%s: unexpected '%s'", f->name,
		    quoted);
		return -1;
	}
	for (i = 0; f->names != NULL && f->names[i] != NULL; i++) {
		if (q - p == 3 && strncasecmp(p, f->names[i], 3) == 0) {
			*v = f->min + i;
			*sp = q;
			return 0;
		}
	}
	sched_quote(quoted, sizeof(quoted), p, (size_t)(q - p));
	mv_errf(err, errlen, "%s: unknown name '%s'", f->name, quoted);
	return -1;
}

/* Reads a step after '/'. Returns it, or -1 with err set. */
static int
sched_step(const char **sp, const struct sched_field *f, char *err,
    size_t errlen)
{
	const char *p = *sp;
	long n = 0;

	if (!isdigit((unsigned char)*p)) {
		mv_errf(err, errlen, "%s: step must be a number", f->name);
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++)
		n = n > 9999 ? n : n * 10 + (*p - '0');
	if (n < 1 || n > f->max - f->min + 1) {
		mv_errf(err, errlen, "%s: step %ld out of range 1-%d",
		    f->name, n, f->max - f->min + 1);
		return -1;
	}
	*sp = p;
	return (int)n;
}

/* Parses one list element "*", "N" or "A-B", the first and last with an
 * optional "/S", at *sp (up to a ',' or the end) into bits, and moves *sp
 * to its end. Returns 0, or -1 with err set. */
static int
sched_element(const char **sp, const struct sched_field *f, uint64_t *bits,
    char *err, size_t errlen)
{
	const char *p = *sp;
	char quoted[64];
	int lo, hi, step = 1, range = 1;

	if (*p == '*') {
		lo = f->min;
		hi = f->max;
		p++;
	} else {
		if (sched_value(&p, f, &lo, err, errlen) == -1)
			return -1;
		hi = lo;
		range = *p == '-';
		if (range) {
			p++;
			if (sched_value(&p, f, &hi, err, errlen) == -1)
				return -1;
		}
		if (lo > hi) {
			mv_errf(err, errlen, "%s: range %d-%d is reversed",
			    f->name, lo, hi);
			return -1;
		}
	}
	if (*p == '/') {
		p++;
		if (!range) {
			mv_errf(err, errlen, "%s: a step needs a range or "
			    "'*'", f->name);
			return -1;
		}
		step = sched_step(&p, f, err, errlen);
		if (step == -1)
			return -1;
	}
	if (*p != ',' && *p != '\0') {
		sched_quote(quoted, sizeof(quoted), p, strlen(p));
		mv_errf(err, errlen, "%s: unexpected '%s'", f->name, quoted);
		return -1;
	}
	for (; lo <= hi; lo += step)
		*bits |= (uint64_t)1 << lo;
	*sp = p;
	return 0;
}

/* Parses a comma-separated field into bits. Returns 0 or -1. */
static int
sched_field(const char *s, const struct sched_field *f, uint64_t *bits,
    char *err, size_t errlen)
{
	const char *p = s;

	*bits = 0;
	for (;;) {
		if (*p == ',' || *p == '\0') {
			mv_errf(err, errlen, "%s: empty list element",
			    f->name);
			return -1;
		}
		if (sched_element(&p, f, bits, err, errlen) == -1)
			return -1;
		if (*p == '\0')
			return 0;
		p++;
	}
}

/* Fills the cron members of s from five fields. Returns 0 or -1. */
static int
sched_cron(char *const tok[5], struct sched_spec *s, char *err,
    size_t errlen)
{
	uint64_t bits[5];
	int i;

	for (i = 0; i < 5; i++)
		if (sched_field(tok[i], &sched_fields[i], &bits[i], err,
		    errlen) == -1)
			return -1;
	s->kind = SCHED_CRON;
	s->minute = bits[0];
	s->hour = (uint32_t)bits[1];
	s->dom = (uint32_t)bits[2];
	s->month = (uint32_t)bits[3];
	s->dow = (uint32_t)((bits[4] | bits[4] >> 7) & 0x7f);
	if (tok[0][0] == '*' || tok[1][0] == '*')
		s->flags |= SCHED_WILD;
	if (tok[2][0] == '*')
		s->flags |= SCHED_DOM_STAR;
	if (tok[4][0] == '*')
		s->flags |= SCHED_DOW_STAR;
	return 0;
}

/* Parses the interval of "every ..." ("90s", "1h30m"). Returns 0 or -1. */
static int
sched_interval(const char *s, struct sched_spec *spec, char *err,
    size_t errlen)
{
	const char *p = s;
	char quoted[64];
	long total = 0, n, unit;

	while (*p != '\0') {
		for (n = 0; isdigit((unsigned char)*p); p++)
			n = n > SCHED_PERIOD_MAX ? n : n * 10 + (*p - '0');
		unit = *p == 's' ? 1 : *p == 'm' ? 60 : *p == 'h' ? 3600 :
		    *p == 'd' ? 86400 : 0;
		if (p == s || !isdigit((unsigned char)p[-1]) || unit == 0) {
			sched_quote(quoted, sizeof(quoted), s, strlen(s));
			mv_errf(err, errlen, "every: '%s' is not a number "
			    "followed by s, m, h or d", quoted);
			return -1;
		}
		p++;
		total += n > SCHED_PERIOD_MAX ? SCHED_PERIOD_MAX + 1 : n * unit;
		if (total > SCHED_PERIOD_MAX) {
			mv_errf(err, errlen, "every: longer than 365 days");
			return -1;
		}
	}
	if (total < 1) {
		mv_errf(err, errlen, "every: the interval must be at "
		    "least 1 second");
		return -1;
	}
	spec->kind = SCHED_INTERVAL;
	spec->period = total;
	return 0;
}

/* Splits buf in place on blanks. Returns the number of words (tok holds
 * at most max of them). */
static int
sched_split(char *buf, char **tok, int max)
{
	char *p = buf;
	int n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return n;
		if (n < max)
			tok[n] = p;
		n++;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

static int sched_expr(const char *, struct sched_spec *, char *, size_t);

/* Expands "@daily" and the like. Returns 0 or -1. */
static int
sched_macro(const char *name, struct sched_spec *s, char *err,
    size_t errlen)
{
	char quoted[64];
	size_t i;

	for (i = 0; i < sizeof(sched_macros) / sizeof(sched_macros[0]); i++)
		if (strcasecmp(name, sched_macros[i].name) == 0)
			return sched_expr(sched_macros[i].cron, s, err,
			    errlen);
	sched_quote(quoted, sizeof(quoted), name, strlen(name));
	mv_errf(err, errlen, "unknown schedule '%s' (use @hourly, @daily, "
	    "@midnight, @weekly, @monthly, @yearly or @annually)", quoted);
	return -1;
}

/* Parses the schedule text (no zone, no jitter) into s. Returns 0 or -1. */
static int
sched_expr(const char *expr, struct sched_spec *s, char *err, size_t errlen)
{
	char quoted[64];
	char buf[SCHED_EXPR_MAX], *tok[5];
	int n;

	if (strlcpy(buf, expr, sizeof(buf)) >= sizeof(buf)) {
		mv_errf(err, errlen, "schedule longer than %d bytes",
		    SCHED_EXPR_MAX - 1);
		return -1;
	}
	n = sched_split(buf, tok, 5);
	if (n == 0) {
		mv_errf(err, errlen, "empty schedule");
		return -1;
	}
	if (strcasecmp(tok[0], "every") == 0) {
		if (n == 2)
			return sched_interval(tok[1], s, err, errlen);
		mv_errf(err, errlen, "every: expected one interval, as in "
		    "'every 5m'");
		return -1;
	}
	if (tok[0][0] == '@') {
		if (n == 1)
			return sched_macro(tok[0], s, err, errlen);
		sched_quote(quoted, sizeof(quoted), tok[0], strlen(tok[0]));
		mv_errf(err, errlen, "'%s' takes no fields", quoted);
		return -1;
	}
	if (n != 5) {
		mv_errf(err, errlen, "expected 5 cron fields (minute hour "
		    "day-of-month month day-of-week), got %d", n);
		return -1;
	}
	return sched_cron(tok, s, err, errlen);
}

/*
 * TZif data.
 */

struct sched_tzif {
	const unsigned char	*p;
	size_t			 len;
	size_t			 pos;
	int			 v2;		/* 8-byte times */
	uint32_t		 cnt[6];	/* TZ_ISUT ... TZ_CHAR */
};

#define TZ_ISUT	0
#define TZ_ISSTD 1
#define TZ_LEAP	2
#define TZ_TIME	3
#define TZ_TYPE	4
#define TZ_CHAR	5

static uint32_t
sched_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
sched_be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)sched_be32(p) << 32 | sched_be32(p + 4));
}

/* The size of the data block after a header with counts c. */
static size_t
sched_tzif_block(const uint32_t c[6], int v2)
{
	size_t tsz = v2 ? 8 : 4;

	return (size_t)c[TZ_TIME] * (tsz + 1) + (size_t)c[TZ_TYPE] * 6 +
	    c[TZ_CHAR] + (size_t)c[TZ_LEAP] * (tsz + 4) + c[TZ_ISSTD] +
	    c[TZ_ISUT];
}

/* Reads a header at t->pos. Returns 0, or -1 with err set. */
static int
sched_tzif_header(struct sched_tzif *t, char *err, size_t errlen)
{
	const unsigned char *h = t->p + t->pos;
	int i;

	if (t->len - t->pos < 44 || memcmp(h, "TZif", 4) != 0) {
		mv_errf(err, errlen, t->pos == 0 ? "not a TZif file" :
		    "truncated TZif data");
		return -1;
	}
	for (i = 0; i < 6; i++)
		t->cnt[i] = sched_be32(h + 20 + 4 * i);
	if (t->cnt[TZ_TYPE] == 0 || t->cnt[TZ_TYPE] > 256 ||
	    t->cnt[TZ_TIME] > 100000 || t->cnt[TZ_CHAR] > 65536 ||
	    t->cnt[TZ_LEAP] > 100000 ||
	    (t->cnt[TZ_ISUT] != 0 && t->cnt[TZ_ISUT] != t->cnt[TZ_TYPE]) ||
	    (t->cnt[TZ_ISSTD] != 0 && t->cnt[TZ_ISSTD] != t->cnt[TZ_TYPE])) {
		mv_errf(err, errlen, "corrupt TZif header");
		return -1;
	}
	t->pos += 44;
	if (t->len - t->pos < sched_tzif_block(t->cnt, t->v2)) {
		mv_errf(err, errlen, "truncated TZif data");
		return -1;
	}
	return 0;
}

/* Appends an offset change, keeping the latest SCHED_TZ_MAX. */
static void
sched_zone_add(struct sched_zone *z, int64_t at, int32_t off)
{
	if (z->n == SCHED_TZ_MAX) {
		z->off0 = z->off[0];
		memmove(z->at, z->at + 1,
		    sizeof(z->at[0]) * (SCHED_TZ_MAX - 1));
		memmove(z->off, z->off + 1,
		    sizeof(z->off[0]) * (SCHED_TZ_MAX - 1));
		z->n--;
	}
	z->at[z->n] = at;
	z->off[z->n] = off;
	z->n++;
}

/* Reads the data block at t->pos into z. Returns 0, or -1 with err set. */
static int
sched_tzif_data(struct sched_tzif *t, struct sched_zone *z, char *err,
    size_t errlen)
{
	const unsigned char *tm = t->p + t->pos, *idx, *ti;
	uint32_t i, nt = t->cnt[TZ_TIME], ntype = t->cnt[TZ_TYPE];
	int64_t at, prev = INT64_MIN;
	int32_t off, cur;
	size_t tsz = t->v2 ? 8 : 4;

	idx = tm + nt * tsz;
	ti = idx + nt;
	for (i = 0; i < ntype; i++) {
		off = (int32_t)sched_be32(ti + 6 * i);
		if (off < -SCHED_OFF_MAX || off > SCHED_OFF_MAX || ti[6 * i +
		    4] > 1) {
			mv_errf(err, errlen, "corrupt TZif time type");
			return -1;
		}
	}
	z->off0 = cur = (int32_t)sched_be32(ti);
	for (i = 0; i < nt; i++) {
		at = t->v2 ? sched_be64(tm + 8 * i) :
		    (int32_t)sched_be32(tm + 4 * i);
		if (at <= prev || idx[i] >= ntype || at < -SCHED_T_FAR ||
		    at > SCHED_T_FAR) {
			mv_errf(err, errlen, "corrupt TZif transitions");
			return -1;
		}
		prev = at;
		off = (int32_t)sched_be32(ti + 6 * idx[i]);
		if (off != cur)
			sched_zone_add(z, at, off);
		cur = off;
	}
	z->has_from = nt > 0;
	z->rule_from = prev;
	t->pos += sched_tzif_block(t->cnt, t->v2);
	return 0;
}

static int sched_tzstring(const char *, struct sched_tzrule *);
static int32_t sched_rule_offset(const struct sched_tzrule *, int64_t);

/* Makes the table agree with the rule where the rule takes over, so that
 * the offset never changes at an instant the table does not list. */
static void
sched_zone_join(struct sched_zone *z)
{
	int32_t ro, to;

	if (!z->rule.present || !z->has_from)
		return;
	ro = sched_rule_offset(&z->rule, z->rule_from);
	to = z->n > 0 ? z->off[z->n - 1] : z->off0;
	if (ro == to)
		return;
	if (z->n > 0 && z->at[z->n - 1] == z->rule_from)
		z->off[z->n - 1] = ro;
	else
		sched_zone_add(z, z->rule_from, ro);
}

/* Reads the footer "\nTZ\n" at t->pos into z->rule. Returns 0 or -1. */
static int
sched_tzif_footer(struct sched_tzif *t, struct sched_zone *z, char *err,
    size_t errlen)
{
	const unsigned char *p = t->p + t->pos, *nl;
	size_t left = t->len - t->pos;
	char tz[128];

	nl = left < 2 || p[0] != '\n' ? NULL : memchr(p + 1, '\n', left - 1);
	if (nl == NULL) {
		mv_errf(err, errlen, "TZif footer missing");
		return -1;
	}
	if ((size_t)(nl - p - 1) >= sizeof(tz)) {
		mv_errf(err, errlen, "TZif footer too long");
		return -1;
	}
	memcpy(tz, p + 1, (size_t)(nl - p - 1));
	tz[nl - p - 1] = '\0';
	if (nl == p + 1)
		return 0;
	if (strlen(tz) != (size_t)(nl - p - 1) ||
	    sched_tzstring(tz, &z->rule) == -1) {
		mv_errf(err, errlen, "TZif footer: unsupported TZ string");
		return -1;
	}
	return 0;
}

int
sched_zone_parse(const unsigned char *data, size_t len, struct sched_zone *z,
    char *err, size_t errlen)
{
	struct sched_tzif t = { data, len, 0, 0, { 0 } };

	memset(z, 0, sizeof(*z));
	if (sched_tzif_header(&t, err, errlen) == -1)
		return -1;
	if (data[4] != '\0') {
		if (data[4] < '2' || data[4] > '9') {
			mv_errf(err, errlen, "unknown TZif version");
			return -1;
		}
		t.pos += sched_tzif_block(t.cnt, 0);
		t.v2 = 1;
		if (sched_tzif_header(&t, err, errlen) == -1)
			return -1;
	}
	if (t.cnt[TZ_LEAP] != 0) {
		mv_errf(err, errlen, "leap-second zones are not supported");
		return -1;
	}
	if (sched_tzif_data(&t, z, err, errlen) == -1)
		return -1;
	if (t.v2 && sched_tzif_footer(&t, z, err, errlen) == -1)
		return -1;
	sched_zone_join(z);
	return 0;
}

/*
 * POSIX TZ strings ("CET-1CEST,M3.5.0,M10.5.0/3"), with the RFC 8536
 * extensions: hours up to 167 and negative in rule times.
 */

/* Skips a zone abbreviation: "<...>" or letters. Returns 0 or -1. */
static int
sched_tzname(const char **sp)
{
	const char *p = *sp;

	if (*p == '<') {
		for (p++; isalnum((unsigned char)*p) || *p == '+' || *p == '-';
		    p++)
			;
		if (*p != '>' || p - *sp < 2)
			return -1;
		*sp = p + 1;
		return 0;
	}
	while (isalpha((unsigned char)*p))
		p++;
	if (p - *sp < 3)
		return -1;
	*sp = p;
	return 0;
}

/* Reads "[+-]hh[:mm[:ss]]" with hours up to maxh into seconds. */
static int
sched_tzhms(const char **sp, int maxh, int32_t *out)
{
	const char *p = *sp;
	int sign = 1, part[3] = { 0, 0, 0 }, i, digits;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (i = 0; i < 3; i++) {
		for (digits = 0; isdigit((unsigned char)*p) && digits < 3;
		    digits++)
			part[i] = part[i] * 10 + (*p++ - '0');
		if (digits == 0 || (i > 0 && (digits != 2 || part[i] > 59)))
			return -1;
		if (i == 2 || *p != ':' || !isdigit((unsigned char)p[1]))
			break;
		p++;
	}
	if (part[0] > maxh)
		return -1;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	*sp = p;
	return 0;
}

/* Reads a number of at most 3 digits in [lo, hi]. */
static int
sched_tznum(const char **sp, int lo, int hi, int *out)
{
	const char *p = *sp;
	int n = 0, digits = 0;

	while (isdigit((unsigned char)*p) && digits < 3) {
		n = n * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || n < lo || n > hi)
		return -1;
	*out = n;
	*sp = p;
	return 0;
}

/* Reads a rule date with its optional "/time". Returns 0 or -1. */
static int
sched_tzdate(const char **sp, struct sched_tzdate *d)
{
	const char *p = *sp;

	memset(d, 0, sizeof(*d));
	d->secs = 7200;
	if (*p == 'M') {
		p++;
		d->kind = 'M';
		if (sched_tznum(&p, 1, 12, &d->m) == -1 || *p++ != '.' ||
		    sched_tznum(&p, 1, 5, &d->w) == -1 || *p++ != '.' ||
		    sched_tznum(&p, 0, 6, &d->d) == -1)
			return -1;
	} else if (*p == 'J') {
		p++;
		d->kind = 'J';
		if (sched_tznum(&p, 1, 365, &d->n) == -1)
			return -1;
	} else {
		d->kind = 'N';
		if (sched_tznum(&p, 0, 365, &d->n) == -1)
			return -1;
	}
	if (*p == '/' && (p++, sched_tzhms(&p, 167, &d->secs)) == -1)
		return -1;
	*sp = p;
	return 0;
}

/* Parses a TZ string into r. Returns 0 or -1. */
static int
sched_tzstring(const char *s, struct sched_tzrule *r)
{
	const char *p = s;
	int32_t v;

	memset(r, 0, sizeof(*r));
	if (sched_tzname(&p) == -1 || sched_tzhms(&p, 24, &v) == -1)
		return -1;
	r->present = 1;
	r->std_off = r->dst_off = -v;
	if (*p == '\0')
		return 0;
	if (sched_tzname(&p) == -1)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if (sched_tzhms(&p, 24, &v) == -1)
			return -1;
		r->dst_off = -v;
	}
	if (*p == '\0')		/* POSIX leaves it open; glibc: US rules */
		p = ",M3.2.0,M11.1.0";
	if (*p++ != ',' || sched_tzdate(&p, &r->start) == -1 ||
	    *p++ != ',' || sched_tzdate(&p, &r->end) == -1 || *p != '\0')
		return -1;
	return 0;
}

/*
 * Offsets at an instant.
 */

/* The day number of a rule date in year y. */
static int64_t
sched_tzday(const struct sched_tzdate *d, int64_t y)
{
	int64_t first;
	int day;

	if (d->kind == 'J')
		return sched_days_from_civil(y, 1, 1) + d->n - 1 +
		    (sched_leap(y) && d->n >= 60);
	if (d->kind == 'N')
		return sched_days_from_civil(y, 1, 1) + d->n;
	first = sched_days_from_civil(y, d->m, 1);
	day = (d->d - sched_weekday(first) + 7) % 7 + 7 * (d->w - 1);
	while (day >= sched_mdays(y, d->m))
		day -= 7;
	return first + day;
}

/* The instant of a rule date in year y, given in local time off. */
static int64_t
sched_tzinstant(const struct sched_tzdate *d, int64_t y, int32_t off)
{
	return sched_tzday(d, y) * 86400 + d->secs - off;
}

/*
 * The rule's offset at t. The year is t's in standard local time (glibc
 * takes the UTC year, which differs only for rules with a change near
 * New Year: "EST5EDT,0/0,J365/25" is DST all year here, as RFC 8536
 * means it, where glibc has five hours of EST each year).
 */
static int32_t
sched_rule_offset(const struct sched_tzrule *r, int64_t t)
{
	int64_t y, s, e;
	int m, d;

	if (!r->has_dst)
		return r->std_off;
	sched_civil(sched_floordiv(t + r->std_off, 86400), &y, &m, &d);
	s = sched_tzinstant(&r->start, y, r->std_off);
	e = sched_tzinstant(&r->end, y, r->dst_off);
	if (s < e)
		return t >= s && t < e ? r->dst_off : r->std_off;
	return t >= e && t < s ? r->std_off : r->dst_off;
}

/* How many of z's table changes are at or before t. */
static int
sched_upper(const struct sched_zone *z, int64_t t)
{
	int lo = 0, hi = z->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
sched_in_rule(const struct sched_zone *z, int64_t t)
{
	return z->rule.present && (!z->has_from || t >= z->rule_from);
}

static int32_t
sched_offset_at(const struct sched_zone *z, int64_t t)
{
	int i;

	if (sched_in_rule(z, t))
		return sched_rule_offset(&z->rule, t);
	i = sched_upper(z, t);
	return i == 0 ? z->off0 : z->off[i - 1];
}

/* The rule's offset changes in year y that fall in the rule's reign,
 * into c. Returns how many (0 to 2). */
static int
sched_rule_changes(const struct sched_zone *z, int64_t y, int64_t c[2])
{
	const struct sched_tzrule *r = &z->rule;
	int64_t cand[2];
	int i, n = 0;

	cand[0] = sched_tzinstant(&r->start, y, r->std_off);
	cand[1] = sched_tzinstant(&r->end, y, r->dst_off);
	for (i = 0; i < 2; i++) {
		if (z->has_from && cand[i] <= z->rule_from)
			continue;
		if (sched_rule_offset(r, cand[i]) !=
		    sched_rule_offset(r, cand[i] - 1))
			c[n++] = cand[i];
	}
	return n;
}

static int64_t
sched_rule_year(const struct sched_zone *z, int64_t t)
{
	int64_t y;
	int m, d;

	sched_civil(sched_floordiv(t + z->rule.std_off, 86400), &y, &m, &d);
	return y;
}

/* The first offset change after t, or SCHED_NEVER. */
static int64_t
sched_next_change(const struct sched_zone *z, int64_t t)
{
	int64_t base = t, y, c[2], best = SCHED_NEVER;
	int i = sched_upper(z, t), n, k;

	if (i < z->n)
		return z->at[i];
	if (!z->rule.present || !z->rule.has_dst)
		return SCHED_NEVER;
	if (z->has_from && base < z->rule_from)
		base = z->rule_from;
	for (y = sched_rule_year(z, base) - 1; y <= sched_rule_year(z, base) +
	    2; y++) {
		n = sched_rule_changes(z, y, c);
		for (k = 0; k < n; k++)
			if (c[k] > base && c[k] < best)
				best = c[k];
	}
	return best;
}

/* The last offset change at or before t, or SCHED_EVER. */
static int64_t
sched_prev_change(const struct sched_zone *z, int64_t t)
{
	int64_t y, c[2], best;
	int i = sched_upper(z, t), n, k;

	best = i > 0 ? z->at[i - 1] : SCHED_EVER;
	if (!sched_in_rule(z, t) || !z->rule.has_dst)
		return best;
	for (y = sched_rule_year(z, t) - 2; y <= sched_rule_year(z, t) + 1;
	    y++) {
		n = sched_rule_changes(z, y, c);
		for (k = 0; k < n; k++)
			if (c[k] <= t && c[k] > best)
				best = c[k];
	}
	return best;
}

static void
sched_segment(const struct sched_zone *z, int64_t t, struct sched_seg *g)
{
	g->off = sched_offset_at(z, t);
	g->start = sched_prev_change(z, t);
	g->end = sched_next_change(z, t);
	g->prev_off = g->start == SCHED_EVER ? g->off :
	    sched_offset_at(z, g->start - 1);
}

/*
 * Fire times.
 */

static int
sched_day_match(const struct sched_spec *s, int mday, int wday)
{
	int dm = (s->dom >> mday) & 1, wm = (s->dow >> wday) & 1;

	if (s->flags & (SCHED_DOM_STAR | SCHED_DOW_STAR))
		return dm && wm;
	return dm || wm;
}

/* The first matching minute of the day at or after h:m, or -1. */
static int
sched_day_first(const struct sched_spec *s, int h, int m)
{
	uint64_t bits;

	for (; h < 24; h++, m = 0) {
		if (!((s->hour >> h) & 1))
			continue;
		bits = s->minute & (~(uint64_t)0 << m);
		if (bits != 0)
			return h * 60 + __builtin_ctzll(bits);
	}
	return -1;
}

/* The first matching local time (seconds, as if the zone were UTC) in
 * [lo, hi), or SCHED_NONE_L. */
static int64_t
sched_cron_find(const struct sched_spec *s, int64_t lo, int64_t hi)
{
	int64_t day, y, l;
	int sec, mon, mday, hm;

	lo = -sched_floordiv(-lo, 60) * 60;
	day = sched_floordiv(lo, 86400);
	sec = (int)(lo - day * 86400);
	while (day * 86400 < hi) {
		sched_civil(day, &y, &mon, &mday);
		if (!((s->month >> mon) & 1)) {
			day = sched_days_from_civil(y, mon, 1) +
			    sched_mdays(y, mon);
			sec = 0;
			continue;
		}
		hm = sched_day_match(s, mday, sched_weekday(day)) ?
		    sched_day_first(s, sec / 3600, sec % 3600 / 60) : -1;
		if (hm >= 0) {
			l = day * 86400 + (int64_t)hm * 60;
			return l < hi ? l : SCHED_NONE_L;
		}
		day++;
		sec = 0;
	}
	return SCHED_NONE_L;
}

/* The first cron fire time in (after, limit], or -1. Walks the zone's
 * stretches of constant offset; see sched_next() for the DST rules. */
static int64_t
sched_cron_next(const struct sched_spec *s, int64_t after, int64_t limit)
{
	int fixed = !(s->flags & SCHED_WILD);
	int64_t t = after + 1, lo, hi, l;
	struct sched_seg g;

	while (t <= limit) {
		sched_segment(s->zone, t, &g);
		if (fixed && t == g.start && g.off > g.prev_off &&
		    sched_cron_find(s, t + g.prev_off, t + g.off) !=
		    SCHED_NONE_L)
			return t;	/* wall times skipped by the gap */
		lo = t + g.off;
		if (fixed && g.off < g.prev_off && lo < g.start + g.prev_off)
			lo = g.start + g.prev_off;	/* seen before */
		hi = (g.end > limit ? limit + 1 : g.end) + g.off;
		l = sched_cron_find(s, lo, hi);
		if (l != SCHED_NONE_L)
			return l - g.off;
		if (g.end > limit)
			break;
		t = g.end;
	}
	return -1;
}

/* The first fire time in (after, limit], or -1. */
static int64_t
sched_next_until(const struct sched_spec *s, int64_t after, int64_t limit)
{
	int64_t n;

	switch (s->kind) {
	case SCHED_INTERVAL:
		n = (sched_floordiv(after, s->period) + 1) * s->period;
		return n <= limit ? n : -1;
	case SCHED_CRON:
		return sched_cron_next(s, after, limit);
	default:
		return -1;
	}
}

time_t
sched_next(const struct sched_spec *s, time_t after)
{
	if (s == NULL || after < 0 || after > SCHED_TMAX - SCHED_HORIZON)
		return -1;
	return (time_t)sched_next_until(s, after, after + SCHED_HORIZON);
}

/* A 64-bit finalizer: spreads every input bit over the output. */
static uint64_t
sched_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

long
sched_jitter(const struct sched_spec *s, time_t fire, const char *key)
{
	const uint64_t prime = 0x100000001b3ULL;
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;
	int i;

	if (s == NULL || s->jitter <= 0)
		return 0;
	for (p = key != NULL ? key : ""; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * prime;
	h = (h ^ 0x100) * prime;	/* no key byte is 0x100 */
	for (i = 0; i < 8; i++)
		h = (h ^ (((uint64_t)fire >> (8 * i)) & 0xff)) * prime;
	return (long)(sched_mix(h) % (uint64_t)s->jitter);
}

time_t
sched_next_jittered_base(const struct sched_spec *s, time_t after,
    const char *key, time_t *base)
{
	time_t from, f;

	if (base != NULL)
		*base = -1;
	if (s == NULL || after < 0)
		return -1;
	from = after - (s->jitter > 0 ? s->jitter : 0);
	f = sched_next(s, from < 0 ? 0 : from);
	while (f != -1 && f + sched_jitter(s, f, key) <= after)
		f = sched_next(s, f);
	if (base != NULL)
		*base = f;
	return f == -1 ? -1 : f + sched_jitter(s, f, key);
}

time_t
sched_next_jittered(const struct sched_spec *s, time_t after, const char *key)
{
	return sched_next_jittered_base(s, after, key, NULL);
}

long
sched_missed(const struct sched_spec *s, time_t last_fire, time_t now)
{
	int64_t last = last_fire < -1 ? -1 : last_fire, t, n;
	long count = 0;

	if (s == NULL || now <= last)
		return 0;
	if (now > SCHED_TMAX)
		now = SCHED_TMAX;
	if (s->kind == SCHED_INTERVAL) {
		n = sched_floordiv(now, s->period) -
		    sched_floordiv(last, s->period);
		return n > SCHED_MISSED_MAX ? SCHED_MISSED_MAX : (long)n;
	}
	if (s->kind != SCHED_CRON)
		return 0;
	for (t = sched_cron_next(s, last, now); t != -1 &&
	    count < SCHED_MISSED_MAX; t = sched_cron_next(s, t, now))
		count++;
	return count;
}

long
sched_utc_offset(const struct sched_spec *s, time_t t)
{
	int64_t c = t;

	if (c > SCHED_T_FAR)
		c = SCHED_T_FAR;
	else if (c < -SCHED_T_FAR)
		c = -SCHED_T_FAR;
	return s == NULL || s->zone == NULL ? 0 : sched_offset_at(s->zone, c);
}

/*
 * Zones by name.
 */

/* Is name a plausible zoneinfo path: no "..", no leading '/', no empty
 * or dot components, only the characters IANA names use? */
static int
sched_tzname_ok(const char *name)
{
	const char *p, *slash;

	if (strlen(name) >= 64)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_+-.", *p) == NULL)
			return 0;
	for (p = name;; p = slash + 1) {
		if (*p == '/' || *p == '\0' || *p == '.')
			return 0;
		slash = strchr(p, '/');
		if (slash == NULL)
			return 1;
	}
}

/* Loads the zone called name. Returns 0, or -1 with err set. */
static int
sched_zone_load(const char *name, struct sched_zone *z, char *err,
    size_t errlen)
{
	char path[128], quoted[64], why[128];
	unsigned char *data;
	size_t len;
	int rc;

	mv_quote_clean(quoted, sizeof(quoted), name, 40);
	if (!sched_tzname_ok(name)) {
		mv_errf(err, errlen, "timezone '%s': not a zone name",
		    quoted);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", SCHED_ZONEINFO, name);
	data = (unsigned char *)mv_read_file(path, SCHED_TZFILE_MAX, &len);
	if (data == NULL) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			mv_errf(err, errlen, "timezone '%s': unknown (no "
			    "such zone in %s)", quoted, SCHED_ZONEINFO);
		else
			mv_errf(err, errlen, "timezone '%s': %s: %s",
			    quoted, path, strerror(errno));
		return -1;
	}
	rc = sched_zone_parse(data, len, z, why, sizeof(why));
	free(data);
	if (rc == -1) {
		mv_errf(err, errlen, "timezone '%s': %s", quoted, why);
		return -1;
	}
	strlcpy(z->name, name, sizeof(z->name));
	return 0;
}

/* Checks jitter_s against the schedule. Returns 0 or -1. */
static int
sched_set_jitter(struct sched_spec *s, long jitter_s, char *err,
    size_t errlen)
{
	if (jitter_s < 0 || jitter_s > SCHED_JITTER_MAX) {
		mv_errf(err, errlen, "jitter: %ld out of range 0-%ld",
		    jitter_s, SCHED_JITTER_MAX);
		return -1;
	}
	if (s->kind == SCHED_INTERVAL && jitter_s >= s->period) {
		mv_errf(err, errlen, "jitter: %ld s is not shorter than "
		    "the interval (%ld s)", jitter_s, s->period);
		return -1;
	}
	s->jitter = jitter_s;
	return 0;
}

static const struct sched_zone sched_utc = { .name = "UTC" };

/* Zones loaded so far, by name; kept for the life of the process. */
struct sched_zone_entry {
	struct sched_zone_entry	*next;
	struct sched_zone	 zone;
};
static struct sched_zone_entry *sched_zones;

/* The zone called name, loaded on first use. Returns a pointer valid for
 * the life of the process, or NULL with err set. */
static const struct sched_zone *
sched_zone_intern(const char *name, char *err, size_t errlen)
{
	struct sched_zone_entry *e;

	for (e = sched_zones; e != NULL; e = e->next)
		if (strcmp(e->zone.name, name) == 0)
			return &e->zone;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		mv_errf(err, errlen, "timezone '%.64s': out of memory", name);
		return NULL;
	}
	if (sched_zone_load(name, &e->zone, err, errlen) == -1) {
		free(e);
		return NULL;
	}
	if (strlcpy(e->zone.name, name, sizeof(e->zone.name)) >=
	    sizeof(e->zone.name)) {
		mv_errf(err, errlen, "timezone '%.64s': name too long", name);
		free(e);
		return NULL;
	}
	e->next = sched_zones;
	sched_zones = e;
	return &e->zone;
}

int
sched_parse(const char *expr, const char *tz, long jitter_s,
    struct sched_spec *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (expr == NULL) {
		mv_errf(err, errlen, "empty schedule");
		return -1;
	}
	if (sched_expr(expr, out, err, errlen) == -1 ||
	    sched_set_jitter(out, jitter_s, err, errlen) == -1)
		goto fail;
	if (tz == NULL || tz[0] == '\0')
		out->zone = &sched_utc;
	else if ((out->zone = sched_zone_intern(tz, err, errlen)) == NULL)
		goto fail;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}
