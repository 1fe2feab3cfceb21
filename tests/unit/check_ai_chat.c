/* Unit tests of ai-worker/chat.c: requests, answers, fences. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ai-worker/chat.h"

static json_t *
request(enum ai_rf rf, const char *retry)
{
	json_t *schema = json_pack("{s:s}", "type", "object");
	char *s = chat_request("m", "sys", "usr", schema, rf, retry,
	    "$.x: missing");
	json_t *v = json_loads(s, 0, NULL);

	free(s);
	json_decref(schema);
	ck_assert_ptr_nonnull(v);
	return v;
}

START_TEST(test_request)
{
	json_t *v = request(AI_RF_JSON_SCHEMA, NULL), *m;

	ck_assert_str_eq(json_string_value(json_object_get(v, "model")), "m");
	m = json_object_get(v, "messages");
	ck_assert_int_eq(json_array_size(m), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m,
	    0), "role")), "system");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v,
	    "response_format"), "type")), "json_schema");
	json_decref(v);
	v = request(AI_RF_JSON_OBJECT, "bad answer");
	m = json_object_get(v, "messages");
	ck_assert_int_eq(json_array_size(m), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(m,
	    2), "content")), "bad answer");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(
	    json_array_get(m, 3), "content")), "$.x: missing"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v,
	    "response_format"), "type")), "json_object");
	json_decref(v);
	v = request(AI_RF_NONE, NULL);
	ck_assert_ptr_null(json_object_get(v, "response_format"));
	json_decref(v);
}
END_TEST

static void
parse(const char *body, struct chat_answer *a, int want)
{
	struct mv_err err = MV_ERR_INIT;

	ck_assert_int_eq(chat_parse(body, strlen(body), a, &err), want);
}

START_TEST(test_parse)
{
	struct chat_answer a;

	parse("{\"model\": \"x-1\", \"choices\": [{\"message\": {\"content\": "
	    "\"{}\"}, \"finish_reason\": \"stop\"}], \"usage\": "
	    "{\"prompt_tokens\": 7, \"completion_tokens\": 2}}", &a, 0);
	ck_assert_str_eq(a.content, "{}");
	ck_assert_str_eq(a.model, "x-1");
	ck_assert_int_eq(a.prompt_tokens, 7);
	ck_assert_int_eq(a.completion_tokens, 2);
	ck_assert_int_eq(a.refused, 0);
	chat_answer_free(&a);
	parse("{\"choices\": [{\"message\": {\"content\": null, \"refusal\": "
	    "\"no\"}}]}", &a, 0);
	ck_assert_int_eq(a.refused, 1);
	ck_assert_ptr_null(a.content);
	ck_assert_str_eq(a.why, "no");
	chat_answer_free(&a);
	parse("{\"choices\": [{\"message\": {\"content\": \"x\"}, "
	    "\"finish_reason\": \"content_filter\"}]}", &a, 0);
	ck_assert_int_eq(a.refused, 1);
	chat_answer_free(&a);
	parse("{\"choices\": []}", &a, -1);
	chat_answer_free(&a);
	parse("<html>", &a, -1);
	chat_answer_free(&a);
}
END_TEST

static void
fence(const char *in, const char *want)
{
	char *s = strdup(in);

	ck_assert_str_eq(chat_strip_fence(s), want);
	free(s);
}

START_TEST(test_fence)
{
	fence("{\"a\": 1}", "{\"a\": 1}");
	fence("```json\n{\"a\": 1}\n```", "{\"a\": 1}");
	fence("  ```\n{\"a\": 1}\n```\n", "{\"a\": 1}");
	fence("```json\n{\"a\": 1}", "{\"a\": 1}");
	fence("```", "```");
}
END_TEST

START_TEST(test_rf_refused)
{
	const char *yes = "{\"error\": {\"message\": \"Invalid parameter: "
	    "'response_format' of type 'json_schema' is not supported\"}}";
	const char *no = "{\"error\": {\"message\": \"max_tokens too large\"}}";

	ck_assert_int_eq(chat_rf_refused(yes, strlen(yes)), 1);
	ck_assert_int_eq(chat_rf_refused(no, strlen(no)), 0);
	ck_assert_int_eq(chat_rf_refused(NULL, 0), 0);
}
END_TEST

static Suite *
chat_suite(void)
{
	Suite *s = suite_create("ai_chat");
	TCase *tc;

	tc = tcase_create("chat_request");
	tcase_add_test(tc, test_request);
	suite_add_tcase(s, tc);
	tc = tcase_create("chat_parse");
	tcase_add_test(tc, test_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("chat_strip_fence");
	tcase_add_test(tc, test_fence);
	suite_add_tcase(s, tc);
	tc = tcase_create("chat_rf_refused");
	tcase_add_test(tc, test_rf_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(chat_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
