/* Worker processes: vfork/exec in isolation, pipes, timeouts, reaping and
 * the classification of each run. */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/buf.h"
#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/record.h"
#include "shared/str.h"
#include "shared/utf8.h"
#include "supervisor/child.h"

/* Bytes read from one pipe per wake-up, so that a chatty worker cannot
 * starve the loop; and at most this much more once the group is killed. */
#define CHILD_READ_BUDGET	(256 * 1024)
#define CHILD_DRAIN_MAX		(1024 * 1024)
/* Retries (100 ms apart) of the rmdir of a cgroup still populated. */
#define CHILD_CG_TRIES		20

/* What the new process was doing when it failed before exec. */
enum child_step {
	STEP_DUP,
	STEP_CLOSE,
	STEP_SETSID,
	STEP_SIGNALS,
	STEP_NO_NEW_PRIVS,
	STEP_CGROUP,
	STEP_SETGID,
	STEP_SETGROUPS,
	STEP_SETUID,
	STEP_PDEATHSIG,
	STEP_RLIMIT_DATA,
	STEP_RLIMIT_CPU,
	STEP_RLIMIT_NOFILE,
	STEP_RLIMIT_CORE,
	STEP_CHDIR,
	STEP_EXEC,
	STEP__COUNT
};

static const char *const child_step_names[STEP__COUNT] = {
	"dup2", "closefrom", "setsid", "sigaction", "prctl PR_SET_NO_NEW_PRIVS",
	"cgroup", "setgid", "setgroups", "setuid", "prctl PR_SET_PDEATHSIG",
	"setrlimit RLIMIT_DATA", "setrlimit RLIMIT_CPU",
	"setrlimit RLIMIT_NOFILE", "setrlimit RLIMIT_CORE", "chdir", "exec",
};

/* Sent by the new process on the close-on-exec pipe when it gives up. */
struct child_report {
	int	step;		/* enum child_step; -1: exec succeeded */
	int	err;		/* errno */
};

/* Why we stopped a child ourselves. */
enum child_cause {
	CAUSE_NONE,
	CAUSE_TIMEOUT,
	CAUSE_OUTPUT,
	CAUSE_REVOKED,
};

/* Everything the new process needs, prepared before vfork: between vfork
 * and execve it only reads this and makes system calls. */
struct child_plan {
	char *const	*argv;
	char *const	*envp;
	const char	*cwd;
	int		 fd_in;		/* /dev/null, or the input */
	int		 fd_out;	/* write ends, all >= 3 */
	int		 fd_err;
	int		 report_w;	/* close-on-exec report pipe */
	int		 report_r;
	int		 cg_fd;		/* cgroup.procs or -1 */
	int		 keep[2];	/* fds kept past closefrom, sorted */
	int		 nkeep;
	unsigned int	 maxfd;		/* bound for the close() fallback */
	int		 drop_privs;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 parent;
	struct rlimit	 data, cpu, nofile;	/* rlim_cur 0: leave alone */
};

struct child_pipe {
	int		 fd;		/* -1 once closed */
	struct event	*ev;
};

struct child {
	TAILQ_ENTRY(child) entry;
	struct event_base *base;
	pid_t		 pid;
	char		*tag;
	char		*path;
	char		*cwd;
	child_done_fn	 done;
	void		*arg;

	struct child_pipe out, err;
	struct event	*ev_soft, *ev_hard, *ev_linger, *ev_kill;
	double		 soft_timeout, timeout;
	size_t		 memory;
	long		 cpu_s;
	uid_t		 uid;
	gid_t		 gid;

	struct mv_buf	 stdout_buf;	/* line mode: the line being read */
	struct mv_buf	 held;		/* line mode: the last whole line */
	child_line_fn	 on_line;
	void		*line_arg;
	int		 out_paused;
	char		 tail[CHILD_STDERR_TAIL];
	size_t		 tail_len;
	char		 line[CHILD_LINE_MAX + 2];
	size_t		 line_len;
	long		 lines;

	enum child_cause cause;
	int		 cause_sig;	/* last signal sent for the cause */
	int		 shutdown;	/* child_terminate_all() reached it */
	int		 reaped;
	int		 wstatus;
	struct rusage	 ru;
	int64_t		 start_ms, end_ms;
	time_t		 started_at, completed_at;
	struct child_report report;

	char		*cgdir;		/* own cgroup, or NULL */
	long		 cg_peak_kb;	/* -1: not read */
	long		 cg_oom_kills;
	int		 reporting;	/* inside the done callback */
	json_t		*result;
	char		 reason[768];
};

TAILQ_HEAD(child_list, child);
static struct child_list children = TAILQ_HEAD_INITIALIZER(children);
static int nchildren;
static enum child_spawn_method spawn_method = CHILD_SPAWN_VFORK;

/* A cgroup directory still populated when its child was done. */
struct child_cgrm {
	TAILQ_ENTRY(child_cgrm) entry;
	struct event	*ev;
	char		*dir;
	int		 tries;
};
TAILQ_HEAD(child_cgrm_list, child_cgrm);
static struct child_cgrm_list cgrms = TAILQ_HEAD_INITIALIZER(cgrms);

static void child_check_done(struct child *);

const char *
child_status_name(enum child_status s)
{
	static const char *const names[] = {
		"success", "failed", "timeout", "killed", "output_too_large",
		"bad_output", "revoked",
	};

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}

void
child_set_spawn_method(enum child_spawn_method m)
{
	spawn_method = m;
}

int
child_count(void)
{
	return nchildren;
}

pid_t
child_pid(const struct child *c)
{
	return c->pid;
}

/*
 * The new process, between vfork and execve.
 *
 * It shares the daemon's memory (vfork) and runs on its stack, so it only
 * reads the plan and makes system calls through their thin libc wrappers:
 * nothing here allocates, takes a lock or touches stdio. Signal
 * dispositions are the exception that proves the rule: vfork does not
 * share the handler table (no CLONE_SIGHAND), so sigaction() here changes
 * only the child's, and all signals are blocked until it is reset, so no
 * handler of the daemon ever runs in the child. Credentials go through
 * raw syscall(): glibc's setuid() would broadcast to the daemon's threads.
 * On failure, which step and errno go to the report pipe, then _exit(127).
 */
static void __attribute__((noreturn))
child_fail(const struct child_plan *p, int step)
{
	struct child_report r;
	ssize_t n;

	r.step = step;
	r.err = errno;
	n = write(p->report_w, &r, sizeof(r));
	(void)n;
	_exit(127);
}

/* closefrom(3), except the report pipe and cgroup.procs (close-on-exec:
 * they are gone once execve succeeds). close_range() is one system call;
 * without it (Linux < 5.9) close() every fd up to the limit. */
static void
child_close_fds(const struct child_plan *p)
{
	unsigned int lo = 3, fd;
	int i, j;

	for (i = 0; i < p->nkeep; i++) {
		if ((unsigned int)p->keep[i] > lo &&
		    close_range(lo, (unsigned int)p->keep[i] - 1, 0) == -1)
			goto slow;
		lo = (unsigned int)p->keep[i] + 1;
	}
	if (close_range(lo, ~0U, 0) == 0)
		return;
slow:
	for (fd = 3; fd < p->maxfd; fd++) {
		for (j = 0; j < p->nkeep; j++)
			if ((unsigned int)p->keep[j] == fd)
				break;
		if (j == p->nkeep)
			close((int)fd);
	}
}

/* Default dispositions (an ignored signal would stay ignored across
 * execve) and an empty mask. glibc refuses its two internal signals with
 * EINVAL: they are never set. */
static void
child_reset_signals(const struct child_plan *p)
{
	/* The kernel's struct sigaction: raw system calls, so that no libc
	 * or sanitizer wrapper runs in the vfork child, and glibc's own
	 * real-time signals (32, 33), which its sigaction() refuses to
	 * touch, are reset too. */
	struct {
		void		*handler;
		unsigned long	 flags;
		void		*restorer;
		uint64_t	 mask;
	} dfl = { 0 };
	uint64_t none = 0;
	int sig;

	dfl.handler = (void *)SIG_DFL;
	for (sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL,
			    sizeof(uint64_t));
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
	    sizeof(none)) == -1)
		child_fail(p, STEP_SIGNALS);
}

static void
child_drop_privs(const struct child_plan *p)
{
	if (syscall(SYS_setgid, p->gid) == -1)
		child_fail(p, STEP_SETGID);
	if (syscall(SYS_setgroups, 1, &p->gid) == -1)
		child_fail(p, STEP_SETGROUPS);
	if (syscall(SYS_setuid, p->uid) == -1)
		child_fail(p, STEP_SETUID);
}

static void
child_set_limits(const struct child_plan *p)
{
	static const struct rlimit zero;

	if (p->data.rlim_cur && setrlimit(RLIMIT_DATA, &p->data) == -1)
		child_fail(p, STEP_RLIMIT_DATA);
	if (p->cpu.rlim_cur && setrlimit(RLIMIT_CPU, &p->cpu) == -1)
		child_fail(p, STEP_RLIMIT_CPU);
	if (p->nofile.rlim_cur && setrlimit(RLIMIT_NOFILE, &p->nofile) == -1)
		child_fail(p, STEP_RLIMIT_NOFILE);
	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		child_fail(p, STEP_RLIMIT_CORE);
}

/*
 * In order: stdio, closefrom, setsid, signals, no_new_privs, cgroup,
 * credentials, parent-death signal, rlimits, chdir, execve. The
 * parent-death signal comes after the credentials because changing them
 * clears it; the getppid() check closes the race with a daemon that died
 * before prctl(). Writing "0" to cgroup.procs moves the writer itself.
 */
static void __attribute__((noreturn, noinline))
child_exec(const struct child_plan *p)
{
	if (dup2(p->fd_in, 0) == -1 || dup2(p->fd_out, 1) == -1 ||
	    dup2(p->fd_err, 2) == -1)
		child_fail(p, STEP_DUP);
	child_close_fds(p);
	if (setsid() == -1)
		child_fail(p, STEP_SETSID);
	child_reset_signals(p);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		child_fail(p, STEP_NO_NEW_PRIVS);
	if (p->cg_fd != -1 && write(p->cg_fd, "0", 1) != 1)
		child_fail(p, STEP_CGROUP);
	if (p->drop_privs)
		child_drop_privs(p);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		child_fail(p, STEP_PDEATHSIG);
	if (getppid() != p->parent) {
		errno = ESRCH;
		child_fail(p, STEP_PDEATHSIG);
	}
	child_set_limits(p);
	if (p->cwd != NULL && chdir(p->cwd) == -1)
		child_fail(p, STEP_CHDIR);
	execve(p->argv[0], p->argv, p->envp);
	child_fail(p, STEP_EXEC);
}

/* Moves fd to a number >= 3 (close-on-exec) so that the dup2() onto 0, 1
 * and 2 can never overwrite a source, even in a daemon started with a
 * standard fd closed. Returns the fd, or -1 (fd closed either way). */
static int
child_fd_high(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static int
child_pipe(int *rd, int *wr)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) == -1)
		return -1;
	*rd = child_fd_high(fds[0]);
	*wr = child_fd_high(fds[1]);
	if (*rd == -1 || *wr == -1)
		return -1;
	return 0;
}

static void
child_close(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

static void
child_plan_close(struct child_plan *p)
{
	child_close(&p->fd_in);
	child_close(&p->fd_out);
	child_close(&p->fd_err);
	child_close(&p->report_w);
	child_close(&p->report_r);
	child_close(&p->cg_fd);
}

static void
child_rlimit(struct rlimit *r, rlim_t soft, rlim_t hard)
{
	r->rlim_cur = soft;
	r->rlim_max = hard;
}

static void
child_plan_init(struct child_plan *p, char *const argv[],
    const struct child_limits *l)
{
	static char *const empty_env[] = { NULL };
	struct rlimit nofile;

	memset(p, 0, sizeof(*p));
	p->argv = argv;
	p->envp = l->envp != NULL ? l->envp : empty_env;
	p->cwd = l->cwd;
	p->fd_in = p->fd_out = p->fd_err = -1;
	p->report_w = p->report_r = p->cg_fd = -1;
	/* Already that user (a daemon started by its service manager as
	 * the user the configuration names): nothing to drop, and
	 * setgroups would fail without privilege. */
	p->drop_privs = l->drop_privs && !(getuid() == l->uid &&
	    geteuid() == l->uid && getgid() == l->gid && getegid() == l->gid);
	p->uid = l->uid;
	p->gid = l->gid;
	p->parent = getpid();
	p->maxfd = 65536;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_cur < p->maxfd)
		p->maxfd = (unsigned int)nofile.rlim_cur;
	if (l->memory)
		child_rlimit(&p->data, l->memory, l->memory);
	if (l->cpu_s > 0)
		child_rlimit(&p->cpu, (rlim_t)l->cpu_s, (rlim_t)l->cpu_s + 1);
	if (l->nofile > 0)
		child_rlimit(&p->nofile, (rlim_t)l->nofile, (rlim_t)l->nofile);
}

/* Writes a short value into dir/file. Returns 0 or -1 with errno. */
static int
child_cg_write(const char *dir, const char *file, const char *val)
{
	char path[4096];
	ssize_t n;
	int fd, saved;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, val, strlen(val));
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * Makes the child's own cgroup under limits->cgroup (named after the
 * daemon's pid and a sequence number, so that daemons can share one
 * subtree), sets memory.max (and no swap), and opens its cgroup.procs
 * for the new process to enter. Returns 0, or -1 with err.
 */
static int
child_cg_make(struct child *c, const struct child_limits *l,
    struct child_plan *p, char *err, size_t errlen)
{
	static unsigned long seq;
	static int warned;
	char val[32], path[4096];

	if (asprintf(&c->cgdir, "%s/mv-%ld-%lu", l->cgroup, (long)getpid(),
	    ++seq) == -1) {
		c->cgdir = NULL;
		return mv_errf(err, errlen, "cgroup: out of memory");
	}
	if (mkdir(c->cgdir, 0755) == -1) {
		mv_errf(err, errlen, "cgroup %s: %s", c->cgdir,
		    strerror(errno));
		free(c->cgdir);
		c->cgdir = NULL;
		return -1;
	}
	snprintf(val, sizeof(val), "%zu", l->memory);
	if (l->memory && child_cg_write(c->cgdir, "memory.max", val) == -1 &&
	    !warned++)
		log_warn("cgroup %s: memory.max (is the memory controller "
		    "enabled?)", c->cgdir);
	/* Without swap, the limit ends in the OOM killer, not in thrashing
	 * (no swap accounting, no file: fine). */
	if (l->memory)
		(void)child_cg_write(c->cgdir, "memory.swap.max", "0");
	snprintf(path, sizeof(path), "%s/cgroup.procs", c->cgdir);
	if ((p->cg_fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return mv_errf(err, errlen, "cgroup %s: %s", path,
		    strerror(errno));
	p->cg_fd = child_fd_high(p->cg_fd);
	return 0;
}

static int
child_timer(struct child *c, struct event **ev,
    void (*fn)(evutil_socket_t, short, void *))
{
	*ev = evtimer_new(c->base, fn, c);
	return *ev == NULL ? -1 : 0;
}

static void child_on_stdout(evutil_socket_t, short, void *);
static void child_on_stderr(evutil_socket_t, short, void *);
static void child_on_soft(evutil_socket_t, short, void *);
static void child_on_hard(evutil_socket_t, short, void *);
static void child_on_linger(evutil_socket_t, short, void *);
static void child_on_kill(evutil_socket_t, short, void *);

/* Every event the child will need, made before it exists: nothing can
 * fail once the process runs. */
static int
child_events(struct child *c)
{
	c->out.ev = event_new(c->base, c->out.fd, EV_READ | EV_PERSIST,
	    child_on_stdout, c);
	c->err.ev = event_new(c->base, c->err.fd, EV_READ | EV_PERSIST,
	    child_on_stderr, c);
	if (c->out.ev == NULL || c->err.ev == NULL ||
	    child_timer(c, &c->ev_soft, child_on_soft) == -1 ||
	    child_timer(c, &c->ev_hard, child_on_hard) == -1 ||
	    child_timer(c, &c->ev_linger, child_on_linger) == -1 ||
	    child_timer(c, &c->ev_kill, child_on_kill) == -1)
		return -1;
	return 0;
}

/* The run's stdin: a memory file holding input[0..len), read from its
 * start (a file, not a pipe: the daemon never waits for the worker to
 * read it, and a worker that does not read it cannot block). Returns the
 * fd (close-on-exec) or -1. */
static int
child_input(const char *input, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = memfd_create("mailvisor-input", MFD_CLOEXEC)) == -1)
		return -1;
	while (off < len) {
		n = write(fd, input + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens /dev/null (or the input), the pipes, the cgroup and the events.
 * Returns 0, or -1 with err (the caller closes the plan and frees c). */
static int
child_prepare(struct child *c, const struct child_limits *l,
    struct child_plan *p, char *err, size_t errlen)
{
	if (l->cgroup != NULL && child_cg_make(c, l, p, err, errlen) == -1)
		return -1;
	if (l->input != NULL) {
		p->fd_in = child_fd_high(child_input(l->input, l->input_len));
		if (p->fd_in == -1)
			return mv_errf(err, errlen, "input: %s",
			    strerror(errno));
	} else {
		p->fd_in = child_fd_high(open("/dev/null", O_RDONLY |
		    O_CLOEXEC));
		if (p->fd_in == -1)
			return mv_errf(err, errlen, "/dev/null: %s",
			    strerror(errno));
	}
	if (child_pipe(&c->out.fd, &p->fd_out) == -1 ||
	    child_pipe(&c->err.fd, &p->fd_err) == -1 ||
	    child_pipe(&p->report_r, &p->report_w) == -1)
		return mv_errf(err, errlen, "pipe: %s", strerror(errno));
	if (fcntl(c->out.fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(c->err.fd, F_SETFL, O_NONBLOCK) == -1)
		return mv_errf(err, errlen, "fcntl: %s", strerror(errno));
	p->keep[p->nkeep++] = p->report_w;
	if (p->cg_fd != -1)
		p->keep[p->nkeep++] = p->cg_fd;
	if (p->nkeep == 2 && p->keep[0] > p->keep[1]) {
		p->keep[0] = p->cg_fd;
		p->keep[1] = p->report_w;
	}
	if (child_events(c) == -1)
		return mv_errf(err, errlen, "event: out of memory");
	return 0;
}

/*
 * vfork (or fork), with every signal blocked so that no handler of the
 * daemon runs in the child before it resets them. With vfork the daemon
 * resumes once the child has exec'd or exited, so the report pipe is read
 * without waiting. Returns 0, or -1 with err.
 */
static int
child_start(struct child *c, struct child_plan *p, char *err, size_t errlen)
{
	sigset_t all, old;
	pid_t pid;
	int saved;
	ssize_t n;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	c->start_ms = mv_mono_ms();
	c->started_at = time(NULL);
	if (spawn_method == CHILD_SPAWN_FORK)
		pid = fork();
	else
		pid = vfork();
	if (pid == 0)
		child_exec(p);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1)
		return mv_errf(err, errlen, "vfork: %s", strerror(saved));
	c->pid = pid;
	child_close(&p->report_w);
	do
		n = read(p->report_r, &c->report, sizeof(c->report));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(c->report) || c->report.step < 0 ||
	    c->report.step >= STEP__COUNT)
		c->report.step = -1;
	return 0;
}

static char *
child_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

static void
child_free(struct child *c)
{
	if (c == NULL)
		return;
	if (c->out.ev)
		event_free(c->out.ev);
	if (c->err.ev)
		event_free(c->err.ev);
	if (c->ev_soft)
		event_free(c->ev_soft);
	if (c->ev_hard)
		event_free(c->ev_hard);
	if (c->ev_linger)
		event_free(c->ev_linger);
	if (c->ev_kill)
		event_free(c->ev_kill);
	child_close(&c->out.fd);
	child_close(&c->err.fd);
	if (c->cgdir != NULL && c->pid == 0)
		(void)rmdir(c->cgdir);
	mv_buf_free(&c->stdout_buf);
	mv_buf_free(&c->held);
	json_decref(c->result);
	free(c->cgdir);
	free(c->tag);
	free(c->path);
	free(c->cwd);
	free(c);
}

/* A new child record with copies of what it must remember; NULL when out
 * of memory. */
static struct child *
child_new(struct event_base *base, const char *path,
    const struct child_limits *l, const char *tag, child_done_fn done,
    void *arg)
{
	struct child *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->out.fd = c->err.fd = -1;
	c->done = done;
	c->arg = arg;
	c->soft_timeout = l->soft_timeout;
	c->timeout = l->timeout;
	c->memory = l->memory;
	c->cpu_s = l->cpu_s;
	c->uid = l->uid;
	c->gid = l->gid;
	c->cg_peak_kb = -1;
	c->report.step = -1;
	if (l->on_line != NULL) {
		c->on_line = l->on_line;
		c->line_arg = l->line_arg;
		mv_buf_init(&c->stdout_buf, l->max_line ? l->max_line :
		    CHILD_MAX_OUTPUT_DEFAULT);
		mv_buf_init(&c->held, c->stdout_buf.max);
	} else
		mv_buf_init(&c->stdout_buf, l->max_output ? l->max_output :
		    CHILD_MAX_OUTPUT_DEFAULT);
	c->tag = strdup(tag != NULL ? tag : "worker");
	c->path = strdup(path);
	c->cwd = child_strdup(l->cwd);
	if (c->tag == NULL || c->path == NULL || (l->cwd && c->cwd == NULL)) {
		child_free(c);
		return NULL;
	}
	return c;
}

static void
child_tv(struct timeval *tv, double s)
{
	tv->tv_sec = (time_t)s;
	tv->tv_usec = (suseconds_t)((s - (double)tv->tv_sec) * 1e6);
}

/* Starts watching the pipes and the deadlines. A soft timeout at or past
 * the hard one is pointless and left out. */
static void
child_watch(struct child *c)
{
	struct timeval tv;

	if (event_add(c->out.ev, NULL) == -1 ||
	    event_add(c->err.ev, NULL) == -1)
		log_warnx("%s: cannot watch the pipes", c->tag);
	if (c->soft_timeout > 0 &&
	    (c->timeout <= 0 || c->soft_timeout < c->timeout)) {
		child_tv(&tv, c->soft_timeout);
		evtimer_add(c->ev_soft, &tv);
	}
	if (c->timeout > 0) {
		child_tv(&tv, c->timeout);
		evtimer_add(c->ev_hard, &tv);
	}
}

struct child *
child_spawn(struct event_base *base, char *const argv[],
    const struct child_limits *limits, const char *tag, child_done_fn done,
    void *arg, char *err, size_t errlen)
{
	static const struct child_limits none;
	struct child_plan plan;
	struct child *c;

	if (limits == NULL)
		limits = &none;
	if (base == NULL || done == NULL || argv == NULL || argv[0] == NULL ||
	    argv[0][0] == '\0') {
		errno = EINVAL;
		mv_errf(err, errlen, "spawn: nothing to run");
		return NULL;
	}
	if ((c = child_new(base, argv[0], limits, tag, done, arg)) == NULL) {
		mv_errf(err, errlen, "spawn: %s", strerror(errno));
		return NULL;
	}
	child_plan_init(&plan, argv, limits);
	if (child_prepare(c, limits, &plan, err, errlen) == -1 ||
	    child_start(c, &plan, err, errlen) == -1) {
		child_plan_close(&plan);
		child_free(c);
		return NULL;
	}
	child_plan_close(&plan);
	TAILQ_INSERT_TAIL(&children, c, entry);
	nchildren++;
	child_watch(c);
	log_debug("%s: started %s, pid %ld", c->tag, c->path, (long)c->pid);
	return c;
}

/* 1 when a running child other than c has c's pid: c was reaped and
 * its number reused, so its group id now names another group. */
static int
child_pid_reused(const struct child *c)
{
	const struct child *o;

	if (!c->reaped)
		return 0;
	TAILQ_FOREACH(o, &children, entry)
		if (o != c && o->pid == c->pid && !o->reaped)
			return 1;
	return 0;
}

/* Signals the child's whole process group (workers may fork);
 * with SIGKILL, its cgroup too (descendants may have left the group). */
static void
child_kill_group(struct child *c, int sig)
{
	if (c->pid <= 0)
		return;
	if (!child_pid_reused(c) && kill(-c->pid, sig) == -1 &&
	    errno != ESRCH)
		log_warn("%s: kill group %ld", c->tag, (long)c->pid);
	if (sig == SIGKILL && c->cgdir != NULL &&
	    child_cg_write(c->cgdir, "cgroup.kill", "1") == -1 &&
	    errno != ENOENT)
		log_warn("%s: %s/cgroup.kill", c->tag, c->cgdir);
}

/* Records why we stop the child; the first cause wins, revoking wins
 * over all. */
static void
child_set_cause(struct child *c, enum child_cause cause, int sig)
{
	if (c->cause == CAUSE_NONE || cause == CAUSE_REVOKED ||
	    (cause == c->cause && sig == SIGKILL)) {
		c->cause = cause;
		c->cause_sig = sig;
	}
}

static void
child_on_soft(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	log_info("%s: soft timeout after %g s: SIGTERM to the group",
	    c->tag, c->soft_timeout);
	child_set_cause(c, CAUSE_TIMEOUT, SIGTERM);
	child_kill_group(c, SIGTERM);
}

static void
child_on_hard(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	log_warnx("%s: timeout after %g s: SIGKILL to the group", c->tag,
	    c->timeout);
	child_set_cause(c, CAUSE_TIMEOUT, SIGKILL);
	child_kill_group(c, SIGKILL);
}

static void
child_on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	log_warnx("%s: still running after the grace period: SIGKILL",
	    c->tag);
	child_kill_group(c, SIGKILL);
}

void
child_revoke(struct child *c)
{
	if (c == NULL || c->reporting)
		return;
	log_info("%s: revoked: SIGKILL to the group", c->tag);
	child_set_cause(c, CAUSE_REVOKED, SIGKILL);
	child_kill_group(c, SIGKILL);
}

void
child_terminate_all(double grace)
{
	struct child *c;
	struct timeval tv;

	child_tv(&tv, grace > 0 ? grace : 0);
	TAILQ_FOREACH(c, &children, entry) {
		c->shutdown = 1;
		if (c->reaped)
			continue;	/* its pipes have their own bound */
		if (grace <= 0) {
			child_kill_group(c, SIGKILL);
			continue;
		}
		child_kill_group(c, SIGTERM);
		evtimer_add(c->ev_kill, &tv);
	}
}

static void
child_pipe_close(struct child_pipe *p)
{
	if (p->ev != NULL)
		event_del(p->ev);
	child_close(&p->fd);
}

/* Keeps the last CHILD_STDERR_TAIL bytes. */
static void
child_tail_add(struct child *c, const char *s, size_t n)
{
	size_t drop;

	if (n >= sizeof(c->tail)) {
		memcpy(c->tail, s + n - sizeof(c->tail), sizeof(c->tail));
		c->tail_len = sizeof(c->tail);
		return;
	}
	if (c->tail_len + n > sizeof(c->tail)) {
		drop = c->tail_len + n - sizeof(c->tail);
		memmove(c->tail, c->tail + drop, c->tail_len - drop);
		c->tail_len -= drop;
	}
	memcpy(c->tail + c->tail_len, s, n);
	c->tail_len += n;
}

/* Logs the line gathered so far: control characters become spaces, bad
 * UTF-8 '?', and a line cut at CHILD_LINE_MAX ends in "...". */
static void
child_line_flush(struct child *c)
{
	char clean[CHILD_LINE_MAX + 4];

	if (c->line_len > 0 && c->line[c->line_len - 1] == '\r')
		c->line_len--;
	c->line[c->line_len] = '\0';
	c->line_len = 0;
	if (++c->lines > CHILD_LOG_LINES_MAX)
		return;
	mv_quote_clean(clean, sizeof(clean), c->line, CHILD_LINE_MAX);
	log_info("%s: %s", c->tag, clean);
	if (c->lines == CHILD_LOG_LINES_MAX)
		log_warnx("%s: %d stderr lines logged, the rest is not",
		    c->tag, CHILD_LOG_LINES_MAX);
}

/* Adds bytes of one line; keeps one byte past the maximum so that the
 * cut shows. NUL bytes become spaces (the log takes C strings). */
static void
child_line_put(struct child *c, const char *s, size_t n)
{
	size_t room = CHILD_LINE_MAX + 1 - c->line_len, i;

	if (n > room)
		n = room;
	for (i = 0; i < n; i++)
		c->line[c->line_len++] = s[i] == '\0' ? ' ' : s[i];
}

static void
child_stderr(struct child *c, const char *s, size_t n)
{
	const char *nl;
	size_t k;

	child_tail_add(c, s, n);
	while (n > 0) {
		nl = memchr(s, '\n', n);
		k = nl != NULL ? (size_t)(nl - s) : n;
		child_line_put(c, s, k);
		if (nl == NULL)
			break;
		child_line_flush(c);
		s += k + 1;
		n -= k + 1;
	}
}

static int child_blank(const char *, size_t);

/* Line mode: the line just read (in stdout_buf) becomes the held one, and
 * the one held before goes to on_line. */
static void
child_line_done(struct child *c)
{
	struct mv_buf t;

	if (child_blank(c->stdout_buf.data, c->stdout_buf.len)) {
		mv_buf_reset(&c->stdout_buf);
		return;
	}
	if (c->held.len > 0)
		c->on_line(c->held.data, c->held.len, c->line_arg);
	t = c->held;
	c->held = c->stdout_buf;
	c->stdout_buf = t;
	mv_buf_reset(&c->stdout_buf);
}

/* Line mode: appends s[0..n) line by line. 0, or -1 past max_line. */
static int
child_lines(struct child *c, const char *s, size_t n)
{
	const char *nl;
	size_t k;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		k = nl != NULL ? (size_t)(nl - s) : n;
		if (mv_buf_append(&c->stdout_buf, s, k) == -1)
			return -1;
		if (nl == NULL)
			break;
		child_line_done(c);
		s += k + 1;
		n -= k + 1;
	}
	return 0;
}

/* Line mode, at the end: the last line (held, or an unterminated one)
 * is left alone in stdout_buf for child_classify(). */
static void
child_lines_end(struct child *c)
{
	if (c->on_line == NULL || c->cause == CAUSE_OUTPUT)
		return;
	child_line_done(c);
	mv_buf_reset(&c->stdout_buf);
	if (mv_buf_append(&c->stdout_buf, c->held.data != NULL ?
	    c->held.data : "", c->held.len) == -1)
		mv_buf_reset(&c->stdout_buf);
}

void
child_pause_stdout(struct child *c, int paused)
{
	if (c->out.fd == -1 || c->out_paused == paused)
		return;
	c->out_paused = paused;
	if (paused)
		event_del(c->out.ev);
	else
		event_add(c->out.ev, NULL);
}

/* Appends to stdout; past the cap, kills the group. Returns 0, or -1
 * when the pipe should be closed. */
static int
child_stdout(struct child *c, const char *s, size_t n)
{
	if (c->on_line != NULL ? child_lines(c, s, n) == 0 :
	    mv_buf_append(&c->stdout_buf, s, n) == 0)
		return 0;
	if (errno == EMSGSIZE)
		log_warnx("%s: stdout%s past %zu bytes: SIGKILL to the "
		    "group", c->tag, c->on_line ? " line" : "",
		    c->stdout_buf.max);
	else
		log_warn("%s: stdout", c->tag);
	child_set_cause(c, CAUSE_OUTPUT, SIGKILL);
	child_kill_group(c, SIGKILL);
	return -1;
}

/* Reads at most budget bytes from one pipe. Returns 0 while it stays
 * open, 1 when it is done with (EOF, error, output cap). */
static int
child_read(struct child *c, struct child_pipe *p, size_t budget)
{
	char buf[16384];
	size_t got = 0;
	ssize_t n;

	while (got < budget) {
		n = read(p->fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1)
			log_warn("%s: read", c->tag);
		if (n <= 0)
			return 1;
		got += (size_t)n;
		if (p == &c->err)
			child_stderr(c, buf, (size_t)n);
		else if (child_stdout(c, buf, (size_t)n) == -1)
			return 1;
	}
	return 0;
}

/* Closes a pipe that is done; a partial last stderr line is logged. May
 * finish (and free) the child: the caller returns at once. */
static void
child_pipe_done(struct child *c, struct child_pipe *p)
{
	if (p == &c->err && c->line_len > 0)
		child_line_flush(c);
	child_pipe_close(p);
	child_check_done(c);
}

static void
child_on_stdout(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	if (child_read(c, &c->out, CHILD_READ_BUDGET) == 1)
		child_pipe_done(c, &c->out);
}

static void
child_on_stderr(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	if (child_read(c, &c->err, CHILD_READ_BUDGET) == 1)
		child_pipe_done(c, &c->err);
}

/* The worker exited but something (a grandchild) still holds its pipes:
 * kill the group, take what is already written, close them. */
static void
child_on_linger(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	log_warnx("%s: pipes still open %g s after exit: SIGKILL to the group",
	    c->tag, CHILD_LINGER);
	child_kill_group(c, SIGKILL);
	if (c->out.fd != -1)
		(void)child_read(c, &c->out, CHILD_DRAIN_MAX);
	if (c->err.fd != -1) {
		(void)child_read(c, &c->err, CHILD_DRAIN_MAX);
		if (c->line_len > 0)
			child_line_flush(c);
	}
	child_pipe_close(&c->out);
	child_pipe_close(&c->err);
	child_check_done(c);
}

static struct child *
child_find(pid_t pid)
{
	struct child *c;

	TAILQ_FOREACH(c, &children, entry)
		if (c->pid == pid && !c->reaped)
			return c;
	return NULL;
}

/* Notes the exit; the child is done now if its pipes are closed, else
 * within CHILD_LINGER seconds. */
static void
child_exited(struct child *c, int status, const struct rusage *ru)
{
	struct timeval tv;

	c->reaped = 1;
	c->wstatus = status;
	c->ru = *ru;
	c->end_ms = mv_mono_ms();
	c->completed_at = time(NULL);
	evtimer_del(c->ev_soft);
	evtimer_del(c->ev_hard);
	evtimer_del(c->ev_kill);
	child_pause_stdout(c, 0);	/* what is left is one pipe's worth */
	if (c->out.fd != -1 || c->err.fd != -1) {
		child_tv(&tv, CHILD_LINGER);
		evtimer_add(c->ev_linger, &tv);
	}
	child_check_done(c);
}

void
child_reap(void)
{
	struct rusage ru;
	struct child *c;
	pid_t pid;
	int status;

	for (;;) {
		pid = wait4(-1, &status, WNOHANG, &ru);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		if ((c = child_find(pid)) != NULL)
			child_exited(c, status, &ru);
		else
			log_warnx("reaped unknown pid %ld (status 0x%x)",
			    (long)pid, (unsigned)status);
	}
}

/* Reads one number from dir/file (for memory.events: the value after
 * key). Returns it, or -1. */
static long
child_cg_read(const char *dir, const char *file, const char *key)
{
	char path[4096], buf[1024], *p;
	size_t klen;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = buf;
	klen = key != NULL ? strlen(key) : 0;
	while (key != NULL && (strncmp(p, key, klen) != 0 || p[klen] != ' ')) {
		if ((p = strchr(p, '\n')) == NULL)
			return -1;
		p++;
	}
	return strtol(p + (key != NULL ? klen + 1 : 0), NULL, 10);
}

static void
child_on_cgrm(evutil_socket_t fd, short what, void *arg)
{
	struct child_cgrm *g = arg;
	struct timeval tv = { 0, 100000 };

	(void)fd;
	(void)what;
	if (rmdir(g->dir) == -1 && errno == EBUSY &&
	    ++g->tries < CHILD_CG_TRIES) {
		evtimer_add(g->ev, &tv);
		return;
	}
	if (g->tries >= CHILD_CG_TRIES)
		log_warnx("cgroup %s: still populated, left behind", g->dir);
	TAILQ_REMOVE(&cgrms, g, entry);
	event_free(g->ev);
	free(g->dir);
	free(g);
}

/* Removes the child's cgroup; one still populated (descendants that left
 * the process group) is killed and removed when empty. */
static void
child_cg_remove(struct child *c)
{
	struct child_cgrm *g;

	if (rmdir(c->cgdir) == 0 || errno == ENOENT)
		return;
	if (errno != EBUSY) {
		log_warn("cgroup %s: rmdir", c->cgdir);
		return;
	}
	(void)child_cg_write(c->cgdir, "cgroup.kill", "1");
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->dir = strdup(c->cgdir)) == NULL ||
	    (g->ev = evtimer_new(c->base, child_on_cgrm, g)) == NULL) {
		log_warnx("cgroup %s: left behind: out of memory", c->cgdir);
		if (g != NULL)
			free(g->dir);
		free(g);
		return;
	}
	TAILQ_INSERT_TAIL(&cgrms, g, entry);
	child_on_cgrm(-1, 0, g);
}

/* Takes the cgroup's peak memory and OOM kills, then removes it. */
static void
child_cg_done(struct child *c)
{
	long peak;

	if (c->cgdir == NULL)
		return;
	if ((peak = child_cg_read(c->cgdir, "memory.peak", NULL)) >= 0)
		c->cg_peak_kb = peak / 1024;
	c->cg_oom_kills = child_cg_read(c->cgdir, "memory.events", "oom_kill");
	child_cg_remove(c);
}

/* The stderr tail as valid UTF-8 without NUL bytes, not starting inside
 * a sequence cut by the window. New string; caller frees; NULL when out
 * of memory. */
static char *
child_tail_string(const struct child *c)
{
	size_t i = 0;

	while (i < 3 && i < c->tail_len &&
	    ((unsigned char)c->tail[i] & 0xc0) == 0x80 &&
	    c->tail_len == sizeof(c->tail))
		i++;
	return mv_utf8_sanitize(c->tail + i, c->tail_len - i, NULL);
}

static int
child_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			return 0;
	return 1;
}

json_t *
child_output_result(const char *s, size_t len)
{
	const char *end, *start;
	json_t *j;

	if (s == NULL || child_blank(s, len))
		return NULL;
	if ((j = json_loadb(s, len, 0, NULL)) == NULL) {
		end = s + len;
		while (end > s && child_blank(end - 1, 1))
			end--;
		start = end;
		while (start > s && start[-1] != '\n')
			start--;
		j = json_loadb(start, (size_t)(end - start), 0, NULL);
	}
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static int
child_says_success(const json_t *res)
{
	const char *st = json_string_value(json_object_get(res, "status"));

	return st != NULL && strcmp(st, "success") == 0;
}

static void
child_set(struct child_result *r, enum child_status st, int retryable)
{
	r->status = st;
	r->retryable = retryable;
}

/* The reason of a failure before exec: "exec /x: No such file". */
static void
child_step_reason(struct child *c)
{
	const char *e = strerror(c->report.err);
	size_t n = sizeof(c->reason);

	switch (c->report.step) {
	case STEP_EXEC:
		snprintf(c->reason, n, "exec %s: %s", c->path, e);
		break;
	case STEP_CHDIR:
		snprintf(c->reason, n, "chdir %s: %s", c->cwd, e);
		break;
	case STEP_CGROUP:
		snprintf(c->reason, n, "cgroup %s: %s", c->cgdir, e);
		break;
	case STEP_SETUID:
		snprintf(c->reason, n, "setuid %ld: %s", (long)c->uid, e);
		break;
	case STEP_SETGID:
		snprintf(c->reason, n, "setgid %ld: %s", (long)c->gid, e);
		break;
	default:
		snprintf(c->reason, n, "%s: %s",
		    child_step_names[c->report.step], e);
	}
}

/* 1 for an errno of a failure before exec that may pass (resources). */
static int
child_errno_transient(int e)
{
	return e == EAGAIN || e == ENOMEM || e == EMFILE || e == ENFILE ||
	    e == ETXTBSY || e == EINTR;
}

/* "killed by SIGSEGV", with what we know of why. */
static void
child_killed_reason(struct child *c, int sig)
{
	char name[32];
	const char *why = "";

	if (c->cg_oom_kills > 0)
		why = " (out of memory: cgroup memory.max)";
	else if (c->shutdown)
		why = " (daemon shutting down)";
	else if (sig == SIGXCPU && c->cpu_s > 0)
		why = " (CPU time limit)";
	else if (c->memory > 0 && (sig == SIGKILL || sig == SIGABRT ||
	    sig == SIGSEGV || sig == SIGBUS))
		why = " (memory limit set)";
	snprintf(c->reason, sizeof(c->reason), "killed by %s%s",
	    mv_signal_name(sig, name, sizeof(name)), why);
}

static void
child_timeout_reason(struct child *c, const struct child_result *r)
{
	char name[32];
	double limit = c->cause_sig == SIGKILL ? c->timeout : c->soft_timeout;
	const char *which = c->cause_sig == SIGKILL ? "hard" : "soft";

	if (r->signal)
		snprintf(c->reason, sizeof(c->reason),
		    "timeout: killed by %s at the %g s %s limit",
		    mv_signal_name(r->signal, name, sizeof(name)), limit,
		    which);
	else
		snprintf(c->reason, sizeof(c->reason),
		    "timeout: exited %d after SIGTERM at the %g s soft limit",
		    r->exit_code, limit);
}

/* "exit 75: rate_limited: slow down", from the error envelope. */
static void
child_failed_reason(struct child *c, const struct child_result *r)
{
	const json_t *e = json_object_get(r->result, "error");
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	char clean[256], ctype[64];

	mv_quote_clean(clean, sizeof(clean), msg ? msg : "", 200);
	mv_quote_clean(ctype, sizeof(ctype), type ? type : "error", 40);
	if (r->result == NULL)
		snprintf(c->reason, sizeof(c->reason),
		    "exit %d, no result on stdout", r->exit_code);
	else if (type != NULL || msg != NULL)
		snprintf(c->reason, sizeof(c->reason), "exit %d: %s%s%s",
		    r->exit_code, ctype, msg ? ": " : "", clean);
	else
		snprintf(c->reason, sizeof(c->reason),
		    "exit %d: status is not \"success\"", r->exit_code);
}

/* A worker's own failure: error.retryable when it says, else exit 75. */
static void
child_classify_failure(struct child *c, struct child_result *r)
{
	const json_t *e = json_object_get(r->result, "error");
	const json_t *rt = json_object_get(e, "retryable");

	child_set(r, CHILD_FAILED, json_is_boolean(rt) ? json_is_true(rt) :
	    r->exit_code == 75);
	child_failed_reason(c, r);
}

/*
 * The one place that decides how a run ended, first rule that applies:
 *  1. revoked by the daemon                        revoked, not retryable
 *  2. stdout past the cap                   output_too_large, not retryable
 *  3. failed before exec (exec, chdir, setuid...)  failed (exit 127),
 *     retryable only for a lack of resources (EAGAIN, ENOMEM, EMFILE...)
 *  4. our timeout signalled it, and it did not still exit 0 with a
 *     success result (work done is never thrown away)  timeout, retryable
 *  5. ended by any other signal (segfault, RLIMIT_CPU, OOM killer, SIGKILL
 *     at shutdown)                                    killed, retryable
 *  6. stdout neither a JSON object nor ndjson whose last line is one:
 *     nothing at all with a non-zero exit is failed, retryable on exit 75
 *     (a plain program's sysexits code); else    bad_output, not retryable
 *  7. exit 0 and "status": "success"                         success
 *  8. else failed; retryable = error.retryable when a boolean, else
 *     exit code 75.
 */
static void
child_classify(struct child *c, struct child_result *r)
{
	int st = c->wstatus;
	int ok;

	r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	child_lines_end(c);
	c->result = child_output_result(c->stdout_buf.data,
	    c->stdout_buf.len);
	r->result = c->result;
	ok = r->exit_code == 0 && child_says_success(r->result);
	r->reason = c->reason;
	if (c->cause == CAUSE_REVOKED) {
		child_set(r, CHILD_REVOKED, 0);
		snprintf(c->reason, sizeof(c->reason), "revoked");
	} else if (c->cause == CAUSE_OUTPUT) {
		child_set(r, CHILD_OUTPUT_TOO_LARGE, 0);
		snprintf(c->reason, sizeof(c->reason),
		    "output too large: stdout%s past %zu bytes",
		    c->on_line ? " line" : "", c->stdout_buf.max);
	} else if (c->report.step != -1) {
		child_set(r, CHILD_FAILED,
		    child_errno_transient(c->report.err));
		child_step_reason(c);
	} else if (c->cause == CAUSE_TIMEOUT && !ok) {
		child_set(r, CHILD_TIMEOUT, 1);
		child_timeout_reason(c, r);
	} else if (r->signal) {
		child_set(r, CHILD_KILLED, 1);
		child_killed_reason(c, r->signal);
	} else if (r->result == NULL && r->exit_code != 0 &&
	    child_blank(c->stdout_buf.data, c->stdout_buf.len)) {
		child_classify_failure(c, r);
	} else if (r->result == NULL) {
		child_set(r, CHILD_BAD_OUTPUT, 0);
		snprintf(c->reason, sizeof(c->reason), "bad output: %s",
		    c->stdout_buf.len ? "stdout is not a JSON object" :
		    "nothing on stdout");
	} else if (ok) {
		child_set(r, CHILD_SUCCESS, 0);
		r->reason = NULL;
	} else
		child_classify_failure(c, r);
}

static double
child_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Times and resource use; memory.peak of the child's own cgroup when it
 * could be read, else ru_maxrss (never below the daemon's RSS at spawn:
 * see contract §2). */
static void
child_usage(const struct child *c, struct child_result *r)
{
	r->duration = (double)(c->end_ms - c->start_ms) / 1000.0;
	r->started_at = c->started_at;
	r->completed_at = c->completed_at;
	r->user_cpu = child_secs(&c->ru.ru_utime);
	r->system_cpu = child_secs(&c->ru.ru_stime);
	if (c->cg_peak_kb >= 0) {
		r->max_rss_kb = c->cg_peak_kb;
		r->rss_source = "cgroup";
	} else {
		r->max_rss_kb = c->ru.ru_maxrss;
		r->rss_source = "rusage";
	}
}

/* Reaped and both pipes closed: report, then free. */
static void
child_finish(struct child *c)
{
	struct child_result r;
	char *tail;

	TAILQ_REMOVE(&children, c, entry);
	nchildren--;
	evtimer_del(c->ev_linger);
	child_cg_done(c);
	memset(&r, 0, sizeof(r));
	child_usage(c, &r);
	child_classify(c, &r);
	if (c->report.step != -1)
		log_warnx("%s: %s", c->tag, c->reason);
	tail = child_tail_string(c);
	r.stderr_tail = tail != NULL ? tail : "";
	c->reporting = 1;
	c->done(c, &r, c->arg);
	free(tail);
	child_free(c);
}

static void
child_check_done(struct child *c)
{
	if (c->reaped && c->out.fd == -1 && c->err.fd == -1)
		child_finish(c);
}

json_t *
child_record(const char *worker, const char *job_id, int attempt,
    const struct child_result *res)
{
	struct mv_record r;

	mv_record_init(&r);
	r.status = child_status_name(res->status);
	r.worker = worker;
	r.job_id = job_id;
	r.attempt = attempt;
	r.duration = res->duration;
	r.result = res->result;
	r.started_at = res->started_at;
	r.completed_at = res->completed_at;
	r.exit_code = res->exit_code;
	r.signal = res->signal;
	r.max_rss_kb = res->max_rss_kb;
	r.rss_source = res->rss_source;
	r.user_cpu = res->user_cpu;
	r.system_cpu = res->system_cpu;
	r.stderr_tail = res->stderr_tail;
	r.reason = res->reason;
	return mv_record_json(&r, 0);
}
