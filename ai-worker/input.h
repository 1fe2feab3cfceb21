/* The mail a run works on: which JSON shapes are accepted and the thread
 * each one gives. */
#ifndef AI_INPUT_H
#define AI_INPUT_H

#include <stddef.h>
#include <jansson.h>

#include "shared/err.h"

#define AI_INPUT_MAX	(64u << 20)	/* bytes of one document or line */
#define AI_THREAD_MAX	1000		/* messages in one thread */

/* One thread: its messages, oldest first, as given. */
struct ai_thread {
	json_t	*emails;	/* array of EMAIL objects, owned */
	char	*thread_id;	/* owned; NULL when the mail names none */
	json_t	*nomail;	/* AI_INPUT_NO_MAIL: {"change", "id"}, owned */
};

/* ai_input_parse(): a worker's ndjson summary line, which holds no
 * mail (gmail-worker --output ndjson | ai-worker --output ndjson). */
#define AI_INPUT_SUMMARY	1
/* ai_input_parse(): a change line that carries no mail (deleted, labels:
 * a job consuming a mail stream gets those too); t->nomail says which. */
#define AI_INPUT_NO_MAIL	2

/*
 * Takes one input document (len bytes of JSON text): an EMAIL, an array
 * of EMAILs, a get_thread result ({"emails": [...]}) or a sync change
 * line ({"change": "added", "email": EMAIL}). Returns 0 with t filled, or
 * -1 with err (invalid_argument, saying which shapes are accepted; or
 * the error of a worker's error envelope given as input, as it says), or
 * AI_INPUT_SUMMARY for a successful summary line (err set too, for a
 * caller that wants mail), or AI_INPUT_NO_MAIL for a change line other
 * than "added" without an email (t->nomail set).
 */
int ai_input_parse(const char *text, size_t len, struct ai_thread *t,
    struct mv_err *err);
void ai_thread_free(struct ai_thread *t);

#endif
