/* POP3 mailboxes: the session and the actions POP3 can do. */
#ifndef IW_POP3_H
#define IW_POP3_H

#include "imap-worker/session.h"

/* The greeting, STLS when the document says starttls (required), USER
 * and PASS, on the connection session_open() made. Returns 0, or -1 with
 * err. */
int pop3_open(struct session *s, struct mv_err *err);

/* QUIT (which makes DELEs so) when still connected, then frees. */
void pop3_close(struct session *s);

/* Runs ping, fetch_emails, sync or delete; any other action is
 * invalid_argument. Prints the result; returns the exit code. */
int pop3_run(struct session *s, const char *action);

#endif
