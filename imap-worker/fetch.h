/* Fetching messages of the folder examined into EMAIL objects. */
#ifndef IW_FETCH_H
#define IW_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "imap-worker/session.h"

/* Where fetched emails go: printed one line each as they come (emails
 * NULL: ndjson) or gathered in emails. */
struct sink {
	struct session	*s;
	json_t		*emails;
	size_t		 count;
	long		 max;		/* 0: no cap */
};

/* Fetches uids[0..n) of the folder examined (named folder) into k: their
 * flags, sizes and arrival first, then their bodies (BODY.PEEK, in
 * batches bounded in bytes; past --max_message_size the header only,
 * marked "too_large"). UIDs the server no longer has are left out.
 * Returns 0, or -1 with err. */
int fetch_uids(struct sink *k, const char *folder, const uint32_t *uids,
    size_t n, struct mv_err *err);

#endif
