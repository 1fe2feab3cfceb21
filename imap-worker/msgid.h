/* Message ids of imap-worker: FOLDER/UIDVALIDITY/UID, the folder
 * percent-encoded (contract §6). */
#ifndef IW_MSGID_H
#define IW_MSGID_H

#include <stddef.h>
#include <stdint.h>

struct msgid {
	char		*folder;	/* decoded; owned */
	uint32_t	 uidvalidity;
	uint32_t	 uid;
};

/* The id of a message. New string (caller frees), or NULL when out of
 * memory. Bytes other than letters, digits and "-._~" are %XX. */
char *msgid_make(const char *folder, uint32_t uidvalidity, uint32_t uid);

/* Parses an id. Returns 0, or -1 (not FOLDER/UIDVALIDITY/UID: bad
 * percent-encoding, an empty folder, numbers out of 1..2^32-1). */
int msgid_parse(const char *id, struct msgid *m);
void msgid_free(struct msgid *m);

#endif
