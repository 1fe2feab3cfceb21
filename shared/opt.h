/* Command lines driven by one sorted table of long options: parsing
 * ('_' and '-' alike, --opt=value and --opt value, short options) and the
 * OPTIONS part of --help. The table describes fields of the caller's
 * options struct by offset. */
#ifndef MV_OPT_H
#define MV_OPT_H

#include <stddef.h>

#include "shared/err.h"

#define MV_OPT_MAX_LIST	1000	/* values of one repeatable option */

/* A repeatable option's values; they borrow from argv. */
struct strlist {
	const char	**v;
	size_t		  n;
};

enum mv_opt_kind {
	MV_OPT_FLAG,		/* int set to 1 */
	MV_OPT_STR,		/* const char * */
	MV_OPT_LONG,		/* long within [min, max] */
	MV_OPT_DOUBLE,		/* double within [min, max] */
	MV_OPT_LIST,		/* struct strlist, repeatable */
	MV_OPT_COUNT,		/* int incremented: -vv */
};

struct mv_opt {
	const char	*name;		/* canonical, with '_' */
	char		 shortname;
	enum mv_opt_kind kind;
	size_t		 off;		/* of the field in the options struct */
	long		 min, max;
	const char	*arg;		/* argument name for --help */
	const char	*help;
};

struct mv_opt_table {
	const struct mv_opt	*v;
	size_t			 n;
};

/* Parses argv[1..] into the struct at base (its defaults already set).
 * Returns 0, or -1 with err (invalid_argument, naming the option). */
int mv_opt_parse(const struct mv_opt_table *, void *base, int argc,
    char **argv, struct mv_err *err);
/* The option of that long name ('-' and '_' alike), or NULL. */
const struct mv_opt *mv_opt_find(const struct mv_opt_table *,
    const char *name, size_t len);
/* Prints one line per option to stdout: "  -s, --name ARG   help". */
void mv_opt_help(const struct mv_opt_table *);
/* Frees the value arrays of the struct's list options. */
void mv_opt_free_lists(const struct mv_opt_table *, void *base);

#endif
