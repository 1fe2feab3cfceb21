/* gmail-worker's command line: one sorted table of long options drives
 * parsing and --help. */
#ifndef GW_OPTS_H
#define GW_OPTS_H

#include <stddef.h>

#include "shared/err.h"
#include "shared/opt.h"


struct opts {
	const char	*action;
	const char	*credentials;
	const char	*user_email;
	const char	*api_base;
	const char	*token_uri;
	const char	*output;		/* json | ndjson (sync: ndjson
						   unless given) */
	long		 timeout;
	long		 max_wait;
	double		 quota_units_per_sec;	/* < 0: the profile's */
	long		 max_in_flight;
	const char	*quota_profile;		/* classic | 2026 */
	long		 batch_size;
	long		 days_back;
	const char	*query;
	struct strlist	 label;
	long		 max_results;		/* 0: no cap */
	int		 include_spam_trash;
	const char	*format;		/* full | metadata | raw */
	struct strlist	 id;
	const char	*start_history_id;
	const char	*cursor;		/* sync */
	long		 lookback_days;		/* sync */
	struct strlist	 to, cc, bcc;
	const char	*subject;
	const char	*body;
	const char	*body_file;
	const char	*html_file;
	struct strlist	 attach;
	const char	*thread_id;
	const char	*in_reply_to;
	const char	*raw_file;
	struct strlist	 add_label, remove_label;
	int		 confirm;
	const char	*attachment_id;
	const char	*output_file;
	int		 verbose;
	int		 quiet;
	int		 help;
	int		 version;
};

/* Parses argv into o (defaults first, then the environment's
 * GMAIL_API_BASE and GMAIL_TOKEN_URI, then options; the default --output
 * is ndjson for sync, json for the other actions). Options accept '_'
 * and '-' alike, "--opt=value" and "--opt value". Returns 0, or -1 with
 * err (invalid_argument) naming the option. Strings borrow from argv. */
int opts_parse(struct opts *o, int argc, char **argv, struct mv_err *err);
/* Frees the lists. */
void opts_free(struct opts *o);
/* Prints --help to stdout. */
void opts_usage(void);

#endif
