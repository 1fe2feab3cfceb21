/* The Gmail API as the actions use it: one context per run (options,
 * credentials, engine, output), URLs, method costs, label names, errors. */
#ifndef GW_GMAIL_H
#define GW_GMAIL_H

#include <stdio.h>
#include <jansson.h>

#include "common/creds.h"
#include "common/http.h"
#include "gmail-worker/opts.h"
#include "shared/err.h"

/* Gmail API methods with a quota cost. */
enum gm_method {
	GM_GET_PROFILE,
	GM_LABELS_LIST,
	GM_LABELS_GET,
	GM_HISTORY_LIST,
	GM_MESSAGES_LIST,
	GM_MESSAGES_GET,
	GM_ATTACHMENTS_GET,
	GM_MESSAGES_MODIFY,
	GM_MESSAGES_TRASH,
	GM_MESSAGES_UNTRASH,
	GM_MESSAGES_DELETE,
	GM_MESSAGES_BATCH_MODIFY,
	GM_MESSAGES_BATCH_DELETE,
	GM_MESSAGES_SEND,
	GM_THREADS_GET,
	GM_TOKEN,
	GM__COUNT
};

struct gm {
	struct opts		*o;
	struct creds		 creds;
	int			 have_creds;
	struct http_engine	*eng;
	const char		*token_uri;
	const char		*scopes;	/* for service accounts */
	const char		*user_email;	/* --user_email or learnt */
	char			*learnt_email;	/* owned */
	const int		*costs;		/* per enum gm_method */
	int			 ndjson;
	FILE			*out;
	json_t			*labels;	/* cached labels.list, or NULL */
};

/* Sets up quota profile, engine and token minting. Returns 0, or -1 with
 * err. */
int gm_init(struct gm *, struct opts *, const char *scopes,
    struct mv_err *err);
void gm_free(struct gm *);

/* The quota profile's per-user budget in units per second, or -1 for an
 * unknown profile name. */
double gm_profile_rate(const char *profile);
/* The rate to pace to, units per second: PACE_SHARE of the quota
 * (--quota_units_per_sec, else the profile's budget); 0 for pacing off. */
double gm_pace_rate(const struct opts *);

/* "API_BASE/gmail/v1/users/me" + fmt. Returns a new string. */
char *gm_url(struct gm *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The path part alone ("/gmail/v1/users/me..."), for batch parts. */
char *gm_path(struct gm *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* history.list from start (escaped here), with an optional labelId and
 * pageToken; sync_types asks for the four types a sync folds (added,
 * deleted, labels added and removed). Returns a new string. */
char *gm_history_url(struct gm *, const char *start, const char *label,
    const char *page, int sync_types);

/* The batch endpoint, "API_BASE/batch/gmail/v1". Returns a new string. */
char *gm_batch_url(struct gm *);

/* A new request for method m (its cost, the bearer token). */
struct http_req *gm_req(struct gm *, enum gm_method m, const char *http_method,
    char *url_owned, const json_t *body, const char *what);

/* Runs one call to completion and parses its JSON answer (NULL for an
 * empty one). Returns 0 and *out (new reference, may be NULL), or -1 with
 * err. */
int gm_call_json(struct gm *, struct http_req *r, json_t **out,
    struct mv_err *err);
/* Parses a finished request's JSON answer; same contract. */
int gm_parse_json(struct http_req *r, json_t **out, struct mv_err *err);

/* Fetches labels.list into g->labels once. Returns 0 or -1 with err. */
int gm_load_labels(struct gm *, struct mv_err *err);

/* A label name or id to its id (system ids pass as they are; names looked
 * up case-insensitively in labels.list, fetched once). Returns a borrowed
 * string, or NULL with err (not_found). */
const char *gm_label_id(struct gm *, const char *name_or_id,
    struct mv_err *err);

/* A message id as Gmail writes them: 1-64 of [0-9A-Za-z_-]. An id that is
 * not is refused here with not_found (Gmail answers 400 "Invalid id
 * value"), before any request. */
int gm_check_id(const char *id, struct mv_err *err);

#endif
