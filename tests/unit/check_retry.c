/* Unit tests of common/retry.c: classification and backoff. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/retry.h"

#define NOW ((time_t)1795000000)	/* 2026-11-18T11:06:40Z */

static int
classify(long status, const char *body, int ra, struct mv_err *err,
    int *retryable)
{
	return retry_classify(1, 0, NULL, status, body, body ? strlen(body) :
	    0, ra, NOW, err, retryable);
}

START_TEST(test_success)
{
	struct mv_err err;
	int r;

	ck_assert_int_eq(classify(200, "{}", -1, &err, &r), 0);
	ck_assert_int_eq(classify(204, NULL, -1, &err, &r), 0);
	ck_assert_int_eq(err.type, MV_OK);
}
END_TEST

START_TEST(test_statuses)
{
	static const struct {
		long		 status;
		const char	*body;
		enum mv_errtype	 type;
		int		 retryable;
	} t[] = {
		{ 400, "{\"error\":{\"code\":400,\"message\":\"Invalid id value\"}}",
		  MV_E_NOT_FOUND, 0 },
		{ 400, "{\"error\":{\"code\":400,\"message\":\"Invalid label: X\"}}",
		  MV_E_NOT_FOUND, 0 },
		{ 400, "{\"error\":{\"code\":400,\"message\":\"Invalid "
		  "attachment token\"}}", MV_E_NOT_FOUND, 0 },
		{ 400, "{\"error\":{\"code\":400,\"message\":\"Bad query\"}}",
		  MV_E_INVALID_ARGUMENT, 0 },
		{ 401, "{\"error\":{\"code\":401,\"message\":\"Invalid Credentials\"}}",
		  MV_E_AUTH, 0 },
		{ 403, "{\"error\":{\"code\":403,\"errors\":[{\"reason\":"
		  "\"userRateLimitExceeded\"}],\"message\":\"User Rate\"}}",
		  MV_E_RATE_LIMITED, 1 },
		{ 403, "{\"error\":{\"code\":403,\"errors\":[{\"reason\":"
		  "\"rateLimitExceeded\",\"domain\":\"usageLimits\"}]}}",
		  MV_E_RATE_LIMITED, 1 },
		{ 403, "{\"error\":{\"code\":403,\"errors\":[{\"reason\":"
		  "\"dailyLimitExceeded\"}]}}", MV_E_RATE_LIMITED, 0 },
		{ 403, "{\"error\":{\"code\":403,\"message\":\"Request had "
		  "insufficient authentication scopes.\"}}", MV_E_PERMISSION, 0 },
		{ 404, "{\"error\":{\"code\":404}}", MV_E_NOT_FOUND, 0 },
		{ 408, "", MV_E_TIMEOUT, 1 },
		{ 429, "{\"error\":{\"code\":429}}", MV_E_RATE_LIMITED, 1 },
		{ 500, "{\"error\":{\"code\":500,\"errors\":[{\"reason\":"
		  "\"backendError\"}]}}", MV_E_API, 1 },
		{ 503, "not json at all", MV_E_API, 1 },
		{ 302, "", MV_E_API, 0 },
	};
	struct mv_err err;
	int r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(classify(t[i].status, t[i].body, -1, &err, &r),
		    -1);
		ck_assert_msg(err.type == t[i].type, "case %zu: type %s", i,
		    mv_err_name(err.type));
		ck_assert_int_eq(r, t[i].retryable);
		ck_assert_int_eq(err.http_status, (int)t[i].status);
	}
}
END_TEST

START_TEST(test_transport)
{
	struct mv_err err;
	int r;

	ck_assert_int_eq(retry_classify(0, 1, "Operation timed out", 0, NULL,
	    0, -1, NOW, &err, &r), -1);
	ck_assert_int_eq(err.type, MV_E_TIMEOUT);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(retry_classify(0, 0, "Connection refused", 0, NULL,
	    0, -1, NOW, &err, &r), -1);
	ck_assert_int_eq(err.type, MV_E_NETWORK);
	ck_assert_str_eq(err.msg, "Connection refused");
}
END_TEST

START_TEST(test_retry_after)
{
	struct mv_err err;
	int r;
	char body[512];

	ck_assert_int_eq(classify(429, "{}", 7, &err, &r), -1);
	ck_assert_int_eq(err.retry_after, 7);
	/* Google's way: the time in the message, two spaces before. */
	snprintf(body, sizeof(body), "{\"error\":{\"code\":429,\"message\":"
	    "\"User-rate limit exceeded.  Retry after 2026-11-18T11:23:20.247Z"
	    " (Mail sending)\",\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}}");
	ck_assert_int_eq(classify(429, body, -1, &err, &r), -1);
	ck_assert_int_eq(err.retry_after, 1000);
	ck_assert_int_eq(err.type, MV_E_RATE_LIMITED);
	/* A 404 never carries one. */
	ck_assert_int_eq(classify(404, "{}", 5, &err, &r), -1);
	ck_assert_int_eq(err.retry_after, -1);
}
END_TEST

START_TEST(test_retry_after_parse)
{
	ck_assert_int_eq(retry_after_parse("120", NOW), 120);
	ck_assert_int_eq(retry_after_parse(" 0 ", NOW), 0);
	ck_assert_int_eq(retry_after_parse("-1", NOW), -1);
	ck_assert_int_eq(retry_after_parse("12abc", NOW), -1);
	ck_assert_int_eq(retry_after_parse("", NOW), -1);
	ck_assert_int_eq(retry_after_parse("Wed, 18 Nov 2026 11:23:20 GMT",
	    NOW), 1000);
	ck_assert_int_eq(retry_after_parse("Wed, 18 Nov 2020 08:30:00 GMT",
	    NOW), 0);
	ck_assert_int_eq(retry_after_parse("garbage date", NOW), -1);
}
END_TEST

START_TEST(test_backoff)
{
	struct retry_budget b = { 1000000, 10, 1000, 32000 };
	struct mv_err err;
	int64_t d;

	mv_err_clear(&err);
	for (int a = 1; a <= 8; a++) {
		int64_t full = 1000LL << (a - 1);

		if (full > 32000)
			full = 32000;
		d = retry_delay(&b, a, &err, 0);
		ck_assert_int_ge(d, full / 2);
		ck_assert_int_le(d, full);
	}
	ck_assert_int_eq(retry_delay(&b, 10, &err, 0), -1);	/* attempts */
	b.deadline_ms = 500;
	ck_assert_int_eq(retry_delay(&b, 1, &err, 0), -1);	/* budget */
	b.deadline_ms = 60000;
	err.retry_after = 30;
	d = retry_delay(&b, 1, &err, 0);
	ck_assert_int_ge(d, 30000);
	ck_assert_int_lt(d, 30250);
	err.retry_after = 61;
	ck_assert_int_eq(retry_delay(&b, 1, &err, 0), -1);
}
END_TEST

START_TEST(test_google_error)
{
	char msg[64], reason[32];

	const char *oauth = "{\"error\":\"invalid_grant\","
	    "\"error_description\":\"Token has been expired or revoked.\"}";

	retry_google_error(oauth, strlen(oauth), msg, sizeof(msg), reason,
	    sizeof(reason));
	ck_assert_str_eq(reason, "invalid_grant");
	ck_assert_str_eq(msg, "Token has been expired or revoked.");
	retry_google_error("[1,2", 4, msg, sizeof(msg), reason, sizeof(reason));
	ck_assert_str_eq(msg, "");
	ck_assert_str_eq(reason, "");
}
END_TEST

static Suite *
retry_suite(void)
{
	Suite *s = suite_create("retry");
	TCase *tc;

	tc = tcase_create("retry_classify");
	tcase_add_test(tc, test_success);
	tcase_add_test(tc, test_statuses);
	tcase_add_test(tc, test_transport);
	tcase_add_test(tc, test_retry_after);
	suite_add_tcase(s, tc);
	tc = tcase_create("retry_after_parse");
	tcase_add_test(tc, test_retry_after_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("retry_delay");
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);
	tc = tcase_create("retry_google_error");
	tcase_add_test(tc, test_google_error);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(retry_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
