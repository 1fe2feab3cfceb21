/* json and ndjson output. */
#include <stdio.h>
#include <jansson.h>

#include "common/output.h"
#include "shared/log.h"

int
output_line(FILE *f, const json_t *v)
{
	if (json_dumpf(v, f, JSON_COMPACT) == -1 ||
	    fputc('\n', f) == EOF || fflush(f) == EOF)
		return -1;
	return 0;
}

int
output_result(FILE *f, int ndjson, json_t *env, const char *items)
{
	json_t *arr;
	size_t i;
	json_t *v;

	if (!ndjson)
		return output_line(f, env);
	if (items && (arr = json_object_get(env, items)) != NULL &&
	    json_is_array(arr)) {
		json_array_foreach(arr, i, v)
			if (output_line(f, v) == -1)
				return -1;
		json_object_del(env, items);
	}
	json_object_set_new(env, "summary", json_true());
	return output_line(f, env);
}

/* The error's one line on stderr, shown even with --quiet: a caller that
 * pipes stdout into jq still learns why the run failed. */
static void
output_error_line(const struct mv_err *err)
{
	log_error("%s: %s", mv_err_name(err->type), err->msg);
}

int
output_error(FILE *f, int ndjson, const char *action, const struct mv_err *err)
{
	json_t *env = mv_envelope_error(action, err);

	output_error_line(err);
	if (ndjson)
		json_object_set_new(env, "summary", json_true());
	output_line(f, env);
	json_decref(env);
	return mv_err_exit(err->type);
}
