/* imap-worker: one action on an IMAP mailbox per run, one JSON result on
 * stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/ssl.h>

#include "common/cli.h"
#include "common/output.h"
#include "imap-worker/actions.h"
#include "imap-worker/opts.h"
#include "imap-worker/pop3.h"
#include "imap-worker/session.h"
#include "shared/log.h"
#include "shared/mvtime.h"

/* Checks what every action needs. Returns 0 or -1 with err. */
static int
check_common(const struct opts *o, const struct action **a,
    struct mv_err *err)
{
	const char *creds = o->credentials ? o->credentials :
	    getenv("IMAP_WORKER_CREDENTIALS");
	const char *const paths[] = { creds, o->body_file, o->html_file,
	    o->raw_file };

	*a = o->action != NULL ? action_find(o->action) : NULL;
	if (cli_check(o->output, o->action, *a != NULL, paths, 4,
	    "--credentials, --body_file, --html_file and --raw_file",
	    err) == -1)
		return -1;
	if (strcmp(o->format, "full") != 0 && strcmp(o->format, "metadata") &&
	    strcmp(o->format, "raw") != 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--format: "
		    "'%.32s' is not full, metadata or raw", o->format);
	return 0;
}

/* -v: what the run cost, last. */
static void
log_totals(const struct session *s, int64_t started)
{
	log_info("done: %llu bytes read, %llu written, %d commands, %.3f s",
	    (unsigned long long)s->conn.nread,
	    (unsigned long long)s->conn.nwritten,
	    s->m != NULL ? s->m->imap_tag : 0,
	    (mv_mono_ms() - started) / 1000.0);
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct mv_err err = MV_ERR_INIT;
	const struct action *a = NULL;
	struct session s;
	int rc, ndjson;
	int64_t started = mv_mono_ms();

	log_init("imap-worker", LOG_LVL_WARN);
	if (opts_parse(&o, argc, argv, &err) == 0) {
		if (cli_early("imap-worker", o.help, o.version, o.quiet,
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
	OPENSSL_init_ssl(0, NULL);
	if (session_open(&s, &o, strcmp(a->name, "send_email") != 0 ||
	    o.save_sent, &err) == -1)
		rc = output_error(stdout, ndjson, o.action, &err);
	else if (s.acct.pop3)
		rc = pop3_run(&s, a->name);
	else
		rc = a->run(&s);
	log_totals(&s, started);
	session_close(&s);
	opts_free(&o);
	curl_global_cleanup();
	return rc;
}
