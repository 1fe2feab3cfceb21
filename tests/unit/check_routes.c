/* Unit tests of supervisor/routes.c: the route table, route_match() and
 * route_path(). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/routes.h"

/* Every route: method, a path with sample parameters, and those
 * parameters. */
static const struct {
	enum route_id	 id;
	const char	*method, *path, *p0, *p1;
	int		 needs_token, has_body;
} table[] = {
	{ R_DASHBOARD, "GET", "/", NULL, NULL, 0, 0 },
	{ R_HEALTHZ, "GET", "/healthz", NULL, NULL, 0, 0 },
	{ R_METRICS, "GET", "/metrics", NULL, NULL, 1, 0 },
	{ R_DAEMON, "GET", "/api/v1/daemon", NULL, NULL, 1, 0 },
	{ R_SYNC_TRIGGER, "POST", "/api/v1/workers/sync/trigger", NULL, NULL,
	  1, 1 },
	{ R_AI_TRIGGER, "POST", "/api/v1/workers/ai/process/trigger", NULL,
	  NULL, 1, 1 },
	{ R_SCHED_STATUS, "GET", "/api/v1/workers/scheduler/status", NULL,
	  NULL, 1, 0 },
	{ R_SCHED_PAUSE, "POST", "/api/v1/workers/scheduler/email_sync/pause",
	  "email_sync", NULL, 1, 0 },
	{ R_SCHED_RESUME, "POST", "/api/v1/workers/scheduler/j.1/resume",
	  "j.1", NULL, 1, 0 },
	{ R_SCHED_REMOVE, "DELETE", "/api/v1/workers/scheduler/j-2", "j-2",
	  NULL, 1, 0 },
	{ R_MONITOR_STATS, "GET", "/api/v1/workers/monitor/stats", NULL, NULL,
	  1, 0 },
	{ R_MONITOR_CLEAR, "DELETE", "/api/v1/workers/monitor/stats", NULL,
	  NULL, 1, 0 },
	{ R_MONITOR_FAILURES, "GET", "/api/v1/workers/monitor/failures", NULL,
	  NULL, 1, 0 },
	{ R_MONITOR_HISTORY, "GET", "/api/v1/workers/monitor/w_3/history",
	  "w_3", NULL, 1, 0 },
	{ R_JOB_TRIGGER, "POST", "/api/v1/jobs/tick/trigger", "tick", NULL, 1,
	  1 },
	{ R_JOBS_ACTIVE, "GET", "/api/v1/jobs/active", NULL, NULL, 1, 0 },
	{ R_JOB_GET, "GET", "/api/v1/jobs/0f8e6bb8-3f4c-4b8e-9c1e-6a3c2d9e7b10",
	  "0f8e6bb8-3f4c-4b8e-9c1e-6a3c2d9e7b10", NULL, 1, 0 },
	{ R_JOB_REVOKE, "POST", "/api/v1/jobs/1700000000000-0/revoke",
	  "1700000000000-0", NULL, 1, 0 },
	{ R_QUEUES, "GET", "/api/v1/queues", NULL, NULL, 1, 0 },
	{ R_QUEUE_ENQUEUE, "POST", "/api/v1/queues/sync/enqueue", "sync", NULL,
	  1, 1 },
	{ R_QUEUE_PURGE, "POST", "/api/v1/queues/send/purge", "send", NULL, 1,
	  0 },
	{ R_DLQ_PEEK, "GET", "/api/v1/dlq", NULL, NULL, 1, 0 },
	{ R_DLQ_REPROCESS, "POST", "/api/v1/dlq/reprocess", NULL, NULL, 1, 1 },
	{ R_DLQ_PURGE, "DELETE", "/api/v1/dlq", NULL, NULL, 1, 0 },
	{ R_CURSOR_SHOW, "GET", "/api/v1/cursors/sync", "sync", NULL, 1, 0 },
	{ R_CURSOR_RESET, "DELETE", "/api/v1/cursors/sync", "sync", NULL, 1,
	  0 },
	{ R_STREAMS, "GET", "/api/v1/streams", NULL, NULL, 1, 0 },
	{ R_STREAM_ENTRIES, "GET", "/api/v1/streams/mail/entries", "mail",
	  NULL, 1, 0 },
};

#define NTABLE	(sizeof(table) / sizeof(table[0]))

static char params[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX];
static char allow[128];
static int status;

/* route_match()'s id, or -status when it matched none. */
static int
match(const char *method, const char *path)
{
	const struct route *r;

	memset(params, 'Z', sizeof(params));
	status = -1;
	r = route_match(method, path, params, &status, allow, sizeof(allow));
	if (r != NULL)
		return (int)r->id;
	return -status;
}

/* ---- route_get ---- */

START_TEST(test_get)
{
	ck_assert_uint_eq(NTABLE, R_COUNT);
	for (size_t i = 0; i < NTABLE; i++) {
		const struct route *r = route_get(table[i].id);

		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->id, table[i].id);
		ck_assert_str_eq(r->method, table[i].method);
		ck_assert_int_eq(r->needs_token, table[i].needs_token);
		ck_assert_int_eq(r->has_body, table[i].has_body);
	}
	ck_assert_ptr_null(route_get(R_COUNT));
	ck_assert_ptr_null(route_get((enum route_id)-1));
	ck_assert_ptr_null(route_get((enum route_id)1000));
}
END_TEST

/* ---- route_match ---- */

START_TEST(test_every_route)
{
	for (size_t i = 0; i < NTABLE; i++) {
		ck_assert_msg(match(table[i].method, table[i].path) ==
		    (int)table[i].id, "%s %s: %d", table[i].method,
		    table[i].path, match(table[i].method, table[i].path));
		if (table[i].p0 != NULL)
			ck_assert_str_eq(params[0], table[i].p0);
	}
}
END_TEST

/* Literal segments win over a parameter in the same place. */
START_TEST(test_literals_first)
{
	ck_assert_int_eq(match("GET", "/api/v1/jobs/active"), R_JOBS_ACTIVE);
	ck_assert_int_eq(match("GET", "/api/v1/jobs/activ"), R_JOB_GET);
	ck_assert_str_eq(params[0], "activ");
	ck_assert_int_eq(match("GET", "/api/v1/workers/scheduler/status"),
	    R_SCHED_STATUS);
	ck_assert_int_eq(match("GET", "/api/v1/workers/monitor/stats"),
	    R_MONITOR_STATS);
	ck_assert_int_eq(match("GET", "/api/v1/workers/monitor/failures"),
	    R_MONITOR_FAILURES);
	/* A job may be named like a literal segment. */
	ck_assert_int_eq(match("POST",
	    "/api/v1/workers/scheduler/status/pause"), R_SCHED_PAUSE);
	ck_assert_str_eq(params[0], "status");
	ck_assert_int_eq(match("POST", "/api/v1/jobs/active/trigger"),
	    R_JOB_TRIGGER);
	ck_assert_str_eq(params[0], "active");
}
END_TEST

START_TEST(test_not_found)
{
	static const char *const paths[] = {
		"", "x", "//", "///", "/healthz/", "//healthz", "/healthz//",
		"/Healthz", "/healthz?x=1", "/api", "/api/v1", "/api/v1/",
		"/api/v2/daemon", "/API/v1/daemon", "/api/v1/daemon/x",
		"/api/v1/jobs/", "/api/v1/jobs//trigger",
		"/api/v1/workers/scheduler//pause",
		"/api/v1/workers/scheduler/",
		"/api/v1/workers/monitor//history",
		"/api/v1/jobs/a/b/trigger", "/api/v1/jobs/x/trigger/",
		"api/v1/daemon", "/./healthz", "/api/v1/../v1/daemon",
		"/metrics%00", "/%68ealthz",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ck_assert_msg(match("GET", paths[i]) == -404, "GET '%s': %d",
		    paths[i], match("GET", paths[i]));
		ck_assert_str_eq(allow, "");
		ck_assert_int_eq(match("PATCH", paths[i]), -404);
	}
}
END_TEST

/* Another method on a path that exists: 405 and the methods it has. */
START_TEST(test_method_not_allowed)
{
	ck_assert_int_eq(match("DELETE", "/"), -405);
	ck_assert_str_eq(allow, "GET");
	ck_assert_int_eq(match("HEAD", "/metrics"), -405);
	ck_assert_str_eq(allow, "GET");
	ck_assert_int_eq(match("POST", "/healthz"), -405);
	ck_assert_str_eq(allow, "GET");
	ck_assert_int_eq(match("PUT", "/api/v1/dlq"), -405);
	ck_assert_str_eq(allow, "GET, DELETE");
	ck_assert_int_eq(match("POST", "/api/v1/workers/monitor/stats"),
	    -405);
	ck_assert_str_eq(allow, "GET, DELETE");
	ck_assert_int_eq(match("GET", "/api/v1/dlq/reprocess"), -405);
	ck_assert_str_eq(allow, "POST");
	ck_assert_int_eq(match("GET", "/api/v1/workers/scheduler/x"), -405);
	ck_assert_str_eq(allow, "DELETE");
	ck_assert_int_eq(match("DELETE", "/api/v1/jobs/x"), -405);
	ck_assert_str_eq(allow, "GET");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/x/revoke"), -405);
	ck_assert_str_eq(allow, "POST");
	/* status is GET here, and DELETE as a job's name. */
	ck_assert_int_eq(match("POST", "/api/v1/workers/scheduler/status"),
	    -405);
	ck_assert_str_eq(allow, "GET, DELETE");
	/* Methods are case-sensitive. */
	ck_assert_int_eq(match("get", "/healthz"), -405);
	ck_assert_str_eq(allow, "GET");
	ck_assert_int_eq(match("", "/healthz"), -405);
}
END_TEST

/* No room for Allow: still 405, and nothing written. */
START_TEST(test_allow_small)
{
	char small[4] = "abc";
	const struct route *r;

	r = route_match("PUT", "/api/v1/dlq", params, &status, small, 0);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(status, 405);
	ck_assert_str_eq(small, "abc");
	r = route_match("PUT", "/api/v1/dlq", params, &status, small,
	    sizeof(small));
	ck_assert_ptr_null(r);
	ck_assert_int_eq(status, 405);
	ck_assert_str_eq(small, "GET");
}
END_TEST

/* Parameters are %-decoded, and refused when malformed. */
START_TEST(test_decoding)
{
	ck_assert_int_eq(match("GET", "/api/v1/jobs/%41%62"), R_JOB_GET);
	ck_assert_str_eq(params[0], "Ab");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/%c3%A9t%C3%a9"), R_JOB_GET);
	ck_assert_str_eq(params[0], "\xc3\xa9t\xc3\xa9");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/a+b%20c"), R_JOB_GET);
	ck_assert_str_eq(params[0], "a+b c");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/%25"), R_JOB_GET);
	ck_assert_str_eq(params[0], "%");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/%2e%2e"), R_JOB_GET);
	ck_assert_str_eq(params[0], "..");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/.."), R_JOB_GET);
	ck_assert_str_eq(params[0], "..");
	ck_assert_int_eq(match("GET", "/api/v1/jobs/."), R_JOB_GET);
	ck_assert_str_eq(params[0], ".");
	ck_assert_int_eq(match("POST", "/api/v1/queues/%73ync/enqueue"),
	    R_QUEUE_ENQUEUE);
	ck_assert_str_eq(params[0], "sync");
}
END_TEST

START_TEST(test_bad_params)
{
	static const char *const paths[] = {
		"/api/v1/jobs/%00", "/api/v1/jobs/a%00b", "/api/v1/jobs/%2F",
		"/api/v1/jobs/%2f", "/api/v1/jobs/a%2Fb", "/api/v1/jobs/%",
		"/api/v1/jobs/%2", "/api/v1/jobs/a%", "/api/v1/jobs/%zz",
		"/api/v1/jobs/%g0", "/api/v1/jobs/%-1", "/api/v1/jobs/%%41",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ck_assert_msg(match("GET", paths[i]) == -400, "GET '%s': %d",
		    paths[i], match("GET", paths[i]));
	ck_assert_int_eq(match("POST", "/api/v1/jobs/%00/trigger"), -400);
	ck_assert_int_eq(match("POST", "/api/v1/jobs/%00/revoke"), -400);
	ck_assert_int_eq(match("DELETE", "/api/v1/workers/scheduler/%2F"),
	    -400);
	/* A bad parameter where only another method has the path: 400. */
	ck_assert_int_eq(match("DELETE", "/api/v1/jobs/%00"), -400);
}
END_TEST

/* Parameters up to ROUTE_PARAM_MAX - 1 bytes once decoded. */
START_TEST(test_long)
{
	static char path[300000];
	size_t n;

	n = (size_t)snprintf(path, sizeof(path), "/api/v1/jobs/");
	memset(path + n, 'j', ROUTE_PARAM_MAX - 1);
	path[n + ROUTE_PARAM_MAX - 1] = '\0';
	ck_assert_int_eq(match("GET", path), R_JOB_GET);
	ck_assert_uint_eq(strlen(params[0]), ROUTE_PARAM_MAX - 1);
	path[n + ROUTE_PARAM_MAX - 1] = 'j';
	path[n + ROUTE_PARAM_MAX] = '\0';
	ck_assert_int_eq(match("GET", path), -400);
	/* 255 bytes written as %-escapes: 765 characters, fine. */
	n = (size_t)snprintf(path, sizeof(path), "/api/v1/jobs/");
	for (size_t i = 0; i < ROUTE_PARAM_MAX - 1; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%%41");
	ck_assert_int_eq(match("GET", path), R_JOB_GET);
	ck_assert_uint_eq(strlen(params[0]), ROUTE_PARAM_MAX - 1);
	ck_assert_int_eq(params[0][0], 'A');
	/* Very long paths: many segments, one huge segment. */
	for (n = 0; n + 2 < sizeof(path); n += 2)
		memcpy(path + n, "/a", 2);
	path[n] = '\0';
	ck_assert_int_eq(match("GET", path), -404);
	memset(path, '/', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(match("GET", path), -404);
	n = (size_t)snprintf(path, sizeof(path), "/api/v1/jobs/");
	memset(path + n, 'x', sizeof(path) - n - 1);
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(match("GET", path), -400);
	memcpy(path, "/api/v1/daemon", 14);
	ck_assert_int_eq(match("GET", path), -404);
}
END_TEST

/* ---- route_path ---- */

START_TEST(test_path_every_route)
{
	char buf[512];

	for (size_t i = 0; i < NTABLE; i++) {
		const char *p[2] = { table[i].p0, table[i].p1 };
		size_t np = (p[0] != NULL) + (p[1] != NULL);

		ck_assert_int_eq(route_path(table[i].id, p, np, buf,
		    sizeof(buf)), (int)strlen(table[i].path));
		ck_assert_str_eq(buf, table[i].path);
	}
}
END_TEST

/* Anything goes in, %-encoded; route_match() gives it back (but a
 * '/'). */
START_TEST(test_path_round_trip)
{
	static const char *const values[] = {
		"a b", "a/b", "100%", "..", ".", "?x=1#frag", "\"<>\\",
		"\xc3\xa9\xff\x01", "-._~", "A-Za-z0-9", "+",
	};
	static const char *const want[] = {
		"a%20b", "a%2Fb", "100%25", "..", ".", "%3Fx%3D1%23frag",
		"%22%3C%3E%5C", "%C3%A9%FF%01", "-._~", "A-Za-z0-9", "%2B",
	};
	char buf[512], exp[512];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		const char *p[1] = { values[i] };

		ck_assert_int_ge(route_path(R_JOB_REVOKE, p, 1, buf,
		    sizeof(buf)), 0);
		snprintf(exp, sizeof(exp), "/api/v1/jobs/%s/revoke", want[i]);
		ck_assert_str_eq(buf, exp);
		if (strchr(values[i], '/') != NULL) {
			/* Built, but no parameter may hold a '/'. */
			ck_assert_int_eq(match("POST", buf), -400);
			continue;
		}
		ck_assert_int_eq(match("POST", buf), R_JOB_REVOKE);
		ck_assert_str_eq(params[0], values[i]);
	}
}
END_TEST

START_TEST(test_path_refused)
{
	const char *one[1] = { "x" }, *two[2] = { "x", "y" };
	const char *none[1] = { NULL };
	char buf[64];

	/* Wrong parameter counts. */
	ck_assert_int_eq(route_path(R_JOB_GET, NULL, 0, buf, sizeof(buf)), -1);
	ck_assert_int_eq(route_path(R_JOB_GET, two, 2, buf, sizeof(buf)), -1);
	ck_assert_int_eq(route_path(R_HEALTHZ, one, 1, buf, sizeof(buf)), -1);
	ck_assert_int_eq(route_path(R_JOB_GET, none, 1, buf, sizeof(buf)), -1);
	/* No such route. */
	ck_assert_int_eq(route_path(R_COUNT, NULL, 0, buf, sizeof(buf)), -1);
	/* Buffers: exactly enough, one byte short, none. */
	ck_assert_int_eq(route_path(R_HEALTHZ, NULL, 0, buf, 9), 8);
	ck_assert_str_eq(buf, "/healthz");
	ck_assert_int_eq(route_path(R_HEALTHZ, NULL, 0, buf, 8), -1);
	ck_assert_int_eq(route_path(R_HEALTHZ, NULL, 0, buf, 0), -1);
	one[0] = "/";
	ck_assert_int_eq(route_path(R_JOB_GET, one, 1, buf, 17), 16);
	ck_assert_str_eq(buf, "/api/v1/jobs/%2F");
	ck_assert_int_eq(route_path(R_JOB_GET, one, 1, buf, 16), -1);
	ck_assert_int_eq(route_path(R_JOB_GET, one, 1, buf, 14), -1);
}
END_TEST

static Suite *
routes_suite(void)
{
	Suite *s = suite_create("routes");
	TCase *tc;

	tc = tcase_create("route_get");
	tcase_add_test(tc, test_get);
	suite_add_tcase(s, tc);

	tc = tcase_create("route_match");
	tcase_add_test(tc, test_every_route);
	tcase_add_test(tc, test_literals_first);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_allow_small);
	tcase_add_test(tc, test_decoding);
	tcase_add_test(tc, test_bad_params);
	tcase_add_test(tc, test_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("route_path");
	tcase_add_test(tc, test_path_every_route);
	tcase_add_test(tc, test_path_round_trip);
	tcase_add_test(tc, test_path_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(routes_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
