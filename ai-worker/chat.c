/* Chat-completions requests and answers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "ai-worker/chat.h"

static json_t *
msg(const char *role, const char *content)
{
	return json_pack("{s:s, s:s}", "role", role, "content", content);
}

static json_t *
response_format(const json_t *schema, enum ai_rf rf)
{
	switch (rf) {
	case AI_RF_JSON_SCHEMA:
		return json_pack("{s:s, s:{s:s, s:b, s:O}}", "type",
		    "json_schema", "json_schema", "name", "mail_analysis",
		    "strict", 1, "schema", schema);
	case AI_RF_JSON_OBJECT:
		return json_pack("{s:s}", "type", "json_object");
	default:
		return NULL;
	}
}

char *
chat_request(const char *model, const char *system, const char *user,
    const json_t *schema, enum ai_rf rf, const char *retry_answer,
    const char *retry_error)
{
	json_t *req, *msgs = json_array(), *fmt;
	char *out, fix[700];

	json_array_append_new(msgs, msg("system", system));
	json_array_append_new(msgs, msg("user", user));
	if (retry_answer) {
		json_array_append_new(msgs, msg("assistant", retry_answer));
		snprintf(fix, sizeof(fix), "That answer does not fit the "
		    "schema (%s). Answer again with only the JSON object that "
		    "fits the schema.", retry_error);
		json_array_append_new(msgs, msg("user", fix));
	}
	req = json_pack("{s:s, s:o, s:i}", "model", model, "messages", msgs,
	    "temperature", 0);
	if ((fmt = response_format(schema, rf)) != NULL)
		json_object_set_new(req, "response_format", fmt);
	out = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (out == NULL)
		abort();
	return out;
}

char *
chat_strip_fence(char *s)
{
	char *p = s, *end, *nl;
	size_t n;

	p += strspn(p, " \t\r\n");
	if (strncmp(p, "```", 3) != 0)
		return s;
	if ((nl = strchr(p, '\n')) == NULL)
		return s;
	p = nl + 1;
	end = p + strlen(p);
	while (end > p && strchr(" \t\r\n", end[-1]))
		end--;
	if (end - p >= 3 && strncmp(end - 3, "```", 3) == 0)
		end -= 3;
	while (end > p && strchr(" \t\r\n", end[-1]))
		end--;
	n = (size_t)(end - p);
	memmove(s, p, n);
	s[n] = '\0';
	return s;
}

static long
usage_field(const json_t *u, const char *k)
{
	const json_t *v = json_object_get(u, k);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	    (long)json_integer_value(v) : 0;
}

int
chat_parse(const char *body, size_t len, struct chat_answer *a,
    struct mv_err *err)
{
	json_t *root, *choice, *m, *u;
	const char *content, *refusal, *finish, *model;

	memset(a, 0, sizeof(*a));
	if ((root = json_loadb(body, len, 0, NULL)) == NULL)
		return mv_err_set(err, MV_E_API, "the endpoint's answer is not "
		    "JSON");
	u = json_object_get(root, "usage");
	a->prompt_tokens = usage_field(u, "prompt_tokens");
	a->completion_tokens = usage_field(u, "completion_tokens");
	if ((model = json_string_value(json_object_get(root, "model"))))
		a->model = strdup(model);
	choice = json_array_get(json_object_get(root, "choices"), 0);
	m = json_object_get(choice, "message");
	if (!json_is_object(m)) {
		json_decref(root);
		return mv_err_set(err, MV_E_API, "the endpoint's answer has no "
		    "choices[0].message");
	}
	content = json_string_value(json_object_get(m, "content"));
	refusal = json_string_value(json_object_get(m, "refusal"));
	finish = json_string_value(json_object_get(choice, "finish_reason"));
	if (refusal || (finish && strcmp(finish, "content_filter") == 0)) {
		a->refused = 1;
		snprintf(a->why, sizeof(a->why), "%s", refusal ? refusal :
		    "finish_reason content_filter");
	} else if (content == NULL)
		snprintf(a->why, sizeof(a->why), "no content in the answer");
	else if ((a->content = strdup(content)) != NULL)
		chat_strip_fence(a->content);
	json_decref(root);
	return 0;
}

void
chat_answer_free(struct chat_answer *a)
{
	free(a->content);
	free(a->model);
	a->content = a->model = NULL;
}

int
chat_rf_refused(const char *body, size_t len)
{
	char *s;
	int yes;

	if (body == NULL || (s = strndup(body, len)) == NULL)
		return 0;
	yes = strcasestr(s, "response_format") != NULL ||
	    strcasestr(s, "json_schema") != NULL;
	free(s);
	return yes;
}
