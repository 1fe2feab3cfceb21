/* mailvisord's asynchronous Redis connection: connect, AUTH, SELECT, and
 * reconnection with backoff on the daemon's event loop. */
#ifndef MVD_RDS_H
#define MVD_RDS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct event_base;
struct rds;

/* Backoff between connection attempts: 0.1 s doubling to 5 s. */
#define RDS_BACKOFF_MIN_MS	100
#define RDS_BACKOFF_MAX_MS	5000
/* Default bound on connecting, on the handshake and on any reply. */
#define RDS_TIMEOUT_MS		10000
/* Longest password file read. */
#define RDS_PASSWORD_MAX	1024

/*
 * Called once per command sent with rds_command(): reply is the server's
 * answer (borrowed: hiredis frees it when the callback returns), or NULL
 * when the connection was lost, timed out or was closed before an answer
 * came. The callback may send further commands; they fail (-1) while the
 * connection is down.
 */
typedef void (*rds_reply_fn)(struct rds *, redisReply *reply, void *arg);

/*
 * A connection on base to the unix socket path sock when it is non-NULL
 * and non-empty, else to url: redis://[[user]:password@]host[:port][/db]
 * (host may be [v6]; port 6379 by default; user and password may be
 * %-encoded), NULL meaning redis://127.0.0.1:6379. The database is db,
 * unless url names one. password_file (may be NULL), when given, holds the
 * password (one line; it overrides one in the url) and is read again at
 * each connection attempt, so that it may be rotated; its content is never
 * logged. Connecting starts at once and goes on in the background: a
 * failure is logged once per outage (what failed, then why) and retried
 * with backoff, never fatal; a reply later than the timeout (see
 * rds_set_timeout()) counts as a failure. A host name is resolved at each
 * attempt, synchronously (hiredis 0.14 has no other way): prefer an
 * address or a socket.
 * Returns NULL with errno EINVAL for a NULL base, a bad url (logged, but
 * never the url itself), db < 0, password_file "-", or a password file
 * that is empty, of several lines or longer than RDS_PASSWORD_MAX
 * (logged); errno from open/read when the password file cannot be read
 * now (logged); ENOMEM. Free with rds_free().
 */
struct rds *rds_new(struct event_base *base, const char *url,
    const char *sock, const char *password_file, int db);

/* What r's log lines start with ("redis" by default), e.g. "redis
 * (queue reads)" when a daemon has more than one connection. */
void rds_set_name(struct rds *r, const char *name);

/* 1 when connected, authenticated and on the right database; else 0. */
int rds_connected(const struct rds *);

/*
 * Sends one command, given as argc arguments argv with lengths argvlen
 * (NULL: each argv[i] is a C string); never a format string, so data never
 * becomes syntax. cb (may be NULL: the reply is discarded) is called with
 * arg once the reply comes (see rds_reply_fn). Commands are answered in
 * the order sent; consecutive calls in one turn of the loop go out as one
 * pipeline. Not for blocking commands (BLPOP, XREAD BLOCK): a reply later
 * than the timeout resets the connection.
 * Returns 0, or -1 with errno ENOTCONN while not connected (cb is then
 * never called), EINVAL for argc < 1, ENOMEM.
 */
int rds_command(struct rds *, int argc, const char **argv,
    const size_t *argvlen, rds_reply_fn cb, void *arg);

/*
 * A constant Lua script, sent by EVALSHA once Redis knows it: the first
 * use on a connection sends SCRIPT LOAD, and every (re)connection loads
 * the scripts used so far again, so that the text travels once, not with
 * every call. Define one per script, static, with RDS_SCRIPT(text).
 */
struct rds_script {
	const char	*text;
	char		 sha[41];	/* "" until SCRIPT LOAD answered */
};
#define RDS_SCRIPT(text)	{ (text), "" }
#define RDS_SCRIPTS_MAX		16	/* scripts per connection */

/*
 * Runs script s with argc arguments argv (numkeys, the keys, the other
 * arguments; lengths argvlen, NULL for C strings), as rds_command() runs
 * a command: EVALSHA when the script's digest is known, else EVAL. A
 * NOSCRIPT answer (Redis restarted or its scripts flushed: the script did
 * not run) sends it again by EVAL, with a copy of the arguments, before
 * cb sees any reply. rds_cancel(arg) works as for rds_command(). Returns
 * 0, or -1 (ENOTCONN, EINVAL, ENOMEM) without calling cb.
 */
int rds_eval(struct rds *, struct rds_script *s, int argc,
    const char **argv, const size_t *argvlen, rds_reply_fn cb, void *arg);

/* Forgets every pending callback whose arg is arg: it will not be called.
 * For a caller about to free arg. */
void rds_cancel(struct rds *, void *arg);

/*
 * Calls fn(arg) each time the connection becomes ready (the first time
 * and after each reconnection), from the event loop. Up to RDS_HOOKS_MAX
 * pairs are kept (a pair already registered is not added twice; beyond the
 * limit, a warning is logged and fn is not added). fn NULL removes every
 * hook registered with arg.
 */
#define RDS_HOOKS_MAX	8
void rds_on_connect(struct rds *, void (*fn)(void *), void *arg);

/*
 * Drops the connection (why is logged, once per outage) and reconnects
 * with backoff; pending callbacks get NULL. For a caller that could not
 * finish a pipeline (e.g. out of memory after MULTI). Safe from a reply
 * callback: the close itself happens from the loop.
 */
void rds_reset(struct rds *, const char *why);

/* Sets the bound on connecting, the handshake and each reply (seconds,
 * > 0; RDS_TIMEOUT_MS by default). */
void rds_set_timeout(struct rds *, double seconds);

/* The event base given to rds_new() (borrowed). */
struct event_base *rds_base(const struct rds *);

/* "host:port/db" or "unix:path/db", for messages: never the password.
 * Borrowed: valid until rds_free(). */
const char *rds_address(const struct rds *);

/* Closes the connection: pending callbacks get NULL first. NULL-safe. Not
 * from within a reply callback. Users of the connection (stats) are freed
 * before it. */
void rds_free(struct rds *);

#endif
