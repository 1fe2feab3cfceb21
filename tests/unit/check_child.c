/* Unit tests of supervisor/child.c: real mv-test-worker processes on a
 * real event loop. The worker is $MV_TEST_WORKER, else mv-test-worker
 * beside this test. */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/record.h"
#include "supervisor/child.h"

static char worker[PATH_MAX];
static struct event_base *base;
static struct event *ev_chld;

/* What a done callback saw, copied out of the borrowed result. */
struct run {
	int		 done;
	enum child_status status;
	int		 retryable;
	int		 exit_code;
	int		 signal;
	json_t		*result;
	char		*tail;
	char		*reason;
	char		*record;	/* child_record(), dumped */
	const char	*rss_source;
	double		 duration;
	time_t		 started_at, completed_at;
	long		 max_rss_kb;
	int64_t		 spawned_ms, done_ms;
	int		 count_in_cb;
	pid_t		 pid;
	struct child	*child;
	int		 revoke_in_cb;
};

static void
on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	child_reap();
}

static void
setup(void)
{
	log_init("check_child", LOG_LVL_INFO);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ev_chld = evsignal_new(base, SIGCHLD, on_sigchld, NULL);
	ck_assert_ptr_nonnull(ev_chld);
	ck_assert_int_eq(event_add(ev_chld, NULL), 0);
}

static void
teardown(void)
{
	event_free(ev_chld);
	event_base_free(base);
}

static void
run_clear(struct run *r)
{
	json_decref(r->result);
	free(r->tail);
	free(r->reason);
	free(r->record);
	memset(r, 0, sizeof(*r));
}

static void
on_done(struct child *c, const struct child_result *res, void *arg)
{
	struct run *r = arg;
	json_t *rec;

	ck_assert_ptr_eq(c, r->child);
	ck_assert_int_eq(r->done, 0);
	r->done = 1;
	r->done_ms = mv_mono_ms();
	r->pid = child_pid(c);
	r->status = res->status;
	r->retryable = res->retryable;
	r->exit_code = res->exit_code;
	r->signal = res->signal;
	r->result = res->result ? json_incref(res->result) : NULL;
	ck_assert_ptr_nonnull(res->stderr_tail);
	r->tail = strdup(res->stderr_tail);
	r->reason = res->reason ? strdup(res->reason) : NULL;
	r->rss_source = res->rss_source;
	r->duration = res->duration;
	r->started_at = res->started_at;
	r->completed_at = res->completed_at;
	r->max_rss_kb = res->max_rss_kb;
	r->count_in_cb = child_count();
	rec = child_record("t", "id-1", 2, res);
	ck_assert_ptr_nonnull(rec);
	r->record = mv_record_dumps(rec);
	json_decref(rec);
	if (r->revoke_in_cb)
		child_revoke(c);	/* must be ignored */
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until *flag is set or max seconds pass; fails then. */
static void
loop_until(const int *flag, double max)
{
	struct timeval tv;
	struct event *ev;
	int expired = 0;

	tv.tv_sec = (time_t)max;
	tv.tv_usec = (suseconds_t)((max - (double)tv.tv_sec) * 1e6);
	ev = evtimer_new(base, on_deadline, &expired);
	evtimer_add(ev, &tv);
	while (!*flag && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	ck_assert_msg(*flag, "not done within %g s", max);
}

/* Starts worker with the arguments (NULL-terminated). */
static void
start(struct run *r, const struct child_limits *l, const char *tag, ...)
{
	char *argv[8], err[256];
	va_list ap;
	int n = 1;

	argv[0] = worker;
	va_start(ap, tag);
	while (n < 7 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	memset(r, 0, sizeof(*r));
	r->spawned_ms = mv_mono_ms();
	r->child = child_spawn(base, argv, l, tag, on_done, r, err,
	    sizeof(err));
	ck_assert_msg(r->child != NULL, "spawn: %s", err);
}

#define RUN(r, l, ...)	do {						\
	start((r), (l), "job t id 1", __VA_ARGS__, (char *)NULL);	\
	loop_until(&(r)->done, 10);					\
} while (0)

static const char *
res_str(const struct run *r, const char *key)
{
	return json_string_value(json_object_get(r->result, key));
}

/* stderr (fd 2, where log.c writes) into a file while capturing. */
static int saved_stderr = -1;
static char capture_path[64];

static void
capture_start(void)
{
	int fd;

	strcpy(capture_path, "/tmp/check_child.XXXXXX");
	fd = mkstemp(capture_path);
	ck_assert_int_ne(fd, -1);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Stops capturing; returns what was written (caller frees). */
static char *
capture_end(void)
{
	char *s;
	FILE *f;
	long n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	f = fopen(capture_path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(capture_path);
	return s;
}

static int
count_fds(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

static int
count_lines(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s++;
	}
	return n;
}

/* child_status_name */

START_TEST(test_status_names)
{
	ck_assert_str_eq(child_status_name(CHILD_SUCCESS), "success");
	ck_assert_str_eq(child_status_name(CHILD_FAILED), "failed");
	ck_assert_str_eq(child_status_name(CHILD_TIMEOUT), "timeout");
	ck_assert_str_eq(child_status_name(CHILD_KILLED), "killed");
	ck_assert_str_eq(child_status_name(CHILD_OUTPUT_TOO_LARGE),
	    "output_too_large");
	ck_assert_str_eq(child_status_name(CHILD_BAD_OUTPUT), "bad_output");
	ck_assert_str_eq(child_status_name(CHILD_REVOKED), "revoked");
	ck_assert_str_eq(child_status_name((enum child_status)7), "unknown");
	ck_assert_str_eq(child_status_name((enum child_status)-1), "unknown");
}
END_TEST

/* child_spawn: classification */

START_TEST(test_success)
{
	struct run r;
	time_t before = time(NULL);

	RUN(&r, NULL, "ok");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	ck_assert_int_eq(r.retryable, 0);
	ck_assert_int_eq(r.exit_code, 0);
	ck_assert_int_eq(r.signal, 0);
	ck_assert_ptr_null(r.reason);
	ck_assert_str_eq(res_str(&r, "action"), "ok");
	ck_assert_str_eq(r.tail, "");
	ck_assert_str_eq(r.rss_source, "rusage");
	ck_assert_int_gt(r.max_rss_kb, 0);
	ck_assert(r.duration >= 0 && r.duration < 5);
	ck_assert(r.started_at >= before && r.completed_at >= r.started_at);
	ck_assert_int_eq(r.count_in_cb, 0);
	ck_assert(strncmp(r.record, "{\"status\":\"success\",\"worker\":\"t\","
	    "\"job_id\":\"id-1\",\"duration\":", 48) == 0);
	ck_assert_ptr_nonnull(strstr(r.record, ",\"result\":{\"status\":"
	    "\"success\",\"action\":\"ok\",\"count\":1},\"started_at\":"));
	ck_assert_ptr_nonnull(strstr(r.record, ",\"exit_code\":0,"
	    "\"signal\":null,\"attempt\":2,\"max_rss_kb\":"));
	ck_assert_ptr_nonnull(strstr(r.record, ",\"rss_source\":\"rusage\","
	    "\"user_cpu\":"));
	ck_assert_ptr_null(strstr(r.record, "stderr_tail"));
	ck_assert_ptr_null(strstr(r.record, "reason"));
	run_clear(&r);
}
END_TEST

START_TEST(test_fail_retryable)
{
	struct run r;

	RUN(&r, NULL, "fail75");
	ck_assert_int_eq(r.status, CHILD_FAILED);
	ck_assert_int_eq(r.retryable, 1);
	ck_assert_int_eq(r.exit_code, 75);
	ck_assert_str_eq(r.reason, "exit 75: rate_limited: slow down");
	ck_assert_str_eq(res_str(&r, "status"), "error");
	run_clear(&r);
}
END_TEST

START_TEST(test_fail_permanent)
{
	struct run r;

	RUN(&r, NULL, "fail");
	ck_assert_int_eq(r.status, CHILD_FAILED);
	ck_assert_int_eq(r.retryable, 0);
	ck_assert_int_eq(r.exit_code, 1);
	ck_assert_str_eq(r.reason, "exit 1: permission: denied");
	run_clear(&r);
}
END_TEST

/* No JSON at all: the exit code decides (75 = retryable). */
START_TEST(test_exit_codes_only)
{
	struct run r;

	RUN(&r, NULL, "exit", "75");
	ck_assert_int_eq(r.status, CHILD_FAILED);
	ck_assert_int_eq(r.retryable, 1);
	ck_assert_ptr_null(r.result);
	ck_assert_str_eq(r.reason, "exit 75, no result on stdout");
	run_clear(&r);
	RUN(&r, NULL, "exit", "3");
	ck_assert_int_eq(r.status, CHILD_FAILED);
	ck_assert_int_eq(r.retryable, 0);
	run_clear(&r);
	RUN(&r, NULL, "exit", "0");
	ck_assert_int_eq(r.status, CHILD_BAD_OUTPUT);
	ck_assert_int_eq(r.retryable, 0);
	ck_assert_str_eq(r.reason, "bad output: nothing on stdout");
	run_clear(&r);
}
END_TEST

START_TEST(test_bad_output)
{
	struct run r;

	RUN(&r, NULL, "garbage");
	ck_assert_int_eq(r.status, CHILD_BAD_OUTPUT);
	ck_assert_int_eq(r.retryable, 0);
	ck_assert_int_eq(r.exit_code, 0);
	ck_assert_ptr_null(r.result);
	ck_assert_str_eq(r.reason, "bad output: stdout is not a JSON object");
	run_clear(&r);
}
END_TEST

/* Invalid UTF-8 in the JSON is bad output; stderr bytes are repaired. */
START_TEST(test_binary)
{
	struct run r;
	char *log;

	capture_start();
	RUN(&r, NULL, "binary");
	log = capture_end();
	ck_assert_int_eq(r.status, CHILD_BAD_OUTPUT);
	ck_assert_str_eq(r.tail,
	    "bad \xef\xbf\xbd\xef\xbf\xbd NUL\xef\xbf\xbd end\n");
	ck_assert_ptr_nonnull(strstr(log, "job t id 1: bad ?? NUL  end\n"));
	free(log);
	run_clear(&r);
}
END_TEST

START_TEST(test_segv)
{
	struct run r;

	RUN(&r, NULL, "segv");
	ck_assert_int_eq(r.status, CHILD_KILLED);
	ck_assert_int_eq(r.retryable, 1);
	ck_assert_int_eq(r.exit_code, -1);
	ck_assert_int_eq(r.signal, SIGSEGV);
	ck_assert_str_eq(r.reason, "killed by SIGSEGV");
	ck_assert_ptr_nonnull(strstr(r.record, "\"result\":null,"));
	ck_assert_ptr_nonnull(strstr(r.record, ",\"exit_code\":null,"
	    "\"signal\":\"SIGSEGV\",\"attempt\":2,"));
	ck_assert_ptr_nonnull(strstr(r.record, ",\"stderr_tail\":\"\","
	    "\"reason\":\"killed by SIGSEGV\"}"));
	run_clear(&r);
}
END_TEST

START_TEST(test_ndjson)
{
	struct run r;

	RUN(&r, NULL, "ndjson");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	ck_assert(json_is_true(json_object_get(r.result, "summary")));
	ck_assert_int_eq(json_integer_value(json_object_get(r.result,
	    "count")), 2);
	run_clear(&r);
}
END_TEST

/* child_spawn: failures before exec come back as results */

START_TEST(test_exec_missing)
{
	struct run r;
	char *argv[] = { "/nonexistent/mv-worker", "ok", NULL }, err[128];

	memset(&r, 0, sizeof(r));
	r.child = child_spawn(base, argv, NULL, "job m id 2", on_done, &r,
	    err, sizeof(err));
	ck_assert_ptr_nonnull(r.child);
	loop_until(&r.done, 5);
	ck_assert_int_eq(r.status, CHILD_FAILED);
	ck_assert_int_eq(r.retryable, 0);
	ck_assert_int_eq(r.exit_code, 127);
	ck_assert_str_eq(r.reason,
	    "exec /nonexistent/mv-worker: No such file or directory");
	run_clear(&r);
}
END_TEST

START_TEST(test_chdir)
{
	struct child_limits l = { .cwd = "/nonexistent-dir" };
	char dir[PATH_MAX], saved[PATH_MAX];
	struct run r;

	RUN(&r, &l, "ok");
	ck_assert_int_eq(r.status, CHILD_FAILED);
	ck_assert_int_eq(r.exit_code, 127);
	ck_assert_str_eq(r.reason,
	    "chdir /nonexistent-dir: No such file or directory");
	run_clear(&r);

	/* A relative argv[0] resolves from cwd: chdir comes before exec. */
	strcpy(dir, worker);
	l.cwd = dirname(dir);
	strcpy(saved, worker);
	strcpy(worker, "./mv-test-worker");
	RUN(&r, &l, "ok");
	strcpy(worker, saved);
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	run_clear(&r);
}
END_TEST

START_TEST(test_spawn_refused)
{
	struct child_limits l = { .cgroup = "/nonexistent/cgroup" };
	char *argv[] = { worker, "ok", NULL }, *empty[] = { NULL };
	char *blank[] = { "", NULL }, err[256];
	struct run r;

	memset(&r, 0, sizeof(r));
	ck_assert_ptr_null(child_spawn(base, empty, NULL, "t", on_done, &r,
	    err, sizeof(err)));
	ck_assert_str_eq(err, "spawn: nothing to run");
	ck_assert_ptr_null(child_spawn(base, NULL, NULL, "t", on_done, &r,
	    err, sizeof(err)));
	ck_assert_ptr_null(child_spawn(base, blank, NULL, "t", on_done, &r,
	    err, sizeof(err)));
	ck_assert_ptr_null(child_spawn(base, argv, NULL, "t", NULL, &r,
	    err, sizeof(err)));
	ck_assert_ptr_null(child_spawn(NULL, argv, NULL, "t", on_done, &r,
	    err, sizeof(err)));
	ck_assert_ptr_null(child_spawn(base, argv, &l, "t", on_done, &r,
	    err, sizeof(err)));
	ck_assert(strncmp(err, "cgroup /nonexistent/cgroup/mv-", 30) == 0);
	ck_assert_ptr_nonnull(strstr(err, ": No such file or directory"));
	ck_assert_int_eq(child_count(), 0);
}
END_TEST

/* child_spawn: isolation */

START_TEST(test_fds)
{
	struct run r;
	json_t *want;
	int a, b;

	/* Not close-on-exec: closefrom must get them. */
	a = open("/dev/null", O_RDONLY);
	b = dup(a);
	ck_assert_int_gt(b, 2);
	RUN(&r, NULL, "fds");
	want = json_pack("[iii]", 0, 1, 2);
	ck_assert_msg(json_equal(json_object_get(r.result, "fds"), want),
	    "fds: %s", json_dumps(json_object_get(r.result, "fds"), 0));
	ck_assert_str_eq(res_str(&r, "stdin"), "/dev/null");
	json_decref(want);
	close(a);
	close(b);
	run_clear(&r);
}
END_TEST

START_TEST(test_env)
{
	char *envp[] = { "A=1", "B=two words", "C=", NULL };
	struct child_limits l = { .envp = envp };
	struct run r;
	json_t *want;

	setenv("MV_LEAK", "secret", 1);
	RUN(&r, &l, "env");
	want = json_pack("{s:s,s:s,s:s}", "A", "1", "B", "two words", "C", "");
	ck_assert(json_equal(json_object_get(r.result, "env"), want));
	json_decref(want);
	run_clear(&r);

	RUN(&r, NULL, "env");
	ck_assert_int_eq(json_object_size(json_object_get(r.result, "env")),
	    0);
	run_clear(&r);
}
END_TEST

/* Own session and group, no_new_privs, signals reset though the daemon
 * ignores and blocks some. */
START_TEST(test_session_signals)
{
	struct run r;
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	RUN(&r, NULL, "id");
	ck_assert(json_is_true(json_object_get(r.result, "session_leader")));
	ck_assert(json_is_true(json_object_get(r.result, "group_leader")));
	ck_assert_str_eq(res_str(&r, "no_new_privs"), "1");
	ck_assert_str_eq(res_str(&r, "sig_ignored"), "0000000000000000");
	ck_assert_str_eq(res_str(&r, "sig_blocked"), "0000000000000000");
	run_clear(&r);
}
END_TEST

/* Copies the worker into a directory anyone may enter. */
static void
public_worker(char *dir, size_t len)
{
	char cmd[PATH_MAX * 2 + 64];

	snprintf(dir, len, "/tmp/check_child.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/mv-test-worker'", worker, dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(worker, sizeof(worker), "%s/mv-test-worker", dir);
}

START_TEST(test_drop_privs)
{
	struct child_limits l = { .drop_privs = 1, .uid = 65534,
	    .gid = 65534 };
	char dir[64], priv[64], saved[PATH_MAX];
	struct run r;
	json_t *want;

	if (geteuid() != 0)
		return;		/* needs root to change uid */
	strcpy(saved, worker);
	public_worker(dir, sizeof(dir));
	RUN(&r, &l, "id");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	ck_assert_int_eq(json_integer_value(json_object_get(r.result, "uid")),
	    65534);
	ck_assert_int_eq(json_integer_value(json_object_get(r.result, "gid")),
	    65534);
	want = json_pack("[i]", 65534);
	ck_assert(json_equal(json_object_get(r.result, "groups"), want));
	json_decref(want);
	run_clear(&r);

	/* chdir happens as the new user: a private directory is refused. */
	strcpy(priv, "/tmp/check_child.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(priv));
	l.cwd = priv;
	RUN(&r, &l, "id");
	ck_assert_int_eq(r.status, CHILD_FAILED);
	ck_assert_int_eq(r.exit_code, 127);
	ck_assert_ptr_nonnull(strstr(r.reason, ": Permission denied"));
	ck_assert(strncmp(r.reason, "chdir /tmp/check_child.", 23) == 0);
	run_clear(&r);
	rmdir(priv);
	unlink(worker);
	rmdir(dir);
	strcpy(worker, saved);
}
END_TEST

/* A daemon already running as the configured user (started so by its
 * service manager) has nothing to drop: setgroups, which needs privilege,
 * is not tried. As root, a child process becomes nobody first and says
 * how the run went in its exit status. */
static int
run_as_self(void)
{
	struct child_limits l = { .drop_privs = 1 };
	struct run r;
	int ok;

	l.uid = getuid();
	l.gid = getgid();
	RUN(&r, &l, "id");
	ok = r.status == CHILD_SUCCESS && json_integer_value(json_object_get(
	    r.result, "uid")) == (json_int_t)l.uid;
	if (!ok)
		fprintf(stderr, "run as self: %s\n", r.reason ? r.reason : "");
	run_clear(&r);
	return ok;
}

START_TEST(test_drop_privs_already)
{
	char dir[64], saved[PATH_MAX];
	int st;
	pid_t pid;

	if (geteuid() != 0) {
		ck_assert(run_as_self());
		return;
	}
	strcpy(saved, worker);
	public_worker(dir, sizeof(dir));
	if ((pid = fork()) == 0) {
		if (event_reinit(base) == -1 || setgroups(0, NULL) == -1 ||
		    setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1)
			_exit(2);
		_exit(run_as_self() ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	unlink(worker);
	rmdir(dir);
	strcpy(worker, saved);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the run as nobody with user nobody failed (status %d)", st);
}
END_TEST

/* child_spawn: limits */

START_TEST(test_memory_limit)
{
	struct child_limits l = { .memory = 32 << 20 };
	struct run r;

	RUN(&r, &l, "alloc", "64");
	ck_assert_int_eq(r.status, CHILD_KILLED);
	ck_assert_int_eq(r.retryable, 1);
	ck_assert_int_eq(r.signal, SIGABRT);
	ck_assert_str_eq(r.reason, "killed by SIGABRT (memory limit set)");
	ck_assert_ptr_nonnull(strstr(r.tail, "alloc: out of memory at"));
	run_clear(&r);

	l.memory = 128 << 20;
	RUN(&r, &l, "alloc", "64");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	ck_assert_int_ge(r.max_rss_kb, 64 * 1024);
	run_clear(&r);
}
END_TEST

/* Line mode: the lines a worker prints, as on_line sees them. */
struct lines {
	long	 n;
	size_t	 bytes;
	char	 first[256];
	char	 last[256];
};

static void
on_line(const char *s, size_t len, void *arg)
{
	struct lines *ls = arg;

	ck_assert_uint_eq(strlen(s), len);
	if (ls->n++ == 0)
		snprintf(ls->first, sizeof(ls->first), "%s", s);
	snprintf(ls->last, sizeof(ls->last), "%s", s);
	ls->bytes += len;
}

START_TEST(test_line_mode)
{
	struct lines ls;
	struct child_limits l = { .on_line = on_line, .line_arg = &ls,
	    .max_line = 4096, .max_output = 1024 };
	struct run r;
	char *log;

	/* Every line but the summary goes out; stdout past max_output is
	 * fine: only one line is kept. */
	memset(&ls, 0, sizeof(ls));
	RUN(&r, &l, "sync", "--cursor=7", "5000", "10");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	ck_assert_int_eq(ls.n, 5000);
	ck_assert_str_eq(ls.first, "{\"change\":\"added\",\"id\":\"m1\","
	    "\"email\":{\"history_id\":\"1\"},\"pad\":\"xxxxxxxxxx\"}");
	ck_assert_ptr_nonnull(strstr(ls.last, "\"id\":\"m5000\""));
	ck_assert_str_eq(res_str(&r, "cursor"), "7+");
	ck_assert_str_eq(res_str(&r, "got"), "7");
	run_clear(&r);

	/* A line past max_line: output_too_large, that line not sent. */
	memset(&ls, 0, sizeof(ls));
	capture_start();
	RUN(&r, &l, "sync", "--cursor=", "3", "5000");
	log = capture_end();
	ck_assert_int_eq(r.status, CHILD_OUTPUT_TOO_LARGE);
	ck_assert_int_eq(ls.n, 0);
	ck_assert_str_eq(r.reason,
	    "output too large: stdout line past 4096 bytes");
	ck_assert_ptr_nonnull(strstr(log, "stdout line past 4096 bytes"));
	free(log);
	run_clear(&r);

	/* A failure's lines still go out; its summary is the result. */
	memset(&ls, 0, sizeof(ls));
	RUN(&r, &l, "sync", "--cursor=a", "2", "0", "fail75");
	ck_assert_int_eq(r.status, CHILD_FAILED);
	ck_assert_int_eq(r.retryable, 1);
	ck_assert_int_eq(ls.n, 2);
	run_clear(&r);
}
END_TEST

START_TEST(test_output_cap)
{
	struct child_limits l = { .max_output = 1 << 20 };
	struct run r;
	char *log;

	capture_start();
	RUN(&r, &l, "flood", "256");
	log = capture_end();
	ck_assert_int_eq(r.status, CHILD_OUTPUT_TOO_LARGE);
	ck_assert_int_eq(r.retryable, 0);
	ck_assert_ptr_null(r.result);
	ck_assert_msg(r.signal == SIGKILL || r.signal == SIGPIPE,
	    "signal %d", r.signal);
	ck_assert_str_eq(r.reason,
	    "output too large: stdout past 1048576 bytes");
	ck_assert_ptr_nonnull(strstr(log, "job t id 1: stdout past 1048576 "
	    "bytes: SIGKILL to the group\n"));
	ck_assert_int_lt(r.done_ms - r.spawned_ms, 2000);
	/* Nothing of its process group is left. */
	errno = 0;
	ck_assert_int_eq(kill(-r.pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	free(log);
	run_clear(&r);

	/* Just under the cap is fine. */
	l.max_output = (1 << 20) + 1;
	RUN(&r, &l, "flood", "1");
	ck_assert_int_eq(r.status, CHILD_BAD_OUTPUT);
	run_clear(&r);
}
END_TEST

START_TEST(test_soft_timeout)
{
	struct child_limits l = { .soft_timeout = 0.2, .timeout = 2 };
	struct run r;

	RUN(&r, &l, "sleep");
	ck_assert_int_eq(r.status, CHILD_TIMEOUT);
	ck_assert_int_eq(r.retryable, 1);
	ck_assert_int_eq(r.signal, SIGTERM);
	ck_assert_str_eq(r.reason,
	    "timeout: killed by SIGTERM at the 0.2 s soft limit");
	ck_assert(r.duration >= 0.19 && r.duration < 1.0);
	run_clear(&r);

	/* Asked to stop, it finished its work: that is kept. */
	RUN(&r, &l, "sleep", "term-ok");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	ck_assert(json_is_true(json_object_get(r.result, "stopped")));
	run_clear(&r);
}
END_TEST

START_TEST(test_hard_timeout)
{
	struct child_limits l = { .soft_timeout = 0.2, .timeout = 0.5 };
	struct run r;
	char *log;

	capture_start();
	RUN(&r, &l, "sleep", "ignore-term");
	log = capture_end();
	ck_assert_int_eq(r.status, CHILD_TIMEOUT);
	ck_assert_int_eq(r.retryable, 1);
	ck_assert_int_eq(r.exit_code, -1);
	ck_assert_int_eq(r.signal, SIGKILL);
	ck_assert_str_eq(r.reason,
	    "timeout: killed by SIGKILL at the 0.5 s hard limit");
	ck_assert(r.duration >= 0.49 && r.duration < 1.5);
	ck_assert_ptr_nonnull(strstr(log, "job t id 1: soft timeout after "
	    "0.2 s: SIGTERM to the group\n"));
	ck_assert_ptr_nonnull(strstr(log, "job t id 1: timeout after 0.5 s: "
	    "SIGKILL to the group\n"));
	free(log);
	run_clear(&r);

	/* A hard limit alone. */
	l.soft_timeout = 0;
	l.timeout = 0.2;
	RUN(&r, &l, "sleep");
	ck_assert_int_eq(r.status, CHILD_TIMEOUT);
	ck_assert_int_eq(r.signal, SIGKILL);
	run_clear(&r);
}
END_TEST

/* A grandchild holding stdout cannot hold the result past CHILD_LINGER. */
START_TEST(test_grandchild)
{
	struct run r;
	pid_t gc;
	int st;

	/* The orphaned grandchild becomes ours, to see how it ended. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	RUN(&r, NULL, "grandchild");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	ck_assert_int_ge(r.done_ms - r.spawned_ms, 900);
	ck_assert_int_lt(r.done_ms - r.spawned_ms, 1800);
	ck_assert(r.duration < 0.5);
	gc = (pid_t)json_integer_value(json_object_get(r.result,
	    "grandchild"));
	ck_assert_int_gt(gc, 0);
	ck_assert_int_eq(waitpid(gc, &st, 0), gc);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	run_clear(&r);
}
END_TEST

START_TEST(test_stderr_lines)
{
	struct run r;
	char *log;

	capture_start();
	RUN(&r, NULL, "stderr", "3");
	log = capture_end();
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	ck_assert_str_eq(r.tail, "line 1\nline 2\nline 3\n");
	ck_assert_ptr_nonnull(strstr(log,
	    "check_child: job t id 1: line 1\n"
	    "check_child: job t id 1: line 2\n"
	    "check_child: job t id 1: line 3\n"));
	free(log);
	run_clear(&r);
}
END_TEST

/* The tail keeps the last 8 KiB; a long line is logged cut. */
START_TEST(test_stderr_tail)
{
	char want[CHILD_STDERR_TAIL + 1], line[1001], logged[1100];
	struct run r;
	char *log;
	size_t i, off;

	capture_start();
	RUN(&r, NULL, "stderr", "20", "1000");
	log = capture_end();
	/* 20 lines of 1000 bytes and '\n': the window starts mid-line. */
	for (i = 0, off = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "line %zu", i + 1);
		memset(line + strlen(line), '.', 1000 - strlen(line));
		line[1000] = '\0';
		if ((i + 1) * 1001 > 20 * 1001 - CHILD_STDERR_TAIL) {
			size_t skip = i * 1001 < 20 * 1001 - CHILD_STDERR_TAIL ?
			    20 * 1001 - CHILD_STDERR_TAIL - i * 1001 : 0;

			memcpy(want + off, line + skip, 1000 - skip);
			off += 1000 - skip;
			want[off++] = '\n';
		}
	}
	want[off] = '\0';
	ck_assert_uint_eq(off, CHILD_STDERR_TAIL);
	ck_assert_str_eq(r.tail, want);
	ck_assert_int_eq(count_lines(log, ": job t id 1: line "), 20);
	free(log);
	run_clear(&r);

	capture_start();
	RUN(&r, NULL, "stderr", "1", "3000");
	log = capture_end();
	memset(logged, '.', sizeof(logged));
	memcpy(logged, "job t id 1: line 1", 18);
	strcpy(logged + 12 + CHILD_LINE_MAX, "...\n");
	ck_assert_ptr_nonnull(strstr(log, logged));
	free(log);
	run_clear(&r);
}
END_TEST

START_TEST(test_stderr_flood_log)
{
	struct run r;
	char *log;

	capture_start();
	RUN(&r, NULL, "stderr", "10050");
	log = capture_end();
	ck_assert_int_eq(count_lines(log, ": job t id 1: line "),
	    CHILD_LOG_LINES_MAX);
	ck_assert_ptr_nonnull(strstr(log, "job t id 1: 10000 stderr lines "
	    "logged, the rest is not\n"));
	ck_assert_ptr_null(strstr(log, "line 10001\n"));
	ck_assert_ptr_nonnull(strstr(r.tail, "line 10050\n"));
	free(log);
	run_clear(&r);
}
END_TEST

/* Spawns run on the unified hierarchy when it can be written. */
static int
cgroup_root(char *dir, size_t len)
{
	const char *root = getenv("MV_TEST_CGROUP");
	struct stat sb;

	if (root == NULL)
		root = "/sys/fs/cgroup/unified";
	snprintf(dir, len, "%s/check_child.%ld", root, (long)getpid());
	if (stat(root, &sb) == -1 || access(root, W_OK) == -1 ||
	    mkdir(dir, 0755) == -1)
		return -1;
	return 0;
}

START_TEST(test_cgroup)
{
	struct child_limits l = { 0 };
	char dir[PATH_MAX], want[PATH_MAX + 64];
	struct run r;
	const char *cg;
	int i;

	if (cgroup_root(dir, sizeof(dir)) == -1)
		return;		/* no delegated cgroup v2 here */
	l.cgroup = dir;
	RUN(&r, &l, "cgroup");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	cg = res_str(&r, "cgroup");
	snprintf(want, sizeof(want), "/check_child.%ld/mv-%ld-",
	    (long)getpid(), (long)getpid());
	ck_assert_msg(cg != NULL && strstr(cg, want) != NULL, "cgroup %s",
	    cg ? cg : "(null)");
	ck_assert(strcmp(r.rss_source, "cgroup") == 0 ||
	    strcmp(r.rss_source, "rusage") == 0);
	run_clear(&r);

	/* A grandchild left in the cgroup is killed; the cgroup removed. */
	RUN(&r, &l, "grandchild");
	ck_assert_int_eq(r.status, CHILD_SUCCESS);
	run_clear(&r);
	for (i = 0; i < 50 && rmdir(dir) == -1; i++)
		event_base_loop(base, EVLOOP_NONBLOCK), usleep(20000);
	ck_assert_msg(i < 50, "%s: %s", dir, strerror(errno));
}
END_TEST

/* 1000 runs, 20 at a time: no fd, zombie or child left behind. */
static int started, finished;

static void
on_many(struct child *c, const struct child_result *res, void *arg)
{
	(void)c;
	(void)arg;
	ck_assert_int_eq(res->status, CHILD_SUCCESS);
	finished++;
}

START_TEST(test_many)
{
	char *argv[] = { worker, "ok", NULL }, err[256];
	int fds = count_fds(), st;

	started = finished = 0;
	while (finished < 1000) {
		while (started < 1000 && started - finished < 20) {
			ck_assert_ptr_nonnull(child_spawn(base, argv, NULL,
			    "job many", on_many, NULL, err, sizeof(err)));
			started++;
		}
		event_base_loop(base, EVLOOP_ONCE);
	}
	ck_assert_int_eq(child_count(), 0);
	ck_assert_int_eq(count_fds(), fds);
	errno = 0;
	ck_assert_int_eq(waitpid(-1, &st, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* child_revoke */

static void
on_revoke(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	child_revoke(arg);
}

START_TEST(test_revoke)
{
	struct timeval tv = { 0, 100000 };
	struct event *ev;
	struct run r;

	start(&r, NULL, "job r id 3", "sleep", (char *)NULL);
	r.revoke_in_cb = 1;
	ev = evtimer_new(base, on_revoke, r.child);
	evtimer_add(ev, &tv);
	loop_until(&r.done, 5);
	ck_assert_int_eq(r.status, CHILD_REVOKED);
	ck_assert_int_eq(r.retryable, 0);
	ck_assert_int_eq(r.signal, SIGKILL);
	ck_assert_str_eq(r.reason, "revoked");
	event_free(ev);
	run_clear(&r);
	child_revoke(NULL);
}
END_TEST

/* Revoking wins over a timeout already under way. */
START_TEST(test_revoke_after_timeout)
{
	struct child_limits l = { .soft_timeout = 0.05, .timeout = 5 };
	struct timeval tv = { 0, 200000 };
	struct event *ev;
	struct run r;

	start(&r, &l, "job r id 4", "sleep", "ignore-term", (char *)NULL);
	ev = evtimer_new(base, on_revoke, r.child);
	evtimer_add(ev, &tv);
	loop_until(&r.done, 5);
	ck_assert_int_eq(r.status, CHILD_REVOKED);
	event_free(ev);
	run_clear(&r);
}
END_TEST

/* child_terminate_all */

START_TEST(test_terminate_all)
{
	struct run a, b;
	char *log;

	start(&a, NULL, "job a", "sleep", (char *)NULL);
	start(&b, NULL, "job b", "sleep", "ignore-term", (char *)NULL);
	ck_assert_int_eq(child_count(), 2);
	usleep(100000);		/* let b ignore SIGTERM first */
	capture_start();
	child_terminate_all(0.3);
	loop_until(&a.done, 5);
	loop_until(&b.done, 5);
	log = capture_end();
	ck_assert_int_eq(a.status, CHILD_KILLED);
	ck_assert_int_eq(a.retryable, 1);
	ck_assert_int_eq(a.signal, SIGTERM);
	ck_assert_str_eq(a.reason, "killed by SIGTERM (daemon shutting down)");
	ck_assert_int_eq(b.status, CHILD_KILLED);
	ck_assert_int_eq(b.signal, SIGKILL);
	ck_assert_int_ge(b.done_ms - a.done_ms, 250);
	ck_assert_ptr_nonnull(strstr(log, "job b: still running after the "
	    "grace period: SIGKILL\n"));
	ck_assert_int_eq(child_count(), 0);
	free(log);
	run_clear(&a);
	run_clear(&b);
}
END_TEST

START_TEST(test_terminate_all_now)
{
	struct run a;

	start(&a, NULL, "job a", "sleep", "ignore-term", (char *)NULL);
	usleep(100000);
	child_terminate_all(0);
	loop_until(&a.done, 2);
	ck_assert_int_eq(a.signal, SIGKILL);
	run_clear(&a);
	child_terminate_all(1);		/* nothing left: no effect */
	ck_assert_int_eq(child_count(), 0);
}
END_TEST

/* child_count */

START_TEST(test_count)
{
	struct run a, b;

	ck_assert_int_eq(child_count(), 0);
	start(&a, NULL, "job a", "ok", (char *)NULL);
	ck_assert_int_eq(child_count(), 1);
	start(&b, NULL, "job b", "ok", (char *)NULL);
	ck_assert_int_eq(child_count(), 2);
	loop_until(&a.done, 5);
	loop_until(&b.done, 5);
	ck_assert_int_eq(child_count(), 0);
	ck_assert_int_le(a.count_in_cb, 1);
	run_clear(&a);
	run_clear(&b);
}
END_TEST

/* child_reap */

START_TEST(test_reap_unknown)
{
	char want[64], *log;
	pid_t pid;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(3);
	usleep(100000);
	capture_start();
	child_reap();
	log = capture_end();
	snprintf(want, sizeof(want), "reaped unknown pid %ld (status 0x300)",
	    (long)pid);
	ck_assert_ptr_nonnull(strstr(log, want));
	free(log);
	/* Nothing left: a second call is quiet. */
	capture_start();
	child_reap();
	log = capture_end();
	ck_assert_str_eq(log, "");
	free(log);
}
END_TEST

START_TEST(test_pid)
{
	struct run r;

	start(&r, NULL, "job p", "sleep", (char *)NULL);
	ck_assert_int_gt(child_pid(r.child), 0);
	ck_assert_int_eq(getpgid(child_pid(r.child)), child_pid(r.child));
	child_revoke(r.child);
	loop_until(&r.done, 5);
	run_clear(&r);
}
END_TEST

/*
 * Measurement, when MV_BENCH_SPAWN is set (never pass/fail on time):
 * 1000 sequential runs of a trivial worker from a process that touched
 * 1 GiB (in 4 KiB pages, as a fragmented heap would be, and with
 * transparent huge pages), with vfork and with fork.
 */
static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_runs(enum child_spawn_method m, const char *what)
{
	char *argv[] = { worker, "exit", "0", NULL }, err[256];
	double t0, t1, in_spawn = 0;
	struct run r;
	int i;

	child_set_spawn_method(m);
	t0 = bench_now();
	for (i = 0; i < 1000; i++) {
		memset(&r, 0, sizeof(r));
		t1 = bench_now();
		r.child = child_spawn(base, argv, NULL, "bench", on_done, &r,
		    err, sizeof(err));
		in_spawn += bench_now() - t1;
		ck_assert_ptr_nonnull(r.child);
		loop_until(&r.done, 5);
		run_clear(&r);
	}
	printf("1000 runs, 1 GiB touched (%s), %s: %.2f s in all, "
	    "child_spawn() %.3f ms each\n", what,
	    m == CHILD_SPAWN_FORK ? "fork " : "vfork", bench_now() - t0,
	    in_spawn);
	child_set_spawn_method(CHILD_SPAWN_VFORK);
}

START_TEST(test_bench)
{
	size_t big = (size_t)1 << 30;
	char *mem;
	int huge;

	if (getenv("MV_BENCH_SPAWN") == NULL)
		return;
	for (huge = 0; huge < 2; huge++) {
		mem = mmap(NULL, big, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(mem, MAP_FAILED);
		madvise(mem, big, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		memset(mem, 1, big);
		bench_runs(CHILD_SPAWN_VFORK, huge ? "huge pages" : "4 KiB");
		bench_runs(CHILD_SPAWN_FORK, huge ? "huge pages" : "4 KiB");
		munmap(mem, big);
	}
}
END_TEST

static Suite *
child_suite(void)
{
	Suite *s = suite_create("child");
	TCase *tc;

	tc = tcase_create("child_status_name");
	tcase_add_test(tc, test_status_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("child_spawn");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_success);
	tcase_add_test(tc, test_fail_retryable);
	tcase_add_test(tc, test_fail_permanent);
	tcase_add_test(tc, test_exit_codes_only);
	tcase_add_test(tc, test_bad_output);
	tcase_add_test(tc, test_binary);
	tcase_add_test(tc, test_segv);
	tcase_add_test(tc, test_ndjson);
	tcase_add_test(tc, test_exec_missing);
	tcase_add_test(tc, test_chdir);
	tcase_add_test(tc, test_spawn_refused);
	tcase_add_test(tc, test_fds);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_session_signals);
	tcase_add_test(tc, test_drop_privs);
	tcase_add_test(tc, test_drop_privs_already);
	tcase_add_test(tc, test_memory_limit);
	tcase_add_test(tc, test_output_cap);
	tcase_add_test(tc, test_line_mode);
	tcase_add_test(tc, test_soft_timeout);
	tcase_add_test(tc, test_hard_timeout);
	tcase_add_test(tc, test_grandchild);
	tcase_add_test(tc, test_stderr_lines);
	tcase_add_test(tc, test_stderr_tail);
	tcase_add_test(tc, test_stderr_flood_log);
	tcase_add_test(tc, test_cgroup);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("child_revoke");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_revoke);
	tcase_add_test(tc, test_revoke_after_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("child_terminate_all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_terminate_all);
	tcase_add_test(tc, test_terminate_all_now);
	suite_add_tcase(s, tc);

	tc = tcase_create("child_count");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("child_reap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reap_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("child_pid");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pid);
	suite_add_tcase(s, tc);

	tc = tcase_create("bench");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bench);
	suite_add_tcase(s, tc);
	return s;
}

/* $MV_TEST_WORKER, else mv-test-worker in this program's directory. */
static void
find_worker(const char *argv0)
{
	const char *env = getenv("MV_TEST_WORKER");
	char self[PATH_MAX];
	ssize_t n;

	if (env != NULL && *env != '\0') {
		snprintf(worker, sizeof(worker), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		snprintf(self, sizeof(self), "%s", argv0);
	else
		self[n] = '\0';
	snprintf(worker, sizeof(worker), "%s/mv-test-worker", dirname(self));
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	(void)argc;
	find_worker(argv[0]);
	if (access(worker, X_OK) == -1) {
		fprintf(stderr, "check_child: %s: %s (set MV_TEST_WORKER)\n",
		    worker, strerror(errno));
		return EXIT_FAILURE;
	}
	sr = srunner_create(child_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
