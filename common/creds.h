/* Credentials documents: authorized_user, service_account, access_token. */
#ifndef MV_COMMON_CREDS_H
#define MV_COMMON_CREDS_H

#include <stddef.h>
#include <jansson.h>

#include "shared/err.h"

enum creds_type {
	CREDS_AUTHORIZED_USER,
	CREDS_SERVICE_ACCOUNT,
	CREDS_ACCESS_TOKEN,
};

struct creds {
	enum creds_type	 type;
	char		*client_id;		/* authorized_user */
	char		*client_secret;		/* authorized_user */
	char		*refresh_token;		/* authorized_user */
	char		*client_email;		/* service_account */
	char		*private_key;		/* service_account, PEM */
	char		*private_key_id;	/* service_account, may be NULL */
	char		*token_uri;		/* may be NULL */
	char		*access_token;		/* access_token */
};

/*
 * Loads credentials from spec: "@PATH" reads the file, "-" reads stdin;
 * NULL falls back to the GMAIL_WORKER_CREDENTIALS environment variable
 * (same syntax). Inline JSON (anything else) is refused: argv is
 * world-readable. A file readable by group or other is warned about on
 * stderr (without its content). At most 1 MiB is read.
 * Errors: invalid_argument (no spec, inline JSON), no_input (file missing
 * or unreadable), bad_credentials (not JSON, unknown type, missing or
 * empty field, a private key that is not a PEM RSA key). Messages name the
 * file and the field, never a value.
 * Returns 0, or -1 with err set; on failure c holds nothing to free.
 */
int creds_load(const char *spec, struct creds *c, struct mv_err *err);

/* Parses a credentials document already in memory (same rules; source
 * names it in messages). */
int creds_parse(const char *json, size_t len, const char *source,
    struct creds *c, struct mv_err *err);

/* Fills c from a document already parsed (a member of a larger one:
 * imap-worker's oauth2); the same rules as creds_parse(). Returns 0, or
 * -1 with err and c empty. doc is borrowed. */
int creds_from_json(json_t *doc, const char *source, struct creds *c,
    struct mv_err *err);

/* Parses one credentials document read by creds_load_doc(); source names
 * it in messages; arg is the caller's. Returns 0, or -1 with err. */
typedef int (*creds_parse_fn)(const char *json, size_t len,
    const char *source, void *arg, struct mv_err *err);

/*
 * What creds_load() does for any worker's document: spec "@PATH" reads
 * the file, "-" stdin, NULL the environment variable env (same syntax);
 * inline JSON refused; a file readable by group or other warned about; at
 * most 1 MiB, in one buffer wiped after parse(). Errors as creds_load()'s.
 * Returns parse()'s answer, or -1 with err.
 */
int creds_load_doc(const char *spec, const char *env, creds_parse_fn parse,
    void *arg, struct mv_err *err);

/* Frees the string *p after overwriting it, and sets *p to NULL;
 * NULL-safe. */
void creds_wipe_str(char **p);

/* Frees every member (secrets are wiped first). NULL-safe. */
void creds_free(struct creds *c);

#endif
