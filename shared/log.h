/* Logging to stderr or syslog, in the manner of OpenSMTPD's log.c. */
#ifndef MV_LOG_H
#define MV_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Sets the name prefixed to each line and the most verbose level shown. */
void log_init(const char *progname, int level);
void log_set_level(int level);
int log_get_level(void);
/* Sends lines to syslog instead of stderr. */
void log_use_syslog(int on);
/* Writes each line on stderr as a JSON object {"ts","level","prog","msg"}
 * instead of text. */
void log_use_json(int on);

/* Starts each text line on stderr with the time, in ISO 8601 UTC:
 * "2026-05-04T10:00:00Z mailvisord: ...". */
void log_use_time(int on);
/* 1 when stderr is the systemd journal's stream (JOURNAL_STREAM names
 * its device and inode), which times each line itself; else 0. */
int log_stderr_is_journal(void);

/* log_warn() appends strerror(errno); the others do not. All keep errno.
 * log_error() is shown at every level, even the quietest. */
void log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
/* Log, then exit(1). For start-up failures only. */
void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
