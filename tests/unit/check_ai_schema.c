/* Unit tests of ai-worker/schema.c: the answer schema and its check. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ai-worker/opts.h"
#include "ai-worker/schema.h"

static const char *const cats[] = { "work", "personal", "other" };

/* Checks the JSON text against the schema of tasks; returns the
 * verdict, the message in msg, the answer (after the check) in *out. */
static int
check(unsigned tasks, const char *text, char *msg, size_t *dropped,
    json_t **out)
{
	json_t *s = schema_build(tasks, cats, 3);
	json_t *v = json_loads(text, 0, NULL);
	int rc;

	ck_assert_ptr_nonnull(v);
	rc = schema_check(s, v, dropped, msg, 256);
	json_decref(s);
	if (out)
		*out = v;
	else
		json_decref(v);
	return rc;
}

START_TEST(test_build)
{
	json_t *s = schema_build(AI_T_ALL, cats, 3), *p;

	p = json_object_get(s, "properties");
	ck_assert_int_eq(json_object_size(p), 7);
	ck_assert_int_eq(json_array_size(json_object_get(s, "required")), 7);
	ck_assert(json_is_false(json_object_get(s, "additionalProperties")));
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(p,
	    "category"), "enum")), 3);
	json_decref(s);
	s = schema_build(AI_T_SENTIMENT, cats, 3);
	p = json_object_get(s, "properties");
	ck_assert_int_eq(json_object_size(p), 1);
	ck_assert_ptr_nonnull(json_object_get(p, "sentiment"));
	json_decref(s);
}
END_TEST

START_TEST(test_valid)
{
	char msg[256];
	size_t dropped;

	ck_assert_int_eq(check(AI_T_ALL, "{\"summary\": \"s\", \"category\": "
	    "\"work\", \"labels\": [\"work\", \"other\"], \"priority\": \"low\","
	    " \"sentiment\": {\"label\": \"mixed\", \"score\": -1}, \"reply\": "
	    "{\"subject\": \"Re\", \"body\": \"b\"}, \"tasks\": [{\"title\": "
	    "\"t\", \"due\": \"2028-02-29\", \"owner\": null}]}", msg,
	    &dropped, NULL), 0);
	ck_assert_int_eq(dropped, 0);
}
END_TEST

START_TEST(test_invalid)
{
	static const struct {
		unsigned	 tasks;
		const char	*text;
		const char	*path;
	} bad[] = {
		{ AI_T_CLASSIFY, "{\"category\": \"spam\", \"labels\": [], "
		  "\"priority\": \"low\"}", "$.category" },
		{ AI_T_CLASSIFY, "{\"category\": \"work\", \"labels\": "
		  "[\"root\"], \"priority\": \"low\"}", "$.labels[0]" },
		{ AI_T_CLASSIFY, "{\"category\": \"work\", \"labels\": [], "
		  "\"priority\": \"urgent\"}", "$.priority" },
		{ AI_T_SUMMARIZE, "{}", "$.summary: missing" },
		{ AI_T_SUMMARIZE, "{\"summary\": 3}", "$.summary: a number" },
		{ AI_T_SUMMARIZE, "[]", "$: an array" },
		{ AI_T_SENTIMENT, "{\"sentiment\": {\"label\": \"neutral\", "
		  "\"score\": 1.5}}", "$.sentiment.score: out of range" },
		{ AI_T_TASKS, "{\"tasks\": [{\"title\": \"t\", \"due\": "
		  "\"2027-02-29\", \"owner\": null}]}", "$.tasks[0].due" },
		{ AI_T_TASKS, "{\"tasks\": [{\"title\": \"t\", \"due\": "
		  "\"tomorrow\", \"owner\": null}]}", "$.tasks[0].due" },
		{ AI_T_TASKS, "{\"tasks\": [{\"title\": \"t\", \"owner\": "
		  "null}]}", "$.tasks[0].due: missing" },
		{ AI_T_REPLY, "{\"reply\": \"text\"}", "$.reply: a string" },
	};
	char msg[256];
	size_t dropped;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(check(bad[i].tasks, bad[i].text, msg,
		    &dropped, NULL), -1);
		ck_assert_msg(strstr(msg, bad[i].path) != NULL,
		    "case %zu: '%s' does not say '%s'", i, msg, bad[i].path);
	}
}
END_TEST

START_TEST(test_max_length)
{
	char *text = malloc(AI_SUMMARY_MAX * 2 + 32), msg[256];
	size_t dropped, n;

	/* In characters: 2000 two-byte characters fit, 2001 do not. */
	n = (size_t)sprintf(text, "{\"summary\": \"");
	for (int i = 0; i < AI_SUMMARY_MAX; i++) {
		memcpy(text + n, "\xc3\xa9", 2);
		n += 2;
	}
	strcpy(text + n, "\"}");
	ck_assert_int_eq(check(AI_T_SUMMARIZE, text, msg, &dropped, NULL), 0);
	strcpy(text + n, "e\"}");
	ck_assert_int_eq(check(AI_T_SUMMARIZE, text, msg, &dropped, NULL), -1);
	ck_assert_ptr_nonnull(strstr(msg, "longer than 2000"));
	free(text);
}
END_TEST

START_TEST(test_extra_dropped)
{
	char msg[256];
	size_t dropped;
	json_t *v;

	ck_assert_int_eq(check(AI_T_SENTIMENT, "{\"sentiment\": {\"label\": "
	    "\"neutral\", \"score\": 0, \"note\": 1}, \"system_prompt\": \"x\","
	    " \"tool_calls\": []}", msg, &dropped, &v), 0);
	ck_assert_int_eq(dropped, 3);
	ck_assert_int_eq(json_object_size(v), 1);
	ck_assert_int_eq(json_object_size(json_object_get(v, "sentiment")), 2);
	json_decref(v);
}
END_TEST

START_TEST(test_is_date)
{
	ck_assert(schema_is_date("2026-12-09"));
	ck_assert(schema_is_date("2000-02-29"));
	ck_assert(!schema_is_date("1900-02-29"));
	ck_assert(!schema_is_date("2026-13-01"));
	ck_assert(!schema_is_date("2026-04-31"));
	ck_assert(!schema_is_date("2026-1-01"));
	ck_assert(!schema_is_date("2026-12-09T00"));
	ck_assert(!schema_is_date("+026-12-09"));
}
END_TEST

static Suite *
schema_suite(void)
{
	Suite *s = suite_create("ai_schema");
	TCase *tc;

	tc = tcase_create("schema_build");
	tcase_add_test(tc, test_build);
	suite_add_tcase(s, tc);
	tc = tcase_create("schema_check");
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_max_length);
	tcase_add_test(tc, test_extra_dropped);
	suite_add_tcase(s, tc);
	tc = tcase_create("schema_is_date");
	tcase_add_test(tc, test_is_date);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(schema_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
