/* imap-worker's command line: one sorted table of long options drives
 * parsing and --help. */
#ifndef IW_OPTS_H
#define IW_OPTS_H

#include <stddef.h>

#include "shared/err.h"
#include "shared/opt.h"

struct opts {
	const char	*action;
	const char	*credentials;
	const char	*ca_file;
	int		 allow_plaintext;
	const char	*token_uri;
	const char	*output;		/* json | ndjson */
	long		 timeout;
	long		 max_message_size;	/* bytes */
	long		 days_back;
	struct strlist	 label;
	long		 max_results;		/* 0: no cap */
	int		 include_spam_trash;
	const char	*format;		/* full | metadata | raw */
	struct strlist	 id;
	struct strlist	 add_label, remove_label;
	int		 confirm;
	struct strlist	 to, cc, bcc, attach;	/* send_email */
	const char	*subject;
	const char	*body;
	const char	*body_file;
	const char	*html_file;
	const char	*in_reply_to;
	const char	*raw_file;
	int		 save_sent;
	const char	*attachment_id;		/* get_attachment */
	const char	*output_file;
	const char	*cursor;		/* sync */
	long		 lookback_days;		/* sync */
	int		 verbose;
	int		 quiet;
	int		 help;
	int		 version;
};

/* Parses argv into o (defaults first, then options; IMAP_WORKER_TOKEN_URI
 * is --token_uri's fallback; the default --output is ndjson for sync, json
 * for the other actions). Returns 0, or -1 with err
 * (invalid_argument) naming the option. Strings borrow from argv. */
int opts_parse(struct opts *o, int argc, char **argv, struct mv_err *err);
/* Frees the lists. */
void opts_free(struct opts *o);
/* Prints --help to stdout. */
void opts_usage(void);

#endif
