/* Unit tests of imap-worker/mutf7.c: modified UTF-7 folder names. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap-worker/mutf7.h"

/* RFC 3501's example and others, both ways. */
static const char *const pairs[][2] = {
	{ "INBOX", "INBOX" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Entw\xc3\xbc" "rfe", "Entw&APw-rfe" },
	{ "A&B", "A&-B" },
	{ "\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-" },
	{ "\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail" },
	{ "", "" },
};

START_TEST(test_encode)
{
	char *e = mutf7_encode(pairs[_i][0]);

	ck_assert_str_eq(e, pairs[_i][1]);
	free(e);
}
END_TEST

START_TEST(test_decode)
{
	char *d = mutf7_decode(pairs[_i][1]);

	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, pairs[_i][0]);
	free(d);
}
END_TEST

START_TEST(test_decode_bad)
{
	static const char *const bad[] = { "&", "&AOQ", "&*-", "a\x80",
	    "&AGE-", "&2D0-", "&3D3c5w-", "&AOQ=-" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mutf7_decode(bad[i]) == NULL, "'%s' decoded",
		    bad[i]);
}
END_TEST

static Suite *
mutf7_suite(void)
{
	Suite *s = suite_create("mutf7");
	TCase *tc;
	int n = sizeof(pairs) / sizeof(pairs[0]);

	tc = tcase_create("mutf7_encode");
	tcase_add_loop_test(tc, test_encode, 0, n);
	suite_add_tcase(s, tc);
	tc = tcase_create("mutf7_decode");
	tcase_add_loop_test(tc, test_decode, 0, n);
	tcase_add_test(tc, test_decode_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mutf7_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
