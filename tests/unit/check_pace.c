/* Unit tests of common/pace.c: the token bucket and the window. */
#include <check.h>
#include <stdlib.h>

#include "common/pace.h"

START_TEST(test_off)
{
	struct pace p;

	pace_init(&p, 0, 1000);
	ck_assert_int_eq(pace_wait(&p, 100000, 1000), 0);
	pace_take(&p, 100000, 1000);
	ck_assert_int_eq(pace_window_used(&p, 1000), 0);
}
END_TEST

START_TEST(test_bucket)
{
	struct pace p;
	int64_t now = 5000;

	pace_init(&p, 250, now);
	/* A full bucket: one second's worth goes at once. */
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(pace_wait(&p, 5, now), 0);
		pace_take(&p, 5, now);
	}
	/* Then 5 units every 20 ms. */
	ck_assert_int_ge(pace_wait(&p, 5, now), 19);
	ck_assert_int_le(pace_wait(&p, 5, now), 21);
	ck_assert_int_eq(pace_wait(&p, 5, now + 21), 0);
}
END_TEST

START_TEST(test_big_cost)
{
	struct pace p;

	pace_init(&p, 100, 0);
	pace_take(&p, 100, 0);
	/* 300 > bucket: waits for a full bucket, then goes into debt. */
	ck_assert_int_ge(pace_wait(&p, 300, 0), 999);
	ck_assert_int_eq(pace_wait(&p, 300, 1001), 0);
	pace_take(&p, 300, 1001);
	ck_assert_int_ge(pace_wait(&p, 1, 1001), 2000);
}
END_TEST

/* Simulates a greedy sender for 3 minutes and checks that no rolling
 * 60 s window ever holds more than the budget. */
START_TEST(test_window_never_exceeded)
{
	struct pace p;
	static long sent[200000];
	int64_t now = 0, t;
	long total = 0, budget;
	int n = 0;

	pace_init(&p, 250, 0);
	budget = 250 * 60;
	while (now < 180000 && n < 200000) {
		t = pace_wait(&p, 5, now);
		if (t > 0) {
			now += t;
			continue;
		}
		pace_take(&p, 5, now);
		sent[n++] = (long)now;
		total += 5;
	}
	for (int i = 0, j = 0; i < n; i++) {
		while (sent[j] <= sent[i] - 60000)
			j++;
		ck_assert_int_le((i - j + 1) * 5, budget);
	}
	/* And the rate stays close to the quota: >= 95% over 3 minutes. */
	ck_assert_int_ge(total, (long)(0.95 * 250 * 180));
}
END_TEST

START_TEST(test_window_wait)
{
	struct pace p;

	pace_init(&p, 10, 0);
	p.burst = p.tokens = 1000;	/* isolate the window: budget 600 */
	pace_take(&p, 600, 0);
	ck_assert_int_gt(pace_wait(&p, 1, 100), 60000 - 100);
	ck_assert_int_eq(pace_wait(&p, 1, 61000), 0);
	ck_assert_int_eq(pace_window_used(&p, 61000), 0);
}
END_TEST

static Suite *
pace_suite(void)
{
	Suite *s = suite_create("pace");
	TCase *tc;

	tc = tcase_create("pace_wait");
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_bucket);
	tcase_add_test(tc, test_big_cost);
	tcase_add_test(tc, test_window_wait);
	suite_add_tcase(s, tc);
	tc = tcase_create("pace_window");
	tcase_add_test(tc, test_window_never_exceeded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pace_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
