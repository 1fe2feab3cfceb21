/* Unit tests of supervisor/backoff.c: delays and their parsing. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/backoff.h"

START_TEST(test_delay_sequence)
{
	struct backoff b = { 60, 2, 3600, 0 };
	static const double want[] = { 60, 120, 240, 480, 960, 1920, 3600,
	    3600 };

	for (int a = 1; a <= 8; a++)
		ck_assert_msg(backoff_delay(&b, a, 0.3) == want[a - 1],
		    "attempt %d: %g", a, backoff_delay(&b, a, 0.3));
	/* The default: 30 s doubling to 600 s; u = 0.5 is no jitter. */
	b = (struct backoff){ 30, 2, 600, 0.1 };
	ck_assert(backoff_delay(&b, 1, 0.5) == 30);
	ck_assert(backoff_delay(&b, 5, 0.5) == 480);
	ck_assert(backoff_delay(&b, 6, 0.5) == 600);
	ck_assert(backoff_delay(&b, 1000, 0.5) == 600);
	ck_assert(backoff_delay(&b, INT_MAX, 0.5) == 600);
	/* Factor 1: constant. Fractions stay fractions. */
	b = (struct backoff){ 1.5, 1, 10, 0 };
	ck_assert(backoff_delay(&b, 1, 0) == 1.5);
	ck_assert(backoff_delay(&b, 99, 0) == 1.5);
	b = (struct backoff){ 0.25, 3, 100, 0 };
	ck_assert(backoff_delay(&b, 3, 0) == 2.25);
}
END_TEST

START_TEST(test_delay_attempt_low)
{
	struct backoff b = { 60, 2, 3600, 0 };

	ck_assert(backoff_delay(&b, 0, 0) == 60);
	ck_assert(backoff_delay(&b, -5, 0) == 60);
	ck_assert(backoff_delay(&b, INT_MIN, 0) == 60);
}
END_TEST

START_TEST(test_delay_jitter)
{
	struct backoff b = { 30, 2, 600, 0.1 };
	double d;

	ck_assert(fabs(backoff_delay(&b, 1, 0) - 27) < 1e-9);
	ck_assert(fabs(backoff_delay(&b, 7, 0) - 540) < 1e-9);
	ck_assert(fabs(backoff_delay(&b, 1, 0.75) - 31.5) < 1e-9);
	for (int i = 0; i < 1000; i++) {
		double u = i / 1000.0;

		for (int a = 1; a <= 8; a++) {
			double full = a >= 6 ? 600 : 30.0 * (1 << (a - 1));

			d = backoff_delay(&b, a, u);
			ck_assert_msg(d >= full * 0.9 - 1e-9 && d < full * 1.1,
			    "attempt %d u %g: %g", a, u, d);
		}
	}
	/* u out of range is clamped. */
	ck_assert(fabs(backoff_delay(&b, 1, -5) - 27) < 1e-9);
	ck_assert(fabs(backoff_delay(&b, 1, NAN) - 27) < 1e-9);
	ck_assert(fabs(backoff_delay(&b, 1, 7) - 33) < 1e-9);
	/* Full jitter reaches 0 and twice the delay, never past. */
	b.jitter = 1;
	ck_assert(backoff_delay(&b, 1, 0) == 0);
	ck_assert(fabs(backoff_delay(&b, 1, 1) - 60) < 1e-9);
}
END_TEST

START_TEST(test_delay_bad)
{
	struct backoff b = { 30, 2, 600, 3 };

	ck_assert(backoff_delay(NULL, 1, 0.5) == 0);
	ck_assert(backoff_delay(&b, 1, 0) == 0);	/* would be -60 */
	b = (struct backoff){ NAN, 2, 600, 0 };
	ck_assert(backoff_delay(&b, 1, 0.5) == 600);	/* capped */
	b = (struct backoff){ 30, 2, NAN, 0 };
	ck_assert(backoff_delay(&b, 1, 0.5) == 0);
	b = (struct backoff){ 30, 2, INFINITY, 0 };
	ck_assert(backoff_delay(&b, 5000, 0.5) == 0);
	b = (struct backoff){ -30, 2, 600, 0 };
	ck_assert(backoff_delay(&b, 1, 0.5) == 0);
}
END_TEST

static void
parses(const char *s, double i, double f, double m, double j)
{
	struct backoff b;
	char err[128] = "";

	ck_assert_msg(backoff_parse(s, &b, err, sizeof(err)) == 0, "'%s': %s",
	    s, err);
	ck_assert_msg(b.initial == i && b.factor == f && b.max == m &&
	    b.jitter == j, "'%s': %g %g %g %g", s, b.initial, b.factor,
	    b.max, b.jitter);
}

static void
fails(const char *s, const char *want)
{
	struct backoff b = { 1, 2, 3, 0.5 };
	char err[128] = "";

	ck_assert_msg(backoff_parse(s, &b, err, sizeof(err)) == -1,
	    "'%s' parsed", s ? s : "(null)");
	ck_assert_str_eq(err, want);
	ck_assert(b.initial == 1 && b.factor == 2 && b.max == 3 &&
	    b.jitter == 0.5);
}

START_TEST(test_parse)
{
	parses(BACKOFF_DEFAULT, 30, 2, 600, 0.1);
	parses("60 2 3600 0", 60, 2, 3600, 0);
	parses(" 1.5\t1.25  90 1 ", 1.5, 1.25, 90, 1);
	parses("30s 2 10m 0.1", 30, 2, 600, 0.1);
	parses("1h 1 2h 0.05", 3600, 1, 7200, 0.05);
	parses(".5 1 .5 0.33", 0.5, 1, 0.5, 0.33);
	parses("007 100 604800 1.0", 7, 100, 604800, 1);
	parses("86400 1 168h 0", 86400, 1, 604800, 0);
	parses("0.000000000000001 1 1 0", 1e-15, 1, 1, 0);
}
END_TEST

START_TEST(test_parse_errors)
{
	static const char *const shape =
	    "backoff: expected 'initial factor max jitter', as in "
	    "'30 2 600 0.1'";
	char big[8192];

	fails("", shape);
	fails("   ", shape);
	fails("30 2 600", shape);
	fails("30 2 600 0.1 5", shape);
	fails(NULL, "backoff: empty");
	fails("abc 2 600 0.1", "backoff: initial 'abc' is not a plain number");
	fails("30 x 600 0.1", "backoff: factor 'x' is not a plain number");
	fails("30 2 ten 0.1", "backoff: max 'ten' is not a plain number");
	fails("30 2 600 -0.1", "backoff: jitter '-0.1' is not a plain number");
	fails("1e3 2 600 0.1", "backoff: initial '1e3' is not a plain number");
	fails("inf 2 600 0.1", "backoff: initial 'inf' is not a plain number");
	fails("0x10 2 600 0.1",
	    "backoff: initial '0x10' is not a plain number");
	fails("+30 2 600 0.1",
	    "backoff: initial '+30' is not a plain number");
	fails("30 2m 600 0.1", "backoff: factor '2m' is not a plain number");
	fails("30 2 600 0.1s",
	    "backoff: jitter '0.1s' is not a plain number");
	fails("30d 2 600 0.1", "backoff: initial '30d' is not a plain number");
	fails("s 2 600 0.1", "backoff: initial 's' is not a plain number");
	fails(". 2 600 0.1", "backoff: initial '.' is not a plain number");
	fails("1. 2 600 0.1", "backoff: initial '1.' is not a plain number");
	fails("1.2.3 2 600 0.1",
	    "backoff: initial '1.2.3' is not a plain number");
	fails("30,5 2 600 0.1",
	    "backoff: initial '30,5' is not a plain number");
	fails("\xff 2 600 0.1", "backoff: initial '?' is not a plain number");
	fails("1234567890123456 2 600 0.1", "backoff: initial "
	    "'1234567890123456' is not a plain number");
	fails("0 2 600 0.1",
	    "backoff: initial must be more than 0 and at most 86400 s");
	fails("86401 2 600000 0.1",
	    "backoff: initial must be more than 0 and at most 86400 s");
	fails("30 0.5 600 0.1", "backoff: factor must be from 1 to 100");
	fails("30 101 600 0.1", "backoff: factor must be from 1 to 100");
	fails("30 2 10 0.1", "backoff: max must be from initial to 604800 s");
	fails("30 2 169h 0.1",
	    "backoff: max must be from initial to 604800 s");
	fails("30 2 600 1.01", "backoff: jitter must be from 0 to 1");
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fails(big, "backoff: initial '11111111111111111111111111111111...' "
	    "is not a plain number");
	for (size_t i = 1; i < sizeof(big) - 1; i += 2)
		big[i] = ' ';
	fails(big, shape);
}
END_TEST

START_TEST(test_parse_small_err)
{
	struct backoff b;
	char err[10];

	ck_assert_int_eq(backoff_parse("x", &b, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "backoff: ");
	ck_assert_int_eq(backoff_parse("x", &b, NULL, 0), -1);
}
END_TEST

static Suite *
backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc;

	tc = tcase_create("backoff_delay");
	tcase_add_test(tc, test_delay_sequence);
	tcase_add_test(tc, test_delay_attempt_low);
	tcase_add_test(tc, test_delay_jitter);
	tcase_add_test(tc, test_delay_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("backoff_parse");
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_parse_small_err);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(backoff_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
