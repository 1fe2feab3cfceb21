/* fetch_emails and get_email: list, get in batches, decode, stream. */
#ifndef GW_FETCH_H
#define GW_FETCH_H

#include "gmail-worker/gmail.h"

/* Each returns the exit code after printing the result or the error. */
int fetch_emails(struct gm *);
int fetch_one(struct gm *);

#endif
