/* mailvisorctl's parts: where the daemon is (ctl/target.c), the HTTP
 * client (ctl/client.c) and the printers of its answers (ctl/print.c). */
#ifndef CTL_CTL_H
#define CTL_CTL_H

#include <stddef.h>

#include <jansson.h>

#include "supervisor/routes.h"

#define CTL_DEFAULT_CONF	"/etc/mailvisor/mailvisord.conf"
#define CTL_ANSWER_MAX		(16 * 1024 * 1024)	/* of a body */
#define CTL_TOKEN_MIN		16
#define CTL_TOKEN_MAX		1024

/*
 * Prints "mailvisorctl: MESSAGE" and a newline on stderr. Returns code, so
 * that callers can `return ctl_fail(EX_USAGE, ...)`. Text that comes from
 * the daemon, a file or the environment must be passed through
 * ctl_clean() first.
 */
int ctl_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* s made safe to quote in a message on a terminal: control characters
 * become spaces, ill-formed bytes '?', at most max bytes ("..." when cut).
 * Returns buf (buflen at least 4). */
const char *ctl_clean(char *buf, size_t buflen, const char *s, size_t max);

/* What the command line and the environment say about the daemon. */
struct ctl_source {
	const char	*url;		/* --url */
	const char	*token_file;	/* --token-file */
	const char	*config;	/* -c; NULL: the default, when it
					 * exists and may be read */
	const char	*cacert;	/* --cacert; NULL: the system's */
};

/* The daemon to talk to. */
struct ctl_target {
	char	*url;		/* base URL without a trailing '/' */
	char	*token;		/* NULL: none; wiped when freed */
	char	*url_from;	/* the URL's source, for messages */
	const char *cacert;	/* borrowed from the source */
};

/*
 * Fills t from, in this order, src (flags), the environment
 * (MAILVISOR_URL, MAILVISOR_TOKEN, MAILVISOR_TOKEN_FILE) and the daemon's
 * configuration file ([http] listen and token_file). Returns 0, or an
 * exit status after printing why (64 no URL or a bad one, 66 a token file
 * missing or unreadable, 78 a configuration or token file not valid).
 * Free t with ctl_target_free() either way.
 */
int ctl_target_get(const struct ctl_source *src, struct ctl_target *t);
void ctl_target_free(struct ctl_target *t);

/*
 * Reads a token file: one line of CTL_TOKEN_MIN..CTL_TOKEN_MAX printable
 * ASCII bytes, a final newline allowed. Returns a new string (caller
 * wipes and frees it), or NULL with *code 66 (missing, unreadable) or 78
 * (not a valid token) after printing why (the file's name, never its
 * content).
 */
char *ctl_token_read(const char *path, int *code);

/* 1 when s[0..n) is a valid token (as above, without the newline), else
 * 0. */
int ctl_token_valid(const char *s, size_t n);

/* One request to the API. */
struct ctl_request {
	enum route_id	 route;
	const char	*params[ROUTE_PARAMS_MAX];
	size_t		 nparams;
	const char	*query;		/* "a=1&b=2", encoded; NULL:
					 * none */
	json_t		*body;		/* borrowed; NULL: none
					 * ("{}" if the route has one) */
};

/*
 * Sends req to t with a limit of timeout seconds and reads the answer,
 * at most CTL_ANSWER_MAX bytes. Returns 0 with *answer a new reference to
 * the JSON object of a 2xx answer, or an exit status after printing why
 * (see mailvisorctl(1), EXIT STATUS). With raw not NULL, *raw is then
 * also the answer's bytes as the daemon sent them (a new string; caller
 * frees). The token is never printed.
 */
int ctl_call(const struct ctl_target *t, long timeout,
    const struct ctl_request *req, json_t **answer, char **raw);

/*
 * The exit status for an HTTP status of an answer: 0 for 2xx, 64 for 400
 * and 413, 65 for 404 and 409, 69 for 503, 75 for 408, 77 for 401 and
 * 403, 70 for anything else.
 */
int ctl_http_exit(long status);

/*
 * Escapes s for a terminal into a new string: C0 and C1 control
 * characters, DEL and ill-formed bytes become \n, \t, \r, \\, \xNN or
 * \u00NN; at most max characters are kept ("..." when cut; 0: no limit).
 * Returns NULL when out of memory. Caller frees.
 */
char *ctl_escape(const char *s, size_t max);

/* The printers: each writes the human form of one answer to stdout.
 * Return 0, or 70 after printing why when the answer is not of the
 * expected form. words: the command's words and argument, for the
 * messages (borrowed). */
typedef int (*ctl_printer)(json_t *answer, const char *const *words);

int ctl_print_sched_status(json_t *, const char *const *);
int ctl_print_scheduled(json_t *, const char *const *);
int ctl_print_sched_change(json_t *, const char *const *);
int ctl_print_trigger(json_t *, const char *const *);
int ctl_print_enqueue(json_t *, const char *const *);
int ctl_print_stats(json_t *, const char *const *);
int ctl_print_history(json_t *, const char *const *);
int ctl_print_failures(json_t *, const char *const *);
int ctl_print_cleared(json_t *, const char *const *);
int ctl_print_active(json_t *, const char *const *);
int ctl_print_ping(json_t *, const char *const *);
int ctl_print_daemon(json_t *, const char *const *);
int ctl_print_job(json_t *, const char *const *);
int ctl_print_revoke(json_t *, const char *const *);
int ctl_print_queues(json_t *, const char *const *);
int ctl_print_purge(json_t *, const char *const *);
int ctl_print_cursors(json_t *, const char *const *);
int ctl_print_cursor_reset(json_t *, const char *const *);
int ctl_print_dlq(json_t *, const char *const *);
int ctl_print_reprocess(json_t *, const char *const *);
int ctl_print_dlq_purge(json_t *, const char *const *);
int ctl_print_streams(json_t *, const char *const *);
int ctl_print_tail(json_t *, const char *const *);

/* Writes s and a newline to stdout with each C1 control character
 * (U+0080..U+009F, which jansson leaves as they are) as a \u escape: JSON
 * strings are the only place they can be. */
void ctl_json_put(const char *s);

/* What a 2xx answer means for the exit status, once printed: 0, or an
 * exit status after saying why on stderr. */
typedef int (*ctl_verdict)(json_t *answer);

/* inspect ping: 69 when the daemon has no Redis. */
int ctl_verdict_ping(json_t *);

#endif
