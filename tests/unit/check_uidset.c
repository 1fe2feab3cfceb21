/* Unit tests of imap-worker/uidset.c: a folder's UIDs as runs or a hash. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap-worker/uidset.h"

/* u formatted with at most max bytes of runs, as a new string. */
static char *
fmt(const struct uidset *u, size_t max)
{
	struct mv_buf b;

	mv_buf_init(&b, 0);
	ck_assert_int_eq(uidset_format(u, max, &b), 0);
	return mv_buf_steal(&b, NULL);
}

START_TEST(test_from_runs)
{
	uint32_t uids[] = { 26, 3, 1, 2, 2, 40, 27, 5 };
	struct uidset u;
	char *s;

	uidset_init(&u);
	ck_assert_int_eq(uidset_from(&u, uids, 8), 0);
	ck_assert_uint_eq(u.count, 7);
	ck_assert_uint_eq(u.nr, 4);
	s = fmt(&u, 1024);
	/* 1-3, 5, 26-27, 40: gaps 0, 1, 20, 12 */
	ck_assert_str_eq(s, "r0-2.1.k-1.c");
	free(s);
	ck_assert_int_eq(uidset_has(&u, 2), 1);
	ck_assert_int_eq(uidset_has(&u, 4), 0);
	ck_assert_int_eq(uidset_has(&u, 27), 1);
	ck_assert_int_eq(uidset_has(&u, 41), 0);
	uidset_free(&u);
}
END_TEST

START_TEST(test_push_order)
{
	struct uidset u;

	uidset_init(&u);
	ck_assert_int_eq(uidset_push(&u, 5), 0);
	ck_assert_int_eq(uidset_push(&u, 5), -1);
	ck_assert_int_eq(uidset_push(&u, 4), -1);
	ck_assert_int_eq(uidset_push(&u, 0), -1);
	ck_assert_uint_eq(u.count, 1);
	uidset_free(&u);
}
END_TEST

START_TEST(test_round_trip)
{
	uint32_t uids[] = { 1, 2, 3, 100, 4294967294u };
	struct uidset u, v;
	char *s;

	uidset_init(&u);
	ck_assert_int_eq(uidset_from(&u, uids, 5), 0);
	s = fmt(&u, 1024);
	ck_assert_int_eq(uidset_parse(s, strlen(s), 4294967295u, &v), 0);
	ck_assert_int_eq(v.exact, 1);
	ck_assert_uint_eq(v.count, u.count);
	ck_assert_uint_eq(v.hash, u.hash);
	ck_assert_uint_eq(v.nr, u.nr);
	ck_assert_int_eq(memcmp(v.r, u.r, u.nr * sizeof(*u.r)), 0);
	free(s);
	uidset_free(&v);
	/* Below the last UID: refused. */
	s = fmt(&u, 1024);
	ck_assert_int_eq(uidset_parse(s, strlen(s), 101, &v), -1);
	free(s);
	uidset_free(&u);
}
END_TEST

START_TEST(test_hash_fallback)
{
	struct uidset u, v;
	char *s;

	uidset_init(&u);
	for (uint32_t i = 1; i < 2000; i += 2)
		ck_assert_int_eq(uidset_push(&u, i), 0);
	s = fmt(&u, 100);
	ck_assert_int_eq(s[0], 'h');
	ck_assert_int_eq(uidset_parse(s, strlen(s), 2000, &v), 0);
	ck_assert_int_eq(v.exact, 0);
	ck_assert_uint_eq(v.count, 1000);
	ck_assert_uint_eq(v.hash, u.hash);
	free(s);
	/* A hash set grows by its count and hash. */
	ck_assert_int_eq(uidset_push(&v, 2001), 0);
	ck_assert_int_eq(uidset_push(&u, 2001), 0);
	ck_assert_uint_eq(v.hash, u.hash);
	ck_assert_uint_eq(v.count, 1001);
	uidset_free(&v);
	uidset_free(&u);
}
END_TEST

START_TEST(test_below_copy)
{
	uint32_t uids[] = { 1, 2, 3, 7, 8, 9 };
	struct uidset u, w, c;
	uint64_t count, hash;

	uidset_init(&u);
	uidset_init(&w);
	ck_assert_int_eq(uidset_from(&u, uids, 6), 0);
	ck_assert_int_eq(uidset_from(&w, uids, 4), 0);
	uidset_below(&u, 8, &count, &hash);
	ck_assert_uint_eq(count, 4);
	ck_assert_uint_eq(hash, w.hash);
	ck_assert_int_eq(uidset_copy(&c, &u), 0);
	ck_assert_int_eq(uidset_push(&c, 10), 0);
	ck_assert_uint_eq(c.nr, 2);
	ck_assert_uint_eq(c.r[1].last, 10);
	ck_assert_uint_eq(u.r[1].last, 9);
	uidset_free(&c);
	uidset_free(&w);
	uidset_free(&u);
}
END_TEST

START_TEST(test_empty)
{
	struct uidset u, v;
	char *s;

	uidset_init(&u);
	s = fmt(&u, 1024);
	ck_assert_str_eq(s, "r");
	ck_assert_int_eq(uidset_parse(s, 1, 1, &v), 0);
	ck_assert_uint_eq(v.count, 0);
	free(s);
	uidset_free(&v);
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *const bad[] = { "", "x", "r.", "r0.", "r0-",
	    "r-1", "r0,1", "rA", "r0..1", "h", "h1", "h1.", "h.1", "hz.1",
	    "h1.1.", "h1.zzzzzzzzzzzzzz", "r0-zzzzzzzzzzzzzz",
	    "r0-100000000", "r4", "h5.0" };
	struct uidset u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(uidset_parse(bad[i], strlen(bad[i]), 5, &u) ==
		    -1, "'%s' parsed", bad[i]);
		ck_assert_ptr_null(u.r);
	}
}
END_TEST

START_TEST(test_b36)
{
	struct mv_buf b;
	const char *p;
	uint64_t v;

	mv_buf_init(&b, 0);
	ck_assert_int_eq(uidset_b36_put(&b, UINT64_MAX), 0);
	ck_assert_str_eq(b.data, "3w5e11264sgsf");
	p = b.data;
	ck_assert_int_eq(uidset_b36_get(&p, b.data + b.len, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	mv_buf_free(&b);
	p = "3w5e11264sgsg";	/* UINT64_MAX + 1 */
	ck_assert_int_eq(uidset_b36_get(&p, p + 13, &v), -1);
}
END_TEST

static Suite *
uidset_suite(void)
{
	Suite *s = suite_create("uidset");
	TCase *tc;

	tc = tcase_create("uidset_from");
	tcase_add_test(tc, test_from_runs);
	tcase_add_test(tc, test_push_order);
	tcase_add_test(tc, test_below_copy);
	suite_add_tcase(s, tc);
	tc = tcase_create("uidset_format");
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_hash_fallback);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_b36);
	suite_add_tcase(s, tc);
	tc = tcase_create("uidset_parse");
	tcase_add_test(tc, test_parse_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(uidset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
