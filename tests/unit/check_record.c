/* Unit tests of shared/record.c: execution records and signal names. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/record.h"

#define T0	1795168800	/* 2026-11-20T10:00:00Z */

/* The contract's example run. */
static void
example(struct mv_record *r)
{
	mv_record_init(r);
	r->status = "success";
	r->worker = "email_sync";
	r->job_id = "uuid";
	r->duration = 1.23;
	r->started_at = T0;
	r->completed_at = T0 + 1;
	r->exit_code = 0;
	r->max_rss_kb = 2810;
	r->rss_source = "rusage";
	r->user_cpu = 0.01;
	r->system_cpu = 0;
}

/* Dumps the record of r and checks it is exactly want. */
static void
assert_record(const struct mv_record *r, int flags, const char *want)
{
	json_t *j = mv_record_json(r, flags);
	char *s;

	ck_assert_ptr_nonnull(j);
	s = mv_record_dumps(j);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, want);
	free(s);
	json_decref(j);
}

START_TEST(test_record_success)
{
	struct mv_record r;
	json_t *res = json_pack("{s:s,s:i}", "status", "success", "count", 2);

	example(&r);
	r.result = res;
	r.stderr_tail = "progress\n";	/* left out on success */
	r.reason = "unused";
	assert_record(&r, 0,
	    "{\"status\":\"success\",\"worker\":\"email_sync\","
	    "\"job_id\":\"uuid\",\"duration\":1.23,"
	    "\"result\":{\"status\":\"success\",\"count\":2},"
	    "\"started_at\":\"2026-11-20T10:00:00Z\","
	    "\"completed_at\":\"2026-11-20T10:00:01Z\",\"exit_code\":0,"
	    "\"signal\":null,\"attempt\":1,\"max_rss_kb\":2810,"
	    "\"rss_source\":\"rusage\",\"user_cpu\":0.01,\"system_cpu\":0.0}");
	/* The record took its own reference. */
	ck_assert_int_eq(res->refcount, 1);
	json_decref(res);
}
END_TEST

START_TEST(test_record_killed)
{
	struct mv_record r;

	example(&r);
	r.status = "killed";
	r.exit_code = -1;
	r.signal = SIGKILL;
	r.attempt = 3;
	r.duration = 2.0006;
	r.system_cpu = -1;	/* nonsense: 0 */
	r.rss_source = "cgroup";
	r.stderr_tail = "oom\n";
	r.reason = "killed by SIGKILL";
	assert_record(&r, 0,
	    "{\"status\":\"killed\",\"worker\":\"email_sync\","
	    "\"job_id\":\"uuid\",\"duration\":2.001,\"result\":null,"
	    "\"started_at\":\"2026-11-20T10:00:00Z\","
	    "\"completed_at\":\"2026-11-20T10:00:01Z\",\"exit_code\":null,"
	    "\"signal\":\"SIGKILL\",\"attempt\":3,\"max_rss_kb\":2810,"
	    "\"rss_source\":\"cgroup\",\"user_cpu\":0.01,\"system_cpu\":0.0,"
	    "\"stderr_tail\":\"oom\\n\",\"reason\":\"killed by SIGKILL\"}");
}
END_TEST

START_TEST(test_record_no_result)
{
	struct mv_record r;
	json_t *res = json_pack("{s:s}", "status", "error");

	example(&r);
	r.status = "failed";
	r.exit_code = 75;
	r.result = res;
	r.reason = "exit 75: rate_limited";
	assert_record(&r, MV_RECORD_NO_RESULT,
	    "{\"status\":\"failed\",\"worker\":\"email_sync\","
	    "\"job_id\":\"uuid\",\"duration\":1.23,"
	    "\"started_at\":\"2026-11-20T10:00:00Z\","
	    "\"completed_at\":\"2026-11-20T10:00:01Z\",\"exit_code\":75,"
	    "\"signal\":null,\"attempt\":1,\"max_rss_kb\":2810,"
	    "\"rss_source\":\"rusage\",\"user_cpu\":0.01,\"system_cpu\":0.0,"
	    "\"reason\":\"exit 75: rate_limited\"}");
	ck_assert_int_eq(res->refcount, 1);
	json_decref(res);
}
END_TEST

/* A run that never happened: every "none" is null. */
START_TEST(test_record_skipped)
{
	struct mv_record r;

	mv_record_init(&r);
	r.status = "skipped";
	r.worker = "w";
	r.job_id = "j";
	r.started_at = r.completed_at = T0;
	r.reason = "overlapping run";
	assert_record(&r, 0,
	    "{\"status\":\"skipped\",\"worker\":\"w\",\"job_id\":\"j\","
	    "\"duration\":0.0,\"result\":null,"
	    "\"started_at\":\"2026-11-20T10:00:00Z\","
	    "\"completed_at\":\"2026-11-20T10:00:00Z\",\"exit_code\":null,"
	    "\"signal\":null,\"attempt\":1,\"max_rss_kb\":null,"
	    "\"rss_source\":null,\"user_cpu\":0.0,\"system_cpu\":0.0,"
	    "\"reason\":\"overlapping run\"}");
}
END_TEST

/* Bytes from a worker are repaired, never passed on ill-formed. */
START_TEST(test_record_bad_utf8)
{
	struct mv_record r;
	json_t *j;

	example(&r);
	r.status = "failed";
	r.worker = "w\xff";
	r.stderr_tail = "a\xc3(b\xed\xa0\x80";
	r.reason = "\xe2\x82";
	j = mv_record_json(&r, 0);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "worker")),
	    "w\xef\xbf\xbd");
	ck_assert_str_eq(json_string_value(json_object_get(j, "stderr_tail")),
	    "a\xef\xbf\xbd(b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(json_string_value(json_object_get(j, "reason")),
	    "\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
}
END_TEST

START_TEST(test_record_huge_tail)
{
	struct mv_record r;
	size_t n = 4 << 20;
	char *tail = malloc(n + 1);
	json_t *j;

	ck_assert_ptr_nonnull(tail);
	memset(tail, 'e', n);
	tail[n] = '\0';
	example(&r);
	r.status = "timeout";
	r.stderr_tail = tail;
	j = mv_record_json(&r, 0);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_string_length(json_object_get(j,
	    "stderr_tail")), n);
	ck_assert_ptr_null(json_object_get(j, "reason"));
	json_decref(j);
	free(tail);
}
END_TEST

START_TEST(test_record_invalid)
{
	struct mv_record r;

	example(&r);
	r.status = "succeeded";
	errno = 0;
	ck_assert_ptr_null(mv_record_json(&r, 0));
	ck_assert_int_eq(errno, EINVAL);
	r.status = NULL;
	ck_assert_ptr_null(mv_record_json(&r, 0));
	example(&r);
	r.worker = NULL;
	ck_assert_ptr_null(mv_record_json(&r, 0));
	example(&r);
	r.job_id = NULL;
	ck_assert_ptr_null(mv_record_json(&r, 0));
	example(&r);
	r.attempt = 0;
	ck_assert_ptr_null(mv_record_json(&r, 0));
	example(&r);
	r.started_at = (time_t)INT64_MAX;
	errno = 0;
	ck_assert_ptr_null(mv_record_json(&r, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(mv_record_json(NULL, 0));
}
END_TEST

START_TEST(test_record_skeleton)
{
	json_t *j = mv_record_skeleton("w", "j", "skipped", 2, T0);
	char *s;

	ck_assert_ptr_nonnull(j);
	s = mv_record_dumps(j);
	ck_assert_str_eq(s, "{\"status\":\"skipped\",\"worker\":\"w\","
	    "\"job_id\":\"j\",\"duration\":0.0,\"result\":null,"
	    "\"started_at\":\"2026-11-20T10:00:00Z\","
	    "\"completed_at\":\"2026-11-20T10:00:00Z\",\"exit_code\":null,"
	    "\"signal\":null,\"attempt\":2,\"max_rss_kb\":null,"
	    "\"rss_source\":null,\"user_cpu\":0.0,\"system_cpu\":0.0}");
	free(s);
	json_decref(j);
	ck_assert_ptr_null(mv_record_skeleton("w", "j", "queued", 1, T0));
	ck_assert_ptr_null(mv_record_skeleton(NULL, "j", "skipped", 1, T0));
	ck_assert_ptr_null(mv_record_skeleton("w", "j", "skipped", 0, T0));
}
END_TEST

START_TEST(test_record_init)
{
	struct mv_record r;

	memset(&r, 0x5a, sizeof(r));
	mv_record_init(&r);
	ck_assert_ptr_null(r.status);
	ck_assert_ptr_null(r.result);
	ck_assert_int_eq(r.exit_code, -1);
	ck_assert_int_eq(r.signal, 0);
	ck_assert_int_eq(r.attempt, 1);
	ck_assert_int_eq(r.max_rss_kb, -1);
	ck_assert_ptr_null(r.reason);
}
END_TEST

START_TEST(test_status_valid)
{
	static const char *const ok[] = { "success", "failed", "timeout",
		"killed", "output_too_large", "bad_output", "revoked",
		"skipped" };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_int_eq(mv_record_status_valid(ok[i]), 1);
	ck_assert_int_eq(mv_record_status_valid("Success"), 0);
	ck_assert_int_eq(mv_record_status_valid("success "), 0);
	ck_assert_int_eq(mv_record_status_valid(""), 0);
	ck_assert_int_eq(mv_record_status_valid(NULL), 0);
}
END_TEST

START_TEST(test_signal_name)
{
	char buf[16];

	ck_assert_str_eq(mv_signal_name(SIGKILL, buf, sizeof(buf)), "SIGKILL");
	ck_assert_str_eq(mv_signal_name(SIGSEGV, buf, sizeof(buf)), "SIGSEGV");
	ck_assert_str_eq(mv_signal_name(SIGTERM, buf, sizeof(buf)), "SIGTERM");
	ck_assert_str_eq(mv_signal_name(SIGXCPU, buf, sizeof(buf)), "SIGXCPU");
	ck_assert_str_eq(mv_signal_name(SIGRTMIN + 2, buf, sizeof(buf)),
	    "SIGRTMIN+2");
	ck_assert_str_eq(mv_signal_name(200, buf, sizeof(buf)), "SIG200");
	ck_assert_ptr_null(mv_signal_name(0, buf, sizeof(buf)));
	ck_assert_ptr_null(mv_signal_name(-9, buf, sizeof(buf)));
	/* A short buffer is cut, never overrun. */
	ck_assert_str_eq(mv_signal_name(123456, buf, 5), "SIG1");
}
END_TEST

START_TEST(test_dumps)
{
	json_t *j = json_pack("{s:f,s:f,s:s}", "a", 0.1 + 0.2, "b", 1e-3,
	    "c", "\xc3\xa9");
	char *s = mv_record_dumps(j);

	ck_assert_str_eq(s, "{\"a\":0.3,\"b\":0.001,\"c\":\"\xc3\xa9\"}");
	free(s);
	json_decref(j);
	ck_assert_ptr_null(mv_record_dumps(NULL));
}
END_TEST

static Suite *
record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc;

	tc = tcase_create("mv_record_json");
	tcase_add_test(tc, test_record_success);
	tcase_add_test(tc, test_record_killed);
	tcase_add_test(tc, test_record_no_result);
	tcase_add_test(tc, test_record_skipped);
	tcase_add_test(tc, test_record_bad_utf8);
	tcase_add_test(tc, test_record_huge_tail);
	tcase_add_test(tc, test_record_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("mv_record_skeleton");
	tcase_add_test(tc, test_record_skeleton);
	suite_add_tcase(s, tc);

	tc = tcase_create("mv_record_init");
	tcase_add_test(tc, test_record_init);
	suite_add_tcase(s, tc);

	tc = tcase_create("mv_record_status_valid");
	tcase_add_test(tc, test_status_valid);
	suite_add_tcase(s, tc);

	tc = tcase_create("mv_signal_name");
	tcase_add_test(tc, test_signal_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("mv_record_dumps");
	tcase_add_test(tc, test_dumps);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(record_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
