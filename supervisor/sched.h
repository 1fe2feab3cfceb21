/* Schedules: interval and cron fire times in UTC or an IANA time zone,
 * deterministic jitter, missed fires. */
#ifndef MVD_SCHED_H
#define MVD_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SCHED_ZONEINFO	 "/usr/share/zoneinfo"
#define SCHED_EXPR_MAX	 256		/* bytes of a schedule, NUL included */
#define SCHED_TZ_MAX	 512		/* offset changes kept per zone */
#define SCHED_HORIZON	 ((time_t)1827 * 86400)	/* 5 years, leap days in */
#define SCHED_MISSED_MAX 1000000L	/* sched_missed() counts up to this */
#define SCHED_JITTER_MAX 86400L		/* longest jitter, seconds */
#define SCHED_PERIOD_MAX (365L * 86400)	/* longest interval, seconds */

/*
 * A struct sched_spec is a plain value of about 6 KiB (the zone's table
 * inside): no pointers, nothing to free, safe to copy with '=' and to share
 * between threads once parsed. sched_parse() fills its members; read them,
 * do not set them. No function here keeps state between calls.
 */

enum sched_kind {
	SCHED_NONE = 0,		/* a zeroed spec: never fires */
	SCHED_INTERVAL,
	SCHED_CRON
};

/*
 * One date of a POSIX TZ rule and its time of day: kind 'J' is "Jn" (day
 * n in 1-365, Feb 29 never counted), 'N' is "n" (day n in 0-365), 'M' is
 * "Mm.w.d" (day d, 0 Sunday, of week w 1-5, 5 the last, of month m).
 */
struct sched_tzdate {
	char		 kind;
	int		 n, m, w, d;
	int32_t		 secs;		/* local time of day, may pass 24 h */
};

/* The POSIX TZ string that ends a TZif file: it rules after the table. */
struct sched_tzrule {
	int			 present;
	int			 has_dst;
	int32_t			 std_off;	/* seconds east of UTC */
	int32_t			 dst_off;
	struct sched_tzdate	 start;		/* in standard local time */
	struct sched_tzdate	 end;		/* in daylight local time */
};

/* A time zone's offsets from UTC, as read from its TZif file. */
struct sched_zone {
	char			 name[64];	/* "UTC" when built in */
	int32_t			 off0;		/* before at[0] */
	int			 has_from;
	int64_t			 rule_from;	/* rule applies from here on;
						   everywhere if !has_from */
	int			 n;
	int64_t			 at[SCHED_TZ_MAX];	/* offset changes */
	int32_t			 off[SCHED_TZ_MAX];	/* offset from at[i] */
	struct sched_tzrule	 rule;
};

#define SCHED_DOM_STAR	0x01	/* day-of-month field begins with '*' */
#define SCHED_DOW_STAR	0x02	/* day-of-week field begins with '*' */
#define SCHED_WILD	0x04	/* minute or hour field begins with '*' */

struct sched_spec {
	enum sched_kind		 kind;
	long			 period;	/* SCHED_INTERVAL: seconds */
	long			 jitter;	/* offsets in [0, jitter) */
	uint64_t		 minute;	/* SCHED_CRON: bit per minute */
	uint32_t		 hour;		/* bits 0-23 */
	uint32_t		 dom;		/* bits 1-31 */
	uint32_t		 month;		/* bits 1-12 */
	uint32_t		 dow;		/* bits 0-6, Sunday is 0 */
	int			 flags;		/* SCHED_DOM_STAR ... */
	const struct sched_zone	*zone;		/* shared (zones are loaded once
						   per name and kept): UTC
						   when no tz was given */
};

/*
 * Parses a schedule:
 *   "every 30s", "every 5m", "every 2h", "every 1d", "every 1h30m": an
 *   interval (at most 365 days), aligned to the epoch so that every daemon
 *   computes the same fire times; tz does not move them.
 *   "M H DOM MON DOW": cron fields with '*', lists, ranges, steps ("1-5/2",
 *   or a star and "/15"), names jan-dec and sun-sat, 0 and 7 both Sunday.
 *   As in Vixie cron, when both day fields are restricted (neither begins
 *   with '*') a day matching either fires.
 *   "@hourly", "@daily" (= "@midnight"), "@weekly", "@monthly", "@yearly"
 *   (= "@annually").
 * tz: NULL or "" for UTC, else an IANA name whose TZif file exists under
 * /usr/share/zoneinfo; cron fields are wall-clock times in it. jitter_s
 * (0 to 86400, and shorter than an interval's period) spreads fires, see
 * sched_next_jittered(). Reads a zone's file the first time a spec names
 * it and keeps it for the life of the process (a thousand jobs in one zone
 * share one copy); the spec never touches the file system afterwards.
 * Returns 0 and fills *out, or -1 with a message in err (e.g. "minute: 60
 * out of range 0-59") and *out zeroed.
 */
int sched_parse(const char *expr, const char *tz, long jitter_s,
    struct sched_spec *out, char *err, size_t errlen);

/*
 * The first fire time strictly after `after` (UTC seconds), or -1 when
 * there is none within SCHED_HORIZON (e.g. "0 0 30 2 *"), for a zeroed
 * spec, or when after is negative or past year 9994.
 * Across daylight-saving changes, as Vixie cron and cronie do: a job whose
 * minute or hour field begins with '*' (SCHED_WILD) follows the clock: it
 * fires at every wall time that exists, twice in a repeated hour and not
 * at all in a skipped one. Any other job fires once per matching wall
 * time: a time that falls in a skipped interval (spring forward) fires at
 * the first instant after the gap (several such times fire once), and a
 * time in a repeated interval (fall back) fires at its first occurrence
 * only.
 */
time_t sched_next(const struct sched_spec *, time_t after);

/*
 * The offset, in [0, jitter), that the spec's jitter adds to base fire
 * time `fire` for `key` (a job name; NULL is ""): a hash of both, the same
 * on every host. 0 when the spec has no jitter.
 */
long sched_jitter(const struct sched_spec *, time_t fire, const char *key);

/*
 * The next jittered fire time: F + sched_jitter(F) for the first base fire
 * time F whose jittered time is strictly after `after`, or -1 as for
 * sched_next(). With base non-NULL, F (or -1) is stored there: claim and
 * record a run under its base time. A jitter longer than the shortest gap
 * between fires may reorder them; sched_parse() refuses that for
 * intervals only.
 */
time_t sched_next_jittered(const struct sched_spec *, time_t after,
    const char *key);
time_t sched_next_jittered_base(const struct sched_spec *, time_t after,
    const char *key, time_t *base);

/*
 * How many base fire times fall in (last_fire, now], at most
 * SCHED_MISSED_MAX: the daemon runs a late job once and logs the count.
 * 0 when now <= last_fire; a negative last_fire counts from the epoch.
 */
long sched_missed(const struct sched_spec *, time_t last_fire, time_t now);

/* The spec's zone offset from UTC at t, in seconds east (0 for UTC). */
long sched_utc_offset(const struct sched_spec *, time_t t);

/*
 * Reads TZif data (RFC 8536, versions 1 to 4) of len bytes into *z, the
 * name left empty. Returns 0, or -1 with err set for data that is
 * truncated, inconsistent, carries leap seconds or ends in a TZ string
 * this parser does not understand. Keeps the latest SCHED_TZ_MAX offset
 * changes when there are more (earlier times then use the oldest offset
 * kept).
 */
int sched_zone_parse(const unsigned char *data, size_t len,
    struct sched_zone *z, char *err, size_t errlen);

#endif
