/* RFC 5322 messages for send_email. */
#ifndef MV_COMMON_COMPOSE_H
#define MV_COMMON_COMPOSE_H

#include <stddef.h>
#include <time.h>

#include "shared/err.h"

/* Gmail's size limit for a sent message (35 MiB), in bytes. */
#define COMPOSE_MAX_MESSAGE	36700160

struct compose {
	const char	 *from;		/* may be NULL: Gmail fills it in */
	const char	**to;		/* each entry one address or a list */
	size_t		  nto;
	const char	**cc;
	size_t		  ncc;
	const char	**bcc;
	size_t		  nbcc;
	const char	 *subject;	/* UTF-8, may be NULL */
	const char	 *body_text;	/* UTF-8, may be NULL */
	size_t		  body_text_len;
	const char	 *body_html;	/* UTF-8, may be NULL */
	size_t		  body_html_len;
	const char	**attach;	/* file paths */
	size_t		  nattach;
	const char	 *in_reply_to;	/* "<id@host>", may be NULL */
	const char	 *references;	/* may be NULL: then in_reply_to */
	/* the domain of the Message-ID; NULL: "mailvisor.local" */
	const char	 *message_id_domain;
	time_t		  date;		/* Date header; 0: now */
};

/*
 * Builds the message: Date, Message-ID, From (when given), To, Cc, Bcc
 * (Gmail removes Bcc when sending), Subject, In-Reply-To and References,
 * MIME-Version. Non-ASCII header text is RFC 2047-encoded (B, UTF-8,
 * words of at most 75 characters, folded at 78); display names with
 * specials are quoted. Body: text/plain alone, or multipart/alternative
 * with text/html, inside multipart/mixed when there are attachments
 * (base64, Content-Type guessed from the extension, filename as RFC 2231
 * when non-ASCII). Text parts are UTF-8, quoted-printable when needed.
 * Lines end in CRLF. Header values containing CR or LF are refused
 * (invalid_argument: header injection), as are addresses without '@',
 * a message without any recipient, and one larger than
 * COMPOSE_MAX_MESSAGE.
 * A .eml attachment goes as message/rfc822 (7bit or 8bit) when it can.
 * Errors: invalid_argument, no_input (attachment missing or unreadable),
 * internal (out of memory, no randomness).
 * Returns a new buffer (caller frees) and its length, or NULL with err.
 */
char *compose_message(const struct compose *m, size_t *lenp,
    struct mv_err *err);

/* What send_email's options ask for (gmail-worker's and imap-worker's). */
struct compose_req {
	const char	 *from;		/* may be NULL */
	const char	 *raw_file;	/* a whole message, or NULL */
	const char	**to, **cc, **bcc, **attach;
	size_t		  nto, ncc, nbcc, nattach;
	const char	 *subject, *body, *body_file, *html_file;
	const char	 *in_reply_to;
};

/*
 * The message to send: --raw_file as it is (at most COMPOSE_MAX_MESSAGE
 * bytes; it excludes every other option), or compose_message() of the
 * options (--body and --body_file exclude each other; a recipient is
 * needed). Errors: invalid_argument, no_input (a file that cannot be
 * read). Returns a new buffer (caller frees) and *lenp, or NULL with err.
 */
char *compose_request(const struct compose_req *r, size_t *lenp,
    struct mv_err *err);

#endif
