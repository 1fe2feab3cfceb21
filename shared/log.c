/* Logging: one line per message on stderr (or syslog), errno preserved. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

#include <jansson.h>
#include <time.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/utf8.h"

static const char *log_name = "mailvisor";
static int log_level = LOG_LVL_INFO;
static int log_syslog;
static int log_json;
static int log_time;

void
log_init(const char *progname, int level)
{
	log_name = progname;
	log_level = level;
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

void
log_use_syslog(int on)
{
	if (on && !log_syslog)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = on;
}

void
log_use_json(int on)
{
	log_json = on;
}

void
log_use_time(int on)
{
	log_time = on;
}

int
log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* One line out, as text or JSON. */
static void
log_emit(int level, const char *line)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *names[] = { "error", "warn", "info", "debug" };
	char ts[32];
	json_t *o;

	if (log_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	if (!log_json) {
		if (log_time && mv_iso8601(time(NULL), ts, sizeof(ts)) != NULL)
			fprintf(stderr, "%s %s: %s\n", ts, log_name, line);
		else
			fprintf(stderr, "%s: %s\n", log_name, line);
		return;
	}
	o = json_object();
	json_object_set_new(o, "ts", json_string(mv_iso8601(time(NULL), ts,
	    sizeof(ts)) ? ts : ""));
	json_object_set_new(o, "level", json_string(names[level]));
	json_object_set_new(o, "prog", mv_json_str(log_name));
	json_object_set_new(o, "msg", mv_json_str(line));
	json_dumpf(o, stderr, JSON_COMPACT);
	fputc('\n', stderr);
	json_decref(o);
}

void
vlog(int level, const char *fmt, va_list ap)
{
	char line[4096];
	int saved = errno;

	if (level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	log_emit(level, line);
	errno = saved;
}

static void __attribute__((format(printf, 2, 0)))
log_errno(int level, const char *fmt, va_list ap)
{
	char buf[4096];
	int saved = errno;

	char line[4200];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	errno = saved;
	if (level > log_level)
		return;
	snprintf(line, sizeof(line), "%s: %s", buf, strerror(saved));
	log_emit(level, line);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_LVL_WARN, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
