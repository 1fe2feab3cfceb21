/* A worker that behaves (or misbehaves) as argv[1] says, for the tests
 * of mailvisord's child control. Standalone: libc only. */
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char usage[] =
    "usage: mv-test-worker MODE [ARG]\n"
    "modes: ok, fail75, fail, exit N, alloc MIB,\n"
    "       sleep [ignore-term|term-ok], nap MS, now, flood MIB, garbage,\n"
    "       segv, grandchild, fds, env, id, cgroup, stderr N [LEN], ndjson,\n"
    "       binary, sync --cursor=C [N [LEN [ok|fail75|bad-cursor]]],\n"
    "       mark DIR TAG [MS [ok|fail75|fail|retry-after=S|fail75-first]],\n"
    "       consume DIR [MS [ok|fail75|fail|emit]]\n";

/* Writes s as a JSON string (quotes included). */
static void
put_json_str(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static int
mode_ok(void)
{
	printf("{\"status\":\"success\",\"action\":\"ok\",\"count\":1}\n");
	return 0;
}

static int
mode_fail75(void)
{
	printf("{\"status\":\"error\",\"action\":\"fail75\",\"error\":"
	    "{\"type\":\"rate_limited\",\"message\":\"slow down\","
	    "\"http_status\":429,\"retryable\":true}}\n");
	return 75;
}

static int
mode_fail(void)
{
	printf("{\"status\":\"error\",\"action\":\"fail\",\"error\":"
	    "{\"type\":\"permission\",\"message\":\"denied\","
	    "\"retryable\":false}}\n");
	return 1;
}

/* Allocates and touches n MiB; a failed allocation aborts, as a program
 * that does not check would crash. */
static int
mode_alloc(long n)
{
	char *p;
	long i;

	for (i = 0; i < n; i++) {
		if ((p = malloc(1 << 20)) == NULL) {
			fprintf(stderr, "alloc: out of memory at %ld MiB\n", i);
			abort();
		}
		memset(p, 1, 1 << 20);
	}
	printf("{\"status\":\"success\",\"action\":\"alloc\",\"mib\":%ld}\n",
	    n);
	return 0;
}

/* On SIGTERM: report success and exit 0, as a worker that finishes its
 * work when asked to stop. */
static void
term_ok(int sig)
{
	static const char ok[] = "{\"status\":\"success\",\"action\":"
	    "\"sleep\",\"stopped\":true}\n";
	ssize_t n;

	(void)sig;
	n = write(1, ok, sizeof(ok) - 1);
	_exit(n == (ssize_t)sizeof(ok) - 1 ? 0 : 1);
}

/* Sleeps until a signal ends it; "ignore-term": SIGTERM ignored;
 * "term-ok": SIGTERM answered with a success. */
static int __attribute__((noreturn))
mode_sleep(const char *arg)
{
	if (arg != NULL && strcmp(arg, "ignore-term") == 0)
		signal(SIGTERM, SIG_IGN);
	if (arg != NULL && strcmp(arg, "term-ok") == 0)
		signal(SIGTERM, term_ok);
	for (;;)
		pause();
}

/* Succeeds, saying when it started (ms since the epoch). */
static int
mode_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("{\"status\":\"success\",\"action\":\"now\",\"now_ms\":"
	    "%lld}\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	return 0;
}

/* Works for a while, then succeeds. */
static int
mode_nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	return mode_ok();
}

static int
mode_flood(long mib)
{
	static char chunk[65536];
	long i;

	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < mib * 16; i++)
		if (fwrite(chunk, 1, sizeof(chunk), stdout) != sizeof(chunk))
			return 1;
	return 0;
}

/* The child keeps stdout and stderr open and sleeps; the parent reports
 * the grandchild's pid and exits at once. */
static int
mode_grandchild(void)
{
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		sleep(60);
		_exit(0);
	}
	printf("{\"status\":\"success\",\"action\":\"grandchild\","
	    "\"grandchild\":%ld}\n", (long)pid);
	return 0;
}

static int
mode_fds(void)
{
	struct dirent *d;
	char target[256];
	DIR *dir;
	int n = 0;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return 1;
	printf("{\"status\":\"success\",\"action\":\"fds\",\"fds\":[");
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || atoi(d->d_name) == dirfd(dir))
			continue;
		printf("%s%s", n++ ? "," : "", d->d_name);
	}
	closedir(dir);
	n = (int)readlink("/proc/self/fd/0", target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	printf("],\"stdin\":");
	put_json_str(target);
	printf("}\n");
	return 0;
}

static int
mode_env(void)
{
	char **e, *eq;
	int n = 0;

	printf("{\"status\":\"success\",\"action\":\"env\",\"env\":{");
	for (e = environ; *e != NULL; e++) {
		if ((eq = strchr(*e, '=')) == NULL)
			continue;
		*eq = '\0';
		printf("%s", n++ ? "," : "");
		put_json_str(*e);
		putchar(':');
		put_json_str(eq + 1);
	}
	printf("}}\n");
	return 0;
}

/* The value of one "Key:\tvalue" line of /proc/self/status, as a JSON
 * string. */
static void
put_status_field(const char *key)
{
	char line[512];
	size_t klen = strlen(key);
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		line[strcspn(line, "\n")] = '\0';
		put_json_str(line + klen + 1 + strspn(line + klen + 1, "\t "));
		break;
	}
	fclose(f);
}

/* Credentials, session, no_new_privs, ignored and blocked signals. */
static int
mode_id(void)
{
	gid_t groups[64];
	int i, n;

	n = getgroups(64, groups);
	printf("{\"status\":\"success\",\"action\":\"id\",\"uid\":%ld,"
	    "\"gid\":%ld,\"groups\":[", (long)getuid(), (long)getgid());
	for (i = 0; i < n; i++)
		printf("%s%ld", i ? "," : "", (long)groups[i]);
	printf("],\"session_leader\":%s,\"group_leader\":%s",
	    getsid(0) == getpid() ? "true" : "false",
	    getpgrp() == getpid() ? "true" : "false");
	printf(",\"no_new_privs\":");
	put_status_field("NoNewPrivs");
	printf(",\"sig_ignored\":");
	put_status_field("SigIgn");
	printf(",\"sig_blocked\":");
	put_status_field("SigBlk");
	printf("}\n");
	return 0;
}

/* Invalid UTF-8 and a NUL byte on stderr, and a JSON-looking stdout
 * whose string is not UTF-8. */
static int
mode_binary(void)
{
	static const char err[] = "bad \xff\xfe NUL\0 end\n";
	static const char out[] = "{\"status\":\"success\",\"x\":\"\xc3\"}\n";

	fwrite(err, 1, sizeof(err) - 1, stderr);
	fwrite(out, 1, sizeof(out) - 1, stdout);
	return 0;
}

/* The cgroup v2 line of /proc/self/cgroup ("0::/path"). */
static int
mode_cgroup(void)
{
	char line[4096];
	FILE *f;

	if ((f = fopen("/proc/self/cgroup", "r")) == NULL)
		return 1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		printf("{\"status\":\"success\",\"action\":\"cgroup\","
		    "\"cgroup\":");
		put_json_str(line + 3);
		printf("}\n");
		fclose(f);
		return 0;
	}
	fclose(f);
	return 1;
}

/* n lines "line I" on stderr, padded with '.' to len bytes when given. */
static int
mode_stderr(long n, long len)
{
	long i, k;

	for (i = 1; i <= n; i++) {
		k = fprintf(stderr, "line %ld", i);
		for (; k < len; k++)
			fputc('.', stderr);
		fputc('\n', stderr);
	}
	return mode_ok();
}

static int
mode_ndjson(void)
{
	printf("{\"id\":\"m1\"}\n{\"id\":\"m2\"}\n"
	    "{\"status\":\"success\",\"action\":\"ndjson\",\"summary\":true,"
	    "\"count\":2}\n");
	return 0;
}

static long
num(const char *s)
{
	return s != NULL ? strtol(s, NULL, 10) : 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when DIR holds a file TAG.*, else 0. */
static int
mark_seen(const char *dir, const char *tag)
{
	struct dirent *d;
	size_t len = strlen(tag);
	DIR *dp;
	int seen = 0;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while (!seen && (d = readdir(dp)) != NULL)
		seen = strncmp(d->d_name, tag, len) == 0 &&
		    d->d_name[len] == '.';
	closedir(dp);
	return seen;
}

/*
 * Creates DIR/TAG.PID (path), writes "start MS" to it, works for ms
 * milliseconds, then writes "end MS". 0, or 70 (printed why).
 */
static int
mark_file(const char *path, long ms)
{
	struct timespec ts;
	FILE *f;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND,
	    0644)) == -1) {
		perror(path);
		return 70;
	}
	if ((f = fdopen(fd, "a")) == NULL) {
		perror(path);
		close(fd);
		return 70;
	}
	fprintf(f, "start %lld\n", now_ms());
	fflush(f);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	if (ms > 0)
		nanosleep(&ts, NULL);
	fprintf(f, "end %lld\n", now_ms());
	return fclose(f) == 0 ? 0 : 70;
}

/*
 * Leaves one file per execution, DIR/TAG.PID, holding "start MS" (ms
 * since the epoch) when it begins and "end MS" when it is done, so that
 * a test counts executions and sees which overlapped; a run killed before
 * its end has no "end" line. Works for ms milliseconds, then ends as
 * outcome says: ok (success), fail75 or fail (as those modes),
 * retry-after=S (exit 75, error.retry_after S), or fail75-first (the
 * first run of TAG in DIR fails at once as fail75, later ones work and
 * succeed). TAG may not hold '/'. Exit 64 on bad arguments.
 */
static int
mode_mark(const char *dir, const char *tag, long ms, const char *outcome)
{
	char path[4096];
	long ra = -1;
	int first = 0, rc;

	if (outcome == NULL)
		outcome = "ok";
	if (strncmp(outcome, "retry-after=", 12) == 0)
		ra = num(outcome + 12);
	else if (strcmp(outcome, "fail75-first") == 0)
		first = 1;
	else if (strcmp(outcome, "ok") != 0 &&
	    strcmp(outcome, "fail75") != 0 && strcmp(outcome, "fail") != 0)
		return 64;
	if (dir == NULL || tag == NULL || *tag == '\0' ||
	    strchr(tag, '/') != NULL || (size_t)snprintf(path, sizeof(path),
	    "%s/%s.%ld", dir, tag, (long)getpid()) >= sizeof(path))
		return 64;
	if (first && mark_seen(dir, tag))
		first = 0;
	if ((rc = mark_file(path, first ? 0 : ms)) != 0)
		return rc;
	if (strcmp(outcome, "fail75") == 0 || first)
		return mode_fail75();
	if (strcmp(outcome, "fail") == 0)
		return mode_fail();
	if (ra >= 0) {
		printf("{\"status\":\"error\",\"action\":\"mark\",\"error\":"
		    "{\"type\":\"rate_limited\",\"message\":\"later\","
		    "\"retryable\":true,\"retry_after\":%ld}}\n", ra);
		return 75;
	}
	printf("{\"status\":\"success\",\"action\":\"mark\",\"tag\":");
	put_json_str(tag);
	printf("}\n");
	return 0;
}

/* Writes n bytes of s to the new file path. 0, or 70 (printed why). */
static int
write_file(const char *path, const char *s, size_t n)
{
	FILE *f;

	if ((f = fopen(path, "wx")) == NULL) {
		perror(path);
		return 70;
	}
	if (fwrite(s, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		return 70;
	}
	return 0;
}

/*
 * A consumer of stream entries: reads all of stdin, creates DIR/start.PID,
 * works for ms milliseconds, then writes stdin as read to DIR/in.PID (its
 * effect, absent when it was killed first) and ends as outcome says: ok;
 * fail75 or fail (as those modes); emit, the line {"seen":STDIN} (stdin
 * being JSON) before its success.
 */
static int
mode_consume(const char *dir, long ms, const char *outcome)
{
	char path[4096], *in = NULL, *p;
	size_t len = 0, cap = 0;
	struct timespec ts;
	ssize_t n;
	int rc;

	if (outcome == NULL)
		outcome = "ok";
	if (dir == NULL || ms < 0)
		return 64;
	for (;;) {
		if (len + 65536 > cap) {
			cap = 2 * cap + 65536;
			if ((p = realloc(in, cap)) == NULL)
				return 70;
			in = p;
		}
		if ((n = read(0, in + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
	}
	snprintf(path, sizeof(path), "%s/start.%ld", dir, (long)getpid());
	if ((rc = write_file(path, "", 0)) != 0)
		return rc;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	if (ms > 0)
		nanosleep(&ts, NULL);
	snprintf(path, sizeof(path), "%s/in.%ld", dir, (long)getpid());
	if ((rc = write_file(path, in != NULL ? in : "", len)) != 0)
		return rc;
	if (strcmp(outcome, "emit") == 0)
		printf("{\"seen\":%.*s}\n", (int)len, in);
	free(in);
	if (strcmp(outcome, "fail75") == 0)
		return mode_fail75();
	if (strcmp(outcome, "fail") == 0)
		return mode_fail();
	printf("{\"status\":\"success\",\"action\":\"consume\","
	    "\"bytes\":%zu}\n", len);
	return 0;
}

/*
 * A sync worker (contract §5) that needs no server: n change lines
 * {"change":"added","id":"mI","email":{"history_id":"I"},"pad":"x..."}
 * (pad of len bytes; I counts from 1), then the summary: success with
 * "cursor" the given one followed by "+" (or "c1" when none), "got" the
 * cursor it was given; fail75, the error summary (no cursor, exit 75);
 * bad-cursor, a success whose cursor holds a control character. The
 * lines are written as they are made: a big n costs no memory.
 */
static int
mode_sync(const char *arg, long n, long len, const char *outcome)
{
	const char *cur = arg != NULL && strncmp(arg, "--cursor=", 9) == 0 ?
	    arg + 9 : NULL;

	if (cur == NULL || n < 0 || len < 0)
		return 64;
	for (long i = 1; i <= n; i++) {
		printf("{\"change\":\"added\",\"id\":\"m%ld\",\"email\":"
		    "{\"history_id\":\"%ld\"},\"pad\":\"", i, i);
		for (long k = 0; k < len; k++)
			putchar('x');
		printf("\"}\n");
	}
	if (outcome != NULL && strcmp(outcome, "fail75") == 0)
		return mode_fail75();
	printf("{\"status\":\"success\",\"action\":\"sync\",\"summary\":"
	    "true,\"added\":%ld,\"got\":", n);
	put_json_str(cur);
	if (outcome != NULL && strcmp(outcome, "bad-cursor") == 0)
		printf(",\"cursor\":\"bad\\u0001\"}\n");
	else if (*cur == '\0')
		printf(",\"cursor\":\"c1\"}\n");
	else
		printf(",\"cursor\":\"%s+\"}\n", cur);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "", *a = argc > 2 ? argv[2] : NULL;

	if (strcmp(m, "ok") == 0)
		return mode_ok();
	if (strcmp(m, "fail75") == 0)
		return mode_fail75();
	if (strcmp(m, "fail") == 0)
		return mode_fail();
	if (strcmp(m, "exit") == 0)
		return (int)num(a);
	if (strcmp(m, "alloc") == 0)
		return mode_alloc(num(a));
	if (strcmp(m, "now") == 0)
		return mode_now();
	if (strcmp(m, "nap") == 0)
		return mode_nap(num(a));
	if (strcmp(m, "sleep") == 0)
		return mode_sleep(a);
	if (strcmp(m, "flood") == 0)
		return mode_flood(num(a));
	if (strcmp(m, "garbage") == 0)
		return printf("this is not JSON\n") < 0;
	if (strcmp(m, "segv") == 0)
		return raise(SIGSEGV);
	if (strcmp(m, "grandchild") == 0)
		return mode_grandchild();
	if (strcmp(m, "fds") == 0)
		return mode_fds();
	if (strcmp(m, "env") == 0)
		return mode_env();
	if (strcmp(m, "id") == 0)
		return mode_id();
	if (strcmp(m, "cgroup") == 0)
		return mode_cgroup();
	if (strcmp(m, "stderr") == 0)
		return mode_stderr(num(a), argc > 3 ? num(argv[3]) : 0);
	if (strcmp(m, "ndjson") == 0)
		return mode_ndjson();
	if (strcmp(m, "binary") == 0)
		return mode_binary();
	if (strcmp(m, "sync") == 0)
		return mode_sync(a, argc > 3 ? num(argv[3]) : 2,
		    argc > 4 ? num(argv[4]) : 0, argc > 5 ? argv[5] : NULL);
	if (strcmp(m, "mark") == 0)
		return mode_mark(a, argc > 3 ? argv[3] : NULL,
		    argc > 4 ? num(argv[4]) : 0, argc > 5 ? argv[5] : NULL);
	if (strcmp(m, "consume") == 0)
		return mode_consume(a, argc > 3 ? num(argv[3]) : 0,
		    argc > 4 ? argv[4] : NULL);
	fputs(usage, stderr);
	return 64;
}
