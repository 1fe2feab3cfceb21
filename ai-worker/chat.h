/* The chat-completions call: the request body, and what an answer holds
 * (the content, a refusal, the usage). */
#ifndef AI_CHAT_H
#define AI_CHAT_H

#include <stddef.h>
#include <jansson.h>

#include "ai-worker/opts.h"
#include "shared/err.h"

struct chat_answer {
	char	*content;	/* owned; the fence stripped; NULL: none */
	char	*model;		/* owned; the model that answered */
	long	 prompt_tokens;
	long	 completion_tokens;
	int	 refused;	/* refusal field or finish_reason content_filter */
	char	 why[256];	/* the refusal's text, or why no content */
};

/*
 * The request body for POST /chat/completions: model, the messages
 * (system, user, then when retry_answer is not NULL the rejected answer
 * and a user message saying what was wrong with it), temperature 0 and
 * the response_format rf asks for. Returns a new string; caller frees.
 */
char *chat_request(const char *model, const char *system, const char *user,
    const json_t *schema, enum ai_rf rf, const char *retry_answer,
    const char *retry_error);

/* Reads an answer body. Returns 0 with a filled (content NULL when the
 * model refused), or -1 with err (api) when it is not a chat completion. */
int chat_parse(const char *body, size_t len, struct chat_answer *a,
    struct mv_err *err);
void chat_answer_free(struct chat_answer *a);

/* Strips a Markdown code fence (```json ... ```) around s, in place.
 * Returns s. */
char *chat_strip_fence(char *s);

/* 1 when a 400's body says the response_format is not supported. */
int chat_rf_refused(const char *body, size_t len);

#endif
