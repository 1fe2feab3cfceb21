/* Unit tests of imap-worker/msgid.c: FOLDER/UIDVALIDITY/UID ids. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap-worker/msgid.h"

START_TEST(test_make_plain)
{
	char *id = msgid_make("INBOX", 1700000000, 42);

	ck_assert_str_eq(id, "INBOX/1700000000/42");
	free(id);
}
END_TEST

START_TEST(test_make_escapes)
{
	char *id = msgid_make("Travel/2026 Über%", 7, 4294967295u);

	ck_assert_str_eq(id, "Travel%2F2026%20%C3%9Cber%25/7/4294967295");
	free(id);
}
END_TEST

START_TEST(test_round_trip)
{
	static const char *const folders[] = { "INBOX", "a/b/c", "%", "~.-_",
	    "[Gmail]/All Mail", "x,y;z" };
	struct msgid m;
	char *id;

	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		id = msgid_make(folders[i], 3, 9);
		ck_assert_int_eq(msgid_parse(id, &m), 0);
		ck_assert_str_eq(m.folder, folders[i]);
		ck_assert_uint_eq(m.uidvalidity, 3);
		ck_assert_uint_eq(m.uid, 9);
		msgid_free(&m);
		free(id);
	}
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *const bad[] = { "", "INBOX", "INBOX/1", "/1/2",
	    "INBOX/0/1", "INBOX/1/0", "INBOX/01/1", "INBOX/1/4294967296",
	    "INBOX/1/x", "INBOX/-1/2", "IN%2/1/2", "IN%zz/1/2", "IN%00X/1/2",
	    "INBOX/1/2/", "INBOX//2", "INBOX/12345678901/2" };
	struct msgid m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(msgid_parse(bad[i], &m) == -1, "'%s' parsed",
		    bad[i]);
		ck_assert_ptr_null(m.folder);
	}
}
END_TEST

static Suite *
msgid_suite(void)
{
	Suite *s = suite_create("msgid");
	TCase *tc;

	tc = tcase_create("msgid_make");
	tcase_add_test(tc, test_make_plain);
	tcase_add_test(tc, test_make_escapes);
	suite_add_tcase(s, tc);
	tc = tcase_create("msgid_parse");
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_parse_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(msgid_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
