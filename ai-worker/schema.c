/* Answer schemas and their validation. */
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "ai-worker/opts.h"
#include "ai-worker/schema.h"

static json_t *
str_schema(int max, int nullable)
{
	json_t *s = json_object();

	json_object_set_new(s, "type", nullable ?
	    json_pack("[ss]", "string", "null") : json_string("string"));
	json_object_set_new(s, "maxLength", json_integer(max));
	return s;
}

static json_t *
enum_schema(const char *const *v, size_t n)
{
	json_t *e = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(e, json_string(v[i]));
	return json_pack("{s:s, s:o}", "type", "string", "enum", e);
}

/* An object schema: every property required, nothing else allowed. */
static json_t *
obj_schema(json_t *props)
{
	json_t *req = json_array();
	const char *k;
	json_t *v;

	json_object_foreach(props, k, v)
		json_array_append_new(req, json_string(k));
	return json_pack("{s:s, s:o, s:o, s:b}", "type", "object",
	    "properties", props, "required", req, "additionalProperties", 0);
}

static void
add_classify(json_t *props, const char *const *cats, size_t ncats)
{
	static const char *const prio[] = { "high", "normal", "low" };

	json_object_set_new(props, "category", enum_schema(cats, ncats));
	json_object_set_new(props, "labels", json_pack("{s:s, s:o, s:i}",
	    "type", "array", "items", enum_schema(cats, ncats), "maxItems",
	    (int)ncats));
	json_object_set_new(props, "priority", enum_schema(prio, 3));
}

static void
add_sentiment(json_t *props)
{
	static const char *const labels[] = { "positive", "neutral",
	    "negative", "mixed" };
	json_t *p = json_object();

	json_object_set_new(p, "label", enum_schema(labels, 4));
	json_object_set_new(p, "score", json_pack("{s:s, s:i, s:i}", "type",
	    "number", "minimum", -1, "maximum", 1));
	json_object_set_new(props, "sentiment", obj_schema(p));
}

static void
add_reply(json_t *props)
{
	json_t *p = json_object();

	json_object_set_new(p, "subject", str_schema(AI_SUBJECT_MAX, 0));
	json_object_set_new(p, "body", str_schema(AI_BODY_MAX, 0));
	json_object_set_new(props, "reply", obj_schema(p));
}

static void
add_tasks(json_t *props)
{
	json_t *p = json_object(), *due = str_schema(10, 1);

	json_object_set_new(due, "format", json_string("date"));
	json_object_set_new(p, "title", str_schema(AI_TITLE_MAX, 0));
	json_object_set_new(p, "due", due);
	json_object_set_new(p, "owner", str_schema(AI_OWNER_MAX, 1));
	json_object_set_new(props, "tasks", json_pack("{s:s, s:o, s:i}",
	    "type", "array", "items", obj_schema(p), "maxItems",
	    AI_TASKS_MAX));
}

json_t *
schema_build(unsigned tasks, const char *const *cats, size_t ncats)
{
	json_t *props = json_object();

	if (tasks & AI_T_SUMMARIZE)
		json_object_set_new(props, "summary",
		    str_schema(AI_SUMMARY_MAX, 0));
	if (tasks & AI_T_CLASSIFY)
		add_classify(props, cats, ncats);
	if (tasks & AI_T_SENTIMENT)
		add_sentiment(props);
	if (tasks & AI_T_REPLY)
		add_reply(props);
	if (tasks & AI_T_TASKS)
		add_tasks(props);
	return obj_schema(props);
}

int
schema_is_date(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, m, d, n = 0;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return 0;
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0)))
		return 0;
	return 1;
}

/* Characters (code points) of a UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static const char *
type_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "object";
	case JSON_ARRAY:	return "array";
	case JSON_STRING:	return "string";
	case JSON_INTEGER:
	case JSON_REAL:		return "number";
	case JSON_TRUE:
	case JSON_FALSE:	return "boolean";
	default:		return "null";
	}
}

static int
type_ok(const json_t *t, const json_t *v)
{
	const char *have = type_of(v);
	size_t i;
	json_t *x;

	if (json_is_string(t))
		return strcmp(json_string_value(t), have) == 0;
	json_array_foreach(t, i, x)
		if (strcmp(json_string_value(x), have) == 0)
			return 1;
	return 0;
}

struct check {
	size_t	 dropped;
	char	*msg;
	size_t	 msglen;
};

static int check_value(const json_t *, json_t *, const char *,
    struct check *);

static int
fail(struct check *c, const char *path, const char *what)
{
	snprintf(c->msg, c->msglen, "%s: %s", path, what);
	return -1;
}

static int
check_string(const json_t *s, const json_t *v, const char *path,
    struct check *c)
{
	const json_t *e = json_object_get(s, "enum"), *x;
	const char *str = json_string_value(v);
	json_int_t max;
	size_t i;
	char m[160];

	if (e) {
		json_array_foreach(e, i, x)
			if (strcmp(json_string_value(x), str) == 0)
				return 0;
		return fail(c, path, "not one of the allowed values");
	}
	max = json_integer_value(json_object_get(s, "maxLength"));
	if (max > 0 && utf8_chars(str) > (size_t)max) {
		snprintf(m, sizeof(m), "longer than %lld characters",
		    (long long)max);
		return fail(c, path, m);
	}
	if (json_object_get(s, "format") && !schema_is_date(str))
		return fail(c, path, "not a date written YYYY-MM-DD");
	return 0;
}

static int
check_number(const json_t *s, const json_t *v, const char *path,
    struct check *c)
{
	double x = json_number_value(v);
	const json_t *lo = json_object_get(s, "minimum");
	const json_t *hi = json_object_get(s, "maximum");

	if ((lo && x < json_number_value(lo)) ||
	    (hi && x > json_number_value(hi)))
		return fail(c, path, "out of range");
	return 0;
}

static int
check_array(const json_t *s, json_t *v, const char *path, struct check *c)
{
	json_int_t max = json_integer_value(json_object_get(s, "maxItems"));
	const json_t *items = json_object_get(s, "items");
	char sub[256];
	size_t i;
	json_t *x;

	if (max > 0 && json_array_size(v) > (size_t)max)
		return fail(c, path, "too many items");
	json_array_foreach(v, i, x) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (items && check_value(items, x, sub, c) == -1)
			return -1;
	}
	return 0;
}

static int
check_object(const json_t *s, json_t *v, const char *path, struct check *c)
{
	json_t *props = json_object_get(s, "properties"), *ps, *x;
	const char *k;
	void *tmp;
	char sub[256];

	json_object_foreach_safe(v, tmp, k, x) {
		if (json_object_get(props, k) == NULL) {
			json_object_del(v, k);
			c->dropped++;
		}
	}
	json_object_foreach(props, k, ps) {
		snprintf(sub, sizeof(sub), "%s.%s", path, k);
		if ((x = json_object_get(v, k)) == NULL)
			return fail(c, sub, "missing");
		if (check_value(ps, x, sub, c) == -1)
			return -1;
	}
	return 0;
}

static int
check_value(const json_t *s, json_t *v, const char *path, struct check *c)
{
	const json_t *t = json_object_get(s, "type");
	char m[96];

	if (t && !type_ok(t, v)) {
		snprintf(m, sizeof(m), "%s %s where the schema wants another "
		    "type", json_is_object(v) || json_is_array(v) ? "an" : "a",
		    type_of(v));
		return fail(c, path, m);
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		return check_string(s, v, path, c);
	case JSON_INTEGER:
	case JSON_REAL:
		return check_number(s, v, path, c);
	case JSON_ARRAY:
		return check_array(s, v, path, c);
	case JSON_OBJECT:
		return check_object(s, v, path, c);
	default:
		return 0;
	}
}

int
schema_check(const json_t *schema, json_t *v, size_t *dropped, char *msg,
    size_t msglen)
{
	struct check c = { 0, msg, msglen };
	int rc;

	msg[0] = '\0';
	rc = check_value(schema, v, "$", &c);
	*dropped = c.dropped;
	return rc;
}
