/* Clocks and ISO 8601 time stamps. */
#ifndef MV_TIME_H
#define MV_TIME_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in milliseconds (for deadlines and pacing). */
int64_t mv_mono_ms(void);
/* Wall-clock time in milliseconds since the epoch. */
int64_t mv_wall_ms(void);
/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes).
 * Returns buf, or NULL when t cannot be represented. */
char *mv_iso8601(time_t t, char *buf, size_t len);
/* Parses the ISO 8601 form written above, and RFC 3339 with fractions and
 * offsets. Returns 0 and sets *t, or -1. */
int mv_parse_iso8601(const char *s, time_t *t);

#endif
