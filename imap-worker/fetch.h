/* Fetching messages of the folder examined into EMAIL objects. */
#ifndef IW_FETCH_H
#define IW_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "imap-worker/folders.h"
#include "imap-worker/session.h"

/* Where fetched emails go: printed one line each as they come (emails
 * NULL: ndjson) or gathered in emails. */
struct sink {
	struct session	*s;
	json_t		*emails;
	size_t		 count;		/* emails sunk */
	long		 max;		/* 0: no cap */
	const char	*change;	/* sync: each email as a change line
					   {"change": change, "id", "email"} */
	const char	*gm_folder;	/* Gmail: the label the folder read
					   stands for, or NULL */
	json_t		*seen;		/* Gmail: X-GM-MSGIDs sunk, or NULL */
};

/* Hands one JSON object (stolen) to the sink as it is: printed as a line
 * or gathered. Returns 0, or -1 with err. */
int sink_emit(struct sink *k, json_t *obj, struct mv_err *err);

/* The label_ids of one FETCH answer holding UID and FLAGS (the folder,
 * UNREAD, STARRED, DRAFT, keywords); *uid its UID (0: none). New
 * reference. */
json_t *fetch_label_ids(const char *folder,
    const struct mailimap_msg_att *att, uint32_t *uid);

/* On Gmail, the label id a folder stands for: INBOX, SENT, DRAFT, TRASH,
 * SPAM, STARRED, IMPORTANT by its role, a user label's folder by its
 * name; NULL for All Mail and Gmail's other folders. */
const char *fetch_gm_folder_label(const struct folder *fo);

/* Prints fetch_emails' result from k (its emails, stolen), or err when
 * not NULL; returns the exit code. */
int fetch_finish(struct sink *k, const struct mv_err *err);

/* A snippet of an EMAIL's body_text: its first 200 characters, white
 * space folded. New reference. */
json_t *fetch_snippet(json_t *email);

/* Sets each attachment's attachment_id of an EMAIL: its place in the
 * list, from 1 (what get_attachment takes). */
void fetch_attachment_ids(json_t *email);

/* UID SEARCH SINCE days ago (UTC), or ALL when days is 0; *uids a new
 * array (caller frees), highest UID first. Returns 0, or -1 with err. */
int fetch_search(struct session *s, long days, uint32_t **uids, size_t *n,
    struct mv_err *err);

/* Fetches uids[0..n) of the folder examined (named folder) into k: their
 * flags, sizes and arrival first, then their bodies (BODY.PEEK, in
 * batches bounded in bytes; past --max_message_size the header only,
 * marked "too_large"). UIDs the server no longer has are left out.
 * Returns 0, or -1 with err. */
int fetch_uids(struct sink *k, const char *folder, const uint32_t *uids,
    size_t n, struct mv_err *err);

#endif
