/* Helpers of the fuzz harnesses (tests/fuzz/fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/utf8.h"
#include "tests/fuzz/fuzz.h"

void
fuzz_broken(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: promise broken: %s\n", file, line, what);
	abort();
}

char *
fuzz_copy(const uint8_t *data, size_t size)
{
	char *s = malloc(size > 0 ? size : 1);

	FUZZ_ASSERT(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	return s;
}

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_ASSERT(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

void
fuzz_cut(const uint8_t *data, size_t size, const uint8_t **head,
    size_t *headlen, const uint8_t **rest, size_t *restlen)
{
	const uint8_t *nl = size > 0 ? memchr(data, '\n', size) : NULL;

	*head = data;
	*headlen = nl != NULL ? (size_t)(nl - data) : size;
	*rest = nl != NULL ? nl + 1 : data + size;
	*restlen = size - (size_t)(*rest - data);
}

void
fuzz_text(const char *s, size_t n)
{
	FUZZ_ASSERT(s != NULL);
	FUZZ_ASSERT(s[n] == '\0');
	FUZZ_ASSERT(memchr(s, '\0', n) == NULL);
	FUZZ_ASSERT(mv_utf8_valid(s, n));
}

void
fuzz_json_utf8(const json_t *v, int nonul)
{
	const char *k, *s;
	size_t i, n;
	json_t *e;

	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		FUZZ_ASSERT(mv_utf8_valid(s, n));
		FUZZ_ASSERT(!nonul || memchr(s, '\0', n) == NULL);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			fuzz_json_utf8(e, nonul);
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, k, e) {
			FUZZ_ASSERT(mv_utf8_valid(k, strlen(k)));
			fuzz_json_utf8(e, nonul);
		}
	}
}

static int
str_or_null(const json_t *v)
{
	return json_is_string(v) || json_is_null(v);
}

void
fuzz_address(const json_t *a)
{
	FUZZ_ASSERT(json_is_object(a) && json_object_size(a) == 2);
	FUZZ_ASSERT(json_is_string(json_object_get(a, "name")));
	FUZZ_ASSERT(json_is_string(json_object_get(a, "email")));
}

static void
fuzz_string(const json_t *s)
{
	FUZZ_ASSERT(json_is_string(s));
}

/* v is an array whose every element passes check. */
static void
fuzz_array(const json_t *v, void (*check)(const json_t *))
{
	size_t i;
	json_t *e;

	FUZZ_ASSERT(json_is_array(v));
	json_array_foreach(v, i, e)
		check(e);
}

static void
fuzz_attachment(const json_t *a)
{
	const json_t *size = json_object_get(a, "size");

	FUZZ_ASSERT(json_is_object(a));
	FUZZ_ASSERT(json_is_string(json_object_get(a, "filename")));
	FUZZ_ASSERT(json_is_string(json_object_get(a, "mime_type")));
	FUZZ_ASSERT(json_is_integer(size) && json_integer_value(size) >= 0);
	FUZZ_ASSERT(str_or_null(json_object_get(a, "attachment_id")));
	FUZZ_ASSERT(str_or_null(json_object_get(a, "content_id")));
	FUZZ_ASSERT(json_is_boolean(json_object_get(a, "inline")));
}

void
fuzz_email(const json_t *e)
{
	static const char *const opt[] = { "id", "thread_id", "history_id",
	    "internal_date", "subject", "date", "message_id", "in_reply_to",
	    "body_text", "body_html" };
	const json_t *v;
	size_t i;

	FUZZ_ASSERT(json_is_object(e));
	fuzz_json_utf8(e, 1);
	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		FUZZ_ASSERT(str_or_null(json_object_get(e, opt[i])));
	FUZZ_ASSERT(json_is_string(json_object_get(e, "snippet")));
	v = json_object_get(e, "size_estimate");
	FUZZ_ASSERT(json_is_integer(v) || json_is_null(v));
	fuzz_array(json_object_get(e, "label_ids"), fuzz_string);
	fuzz_array(json_object_get(e, "references"), fuzz_string);
	fuzz_address(json_object_get(e, "from"));
	fuzz_array(json_object_get(e, "to"), fuzz_address);
	fuzz_array(json_object_get(e, "cc"), fuzz_address);
	fuzz_array(json_object_get(e, "bcc"), fuzz_address);
	fuzz_array(json_object_get(e, "reply_to"), fuzz_address);
	fuzz_array(json_object_get(e, "attachments"), fuzz_attachment);
}
