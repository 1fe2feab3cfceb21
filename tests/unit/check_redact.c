/* Unit tests of common/redact.c: secrets out of diagnostic text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/redact.h"

static void
expect(const char *in, const char *want)
{
	char *got = redact_secrets(in, strlen(in));

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_headers)
{
	expect("Authorization: Bearer ya29.abc", "Authorization: <redacted>");
	expect("GET / HTTP/1.1\r\nauthorization:  Basic eA==\r\nHost: h\r\n",
	    "GET / HTTP/1.1\r\nauthorization: <redacted>\r\nHost: h\r\n");
	expect("Proxy-Authorization: x", "Proxy-Authorization: <redacted>");
	expect("POST /x HTTP/1.1\r\napi-key: sk-1\r\nHost: h\r\n",
	    "POST /x HTTP/1.1\r\napi-key: <redacted>\r\nHost: h\r\n");
	expect("X-Api-Key: sk-2", "X-Api-Key: <redacted>");
	expect("WWW-Authenticate: Bearer realm=x",
	    "WWW-Authenticate: Bearer <redacted>");
}
END_TEST

START_TEST(test_form_and_query)
{
	expect("grant_type=refresh_token&client_id=c&client_secret=s3&"
	    "refresh_token=1//r", "grant_type=refresh_token&client_id=c&"
	    "client_secret=<redacted>&refresh_token=<redacted>");
	expect("/x?access_token=ya29.t&q=a", "/x?access_token=<redacted>&q=a");
	expect("assertion=eyJ.a.b", "assertion=<redacted>");
	/* A longer name that merely ends like a secret is left alone. */
	expect("my_access_token=1 xaccess_token=2",
	    "my_access_token=1 xaccess_token=2");
}
END_TEST

START_TEST(test_json)
{
	expect("{\"access_token\":\"ya29.x\",\"expires_in\":3599}",
	    "{\"access_token\":\"<redacted>\",\"expires_in\":3599}");
	expect("{\"refresh_token\": \"a\\\"b\", \"id_token\":\"j\"}",
	    "{\"refresh_token\": \"<redacted>\", \"id_token\":\"<redacted>\"}");
	expect("{\"access_token\":1}", "{\"access_token\":1}");
}
END_TEST

START_TEST(test_nothing_secret)
{
	expect("", "");
	expect("GET /gmail/v1/users/me/profile: 200, 94 bytes",
	    "GET /gmail/v1/users/me/profile: 200, 94 bytes");
	expect("access_token", "access_token");
	expect("access_token=", "access_token=");
}
END_TEST

static Suite *
redact_suite(void)
{
	Suite *s = suite_create("redact");
	TCase *tc;

	tc = tcase_create("redact_secrets");
	tcase_add_test(tc, test_headers);
	tcase_add_test(tc, test_form_and_query);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_nothing_secret);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(redact_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
