/* Unit tests of gmail-worker/opts.c, the option table and its parser,
 * and of common/cli.c, what the workers' command lines share. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "gmail-worker/opts.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])))

START_TEST(test_defaults)
{
	char *argv[] = { "gmail-worker" };
	struct opts o;
	struct mv_err err;

	unsetenv("GMAIL_API_BASE");
	unsetenv("GMAIL_TOKEN_URI");
	ck_assert_int_eq(opts_parse(&o, ARGC(argv), argv, &err), 0);
	ck_assert_str_eq(o.api_base, "https://gmail.googleapis.com");
	ck_assert_ptr_null(o.token_uri);
	ck_assert_str_eq(o.output, "json");
	ck_assert_int_eq(o.days_back, 1);
	ck_assert_int_eq(o.max_in_flight, 5);
	ck_assert_int_eq(o.max_wait, 60);
	ck_assert_str_eq(o.quota_profile, "classic");
	ck_assert_str_eq(o.format, "full");
	opts_free(&o);
}
END_TEST

START_TEST(test_spellings)
{
	char *argv[] = { "gmail-worker", "--action", "fetch_emails",
	    "--days-back", "3", "--days_back=4", "--max-results=10", "-v", "-vv",
	    "--label", "INBOX", "--label=Work", "--include-spam-trash",
	    "-afetch_emails", "--quota_units_per_sec", "0" };
	struct opts o;
	struct mv_err err;

	ck_assert_int_eq(opts_parse(&o, ARGC(argv), argv, &err), 0);
	ck_assert_str_eq(o.action, "fetch_emails");
	ck_assert_int_eq(o.days_back, 4);
	ck_assert_int_eq(o.max_results, 10);
	ck_assert_int_eq(o.verbose, 3);
	ck_assert_uint_eq(o.label.n, 2);
	ck_assert_str_eq(o.label.v[1], "Work");
	ck_assert_int_eq(o.include_spam_trash, 1);
	ck_assert(o.quota_units_per_sec == 0);
	opts_free(&o);
}
END_TEST

START_TEST(test_env)
{
	char *argv[] = { "gmail-worker", "--token-uri", "http://b/token" };
	struct opts o;
	struct mv_err err;

	setenv("GMAIL_API_BASE", "http://127.0.0.1:9", 1);
	setenv("GMAIL_TOKEN_URI", "http://a/token", 1);
	ck_assert_int_eq(opts_parse(&o, ARGC(argv), argv, &err), 0);
	ck_assert_str_eq(o.api_base, "http://127.0.0.1:9");
	ck_assert_str_eq(o.token_uri, "http://b/token");	/* flag wins */
	unsetenv("GMAIL_API_BASE");
	unsetenv("GMAIL_TOKEN_URI");
	opts_free(&o);
}
END_TEST

static void
refused(char **argv, int argc, const char *needle)
{
	struct opts o;
	struct mv_err err;

	mv_err_clear(&err);
	ck_assert_int_eq(opts_parse(&o, argc, argv, &err), -1);
	ck_assert_int_eq(err.type, MV_E_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' lacks '%s'",
	    err.msg, needle);
	opts_free(&o);
}

START_TEST(test_errors)
{
	char *a1[] = { "w", "--nope" };
	char *a2[] = { "w", "--days_back" };
	char *a3[] = { "w", "--days_back", "x" };
	char *a4[] = { "w", "--days_back", "-1" };
	char *a5[] = { "w", "--max_in_flight", "0" };
	char *a6[] = { "w", "--confirm=yes" };
	char *a7[] = { "w", "stray" };
	char *a8[] = { "w", "-Z" };
	char *a9[] = { "w", "--timeout", "99999999999999999999" };
	char *a10[] = { "w", "--batch_size", "101" };

	refused(a1, ARGC(a1), "unknown option --nope");
	refused(a2, ARGC(a2), "--days_back needs a value");
	refused(a3, ARGC(a3), "'x' is not an integer from 0 to 36500");
	refused(a4, ARGC(a4), "--days_back");
	refused(a5, ARGC(a5), "--max_in_flight");
	refused(a6, ARGC(a6), "--confirm takes no value");
	refused(a7, ARGC(a7), "unexpected argument 'stray'");
	refused(a8, ARGC(a8), "unknown option -Z");
	refused(a9, ARGC(a9), "--timeout");
	refused(a10, ARGC(a10), "--batch_size");
}
END_TEST

START_TEST(test_list_cap)
{
	char **argv = calloc(2 * MV_OPT_MAX_LIST + 4, sizeof(char *));
	int argc = 1;
	struct opts o;
	struct mv_err err;

	argv[0] = "w";
	for (int i = 0; i <= MV_OPT_MAX_LIST; i++) {
		argv[argc++] = "--id";
		argv[argc++] = "abc";
	}
	ck_assert_int_eq(opts_parse(&o, argc, argv, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "more than 1000 times"));
	opts_free(&o);
	free(argv);
}
END_TEST

/* The default --output: ndjson for sync only. */
START_TEST(test_cli_output)
{
	ck_assert_str_eq(cli_output(NULL, "sync"), "ndjson");
	ck_assert_str_eq(cli_output(NULL, "fetch_emails"), "json");
	ck_assert_str_eq(cli_output(NULL, NULL), "json");
	ck_assert_str_eq(cli_output("json", "sync"), "json");
}
END_TEST

START_TEST(test_cli_check)
{
	const char *none[] = { NULL, "body.txt", NULL };
	const char *one[] = { "-", "body.txt", NULL };
	const char *two[] = { "-", NULL, "-" };
	struct mv_err err;

	mv_err_clear(&err);
	ck_assert_int_eq(cli_check("json", "ping", 1, none, 3, "A, B and C",
	    &err), 0);
	ck_assert_int_eq(cli_check("ndjson", "ping", 1, one, 3, "A, B and C",
	    &err), 0);
	ck_assert_int_eq(cli_check("json", "ping", 1, two, 3, "A, B and C",
	    &err), -1);
	ck_assert_int_eq(err.type, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(err.msg, "only one of A, B and C can read stdin (-)");
	ck_assert_int_eq(cli_check("yaml", "ping", 1, none, 3, "", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "'yaml' is neither json nor "
	    "ndjson"));
	ck_assert_int_eq(cli_check("json", NULL, 0, none, 3, "", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no --action"));
	ck_assert_int_eq(cli_check("json", "nope", 0, none, 3, "", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown action 'nope'"));
}
END_TEST

static Suite *
opts_suite(void)
{
	Suite *s = suite_create("opts");
	TCase *tc = tcase_create("opts_parse");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_spellings);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_list_cap);
	tcase_add_test(tc, test_cli_output);
	tcase_add_test(tc, test_cli_check);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(opts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
