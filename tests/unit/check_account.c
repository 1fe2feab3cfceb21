/* Unit tests of imap-worker/account.c: the credentials document. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-worker/account.h"

/* Loads doc from a 0600 file; returns account_load()'s answer. */
static int
load(const char *doc, struct account *a, struct mv_err *err)
{
	char path[] = "/tmp/check_account.XXXXXX", spec[64];
	int fd = mkstemp(path), rc;

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fd);
	snprintf(spec, sizeof(spec), "@%s", path);
	mv_err_clear(err);
	rc = account_load(spec, a, err);
	unlink(path);
	return rc;
}

START_TEST(test_defaults)
{
	struct mv_err err;
	struct account a;

	ck_assert_int_eq(load("{\"host\": \"imap.example.com\", \"username\": "
	    "\"u\", \"password\": \"p\"}", &a, &err), 0);
	ck_assert_int_eq(a.pop3, 0);
	ck_assert_str_eq(a.in.host, "imap.example.com");
	ck_assert_int_eq(a.in.port, 993);
	ck_assert_int_eq(a.in.security, SEC_TLS);
	ck_assert_ptr_null(a.smtp.host);
	account_free(&a);
	ck_assert_int_eq(load("{\"type\": \"pop3\", \"host\": \"h\", "
	    "\"security\": \"starttls\", \"username\": \"u\", \"password\": "
	    "\"p\", \"smtp\": {\"host\": \"s\", \"security\": \"tls\"}}", &a,
	    &err), 0);
	ck_assert_int_eq(a.pop3, 1);
	ck_assert_int_eq(a.in.port, 110);
	ck_assert_int_eq(a.smtp.port, 465);
	account_free(&a);
}
END_TEST

START_TEST(test_oauth2)
{
	struct mv_err err;
	struct account a;

	ck_assert_int_eq(load("{\"host\": \"h\", \"username\": \"u\", "
	    "\"oauth2\": {\"access_token\": \"t\"}}", &a, &err), 0);
	ck_assert_int_eq(a.has_oauth, 1);
	ck_assert_int_eq(a.oauth.type, CREDS_ACCESS_TOKEN);
	ck_assert_int_eq(a.mech, OAUTH_AUTO);
	ck_assert_ptr_null(a.password);
	account_free(&a);
	ck_assert_int_eq(load("{\"host\": \"h\", \"username\": \"u\", "
	    "\"oauth2\": {\"access_token\": \"t\", \"mechanism\": "
	    "\"OAUTHBEARER\"}}", &a, &err), 0);
	ck_assert_int_eq(a.mech, OAUTH_OAUTHBEARER);
	account_free(&a);
	ck_assert_int_eq(load("{\"host\": \"h\", \"username\": \"u\", "
	    "\"oauth2\": {\"access_token\": \"t\", \"mechanism\": "
	    "\"xoauth2\"}}", &a, &err), 0);
	ck_assert_int_eq(a.mech, OAUTH_XOAUTH2);
	account_free(&a);
}
END_TEST

/* Each bad document is bad_credentials, naming the field, never the
 * secret. */
START_TEST(test_bad)
{
	static const char *const bad[][2] = {
		{ "[]", "not a JSON object" },
		{ "{\"username\": \"u\", \"password\": \"s3cret\"}", "'host'" },
		{ "{\"host\": \"h\", \"password\": \"s3cret\"}", "'username'" },
		{ "{\"host\": \"h\", \"username\": \"u\"}", "'password'" },
		{ "{\"type\": \"smtp\", \"host\": \"h\", \"username\": \"u\", "
		  "\"password\": \"s3cret\"}", "'type'" },
		{ "{\"host\": \"h\", \"port\": 70000, \"username\": \"u\", "
		  "\"password\": \"s3cret\"}", "'port'" },
		{ "{\"host\": \"h\", \"security\": \"ssl\", \"username\": \"u\", "
		  "\"password\": \"s3cret\"}", "'security'" },
		{ "{\"host\": \"a b\", \"username\": \"u\", \"password\": "
		  "\"s3cret\"}", "'host'" },
		{ "{\"host\": \"h\", \"username\": \"u\", \"password\": "
		  "\"s3cret\", \"oauth2\": {\"access_token\": \"t\"}}", "exclude" },
		{ "{\"host\": \"h\", \"username\": \"u\", \"password\": "
		  "\"s3cret\", \"smtp\": {\"port\": 25}}", "'host'" },
		{ "{\"host\": \"h\", \"username\": \"u\", \"oauth2\": "
		  "{\"access_token\": \"s3cret\", \"mechanism\": \"plain\"}}",
		  "'mechanism'" },
		{ "{\"host\": \"h\", \"username\": \"u\", \"password\": "
		  "\"s3cret\", \"smtp\": {\"host\": \"s\", \"security\": 1}}",
		  "'smtp.security'" },
	};
	struct mv_err err;
	struct account a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(load(bad[i][0], &a, &err), -1);
		ck_assert_int_eq(err.type, MV_E_BAD_CREDENTIALS);
		ck_assert_msg(strstr(err.msg, bad[i][1]) != NULL,
		    "%zu: '%s' lacks '%s'", i, err.msg, bad[i][1]);
		ck_assert_msg(strstr(err.msg, "s3cret") == NULL,
		    "%zu: the password in '%s'", i, err.msg);
		ck_assert_ptr_null(a.password);
	}
}
END_TEST

static Suite *
account_suite(void)
{
	Suite *s = suite_create("account");
	TCase *tc = tcase_create("account_load");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_oauth2);
	tcase_add_test(tc, test_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(account_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
