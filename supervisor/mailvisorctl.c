/* mailvisorctl: controls and watches mailvisord through its HTTP API. One
 * table of options and one of commands drive parsing, the requests and
 * --help. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "shared/buf.h"
#include "shared/str.h"
#include "supervisor/ctl/ctl.h"
#include "supervisor/routes.h"

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif

#define WORDS_MAX	8	/* command words and arguments */
#define ARGS_MAX	256	/* --arg given at most */
#define HELP_WIDTH	79

/* The command options, as bits: which commands take which. */
#define OB_ACCOUNT	0x0001
#define OB_ALL		0x0002
#define OB_ARG		0x0004
#define OB_COUNT	0x0008
#define OB_FULL		0x0010
#define OB_HOURS	0x0020
#define OB_IDEM		0x0040
#define OB_LIMIT	0x0080
#define OB_LOOKBACK	0x0100
#define OB_QUEUE	0x0200
#define OB_START	0x0400
#define OB_TENANT	0x0800
#define OB_USER		0x1000
#define OB_FOLLOW	0x2000
#define OB_THREAD	0x4000
#define OB_TASKS	0x8000

struct strlist {
	const char	**v;
	size_t		  n;
};

/* The command line. Strings borrow from argv. */
struct opts {
	const char	*url, *token_file, *config, *cacert;
	int		 json, quiet, help, version;
	long		 timeout;
	const char	*account, *tenant, *user, *idem, *queue, *start;
	const char	*thread, *tasks;
	int		 all, full, follow;
	long		 count, hours, limit, lookback;
	struct strlist	 args;
	unsigned	 given;		/* OB_* of the options given */
	const char	*words[WORDS_MAX + 1];
	size_t		 nwords;
};

enum opt_kind {
	OPT_FLAG,
	OPT_STR,
	OPT_LONG,		/* integer within [min, max] */
	OPT_LIST,		/* repeatable string */
};

struct opt {
	const char	*name;		/* canonical, with '-' */
	char		 shortname;
	enum opt_kind	 kind;
	size_t		 off;
	long		 min, max;
	unsigned	 bit;		/* OB_*; 0: global */
	const char	*query;		/* query parameter it fills */
	const char	*arg;		/* argument name for --help */
	const char	*help;
};

#define O(f) offsetof(struct opts, f)

/* Sorted by name. */
static const struct opt opt_table[] = {
	{ "account", 0, OPT_STR, O(account), 0, 0, OB_ACCOUNT, NULL, "NAME",
	  "the account to run for (default: each account of a "
	  "per-account job)" },
	{ "all", 0, OPT_FLAG, O(all), 0, 0, OB_ALL, NULL, NULL,
	  "every dead letter" },
	{ "arg", 0, OPT_LIST, O(args), 0, 0, OB_ARG, NULL, "K=V",
	  "a job argument: V is sent as an integer, true or false when it "
	  "is one, else as a string; K:=JSON sends a JSON value (repeatable)" },
	{ "cacert", 0, OPT_STR, O(cacert), 0, 0, 0, NULL, "FILE",
	  "CA certificates to check an https:// daemon with (default: the "
	  "system's)" },
	{ "config", 'c', OPT_STR, O(config), 0, 0, 0, NULL, "FILE",
	  "the daemon's configuration, for [http] listen and token_file "
	  "(default " CTL_DEFAULT_CONF ")" },
	{ "count", 'n', OPT_LONG, O(count), 1, 1000, OB_COUNT, "count", "N",
	  "entries shown, 1 to 1000 (default 20)" },
	{ "follow", 'f', OPT_FLAG, O(follow), 0, 0, OB_FOLLOW, NULL, NULL,
	  "keep printing the entries added, asking every second, until "
	  "interrupted" },
	{ "full", 0, OPT_FLAG, O(full), 0, 0, OB_FULL, NULL, NULL,
	  "a full sync (full_sync true)" },
	{ "help", 'h', OPT_FLAG, O(help), 0, 0, 0, NULL, NULL,
	  "show this help" },
	{ "hours", 0, OPT_LONG, O(hours), 1, 8760, OB_HOURS, "hours", "H",
	  "failures of the last H hours, 1 to 8760 (default 24)" },
	{ "idempotency-key", 0, OPT_STR, O(idem), 0, 0, OB_IDEM, NULL, "KEY",
	  "runs the job once for one key (1 to 200 printable bytes)" },
	{ "json", 0, OPT_FLAG, O(json), 0, 0, 0, NULL, NULL,
	  "print the API's JSON answer on one line instead of text" },
	{ "limit", 0, OPT_LONG, O(limit), 1, 1000, OB_LIMIT, "limit", "N",
	  "records shown: history 1 to 100 (default 20), failures 1 to 1000 "
	  "(default 50); ai bulk: the job's argument limit" },
	{ "lookback-days", 0, OPT_LONG, O(lookback), 0, 36500, OB_LOOKBACK,
	  NULL, "N", "sync the messages of the last N days (lookback_days)" },
	{ "queue", 0, OPT_STR, O(queue), 0, 0, OB_QUEUE, NULL, "QUEUE",
	  "the queue to add the job to (default sync)" },
	{ "quiet", 'q', OPT_FLAG, O(quiet), 0, 0, 0, NULL, NULL,
	  "print nothing on success" },
	{ "start", 0, OPT_STR, O(start), 0, 0, OB_START, "start", "ID",
	  "the id of the first dead letter shown (default: the oldest)" },
	{ "tasks", 0, OPT_STR, O(tasks), 0, 0, OB_TASKS, NULL, "A,B,...",
	  "the AI job's argument tasks (default: the job's)" },
	{ "tenant", 0, OPT_STR, O(tenant), 0, 0, OB_TENANT, NULL, "TENANT",
	  "the tenant_id of the job's account" },
	{ "thread-id", 0, OPT_STR, O(thread), 0, 0, OB_THREAD, NULL, "ID",
	  "the thread of the account the AI job reads" },
	{ "timeout", 0, OPT_LONG, O(timeout), 1, 3600, 0, NULL, "SECONDS",
	  "limit for the whole request (default 10)" },
	{ "token-file", 0, OPT_STR, O(token_file), 0, 0, 0, NULL, "FILE",
	  "the API token, one line (env MAILVISOR_TOKEN_FILE; default: "
	  "the configuration's token_file)" },
	{ "url", 0, OPT_STR, O(url), 0, 0, 0, NULL, "URL",
	  "the daemon's API (env MAILVISOR_URL; default: from the "
	  "configuration's [http] listen)" },
	{ "user", 0, OPT_STR, O(user), 0, 0, OB_USER, NULL, "USER",
	  "the user_id of the job's account" },
	{ "version", 'V', OPT_FLAG, O(version), 0, 0, 0, NULL, NULL,
	  "show the version" },
};

#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

/* The request of one command from the command line. Returns 0, or 64
 * after saying why. */
typedef int (*body_fn)(const struct opts *, json_t **body);

static int body_sync(const struct opts *, json_t **);
static int body_trigger(const struct opts *, json_t **);
static int body_enqueue(const struct opts *, json_t **);
static int body_reprocess(const struct opts *, json_t **);
static int body_ai(const struct opts *, json_t **);

enum param_from {
	PARAM_NONE,		/* the route has no {parameter} */
	PARAM_WORD,		/* the command's argument */
	PARAM_QUEUE,		/* --queue, "sync" by default */
	PARAM_WORD_ACCOUNT,	/* the first argument; an optional second
				 * one is the query parameter account */
};

struct cmd {
	const char	*w1, *w2;	/* its words; w2 NULL: one word */
	const char	*arg;		/* its argument, or NULL */
	int		 arg_needed;	/* the argument is required */
	unsigned	 opts, need;	/* OB_* taken, and required */
	enum route_id	 route;
	enum param_from	 param;
	const char	*arg_query;	/* the argument is this query
					 * parameter, not a path one */
	body_fn		 body;
	ctl_printer	 print;
	ctl_verdict	 verdict;	/* the exit status of a 2xx answer;
					 * NULL: 0 */
	const char	*help;
};

static const struct cmd cmd_table[] = {
	{ "scheduler", "status", NULL, 0, 0, 0, R_SCHED_STATUS, PARAM_NONE,
	  NULL, NULL, ctl_print_sched_status, NULL,
	  "the jobs: schedule, next run, state, runs going" },
	{ "scheduler", "pause", "JOB", 1, 0, 0, R_SCHED_PAUSE, PARAM_WORD,
	  NULL, NULL, ctl_print_sched_change, NULL,
	  "stop firing JOB's schedule (on every daemon)" },
	{ "scheduler", "resume", "JOB", 1, 0, 0, R_SCHED_RESUME, PARAM_WORD,
	  NULL, NULL, ctl_print_sched_change, NULL,
	  "fire JOB's schedule again (also after a remove)" },
	{ "scheduler", "remove", "JOB", 1, 0, 0, R_SCHED_REMOVE, PARAM_WORD,
	  NULL, NULL, ctl_print_sched_change, NULL,
	  "take JOB off the schedule; it can still be triggered" },
	{ "sync", "user", "ACCOUNT", 1, OB_FULL | OB_LOOKBACK, 0,
	  R_SYNC_TRIGGER, PARAM_NONE, NULL, body_sync, ctl_print_trigger, NULL,
	  "run the sync job now for one account" },
	{ "sync", "all", NULL, 0, OB_FULL | OB_LOOKBACK, 0, R_SYNC_TRIGGER,
	  PARAM_NONE, NULL, body_sync, ctl_print_trigger, NULL,
	  "run the sync job now (for every account when it is per account)" },
	{ "ai", "thread", NULL, 0, OB_ACCOUNT | OB_THREAD | OB_TASKS,
	  OB_ACCOUNT | OB_THREAD, R_AI_TRIGGER, PARAM_NONE, NULL, body_ai,
	  ctl_print_trigger, NULL,
	  "run the AI thread job now on one thread of an account" },
	{ "ai", "bulk", NULL, 0, OB_ACCOUNT | OB_LIMIT | OB_TASKS, 0,
	  R_AI_TRIGGER, PARAM_NONE, NULL, body_ai, ctl_print_trigger, NULL,
	  "run the AI bulk job now (for each account when it is per "
	  "account)" },
	{ "trigger", NULL, "JOB", 1, OB_ACCOUNT | OB_ARG, 0, R_JOB_TRIGGER,
	  PARAM_WORD, NULL, body_trigger, ctl_print_trigger, NULL,
	  "run JOB now" },
	{ "enqueue", NULL, "JOB", 1, OB_ARG | OB_IDEM | OB_QUEUE | OB_TENANT |
	  OB_USER, OB_TENANT | OB_USER, R_QUEUE_ENQUEUE, PARAM_QUEUE, NULL,
	  body_enqueue, ctl_print_enqueue, NULL,
	  "add a run of JOB for an account to a queue" },
	{ "monitor", "stats", "WORKER", 0, 0, 0, R_MONITOR_STATS, PARAM_NONE,
	  "worker_name", NULL, ctl_print_stats, NULL,
	  "runs, successes, failures, average duration, last run" },
	{ "monitor", "history", "WORKER", 1, OB_LIMIT, 0, R_MONITOR_HISTORY,
	  PARAM_WORD, NULL, NULL, ctl_print_history, NULL,
	  "WORKER's last runs, newest first" },
	{ "monitor", "failures", NULL, 0, OB_HOURS | OB_LIMIT, 0,
	  R_MONITOR_FAILURES, PARAM_NONE, NULL, NULL, ctl_print_failures, NULL,
	  "the runs that failed, newest first" },
	{ "monitor", "clear", "WORKER", 0, 0, 0, R_MONITOR_CLEAR, PARAM_NONE,
	  "worker_name", NULL, ctl_print_cleared, NULL,
	  "delete the statistics and history of WORKER (default: all)" },
	{ "inspect", "active", NULL, 0, 0, 0, R_JOBS_ACTIVE, PARAM_NONE, NULL,
	  NULL, ctl_print_active, NULL, "the runs going on this daemon" },
	{ "inspect", "scheduled", NULL, 0, 0, 0, R_SCHED_STATUS, PARAM_NONE,
	  NULL, NULL, ctl_print_scheduled, NULL,
	  "the next runs, soonest first" },
	{ "inspect", "ping", NULL, 0, 0, 0, R_DAEMON, PARAM_NONE, NULL,
	  NULL, ctl_print_ping, ctl_verdict_ping,
	  "is the daemon up, the token right, and Redis connected?" },
	{ "inspect", "stats", NULL, 0, 0, 0, R_DAEMON, PARAM_NONE, NULL, NULL,
	  ctl_print_daemon, NULL, "the daemon's figures" },
	{ "job", NULL, "JOB_ID", 1, 0, 0, R_JOB_GET, PARAM_WORD, NULL, NULL,
	  ctl_print_job, NULL, "one run: going, or its record" },
	{ "revoke", NULL, "JOB_ID", 1, 0, 0, R_JOB_REVOKE, PARAM_WORD, NULL,
	  NULL, ctl_print_revoke, NULL,
	  "kill the run, or skip it when its turn comes" },
	{ "queues", NULL, NULL, 0, 0, 0, R_QUEUES, PARAM_NONE, NULL, NULL,
	  ctl_print_queues, NULL,
	  "the queues, their lengths, and the dead letters" },
	{ "purge", NULL, "QUEUE", 1, 0, 0, R_QUEUE_PURGE, PARAM_WORD, NULL,
	  NULL, ctl_print_purge, NULL, "delete the entries waiting in QUEUE" },
	{ "dlq", "peek", NULL, 0, OB_COUNT | OB_START, 0, R_DLQ_PEEK,
	  PARAM_NONE, NULL, NULL, ctl_print_dlq, NULL,
	  "the dead letters, oldest first" },
	{ "dlq", "reprocess", "ID", 0, OB_ALL, 0, R_DLQ_REPROCESS, PARAM_NONE,
	  NULL, body_reprocess, ctl_print_reprocess, NULL,
	  "queue a dead letter again (ID, or --all)" },
	{ "dlq", "purge", NULL, 0, 0, 0, R_DLQ_PURGE, PARAM_NONE, NULL, NULL,
	  ctl_print_dlq_purge, NULL, "delete every dead letter" },
	{ "cursor", "show", "JOB [ACCOUNT]", 1, 0, 0, R_CURSOR_SHOW,
	  PARAM_WORD_ACCOUNT, NULL, NULL, ctl_print_cursors, NULL,
	  "the sync cursors JOB keeps, per account" },
	{ "cursor", "reset", "JOB [ACCOUNT]", 1, 0, 0, R_CURSOR_RESET,
	  PARAM_WORD_ACCOUNT, NULL, NULL, ctl_print_cursor_reset, NULL,
	  "forget JOB's cursors: the next run of each is a full sync" },
	{ "streams", NULL, NULL, 0, 0, 0, R_STREAMS, PARAM_NONE, NULL, NULL,
	  ctl_print_streams, NULL,
	  "streams jobs emit into or consume: groups' pending and lag" },
	{ "stream", "tail", "STREAM", 1, OB_COUNT | OB_FOLLOW, 0,
	  R_STREAM_ENTRIES, PARAM_WORD, NULL, NULL, ctl_print_tail, NULL,
	  "the data of STREAM's newest entries, one JSON line each" },
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

/* Finds an option by its long name, '-' and '_' alike. */
static const struct opt *
opt_find(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (mv_optname_eq(opt_table[i].name, name, len))
			return &opt_table[i];
	return NULL;
}

static const struct opt *
opt_find_short(char c)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opt_table[i].shortname == c)
			return &opt_table[i];
	return NULL;
}

/* Sets option d from v. Returns 0, or 64 after saying why. */
static int
opt_set(struct opts *o, const struct opt *d, const char *v)
{
	char *p = (char *)o + d->off, *end, q[80];
	struct strlist *l;
	const char **nv;
	long n;

	o->given |= d->bit;
	switch (d->kind) {
	case OPT_FLAG:
		*(int *)(void *)p = 1;
		return 0;
	case OPT_STR:
		*(const char **)(void *)p = v;
		return 0;
	case OPT_LIST:
		l = (struct strlist *)(void *)p;
		if (l->n >= ARGS_MAX)
			return ctl_fail(EX_USAGE, "--%s given more than %d "
			    "times", d->name, ARGS_MAX);
		if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL)
			return ctl_fail(EX_SOFTWARE, "out of memory");
		nv[l->n++] = v;
		l->v = nv;
		return 0;
	case OPT_LONG:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < d->min || n > d->max)
			return ctl_fail(EX_USAGE, "--%s: '%s' is not an "
			    "integer from %ld to %ld", d->name, ctl_clean(q,
			    sizeof(q), v, 64), d->min, d->max);
		*(long *)(void *)p = n;
		return 0;
	}
	return 0;
}

/* One "--name[=value]" at argv[*i]; consumes the value if separate.
 * Returns 0 or 64. */
static int
parse_long(struct opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	const struct opt *d;
	char q[80];

	if ((d = opt_find(a, len)) == NULL)
		return ctl_fail(EX_USAGE, "unknown option --%s (see --help)",
		    ctl_clean(q, sizeof(q), a, 64));
	if (d->kind == OPT_FLAG) {
		if (eq)
			return ctl_fail(EX_USAGE, "--%s takes no value",
			    d->name);
		return opt_set(o, d, NULL);
	}
	if (eq)
		return opt_set(o, d, eq + 1);
	if (*i + 1 >= argc)
		return ctl_fail(EX_USAGE, "--%s needs a value", d->name);
	return opt_set(o, d, argv[++*i]);
}

/* "-q", "-qc FILE", "-cFILE". Returns 0 or 64. */
static int
parse_short(struct opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i] + 1;
	const struct opt *d;
	int rc;

	for (; *a; a++) {
		if ((d = opt_find_short(*a)) == NULL)
			return ctl_fail(EX_USAGE, "unknown option -%c (see "
			    "--help)", *a > 0x20 && *a < 0x7f ? *a : '?');
		if (d->kind == OPT_FLAG) {
			if ((rc = opt_set(o, d, NULL)) != 0)
				return rc;
			continue;
		}
		if (a[1])
			return opt_set(o, d, a + 1);
		if (*i + 1 >= argc)
			return ctl_fail(EX_USAGE, "-%c needs a value", *a);
		return opt_set(o, d, argv[++*i]);
	}
	return 0;
}

/* A word that is not an option. Returns 0 or 64. */
static int
parse_word(struct opts *o, const char *w)
{
	if (o->nwords == WORDS_MAX)
		return ctl_fail(EX_USAGE, "too many arguments (see --help)");
	o->words[o->nwords++] = w;
	return 0;
}

/* Parses argv into o: options anywhere, "--" ends them. Returns 0 or
 * 64 after saying why. */
static int
opts_parse(struct opts *o, int argc, char **argv)
{
	int i, rc = 0, words_only = 0;

	memset(o, 0, sizeof(*o));
	o->timeout = 10;
	for (i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];

		if (words_only || a[0] != '-' || a[1] == '\0')
			rc = parse_word(o, a);
		else if (strcmp(a, "--") == 0)
			words_only = 1;
		else if (a[1] == '-')
			rc = parse_long(o, argc, argv, &i);
		else
			rc = parse_short(o, argc, argv, &i);
	}
	return rc;
}

static void help_cmd(FILE *fp, const struct cmd *c);

/* A group's word without a subcommand it has: says which it has, with
 * their synopses. Returns 1 when w1 names a group, else 0. */
static int
group_usage(const struct opts *o)
{
	int n = 0;

	for (size_t i = 0; i < NCMDS; i++) {
		const struct cmd *c = &cmd_table[i];

		if (c->w2 == NULL || strcmp(c->w1, o->words[0]) != 0)
			continue;
		if (n++ == 0)
			ctl_fail(EX_USAGE, "%s: %s; one of:", c->w1,
			    o->nwords > 1 ? "unknown subcommand" :
			    "a subcommand is needed");
		help_cmd(stderr, c);
	}
	return n > 0;
}

/* The command the words name, with *nw the words used by its name; NULL
 * after saying why. */
static const struct cmd *
cmd_find(const struct opts *o, size_t *nw)
{
	char q[80], q2[80];

	if (o->nwords == 0) {
		ctl_fail(EX_USAGE, "no command (see --help)");
		return NULL;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		const struct cmd *c = &cmd_table[i];

		if (strcmp(c->w1, o->words[0]) != 0)
			continue;
		if (c->w2 == NULL) {
			*nw = 1;
			return c;
		}
		if (o->nwords > 1 && strcmp(c->w2, o->words[1]) == 0) {
			*nw = 2;
			return c;
		}
	}
	if (group_usage(o))
		return NULL;
	ctl_fail(EX_USAGE, "unknown command '%s%s%s' (see --help)",
	    ctl_clean(q, sizeof(q), o->words[0], 32), o->nwords > 1 ? " " : "",
	    o->nwords > 1 ? ctl_clean(q2, sizeof(q2), o->words[1], 32) : "");
	return NULL;
}

/* The name of the option of bit b. */
static const char *
opt_name(unsigned b)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opt_table[i].bit == b)
			return opt_table[i].name;
	return "?";
}

/* The command's name, "w1" or "w1 w2", into buf. */
static const char *
cmd_name(const struct cmd *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", c->w1, c->w2 ? " " : "",
	    c->w2 ? c->w2 : "");
	return buf;
}

/* Its argument count and options fit the command. Returns 0 or 64. */
static int
cmd_check(const struct cmd *c, const struct opts *o, size_t nw)
{
	size_t nargs = o->nwords - nw;
	unsigned extra = o->given & ~c->opts, missing = c->need & ~o->given;
	size_t most = c->param == PARAM_WORD_ACCOUNT ? 2 : c->arg ? 1 : 0;
	char name[64], q[80];

	cmd_name(c, name, sizeof(name));
	if (nargs > most)
		return ctl_fail(EX_USAGE, "%s: unexpected argument '%s'", name,
		    ctl_clean(q, sizeof(q), o->words[nw + most], 64));
	if (nargs == 0 && c->arg_needed)
		return ctl_fail(EX_USAGE, "%s: %s is missing", name, c->arg);
	if (nargs > 0 && o->words[nw][0] == '\0')
		return ctl_fail(EX_USAGE, "%s: %s is empty", name, c->arg);
	for (unsigned b = 1; b != 0 && b <= extra; b <<= 1)
		if (extra & b)
			return ctl_fail(EX_USAGE, "--%s does not apply to %s",
			    opt_name(b), name);
	for (unsigned b = 1; b != 0 && b <= missing; b <<= 1)
		if (missing & b)
			return ctl_fail(EX_USAGE, "%s: --%s is required", name,
			    opt_name(b));
	return 0;
}

/* 1 when s is a JSON integer literal that fits a long long. */
static int
is_json_int(const char *s)
{
	const char *d = s + (*s == '-');
	char *end;

	if (*d < '0' || *d > '9' || (d[0] == '0' && d[1] != '\0'))
		return 0;
	errno = 0;
	(void)strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* The JSON value of an --arg's V (see --help). New reference, or NULL
 * after saying why (64). */
static json_t *
arg_value(const char *k, const char *v, int raw)
{
	json_error_t jerr;
	json_t *j;
	char q[80], why[160];

	if (raw) {
		if ((j = json_loads(v, JSON_DECODE_ANY, &jerr)) == NULL)
			ctl_fail(EX_USAGE, "--arg %s:=: not JSON: %s",
			    ctl_clean(q, sizeof(q), k, 64), ctl_clean(why,
			    sizeof(why), jerr.text, 120));
		return j;
	}
	if (is_json_int(v))
		return json_integer(strtoll(v, NULL, 10));
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return json_boolean(v[0] == 't');
	if ((j = json_string(v)) == NULL)
		ctl_fail(EX_USAGE, "--arg %s: the value is not UTF-8",
		    ctl_clean(q, sizeof(q), k, 64));
	return j;
}

/* Adds one "K=V" or "K:=JSON" to obj. Returns 0 or 64. */
static int
arg_add(json_t *obj, const char *a)
{
	const char *eq = strchr(a, '=');
	char key[256], q[80];
	size_t kl;
	int raw;
	json_t *v;

	if (eq == NULL || eq == a)
		return ctl_fail(EX_USAGE, "--arg '%s': K=V or K:=JSON is "
		    "needed", ctl_clean(q, sizeof(q), a, 64));
	raw = eq[-1] == ':';
	kl = (size_t)(eq - a) - (size_t)raw;
	if (kl == 0 || kl >= sizeof(key))
		return ctl_fail(EX_USAGE, "--arg '%s': bad name",
		    ctl_clean(q, sizeof(q), a, 64));
	memcpy(key, a, kl);
	key[kl] = '\0';
	if (json_object_get(obj, key) != NULL)
		return ctl_fail(EX_USAGE, "--arg %s given twice",
		    ctl_clean(q, sizeof(q), key, 64));
	if ((v = arg_value(key, eq + 1, raw)) == NULL)
		return EX_USAGE;
	if (json_object_set_new(obj, key, v) == -1)
		return ctl_fail(EX_USAGE, "--arg '%s': bad name",
		    ctl_clean(q, sizeof(q), a, 64));
	return 0;
}

/* The --arg options as a new object in *out (NULL when none given).
 * Returns 0 or 64. */
static int
args_object(const struct opts *o, json_t **out)
{
	json_t *obj;
	int rc;

	*out = NULL;
	if (o->args.n == 0)
		return 0;
	if ((obj = json_object()) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	for (size_t i = 0; i < o->args.n; i++)
		if ((rc = arg_add(obj, o->args.v[i])) != 0) {
			json_decref(obj);
			return rc;
		}
	*out = obj;
	return 0;
}

/* Sets key to a new string s in obj. Returns 0, or 64 when s is not
 * UTF-8. */
static int
set_str(json_t *obj, const char *key, const char *s)
{
	json_t *v;

	if ((v = json_string(s)) == NULL)
		return ctl_fail(EX_USAGE, "%s: not UTF-8", key);
	json_object_set_new(obj, key, v);
	return 0;
}

/* The command's argument: the last word (the caller knows there is
 * one). */
static const char *
cmd_arg(const struct opts *o)
{
	return o->words[o->nwords - 1];
}

static int
body_ai(const struct opts *o, json_t **body)
{
	int rc = 0;

	if ((*body = json_object()) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	if (o->account != NULL)
		rc = set_str(*body, "account", o->account);
	if (rc == 0 && o->thread != NULL)
		rc = set_str(*body, "thread_id", o->thread);
	if (rc == 0 && o->tasks != NULL)
		rc = set_str(*body, "tasks", o->tasks);
	if (rc == 0 && (o->given & OB_LIMIT))
		json_object_set_new(*body, "limit", json_integer(o->limit));
	return rc;
}

static int
body_sync(const struct opts *o, json_t **body)
{
	if ((*body = json_object()) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	if (o->full)
		json_object_set_new(*body, "full_sync", json_true());
	if (o->given & OB_LOOKBACK)
		json_object_set_new(*body, "lookback_days",
		    json_integer(o->lookback));
	if (strcmp(o->words[1], "user") == 0)
		return set_str(*body, "account", cmd_arg(o));
	return 0;
}

static int
body_trigger(const struct opts *o, json_t **body)
{
	json_t *args;
	int rc;

	if ((*body = json_object()) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	if ((rc = args_object(o, &args)) != 0)
		return rc;
	if (args != NULL)
		json_object_set_new(*body, "args", args);
	if (o->account != NULL)
		return set_str(*body, "account", o->account);
	return 0;
}

static int
body_enqueue(const struct opts *o, json_t **body)
{
	json_t *args;
	int rc;

	if ((*body = json_object()) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	if ((rc = set_str(*body, "job", cmd_arg(o))) != 0 ||
	    (rc = set_str(*body, "tenant_id", o->tenant)) != 0 ||
	    (rc = set_str(*body, "user_id", o->user)) != 0 ||
	    (o->idem != NULL &&
	    (rc = set_str(*body, "idempotency_key", o->idem)) != 0) ||
	    (rc = args_object(o, &args)) != 0)
		return rc;
	if (args != NULL)
		json_object_set_new(*body, "args", args);
	return 0;
}

static int
body_reprocess(const struct opts *o, json_t **body)
{
	if ((o->nwords == 3) == (o->all != 0))
		return ctl_fail(EX_USAGE, "dlq reprocess: give an ID or --all "
		    "(one of them)");
	if ((*body = json_object()) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	if (o->all) {
		json_object_set_new(*body, "all", json_true());
		return 0;
	}
	return set_str(*body, "id", cmd_arg(o));
}

/* Appends "&name=value" (value %-encoded) to b. Returns 0 or -1. */
static int
query_add(struct mv_buf *b, const char *name, const char *value)
{
	char *e;
	int rc;

	if ((e = curl_easy_escape(NULL, value, 0)) == NULL)
		return -1;
	rc = mv_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, e);
	curl_free(e);
	return rc;
}

/* The query string of the command into b. Returns 0 or 70. */
static int
query_build(const struct cmd *c, const struct opts *o, size_t nw,
    struct mv_buf *b)
{
	char num[32];

	if (mv_buf_puts(b, "") == -1)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	if (c->arg_query != NULL && o->nwords > nw &&
	    query_add(b, c->arg_query, o->words[nw]) == -1)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	if (c->param == PARAM_WORD_ACCOUNT && o->nwords > nw + 1 &&
	    query_add(b, "account", o->words[nw + 1]) == -1)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *d = &opt_table[i];
		const char *v;

		/* A command with a body sends its options there. */
		if (d->query == NULL || !(o->given & d->bit) ||
		    c->body != NULL)
			continue;
		if (d->kind == OPT_LONG) {
			snprintf(num, sizeof(num), "%ld",
			    *(const long *)(const void *)((const char *)o +
			    d->off));
			v = num;
		} else
			v = *(const char *const *)(const void *)
			    ((const char *)o + d->off);
		if (query_add(b, d->query, v) == -1)
			return ctl_fail(EX_SOFTWARE, "out of memory");
	}
	return 0;
}

/* The command's request: route, parameter, query (into qb) and body.
 * Returns 0, or an exit status after saying why. */
static int
request_build(const struct cmd *c, const struct opts *o, size_t nw,
    struct ctl_request *req, struct mv_buf *qb)
{
	int rc;

	memset(req, 0, sizeof(*req));
	req->route = c->route;
	if (c->param == PARAM_WORD || c->param == PARAM_WORD_ACCOUNT) {
		req->params[0] = o->words[nw];
		req->nparams = 1;
	} else if (c->param == PARAM_QUEUE) {
		req->params[0] = o->queue != NULL ? o->queue : "sync";
		req->nparams = 1;
	}
	if (req->nparams == 1 && req->params[0][0] == '\0')
		return ctl_fail(EX_USAGE, "an empty name");
	if ((rc = query_build(c, o, nw, qb)) != 0)
		return rc;
	req->query = qb->data;
	if (c->body != NULL && (rc = c->body(o, &req->body)) != 0)
		return rc;
	return 0;
}

/* Prints the answer as text, or with --json as the daemon sent it (raw:
 * its numbers as they were written). Returns 0 or an exit status. */
static int
answer_print(const struct cmd *c, const struct opts *o, json_t *answer,
    const char *raw)
{
	if (o->quiet)
		return 0;
	if (!o->json)
		return c->print(answer, o->words);
	ctl_json_put(raw);
	return 0;
}

/* The id of the last entry of an entries answer into buf; buf unchanged
 * when it has none. */
static void
last_entry_id(json_t *answer, char *buf, size_t len)
{
	json_t *es = json_object_get(answer, "entries");
	const char *id = json_string_value(json_object_get(json_array_get(es,
	    json_array_size(es) - 1), "id"));

	if (id != NULL && strlen(id) < len)
		strlcpy(buf, id, len);
}

/*
 * stream tail -f, after the first answer (borrowed): asks every second
 * for the entries after the last one printed (all of them when there was
 * none) and prints them, until interrupted. Returns the exit status of a
 * request that failed.
 */
static int
cmd_follow(const struct cmd *c, const struct opts *o,
    const struct ctl_target *t, struct ctl_request *req, json_t *first)
{
	char after[64] = "0-0", query[96];
	json_t *answer;
	char *raw;
	int rc;

	last_entry_id(first, after, sizeof(after));
	for (;;) {
		if (fflush(stdout) == EOF)
			return ctl_fail(EX_SOFTWARE, "cannot write the output: "
			    "%s", strerror(errno));
		sleep(1);
		snprintf(query, sizeof(query), "count=1000&after=%s", after);
		req->query = query;
		answer = NULL;
		raw = NULL;
		if ((rc = ctl_call(t, o->timeout, req, &answer, &raw)) == 0 &&
		    (rc = answer_print(c, o, answer, raw)) == 0)
			last_entry_id(answer, after, sizeof(after));
		json_decref(answer);
		free(raw);
		if (rc != 0)
			return rc;
	}
}

/* Sends the command's request and prints the answer. Returns the exit
 * status. */
static int
cmd_run(const struct cmd *c, const struct opts *o, size_t nw)
{
	const struct ctl_source src = { o->url, o->token_file, o->config,
	    o->cacert };
	struct ctl_target t;
	struct ctl_request req;
	struct mv_buf qb;
	json_t *answer = NULL;
	char *raw = NULL;
	int rc;

	mv_buf_init(&qb, 0);
	memset(&t, 0, sizeof(t));
	if ((rc = request_build(c, o, nw, &req, &qb)) == 0 &&
	    (rc = ctl_target_get(&src, &t)) == 0 &&
	    (rc = ctl_call(&t, o->timeout, &req, &answer, &raw)) == 0 &&
	    (rc = answer_print(c, o, answer, raw)) == 0 && c->verdict != NULL)
		rc = c->verdict(answer);
	if (rc == 0 && o->follow)
		rc = cmd_follow(c, o, &t, &req, answer);
	ctl_target_free(&t);
	free(raw);
	json_decref(answer);
	json_decref(req.body);
	mv_buf_free(&qb);
	return rc;
}

/* Appends to line (of width *col) the word w, wrapping with indent. */
static void
help_word(struct mv_buf *b, size_t *col, const char *w)
{
	size_t n = strlen(w);

	if (*col + 1 + n > HELP_WIDTH) {
		mv_buf_puts(b, "\n    ");
		*col = 4;
	} else {
		mv_buf_putc(b, ' ');
		(*col)++;
	}
	mv_buf_puts(b, w);
	*col += n;
}

/* The options of c in its synopsis, required ones (need) or not. */
static void
help_cmd_opts(struct mv_buf *b, size_t *col, const struct cmd *c,
    int need)
{
	char w[96];

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *d = &opt_table[i];

		if (!(c->opts & d->bit) || !(c->need & d->bit) != !need)
			continue;
		snprintf(w, sizeof(w), "%s--%s%s%s%s%s", need ? "" : "[",
		    d->name, d->arg ? " " : "", d->arg ? d->arg : "",
		    need ? "" : "]", d->kind == OPT_LIST ? "..." : "");
		help_word(b, col, w);
	}
}

/* "  w1 w2 ARG --opt X [--opt Y]", wrapped, then the help, on fp. */
static void
help_cmd(FILE *fp, const struct cmd *c)
{
	struct mv_buf b;
	size_t col = 1;
	char w[64];

	mv_buf_init(&b, 0);
	mv_buf_puts(&b, " ");
	help_word(&b, &col, cmd_name(c, w, sizeof(w)));
	if (c->arg != NULL) {
		snprintf(w, sizeof(w), c->arg_needed ? "%s" : "[%s]", c->arg);
		help_word(&b, &col, w);
	}
	help_cmd_opts(&b, &col, c, 1);
	help_cmd_opts(&b, &col, c, 0);
	fprintf(fp, "%s\n        %s\n", b.data ? b.data : "", c->help);
	mv_buf_free(&b);
}

/* "  LEFT  text", the text wrapped at HELP_WIDTH under itself; a
 * "(default X)" stays on one line. */
static void
help_text(const char *left, const char *text)
{
	size_t col, n;

	col = (size_t)printf("  %-26s", left);
	while (*text != '\0') {
		if (strncmp(text, "(default ", 9) == 0 && strchr(text, ')'))
			n = strcspn(text, ")") + 1;
		else
			n = strcspn(text, " ");
		if (col + 1 + n > HELP_WIDTH && col > 28)
			col = (size_t)printf("\n%28s", "") - 1;
		col += (size_t)printf(" %.*s", (int)n, text);
		text += n;
		text += strspn(text, " ");
	}
	putchar('\n');
}

static void
usage(void)
{
	char left[64];

	printf("usage: mailvisorctl [options] COMMAND [ARGUMENT] "
	    "[command options]\n\n"
	    "Controls and watches mailvisord through its HTTP API.\n\n"
	    "COMMANDS\n");
	for (size_t i = 0; i < NCMDS; i++)
		help_cmd(stdout, &cmd_table[i]);
	printf("\nOPTIONS (each accepts '-' or '_': --token-file = "
	    "--token_file)\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *d = &opt_table[i];

		snprintf(left, sizeof(left), "%s%c%s--%s%s%s",
		    d->shortname ? "-" : "", d->shortname ? d->shortname : ' ',
		    d->shortname ? ", " : "   ", d->name, d->arg ? " " : "",
		    d->arg ? d->arg : "");
		help_text(left, d->help);
	}
	printf("\nThe token may also come from the environment's "
	    "MAILVISOR_TOKEN.\n\n"
	    "EXIT STATUS\n"
	    "  0 success; 64 usage error or invalid_argument (400); "
	    "65 not_found (404)\n"
	    "  or conflict (409); 66 token file missing or unreadable; 69 "
	    "daemon unreachable\n"
	    "  or unavailable (503), or ping without Redis; 70 an unexpected "
	    "answer or\n  a 5xx; 75 timeout; 77 unauthorized (401, 403); 78 "
	    "configuration or token\n  file not valid.\n\n"
	    "See mailvisorctl(1).\n");
}

/* Everything but the option lists' memory, which main() frees. */
static int
ctl_main(int argc, char **argv, struct opts *o)
{
	const struct cmd *c;
	size_t nw = 0;
	int rc;

	if ((rc = opts_parse(o, argc, argv)) != 0) {
		if (rc == EX_USAGE)
			fprintf(stderr, "usage: mailvisorctl [options] COMMAND "
			    "[ARGUMENT] [command options] (see --help)\n");
		return rc;
	}
	if (o->help) {
		usage();
		return 0;
	}
	if (o->version) {
		printf("mailvisorctl %s\n", MV_VERSION);
		return 0;
	}
	if ((c = cmd_find(o, &nw)) == NULL || (rc = cmd_check(c, o, nw)) != 0)
		return c == NULL ? EX_USAGE : rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ctl_fail(EX_SOFTWARE, "cannot start libcurl");
	rc = cmd_run(c, o, nw);
	curl_global_cleanup();
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int rc;

	rc = ctl_main(argc, argv, &o);
	free(o.args.v);
	if (fflush(stdout) == EOF || ferror(stdout))
		rc = ctl_fail(EX_SOFTWARE, "cannot write the output: %s",
		    strerror(errno));
	return rc;
}
