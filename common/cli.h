/* What the workers' command lines share: --help, --version and the log
 * level, the default --output, and the checks every action needs. */
#ifndef MV_COMMON_CLI_H
#define MV_COMMON_CLI_H

#include <stddef.h>

#include "shared/err.h"

/* With help or version: prints --help (usage) or "NAME VERSION" on stdout
 * and returns 1, the run is over. Else sets the log level from -q and -v
 * (-v info, -vv and more debug) and returns 0. */
int cli_early(const char *name, int help, int version, int quiet,
    int verbose, void (*usage)(void));

/* The --output a run takes when none is given: ndjson for sync (its
 * changes stream, contract §5), json for the other actions. */
const char *cli_output(const char *output, const char *action);

/*
 * The checks every mail action needs: --output json or ndjson; an
 * --action given and known (found); at most one of the n paths is "-"
 * (stdin), their options' names in names ("--credentials, --body_file
 * and --raw_file"). Returns 0, or -1 with err (invalid_argument).
 */
int cli_check(const char *output, const char *action, int found,
    const char *const *paths, size_t n, const char *names,
    struct mv_err *err);

#endif
