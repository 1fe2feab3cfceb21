/* Worker processes: isolated spawn, pipes, timeouts, reaping, results. */
#ifndef MVD_CHILD_H
#define MVD_CHILD_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

/* stdout cap used when child_limits.max_output is 0. */
#define CHILD_MAX_OUTPUT_DEFAULT	(16 * 1024 * 1024)
/* Bytes of stderr kept for the record. */
#define CHILD_STDERR_TAIL		8192
/* A stderr line longer than this is logged cut, ending in "...". */
#define CHILD_LINE_MAX			1024
/* Seconds the pipes may stay open after the worker was reaped. */
#define CHILD_LINGER			1.0
/* Stderr lines logged per run; later ones only reach the tail. */
#define CHILD_LOG_LINES_MAX		10000

/* A complete stdout line of a worker in line mode (no newline; s[len] is
 * NUL), borrowed for the call. */
typedef void (*child_line_fn)(const char *s, size_t len, void *arg);

/*
 * What a worker may use. Zero means "none" (the daemon's own limit) for
 * every number but max_output. Always: RLIMIT_CORE 0, no_new_privs, a
 * parent-death SIGKILL. Strings and envp are borrowed for the duration
 * of child_spawn() only.
 */
struct child_limits {
	size_t		 memory;	/* bytes: RLIMIT_DATA, memory.max */
	long		 cpu_s;		/* RLIMIT_CPU soft, hard 1 s more */
	long		 nofile;	/* RLIMIT_NOFILE */
	double		 soft_timeout;	/* s: SIGTERM to the group */
	double		 timeout;	/* s: SIGKILL to the group */
	size_t		 max_output;	/* stdout cap; 0: the default above */
	int		 drop_privs;	/* 1: setgid, setgroups, setuid */
	uid_t		 uid;
	gid_t		 gid;
	const char	*cwd;		/* NULL: the daemon's */
	char *const	*envp;		/* the whole environment; NULL: empty */
	const char	*cgroup;	/* delegated cgroup v2 dir or NULL */
	/* Line mode, when on_line is set: each non-blank stdout line but
	 * the last goes to on_line(line, len, line_arg) as soon as the next
	 * one is complete, and is not kept; the last is the run's result.
	 * max_line (0: the default above) caps one line instead of the
	 * whole stdout. */
	child_line_fn	 on_line;
	void		*line_arg;
	size_t		 max_line;
	/* The worker's stdin: input[0..input_len) when input is set (copied
	 * by child_spawn()), else /dev/null. */
	const char	*input;
	size_t		 input_len;
};

/*
 * Outcomes, named as contract §2 names them by child_status_name(). The
 * first rule that applies decides (child_classify() in child.c):
 * revoked; output_too_large; failed (exit 127) when the process failed
 * before exec; timeout when our timeout signalled it, unless it still
 * exited 0 with a success; killed by any other signal; bad_output when
 * stdout is not a JSON object (nor ndjson ending in one), except that an
 * empty stdout with a non-zero exit is failed; success on exit 0 with
 * "status": "success"; else failed. Retryable: timeout and killed always;
 * failed by error.retryable when it is a boolean, else exit code 75 (a
 * failure before exec: a lack of resources, EAGAIN, ENOMEM...); the
 * others never.
 */
enum child_status {
	CHILD_SUCCESS,
	CHILD_FAILED,
	CHILD_TIMEOUT,
	CHILD_KILLED,
	CHILD_OUTPUT_TOO_LARGE,
	CHILD_BAD_OUTPUT,
	CHILD_REVOKED,
};

/* How one run ended. Every pointer is borrowed: valid during the done
 * callback only (json_incref() result, copy strings to keep them). */
struct child_result {
	enum child_status status;
	int		 retryable;	/* 1: another attempt may succeed */
	int		 exit_code;	/* -1 when signalled */
	int		 signal;	/* the signal that ended it; 0 none */
	json_t		*result;	/* worker's JSON object (ndjson: last
					 * line), or NULL */
	const char	*stderr_tail;	/* last 8 KiB, UTF-8, never NULL */
	double		 duration;	/* s, spawn to reap (monotonic) */
	time_t		 started_at;	/* wall clock */
	time_t		 completed_at;
	double		 user_cpu;	/* s, rusage of the worker and its
					 * reaped descendants */
	double		 system_cpu;
	long		 max_rss_kb;	/* peak RSS, see rss_source */
	const char	*rss_source;	/* "cgroup" (memory.peak) or "rusage" */
	const char	*reason;	/* human text; NULL on success */
};

struct child;

/* Called once per spawned child, from the event loop, when it is done.
 * The child is freed when the callback returns. */
typedef void (*child_done_fn)(struct child *, const struct child_result *,
    void *arg);

/* The worker's result in its stdout s[0..len): the whole as one JSON
 * object, else its last non-blank line as one (ndjson). New reference,
 * or NULL (bad output: nothing, or no such object). */
json_t *child_output_result(const char *s, size_t len);

/* The contract name of a status ("success", "output_too_large", ...);
 * "unknown" for a value outside the enum. */
const char *child_status_name(enum child_status);

/*
 * Runs argv[0] (an absolute path, or relative to cwd: there is no PATH
 * search) with argv, in its own session and process group, stdin from
 * limits->input or /dev/null, stdout and stderr on pipes watched on base, under limits.
 * tag prefixes the worker's stderr lines in the log ("job x id 1").
 * done(child, result, arg) is called later from the loop, never from
 * inside child_spawn().
 *
 * Returns the child (owned by this module; valid until done returns), or
 * NULL with a message in err when nothing could be started (pipes, fds,
 * the cgroup, vfork). A failure of the new process itself before exec
 * (exec, chdir, setuid, setrlimit, ...) is a result: exit 127 and a
 * reason such as "exec /x: No such file or directory".
 *
 * The daemon must call child_reap() from its SIGCHLD event.
 */
struct child *child_spawn(struct event_base *base, char *const argv[],
    const struct child_limits *limits, const char *tag, child_done_fn done,
    void *arg, char *err, size_t errlen);

/* Stops (paused 1) or resumes (0) reading the child's stdout: a worker
 * that writes more then blocks on its pipe. */
void child_pause_stdout(struct child *, int paused);

/* Kills the child's process group now; its result will be "revoked"
 * (not retryable). No effect on a child whose result is being reported. */
void child_revoke(struct child *);

/* The worker's process id (also its process group and session id). */
pid_t child_pid(const struct child *);

/*
 * For shutdown: SIGTERM to every child's group now, SIGKILL to those
 * still running grace seconds later (timers: returns at once). Results
 * are reported as usual (a signal is "killed", retryable); the caller
 * runs its loop until child_count() is 0.
 */
void child_terminate_all(double grace);

/* Children spawned and not yet reported. */
int child_count(void);

/* Reaps every exited child (waitpid(-1, WNOHANG) through wait4 for
 * rusage); a pid that is not ours is logged as a warning. */
void child_reap(void);

/*
 * The execution record of contract §2 for a finished run (built with
 * shared/record.h): worker is the job's name. Call it from the done
 * callback (res is borrowed). Returns a new reference, or NULL (out of
 * memory, or a job_id or worker that is NULL).
 */
json_t *child_record(const char *worker, const char *job_id,
    int attempt, const struct child_result *res);

/* How children are made: CHILD_SPAWN_VFORK (the default: the cost does
 * not grow with the daemon's memory), CHILD_SPAWN_FORK for comparison in
 * measurements only (child_spawn() then waits for the exec). */
enum child_spawn_method {
	CHILD_SPAWN_VFORK,
	CHILD_SPAWN_FORK,
};
void child_set_spawn_method(enum child_spawn_method);

#endif
