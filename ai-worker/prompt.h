/* The prompt: instructions in the system message, the mail as a
 * delimited JSON document in the user message, cut to fit a token
 * budget. */
#ifndef AI_PROMPT_H
#define AI_PROMPT_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "ai-worker/input.h"
#include "shared/err.h"

struct ai_prompt_opts {
	unsigned		 tasks;
	const char *const	*cats;
	size_t			 ncats;
	const json_t		*schema;
	long			 max_tokens;	/* estimated as bytes / 4 */
	time_t			 now;		/* for "today" */
	const char		*nonce;		/* the delimiters' tail */
};

struct ai_prompt {
	char	*system;		/* owned */
	char	*user;			/* owned */
	size_t	 messages_dropped;
	size_t	 bytes_dropped;		/* of body text */
};

/* Tokens of text as the worker estimates them: bytes / 4, rounded up. */
size_t prompt_tokens(size_t bytes);

/*
 * Builds the two messages for thread t. When they do not fit
 * max_tokens: quoted replies, "On ... wrote:" lines and signatures are
 * stripped from every body first, then messages are left out from the
 * second oldest on (the first and the newest are kept), then the longest
 * bodies are cut. Returns 0, or -1 with err when even the instructions do
 * not fit.
 */
int prompt_build(const struct ai_thread *t, const struct ai_prompt_opts *po,
    struct ai_prompt *p, struct mv_err *err);
void prompt_free(struct ai_prompt *p);

/* Removes quoted lines ('>'), "On ... wrote:" attributions and the
 * signature (from a "-- " line on) from s, in place. Returns the new
 * length. */
size_t prompt_strip_quotes(char *s);

#endif
