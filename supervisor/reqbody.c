/* The HTTP API's request bodies: strict JSON, the fields of each route. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "shared/str.h"
#include "supervisor/reqbody.h"
#include "supervisor/routes.h"

#define CT_JSON		"application/json"

enum ftype {
	F_STRING,	/* 1 to REQBODY_STR_MAX bytes */
	F_BOOL,
	F_INT,
	F_OBJECT,
};

static const char *const ftype_words[] = {
	[F_STRING] = "a non-empty string",
	[F_BOOL] = "true or false",
	[F_INT] = "an integer",
	[F_OBJECT] = "an object",
};

/* The fields each route's body may have. */
static const struct field {
	enum route_id	 route;
	const char	*name;
	enum ftype	 type;
	int		 required;
} fields[] = {
	{ R_SYNC_TRIGGER, "provider", F_STRING, 0 },
	{ R_SYNC_TRIGGER, "full_sync", F_BOOL, 0 },
	{ R_SYNC_TRIGGER, "lookback_days", F_INT, 0 },
	{ R_SYNC_TRIGGER, "account", F_STRING, 0 },
	{ R_AI_TRIGGER, "account", F_STRING, 0 },
	{ R_AI_TRIGGER, "thread_id", F_STRING, 0 },
	{ R_AI_TRIGGER, "limit", F_INT, 0 },
	{ R_AI_TRIGGER, "tasks", F_STRING, 0 },
	{ R_JOB_TRIGGER, "args", F_OBJECT, 0 },
	{ R_JOB_TRIGGER, "account", F_STRING, 0 },
	{ R_QUEUE_ENQUEUE, "job", F_STRING, 1 },
	{ R_QUEUE_ENQUEUE, "tenant_id", F_STRING, 1 },
	{ R_QUEUE_ENQUEUE, "user_id", F_STRING, 1 },
	{ R_QUEUE_ENQUEUE, "args", F_OBJECT, 0 },
	{ R_QUEUE_ENQUEUE, "idempotency_key", F_STRING, 0 },
	{ R_DLQ_REPROCESS, "id", F_STRING, 0 },
	{ R_DLQ_REPROCESS, "all", F_BOOL, 0 },
};

#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

/* What a refusal leaves: the status and the message. */
struct refusal {
	int	*code;
	char	*err;
	size_t	 errlen;
};

static int __attribute__((format(printf, 3, 4)))
refuse(const struct refusal *rf, int code, const char *fmt, ...)
{
	va_list ap;

	*rf->code = code;
	va_start(ap, fmt);
	vsnprintf(rf->err, rf->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
ftype_ok(enum ftype t, const json_t *v)
{
	switch (t) {
	case F_STRING:
		return json_is_string(v) && json_string_length(v) > 0 &&
		    json_string_length(v) <= REQBODY_STR_MAX;
	case F_BOOL:
		return json_is_boolean(v);
	case F_INT:
		return json_is_integer(v);
	case F_OBJECT:
		return json_is_object(v);
	}
	return 0;
}

/* Every field of body known and of its type, the required ones there.
 * 0, or -1 refused (400). */
static int
body_fields(const struct refusal *rf, enum route_id id, json_t *body)
{
	const struct field *f;
	const char *k;
	json_t *v;
	char b[64];

	json_object_foreach(body, k, v) {
		for (f = fields; f < fields + NFIELDS; f++)
			if (f->route == id && strcmp(f->name, k) == 0)
				break;
		if (f == fields + NFIELDS) {
			mv_quote_clean(b, sizeof(b), k, sizeof(b) - 1);
			return refuse(rf, 400, "unknown field '%s'", b);
		}
		if (!ftype_ok(f->type, v))
			return refuse(rf, 400, "field '%s' must be %s", k,
			    ftype_words[f->type]);
	}
	for (f = fields; f < fields + NFIELDS; f++)
		if (f->route == id && f->required &&
		    json_object_get(body, f->name) == NULL)
			return refuse(rf, 400, "field '%s' is required",
			    f->name);
	return 0;
}

int
reqbody_is_json(const char *ct)
{
	size_t n = strlen(CT_JSON);

	ct += strspn(ct, " \t");
	return strncasecmp(ct, CT_JSON, n) == 0 && (ct[n] == '\0' ||
	    ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* The JSON object in data, or NULL refused. New reference. */
static json_t *
body_object(const struct refusal *rf, const char *data, size_t len)
{
	json_error_t je;
	json_t *body;

	if (len == 0)
		return json_object();
	if ((body = json_loadb(data, len, JSON_REJECT_DUPLICATES,
	    &je)) == NULL) {
		refuse(rf, 400, "malformed JSON: %s (line %d, column %d)",
		    je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		refuse(rf, 400, "the body is not a JSON object");
		return NULL;
	}
	return body;
}

int
reqbody_parse(const struct route *rt, const char *ctype, const char *data,
    size_t len, size_t max_body, json_t **out, int *code, char *err,
    size_t errlen)
{
	const struct refusal rf = { code, err, errlen };
	char b[64];
	json_t *body;

	*out = NULL;
	if (len > 0 && !rt->has_body)
		return refuse(&rf, 400, "%s %s takes no body", rt->method,
		    rt->path);
	if (!rt->has_body)
		return 0;
	if (len > max_body)
		return refuse(&rf, 413, "the body is larger than %zu bytes",
		    max_body);
	if (len > 0 && ctype != NULL && !reqbody_is_json(ctype)) {
		mv_quote_clean(b, sizeof(b), ctype, sizeof(b) - 1);
		return refuse(&rf, 415, "the body must be application/json, "
		    "not '%s'", b);
	}
	if ((body = body_object(&rf, data, len)) == NULL)
		return -1;
	if (body_fields(&rf, rt->id, body) == -1) {
		json_decref(body);
		return -1;
	}
	*out = body;
	return 0;
}
