/* Option table, parsing and --help of imap-worker. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "imap-worker/opts.h"
#include "shared/opt.h"

#define O(f) offsetof(struct opts, f)

/* Sorted by name. */
static const struct mv_opt opt_table[] = {
	{ "action", 'a', MV_OPT_STR, O(action), 0, 0, "ACTION",
	  "what to do (see ACTIONS)" },
	{ "add_label", 0, MV_OPT_LIST, O(add_label), 0, 0, "LABEL",
	  "modify_labels: UNREAD, STARRED, DRAFT or a keyword to add "
	  "(on Gmail: any label id; repeatable)" },
	{ "allow_plaintext", 0, MV_OPT_FLAG, O(allow_plaintext), 0, 0, NULL,
	  "accept \"security\": \"none\" (password in clear on the wire)" },
	{ "attach", 0, MV_OPT_LIST, O(attach), 0, 0, "FILE",
	  "send_email: attach a file (repeatable)" },
	{ "attachment_id", 0, MV_OPT_STR, O(attachment_id), 0, 0, "N",
	  "get_attachment: the attachment's id (its place in attachments, "
	  "from 1)" },
	{ "bcc", 0, MV_OPT_LIST, O(bcc), 0, 0, "ADDR", "send_email: Bcc (repeatable)" },
	{ "body", 0, MV_OPT_STR, O(body), 0, 0, "TEXT", "send_email: plain-text body" },
	{ "body_file", 0, MV_OPT_STR, O(body_file), 0, 0, "FILE",
	  "send_email: plain-text body from FILE (- for stdin)" },
	{ "ca_file", 0, MV_OPT_STR, O(ca_file), 0, 0, "FILE",
	  "trust the CA certificates in FILE (PEM) besides the system's" },
	{ "cc", 0, MV_OPT_LIST, O(cc), 0, 0, "ADDR", "send_email: Cc (repeatable)" },
	{ "confirm", 0, MV_OPT_FLAG, O(confirm), 0, 0, NULL,
	  "delete: required, deletion is permanent" },
	{ "credentials", 'c', MV_OPT_STR, O(credentials), 0, 0, "@FILE|-",
	  "credentials JSON from FILE or stdin (env IMAP_WORKER_CREDENTIALS)" },
	{ "cursor", 0, MV_OPT_STR, O(cursor), 0, 0, "CURSOR",
	  "sync: changes since this cursor (a summary's); none = full sync" },
	{ "days_back", 0, MV_OPT_LONG, O(days_back), 0, 36500, "N",
	  "fetch_emails: messages of the last N days, 0 = any age (default 1)" },
	{ "format", 0, MV_OPT_STR, O(format), 0, 0, "FMT",
	  "full, metadata or raw (default full)" },
	{ "help", 'h', MV_OPT_FLAG, O(help), 0, 0, NULL, "show this help" },
	{ "html_file", 0, MV_OPT_STR, O(html_file), 0, 0, "FILE",
	  "send_email: HTML body from FILE (- for stdin)" },
	{ "id", 0, MV_OPT_LIST, O(id), 0, 0, "ID",
	  "message id FOLDER/UIDVALIDITY/UID (repeatable)" },
	{ "in_reply_to", 0, MV_OPT_STR, O(in_reply_to), 0, 0, "MSGID",
	  "send_email: Message-ID replied to" },
	{ "include_spam_trash", 0, MV_OPT_FLAG, O(include_spam_trash), 0, 0,
	  NULL, "fetch_emails: include the Junk and Trash folders" },
	{ "label", 0, MV_OPT_LIST, O(label), 0, 0, "FOLDER",
	  "fetch_emails: this folder only (repeatable; default every folder "
	  "but Junk, Trash and All)" },
	{ "lookback_days", 0, MV_OPT_LONG, O(lookback_days), 0, 36500, "N",
	  "sync: a full sync takes the last N days, 0 = any age (default 90)" },
	{ "max_message_size", 0, MV_OPT_LONG, O(max_message_size), 1024,
	  1L << 30, "BYTES", "larger messages give their headers only "
	  "(default 52428800)" },
	{ "max_results", 0, MV_OPT_LONG, O(max_results), 0, 10000000, "N",
	  "fetch_emails: at most N messages, the newest of all the folders "
	  "read, 0 = no cap (default 0)" },
	{ "output", 'o', MV_OPT_STR, O(output), 0, 0, "MODE",
	  "json (one document) or ndjson (one line per item) (default json)" },
	{ "output_file", 0, MV_OPT_STR, O(output_file), 0, 0, "FILE|-",
	  "get_attachment: where to write the bytes" },
	{ "quiet", 0, MV_OPT_FLAG, O(quiet), 0, 0, NULL, "errors only on stderr" },
	{ "raw_file", 0, MV_OPT_STR, O(raw_file), 0, 0, "FILE|-",
	  "send_email: send this RFC 5322 message as it is" },
	{ "remove_label", 0, MV_OPT_LIST, O(remove_label), 0, 0, "LABEL",
	  "modify_labels: UNREAD, STARRED, DRAFT or a keyword to remove "
	  "(on Gmail: any label id; repeatable)" },
	{ "save_sent", 0, MV_OPT_FLAG, O(save_sent), 0, 0, NULL,
	  "send_email: also APPEND the message to the Sent folder" },
	{ "subject", 0, MV_OPT_STR, O(subject), 0, 0, "TEXT", "send_email: Subject" },
	{ "timeout", 0, MV_OPT_LONG, O(timeout), 1, 3600, "SECONDS",
	  "limit for connecting and for each read or write (default 30)" },
	{ "to", 0, MV_OPT_LIST, O(to), 0, 0, "ADDR", "send_email: To (repeatable)" },
	{ "token_uri", 0, MV_OPT_STR, O(token_uri), 0, 0, "URL",
	  "OAuth2 token endpoint (env IMAP_WORKER_TOKEN_URI; else the "
	  "credentials' token_uri, else Google's)" },
	{ "verbose", 'v', MV_OPT_COUNT, O(verbose), 0, 0, NULL,
	  "on stderr: -v steps and totals, -vv each command" },
	{ "version", 'V', MV_OPT_FLAG, O(version), 0, 0, NULL, "show the version" },
};

#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static void
opts_defaults(struct opts *o)
{
	const char *env;

	memset(o, 0, sizeof(*o));
	if ((env = getenv("IMAP_WORKER_TOKEN_URI")) != NULL && *env)
		o->token_uri = env;
	o->timeout = 30;
	o->max_message_size = 50L << 20;
	o->days_back = 1;
	o->format = "full";
	o->lookback_days = 90;
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
	printf("usage: imap-worker --action ACTION [--credentials @FILE | "
	    "--credentials -]\n"
	    "                   [options]\n\n"
	    "Runs one action on an IMAP mailbox and prints one JSON result on "
	    "stdout.\n\n"
	    "ACTIONS\n"
	    "  fetch_emails    messages of --days_back in --label folders\n"
	    "  get_email       one message (--id FOLDER/UIDVALIDITY/UID)\n"
	    "  list_labels     folders with their counts and special-use "
	    "roles (Gmail: its labels)\n"
	    "  get_profile     address and totals\n"
	    "  send_email      send a message over SMTP (--to, --subject, "
	    "--body...)\n"
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
	    "  0 success; 64 invalid_argument; 65 not_found; 66 no_input; "
	    "69 api;\n"
	    "  70 internal; 75 timeout, network; 77 auth, permission; "
	    "78 bad_credentials.\n\n"
	    "See imap-worker(1).\n");
}
