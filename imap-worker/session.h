/* One IMAP session: connected, secured, logged in; the folder examined;
 * libetpan's answers turned into the contract's errors. */
#ifndef IW_SESSION_H
#define IW_SESSION_H

#include <stdint.h>
#include <stdio.h>

#include <libetpan/libetpan.h>

#include "imap-worker/account.h"
#include "imap-worker/conn.h"
#include "imap-worker/opts.h"
#include "shared/err.h"

/* What one ordinary command may read; a FETCH of bodies sets its own. */
#define SESSION_BUDGET	(16u << 20)

struct session {
	struct conn	 conn;
	mailimap	*m;
	mailpop3	*p3;		/* a pop3 document's, instead of m */
	struct account	 acct;
	const struct opts *o;
	FILE		*out;
	int		 ndjson;
	long		 token_expires_in;	/* -1: no OAuth token */
	char		*token;		/* the OAuth2 access token, or NULL */
	char		*examined;	/* the folder EXAMINEd, or NULL */
	int		 rw;		/* examined is SELECTed read-write */
	uint32_t	 uidvalidity, uidnext, exists;
	int		 gmail;		/* the server has X-GM-EXT-1 */
};

/*
 * Loads the credentials, connects (TLS, or STARTTLS required when the
 * document says so; plaintext only with --allow_plaintext), then logs in
 * (LOGIN with the password, or AUTHENTICATE XOAUTH2 with an OAuth2 access
 * token, refreshed first for an authorized_user document). A certificate
 * that fails verification stops before anything is sent. Returns 0, or -1
 * with err (the session then needs session_close() all the same).
 * Without connect, only the credentials (and an OAuth2 token) are got:
 * for an action that needs no IMAP (send_email without --save_sent).
 */
int session_open(struct session *s, const struct opts *o, int connect,
    struct mv_err *err);

/* Logs out (when logged in) and frees everything. NULL-safe. */
void session_close(struct session *s);

/* Sets err from libetpan's answer r to the command what: the connection's
 * failure (timeout, network, too large), the server's NO or BAD (api,
 * quoting its text), or a parse error. Returns -1. */
int session_fail(struct session *s, int r, const char *what,
    struct mv_err *err);

/* EXAMINEs folder (read-only: nothing a later FETCH does changes a flag),
 * unless it is the one examined already. A folder that does not exist is
 * not_found. Returns 0, or -1 with err. */
int session_examine(struct session *s, const char *folder,
    struct mv_err *err);

/* session_examine(), and *modseq the folder's HIGHESTMODSEQ (0 when the
 * server has no CONDSTORE). */
int session_examine_modseq(struct session *s, const char *folder,
    unsigned long long *modseq, struct mv_err *err);

/* ENABLE QRESYNC when the server offers QRESYNC and CONDSTORE. Returns 1
 * when enabled, else 0. */
int session_enable_qresync(struct session *s);

/* SELECTs folder read-write (for STORE, MOVE, EXPUNGE), unless it is
 * selected so already. Errors as session_examine()'s. */
int session_select(struct session *s, const char *folder,
    struct mv_err *err);

/* 1 when the server announced the capability (after login). */
int session_has(struct session *s, const char *cap);

#endif
