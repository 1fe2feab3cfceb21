/* fetch_emails, get_email and get_thread: list, get in batches, decode,
 * stream; and the same machinery for other actions (sync) through a
 * sink. */
#ifndef GW_FETCH_H
#define GW_FETCH_H

#include "gmail-worker/gmail.h"

/* Each returns the exit code after printing the result or the error. */
int fetch_emails(struct gm *);
int fetch_one(struct gm *);
int fetch_thread(struct gm *);

/* The mailbox's latest history id (read before a listing, so that a later
 * history.list from it misses nothing; a new string, caller frees, NULL
 * when Gmail gave none), and its address when --user_email did not say.
 * Returns 0, or -1 with err. */
int fetch_profile(struct gm *, char **history_id, struct mv_err *err);

/* Where a fetch hands its messages. Each returns 0, or -1 with err to
 * fail the fetch (and abandon its requests). */
struct fetch_sink {
	/* A message decoded: email is stolen. */
	int	(*email)(void *arg, const char *id, json_t *email,
		    struct mv_err *err);
	/* A message gone before its get (404). */
	int	(*gone)(void *arg, const char *id, struct mv_err *err);
	void	*arg;
};

struct fetch;

/* A fetch of messages in --format-like format (full, metadata, raw) into
 * sink (copied). Returns it (caller frees with fetch_free()), or NULL with
 * err for an unknown format. */
struct fetch *fetch_new(struct gm *, const char *format,
    const struct fetch_sink *sink, struct mv_err *err);
void fetch_free(struct fetch *);
/* Queues the gets of ids, a JSON array of {"id": ...} (borrowed), in
 * batches of --batch_size. */
void fetch_ids(struct fetch *, json_t *ids);
/* Queues the listing (messages.list pages, then their gets) of the
 * messages of the last days days, 0 = any age. */
void fetch_listing(struct fetch *, long days);
/* Runs until every queued get is done. Returns 0, or -1 with err when a
 * get failed past its retries or a sink refused. */
int fetch_wait(struct fetch *, struct mv_err *err);
/* -v: the listing's pages and the gets' batches. */
void fetch_report(const struct fetch *);

#endif
