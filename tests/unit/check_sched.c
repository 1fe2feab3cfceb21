/* Unit tests of supervisor/sched.c: parsing, fire times, DST, jitter,
 * missed fires, TZif data. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shared/buf.h"
#include "shared/mvtime.h"
#include "supervisor/sched.h"

#define BERLIN	"Europe/Berlin"
#define NYC	"America/New_York"

static time_t
T(const char *iso)
{
	time_t t = 0;

	ck_assert_msg(mv_parse_iso8601(iso, &t) == 0, "bad time %s", iso);
	return t;
}

static const char *
fmt(time_t t, char *buf, size_t len)
{
	if (t == -1)
		snprintf(buf, len, "-1");
	else if (mv_iso8601(t, buf, len) == NULL)
		snprintf(buf, len, "?%lld", (long long)t);
	return buf;
}

static void
spec_of(struct sched_spec *s, const char *expr, const char *tz, long jitter)
{
	char err[256] = "";

	ck_assert_msg(sched_parse(expr, tz, jitter, s, err, sizeof(err)) == 0,
	    "'%s' [%s]: %s", expr, tz ? tz : "UTC", err);
}

/* Checks the fire times after `after`: want lists them, blank-separated,
 * "-1" for none. */
static void
fires(const char *expr, const char *tz, const char *after, const char *want)
{
	static struct sched_spec s;
	char buf[512], got[32], *w, *save = NULL;
	time_t t = T(after);

	spec_of(&s, expr, tz, 0);
	snprintf(buf, sizeof(buf), "%s", want);
	for (w = strtok_r(buf, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		t = sched_next(&s, t);
		ck_assert_msg(strcmp(fmt(t, got, sizeof(got)), w) == 0,
		    "'%s' [%s] after %s: got %s, want %s", expr,
		    tz ? tz : "UTC", after, got, w);
	}
}

static void
parse_fails(const char *expr, const char *tz, long jitter, const char *want)
{
	static struct sched_spec s, zero;
	char err[256] = "";

	memset(&s, 0x55, sizeof(s));
	ck_assert_msg(sched_parse(expr, tz, jitter, &s, err, sizeof(err)) == -1,
	    "'%s' [%s] parsed", expr ? expr : "(null)", tz ? tz : "UTC");
	ck_assert_str_eq(err, want);
	ck_assert_msg(memcmp(&s, &zero, sizeof(s)) == 0, "not zeroed");
}

/*
 * sched_parse
 */

START_TEST(test_parse_every)
{
	static const struct {
		const char	*expr;
		long		 period;
	} t[] = {
		{ "every 30s", 30 }, { "every 5m", 300 }, { "every 2h", 7200 },
		{ "every 1d", 86400 }, { "every 90s", 90 },
		{ "every 1h30m", 5400 }, { "  every\t10s  ", 10 },
		{ "EVERY 1s", 1 }, { "every 365d", 365L * 86400 },
		{ "every 0m5s", 5 },
	};
	struct sched_spec s;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		spec_of(&s, t[i].expr, NULL, 0);
		ck_assert_int_eq(s.kind, SCHED_INTERVAL);
		ck_assert_msg(s.period == t[i].period, "%s: %ld", t[i].expr,
		    s.period);
		ck_assert_str_eq(s.zone->name, "UTC");
	}
}
END_TEST

START_TEST(test_parse_every_errors)
{
	parse_fails("every", NULL, 0,
	    "every: expected one interval, as in 'every 5m'");
	parse_fails("every 5m 3", NULL, 0,
	    "every: expected one interval, as in 'every 5m'");
	parse_fails("every 0s", NULL, 0,
	    "every: the interval must be at least 1 second");
	parse_fails("every 5", NULL, 0,
	    "every: '5' is not a number followed by s, m, h or d");
	parse_fails("every 5x", NULL, 0,
	    "every: '5x' is not a number followed by s, m, h or d");
	parse_fails("every s", NULL, 0,
	    "every: 's' is not a number followed by s, m, h or d");
	parse_fails("every -5s", NULL, 0,
	    "every: '-5s' is not a number followed by s, m, h or d");
	parse_fails("every 5mm", NULL, 0,
	    "every: '5mm' is not a number followed by s, m, h or d");
	parse_fails("every 366d", NULL, 0, "every: longer than 365 days");
	parse_fails("every 99999999999999999999999999s", NULL, 0,
	    "every: longer than 365 days");
	parse_fails("every 365d1s", NULL, 0, "every: longer than 365 days");
}
END_TEST

START_TEST(test_parse_cron)
{
	struct sched_spec s;
	uint64_t all = 0;

	spec_of(&s, "*/15 * * * *", NULL, 0);
	ck_assert_int_eq(s.kind, SCHED_CRON);
	ck_assert(s.minute == (1ULL | 1ULL << 15 | 1ULL << 30 | 1ULL << 45));
	ck_assert_uint_eq(s.hour, 0xffffff);
	ck_assert_uint_eq(s.dom, 0xfffffffe);
	ck_assert_uint_eq(s.month, 0x1ffe);
	ck_assert_uint_eq(s.dow, 0x7f);
	ck_assert_int_eq(s.flags, SCHED_WILD | SCHED_DOM_STAR |
	    SCHED_DOW_STAR);

	spec_of(&s, "1-5/2,58 4 1,15 jan-MAR Mon-fri", NULL, 0);
	ck_assert(s.minute == (1ULL << 1 | 1ULL << 3 | 1ULL << 5 |
	    1ULL << 58));
	ck_assert_uint_eq(s.hour, 1u << 4);
	ck_assert_uint_eq(s.dom, 1u << 1 | 1u << 15);
	ck_assert_uint_eq(s.month, 0xe);
	ck_assert_uint_eq(s.dow, 0x3e);
	ck_assert_int_eq(s.flags, 0);

	spec_of(&s, "0\t0\t*\t*\t7", NULL, 0);		/* 7 is Sunday */
	ck_assert_uint_eq(s.dow, 1);
	ck_assert_int_eq(s.flags, SCHED_DOM_STAR);
	spec_of(&s, "0 0 * * 0,7", NULL, 0);
	ck_assert_uint_eq(s.dow, 1);
	spec_of(&s, "0 0 * * 5-7", NULL, 0);
	ck_assert_uint_eq(s.dow, 0x61);
	spec_of(&s, "0 0 * * */2", NULL, 0);		/* 0 2 4 6 */
	ck_assert_uint_eq(s.dow, 0x55);
	spec_of(&s, "0 0 * dec sun", NULL, 0);
	ck_assert_uint_eq(s.month, 1u << 12);
	ck_assert_uint_eq(s.dow, 1);
	spec_of(&s, "5 */6 * * *", NULL, 0);
	ck_assert_uint_eq(s.hour, 1u | 1u << 6 | 1u << 12 | 1u << 18);
	ck_assert_int_eq(s.flags & SCHED_WILD, SCHED_WILD);
	spec_of(&s, "*/60 0-23/23 31 2-12/10 *", NULL, 0);
	ck_assert(s.minute == 1);
	ck_assert_uint_eq(s.hour, 1u | 1u << 23);
	ck_assert_uint_eq(s.month, 1u << 2 | 1u << 12);
	spec_of(&s, "00 09 01 01 00", NULL, 0);		/* leading zeros */
	ck_assert_uint_eq(s.hour, 1u << 9);

	/* Every minute listed one by one: a long list. */
	{
		char buf[SCHED_EXPR_MAX];
		size_t o = 0;

		for (int i = 0; i < 60; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d",
			    i ? "," : "", i);
		snprintf(buf + o, sizeof(buf) - o, " * * * *");
		spec_of(&s, buf, NULL, 0);
		for (int i = 0; i < 60; i++)
			all |= 1ULL << i;
		ck_assert(s.minute == all);
	}
}
END_TEST

START_TEST(test_parse_macros)
{
	static const char *const m[][2] = {
		{ "@hourly", "0 * * * *" }, { "@daily", "0 0 * * *" },
		{ "@midnight", "0 0 * * *" }, { "@weekly", "0 0 * * 0" },
		{ "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
		{ "@annually", "0 0 1 1 *" }, { " @DAILY ", "0 0 * * *" },
	};
	static struct sched_spec a, b;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		spec_of(&a, m[i][0], BERLIN, 60);
		spec_of(&b, m[i][1], BERLIN, 60);
		ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0, "%s", m[i][0]);
	}
	spec_of(&a, "@hourly", NULL, 0);
	ck_assert_int_eq(a.flags & SCHED_WILD, SCHED_WILD);
	spec_of(&a, "@daily", NULL, 0);
	ck_assert_int_eq(a.flags & SCHED_WILD, 0);
}
END_TEST

START_TEST(test_parse_cron_errors)
{
	static const char *const t[][2] = {
		{ "60 * * * *", "minute: 60 out of range 0-59" },
		{ "* 24 * * *", "hour: 24 out of range 0-23" },
		{ "* * 32 * *", "day-of-month: 32 out of range 1-31" },
		{ "* * 0 * *", "day-of-month: 0 out of range 1-31" },
		{ "* * * 13 *", "month: 13 out of range 1-12" },
		{ "* * * 0 *", "month: 0 out of range 1-12" },
		{ "* * * * 8", "day-of-week: 8 out of range 0-7" },
		{ "99999999999 * * * *",
		  "minute: 99999999999 out of range 0-59" },
		{ "0-60 * * * *", "minute: 60 out of range 0-59" },
		{ "*/0 * * * *", "minute: step 0 out of range 1-60" },
		{ "* 1-5/0 * * *", "hour: step 0 out of range 1-24" },
		{ "*/61 * * * *", "minute: step 61 out of range 1-60" },
		{ "*/x * * * *", "minute: step must be a number" },
		{ "*/ * * * *", "minute: step must be a number" },
		{ "5/2 * * * *", "minute: a step needs a range or '*'" },
		{ "1,,2 * * * *", "minute: empty list element" },
		{ ", * * * *", "minute: empty list element" },
		{ "* 1, * * *", "hour: empty list element" },
		{ "* * * foo *", "month: unknown name 'foo'" },
		{ "* * * janu *", "month: unknown name 'janu'" },
		{ "* * * * funday", "day-of-week: unknown name 'funday'" },
		{ "* * * * mo", "day-of-week: unknown name 'mo'" },
		{ "jan * * * *", "minute: unknown name 'jan'" },
		{ "L * * * *", "minute: unknown name 'L'" },
		{ "5-1 * * * *", "minute: range 5-1 is reversed" },
		{ "* * * * sat-sun", "day-of-week: range 6-0 is reversed" },
		{ "1- * * * *", "minute: a number or name is missing" },
		{ "1x * * * *", "minute: unexpected 'x'" },
		{ "? * * * *", "minute: unexpected '?'" },
		{ "*-5 * * * *", "minute: unexpected '-5'" },
		{ "1-2-3 * * * *", "minute: unexpected '-3'" },
		{ "\xff * * * *", "minute: unexpected '?'" },
		{ "* \x01 * * *", "hour: unexpected ' '" },
		{ "* * * *", "expected 5 cron fields (minute hour day-of-month "
		  "month day-of-week), got 4" },
		{ "* * * * * /bin/true", "expected 5 cron fields (minute hour "
		  "day-of-month month day-of-week), got 6" },
		{ "", "empty schedule" },
		{ " \t ", "empty schedule" },
		{ "@reboot", "unknown schedule '@reboot' (use @hourly, @daily, "
		  "@midnight, @weekly, @monthly, @yearly or @annually)" },
		{ "@daily 1", "'@daily' takes no fields" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		parse_fails(t[i][0], NULL, 0, t[i][1]);
	parse_fails(NULL, NULL, 0, "empty schedule");
}
END_TEST

START_TEST(test_parse_hostile)
{
	char big[4096];
	struct sched_spec s;
	char err[8];

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	parse_fails(big, NULL, 0, "schedule longer than 255 bytes");
	/* A NUL ends the schedule. */
	parse_fails("0 0\0 * * *", NULL, 0, "expected 5 cron fields "
	    "(minute hour day-of-month month day-of-week), got 2");
	/* A short or absent error buffer is fine. */
	ck_assert_int_eq(sched_parse("61 * * * *", NULL, 0, &s, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "minute:");
	ck_assert_int_eq(sched_parse("61 * * * *", NULL, 0, &s, NULL, 0), -1);
	ck_assert_int_eq(s.kind, SCHED_NONE);
}
END_TEST

/* Valid schedules with random characters changed, put in or taken out:
 * each parses or fails cleanly. */
START_TEST(test_parse_fuzz)
{
	static const char alphabet[] = "0123456789*/-, \t@smhdjanFRIL?\xff";
	static const char *const base[] = { "*/15 9-17 * * mon-fri",
	    "0 0 1,15 jan-jun 1-5/2", "every 1h30m", "@weekly",
	    "30 2 * * *", "59 23 31 12 7" };
	static struct sched_spec s;
	unsigned int seed = 11;
	char expr[64], err[256];
	int ok = 0, bad = 0;

	for (int i = 0; i < 20000; i++) {
		size_t n, at;

		snprintf(expr, sizeof(expr), "%s", base[i % 6]);
		for (int k = 0; k < 1 + i % 3; k++) {
			n = strlen(expr);
			at = n ? (size_t)rand_r(&seed) % n : 0;
			if (k % 3 == 2 && n > 0)
				memmove(expr + at, expr + at + 1, n - at);
			else if (k % 3 == 1 && n + 1 < sizeof(expr)) {
				memmove(expr + at + 1, expr + at, n - at + 1);
				expr[at] = alphabet[rand_r(&seed) %
				    (sizeof(alphabet) - 1)];
			} else if (n > 0)
				expr[at] = alphabet[rand_r(&seed) %
				    (sizeof(alphabet) - 1)];
		}
		err[0] = '\0';
		if (sched_parse(expr, NULL, 0, &s, err, sizeof(err)) == 0) {
			time_t a = T("2026-01-01T00:00:00Z"), t;

			t = sched_next(&s, a);
			ck_assert_msg(t == -1 || t > a, "'%s'", expr);
			ok++;
		} else {
			ck_assert_msg(err[0] != '\0' && s.kind == SCHED_NONE,
			    "'%s'", expr);
			bad++;
		}
	}
	ck_assert_int_gt(ok, 500);
	ck_assert_int_gt(bad, 10000);
}
END_TEST

START_TEST(test_parse_tz)
{
	static struct sched_spec s;

	spec_of(&s, "0 0 * * *", BERLIN, 0);
	ck_assert_str_eq(s.zone->name, BERLIN);
	ck_assert_int_gt(s.zone->n, 100);
	ck_assert_int_eq(s.zone->rule.present, 1);
	ck_assert_int_eq(s.zone->rule.std_off, 3600);
	ck_assert_int_eq(s.zone->rule.dst_off, 7200);
	spec_of(&s, "0 0 * * *", "", 0);
	ck_assert_str_eq(s.zone->name, "UTC");
	ck_assert_int_eq(s.zone->n, 0);
	spec_of(&s, "every 5m", "UTC", 0);
	ck_assert_str_eq(s.zone->name, "UTC");
	spec_of(&s, "every 5m", "Etc/GMT+5", 0);
	ck_assert_int_eq(sched_utc_offset(&s, T("2026-06-01T00:00:00Z")),
	    -5 * 3600);

	parse_fails("@daily", "Mars/Olympus_Mons", 0, "timezone "
	    "'Mars/Olympus_Mons': unknown (no such zone in "
	    "/usr/share/zoneinfo)");
	parse_fails("@daily", "Europe", 0, "timezone 'Europe': unknown (no "
	    "such zone in /usr/share/zoneinfo)");
	parse_fails("@daily", "europe/berlin", 0, "timezone 'europe/berlin': "
	    "unknown (no such zone in /usr/share/zoneinfo)");
	parse_fails("@daily", "../../etc/passwd", 0,
	    "timezone '../../etc/passwd': not a zone name");
	parse_fails("@daily", "/etc/localtime", 0,
	    "timezone '/etc/localtime': not a zone name");
	parse_fails("@daily", "Europe//Berlin", 0,
	    "timezone 'Europe//Berlin': not a zone name");
	parse_fails("@daily", "Europe/", 0,
	    "timezone 'Europe/': not a zone name");
	parse_fails("@daily", "Europe/Berlin\n", 0,
	    "timezone 'Europe/Berlin ': not a zone name");
	parse_fails("@daily", "Europe/Berlin extra", 0,
	    "timezone 'Europe/Berlin extra': not a zone name");
	parse_fails("@daily", "Europe/\xc3\xa9", 0,
	    "timezone 'Europe/\xc3\xa9': not a zone name");
	parse_fails("@daily", "zone.tab", 0,
	    "timezone 'zone.tab': not a TZif file");
	if (access(SCHED_ZONEINFO "/right/UTC", R_OK) == 0)
		parse_fails("@daily", "right/UTC", 0, "timezone 'right/UTC': "
		    "leap-second zones are not supported");
	{
		char name[80];

		memset(name, 'A', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		parse_fails("@daily", name, 0, "timezone 'AAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAA...': not a zone name");
	}
}
END_TEST

START_TEST(test_parse_jitter)
{
	struct sched_spec s;

	spec_of(&s, "every 5m", NULL, 299);
	ck_assert_int_eq(s.jitter, 299);
	spec_of(&s, "@daily", NULL, 86400);
	ck_assert_int_eq(s.jitter, 86400);
	parse_fails("every 5m", NULL, 300, "jitter: 300 s is not shorter "
	    "than the interval (300 s)");
	parse_fails("@daily", NULL, -1, "jitter: -1 out of range 0-86400");
	parse_fails("@daily", NULL, 86401,
	    "jitter: 86401 out of range 0-86400");
}
END_TEST

/*
 * sched_next: intervals and cron in UTC
 */

START_TEST(test_next_interval)
{
	struct sched_spec s;

	fires("every 30s", NULL, "2026-01-01T00:00:00Z",
	    "2026-01-01T00:00:30Z 2026-01-01T00:01:00Z");
	fires("every 30s", NULL, "2026-01-01T00:00:29Z",
	    "2026-01-01T00:00:30Z");
	fires("every 90s", NULL, "2026-01-01T00:00:00Z",
	    "2026-01-01T00:01:30Z 2026-01-01T00:03:00Z");
	fires("every 5m", NULL, "2026-07-04T12:34:56Z",
	    "2026-07-04T12:35:00Z 2026-07-04T12:40:00Z");
	fires("every 2h", NULL, "2026-07-04T13:00:00Z",
	    "2026-07-04T14:00:00Z 2026-07-04T16:00:00Z");
	/* Aligned to the epoch, whatever the zone: midnight UTC. */
	fires("every 1d", BERLIN, "2026-03-10T15:00:00Z",
	    "2026-03-11T00:00:00Z 2026-03-12T00:00:00Z");
	fires("every 7d", NULL, "2026-03-10T15:00:00Z",
	    "2026-03-12T00:00:00Z 2026-03-19T00:00:00Z");	/* Thursdays */
	fires("every 1s", NULL, "1970-01-01T00:00:00Z",
	    "1970-01-01T00:00:01Z");

	spec_of(&s, "every 5m", NULL, 0);
	ck_assert_int_eq(sched_next(&s, -1), -1);
	ck_assert_int_eq(sched_next(&s, T("9999-01-01T00:00:00Z")), -1);
	ck_assert_int_eq(sched_next(NULL, 0), -1);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(sched_next(&s, T("2026-01-01T00:00:00Z")), -1);
}
END_TEST

START_TEST(test_next_cron)
{
	fires("*/15 * * * *", NULL, "2026-05-05T10:07:30Z",
	    "2026-05-05T10:15:00Z 2026-05-05T10:30:00Z 2026-05-05T10:45:00Z "
	    "2026-05-05T11:00:00Z");
	fires("* * * * *", NULL, "2026-05-05T10:07:00Z",
	    "2026-05-05T10:08:00Z 2026-05-05T10:09:00Z");
	fires("0 9-17/4 * * *", NULL, "2026-05-05T10:00:00Z",
	    "2026-05-05T13:00:00Z 2026-05-05T17:00:00Z 2026-05-06T09:00:00Z");
	/* Month ends, year ends. */
	fires("0 0 31 * *", NULL, "2026-04-15T00:00:00Z",
	    "2026-05-31T00:00:00Z 2026-07-31T00:00:00Z 2026-08-31T00:00:00Z");
	fires("0 12 1 * *", NULL, "2026-12-31T13:00:00Z",
	    "2027-01-01T12:00:00Z 2027-02-01T12:00:00Z");
	fires("59 23 31 12 *", NULL, "2026-12-31T23:59:00Z",
	    "2027-12-31T23:59:00Z");
	fires("0 0 28-31 2 *", NULL, "2027-02-27T00:00:00Z",
	    "2027-02-28T00:00:00Z 2028-02-28T00:00:00Z 2028-02-29T00:00:00Z");
	/* Names and weekdays; 7 is Sunday. */
	fires("30 8 * * mon-fri", NULL, "2026-03-13T09:00:00Z",
	    "2026-03-16T08:30:00Z 2026-03-17T08:30:00Z");
	fires("0 0 * * 7", NULL, "2026-03-11T00:00:00Z",
	    "2026-03-15T00:00:00Z 2026-03-22T00:00:00Z");
	fires("0 6 * feb,aug sat", NULL, "2026-03-01T00:00:00Z",
	    "2026-08-01T06:00:00Z 2026-08-08T06:00:00Z");
}
END_TEST

START_TEST(test_next_leap_impossible)
{
	fires("0 0 29 2 *", NULL, "2025-01-01T00:00:00Z",
	    "2028-02-29T00:00:00Z 2032-02-29T00:00:00Z");
	fires("0 0 29 2 *", NULL, "2399-03-01T00:00:00Z",
	    "2400-02-29T00:00:00Z");
	/* 2100 is not a leap year: 2104 is more than 5 years away. */
	fires("0 0 29 2 *", NULL, "2097-03-01T00:00:00Z", "-1");
	fires("0 0 30 2 *", NULL, "2026-01-01T00:00:00Z", "-1");
	fires("0 0 31 4,6,9,11 *", NULL, "2026-01-01T00:00:00Z", "-1");
	fires("0 0 31 4 *", BERLIN, "2026-01-01T00:00:00Z", "-1");
	/* Even when restricted, the day-of-week may rescue an impossible
	 * day-of-month. */
	fires("0 0 30 2 mon", NULL, "2026-01-01T00:00:00Z",
	    "2026-02-02T00:00:00Z");
}
END_TEST

START_TEST(test_next_dom_dow)
{
	/* Both restricted: the 13th or a Friday. */
	fires("0 0 13 * 5", NULL, "2026-02-01T00:00:00Z",
	    "2026-02-06T00:00:00Z 2026-02-13T00:00:00Z 2026-02-20T00:00:00Z "
	    "2026-02-27T00:00:00Z 2026-03-06T00:00:00Z 2026-03-13T00:00:00Z");
	fires("0 0 1,15 * mon", NULL, "2026-06-01T00:00:00Z",
	    "2026-06-08T00:00:00Z 2026-06-15T00:00:00Z 2026-06-22T00:00:00Z");
	/* One side begins with '*': both must match (Vixie's rule). */
	fires("0 0 13 * *", NULL, "2026-02-01T00:00:00Z",
	    "2026-02-13T00:00:00Z 2026-03-13T00:00:00Z");
	fires("0 0 */10 * 1", NULL, "2026-01-01T00:00:00Z",
	    "2026-05-11T00:00:00Z 2026-06-01T00:00:00Z");
	fires("0 0 13 * */7", NULL, "2026-01-01T00:00:00Z",
	    "2026-09-13T00:00:00Z 2026-12-13T00:00:00Z");
}
END_TEST

START_TEST(test_next_macros)
{
	fires("@hourly", NULL, "2026-03-11T10:00:00Z",
	    "2026-03-11T11:00:00Z 2026-03-11T12:00:00Z");
	fires("@daily", NULL, "2026-03-11T10:00:00Z",
	    "2026-03-12T00:00:00Z 2026-03-13T00:00:00Z");
	fires("@midnight", NULL, "2026-03-11T00:00:00Z",
	    "2026-03-12T00:00:00Z");
	fires("@weekly", NULL, "2026-03-11T10:00:00Z",
	    "2026-03-15T00:00:00Z 2026-03-22T00:00:00Z");
	fires("@monthly", NULL, "2026-12-11T10:00:00Z",
	    "2027-01-01T00:00:00Z 2027-02-01T00:00:00Z");
	fires("@yearly", NULL, "2026-03-11T10:00:00Z",
	    "2027-01-01T00:00:00Z 2028-01-01T00:00:00Z");
	fires("@annually", NULL, "2026-01-01T00:00:00Z",
	    "2027-01-01T00:00:00Z");
	/* In a zone: local midnight, Sunday. */
	fires("@weekly", BERLIN, "2026-03-11T10:00:00Z",
	    "2026-03-14T23:00:00Z 2026-03-21T23:00:00Z 2026-03-28T23:00:00Z "
	    "2026-04-04T22:00:00Z");
	fires("@daily", "Asia/Kolkata", "2026-03-11T10:00:00Z",
	    "2026-03-11T18:30:00Z");
	fires("0 9 * * *", "Asia/Kathmandu", "2026-03-11T00:00:00Z",
	    "2026-03-11T03:15:00Z");
}
END_TEST

/*
 * sched_next across DST
 */

START_TEST(test_dst_berlin)
{
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 never happens and
	 * fires once, at 03:00 CEST. */
	fires("30 2 * * *", BERLIN, "2026-03-27T12:00:00Z",
	    "2026-03-28T01:30:00Z 2026-03-29T01:00:00Z 2026-03-30T00:30:00Z");
	/* Several skipped times, and 03:00 itself: one fire. */
	fires("0,15,45 2,3 * * *", BERLIN, "2026-03-29T00:50:00Z",
	    "2026-03-29T01:00:00Z 2026-03-29T01:15:00Z 2026-03-29T01:45:00Z "
	    "2026-03-30T00:00:00Z");
	/* Wild jobs follow the clock: no catch-up. */
	fires("30 * * * *", BERLIN, "2026-03-28T23:45:00Z",
	    "2026-03-29T00:30:00Z 2026-03-29T01:30:00Z 2026-03-29T02:30:00Z");
	fires("*/30 * * * *", BERLIN, "2026-03-29T00:15:00Z",
	    "2026-03-29T00:30:00Z 2026-03-29T01:00:00Z 2026-03-29T01:30:00Z");
	/* A 23-hour day. */
	fires("0 0 * * *", BERLIN, "2026-03-28T12:00:00Z",
	    "2026-03-28T23:00:00Z 2026-03-29T22:00:00Z");

	/* 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice and
	 * fires once, at its first occurrence. */
	fires("30 2 * * *", BERLIN, "2026-10-24T12:00:00Z",
	    "2026-10-25T00:30:00Z 2026-10-26T01:30:00Z");
	fires("30 2 * * *", BERLIN, "2026-10-25T01:10:00Z",
	    "2026-10-26T01:30:00Z");
	fires("30 2 * * *", BERLIN, "2026-10-25T00:29:59Z",
	    "2026-10-25T00:30:00Z");
	/* Wild: both 02:30s. */
	fires("30 * * * *", BERLIN, "2026-10-25T00:00:00Z",
	    "2026-10-25T00:30:00Z 2026-10-25T01:30:00Z 2026-10-25T02:30:00Z");
	fires("0 3 * * *", BERLIN, "2026-10-24T12:00:00Z",
	    "2026-10-25T02:00:00Z 2026-10-26T02:00:00Z");
	/* A 25-hour day. */
	fires("@daily", BERLIN, "2026-10-24T12:00:00Z",
	    "2026-10-24T22:00:00Z 2026-10-25T23:00:00Z");
}
END_TEST

START_TEST(test_dst_new_york)
{
	/* 2026-03-08: 02:00 EST becomes 03:00 EDT. */
	fires("30 2 * * *", NYC, "2026-03-07T12:00:00Z",
	    "2026-03-08T07:00:00Z 2026-03-09T06:30:00Z");
	fires("0 2 * * sun", NYC, "2026-03-01T12:00:00Z",
	    "2026-03-08T07:00:00Z 2026-03-15T06:00:00Z");
	fires("15 * * * *", NYC, "2026-03-08T06:00:00Z",
	    "2026-03-08T06:15:00Z 2026-03-08T07:15:00Z");
	/* 2026-11-01: 02:00 EDT becomes 01:00 EST. */
	fires("30 1 * * *", NYC, "2026-10-31T12:00:00Z",
	    "2026-11-01T05:30:00Z 2026-11-02T06:30:00Z");
	fires("30 1 * * *", NYC, "2026-11-01T06:00:00Z",
	    "2026-11-02T06:30:00Z");
	fires("30 * * * *", NYC, "2026-11-01T05:00:00Z",
	    "2026-11-01T05:30:00Z 2026-11-01T06:30:00Z 2026-11-01T07:30:00Z");
	fires("*/20 1 * * *", NYC, "2026-11-01T05:00:00Z",
	    "2026-11-01T05:20:00Z 2026-11-01T05:40:00Z 2026-11-01T06:00:00Z "
	    "2026-11-01T06:20:00Z 2026-11-01T06:40:00Z 2026-11-02T06:00:00Z");
	fires("0,20,40 1 * * *", NYC, "2026-11-01T05:00:00Z",
	    "2026-11-01T05:20:00Z 2026-11-01T05:40:00Z 2026-11-02T06:00:00Z");
	fires("@daily", NYC, "2026-11-01T03:00:00Z",
	    "2026-11-01T04:00:00Z 2026-11-02T05:00:00Z");
	fires("@weekly", NYC, "2026-03-01T06:00:00Z",
	    "2026-03-08T05:00:00Z 2026-03-15T04:00:00Z");
}
END_TEST

START_TEST(test_dst_other)
{
	/* Half-hour DST: 02:00 LHST becomes 02:30 LHDT. */
	fires("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00Z",
	    "2026-10-03T15:30:00Z 2026-10-04T15:15:00Z");
	/* Southern hemisphere: Sydney's clocks go forward on 2026-10-04. */
	fires("30 2 * * *", "Australia/Sydney", "2026-10-03T12:00:00Z",
	    "2026-10-03T16:00:00Z 2026-10-04T15:30:00Z");
	/* Past the table of the zone file: the TZ rule (last Sunday of
	 * March 2047 is the 31st). */
	fires("30 2 * * *", BERLIN, "2047-03-30T12:00:00Z",
	    "2047-03-31T01:00:00Z 2047-04-01T00:30:00Z");
	fires("30 2 * * *", BERLIN, "2047-10-26T12:00:00Z",
	    "2047-10-27T00:30:00Z 2047-10-28T01:30:00Z");
	fires("30 1 * * *", NYC, "2045-11-04T12:00:00Z",
	    "2045-11-05T05:30:00Z 2045-11-06T06:30:00Z");
}
END_TEST

/*
 * Fire times by brute force, minute after minute, with glibc's
 * localtime_r() (TZ set by the caller): a wild job fires at every
 * matching wall time; any other at a matching wall time not seen before,
 * and once at the end of a gap that skipped a matching time.
 */

static int
brute_tm_match(const struct sched_spec *s, const struct tm *tm)
{
	int dm, wm;

	if (!((s->minute >> tm->tm_min) & 1) ||
	    !((s->hour >> tm->tm_hour) & 1) ||
	    !((s->month >> (tm->tm_mon + 1)) & 1))
		return 0;
	dm = (s->dom >> tm->tm_mday) & 1;
	wm = (s->dow >> tm->tm_wday) & 1;
	if (s->flags & (SCHED_DOM_STAR | SCHED_DOW_STAR))
		return dm && wm;
	return dm || wm;
}

/* Does local time l (seconds, as if UTC) match? */
static int
brute_match(const struct sched_spec *s, int64_t l)
{
	time_t t = (time_t)l;
	struct tm tm;

	gmtime_r(&t, &tm);
	return brute_tm_match(s, &tm);
}

#define WIN_MIN	(4 * 1440)		/* a window of four days */

struct window {
	time_t		 t0;		/* first minute */
	int64_t		 local[WIN_MIN];
	struct tm	 tm[WIN_MIN];
	char		 fire[WIN_MIN];
};

static void
window_fill(struct window *w, time_t t0)
{
	w->t0 = t0 - t0 % 60;
	for (int i = 0; i < WIN_MIN; i++) {
		time_t t = w->t0 + 60 * i;

		localtime_r(&t, &w->tm[i]);
		w->local[i] = (int64_t)t + w->tm[i].tm_gmtoff;
	}
}

static void
window_fires(struct window *w, const struct sched_spec *s)
{
	int wild = s->flags & SCHED_WILD, i;
	int64_t hw = w->local[0], g;

	w->fire[0] = 0;
	for (i = 1; i < WIN_MIN; i++) {
		w->fire[i] = brute_tm_match(s, &w->tm[i]) &&
		    (wild || w->local[i] > hw);
		for (g = w->local[i - 1] + 60; !wild && !w->fire[i] &&
		    g < w->local[i]; g += 60)
			w->fire[i] = g > hw && brute_match(s, g);
		if (w->local[i] > hw)
			hw = w->local[i];
	}
}

/* Compares sched_next() with the window for afters from 6 hours into it
 * (the fixed jobs' memory of wall times) on. */
static void
window_check(const struct window *w, const struct sched_spec *s,
    const char *expr, const char *zone)
{
	char a[32], b[32], c[32];
	time_t after, n;
	int i, k;

	for (i = 360; i < WIN_MIN; i += 7) {
		after = w->t0 + 60 * i - 1 - (i % 3 == 0);
		for (k = i; k < WIN_MIN && !w->fire[k]; k++)
			;
		if (k == WIN_MIN)
			break;
		n = sched_next(s, after);
		ck_assert_msg(n == w->t0 + 60 * k, "'%s' [%s] after %s: %s, "
		    "brute force %s", expr, zone, fmt(after, a, sizeof(a)),
		    fmt(n, b, sizeof(b)), fmt(w->t0 + 60 * k, c, sizeof(c)));
	}
}

/* The offset changes of year y in the zone TZ names, by glibc; at most
 * max, into at. Returns how many. */
static int
zone_changes(int y, time_t *at, int max)
{
	char iso[32];
	time_t t, end;
	struct tm tm;
	long prev;
	int n = 0;

	snprintf(iso, sizeof(iso), "%d-01-01T00:00:00Z", y);
	t = T(iso);
	end = t + 366 * 86400;
	localtime_r(&t, &tm);
	for (prev = tm.tm_gmtoff; t < end && n < max; t += 1800) {
		localtime_r(&t, &tm);
		if (tm.tm_gmtoff != prev)
			at[n++] = t;
		prev = tm.tm_gmtoff;
	}
	return n;
}

static const char *const brute_exprs[] = {
	"30 2 * * *", "0 2 * * *", "*/15 2 * * *", "30 * * * *",
	"*/7 * * * *", "0,30 1-3 * * *", "45 3 * * *", "0 0 * * *",
	"15 2,3 * * sun", "0 1 * * *", "59 1 * * *", "0 * * * *",
	"*/20 0-4 * * *", "5 2 1-10 * *", "0 2 * 3,4,10,11 0", "30 0 * * *",
	"0 23 * * *", "0 12 * * 6",
};

static const char *const brute_zones[] = {
	BERLIN, NYC, "Australia/Lord_Howe", "Australia/Sydney",
	"America/Santiago", "Pacific/Chatham", "America/St_Johns",
	"Europe/London", "Africa/Casablanca", "America/Havana",
	"Asia/Tehran", "Antarctica/Troll",
};

/* Around each change of 2026 and 2041 (the TZ rule's reign), in zones
 * with unusual changes: every expression against brute force. */
START_TEST(test_dst_brute)
{
	static struct window w;
	static struct sched_spec s;
	static const int years[] = { 2026, 2041 };
	time_t at[8];
	int n, checked = 0;

	for (size_t z = 0; z < sizeof(brute_zones) / sizeof(brute_zones[0]);
	    z++) {
		setenv("TZ", brute_zones[z], 1);
		tzset();
		for (size_t y = 0; y < 2; y++) {
			n = zone_changes(years[y], at, 8);
			for (int c = 0; c < n; c++) {
				window_fill(&w, at[c] - 86400 - 43200);
				for (size_t e = 0; e < sizeof(brute_exprs) /
				    sizeof(brute_exprs[0]); e++) {
					spec_of(&s, brute_exprs[e],
					    brute_zones[z], 0);
					window_fires(&w, &s);
					window_check(&w, &s, brute_exprs[e],
					    brute_zones[z]);
				}
				checked++;
			}
		}
	}
	ck_assert_int_gt(checked, 30);
	unsetenv("TZ");
	tzset();
}
END_TEST

/* The first match after `after` in UTC by scanning minutes, within max
 * minutes, or -1. */
static time_t
brute_next_utc(const struct sched_spec *s, time_t after, long max)
{
	time_t t = after - after % 60;

	for (long i = 0; i < max; i++) {
		t += 60;
		if (brute_match(s, t))
			return t;
	}
	return -1;
}

/* Random cron expressions in UTC against a minute-by-minute scan. */
START_TEST(test_next_brute_utc)
{
	static const char *const fld[5][6] = {
		{ "*", "0", "*/13", "5-50/9", "0,30", "17" },
		{ "*", "0", "*/5", "9-17", "3,23", "12" },
		{ "*", "1", "*/10", "15-20", "31", "29" },
		{ "*", "2", "*/4", "jan-mar", "feb,dec", "6-8" },
		{ "*", "0", "mon-fri", "7", "*/3", "sat" },
	};
	char expr[128], got[32], want[32];
	static struct sched_spec s;
	unsigned int seed = 7;
	time_t after, n, b;

	for (int i = 0; i < 400; i++) {
		int k[5];

		for (int f = 0; f < 5; f++)
			k[f] = (int)(rand_r(&seed) % 6);
		snprintf(expr, sizeof(expr), "%s %s %s %s %s", fld[0][k[0]],
		    fld[1][k[1]], fld[2][k[2]], fld[3][k[3]], fld[4][k[4]]);
		spec_of(&s, expr, NULL, 0);
		after = T("2024-01-01T00:00:00Z") +
		    (time_t)(rand_r(&seed) % (4 * 365 * 86400));
		n = sched_next(&s, after);
		b = brute_next_utc(&s, after, 40 * 1440);
		if (b == -1 && (n == -1 || n > after + 40 * 86400))
			continue;
		ck_assert_msg(n == b, "'%s' after %s: %s, brute force %s",
		    expr, fmt(after, got, sizeof(got)),
		    fmt(n, want, sizeof(want)), fmt(b, got, sizeof(got)));
	}
}
END_TEST

/*
 * Zone offsets against glibc
 */

static int zone_count;

static void
offsets_match(const char *name)
{
	static struct sched_spec s;
	char got[32];
	struct tm tm;
	time_t t;

	spec_of(&s, "every 1m", name, 0);
	setenv("TZ", name, 1);
	tzset();
	for (t = T("1900-01-01T00:00:00Z"); t < T("2100-01-01T00:00:00Z");
	    t += 86400 * 97 + 3607) {
		localtime_r(&t, &tm);
		ck_assert_msg(sched_utc_offset(&s, t) == tm.tm_gmtoff,
		    "%s at %s: %ld, glibc %ld", name, fmt(t, got, sizeof(got)),
		    sched_utc_offset(&s, t), tm.tm_gmtoff);
	}
	zone_count++;
}

static int
zone_visit(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	const char *name = path + strlen(SCHED_ZONEINFO) + 1;
	char head[5] = "";
	FILE *fp;

	(void)st;
	(void)f;
	if (flag != FTW_F || strncmp(name, "right/", 6) == 0 ||
	    strncmp(name, "posix/", 6) == 0 || strchr(name, '.') != NULL ||
	    strcmp(name, "Factory") == 0 || strcmp(name, "localtime") == 0)
		return 0;
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	if (fread(head, 1, 4, fp) != 4)
		head[0] = '\0';
	fclose(fp);
	if (strcmp(head, "TZif") == 0)
		offsets_match(name);
	return 0;
}

/* Far instants: no overflow, the zone's first and last offsets. */
START_TEST(test_offsets_extreme)
{
	static struct sched_spec s;

	spec_of(&s, "@daily", BERLIN, 0);
	ck_assert_int_eq(sched_utc_offset(&s, INT64_MIN), 3208);	/* LMT */
	ck_assert(sched_utc_offset(&s, INT64_MAX) == 3600 ||
	    sched_utc_offset(&s, INT64_MAX) == 7200);	/* the TZ rule */
	ck_assert_int_eq(sched_utc_offset(&s, T("2026-07-01T00:00:00Z")),
	    7200);
	ck_assert_int_eq(sched_utc_offset(NULL, 0), 0);
	ck_assert_int_eq(sched_next(&s, INT64_MAX), -1);
	ck_assert_int_eq(sched_next(&s, INT64_MIN), -1);
	ck_assert_int_eq(sched_next_jittered(&s, INT64_MAX, "k"), -1);
	ck_assert_int_eq(sched_missed(&s, INT64_MIN, INT64_MIN + 5), 0);
	/* Local midnights at 23:00 UTC on the 30th and the 31st. */
	ck_assert_int_eq(sched_missed(&s, T("9999-12-30T00:00:00Z"),
	    INT64_MAX), 2);
	spec_of(&s, "every 1d", NULL, 0);
	ck_assert_int_eq(sched_missed(&s, INT64_MIN, 86400), 2);
}
END_TEST

START_TEST(test_offsets_glibc)
{
	zone_count = 0;
	ck_assert_int_eq(nftw(SCHED_ZONEINFO, zone_visit, 16, FTW_PHYS), 0);
	ck_assert_int_gt(zone_count, 300);
	unsetenv("TZ");
	tzset();
}
END_TEST

/*
 * sched_jitter, sched_next_jittered
 */

START_TEST(test_jitter)
{
	static struct sched_spec s, s2;
	time_t f = T("2026-01-01T00:00:00Z");
	long j, buckets[10] = { 0 }, differ = 0;

	spec_of(&s, "every 5m", NULL, 0);
	ck_assert_int_eq(sched_jitter(&s, f, "email_sync"), 0);
	spec_of(&s, "every 5m", NULL, 60);
	spec_of(&s2, "*/5 * * * *", BERLIN, 60);
	/* Pinned: every host and every version computes the same. */
	ck_assert_int_eq(sched_jitter(&s, f, "email_sync"), 10);
	ck_assert_int_eq(sched_jitter(&s, f + 300, "email_sync"), 6);
	ck_assert_int_eq(sched_jitter(&s, f, ""), 3);
	ck_assert_int_eq(sched_jitter(&s, f, NULL), 3);
	for (int i = 0; i < 1000; i++) {
		j = sched_jitter(&s, f + 300 * i, "email_sync");
		ck_assert_int_eq(j, sched_jitter(&s2, f + 300 * i,
		    "email_sync"));
		ck_assert_int_ge(j, 0);
		ck_assert_int_lt(j, 60);
		differ += j != sched_jitter(&s, f + 300 * i, "email_sync2");
	}
	ck_assert_int_gt(differ, 900);
	spec_of(&s, "@daily", NULL, 10);
	for (int i = 0; i < 10000; i++)
		buckets[sched_jitter(&s, f + 86400 * i, "job")]++;
	for (int i = 0; i < 10; i++)
		ck_assert_msg(buckets[i] > 850 && buckets[i] < 1150,
		    "bucket %d: %ld", i, buckets[i]);
	ck_assert_int_eq(sched_jitter(NULL, f, "x"), 0);
}
END_TEST

START_TEST(test_next_jittered)
{
	static struct sched_spec s;
	time_t t = T("2026-01-01T00:00:00Z"), n, base, prev = -1;
	char got[32];

	spec_of(&s, "every 5m", NULL, 60);
	for (int i = 0; i < 2000; i++) {
		n = sched_next_jittered_base(&s, t, "email_sync", &base);
		ck_assert_int_gt(n, t);
		ck_assert_int_eq(base % 300, 0);
		ck_assert_int_eq(n - base, sched_jitter(&s, base,
		    "email_sync"));
		if (prev != -1)
			ck_assert_int_eq(base, prev + 300);
		ck_assert_int_eq(sched_next_jittered(&s, t, "email_sync"), n);
		/* Asked again inside the jitter window: the same fire. */
		if (n - base > 0)
			ck_assert_int_eq(sched_next_jittered(&s, n - 1,
			    "email_sync"), n);
		prev = base;
		t = n;
	}
	/* 00:00 plus 10 s, then 00:05 plus 6 s (the pins above). */
	n = sched_next_jittered(&s, T("2026-01-01T00:00:09Z"), "email_sync");
	ck_assert_str_eq(fmt(n, got, sizeof(got)), "2026-01-01T00:00:10Z");
	n = sched_next_jittered_base(&s, T("2025-12-31T23:59:59Z"),
	    "email_sync", &base);
	ck_assert_str_eq(fmt(n, got, sizeof(got)), "2026-01-01T00:00:10Z");
	ck_assert_str_eq(fmt(base, got, sizeof(got)), "2026-01-01T00:00:00Z");
	n = sched_next_jittered(&s, T("2026-01-01T00:00:10Z"), "email_sync");
	ck_assert_str_eq(fmt(n, got, sizeof(got)), "2026-01-01T00:05:06Z");
	/* No fire: -1, and the base says so. */
	spec_of(&s, "0 0 30 2 *", NULL, 60);
	ck_assert_int_eq(sched_next_jittered_base(&s, t, "k", &base), -1);
	ck_assert_int_eq(base, -1);
	ck_assert_int_eq(sched_next_jittered(NULL, t, "k"), -1);
	/* Without jitter, the plain fire time. */
	spec_of(&s, "@hourly", NULL, 0);
	ck_assert_int_eq(sched_next_jittered(&s, T("2026-01-01T00:00:00Z"),
	    "k"), T("2026-01-01T01:00:00Z"));
}
END_TEST

/*
 * sched_missed
 */

START_TEST(test_missed)
{
	static struct sched_spec s;

	spec_of(&s, "every 5m", NULL, 0);
	ck_assert_int_eq(sched_missed(&s, T("2026-01-01T10:00:00Z"),
	    T("2026-01-01T10:30:00Z")), 6);
	ck_assert_int_eq(sched_missed(&s, T("2026-01-01T10:02:00Z"),
	    T("2026-01-01T10:04:59Z")), 0);
	ck_assert_int_eq(sched_missed(&s, T("2026-01-01T10:02:00Z"),
	    T("2026-01-01T10:05:00Z")), 1);
	ck_assert_int_eq(sched_missed(&s, T("2026-01-01T10:30:00Z"),
	    T("2026-01-01T10:30:00Z")), 0);
	ck_assert_int_eq(sched_missed(&s, T("2026-01-01T10:30:00Z"),
	    T("2026-01-01T10:00:00Z")), 0);
	ck_assert_int_eq(sched_missed(&s, -1, 600), 3);	/* 0, 300, 600 */
	spec_of(&s, "every 1s", NULL, 0);
	ck_assert_int_eq(sched_missed(&s, 0, T("2026-01-01T00:00:00Z")),
	    SCHED_MISSED_MAX);

	spec_of(&s, "0 * * * *", NULL, 0);
	ck_assert_int_eq(sched_missed(&s, T("2026-01-01T00:00:00Z"),
	    T("2026-01-02T00:00:00Z")), 24);
	ck_assert_int_eq(sched_missed(&s, T("2026-01-01T00:00:00Z"),
	    T("2026-01-01T00:59:59Z")), 0);
	spec_of(&s, "30 2 * * *", BERLIN, 0);
	ck_assert_int_eq(sched_missed(&s, T("2026-03-28T00:00:00Z"),
	    T("2026-03-31T00:00:00Z")), 3);
	ck_assert_int_eq(sched_missed(&s, T("2026-10-24T00:00:00Z"),
	    T("2026-10-27T00:00:00Z")), 3);
	spec_of(&s, "30 * * * *", BERLIN, 0);
	ck_assert_int_eq(sched_missed(&s, T("2026-10-24T22:00:00Z"),
	    T("2026-10-25T23:00:00Z")), 25);
	ck_assert_int_eq(sched_missed(&s, T("2026-03-28T22:00:00Z"),
	    T("2026-03-29T23:00:00Z")), 25);
	spec_of(&s, "0 0 29 2 *", NULL, 0);
	ck_assert_int_eq(sched_missed(&s, T("2090-01-01T00:00:00Z"),
	    T("2110-01-01T00:00:00Z")), 4);	/* 92 96 2104 2108 */
	spec_of(&s, "0 0 30 2 *", NULL, 0);
	ck_assert_int_eq(sched_missed(&s, T("2020-01-01T00:00:00Z"),
	    T("2030-01-01T00:00:00Z")), 0);
	spec_of(&s, "* * * * *", NULL, 0);
	ck_assert_int_eq(sched_missed(&s, 0, T("2026-01-01T00:00:00Z")),
	    SCHED_MISSED_MAX);
	ck_assert_int_eq(sched_missed(NULL, 0, 100), 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(sched_missed(&s, 0, 100), 0);
}
END_TEST

/*
 * sched_zone_parse
 */

struct tzb {
	unsigned char	 d[32768];
	size_t		 len;
};

static void
put32(struct tzb *b, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		b->d[b->len++] = (unsigned char)(v >> (8 * i));
}

static void
put64(struct tzb *b, int64_t v)
{
	put32(b, (uint32_t)((uint64_t)v >> 32));
	put32(b, (uint32_t)v);
}

/* One header and data block: nt transitions at[] to type idx[], ntype
 * types with offsets off[] (isdst off[i] != off[0]). */
static void
tz_block(struct tzb *b, char ver, int v2, int nt, const int64_t *at,
    const unsigned char *idx, int ntype, const int32_t *off, int leap)
{
	memcpy(b->d + b->len, "TZif", 4);
	b->d[b->len + 4] = (unsigned char)ver;
	memset(b->d + b->len + 5, 0, 15);
	b->len += 20;
	put32(b, 0);
	put32(b, 0);
	put32(b, (uint32_t)leap);
	put32(b, (uint32_t)nt);
	put32(b, (uint32_t)ntype);
	put32(b, 4);
	for (int i = 0; i < nt; i++) {
		if (v2)
			put64(b, at[i]);
		else
			put32(b, (uint32_t)at[i]);
	}
	for (int i = 0; i < nt; i++)
		b->d[b->len++] = idx[i];
	for (int i = 0; i < ntype; i++) {
		put32(b, (uint32_t)off[i]);
		b->d[b->len++] = off[i] != off[0];
		b->d[b->len++] = 0;
	}
	memcpy(b->d + b->len, "AB\0\0", 4);
	b->len += 4;
	for (int i = 0; i < leap; i++) {
		if (v2)
			put64(b, 0);
		else
			put32(b, 0);
		put32(b, 1);
	}
}

/* A version 2 file: the same data twice and a footer. */
static void
tz_file(struct tzb *b, int nt, const int64_t *at, const unsigned char *idx,
    int ntype, const int32_t *off, int leap, const char *footer)
{
	b->len = 0;
	tz_block(b, '2', 0, nt, at, idx, ntype, off, leap);
	tz_block(b, '2', 1, nt, at, idx, ntype, off, leap);
	if (footer != NULL) {
		memcpy(b->d + b->len, footer, strlen(footer));
		b->len += strlen(footer);
	}
}

static void
zone_fails(const struct tzb *b, const char *want)
{
	static struct sched_zone z;
	char err[128] = "";

	ck_assert_int_eq(sched_zone_parse(b->d, b->len, &z, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, want);
}

static const int64_t tz_at[3] = { 1000000, 2000000, 3000000 };
static const unsigned char tz_idx[3] = { 1, 2, 1 };
static const int32_t tz_off[3] = { 3600, 7200, -1800 };

START_TEST(test_zone_parse)
{
	static struct sched_zone z;
	static struct tzb b;
	char err[128];

	tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 0, "\nAAA-2\n");
	ck_assert_int_eq(sched_zone_parse(b.d, b.len, &z, err, sizeof(err)),
	    0);
	ck_assert_int_eq(z.n, 3);
	ck_assert_int_eq(z.off0, 3600);
	ck_assert_int_eq(z.at[0], 1000000);
	ck_assert_int_eq(z.off[0], 7200);
	ck_assert_int_eq(z.off[1], -1800);
	ck_assert_int_eq(z.off[2], 7200);
	ck_assert_int_eq(z.rule.present, 1);
	ck_assert_int_eq(z.rule.has_dst, 0);
	ck_assert_int_eq(z.rule.std_off, 7200);
	ck_assert_int_eq(z.has_from, 1);
	ck_assert_int_eq(z.rule_from, 3000000);

	/* A rule that disagrees with the last transition wins from it. */
	tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 0, "\nAAA-1\n");
	ck_assert_int_eq(sched_zone_parse(b.d, b.len, &z, err, sizeof(err)),
	    0);
	ck_assert_int_eq(z.n, 3);
	ck_assert_int_eq(z.at[2], 3000000);
	ck_assert_int_eq(z.off[2], 3600);

	/* Version 1: no footer, the last offset stays. */
	b.len = 0;
	tz_block(&b, '\0', 0, 3, tz_at, tz_idx, 3, tz_off, 0);
	ck_assert_int_eq(sched_zone_parse(b.d, b.len, &z, err, sizeof(err)),
	    0);
	ck_assert_int_eq(z.rule.present, 0);
	ck_assert_int_eq(z.off[2], 7200);

	/* Unchanged offsets are not changes. */
	{
		static const unsigned char same[3] = { 0, 0, 1 };

		tz_file(&b, 3, tz_at, same, 3, tz_off, 0, "\n\n");
		ck_assert_int_eq(sched_zone_parse(b.d, b.len, &z, err,
		    sizeof(err)), 0);
		ck_assert_int_eq(z.n, 1);
		ck_assert_int_eq(z.at[0], 3000000);
	}
}
END_TEST

START_TEST(test_zone_parse_errors)
{
	static struct tzb b;
	static struct sched_zone z;
	static const unsigned char bad_idx[3] = { 1, 3, 1 };
	static const int64_t bad_at[3] = { 1000000, 1000000, 3000000 };
	static const int32_t bad_off[3] = { 3600, 100 * 3600, 0 };
	char err[128];

	tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 0, "\nCET-1CEST,M3.5.0,"
	    "M10.5.0/3\n");
	/* Every truncation fails cleanly. */
	for (size_t len = 0; len < b.len; len++)
		ck_assert_msg(sched_zone_parse(b.d, len, &z, err,
		    sizeof(err)) == -1, "length %zu parsed", len);
	ck_assert_int_eq(sched_zone_parse(b.d, b.len, &z, err, sizeof(err)),
	    0);

	b.d[0] = 'X';
	zone_fails(&b, "not a TZif file");
	b.d[0] = 'T';
	b.d[4] = '1';
	zone_fails(&b, "unknown TZif version");
	tz_file(&b, 3, tz_at, bad_idx, 3, tz_off, 0, "\n\n");
	zone_fails(&b, "corrupt TZif transitions");
	tz_file(&b, 3, bad_at, tz_idx, 3, tz_off, 0, "\n\n");
	zone_fails(&b, "corrupt TZif transitions");
	{
		static const int64_t far[3] = { 0, 1, INT64_MAX };

		tz_file(&b, 3, far, tz_idx, 3, tz_off, 0, "\nAAA-1\n");
		zone_fails(&b, "corrupt TZif transitions");
	}
	tz_file(&b, 3, tz_at, tz_idx, 3, bad_off, 0, "\n\n");
	zone_fails(&b, "corrupt TZif time type");
	tz_file(&b, 3, tz_at, tz_idx, 0, tz_off, 0, "\n\n");
	zone_fails(&b, "corrupt TZif header");
	tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 1, "\n\n");
	zone_fails(&b, "leap-second zones are not supported");
	tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 0, NULL);
	zone_fails(&b, "TZif footer missing");
	tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 0, "\nCET-1");
	zone_fails(&b, "TZif footer missing");
	tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 0, "\nCET-1");
	b.d[b.len++] = '\0';		/* a NUL inside the TZ string */
	b.d[b.len++] = '\n';
	zone_fails(&b, "TZif footer: unsupported TZ string");
	{
		char longer[300];

		memset(longer, 'A', sizeof(longer));
		longer[0] = '\n';
		longer[sizeof(longer) - 2] = '\n';
		longer[sizeof(longer) - 1] = '\0';
		tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 0, longer);
		zone_fails(&b, "TZif footer too long");
	}
	{
		static const char *const bad[] = {
			"\nCET\n", "\nC-1\n", "\nCET-1CEST,M3.5.0\n",
			"\nCET-1CEST,M13.5.0,M10.5.0\n",
			"\nCET-1CEST,M3.6.0,M10.5.0\n",
			"\nCET-1CEST,M3.5.7,M10.5.0\n",
			"\nCET-1CEST,J0,J365\n", "\nCET-1CEST,366,0\n",
			"\nCET-1CEST,M3.5.0/168,M10.5.0\n",
			"\nCET-25\n", "\nCET-1:5\n", "\n<AB\n",
			"\nCET-1CEST,M3.5.0,M10.5.0x\n",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			tz_file(&b, 3, tz_at, tz_idx, 3, tz_off, 0, bad[i]);
			zone_fails(&b, "TZif footer: unsupported TZ string");
		}
	}
}
END_TEST

/* A real zone file with random bytes changed: parses or fails cleanly,
 * and what parses answers offsets and fire times. */
START_TEST(test_zone_fuzz)
{
	static struct sched_spec s;
	static struct sched_zone fz;
	unsigned int seed = 5;
	unsigned char *orig, *d;
	char err[128];
	size_t len;
	int ok = 0;

	orig = (unsigned char *)mv_read_file(SCHED_ZONEINFO "/" NYC, 65536,
	    &len);
	ck_assert_ptr_nonnull(orig);
	d = malloc(len);
	ck_assert_ptr_nonnull(d);
	for (int i = 0; i < 3000; i++) {
		memcpy(d, orig, len);
		for (int k = 0; k < 1 + i % 4; k++)
			d[rand_r(&seed) % len] = (unsigned char)rand_r(&seed);
		memset(&s, 0, sizeof(s));
		if (sched_zone_parse(d, len, &fz, err, sizeof(err)) != 0)
			continue;
		s.zone = &fz;
		ok++;
		s.kind = SCHED_CRON;
		s.minute = 1;
		s.hour = 1u << 2;
		s.dom = 0xfffffffe;
		s.month = 0x1ffe;
		s.dow = 0x7f;
		s.flags = SCHED_DOM_STAR | SCHED_DOW_STAR;
		(void)sched_utc_offset(&s, (time_t)rand_r(&seed) * 3);
		ck_assert_int_ne(sched_next(&s, T("2026-03-07T00:00:00Z")), -1);
	}
	ck_assert_int_gt(ok, 100);
	free(d);
	free(orig);
}
END_TEST

/* A zone made of a TZ string only, against glibc reading the same
 * string. */
static void
rule_matches(const char *tz)
{
	static struct sched_zone z;
	static struct sched_spec s;
	static struct tzb b;
	static const int32_t off0[1] = { 0 };
	char footer[128], err[128], got[32];
	struct tm tm;
	time_t t;

	snprintf(footer, sizeof(footer), "\n%s\n", tz);
	tz_file(&b, 0, NULL, NULL, 1, off0, 0, footer);
	ck_assert_msg(sched_zone_parse(b.d, b.len, &z, err, sizeof(err)) == 0,
	    "%s: %s", tz, err);
	memset(&s, 0, sizeof(s));
	s.zone = &z;
	setenv("TZ", tz, 1);
	tzset();
	for (t = T("2024-01-01T00:00:00Z"); t < T("2040-01-01T00:00:00Z");
	    t += 3600 * 7 + 60 * 13) {
		localtime_r(&t, &tm);
		ck_assert_msg(sched_utc_offset(&s, t) == tm.tm_gmtoff,
		    "%s at %s: %ld, glibc %ld", tz, fmt(t, got, sizeof(got)),
		    sched_utc_offset(&s, t), tm.tm_gmtoff);
	}
}

START_TEST(test_zone_rules)
{
	rule_matches("CET-1CEST,M3.5.0,M10.5.0/3");
	rule_matches("EST5EDT,M3.2.0,M11.1.0");
	rule_matches("EST5EDT");		/* US rules by default */
	rule_matches("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45");
	rule_matches("IST-2IDT,M3.4.4/26,M10.5.0");
	rule_matches("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1");
	rule_matches("AEST-10AEDT,M10.1.0,M4.1.0/3");
	rule_matches("XXX3YYY,J60/1:30:15,J300");
	rule_matches("XXX-3YYY-5:30,59,300/4");
	rule_matches("<+0330>-3:30");
	rule_matches("UTC0");
	unsetenv("TZ");
	tzset();
}
END_TEST

/* "0/0,J365/25": DST all year (RFC 8536, 3.3.1), New Year's Eve too. */
START_TEST(test_zone_rule_permanent)
{
	static struct sched_spec s;
	static struct tzb b;
	static const int32_t off0[1] = { -18000 };
	char err[128];

	static struct sched_zone pz;

	memset(&s, 0, sizeof(s));
	tz_file(&b, 0, NULL, NULL, 1, off0, 0, "\nEST5EDT,0/0,J365/25\n");
	ck_assert_int_eq(sched_zone_parse(b.d, b.len, &pz, err,
	    sizeof(err)), 0);
	s.zone = &pz;
	ck_assert_int_eq(sched_utc_offset(&s, T("2026-06-01T00:00:00Z")),
	    -14400);
	ck_assert_int_eq(sched_utc_offset(&s, T("2026-01-01T00:00:00Z")),
	    -14400);
	ck_assert_int_eq(sched_utc_offset(&s, T("2025-12-31T23:59:59Z")),
	    -14400);
	ck_assert_int_eq(sched_utc_offset(&s, T("2028-12-31T20:00:00Z")),
	    -14400);
}
END_TEST

START_TEST(test_zone_many)
{
	static int64_t at[1200];
	static unsigned char idx[1200];
	static const int32_t off[2] = { 0, 3600 };
	static struct sched_zone z;
	static struct sched_spec s;
	static struct tzb b;
	char err[128];

	for (int i = 0; i < 1200; i++) {
		at[i] = 1000000000LL + 86400LL * i;
		idx[i] = (unsigned char)((i + 1) % 2);
	}
	tz_file(&b, 1200, at, idx, 2, off, 0, "\nAAA0\n");
	ck_assert_int_eq(sched_zone_parse(b.d, b.len, &z, err, sizeof(err)),
	    0);
	ck_assert_int_eq(z.n, SCHED_TZ_MAX);
	ck_assert_int_eq(z.at[SCHED_TZ_MAX - 1], at[1199]);
	ck_assert_int_eq(z.at[0], at[1200 - SCHED_TZ_MAX]);
	s.zone = &z;
	/* The latest changes are kept exactly. */
	ck_assert_int_eq(sched_utc_offset(&s, (time_t)at[1198]), 3600);
	ck_assert_int_eq(sched_utc_offset(&s, (time_t)at[1199] - 1), 3600);
	ck_assert_int_eq(sched_utc_offset(&s, (time_t)at[1199]), 0);
	ck_assert_int_eq(sched_utc_offset(&s, (time_t)at[1199] + 99999999),
	    0);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite *s = suite_create("sched");
	TCase *tc;

	tc = tcase_create("sched_parse");
	tcase_add_test(tc, test_parse_every);
	tcase_add_test(tc, test_parse_every_errors);
	tcase_add_test(tc, test_parse_cron);
	tcase_add_test(tc, test_parse_macros);
	tcase_add_test(tc, test_parse_cron_errors);
	tcase_add_test(tc, test_parse_hostile);
	tcase_add_test(tc, test_parse_fuzz);
	tcase_add_test(tc, test_parse_tz);
	tcase_add_test(tc, test_parse_jitter);
	suite_add_tcase(s, tc);

	tc = tcase_create("sched_next");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_next_interval);
	tcase_add_test(tc, test_next_cron);
	tcase_add_test(tc, test_next_leap_impossible);
	tcase_add_test(tc, test_next_dom_dow);
	tcase_add_test(tc, test_next_macros);
	tcase_add_test(tc, test_dst_berlin);
	tcase_add_test(tc, test_dst_new_york);
	tcase_add_test(tc, test_dst_other);
	tcase_add_test(tc, test_dst_brute);
	tcase_add_test(tc, test_next_brute_utc);
	suite_add_tcase(s, tc);

	tc = tcase_create("sched_utc_offset");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_offsets_extreme);
	tcase_add_test(tc, test_offsets_glibc);
	suite_add_tcase(s, tc);

	tc = tcase_create("sched_jitter");
	tcase_add_test(tc, test_jitter);
	suite_add_tcase(s, tc);

	tc = tcase_create("sched_next_jittered");
	tcase_add_test(tc, test_next_jittered);
	suite_add_tcase(s, tc);

	tc = tcase_create("sched_missed");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_missed);
	suite_add_tcase(s, tc);

	tc = tcase_create("sched_zone_parse");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_zone_parse);
	tcase_add_test(tc, test_zone_parse_errors);
	tcase_add_test(tc, test_zone_rules);
	tcase_add_test(tc, test_zone_rule_permanent);
	tcase_add_test(tc, test_zone_many);
	tcase_add_test(tc, test_zone_fuzz);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sched_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
