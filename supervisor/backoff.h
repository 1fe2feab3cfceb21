/* Retry delays: exponential backoff with a cap and proportional jitter. */
#ifndef MVD_BACKOFF_H
#define MVD_BACKOFF_H

#include <stddef.h>

#define BACKOFF_DEFAULT		"30 2 600 0.1"
#define BACKOFF_INITIAL_MAX	86400.0		/* seconds */
#define BACKOFF_FACTOR_MAX	100.0
#define BACKOFF_MAX_MAX		(7 * 86400.0)	/* seconds */

/* All in seconds but factor and jitter; a plain value, nothing to free. */
struct backoff {
	double	initial;	/* delay before the first retry */
	double	factor;		/* growth per further retry */
	double	max;		/* cap before jitter */
	double	jitter;		/* delays spread by +/- this fraction */
};

/*
 * The delay before retry number `attempt` (1 for the first; lower counts
 * as 1): min(max, initial * factor^(attempt - 1)) * (1 + jitter * (2u - 1))
 * where u, uniform in [0, 1), comes from the caller (so tests and every
 * host can choose it). u outside [0, 1] is clamped. Never negative, never
 * NaN: a struct that would give either yields 0.
 */
double backoff_delay(const struct backoff *, int attempt, double u);

/*
 * Parses "initial factor max jitter", e.g. "30 2 600 0.1": four plain
 * decimal numbers (no sign, no exponent; initial and max may end in s, m
 * or h). Bounds: 0 < initial <= 86400 s, 1 <= factor <= 100,
 * initial <= max <= 604800 s, 0 <= jitter <= 1.
 * Returns 0 and fills *b, or -1 with a message in err and *b untouched.
 */
int backoff_parse(const char *s, struct backoff *b, char *err,
    size_t errlen);

#endif
