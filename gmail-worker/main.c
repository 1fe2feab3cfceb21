/* gmail-worker: one Gmail action per run, one JSON result on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "gmail-worker/actions.h"
#include "gmail-worker/gmail.h"
#include "gmail-worker/opts.h"
#include "common/cli.h"
#include "common/output.h"
#include "shared/log.h"
#include "shared/mvtime.h"

/* Checks what every action needs. Returns 0 or -1 with err. */
static int
check_common(const struct opts *o, const struct action **a,
    struct mv_err *err)
{
	const char *creds = o->credentials ? o->credentials :
	    getenv("GMAIL_WORKER_CREDENTIALS");
	const char *const paths[] = { creds, o->body_file, o->html_file,
	    o->raw_file };

	*a = o->action != NULL ? action_find(o->action) : NULL;
	if (cli_check(o->output, o->action, *a != NULL, paths, 4,
	    "--credentials, --body_file, --html_file and --raw_file",
	    err) == -1)
		return -1;
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
		if (cli_early("gmail-worker", o.help, o.version, o.quiet,
		    o.verbose, opts_usage)) {
			opts_free(&o);
			return 0;
		}
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
