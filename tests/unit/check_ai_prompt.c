/* Unit tests of ai-worker/prompt.c and input.c: input shapes, quote
 * stripping, and cutting a thread to the budget. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ai-worker/input.h"
#include "ai-worker/opts.h"
#include "ai-worker/prompt.h"
#include "ai-worker/schema.h"

static void
strip(const char *in, const char *want)
{
	char *s = strdup(in);
	size_t n = prompt_strip_quotes(s);

	ck_assert_str_eq(s, want);
	ck_assert_uint_eq(n, strlen(want));
	free(s);
}

START_TEST(test_strip)
{
	strip("Hello\n> quoted\n>> more\nBye", "Hello\nBye");
	strip("Yes.\n\nOn Mon, 1 Dec 2026, A <a@example.com> wrote:\n> x",
	    "Yes.");
	strip("Yes.\nOn Mon, 1 Dec 2026, Alice Example\n<a@example.com> "
	    "wrote:\n> x\nAfter", "Yes.\nAfter");
	strip("Text\n-- \nSig\nmore sig", "Text");
	strip("Text\n--\nnot a signature", "Text\n--\nnot a signature");
	strip("On time, as always.", "On time, as always.");
	strip("", "");
}
END_TEST

static int
shape(const char *text, struct ai_thread *t)
{
	struct mv_err err = MV_ERR_INIT;
	int rc = ai_input_parse(text, strlen(text), t, &err);

	if (rc == -1)
		ck_assert_int_eq(err.type, MV_E_INVALID_ARGUMENT);
	return rc;
}

START_TEST(test_input)
{
	struct ai_thread t;

	ck_assert_int_eq(shape("{\"id\": \"a\", \"thread_id\": \"t\", "
	    "\"subject\": \"s\"}", &t), 0);
	ck_assert_int_eq(json_array_size(t.emails), 1);
	ck_assert_str_eq(t.thread_id, "t");
	ai_thread_free(&t);
	ck_assert_int_eq(shape("[{\"id\": \"a\", \"body_text\": \"x\"}, "
	    "{\"id\": \"b\", \"snippet\": \"y\"}]", &t), 0);
	ck_assert_int_eq(json_array_size(t.emails), 2);
	ck_assert_ptr_null(t.thread_id);
	ai_thread_free(&t);
	ck_assert_int_eq(shape("{\"thread_id\": \"T\", \"emails\": [{\"id\": "
	    "\"a\", \"subject\": \"s\", \"thread_id\": \"other\"}]}", &t), 0);
	ck_assert_str_eq(t.thread_id, "T");
	ai_thread_free(&t);
	ck_assert_int_eq(shape("{\"change\": \"added\", \"id\": \"a\", "
	    "\"email\": {\"id\": \"a\", \"subject\": \"s\", \"thread_id\": "
	    "\"u\"}}", &t), 0);
	ck_assert_str_eq(t.thread_id, "u");
	ai_thread_free(&t);
	ck_assert_int_eq(shape("{\"change\": \"labels\", \"id\": \"a\"}", &t),
	    AI_INPUT_NO_MAIL);
	ck_assert_str_eq(json_string_value(json_object_get(t.nomail, "change")),
	    "labels");
	ck_assert_str_eq(json_string_value(json_object_get(t.nomail, "id")),
	    "a");
	ai_thread_free(&t);
	ck_assert_int_eq(shape("{\"change\": \"added\", \"id\": \"a\"}", &t),
	    -1);
	ck_assert_int_eq(shape("{\"status\": \"success\", \"summary\": "
	    "true}", &t), AI_INPUT_SUMMARY);
	ck_assert_int_eq(shape("[]", &t), -1);
	ck_assert_int_eq(shape("[{\"id\": \"a\"}]", &t), -1);
	ck_assert_int_eq(shape("null", &t), -1);
	ck_assert_int_eq(shape("{\"id\": \"a\", \"subject\": \"s\"} x", &t),
	    -1);
}
END_TEST

/* A thread of n messages whose bodies are len bytes of 'x'. */
static void
thread(struct ai_thread *t, size_t n, size_t len)
{
	char *body = malloc(len + 1), id[16];

	memset(body, 'x', len);
	body[len] = '\0';
	memset(t, 0, sizeof(*t));
	t->emails = json_array();
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "m%zu", i);
		json_array_append_new(t->emails, json_pack("{s:s, s:s}", "id",
		    id, "body_text", body));
	}
	free(body);
}

static int
build(struct ai_thread *t, long tokens, struct ai_prompt *p)
{
	static const char *const cats[] = { "a", "b" };
	struct ai_prompt_opts po;
	struct mv_err err = MV_ERR_INIT;
	json_t *schema = schema_build(AI_T_SUMMARIZE, cats, 2);
	int rc;

	memset(&po, 0, sizeof(po));
	po.tasks = AI_T_SUMMARIZE;
	po.cats = cats;
	po.ncats = 2;
	po.schema = schema;
	po.max_tokens = tokens;
	po.now = 0;
	po.nonce = "0123456789abcdef";
	rc = prompt_build(t, &po, p, &err);
	json_decref(schema);
	return rc;
}

START_TEST(test_fits)
{
	struct ai_thread t;
	struct ai_prompt p;

	thread(&t, 3, 100);
	ck_assert_int_eq(build(&t, 16000, &p), 0);
	ck_assert_uint_eq(p.messages_dropped, 0);
	ck_assert_uint_eq(p.bytes_dropped, 0);
	ck_assert_ptr_nonnull(strstr(p.user, "\nBEGIN_MAIL_0123456789abcdef\n"));
	ck_assert_ptr_nonnull(strstr(p.system, "1970-01-01"));
	prompt_free(&p);
	ai_thread_free(&t);
}
END_TEST

START_TEST(test_cut)
{
	struct ai_thread t;
	struct ai_prompt p;

	/* 10 messages of 4000 bytes in 3000 tokens: the first and the
	 * newest stay, and the prompt fits. */
	thread(&t, 10, 4000);
	ck_assert_int_eq(build(&t, 3000, &p), 0);
	ck_assert_uint_ge(p.messages_dropped, 7);
	ck_assert_uint_le(p.messages_dropped, 8);
	ck_assert_ptr_nonnull(strstr(p.user, "\"m0\""));
	ck_assert_ptr_nonnull(strstr(p.user, "\"m9\""));
	ck_assert_ptr_null(strstr(p.user, "\"m1\""));
	ck_assert_uint_le(prompt_tokens(strlen(p.system) + strlen(p.user)),
	    3000);
	prompt_free(&p);
	ai_thread_free(&t);
	/* One message of 1 MB: cut. */
	thread(&t, 1, 1 << 20);
	ck_assert_int_eq(build(&t, 1000, &p), 0);
	ck_assert_uint_eq(p.messages_dropped, 0);
	ck_assert_uint_gt(p.bytes_dropped, (1 << 20) - 4000);
	ck_assert_uint_le(prompt_tokens(strlen(p.system) + strlen(p.user)),
	    1000);
	prompt_free(&p);
	/* No room at all. */
	ck_assert_int_eq(build(&t, 10, &p), -1);
	prompt_free(&p);
	ai_thread_free(&t);
}
END_TEST

static Suite *
prompt_suite(void)
{
	Suite *s = suite_create("ai_prompt");
	TCase *tc;

	tc = tcase_create("prompt_strip_quotes");
	tcase_add_test(tc, test_strip);
	suite_add_tcase(s, tc);
	tc = tcase_create("ai_input_parse");
	tcase_add_test(tc, test_input);
	suite_add_tcase(s, tc);
	tc = tcase_create("prompt_build");
	tcase_add_test(tc, test_fits);
	tcase_add_test(tc, test_cut);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(prompt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
