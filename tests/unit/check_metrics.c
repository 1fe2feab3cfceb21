/* Unit tests of supervisor/metrics.c: counting, the text format, label
 * escaping, buckets and the bound on workers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shared/buf.h"
#include "supervisor/metrics.h"

/* The gauges' part of the text for the figures of gauges_fixed(). */
#define GAUGES_TEXT \
	"# HELP mailvisor_running_children Workers running now.\n" \
	"# TYPE mailvisor_running_children gauge\n" \
	"mailvisor_running_children 2\n" \
	"# HELP mailvisor_queued_runs Runs waiting here for a free slot.\n" \
	"# TYPE mailvisor_queued_runs gauge\n" \
	"mailvisor_queued_runs 3\n"
#define GAUGES_TAIL \
	"# HELP mailvisor_redis_connected 1 when the daemon is connected " \
	"to Redis, else 0.\n" \
	"# TYPE mailvisor_redis_connected gauge\n" \
	"mailvisor_redis_connected 1\n" \
	"# HELP mailvisor_records_buffered Execution records waiting to be " \
	"written to Redis.\n" \
	"# TYPE mailvisor_records_buffered gauge\n" \
	"mailvisor_records_buffered 4\n" \
	"# HELP mailvisor_records_dropped_total Execution records dropped " \
	"from a full buffer.\n" \
	"# TYPE mailvisor_records_dropped_total counter\n" \
	"mailvisor_records_dropped_total 5\n" \
	"# HELP mailvisor_records_written_total Execution records written " \
	"to Redis.\n" \
	"# TYPE mailvisor_records_written_total counter\n" \
	"mailvisor_records_written_total 6\n" \
	"# HELP mailvisor_up 1: the daemon answers.\n" \
	"# TYPE mailvisor_up gauge\n" \
	"mailvisor_up 1\n" \
	"# HELP mailvisor_start_time_seconds When the daemon started, in " \
	"seconds since the epoch.\n" \
	"# TYPE mailvisor_start_time_seconds gauge\n" \
	"mailvisor_start_time_seconds 1700000000\n"
#define RUNS_HEAD \
	"# HELP mailvisor_runs_total Execution records since the daemon " \
	"started, by worker and status.\n" \
	"# TYPE mailvisor_runs_total counter\n"
#define DUR_HEAD \
	"# HELP mailvisor_run_duration_seconds Seconds each run took, by " \
	"worker (skipped runs left out).\n" \
	"# TYPE mailvisor_run_duration_seconds histogram\n"
#define TOK_HEAD \
	"# HELP mailvisor_ai_tokens_total Model tokens in the usage of the " \
	"runs' results, by job and kind.\n" \
	"# TYPE mailvisor_ai_tokens_total counter\n"

static struct metrics_gauges
gauges_fixed(void)
{
	struct metrics_gauges g;

	memset(&g, 0, sizeof(g));
	g.running = 2;
	g.queued = 3;
	g.redis_connected = 1;
	g.buffered = 4;
	g.dropped = 5;
	g.written = 6;
	g.started_at = 1700000000;
	return g;
}

/* metrics_write()'s text; caller frees. */
static char *
text_of(const struct metrics *m, const struct metrics_gauges *g)
{
	struct mv_buf b;
	char *s;

	mv_buf_init(&b, 0);
	ck_assert_int_eq(metrics_write(m, g, &b), 0);
	s = mv_buf_steal(&b, NULL);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Observes the record given as JSON text. */
static void
observe(struct metrics *m, const char *worker, const char *rec)
{
	json_error_t e;
	json_t *r = json_loads(rec, 0, &e);

	ck_assert_msg(r != NULL, "bad JSON %s", rec);
	metrics_observe(m, worker, r);
	json_decref(r);
}

/* The histogram lines of worker w with cumulative counts c[0..12] (the
 * last one +Inf), sum and count, appended to b. */
static void
hist_text(struct mv_buf *b, const char *w, const int *c, const char *sum)
{
	static const char *const le[] = { "0.05", "0.1", "0.25", "0.5", "1",
	    "2.5", "5", "10", "30", "60", "120", "300", "+Inf" };

	for (size_t i = 0; i < 13; i++)
		mv_buf_printf(b, "mailvisor_run_duration_seconds_bucket{worker="
		    "\"%s\",le=\"%s\"} %d\n", w, le[i], c[i]);
	mv_buf_printf(b, "mailvisor_run_duration_seconds_sum{worker=\"%s\"} "
	    "%s\n", w, sum);
	mv_buf_printf(b, "mailvisor_run_duration_seconds_count{worker=\"%s\"} "
	    "%d\n", w, c[12]);
}

/* ---- metrics_write ---- */

START_TEST(test_empty)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	char *t = text_of(m, &g);

	ck_assert_str_eq(t, RUNS_HEAD DUR_HEAD TOK_HEAD GAUGES_TEXT GAUGES_TAIL);
	ck_assert_uint_eq(metrics_workers(m), 0);
	free(t);
	metrics_free(m);
}
END_TEST

START_TEST(test_exact)
{
	static const int a[13] = { 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3 };
	static const int b[13] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	struct mv_buf want;
	char *t;

	observe(m, "beta", "{\"status\":\"skipped\",\"duration\":0}");
	observe(m, "alpha", "{\"status\":\"success\",\"duration\":0.01}");
	observe(m, "alpha", "{\"status\":\"failed\",\"duration\":1}");
	observe(m, "alpha", "{\"status\":\"success\",\"duration\":301.5}");
	mv_buf_init(&want, 0);
	mv_buf_puts(&want, RUNS_HEAD
	    "mailvisor_runs_total{worker=\"alpha\",status=\"failed\"} 1\n"
	    "mailvisor_runs_total{worker=\"alpha\",status=\"success\"} 2\n"
	    "mailvisor_runs_total{worker=\"beta\",status=\"skipped\"} 1\n"
	    DUR_HEAD);
	hist_text(&want, "alpha", a, "302.51");
	hist_text(&want, "beta", b, "0");
	mv_buf_puts(&want, TOK_HEAD GAUGES_TEXT GAUGES_TAIL);
	t = text_of(m, &g);
	ck_assert_str_eq(t, want.data);
	ck_assert_uint_eq(metrics_workers(m), 2);
	free(t);
	mv_buf_free(&want);
	metrics_free(m);
}
END_TEST

/* Tokens: summed from the results' usage, per job; other runs left out. */
START_TEST(test_tokens)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	char *t;

	observe(m, "triage", "{\"status\":\"success\",\"result\":{\"usage\":"
	    "{\"prompt_tokens\":812,\"completion_tokens\":164}}}");
	observe(m, "triage", "{\"status\":\"failed\",\"result\":{\"usage\":"
	    "{\"prompt_tokens\":100,\"completion_tokens\":0}}}");
	observe(m, "triage", "{\"status\":\"failed\",\"result\":{\"usage\":"
	    "{\"prompt_tokens\":-5,\"completion_tokens\":\"9\"}}}");
	observe(m, "sync", "{\"status\":\"success\",\"result\":{}}");
	observe(m, "odd", "{\"status\":\"success\",\"result\":{\"usage\":7}}");
	t = text_of(m, &g);
	ck_assert_ptr_nonnull(strstr(t, TOK_HEAD
	    "mailvisor_ai_tokens_total{job=\"triage\",kind=\"prompt\"} 912\n"
	    "mailvisor_ai_tokens_total{job=\"triage\",kind=\"completion\"} 164\n"
	    GAUGES_TEXT));
	free(t);
	metrics_free(m);
}
END_TEST

/* The queue families, from queue_tool_queues()'s object. */
START_TEST(test_queues)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	json_error_t e;
	json_t *qs = json_loads("{\"queues\":[{\"name\":\"sync\",\"priority\":"
	    "10,\"length\":7,\"pending\":2,\"delayed\":0},{\"name\":\"x\\\"y\","
	    "\"length\":0,\"pending\":0},{\"name\":\"bad\",\"length\":\"7\"}],"
	    "\"dlq\":3,\"delayed\":1}", 0, &e);
	char *t;

	ck_assert_ptr_nonnull(qs);
	g.queues = qs;
	t = text_of(m, &g);
	ck_assert_str_eq(t, RUNS_HEAD DUR_HEAD TOK_HEAD GAUGES_TEXT
	    "# HELP mailvisor_queue_length Entries waiting in each queue's "
	    "stream, not yet delivered.\n"
	    "# TYPE mailvisor_queue_length gauge\n"
	    "mailvisor_queue_length{queue=\"sync\"} 7\n"
	    "mailvisor_queue_length{queue=\"x\\\"y\"} 0\n"
	    "# HELP mailvisor_queue_pending Entries of each queue delivered "
	    "and not yet acknowledged, by all daemons.\n"
	    "# TYPE mailvisor_queue_pending gauge\n"
	    "mailvisor_queue_pending{queue=\"sync\"} 2\n"
	    "mailvisor_queue_pending{queue=\"x\\\"y\"} 0\n"
	    "# HELP mailvisor_queue_delayed Retries of queued jobs waiting for "
	    "their time.\n"
	    "# TYPE mailvisor_queue_delayed gauge\n"
	    "mailvisor_queue_delayed 1\n"
	    "# HELP mailvisor_dlq_length Entries in the dead-letter stream.\n"
	    "# TYPE mailvisor_dlq_length gauge\n"
	    "mailvisor_dlq_length 3\n"
	    GAUGES_TAIL);
	free(t);
	json_decref(qs);
	metrics_free(m);
}
END_TEST

/* The stream families, from the streams of GET /api/v1/streams: a lag
 * Redis cannot tell left out, hostile names escaped. */
START_TEST(test_streams)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	json_error_t e;
	json_t *ss = json_loads("[{\"name\":\"mail\",\"length\":6,"
	    "\"groups\":[{\"name\":\"app\",\"lag\":4},{\"name\":"
	    "\"a\\\"b\\n\",\"lag\":0},{\"name\":\"x\",\"lag\":null}]},"
	    "{\"name\":\"side\",\"length\":0,\"groups\":[]},"
	    "{\"name\":\"bad\",\"length\":\"7\"}]", 0, &e);
	char *t;

	ck_assert_ptr_nonnull(ss);
	g.streams = ss;
	t = text_of(m, &g);
	ck_assert_str_eq(t, RUNS_HEAD DUR_HEAD TOK_HEAD GAUGES_TEXT
	    "# HELP mailvisor_stream_length Entries in each stream jobs emit "
	    "into or consume, as last read.\n"
	    "# TYPE mailvisor_stream_length gauge\n"
	    "mailvisor_stream_length{stream=\"mail\"} 6\n"
	    "mailvisor_stream_length{stream=\"side\"} 0\n"
	    "# HELP mailvisor_stream_lag Entries of each stream a consumer "
	    "group has not read yet, as last read.\n"
	    "# TYPE mailvisor_stream_lag gauge\n"
	    "mailvisor_stream_lag{stream=\"mail\",group=\"app\"} 4\n"
	    "mailvisor_stream_lag{stream=\"mail\",group=\"a\\\"b\\n\"} 0\n"
	    GAUGES_TAIL);
	free(t);
	json_decref(ss);
	metrics_free(m);
}
END_TEST

/* Negative counts from a confused caller print as 0; a capped buffer
 * fails cleanly. */
START_TEST(test_write_bounds)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	struct mv_buf b;
	char *t;

	g.running = -1;
	g.queued = -5;
	g.started_at = -1;
	t = text_of(m, &g);
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_running_children 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_queued_runs 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_start_time_seconds 0\n"));
	free(t);
	mv_buf_init(&b, 100);
	ck_assert_int_eq(metrics_write(m, &g, &b), -1);
	mv_buf_free(&b);
	metrics_free(m);
}
END_TEST

/* ---- metrics_label ---- */

START_TEST(test_label_escape)
{
	struct mv_buf b;

	mv_buf_init(&b, 0);
	ck_assert_int_eq(metrics_label(&b, "a\\b\"c\nd\te\xc3\xa9"), 0);
	ck_assert_str_eq(b.data, "a\\\\b\\\"c\\nd\te\xc3\xa9");
	mv_buf_reset(&b);
	ck_assert_int_eq(metrics_label(&b, ""), 0);
	ck_assert_uint_eq(b.len, 0);
	mv_buf_free(&b);
	mv_buf_init(&b, 3);
	ck_assert_int_eq(metrics_label(&b, "\"\"\""), -1);
	mv_buf_free(&b);
}
END_TEST

/* Hostile worker and status names come out escaped in every family. */
START_TEST(test_label_in_output)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	char *t;

	observe(m, "w\"x\\\n", "{\"status\":\"a\\\"b\\n\",\"duration\":2}");
	t = text_of(m, &g);
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_runs_total{worker=\"w\\\"x"
	    "\\\\\\n\",status=\"a\\\"b\\n\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_run_duration_seconds_"
	    "bucket{worker=\"w\\\"x\\\\\\n\",le=\"2.5\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_run_duration_seconds_"
	    "sum{worker=\"w\\\"x\\\\\\n\"} 2\n"));
	free(t);
	metrics_free(m);
}
END_TEST

/* ---- metrics_observe ---- */

/* Each bound falls in its own bucket (le is "less or equal"). */
START_TEST(test_buckets)
{
	static const double at[] = { 0, 0.05, 0.05000001, 0.1, 0.25, 0.5, 1,
	    2.5, 5, 10, 30, 60, 120, 300, 300.001, 1e9 };
	static const int want[13] = { 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	    16 };
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	struct mv_buf exp;
	char rec[128], *t, *h;

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		snprintf(rec, sizeof(rec), "{\"status\":\"success\","
		    "\"duration\":%.17g}", at[i]);
		observe(m, "w", rec);
	}
	mv_buf_init(&exp, 0);
	hist_text(&exp, "w", want, "1000000829.451");
	t = text_of(m, &g);
	h = strstr(t, "mailvisor_run_duration_seconds_bucket");
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(strncmp(h, exp.data, exp.len), 0);
	ck_assert_ptr_nonnull(strstr(t, "status=\"success\"} 16\n"));
	free(t);
	mv_buf_free(&exp);
	metrics_free(m);
}
END_TEST

/* Records without a usable status or duration: counted as far as they
 * go, never a crash. */
START_TEST(test_odd_records)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	json_t *arr = json_array();
	char *t;

	observe(m, "w", "{}");
	observe(m, "w", "{\"status\":\"\"}");
	observe(m, "w", "{\"status\":42,\"duration\":1}");
	observe(m, "w", "{\"status\":\"failed\",\"duration\":\"1\"}");
	observe(m, "w", "{\"status\":\"failed\",\"duration\":-1}");
	observe(m, "w", "{\"status\":\"failed\",\"duration\":3}");
	metrics_observe(m, "w", arr);
	metrics_observe(m, "w", NULL);
	metrics_observe(m, NULL, arr);
	metrics_observe(NULL, "w", arr);
	t = text_of(m, &g);
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_runs_total{worker=\"w\","
	    "status=\"failed\"} 3\nmailvisor_runs_total{worker=\"w\","
	    "status=\"unknown\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_run_duration_seconds_"
	    "count{worker=\"w\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_run_duration_seconds_"
	    "sum{worker=\"w\"} 4\n"));
	free(t);
	json_decref(arr);
	metrics_free(m);
	metrics_free(NULL);
}
END_TEST

/* The sum of durations as they were written, not as doubles add up
 * (0.1 + 0.2 is 0.30000000000000004 in binary). */
START_TEST(test_sum_text)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	char *t;

	observe(m, "w", "{\"status\":\"success\",\"duration\":0.1}");
	observe(m, "w", "{\"status\":\"success\",\"duration\":0.2}");
	t = text_of(m, &g);
	ck_assert_msg(strstr(t, "\nmailvisor_run_duration_seconds_sum{worker="
	    "\"w\"} 0.3\n") != NULL, "%s", t);
	free(t);
	metrics_free(m);
}
END_TEST

/* Past the bound, new workers count as _other; known ones still count by
 * name; statuses are bounded the same way. */
START_TEST(test_bound)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	char name[32], rec[128], *t;

	for (int i = 0; i < METRICS_WORKERS_MAX + 50; i++) {
		snprintf(name, sizeof(name), "w%04d", i);
		observe(m, name, "{\"status\":\"success\",\"duration\":1}");
	}
	ck_assert_uint_eq(metrics_workers(m), METRICS_WORKERS_MAX + 1);
	observe(m, "w0000", "{\"status\":\"success\",\"duration\":1}");
	observe(m, "late", "{\"status\":\"failed\",\"duration\":1}");
	ck_assert_uint_eq(metrics_workers(m), METRICS_WORKERS_MAX + 1);
	for (int i = 0; i < 40; i++) {
		snprintf(rec, sizeof(rec), "{\"status\":\"s%02d\"}", i);
		observe(m, "w0001", rec);
	}
	t = text_of(m, &g);
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_runs_total{worker="
	    "\"_other\",status=\"failed\"} 1\nmailvisor_runs_total{worker="
	    "\"_other\",status=\"success\"} 50\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmailvisor_runs_total{worker="
	    "\"w0000\",status=\"success\"} 2\n"));
	ck_assert_ptr_null(strstr(t, "worker=\"w1000\""));
	ck_assert_ptr_null(strstr(t, "worker=\"late\""));
	/* 32 statuses by name for w0001: success, s00..s30; then _other. */
	ck_assert_ptr_nonnull(strstr(t, "{worker=\"w0001\",status=\"_other\"} "
	    "9\n"));
	ck_assert_ptr_nonnull(strstr(t, "{worker=\"w0001\",status=\"s30\"} "
	    "1\n"));
	ck_assert_ptr_null(strstr(t, "{worker=\"w0001\",status=\"s31\"}"));
	free(t);
	metrics_free(m);
}
END_TEST

/* A small bound, and a real worker named _other sharing the slot. */
START_TEST(test_bound_small)
{
	struct metrics *m = metrics_new(2);
	struct metrics_gauges g = gauges_fixed();
	char *t;

	observe(m, "_other", "{\"status\":\"success\"}");
	observe(m, "a", "{\"status\":\"success\"}");
	observe(m, "b", "{\"status\":\"success\"}");
	observe(m, "c", "{\"status\":\"success\"}");
	ck_assert_uint_eq(metrics_workers(m), 3);
	t = text_of(m, &g);
	ck_assert_ptr_nonnull(strstr(t, RUNS_HEAD
	    "mailvisor_runs_total{worker=\"_other\",status=\"success\"} 2\n"
	    "mailvisor_runs_total{worker=\"a\",status=\"success\"} 1\n"
	    "mailvisor_runs_total{worker=\"b\",status=\"success\"} 1\n"
	    DUR_HEAD));
	free(t);
	metrics_free(m);
}
END_TEST

/* A long status name counts as _other. */
START_TEST(test_long_status)
{
	struct metrics *m = metrics_new(0);
	struct metrics_gauges g = gauges_fixed();
	char rec[512], *t;

	snprintf(rec, sizeof(rec), "{\"status\":\"%0100d\"}", 7);
	observe(m, "w", rec);
	t = text_of(m, &g);
	ck_assert_ptr_nonnull(strstr(t,
	    "{worker=\"w\",status=\"_other\"} 1\n"));
	free(t);
	metrics_free(m);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc;

	tc = tcase_create("metrics_write");
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_queues);
	tcase_add_test(tc, test_streams);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_write_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("metrics_label");
	tcase_add_test(tc, test_label_escape);
	tcase_add_test(tc, test_label_in_output);
	suite_add_tcase(s, tc);

	tc = tcase_create("metrics_observe");
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_odd_records);
	tcase_add_test(tc, test_sum_text);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_bound_small);
	tcase_add_test(tc, test_long_status);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
