/* What the workers' command lines share. */
#include <stdio.h>
#include <string.h>

#include "common/cli.h"
#include "shared/log.h"

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif

int
cli_early(const char *name, int help, int version, int quiet, int verbose,
    void (*usage)(void))
{
	if (help) {
		usage();
		return 1;
	}
	if (version) {
		printf("%s %s\n", name, MV_VERSION);
		return 1;
	}
	log_set_level(quiet ? LOG_LVL_ERROR : LOG_LVL_WARN +
	    (verbose > 2 ? 2 : verbose));
	return 0;
}

const char *
cli_output(const char *output, const char *action)
{
	if (output != NULL)
		return output;
	return action != NULL && strcmp(action, "sync") == 0 ? "ndjson" :
	    "json";
}

int
cli_check(const char *output, const char *action, int found,
    const char *const *paths, size_t n, const char *names,
    struct mv_err *err)
{
	size_t i, readers = 0;

	if (strcmp(output, "json") != 0 && strcmp(output, "ndjson") != 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--output: "
		    "'%.32s' is neither json nor ndjson", output);
	if (action == NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "no --action "
		    "given (see --help)");
	if (!found)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "unknown action "
		    "'%.64s' (see --help)", action);
	for (i = 0; i < n; i++)
		readers += paths[i] != NULL && strcmp(paths[i], "-") == 0;
	if (readers > 1)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "only one of %s "
		    "can read stdin (-)", names);
	return 0;
}
