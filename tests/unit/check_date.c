/* Unit tests for common/date.c (Date header values). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/date.h"

#define T0	1136214245	/* 2006-01-02T15:04:05Z */
#define HOUR	3600

static void
expect_ok(int line, const char *s, long long want)
{
	time_t t = 12345;

	ck_assert_msg(date_parse(s, &t) == 0, "line %d: refused", line);
	ck_assert_msg((long long)t == want, "line %d: got %lld, want %lld",
	    line, (long long)t, want);
}

static void
expect_bad(int line, const char *s)
{
	time_t t = 12345;

	ck_assert_msg(date_parse(s, &t) == -1, "line %d: accepted", line);
	ck_assert_msg(t == 12345, "line %d: *out changed", line);
}

#define OK(s, want)	expect_ok(__LINE__, s, want)
#define BAD(s)		expect_bad(__LINE__, s)

START_TEST(rfc5322)
{
	OK("Mon, 2 Jan 2006 15:04:05 +0000", T0);
	OK("Mon, 02 Jan 2006 15:04:05 -0700", T0 + 7 * HOUR);
	OK("Mon, 2 Jan 2006 15:04:05 +0130", T0 - 90 * 60);
	OK("Mon, 2 Jan 2006 15:04:05 +0000 (UTC)", T0);
	OK("Mon, 2 Jan 2006 15:04:05 -0800 (PST)", T0 + 8 * HOUR);
	OK("Mon, 2 Jan 2006 15:04:05 -0800 PST", T0 + 8 * HOUR);
	OK("(comment) Mon, 2 Jan 2006 15:04:05 +0000", T0);
	OK("Mon,\r\n 2 Jan 2006\r\n 15:04:05 +0000", T0);
	OK("Mon , 2 Jan 2006 15:04:05 (a (nested) comment) +0000", T0);
	OK("Thu, 1 Jan 1970 00:00:00 +0000", 0);
	OK("Wed, 31 Dec 1969 23:59:59 +0000", -1);
	OK("Fri, 31 Dec 9999 23:59:59 +0000", 253402300799LL);
	OK("1 Jan 1900 00:00:00 +0000", -2208988800LL);
}
END_TEST

START_TEST(obsolete)
{
	OK("Mon 2 Jan 2006 15:04:05 +0000", T0);
	OK("2 Jan 2006 15:04:05 GMT", T0);
	OK("2 Jan 2006 15:04 GMT", T0 - 5);
	OK("mon, 2 jan 06 15:04:05 est", T0 + 5 * HOUR);
	OK("2 Jan 106 15:04:05 UT", T0);
	OK("2 Jan 99 15:04:05 +0000", 915289445);
	OK("2 Jan 49 15:04:05 +0000", 2493212645LL);
	OK("2 Jan 50 15:04:05 +0000", -631011355);
	OK("Monday, 02-Jan-06 15:04:05 GMT", T0);
	OK("2 January 2006 15:04:05 Z", T0);
	OK("2 Sept 2006 15:04:05 +0000", T0 + 243 * 86400);
	OK("2 Jan 2006 15:04:05.123 +0000", T0);
	OK("2 Jan 2006 15:04:05", T0);
}
END_TEST

START_TEST(zones)
{
	OK("2 Jan 2006 15:04:05 EDT", T0 + 4 * HOUR);
	OK("2 Jan 2006 15:04:05 CST", T0 + 6 * HOUR);
	OK("2 Jan 2006 15:04:05 CDT", T0 + 5 * HOUR);
	OK("2 Jan 2006 15:04:05 MST", T0 + 7 * HOUR);
	OK("2 Jan 2006 15:04:05 MDT", T0 + 6 * HOUR);
	OK("2 Jan 2006 15:04:05 PST", T0 + 8 * HOUR);
	OK("2 Jan 2006 15:04:05 PDT", T0 + 7 * HOUR);
	OK("2 Jan 2006 15:04:05 UTC", T0);
	/* military letters and unknown names: +0000 (RFC 5322 4.3) */
	OK("2 Jan 2006 15:04:05 A", T0);
	OK("2 Jan 2006 15:04:05 Y", T0);
	OK("2 Jan 2006 15:04:05 CET", T0);
	OK("2 Jan 2006 15:04:05 +01:00", T0 - HOUR);
	OK("2 Jan 2006 15:04:05 -2359", T0 + 23 * HOUR + 59 * 60);
}
END_TEST

START_TEST(other_forms)
{
	OK("Mon Jan  2 15:04:05 2006", T0);
	OK("Mon Jan 2 15:04:05 MST 2006", T0 + 7 * HOUR);
	OK("Mon Jan 02 15:04:05 -0700 2006", T0 + 7 * HOUR);
	OK("2006-01-02 15:04:05", T0);
	OK("2006-01-02T15:04:05Z", T0);
	OK("2006-01-02T15:04:05.123+01:30", T0 - 90 * 60);
	OK("2006-01-02 15:04:05 -0700", T0 + 7 * HOUR);
}
END_TEST

START_TEST(ranges)
{
	OK("Thu, 29 Feb 2024 12:00:00 +0000", 1709208000);
	OK("29 Feb 2000 00:00:00 +0000", 951782400);
	OK("31 Dec 2016 23:59:60 +0000", 1483228800);
	BAD("Sun, 29 Feb 2026 12:00:00 +0000");
	BAD("29 Feb 1900 00:00:00 +0000");
	BAD("31 Apr 2026 12:00:00 +0000");
	BAD("0 Jan 2026 12:00:00 +0000");
	BAD("32 Jan 2026 12:00:00 +0000");
	BAD("2 Jan 2006 24:00:00 +0000");
	BAD("2 Jan 2006 15:60:00 +0000");
	BAD("2 Jan 2006 15:04:61 +0000");
	BAD("2 Jan 1899 15:04:05 +0000");
	BAD("2 Jan 2006 15:04:05 +2400");
	BAD("2 Jan 2006 15:04:05 +0060");
	BAD("2006-13-02 15:04:05");
	BAD("2006-02-30T15:04:05Z");
}
END_TEST

START_TEST(garbage)
{
	char *deep;

	BAD(NULL);
	BAD("");
	BAD("   ");
	BAD("garbage");
	BAD("Mon,");
	BAD("2 Jan 2006");
	BAD("Foo, 2 Jan 2006 15:04:05 +0000");
	BAD("2 Foo 2006 15:04:05 +0000");
	BAD("2 Jan 2006 15:04:05 +01");
	BAD("2 Jan 2006 15:04:05 +100");
	BAD("2 Jan 2006 15:04:05 Pacific");
	/* "GMT+1": the sign is read both ways in the wild, so refused */
	BAD("Tue, 18 Nov 2026 10:11:12 GMT+1");
	BAD("Tue, 18 Nov 2026 10:11:12 UTC+0100");
	BAD("2 Jan 6 15:04:05 +0000");
	/* numbers too long for their field never overflow */
	BAD("99999999999999999999 Jan 2006 15:04:05 +0000");
	BAD("2 Jan 99999999999999999999 15:04:05 +0000");
	BAD("2 Jan 10000 15:04:05 +0000");
	BAD("2 Jan 2006 99999999999999999999:04:05 +0000");
	BAD("2 Jan 2006 15:04:05 +99999999999999999999");
	BAD("99999999999999999999-01-02 15:04:05");
	deep = malloc(100001);
	ck_assert_ptr_nonnull(deep);
	memset(deep, '(', 100000);
	deep[100000] = '\0';
	BAD(deep);
	free(deep);
}
END_TEST

START_TEST(null_out)
{
	ck_assert_int_eq(date_parse("2 Jan 2006 15:04:05 +0000", NULL), -1);
}
END_TEST

static Suite *
date_suite(void)
{
	Suite *s = suite_create("date");
	TCase *tc;

	tc = tcase_create("date_parse");
	tcase_add_test(tc, rfc5322);
	tcase_add_test(tc, obsolete);
	tcase_add_test(tc, zones);
	tcase_add_test(tc, other_forms);
	tcase_add_test(tc, ranges);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, null_out);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(date_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
