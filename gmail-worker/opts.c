/* Option table, parsing and --help of gmail-worker. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "gmail-worker/opts.h"
#include "shared/opt.h"

#define O(f) offsetof(struct opts, f)

/* Sorted by name. */
static const struct mv_opt opt_table[] = {
	{ "action", 'a', MV_OPT_STR, O(action), 0, 0, "ACTION",
	  "what to do (see ACTIONS)" },
	{ "add_label", 0, MV_OPT_LIST, O(add_label), 0, 0, "LABEL",
	  "modify_labels: label name or id to add (repeatable)" },
	{ "api_base", 0, MV_OPT_STR, O(api_base), 0, 0, "URL",
	  "Gmail API root (env GMAIL_API_BASE; https://gmail.googleapis.com)" },
	{ "attach", 0, MV_OPT_LIST, O(attach), 0, 0, "FILE",
	  "send_email: attach a file (repeatable)" },
	{ "attachment_id", 0, MV_OPT_STR, O(attachment_id), 0, 0, "ID",
	  "get_attachment: the attachment's id" },
	{ "batch_size", 0, MV_OPT_LONG, O(batch_size), 1, 100, "N",
	  "messages fetched per batch request, 1 = no batching (default 20)" },
	{ "bcc", 0, MV_OPT_LIST, O(bcc), 0, 0, "ADDR", "send_email: Bcc (repeatable)" },
	{ "body", 0, MV_OPT_STR, O(body), 0, 0, "TEXT", "send_email: plain-text body" },
	{ "body_file", 0, MV_OPT_STR, O(body_file), 0, 0, "FILE",
	  "send_email: plain-text body from FILE (- for stdin)" },
	{ "cc", 0, MV_OPT_LIST, O(cc), 0, 0, "ADDR", "send_email: Cc (repeatable)" },
	{ "confirm", 0, MV_OPT_FLAG, O(confirm), 0, 0, NULL,
	  "delete: required, deletion is permanent" },
	{ "credentials", 'c', MV_OPT_STR, O(credentials), 0, 0, "@FILE|-",
	  "credentials JSON from FILE or stdin (env GMAIL_WORKER_CREDENTIALS)" },
	{ "cursor", 0, MV_OPT_STR, O(cursor), 0, 0, "CURSOR",
	  "sync: changes since this cursor (a summary's); none = full sync" },
	{ "days_back", 0, MV_OPT_LONG, O(days_back), 0, 36500, "N",
	  "fetch_emails: messages of the last N days, 0 = any age (default 1)" },
	{ "format", 0, MV_OPT_STR, O(format), 0, 0, "FMT",
	  "full, metadata or raw (sync, get_thread: not raw) (default full)" },
	{ "help", 'h', MV_OPT_FLAG, O(help), 0, 0, NULL, "show this help" },
	{ "html_file", 0, MV_OPT_STR, O(html_file), 0, 0, "FILE",
	  "send_email: HTML body from FILE (- for stdin)" },
	{ "id", 0, MV_OPT_LIST, O(id), 0, 0, "ID", "message id (repeatable)" },
	{ "in_reply_to", 0, MV_OPT_STR, O(in_reply_to), 0, 0, "MSGID",
	  "send_email: Message-ID replied to" },
	{ "include_spam_trash", 0, MV_OPT_FLAG, O(include_spam_trash), 0, 0, NULL,
	  "fetch_emails: include SPAM and TRASH" },
	{ "label", 0, MV_OPT_LIST, O(label), 0, 0, "LABEL",
	  "label name or id to filter on (fetch_emails: repeatable, ANDed; "
	  "list_history: one)" },
	{ "lookback_days", 0, MV_OPT_LONG, O(lookback_days), 0, 36500, "N",
	  "sync: a full sync takes the last N days, 0 = any age (default 90)" },
	{ "max_in_flight", 0, MV_OPT_LONG, O(max_in_flight), 1, 100, "N",
	  "HTTP requests in flight at once (default 5)" },
	{ "max_results", 0, MV_OPT_LONG, O(max_results), 0, 10000000, "N",
	  "fetch_emails: at most N messages, 0 = no cap (default 0)" },
	{ "max_wait", 0, MV_OPT_LONG, O(max_wait), 0, 86400, "SECONDS",
	  "longest total wait for retries of one request (default 60)" },
	{ "output", 'o', MV_OPT_STR, O(output), 0, 0, "MODE",
	  "json (one document) or ndjson (one line per item) (default json)" },
	{ "output_file", 0, MV_OPT_STR, O(output_file), 0, 0, "FILE|-",
	  "get_attachment: where to write the bytes" },
	{ "query", 'q', MV_OPT_STR, O(query), 0, 0, "Q",
	  "fetch_emails: Gmail search terms, ANDed" },
	{ "quiet", 0, MV_OPT_FLAG, O(quiet), 0, 0, NULL, "errors only on stderr" },
	{ "quota_profile", 0, MV_OPT_STR, O(quota_profile), 0, 0, "NAME",
	  "method costs and per-user budget: classic or 2026 (default classic)" },
	{ "quota_units_per_sec", 0, MV_OPT_DOUBLE, O(quota_units_per_sec), 0,
	  100000, "N", "per-user quota, N units/s, paced at 90% of it, 0 = "
	  "off (default: the profile's, 250 or 100)" },
	{ "raw_file", 0, MV_OPT_STR, O(raw_file), 0, 0, "FILE|-",
	  "send_email: send this RFC 5322 message as it is" },
	{ "remove_label", 0, MV_OPT_LIST, O(remove_label), 0, 0, "LABEL",
	  "modify_labels: label name or id to remove (repeatable)" },
	{ "start_history_id", 0, MV_OPT_STR, O(start_history_id), 0, 0, "H",
	  "list_history: changes after this history id" },
	{ "subject", 0, MV_OPT_STR, O(subject), 0, 0, "TEXT", "send_email: Subject" },
	{ "thread_id", 0, MV_OPT_STR, O(thread_id), 0, 0, "ID",
	  "get_thread: the thread; send_email: thread to add the message to" },
	{ "timeout", 0, MV_OPT_LONG, O(timeout), 1, 3600, "SECONDS",
	  "limit for each HTTP request (default 30)" },
	{ "to", 0, MV_OPT_LIST, O(to), 0, 0, "ADDR", "send_email: To (repeatable)" },
	{ "token_uri", 0, MV_OPT_STR, O(token_uri), 0, 0, "URL",
	  "OAuth2 token endpoint (env GMAIL_TOKEN_URI; else the "
	  "credentials' token_uri, else Google's)" },
	{ "user_email", 'u', MV_OPT_STR, O(user_email), 0, 0, "ADDR",
	  "the mailbox's address (service accounts: the user to act as)" },
	{ "verbose", 'v', MV_OPT_COUNT, O(verbose), 0, 0, NULL,
	  "on stderr: -v steps and totals, -vv each request, -vvv "
	  "libcurl's trace (secrets redacted)" },
	{ "version", 'V', MV_OPT_FLAG, O(version), 0, 0, NULL, "show the version" },
};

#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static void
opts_defaults(struct opts *o)
{
	const char *env;

	memset(o, 0, sizeof(*o));
	o->api_base = "https://gmail.googleapis.com";
	if ((env = getenv("GMAIL_API_BASE")) != NULL && *env)
		o->api_base = env;
	if ((env = getenv("GMAIL_TOKEN_URI")) != NULL && *env)
		o->token_uri = env;
	o->timeout = 30;
	o->max_wait = 60;
	o->quota_units_per_sec = -1;
	o->max_in_flight = 5;
	o->quota_profile = "classic";
	o->batch_size = 20;
	o->days_back = 1;
	o->lookback_days = 90;
	o->format = "full";
}

static const struct mv_opt_table opts_table = { opt_table, NOPTS };

int
opts_parse(struct opts *o, int argc, char **argv, struct mv_err *err)
{
	opts_defaults(o);
	if (mv_opt_parse(&opts_table, o, argc, argv, err) == -1)
		return -1;
	o->output = cli_output(o->output, o->action);
	return 0;
}

void
opts_free(struct opts *o)
{
	mv_opt_free_lists(&opts_table, o);
}

void
opts_usage(void)
{
	printf("usage: gmail-worker --action ACTION [--credentials @FILE | "
	    "--credentials -]\n"
	    "                    [--user_email ADDR] [options]\n\n"
	    "Runs one Gmail API action and prints one JSON result on "
	    "stdout.\n\n"
	    "ACTIONS\n"
	    "  fetch_emails    messages matching --days_back, --query, "
	    "--label\n"
	    "  get_email       one message (--id)\n"
	    "  list_labels     labels with their counts\n"
	    "  get_profile     address, totals, latest history id\n"
	    "  get_thread      a thread's messages, oldest first (--thread_id)\n"
	    "  list_history    changes since --start_history_id\n"
	    "  send_email      send a message (--to, --subject, --body...)\n"
	    "  modify_labels   --add_label/--remove_label on --id\n"
	    "  mark_read, mark_unread, archive, trash, untrash   on --id\n"
	    "  delete          delete --id permanently (needs --confirm)\n"
	    "  get_attachment  --id --attachment_id --output_file\n"
	    "  ping            check the credentials\n"
	    "  sync            changes since --cursor, else a full sync of "
	    "--lookback_days\n\n"
	    "OPTIONS (each accepts '_' or '-': --days_back = --days-back)\n");
	mv_opt_help(&opts_table);
	printf("\nEXIT STATUS\n"
	    "  0 success; 64 invalid_argument; 65 not_found, "
	    "history_expired;\n"
	    "  66 no_input; 69 api; 70 internal; 75 rate_limited, timeout, "
	    "network;\n"
	    "  77 auth, permission; 78 bad_credentials.\n\n"
	    "See gmail-worker(1).\n");
}
