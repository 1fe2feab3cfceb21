/* Input shapes: EMAIL, thread, get_thread result, change line. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ai-worker/input.h"

#define SHAPES "an EMAIL object, a thread (a JSON array of EMAILs, or a " \
	"get_thread result holding \"emails\"), or a sync change line " \
	"({\"change\": \"added\", \"email\": EMAIL})"

/* Does o look like the contract's EMAIL? An id, and text to work on. */
static int
is_email(const json_t *o)
{
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "id")))
		return 0;
	return json_is_string(json_object_get(o, "body_text")) ||
	    json_is_string(json_object_get(o, "body_html")) ||
	    json_is_string(json_object_get(o, "subject")) ||
	    json_is_string(json_object_get(o, "snippet"));
}

static int
thread_from_array(json_t *a, struct ai_thread *t, struct mv_err *err)
{
	size_t i;
	json_t *e;

	if (json_array_size(a) == 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "input: an empty "
		    "thread (no EMAIL in the array); expected " SHAPES);
	if (json_array_size(a) > AI_THREAD_MAX)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "input: a thread "
		    "of more than %d messages; expected " SHAPES,
		    AI_THREAD_MAX);
	json_array_foreach(a, i, e)
		if (!is_email(e))
			return mv_err_set(err, MV_E_INVALID_ARGUMENT, "input: "
			    "element %zu of the array is not an EMAIL (an "
			    "object with an id and a subject or body); "
			    "expected " SHAPES, i);
	t->emails = json_incref(a);
	return 0;
}

/*
 * The error envelope of the stage before (gmail-worker --action get_thread
 * | ai-worker): its error becomes this run's, type, retryability and
 * Retry-After kept, so that a pipeline fails as its first stage did. A
 * type this worker does not know is api.
 */
static int
upstream_error(const json_t *o, struct mv_err *err)
{
	const json_t *e = json_object_get(o, "error");
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *action = json_string_value(json_object_get(o, "action"));
	const json_t *v;
	enum mv_errtype k = MV_E_API;

	for (int i = MV_E_INVALID_ARGUMENT; i < MV_E__COUNT && type; i++)
		if (strcmp(type, mv_err_name((enum mv_errtype)i)) == 0)
			k = (enum mv_errtype)i;
	mv_err_set(err, k, "input: %.40s failed: %.400s", action ? action :
	    "the stage before", msg ? msg : type ? type : "no message");
	if (json_is_integer(v = json_object_get(e, "http_status")))
		err->http_status = (int)json_integer_value(v);
	if (json_is_integer(v = json_object_get(e, "retry_after")) &&
	    json_integer_value(v) >= 0 && json_integer_value(v) <= 86400)
		err->retry_after = (int)json_integer_value(v);
	if (json_is_boolean(v = json_object_get(e, "retryable")))
		err->retryable = json_is_true(v);
	return -1;
}

/* The shape of one object: change line, get_thread result, EMAIL, or a
 * worker's envelope without mail (an error, an ndjson summary). */
static int
thread_from_object(json_t *o, struct ai_thread *t, struct mv_err *err)
{
	const json_t *change = json_object_get(o, "change");
	const char *status = json_string_value(json_object_get(o, "status"));
	json_t *e, *a;

	if (status != NULL && strcmp(status, "error") == 0 &&
	    json_is_string(json_object_get(json_object_get(o, "error"),
	    "type")))
		return upstream_error(o, err);
	if (status != NULL && json_is_true(json_object_get(o, "summary")) &&
	    json_object_get(o, "emails") == NULL)
		return AI_INPUT_SUMMARY;

	if (change) {
		e = json_object_get(o, "email");
		if (json_is_string(change) && e == NULL &&
		    strcmp(json_string_value(change), "added") != 0) {
			t->nomail = json_pack("{s:s, s:s?}", "change",
			    json_string_value(change), "id", json_string_value(
			    json_object_get(o, "id")));
			return AI_INPUT_NO_MAIL;
		}
		if (!json_is_string(change) || !is_email(e))
			return mv_err_set(err, MV_E_INVALID_ARGUMENT, "input: "
			    "a change line without an email (only \"added\" "
			    "changes carry one); expected " SHAPES);
		a = json_array();
		json_array_append(a, e);
		t->emails = a;
		return 0;
	}
	if ((a = json_object_get(o, "emails")) != NULL && json_is_array(a))
		return thread_from_array(a, t, err);
	if (!is_email(o))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "input: the "
		    "object is not one of the accepted shapes; expected "
		    SHAPES);
	a = json_array();
	json_array_append(a, o);
	t->emails = a;
	return 0;
}

/* The thread id: the document's own, else the first message's. */
static void
thread_id(json_t *doc, struct ai_thread *t)
{
	const char *id = json_string_value(json_object_get(doc, "thread_id"));

	if (id == NULL || json_object_get(doc, "change") || is_email(doc))
		id = json_string_value(json_object_get(
		    json_array_get(t->emails, 0), "thread_id"));
	t->thread_id = id ? strdup(id) : NULL;
}

int
ai_input_parse(const char *text, size_t len, struct ai_thread *t,
    struct mv_err *err)
{
	json_error_t je;
	json_t *doc;
	int rc;

	memset(t, 0, sizeof(*t));
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "input is not "
		    "JSON (line %d: %.100s); expected " SHAPES, je.line,
		    je.text);
	if (json_is_array(doc))
		rc = thread_from_array(doc, t, err);
	else if (json_is_object(doc))
		rc = thread_from_object(doc, t, err);
	else
		rc = mv_err_set(err, MV_E_INVALID_ARGUMENT, "input: a JSON %s;"
		    " expected " SHAPES, json_is_string(doc) ? "string" :
		    "scalar");
	if (rc == AI_INPUT_SUMMARY)
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "input: a summary line, "
		    "which holds no mail; expected " SHAPES);
	else if (rc == 0)
		thread_id(doc, t);
	json_decref(doc);
	return rc;
}

void
ai_thread_free(struct ai_thread *t)
{
	json_decref(t->emails);
	json_decref(t->nomail);
	free(t->thread_id);
	t->emails = NULL;
	t->nomail = NULL;
	t->thread_id = NULL;
}
