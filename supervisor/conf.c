/* mailvisord's configuration: one directive table drives the INI parser,
 * the checks, the defaults, the example file and the man page's lists. */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <ini.h>

#include "shared/buf.h"
#include "shared/str.h"
#include "shared/utf8.h"
#include "supervisor/conf.h"

#define ARG_NAME_MAX	64		/* declared argument names */
#define ARGS_MAX	256		/* arguments of a job; names in env */
#define ARG_STR_MAX	65536		/* string(N): largest N */
#define ARG_STR_DEF	1024		/* string without bounds */
#define WORD_MAX	131072		/* one rendered argv word (Linux's
					 * MAX_ARG_STRLEN) */

enum sec {
	SEC_NONE,			/* before the first header */
	SEC_BAD,			/* after a header in error */
	SEC_DAEMON,
	SEC_REDIS,
	SEC_HTTP,
	SEC_JOB,
	SEC_ACCOUNT,
	SEC_QUEUE,
	SEC_STREAM,
};

enum ctype {
	CT_INT,			/* long in [min, max] */
	CT_DURATION,		/* long seconds in [min, max]: 90s, 5m */
	CT_SIZE,		/* size_t bytes in [min, max]: 512, 64k, 1g */
	CT_BOOL,		/* int, 0 or 1 */
	CT_ENUM,		/* int, index in the '|'-separated arg */
	CT_STRING,		/* char *, min to max bytes; "" is NULL */
	CT_COMMAND,		/* struct conf_words: argv template */
	CT_ARGS,		/* struct conf_args */
	CT_NAMES,		/* struct conf_words: variable names */
};

#define D_REQ		0x01	/* required */
#define D_MULTI		0x02	/* continues on indented lines */
#define D_KEEP_EMPTY	0x04	/* CT_STRING: "" stays "", not NULL */

struct loader;
struct directive;

typedef int (*check_fn)(struct loader *, const struct directive *, int,
    const char *);

/* One directive of the file. */
struct directive {
	enum sec	 sec;
	const char	*key;
	enum ctype	 type;
	long long	 min, max;
	const char	*def;		/* default, as in the file; NULL:
					 * none */
	size_t		 off;		/* in the section's struct */
	unsigned	 flags;
	check_fn	 check;		/* CT_STRING: more checks */
	const char	*arg;		/* the value in the man page;
					 * CT_ENUM: the choices */
	const char	*ex;		/* example where def is NULL */
	const char	*help;		/* one sentence */
};

static int chk_path(struct loader *, const struct directive *, int,
    const char *);
static int chk_url(struct loader *, const struct directive *, int,
    const char *);
static int chk_email(struct loader *, const struct directive *, int,
    const char *);
static int chk_duration(struct loader *, const struct directive *, int,
    const char *);
static int chk_backoff(struct loader *, const struct directive *, int,
    const char *);
static int chk_name(struct loader *, const struct directive *, int,
    const char *);
static int chk_token(struct loader *, const struct directive *, int,
    const char *);
static int chk_sync_jobs(struct loader *, const struct directive *, int,
    const char *);
static int chk_listen(struct loader *, const struct directive *, int,
    const char *);
static int chk_hosts(struct loader *, const struct directive *, int,
    const char *);

#define OD(f)	offsetof(struct conf_daemon, f)
#define OR(f)	offsetof(struct conf_redis, f)
#define OH(f)	offsetof(struct conf_http, f)
#define OJ(f)	offsetof(struct job_conf, f)
#define OA(f)	offsetof(struct account_conf, f)
#define OQ(f)	offsetof(struct queue_section, f)
#define OS(f)	offsetof(struct stream_section, f)
#define K	1024LL
#define DAY	86400LL
#define YEAR	(365 * DAY)

/* Every directive, in the order of the example file and the man page. */
static const struct directive dirs[] = {
	{ SEC_DAEMON, "max_children", CT_INT, 1, 4096, "8",
	  OD(max_children), 0, NULL, "number", NULL,
	  "Most workers running at once; further runs wait for a free slot." },
	{ SEC_DAEMON, "log_level", CT_ENUM, 0, 0, "info",
	  OD(log_level), 0, NULL, "error|warn|info|debug", NULL,
	  "Most verbose level of the messages logged." },
	{ SEC_DAEMON, "log_format", CT_ENUM, 0, 0, "text",
	  OD(log_format), 0, NULL, "text|json", NULL,
	  "Log lines as plain text or as one JSON object per line." },
	{ SEC_DAEMON, "grace_period", CT_DURATION, 0, 3600, "10",
	  OD(grace_period), 0, NULL, "duration", NULL,
	  "Time running workers get between SIGTERM and SIGKILL when the "
	  "daemon stops." },
	{ SEC_DAEMON, "user", CT_STRING, 0, 256, NULL,
	  OD(user), 0, NULL, "name", "mailvisor",
	  "User (name or uid) the workers run as; unset, they keep the "
	  "daemon's." },
	{ SEC_DAEMON, "group", CT_STRING, 0, 256, NULL,
	  OD(group), 0, NULL, "name", "mailvisor",
	  "Group (name or gid) the workers run as; unset, the user's primary "
	  "group." },
	{ SEC_DAEMON, "cgroup", CT_STRING, 0, 4095, "",
	  OD(cgroup), 0, chk_path, "path", NULL,
	  "Delegated cgroup v2 directory in which each run gets a cgroup of "
	  "its own; empty, none is used." },
	{ SEC_DAEMON, "record_buffer", CT_INT, 1, 10000000, "10000",
	  OD(record_buffer), 0, NULL, "number", NULL,
	  "Execution records kept while Redis is unreachable; past it, the "
	  "oldest are dropped and counted." },
	{ SEC_DAEMON, "queue_group", CT_STRING, 1, CONF_NAME_MAX, "mailvisor",
	  OD(queue_group), 0, chk_name, "name", NULL,
	  "Consumer group in which the daemons sharing a Redis read the "
	  "queues." },
	{ SEC_DAEMON, "consumer_name", CT_STRING, 0, 128, "",
	  OD(consumer_name), 0, chk_token, "name", NULL,
	  "Name of this daemon in the consumer group, unique among them; "
	  "empty, HOST:PID." },
	{ SEC_DAEMON, "idempotency_ttl", CT_DURATION, 1, YEAR, "7d",
	  OD(idempotency_ttl), 0, NULL, "duration", NULL,
	  "How long a queued job's idempotency key keeps a second job of the "
	  "same key from running." },
	{ SEC_DAEMON, "tenant_limit", CT_INT, 0, 4096, "0",
	  OD(tenant_limit), 0, NULL, "number", NULL,
	  "Most queued runs of one tenant at once; 0, no limit." },
	{ SEC_DAEMON, "reclaim_margin", CT_DURATION, 1, DAY, "30s",
	  OD(reclaim_margin), 0, NULL, "duration", NULL,
	  "Time past a run's timeout after which a job delivered to a daemon "
	  "that went away is taken over by another." },
	{ SEC_DAEMON, "unclaimed_fires", CT_ENUM, 0, 0, "skip",
	  OD(unclaimed_fires), 0, NULL, "skip|run", NULL,
	  "A schedule's fire time that cannot be claimed in Redis (Redis "
	  "unreachable): recorded skipped, or run here all the same." },

	{ SEC_REDIS, "url", CT_STRING, 1, 4095, "redis://127.0.0.1:6379",
	  OR(url), 0, chk_url, "url", NULL,
	  "Address of the Redis server, as redis://HOST:PORT." },
	{ SEC_REDIS, "socket", CT_STRING, 0, 4095, NULL,
	  OR(socket), 0, chk_path, "path", "/run/redis/redis-server.sock",
	  "Unix socket of the Redis server, used instead of url." },
	{ SEC_REDIS, "password_file", CT_STRING, 0, 4095, NULL,
	  OR(password_file), 0, chk_path, "path", "/etc/mailvisor/redis.pass",
	  "File holding the password sent with AUTH; unset, no AUTH." },
	{ SEC_REDIS, "db", CT_INT, 0, 15, "0",
	  OR(db), 0, NULL, "number", NULL,
	  "Database number selected after connecting." },
	{ SEC_REDIS, "key_prefix", CT_STRING, 0, 128, "",
	  OR(key_prefix), D_KEEP_EMPTY, NULL, "text", NULL,
	  "Text put in front of every key name." },
	{ SEC_REDIS, "metrics_ttl", CT_DURATION, 1, YEAR, "3600",
	  OR(metrics_ttl), 0, NULL, "duration", NULL,
	  "How long the whole record of each run is kept under "
	  "worker:metrics:WORKER:JOB_ID." },
	{ SEC_REDIS, "history_max", CT_INT, 1, 100000, "100",
	  OR(history_max), 0, NULL, "number", NULL,
	  "Records kept in each worker's history list." },
	{ SEC_REDIS, "failures_max_age", CT_DURATION, 1, YEAR, "7d",
	  OR(failures_max_age), 0, NULL, "duration", NULL,
	  "Age past which failed runs leave the worker:failures set." },

	{ SEC_HTTP, "listen", CT_STRING, 0, 300, NULL,
	  OH(listen), 0, chk_listen, "host:port", "127.0.0.1:8080",
	  "Address and port of the HTTP API, as HOST:PORT or [V6]:PORT; "
	  "unset, the API is off." },
	{ SEC_HTTP, "token_file", CT_STRING, 0, 4095, NULL,
	  OH(token_file), 0, chk_path, "path", "/etc/mailvisor/api.token",
	  "File holding the bearer token that API requests must carry, one "
	  "line of 16 to 1024 printable ASCII characters; required unless "
	  "listen is a loopback address; one that group or others may read is "
	  "warned about." },
	{ SEC_HTTP, "allowed_hosts", CT_STRING, 0, 1024, NULL,
	  OH(allowed_hosts), 0, chk_hosts, "names", "mailvisor.example.org",
	  "Host names (or addresses) the API answers to, blank separated; a "
	  "request whose Host header gives another is refused with status 403 "
	  "(a page of another site that got its name to resolve here); on a "
	  "loopback listen address localhost, 127.0.0.1 and [::1] are taken "
	  "as well; unset elsewhere, the host of listen." },
	{ SEC_HTTP, "max_body", CT_SIZE, K, 16 * K * K, "64k",
	  OH(max_body), 0, NULL, "size", NULL,
	  "Largest request body the API accepts; a larger one is refused "
	  "with status 413." },
	{ SEC_HTTP, "timeout", CT_DURATION, 1, 3600, "10",
	  OH(timeout), 0, NULL, "duration", NULL,
	  "Time a client of the API may take to send its request." },
	{ SEC_HTTP, "sync_job", CT_STRING, 1, CONF_SYNC_JOBS *
	  (CONF_NAME_MAX + 1), "email_sync", OH(sync_job), 0, chk_sync_jobs,
	  "names", NULL,
	  "Jobs that POST /api/v1/workers/sync/trigger runs: one, or up to 4 "
	  "separated by blanks, one per provider (\"email_sync imap_sync\" "
	  "for Gmail and IMAP accounts); a sync of one account or provider "
	  "runs the job of its provider, a sync of all runs each." },
	{ SEC_HTTP, "ai_thread_job", CT_STRING, 1, CONF_NAME_MAX, "ai_thread",
	  OH(ai_thread_job), 0, chk_name, "name", NULL,
	  "Job that POST /api/v1/workers/ai/process/trigger runs for one "
	  "thread (thread_id given), with the argument thread_id." },
	{ SEC_HTTP, "ai_bulk_job", CT_STRING, 1, CONF_NAME_MAX, "ai_bulk",
	  OH(ai_bulk_job), 0, chk_name, "name", NULL,
	  "Job that POST /api/v1/workers/ai/process/trigger runs without a "
	  "thread_id, with the argument limit when one is given." },

	{ SEC_JOB, "command", CT_COMMAND, 0, 0, NULL,
	  OJ(command), D_REQ | D_MULTI, NULL, "words",
	  "/usr/bin/gmail-worker --action fetch_emails "
	  "--days_back={days_back} --query={query} --credentials {credentials}",
	  "The worker's argv with {placeholders}, split like a shell word "
	  "list but never run by a shell." },
	{ SEC_JOB, "args", CT_ARGS, 0, 0, "",
	  OJ(args), D_MULTI, NULL, "declarations",
	  "days_back:int(0..365)=1, query:string(200)=is:unread",
	  "Arguments the job takes, as comma-separated "
	  "name:type(bounds)=default." },
	{ SEC_JOB, "schedule", CT_STRING, 0, SCHED_EXPR_MAX - 1, NULL,
	  OJ(schedule), 0, NULL, "when", "every 5m",
	  "When the job runs by itself (every DURATION, a cron line, @hourly, "
	  "@daily or @weekly); unset, only when triggered or queued." },
	{ SEC_JOB, "timezone", CT_STRING, 0, 255, NULL,
	  OJ(timezone), 0, NULL, "zone", "Europe/Berlin",
	  "Time zone of a cron schedule; unset, UTC." },
	{ SEC_JOB, "jitter", CT_STRING, 0, DAY, "0",
	  OJ(jitter), 0, chk_duration, "duration", NULL,
	  "Longest delay, the same on every daemon, added to each scheduled "
	  "run." },
	{ SEC_JOB, "for_each_account", CT_BOOL, 0, 1, "no",
	  OJ(for_each_account), 0, NULL, "yes|no", NULL,
	  "Whether each scheduled run is one run per account section." },
	{ SEC_JOB, "provider", CT_ENUM, 0, 0, NULL,
	  OJ(provider), 0, NULL, "gmail|imap|pop3", "gmail",
	  "Provider of the accounts the job runs for, scheduled, triggered or "
	  "queued (a run for another provider's account is refused); unset, "
	  "any." },
	{ SEC_JOB, "max_instances", CT_INT, 1, 1000, "1",
	  OJ(max_instances), 0, NULL, "number", NULL,
	  "Runs of the job at once; a scheduled run past it is recorded as "
	  "skipped." },
	{ SEC_JOB, "memory_limit", CT_SIZE, 0, 1024 * K * K * K, "512m",
	  OJ(memory_limit), 0, NULL, "size", NULL,
	  "Data memory limit (RLIMIT_DATA) of each run; 0, none." },
	{ SEC_JOB, "cpu_limit", CT_DURATION, 0, 7 * DAY, "300",
	  OJ(cpu_limit), 0, NULL, "duration", NULL,
	  "CPU time limit (RLIMIT_CPU) of each run; 0, none." },
	{ SEC_JOB, "nofile", CT_INT, 8, 1048576, "256",
	  OJ(nofile), 0, NULL, "number", NULL,
	  "Most open files (RLIMIT_NOFILE) of each run." },
	{ SEC_JOB, "soft_timeout", CT_DURATION, 1, 7 * DAY, NULL,
	  OJ(soft_timeout), 0, NULL, "duration", "540",
	  "Time after which a run's process group gets SIGTERM; unset, "
	  "timeout minus 10%." },
	{ SEC_JOB, "timeout", CT_DURATION, 1, 7 * DAY, "600",
	  OJ(timeout), 0, NULL, "duration", NULL,
	  "Time after which a run's process group gets SIGKILL and the run is "
	  "recorded as timeout." },
	{ SEC_JOB, "max_retries", CT_INT, 0, 100, "0",
	  OJ(max_retries), 0, NULL, "number", NULL,
	  "Retries of a run that failed with a retryable error." },
	{ SEC_JOB, "retry_backoff", CT_STRING, 1, 255, "30 2 600 0.1",
	  OJ(retry_backoff), 0, chk_backoff, "initial factor max jitter", NULL,
	  "Delay before retry N, initial times factor to the power N-1 "
	  "seconds up to max, varied by the fraction jitter either way." },
	{ SEC_JOB, "env", CT_NAMES, 0, 0, "PATH LANG TZ",
	  OJ(env), D_MULTI, NULL, "names", NULL,
	  "Variables of the daemon's environment passed on to the workers; "
	  "no other is." },
	{ SEC_JOB, "working_directory", CT_STRING, 1, 4095, "/",
	  OJ(working_directory), 0, chk_path, "path", NULL,
	  "Directory each run starts in." },
	{ SEC_JOB, "max_output", CT_SIZE, K, K * K * K, "16m",
	  OJ(max_output), 0, NULL, "size", NULL,
	  "Most bytes a run may write to stdout; past it, the run is killed "
	  "and recorded as output_too_large (a job that emits: max_line "
	  "instead)." },
	{ SEC_JOB, "cursor", CT_BOOL, 0, 1, "no",
	  OJ(cursor), 0, NULL, "yes|no", NULL,
	  "Whether the job keeps a sync cursor per account, passed to each "
	  "run as {cursor} and moved to the cursor of its summary line." },
	{ SEC_JOB, "emit", CT_STRING, 0, CONF_NAME_MAX, NULL,
	  OJ(emit), 0, chk_name, "stream", "mail",
	  "Stream each ndjson line of a run goes into as it arrives, but the "
	  "last (the run's result); unset, none." },
	{ SEC_JOB, "max_line", CT_SIZE, K, 64 * K * K, "1m",
	  OJ(max_line), 0, NULL, "size", NULL,
	  "Most bytes of one stdout line of a job that emits; past it, the "
	  "run is killed and recorded as output_too_large." },
	{ SEC_JOB, "consume", CT_STRING, 0, CONF_NAME_MAX, NULL,
	  OJ(consume), 0, chk_name, "stream", "mail",
	  "Stream the job runs for, through a consumer group named after the "
	  "job: one run per entry (or batch), the entry's data on stdin; "
	  "unset, none." },
	{ SEC_JOB, "batch", CT_INT, 1, CONF_BATCH_MAX, "1",
	  OJ(batch), 0, NULL, "number", NULL,
	  "Most entries of the consumed stream in one run; above 1, stdin is "
	  "a JSON array of their data." },
	{ SEC_JOB, "priority", CT_INT, 0, 100, "5",
	  OJ(priority), 0, NULL, "number", NULL,
	  "Weight of a consuming job's stream among the queues; the higher, "
	  "the sooner its entries run." },
	{ SEC_JOB, "share", CT_INT, 0, 100, "0",
	  OJ(share), 0, NULL, "percent", NULL,
	  "Percentage of max_children a consuming job's runs may take at "
	  "once; 0, any." },

	{ SEC_ACCOUNT, "tenant_id", CT_STRING, 1, 256, NULL,
	  OA(tenant_id), D_REQ, NULL, "id", "acme",
	  "Tenant the mailbox belongs to, as queued jobs name it." },
	{ SEC_ACCOUNT, "user_id", CT_STRING, 1, 256, NULL,
	  OA(user_id), D_REQ, NULL, "id", "alice",
	  "User the mailbox belongs to, as queued jobs name it." },
	{ SEC_ACCOUNT, "user_email", CT_STRING, 0, 320, NULL,
	  OA(user_email), 0, chk_email, "address", "alice@example.com",
	  "Address of the mailbox, for {user_email}." },
	{ SEC_ACCOUNT, "credentials", CT_STRING, 1, 4095, NULL,
	  OA(credentials), D_REQ, chk_path, "path",
	  "/etc/mailvisor/credentials/alice.json",
	  "File of the mailbox's credentials, passed as @PATH for "
	  "{credentials}." },
	{ SEC_ACCOUNT, "provider", CT_ENUM, 0, 0, "gmail",
	  OA(provider), 0, NULL, "gmail|imap|pop3", NULL,
	  "What the mailbox is, hence the jobs that run for it: those of its "
	  "provider and those with none." },

	{ SEC_QUEUE, "priority", CT_INT, 0, 100, "5",
	  OQ(priority), 0, NULL, "number", NULL,
	  "Weight of the queue; the higher, the sooner its jobs run." },
	{ SEC_QUEUE, "max_retries", CT_INT, 0, 100, "3",
	  OQ(max_retries), 0, NULL, "number", NULL,
	  "Retries of a queued job that failed with a retryable error; past "
	  "them, it goes to the dead letters." },
	{ SEC_QUEUE, "retry_backoff", CT_STRING, 1, 255, "30 2 600 0.1",
	  OQ(retry_backoff), 0, chk_backoff, "initial factor max jitter",
	  NULL,
	  "Delay before retry N, as for a job's retry_backoff." },
	{ SEC_QUEUE, "share", CT_INT, 0, 100, "0",
	  OQ(share), 0, NULL, "percent", NULL,
	  "Percentage of max_children the queue's runs may take at once; 0, "
	  "any." },

	{ SEC_STREAM, "maxlen", CT_INT, 1, 1000000000, "100000",
	  OS(maxlen), 0, NULL, "number", NULL,
	  "Entries the stream keeps, about (XADD MAXLEN ~): older ones are "
	  "trimmed." },
};

#define NDIRS	(sizeof(dirs) / sizeof(dirs[0]))

/* Placeholders every job may use besides its declared arguments. */
static const char *const builtins[] = {
	"job", "account", "tenant_id", "user_id", "user_email", "credentials",
	"cursor",
};

#define BUILTIN_CURSOR	6

#define NBUILTINS	(sizeof(builtins) / sizeof(builtins[0]))

/* One error of the file. */
struct cerr {
	int	 line;			/* 0: the whole file */
	size_t	 seq;			/* order of discovery */
	char	*msg;
};

/* The section being read. */
struct section {
	enum sec		 kind;
	int			 line;		/* of the header */
	int			 discard;	/* a duplicate: drop */
	void			*base;		/* the struct being filled */
	int			 set[NDIRS];	/* line of each key; 0: unset */
	int			 bad[NDIRS];	/* its value was refused */
	struct mv_buf		 val[NDIRS];
	int			 cur;		/* directive of the open key;
						 * -1: none */
	int			 cont_err;	/* said it takes one line */
	size_t			 nerrs0;	/* errors before the header */
	int			 uses_email;	/* {user_email} in command */
	int			 uses_cursor;	/* {cursor} in command */
	char			 label[256];	/* "[job:email_sync]" */
	struct conf_daemon	 d;
	struct conf_redis	 r;
	struct conf_http	 h;
	struct job_conf		 j;
	struct account_conf	 a;
	struct queue_section	 qu;
	struct stream_section	 st;
};

#define JOB_OK		0x01	/* read without error */
#define JOB_EMAIL	0x02	/* its command uses {user_email} */

enum lkind {
	LK_BLANK,		/* blank, comment, or an error reported */
	LK_SECTION,
	LK_KEY,
	LK_CONT,
};

/* State of one conf_load(). */
struct loader {
	const char	*path;
	struct conf	*conf;
	const char	*text;
	size_t		 len, pos;
	int		 lineno;
	enum lkind	 kind;		/* of the line handed to inih */
	int		 have_key;	/* a key line since the header */
	struct cerr	*errs;
	size_t		 nerrs;
	int		 oom;
	int		 daemon_line;	/* of [mailvisord]; 0: none */
	int		 redis_line;
	int		 http_line;
	unsigned char	*job_ok;	/* per job: JOB_OK, JOB_EMAIL */
	struct section	 sec;
};

static void sec_finish(struct loader *);

/*
 * The array p of n elements of size bytes with room for one more: p itself,
 * or p reallocated to twice n when n is 0 or a power of two (so that its
 * capacity follows from n). NULL when out of memory, p left as it was.
 */
static void *
grow(void *p, size_t n, size_t size)
{
	if (n != 0 && (n & (n - 1)) != 0)
		return p;
	return reallocarray(p, n ? 2 * n : 1, size);
}

/* Adds an error at line (0: the file). */
static void __attribute__((format(printf, 3, 4)))
lerr(struct loader *L, int line, const char *fmt, ...)
{
	struct cerr *e;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (msg == NULL || (e = grow(L->errs, L->nerrs, sizeof(*e))) == NULL) {
		free(msg);
		L->oom = 1;
		return;
	}
	L->errs = e;
	e[L->nerrs].line = line;
	e[L->nerrs].seq = L->nerrs;
	e[L->nerrs].msg = msg;
	L->nerrs++;
}

/* A copy of s fit for quoting in a message. */
static const char *
q(char *buf, size_t len, const char *s)
{
	mv_quote_clean(buf, len, s, len - 1);
	return buf;
}

/* Adds "key: message" at line. Returns -1. */
static int __attribute__((format(printf, 4, 5)))
derr(struct loader *L, const struct directive *d, int line,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lerr(L, line, "%s: %s", d->key, msg);
	return -1;
}

/* Levenshtein distance of two short strings (at most 64 bytes each). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65], prev, tmp;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j] > row[j - 1] + 1)
				row[j] = row[j - 1] + 1;
			if (row[j] > tmp + 1)
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

/* 1 when word is close enough to cand to suggest it. */
static int
close_to(const char *word, const char *cand, size_t *best)
{
	size_t d = edit_distance(word, cand);

	if (d == SIZE_MAX || d >= *best)
		return 0;
	if (d > 1 && d * 3 > strlen(word))
		return 0;
	*best = d;
	return 1;
}

/* The directive of that section and key, or NULL. */
static const struct directive *
dir_find(enum sec s, const char *key)
{
	for (size_t i = 0; i < NDIRS; i++)
		if (dirs[i].sec == s && strcmp(dirs[i].key, key) == 0)
			return &dirs[i];
	return NULL;
}

static int
dir_index(enum sec s, const char *key)
{
	const struct directive *d = dir_find(s, key);

	return d == NULL ? -1 : (int)(d - dirs);
}

static const char *
sec_label(enum sec s)
{
	switch (s) {
	case SEC_DAEMON:
		return "[mailvisord]";
	case SEC_REDIS:
		return "[redis]";
	case SEC_HTTP:
		return "[http]";
	case SEC_JOB:
		return "[job:NAME]";
	case SEC_ACCOUNT:
		return "[account:NAME]";
	case SEC_QUEUE:
		return "[queue:NAME]";
	case SEC_STREAM:
		return "[stream:NAME]";
	default:
		return "no section";
	}
}

/* Strict decimal integer with optional sign; 0 or -1. */
static int
parse_ll(const char *s, long long *np)
{
	char *end;

	if (!isdigit((unsigned char)*s) && !((*s == '-' || *s == '+') &&
	    isdigit((unsigned char)s[1])))
		return -1;
	errno = 0;
	*np = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* A number with a unit suffix: n = digits * units[suffix]. */
static int
parse_scaled(const char *s, const char *sfx, const long long *mult,
    long long *np)
{
	unsigned long long n = 0;
	const char *p = s, *u;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (unsigned long long)LLONG_MAX / 10)
			return -1;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (*p != '\0') {
		if (p[1] != '\0' || (u = strchr(sfx, *p)) == NULL)
			return -1;
		if (n > (unsigned long long)(LLONG_MAX / mult[u - sfx]))
			return -1;
		n *= (unsigned long long)mult[u - sfx];
	}
	if (n > (unsigned long long)LLONG_MAX)
		return -1;
	*np = (long long)n;
	return 0;
}

static int
parse_duration(const char *s, long long *np)
{
	static const long long mult[] = { 1, 60, 3600, 86400 };

	return parse_scaled(s, "smhd", mult, np);
}

static int
parse_size(const char *s, long long *np)
{
	static const long long mult[] = { K, K * K, K * K * K, K * K * K * K,
	    K, K * K, K * K * K, K * K * K * K };

	return parse_scaled(s, "kmgtKMGT", mult, np);
}

/* 1, 0, or -1 when s is not a boolean word. */
static int
parse_bool(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int
range_err(struct loader *L, const struct directive *d, int line,
    const char *v, const char *unit)
{
	char b[64];

	return derr(L, d, line, "'%s' is out of range (%lld to %lld%s)",
	    q(b, sizeof(b), v), d->min, d->max, unit);
}

static int
set_int(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	long long n;
	char b[64];

	if (parse_ll(v, &n) == -1)
		return derr(L, d, line, "'%s' is not an integer",
		    q(b, sizeof(b), v));
	if (n < d->min || n > d->max)
		return range_err(L, d, line, v, "");
	*(long *)field = (long)n;
	return 0;
}

static int
set_duration(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	long long n;
	char b[64];

	if (parse_duration(v, &n) == -1)
		return derr(L, d, line, "'%s' is not a duration (seconds, or "
		    "a number with s, m, h or d)", q(b, sizeof(b), v));
	if (n < d->min || n > d->max)
		return range_err(L, d, line, v, " seconds");
	*(long *)field = (long)n;
	return 0;
}

static int
set_size(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	long long n;
	char b[64];

	if (parse_size(v, &n) == -1)
		return derr(L, d, line, "'%s' is not a size (bytes, or a "
		    "number with k, m, g or t)", q(b, sizeof(b), v));
	if (n < d->min || n > d->max)
		return range_err(L, d, line, v, " bytes");
	*(size_t *)field = (size_t)n;
	return 0;
}

static int
set_bool(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	int b = parse_bool(v);
	char qb[64];

	if (b == -1)
		return derr(L, d, line, "'%s' is not yes or no",
		    q(qb, sizeof(qb), v));
	*(int *)field = b;
	return 0;
}

static int
set_enum(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	const char *p = d->arg;
	size_t n = strlen(v);
	char list[128], b[64], *c;
	int i;

	for (i = 0; *p != '\0'; i++) {
		size_t len = strcspn(p, "|");

		if (len == n && strncmp(p, v, n) == 0) {
			*(int *)field = i;
			return 0;
		}
		p += len + (p[len] == '|');
	}
	strlcpy(list, d->arg, sizeof(list));
	while ((c = strrchr(list, '|')) != NULL) {
		memmove(c + 2, c + 1, strlen(c + 1) + 1);
		c[0] = ',';
		c[1] = ' ';
	}
	return derr(L, d, line, "'%s' is not one of %s", q(b, sizeof(b), v),
	    list);
}

static int
set_string(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	char **sp = field;
	size_t n = strlen(v);

	if ((long long)n > d->max)
		return derr(L, d, line, "longer than %lld bytes", d->max);
	if ((long long)n < d->min)
		return derr(L, d, line, "is empty");
	if (n > 0 && d->check != NULL && d->check(L, d, line, v) == -1)
		return -1;
	free(*sp);
	*sp = NULL;
	if (n == 0 && !(d->flags & D_KEEP_EMPTY))
		return 0;
	if ((*sp = strdup(v)) == NULL)
		L->oom = 1;
	return 0;
}

static int
chk_path(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	char b[64];

	if (v[0] != '/')
		return derr(L, d, line, "'%s' is not an absolute path",
		    q(b, sizeof(b), v));
	return 0;
}

static int
chk_url(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	char b[64];

	if (strncmp(v, "redis://", 8) != 0 || v[8] == '\0' ||
	    v[8 + strcspn(v + 8, " \t")] != '\0')
		return derr(L, d, line, "'%s' is not a redis://HOST:PORT "
		    "address", q(b, sizeof(b), v));
	return 0;
}

static int
chk_email(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	const char *at = strrchr(v, '@');
	char b[64];

	if (at == NULL || at == v || at[1] == '\0' ||
	    v[strcspn(v, " \t")] != '\0')
		return derr(L, d, line, "'%s' is not an email address",
		    q(b, sizeof(b), v));
	return 0;
}

static int
chk_duration(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	long n;

	return set_duration(L, d, line, v, &n);
}

static int
chk_backoff(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	struct backoff b;
	char err[256];

	if (backoff_parse(v, &b, err, sizeof(err)) == -1)
		return derr(L, d, line, "%s", strncmp(err, "backoff: ", 9) ?
		    err : err + 9);
	return 0;
}

static int is_name(const char *);

/* A name like a job's: 1 to CONF_NAME_MAX of A-Z a-z 0-9 _ . - */
static int
chk_name(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	char b[80];

	if (!is_name(v))
		return derr(L, d, line, "'%s' is not a name (1 to %d of A-Z "
		    "a-z 0-9 _ . -)", q(b, sizeof(b), v), CONF_NAME_MAX);
	return 0;
}

int
conf_names(const char *s, char (*v)[CONF_NAME_MAX + 1], int max)
{
	size_t len;
	int n = 0;

	for (s += strspn(s, " \t"); *s != '\0'; s += strspn(s, " \t")) {
		if ((len = strcspn(s, " \t")) > CONF_NAME_MAX)
			return -1;
		if (n < max)
			snprintf(v[n], CONF_NAME_MAX + 1, "%.*s", (int)len, s);
		n++;
		s += len;
	}
	return n < max ? n : max;
}

/* sync_job: 1 to CONF_SYNC_JOBS names separated by blanks, none twice. */
static int
chk_sync_jobs(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	char names[CONF_SYNC_JOBS + 1][CONF_NAME_MAX + 1], b[80];
	int n = conf_names(v, names, CONF_SYNC_JOBS + 1);

	if (n == -1)
		return derr(L, d, line, "a name longer than %d characters",
		    CONF_NAME_MAX);
	for (int i = 0; i < n; i++) {
		if (!is_name(names[i]))
			return derr(L, d, line, "'%s' is not a name (1 to %d "
			    "of A-Z a-z 0-9 _ . -)", q(b, sizeof(b), names[i]),
			    CONF_NAME_MAX);
		for (int j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0)
				return derr(L, d, line, "'%s' given twice",
				    q(b, sizeof(b), names[i]));
	}
	if (n > CONF_SYNC_JOBS)
		return derr(L, d, line, "more than %d jobs", CONF_SYNC_JOBS);
	return 0;
}

/* No blank nor control character. */
static int
chk_token(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	char b[64];

	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return derr(L, d, line, "'%s' holds a blank or a "
			    "control character", q(b, sizeof(b), v));
	return 0;
}

/* Blank-separated host names or addresses: letters, digits and . - _ :
 * [ ] only (a Host header's name, an IPv6 address with or without its
 * brackets). */
static int
chk_hosts(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[] \t";
	char b[64];

	if (v[strspn(v, ok)] != '\0')
		return derr(L, d, line, "'%s': a name holds a character other "
		    "than A-Z a-z 0-9 . - _ : [ ]", q(b, sizeof(b), v));
	return 0;
}

/*
 * Splits listen's value v into host (without the brackets of an IPv6
 * address; hostlen bytes) and port. Returns 0, or -1 with the reason in
 * err.
 */
static int
listen_parse(const char *v, char *host, size_t hostlen, int *port,
    char *err, size_t errlen)
{
	const char *colon, *hs = v, *he;
	struct in6_addr a6;
	char *end;
	long n;

	if (*v == '[') {
		hs = v + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':')
			return mv_errf(err, errlen, "expected [V6]:PORT");
		colon = he + 1;
	} else {
		if ((colon = strrchr(v, ':')) == NULL || colon == v ||
		    memchr(v, ':', (size_t)(colon - v)) != NULL)
			return mv_errf(err, errlen, "expected HOST:PORT "
			    "(an IPv6 address goes in brackets)");
		he = colon;
		if (strspn(hs, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
		    "uvwxyz0123456789.-") != (size_t)(he - hs))
			return mv_errf(err, errlen, "the host is not an "
			    "address nor a host name");
	}
	if (he == hs || (size_t)(he - hs) >= hostlen)
		return mv_errf(err, errlen, "the host is empty or too long");
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (*v == '[' && inet_pton(AF_INET6, host, &a6) != 1)
		return mv_errf(err, errlen, "the host is not an IPv6 address");
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end != '\0' || errno != 0 ||
	    n < 0 || n > 65535)
		return mv_errf(err, errlen, "the port is not a number from 1 "
		    "to 65535");
	if (n == 0)
		return mv_errf(err, errlen, "port 0 is refused: name the port");
	*port = (int)n;
	return 0;
}

/* 1 when host is a loopback address (127.0.0.0/8, ::1) or localhost. */
static int
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

static int
chk_listen(struct loader *L, const struct directive *d, int line,
    const char *v)
{
	char host[256], err[128], b[64];
	int port;

	if (listen_parse(v, host, sizeof(host), &port, err, sizeof(err)) == -1)
		return derr(L, d, line, "'%s': %s", q(b, sizeof(b), v), err);
	return 0;
}

/* Frees the words and empties w. */
static void
words_free(struct conf_words *w)
{
	conf_argv_free(w->v);
	w->v = NULL;
	w->n = 0;
}

/* Appends a copy of s to w, keeping it NULL-terminated. 0 or -1. */
static int
words_push(struct conf_words *w, const char *s)
{
	char **v;

	/* Slots n and n + 1 (the NULL): room for n + 2, kept doubling. */
	if (w->n == 0 && w->v == NULL)
		v = reallocarray(NULL, 2, sizeof(*v));
	else if (((w->n + 1) & w->n) == 0)
		v = reallocarray(w->v, 2 * (w->n + 1), sizeof(*v));
	else
		v = w->v;
	if (v == NULL)
		return -1;
	w->v = v;
	if ((v[w->n] = strdup(s)) == NULL) {
		v[w->n] = NULL;
		return -1;
	}
	v[++w->n] = NULL;
	return 0;
}

static int
set_command(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	struct conf_words *w = field;
	char err[256], b[64];
	char **v2;
	size_t n;

	if ((v2 = conf_split_command(v, &n, err, sizeof(err))) == NULL)
		return derr(L, d, line, "%s", err);
	if (n == 0 || v2[0][0] != '/' || strchr(v2[0], '{') != NULL) {
		if (n == 0)
			derr(L, d, line, "is empty");
		else if (strchr(v2[0], '{') != NULL)
			derr(L, d, line, "the program '%s' cannot hold a "
			    "placeholder", q(b, sizeof(b), v2[0]));
		else
			derr(L, d, line, "the program '%s' is not an absolute "
			    "path", q(b, sizeof(b), v2[0]));
		conf_argv_free(v2);
		return -1;
	}
	words_free(w);
	w->v = v2;
	w->n = n;
	return 0;
}

/* 1 when s[0..n) is a variable or argument name. */
static int
is_ident(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static int
set_names(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	struct conf_words *w = field, nw = { NULL, 0 };
	const char *sep = " \t,";
	char b[64], name[256];
	size_t n;

	for (v += strspn(v, sep); *v != '\0'; v += strspn(v, sep)) {
		n = strcspn(v, sep);
		snprintf(name, sizeof(name), "%.*s", (int)n, v);
		v += n;
		if (!is_ident(name, strlen(name)) || n >= sizeof(name)) {
			derr(L, d, line, "'%s' is not a variable name",
			    q(b, sizeof(b), name));
			goto fail;
		}
		if (nw.n == ARGS_MAX) {
			derr(L, d, line, "more than %d names", ARGS_MAX);
			goto fail;
		}
		for (size_t i = 0; i < nw.n; i++)
			if (strcmp(nw.v[i], name) == 0) {
				derr(L, d, line, "'%s' is listed twice", name);
				goto fail;
			}
		if (words_push(&nw, name) == -1) {
			L->oom = 1;
			goto fail;
		}
	}
	if (nw.v == NULL && (nw.v = calloc(1, sizeof(char *))) == NULL) {
		L->oom = 1;
		return -1;
	}
	words_free(w);
	*w = nw;
	return 0;
fail:
	words_free(&nw);
	return -1;
}

/* Frees the declarations and empties a. */
static void
args_free(struct conf_args *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].def_str);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* The declaration parser's position and error buffer. */
struct cursor {
	const char	*p;
	char		*err;
	size_t		 errlen;
	int		 oom;
};

static int __attribute__((format(printf, 2, 3)))
cur_err(struct cursor *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void
cur_skip(struct cursor *c)
{
	c->p += strspn(c->p, " \t");
}

/* 1 when c is at ch (after blanks), which it then passes. */
static int
cur_eat(struct cursor *c, char ch)
{
	cur_skip(c);
	if (*c->p != ch)
		return 0;
	c->p++;
	return 1;
}

/* Number of UTF-8 characters of s[0..n). */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t chars = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	return chars;
}

/* Parses "name" into a->name. */
static int
arg_name(struct cursor *c, struct conf_arg *a)
{
	size_t n;
	char b[64];

	cur_skip(c);
	if (*c->p == '\0')
		return cur_err(c, "expected an argument name at the end");
	n = strspn(c->p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_");
	if (!is_ident(c->p, n) || n > ARG_NAME_MAX)
		return cur_err(c, "expected an argument name at '%s'",
		    q(b, sizeof(b), c->p));
	if ((a->name = strndup(c->p, n)) == NULL) {
		c->oom = 1;
		return cur_err(c, "out of memory");
	}
	c->p += n;
	for (size_t i = 0; i < NBUILTINS; i++)
		if (strcmp(a->name, builtins[i]) == 0)
			return cur_err(c, "'%s' is a built-in placeholder",
			    a->name);
	return 0;
}

/* Parses ":type" into a->type, with the type's default bounds. */
static int
arg_type(struct cursor *c, struct conf_arg *a)
{
	size_t n;
	char b[64];

	if (!cur_eat(c, ':'))
		return cur_err(c, "expected ':' after '%s'", a->name);
	cur_skip(c);
	n = strspn(c->p, "abcdefghijklmnopqrstuvwxyz");
	a->min = 0;
	if (n == 3 && strncmp(c->p, "int", 3) == 0) {
		a->type = CONF_ARG_INT;
		a->min = LLONG_MIN;
		a->max = LLONG_MAX;
	} else if (n == 6 && strncmp(c->p, "string", 6) == 0) {
		a->type = CONF_ARG_STRING;
		a->max = ARG_STR_DEF;
	} else if (n == 4 && strncmp(c->p, "bool", 4) == 0) {
		a->type = CONF_ARG_BOOL;
		a->max = 1;
	} else {
		snprintf(b, sizeof(b), "%.*s", (int)(n ? n : 1), c->p);
		return cur_err(c, "unknown type '%s' of '%s' (int, string or "
		    "bool)", b, a->name);
	}
	c->p += n;
	return 0;
}

/* A strict integer at c->p, up to one of the stop characters. */
static int
cur_ll(struct cursor *c, long long *np)
{
	char num[32], *end;
	size_t n;

	cur_skip(c);
	n = strspn(c->p, "+-0123456789");
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, c->p, n);
	num[n] = '\0';
	errno = 0;
	*np = strtoll(num, &end, 10);
	if (errno != 0 || *end != '\0' || end == num)
		return -1;
	c->p += n;
	return 0;
}

/* Parses "(min..max)" or "(maxlen)" when present. */
static int
arg_bounds(struct cursor *c, struct conf_arg *a)
{
	long long lo, hi;

	if (!cur_eat(c, '('))
		return 0;
	if (a->type == CONF_ARG_BOOL)
		return cur_err(c, "'%s': a bool has no bounds", a->name);
	if (a->type == CONF_ARG_STRING) {
		if (cur_ll(c, &hi) == -1 || hi < 1 || hi > ARG_STR_MAX ||
		    !cur_eat(c, ')'))
			return cur_err(c, "'%s': bad bounds, expected "
			    "string(LENGTH) with LENGTH from 1 to %d", a->name,
			    ARG_STR_MAX);
		a->max = hi;
		return 0;
	}
	if (cur_ll(c, &lo) == -1 || strncmp(c->p, "..", 2) != 0)
		return cur_err(c, "'%s': bad bounds, expected int(MIN..MAX)",
		    a->name);
	c->p += 2;
	if (cur_ll(c, &hi) == -1 || !cur_eat(c, ')'))
		return cur_err(c, "'%s': bad bounds, expected int(MIN..MAX)",
		    a->name);
	if (lo > hi)
		return cur_err(c, "'%s': %lld is more than %lld", a->name, lo,
		    hi);
	a->min = lo;
	a->max = hi;
	return 0;
}

/* Reads a default, quoted ("..." with \" and \\) or bare up to a comma,
 * into the new string *vp. */
static int
arg_default_text(struct cursor *c, struct conf_arg *a, char **vp)
{
	struct mv_buf b;
	size_t n;

	mv_buf_init(&b, 0);
	cur_skip(c);
	if (*c->p != '"') {
		n = strcspn(c->p, ",");
		while (n > 0 && (c->p[n - 1] == ' ' || c->p[n - 1] == '\t'))
			n--;
		if (mv_buf_append(&b, c->p, n) == -1)
			goto oom;
		c->p += n;
	} else {
		for (c->p++; *c->p != '"'; c->p++) {
			if (*c->p == '\\' && (c->p[1] == '"' ||
			    c->p[1] == '\\'))
				c->p++;
			if (*c->p == '\0') {
				mv_buf_free(&b);
				return cur_err(c, "'%s': unterminated quoted "
				    "default", a->name);
			}
			if (mv_buf_putc(&b, *c->p) == -1)
				goto oom;
		}
		c->p++;
	}
	if ((*vp = mv_buf_steal(&b, NULL)) == NULL)
		goto oom;
	return 0;
oom:
	mv_buf_free(&b);
	c->oom = 1;
	return cur_err(c, "out of memory");
}

/* Checks the default text v against a and stores it. */
static int
arg_default_set(struct cursor *c, struct conf_arg *a, char *v)
{
	char b[64];
	long long n;
	int t;

	switch (a->type) {
	case CONF_ARG_INT:
		if (parse_ll(v, &n) == -1)
			return cur_err(c, "'%s': default '%s' is not an "
			    "integer", a->name, q(b, sizeof(b), v));
		if (n < a->min || n > a->max)
			return cur_err(c, "'%s': default %lld is out of range "
			    "(%lld to %lld)", a->name, n, a->min, a->max);
		a->def_int = n;
		break;
	case CONF_ARG_BOOL:
		if ((t = parse_bool(v)) == -1)
			return cur_err(c, "'%s': default '%s' is not true or "
			    "false", a->name, q(b, sizeof(b), v));
		a->def_int = t;
		break;
	case CONF_ARG_STRING:
		if ((long long)utf8_chars(v, strlen(v)) > a->max)
			return cur_err(c, "'%s': default is longer than %lld "
			    "characters", a->name, a->max);
		a->def_str = v;
		a->has_default = 1;
		return 0;
	}
	a->has_default = 1;
	free(v);
	return 0;
}

static int
arg_default(struct cursor *c, struct conf_arg *a)
{
	char *v;

	if (!cur_eat(c, '='))
		return 0;
	if (arg_default_text(c, a, &v) == -1)
		return -1;
	if (arg_default_set(c, a, v) == -1) {
		free(v);
		return -1;
	}
	return 0;
}

/* Parses one declaration into a; prev are the ones before it. */
static int
arg_parse(struct cursor *c, struct conf_arg *a, const struct conf_arg *prev,
    size_t nprev)
{
	if (arg_name(c, a) == -1)
		return -1;
	for (size_t i = 0; i < nprev; i++)
		if (strcmp(prev[i].name, a->name) == 0)
			return cur_err(c, "'%s' is declared twice", a->name);
	if (arg_type(c, a) == -1 || arg_bounds(c, a) == -1 ||
	    arg_default(c, a) == -1)
		return -1;
	cur_skip(c);
	if (*c->p != ',' && *c->p != '\0')
		return cur_err(c, "expected ',' after the declaration of '%s'",
		    a->name);
	return 0;
}

/* Parses a comma-separated list of declarations into out (emptied first).
 * -1 with err (c->oom set when out of memory). */
static int
args_parse(struct cursor *c, struct conf_args *out)
{
	struct conf_args na = { NULL, 0 };
	struct conf_arg *v;
	int more;

	cur_skip(c);
	more = *c->p != '\0';
	while (more) {
		if (na.n == ARGS_MAX) {
			args_free(&na);
			return cur_err(c, "more than %d arguments", ARGS_MAX);
		}
		if ((v = grow(na.v, na.n, sizeof(*v))) == NULL) {
			c->oom = 1;
			args_free(&na);
			return cur_err(c, "out of memory");
		}
		na.v = v;
		memset(&v[na.n], 0, sizeof(*v));
		na.n++;
		if (arg_parse(c, &v[na.n - 1], v, na.n - 1) == -1) {
			args_free(&na);
			return -1;
		}
		more = *c->p == ',';	/* then a name must follow */
		c->p += more;
	}
	args_free(out);
	*out = na;
	return 0;
}

static int
set_args(struct loader *L, const struct directive *d, int line,
    const char *v, void *field)
{
	char err[256];
	struct cursor c = { v, err, sizeof(err), 0 };

	if (args_parse(&c, field) == -1) {
		if (c.oom)
			L->oom = 1;
		return derr(L, d, line, "%s", err);
	}
	return 0;
}

typedef int (*set_fn)(struct loader *, const struct directive *, int,
    const char *, void *);

/* The setter of each type: checks v and stores it in field. 0 or -1 with
 * the error added. */
static const set_fn setters[] = {
	[CT_INT] = set_int,
	[CT_DURATION] = set_duration,
	[CT_SIZE] = set_size,
	[CT_BOOL] = set_bool,
	[CT_ENUM] = set_enum,
	[CT_STRING] = set_string,
	[CT_COMMAND] = set_command,
	[CT_ARGS] = set_args,
	[CT_NAMES] = set_names,
};

/* The splitter's output: the words so far and the word being built. */
struct split {
	struct conf_words	 w;
	struct mv_buf		 b;
	int			 inword;
	char			*err;
	size_t			 errlen;
};

static int __attribute__((format(printf, 2, 3)))
split_err(struct split *sp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sp->err, sp->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
split_putc(struct split *sp, char c)
{
	if (mv_buf_putc(&sp->b, c) == -1)
		return split_err(sp, "out of memory");
	return 0;
}

/* Ends the word being built, if any. */
static int
split_end(struct split *sp)
{
	if (!sp->inword)
		return 0;
	sp->inword = 0;
	if (words_push(&sp->w, sp->b.data != NULL ? sp->b.data : "") == -1)
		return split_err(sp, "out of memory");
	mv_buf_reset(&sp->b);
	return 0;
}

/* '...' at *sp: everything literal. Returns the end, or NULL. */
static const char *
split_single(struct split *sp, const char *s)
{
	for (s++; *s != '\''; s++) {
		if (*s == '\0') {
			split_err(sp, "unterminated single quote");
			return NULL;
		}
		if (split_putc(sp, *s) == -1)
			return NULL;
	}
	return s + 1;
}

/* "..." at s: \" \\ \$ \` escape; $ and ` are refused, as a shell would
 * expand them. Returns the end, or NULL. */
static const char *
split_double(struct split *sp, const char *s)
{
	for (s++; *s != '"'; s++) {
		if (*s == '\0') {
			split_err(sp, "unterminated double quote");
			return NULL;
		}
		if (*s == '$' || *s == '`') {
			split_err(sp, "'%c' inside double quotes: nothing is "
			    "expanded, write \\%c or use single quotes", *s,
			    *s);
			return NULL;
		}
		/* strchr() finds the NUL too: a final backslash escapes nothing. */
		if (*s == '\\' && s[1] != '\0' &&
		    strchr("\"\\$`", s[1]) != NULL)
			s++;
		if (split_putc(sp, *s) == -1)
			return NULL;
	}
	return s + 1;
}

/* One unquoted character (or escape) at s. Returns the next, or NULL. */
static const char *
split_plain(struct split *sp, const char *s)
{
	if (*s == '\\') {
		if (s[1] == '\0') {
			split_err(sp, "backslash at the end");
			return NULL;
		}
		s++;
	} else if (strchr(";|&<>()$`*?[", *s) != NULL ||
	    (!sp->inword && (*s == '~' || *s == '#'))) {
		split_err(sp, "unquoted '%c': quote it to pass it literally "
		    "(no shell runs the command)", *s);
		return NULL;
	}
	sp->inword = 1;
	if (split_putc(sp, *s) == -1)
		return NULL;
	return s + 1;
}

char **
conf_split_command(const char *s, size_t *np, char *err, size_t errlen)
{
	struct split sp = { { NULL, 0 }, { NULL, 0, 0, 0 }, 0, err, errlen };

	mv_buf_init(&sp.b, 0);
	while (s != NULL && *s != '\0') {
		if (*s == ' ' || *s == '\t' || *s == '\n') {
			s = split_end(&sp) == -1 ? NULL : s + 1;
			continue;
		}
		if (*s == '\'' || *s == '"') {
			sp.inword = 1;
			s = *s == '\'' ? split_single(&sp, s) :
			    split_double(&sp, s);
		} else
			s = split_plain(&sp, s);
	}
	if (s != NULL && split_end(&sp) == -1)
		s = NULL;
	if (s != NULL && sp.w.v == NULL &&
	    (sp.w.v = calloc(1, sizeof(char *))) == NULL) {
		split_err(&sp, "out of memory");
		s = NULL;
	}
	mv_buf_free(&sp.b);
	if (s == NULL) {
		words_free(&sp.w);
		return NULL;
	}
	*np = sp.w.n;
	return sp.w.v;
}

enum tpl_kind {
	TPL_END,
	TPL_TEXT,
	TPL_PH,
	TPL_ERR,
};

/* A piece of a template word. */
struct tpl_tok {
	const char	*s;		/* text, or a placeholder's name */
	size_t		 n;
	const char	*cond;		/* {name:+cond}: its text */
	size_t		 condn;
};

/* The next piece of the template word at *pp, which it passes: literal
 * text ("{{" and "}}" stand for braces) or a {placeholder}. TPL_ERR puts
 * the reason in err. */
static enum tpl_kind
tpl_next(const char **pp, struct tpl_tok *t, char *err, size_t errlen)
{
	const char *p = *pp, *end, *colon;
	char b[64];

	memset(t, 0, sizeof(*t));
	if (*p == '\0')
		return TPL_END;
	t->s = p;
	t->n = 1;
	*pp = p + 2;
	if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}'))
		return TPL_TEXT;
	if (*p == '}') {
		snprintf(err, errlen, "unmatched '}' (write }} for a brace)");
		return TPL_ERR;
	}
	if (*p != '{') {
		t->n = strcspn(p, "{}");
		*pp = p + t->n;
		return TPL_TEXT;
	}
	end = p + 1 + strcspn(p + 1, "{}");
	if (*end != '}') {
		snprintf(err, errlen, "unterminated placeholder '%s' (write "
		    "{{ for a brace)", q(b, sizeof(b), p));
		return TPL_ERR;
	}
	t->s = p + 1;
	t->n = (size_t)(end - t->s);
	if ((colon = memchr(t->s, ':', t->n)) != NULL) {
		t->cond = colon + 2;
		t->condn = (size_t)(end - t->cond);
		t->n = (size_t)(colon - t->s);
	}
	if (!is_ident(t->s, t->n) || (colon != NULL && colon[1] != '+')) {
		snprintf(err, errlen, "'{%.*s}' is not a placeholder: write "
		    "{NAME} or {NAME:+TEXT}", (int)(end - p - 1), p + 1);
		return TPL_ERR;
	}
	*pp = end + 1;
	return TPL_PH;
}

static int
builtin_find(const char *s, size_t n)
{
	for (size_t i = 0; i < NBUILTINS; i++)
		if (strlen(builtins[i]) == n && strncmp(builtins[i], s, n) == 0)
			return (int)i;
	return -1;
}

static int
arg_find(const struct job_conf *j, const char *s, size_t n)
{
	for (size_t i = 0; i < j->args.n; i++)
		if (strlen(j->args.v[i].name) == n &&
		    strncmp(j->args.v[i].name, s, n) == 0)
			return (int)i;
	return -1;
}

/* The built-in or declared name closest to name, or NULL. */
static const char *
ph_suggest(const struct job_conf *j, const char *name)
{
	const char *best = NULL;
	size_t dist = SIZE_MAX;

	for (size_t i = 0; i < NBUILTINS; i++)
		if (close_to(name, builtins[i], &dist))
			best = builtins[i];
	for (size_t i = 0; i < j->args.n; i++)
		if (close_to(name, j->args.v[i].name, &dist))
			best = j->args.v[i].name;
	return best;
}

/* Checks one placeholder of j's command; notes what needs an account. */
static void
ph_check(struct loader *L, struct job_conf *j, const struct tpl_tok *t,
    int line, const char **acct_ph)
{
	int b = builtin_find(t->s, t->n), a = arg_find(j, t->s, t->n);
	char name[ARG_NAME_MAX + 8];
	const char *sug;

	snprintf(name, sizeof(name), "%.*s", (int)t->n, t->s);
	if (b > 0 && *acct_ph == NULL)
		*acct_ph = builtins[b];
	if (b > 0)
		j->needs_account = 1;
	if (b == 4)
		L->sec.uses_email = 1;
	if (b == BUILTIN_CURSOR)
		L->sec.uses_cursor = 1;
	if (t->cond != NULL && (a == -1 || j->args.v[a].type !=
	    CONF_ARG_BOOL) && (a != -1 || b != -1))
		lerr(L, line, "command: {%s:+...} needs a bool argument",
		    name);
	if (a != -1 || b != -1)
		return;
	if ((sug = ph_suggest(j, name)) != NULL)
		lerr(L, line, "command: undeclared placeholder {%s}; did you "
		    "mean {%s}?", name, sug);
	else
		lerr(L, line, "command: undeclared placeholder {%s}", name);
}

/* Checks every placeholder of j's command against its arguments.
 * Returns the first built-in placeholder needing an account, or NULL. */
static const char *
job_check_command(struct loader *L, struct job_conf *j, int line)
{
	const char *acct_ph = NULL, *p;
	struct tpl_tok t;
	enum tpl_kind k;
	char err[256];

	for (size_t i = 1; i < j->command.n; i++) {
		p = j->command.v[i];
		if (strncmp(p, "{cursor}", 8) == 0)
			lerr(L, line, "command: {cursor} cannot begin a word "
			    "(an empty cursor would be an empty word): write "
			    "--cursor={cursor}");
		while ((k = tpl_next(&p, &t, err, sizeof(err))) != TPL_END) {
			if (k == TPL_ERR) {
				lerr(L, line, "command: %s", err);
				break;
			}
			if (k == TPL_PH)
				ph_check(L, j, &t, line, &acct_ph);
		}
	}
	return acct_ph;
}

/* The value of one argument for one run. */
struct argval {
	long long	 i;		/* int, bool */
	const char	*s;		/* string: borrowed */
};

/* Checks the JSON value v of a and stores it in *out. */
static int
arg_value(const struct conf_arg *a, json_t *v, struct argval *out,
    char *err, size_t errlen)
{
	const char *s;

	switch (a->type) {
	case CONF_ARG_INT:
		if (!json_is_integer(v))
			return mv_errf(err, errlen, "argument '%s': expected an "
			    "integer", a->name);
		out->i = json_integer_value(v);
		if (out->i < a->min || out->i > a->max)
			return mv_errf(err, errlen, "argument '%s': %lld is out "
			    "of range (%lld to %lld)", a->name, out->i,
			    a->min, a->max);
		return 0;
	case CONF_ARG_BOOL:
		if (!json_is_boolean(v))
			return mv_errf(err, errlen, "argument '%s': expected "
			    "true or false", a->name);
		out->i = json_is_true(v);
		return 0;
	case CONF_ARG_STRING:
		break;
	}
	if (!json_is_string(v))
		return mv_errf(err, errlen, "argument '%s': expected a string",
		    a->name);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return mv_errf(err, errlen, "argument '%s': contains a NUL byte",
		    a->name);
	if ((long long)utf8_chars(s, strlen(s)) > a->max)
		return mv_errf(err, errlen, "argument '%s': longer than %lld "
		    "characters", a->name, a->max);
	out->s = s;
	return 0;
}

/* Fills vals (one per declared argument) from args and the defaults. */
static int
args_resolve(const struct job_conf *j, json_t *args, struct argval *vals,
    char *err, size_t errlen)
{
	const char *key, *sug;
	json_t *v;
	char b[64];

	if (args != NULL && !json_is_object(args))
		return mv_errf(err, errlen, "args is not a JSON object");
	json_object_foreach(args, key, v) {
		if (arg_find(j, key, strlen(key)) != -1)
			continue;
		if ((sug = ph_suggest(j, key)) != NULL &&
		    builtin_find(sug, strlen(sug)) == -1)
			return mv_errf(err, errlen, "unknown argument '%s'; did "
			    "you mean '%s'?", q(b, sizeof(b), key), sug);
		return mv_errf(err, errlen, "unknown argument '%s'",
		    q(b, sizeof(b), key));
	}
	for (size_t i = 0; i < j->args.n; i++) {
		const struct conf_arg *a = &j->args.v[i];

		v = args != NULL ? json_object_get(args, a->name) : NULL;
		if (v != NULL) {
			if (arg_value(a, v, &vals[i], err, errlen) == -1)
				return -1;
		} else if (!a->has_default)
			return mv_errf(err, errlen, "missing argument '%s'",
			    a->name);
		else {
			vals[i].i = a->def_int;
			vals[i].s = a->def_str;
		}
	}
	return 0;
}

/* Appends built-in placeholder number n to b. */
static int
render_builtin(const struct job_conf *j, const struct account_conf *acct,
    const char *cursor, int n, struct mv_buf *b, char *err, size_t errlen)
{
	const char *v;

	if (n == 0)
		return mv_buf_puts(b, j->name);
	if (n == BUILTIN_CURSOR && cursor != NULL &&
	    !conf_cursor_valid(cursor, strlen(cursor)))
		return mv_errf(err, errlen, "cursor: not printable ASCII of at "
		    "most %d bytes", CONF_CURSOR_MAX);
	if (n == BUILTIN_CURSOR)
		return mv_buf_puts(b, cursor != NULL ? cursor : "");
	if (acct == NULL)
		return mv_errf(err, errlen, "job '%s' uses {%s}, which needs an "
		    "account", j->name, builtins[n]);
	v = n == 1 ? acct->name : n == 2 ? acct->tenant_id :
	    n == 3 ? acct->user_id : n == 4 ? acct->user_email :
	    acct->credentials;
	if (v == NULL)
		return mv_errf(err, errlen, "account '%s' has no %s", acct->name,
		    builtins[n]);
	if (n == 5 && mv_buf_putc(b, '@') == -1)
		return -1;
	return mv_buf_puts(b, v);
}

/* Appends the value of declared argument n to b. */
static int
render_arg(const struct job_conf *j, const struct argval *vals, int n,
    const struct tpl_tok *t, struct mv_buf *b, char *err, size_t errlen)
{
	const struct conf_arg *a = &j->args.v[n];
	char num[32];
	const char *v = num;

	if (t->cond != NULL)
		return vals[n].i ? mv_buf_append(b, t->cond, t->condn) : 0;
	if (a->type == CONF_ARG_INT)
		snprintf(num, sizeof(num), "%lld", vals[n].i);
	else if (a->type == CONF_ARG_BOOL)
		v = vals[n].i ? "true" : "false";
	else
		v = vals[n].s;
	if (b->len == 0 && v[0] == '-')
		return mv_errf(err, errlen, "argument '%s': a value starting "
		    "with '-' cannot begin a word", a->name);
	return mv_buf_puts(b, v);
}

/* Renders template word tpl into b; *dropp says the word is left out (it
 * came out empty from {name:+text} alone). */
static int
render_word(const struct job_conf *j, const struct account_conf *acct,
    const char *cursor, const struct argval *vals, const char *tpl,
    struct mv_buf *b, int *dropp, char *err, size_t errlen)
{
	struct tpl_tok t;
	enum tpl_kind k;
	int n, cond = 0, r;

	err[0] = '\0';
	while ((k = tpl_next(&tpl, &t, err, errlen)) != TPL_END) {
		if (k == TPL_ERR)
			return -1;
		if (k == TPL_TEXT)
			r = mv_buf_append(b, t.s, t.n);
		else if ((n = arg_find(j, t.s, t.n)) != -1) {
			cond |= t.cond != NULL;
			r = render_arg(j, vals, n, &t, b, err, errlen);
		} else if ((n = builtin_find(t.s, t.n)) != -1)
			r = render_builtin(j, acct, cursor, n, b, err,
			    errlen);
		else
			r = mv_errf(err, errlen, "undeclared placeholder {%.*s}",
			    (int)t.n, t.s);
		if (r == -1 && err[0] == '\0')
			return mv_errf(err, errlen, errno == EMSGSIZE ? "a word "
			    "is longer than %d bytes" : "out of memory",
			    WORD_MAX);
		if (r == -1)
			return -1;
	}
	*dropp = cond && b->len == 0;
	return 0;
}

char **
conf_render_argv(const struct job_conf *j, const struct account_conf *acct,
    json_t *args, char *err, size_t errlen)
{
	return conf_render_argv_cursor(j, acct, args, NULL, err, errlen);
}

int
conf_cursor_valid(const char *s, size_t len)
{
	if (len > CONF_CURSOR_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

char **
conf_render_argv_cursor(const struct job_conf *j,
    const struct account_conf *acct, json_t *args, const char *cursor,
    char *err, size_t errlen)
{
	struct conf_words out = { NULL, 0 };
	struct argval *vals;
	struct mv_buf b;
	int drop = 0;

	if ((vals = calloc(j->args.n + 1, sizeof(*vals))) == NULL) {
		mv_errf(err, errlen, "out of memory");
		return NULL;
	}
	mv_buf_init(&b, WORD_MAX);
	if (args_resolve(j, args, vals, err, errlen) == -1)
		goto fail;
	for (size_t i = 0; i < j->command.n; i++) {
		mv_buf_reset(&b);
		if (render_word(j, acct, cursor, vals, j->command.v[i], &b,
		    &drop, err, errlen) == -1)
			goto fail;
		if (!drop && words_push(&out, b.data != NULL ? b.data : "")) {
			mv_errf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (out.v == NULL && (out.v = calloc(1, sizeof(char *))) == NULL) {
		mv_errf(err, errlen, "out of memory");
		goto fail;
	}
	mv_buf_free(&b);
	free(vals);
	return out.v;
fail:
	mv_buf_free(&b);
	free(vals);
	words_free(&out);
	return NULL;
}

char **
conf_render_env(const struct job_conf *j)
{
	struct conf_words out = { NULL, 0 };
	struct mv_buf b;
	const char *v;

	mv_buf_init(&b, 0);
	for (size_t i = 0; i < j->env.n; i++) {
		if ((v = getenv(j->env.v[i])) == NULL)
			continue;
		mv_buf_reset(&b);
		if (mv_buf_printf(&b, "%s=%s", j->env.v[i], v) == -1 ||
		    words_push(&out, b.data) == -1)
			goto fail;
	}
	if (out.v == NULL && (out.v = calloc(1, sizeof(char *))) == NULL)
		goto fail;
	mv_buf_free(&b);
	return out.v;
fail:
	mv_buf_free(&b);
	words_free(&out);
	return NULL;
}

void
conf_argv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
daemon_free(struct conf_daemon *d)
{
	free(d->user);
	free(d->group);
	free(d->cgroup);
	free(d->queue_group);
	free(d->consumer_name);
	memset(d, 0, sizeof(*d));
}

static void
redis_free(struct conf_redis *r)
{
	free(r->url);
	free(r->socket);
	free(r->password_file);
	free(r->key_prefix);
	memset(r, 0, sizeof(*r));
}

/* Frees h, wiping the token first. */
static void
http_free(struct conf_http *h)
{
	if (h->token != NULL)
		explicit_bzero(h->token, strlen(h->token));
	free(h->token);
	free(h->listen);
	free(h->host);
	free(h->token_file);
	free(h->sync_job);
	free(h->ai_thread_job);
	free(h->ai_bulk_job);
	free(h->allowed_hosts);
	memset(h, 0, sizeof(*h));
}

static void
job_free(struct job_conf *j)
{
	free(j->name);
	words_free(&j->command);
	args_free(&j->args);
	free(j->schedule);
	free(j->timezone);
	free(j->jitter);
	free(j->retry_backoff);
	words_free(&j->env);
	free(j->working_directory);
	free(j->emit);
	free(j->consume);
	memset(j, 0, sizeof(*j));
}

static void
account_free(struct account_conf *a)
{
	free(a->name);
	free(a->tenant_id);
	free(a->user_id);
	free(a->user_email);
	free(a->credentials);
	memset(a, 0, sizeof(*a));
}

static void
queue_section_free(struct queue_section *qs)
{
	free(qs->name);
	free(qs->retry_backoff);
	memset(qs, 0, sizeof(*qs));
}

static void
stream_section_free(struct stream_section *ss)
{
	free(ss->name);
	memset(ss, 0, sizeof(*ss));
}

void
conf_free(struct conf *conf)
{
	if (conf == NULL)
		return;
	free(conf->path);
	daemon_free(&conf->daemon);
	redis_free(&conf->redis);
	http_free(&conf->http);
	for (size_t i = 0; i < conf->njobs; i++)
		job_free(&conf->jobs[i]);
	free(conf->jobs);
	for (size_t i = 0; i < conf->naccounts; i++)
		account_free(&conf->accounts[i]);
	free(conf->accounts);
	for (size_t i = 0; i < conf->nqueues; i++)
		queue_section_free(&conf->queues[i]);
	free(conf->queues);
	for (size_t i = 0; i < conf->nstreams; i++)
		stream_section_free(&conf->streams[i]);
	free(conf->streams);
	free(conf);
}

const struct job_conf *
conf_job(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->njobs; i++)
		if (strcmp(conf->jobs[i].name, name) == 0)
			return &conf->jobs[i];
	return NULL;
}

const struct account_conf *
conf_account(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->naccounts; i++)
		if (strcmp(conf->accounts[i].name, name) == 0)
			return &conf->accounts[i];
	return NULL;
}

const struct queue_section *
conf_queue(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->nqueues; i++)
		if (strcmp(conf->queues[i].name, name) == 0)
			return &conf->queues[i];
	return NULL;
}

static const struct stream_section *
conf_stream(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->nstreams; i++)
		if (strcmp(conf->streams[i].name, name) == 0)
			return &conf->streams[i];
	return NULL;
}

long
conf_stream_maxlen(const struct conf *conf, const char *name)
{
	const struct stream_section *ss = conf_stream(conf, name);

	return ss != NULL ? ss->maxlen : CONF_STREAM_MAXLEN;
}

int
conf_stream_named(const struct conf *conf, const char *name)
{
	if (conf_stream(conf, name) != NULL)
		return 1;
	for (size_t i = 0; i < conf->njobs; i++)
		if ((conf->jobs[i].emit != NULL &&
		    strcmp(conf->jobs[i].emit, name) == 0) ||
		    (conf->jobs[i].consume != NULL &&
		    strcmp(conf->jobs[i].consume, name) == 0))
			return 1;
	return 0;
}

static const char *const provider_names[] = { "gmail", "imap", "pop3" };

const char *
conf_provider_name(int p)
{
	if (p < 0 || (size_t)p >= sizeof(provider_names) /
	    sizeof(provider_names[0]))
		return "any";
	return provider_names[p];
}

int
conf_provider_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(provider_names) /
	    sizeof(provider_names[0]); i++)
		if (strcmp(provider_names[i], name) == 0)
			return (int)i;
	return -1;
}

int
conf_job_serves(const struct job_conf *j, const struct account_conf *acct)
{
	return j->provider == CONF_PROVIDER_ANY || acct == NULL ||
	    j->provider == acct->provider;
}

const struct account_conf *
conf_account_by_ids(const struct conf *conf, const char *tenant,
    const char *user)
{
	const struct account_conf *a;

	if (tenant == NULL || user == NULL)
		return NULL;
	for (size_t i = 0; i < conf->naccounts; i++) {
		a = &conf->accounts[i];
		if (a->tenant_id == NULL || a->user_id == NULL)
			continue;	/* only while loading one in error */
		if (strcmp(a->tenant_id, tenant) == 0 &&
		    strcmp(a->user_id, user) == 0)
			return a;
	}
	return NULL;
}

/* Line of key in the section being read; 0 when unset. */
static int
key_line(const struct section *S, const char *key)
{
	int i = dir_index(S->kind, key);

	return i == -1 ? 0 : S->set[i];
}

/* 1 when key's value was refused. */
static int
key_bad(const struct section *S, const char *key)
{
	int i = dir_index(S->kind, key);

	return i == -1 ? 0 : S->bad[i];
}

/* Stores each value given, else the default; says what is missing. */
static void
sec_apply(struct loader *L, struct section *S)
{
	const struct directive *d;
	void *field;
	const char *v;

	for (size_t i = 0; i < NDIRS; i++) {
		d = &dirs[i];
		if (d->sec != S->kind)
			continue;
		field = (char *)S->base + d->off;
		if (S->set[i] > 0) {
			v = S->val[i].data != NULL ? S->val[i].data : "";
			if (setters[d->type](L, d, S->set[i], v, field) == 0)
				continue;
			S->bad[i] = 1;
		} else if (d->flags & D_REQ)
			lerr(L, S->line, "%s: %s is required", S->label,
			    d->key);
		if (d->def != NULL)
			setters[d->type](L, d, S->line, d->def, field);
	}
}

/* A uid or gid: digits, or a name looked up with byname. */
static int
parse_id(const char *s, unsigned long *idp)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*idp = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *idp >= UINT32_MAX)
		return -1;
	return 0;
}

/* Resolves user (and its primary group) for the workers. */
static void
daemon_user(struct loader *L, struct section *S, struct conf_daemon *d)
{
	struct passwd *pw;
	unsigned long id;
	char b[64];

	if (parse_id(d->user, &id) == 0) {
		d->uid = (uid_t)id;
		if ((pw = getpwuid(d->uid)) != NULL)
			d->gid = pw->pw_gid;
		else if (d->group == NULL)
			lerr(L, key_line(S, "user"), "user: uid %lu has no "
			    "entry in the user database: set group too", id);
		return;
	}
	if ((pw = getpwnam(d->user)) == NULL) {
		lerr(L, key_line(S, "user"), "user: no such user '%s'",
		    q(b, sizeof(b), d->user));
		return;
	}
	d->uid = pw->pw_uid;
	d->gid = pw->pw_gid;
}

static void
daemon_group(struct loader *L, struct section *S, struct conf_daemon *d)
{
	struct group *gr;
	unsigned long id;
	char b[64];

	if (parse_id(d->group, &id) == 0)
		d->gid = (gid_t)id;
	else if ((gr = getgrnam(d->group)) != NULL)
		d->gid = gr->gr_gid;
	else
		lerr(L, key_line(S, "group"), "group: no such group '%s'",
		    q(b, sizeof(b), d->group));
}

static void
finish_daemon(struct loader *L, struct section *S)
{
	struct conf_daemon *d = &S->d;

	d->uid = geteuid();
	d->gid = getegid();
	d->drop_privs = d->user != NULL || d->group != NULL;
	if (d->user != NULL && !key_bad(S, "user"))
		daemon_user(L, S, d);
	if (d->group != NULL && !key_bad(S, "group"))
		daemon_group(L, S, d);
	if (S->discard) {
		daemon_free(d);
		return;
	}
	daemon_free(&L->conf->daemon);
	L->conf->daemon = *d;
	memset(d, 0, sizeof(*d));
}

static void
finish_redis(struct loader *L, struct section *S)
{
	struct conf_redis *r = &S->r;

	if (key_line(S, "url") && key_line(S, "socket") &&
	    !key_bad(S, "socket"))
		lerr(L, key_line(S, "socket"), "socket: set url or socket, "
		    "not both");
	if (r->socket != NULL) {
		free(r->url);
		r->url = NULL;
	}
	if (S->discard) {
		redis_free(r);
		return;
	}
	redis_free(&L->conf->redis);
	L->conf->redis = *r;
	memset(r, 0, sizeof(*r));
}

/*
 * Reads and checks the token file of h: one line of CONF_TOKEN_MIN to
 * CONF_TOKEN_MAX bytes from 0x21 to 0x7e (a final newline aside). Its
 * content is never quoted in a message.
 */
static void
http_token(struct loader *L, int line, struct conf_http *h)
{
	const char *why = NULL;
	char *t;
	size_t n;

	if ((t = mv_read_file(h->token_file, CONF_TOKEN_MAX + 2, &n)) ==
	    NULL) {
		if (errno == EMSGSIZE)
			lerr(L, line, "token_file: %s: the token is longer "
			    "than %d bytes", h->token_file, CONF_TOKEN_MAX);
		else
			lerr(L, line, "token_file: %s: %s", h->token_file,
			    strerror(errno));
		return;
	}
	if (n > 0 && t[n - 1] == '\n')
		t[--n] = '\0';
	if (n > 0 && t[n - 1] == '\r')
		t[--n] = '\0';
	for (size_t i = 0; i < n && why == NULL; i++)
		if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
			why = "holds a blank, a control character, a byte that "
			    "is not ASCII or more than one line";
	if (why == NULL && n < CONF_TOKEN_MIN)
		why = "is shorter than 16 bytes";
	else if (why == NULL && n > CONF_TOKEN_MAX)
		why = "is longer than 1024 bytes";
	if (why != NULL) {
		lerr(L, line, "token_file: %s: the token %s", h->token_file,
		    why);
		explicit_bzero(t, n);
		free(t);
		return;
	}
	h->token = t;
}

/* listen's host and port; a host that is not loopback needs a token. */
static void
http_listen(struct loader *L, struct section *S, struct conf_http *h)
{
	char host[256], err[128];
	int line = key_line(S, "listen");

	if (listen_parse(h->listen, host, sizeof(host), &h->port, err,
	    sizeof(err)) == -1)
		return;		/* reported by chk_listen() */
	if ((h->host = strdup(host)) == NULL) {
		L->oom = 1;
		return;
	}
	h->loopback = is_loopback(host);
	if (!h->loopback && h->token_file == NULL && !key_bad(S, "token_file"))
		lerr(L, line, "listen: %s is not a loopback address: set "
		    "token_file, or the API would be open to anyone", host);
}

static void
finish_http(struct loader *L, struct section *S)
{
	struct conf_http *h = &S->h;

	if (h->listen != NULL && !key_bad(S, "listen"))
		http_listen(L, S, h);
	if (h->token_file != NULL && !key_bad(S, "token_file"))
		http_token(L, key_line(S, "token_file"), h);
	if (S->discard) {
		http_free(h);
		return;
	}
	http_free(&L->conf->http);
	L->conf->http = *h;
	memset(h, 0, sizeof(*h));
}

/* soft_timeout: given, or timeout minus 10%; never past timeout. */
static void
job_timeouts(struct loader *L, struct section *S, struct job_conf *j)
{
	int line = key_line(S, "soft_timeout");

	if (line == 0 || key_bad(S, "soft_timeout")) {
		j->soft_timeout = j->timeout - j->timeout / 10;
		return;
	}
	if (j->soft_timeout > j->timeout && !key_bad(S, "timeout"))
		lerr(L, line, "soft_timeout: %ld is more than timeout (%ld)",
		    j->soft_timeout, j->timeout);
}

/* Parses the schedule with its time zone and jitter. */
static void
job_schedule(struct loader *L, struct section *S, struct job_conf *j)
{
	int ls = key_line(S, "schedule");
	long long jit = 0;
	char err[256];

	if (j->jitter != NULL && parse_duration(j->jitter, &jit) == 0)
		j->jitter_s = (long)jit;
	if (j->schedule == NULL) {
		if (key_line(S, "timezone"))
			lerr(L, key_line(S, "timezone"), "timezone: needs a "
			    "schedule");
		if (key_line(S, "jitter"))
			lerr(L, key_line(S, "jitter"), "jitter: needs a "
			    "schedule");
		return;
	}
	if (key_bad(S, "schedule") || key_bad(S, "timezone") ||
	    key_bad(S, "jitter"))
		return;
	err[0] = '\0';
	if (sched_parse(j->schedule, j->timezone, j->jitter_s, &j->sched, err,
	    sizeof(err)) == -1) {
		lerr(L, ls, "schedule: %s", err);
		return;
	}
	j->has_schedule = 1;
}

/* What a scheduled run needs: defaults for every argument, and an account
 * for the account placeholders. */
static void
job_scheduled(struct loader *L, struct section *S, struct job_conf *j,
    const char *acct_ph)
{
	int ls = key_line(S, "schedule");

	if (!j->has_schedule)
		return;
	for (size_t i = 0; i < j->args.n; i++)
		if (!j->args.v[i].has_default)
			lerr(L, ls, "schedule: argument '%s' has no default, "
			    "which a scheduled run needs", j->args.v[i].name);
	if (acct_ph != NULL && !j->for_each_account)
		lerr(L, ls, "schedule: the command uses {%s}, which needs an "
		    "account: set for_each_account or queue the job",
		    acct_ph);
}

/* {cursor} in the command and cursor = yes go together. */
static void
job_cursor(struct loader *L, struct section *S, struct job_conf *j)
{
	if (j->cursor && !S->uses_cursor)
		lerr(L, key_line(S, "cursor"), "cursor: the command has no "
		    "{cursor} (write --cursor={cursor})");
	if (!j->cursor && S->uses_cursor)
		lerr(L, key_line(S, "command"), "command: {cursor} needs "
		    "cursor = yes");
}

/*
 * A job that consumes a stream runs for its entries only: no schedule,
 * no cursor (the stream carries what changed), defaults for every
 * argument, and never into the stream it reads (a loop). batch, priority
 * and share are a consuming job's.
 */
static void
job_consume(struct loader *L, struct section *S, struct job_conf *j)
{
	static const char *const own[] = { "batch", "priority", "share" };

	if (j->consume == NULL) {
		for (size_t i = 0; i < 3; i++)
			if (key_line(S, own[i]))
				lerr(L, key_line(S, own[i]), "%s: needs "
				    "consume", own[i]);
		return;
	}
	if (key_line(S, "schedule"))
		lerr(L, key_line(S, "schedule"), "schedule: a job that "
		    "consumes a stream runs for its entries only");
	if (j->cursor)
		lerr(L, key_line(S, "cursor"), "cursor: a job that consumes a "
		    "stream keeps no cursor");
	if (j->emit != NULL && strcmp(j->emit, j->consume) == 0)
		lerr(L, key_line(S, "emit"), "emit: '%s' is the stream the "
		    "job consumes (a loop)", j->emit);
	for (size_t i = 0; i < j->args.n; i++)
		if (!j->args.v[i].has_default)
			lerr(L, key_line(S, "consume"), "consume: argument '%s' "
			    "has no default, which a run for an entry needs",
			    j->args.v[i].name);
}

static void
finish_job(struct loader *L, struct section *S)
{
	struct job_conf *j = &S->j, *v;
	const char *acct_ph = NULL;
	unsigned char *ok;
	char err[256];

	job_timeouts(L, S, j);
	job_schedule(L, S, j);
	if (j->retry_backoff != NULL)
		(void)backoff_parse(j->retry_backoff, &j->backoff, err,
		    sizeof(err));
	if (!key_bad(S, "args") && !key_bad(S, "command"))
		acct_ph = job_check_command(L, j, key_line(S, "command"));
	if (!key_bad(S, "args"))
		job_scheduled(L, S, j, acct_ph);
	if (!key_bad(S, "command") && !key_bad(S, "cursor"))
		job_cursor(L, S, j);
	job_consume(L, S, j);
	if (S->discard || j->name == NULL) {
		job_free(j);
		return;
	}
	if ((v = grow(L->conf->jobs, L->conf->njobs, sizeof(*v))) != NULL)
		L->conf->jobs = v;
	if ((ok = grow(L->job_ok, L->conf->njobs, 1)) != NULL)
		L->job_ok = ok;
	if (v == NULL || ok == NULL) {
		L->oom = 1;
		job_free(j);
		return;
	}
	L->job_ok[L->conf->njobs] = (L->nerrs == S->nerrs0 ? JOB_OK : 0) |
	    (S->uses_email ? JOB_EMAIL : 0);
	L->conf->jobs[L->conf->njobs++] = *j;
	memset(j, 0, sizeof(*j));
}

static void
finish_account(struct loader *L, struct section *S)
{
	struct account_conf *a = &S->a, *v;

	if (S->discard || a->name == NULL) {
		account_free(a);
		return;
	}
	v = grow(L->conf->accounts, L->conf->naccounts, sizeof(*v));
	if (v == NULL) {
		L->oom = 1;
		account_free(a);
		return;
	}
	L->conf->accounts = v;
	v[L->conf->naccounts++] = *a;
	memset(a, 0, sizeof(*a));
}

static void
finish_stream(struct loader *L, struct section *S)
{
	struct stream_section *ss = &S->st, *v;

	if (S->discard || ss->name == NULL) {
		stream_section_free(ss);
		return;
	}
	v = grow(L->conf->streams, L->conf->nstreams, sizeof(*v));
	if (v == NULL) {
		L->oom = 1;
		stream_section_free(ss);
		return;
	}
	L->conf->streams = v;
	v[L->conf->nstreams++] = *ss;
	memset(ss, 0, sizeof(*ss));
}

static void
finish_queue(struct loader *L, struct section *S)
{
	struct queue_section *qs = &S->qu, *v;
	char err[256];

	if (qs->retry_backoff != NULL)
		(void)backoff_parse(qs->retry_backoff, &qs->backoff, err,
		    sizeof(err));
	if (S->discard || qs->name == NULL) {
		queue_section_free(qs);
		return;
	}
	v = grow(L->conf->queues, L->conf->nqueues, sizeof(*v));
	if (v == NULL) {
		L->oom = 1;
		queue_section_free(qs);
		return;
	}
	L->conf->queues = v;
	v[L->conf->nqueues++] = *qs;
	memset(qs, 0, sizeof(*qs));
}

/* Ends the section being read: values, defaults, checks, then into conf
 * (a duplicate is dropped). */
static void
sec_finish(struct loader *L)
{
	struct section *S = &L->sec;

	if (S->kind >= SEC_DAEMON)
		sec_apply(L, S);
	switch (S->kind) {
	case SEC_DAEMON:
		finish_daemon(L, S);
		break;
	case SEC_REDIS:
		finish_redis(L, S);
		break;
	case SEC_HTTP:
		finish_http(L, S);
		break;
	case SEC_JOB:
		finish_job(L, S);
		break;
	case SEC_ACCOUNT:
		finish_account(L, S);
		break;
	case SEC_QUEUE:
		finish_queue(L, S);
		break;
	case SEC_STREAM:
		finish_stream(L, S);
		break;
	default:
		break;
	}
	for (size_t i = 0; i < NDIRS; i++)
		mv_buf_free(&S->val[i]);
	memset(S, 0, sizeof(*S));
	S->cur = -1;
}

/* Starts a section of kind at line. */
static void
sec_start(struct loader *L, enum sec kind, int line, const char *label)
{
	struct section *S = &L->sec;

	sec_finish(L);
	S->kind = kind;
	S->line = line;
	S->nerrs0 = L->nerrs;
	snprintf(S->label, sizeof(S->label), "%s", label);
	S->base = kind == SEC_DAEMON ? (void *)&S->d :
	    kind == SEC_REDIS ? (void *)&S->r :
	    kind == SEC_HTTP ? (void *)&S->h :
	    kind == SEC_JOB ? (void *)&S->j :
	    kind == SEC_QUEUE ? (void *)&S->qu :
	    kind == SEC_STREAM ? (void *)&S->st : (void *)&S->a;
	S->j.provider = CONF_PROVIDER_ANY;	/* unset: any */
}

/* 1 when s is a job, account or queue name. */
static int
is_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-");

	return n > 0 && n <= CONF_NAME_MAX && s[n] == '\0';
}

/* [mailvisord] or [redis]; *firstp is the line of the first one. */
static void
sec_begin_fixed(struct loader *L, enum sec kind, int *firstp,
    const char *label)
{
	sec_start(L, kind, L->lineno, label);
	if (*firstp == 0) {
		*firstp = L->lineno;
		return;
	}
	lerr(L, L->lineno, "duplicate section %s (first at line %d)", label,
	    *firstp);
	L->sec.discard = 1;
}

/* Line of the section kind named name read so far; 0: none. */
static int
named_line(const struct conf *conf, enum sec kind, const char *name)
{
	const struct job_conf *j;
	const struct account_conf *a;
	const struct queue_section *qs;
	const struct stream_section *ss;

	if (kind == SEC_STREAM)
		return (ss = conf_stream(conf, name)) != NULL ? ss->line : 0;
	if (kind == SEC_JOB)
		return (j = conf_job(conf, name)) != NULL ? j->line : 0;
	if (kind == SEC_ACCOUNT)
		return (a = conf_account(conf, name)) != NULL ? a->line : 0;
	return (qs = conf_queue(conf, name)) != NULL ? qs->line : 0;
}

/* [job:NAME], [account:NAME] or [queue:NAME]. */
static void
sec_begin_named(struct loader *L, enum sec kind, const char *name,
    const char *label)
{
	const char *what = kind == SEC_JOB ? "job" :
	    kind == SEC_QUEUE ? "queue" : kind == SEC_STREAM ? "stream" :
	    "account";
	char **np;
	int *linep, first;
	char b[80];

	if (!is_name(name)) {
		sec_start(L, SEC_BAD, L->lineno, label);
		lerr(L, L->lineno, "invalid %s name '%s' (1 to %d of A-Z a-z "
		    "0-9 _ . -)", what, q(b, sizeof(b), name), CONF_NAME_MAX);
		return;
	}
	sec_start(L, kind, L->lineno, label);	/* the one before is in */
	np = kind == SEC_JOB ? &L->sec.j.name : kind == SEC_QUEUE ?
	    &L->sec.qu.name : kind == SEC_STREAM ? &L->sec.st.name :
	    &L->sec.a.name;
	linep = kind == SEC_JOB ? &L->sec.j.line : kind == SEC_QUEUE ?
	    &L->sec.qu.line : kind == SEC_STREAM ? &L->sec.st.line :
	    &L->sec.a.line;
	if ((first = named_line(L->conf, kind, name)) != 0) {
		lerr(L, L->lineno, "duplicate section %s (first at line %d)",
		    label, first);
		L->sec.discard = 1;
	}
	if ((*np = strdup(name)) == NULL)
		L->oom = 1;
	*linep = L->lineno;
}

/* An unknown header: says so, with the closest known one. */
static void
sec_unknown(struct loader *L, const char *name, const char *label)
{
	static const char *const fixed[] = { "mailvisord", "redis", "http" };
	static const char *const named[] = { "job", "account", "queue",
	    "stream" };
	const char *colon = strchr(name, ':'), *best = NULL;
	size_t dist = SIZE_MAX;
	char pre[64], b[80];

	sec_start(L, SEC_BAD, L->lineno, label);
	q(b, sizeof(b), name);
	if (colon == NULL && (strcmp(name, "job") == 0 ||
	    strcmp(name, "account") == 0 || strcmp(name, "queue") == 0 ||
	    strcmp(name, "stream") == 0)) {
		lerr(L, L->lineno, "section [%s] needs a name: [%s:NAME]",
		    name, name);
		return;
	}
	snprintf(pre, sizeof(pre), "%.*s", (int)(colon != NULL ?
	    (size_t)(colon - name) : strlen(name)), name);
	if (colon != NULL) {
		for (size_t i = 0; i < 4; i++)
			if (close_to(pre, named[i], &dist))
				best = named[i];
	} else {
		for (size_t i = 0; i < 3; i++)
			if (close_to(pre, fixed[i], &dist))
				best = fixed[i];
	}
	if (best == NULL)
		lerr(L, L->lineno, "unknown section [%s]", b);
	else if (colon != NULL)
		lerr(L, L->lineno, "unknown section [%s]; did you mean "
		    "[%s%s]?", b, best, q(pre, sizeof(pre), colon));
	else
		lerr(L, L->lineno, "unknown section [%s]; did you mean [%s]?",
		    b, best);
}

/* A section header naming name. */
static void
sec_begin(struct loader *L, const char *name)
{
	char label[256];

	snprintf(label, sizeof(label), "[%s]", name);
	if (strcmp(name, "mailvisord") == 0)
		sec_begin_fixed(L, SEC_DAEMON, &L->daemon_line, label);
	else if (strcmp(name, "redis") == 0)
		sec_begin_fixed(L, SEC_REDIS, &L->redis_line, label);
	else if (strcmp(name, "http") == 0)
		sec_begin_fixed(L, SEC_HTTP, &L->http_line, label);
	else if (strncmp(name, "job:", 4) == 0)
		sec_begin_named(L, SEC_JOB, name + 4, label);
	else if (strncmp(name, "account:", 8) == 0)
		sec_begin_named(L, SEC_ACCOUNT, name + 8, label);
	else if (strncmp(name, "queue:", 6) == 0)
		sec_begin_named(L, SEC_QUEUE, name + 6, label);
	else if (strncmp(name, "stream:", 7) == 0)
		sec_begin_named(L, SEC_STREAM, name + 7, label);
	else
		sec_unknown(L, name, label);
}

/* A key that the section does not have. */
static void
key_unknown(struct loader *L, const char *key)
{
	const struct directive *other = NULL;
	const char *best = NULL, *lbl = L->sec.label;
	size_t dist = SIZE_MAX;
	char b[80];

	for (size_t i = 0; i < NDIRS; i++) {
		if (dirs[i].sec != L->sec.kind && strcmp(dirs[i].key, key) == 0)
			other = &dirs[i];
		if (dirs[i].sec == L->sec.kind &&
		    close_to(key, dirs[i].key, &dist))
			best = dirs[i].key;
	}
	q(b, sizeof(b), key);
	if (best != NULL)
		lerr(L, L->lineno, "unknown key '%s' in %s; did you mean "
		    "'%s'?", b, lbl, best);
	else if (other != NULL)
		lerr(L, L->lineno, "unknown key '%s' in %s (it belongs in %s)",
		    b, lbl, sec_label(other->sec));
	else
		lerr(L, L->lineno, "unknown key '%s' in %s", b, lbl);
}

/* A "key = value" line. */
static void
entry_key(struct loader *L, const char *key, const char *value)
{
	struct section *S = &L->sec;
	char b[80];
	int i;

	S->cur = -1;
	S->cont_err = 0;
	if (S->kind == SEC_BAD)
		return;
	if (S->kind == SEC_NONE) {
		lerr(L, L->lineno, "'%s' is outside any section",
		    q(b, sizeof(b), key));
		return;
	}
	if ((i = dir_index(S->kind, key)) == -1) {
		key_unknown(L, key);
		return;
	}
	if (S->set[i] != 0) {
		lerr(L, L->lineno, "duplicate key '%s' (first at line %d)",
		    key, S->set[i]);
		return;
	}
	S->set[i] = L->lineno;
	mv_buf_init(&S->val[i], 0);
	if (mv_buf_puts(&S->val[i], value) == -1)
		L->oom = 1;
	S->cur = i;
}

/* An indented line continuing the key above. */
static void
entry_cont(struct loader *L, const char *value)
{
	struct section *S = &L->sec;
	const struct directive *d;

	if (S->cur < 0)
		return;
	d = &dirs[S->cur];
	if (!(d->flags & D_MULTI)) {
		if (!S->cont_err)
			lerr(L, L->lineno, "%s: takes one line (only command, "
			    "args and env continue on indented lines)",
			    d->key);
		S->cont_err = 1;
		return;
	}
	if ((S->val[S->cur].len > 0 && mv_buf_putc(&S->val[S->cur], ' ') ==
	    -1) || mv_buf_puts(&S->val[S->cur], value) == -1)
		L->oom = 1;
}

/* A "[name]" line at s..end. */
static enum lkind
lex_section(struct loader *L, const char *s, const char *end)
{
	const char *close = memchr(s, ']', (size_t)(end - s));
	char *name;

	L->have_key = 0;
	if (close == NULL || close + strspn(close + 1, " \t\r\v\f") + 1 <
	    end) {
		sec_start(L, SEC_BAD, L->lineno, "?");
		lerr(L, L->lineno, close == NULL ? "missing ']' in section "
		    "header" : "text after ']' in section header");
		return LK_SECTION;
	}
	if ((name = strndup(s + 1, (size_t)(close - s - 1))) == NULL) {
		L->oom = 1;
		sec_start(L, SEC_BAD, L->lineno, "?");
		return LK_SECTION;
	}
	sec_begin(L, name);
	free(name);
	return LK_SECTION;
}

/* A "name = value" (or "name: value") line at s..end, as inih reads it. */
static enum lkind
lex_key(struct loader *L, const char *s, const char *end)
{
	const char *p = s, *n;

	while (p < end && *p != '=' && *p != ':')
		p++;
	if (p == end) {
		lerr(L, L->lineno, "expected 'name = value'");
		return LK_BLANK;
	}
	for (n = p; n > s && isspace((unsigned char)n[-1]); n--)
		;
	if (n == s) {
		lerr(L, L->lineno, "missing name before '%c'", *p);
		return LK_BLANK;
	}
	L->have_key = 1;
	return LK_KEY;
}

/* What one line is, checking what inih cannot (length, NUL bytes, UTF-8)
 * and reading section headers ourselves (inih cuts names at 49 bytes). */
static enum lkind
lex_line(struct loader *L, const char *line, size_t len, size_t max)
{
	const char *s = line, *end = line + len;

	if (len > CONF_LINE_MAX || len > max) {
		lerr(L, L->lineno, "line longer than %d bytes (continue long "
		    "values on indented lines)", CONF_LINE_MAX);
		return LK_BLANK;
	}
	if (memchr(line, '\0', len) != NULL) {
		lerr(L, L->lineno, "NUL byte in line");
		return LK_BLANK;
	}
	if (!mv_utf8_valid(line, len)) {
		lerr(L, L->lineno, "invalid UTF-8");
		return LK_BLANK;
	}
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s == end || *s == ';' || *s == '#')
		return LK_BLANK;
	if (s > line && L->have_key)
		return LK_CONT;
	if (*s == '[')
		return lex_section(L, s, end);
	return lex_key(L, s, end);
}

/* inih's reader: hands it one line at a time, counting them, so that the
 * handler knows the line. A line in error is handed as a blank one, a
 * header as "[]". */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct loader *L = stream;
	const char *line, *nl;
	size_t len;

	if (L->pos >= L->len || num < 3)
		return NULL;
	line = L->text + L->pos;
	nl = memchr(line, '\n', L->len - L->pos);
	len = nl != NULL ? (size_t)(nl - line) : L->len - L->pos;
	L->pos += len + (nl != NULL);
	L->lineno++;
	if (L->lineno == 1 && len >= 3 &&
	    memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		len -= 3;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	L->kind = lex_line(L, line, len, (size_t)num - 1);
	if (L->kind == LK_KEY || L->kind == LK_CONT) {
		memcpy(str, line, len);
		str[len] = '\0';
	} else
		strlcpy(str, L->kind == LK_SECTION ? "[]" : "", (size_t)num);
	return str;
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct loader *L = user;

	(void)section;		/* cut at 49 bytes: we keep our own */
	if (L->kind == LK_KEY)
		entry_key(L, name, value);
	else if (L->kind == LK_CONT)
		entry_cont(L, value);
	return 1;
}

/* Runs inih over the text with the settings the lexer assumes: values
 * continue on indented lines, and ';' starts a comment only at the start
 * of a line (a command may hold a quoted ';'). */
static int
conf_parse(struct loader *L)
{
	bool multi = ini_allow_multiline, inl = ini_allow_inline_comments;
	bool stop = ini_stop_on_first_error;
	int r;

	ini_allow_multiline = true;
	ini_allow_inline_comments = false;
	ini_stop_on_first_error = false;
	r = ini_parse_stream(conf_reader, L, conf_handler, L);
	ini_allow_multiline = multi;
	ini_allow_inline_comments = inl;
	ini_stop_on_first_error = stop;
	return r;
}

/* Two accounts may not share tenant_id and user_id. */
static void
check_accounts(struct loader *L)
{
	const struct account_conf *a, *b;

	for (size_t i = 0; i < L->conf->naccounts; i++) {
		a = &L->conf->accounts[i];
		if (a->tenant_id == NULL || a->user_id == NULL)
			continue;
		b = conf_account_by_ids(L->conf, a->tenant_id, a->user_id);
		if (b != a)
			lerr(L, a->line, "[account:%s]: tenant_id and user_id "
			    "are those of [account:%s] (line %d)", a->name,
			    b->name, b->line);
	}
}

/* Renders a scheduled run of j for acct (may be NULL) as the daemon
 * will; says why it cannot. */
static void
trial_run(struct loader *L, const struct job_conf *j,
    const struct account_conf *acct)
{
	char **argv, err[256];

	if ((argv = conf_render_argv(j, acct, NULL, err, sizeof(err))) != NULL)
		conf_argv_free(argv);
	else if (acct != NULL)
		lerr(L, j->line, "[job:%s]: no scheduled run for [account:%s]: "
		    "%s", j->name, acct->name, err);
	else
		lerr(L, j->line, "[job:%s]: no scheduled run: %s", j->name,
		    err);
}

/*
 * Each scheduled run must render. The arguments are the defaults, the same
 * for every account, and of an account only user_email may be missing: one
 * run is rendered for the first account of the job's provider, then its
 * other accounts are checked for user_email.
 */
static void
check_runs(struct loader *L)
{
	const struct account_conf *a = L->conf->accounts;
	const struct job_conf *j;
	int first;

	for (size_t i = 0; i < L->conf->njobs; i++) {
		j = &L->conf->jobs[i];
		if (!j->has_schedule || !(L->job_ok[i] & JOB_OK))
			continue;
		if (!j->for_each_account) {
			if (!j->needs_account)
				trial_run(L, j, NULL);
			continue;
		}
		first = 1;
		for (size_t k = 0; k < L->conf->naccounts; k++) {
			if (!conf_job_serves(j, &a[k]))
				continue;
			if (first)
				trial_run(L, j, &a[k]);
			if (first || !(L->job_ok[i] & JOB_EMAIL) ||
			    a[k].user_email != NULL) {
				first = 0;
				continue;
			}
			lerr(L, j->line, "[job:%s]: no scheduled run for "
			    "[account:%s]: account '%s' has no user_email",
			    j->name, a[k].name, a[k].name);
		}
	}
}

/* The daemon reads at most 64 streams: one per queue (the 5 seed queues
 * when none is configured), two per job that consumes a stream (the
 * stream and the job's retries). */
static void
check_streams(struct loader *L)
{
	const struct conf *c = L->conf;
	size_t n = c->nqueues > 0 ? c->nqueues : 5;

	for (size_t i = 0; i < c->njobs; i++) {
		if (c->jobs[i].consume == NULL)
			continue;
		n += 2;
		if (n > 64)
			lerr(L, c->jobs[i].line, "[job:%s]: consume: more "
			    "streams than the daemon reads (64: one per queue, "
			    "two per consuming job)", c->jobs[i].name);
	}
}

static int
cerr_cmp(const void *a, const void *b)
{
	const struct cerr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Prints the errors in line order, then frees them. */
static void
errors_print(struct loader *L, FILE *errs)
{
	if (L->nerrs > 0)
		qsort(L->errs, L->nerrs, sizeof(*L->errs), cerr_cmp);
	for (size_t i = 0; i < L->nerrs; i++) {
		if (errs != NULL && L->errs[i].line > 0)
			fprintf(errs, "%s:%d: %s\n", L->path, L->errs[i].line,
			    L->errs[i].msg);
		else if (errs != NULL)
			fprintf(errs, "%s: %s\n", L->path, L->errs[i].msg);
		free(L->errs[i].msg);
	}
	if (errs != NULL && L->oom)
		fprintf(errs, "%s: out of memory\n", L->path);
	free(L->errs);
	L->errs = NULL;
}

/* 1 when an error was reported at line. */
static int
has_error_at(const struct loader *L, int line)
{
	for (size_t i = 0; i < L->nerrs; i++)
		if (L->errs[i].line == line)
			return 1;
	return 0;
}

/* Reads and checks L->text into L->conf. */
static void
conf_read(struct loader *L)
{
	int r;

	sec_start(L, SEC_DAEMON, 0, "[mailvisord]");	/* the defaults */
	sec_start(L, SEC_REDIS, 0, "[redis]");
	sec_start(L, SEC_HTTP, 0, "[http]");
	sec_start(L, SEC_NONE, 0, "");
	r = conf_parse(L);
	sec_finish(L);
	if (r == -2)
		L->oom = 1;
	else if (r > 0 && !has_error_at(L, r))
		lerr(L, r, "syntax error");
	else if (r < 0)
		lerr(L, 0, "cannot parse");
	check_accounts(L);
	check_runs(L);
	check_streams(L);
}

struct conf *
conf_load(const char *path, FILE *errs)
{
	struct loader L;
	struct conf *conf;
	char *text;
	size_t len;

	if ((text = mv_read_file(path, CONF_FILE_MAX, &len)) == NULL) {
		if (errs != NULL && errno == EMSGSIZE)
			fprintf(errs, "%s: larger than %d bytes\n", path,
			    CONF_FILE_MAX);
		else if (errs != NULL)
			fprintf(errs, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	memset(&L, 0, sizeof(L));
	L.path = path;
	L.text = text;
	L.len = len;
	L.sec.cur = -1;
	if ((conf = calloc(1, sizeof(*conf))) == NULL ||
	    (conf->path = strdup(path)) == NULL)
		L.oom = 1;
	if ((L.conf = conf) != NULL && conf->path != NULL)
		conf_read(&L);
	free(text);
	free(L.job_ok);
	if (L.nerrs > 0 || L.oom) {
		conf_free(conf);
		conf = NULL;
	}
	errors_print(&L, errs);
	return conf;
}

/* Says through warn that path (named what) is open to group or others.
 * 1 when it is, else 0. */
static int
warn_mode(const struct conf *conf, const char *what, const char *path,
    void (*warn)(const char *))
{
	char msg[PATH_MAX * 2 + 128];
	struct stat st;

	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s: %s %s is readable by group or "
	    "others; chmod 600 it", conf->path, what, path);
	warn(msg);
	return 1;
}

/* Says through warn when acct's credentials cannot be opened. */
static int
warn_credentials(const struct conf *conf, const struct account_conf *acct,
    void (*warn)(const char *))
{
	char msg[PATH_MAX * 2 + 128];
	int fd = open(acct->credentials, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd != -1) {
		close(fd);
		return 0;
	}
	snprintf(msg, sizeof(msg), "%s:%d: account %s: credentials %s: %s "
	    "(its runs will fail)", conf->path, acct->line, acct->name,
	    acct->credentials, strerror(errno));
	warn(msg);
	return 1;
}

int
conf_warn(const struct conf *conf, int credentials,
    void (*warn)(const char *msg))
{
	int n = 0;

	if (conf->http.token_file != NULL)
		n += warn_mode(conf, "[http] token_file", conf->http.token_file,
		    warn);
	for (size_t i = 0; credentials && i < conf->naccounts; i++)
		n += warn_credentials(conf, &conf->accounts[i], warn);
	return n;
}

/* Writes text in lines of at most width columns, each starting with
 * prefix. */
static void
write_wrapped(FILE *fp, const char *prefix, const char *text, size_t width)
{
	size_t col = 0, n;

	while (*text != '\0') {
		text += strspn(text, " ");
		n = strcspn(text, " ");
		if (n == 0)
			break;
		if (col > 0 && col + 1 + n > width) {
			fputc('\n', fp);
			col = 0;
		}
		col += fprintf(fp, "%s%.*s", col == 0 ? prefix : " ", (int)n,
		    text);
		text += n;
	}
	if (col > 0)
		fputc('\n', fp);
}

/* Writes "#key = value", continuing a long value on "#\t" lines as a
 * multi-line value would be written. */
static void
write_example_value(FILE *fp, const char *key, const char *v)
{
	size_t col, n;

	col = fprintf(fp, "#%s =", key);
	while (*v != '\0') {
		n = strcspn(v, " ");
		if (col + 1 + n > 78 && col > 8) {
			fputs("\n#\t", fp);
			col = 8;
		} else
			col += fprintf(fp, " ");
		col += fprintf(fp, "%.*s", (int)n, v);
		v += n;
		v += strspn(v, " ");
	}
	fputc('\n', fp);
}

/* A second job in the example: ai-worker on a thread another job saved,
 * its API key read from a file (never argv). */
static const char example_ai_job[] =
    "\n# ai-worker triaging a thread saved as JSON (see ai-worker(1)); its "
    "API key\n# is read from a file the daemon's user can read, never "
    "passed in argv.\n"
    "#[job:triage]\n"
    "#command = /usr/bin/ai-worker --action process --input {input}\n"
    "#\t--model gpt-4o-mini --api_key_file /etc/mailvisor/ai.key\n"
    "#args = input:string(4096)=/var/lib/mailvisor/thread.json\n"
    "#timeout = 300\n";

/* What each section's part of the example and of the man page opens
 * with. */
static const struct {
	enum sec	 sec;
	const char	*example;
	const char	*man;
} parts[] = {
	{ SEC_DAEMON, "\n[mailvisord]\n",
	  ".Ss The [mailvisord] section\nThe daemon itself.\n" },
	{ SEC_REDIS, "\n[redis]\n",
	  ".Ss The [redis] section\nWhere the execution records and statistics "
	  "go.\n" },
	{ SEC_HTTP, "\n[http]\n",
	  ".Ss The [http] section\nThe HTTP API of\n.Xr mailvisord 8 ,\n"
	  "read at start only.\n" },
	{ SEC_JOB, "\n# One section per job; NAME is 1 to 64 of A-Z a-z 0-9 "
	  "_ . -\n#[job:email_sync]\n",
	  ".Ss The [job:NAME] sections\nOne section per job.\n" },
	{ SEC_ACCOUNT, "\n# One section per mailbox, named like jobs.\n"
	  "#[account:alice]\n",
	  ".Ss The [account:NAME] sections\nOne section per mailbox.\n" },
	{ SEC_QUEUE, "\n# One section per queue, named like jobs; with none, "
	  "the daemon serves\n# its seed queues (see mailvisord.conf(5)).\n"
	  "#[queue:sync]\n",
	  ".Ss The [queue:NAME] sections\nOne section per queue of jobs.\n"
	  "When the file has no\n.Ic [queue:NAME]\nsection, the daemon "
	  "serves the seed queues:\n.Bl -column periodic priority "
	  "max_retries retry_backoff -offset indent\n"
	  ".It Em queue Ta Em priority Ta Em max_retries Ta "
	  "Em retry_backoff\n"
	  ".It sync Ta 10 Ta 5 Ta 60 2 240 0.1\n"
	  ".It periodic Ta 10 Ta 1 Ta 30 2 120 0.1\n"
	  ".It send Ta 8 Ta 3 Ta 30 2 120 0.1\n"
	  ".It delete Ta 5 Ta 2 Ta 30 2 120 0.1\n"
	  ".It spam Ta 3 Ta 2 Ta 30 2 120 0.1\n"
	  ".El\n.Pp\nWhen it has some, it serves exactly those, each with the "
	  "values of its\nsection; a seed queue left out is not served.\n" },
	{ SEC_STREAM, "\n# One section per stream jobs emit into or consume, "
	  "named like jobs; a\n# stream without one keeps the default.\n"
	  "#[stream:mail]\n",
	  ".Ss The [stream:NAME] sections\nOne section per stream that jobs "
	  "emit into\n.Pq Ic emit\nor consume\n.Pq Ic consume ;\na stream "
	  "without one keeps the defaults.\n" },
};

int
conf_write_example(FILE *fp)
{
	const struct directive *d;
	const char *v;

	fputs("# mailvisord.conf: every directive, commented out at its "
	    "default (or,\n# where it has none, at an example value). See "
	    "mailvisord.conf(5).\n", fp);
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		fputs(parts[p].example, fp);
		for (size_t i = 0; i < NDIRS; i++) {
			d = &dirs[i];
			if (d->sec != parts[p].sec)
				continue;
			write_wrapped(fp, "# ", d->help, 78);
			if (d->flags & D_REQ)
				fputs("# Required.\n", fp);
			v = d->def != NULL && (d->def[0] != '\0' ||
			    d->ex == NULL) ? d->def : d->ex;
			write_example_value(fp, d->key, v);
		}
		if (parts[p].sec == SEC_JOB)
			fputs(example_ai_job, fp);
	}
	return ferror(fp) ? -1 : 0;
}

/* n as the largest unit dividing it: 3600 "1h", 16777216 "16m". */
static void
fmt_scaled(char *buf, size_t len, long long n, const char *units,
    const long long *mult, size_t nunits)
{
	size_t u = nunits;

	while (u > 0 && (n == 0 || n % mult[u - 1] != 0))
		u--;
	if (u == 0 || n == 0)
		snprintf(buf, len, "%lld", n);
	else
		snprintf(buf, len, "%lld%c", n / mult[u - 1], units[u - 1]);
}

/* The man page's line on the allowed values of d, if any. */
static void
write_man_range(FILE *fp, const struct directive *d)
{
	static const long long tmult[] = { 60, 3600, 86400 };
	static const long long smult[] = { K, K * K, K * K * K, K * K * K * K };
	char lo[32], hi[32];

	if (d->type == CT_INT) {
		fprintf(fp, "From %lld to %lld.\n", d->min, d->max);
		return;
	}
	if (d->type == CT_DURATION || d->check == chk_duration) {
		fmt_scaled(lo, sizeof(lo), d->min, "mhd", tmult, 3);
		fmt_scaled(hi, sizeof(hi), d->max, "mhd", tmult, 3);
	} else if (d->type == CT_SIZE) {
		fmt_scaled(lo, sizeof(lo), d->min, "kmgt", smult, 4);
		fmt_scaled(hi, sizeof(hi), d->max, "kmgt", smult, 4);
	} else
		return;
	fprintf(fp, "From %s to %s.\n", lo, hi);
}

/* One directive's entry: ".It Ic key Ar arg", help, range, default. */
static void
write_man_dir(FILE *fp, const struct directive *d)
{
	const char *a;
	size_t n;

	fprintf(fp, ".It Ic %s ", d->key);
	if (strchr(d->arg, '|') == NULL)
		fprintf(fp, "Ar %s\n", d->arg);
	else {
		fputs("Cm", fp);
		for (a = d->arg;; a += n + 1) {
			n = strcspn(a, "|");
			fprintf(fp, " %.*s", (int)n, a);
			if (a[n] == '\0')
				break;
			fputs(" |", fp);
		}
		fputc('\n', fp);
	}
	write_wrapped(fp, "", d->help, 78);
	write_man_range(fp, d);
	if (d->flags & D_REQ)
		fputs("Required.\n", fp);
	else if (d->def != NULL && d->def[0] == '\0')
		fputs("The default is empty.\n", fp);
	else if (d->def != NULL)
		fprintf(fp, "The default is\n.Ql %s .\n", d->def);
}

int
conf_write_man(FILE *fp)
{
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		fputs(parts[p].man, fp);
		fputs(".Bl -tag -width Ds\n", fp);
		for (size_t i = 0; i < NDIRS; i++)
			if (dirs[i].sec == parts[p].sec)
				write_man_dir(fp, &dirs[i]);
		fputs(".El\n", fp);
	}
	return ferror(fp) ? -1 : 0;
}
