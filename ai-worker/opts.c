/* Option table, parsing, checks and --help of ai-worker. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai-worker/opts.h"
#include "shared/opt.h"
#include "shared/str.h"

#define O(f) offsetof(struct ai_opts, f)

/* Sorted by name. */
static const struct mv_opt opt_table[] = {
	{ "action", 'a', MV_OPT_STR, O(action), 0, 0, "ACTION",
	  "what to do (see ACTIONS)" },
	{ "api_base", 0, MV_OPT_STR, O(api_base), 0, 0, "URL",
	  "OpenAI-compatible API root (env AI_WORKER_API_BASE; "
	  "https://api.openai.com/v1)" },
	{ "api_key_file", 0, MV_OPT_STR, O(api_key_file), 0, 0, "FILE",
	  "the API key, from FILE (else env AI_WORKER_API_KEY; none: no "
	  "Authorization header)" },
	{ "api_key_header", 0, MV_OPT_STR, O(api_key_header), 0, 0, "NAME",
	  "authorization (the key as a bearer token), api-key (Azure "
	  "OpenAI) or x-api-key (default authorization)" },
	{ "api_version", 0, MV_OPT_STR, O(api_version), 0, 0, "VERSION",
	  "sent as ?api-version=VERSION (Azure OpenAI; default none)" },
	{ "categories", 0, MV_OPT_STR, O(categories_arg), 0, 0, "A,B,...",
	  "the classification set (default work,personal,finance,newsletter,"
	  "notification,spam,other)" },
	{ "help", 'h', MV_OPT_FLAG, O(help), 0, 0, NULL, "show this help" },
	{ "input", 'i', MV_OPT_STR, O(input), 0, 0, "FILE|-",
	  "read the mail from FILE; - or none: standard input" },
	{ "max_in_flight", 0, MV_OPT_LONG, O(max_in_flight), 1, 100, "N",
	  "model calls at once for ndjson input (default 4)" },
	{ "max_input_tokens", 0, MV_OPT_LONG, O(max_input_tokens), 256,
	  10000000, "N", "cut the prompt to N tokens, estimated as bytes/4 "
	  "(default 16000)" },
	{ "max_wait", 0, MV_OPT_LONG, O(max_wait), 0, 86400, "SECONDS",
	  "longest total wait for retries of one call (default 60)" },
	{ "model", 'm', MV_OPT_STR, O(model), 0, 0, "MODEL",
	  "the model's name (env AI_WORKER_MODEL; required)" },
	{ "output", 'o', MV_OPT_STR, O(output), 0, 0, "MODE",
	  "json (one document) or ndjson (one line per input line) "
	  "(default json)" },
	{ "quiet", 0, MV_OPT_FLAG, O(quiet), 0, 0, NULL, "errors only on stderr" },
	{ "response_format", 0, MV_OPT_STR, O(response_format), 0, 0, "MODE",
	  "json_schema, json_object or none (default json_schema)" },
	{ "tasks", 0, MV_OPT_STR, O(tasks_arg), 0, 0, "A,B,...",
	  "process: the tasks to run (default summarize,classify,sentiment,"
	  "reply,tasks)" },
	{ "timeout", 0, MV_OPT_LONG, O(timeout), 1, 3600, "SECONDS",
	  "limit for each HTTP request (default 120)" },
	{ "verbose", 'v', MV_OPT_COUNT, O(verbose), 0, 0, NULL,
	  "more on stderr (repeat for more)" },
	{ "version", 'V', MV_OPT_FLAG, O(version), 0, 0, NULL, "show the version" },
};

static const struct mv_opt_table opts_table = {
	opt_table, sizeof(opt_table) / sizeof(opt_table[0])
};

static const char *const task_names[] = {
	"summarize", "classify", "sentiment", "reply", "tasks"
};

#define DEFAULT_CATEGORIES \
	"work,personal,finance,newsletter,notification,spam,other"

const char *
ai_task_name(unsigned bit)
{
	for (size_t i = 0; i < 5; i++)
		if (bit == 1u << i)
			return task_names[i];
	return "?";
}

static void
opts_defaults(struct ai_opts *o)
{
	const char *env;

	memset(o, 0, sizeof(*o));
	o->api_base = "https://api.openai.com/v1";
	if ((env = getenv("AI_WORKER_API_BASE")) != NULL && *env)
		o->api_base = env;
	if ((env = getenv("AI_WORKER_MODEL")) != NULL && *env)
		o->model = env;
	o->output = "json";
	o->response_format = "json_schema";
	o->timeout = 120;
	o->max_wait = 60;
	o->max_in_flight = 4;
	o->max_input_tokens = 16000;
}

/* A key in argv is readable by every user (ps, /proc): refuse it before
 * anything else, without repeating it. */
static int
refuse_inline_key(int argc, char **argv, struct mv_err *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;

		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--", 2) != 0)
			continue;
		a += 2;
		eq = strchr(a, '=');
		if (mv_optname_eq("api_key", a, eq ? (size_t)(eq - a) :
		    strlen(a)))
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "--api_key: a key on the command line is visible "
			    "to every user of the machine; put it in a file "
			    "and give --api_key_file FILE, or set "
			    "AI_WORKER_API_KEY");
	}
	return 0;
}

int
ai_opts_parse(struct ai_opts *o, int argc, char **argv, struct mv_err *err)
{
	opts_defaults(o);
	if (refuse_inline_key(argc, argv, err) == -1)
		return -1;
	return mv_opt_parse(&opts_table, o, argc, argv, err);
}

/* One task name into its bit, or 0. */
static unsigned
task_bit(const char *s, size_t len)
{
	for (size_t i = 0; i < 5; i++)
		if (strlen(task_names[i]) == len &&
		    strncmp(task_names[i], s, len) == 0)
			return 1u << i;
	return 0;
}

static int
parse_tasks(struct ai_opts *o, struct mv_err *err)
{
	const char *p = o->tasks_arg, *end;
	unsigned bit;

	if (p == NULL) {
		o->tasks = AI_T_ALL;
		return 0;
	}
	o->tasks = 0;
	for (; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		if ((bit = task_bit(p, (size_t)(end - p))) == 0)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "--tasks: '%.*s' is not one of summarize, classify,"
			    " sentiment, reply, tasks", (int)(end - p > 32 ?
			    32 : end - p), p);
		o->tasks |= bit;
	}
	if (o->tasks == 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT,
		    "--tasks: no task named");
	return 0;
}

static int
category_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int
parse_categories(struct ai_opts *o, struct mv_err *err)
{
	char *p, *tok, *save = NULL;

	if ((o->catbuf = strdup(o->categories_arg ? o->categories_arg :
	    DEFAULT_CATEGORIES)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	for (p = o->catbuf; (tok = strtok_r(p, ",", &save)) != NULL;
	    p = NULL) {
		if (!category_ok(tok))
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "--categories: '%.64s' is not 1 to 64 of a-z 0-9 "
			    "_ -", tok);
		for (size_t i = 0; i < o->ncategories; i++)
			if (strcmp(o->categories[i], tok) == 0)
				return mv_err_set(err, MV_E_INVALID_ARGUMENT,
				    "--categories: '%s' given twice", tok);
		if (o->ncategories >= AI_MAX_CATEGORIES)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "--categories: more than %d", AI_MAX_CATEGORIES);
		o->categories[o->ncategories++] = tok;
	}
	if (o->ncategories == 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT,
		    "--categories: no category named");
	return 0;
}

static int
check_action(struct ai_opts *o, struct mv_err *err)
{
	unsigned bit;

	if (o->action == NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "no --action "
		    "given (see --help)");
	if (strcmp(o->action, "process") == 0)
		return parse_tasks(o, err);
	if ((bit = task_bit(o->action, strlen(o->action))) == 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "unknown action "
		    "'%.64s' (see --help)", o->action);
	if (o->tasks_arg != NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--tasks goes "
		    "with --action process only");
	o->tasks = bit;
	return 0;
}

int
ai_opts_check(struct ai_opts *o, struct mv_err *err)
{
	if (strcmp(o->output, "json") != 0 && strcmp(o->output, "ndjson") != 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--output: '%.32s'"
		    " is neither json nor ndjson", o->output);
	o->ndjson = strcmp(o->output, "ndjson") == 0;
	if (check_action(o, err) == -1)
		return -1;
	if (strcmp(o->response_format, "json_schema") == 0)
		o->rf = AI_RF_JSON_SCHEMA;
	else if (strcmp(o->response_format, "json_object") == 0)
		o->rf = AI_RF_JSON_OBJECT;
	else if (strcmp(o->response_format, "none") == 0)
		o->rf = AI_RF_NONE;
	else
		return mv_err_set(err, MV_E_INVALID_ARGUMENT,
		    "--response_format: '%.32s' is not json_schema, "
		    "json_object or none", o->response_format);
	if (o->model == NULL || *o->model == '\0')
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "no --model "
		    "given (or AI_WORKER_MODEL)");
	if (strncmp(o->api_base, "http://", 7) != 0 &&
	    strncmp(o->api_base, "https://", 8) != 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--api_base: "
		    "'%.64s' is not an http or https URL", o->api_base);
	if (o->api_key_header != NULL) {
		if (strcmp(o->api_key_header, "authorization") == 0)
			o->api_key_header = NULL;
		else if (strcmp(o->api_key_header, "api-key") != 0 &&
		    strcmp(o->api_key_header, "x-api-key") != 0)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "--api_key_header: '%.32s' is not authorization, "
			    "api-key or x-api-key", o->api_key_header);
	}
	if (o->api_version != NULL && (*o->api_version == '\0' ||
	    strlen(o->api_version) > 64 || o->api_version[strspn(o->api_version,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")]
	    != '\0'))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--api_version: "
		    "'%.64s' is not a version (letters, digits, '.', '-', "
		    "'_')", o->api_version);
	return parse_categories(o, err);
}

void
ai_opts_free(struct ai_opts *o)
{
	free(o->catbuf);
	o->catbuf = NULL;
	o->ncategories = 0;
}

void
ai_opts_usage(void)
{
	printf("usage: ai-worker --action ACTION [--tasks A,B,...] "
	    "[--input FILE|-]\n"
	    "                 [--api_base URL] [--model M] "
	    "[--api_key_file FILE] [options]\n\n"
	    "Reads mail as JSON (an EMAIL, a thread, a get_thread result or "
	    "a sync change\nline), asks an OpenAI-compatible model, prints "
	    "one validated JSON result.\n\n"
	    "ACTIONS\n"
	    "  process         the --tasks asked, in one model call\n"
	    "  summarize       a summary of the thread\n"
	    "  classify        category, labels and priority\n"
	    "  sentiment       label and score\n"
	    "  reply           a reply draft\n"
	    "  tasks           the action items, with due dates and owners\n\n"
	    "OPTIONS (each accepts '_' or '-': --max_wait = --max-wait)\n");
	mv_opt_help(&opts_table);
	printf("\nEXIT STATUS\n"
	    "  0 success; 64 invalid_argument; 65 bad_output, refused;\n"
	    "  66 no_input; 69 api; 70 internal; 75 rate_limited, timeout, "
	    "network;\n"
	    "  77 auth, permission.\n\n"
	    "See ai-worker(1).\n");
}
