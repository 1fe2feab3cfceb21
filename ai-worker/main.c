/* ai-worker: mail in as JSON, an OpenAI-compatible model's validated
 * analysis out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <curl/curl.h>

#include "ai-worker/job.h"
#include "ai-worker/opts.h"
#include "common/cli.h"
#include "common/http.h"
#include "common/output.h"
#include "shared/buf.h"
#include "shared/log.h"

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif

#define KEY_MAX		4096
#define RESPONSE_MAX	(16u << 20)

/* The key: printable ASCII, surrounding blanks and the newline dropped.
 * Returns 0, or -1 with err; never says what the key holds. */
static int
key_clean(char *k, const char *from, struct mv_err *err)
{
	size_t n = strlen(k), skip = strspn(k, " \t\r\n");

	while (n > skip && strchr(" \t\r\n", k[n - 1]))
		n--;
	memmove(k, k + skip, n - skip);
	k[n - skip] = '\0';
	if (*k == '\0')
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: the API key "
		    "is empty", from);
	for (const char *p = k; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return mv_err_set(err, MV_E_BAD_CREDENTIALS, "%s: the "
			    "API key is not one line of printable ASCII", from);
	return 0;
}

/* The key from --api_key_file or AI_WORKER_API_KEY into *key (owned;
 * NULL when there is none). Returns 0 or -1 with err. */
static int
key_load(const struct ai_opts *o, char **key, struct mv_err *err)
{
	const char *env = getenv("AI_WORKER_API_KEY");
	struct stat st;
	char *k;

	*key = NULL;
	if (o->api_key_file == NULL) {
		if (env == NULL || *env == '\0')
			return 0;
		if ((k = strdup(env)) == NULL)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		*key = k;
		return key_clean(k, "AI_WORKER_API_KEY", err);
	}
	if ((k = mv_read_file(o->api_key_file, KEY_MAX, NULL)) == NULL)
		return mv_err_set(err, errno == EMSGSIZE ?
		    MV_E_BAD_CREDENTIALS : MV_E_NO_INPUT, "--api_key_file "
		    "%.200s: %s", o->api_key_file, errno == EMSGSIZE ?
		    "larger than a key" : strerror(errno));
	*key = k;
	if (stat(o->api_key_file, &st) == 0 && (st.st_mode & 077))
		log_warnx("%s is readable by group or others (chmod 600 it)",
		    o->api_key_file);
	return key_clean(k, o->api_key_file, err);
}

static void
key_free(char *key)
{
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
}

static struct http_engine *
engine_new(const struct ai_opts *o, const char *key, struct mv_err *err)
{
	struct http_opts ho = { 0 };
	struct http_engine *e;

	ho.timeout_s = o->timeout;
	ho.max_wait_s = (int)o->max_wait;
	ho.max_in_flight = (int)o->max_in_flight;
	ho.max_response = RESPONSE_MAX;
	ho.verbose = o->verbose;
	ho.user_agent = "mailvisor-ai-worker/" MV_VERSION;
	ho.key_header = o->api_key_header;
	if ((e = http_engine_new(&ho)) == NULL) {
		mv_err_set(err, MV_E_INTERNAL, "libcurl failed to start");
		return NULL;
	}
	if (key && http_set_token(e, key) == -1) {
		http_engine_free(e);
		mv_err_set(err, MV_E_INTERNAL, "out of memory");
		return NULL;
	}
	return e;
}

/* Parses and checks the command line. Returns 1 when --help or
 * --version was answered, 0 to go on, -1 with err. */
static int
setup(struct ai_opts *o, int argc, char **argv, struct mv_err *err)
{
	if (ai_opts_parse(o, argc, argv, err) == -1)
		return -1;
	if (cli_early("ai-worker", o->help, o->version, o->quiet, o->verbose,
	    ai_opts_usage))
		return 1;
	return ai_opts_check(o, err);
}

int
main(int argc, char **argv)
{
	struct ai_opts o;
	struct mv_err err = MV_ERR_INIT;
	struct http_engine *e = NULL;
	char *key = NULL;
	int rc, have_key;

	log_init("ai-worker", LOG_LVL_WARN);
	if ((rc = setup(&o, argc, argv, &err)) == 1) {
		ai_opts_free(&o);
		return 0;
	}
	if (rc == 0 && key_load(&o, &key, &err) == 0 &&
	    curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		e = engine_new(&o, key, &err);
	else if (err.type == MV_OK)
		mv_err_set(&err, MV_E_INTERNAL, "libcurl failed to start");
	have_key = key != NULL;
	key_free(key);
	if (e == NULL) {
		log_warnx("%s", err.msg);
		rc = output_error(stdout, o.ndjson || (o.output &&
		    strcmp(o.output, "ndjson") == 0), o.action, &err);
	} else
		rc = job_run(&o, e, have_key, stdout);
	http_engine_free(e);
	ai_opts_free(&o);
	curl_global_cleanup();
	return rc;
}
