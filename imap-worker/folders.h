/* The mailbox's folders: LIST with their special-use roles, STATUS
 * counts; which folders a fetch reads by default. */
#ifndef IW_FOLDERS_H
#define IW_FOLDERS_H

#include <stddef.h>
#include <stdint.h>

#include "imap-worker/session.h"

struct folder {
	char		*name;
	const char	*role;		/* "inbox", "sent", "drafts", "junk",
					   "trash", "archive", "all",
					   "flagged", "important" (Gmail's
					   \Important), or NULL */
	int		 noselect;	/* \Noselect or \NonExistent */
};

struct folders {
	struct folder	*v;
	size_t		 n;
};

/* LISTs every folder ("" "*"). Returns 0, or -1 with err. */
int folders_list(struct session *s, struct folders *f, struct mv_err *err);
void folders_free(struct folders *f);

/* The folder of role (first one), or NULL. */
const struct folder *folders_by_role(const struct folders *f,
    const char *role);
/* 1 when a fetch without --label reads the folder: selectable, neither
 * junk nor trash (unless spam_trash) nor all (Gmail's All Mail holds
 * every message again). */
int folders_default(const struct folder *fo, int spam_trash);

struct folder_status {
	uint32_t	 messages, unseen, uidnext, uidvalidity;
	uint64_t	 highestmodseq;	/* 0: no CONDSTORE */
};

/* STATUS of one folder. Returns 0, or -1 with err. */
int folders_status(struct session *s, const char *name,
    struct folder_status *st, struct mv_err *err);

#endif
