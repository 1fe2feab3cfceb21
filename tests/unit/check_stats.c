/* Unit tests of supervisor/rds.c and supervisor/stats.c against a real
 * redis-server (tests/redis.sh) on a unix socket in a temp dir. */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
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
#include "supervisor/rds.h"
#include "supervisor/stats.h"

#define WEEK		(7L * 86400)
/* Every record starts an hour before the test runs: well inside every
 * retention the tests configure (failures_max_age, metrics TTL), whatever
 * the day. Set by main(). */
static char STARTED[32];

/* Every test's server lives in a directory under root, removed by main(). */
static char root[] = "/tmp/check_stats.XXXXXX";

struct srv {
	char	dir[128];
	char	sock[PATH_MAX];
	char	pwfile[PATH_MAX];	/* the server's password; "": none */
	int	port;			/* TCP as well; 0: none */
	pid_t	pid;
};

/* Per test (tests fork): the server, the loop, captured stderr. */
static struct srv S;
static struct event_base *base;
static int saved_stderr = -1;
static char logpath[PATH_MAX + 16];

static void
setup(void)
{
	char tmpl[PATH_MAX];

	memset(&S, 0, sizeof(S));
	snprintf(tmpl, sizeof(tmpl), "%s/tXXXXXX", root);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	strlcpy(S.dir, tmpl, sizeof(S.dir));
	snprintf(S.sock, sizeof(S.sock), "%s/redis.sock", S.dir);
	ck_assert_ptr_nonnull(base = event_base_new());
	/* Orphaned servers become ours, so that we can reap them. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

/* Starts v's server (again), per tests/redis.sh. */
static void
srv_start(struct srv *v)
{
	char cmd[3 * PATH_MAX + 64], line[2 * PATH_MAX];
	FILE *p;
	long pid;

	snprintf(cmd, sizeof(cmd), "tests/redis.sh '%s' %d '%s'", v->dir,
	    v->port, v->pwfile);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_int_eq(sscanf(line, "%4095s %ld", v->sock, &pid), 2);
	v->pid = (pid_t)pid;
}

/* Stops v's server with SIGTERM (it saves its data) and reaps it. */
static void
srv_stop(struct srv *v)
{
	int i;

	if (v->pid <= 0)
		return;
	kill(v->pid, SIGCONT);
	kill(v->pid, SIGTERM);
	for (i = 0; i < 500 && waitpid(v->pid, NULL, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 500) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
	}
	v->pid = 0;
}

static void
teardown(void)
{
	srv_stop(&S);
	event_base_free(base);
	if (saved_stderr != -1) {
		fflush(stderr);
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

/* Sends stderr (our log) to a file, for cap_text(). */
static void
cap_begin(void)
{
	int fd;

	snprintf(logpath, sizeof(logpath), "%s/log", S.dir);
	fflush(stderr);
	ck_assert_int_ne(saved_stderr = dup(2), -1);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	ck_assert_int_ne(fd, -1);
	dup2(fd, 2);
	close(fd);
}

/* The log so far (caller frees). */
static char *
cap_text(void)
{
	char *s;

	fflush(stderr);
	ck_assert_ptr_nonnull(s = mv_read_file(logpath, 1 << 20, NULL));
	return s;
}

/* How many times needle occurs in the log. */
static int
cap_count(const char *needle)
{
	char *s = cap_text(), *p = s;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	free(s);
	return n;
}

static void
wake_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

/* Runs the loop until pred(arg) or ms have passed; returns pred(arg). */
static int
run_until(int (*pred)(void *), void *arg, int ms)
{
	int64_t end = mv_mono_ms() + ms;
	struct event *wake = evtimer_new(base, wake_cb, NULL);
	struct timeval tv = { 0, 10000 };

	while (!pred(arg) && mv_mono_ms() < end) {
		evtimer_add(wake, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(wake);
	return pred(arg);
}

static int
never(void *arg)
{
	(void)arg;
	return 0;
}

static void
run_ms(int ms)
{
	run_until(never, NULL, ms);
}

static int
is_up(void *r)
{
	return rds_connected(r);
}

static int
is_down(void *r)
{
	return !rds_connected(r);
}

static int
is_set(void *flag)
{
	return *(int *)flag != 0;
}

/* A synchronous client on v's socket, on database db. */
static redisContext *
cli_open(const struct srv *v, const char *password, int db)
{
	redisContext *c = redisConnectUnix(v->sock);
	redisReply *r;

	ck_assert(c != NULL && c->err == 0);
	if (password != NULL) {
		r = redisCommand(c, "AUTH %s", password);
		ck_assert(r != NULL && r->type == REDIS_REPLY_STATUS);
		freeReplyObject(r);
	}
	r = redisCommand(c, "SELECT %d", db);
	ck_assert(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	return c;
}

/* A reply as text: strings as they are, integers in decimal, nil as
 * "(nil)", errors as "ERR! text", arrays joined with newlines. */
static void
reply_text(struct mv_buf *b, const redisReply *r)
{
	size_t i;

	switch (r->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		mv_buf_append(b, r->str, r->len);
		break;
	case REDIS_REPLY_ERROR:
		mv_buf_printf(b, "ERR! %s", r->str);
		break;
	case REDIS_REPLY_INTEGER:
		mv_buf_printf(b, "%lld", r->integer);
		break;
	case REDIS_REPLY_NIL:
		mv_buf_puts(b, "(nil)");
		break;
	case REDIS_REPLY_ARRAY:
		for (i = 0; i < r->elements; i++) {
			if (i > 0)
				mv_buf_putc(b, '\n');
			reply_text(b, r->element[i]);
		}
		break;
	}
}

/* Runs a command (hiredis format, %s arguments only) and returns its reply
 * as text (caller frees). */
static char *
qstr(redisContext *c, const char *fmt, ...)
{
	struct mv_buf b;
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	ck_assert_ptr_nonnull(r);
	mv_buf_init(&b, 0);
	mv_buf_puts(&b, "");
	reply_text(&b, r);
	freeReplyObject(r);
	return mv_buf_steal(&b, NULL);
}

#define ck_q(c, want, ...) do {						\
	char *got_ = qstr((c), __VA_ARGS__);				\
	ck_assert_str_eq(got_, (want));					\
	free(got_);							\
} while (0)

/* An execution record (contract §2), in the order the JSON below has. */
static json_t *
mkrec(const char *status, const char *worker, const char *job_id,
    double duration, const char *completed)
{
	return json_pack("{s:s, s:s, s:s, s:f, s:{s:s, s:i}, s:s, s:s, s:i,"
	    " s:n, s:i}", "status", status, "worker", worker, "job_id", job_id,
	    "duration", duration, "result", "status", status, "count", 2,
	    "started_at", STARTED, "completed_at", completed, "exit_code", 0,
	    "signal", "attempt", 1);
}

/* The JSON stats_record() stores for mkrec(): whole, or without result.
 * dur is the duration as jansson prints it. Caller frees. */
static char *
rec_json(const char *status, const char *worker, const char *job_id,
    const char *dur, const char *completed, int whole)
{
	struct mv_buf b;

	mv_buf_init(&b, 0);
	mv_buf_printf(&b, "{\"status\":\"%s\",\"worker\":\"%s\",\"job_id\":"
	    "\"%s\",\"duration\":%s,", status, worker, job_id, dur);
	if (whole)
		mv_buf_printf(&b, "\"result\":{\"status\":\"%s\",\"count\":2},",
		    status);
	mv_buf_printf(&b, "\"started_at\":\"%s\",\"completed_at\":\"%s\","
	    "\"exit_code\":0,\"signal\":null,\"attempt\":1}", STARTED,
	    completed);
	return mv_buf_steal(&b, NULL);
}

static void
iso_ago(char *buf, size_t len, long seconds)
{
	ck_assert_ptr_nonnull(mv_iso8601(time(NULL) - seconds, buf, len));
}

/* A connection to S with a stats writer on it, connected. */
static struct rds *
rds_up(void)
{
	struct rds *r;

	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	ck_assert(run_until(is_up, r, 3000));
	return r;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* ------------------------------------------------------------ rds_new */

START_TEST(rds_new_refuses)
{
	static const char *bad[] = {
		"http://127.0.0.1:6379", "redis://", "redis://:s3cr3t@",
		"redis://h:0", "redis://h:65536", "redis://h:12ab",
		"redis://h:", "redis://h/x", "redis://h/1?db=2", "redis://h#f",
		"redis://[::1", "redis://[]:1", "redis://h%zz:p@h",
		"redis://u:p%4@h", "redis://u:%00@h", "redis://h o",
		"redis://h/99999999999", "redis://:s3cr3t@h:-1", NULL,
	};
	char path[PATH_MAX + 8], big[2000];

	cap_begin();
	for (int i = 0; bad[i] != NULL; i++) {
		errno = 0;
		ck_assert_msg(rds_new(base, bad[i], NULL, NULL, 0) == NULL,
		    "%s", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
	}
	errno = 0;
	ck_assert_ptr_null(rds_new(base, NULL, NULL, NULL, -1));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(rds_new(NULL, NULL, S.sock, NULL, 0));
	ck_assert_ptr_null(rds_new(base, NULL, S.sock, "-", 0));
	snprintf(path, sizeof(path), "%s/nopw", S.dir);
	errno = 0;
	ck_assert_ptr_null(rds_new(base, NULL, S.sock, path, 0));
	ck_assert_int_eq(errno, ENOENT);
	write_file(path, "\n\r\n");
	ck_assert_ptr_null(rds_new(base, NULL, S.sock, path, 0));
	ck_assert_int_eq(errno, EINVAL);
	write_file(path, "s3cr3t\nmore\n");
	ck_assert_ptr_null(rds_new(base, NULL, S.sock, path, 0));
	ck_assert_int_eq(errno, EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(path, big);
	ck_assert_ptr_null(rds_new(base, NULL, S.sock, path, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cap_count("redis: url: not redis://"), 18);
	ck_assert_int_eq(cap_count("/nopw: No such file or directory"), 1);
	ck_assert_int_eq(cap_count("/nopw: empty file"), 1);
	ck_assert_int_eq(cap_count("/nopw: more than one line"), 1);
	ck_assert_int_eq(cap_count("/nopw: file too long"), 1);
	ck_assert_int_eq(cap_count("s3cr3t"), 0);
	rds_free(NULL);
}
END_TEST

START_TEST(rds_new_address)
{
	char want[PATH_MAX + 8];
	struct rds *r;

	cap_begin();
	r = rds_new(base, "redis://:s3cr3t@127.0.0.1:1/2", NULL, NULL, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(rds_address(r), "127.0.0.1:1");
	ck_assert_ptr_eq(rds_base(r), base);
	ck_assert_int_eq(rds_connected(r), 0);
	run_ms(50);
	rds_free(r);
	ck_assert_int_eq(cap_count("redis: connect to 127.0.0.1:1: "
	    "Connection refused (retrying)"), 1);
	r = rds_new(base, "redis://u%3Ax:p@[::1]", NULL, NULL, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(rds_address(r), "[::1]:6379");
	rds_free(r);
	ck_assert_ptr_nonnull(r = rds_new(base, NULL, NULL, NULL, 0));
	ck_assert_str_eq(rds_address(r), "127.0.0.1:6379");
	rds_free(r);
	ck_assert_ptr_nonnull(r = rds_new(base, "REDIS://localhost:7/", NULL,
	    NULL, 0));
	ck_assert_str_eq(rds_address(r), "localhost:7");
	rds_free(r);
	/* A socket wins over the url, which is then not even parsed. */
	ck_assert_ptr_nonnull(r = rds_new(base, "nonsense", S.sock, NULL, 0));
	snprintf(want, sizeof(want), "unix:%s", S.sock);
	ck_assert_str_eq(rds_address(r), want);
	rds_free(r);
	ck_assert_int_eq(cap_count("s3cr3t"), 0);
}
END_TEST

static void
got_reply(struct rds *r, redisReply *reply, void *arg)
{
	char **out = arg;
	struct mv_buf b;

	(void)r;
	mv_buf_init(&b, 0);
	mv_buf_puts(&b, "");
	if (reply == NULL)
		mv_buf_puts(&b, "NULL");
	else
		reply_text(&b, reply);
	*out = mv_buf_steal(&b, NULL);
}

static int
has_reply(void *arg)
{
	return *(char **)arg != NULL;
}

START_TEST(rds_new_tcp_password_db)
{
	char url[128], *got = NULL;
	redisContext *c;
	struct rds *r;

	S.port = free_port();
	snprintf(S.pwfile, sizeof(S.pwfile), "%s/server.pw", S.dir);
	write_file(S.pwfile, "right/pw:x@");
	srv_start(&S);
	snprintf(url, sizeof(url), "redis://:right%%2Fpw%%3Ax%%40@127.0.0.1:"
	    "%d/3", S.port);
	ck_assert_ptr_nonnull(r = rds_new(base, url, NULL, NULL, 0));
	ck_assert(run_until(is_up, r, 3000));
	ck_assert_int_eq(rds_command(r, 3, (const char *[]){ "SET", "k",
	    "in-db-3" }, NULL, got_reply, &got), 0);
	ck_assert(run_until(has_reply, &got, 2000));
	ck_assert_str_eq(got, "OK");
	free(got);
	c = cli_open(&S, "right/pw:x@", 3);
	ck_q(c, "in-db-3", "GET k");
	ck_q(c, "OK", "SELECT 0");
	ck_q(c, "(nil)", "GET k");
	redisFree(c);
	rds_free(r);
}
END_TEST

START_TEST(rds_new_wrong_password)
{
	char pw[PATH_MAX + 8];
	struct rds *r;

	snprintf(S.pwfile, sizeof(S.pwfile), "%s/server.pw", S.dir);
	write_file(S.pwfile, "right-pw");
	srv_start(&S);
	snprintf(pw, sizeof(pw), "%s/client.pw", S.dir);
	write_file(pw, "s3cr3t-bad\n");
	cap_begin();
	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, pw, 0));
	run_ms(400);
	ck_assert_int_eq(rds_connected(r), 0);
	/* Logged once for the outage, though tried several times. */
	ck_assert_int_eq(cap_count("redis: AUTH to unix:"), 1);
	ck_assert_int_eq(cap_count("WRONGPASS"), 1);
	/* The file is read at each attempt: fixing it is enough. */
	write_file(pw, "right-pw\n");
	ck_assert(run_until(is_up, r, 6000));
	ck_assert_int_eq(cap_count("redis: connected to unix:"), 1);
	ck_assert_int_eq(cap_count(".sock after "), 1);
	ck_assert_int_eq(cap_count("s3cr3t"), 0);
	ck_assert_int_eq(cap_count("right-pw"), 0);
	rds_free(r);
}
END_TEST

/* -------------------------------------------------------- rds_command */

struct order {
	int	n;
	int	bad;
};

static void
count_reply(struct rds *r, redisReply *reply, void *arg)
{
	struct order *o = arg;

	(void)r;
	o->n++;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER ||
	    reply->integer != o->n)
		o->bad++;
}

START_TEST(rds_command_binary_in_order)
{
	static const char val[] = "a\0b\r\n$3\r\n*1";
	const char *argv[3] = { "SET", "bin", val };
	size_t len[3] = { 3, 3, sizeof(val) - 1 };
	struct order o = { 0, 0 };
	char *got = NULL;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_int_eq(rds_command(r, 3, argv, len, NULL, NULL), 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(rds_command(r, 2, (const char *[]){ "INCR",
		    "n" }, NULL, count_reply, &o), 0);
	ck_assert_int_eq(rds_command(r, 2, (const char *[]){ "STRLEN",
	    "bin" }, NULL, got_reply, &got), 0);
	ck_assert(run_until(has_reply, &got, 2000));
	ck_assert_int_eq(o.n, 100);
	ck_assert_int_eq(o.bad, 0);
	ck_assert_str_eq(got, "11");
	free(got);
	c = cli_open(&S, NULL, 0);
	got = qstr(c, "GET bin");
	ck_assert_mem_eq(got, val, sizeof(val));
	free(got);
	redisFree(c);
	rds_free(r);
}
END_TEST

START_TEST(rds_command_refused)
{
	struct rds *r;
	char *got = NULL;

	cap_begin();
	/* No server yet. */
	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	errno = 0;
	ck_assert_int_eq(rds_command(r, 1, (const char *[]){ "PING" }, NULL,
	    got_reply, &got), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	run_ms(150);
	ck_assert_int_eq(rds_connected(r), 0);
	ck_assert_int_eq(cap_count("No such file or directory (retrying)"),
	    1);
	srv_start(&S);
	ck_assert(run_until(is_up, r, 3000));
	errno = 0;
	ck_assert_int_eq(rds_command(r, 0, (const char *[]){ "PING" }, NULL,
	    NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(got);
	rds_free(r);
}
END_TEST

/* --------------------------------------------------------- rds_cancel */

START_TEST(rds_cancel_forgets)
{
	char *kept = NULL, *gone = NULL;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_int_eq(rds_command(r, 1, (const char *[]){ "PING" }, NULL,
	    got_reply, &gone), 0);
	ck_assert_int_eq(rds_command(r, 1, (const char *[]){ "PING" }, NULL,
	    got_reply, &kept), 0);
	rds_cancel(r, &gone);
	ck_assert(run_until(has_reply, &kept, 2000));
	ck_assert_str_eq(kept, "PONG");
	ck_assert_ptr_null(gone);
	free(kept);
	/* And on close, the pending ones get NULL, the cancelled nothing. */
	kept = NULL;
	ck_assert_int_eq(rds_command(r, 1, (const char *[]){ "PING" }, NULL,
	    got_reply, &kept), 0);
	ck_assert_int_eq(rds_command(r, 1, (const char *[]){ "PING" }, NULL,
	    got_reply, &gone), 0);
	rds_cancel(r, &gone);
	rds_free(r);
	ck_assert_str_eq(kept, "NULL");
	ck_assert_ptr_null(gone);
	free(kept);
}
END_TEST

/* ----------------------------------------------------------- rds_eval */

static struct rds_script echo_script = RDS_SCRIPT("return ARGV[1]");

START_TEST(rds_eval_by_digest_and_after_flush)
{
	char *a = NULL, *b = NULL, *gone = NULL;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	c = cli_open(&S, NULL, 0);
	/* The first call carries the text; the digest serves the next. */
	ck_assert_int_eq(rds_eval(r, &echo_script, 2, (const char *[]){ "0",
	    "one" }, NULL, got_reply, &a), 0);
	ck_assert(run_until(has_reply, &a, 2000));
	ck_assert_str_eq(a, "one");
	ck_assert_int_eq(strlen(echo_script.sha), 40);
	ck_assert_int_eq(rds_eval(r, &echo_script, 2, (const char *[]){ "0",
	    "two" }, NULL, got_reply, &b), 0);
	ck_assert(run_until(has_reply, &b, 2000));
	ck_assert_str_eq(b, "two");
	ck_assert_int_eq(redis_scratch_calls(c, "evalsha"), 1);
	/* Scripts flushed (as by a restart): NOSCRIPT is answered by EVAL,
	 * never seen by the caller. */
	ck_q(c, "OK", "SCRIPT FLUSH");
	free(b);
	b = NULL;
	ck_assert_int_eq(rds_eval(r, &echo_script, 2, (const char *[]){ "0",
	    "three" }, NULL, got_reply, &b), 0);
	ck_assert_int_eq(rds_eval(r, &echo_script, 2, (const char *[]){ "0",
	    "four" }, NULL, got_reply, &gone), 0);
	rds_cancel(r, &gone);
	ck_assert(run_until(has_reply, &b, 2000));
	ck_assert_str_eq(b, "three");
	run_ms(100);
	ck_assert_ptr_null(gone);
	ck_assert_int_eq(redis_scratch_calls(c, "evalsha"), 3);
	free(a);
	free(b);
	redisFree(c);
	rds_free(r);
}
END_TEST

START_TEST(rds_eval_refused)
{
	struct rds *r;

	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	errno = 0;
	ck_assert_int_eq(rds_eval(r, &echo_script, 2, (const char *[]){ "0",
	    "x" }, NULL, NULL, NULL), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	errno = 0;
	ck_assert_int_eq(rds_eval(r, NULL, 1, (const char *[]){ "0" }, NULL,
	    NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	rds_free(r);
}
END_TEST

/* ----------------------------------------------------- rds_on_connect */

static void
hook(void *arg)
{
	(*(int *)arg)++;
}

static int
two(void *arg)
{
	return *(int *)arg == 2;
}

START_TEST(rds_on_connect_reconnects)
{
	int a = 0, b = 0, spare[RDS_HOOKS_MAX];
	struct rds *r;

	srv_start(&S);
	cap_begin();
	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	rds_on_connect(r, hook, &a);
	rds_on_connect(r, hook, &a);		/* not twice */
	rds_on_connect(r, hook, &b);
	ck_assert(run_until(is_set, &b, 3000));
	ck_assert_int_eq(a, 1);
	ck_assert_int_eq(b, 1);
	rds_on_connect(r, NULL, &b);
	srv_stop(&S);
	ck_assert(run_until(is_down, r, 2000));
	run_ms(350);				/* several attempts */
	ck_assert_int_eq(cap_count("redis: lost connection to unix:"), 1);
	ck_assert_int_eq(cap_count("(retrying)"), 1);
	srv_start(&S);
	ck_assert(run_until(two, &a, 5000));
	ck_assert_int_eq(rds_connected(r), 1);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(cap_count(" again after "), 1);
	/* The table is bounded. */
	for (int i = 0; i < RDS_HOOKS_MAX; i++)
		rds_on_connect(r, hook, &spare[i]);
	ck_assert_int_eq(cap_count("more than 8 connect hooks"), 1);
	rds_free(r);
}
END_TEST

/* ---------------------------------------------------- rds_set_timeout */

START_TEST(rds_set_timeout_drops_silent_server)
{
	char *got = NULL;
	struct rds *r;
	int64_t t0;

	srv_start(&S);
	cap_begin();
	r = rds_up();
	rds_set_timeout(r, 0.3);
	rds_set_timeout(r, -1);			/* ignored */
	kill(S.pid, SIGSTOP);
	t0 = mv_mono_ms();
	ck_assert_int_eq(rds_command(r, 1, (const char *[]){ "PING" }, NULL,
	    got_reply, &got), 0);
	ck_assert(run_until(has_reply, &got, 3000));
	ck_assert_str_eq(got, "NULL");
	ck_assert_int_ge(mv_mono_ms() - t0, 280);
	ck_assert_int_eq(rds_connected(r), 0);
	ck_assert_int_eq(cap_count("redis: no reply from unix:"), 1);
	ck_assert_int_eq(cap_count("timed out (retrying)"), 1);
	kill(S.pid, SIGCONT);
	ck_assert(run_until(is_up, r, 5000));
	free(got);
	rds_free(r);
}
END_TEST

/* ----------------------------------------------------------- stats_new */

START_TEST(stats_new_refuses)
{
	char prefix[STATS_PREFIX_MAX + 2];
	struct rds *r;

	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	memset(prefix, 'p', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	errno = 0;
	ck_assert_ptr_null(stats_new(NULL, "", 10, 3600, 100, WEEK));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(stats_new(r, "", 0, 3600, 100, WEEK));
	ck_assert_ptr_null(stats_new(r, "", 10, 0, 100, WEEK));
	ck_assert_ptr_null(stats_new(r, "", 10, 3600, 0, WEEK));
	ck_assert_ptr_null(stats_new(r, "", 10, 3600, 100, -1));
	ck_assert_ptr_null(stats_new(r, prefix, 10, 3600, 100, WEEK));
	ck_assert_int_eq(errno, EINVAL);
	rds_free(r);
}
END_TEST

START_TEST(stats_new_starts_empty)
{
	struct stats_counters c;
	struct stats *s;
	struct rds *r;

	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	ck_assert_ptr_nonnull(s = stats_new(r, NULL, 1, 1, 1, 0));
	memset(&c, 0xff, sizeof(c));
	stats_counters(s, &c);
	ck_assert(c.written == 0 && c.dropped == 0 && c.invalid == 0 &&
	    c.errors == 0 && c.buffered == 0 && c.connected == 0);
	stats_free(s);
	stats_free(NULL);
	rds_free(r);
}
END_TEST

/* -------------------------------------------------------- stats_record */

START_TEST(stats_record_keys)
{
	char now[32], c1[32], c3[32], c3z[32], *want, *want2, *want3;
	char wantz[8192];
	struct stats_counters cn;
	struct tm tm;
	struct stats *s;
	redisContext *c;
	struct rds *r;
	char *ttl;
	time_t t;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, WEEK));
	iso_ago(now, sizeof(now), 0);
	iso_ago(c1, sizeof(c1), 3599);
	/* A completion time with a numeric zone: last_execution says Z. */
	t = time(NULL) - 3595;
	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	strftime(c3, sizeof(c3), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	strftime(c3z, sizeof(c3z), "%Y-%m-%dT%H:%M:%SZ", &tm);
	stats_record(s, "email_sync", "job-1", mkrec("success", "email_sync",
	    "job-1", 1.5, c1));
	stats_record(s, "email_sync", "job-2", mkrec("failed", "email_sync",
	    "job-2", 0.5, now));
	stats_record(s, "email_sync", "job-3", mkrec("skipped", "email_sync",
	    "job-3", 0, c3));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	stats_counters(s, &cn);
	ck_assert(cn.written == 3 && cn.buffered == 0 && cn.dropped == 0 &&
	    cn.invalid == 0 && cn.errors == 0 && cn.connected == 1);

	c = cli_open(&S, NULL, 0);
	ck_q(c, "7", "HLEN worker:stats:email_sync");
	ck_q(c, "3", "HGET worker:stats:email_sync total_executions");
	ck_q(c, "1", "HGET worker:stats:email_sync successful_executions");
	ck_q(c, "1", "HGET worker:stats:email_sync failed_executions");
	ck_q(c, "2", "HGET worker:stats:email_sync total_duration");
	ck_q(c, "1", "HGET worker:stats:email_sync average_duration");
	ck_q(c, c3z,
	    "HGET worker:stats:email_sync last_execution");
	ck_q(c, "skipped", "HGET worker:stats:email_sync last_status");

	want = rec_json("skipped", "email_sync", "job-3", "0.0",
	    c3, 0);
	want2 = rec_json("failed", "email_sync", "job-2", "0.5", now, 0);
	want3 = rec_json("success", "email_sync", "job-1", "1.5",
	    c1, 0);
	snprintf(wantz, sizeof(wantz), "%s\n%s\n%s", want, want2, want3);
	ck_q(c, wantz, "LRANGE worker:history:email_sync 0 -1");
	free(want);
	free(want2);
	free(want3);

	want = rec_json("success", "email_sync", "job-1", "1.5",
	    c1, 1);
	ck_q(c, want, "GET worker:metrics:email_sync:job-1");
	free(want);
	ttl = qstr(c, "TTL worker:metrics:email_sync:job-1");
	ck_assert_int_ge(atoi(ttl), 3590);
	ck_assert_int_le(atoi(ttl), 3600);
	free(ttl);

	/* Scored by completion time. */
	want = rec_json("failed", "email_sync", "job-2", "0.5", now, 1);
	ck_assert_int_eq(mv_parse_iso8601(now, &t), 0);
	snprintf(wantz, sizeof(wantz), "%s\n%lld", want, (long long)t);
	ck_q(c, wantz, "ZRANGE worker:failures 0 -1 WITHSCORES");
	free(want);
	ck_q(c, "6", "DBSIZE");
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_average)
{
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, WEEK));
	c = cli_open(&S, NULL, 0);
	stats_record(s, "w", "1", mkrec("success", "w", "1", 1.5, STARTED));
	stats_record(s, "w", "2", mkrec("success", "w", "2", 2.0, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	ck_q(c, "3.5", "HGET worker:stats:w total_duration");
	ck_q(c, "1.75", "HGET worker:stats:w average_duration");
	stats_record(s, "w", "3", mkrec("timeout", "w", "3", 0.25, STARTED));
	stats_record(s, "w", "4", mkrec("skipped", "w", "4", 9, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	ck_q(c, "3.75", "HGET worker:stats:w total_duration");
	ck_q(c, "1.25", "HGET worker:stats:w average_duration");
	ck_q(c, "4", "HGET worker:stats:w total_executions");
	ck_q(c, "1", "HGET worker:stats:w failed_executions");
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

/* All seven fields from the first record on, those no record touched 0. */
START_TEST(stats_record_zero_fields)
{
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, WEEK));
	c = cli_open(&S, NULL, 0);
	stats_record(s, "ok", "1", mkrec("success", "ok", "1", 2, STARTED));
	stats_record(s, "bad", "2", mkrec("failed", "bad", "2", 1, STARTED));
	stats_record(s, "skip", "3", mkrec("skipped", "skip", "3", 0,
	    STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	ck_q(c, "7", "HLEN worker:stats:ok");
	ck_q(c, "0", "HGET worker:stats:ok failed_executions");
	ck_q(c, "1", "HGET worker:stats:ok successful_executions");
	ck_q(c, "2", "HGET worker:stats:ok average_duration");
	ck_q(c, "7", "HLEN worker:stats:bad");
	ck_q(c, "0", "HGET worker:stats:bad successful_executions");
	ck_q(c, "1", "HGET worker:stats:bad failed_executions");
	ck_q(c, "7", "HLEN worker:stats:skip");
	ck_q(c, "1", "HGET worker:stats:skip total_executions");
	ck_q(c, "0", "HGET worker:stats:skip successful_executions");
	ck_q(c, "0", "HGET worker:stats:skip failed_executions");
	ck_q(c, "0", "HGET worker:stats:skip total_duration");
	ck_q(c, "0", "HGET worker:stats:skip average_duration");
	ck_q(c, "skipped", "HGET worker:stats:skip last_status");
	/* Counting goes on from the zeros. */
	stats_record(s, "ok", "4", mkrec("failed", "ok", "4", 1, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	ck_q(c, "1", "HGET worker:stats:ok failed_executions");
	ck_q(c, "1.5", "HGET worker:stats:ok average_duration");
	/* A hash that lost fields (written by hand, or by an older writer)
	 * gets them back at its next record, whatever its count. */
	ck_q(c, "2", "HDEL worker:stats:ok failed_executions "
	    "total_duration");
	stats_record(s, "ok", "5", mkrec("skipped", "ok", "5", 0, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	ck_q(c, "7", "HLEN worker:stats:ok");
	ck_q(c, "0", "HGET worker:stats:ok failed_executions");
	ck_q(c, "3", "HGET worker:stats:ok total_executions");
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_history_trimmed)
{
	char id[16], *want;
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 1000, 3600, 100, WEEK));
	for (int i = 0; i < 150; i++) {
		snprintf(id, sizeof(id), "j%d", i);
		stats_record(s, "w", id, mkrec("success", "w", id, 1, STARTED));
	}
	ck_assert_int_eq(stats_flush_wait(s, 5), 0);
	c = cli_open(&S, NULL, 0);
	ck_q(c, "100", "LLEN worker:history:w");
	ck_q(c, "150", "HGET worker:stats:w total_executions");
	want = rec_json("success", "w", "j149", "1.0", STARTED, 0);
	ck_q(c, want, "LINDEX worker:history:w 0");
	free(want);
	want = rec_json("success", "w", "j50", "1.0", STARTED, 0);
	ck_q(c, want, "LINDEX worker:history:w 99");
	free(want);
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_failures_by_age)
{
	char old[32], recent[32], *want;
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, 3600));
	iso_ago(old, sizeof(old), 7200);
	iso_ago(recent, sizeof(recent), 10);
	stats_record(s, "w", "old", mkrec("killed", "w", "old", 1, old));
	stats_record(s, "w", "ok", mkrec("success", "w", "ok", 1, recent));
	stats_record(s, "w", "new", mkrec("bad_output", "w", "new", 1,
	    recent));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	c = cli_open(&S, NULL, 0);
	want = rec_json("bad_output", "w", "new", "1.0", recent, 1);
	ck_q(c, want, "ZRANGE worker:failures 0 -1");
	free(want);
	ck_q(c, "2", "HGET worker:stats:w failed_executions");
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_prefix)
{
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "mv:{t}:", 100, 60, 100, WEEK));
	stats_record(s, "w", "j1", mkrec("failed", "w", "j1", 1, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	c = cli_open(&S, NULL, 0);
	ck_q(c, "4", "DBSIZE");
	ck_q(c, "4", "EXISTS mv:{t}:worker:stats:w mv:{t}:worker:history:w "
	    "mv:{t}:worker:metrics:w:j1 mv:{t}:worker:failures");
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_invalid)
{
	char longname[STATS_NAME_MAX + 2];
	struct stats_counters cn;
	struct stats *s;
	redisContext *c;
	struct rds *r;
	json_t *j;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	srv_start(&S);
	cap_begin();
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 60, 100, WEEK));
#define REC()	mkrec("success", "w", "j", 1, STARTED)
	stats_record(s, "", "j", REC());
	stats_record(s, "a b", "j", REC());
	stats_record(s, "a\nb", "j", REC());
	stats_record(s, longname, "j", REC());
	stats_record(s, NULL, "j", REC());
	stats_record(s, "w", NULL, REC());
	stats_record(s, "w", "\xc3\xa9", REC());
	stats_record(s, "w", "j", NULL);
	stats_record(s, "w", "j", json_array());
	stats_record(s, "w", "j", json_pack("{s:s}", "body",
	    "SECRET-body"));
	stats_record(s, "w", "j", json_pack("{s:i}", "status", 5));
	stats_record(s, "w", "j", json_pack("{s:s}", "status", ""));
	stats_record(s, "w", "j", json_pack("{s:s}", "status",
	    "a-status-much-longer-than-31-bytes"));
	j = REC();
	json_object_set_new(json_object_get(j, "result"), "bad",
	    json_string_nocheck("\xff\xfe"));
	stats_record(s, "w", "j", j);
#undef REC
	run_ms(100);
	stats_counters(s, &cn);
	ck_assert_int_eq(cn.invalid, 14);
	ck_assert_int_eq(cn.written, 0);
	ck_assert_int_eq(cn.buffered, 0);
	c = cli_open(&S, NULL, 0);
	ck_q(c, "0", "DBSIZE");
	redisFree(c);
	ck_assert_int_eq(cap_count("stats: record of a b j not kept: "
	    "bad worker name or job id"), 2);
	ck_assert_int_eq(cap_count("not kept: bad worker name or job id"), 7);
	ck_assert_int_eq(cap_count("stats: record of w j not kept: "
	    "not a JSON object"), 2);
	ck_assert_int_eq(cap_count("not kept: no status"), 3);
	ck_assert_int_eq(cap_count("not kept: status too long"), 1);
	ck_assert_int_eq(cap_count("not kept: cannot be serialised"), 1);
	ck_assert_int_eq(cap_count("SECRET"), 0);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_hostile_but_valid)
{
	char *big, *want, *got;
	json_t *j, *deep;
	struct stats *s;
	redisContext *c;
	struct rds *r;
	size_t n = 2 << 20;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 60, 100, WEEK));
	/* A 2 MiB result. */
	ck_assert_ptr_nonnull(big = malloc(n + 1));
	memset(big, 'x', n);
	big[n] = '\0';
	j = mkrec("success", "w", "big", 1, STARTED);
	json_object_set_new(json_object_get(j, "result"), "blob",
	    json_string(big));
	free(big);
	stats_record(s, "w", "big", j);
	/* NUL bytes and non-ASCII text. */
	j = mkrec("failed", "w", "nul", 1, STARTED);
	json_object_set_new(json_object_get(j, "result"), "t",
	    json_stringn("a\0b\xc3\xa9", 5));
	stats_record(s, "w", "nul", j);
	/* 500 levels of nesting. */
	deep = json_array();
	for (int i = 0; i < 500; i++) {
		j = json_array();
		json_array_append_new(j, deep);
		deep = j;
	}
	j = mkrec("success", "w", "deep", 1, STARTED);
	json_object_set_new(j, "result", deep);
	ck_assert_ptr_nonnull(want = json_dumps(j, JSON_COMPACT));
	stats_record(s, "w", "deep", j);
	ck_assert_int_eq(stats_flush_wait(s, 5), 0);

	c = cli_open(&S, NULL, 0);
	ck_q(c, want, "GET worker:metrics:w:deep");
	free(want);
	got = qstr(c, "STRLEN worker:metrics:w:big");
	ck_assert_int_gt(atol(got), (long)n);
	free(got);
	want = rec_json("success", "w", "big", "1.0", STARTED, 0);
	ck_q(c, want, "LINDEX worker:history:w 2");
	free(want);
	got = qstr(c, "GET worker:metrics:w:nul");
	ck_assert_ptr_nonnull(strstr(got,
	    "\"result\":{\"status\":\"failed\",\"count\":2,"
	    "\"t\":\"a\\u0000b\xc3\xa9\"}"));
	free(got);
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_refused_then_retried)
{
	char id[8], all[4096], *w;
	struct stats_counters cn;
	int64_t t0;
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	cap_begin();
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 60, 100, WEEK));
	c = cli_open(&S, NULL, 0);
	ck_q(c, "OK", "CONFIG SET maxmemory-policy noeviction");
	ck_q(c, "OK", "CONFIG SET maxmemory 1");
	/* Three in one window, all refused: one pause, then in order. */
	for (int i = 1; i <= 3; i++) {
		snprintf(id, sizeof(id), "j%d", i);
		stats_record(s, "w", id, mkrec("success", "w", id, 1, STARTED));
	}
	run_ms(300);
	stats_counters(s, &cn);
	ck_assert(cn.written == 0 && cn.buffered == 3 && cn.connected == 1);
	ck_assert_int_eq(cap_count("stats: Redis refused the record of w j1:"
	    " OOM"), 1);
	ck_assert_int_eq(cap_count("refused"), 1);
	ck_q(c, "OK", "CONFIG SET maxmemory 0");
	t0 = mv_mono_ms();
	ck_assert_int_eq(stats_flush_wait(s, 5), 0);
	ck_assert_int_lt(mv_mono_ms() - t0, 1500);
	ck_q(c, "3", "HGET worker:stats:w total_executions");
	all[0] = '\0';
	for (int i = 3; i >= 1; i--) {
		snprintf(id, sizeof(id), "j%d", i);
		w = rec_json("success", "w", id, "1.0", STARTED, 0);
		strlcat(all, w, sizeof(all));
		if (i > 1)
			strlcat(all, "\n", sizeof(all));
		free(w);
	}
	ck_q(c, all, "LRANGE worker:history:w 0 -1");
	stats_counters(s, &cn);
	ck_assert(cn.written == 3 && cn.buffered == 0 && cn.errors == 0);
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_written_in_part)
{
	struct stats_counters cn;
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	cap_begin();
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 60, 100, WEEK));
	c = cli_open(&S, NULL, 0);
	ck_q(c, "OK", "SET worker:history:w not-a-list");
	stats_record(s, "w", "j1", mkrec("success", "w", "j1", 1, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	stats_counters(s, &cn);
	ck_assert(cn.written == 1 && cn.errors == 1 && cn.buffered == 0);
	ck_q(c, "1", "HGET worker:stats:w total_executions");
	ck_q(c, "1", "EXISTS worker:metrics:w:j1");
	ck_q(c, "not-a-list", "GET worker:history:w");
	ck_assert_int_eq(cap_count("stats: record of w j1 written in part: "
	    "WRONGTYPE"), 1);
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_record_one_command)
{
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 60, 100, WEEK));
	c = cli_open(&S, NULL, 0);
	stats_record(s, "w", "j1", mkrec("success", "w", "j1", 1, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	stats_record(s, "w", "j2", mkrec("killed", "w", "j2", 1, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	/* One command a record, the text sent once; no transaction. */
	ck_assert_int_eq(redis_scratch_calls(c, "eval"), 1);
	ck_assert_int_eq(redis_scratch_calls(c, "evalsha"), 1);
	ck_assert_int_eq(redis_scratch_calls(c, "multi"), 0);
	/* After a flush of the scripts, records still go. */
	ck_q(c, "OK", "SCRIPT FLUSH");
	stats_record(s, "w", "j3", mkrec("success", "w", "j3", 1, STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	ck_q(c, "3", "HGET worker:stats:w total_executions");
	ck_q(c, "1", "HGET worker:stats:w failed_executions");
	ck_q(c, "1", "ZCARD worker:failures");
	ck_q(c, "3", "LLEN worker:history:w");
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

/* ------------------------------------------------------ stats_counters */

START_TEST(stats_counters_outage_flushed_in_order)
{
	static const char *ids[] = { "A", "B", "C", "D", "E" };
	char *want[5], all[8192];
	struct stats_counters cn;
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, WEEK));
	for (int i = 0; i < 2; i++)
		stats_record(s, "w", ids[i], mkrec("success", "w", ids[i], 1,
		    STARTED));
	ck_assert_int_eq(stats_flush_wait(s, 3), 0);
	srv_stop(&S);
	ck_assert(run_until(is_down, r, 2000));
	for (int i = 2; i < 5; i++)
		stats_record(s, "w", ids[i], mkrec("success", "w", ids[i], 1,
		    STARTED));
	stats_counters(s, &cn);
	ck_assert(cn.written == 2 && cn.buffered == 3 && cn.dropped == 0 &&
	    cn.connected == 0);
	ck_assert_int_eq(stats_flush_wait(s, 0.2), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	srv_start(&S);
	ck_assert_int_eq(stats_flush_wait(s, 8), 0);
	stats_counters(s, &cn);
	ck_assert(cn.written == 5 && cn.buffered == 0 && cn.dropped == 0 &&
	    cn.connected == 1);
	c = cli_open(&S, NULL, 0);
	all[0] = '\0';
	for (int i = 4; i >= 0; i--) {
		want[i] = rec_json("success", "w", ids[i], "1.0", STARTED, 0);
		strlcat(all, want[i], sizeof(all));
		if (i > 0)
			strlcat(all, "\n", sizeof(all));
		free(want[i]);
	}
	ck_q(c, all, "LRANGE worker:history:w 0 -1");
	ck_q(c, "5", "HGET worker:stats:w total_executions");
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

START_TEST(stats_counters_overflow_drops_oldest)
{
	struct stats_counters cn;
	char id[8], all[4096], *w;
	struct stats *s;
	redisContext *c;
	struct rds *r;

	cap_begin();
	/* Redis is not there yet. */
	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	ck_assert_ptr_nonnull(s = stats_new(r, "", 3, 3600, 100, WEEK));
	for (int i = 1; i <= 5; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		stats_record(s, "w", id, mkrec("success", "w", id, 1, STARTED));
	}
	stats_counters(s, &cn);
	ck_assert(cn.buffered == 3 && cn.dropped == 2 && cn.written == 0);
	ck_assert_int_eq(cap_count("stats: record buffer full (3 records, "),
	    1);
	ck_assert_int_eq(cap_count("dropped the 1 oldest"), 1);
	for (int i = 6; i <= 7; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		stats_record(s, "w", id, mkrec("success", "w", id, 1, STARTED));
	}
	stats_counters(s, &cn);
	ck_assert(cn.buffered == 3 && cn.dropped == 4);
	ck_assert_int_eq(cap_count("record buffer full"), 1);	/* a minute */
	srv_start(&S);
	ck_assert_int_eq(stats_flush_wait(s, 8), 0);
	c = cli_open(&S, NULL, 0);
	all[0] = '\0';
	for (int i = 7; i >= 5; i--) {
		snprintf(id, sizeof(id), "r%d", i);
		w = rec_json("success", "w", id, "1.0", STARTED, 0);
		strlcat(all, w, sizeof(all));
		if (i > 5)
			strlcat(all, "\n", sizeof(all));
		free(w);
	}
	ck_q(c, all, "LRANGE worker:history:w 0 -1");
	ck_q(c, "3", "HGET worker:stats:w total_executions");
	redisFree(c);
	stats_free(s);
	/* The drops not yet reported are, on the way out. */
	ck_assert_int_eq(cap_count("record buffer full: dropped the 3 oldest"),
	    1);
	rds_free(r);
}
END_TEST

/* ----------------------------------------------------- stats_set_bytes */

START_TEST(stats_set_bytes_bounds_size)
{
	struct stats_counters cn;
	char id[8], *w;
	struct stats *s;
	redisContext *c;
	struct rds *r;
	size_t one;

	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, WEEK));
	w = rec_json("success", "w", "b1", "1.0", STARTED, 1);
	one = strlen(w);
	free(w);
	w = rec_json("success", "w", "b1", "1.0", STARTED, 0);
	one += strlen(w);
	free(w);
	stats_set_bytes(s, 3 * one);
	for (int i = 1; i <= 5; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		stats_record(s, "w", id, mkrec("success", "w", id, 1, STARTED));
	}
	stats_counters(s, &cn);
	ck_assert(cn.buffered == 3 && cn.dropped == 2);
	stats_set_bytes(s, 0);			/* ignored */
	stats_set_bytes(s, 1);			/* the newest stays */
	stats_counters(s, &cn);
	ck_assert(cn.buffered == 1 && cn.dropped == 4);
	srv_start(&S);
	ck_assert_int_eq(stats_flush_wait(s, 8), 0);
	c = cli_open(&S, NULL, 0);
	w = rec_json("success", "w", "b5", "1.0", STARTED, 0);
	ck_q(c, w, "LRANGE worker:history:w 0 -1");
	free(w);
	redisFree(c);
	stats_free(s);
	rds_free(r);
}
END_TEST

/* ---------------------------------------------------- stats_flush_wait */

START_TEST(stats_flush_wait_bounded)
{
	struct stats *s;
	struct rds *r;
	int64_t t0;

	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, WEEK));
	t0 = mv_mono_ms();
	ck_assert_int_eq(stats_flush_wait(s, 5), 0);	/* empty: at once */
	ck_assert_int_lt(mv_mono_ms() - t0, 50);
	stats_record(s, "w", "j", mkrec("success", "w", "j", 1, STARTED));
	t0 = mv_mono_ms();
	errno = 0;
	ck_assert_int_eq(stats_flush_wait(s, 0.25), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(mv_mono_ms() - t0, 240);
	ck_assert_int_lt(mv_mono_ms() - t0, 1000);
	stats_free(s);
	rds_free(r);
}
END_TEST

static int reentrant_rc, reentrant_errno;

static void
flush_from_callback(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	errno = 0;
	reentrant_rc = stats_flush_wait(arg, 2);
	reentrant_errno = errno;
}

START_TEST(stats_flush_wait_not_reentrant)
{
	struct timeval tv = { 0, 0 };
	struct stats *s;
	struct rds *r;
	int64_t t0;

	cap_begin();
	ck_assert_ptr_nonnull(r = rds_new(base, NULL, S.sock, NULL, 0));
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, WEEK));
	stats_record(s, "w", "j", mkrec("success", "w", "j", 1, STARTED));
	event_base_once(base, -1, EV_TIMEOUT, flush_from_callback, s, &tv);
	t0 = mv_mono_ms();
	event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_lt(mv_mono_ms() - t0, 500);
	ck_assert_int_eq(reentrant_rc, -1);
	ck_assert_int_eq(reentrant_errno, EDEADLK);
	ck_assert_int_eq(cap_count("stats: cannot flush from inside the "
	    "loop"), 1);
	stats_free(s);
	rds_free(r);
}
END_TEST

/* ---------------------------------------------------------- stats_free */

START_TEST(stats_free_with_records_in_flight)
{
	struct stats *s;
	redisContext *c;
	struct rds *r;

	srv_start(&S);
	cap_begin();
	r = rds_up();
	ck_assert_ptr_nonnull(s = stats_new(r, "", 100, 3600, 100, WEEK));
	stats_record(s, "w", "j1", mkrec("success", "w", "j1", 1, STARTED));
	stats_record(s, "w", "j2", mkrec("success", "w", "j2", 1, STARTED));
	/* Sent, not yet answered: their replies must not reach freed
	 * memory (the sanitizer build checks). */
	stats_free(s);
	ck_assert_int_eq(cap_count("stats: 2 records not written to Redis"),
	    1);
	run_ms(200);
	c = cli_open(&S, NULL, 0);
	ck_q(c, "2", "HGET worker:stats:w total_executions");
	redisFree(c);
	rds_free(r);
}
END_TEST

static TCase *
tcase(const char *name, const TTest *t1, const TTest *t2, const TTest *t3)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, t1);
	if (t2)
		tcase_add_test(tc, t2);
	if (t3)
		tcase_add_test(tc, t3);
	return tc;
}

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc;

	tc = tcase("rds_new", rds_new_refuses, rds_new_address,
	    rds_new_tcp_password_db);
	tcase_add_test(tc, rds_new_wrong_password);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tcase("rds_command", rds_command_binary_in_order,
	    rds_command_refused, NULL));
	suite_add_tcase(s, tcase("rds_cancel", rds_cancel_forgets, NULL,
	    NULL));
	suite_add_tcase(s, tcase("rds_eval", rds_eval_by_digest_and_after_flush,
	    rds_eval_refused, NULL));
	suite_add_tcase(s, tcase("rds_on_connect", rds_on_connect_reconnects,
	    NULL, NULL));
	suite_add_tcase(s, tcase("rds_set_timeout",
	    rds_set_timeout_drops_silent_server, NULL, NULL));
	suite_add_tcase(s, tcase("stats_new", stats_new_refuses,
	    stats_new_starts_empty, NULL));
	tc = tcase("stats_record", stats_record_keys, stats_record_average,
	    stats_record_history_trimmed);
	tcase_add_test(tc, stats_record_zero_fields);
	tcase_add_test(tc, stats_record_failures_by_age);
	tcase_add_test(tc, stats_record_prefix);
	tcase_add_test(tc, stats_record_invalid);
	tcase_add_test(tc, stats_record_hostile_but_valid);
	tcase_add_test(tc, stats_record_refused_then_retried);
	tcase_add_test(tc, stats_record_written_in_part);
	tcase_add_test(tc, stats_record_one_command);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tcase("stats_counters",
	    stats_counters_outage_flushed_in_order,
	    stats_counters_overflow_drops_oldest, NULL));
	suite_add_tcase(s, tcase("stats_set_bytes", stats_set_bytes_bounds_size,
	    NULL, NULL));
	suite_add_tcase(s, tcase("stats_flush_wait", stats_flush_wait_bounded,
	    stats_flush_wait_not_reentrant, NULL));
	suite_add_tcase(s, tcase("stats_free",
	    stats_free_with_records_in_flight, NULL, NULL));
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("mailvisord", LOG_LVL_INFO);
	signal(SIGPIPE, SIG_IGN);
	if (mv_iso8601(time(NULL) - 3600, STARTED, sizeof(STARTED)) == NULL)
		return EXIT_FAILURE;
	if (redis_scratch_init(root, "check_stats") == -1)
		return EXIT_FAILURE;
	sr = srunner_create(stats_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	redis_scratch_remove(root);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
