/* The execution record of contract §2: one JSON object per worker run. */
#ifndef MV_RECORD_H
#define MV_RECORD_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

/*
 * One run, as the caller knows it. Every pointer is borrowed for the call
 * to mv_record_json() only. mv_record_init() sets the "none" values.
 */
struct mv_record {
	const char	*status;	/* a contract name, see below */
	const char	*worker;	/* the job's name */
	const char	*job_id;
	double		 duration;	/* seconds; written to the ms */
	json_t		*result;	/* worker's JSON or NULL (null) */
	time_t		 started_at;	/* wall clock, written in UTC */
	time_t		 completed_at;
	int		 exit_code;	/* -1: none (signalled, never ran) */
	int		 signal;	/* 0: none */
	int		 attempt;	/* 1 for the first */
	long		 max_rss_kb;	/* -1: unknown (null) */
	const char	*rss_source;	/* "cgroup", "rusage" or NULL (null) */
	double		 user_cpu;	/* seconds; written to the ms */
	double		 system_cpu;
	const char	*stderr_tail;	/* NULL: left out */
	const char	*reason;	/* NULL: left out */
};

/* Leave "result" out (the worker:history list keeps records without it). */
#define MV_RECORD_NO_RESULT	0x1

/* Zeroes r, then exit_code -1, max_rss_kb -1, attempt 1. */
void mv_record_init(struct mv_record *r);

/* 1 when s is a status of contract §2: success, failed, timeout, killed,
 * output_too_large, bad_output, revoked, skipped. */
int mv_record_status_valid(const char *s);

/*
 * The record as a JSON object, keys in the contract's order: status,
 * worker, job_id, duration, result, started_at, completed_at (ISO 8601
 * UTC), exit_code (null when -1), signal ("SIGKILL" or null), attempt,
 * max_rss_kb, rss_source, user_cpu, system_cpu, then stderr_tail and
 * reason, present only when status is not "success" and they are set.
 * Strings are repaired to valid UTF-8. result gets its own reference.
 * Returns a new reference, or NULL with errno EINVAL (unknown status,
 * NULL worker or job_id, attempt < 1, a time that cannot be written) or
 * ENOMEM.
 */
json_t *mv_record_json(const struct mv_record *r, int flags);

/* The record of a run that never started (skipped, refused): times set
 * to when, no result, exit code, signal or memory figures. The caller may
 * add "reason". Returns a new reference, or NULL as mv_record_json(). */
json_t *mv_record_skeleton(const char *worker, const char *job_id,
    const char *status, int attempt, time_t when);

/* A record (or any JSON) as one compact line, reals with 15 significant
 * digits: 1.23, not jansson's default 1.2299999999999999 (exact for the
 * record's own reals, rounded to the ms). New string; caller frees. NULL
 * when out of memory. */
char *mv_record_dumps(const json_t *j);

/* "SIGKILL" for 9; "SIGRTMIN+2"; "SIG99" for a number with no name.
 * Returns a static string or buf (at least 16 bytes); NULL for sig <= 0. */
const char *mv_signal_name(int sig, char *buf, size_t len);

#endif
