/* imap-worker's credentials document (contract §6): the mail server, how
 * to reach it, who logs in and with what secret. */
#ifndef IW_ACCOUNT_H
#define IW_ACCOUNT_H

#include "common/creds.h"
#include "shared/err.h"

enum sec {
	SEC_TLS,	/* TLS from the first byte (993, 995, 465) */
	SEC_STARTTLS,	/* plaintext, then STARTTLS/STLS, required */
	SEC_NONE,	/* plaintext: refused without --allow_plaintext */
};

/* One server: IMAP/POP3, or SMTP submission. */
struct server {
	char		*host;
	int		 port;
	enum sec	 security;
};

/* How an OAuth2 token logs in to IMAP. */
enum oauth_mech {
	OAUTH_AUTO,		/* OAUTHBEARER when offered, else XOAUTH2 */
	OAUTH_XOAUTH2,
	OAUTH_OAUTHBEARER,	/* RFC 7628 */
};

struct account {
	int		 pop3;		/* type "pop3" (else "imap") */
	struct server	 in;
	struct server	 smtp;		/* host NULL when the document has none */
	char		*username;
	char		*password;	/* NULL with oauth2 */
	int		 has_oauth;
	struct creds	 oauth;		/* authorized_user or access_token */
	enum oauth_mech	 mech;		/* oauth2's "mechanism" */
};

/*
 * Loads the document from spec ("@FILE", "-", or NULL: the environment
 * variable IMAP_WORKER_CREDENTIALS), through creds_load_doc(). Fields:
 * type "imap" or "pop3" (default imap), host, port (default by protocol
 * and security), security "tls" | "starttls" | "none" (default tls),
 * username, and password or oauth2 (an authorized_user document or
 * {"access_token": ...}, either with an optional "mechanism": "xoauth2"
 * or "oauthbearer"); smtp {host, port, security} optional (default
 * port 587 starttls, 465 tls). Errors: as creds_load(); bad_credentials
 * names the field, never a value. Returns 0, or -1 with err and a empty.
 */
int account_load(const char *spec, struct account *a, struct mv_err *err);

/* Frees every member, secrets wiped. NULL-safe. */
void account_free(struct account *a);

/* "tls", "starttls" or "none". */
const char *account_sec_name(enum sec);

#endif
