/* Unit tests of imap-worker/gmlabels.c: Gmail's labels between
 * X-GM-LABELS and its API's label ids. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap-worker/gmlabels.h"

/* X-GM-LABELS label, label id (NULL: none). */
static const char *const api[][2] = {
	{ "\\Inbox", "INBOX" }, { "\\inbox", "INBOX" }, { "\\Sent", "SENT" },
	{ "\\Draft", "DRAFT" }, { "\\Drafts", "DRAFT" },
	{ "\\Important", "IMPORTANT" }, { "\\Starred", "STARRED" },
	{ "\\Trash", "TRASH" }, { "\\Spam", "SPAM" }, { "\\Junk", "SPAM" },
	{ "Work", "Work" }, { "Re&AOc-us", "Re\xc3\xa7us" },
	{ "a&b", "a&b" },		/* not modified UTF-7: as it came */
	{ "\\Muted", NULL }, { "", NULL },
};

START_TEST(test_api)
{
	json_t *j = gmlabels_api(api[_i][0]);

	if (api[_i][1] == NULL)
		ck_assert_ptr_null(j);
	else {
		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(json_string_value(j), api[_i][1]);
	}
	json_decref(j);
}
END_TEST

/* Label id, X-GM-LABELS label (NULL: none there). */
static const char *const sys[][2] = {
	{ "INBOX", "\\Inbox" }, { "SENT", "\\Sent" }, { "DRAFT", "\\Draft" },
	{ "IMPORTANT", "\\Important" }, { "TRASH", "\\Trash" },
	{ "SPAM", "\\Spam" },
	{ "STARRED", NULL },		/* the \Flagged flag */
	{ "UNREAD", NULL },		/* no \Seen */
	{ "inbox", NULL }, { "Work", NULL }, { "", NULL },
};

START_TEST(test_system)
{
	const char *l = gmlabels_system(sys[_i][0]);
	json_t *back;

	if (sys[_i][1] == NULL) {
		ck_assert_ptr_null(l);
		return;
	}
	ck_assert_str_eq(l, sys[_i][1]);
	back = gmlabels_api(l);
	ck_assert_str_eq(json_string_value(back), sys[_i][0]);
	json_decref(back);
}
END_TEST

static Suite *
gmlabels_suite(void)
{
	Suite *s = suite_create("gmlabels");
	TCase *tc;

	tc = tcase_create("gmlabels_api");
	tcase_add_loop_test(tc, test_api, 0, sizeof(api) / sizeof(api[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("gmlabels_system");
	tcase_add_loop_test(tc, test_system, 0, sizeof(sys) / sizeof(sys[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(gmlabels_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
