/* Unit tests of supervisor/conf.c: loading, checks, argv and env. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "supervisor/conf.h"

static char tdir[] = "/tmp/check_conf.XXXXXX";
static char tpath[128];

/* Where the sources are: $MV_SRCDIR, else the current directory. */
static const char *
src(const char *rel)
{
	static char buf[4096];
	const char *dir = getenv("MV_SRCDIR");

	snprintf(buf, sizeof(buf), "%s/%s", dir ? dir : ".", rel);
	return buf;
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

/* s with each occurrence of from replaced by to. Caller frees. (No
 * strstr() loop: under ASan each call measures the whole rest.) */
static char *
replace(const char *s, const char *from, const char *to)
{
	size_t n = strlen(from), m = strlen(to), o = 0;
	char *out = malloc(strlen(s) * (m > n ? m : n) + 1);

	while (*s != '\0') {
		if (strncmp(s, from, n) == 0) {
			memcpy(out + o, to, m);
			o += m;
			s += n;
		} else
			out[o++] = *s++;
	}
	out[o] = '\0';
	return out;
}

/* Loads the file at path; *errs gets what was printed, with path shown as
 * F (caller frees). */
static struct conf *
load_path(const char *path, char **errs)
{
	struct conf *c;
	char *buf = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&buf, &n);

	c = conf_load(path, mem);
	fclose(mem);
	*errs = replace(buf, path, "F");
	free(buf);
	return c;
}

static struct conf *
load_n(const char *text, size_t len, char **errs)
{
	write_file(tpath, text, len);
	return load_path(tpath, errs);
}

static struct conf *
load(const char *text, char **errs)
{
	return load_n(text, strlen(text), errs);
}

/* Loading text succeeds without a message. */
static struct conf *
load_ok(const char *text)
{
	char *errs;
	struct conf *c = load(text, &errs);

	ck_assert_msg(c != NULL, "load failed:\n%s", errs);
	ck_assert_str_eq(errs, "");
	free(errs);
	return c;
}

/* Loading text fails with exactly these messages. */
static void
load_fails_n(const char *text, size_t len, const char *expected)
{
	char *errs;
	struct conf *c = load_n(text, len, &errs);

	ck_assert_ptr_null(c);
	ck_assert_str_eq(errs, expected);
	free(errs);
}

static void
load_fails(const char *text, const char *expected)
{
	load_fails_n(text, strlen(text), expected);
}

/* The argv of job for account acct (or none) and args (JSON text or
 * NULL), as "[w0] [w1] ...", or "ERR: reason". */
static const char *
render(const struct conf *c, const char *job, const char *acct,
    const char *args)
{
	static char out[256 * 1024];
	const struct job_conf *j = conf_job(c, job);
	const struct account_conf *a = acct ? conf_account(c, acct) : NULL;
	json_error_t jerr;
	json_t *js = NULL;
	char err[256], **v;
	size_t o = 0;

	ck_assert_ptr_nonnull(j);
	if (args != NULL) {
		js = json_loads(args, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
		ck_assert_msg(js != NULL, "bad JSON %s", args);
	}
	strcpy(err, "unset");
	v = conf_render_argv(j, a, js, err, sizeof(err));
	json_decref(js);
	if (v == NULL) {
		snprintf(out, sizeof(out), "ERR: %s", err);
		return out;
	}
	out[0] = '\0';
	for (size_t i = 0; v[i] != NULL && o < sizeof(out); i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s[%s]",
		    i ? " " : "", v[i]);
	ck_assert_uint_lt(o, sizeof(out));
	conf_argv_free(v);
	return out;
}

/* The words of conf_split_command(s) as "[w0] [w1]", or "ERR: reason". */
static const char *
split(const char *s)
{
	static char out[4096];
	char err[256], **v;
	size_t n = 99, o = 0;

	v = conf_split_command(s, &n, err, sizeof(err));
	if (v == NULL) {
		snprintf(out, sizeof(out), "ERR: %s", err);
		return out;
	}
	out[0] = '\0';
	for (size_t i = 0; v[i] != NULL && o < sizeof(out); i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s[%s]",
		    i ? " " : "", v[i]);
	ck_assert_uint_lt(o, sizeof(out));
	ck_assert_ptr_null(v[n]);
	conf_argv_free(v);
	return out;
}

/* ---- conf_load: values, defaults ---- */

START_TEST(test_defaults)
{
	struct conf *c = load_ok("");

	ck_assert_int_eq(c->daemon.max_children, 8);
	ck_assert_int_eq(c->daemon.log_level, 2);
	ck_assert_int_eq(c->daemon.log_format, CONF_LOG_TEXT);
	ck_assert_int_eq(c->daemon.grace_period, 10);
	ck_assert_ptr_null(c->daemon.user);
	ck_assert_ptr_null(c->daemon.group);
	ck_assert_int_eq(c->daemon.drop_privs, 0);
	ck_assert_int_eq(c->daemon.uid, geteuid());
	ck_assert_ptr_null(c->daemon.cgroup);
	ck_assert_int_eq(c->daemon.record_buffer, 10000);
	ck_assert_str_eq(c->daemon.queue_group, "mailvisor");
	ck_assert_ptr_null(c->daemon.consumer_name);
	ck_assert_int_eq(c->daemon.idempotency_ttl, 7 * 86400);
	ck_assert_int_eq(c->daemon.tenant_limit, 0);
	ck_assert_int_eq(c->daemon.reclaim_margin, 30);
	ck_assert_str_eq(c->redis.url, "redis://127.0.0.1:6379");
	ck_assert_ptr_null(c->redis.socket);
	ck_assert_ptr_null(c->redis.password_file);
	ck_assert_int_eq(c->redis.db, 0);
	ck_assert_str_eq(c->redis.key_prefix, "");
	ck_assert_int_eq(c->redis.metrics_ttl, 3600);
	ck_assert_int_eq(c->redis.history_max, 100);
	ck_assert_int_eq(c->redis.failures_max_age, 7 * 86400);
	ck_assert_uint_eq(c->njobs, 0);
	ck_assert_uint_eq(c->naccounts, 0);
	ck_assert_uint_eq(c->nqueues, 0);
	ck_assert_ptr_null(c->queues);
	ck_assert_ptr_null(conf_queue(c, "sync"));
	conf_free(c);
}
END_TEST

START_TEST(test_queue_defaults)
{
	struct conf *c = load_ok("\n[queue:q.1-x_Y]\n");
	const struct queue_section *qs = conf_queue(c, "q.1-x_Y");

	ck_assert_uint_eq(c->nqueues, 1);
	ck_assert_ptr_eq(qs, &c->queues[0]);
	ck_assert_str_eq(qs->name, "q.1-x_Y");
	ck_assert_int_eq(qs->line, 2);
	ck_assert_int_eq(qs->priority, 5);
	ck_assert_int_eq(qs->max_retries, 3);
	ck_assert_str_eq(qs->retry_backoff, "30 2 600 0.1");
	ck_assert(qs->backoff.initial == 30 && qs->backoff.factor == 2 &&
	    qs->backoff.max == 600 && qs->backoff.jitter == 0.1);
	ck_assert_int_eq(qs->share, 0);
	ck_assert_ptr_null(conf_queue(c, "q"));
	conf_free(c);
}
END_TEST

START_TEST(test_queues)
{
	struct conf *c = load_ok("[mailvisord]\nqueue_group = mv.group-2\n"
	    "consumer_name = host-1:42\nidempotency_ttl = 2h\n"
	    "tenant_limit = 4\nreclaim_margin = 1m\n"
	    "[queue:sync]\npriority = 10\nmax_retries = 5\n"
	    "retry_backoff = 60 2 240 0.1\nshare = 50\n"
	    "[job:j]\ncommand = /bin/true\n"
	    "[queue:spam]\npriority = 0\nmax_retries = 0\n"
	    "retry_backoff = 1 1 1 0\nshare = 100\n");
	const struct queue_section *qs;

	ck_assert_str_eq(c->daemon.queue_group, "mv.group-2");
	ck_assert_str_eq(c->daemon.consumer_name, "host-1:42");
	ck_assert_int_eq(c->daemon.idempotency_ttl, 7200);
	ck_assert_int_eq(c->daemon.tenant_limit, 4);
	ck_assert_int_eq(c->daemon.reclaim_margin, 60);
	ck_assert_uint_eq(c->nqueues, 2);
	qs = conf_queue(c, "sync");
	ck_assert_ptr_eq(qs, &c->queues[0]);
	ck_assert_int_eq(qs->line, 7);
	ck_assert_int_eq(qs->priority, 10);
	ck_assert_int_eq(qs->max_retries, 5);
	ck_assert(qs->backoff.initial == 60 && qs->backoff.factor == 2 &&
	    qs->backoff.max == 240 && qs->backoff.jitter == 0.1);
	ck_assert_int_eq(qs->share, 50);
	qs = conf_queue(c, "spam");
	ck_assert_ptr_eq(qs, &c->queues[1]);
	ck_assert_int_eq(qs->line, 14);
	ck_assert_int_eq(qs->priority, 0);
	ck_assert_int_eq(qs->max_retries, 0);
	ck_assert(qs->backoff.initial == 1 && qs->backoff.factor == 1 &&
	    qs->backoff.max == 1 && qs->backoff.jitter == 0);
	ck_assert_int_eq(qs->share, 100);
	ck_assert_uint_eq(c->njobs, 1);
	conf_free(c);
}
END_TEST

/* The streams a configuration names: emitted, declared, or both. */
START_TEST(test_stream_named)
{
	struct conf *c;

	c = load_ok("[job:s]\ncommand = /w\nemit = out\n"
	    "[job:t]\ncommand = /w\n"
	    "[stream:decl]\nmaxlen = 500\n[stream:both]\n"
	    "[job:u]\ncommand = /w\nemit = both\n");
	ck_assert_int_eq(conf_stream_named(c, "out"), 1);
	ck_assert_int_eq(conf_stream_named(c, "decl"), 1);
	ck_assert_int_eq(conf_stream_named(c, "both"), 1);
	ck_assert_int_eq(conf_stream_named(c, "t"), 0);
	ck_assert_int_eq(conf_stream_named(c, "mail"), 0);
	conf_free(c);
}
END_TEST

/* cursor, emit, max_line and [stream:NAME]; {cursor} rendered. */
START_TEST(test_cursor_stream)
{
	struct conf *c;
	const struct job_conf *j;
	char **v, err[256];

	c = load_ok("[job:s]\ncommand = /w --cursor={cursor} {account}\n"
	    "cursor = yes\nemit = mail\nmax_line = 64k\n"
	    "for_each_account = yes\n[job:t]\ncommand = /w\n"
	    "[stream:mail]\nmaxlen = 500\n"
	    "[account:a]\ntenant_id = t\nuser_id = u\ncredentials = /c\n");
	j = conf_job(c, "s");
	ck_assert_int_eq(j->cursor, 1);
	ck_assert_str_eq(j->emit, "mail");
	ck_assert_uint_eq(j->max_line, 64 * 1024);
	ck_assert_int_eq(conf_job(c, "t")->cursor, 0);
	ck_assert_ptr_null(conf_job(c, "t")->emit);
	ck_assert_uint_eq(conf_job(c, "t")->max_line, 1024 * 1024);
	ck_assert_int_eq(conf_stream_maxlen(c, "mail"), 500);
	ck_assert_int_eq(conf_stream_maxlen(c, "other"), CONF_STREAM_MAXLEN);
	/* No cursor given (a queue's check): empty, a full sync. */
	ck_assert_str_eq(render(c, "s", "a", NULL), "[/w] [--cursor=] [a]");
	v = conf_render_argv_cursor(j, conf_account(c, "a"), NULL, "12345",
	    err, sizeof(err));
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v[1], "--cursor=12345");
	conf_argv_free(v);
	v = conf_render_argv_cursor(j, conf_account(c, "a"), NULL, "a\tb",
	    err, sizeof(err));
	ck_assert_ptr_null(v);
	ck_assert_str_eq(err, "cursor: not printable ASCII of at most 1024 "
	    "bytes");
	conf_free(c);
	/* Each without the other; {cursor} beginning a word; bad names. */
	load_fails("[job:a]\ncommand = /w --cursor={cursor}\n"
	    "for_each_account = yes\n[job:b]\ncommand = /w\ncursor = yes\n"
	    "[job:c]\ncommand = /w {cursor}\ncursor = yes\n"
	    "for_each_account = yes\nemit = a:b\n[stream:x]\nmaxlen = 0\n",
	    "F:2: command: {cursor} needs cursor = yes\n"
	    "F:6: cursor: the command has no {cursor} (write "
	    "--cursor={cursor})\n"
	    "F:8: command: {cursor} cannot begin a word (an empty cursor "
	    "would be an empty word): write --cursor={cursor}\n"
	    "F:11: emit: 'a:b' is not a name (1 to 64 of A-Z a-z 0-9 _ . -)\n"
	    "F:13: maxlen: '0' is out of range (1 to 1000000000)\n");
}
END_TEST

/* conf_cursor_valid(): printable ASCII, at most 1024 bytes. */
START_TEST(test_cursor_valid)
{
	char big[1026];

	ck_assert_int_eq(conf_cursor_valid("", 0), 1);
	ck_assert_int_eq(conf_cursor_valid("12345 ~", 7), 1);
	ck_assert_int_eq(conf_cursor_valid("a\x7f", 2), 0);
	ck_assert_int_eq(conf_cursor_valid("a\nb", 3), 0);
	ck_assert_int_eq(conf_cursor_valid("\xc3\xa9", 2), 0);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(conf_cursor_valid(big, 1024), 1);
	ck_assert_int_eq(conf_cursor_valid(big, 1025), 0);
}
END_TEST

START_TEST(test_queue_errors)
{
	char text[1024];
	const char *name65 = "a234567890123456789012345678901234567890"
	    "1234567890123456789012345";

	/* A duplicate name: the first is kept, the second reported. */
	load_fails("[queue:a]\npriority = 1\n[queue:b]\n[queue:a]\n"
	    "priority = 2\n",
	    "F:4: duplicate section [queue:a] (first at line 1)\n");
	/* Unknown keys, with the closest one or where they belong. */
	load_fails("[queue:a]\npriorty = 1\nschedule = every 5m\nfoo = 1\n"
	    "[job:j]\ncommand = /bin/true\nshare = 5\n",
	    "F:2: unknown key 'priorty' in [queue:a]; did you mean "
	    "'priority'?\n"
	    "F:3: unknown key 'schedule' in [queue:a] (it belongs in "
	    "[job:NAME])\n"
	    "F:4: unknown key 'foo' in [queue:a]\n"
	    "F:7: share: needs consume\n");
	/* What a job that consumes a stream cannot be. */
	load_fails("[job:j]\ncommand = /bin/true\nconsume = mail\n"
	    "emit = mail\nschedule = every 5m\ncursor = yes\n"
	    "args = n:int(0..9)\n[job:k]\ncommand = /bin/true\nbatch = 2\n",
	    "F:3: consume: argument 'n' has no default, which a run for an "
	    "entry needs\n"
	    "F:4: emit: 'mail' is the stream the job consumes (a loop)\n"
	    "F:5: schedule: argument 'n' has no default, which a scheduled "
	    "run needs\n"
	    "F:5: schedule: a job that consumes a stream runs for its "
	    "entries only\n"
	    "F:6: cursor: the command has no {cursor} (write "
	    "--cursor={cursor})\n"
	    "F:6: cursor: a job that consumes a stream keeps no cursor\n"
	    "F:10: batch: needs consume\n");
	/* A bad retry_backoff, at its line; the other queue is fine. */
	load_fails("[queue:ok]\n[queue:a]\npriority = 1\n"
	    "retry_backoff = 30 0.5 600 0.1\n[queue:b]\n"
	    "retry_backoff = 30 2 x 0.1\n[queue:c]\nretry_backoff =\n"
	    "[queue:d]\nretry_backoff = 30 2 600\n",
	    "F:4: retry_backoff: factor must be from 1 to 100\n"
	    "F:6: retry_backoff: max 'x' is not a plain number\n"
	    "F:8: retry_backoff: is empty\n"
	    "F:10: retry_backoff: expected 'initial factor max jitter', as "
	    "in '30 2 600 0.1'\n");
	/* Malformed values and names. */
	load_fails("[queue:a]\npriority = high\nshare = 50%\n"
	    "max_retries = 1.5\nretry_backoff = 1 2 3 4\n  5\n",
	    "F:2: priority: 'high' is not an integer\n"
	    "F:3: share: '50%' is not an integer\n"
	    "F:4: max_retries: '1.5' is not an integer\n"
	    "F:5: retry_backoff: jitter must be from 0 to 1\n"
	    "F:6: retry_backoff: takes one line (only command, args and env "
	    "continue on indented lines)\n");
	snprintf(text, sizeof(text), "[queue:%s]\n[queue:a b]\n[queue:]\n"
	    "[queue]\n[queues:x]\n[qeue:x]\n", name65);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "F:1: invalid queue name '%s' (1 to 64 of A-Z a-z 0-9 _ . -)\n"
	    "F:2: invalid queue name 'a b' (1 to 64 of A-Z a-z 0-9 _ . -)\n"
	    "F:3: invalid queue name '' (1 to 64 of A-Z a-z 0-9 _ . -)\n"
	    "F:4: section [queue] needs a name: [queue:NAME]\n"
	    "F:5: unknown section [queues:x]; did you mean [queue:x]?\n"
	    "F:6: unknown section [qeue:x]; did you mean [queue:x]?\n",
	    name65);
	load_fails(text, strchr(text, 'F'));
	load_fails("[mailvisord]\nqueue_group = a/b\nconsumer_name = a b\n"
	    "idempotency_ttl = 1w\nreclaim_margin = -1\n"
	    "tenant_limit = none\n[mailvisord]\nqueue_group =\n",
	    "F:2: queue_group: 'a/b' is not a name (1 to 64 of A-Z a-z 0-9 "
	    "_ . -)\n"
	    "F:3: consumer_name: 'a b' holds a blank or a control character\n"
	    "F:4: idempotency_ttl: '1w' is not a duration (seconds, or a "
	    "number with s, m, h or d)\n"
	    "F:5: reclaim_margin: '-1' is not a duration (seconds, or a "
	    "number with s, m, h or d)\n"
	    "F:6: tenant_limit: 'none' is not an integer\n"
	    "F:7: duplicate section [mailvisord] (first at line 1)\n"
	    "F:8: queue_group: is empty\n");
}
END_TEST

START_TEST(test_job_defaults)
{
	struct conf *c = load_ok("[job:j]\ncommand = /bin/true\n");
	const struct job_conf *j = conf_job(c, "j");

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(j->name, "j");
	ck_assert_int_eq(j->line, 1);
	ck_assert_uint_eq(j->command.n, 1);
	ck_assert_str_eq(j->command.v[0], "/bin/true");
	ck_assert_ptr_null(j->command.v[1]);
	ck_assert_uint_eq(j->args.n, 0);
	ck_assert_ptr_null(j->schedule);
	ck_assert_ptr_null(j->timezone);
	ck_assert_str_eq(j->jitter, "0");
	ck_assert_int_eq(j->jitter_s, 0);
	ck_assert_int_eq(j->has_schedule, 0);
	ck_assert_int_eq(j->for_each_account, 0);
	ck_assert_int_eq(j->needs_account, 0);
	ck_assert_int_eq(j->max_instances, 1);
	ck_assert_uint_eq(j->memory_limit, 512UL << 20);
	ck_assert_int_eq(j->cpu_limit, 300);
	ck_assert_int_eq(j->nofile, 256);
	ck_assert_int_eq(j->timeout, 600);
	ck_assert_int_eq(j->soft_timeout, 540);
	ck_assert_int_eq(j->max_retries, 0);
	ck_assert_str_eq(j->retry_backoff, "30 2 600 0.1");
	ck_assert(j->backoff.initial == 30 && j->backoff.factor == 2 &&
	    j->backoff.max == 600 && j->backoff.jitter == 0.1);
	ck_assert_uint_eq(j->env.n, 3);
	ck_assert_str_eq(j->env.v[0], "PATH");
	ck_assert_str_eq(j->env.v[1], "LANG");
	ck_assert_str_eq(j->env.v[2], "TZ");
	ck_assert_ptr_null(j->env.v[3]);
	ck_assert_str_eq(j->working_directory, "/");
	ck_assert_uint_eq(j->max_output, 16UL << 20);
	conf_free(c);
}
END_TEST

START_TEST(test_full)
{
	char *errs;
	struct conf *c = load_path(src("tests/unit/data/conf/full.conf"),
	    &errs);
	const struct job_conf *j;
	const struct account_conf *a;

	ck_assert_msg(c != NULL, "%s", errs);
	free(errs);
	ck_assert_int_eq(c->daemon.max_children, 16);
	ck_assert_int_eq(c->daemon.log_level, 3);
	ck_assert_int_eq(c->daemon.log_format, CONF_LOG_JSON);
	ck_assert_int_eq(c->daemon.grace_period, 30);
	ck_assert_str_eq(c->daemon.user, "root");
	ck_assert_str_eq(c->daemon.group, "0");
	ck_assert_int_eq(c->daemon.drop_privs, 1);
	ck_assert_int_eq(c->daemon.uid, 0);
	ck_assert_int_eq(c->daemon.gid, 0);
	ck_assert_str_eq(c->daemon.cgroup,
	    "/sys/fs/cgroup/mailvisord.service/workers");
	ck_assert_int_eq(c->daemon.record_buffer, 500);
	ck_assert_ptr_null(c->redis.url);
	ck_assert_str_eq(c->redis.socket, "/run/redis/redis.sock");
	ck_assert_str_eq(c->redis.password_file, "/etc/mailvisor/redis.pass");
	ck_assert_int_eq(c->redis.db, 3);
	ck_assert_str_eq(c->redis.key_prefix, "mv:");
	ck_assert_int_eq(c->redis.metrics_ttl, 7200);
	ck_assert_int_eq(c->redis.history_max, 50);
	ck_assert_int_eq(c->redis.failures_max_age, 3 * 86400);

	ck_assert_uint_eq(c->njobs, 2);
	j = conf_job(c, "email_sync");
	ck_assert_ptr_eq(j, &c->jobs[0]);
	ck_assert_int_eq(j->line, 24);
	ck_assert_uint_eq(j->command.n, 10);
	ck_assert_str_eq(j->command.v[4], "--query={query}");
	ck_assert_str_eq(j->command.v[9], "{full:+--include_spam_trash}");
	ck_assert_uint_eq(j->args.n, 3);
	ck_assert_str_eq(j->args.v[0].name, "days_back");
	ck_assert_int_eq(j->args.v[0].type, CONF_ARG_INT);
	ck_assert_int_eq(j->args.v[0].min, 0);
	ck_assert_int_eq(j->args.v[0].max, 365);
	ck_assert_int_eq(j->args.v[0].has_default, 1);
	ck_assert_int_eq(j->args.v[0].def_int, 1);
	ck_assert_int_eq(j->args.v[1].type, CONF_ARG_STRING);
	ck_assert_int_eq(j->args.v[1].max, 200);
	ck_assert_str_eq(j->args.v[1].def_str, "is:unread, in:inbox");
	ck_assert_int_eq(j->args.v[2].type, CONF_ARG_BOOL);
	ck_assert_int_eq(j->args.v[2].def_int, 0);
	ck_assert_str_eq(j->schedule, "*/15 * * * *");
	ck_assert_str_eq(j->timezone, "Europe/Berlin");
	ck_assert_str_eq(j->jitter, "30s");
	ck_assert_int_eq(j->jitter_s, 30);
	ck_assert_int_eq(j->has_schedule, 1);
	ck_assert_int_eq(j->sched.kind, SCHED_CRON);
	ck_assert_str_eq(j->sched.zone->name, "Europe/Berlin");
	ck_assert_int_eq(j->for_each_account, 1);
	ck_assert_int_eq(j->needs_account, 1);
	ck_assert_int_eq(j->max_instances, 2);
	ck_assert_uint_eq(j->memory_limit, 256UL << 20);
	ck_assert_int_eq(j->cpu_limit, 60);
	ck_assert_int_eq(j->nofile, 128);
	ck_assert_int_eq(j->soft_timeout, 100);
	ck_assert_int_eq(j->timeout, 120);
	ck_assert_int_eq(j->max_retries, 3);
	ck_assert(j->backoff.initial == 60 && j->backoff.max == 3600);
	ck_assert_uint_eq(j->env.n, 3);
	ck_assert_str_eq(j->env.v[1], "HOME");
	ck_assert_str_eq(j->env.v[2], "LANG");
	ck_assert_str_eq(j->working_directory, "/tmp");
	ck_assert_uint_eq(j->max_output, 1UL << 20);

	j = conf_job(c, "send");
	ck_assert_int_eq(j->has_schedule, 0);
	ck_assert_int_eq(j->args.v[1].max, 1024);	/* string: default */
	ck_assert_int_eq(j->args.v[1].has_default, 0);

	ck_assert_uint_eq(c->naccounts, 2);
	a = conf_account(c, "bob");
	ck_assert_ptr_eq(a, &c->accounts[1]);
	ck_assert_int_eq(a->line, 59);
	ck_assert_str_eq(a->tenant_id, "acme");
	ck_assert_str_eq(a->user_id, "bob");
	ck_assert_str_eq(a->user_email, "bob@example.com");
	ck_assert_str_eq(a->credentials,
	    "/etc/mailvisor/credentials/bob.json");
	conf_free(c);
}
END_TEST

/* One directive's bounds: min and max load, below and above fail. */
struct bound {
	const char	*pre;		/* lines before (a section header) */
	const char	*key;
	const char	*lo, *hi;	/* accepted */
	const char	*below, *above;	/* refused (NULL: none) */
	const char	*range;		/* "(1 to 4096)" */
};

static const struct bound bounds[] = {
	{ "[mailvisord]\n", "max_children", "1", "4096", "0", "4097",
	  "(1 to 4096)" },
	{ "[mailvisord]\n", "grace_period", "0", "1h", NULL, "3601",
	  "(0 to 3600 seconds)" },
	{ "[mailvisord]\n", "record_buffer", "1", "10000000", "0",
	  "10000001", "(1 to 10000000)" },
	{ "[redis]\n", "db", "0", "15", "-1", "16", "(0 to 15)" },
	{ "[redis]\n", "metrics_ttl", "1", "365d", "0", "366d",
	  "(1 to 31536000 seconds)" },
	{ "[redis]\n", "history_max", "1", "100000", "0", "100001",
	  "(1 to 100000)" },
	{ "[redis]\n", "failures_max_age", "1s", "31536000", "0s", "8761h",
	  "(1 to 31536000 seconds)" },
	{ "[job:j]\ncommand = /bin/true\nschedule = every 2d\n", "jitter",
	  "0", "1d", NULL, "86401", "(0 to 86400 seconds)" },
	{ "[job:j]\ncommand = /bin/true\n", "max_instances", "1", "1000", "0",
	  "1001", "(1 to 1000)" },
	{ "[job:j]\ncommand = /bin/true\n", "memory_limit", "0", "1t", NULL,
	  "1025g", "(0 to 1099511627776 bytes)" },
	{ "[job:j]\ncommand = /bin/true\n", "cpu_limit", "0", "7d", NULL,
	  "169h", "(0 to 604800 seconds)" },
	{ "[job:j]\ncommand = /bin/true\n", "nofile", "8", "1048576", "7",
	  "1048577", "(8 to 1048576)" },
	{ "[job:j]\ncommand = /bin/true\ntimeout = 7d\n", "soft_timeout", "1",
	  "604800", "0", "604801", "(1 to 604800 seconds)" },
	{ "[job:j]\ncommand = /bin/true\n", "timeout", "1", "10080m", "0",
	  "604801", "(1 to 604800 seconds)" },
	{ "[job:j]\ncommand = /bin/true\n", "max_retries", "0", "100", "-1",
	  "101", "(0 to 100)" },
	{ "[job:j]\ncommand = /bin/true\n", "max_output", "1k", "1g",
	  "1023", "1025m", "(1024 to 1073741824 bytes)" },
	{ "[mailvisord]\n", "idempotency_ttl", "1s", "365d", "0", "366d",
	  "(1 to 31536000 seconds)" },
	{ "[mailvisord]\n", "tenant_limit", "0", "4096", "-1", "4097",
	  "(0 to 4096)" },
	{ "[mailvisord]\n", "reclaim_margin", "1", "1d", "0s", "86401",
	  "(1 to 86400 seconds)" },
	{ "[queue:q]\n", "priority", "0", "100", "-1", "101", "(0 to 100)" },
	{ "[queue:q]\n", "max_retries", "0", "100", "-1", "101",
	  "(0 to 100)" },
	{ "[queue:q]\n", "share", "0", "100", "-1", "101", "(0 to 100)" },
};

/* Line of the key in the text pre + "key = v\n". */
static int
key_lineno(const char *pre)
{
	int n = 1;

	for (; *pre; pre++)
		n += *pre == '\n';
	return n;
}

START_TEST(test_bounds)
{
	const struct bound *b = &bounds[_i];
	const char *vals[] = { b->lo, b->hi, b->below, b->above };
	char text[512], want[512];

	for (int k = 0; k < 4; k++) {
		if (vals[k] == NULL)
			continue;
		snprintf(text, sizeof(text), "%s%s = %s\n", b->pre, b->key,
		    vals[k]);
		if (k < 2) {
			conf_free(load_ok(text));
			continue;
		}
		snprintf(want, sizeof(want), "F:%d: %s: '%s' is out of range "
		    "%s\n", key_lineno(b->pre), b->key, vals[k], b->range);
		load_fails(text, want);
	}
}
END_TEST

/* Malformed values of each type. */
START_TEST(test_bad_values)
{
	load_fails("[mailvisord]\nmax_children = 8 ; eight\nrecord_buffer ="
	    "\nlog_format = JSON\n",
	    "F:2: max_children: '8 ; eight' is not an integer\n"
	    "F:3: record_buffer: '' is not an integer\n"
	    "F:4: log_format: 'JSON' is not one of text, json\n");
	load_fails("[redis]\nmetrics_ttl = 1.5h\nfailures_max_age = 1w\n"
	    "history_max = 99999999999999999999\n",
	    "F:2: metrics_ttl: '1.5h' is not a duration (seconds, or a "
	    "number with s, m, h or d)\n"
	    "F:3: failures_max_age: '1w' is not a duration (seconds, or a "
	    "number with s, m, h or d)\n"
	    "F:4: history_max: '99999999999999999999' is not an integer\n");
	load_fails("[job:j]\ncommand = /bin/true\nmemory_limit = 5x\n"
	    "max_output = 99999999999999999999g\nfor_each_account = maybe\n"
	    "timeout = -5\n",
	    "F:3: memory_limit: '5x' is not a size (bytes, or a number with "
	    "k, m, g or t)\n"
	    "F:4: max_output: '99999999999999999999g' is not a size (bytes, "
	    "or a number with k, m, g or t)\n"
	    "F:5: for_each_account: 'maybe' is not yes or no\n"
	    "F:6: timeout: '-5' is not a duration (seconds, or a number with "
	    "s, m, h or d)\n");
	load_fails("[mailvisord]\n# a comment\ncgroup = cg\n"
	    "[redis]\nurl = http://x:1\nsocket = sock\n"
	    "password_file = ~/pw\nkey_prefix = "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\n",
	    "F:3: cgroup: 'cg' is not an absolute path\n"
	    "F:5: url: 'http://x:1' is not a redis://HOST:PORT address\n"
	    "F:6: socket: 'sock' is not an absolute path\n"
	    "F:7: password_file: '~/pw' is not an absolute path\n"
	    "F:8: key_prefix: longer than 128 bytes\n");
	load_fails("[account:a]\ntenant_id =\nuser_id = u\nuser_email = "
	    "nobody\ncredentials = /c\n",
	    "F:2: tenant_id: is empty\n"
	    "F:4: user_email: 'nobody' is not an email address\n");
	load_fails("[job:j]\ncommand = /bin/true\nretry_backoff = 30 0.5 600 "
	    "0.1\nenv = PATH 1BAD\n[job:k]\ncommand = /bin/true\n"
	    "env = HOME, PATH HOME\n",
	    "F:3: retry_backoff: factor must be from 1 to 100\n"
	    "F:4: env: '1BAD' is not a variable name\n"
	    "F:7: env: 'HOME' is listed twice\n");
}
END_TEST

START_TEST(test_value_forms)
{
	struct conf *c = load_ok("[mailvisord]\nlog_level=error\n"
	    "grace_period : 2m\n[redis]\nurl = redis://[::1]:6380\n"
	    "metrics_ttl = 1d\n[job:j]\ncommand = /bin/true\n"
	    "for_each_account = TRUE\nmemory_limit = 2G\nmax_output = 4096\n"
	    "env =\n[job:k]\ncommand = /bin/true\nfor_each_account = off\n"
	    "timeout = 25\nmemory_limit = 64k\n");
	const struct job_conf *j = conf_job(c, "j"), *k = conf_job(c, "k");

	ck_assert_int_eq(c->daemon.log_level, 0);
	ck_assert_int_eq(c->daemon.grace_period, 120);
	ck_assert_str_eq(c->redis.url, "redis://[::1]:6380");
	ck_assert_int_eq(c->redis.metrics_ttl, 86400);
	ck_assert_int_eq(j->for_each_account, 1);
	ck_assert_uint_eq(j->memory_limit, 2UL << 30);
	ck_assert_uint_eq(j->max_output, 4096);
	ck_assert_uint_eq(j->env.n, 0);
	ck_assert_ptr_null(j->env.v[0]);
	ck_assert_int_eq(k->for_each_account, 0);
	ck_assert_int_eq(k->timeout, 25);
	ck_assert_int_eq(k->soft_timeout, 23);	/* 25 - 10%, whole seconds */
	ck_assert_uint_eq(k->memory_limit, 65536);
	conf_free(c);
}
END_TEST

START_TEST(test_timeouts)
{
	struct conf *c = load_ok("[job:j]\ncommand = /bin/true\n"
	    "soft_timeout = 600\n[job:k]\ncommand = /bin/true\ntimeout = 5\n");

	ck_assert_int_eq(conf_job(c, "j")->soft_timeout, 600);
	ck_assert_int_eq(conf_job(c, "k")->soft_timeout, 5);
	conf_free(c);
	load_fails("[job:j]\ncommand = /bin/true\nsoft_timeout = 11m\n",
	    "F:3: soft_timeout: 660 is more than timeout (600)\n");
	load_fails("[job:j]\ncommand = /bin/true\nsoft_timeout = 60\n"
	    "timeout = 30\n",
	    "F:3: soft_timeout: 60 is more than timeout (30)\n");
}
END_TEST

START_TEST(test_users)
{
	struct conf *c = load_ok("[mailvisord]\nuser = root\n");

	ck_assert_int_eq(c->daemon.drop_privs, 1);
	ck_assert_int_eq(c->daemon.uid, 0);
	ck_assert_int_eq(c->daemon.gid, 0);
	conf_free(c);
	c = load_ok("[mailvisord]\nuser = 4242\ngroup = 4343\n");
	ck_assert_int_eq(c->daemon.uid, 4242);
	ck_assert_int_eq(c->daemon.gid, 4343);
	conf_free(c);
	c = load_ok("[mailvisord]\ngroup = root\n");
	ck_assert_int_eq(c->daemon.drop_privs, 1);
	ck_assert_int_eq(c->daemon.uid, geteuid());
	ck_assert_int_eq(c->daemon.gid, 0);
	conf_free(c);
	load_fails("[mailvisord]\nuser = no-such-user-here\n"
	    "group = no-such-group-here\n",
	    "F:2: user: no such user 'no-such-user-here'\n"
	    "F:3: group: no such group 'no-such-group-here'\n");
	load_fails("[mailvisord]\nuser = 4242\n",
	    "F:2: user: uid 4242 has no entry in the user database: set "
	    "group too\n");
}
END_TEST

START_TEST(test_redis)
{
	struct conf *c = load_ok("[redis]\nsocket = /run/r.sock\n");

	ck_assert_ptr_null(c->redis.url);
	ck_assert_str_eq(c->redis.socket, "/run/r.sock");
	conf_free(c);
	load_fails("[redis]\nurl = redis://h:1\nsocket = /s\n",
	    "F:3: socket: set url or socket, not both\n");
}
END_TEST

/* ---- conf_load: [http] ---- */

/* tdir/name with text in it; returns its path (static). */
static const char *
token_file(const char *name, const char *text, size_t len)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	write_file(path, text, len);
	return path;
}

START_TEST(test_http_defaults)
{
	struct conf *c = load_ok("[http]\n");

	ck_assert_ptr_null(c->http.listen);
	ck_assert_ptr_null(c->http.host);
	ck_assert_ptr_null(c->http.token_file);
	ck_assert_ptr_null(c->http.token);
	ck_assert_uint_eq(c->http.max_body, 65536);
	ck_assert_int_eq(c->http.timeout, 10);
	ck_assert_str_eq(c->http.sync_job, "email_sync");
	conf_free(c);
	c = load_ok("");
	ck_assert_ptr_null(c->http.listen);
	ck_assert_str_eq(c->http.sync_job, "email_sync");
	conf_free(c);
}
END_TEST

START_TEST(test_http_listen)
{
	static const struct {
		const char	*listen, *host;
		int		 port, loopback;
	} ok[] = {
		{ "127.0.0.1:8080", "127.0.0.1", 8080, 1 },
		{ "127.9.8.7:1", "127.9.8.7", 1, 1 },
		{ "localhost:65535", "localhost", 65535, 1 },
		{ "LocalHost:80", "LocalHost", 80, 1 },
		{ "[::1]:9000", "::1", 9000, 1 },
	};
	char text[256];
	struct conf *c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[http]\nlisten = %s\n",
		    ok[i].listen);
		c = load_ok(text);
		ck_assert_str_eq(c->http.listen, ok[i].listen);
		ck_assert_str_eq(c->http.host, ok[i].host);
		ck_assert_int_eq(c->http.port, ok[i].port);
		ck_assert_int_eq(c->http.loopback, ok[i].loopback);
		conf_free(c);
	}
	load_fails("[http]\nlisten = 127.0.0.1:0\n",
	    "F:2: listen: '127.0.0.1:0': port 0 is refused: name the port\n");
	load_fails("[http]\nlisten = 127.0.0.1:65536\n",
	    "F:2: listen: '127.0.0.1:65536': the port is not a number from 1 "
	    "to 65535\n");
	load_fails("[http]\nlisten = 127.0.0.1:-1\n",
	    "F:2: listen: '127.0.0.1:-1': the port is not a number from 1 "
	    "to 65535\n");
	load_fails("[http]\nlisten = 127.0.0.1:80x\n",
	    "F:2: listen: '127.0.0.1:80x': the port is not a number from 1 "
	    "to 65535\n");
	load_fails("[http]\nlisten = 127.0.0.1\n",
	    "F:2: listen: '127.0.0.1': expected HOST:PORT (an IPv6 address "
	    "goes in brackets)\n");
	load_fails("[http]\nlisten = ::1:80\n",
	    "F:2: listen: '::1:80': expected HOST:PORT (an IPv6 address "
	    "goes in brackets)\n");
	load_fails("[http]\nlisten = :80\n",
	    "F:2: listen: ':80': expected HOST:PORT (an IPv6 address goes in "
	    "brackets)\n");
	load_fails("[http]\nlisten = [::1]80\n",
	    "F:2: listen: '[::1]80': expected [V6]:PORT\n");
	load_fails("[http]\nlisten = [nope]:80\n",
	    "F:2: listen: '[nope]:80': the host is not an IPv6 address\n");
	load_fails("[http]\nlisten = []:80\n",
	    "F:2: listen: '[]:80': the host is empty or too long\n");
	load_fails("[http]\nlisten = a/b:80\n",
	    "F:2: listen: 'a/b:80': the host is not an address nor a host "
	    "name\n");
}
END_TEST

/* A host that is not loopback needs a token file; the error is at the
 * listen line. */
START_TEST(test_http_exposed)
{
	const char *tf = token_file("tok1", "0123456789abcdef\n", 17);
	char text[512];
	struct conf *c;

	load_fails("[http]\n# all interfaces\nlisten = 0.0.0.0:8080\n",
	    "F:3: listen: 0.0.0.0 is not a loopback address: set token_file, "
	    "or the API would be open to anyone\n");
	load_fails("[http]\nlisten = [::]:8080\n",
	    "F:2: listen: :: is not a loopback address: set token_file, or "
	    "the API would be open to anyone\n");
	load_fails("[http]\nlisten = example.org:8080\n",
	    "F:2: listen: example.org is not a loopback address: set "
	    "token_file, or the API would be open to anyone\n");
	load_fails("[http]\nlisten = 128.0.0.1:8080\n",
	    "F:2: listen: 128.0.0.1 is not a loopback address: set "
	    "token_file, or the API would be open to anyone\n");
	snprintf(text, sizeof(text), "[http]\nlisten = 0.0.0.0:8080\n"
	    "token_file = %s\n", tf);
	c = load_ok(text);
	ck_assert_int_eq(c->http.loopback, 0);
	ck_assert_str_eq(c->http.token_file, tf);
	ck_assert_str_eq(c->http.token, "0123456789abcdef");
	conf_free(c);
}
END_TEST

#define BAD_TOKEN "the token holds a blank, a control character, a byte " \
	"that is not ASCII or more than one line"

/* The token file: read at load, checked, never quoted. */
START_TEST(test_http_token)
{
	static const struct {
		const char	*content;
		size_t		 len;
		const char	*want;	/* token, or the error's end */
		int		 ok;
	} cases[] = {
		{ "0123456789abcdef", 16, "0123456789abcdef", 1 },
		{ "0123456789abcdef\r\n", 18, "0123456789abcdef", 1 },
		{ "!~0123456789abcdef\n", 19, "!~0123456789abcdef", 1 },
		{ "0123456789abcde\n", 16, "the token is shorter than 16 "
		  "bytes", 0 },
		{ "", 0, "the token is shorter than 16 bytes", 0 },
		{ "0123456789 abcdef\n", 18, BAD_TOKEN, 0 },
		{ "0123456789abcdef\nsecond-line-here\n", 34, BAD_TOKEN, 0 },
		{ "0123456789abcdef\n\n", 18, BAD_TOKEN, 0 },
		{ "0123456789\0abcdef", 17, BAD_TOKEN, 0 },
		{ "0123456789\xc3\xa9" "abcdef", 18, BAD_TOKEN, 0 },
	};
	char text[512], want[512], *errs;
	const char *tf;
	struct conf *c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tf = token_file("tok", cases[i].content, cases[i].len);
		snprintf(text, sizeof(text), "[http]\nlisten = 127.0.0.1:1\n"
		    "token_file = %s\n", tf);
		c = load(text, &errs);
		if (cases[i].ok) {
			ck_assert_msg(c != NULL, "case %zu: %s", i, errs);
			ck_assert_str_eq(c->http.token, cases[i].want);
		} else {
			ck_assert_msg(c == NULL, "case %zu loaded", i);
			snprintf(want, sizeof(want), "F:3: token_file: %s: "
			    "%s\n", tf, cases[i].want);
			ck_assert_str_eq(errs, want);
		}
		conf_free(c);
		free(errs);
	}
}
END_TEST

START_TEST(test_http_token_bounds)
{
	char big[1200], text[512], want[512], *errs;
	const char *tf;
	struct conf *c;

	memset(big, 'x', sizeof(big));
	/* 1024 bytes, and a newline: the longest. */
	big[1024] = '\n';
	tf = token_file("tokb", big, 1025);
	snprintf(text, sizeof(text), "[http]\ntoken_file = %s\n", tf);
	c = load_ok(text);
	ck_assert_uint_eq(strlen(c->http.token), 1024);
	ck_assert_ptr_null(c->http.listen);
	conf_free(c);
	/* 1025 bytes. */
	tf = token_file("tokb", big, 1025 + 1);
	c = load(text, &errs);
	ck_assert_ptr_null(c);
	snprintf(want, sizeof(want), "F:2: token_file: %s: " BAD_TOKEN "\n",
	    tf);
	ck_assert_str_eq(errs, want);
	free(errs);
	tf = token_file("tokb", big, sizeof(big));
	c = load(text, &errs);
	ck_assert_ptr_null(c);
	snprintf(want, sizeof(want), "F:2: token_file: %s: the token is "
	    "longer than 1024 bytes\n", tf);
	ck_assert_str_eq(errs, want);
	free(errs);
	/* Missing, relative, a directory: named, never read out. */
	load_fails("[http]\ntoken_file = /nonexistent/tok\n",
	    "F:2: token_file: /nonexistent/tok: No such file or directory\n");
	load_fails("[http]\ntoken_file = tok\n",
	    "F:2: token_file: 'tok' is not an absolute path\n");
	load_fails("[http]\nlisten = 0.0.0.0:1\ntoken_file = tok\n",
	    "F:3: token_file: 'tok' is not an absolute path\n");
}
END_TEST

/* No message ever holds the token. */
START_TEST(test_http_token_secret)
{
	const char *tf = token_file("toks", "s3cr3t-t0ken-value xyz\n", 23);
	char text[512], *errs;
	struct conf *c;

	snprintf(text, sizeof(text), "[http]\nlisten = 127.0.0.1:8080\n"
	    "token_file = %s\nmax_body = 1\n", tf);
	c = load(text, &errs);
	ck_assert_ptr_null(c);
	ck_assert_ptr_null(strstr(errs, "s3cr3t"));
	ck_assert_ptr_nonnull(strstr(errs, tf));
	free(errs);
}
END_TEST

START_TEST(test_http_values)
{
	struct conf *c = load_ok("[http]\nmax_body = 16m\ntimeout = 1m\n"
	    "sync_job = my.sync\n");

	ck_assert_uint_eq(c->http.max_body, 16 * 1024 * 1024);
	ck_assert_int_eq(c->http.timeout, 60);
	ck_assert_str_eq(c->http.sync_job, "my.sync");
	conf_free(c);
	load_fails("[http]\nmax_body = 1023\n",
	    "F:2: max_body: '1023' is out of range (1024 to 16777216 bytes)\n");
	load_fails("[http]\nmax_body = 17m\n",
	    "F:2: max_body: '17m' is out of range (1024 to 16777216 bytes)\n");
	load_fails("[http]\ntimeout = 0\n",
	    "F:2: timeout: '0' is out of range (1 to 3600 seconds)\n");
	load_fails("[http]\nsync_job = a b!\n",
	    "F:2: sync_job: 'b!' is not a name (1 to 64 of A-Z a-z 0-9 _ . "
	    "-)\n");
	load_fails("[http]\nsync_job = a "
	    "b12345678901234567890123456789012345678901234567890123456789012345"
	    "\n", "F:2: sync_job: a name longer than 64 characters\n");
	load_fails("[http]\nsync_job = a b a\n",
	    "F:2: sync_job: 'a' given twice\n");
	load_fails("[http]\nsync_job = ab a\tb c d\n",
	    "F:2: sync_job: more than 4 jobs\n");
	c = load_ok("[http]\nsync_job = email_sync  imap_sync\n");
	ck_assert_str_eq(c->http.sync_job, "email_sync  imap_sync");
	conf_free(c);
	load_fails("[http]\nlisten = 127.0.0.1:1\n[http]\n",
	    "F:3: duplicate section [http] (first at line 1)\n");
	load_fails("[http]\nlisen = 127.0.0.1:1\n",
	    "F:2: unknown key 'lisen' in [http]; did you mean 'listen'?\n");
	load_fails("[redis]\nlisten = 127.0.0.1:1\n",
	    "F:2: unknown key 'listen' in [redis] (it belongs in [http])\n");
}
END_TEST

/* ---- conf_load: file-level errors ---- */

START_TEST(test_errors_fixture)
{
	char *errs;
	struct conf *c = load_path(src("tests/unit/data/conf/errors.conf"),
	    &errs);

	ck_assert_ptr_null(c);
	ck_assert_str_eq(errs,
	    "F:2: 'max_children' is outside any section\n"
	    "F:4: max_children: '0' is out of range (1 to 4096)\n"
	    "F:5: unknown key 'max_childs' in [mailvisord]; did you mean "
	    "'max_children'?\n"
	    "F:6: log_level: 'loud' is not one of error, warn, info, debug\n"
	    "F:7: grace_period: '10x' is not a duration (seconds, or a number "
	    "with s, m, h or d)\n"
	    "F:9: duplicate key 'log_format' (first at line 8)\n"
	    "F:10: expected 'name = value'\n"
	    "F:12: db: '16' is out of range (0 to 15)\n"
	    "F:13: unknown key 'timeout' in [redis] (it belongs in "
	    "[job:NAME])\n"
	    "F:14: url: 'http://localhost' is not a redis://HOST:PORT "
	    "address\n"
	    "F:15: invalid job name 'bad name' (1 to 64 of A-Z a-z 0-9 _ . "
	    "-)\n"
	    "F:18: command: the program 'bin/x' is not an absolute path\n"
	    "F:19: args: 'n': 5 is more than 1\n"
	    "F:20: schedule: timezone 'Mars/Olympus': unknown (no such zone "
	    "in /usr/share/zoneinfo)\n"
	    "F:23: soft_timeout: takes one line (only command, args and env "
	    "continue on indented lines)\n"
	    "F:24: unknown section [jobs:y]; did you mean [job:y]?\n"
	    "F:25: [account:a]: user_id is required\n"
	    "F:27: credentials: 'relative/path' is not an absolute path\n"
	    "F:28: duplicate section [job:x] (first at line 17)\n"
	    "F:29: command: unquoted '|': quote it to pass it literally (no "
	    "shell runs the command)\n"
	    "F:30: missing ']' in section header\n");
	free(errs);
}
END_TEST

START_TEST(test_file_errors)
{
	char path[256], *big, *errs;

	snprintf(path, sizeof(path), "%s/missing.conf", tdir);
	ck_assert_ptr_null(load_path(path, &errs));
	ck_assert_str_eq(errs, "F: No such file or directory\n");
	free(errs);
	ck_assert_ptr_null(load_path(tdir, &errs));
	ck_assert_str_eq(errs, "F: Is a directory\n");
	free(errs);
	big = malloc(CONF_FILE_MAX + 2);
	memset(big, '\n', CONF_FILE_MAX + 1);
	big[CONF_FILE_MAX + 1] = '\0';
	load_fails_n(big, CONF_FILE_MAX + 1, "F: larger than 1048576 bytes\n");
	conf_free(load_ok(big + 1));	/* 1 MiB of blank lines is fine */
	free(big);
	ck_assert_ptr_null(conf_load(path, NULL));	/* nothing printed */
}
END_TEST

START_TEST(test_sections)
{
	char text[512];
	const char *name64 = "a234567890123456789012345678901234567890"
	    "123456789012345678901234";
	struct conf *c;

	/* Longer than inih's 49-byte section names: read in full. */
	snprintf(text, sizeof(text), "[job:%s]\ncommand = /bin/true\n"
	    "[account:%s]\ntenant_id = t\nuser_id = u\ncredentials = /c\n",
	    name64, name64);
	c = load_ok(text);
	ck_assert_ptr_nonnull(conf_job(c, name64));
	ck_assert_ptr_nonnull(conf_account(c, name64));
	conf_free(c);
	snprintf(text, sizeof(text), "[job:%sx]\ncommand = /bin/true\n",
	    name64);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "F:1: invalid job name '%sx' (1 to 64 of A-Z a-z 0-9 _ . -)\n",
	    name64);
	load_fails(text, strchr(text, 'F'));
	load_fails("[redis]\n[mailvisor]\n[redis]\ndb = 99\n[job]\n"
	    "[account:]\n[htp]\n[ redis ]\n[mailvisord] x\n"
	    "[account:a/b]\n[account:a]\n[job:a]\n",
	    "F:2: unknown section [mailvisor]; did you mean [mailvisord]?\n"
	    "F:3: duplicate section [redis] (first at line 1)\n"
	    "F:4: db: '99' is out of range (0 to 15)\n"
	    "F:5: section [job] needs a name: [job:NAME]\n"
	    "F:6: invalid account name '' (1 to 64 of A-Z a-z 0-9 _ . -)\n"
	    "F:7: unknown section [htp]; did you mean [http]?\n"
	    "F:8: unknown section [ redis ]; did you mean [redis]?\n"
	    "F:9: text after ']' in section header\n"
	    "F:10: invalid account name 'a/b' (1 to 64 of A-Z a-z 0-9 _ . "
	    "-)\n"
	    "F:11: [account:a]: tenant_id is required\n"
	    "F:11: [account:a]: user_id is required\n"
	    "F:11: [account:a]: credentials is required\n"
	    "F:12: [job:a]: command is required\n");
	/* A key after a header in error is not blamed on the one before. */
	load_fails("[redis]\ndb = 1\n[nope]\ndb = 2\n",
	    "F:3: unknown section [nope]\n");
	/* Both accounts name the same mailbox. */
	load_fails("[account:a]\ntenant_id = t\nuser_id = u\ncredentials = /c"
	    "\n[account:b]\ntenant_id = t\nuser_id = u\ncredentials = /d\n",
	    "F:5: [account:b]: tenant_id and user_id are those of "
	    "[account:a] (line 1)\n");
}
END_TEST

START_TEST(test_syntax)
{
	/* Comments only at the start of a line; BOM and CRLF accepted. */
	struct conf *c = load_ok("\xef\xbb\xbf; c\r\n[redis]\r\n  # c\r\n"
	    "key_prefix = a;b #c\r\ndb: 2\r\n");

	ck_assert_str_eq(c->redis.key_prefix, "a;b #c");
	ck_assert_int_eq(c->redis.db, 2);
	conf_free(c);
	load_fails("[redis]\n= 3\n  : x\nnothing here\n[redis\n",
	    "F:2: missing name before '='\n"
	    "F:3: missing name before ':'\n"
	    "F:4: expected 'name = value'\n"
	    "F:5: missing ']' in section header\n");
}
END_TEST

START_TEST(test_hostile_bytes)
{
	static const char nul[] = "[redis]\ndb = 1\0 2\nkey_prefix = x\n";

	load_fails_n(nul, sizeof(nul) - 1, "F:2: NUL byte in line\n");
	load_fails("[redis]\nkey_prefix = \xff\xfe\n[job:\xc3\x28]\n",
	    "F:2: invalid UTF-8\n"
	    "F:3: invalid UTF-8\n");
	conf_free(load_ok("[redis]\nkey_prefix = Grüße:\n"));
}
END_TEST

START_TEST(test_long_lines)
{
	char text[8192], line[6000];
	struct conf *c;

	/* 199 bytes: read. */
	memset(line, 'a', 199);
	memcpy(line, "cgroup = /sys/fs/c", 18);
	line[199] = '\0';
	snprintf(text, sizeof(text), "[mailvisord]\n%s\n", line);
	c = load_ok(text);
	ck_assert_uint_eq(strlen(c->daemon.cgroup), 199 - 9);
	conf_free(c);
	/* 200 bytes and more: one error each, and nothing bogus after. */
	memset(line, ';', 200);
	line[200] = '\0';
	snprintf(text, sizeof(text), "[mailvisord]\n%s\nmax_children = 2\n"
	    "%s%s\n", line, line, line);
	load_fails(text, "F:2: line longer than 199 bytes (continue long "
	    "values on indented lines)\n"
	    "F:4: line longer than 199 bytes (continue long values on "
	    "indented lines)\n");
	memset(line, 'x', 5000);
	memcpy(line, "command = /bin/", 15);
	line[5000] = '\0';
	snprintf(text, sizeof(text), "[job:j]\n%s\n", line);
	load_fails(text, "F:1: [job:j]: command is required\n"
	    "F:2: line longer than 199 bytes (continue long values on "
	    "indented lines)\n");
}
END_TEST

START_TEST(test_continuation)
{
	struct conf *c = load_ok("[job:j]\ncommand = /bin/echo a\n"
	    "\tb 'c\n  d'\n\n; a comment between\n    e\nargs = x:int=1,\n"
	    "  y:bool=true\nenv = PATH\n  HOME\n[job:k]\ncommand =\n"
	    "  /bin/true\n   # an indented comment, not a value\n"
	    "  x\n");
	const struct job_conf *j = conf_job(c, "j");

	/* Joined with one space: a quote spans the line break. */
	ck_assert_uint_eq(j->command.n, 5);
	ck_assert_str_eq(j->command.v[3], "c d");
	ck_assert_str_eq(j->command.v[4], "e");
	ck_assert_uint_eq(j->args.n, 2);
	ck_assert_str_eq(j->args.v[1].name, "y");
	ck_assert_uint_eq(j->env.n, 2);
	ck_assert_str_eq(j->env.v[1], "HOME");
	ck_assert_uint_eq(conf_job(c, "k")->command.n, 2);
	conf_free(c);
	load_fails("[redis]\ndb = 1\n  2\n  3\nurl = redis://h\n"
	    "  :6379\n[job:j]\n  command = /bin/true\n",
	    "F:3: db: takes one line (only command, args and env continue "
	    "on indented lines)\n"
	    "F:6: url: takes one line (only command, args and env continue "
	    "on indented lines)\n");
	/* Continuing a key in error says nothing more. */
	load_fails("[redis]\nnope = 1\n  2\n", "F:2: unknown key 'nope' in "
	    "[redis]\n");
}
END_TEST

START_TEST(test_many_jobs)
{
	size_t cap = 2000 * 64, o = 0;
	char *text = malloc(cap);
	struct conf *c;

	for (int i = 0; i < 2000; i++)
		o += (size_t)snprintf(text + o, cap - o, "[job:j%d]\n"
		    "command = /bin/true\n", i);
	c = load_ok(text);
	ck_assert_uint_eq(c->njobs, 2000);
	ck_assert_str_eq(conf_job(c, "j1999")->name, "j1999");
	ck_assert_ptr_null(conf_job(c, "j2000"));
	conf_free(c);
	free(text);
}
END_TEST

/* 200000 lines in error: every one reported, in order, quickly. */
START_TEST(test_many_errors)
{
	size_t n = 200000, lines = 0;
	char *text = malloc(2 * n + 16), *errs, *p, want[64];

	strcpy(text, "[redis]\n");
	for (size_t i = 0; i < n; i++)
		memcpy(text + 8 + 2 * i, "x\n", 3);
	ck_assert_ptr_null(load(text, &errs));
	for (p = errs; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_uint_eq(lines, n);
	ck_assert(strncmp(errs, "F:2: expected 'name = value'\n", 29) == 0);
	snprintf(want, sizeof(want), "F:%zu: expected 'name = value'\n",
	    n + 1);
	ck_assert_str_eq(errs + strlen(errs) - strlen(want), want);
	free(errs);
	free(text);
}
END_TEST

START_TEST(test_too_many_names)
{
	char text[8192];
	size_t o;

	o = (size_t)snprintf(text, sizeof(text), "[job:j]\ncommand = /bin/x\n"
	    "args = a0:int");
	for (int i = 1; i <= 256; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s a%d:int",
		    i % 10 ? "," : ",\n ", i);
	o += (size_t)snprintf(text + o, sizeof(text) - o, "\nenv = V0");
	for (int i = 1; i <= 256; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%sV%d",
		    i % 10 ? " " : "\n ", i);
	snprintf(text + o, sizeof(text) - o, "\n");
	load_fails(text, "F:3: args: more than 256 arguments\n"
	    "F:29: env: more than 256 names\n");
}
END_TEST

/* ---- conf_load: job checks ---- */

START_TEST(test_args_decl)
{
	static const struct {
		const char *decl, *err;
	} cases[] = {
		{ "n", "expected ':' after 'n'" },
		{ "n:float", "unknown type 'float' of 'n' (int, string or "
		  "bool)" },
		{ "n:int(1..)", "'n': bad bounds, expected int(MIN..MAX)" },
		{ "n:int(1)", "'n': bad bounds, expected int(MIN..MAX)" },
		{ "n:int(5..1)", "'n': 5 is more than 1" },
		{ "s:string(0)", "'s': bad bounds, expected string(LENGTH) "
		  "with LENGTH from 1 to 65536" },
		{ "s:string(65537)", "'s': bad bounds, expected "
		  "string(LENGTH) with LENGTH from 1 to 65536" },
		{ "b:bool(1)", "'b': a bool has no bounds" },
		{ "n:int=x", "'n': default 'x' is not an integer" },
		{ "n:int(0..3)=4", "'n': default 4 is out of range (0 to 3)" },
		{ "n:int=", "'n': default '' is not an integer" },
		{ "b:bool=maybe", "'b': default 'maybe' is not true or "
		  "false" },
		{ "s:string(3)=abcd", "'s': default is longer than 3 "
		  "characters" },
		{ "s:string=\"abc", "'s': unterminated quoted default" },
		{ "job:int", "'job' is a built-in placeholder" },
		{ "credentials:string", "'credentials' is a built-in "
		  "placeholder" },
		{ "a:int, a:bool", "'a' is declared twice" },
		{ "a:int,", "expected an argument name at the end" },
		{ "a:int, ", "expected an argument name at the end" },
		{ "a:int b:int", "expected ',' after the declaration of 'a'" },
		{ "1a:int", "expected an argument name at '1a:int'" },
		{ ", a:int", "expected an argument name at ', a:int'" },
	};
	char text[512], want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[job:j]\ncommand = /bin/true\n"
		    "args = %s\n", cases[i].decl);
		snprintf(want, sizeof(want), "F:3: args: %s\n", cases[i].err);
		load_fails(text, want);
	}
}
END_TEST

START_TEST(test_args_forms)
{
	struct conf *c = load_ok("[job:j]\ncommand = /bin/true\nargs = "
	    "n:int(-5..5)=-5 , s:string(2)=\"é\\\"\", t:string=a b ,"
	    "u:string(10)=, b:bool=yes, big:int\n");
	const struct job_conf *j = conf_job(c, "j");

	ck_assert_uint_eq(j->args.n, 6);
	ck_assert_int_eq(j->args.v[0].min, -5);
	ck_assert_int_eq(j->args.v[0].def_int, -5);
	ck_assert_str_eq(j->args.v[1].def_str, "é\"");	/* 2 characters */
	ck_assert_str_eq(j->args.v[2].def_str, "a b");
	ck_assert_int_eq(j->args.v[2].max, 1024);
	ck_assert_str_eq(j->args.v[3].def_str, "");
	ck_assert_int_eq(j->args.v[4].def_int, 1);
	ck_assert_int_eq(j->args.v[5].has_default, 0);
	ck_assert(j->args.v[5].min < -9000000000000000000LL);
	conf_free(c);
}
END_TEST

START_TEST(test_placeholders)
{
	load_fails("[job:j]\ncommand = /bin/x {day_back} {nope} {jobb} "
	    "{days_back:+x} {job:+y}\nargs = days_back:int=1\n",
	    "F:2: command: undeclared placeholder {day_back}; did you mean "
	    "{days_back}?\n"
	    "F:2: command: undeclared placeholder {nope}\n"
	    "F:2: command: undeclared placeholder {jobb}; did you mean "
	    "{job}?\n"
	    "F:2: command: {days_back:+...} needs a bool argument\n"
	    "F:2: command: {job:+...} needs a bool argument\n");
	load_fails("[job:a]\ncommand = /bin/x {\n[job:b]\ncommand = /bin/x }"
	    "\n[job:c]\ncommand = /bin/x '{a b}'\n[job:d]\ncommand = /bin/x "
	    "{x:-y}\n[job:e]\ncommand = /bin/{job}\n[job:f]\ncommand = "
	    "{job}\n",
	    "F:2: command: unterminated placeholder '{' (write {{ for a "
	    "brace)\n"
	    "F:4: command: unmatched '}' (write }} for a brace)\n"
	    "F:6: command: '{a b}' is not a placeholder: write {NAME} or "
	    "{NAME:+TEXT}\n"
	    "F:8: command: '{x:-y}' is not a placeholder: write {NAME} or "
	    "{NAME:+TEXT}\n"
	    "F:10: command: the program '/bin/{job}' cannot hold a "
	    "placeholder\n"
	    "F:12: command: the program '{job}' cannot hold a placeholder\n");
	/* Arguments in error: their placeholders are not blamed too. */
	load_fails("[job:j]\ncommand = /bin/x {n}\nargs = n:nope\n",
	    "F:3: args: unknown type 'nope' of 'n' (int, string or bool)\n");
}
END_TEST

START_TEST(test_schedule)
{
	struct conf *c = load_ok("[job:j]\ncommand = /bin/x {n} {job}\n"
	    "args = n:int=3\nschedule = every 5m\njitter = 1m\n"
	    "[job:k]\ncommand = /bin/x {credentials}\nschedule = @daily\n"
	    "for_each_account = yes\n");
	const struct job_conf *j = conf_job(c, "j");

	ck_assert_int_eq(j->has_schedule, 1);
	ck_assert_int_eq(j->sched.kind, SCHED_INTERVAL);
	ck_assert_int_eq(j->sched.period, 300);
	ck_assert_int_eq(j->jitter_s, 60);
	ck_assert_int_eq(j->needs_account, 0);
	ck_assert_int_eq(conf_job(c, "k")->needs_account, 1);
	conf_free(c);
	load_fails("[job:j]\ncommand = /bin/x {n} {user_email}\n"
	    "args = n:int, m:string\nschedule = every 5m\n",
	    "F:4: schedule: argument 'n' has no default, which a scheduled "
	    "run needs\n"
	    "F:4: schedule: argument 'm' has no default, which a scheduled "
	    "run needs\n"
	    "F:4: schedule: the command uses {user_email}, which needs an "
	    "account: set for_each_account or queue the job\n");
	load_fails("[job:j]\ncommand = /bin/x\ntimezone = UTC\njitter = 5\n"
	    "[job:k]\ncommand = /bin/x\nschedule = 61 * * * *\n"
	    "[job:l]\ncommand = /bin/x\nschedule = every 1m\njitter = 2m\n",
	    "F:3: timezone: needs a schedule\n"
	    "F:4: jitter: needs a schedule\n"
	    "F:7: schedule: minute: 61 out of range 0-59\n"
	    "F:10: schedule: jitter: 120 s is not shorter than the interval "
	    "(60 s)\n");
}
END_TEST

/* A scheduled run is rendered at load: what it lacks is found then. */
START_TEST(test_trial_runs)
{
	load_fails("[job:j]\ncommand = /bin/x {s}\nargs = s:string=-rf\n"
	    "schedule = @hourly\n"
	    "[job:k]\ncommand = /bin/x {user_email}\nschedule = @hourly\n"
	    "for_each_account = yes\n"
	    "[account:a]\ntenant_id = t\nuser_id = a\ncredentials = /a\n"
	    "user_email = a@example.com\n"
	    "[account:b]\ntenant_id = t\nuser_id = b\ncredentials = /b\n",
	    "F:1: [job:j]: no scheduled run: argument 's': a value starting "
	    "with '-' cannot begin a word\n"
	    "F:5: [job:k]: no scheduled run for [account:b]: account 'b' has "
	    "no user_email\n");
}
END_TEST

/* provider: an account's defaults to gmail, a job's to any; a job runs
 * (and is trial-rendered) for the accounts of its provider only. */
START_TEST(test_provider)
{
	struct conf *c = load_ok("[job:g]\ncommand = /g {credentials}\n"
	    "for_each_account = yes\nprovider = gmail\n"
	    "[job:i]\ncommand = /i {user_email}\nschedule = @hourly\n"
	    "for_each_account = yes\nprovider = imap\n"
	    "[job:any]\ncommand = /a {account}\n"
	    "[account:a]\ntenant_id = t\nuser_id = a\ncredentials = /a\n"
	    "[account:b]\ntenant_id = t\nuser_id = b\ncredentials = /b\n"
	    "provider = imap\nuser_email = b@example.com\n"
	    "[account:c]\ntenant_id = t\nuser_id = c\ncredentials = /c\n"
	    "provider = pop3\n");
	const struct account_conf *a = conf_account(c, "a");
	const struct account_conf *b = conf_account(c, "b");
	const struct account_conf *p3 = conf_account(c, "c");

	ck_assert_int_eq(a->provider, CONF_PROVIDER_GMAIL);
	ck_assert_int_eq(b->provider, CONF_PROVIDER_IMAP);
	ck_assert_int_eq(p3->provider, CONF_PROVIDER_POP3);
	ck_assert_int_eq(conf_job(c, "any")->provider, CONF_PROVIDER_ANY);
	ck_assert_int_eq(conf_job_serves(conf_job(c, "g"), a), 1);
	ck_assert_int_eq(conf_job_serves(conf_job(c, "g"), b), 0);
	ck_assert_int_eq(conf_job_serves(conf_job(c, "i"), b), 1);
	ck_assert_int_eq(conf_job_serves(conf_job(c, "i"), p3), 0);
	ck_assert_int_eq(conf_job_serves(conf_job(c, "any"), p3), 1);
	ck_assert_str_eq(conf_provider_name(CONF_PROVIDER_POP3), "pop3");
	ck_assert_str_eq(conf_provider_name(CONF_PROVIDER_ANY), "any");
	ck_assert_int_eq(conf_provider_parse("imap"), CONF_PROVIDER_IMAP);
	ck_assert_int_eq(conf_provider_parse("any"), -1);
	ck_assert_int_eq(conf_provider_parse("outlook"), -1);
	conf_free(c);
	/* The gmail account without user_email is not the imap job's. */
	load_fails("[job:i]\ncommand = /i {user_email}\nschedule = @hourly\n"
	    "for_each_account = yes\nprovider = imap\n"
	    "[account:a]\ntenant_id = t\nuser_id = a\ncredentials = /a\n"
	    "[account:b]\ntenant_id = t\nuser_id = b\ncredentials = /b\n"
	    "provider = imap\n"
	    "[account:x]\ntenant_id = t\nuser_id = x\ncredentials = /x\n"
	    "provider = outlook\n",
	    "F:1: [job:i]: no scheduled run for [account:b]: account 'b' has "
	    "no user_email\n"
	    "F:19: provider: 'outlook' is not one of gmail, imap, pop3\n");
}
END_TEST

/* ---- conf_split_command ---- */

START_TEST(test_split_words)
{
	ck_assert_str_eq(split("/bin/x a  b\t c"), "[/bin/x] [a] [b] [c]");
	ck_assert_str_eq(split("  /bin/x  "), "[/bin/x]");
	ck_assert_str_eq(split(""), "");
	ck_assert_str_eq(split(" \t "), "");
	ck_assert_str_eq(split("x 'a b' \"c d\" e\\ f '' \"\""),
	    "[x] [a b] [c d] [e f] [] []");
	ck_assert_str_eq(split("a'b'\"c\"d"), "[abcd]");
	ck_assert_str_eq(split("\"a\\\"b\\\\c\\$d\\`e\\n\""),
	    "[a\"b\\c$d`e\\n]");
	ck_assert_str_eq(split("'a\\b' 'it'\\''s'"), "[a\\b] [it's]");
	ck_assert_str_eq(split("'a;b' \"c|d\" e\\&f '$HOME' \"*?[\" \\~ "
	    "'#x' a#b a~b"),
	    "[a;b] [c|d] [e&f] [$HOME] [*?[] [~] [#x] [a#b] [a~b]");
	ck_assert_str_eq(split("Grüße '日本'"), "[Grüße] [日本]");
	ck_assert_str_eq(split("--q={query} {{x}}"), "[--q={query}] [{{x}}]");
}
END_TEST

START_TEST(test_split_refused)
{
	static const char ops[] = ";|&<>()$`*?[";
	char in[16], want[128];

	for (const char *p = ops; *p; p++) {
		snprintf(in, sizeof(in), "/bin/x a%cb", *p);
		snprintf(want, sizeof(want), "ERR: unquoted '%c': quote it to "
		    "pass it literally (no shell runs the command)", *p);
		ck_assert_str_eq(split(in), want);
	}
	ck_assert_str_eq(split("/bin/x ~/y"), "ERR: unquoted '~': quote it "
	    "to pass it literally (no shell runs the command)");
	ck_assert_str_eq(split("/bin/x #no"), "ERR: unquoted '#': quote it "
	    "to pass it literally (no shell runs the command)");
	ck_assert_str_eq(split("/bin/x 'abc"), "ERR: unterminated single "
	    "quote");
	ck_assert_str_eq(split("/bin/x \"abc"), "ERR: unterminated double "
	    "quote");
	ck_assert_str_eq(split("/bin/x \"a\\\""), "ERR: unterminated double "
	    "quote");
	ck_assert_str_eq(split("/bin/x a\\"), "ERR: backslash at the end");
	ck_assert_str_eq(split("/bin/x \"$HOME\""), "ERR: '$' inside double "
	    "quotes: nothing is expanded, write \\$ or use single quotes");
	ck_assert_str_eq(split("/bin/x \"`id`\""), "ERR: '`' inside double "
	    "quotes: nothing is expanded, write \\` or use single quotes");
}
END_TEST

/* A value ending in a backslash inside double quotes: the splitter used to
 * take the NUL for an escaped character and read past the string (a heap
 * copy of exactly its length, so that ASan sees any such read). */
START_TEST(test_split_trailing_backslash)
{
	static const char *const in[] = {
		"/bin/x \"\\", "\"\\", "/bin/x \"a\\", "\"\\\\\\",
	};
	char *s;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		s = strdup(in[i]);
		ck_assert_str_eq(split(s), "ERR: unterminated double quote");
		free(s);
	}
	load_fails("[job:j]\ncommand = /bin/x \"\\\n",
	    "F:2: command: unterminated double quote\n");
	load_fails("[job:j]\ncommand = /bin/x\n  \"a \\\n",
	    "F:2: command: unterminated double quote\n");
}
END_TEST

START_TEST(test_split_huge)
{
	size_t n = 100000, count;
	char *s = malloc(2 * n + 1), err[64], **v;

	for (size_t i = 0; i < n; i++) {
		s[2 * i] = 'w';
		s[2 * i + 1] = ' ';
	}
	s[2 * n] = '\0';
	v = conf_split_command(s, &count, err, sizeof(err));
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(count, n);
	ck_assert_str_eq(v[n - 1], "w");
	ck_assert_ptr_null(v[n]);
	conf_argv_free(v);
	free(s);
}
END_TEST

/* ---- conf_render_argv ---- */

#define E10 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" \
    "\xc3\xa9\xc3\xa9"
#define E20 E10 E10

static const char render_conf[] =
    "[job:sync]\n"
    "command = /usr/bin/w --action fetch_emails --days_back={days_back}\n"
    "  --query {query} --credentials {credentials} --user_email\n"
    "  {user_email} {full:+--include_spam_trash} --full={full}\n"
    "  {{{job}}} {account}/{tenant_id}/{user_id}\n"
    "args = days_back:int(0..365)=1, query:string(20)=is:unread,\n"
    "  full:bool=false\n"
    "[job:send]\n"
    "command = /usr/bin/w --to={to} {subject} {n}\n"
    "args = to:string(320), subject:string(65536)=x, n:int=0\n"
    "[job:plain]\ncommand = /bin/x {job}\n"
    "[account:alice]\ntenant_id = acme\nuser_id = u1\n"
    "user_email = alice@example.com\ncredentials = /etc/c/alice.json\n"
    "[account:bob]\ntenant_id = acme\nuser_id = u2\n"
    "credentials = /etc/c/bob.json\n";

START_TEST(test_render)
{
	struct conf *c = load_ok(render_conf);

	ck_assert_str_eq(render(c, "sync", "alice", NULL),
	    "[/usr/bin/w] [--action] [fetch_emails] [--days_back=1] "
	    "[--query] [is:unread] [--credentials] [@/etc/c/alice.json] "
	    "[--user_email] [alice@example.com] [--full=false] [{sync}] "
	    "[alice/acme/u1]");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"days_back\": 365, "
	    "\"query\": \"from:bob is:unread\", \"full\": true}"),
	    "[/usr/bin/w] [--action] [fetch_emails] [--days_back=365] "
	    "[--query] [from:bob is:unread] [--credentials] "
	    "[@/etc/c/alice.json] [--user_email] [alice@example.com] "
	    "[--include_spam_trash] [--full=true] [{sync}] [alice/acme/u1]");
	/* Whatever a value holds, it stays one word and nothing expands. */
	ck_assert_str_eq(render(c, "send", NULL, "{\"to\": \"a b; rm -rf /\","
	    " \"subject\": \"$(id) `x` *\"}"),
	    "[/usr/bin/w] [--to=a b; rm -rf /] [$(id) `x` *] [0]");
	ck_assert_str_eq(render(c, "send", NULL, "{\"to\": \"-x\", "
	    "\"subject\": \"\", \"n\": 0}"),
	    "[/usr/bin/w] [--to=-x] [] [0]");
	ck_assert_str_eq(render(c, "plain", "bob", NULL), "[/bin/x] [plain]");
	ck_assert_str_eq(render(c, "plain", NULL, "{}"), "[/bin/x] [plain]");
	conf_free(c);
}
END_TEST

START_TEST(test_render_refused)
{
	struct conf *c = load_ok(render_conf);

	ck_assert_str_eq(render(c, "sync", "alice", "{\"days_back\": \"3\"}"),
	    "ERR: argument 'days_back': expected an integer");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"days_back\": 3.0}"),
	    "ERR: argument 'days_back': expected an integer");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"days_back\": 366}"),
	    "ERR: argument 'days_back': 366 is out of range (0 to 365)");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"days_back\": -1}"),
	    "ERR: argument 'days_back': -1 is out of range (0 to 365)");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"full\": 1}"),
	    "ERR: argument 'full': expected true or false");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"query\": null}"),
	    "ERR: argument 'query': expected a string");
	ck_assert_str_eq(render(c, "sync", "alice",
	    "{\"query\": \"123456789012345678901\"}"),
	    "ERR: argument 'query': longer than 20 characters");
	ck_assert_str_eq(render(c, "sync", "alice",
	    "{\"query\": \"" E20 "\"}"),	/* 20 characters: fits */
	    "[/usr/bin/w] [--action] [fetch_emails] [--days_back=1] "
	    "[--query] [" E20 "] [--credentials] "
	    "[@/etc/c/alice.json] [--user_email] [alice@example.com] "
	    "[--full=false] [{sync}] [alice/acme/u1]");
	ck_assert_str_eq(render(c, "sync", "alice",
	    "{\"query\": \"a\\u0000b\"}"),
	    "ERR: argument 'query': contains a NUL byte");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"query\": \"-rf\"}"),
	    "ERR: argument 'query': a value starting with '-' cannot begin "
	    "a word");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"day_back\": 2}"),
	    "ERR: unknown argument 'day_back'; did you mean 'days_back'?");
	ck_assert_str_eq(render(c, "sync", "alice",
	    "{\"argv\": [\"/bin/sh\"]}"),
	    "ERR: unknown argument 'argv'");
	ck_assert_str_eq(render(c, "sync", "alice", "{\"credentials\": \"x\"}"),
	    "ERR: unknown argument 'credentials'");
	ck_assert_str_eq(render(c, "sync", "alice", "[1]"),
	    "ERR: args is not a JSON object");
	ck_assert_str_eq(render(c, "sync", "alice", "\"x\""),
	    "ERR: args is not a JSON object");
	{
		char deep[1100];

		/* {"query": [[[...]]]}, 500 deep */
		strcpy(deep, "{\"query\": ");
		memset(deep + 10, '[', 500);
		memset(deep + 510, ']', 500);
		strcpy(deep + 1010, "}");
		ck_assert_str_eq(render(c, "sync", "alice", deep),
		    "ERR: argument 'query': expected a string");
	}
	ck_assert_str_eq(render(c, "sync", NULL, NULL),
	    "ERR: job 'sync' uses {credentials}, which needs an account");
	ck_assert_str_eq(render(c, "sync", "bob", NULL),
	    "ERR: account 'bob' has no user_email");
	ck_assert_str_eq(render(c, "send", NULL, NULL),
	    "ERR: missing argument 'to'");
	ck_assert_str_eq(render(c, "send", NULL, "{\"to\": \"x\", "
	    "\"subject\": \"-x\"}"),
	    "ERR: argument 'subject': a value starting with '-' cannot "
	    "begin a word");
	ck_assert_str_eq(render(c, "send", NULL, "{\"to\": \"x\", \"n\": -1}"),
	    "ERR: argument 'n': a value starting with '-' cannot begin a "
	    "word");
	conf_free(c);
}
END_TEST

START_TEST(test_render_huge)
{
	struct conf *c = load_ok(render_conf);
	size_t n = 65536, len = 12 + 4 * n + 16;
	char *js = malloc(len), *p = js;
	const char *out;

	/* 65536 characters of 4 bytes: allowed, but past the word limit. */
	p += sprintf(p, "{\"to\": \"x\", \"subject\": \"");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "\xf0\x9f\x98\x80");
	strcpy(p, "\"}");
	out = render(c, "send", NULL, js);
	ck_assert_str_eq(out, "ERR: a word is longer than 131072 bytes");
	/* 32768 of them: 131072 bytes, one word. */
	strcpy(js + strlen("{\"to\": \"x\", \"subject\": \"") + 4 * 32768,
	    "\"}");
	out = render(c, "send", NULL, js);
	ck_assert_uint_eq(strlen(out), strlen("[/usr/bin/w] [--to=x] [] [0]")
	    + 4 * 32768);
	free(js);
	conf_free(c);
}
END_TEST

/* ---- conf_render_env ---- */

START_TEST(test_env)
{
	struct conf *c = load_ok("[job:a]\ncommand = /bin/x\n[job:b]\n"
	    "command = /bin/x\nenv = HOME, MV_UNSET_VAR MV_EMPTY\n[job:c]\n"
	    "command = /bin/x\nenv =\n");
	char **e;

	setenv("PATH", "/usr/bin:/bin", 1);
	setenv("LANG", "C.UTF-8", 1);
	unsetenv("TZ");
	setenv("HOME", "/home/mv", 1);
	setenv("MV_SECRET", "hunter2", 1);
	setenv("MV_EMPTY", "", 1);
	unsetenv("MV_UNSET_VAR");
	e = conf_render_env(conf_job(c, "a"));
	ck_assert_str_eq(e[0], "PATH=/usr/bin:/bin");
	ck_assert_str_eq(e[1], "LANG=C.UTF-8");
	ck_assert_ptr_null(e[2]);
	conf_argv_free(e);
	e = conf_render_env(conf_job(c, "b"));
	ck_assert_str_eq(e[0], "HOME=/home/mv");
	ck_assert_str_eq(e[1], "MV_EMPTY=");
	ck_assert_ptr_null(e[2]);
	conf_argv_free(e);
	e = conf_render_env(conf_job(c, "c"));
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(e[0]);
	conf_argv_free(e);
	conf_free(c);
}
END_TEST

/* ---- lookups ---- */

START_TEST(test_lookup)
{
	struct conf *c = load_ok(render_conf);

	ck_assert_str_eq(conf_job(c, "send")->name, "send");
	ck_assert_ptr_null(conf_job(c, "Send"));
	ck_assert_ptr_null(conf_job(c, ""));
	ck_assert_str_eq(conf_account(c, "bob")->user_id, "u2");
	ck_assert_ptr_null(conf_account(c, "carol"));
	ck_assert_str_eq(conf_account_by_ids(c, "acme", "u1")->name, "alice");
	ck_assert_str_eq(conf_account_by_ids(c, "acme", "u2")->name, "bob");
	ck_assert_ptr_null(conf_account_by_ids(c, "acme", "u3"));
	ck_assert_ptr_null(conf_account_by_ids(c, "other", "u1"));
	ck_assert_ptr_null(conf_account_by_ids(c, NULL, "u1"));
	ck_assert_ptr_null(conf_account_by_ids(c, "acme", NULL));
	conf_free(c);
	conf_free(NULL);
	conf_argv_free(NULL);
}
END_TEST

/* ---- the example file and the man page come from the table ---- */

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, got;

	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	buf = malloc(1 << 20);
	got = fread(buf, 1, (1 << 20) - 1, fp);
	buf[got] = '\0';
	fclose(fp);
	(void)n;
	return buf;
}

static char *
generated(int (*fn)(FILE *))
{
	char *buf = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&buf, &n);

	ck_assert_int_eq(fn(mem), 0);
	fclose(mem);
	return buf;
}

START_TEST(test_example)
{
	char *want = generated(conf_write_example);
	char *file = slurp(src("packaging/mailvisord.conf"));
	char *errs;
	struct conf *c;

	ck_assert_str_eq(file, want);
	/* As shipped, it is the defaults. */
	c = load_path(src("packaging/mailvisord.conf"), &errs);
	ck_assert_msg(c != NULL, "%s", errs);
	ck_assert_int_eq(c->daemon.max_children, 8);
	ck_assert_uint_eq(c->njobs, 0);
	ck_assert_uint_eq(c->nqueues, 0);
	conf_free(c);
	free(errs);
	free(file);
	free(want);
}
END_TEST

/* Every line of the example uncommented (but the lines naming users,
 * a socket besides the url, or a job without accounts) loads. */
START_TEST(test_example_uncommented)
{
	char *ex = generated(conf_write_example), *out, *line, *save = NULL;
	size_t o = 0;
	int in_job = 0;
	struct conf *c;
	const struct job_conf *j;

	out = malloc(strlen(ex) + 256);
	for (line = strtok_r(ex, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strchr(line, '[') == line || strchr(line, '[') == line + 1)
			in_job = strstr(line, "[job:") != NULL;
		/* The example's jobs are scheduled: none consumes. */
		if (in_job && (strncmp(line, "#consume =", 10) == 0 ||
		    strncmp(line, "#batch =", 8) == 0 ||
		    strncmp(line, "#priority =", 11) == 0 ||
		    strncmp(line, "#share =", 8) == 0))
			continue;
		if (strncmp(line, "# ", 2) == 0 ||
		    strncmp(line, "#user =", 7) == 0 ||
		    strncmp(line, "#group =", 8) == 0 ||
		    strncmp(line, "#socket =", 9) == 0 ||
		    strncmp(line, "#token_file =", 13) == 0)
			continue;
		if (strcmp(line, "#for_each_account = no") == 0)
			line = "#for_each_account = yes";
		o += (size_t)sprintf(out + o, "%s\n", line[0] == '#' ?
		    line + 1 : line);
	}
	c = load_ok(out);
	ck_assert_uint_eq(c->njobs, 2);
	ck_assert_uint_eq(c->naccounts, 1);
	ck_assert_uint_eq(c->nqueues, 1);
	ck_assert_str_eq(c->queues[0].name, "sync");
	ck_assert_int_eq(c->queues[0].priority, 5);
	j = &c->jobs[0];
	ck_assert_str_eq(j->name, "email_sync");
	ck_assert_uint_eq(j->command.n, 7);
	ck_assert_int_eq(j->has_schedule, 1);
	ck_assert_int_eq(j->soft_timeout, 540);
	ck_assert_str_eq(render(c, "email_sync", "alice", NULL),
	    "[/usr/bin/gmail-worker] [--action] [fetch_emails] "
	    "[--days_back=1] [--query=is:unread] [--credentials] "
	    "[@/etc/mailvisor/credentials/alice.json]");
	ck_assert_str_eq(c->jobs[1].name, "triage");
	ck_assert_str_eq(render(c, "triage", NULL, NULL),
	    "[/usr/bin/ai-worker] [--action] [process] [--input] "
	    "[/var/lib/mailvisor/thread.json] [--model] [gpt-4o-mini] "
	    "[--api_key_file] [/etc/mailvisor/ai.key]");
	conf_free(c);
	free(out);
	free(ex);
}
END_TEST

START_TEST(test_man)
{
	char *want = generated(conf_write_man);
	char *file = slurp(src("man/mailvisord.conf.5"));

	ck_assert_msg(strstr(file, want) != NULL, "man/mailvisord.conf.5 "
	    "lacks the directive lists of conf_write_man():\n%s", want);
	free(file);
	free(want);
}
END_TEST

/* The man page's example loads (less its user line, as that user may not
 * exist here) and renders as the page says. */
START_TEST(test_man_example)
{
	char *file = slurp(src("man/mailvisord.conf.5")), *ex, *end, *u;
	struct conf *c;

	ex = strstr(file, ".Sh EXAMPLES");
	ck_assert_ptr_nonnull(ex);
	ex = strstr(ex, ".Bd -literal -offset indent\n");
	ck_assert_ptr_nonnull(ex);
	ex += strlen(".Bd -literal -offset indent\n");
	end = strstr(ex, ".Ed\n");
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	u = strstr(ex, "user = mailvisor\n");
	ck_assert_ptr_nonnull(u);
	memset(u, ' ', strlen("user = mailvisor"));
	c = load_ok(ex);
	ck_assert_str_eq(render(c, "email_sync", "alice", NULL),
	    "[/usr/bin/gmail-worker] [--action] [fetch_emails] "
	    "[--days_back=1] [--credentials] "
	    "[@/etc/mailvisor/credentials/alice.json] [--user_email] "
	    "[alice@example.com]");
	ck_assert_ptr_nonnull(strstr(end + 1, "/usr/bin/gmail-worker --action "
	    "fetch_emails --days_back=1\n    --credentials "
	    "@/etc/mailvisor/credentials/alice.json\n    --user_email "
	    "alice@example.com\n"));
	conf_free(c);
	free(file);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("conf_load");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_job_defaults);
	tcase_add_test(tc, test_queue_defaults);
	tcase_add_test(tc, test_queues);
	tcase_add_test(tc, test_queue_errors);
	tcase_add_test(tc, test_cursor_stream);
	tcase_add_test(tc, test_stream_named);
	tcase_add_test(tc, test_cursor_valid);
	tcase_add_test(tc, test_full);
	tcase_add_loop_test(tc, test_bounds, 0,
	    sizeof(bounds) / sizeof(bounds[0]));
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_value_forms);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_users);
	tcase_add_test(tc, test_redis);
	tcase_add_test(tc, test_errors_fixture);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_sections);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_hostile_bytes);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_many_jobs);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_too_many_names);
	tcase_add_test(tc, test_args_decl);
	tcase_add_test(tc, test_args_forms);
	tcase_add_test(tc, test_placeholders);
	tcase_add_test(tc, test_schedule);
	tcase_add_test(tc, test_trial_runs);
	tcase_add_test(tc, test_provider);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf_load_http");
	tcase_add_test(tc, test_http_defaults);
	tcase_add_test(tc, test_http_listen);
	tcase_add_test(tc, test_http_exposed);
	tcase_add_test(tc, test_http_token);
	tcase_add_test(tc, test_http_token_bounds);
	tcase_add_test(tc, test_http_token_secret);
	tcase_add_test(tc, test_http_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf_split_command");
	tcase_add_test(tc, test_split_words);
	tcase_add_test(tc, test_split_refused);
	tcase_add_test(tc, test_split_trailing_backslash);
	tcase_add_test(tc, test_split_huge);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf_render_argv");
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_render_refused);
	tcase_add_test(tc, test_render_huge);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf_render_env");
	tcase_add_test(tc, test_env);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf_job_account");
	tcase_add_test(tc, test_lookup);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf_write_example_man");
	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_example_uncommented);
	tcase_add_test(tc, test_man);
	tcase_add_test(tc, test_man_example);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	char cmd[256];
	int failed;

	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tpath, sizeof(tpath), "%s/t.conf", tdir);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		failed++;
	return failed == 0 ? 0 : 1;
}
