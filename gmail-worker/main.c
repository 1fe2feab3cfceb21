/* gmail-worker: one Gmail action per run, one JSON result on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "gmail-worker/actions.h"
#include "gmail-worker/gmail.h"
#include "gmail-worker/opts.h"
#include "common/output.h"
#include "shared/log.h"
#include "shared/mvtime.h"

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif

static int
is_stdin(const char *s)
{
	return s != NULL && strcmp(s, "-") == 0;
}

/* How many options want to read stdin. */
static int
stdin_readers(const struct opts *o)
{
	const char *creds = o->credentials ? o->credentials :
	    getenv("GMAIL_WORKER_CREDENTIALS");

	return is_stdin(creds) + is_stdin(o->body_file) +
	    is_stdin(o->html_file) + is_stdin(o->raw_file);
}

/* Checks what every action needs. Returns 0 or -1 with err. */
static int
check_common(const struct opts *o, const struct action **a,
    struct mv_err *err)
{
	if (strcmp(o->output, "json") != 0 && strcmp(o->output, "ndjson") != 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--output: '%.32s'"
		    " is neither json nor ndjson", o->output);
	if (o->action == NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "no --action "
		    "given (see --help)");
	if ((*a = action_find(o->action)) == NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "unknown action "
		    "'%.64s' (see --help)", o->action);
	if (stdin_readers(o) > 1)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "only one of "
		    "--credentials, --body_file, --html_file and --raw_file "
		    "can read stdin (-)");
	if (gm_profile_rate(o->quota_profile) < 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--quota_profile:"
		    " '%.32s' is neither classic nor 2026", o->quota_profile);
	return 0;
}

/* -v: what the run cost, last. */
static void
log_totals(const struct gm *g, int64_t started)
{
	struct http_stats st;

	http_get_stats(g->eng, &st);
	log_info("done: %ld requests, %ld quota units, %ld retries, %ld "
	    "token requests, %.3f s", st.requests, st.units, st.retries,
	    st.refreshes, (mv_mono_ms() - started) / 1000.0);
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct mv_err err = MV_ERR_INIT;
	const struct action *a = NULL;
	struct gm g;
	int rc, ndjson;
	int64_t started = mv_mono_ms();

	log_init("gmail-worker", LOG_LVL_WARN);
	mv_err_clear(&err);
	if (opts_parse(&o, argc, argv, &err) == 0) {
		if (o.help) {
			opts_usage();
			opts_free(&o);
			return 0;
		}
		if (o.version) {
			printf("gmail-worker %s\n", MV_VERSION);
			opts_free(&o);
			return 0;
		}
		log_set_level(o.quiet ? LOG_LVL_ERROR : LOG_LVL_WARN +
		    (o.verbose > 2 ? 2 : o.verbose));
		check_common(&o, &a, &err);
	}
	ndjson = o.output && strcmp(o.output, "ndjson") == 0;
	if (err.type != MV_OK) {
		rc = output_error(stdout, ndjson, o.action, &err);
		opts_free(&o);
		return rc;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		mv_err_set(&err, MV_E_INTERNAL, "libcurl failed to start");
		return output_error(stdout, ndjson, o.action, &err);
	}
	memset(&g, 0, sizeof(g));
	if (gm_init(&g, &o, a->scopes, &err) == -1) {
		rc = output_error(stdout, ndjson, o.action, &err);
	} else {
		rc = a->run(&g);
		log_totals(&g, started);
	}
	gm_free(&g);
	opts_free(&o);
	curl_global_cleanup();
	return rc;
}
