/* The JSON schema of the answer for the asked tasks, and the check of a
 * model's answer against it. One schema serves both: it is sent to the
 * model and it validates what comes back. */
#ifndef AI_SCHEMA_H
#define AI_SCHEMA_H

#include <stddef.h>
#include <jansson.h>

#define AI_SUMMARY_MAX	2000	/* characters */
#define AI_SUBJECT_MAX	300
#define AI_BODY_MAX	8000
#define AI_TITLE_MAX	300
#define AI_OWNER_MAX	200
#define AI_TASKS_MAX	20

/* The schema (an object schema, every property required, no others) of
 * the tasks' answer; labels and category from cats. Returns a new
 * reference. */
json_t *schema_build(unsigned tasks, const char *const *cats, size_t ncats);

/*
 * Checks v against the schema subset schema_build() writes: type (one or
 * a list), enum, maxLength (in characters), minimum, maximum, maxItems,
 * items, properties, required, format "date" (YYYY-MM-DD, a real day).
 * Fields an object schema does not name are removed from v (counted in
 * *dropped). Returns 0, or -1 with what is wrong (with its JSON path) in
 * msg.
 */
int schema_check(const json_t *schema, json_t *v, size_t *dropped,
    char *msg, size_t msglen);

/* 1 when s is a real calendar day written YYYY-MM-DD. */
int schema_is_date(const char *s);

#endif
