/* RFC 5322 dates. */
#ifndef MV_COMMON_DATE_H
#define MV_COMMON_DATE_H

#include <time.h>

/*
 * Parses a Date header value: RFC 5322 and its obsolete forms (optional
 * day name, 2- and 3-digit years, missing seconds, named zones such as
 * GMT, UT, EST, PDT and military letters, comments such as "(CET)"), and
 * the common garbage ("Mon, 2 Jan 2006 15:04:05 +0000 (UTC)", lower-case
 * month names, "2006-01-02 15:04:05" ISO-like forms). Validates ranges
 * (no 31 February). Returns 0 and sets *out to the UTC instant, or -1.
 */
int date_parse(const char *s, time_t *out);

#endif
