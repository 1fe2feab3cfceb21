/* The sync action of contract §5: what changed in the mailbox since a
 * cursor, or everything of the last days without one. */
#ifndef GW_SYNC_H
#define GW_SYNC_H

#include "gmail-worker/gmail.h"

/* The longest cursor accepted (contract §5). */
#define SYNC_CURSOR_MAX	1024

/* Prints the changes and the summary (or the error); returns the exit
 * code. */
int sync_run(struct gm *);

#endif
