/* Unit tests of gmail-worker/batch.c: the batch request and answer codec. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gmail-worker/batch.h"

START_TEST(test_build)
{
	struct batch_part p[2] = {
		{ .path = "/gmail/v1/users/me/messages/a1?format=full" },
		{ .path = "/gmail/v1/users/me/messages/b2?format=full" },
	};
	size_t len;
	char *s = batch_build("XYZ", p, 2, &len);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, strlen(s));
	ck_assert_str_eq(s,
	    "--XYZ\r\nContent-Type: application/http\r\nContent-ID: <item-0>"
	    "\r\n\r\nGET /gmail/v1/users/me/messages/a1?format=full HTTP/1.1"
	    "\r\n\r\n"
	    "--XYZ\r\nContent-Type: application/http\r\nContent-ID: <item-1>"
	    "\r\n\r\nGET /gmail/v1/users/me/messages/b2?format=full HTTP/1.1"
	    "\r\n\r\n--XYZ--\r\n");
	free(s);
}
END_TEST

/* A real-looking answer: out of order, mixed statuses, a Retry-After. */
static const char answer[] =
    "--batch_Qz\r\n"
    "Content-Type: application/http\r\n"
    "Content-ID: <response-item-1>\r\n"
    "\r\n"
    "HTTP/1.1 404 Not Found\r\n"
    "Content-Type: application/json; charset=UTF-8\r\n"
    "\r\n"
    "{\"error\":{\"code\":404}}\r\n"
    "--batch_Qz\r\n"
    "Content-Type: application/http\r\n"
    "Content-ID: <response-item-0>\r\n"
    "\r\n"
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json; charset=UTF-8\r\n"
    "Vary: Origin\r\n"
    "\r\n"
    "{\"id\":\"a1\",\"raw\":\"--batch_Qz-not-a-boundary\"}\r\n"
    "--batch_Qz\r\n"
    "Content-Type: application/http\r\n"
    "Content-ID: <response-item-2>\r\n"
    "\r\n"
    "HTTP/1.1 429 Too Many Requests\r\n"
    "Retry-After: 3\r\n"
    "\r\n"
    "{}\r\n"
    "--batch_Qz--\r\n";

START_TEST(test_parse)
{
	struct batch_part p[4];

	memset(p, 0, sizeof(p));
	ck_assert_int_eq(batch_parse("multipart/mixed; boundary=batch_Qz",
	    answer, strlen(answer), p, 4), 3);
	ck_assert_int_eq(p[0].status, 200);
	ck_assert_str_eq(p[0].body,
	    "{\"id\":\"a1\",\"raw\":\"--batch_Qz-not-a-boundary\"}");
	ck_assert_int_eq(p[0].retry_after, -1);
	ck_assert_int_eq(p[1].status, 404);
	ck_assert_str_eq(p[1].body, "{\"error\":{\"code\":404}}");
	ck_assert_int_eq(p[2].status, 429);
	ck_assert_int_eq(p[2].retry_after, 3);
	ck_assert_int_eq(p[3].status, 0);	/* missing from the answer */
	ck_assert_ptr_null(p[3].body);
	batch_parts_clear(p, 4);
	ck_assert_ptr_null(p[0].body);
}
END_TEST

START_TEST(test_parse_lf_and_quoted)
{
	const char *a = "--b\nContent-ID: <response-item-0>\n\nHTTP/1.1 200 OK"
	    "\n\n{\"x\":1}\n--b--\n";
	struct batch_part p[1];

	memset(p, 0, sizeof(p));
	ck_assert_int_eq(batch_parse("multipart/mixed; boundary=\"b\"", a,
	    strlen(a), p, 1), 1);
	ck_assert_str_eq(p[0].body, "{\"x\":1}");
	batch_parts_clear(p, 1);
}
END_TEST

START_TEST(test_parse_bad)
{
	struct batch_part p[2];
	const char *junk = "--b\r\nContent-ID: <response-item-7>\r\n\r\n"
	    "HTTP/1.1 200 OK\r\n\r\n{}\r\n--b\r\nno headers end";

	memset(p, 0, sizeof(p));
	ck_assert_int_eq(batch_parse("application/json", "{}", 2, p, 2), -1);
	ck_assert_int_eq(batch_parse(NULL, "{}", 2, p, 2), -1);
	ck_assert_int_eq(batch_parse("multipart/mixed", "x", 1, p, 2), -1);
	ck_assert_int_eq(batch_parse("multipart/mixed; boundary=zz", "x", 1,
	    p, 2), -1);
	/* An index out of range and a truncated part are ignored. */
	ck_assert_int_eq(batch_parse("multipart/mixed; boundary=b", junk,
	    strlen(junk), p, 2), 0);
	ck_assert_int_eq(p[0].status, 0);
	batch_parts_clear(p, 2);
}
END_TEST

/* The answer is len bytes, whatever follows them: a part cut after its
 * status line is read within its length (the status was read by sscanf()
 * up to a NUL, here past the answer's digits). */
START_TEST(test_parse_exact_length)
{
	static const char text[] = "--b\r\nContent-ID: <response-item-1>"
	    "\r\n\r\nHTTP/1.1 404" "99 beyond";
	struct batch_part p[2];
	size_t len = strstr(text, "99 beyond") - text;

	memset(p, 0, sizeof(p));
	ck_assert_int_eq(batch_parse("multipart/mixed; boundary=b", text, len,
	    p, 2), 1);
	ck_assert_int_eq(p[1].status, 404);
	ck_assert_uint_eq(p[1].len, 0);
	ck_assert_int_eq(p[1].retry_after, -1);
	batch_parts_clear(p, 2);
}
END_TEST

static Suite *
batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc;

	tc = tcase_create("batch_build");
	tcase_add_test(tc, test_build);
	suite_add_tcase(s, tc);
	tc = tcase_create("batch_parse");
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_lf_and_quoted);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_parse_exact_length);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(batch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
