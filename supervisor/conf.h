/* mailvisord's configuration: the INI file, its checks, argv and env. */
#ifndef MVD_CONF_H
#define MVD_CONF_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "supervisor/backoff.h"
#include "supervisor/sched.h"

#define CONF_NAME_MAX	64		/* job, account and queue names */
#define CONF_SYNC_JOBS	4		/* names in [http] sync_job */
#define CONF_LINE_MAX	199		/* longest line, in bytes */
#define CONF_FILE_MAX	(1024 * 1024)	/* largest file */

enum conf_log_format {
	CONF_LOG_TEXT,
	CONF_LOG_JSON,
};

/* unclaimed_fires: what a fire time that cannot be claimed becomes. */
enum conf_unclaimed {
	CONF_UNCLAIMED_SKIP,	/* recorded skipped: never twice */
	CONF_UNCLAIMED_RUN,	/* run here: perhaps on several daemons */
};

/* provider: what kind of mailbox an account is, hence which worker serves
 * it. A job's provider may be CONF_PROVIDER_ANY (unset). */
enum conf_provider {
	CONF_PROVIDER_ANY = -1,
	CONF_PROVIDER_GMAIL,	/* gmail-worker */
	CONF_PROVIDER_IMAP,	/* imap-worker */
	CONF_PROVIDER_POP3,	/* imap-worker, POP3 */
};

/* A NULL-terminated array of n strings. */
struct conf_words {
	char	**v;
	size_t	  n;
};

enum conf_arg_type {
	CONF_ARG_INT,
	CONF_ARG_STRING,
	CONF_ARG_BOOL,
};

/* One declared argument of a job: `name:int(0..365)=1`. */
struct conf_arg {
	char			*name;
	enum conf_arg_type	 type;
	long long		 min, max;	/* int: bounds; string: 0, most
						 * characters */
	int			 has_default;	/* else required */
	long long		 def_int;	/* int and bool (0/1) default */
	char			*def_str;	/* string default */
};

struct conf_args {
	struct conf_arg	*v;
	size_t		 n;
};

/* [job:NAME] */
struct job_conf {
	char			*name;
	int			 line;		/* of the section header */
	struct conf_words	 command;	/* argv template: words with
						 * {placeholders}; v[0] is an
						 * absolute path */
	struct conf_args	 args;
	char			*schedule;	/* raw text; NULL: none */
	char			*timezone;	/* raw text; NULL: UTC */
	char			*jitter;	/* raw text ("0" by default) */
	long			 jitter_s;
	int			 has_schedule;
	struct sched_spec	 sched;		/* valid when has_schedule */
	int			 for_each_account;
	int			 provider;	/* enum conf_provider: the
						 * accounts it runs for */
	int			 needs_account;	/* command uses {account},
						 * {tenant_id}, ... */
	long			 max_instances;
	size_t			 memory_limit;	/* RLIMIT_DATA bytes; 0: none */
	long			 cpu_limit;	/* seconds; 0: none */
	long			 nofile;
	long			 soft_timeout;	/* seconds */
	long			 timeout;	/* seconds */
	long			 max_retries;
	char			*retry_backoff;	/* raw text */
	struct backoff		 backoff;	/* parsed retry_backoff */
	struct conf_words	 env;		/* names passed from environ */
	char			*working_directory;
	size_t			 max_output;	/* bytes of stdout */
	int			 cursor;	/* keeps a cursor per account,
						 * passed as {cursor} */
	char			*emit;		/* stream its ndjson lines go
						 * to; NULL: none */
	size_t			 max_line;	/* bytes of one line (emit) */
	char			*consume;	/* stream it runs for, one run
						 * per entry (or batch); NULL:
						 * none */
	long			 batch;		/* entries per run (consume) */
	long			 priority;	/* weight among the queues
						 * (consume) */
	long			 share;		/* percent of max_children
						 * (consume); 0: any */
};

/* Most entries of a stream in one run of a job that consumes it. */
#define CONF_BATCH_MAX	64

/* Bounds of a sync cursor (contract §5): printable ASCII. */
#define CONF_CURSOR_MAX	1024

/* Default length bound of a stream without a [stream:NAME] section. */
#define CONF_STREAM_MAXLEN	100000

/* [account:NAME] */
struct account_conf {
	char	*name;
	int	 line;
	char	*tenant_id;
	char	*user_id;
	char	*user_email;	/* NULL when not set */
	char	*credentials;	/* absolute path */
	int	 provider;	/* enum conf_provider, never ANY */
};

/*
 * [queue:NAME]: one queue of jobs. When the file has none, the daemon
 * serves its seed queues; when it has some, exactly those.
 */
struct queue_section {
	char		*name;
	int		 line;		/* of the section header */
	long		 priority;	/* 0..100: higher served first */
	long		 max_retries;	/* 0..100 retries of a retryable
					 * failure */
	char		*retry_backoff;	/* raw text */
	struct backoff	 backoff;	/* parsed retry_backoff */
	long		 share;		/* percent of max_children the
					 * queue may use; 0: any */
};

/* [stream:NAME]: a stream jobs emit into. */
struct stream_section {
	char	*name;
	int	 line;		/* of the section header */
	long	 maxlen;	/* entries kept (XADD MAXLEN ~) */
};

/* [mailvisord] */
struct conf_daemon {
	long	 max_children;
	int	 log_level;	/* enum log_level of shared/log.h */
	int	 log_format;	/* enum conf_log_format */
	long	 grace_period;	/* seconds */
	char	*user;		/* NULL: workers keep the daemon's ids */
	char	*group;		/* NULL: the user's primary group */
	int	 drop_privs;	/* user or group was set */
	uid_t	 uid;		/* resolved user (the daemon's uid if none) */
	gid_t	 gid;		/* resolved group */
	char	*cgroup;	/* NULL: no cgroup */
	long	 record_buffer;
	char	*queue_group;	/* consumer group of the queues */
	char	*consumer_name;	/* NULL: HOST:PID */
	long	 idempotency_ttl;	/* seconds */
	long	 tenant_limit;	/* runs at once per tenant; 0: no limit */
	long	 reclaim_margin;	/* seconds */
	int	 unclaimed_fires;	/* enum conf_unclaimed */
};

/* [redis] */
struct conf_redis {
	char	*url;		/* NULL when socket is set */
	char	*socket;	/* NULL: use url */
	char	*password_file;	/* NULL: no AUTH */
	long	 db;
	char	*key_prefix;	/* "" by default */
	long	 metrics_ttl;	/* seconds */
	long	 history_max;
	long	 failures_max_age;	/* seconds */
};

/* Bounds of the bearer token of the HTTP API, in bytes. */
#define CONF_TOKEN_MIN	16
#define CONF_TOKEN_MAX	1024

/* [http]: the HTTP API (read at start only). */
struct conf_http {
	char	*listen;	/* HOST:PORT or [V6]:PORT; NULL: API off */
	char	*host;		/* of listen, without brackets */
	int	 port;		/* of listen, 1..65535 */
	int	 loopback;	/* host is 127.0.0.0/8, ::1 or localhost */
	char	*token_file;	/* NULL: no token */
	char	*token;		/* its content, read at load (never
				 * printed; wiped by conf_free()); NULL:
				 * no token */
	size_t	 max_body;	/* bytes of a request body */
	long	 timeout;	/* seconds to send a request */
	char	*sync_job;	/* job of POST .../sync/trigger */
	char	*ai_thread_job;	/* jobs of POST .../ai/process/trigger */
	char	*ai_bulk_job;
	char	*allowed_hosts;	/* blank-separated Host names; NULL:
				 * the defaults (see api.c) */
};

struct conf {
	char			*path;
	struct conf_daemon	 daemon;
	struct conf_redis	 redis;
	struct conf_http	 http;
	struct job_conf		*jobs;
	size_t			 njobs;
	struct account_conf	*accounts;
	size_t			 naccounts;
	struct queue_section	*queues;	/* none: the seed queues */
	size_t			 nqueues;
	struct stream_section	*streams;
	size_t			 nstreams;
};

/*
 * Loads and checks the file at path. Returns a new configuration (free it
 * with conf_free()), or NULL after printing every error found, one a line
 * as "path:line: message", to errs (nothing printed when errs is NULL).
 */
struct conf *conf_load(const char *path, FILE *errs);

/*
 * Says, through warn (one message a call, "path: ..." or "path:line:
 * ..."), what conf allows but should not be: a token_file that group or
 * others may read; with credentials set, each account whose credentials
 * file is missing or cannot be read by this process (its runs would
 * fail). Returns the number of warnings.
 */
int conf_warn(const struct conf *conf, int credentials,
    void (*warn)(const char *msg));

/* Frees conf and everything it holds. NULL-safe. */
void conf_free(struct conf *);

/* The job, account or queue of that name, or NULL. Borrowed from conf. */
const struct job_conf *conf_job(const struct conf *, const char *name);
const struct account_conf *conf_account(const struct conf *,
    const char *name);
const struct queue_section *conf_queue(const struct conf *,
    const char *name);

/* The length bound of the stream called name: its section's maxlen, else
 * CONF_STREAM_MAXLEN. */
long conf_stream_maxlen(const struct conf *, const char *name);

/* 1 when the configuration names the stream: a [stream:NAME] section
 * declares it, a job emits into it or consumes it; else 0. */
int conf_stream_named(const struct conf *, const char *name);

/* 1 when s (len bytes) is a valid cursor: printable ASCII, at most
 * CONF_CURSOR_MAX bytes (empty included); else 0. */
int conf_cursor_valid(const char *s, size_t len);

/* The name of provider p ("gmail", "imap", "pop3"; "any"). Static. */
const char *conf_provider_name(int p);

/* The provider called name, or -1 when there is none ("any" included). */
int conf_provider_parse(const char *name);

/* 1 when job runs for acct: its provider is unset or acct's; else 0. */
int conf_job_serves(const struct job_conf *job,
    const struct account_conf *acct);

/* The account whose tenant_id and user_id are these, or NULL. Borrowed. */
const struct account_conf *conf_account_by_ids(const struct conf *,
    const char *tenant, const char *user);

/*
 * The argv of one run of job: each template word with its placeholders
 * filled from the account (may be NULL when the command uses none of
 * {account}, {tenant_id}, {user_id}, {user_email}, {credentials}) and from
 * args (a JSON object of declared arguments, or NULL; missing ones take
 * their defaults). Every value is checked against its declaration and
 * stays inside its word; a value from args may not begin a word with '-'.
 * Returns a new NULL-terminated array (free with conf_argv_free()), or
 * NULL with the reason in err (unknown argument, wrong type, out of
 * bounds, missing required argument or account field, out of memory).
 */
char **conf_render_argv(const struct job_conf *,
    const struct account_conf *acct, json_t *args, char *err, size_t errlen);

/* As conf_render_argv(), with cursor (NULL: "") for {cursor}: a run of a
 * job with cursor = yes. */
char **conf_render_argv_cursor(const struct job_conf *,
    const struct account_conf *acct, json_t *args, const char *cursor,
    char *err, size_t errlen);

/*
 * The environment of a worker of job: NAME=value for each allowlisted name
 * set in the daemon's environment. Returns a new NULL-terminated array
 * (free with conf_argv_free()), or NULL when out of memory.
 */
char **conf_render_env(const struct job_conf *);

/* Frees an array from conf_render_argv(), conf_render_env() or
 * conf_split_command(). NULL-safe. */
void conf_argv_free(char **);

/*
 * Splits s into words like a shell word list (single quotes, double quotes,
 * backslash escapes) without any expansion: an unquoted ; | & < > ( ) $ `
 * * ? [ or a word starting with ~ or # is refused. Returns a new
 * NULL-terminated array (free with conf_argv_free()) and its length in
 * *np, or NULL with the reason in err.
 */
char **conf_split_command(const char *s, size_t *np, char *err,
    size_t errlen);

/* Writes the example configuration (every directive, commented out at its
 * default) or the mdoc lists of directives of mailvisord.conf(5), both made
 * from the directive table. Returns 0, or -1 on a write error. */
/* The names of s separated by blanks (as [http] sync_job holds them)
 * into v, at most max: how many, or -1 when one is longer than
 * CONF_NAME_MAX. */
int conf_names(const char *s, char (*v)[CONF_NAME_MAX + 1], int max);
int conf_write_example(FILE *);
int conf_write_man(FILE *);

#endif
