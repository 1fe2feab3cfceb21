/* ai-worker's command line: one sorted table of long options drives
 * parsing and --help (shared/opt.c). */
#ifndef AI_OPTS_H
#define AI_OPTS_H

#include <stddef.h>

#include "shared/err.h"

/* The tasks, as bits. */
#define AI_T_SUMMARIZE	0x01
#define AI_T_CLASSIFY	0x02
#define AI_T_SENTIMENT	0x04
#define AI_T_REPLY	0x08
#define AI_T_TASKS	0x10
#define AI_T_ALL	0x1f

#define AI_MAX_CATEGORIES 50

/* How the answer's shape is asked for. */
enum ai_rf {
	AI_RF_NONE,		/* prompt only */
	AI_RF_JSON_OBJECT,	/* JSON mode */
	AI_RF_JSON_SCHEMA,	/* structured output */
};

struct ai_opts {
	const char	*action;
	const char	*tasks_arg;
	const char	*input;		/* NULL or "-": stdin */
	const char	*api_base;
	const char	*model;
	const char	*api_key_file;
	const char	*api_key_header;	/* NULL: Authorization: Bearer */
	const char	*api_version;	/* NULL: none */
	const char	*categories_arg;
	const char	*output;	/* json | ndjson */
	const char	*response_format;
	long		 timeout;
	long		 max_wait;
	long		 max_in_flight;
	long		 max_input_tokens;
	int		 verbose;
	int		 quiet;
	int		 help;
	int		 version;

	/* Derived by ai_opts_check(). */
	unsigned	 tasks;
	enum ai_rf	 rf;
	int		 ndjson;
	const char	*categories[AI_MAX_CATEGORIES];
	size_t		 ncategories;
	char		*catbuf;	/* owned: categories point into it */
};

/* Parses argv into o (defaults, then the environment's AI_WORKER_API_BASE
 * and AI_WORKER_MODEL, then options). A key on the command line
 * (--api_key) is refused. Returns 0, or -1 with err. Strings borrow from
 * argv. */
int ai_opts_parse(struct ai_opts *o, int argc, char **argv,
    struct mv_err *err);
/* Checks the values and fills the derived fields. Returns 0 or -1. */
int ai_opts_check(struct ai_opts *o, struct mv_err *err);
void ai_opts_free(struct ai_opts *o);
/* Prints --help to stdout. */
void ai_opts_usage(void);
/* The name of one task bit. */
const char *ai_task_name(unsigned bit);

#endif
