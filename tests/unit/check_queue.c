/* Unit tests of supervisor/queue.c (and stats_record_tx) against a real
 * redis-server (tests/redis.sh) on a unix socket, with a real loop. */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "tests/unit/redis_scratch.h"
#include "shared/buf.h"
#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/record.h"
#include "supervisor/conf.h"
#include "supervisor/queue.h"
#include "supervisor/rds.h"
#include "supervisor/stats.h"

static char root[] = "/tmp/check_queue.XXXXXX";

static const char conf_text[] =
    "[job:sync]\n"
    "command = /bin/echo {user_id} {days}\n"
    "timeout = 1\n"
    "soft_timeout = 1\n"
    "args = days:int(0..365)=1\n"
    "[job:send]\n"
    "command = /bin/echo {to}\n"
    "args = to:string(64)\n"
    "[job:eat]\n"
    "command = /bin/cat\n"
    "consume = feed\n"
    "[account:alice]\n"
    "tenant_id = acme\n"
    "user_id = alice\n"
    "credentials = /nonexistent/alice.json\n";

/* Per test (tests fork). */
static char dir[PATH_MAX], sock[PATH_MAX];
static pid_t srv_pid;
static struct event_base *base;
static struct rds *cmd, *blk;
static struct stats *st;
static struct conf *conf;
static redisContext *rc;
static struct qmsg *got[64];
static int ngot;

static void
srv_start(void)
{
	char c[PATH_MAX + 64], line[2 * PATH_MAX];
	FILE *p;
	long pid;

	snprintf(c, sizeof(c), "tests/redis.sh '%s'", dir);
	ck_assert_ptr_nonnull(p = popen(c, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_int_eq(sscanf(line, "%4095s %ld", sock, &pid), 2);
	srv_pid = (pid_t)pid;
}

static void
srv_stop(void)
{
	int i;

	if (srv_pid <= 0)
		return;
	kill(srv_pid, SIGTERM);
	for (i = 0; i < 500 && waitpid(srv_pid, NULL, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 500) {
		kill(srv_pid, SIGKILL);
		waitpid(srv_pid, NULL, 0);
	}
	srv_pid = 0;
}

static void
deliver_cb(void *arg, struct qmsg *m)
{
	(void)arg;
	ck_assert_int_lt(ngot, 64);
	got[ngot++] = m;
}

static void
setup(void)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/tXXXXXX", root);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	srv_start();
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(cmd = rds_new(base, NULL, sock, NULL, 0));
	ck_assert_ptr_nonnull(blk = rds_new(base, NULL, sock, NULL, 0));
	ck_assert_ptr_nonnull(st = stats_new(cmd, "", 100, 3600, 100, 0));
	snprintf(path, sizeof(path), "%s/mv.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(conf_text, f);
	fclose(f);
	ck_assert_ptr_nonnull(conf = conf_load(path, stderr));
	ck_assert_ptr_nonnull(rc = redisConnectUnix(sock));
	ck_assert_int_eq(rc->err, 0);
	ngot = 0;
}

static void
teardown(void)
{
	redisFree(rc);
	stats_free(st);
	rds_free(blk);
	rds_free(cmd);
	event_base_free(base);
	conf_free(conf);
	srv_stop();
}

/* Runs the loop for ms milliseconds. */
static void
spin(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Runs the loop until *n reaches want or ms passed; returns *n. */
static int
spin_until(const int *n, int want, int ms)
{
	int i;

	for (i = 0; i < ms / 10 && *n < want; i++)
		spin(10);
	return *n;
}

/* A synchronous command's integer reply (-1 for an error or nil). */
static long long
rint_(const char *fmt, ...)
{
	redisReply *r;
	long long v = -1;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	ck_assert_ptr_nonnull(r);
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	freeReplyObject(r);
	return v;
}

/* XADD of the nul-terminated field/value list to queue NAME; the new id
 * into id. */
static void
xadd(char *id, size_t idlen, const char *queue, ...)
{
	const char *v[40];
	char key[128];
	redisReply *r;
	va_list ap;
	int n = 3;

	snprintf(key, sizeof(key), "mailvisor:queue:%s", queue);
	v[0] = "XADD"; v[1] = key; v[2] = "*";
	va_start(ap, queue);
	while (n < 40 && (v[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	ck_assert_ptr_nonnull(r = redisCommandArgv(rc, n, v, NULL));
	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	if (id != NULL)
		strlcpy(id, r->str, idlen);
	freeReplyObject(r);
}

/* The number of entries pending in queue's group. */
static long long
pending(const char *queue)
{
	redisReply *r;
	long long n;

	r = redisCommand(rc, "XPENDING mailvisor:queue:%s mailvisor", queue);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	n = r->element[0]->integer;
	freeReplyObject(r);
	return n;
}

/* The field f of the DLQ's entry number i, or "" (caller frees). */
static char *
dlq_field(size_t i, const char *f)
{
	redisReply *r, *e;
	char *s = NULL;

	r = redisCommand(rc, "XRANGE mailvisor:dlq - + COUNT 100");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	if (i < r->elements) {
		e = r->element[i]->element[1];
		for (size_t k = 0; k + 1 < e->elements; k += 2)
			if (strcmp(e->element[k]->str, f) == 0)
				s = strdup(e->element[k + 1]->str);
	}
	freeReplyObject(r);
	return s ? s : strdup("");
}

/* A tool's result: tool_res (NULL on failure) and tool_status. */
static json_t *tool_res;
static int tool_status, tool_n;

static void
tool_cb(void *arg, json_t *res, int status, const char *msg)
{
	(void)arg;
	(void)msg;
	tool_res = res;
	tool_status = status;
	tool_n++;
}

/* Waits for the tool just started (rc its return) to answer. */
static json_t *
tool_wait(int sent)
{
	ck_assert_int_eq(sent, 0);
	tool_n = 0;
	ck_assert_int_eq(spin_until(&tool_n, 1, 2000), 1);
	return tool_res;
}

static struct queue_conf qc2[2] = {
	{ "hi", 10, 2, { 0.2, 1, 0.2, 0 }, 0, NULL, 0 },
	{ "lo", 3, 0, { 0.2, 1, 0.2, 0 }, 0, NULL, 0 },
};

static struct queue *
mkq(const char *consumer)
{
	struct queue_opts o = { NULL, consumer, NULL, 0, 1, 0, 300, 200, 0 };
	struct queue *q;

	q = queue_new(base, cmd, blk, st, qc2, 2, &o, conf, deliver_cb, NULL);
	ck_assert_ptr_nonnull(q);
	spin(50);
	return q;
}

/* A minimal record of a run of m with status. */
static json_t *
rec(const struct qmsg *m, const char *status)
{
	return mv_record_skeleton(m->job->name, m->job_id, status,
	    m->attempt, time(NULL));
}

/* Waits until the stats buffer is written. */
static void
flushed(void)
{
	struct stats_counters c;
	int i;

	for (i = 0; i < 300; i++) {
		stats_counters(st, &c);
		if (c.buffered == 0)
			return;
		spin(10);
	}
	ck_abort_msg("records not written");
}

START_TEST(queue_poll_delivers_and_acks_after_record)
{
	struct queue *q = mkq("c1");
	struct queue_counters c;
	char id[48];
	redisReply *r;

	xadd(id, sizeof(id), "hi", "job", "sync", "args", "{\"days\":3}",
	    "tenant_id", "acme", "user_id", "alice", NULL);
	queue_poll(q, 1);
	ck_assert_int_eq(spin_until(&ngot, 1, 2000), 1);
	ck_assert_str_eq(got[0]->id, id);
	ck_assert_str_eq(got[0]->job_id, id);
	ck_assert_str_eq(got[0]->job->name, "sync");
	ck_assert_str_eq(got[0]->acct->name, "alice");
	ck_assert_str_eq(got[0]->queue, "hi");
	ck_assert_int_eq(got[0]->attempt, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(got[0]->args,
	    "days")), 3);
	/* Not acknowledged while it runs; with no idempotency key, no hold
	 * is taken. */
	spin(50);
	ck_assert_int_eq(pending("hi"), 1);
	r = redisCommand(rc, "KEYS mailvisor:idem:*");
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	ck_assert_int_eq(r->elements, 0);
	freeReplyObject(r);
	queue_counters(q, &c);
	ck_assert_int_eq(c.running, 1);
	queue_finish(q, got[0], rec(got[0], "success"), Q_ACK, 0, NULL);
	flushed();
	ck_assert_int_eq(pending("hi"), 0);
	ck_assert_int_eq(rint_("LLEN worker:history:sync"), 1);
	ck_assert_int_eq(rint_("EXISTS worker:metrics:sync:%s", id), 1);
	queue_counters(q, &c);
	ck_assert_int_eq(c.running, 0);
	ck_assert_int_eq(c.acked, 1);
	queue_free(q);
}
END_TEST

START_TEST(queue_poll_no_slot_no_delivery)
{
	struct queue *q = mkq("c1");

	xadd(NULL, 0, "hi", "job", "sync", "tenant_id", "acme", "user_id",
	    "alice", NULL);
	queue_poll(q, 0);
	spin(400);
	ck_assert_int_eq(ngot, 0);
	queue_poll(q, 1);
	ck_assert_int_eq(spin_until(&ngot, 1, 2000), 1);
	queue_free(q);
}
END_TEST

/* Read and checked ahead while no slot is free (one script call for the
 * batch); a slot that frees up starts one with no command sent. */
START_TEST(queue_poll_checked_ahead)
{
	struct queue *q = mkq("c1");
	char id[3][48], key[3][16];
	redisReply *r;
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(key[i], sizeof(key[i]), "ahead-%d", i);
		xadd(id[i], sizeof(id[i]), "hi", "job", "sync", "tenant_id",
		    "acme", "user_id", "alice", "idempotency_key", key[i],
		    NULL);
	}
	queue_poll(q, 0);
	/* Within a tick, the stream is read again and the batch checked. */
	for (i = 0; i < 200 && rint_("EXISTS mailvisor:idem:ahead-2") == 0;
	    i++)
		spin(5);
	spin(5);
	r = redisCommand(rc, "CONFIG RESETSTAT");
	freeReplyObject(r);
	queue_poll(q, 1);
	ck_assert_int_eq(ngot, 1);
	ck_assert_str_eq(got[0]->id, id[0]);
	spin(20);
	ck_assert_int_eq(redis_scratch_calls(rc, "evalsha") +
	    redis_scratch_calls(rc, "eval"), 0);
	for (i = 0; i < 3; i++) {
		r = redisCommand(rc, "GET mailvisor:idem:%s", key[i]);
		ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
		ck_assert_str_eq(r->str, id[i]);
		freeReplyObject(r);
	}
	queue_finish(q, got[0], rec(got[0], "success"), Q_ACK, 0, NULL);
	flushed();
	queue_free(q);
}
END_TEST

/* 1 once a client of the server is blocked (an XREAD BLOCK in). */
static int
blocked(void)
{
	redisReply *r = redisCommand(rc, "INFO clients");
	int b;

	ck_assert_ptr_nonnull(r);
	b = r->type == REDIS_REPLY_STRING &&
	    strstr(r->str, "blocked_clients:0") == NULL;
	freeReplyObject(r);
	return b;
}

/* An idle stream a job consumes: a new entry is read as soon as it is
 * added, through the wake read, not at the next tick (an hour away here,
 * so only the wake read can start it). */
START_TEST(queue_consume_woken)
{
	struct queue_conf qc[1] = {
		{ "feed", 5, 0, { 0.2, 1, 0.2, 0 }, 0, "eat", 1 },
	};
	struct queue_opts o = { NULL, "c1", NULL, 0, 1, 0, 10000, 200,
	    3600 * 1000 };
	struct rds *wake;
	struct queue *q;
	redisReply *r;
	int i;

	ck_assert_ptr_nonnull(wake = rds_new(base, NULL, sock, NULL, 0));
	rds_set_timeout(wake, 30);
	ck_assert_ptr_nonnull(q = queue_new(base, cmd, blk, st, qc, 1, &o,
	    conf, deliver_cb, NULL));
	queue_set_wake(q, wake);
	queue_poll(q, 1);
	for (i = 0; i < 1000 && !blocked(); i++)
		spin(5);
	ck_assert_int_eq(blocked(), 1);
	ck_assert_int_eq(ngot, 0);
	ck_assert_ptr_nonnull(r = redisCommand(rc, "XADD mailvisor:stream:feed"
	    " * data {\"n\":1} key k1"));
	freeReplyObject(r);
	ck_assert_int_eq(spin_until(&ngot, 1, 5000), 1);
	ck_assert_str_eq(got[0]->stream, "feed");
	ck_assert_str_eq(json_string_value(json_object_get(got[0]->fields,
	    "data")), "{\"n\":1}");
	queue_finish(q, got[0], rec(got[0], "success"), Q_ACK, 0, NULL);
	flushed();
	/* The slot free again: waiting for the next one. */
	queue_poll(q, 1);
	spin(50);
	for (i = 0; i < 1000 && !blocked(); i++)
		spin(5);
	ck_assert_int_eq(ngot, 1);
	ck_assert_ptr_nonnull(r = redisCommand(rc, "XADD mailvisor:stream:feed"
	    " * data {\"n\":2} key k2"));
	freeReplyObject(r);
	ck_assert_int_eq(spin_until(&ngot, 2, 5000), 2);
	queue_finish(q, got[1], rec(got[1], "success"), Q_ACK, 0, NULL);
	flushed();
	queue_free(q);
	rds_free(wake);
}
END_TEST

/* 9 high after 3 low, one slot: strict priority, every 4th the oldest. */
START_TEST(queue_poll_priority_without_starvation)
{
	struct queue *q = mkq("c1");
	char order[16] = "";
	int i, k;

	for (i = 0; i < 3; i++)
		xadd(NULL, 0, "lo", "job", "sync", "tenant_id", "acme",
		    "user_id", "alice", NULL);
	for (i = 0; i < 9; i++)
		xadd(NULL, 0, "hi", "job", "sync", "tenant_id", "acme",
		    "user_id", "alice", NULL);
	for (k = 0; k < 12; k++) {
		queue_poll(q, 1);
		ck_assert_int_eq(spin_until(&ngot, k + 1, 2000), k + 1);
		strlcat(order, strcmp(got[k]->queue, "hi") == 0 ? "H" : "L",
		    sizeof(order));
		queue_finish(q, got[k], rec(got[k], "success"), Q_ACK, 0,
		    NULL);
	}
	ck_assert_str_eq(order, "HHHLHHHLHHHL");
	flushed();
	ck_assert_int_eq(pending("hi") + pending("lo"), 0);
	queue_free(q);
}
END_TEST

struct bad {
	const char	*f[12];
	const char	*reason;
};

START_TEST(queue_poll_invalid_to_dlq)
{
	static const struct bad bad[] = {
		{ { "job", "nope", "tenant_id", "acme", "user_id", "alice" },
		    "unknown job" },
		{ { "job", "sync", "tenant_id", "acme", "user_id", "mallory" },
		    "tenant_id and user_id name no configured account" },
		{ { "job", "sync", "tenant_id", "acme" },
		    "no tenant_id or user_id" },
		{ { "job", "sync", "tenant_id", "acme", "user_id", "alice",
		    "argv", "/bin/sh" }, "field not allowed in a message" },
		{ { "job", "sync", "tenant_id", "acme", "user_id", "alice",
		    "credentials", "/x" }, "field not allowed in a message" },
		{ { "job", "sync", "tenant_id", "acme", "user_id", "alice",
		    "args", "[1]" }, "args not a JSON object" },
		{ { "job", "sync", "tenant_id", "acme", "user_id", "alice",
		    "attempt", "0" }, "attempt not a number from 1 to 1000" },
		{ { "job", "sync", "tenant_id", "acme\xff", "user_id",
		    "alice" }, "field not valid UTF-8" },
		{ { "job", "sync", "job", "sync", "tenant_id", "acme",
		    "user_id", "alice" }, "field given twice" },
	};
	struct queue *q = mkq("c1");
	size_t i, nb = sizeof(bad) / sizeof(bad[0]);
	const char *v[16];
	char *s, id[48];
	redisReply *r;
	int n;

	for (i = 0; i < nb; i++) {
		v[0] = "XADD"; v[1] = "mailvisor:queue:lo"; v[2] = "*";
		for (n = 0; bad[i].f[n] != NULL; n++)
			v[3 + n] = bad[i].f[n];
		r = redisCommandArgv(rc, 3 + n, v, NULL);
		ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
		freeReplyObject(r);
	}
	/* Declared but ill-typed, and undeclared arguments. */
	xadd(NULL, 0, "lo", "job", "sync", "tenant_id", "acme", "user_id",
	    "alice", "args", "{\"days\":\"x\"}", NULL);
	xadd(id, sizeof(id), "lo", "job", "sync", "tenant_id", "acme",
	    "user_id", "alice", "args", "{\"evil\":1}", NULL);
	queue_poll(q, 4);
	spin(600);
	ck_assert_int_eq(ngot, 0);
	flushed();
	ck_assert_int_eq(rint_("XLEN mailvisor:dlq"), (long long)nb + 2);
	for (i = 0; i < nb; i++) {
		s = dlq_field(i, "reason");
		ck_assert_msg(strcmp(s, bad[i].reason) == 0, "%zu: %s", i, s);
		free(s);
	}
	s = dlq_field(nb, "reason");
	ck_assert_ptr_nonnull(strstr(s, "days"));
	free(s);
	s = dlq_field(nb + 1, "reason");
	ck_assert_ptr_nonnull(strstr(s, "evil"));
	free(s);
	s = dlq_field(nb + 1, "id");
	ck_assert_str_eq(s, id);
	free(s);
	s = dlq_field(3, "fields");
	ck_assert_ptr_nonnull(strstr(s, "\"argv\":\"/bin/sh\""));
	free(s);
	ck_assert_int_eq(pending("lo"), 0);
	/* Each one recorded: unknown jobs under the queue's name. */
	ck_assert_int_eq(rint_("LLEN worker:history:queue:lo"), 6);
	ck_assert_int_eq(rint_("LLEN worker:history:sync"), 5);
	queue_free(q);
}
END_TEST

START_TEST(queue_poll_duplicate_skipped)
{
	struct queue *q = mkq("c1");
	struct queue_counters c;
	redisReply *r;

	xadd(NULL, 0, "hi", "job", "send", "args", "{\"to\":\"a\"}",
	    "tenant_id", "acme", "user_id", "alice", "idempotency_key", "K1",
	    NULL);
	xadd(NULL, 0, "hi", "job", "send", "args", "{\"to\":\"a\"}",
	    "tenant_id", "acme", "user_id", "alice", "idempotency_key", "K1",
	    NULL);
	xadd(NULL, 0, "hi", "job", "send", "args", "{\"to\":\"a\"}",
	    "tenant_id", "acme", "user_id", "alice", "idempotency_key", "K2",
	    NULL);
	queue_poll(q, 3);
	spin(500);
	ck_assert_int_eq(ngot, 2);
	ck_assert_str_ne(got[0]->id, got[1]->id);
	queue_counters(q, &c);
	ck_assert_int_eq(c.skipped, 1);
	flushed();
	r = redisCommand(rc, "LINDEX worker:history:send 0");
	ck_assert_ptr_nonnull(strstr(r->str, "\"status\":\"skipped\""));
	freeReplyObject(r);
	ck_assert_int_eq(pending("hi"), 2);
	ck_assert_int_eq(rint_("TTL mailvisor:idem:K1") > 6 * 86400, 1);
	queue_finish(q, got[0], rec(got[0], "success"), Q_ACK, 0, NULL);
	queue_finish(q, got[1], rec(got[1], "success"), Q_ACK, 0, NULL);
	flushed();
	ck_assert_int_eq(pending("hi"), 0);
	queue_free(q);
}
END_TEST

/* max_retries 2: three attempts 0.2 s apart, then the DLQ. */
START_TEST(queue_finish_retry_then_dlq)
{
	struct queue *q = mkq("c1");
	int64_t t0, t;
	char id[48], *s;
	int k;

	xadd(id, sizeof(id), "hi", "job", "sync", "tenant_id", "acme",
	    "user_id", "alice", NULL);
	queue_poll(q, 1);
	for (k = 0; k < 3; k++) {
		ck_assert_int_eq(spin_until(&ngot, k + 1, 3000), k + 1);
		t = mv_mono_ms();
		if (k > 0)
			ck_assert_int_ge(t - t0, 190);
		ck_assert_int_eq(got[k]->attempt, k + 1);
		ck_assert_str_eq(got[k]->job_id, id);
		t0 = t;
		queue_finish(q, got[k], rec(got[k], k == 1 ? "timeout" :
		    "failed"), Q_RETRY, 0, NULL);
		if (k < 2) {
			flushed();
			ck_assert_int_eq(rint_("ZCARD mailvisor:delayed"), 1);
		}
		queue_poll(q, 1);
	}
	spin(700);
	ck_assert_int_eq(ngot, 3);
	flushed();
	ck_assert_int_eq(rint_("ZCARD mailvisor:delayed"), 0);
	ck_assert_int_eq(rint_("XLEN mailvisor:dlq"), 1);
	s = dlq_field(0, "reason");
	ck_assert_str_eq(s, "attempts exhausted");
	free(s);
	s = dlq_field(0, "attempts");
	ck_assert_str_eq(s, "[\"failed\",\"timeout\",\"failed\"]");
	free(s);
	s = dlq_field(0, "job_id");
	ck_assert_str_eq(s, id);
	free(s);
	ck_assert_int_eq(pending("hi"), 0);
	ck_assert_int_eq(rint_("LLEN worker:history:sync"), 3);
	queue_free(q);
}
END_TEST

/* retry_after longer than the backoff is honoured; Q_DLQ goes at once. */
START_TEST(queue_finish_retry_after_and_dlq)
{
	struct queue *q = mkq("c1");
	redisReply *r;
	char *s;
	long long due;

	xadd(NULL, 0, "hi", "job", "sync", "tenant_id", "acme", "user_id",
	    "alice", NULL);
	xadd(NULL, 0, "lo", "job", "sync", "tenant_id", "acme", "user_id",
	    "alice", NULL);
	queue_poll(q, 2);
	ck_assert_int_eq(spin_until(&ngot, 2, 2000), 2);
	queue_finish(q, got[0], rec(got[0], "failed"), Q_RETRY, 30, NULL);
	queue_finish(q, got[1], rec(got[1], "bad_output"), Q_DLQ, 0,
	    "not retryable");
	flushed();
	r = redisCommand(rc, "ZRANGE mailvisor:delayed 0 -1 WITHSCORES");
	ck_assert_int_eq(r->elements, 2);
	due = strtoll(r->element[1]->str, NULL, 10);
	ck_assert_ptr_nonnull(strstr(r->element[0]->str, "\"attempt\",\"2\""));
	freeReplyObject(r);
	ck_assert_int_ge(due - (long long)time(NULL) * 1000, 28000);
	s = dlq_field(0, "reason");
	ck_assert_str_eq(s, "not retryable");
	free(s);
	ck_assert_int_eq(pending("hi") + pending("lo"), 0);
	queue_free(q);
}
END_TEST

static int claims[2], nclaims;

static void
claim_cb(void *arg, int won)
{
	claims[(int)(long)arg] = won;
	nclaims++;
}

START_TEST(queue_claim_fire_once)
{
	struct queue *a = mkq("a"), *b = mkq("b");

	nclaims = 0;
	ck_assert_int_eq(queue_claim_fire(a, "sync", 1700000000, claim_cb,
	    (void *)0L), 0);
	ck_assert_int_eq(queue_claim_fire(b, "sync", 1700000000, claim_cb,
	    (void *)1L), 0);
	ck_assert_int_eq(spin_until(&nclaims, 2, 2000), 2);
	ck_assert_int_eq(claims[0] + claims[1], 1);
	ck_assert_int_eq(claims[0], 1);
	ck_assert_int_ge(rint_("TTL mailvisor:fire:sync:1700000000"), 86000);
	/* Another fire time is another claim. */
	ck_assert_int_eq(queue_claim_fire(b, "sync", 1700000060, claim_cb,
	    (void *)1L), 0);
	ck_assert_int_eq(spin_until(&nclaims, 3, 2000), 3);
	ck_assert_int_eq(claims[1], 1);
	queue_free(a);
	queue_free(b);
}
END_TEST

/* Once written, the latest record of sync says revoked, and nothing is
 * pending in "hi". */
static void
revoked_and_acked(void)
{
	redisReply *r;

	flushed();
	r = redisCommand(rc, "LINDEX worker:history:sync 0");
	ck_assert_ptr_nonnull(strstr(r->str, "\"status\":\"revoked\""));
	freeReplyObject(r);
	ck_assert_int_eq(pending("hi"), 0);
}

START_TEST(queue_revoke_queued)
{
	struct queue *q = mkq("c1");
	char id[48];

	xadd(id, sizeof(id), "hi", "job", "sync", "tenant_id", "acme",
	    "user_id", "alice", NULL);
	ck_assert_int_eq(queue_revoke(q, id), 0);
	spin(50);
	queue_poll(q, 1);
	spin(400);
	ck_assert_int_eq(ngot, 0);
	revoked_and_acked();
	ck_assert_int_eq(rint_("SCARD mailvisor:revoked"), 0);
	queue_free(q);
}
END_TEST

/* Revoked after its check ahead: the verdict has grown old by its turn,
 * so it is checked again, recorded revoked and not run. */
START_TEST(queue_revoke_after_check)
{
	struct queue *q = mkq("c1");
	char id[48];

	xadd(id, sizeof(id), "hi", "job", "sync", "tenant_id", "acme",
	    "user_id", "alice", "idempotency_key", "rk", NULL);
	queue_poll(q, 0);
	spin(QUEUE_TICK_MS + 300);
	ck_assert_int_eq(rint_("EXISTS mailvisor:idem:rk"), 1);
	ck_assert_int_eq(queue_revoke(q, id), 0);
	spin(QUEUE_CHECK_FRESH_MS + 100);
	queue_poll(q, 1);
	spin(400);
	ck_assert_int_eq(ngot, 0);
	revoked_and_acked();
	queue_free(q);
}
END_TEST

START_TEST(queue_purge_and_dlq_tools)
{
	struct queue *q = mkq("c1");
	const char *dlq_id;
	json_t *a, *e;

	xadd(NULL, 0, "lo", "job", "sync", "tenant_id", "acme", "user_id",
	    "alice", NULL);
	a = tool_wait(queue_tool_enqueue(q, "lo", "sync", "acme", "alice",
	    NULL, "k1", tool_cb, NULL));
	ck_assert_str_eq(json_string_value(json_object_get(a, "queue")), "lo");
	ck_assert_str_eq(json_string_value(json_object_get(a, "id")),
	    json_string_value(json_object_get(a, "job_id")));
	json_decref(a);
	ck_assert_int_eq(queue_tool_enqueue(q, "nope", "sync", "acme", "alice",
	    NULL, NULL, tool_cb, NULL), -1);
	ck_assert_int_eq(errno, ENOENT);
	a = tool_wait(queue_tool_queues(q, tool_cb, NULL));
	e = json_array_get(json_object_get(a, "queues"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "name")), "lo");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "length")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "pending")), 0);
	json_decref(a);
	a = tool_wait(queue_tool_purge(q, "lo", tool_cb, NULL));
	ck_assert_int_eq(json_integer_value(json_object_get(a, "removed")), 2);
	json_decref(a);
	ck_assert_int_eq(rint_("XLEN mailvisor:queue:lo"), 0);
	ck_assert_int_eq(queue_tool_purge(q, "bad name", tool_cb, NULL), -1);
	/* Two dead letters: reprocess one, then all, then purge. */
	xadd(NULL, 0, "lo", "job", "sync", "tenant_id", "acme", "user_id",
	    "alice", "attempt", "2", NULL);
	xadd(NULL, 0, "lo", "job", "sync", "tenant_id", "acme", "user_id",
	    "alice", NULL);
	queue_poll(q, 2);
	ck_assert_int_eq(spin_until(&ngot, 2, 2000), 2);
	queue_finish(q, got[0], rec(got[0], "failed"), Q_DLQ, 0, "x");
	queue_finish(q, got[1], rec(got[1], "failed"), Q_DLQ, 0, "y");
	flushed();
	/* Done entries leave their stream. */
	ck_assert_int_eq(rint_("XLEN mailvisor:queue:lo"), 0);
	a = tool_wait(queue_tool_dlq_peek(q, "-", 10, tool_cb, NULL));
	ck_assert_int_eq(json_array_size(json_object_get(a, "entries")), 2);
	e = json_array_get(json_object_get(a, "entries"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "reason")), "x");
	ck_assert(json_is_object(json_object_get(e, "fields")));
	ck_assert(json_is_object(json_object_get(e, "record")));
	ck_assert(json_is_array(json_object_get(e, "attempts")));
	dlq_id = json_string_value(json_object_get(e, "dlq_id"));
	ck_assert_ptr_nonnull(dlq_id);
	e = tool_wait(queue_tool_dlq_reprocess(q, dlq_id, tool_cb, NULL));
	ck_assert_int_eq(json_integer_value(json_object_get(e,
	    "reprocessed")), 1);
	json_decref(e);
	json_decref(a);
	ck_assert_int_eq(rint_("XLEN mailvisor:dlq"), 1);
	ck_assert_int_eq(rint_("XLEN mailvisor:queue:lo"), 1);
	ck_assert_ptr_null(tool_wait(queue_tool_dlq_reprocess(q, "1-1",
	    tool_cb, NULL)));
	ck_assert_int_eq(tool_status, 404);
	a = tool_wait(queue_tool_dlq_reprocess(q, NULL, tool_cb, NULL));
	ck_assert_int_eq(json_integer_value(json_object_get(a,
	    "reprocessed")), 1);
	json_decref(a);
	ck_assert_int_eq(rint_("XLEN mailvisor:dlq"), 0);
	queue_free(q);
	/* Reprocessed: attempt reset, the same job (origin) runs again. */
	ngot = 0;
	q = mkq("c2");
	queue_poll(q, 5);
	ck_assert_int_eq(spin_until(&ngot, 2, 2000), 2);
	ck_assert_int_eq(got[0]->attempt, 1);
	ck_assert_str_ne(got[0]->id, got[0]->job_id);
	queue_finish(q, got[0], rec(got[0], "failed"), Q_DLQ, 0, "z");
	flushed();
	a = tool_wait(queue_tool_dlq_purge(q, tool_cb, NULL));
	ck_assert_int_eq(json_integer_value(json_object_get(a, "purged")), 1);
	json_decref(a);
	/* A tool cancelled before its answer never calls back. */
	ck_assert_int_eq(queue_tool_queues(q, tool_cb, &tool_n), 0);
	queue_tool_cancel(q, &tool_n);
	tool_n = 0;
	spin(100);
	ck_assert_int_eq(tool_n, 0);
	queue_free(q);
}
END_TEST

/* Redis stops while a job runs: its record and ack wait, then land. */
START_TEST(queue_finish_redis_restart)
{
	struct queue *q = mkq("c1");
	struct stats_counters sc;

	xadd(NULL, 0, "hi", "job", "sync", "tenant_id", "acme", "user_id",
	    "alice", NULL);
	queue_poll(q, 1);
	ck_assert_int_eq(spin_until(&ngot, 1, 2000), 1);
	redisFree(rc);
	srv_stop();
	spin(200);
	queue_finish(q, got[0], rec(got[0], "success"), Q_ACK, 0, NULL);
	spin(100);
	stats_counters(st, &sc);
	ck_assert_int_eq(sc.buffered, 1);
	srv_start();
	ck_assert_ptr_nonnull(rc = redisConnectUnix(sock));
	flushed();
	ck_assert_int_eq(pending("hi"), 0);
	ck_assert_int_eq(rint_("LLEN worker:history:sync"), 1);
	queue_free(q);
}
END_TEST

/* c1 dies mid-job (timeout 1 s + margin 1 s): c2 takes its entry over
 * after 2 s idle, not before, and not while c1 still heartbeats. */
START_TEST(queue_reclaim_dead_consumer)
{
	struct queue *q1 = mkq("c1"), *q2;
	struct queue_counters c;
	char id[48];
	int64_t t0;

	xadd(id, sizeof(id), "hi", "job", "sync", "tenant_id", "acme",
	    "user_id", "alice", NULL);
	queue_poll(q1, 1);
	ck_assert_int_eq(spin_until(&ngot, 1, 2000), 1);
	t0 = mv_mono_ms();
	queue_free(q1);		/* dies: no finish, no heartbeat */
	ngot = 0;
	q2 = mkq("c2");
	queue_poll(q2, 1);
	rint_("DEL mailvisor:consumer:c1");
	spin(1400);		/* idle < 2 s */
	ck_assert_int_eq(ngot, 0);
	rint_("SET mailvisor:consumer:c1 1 EX 15");
	while (mv_mono_ms() - t0 < 2800)
		spin(50);	/* idle > 2 s, but c1 heartbeats */
	ck_assert_int_eq(ngot, 0);
	ck_assert_int_eq(rint_("DEL mailvisor:consumer:c1"), 1);
	ck_assert_int_eq(spin_until(&ngot, 1, 2000), 1);
	ck_assert_str_eq(got[0]->id, id);
	ck_assert_int_eq(got[0]->attempt, 2);
	queue_counters(q2, &c);
	ck_assert_int_eq(c.reclaimed, 1);
	queue_finish(q2, got[0], rec(got[0], "success"), Q_ACK, 0, NULL);
	flushed();
	ck_assert_int_eq(pending("hi"), 0);
	queue_free(q2);
}
END_TEST

START_TEST(stats_record_tx_refuses)
{
	const char *v[] = { "SET", "k", "v" };
	struct stats_cmd x = { 3, v, NULL }, bad = { 0, v, NULL };
	json_t *r;

	spin(50);
	r = mv_record_skeleton("w", "j1", "success", 1, time(NULL));
	ck_assert_int_eq(stats_record_tx(st, "w", "j1", r, &bad, 1), -1);
	r = mv_record_skeleton("w", "j1", "success", 1, time(NULL));
	ck_assert_int_eq(stats_record_tx(st, "w", "j1", r, &x,
	    STATS_EXTRA_MAX + 1), -1);
	r = mv_record_skeleton("w", "j1", "success", 1, time(NULL));
	ck_assert_int_eq(stats_record_tx(st, "w", "j1", r, &x, 1), 0);
	flushed();
	ck_assert_int_eq(rint_("EXISTS k"), 1);
	ck_assert_int_eq(rint_("LLEN worker:history:w"), 1);
}
END_TEST

START_TEST(queue_new_refuses)
{
	struct queue_conf badq = { "bad name", 1, 0, { 1, 1, 1, 0 }, 0, NULL, 0 };
	struct queue_conf *d;
	size_t n;

	ck_assert_ptr_null(queue_new(base, cmd, blk, st, &badq, 1, NULL,
	    conf, deliver_cb, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(queue_new(base, cmd, blk, st, qc2, 0, NULL,
	    conf, deliver_cb, NULL));
	ck_assert_ptr_nonnull(d = queue_defaults(&n));
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(d[0].name, "sync");
	ck_assert_int_eq(d[0].max_retries, 5);
	ck_assert(d[0].backoff.initial == 60 && d[0].backoff.max == 240);
	ck_assert_int_eq(d[3].priority, 3);
	queue_conf_free(d, n);
}
END_TEST

static TCase *
tc(const char *name)
{
	TCase *t = tcase_create(name);

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 20);
	return t;
}

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *t;

	t = tc("queue_poll");
	tcase_add_test(t, queue_poll_delivers_and_acks_after_record);
	tcase_add_test(t, queue_poll_no_slot_no_delivery);
	tcase_add_test(t, queue_poll_priority_without_starvation);
	tcase_add_test(t, queue_poll_invalid_to_dlq);
	tcase_add_test(t, queue_poll_duplicate_skipped);
	tcase_add_test(t, queue_poll_checked_ahead);
	suite_add_tcase(s, t);
	t = tc("queue_finish");
	tcase_add_test(t, queue_finish_retry_then_dlq);
	tcase_add_test(t, queue_finish_retry_after_and_dlq);
	tcase_add_test(t, queue_finish_redis_restart);
	suite_add_tcase(s, t);
	t = tc("queue_claim_fire");
	tcase_add_test(t, queue_claim_fire_once);
	suite_add_tcase(s, t);
	t = tc("queue_reclaim");
	tcase_add_test(t, queue_reclaim_dead_consumer);
	suite_add_tcase(s, t);
	t = tc("queue_revoke");
	tcase_add_test(t, queue_revoke_queued);
	tcase_add_test(t, queue_revoke_after_check);
	suite_add_tcase(s, t);
	t = tc("queue_dlq");
	tcase_add_test(t, queue_purge_and_dlq_tools);
	suite_add_tcase(s, t);
	t = tc("queue_consume_woken");
	tcase_add_test(t, queue_consume_woken);
	suite_add_tcase(s, t);
	t = tc("queue_new");
	tcase_add_test(t, queue_new_refuses);
	suite_add_tcase(s, t);
	t = tc("stats_record_tx");
	tcase_add_test(t, stats_record_tx_refuses);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("mailvisord", LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (redis_scratch_init(root, "check_queue") == -1)
		return EXIT_FAILURE;
	sr = srunner_create(queue_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	redis_scratch_remove(root);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
