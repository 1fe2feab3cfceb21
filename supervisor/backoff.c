/* Retry delays: exponential backoff with a cap and proportional jitter. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shared/str.h"
#include "supervisor/backoff.h"

#define BACKOFF_DIGITS	15	/* significant digits a double holds */

/* x to the power n by squaring: no libm, O(log n). */
static double
backoff_pow(double x, unsigned int n)
{
	double r = 1.0;

	while (n != 0) {
		if (n & 1)
			r *= x;
		x *= x;
		n >>= 1;
	}
	return r;
}

double
backoff_delay(const struct backoff *b, int attempt, double u)
{
	double d, r;

	if (b == NULL)
		return 0.0;
	if (attempt < 1)
		attempt = 1;
	if (!(u >= 0.0))
		u = 0.0;		/* NaN too */
	else if (u > 1.0)
		u = 1.0;
	d = b->initial * backoff_pow(b->factor, (unsigned int)attempt - 1);
	if (!(d <= b->max))
		d = b->max;		/* overflow to inf, NaN */
	r = d * (1.0 + b->jitter * (2.0 * u - 1.0));
	return r > 0.0 && isfinite(r) ? r : 0.0;
}

/*
 * Reads a plain decimal "123", "0.25", ".5" from s up to a blank or the
 * end, with an optional unit from units ("smh" or ""). Returns 0 and sets
 * *v, or -1. The value is digits / 10^k, one correctly rounded division.
 */
static int
backoff_number(const char *s, size_t len, int units, double *v)
{
	uint64_t mant = 0;
	int digits = 0, frac = 0, dot = 0;
	double mult = 1.0;
	size_t i;

	if (units && len > 1 && strchr("smh", s[len - 1]) != NULL) {
		mult = s[len - 1] == 's' ? 1 : s[len - 1] == 'm' ? 60 : 3600;
		len--;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (!isdigit((unsigned char)s[i]) || digits == BACKOFF_DIGITS)
			return -1;
		mant = mant * 10 + (uint64_t)(s[i] - '0');
		if (mant != 0)
			digits++;
		frac += dot;
	}
	if (len == 0 || (len == 1 && dot) || s[len - 1] == '.')
		return -1;
	*v = (double)mant / backoff_pow(10.0, (unsigned int)frac) * mult;
	return 0;
}

static const char *const backoff_names[4] = { "initial", "factor", "max",
    "jitter" };

/* Reads the four numbers of s into v. Returns 0, or -1 with err set. */
static int
backoff_fields(const char *s, double v[4], char *err, size_t errlen)
{
	const char *p = s;
	char word[40], quoted[48];
	size_t len;
	int n;

	for (n = 0;; n++) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		if (n == 4)
			break;
		if (backoff_number(p, len, n == 0 || n == 2, &v[n]) == -1) {
			snprintf(word, sizeof(word), "%.*s", (int)(len <
			    sizeof(word) ? len : sizeof(word) - 1), p);
			mv_quote_clean(quoted, sizeof(quoted), word, 32);
			mv_errf(err, errlen, "backoff: %s '%s' is not a "
			    "plain number", backoff_names[n], quoted);
			return -1;
		}
		p += len;
	}
	if (n != 4 || *p != '\0') {
		mv_errf(err, errlen, "backoff: expected 'initial factor "
		    "max jitter', as in '%s'", BACKOFF_DEFAULT);
		return -1;
	}
	return 0;
}

/* Checks the bounds of v. Returns 0, or -1 with err set. */
static int
backoff_check(const double v[4], char *err, size_t errlen)
{
	if (!(v[0] > 0.0 && v[0] <= BACKOFF_INITIAL_MAX))
		mv_errf(err, errlen, "backoff: initial must be more than "
		    "0 and at most %.0f s", BACKOFF_INITIAL_MAX);
	else if (!(v[1] >= 1.0 && v[1] <= BACKOFF_FACTOR_MAX))
		mv_errf(err, errlen, "backoff: factor must be from 1 to "
		    "%.0f", BACKOFF_FACTOR_MAX);
	else if (!(v[2] >= v[0] && v[2] <= BACKOFF_MAX_MAX))
		mv_errf(err, errlen, "backoff: max must be from initial "
		    "to %.0f s", BACKOFF_MAX_MAX);
	else if (!(v[3] >= 0.0 && v[3] <= 1.0))
		mv_errf(err, errlen, "backoff: jitter must be from 0 to "
		    "1");
	else
		return 0;
	return -1;
}

int
backoff_parse(const char *s, struct backoff *b, char *err, size_t errlen)
{
	double v[4];

	if (s == NULL) {
		mv_errf(err, errlen, "backoff: empty");
		return -1;
	}
	if (backoff_fields(s, v, err, errlen) == -1 ||
	    backoff_check(v, err, errlen) == -1)
		return -1;
	b->initial = v[0];
	b->factor = v[1];
	b->max = v[2];
	b->jitter = v[3];
	return 0;
}
