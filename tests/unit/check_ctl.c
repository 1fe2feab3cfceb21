/* Unit tests of mailvisorctl's parts: supervisor/ctl/print.c (escaping,
 * tables, the printers), ctl/target.c (URL, token, configuration) and
 * ctl/client.c (exit statuses). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "supervisor/ctl/ctl.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("MAILVISOR_URL");
	unsetenv("MAILVISOR_TOKEN");
	unsetenv("MAILVISOR_TOKEN_FILE");
}

static void
teardown(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes text to dir/name; returns the path (static). */
static const char *
put(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* Reads a whole temporary file into a new string. */
static char *
slurp(FILE *f)
{
	char *s;
	long n;

	fflush(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(s = calloc(1, (size_t)n + 1));
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

static char *out_text, *err_text;

/* Runs fn on the JSON text with stdout and stderr captured in out_text
 * and err_text (freed by the next call). Returns fn's status. */
static int
capture(ctl_printer fn, const char *json, const char *const *words)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int so = dup(1), se = dup(2), rc;
	json_t *a;

	ck_assert_ptr_nonnull(a = json_loads(json, 0, NULL));
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	rc = fn(a, words);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	json_decref(a);
	free(out_text);
	free(err_text);
	out_text = slurp(o);
	err_text = slurp(e);
	fclose(o);
	fclose(e);
	return rc;
}

static FILE *err_file;
static int err_saved;

/* Between these, stderr goes to err_text. */
static void
stderr_begin(void)
{
	ck_assert_ptr_nonnull(err_file = tmpfile());
	fflush(stderr);
	err_saved = dup(2);
	dup2(fileno(err_file), 2);
}

static void
stderr_end(void)
{
	fflush(stderr);
	dup2(err_saved, 2);
	close(err_saved);
	free(err_text);
	err_text = slurp(err_file);
	fclose(err_file);
}

/* ctl_token_read() with its messages in err_text. */
static char *
token_read(const char *path, int *code)
{
	char *tok;

	stderr_begin();
	tok = ctl_token_read(path, code);
	stderr_end();
	return tok;
}

/* ---- ctl_escape ---- */

static void
esc_is(const char *in, size_t max, const char *want)
{
	char *got = ctl_escape(in, max);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_escape)
{
	esc_is("", 0, "");
	esc_is("plain text", 0, "plain text");
	esc_is("Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac", 0,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac");
	esc_is("a\nb\tc\rd", 0, "a\\nb\\tc\\rd");
	esc_is("\x1b[2J\x07\x7f", 0, "\\x1b[2J\\x07\\x7f");
	esc_is("back\\slash", 0, "back\\\\slash");
	/* C1 controls: CSI (U+009B) and NEL (U+0085). */
	esc_is("\xc2\x9b" "31m\xc2\x85", 0, "\\u009b31m\\u0085");
	/* U+00A0 is not a control. */
	esc_is("\xc2\xa0", 0, "\xc2\xa0");
}
END_TEST

START_TEST(test_escape_bad_utf8)
{
	esc_is("\xff\xfe", 0, "\\xff\\xfe");
	esc_is("cut \xe2\x82", 0, "cut \\xe2\\x82");
	esc_is("\xc0\xaf overlong", 0, "\\xc0\\xaf overlong");
	esc_is("\xed\xa0\x80 surrogate", 0, "\\xed\\xa0\\x80 surrogate");
}
END_TEST

START_TEST(test_escape_max)
{
	esc_is("abcdef", 3, "abc...");
	esc_is("abc", 3, "abc");
	esc_is("\xc3\xa9\xc3\xa9\xc3\xa9", 2, "\xc3\xa9\xc3\xa9...");
	/* An escape counts as one character. */
	esc_is("\n\n\n\n", 2, "\\n\\n...");
}
END_TEST

START_TEST(test_escape_huge)
{
	size_t n = 1 << 20;
	char *in = malloc(n + 1), *got;

	ck_assert_ptr_nonnull(in);
	memset(in, 0x1b, n);
	in[n] = '\0';
	ck_assert_ptr_nonnull(got = ctl_escape(in, 0));
	ck_assert_uint_eq(strlen(got), 4 * n);
	ck_assert(strncmp(got, "\\x1b\\x1b", 8) == 0);
	free(got);
	ck_assert_ptr_nonnull(got = ctl_escape(in, 10));
	ck_assert_uint_eq(strlen(got), 43);
	free(got);
	free(in);
}
END_TEST

/* ---- ctl_clean ---- */

START_TEST(test_clean)
{
	char buf[16];

	ck_assert_str_eq(ctl_clean(buf, sizeof(buf), "a\x1b[2Jb", 64),
	    "a [2Jb");
	ck_assert_str_eq(ctl_clean(buf, sizeof(buf), NULL, 64), "");
	ck_assert_str_eq(ctl_clean(buf, sizeof(buf), "0123456789abcdef",
	    64), "0123456789ab...");
}
END_TEST

/* ---- ctl_token_valid ---- */

START_TEST(test_token_valid)
{
	char big[CTL_TOKEN_MAX + 2];

	ck_assert_int_eq(ctl_token_valid("0123456789abcdef", 16), 1);
	ck_assert_int_eq(ctl_token_valid("0123456789abcde", 15), 0);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(ctl_token_valid(big, CTL_TOKEN_MAX), 1);
	ck_assert_int_eq(ctl_token_valid(big, CTL_TOKEN_MAX + 1), 0);
	ck_assert_int_eq(ctl_token_valid("0123456789 abcdef", 17), 0);
	ck_assert_int_eq(ctl_token_valid("0123456789\x7f" "abcdef", 17), 0);
	ck_assert_int_eq(ctl_token_valid("0123456789\0abcdef", 17), 0);
	ck_assert_int_eq(ctl_token_valid("0123456789\xc3\xa9" "abcde", 17),
	    0);
}
END_TEST

/* ---- ctl_token_read ---- */

START_TEST(test_token_read)
{
	char *t;
	int code = -1;

	ck_assert_ptr_nonnull(t = ctl_token_read(put("a", "0123456789abcdef\n"),
	    &code));
	ck_assert_str_eq(t, "0123456789abcdef");
	free(t);
	ck_assert_ptr_nonnull(t = ctl_token_read(put("b",
	    "0123456789abcdefgh\r\n"), &code));
	ck_assert_str_eq(t, "0123456789abcdefgh");
	free(t);
	ck_assert_ptr_nonnull(t = ctl_token_read(put("c", "0123456789abcdef"),
	    &code));
	free(t);
	ck_assert_int_eq(code, -1);
}
END_TEST

START_TEST(test_token_read_bad)
{
	char big[CTL_TOKEN_MAX + 64];
	char path[128];
	int code = 0;

	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_ptr_null(token_read(path, &code));
	ck_assert_int_eq(code, EX_NOINPUT);
	ck_assert_ptr_null(token_read(dir, &code));
	ck_assert_int_eq(code, EX_NOINPUT);
	ck_assert_ptr_null(token_read(put("s", "short\n"), &code));
	ck_assert_int_eq(code, EX_CONFIG);
	ck_assert(strstr(err_text, "/s: not one line of 16 to 1024 printable "
	    "ASCII characters without blanks\n") != NULL);
	ck_assert(strstr(err_text, "short") == NULL);
	ck_assert_ptr_null(token_read(put("two",
	    "0123456789abcdef\n0123456789abcdef\n"), &code));
	ck_assert_int_eq(code, EX_CONFIG);
	ck_assert_ptr_null(token_read(put("empty", ""), &code));
	ck_assert_int_eq(code, EX_CONFIG);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_ptr_null(token_read(put("big", big), &code));
	ck_assert_int_eq(code, EX_CONFIG);
}
END_TEST

/* ---- ctl_http_exit ---- */

START_TEST(test_http_exit)
{
	static const long st[] = { 200, 202, 299, 400, 413, 404, 409, 408,
	    401, 403, 503, 500, 502, 504, 301, 302, 405, 415, 100 };
	static const int want[] = { 0, 0, 0, 64, 64, 65, 65, 75, 77, 77, 69,
	    70, 70, 70, 70, 70, 70, 70, 70 };

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		ck_assert_int_eq(ctl_http_exit(st[i]), want[i]);
}
END_TEST

/* ---- ctl_target_get ---- */

/* ctl_target_get() of a source; t is kept for the caller's checks. */
static struct ctl_target t;

static int
target(const char *url, const char *token_file, const char *config)
{
	struct ctl_source s = { url, token_file, config, NULL };
	int rc;

	ctl_target_free(&t);
	stderr_begin();
	rc = ctl_target_get(&s, &t);
	stderr_end();
	return rc;
}

/* The last messages say what. */
static void
said(const char *what)
{
	ck_assert_msg(strstr(err_text, what) != NULL &&
	    strncmp(err_text, "mailvisorctl: ", 14) == 0,
	    "stderr '%s' does not say '%s'", err_text, what);
}

START_TEST(test_target_url)
{
	const char *tok = put("tok", "0123456789abcdef\n");
	char path[128];

	snprintf(path, sizeof(path), "%s", tok);
	ck_assert_int_eq(target("http://127.0.0.1:8080/", path, NULL), 0);
	ck_assert_str_eq(t.url, "http://127.0.0.1:8080");
	ck_assert_str_eq(t.token, "0123456789abcdef");
	ck_assert_int_eq(target("HTTPS://host.example/prefix//", path, NULL),
	    0);
	ck_assert_str_eq(t.url, "HTTPS://host.example/prefix");
	setenv("MAILVISOR_URL", "http://[::1]:9", 1);
	setenv("MAILVISOR_TOKEN", "abcdefghijklmnopq", 1);
	ck_assert_int_eq(target(NULL, NULL, NULL), 0);
	ck_assert_str_eq(t.url, "http://[::1]:9");
	ck_assert_str_eq(t.token, "abcdefghijklmnopq");
	/* The flag comes first. */
	ck_assert_int_eq(target("http://flag:1", path, NULL), 0);
	ck_assert_str_eq(t.url, "http://flag:1");
	ck_assert_str_eq(t.token, "0123456789abcdef");
	ctl_target_free(&t);
}
END_TEST

START_TEST(test_target_url_bad)
{
	static const char *bad[] = { "ftp://h", "h:8080", "http://",
	    "http:///x", "http://user:pw@h", "http://u@h/", "http://h/?q",
	    "http://h/#f", "http://h/ x", "http://h/\x1b", "" };
	const char *tok = put("tok", "0123456789abcdef\n");
	char path[128];

	snprintf(path, sizeof(path), "%s", tok);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(target(bad[i], path, NULL), EX_USAGE);
	ck_assert_int_eq(target("http://u:secret@h", path, NULL), EX_USAGE);
	said("--url: credentials in the URL are refused");
	ck_assert(strstr(err_text, "secret") == NULL);
	ck_assert_int_eq(target("http://h/\x1b[2J", path, NULL), EX_USAGE);
	said("'http://h/ [2J': a base URL without");
	/* The token file is still checked. */
	snprintf(path, sizeof(path), "%s/none", dir);
	ck_assert_int_eq(target("http://h", path, NULL), EX_NOINPUT);
	said("/none: No such file or directory");
	setenv("MAILVISOR_TOKEN", "short", 1);
	ck_assert_int_eq(target("http://h", NULL, NULL), EX_CONFIG);
	said("MAILVISOR_TOKEN: not 16 to 1024");
	ck_assert(strstr(err_text, "short") == NULL);
	ctl_target_free(&t);
}
END_TEST

/* A configuration with [http] listen = listen and the token file. */
static const char *
conf_with(const char *listen)
{
	char text[512], tok[128];

	snprintf(tok, sizeof(tok), "%s", put("conftok",
	    "confconfconfconf99\n"));
	snprintf(text, sizeof(text), "[http]\nlisten = %s\ntoken_file = %s\n",
	    listen, tok);
	return put("c.conf", text);
}

START_TEST(test_target_conf)
{
	static const struct {
		const char *listen, *url;
	} cases[] = {
		{ "127.0.0.1:8080", "http://127.0.0.1:8080" },
		{ "0.0.0.0:81", "http://127.0.0.1:81" },
		{ "[::]:82", "http://[::1]:82" },
		{ "[::1]:83", "http://[::1]:83" },
		{ "localhost:84", "http://localhost:84" },
	};
	char path[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s", conf_with(cases[i].listen));
		ck_assert_int_eq(target(NULL, NULL, path), 0);
		ck_assert_str_eq(t.url, cases[i].url);
		ck_assert_str_eq(t.token, "confconfconfconf99");
	}
	/* Only what the flags leave open comes from the file. */
	setenv("MAILVISOR_TOKEN", "environment-token-1", 1);
	ck_assert_int_eq(target(NULL, NULL, path), 0);
	ck_assert_str_eq(t.url, "http://localhost:84");
	ck_assert_str_eq(t.token, "environment-token-1");
	ctl_target_free(&t);
}
END_TEST

START_TEST(test_target_conf_bad)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	ck_assert_int_eq(target(NULL, NULL, path), EX_CONFIG);
	said("cannot read /tmp/check_ctl.");
	said("/missing.conf: No such file or directory\n");
	snprintf(path, sizeof(path), "%s", put("x.conf", "[http]\nnope = 1\n"));
	ck_assert_int_eq(target(NULL, NULL, path), EX_CONFIG);
	said("/x.conf:2: unknown key 'nope' in [http]\n");
	snprintf(path, sizeof(path), "%s", put("y.conf", "[mailvisord]\n"));
	ck_assert_int_eq(target(NULL, NULL, path), EX_USAGE);
	said("/y.conf has no [http] listen");
	/* A URL from the flags: the file gives only the token (none). */
	ck_assert_int_eq(target("http://h:1", NULL, path), 0);
	ck_assert_ptr_null(t.token);
	if (access(CTL_DEFAULT_CONF, F_OK) == -1) {
		ck_assert_int_eq(target(NULL, NULL, NULL), EX_USAGE);
		said("no daemon URL");
	}
	ctl_target_free(&t);
}
END_TEST

/* ---- the printers ---- */

static const char *const no_words[] = { "x", "y", "z", NULL };

START_TEST(test_print_sched_status)
{
	const char *a = "{\"jobs\":["
	    "{\"name\":\"email_sync\",\"schedule\":\"*/5 * * * *\","
	    "\"timezone\":\"UTC\",\"next_run\":\"2026-11-20T10:05:00Z\","
	    "\"paused\":false,\"removed\":false,\"running\":1},"
	    "{\"name\":\"e\\u001b[2J\",\"schedule\":\"@daily\","
	    "\"timezone\":\"Europe/Paris\",\"next_run\":null,"
	    "\"paused\":true,\"removed\":false,\"running\":0},"
	    "{\"name\":\"gone\",\"schedule\":\"every 1h\",\"timezone\":\"UTC\","
	    "\"next_run\":null,\"paused\":true,\"removed\":true,\"running\":0},"
	    "{\"name\":\"manual\",\"schedule\":null,\"timezone\":\"UTC\","
	    "\"next_run\":null,\"paused\":false,\"removed\":false,"
	    "\"running\":2}],\"running\":3,\"max_children\":4}";

	ck_assert_int_eq(capture(ctl_print_sched_status, a, no_words), 0);
	ck_assert_str_eq(out_text,
	    "JOB         SCHEDULE               NEXT RUN              STATE"
	    "        RUNNING\n"
	    "email_sync  */5 * * * *            2026-11-20T10:05:00Z  active"
	    "       1\n"
	    "e\\x1b[2J    @daily (Europe/Paris)  -                     paused"
	    "       0\n"
	    "gone        every 1h               -                     removed"
	    "      0\n"
	    "manual      -                      -                     "
	    "unscheduled  2\n"
	    "3 running, at most 4 at once\n");
	ck_assert_str_eq(err_text, "");
}
END_TEST

START_TEST(test_print_bad_answers)
{
	ck_assert_int_eq(capture(ctl_print_sched_status, "{\"jobs\":3}",
	    no_words), EX_SOFTWARE);
	ck_assert_str_eq(out_text, "");
	ck_assert_str_eq(err_text,
	    "mailvisorctl: unexpected answer: no 'jobs' list\n");
	ck_assert_int_eq(capture(ctl_print_active, "{\"jobs\":[1]}",
	    no_words), EX_SOFTWARE);
	ck_assert_str_eq(err_text, "mailvisorctl: unexpected answer: an "
	    "element of 'jobs' is not an object\n");
	ck_assert_int_eq(capture(ctl_print_stats, "{}", no_words),
	    EX_SOFTWARE);
	ck_assert_int_eq(capture(ctl_print_purge, "{\"queue\":\"q\","
	    "\"removed\":\"3\"}", no_words), EX_SOFTWARE);
	ck_assert_int_eq(capture(ctl_print_dlq_purge, "{\"purged\":null}",
	    no_words), EX_SOFTWARE);
	ck_assert_int_eq(capture(ctl_print_job, "{\"job_id\":\"x\"}",
	    no_words), EX_SOFTWARE);
}
END_TEST

START_TEST(test_print_stats)
{
	const char *a = "{\"workers\":{"
	    "\"zeta\":{\"total_executions\":10,\"successful_executions\":9,"
	    "\"failed_executions\":1,\"total_duration\":12.5,"
	    "\"average_duration\":1.25,"
	    "\"last_execution\":\"2026-11-20T10:00:01Z\","
	    "\"last_status\":\"failed\"},"
	    "\"alpha\":{\"total_executions\":0,\"successful_executions\":0,"
	    "\"failed_executions\":0,\"total_duration\":0,"
	    "\"average_duration\":0,\"last_execution\":null,"
	    "\"last_status\":null}}}";

	ck_assert_int_eq(capture(ctl_print_stats, a, no_words), 0);
	ck_assert_str_eq(out_text,
	    "WORKER  TOTAL  OK  FAILED  AVG(s)  LAST                  STATUS\n"
	    "alpha   0      0   0       0       -                     -\n"
	    "zeta    10     9   1       1.25    2026-11-20T10:00:01Z  failed\n");
}
END_TEST

START_TEST(test_print_failures)
{
	const char *a = "{\"failures\":["
	    "{\"completed_at\":\"T3\",\"worker\":\"w\",\"status\":\"timeout\","
	    "\"reason\":\"killed at the hard limit\","
	    "\"stderr_tail\":\"x\"},"
	    "{\"completed_at\":\"T2\",\"worker\":\"w\",\"status\":\"failed\","
	    "\"result\":{\"error\":{\"message\":\"denied\\nnow\"}}},"
	    "{\"completed_at\":\"T1\",\"worker\":\"w\",\"status\":\"killed\","
	    "\"stderr_tail\":\"\\n  \\nfirst line\\nsecond\"},"
	    "{\"completed_at\":\"T0\",\"worker\":\"w\",\"status\":\"failed\"}"
	    "]}";

	ck_assert_int_eq(capture(ctl_print_failures, a, no_words), 0);
	ck_assert_str_eq(out_text,
	    "TIME  WORKER  STATUS   REASON\n"
	    "T3    w       timeout  killed at the hard limit\n"
	    "T2    w       failed   denied\\nnow\n"
	    "T1    w       killed   first line\n"
	    "T0    w       failed   -\n");
	ck_assert_int_eq(capture(ctl_print_failures, "{\"failures\":[]}",
	    no_words), 0);
	ck_assert_str_eq(out_text, "no failures\n");
}
END_TEST

START_TEST(test_print_queues)
{
	const char *a = "{\"queues\":["
	    "{\"name\":\"sync\",\"priority\":10,\"max_retries\":5,\"share\":0,"
	    "\"length\":1234,\"pending\":2,\"delayed\":0},"
	    "{\"name\":\"send\",\"priority\":8,\"max_retries\":3,\"share\":0,"
	    "\"length\":0,\"pending\":0,\"delayed\":7}],"
	    "\"dlq\":3,\"delayed\":7}";

	ck_assert_int_eq(capture(ctl_print_queues, a, no_words), 0);
	ck_assert_str_eq(out_text,
	    "QUEUE  PRIO  LENGTH  PENDING  DELAYED\n"
	    "sync   10    1234    2        0\n"
	    "send   8     0       0        7\n"
	    "dead letters: 3, delayed retries: 7\n");
}
END_TEST

START_TEST(test_print_dlq)
{
	const char *a = "{\"entries\":[{\"dlq_id\":\"1-0\",\"queue\":\"sync\","
	    "\"id\":\"9-0\",\"job_id\":\"9-0\",\"reason\":\"unknown job\","
	    "\"fields\":{\"job\":\"\\u001b]0;pwned\\u0007\"},"
	    "\"attempts\":[{},{}],\"record\":{},\"at\":\"T\"}]}";

	ck_assert_int_eq(capture(ctl_print_dlq, a, no_words), 0);
	ck_assert_str_eq(out_text,
	    "DLQ ID  AT  QUEUE  JOB               ATTEMPTS  REASON\n"
	    "1-0     T   sync   \\x1b]0;pwned\\x07  2         unknown job\n");
	ck_assert_int_eq(capture(ctl_print_dlq, "{\"entries\":[]}",
	    no_words), 0);
	ck_assert_str_eq(out_text, "no dead letters\n");
}
END_TEST

START_TEST(test_print_long_cell)
{
	char a[512], want[512];

	snprintf(a, sizeof(a), "{\"jobs\":[{\"job_id\":\"%0100d\","
	    "\"job\":\"j\"}],\"consumer\":\"c\"}", 7);
	ck_assert_int_eq(capture(ctl_print_active, a, no_words), 0);
	snprintf(want, sizeof(want), "%064d...", 0);
	ck_assert(strncmp(strchr(out_text, '\n') + 1, want, 67) == 0);
}
END_TEST

START_TEST(test_print_lines)
{
	static const char *const pause[] = { "scheduler", "pause", "j", NULL };
	static const char *const remove[] = { "scheduler", "remove", "j",
	    NULL };

	ck_assert_int_eq(capture(ctl_print_sched_change,
	    "{\"job\":\"j\",\"paused\":true}", pause), 0);
	ck_assert_str_eq(out_text, "j: paused\n");
	ck_assert_int_eq(capture(ctl_print_sched_change,
	    "{\"job\":\"j\",\"removed\":true}", remove), 0);
	ck_assert_str_eq(out_text, "j: removed from the schedule\n");
	ck_assert_int_eq(capture(ctl_print_trigger, "{\"job\":\"s\","
	    "\"job_ids\":[\"a\",\"b\"]}", no_words), 0);
	ck_assert_str_eq(out_text, "s: 2 runs queued\n  a\n  b\n");
	ck_assert_int_eq(capture(ctl_print_enqueue, "{\"queue\":\"q\","
	    "\"id\":\"1-2\",\"job_id\":\"1-2\"}", no_words), 0);
	ck_assert_str_eq(out_text, "enqueued on q: 1-2\n");
	ck_assert_int_eq(capture(ctl_print_purge, "{\"queue\":\"q\","
	    "\"removed\":1}", no_words), 0);
	ck_assert_str_eq(out_text, "q: 1 entry removed\n");
	ck_assert_int_eq(capture(ctl_print_reprocess, "{\"reprocessed\":2}",
	    no_words), 0);
	ck_assert_str_eq(out_text, "reprocessed 2 dead letters\n");
	ck_assert_int_eq(capture(ctl_print_cleared, "{\"cleared\":[]}",
	    no_words), 0);
	ck_assert_str_eq(out_text, "nothing cleared\n");
	ck_assert_int_eq(capture(ctl_print_ping, "{\"version\":\"0.1.0\","
	    "\"pid\":7,\"uptime\":3,\"redis\":{\"connected\":false}}",
	    no_words), 0);
	ck_assert_str_eq(out_text,
	    "mailvisord 0.1.0: degraded, pid 7, up 3 s, Redis not connected\n");
	ck_assert_int_eq(capture(ctl_print_ping, "{\"version\":\"0.1.0\","
	    "\"pid\":7,\"uptime\":3,\"redis\":{\"connected\":true}}",
	    no_words), 0);
	ck_assert_str_eq(out_text,
	    "mailvisord 0.1.0: ok, pid 7, up 3 s, Redis connected\n");
	ck_assert_int_eq(capture(ctl_print_ping, "{\"status\":\"ok\"}",
	    no_words), 70);
	ck_assert_int_eq(capture(ctl_print_revoke, "{\"job_id\":\"1-2\","
	    "\"running_here\":false,\"outcome\":\"skipped\"}", no_words), 0);
	ck_assert_str_eq(out_text, "revoked 1-2: queued: it will be skipped\n");
}
END_TEST

/* inspect ping's status: 69 when the daemon has no Redis, with the
 * reason (and its address) on stderr. */
START_TEST(test_verdict_ping)
{
	json_t *up = json_loads("{\"redis\":{\"connected\":true}}", 0,
	    NULL);
	json_t *down = json_loads("{\"redis\":{\"connected\":false,"
	    "\"address\":\"unix:/run/redis.sock/0\"}}", 0, NULL);

	ck_assert_int_eq(ctl_verdict_ping(up), 0);
	ck_assert_int_eq(ctl_verdict_ping(down), 69);
	json_decref(up);
	json_decref(down);
}
END_TEST

START_TEST(test_print_flat)
{
	ck_assert_int_eq(capture(ctl_print_job, "{\"job_id\":\"i\","
	    "\"state\":\"done\",\"record\":{\"status\":\"failed\","
	    "\"duration\":1.5,\"result\":{\"ids\":[1,2]},\"signal\":null}}",
	    no_words), 0);
	ck_assert_str_eq(out_text,
	    "job_id             i\n"
	    "state              done\n"
	    "record.status      failed\n"
	    "record.duration    1.50\n"
	    "record.result.ids  [1,2]\n"
	    "record.signal      -\n");
}
END_TEST

/* One line per group, "-" for none and an unknown lag; a hostile group
 * name escaped. */
START_TEST(test_print_streams)
{
	const char *a = "{\"streams\":[{\"name\":\"mail\",\"length\":6,"
	    "\"maxlen\":5000,\"last_time\":\"T\",\"groups\":["
	    "{\"name\":\"app\",\"pending\":2,\"lag\":4},"
	    "{\"name\":\"\\u001b[2Jx\",\"pending\":0,\"lag\":null}]},"
	    "{\"name\":\"side\",\"length\":0,\"maxlen\":9,"
	    "\"last_time\":null,\"groups\":[]}]}";

	ck_assert_int_eq(capture(ctl_print_streams, a, no_words), 0);
	ck_assert_str_eq(out_text,
	    "STREAM  LENGTH  MAXLEN  LAST  GROUP     PENDING  LAG\n"
	    "mail    6       5000    T     app       2        4\n"
	    "mail    6       5000    T     \\x1b[2Jx  0        -\n"
	    "side    0       9       -     -         -        -\n");
	ck_assert_int_eq(capture(ctl_print_streams, "{\"streams\":{}}",
	    no_words), EX_SOFTWARE);
	ck_assert_int_eq(capture(ctl_print_streams, "{\"streams\":[1]}",
	    no_words), EX_SOFTWARE);
}
END_TEST

/* The data lines as they are; one with a control character escaped; an
 * entry without data left out. */
START_TEST(test_print_tail)
{
	const char *a = "{\"entries\":[{\"id\":\"1-0\",\"fields\":"
	    "{\"data\":\"{\\\"a\\\":1}\"}},{\"id\":\"2-0\",\"fields\":{}},"
	    "{\"id\":\"3-0\",\"fields\":{\"data\":\"x\\u001by\"}},"
	    "{\"id\":\"4-0\",\"fields\":{\"data\":\"\\u0085\"}}]}";

	ck_assert_int_eq(capture(ctl_print_tail, a, no_words), 0);
	ck_assert_str_eq(out_text, "{\"a\":1}\nx\\x1by\n\\u0085\n");
	ck_assert_int_eq(capture(ctl_print_tail, "{\"entries\":null}",
	    no_words), EX_SOFTWARE);
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
		{ "escape", test_escape },
		{ "escape_bad_utf8", test_escape_bad_utf8 },
		{ "escape_max", test_escape_max },
		{ "escape_huge", test_escape_huge },
		{ "clean", test_clean },
		{ "token_valid", test_token_valid },
		{ "token_read", test_token_read },
		{ "token_read_bad", test_token_read_bad },
		{ "http_exit", test_http_exit },
		{ "target_url", test_target_url },
		{ "target_url_bad", test_target_url_bad },
		{ "target_conf", test_target_conf },
		{ "target_conf_bad", test_target_conf_bad },
		{ "print_sched_status", test_print_sched_status },
		{ "print_bad_answers", test_print_bad_answers },
		{ "print_stats", test_print_stats },
		{ "print_failures", test_print_failures },
		{ "print_queues", test_print_queues },
		{ "print_dlq", test_print_dlq },
		{ "print_streams", test_print_streams },
		{ "print_tail", test_print_tail },
		{ "print_long_cell", test_print_long_cell },
		{ "print_lines", test_print_lines },
		{ "print_flat", test_print_flat },
		{ "verdict_ping", test_verdict_ping },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ctl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
