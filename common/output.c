/* json and ndjson output; bytes into a file or stdout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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

int
output_write_file(const char *path, const void *bytes, size_t n,
    struct mv_err *err)
{
	const unsigned char *p = bytes;
	int fd = STDOUT_FILENO;
	ssize_t w;

	if (strcmp(path, "-") != 0 && (fd = open(path, O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return mv_err_set(err, MV_E_NO_INPUT, "--output_file %.200s: %s",
		    path, strerror(errno));
	while (n > 0) {
		if ((w = write(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			mv_err_set(err, MV_E_INTERNAL, "writing %.200s: %s",
			    path, strerror(errno));
			if (fd != STDOUT_FILENO)
				close(fd);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	if (fd != STDOUT_FILENO && close(fd) == -1)
		return mv_err_set(err, MV_E_INTERNAL, "closing %.200s: %s",
		    path, strerror(errno));
	return 0;
}
