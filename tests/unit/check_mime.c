/* Unit tests for common/mime.c: Message resources to EMAIL objects. */
#include <check.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/b64.h"
#include "shared/buf.h"
#include "shared/err.h"
#include "shared/log.h"
#include "shared/utf8.h"
#include "common/mime.h"

/* Where the fixtures live: $MV_TEST_DATA, else tests/unit/data from the
 * current directory, else relative to the binary (BUILD/tests/..). */
static char datadir[PATH_MAX];

static void
find_datadir(const char *argv0)
{
	const char *env = getenv("MV_TEST_DATA");
	char copy[PATH_MAX];

	if (env != NULL && env[0] != '\0') {
		snprintf(datadir, sizeof(datadir), "%s", env);
		return;
	}
	if (access("tests/unit/data/full-alternative.json", R_OK) == 0) {
		snprintf(datadir, sizeof(datadir), "tests/unit/data");
		return;
	}
	snprintf(copy, sizeof(copy), "%s", argv0);
	snprintf(datadir, sizeof(datadir), "%s/../../tests/unit/data",
	    dirname(copy));
}

static json_t *
load_json(const char *name)
{
	char path[PATH_MAX * 2];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	j = json_load_file(path, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", path, e.text);
	return j;
}

/* A fixture file's bytes; caller frees. */
static char *
load_file(const char *name, size_t *len)
{
	char path[PATH_MAX * 2];
	char *s;

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	s = mv_read_file(path, 1 << 20, len);
	ck_assert_msg(s != NULL, "cannot read %s", path);
	return s;
}

static json_t *
email_of(json_t *msg, enum mime_format fmt)
{
	struct mv_err err;
	json_t *e;

	mv_err_clear(&err);
	e = mime_email(msg, fmt, &err);
	ck_assert_msg(e != NULL, "mime_email failed: %s", err.msg);
	ck_assert(json_is_object(e));
	return e;
}

/*
 * Compares a string member without printing it (bodies stay out of the
 * test output): on a mismatch, the key, both lengths and the first
 * differing offset.
 */
static void
assert_strn(json_t *obj, const char *key, const char *want, size_t wl)
{
	json_t *v = json_object_get(obj, key);
	const char *got;
	size_t gl, i;

	ck_assert_msg(json_is_string(v), "%s: not a string", key);
	got = json_string_value(v);
	gl = json_string_length(v);
	for (i = 0; i < gl && i < wl && got[i] == want[i]; i++)
		;
	ck_assert_msg(gl == wl && i == wl,
	    "%s: length %zu, expected %zu, first difference at %zu", key, gl,
	    wl, i);
}

static void
assert_str(json_t *obj, const char *key, const char *want)
{
	assert_strn(obj, key, want, strlen(want));
}

static void
assert_null(json_t *obj, const char *key)
{
	ck_assert_msg(json_is_null(json_object_get(obj, key)),
	    "%s: not null", key);
}

/* json_equal, naming the members that differ when it fails. */
static void
assert_json_eq(json_t *got, json_t *want, const char *what)
{
	const char *key;
	json_t *v;
	char names[512] = "";

	if (json_equal(got, want))
		return;
	if (json_is_object(want)) {
		json_object_foreach(want, key, v)
			if (!json_equal(json_object_get(got, key), v)) {
				strlcat(names, " ", sizeof(names));
				strlcat(names, key, sizeof(names));
			}
		json_object_foreach(got, key, v)
			if (json_object_get(want, key) == NULL) {
				strlcat(names, " +", sizeof(names));
				strlcat(names, key, sizeof(names));
			}
	}
	ck_abort_msg("%s: differs in:%s", what, names);
}

static void
assert_json_text(json_t *got, const char *want_text, const char *what)
{
	json_error_t e;
	json_t *want = json_loads(want_text, 0, &e);

	ck_assert_msg(want != NULL, "bad expected JSON: %s", e.text);
	assert_json_eq(got, want, what);
	json_decref(want);
}

/* A Message resource for format raw around the message bytes. */
static json_t *
raw_message(const char *bytes, size_t len, int pad)
{
	char *enc = mv_b64_encode(bytes, len, 1, pad);
	json_t *msg;

	ck_assert_ptr_nonnull(enc);
	msg = json_pack("{s:s, s:s, s:[s], s:s, s:i, s:s, s:s, s:s}",
	    "id", "raw1", "threadId", "thr1", "labelIds", "INBOX",
	    "snippet", "Grüße aus München!", "sizeEstimate", 2400,
	    "historyId", "777", "internalDate", "1795169472000", "raw", enc);
	free(enc);
	ck_assert_ptr_nonnull(msg);
	return msg;
}

/* The message with each LF turned into CRLF. Caller frees. */
static char *
crlf(const char *s, size_t n, size_t *outlen)
{
	char *o = malloc(n * 2 + 1);
	size_t i, k = 0;

	ck_assert_ptr_nonnull(o);
	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			o[k++] = '\r';
		o[k++] = s[i];
	}
	o[k] = '\0';
	*outlen = k;
	return o;
}

/* A format full Message with one text part of the given bytes. */
static json_t *
single_part(const char *ctype, const char *bytes, size_t len)
{
	char *enc = mv_b64_encode(bytes, len, 1, 1);
	json_t *msg;

	msg = json_pack("{s:s, s:{s:s, s:[{s:s, s:s}], s:{s:i, s:s}}}",
	    "id", "single", "payload", "mimeType", "text/plain",
	    "headers", "name", "Content-Type", "value", ctype,
	    "body", "size", (int)len, "data", enc);
	free(enc);
	ck_assert_ptr_nonnull(msg);
	return msg;
}

/* mime_email, format full */

START_TEST(test_full_alternative)
{
	json_t *msg = load_json("full-alternative.json");
	json_t *want = load_json("full-alternative.expected.json");
	json_t *e = email_of(msg, MIME_FULL);

	assert_json_eq(e, want, "full-alternative");
	ck_assert_ptr_null(json_object_get(e, "raw"));
	json_decref(e);
	json_decref(want);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_as_metadata)
{
	json_t *msg = load_json("full-alternative.json");
	json_t *want = load_json("full-alternative.expected.json");
	json_t *e = email_of(msg, MIME_METADATA);

	assert_null(e, "body_text");
	assert_null(e, "body_html");
	json_object_set_new(want, "body_text", json_null());
	json_object_set_new(want, "body_html", json_null());
	assert_json_eq(e, want, "full-alternative as metadata");
	json_decref(e);
	json_decref(want);
	json_decref(msg);
}
END_TEST

START_TEST(test_metadata)
{
	json_t *msg = load_json("metadata.json");
	json_t *e = email_of(msg, MIME_METADATA);

	assert_json_text(e, "{\"id\": \"meta1\", \"thread_id\": \"meta1\","
	    "\"label_ids\": [\"SENT\"], \"snippet\": \"Quick \\\"note\\\"\","
	    "\"history_id\": \"4\","
	    "\"internal_date\": \"2026-12-01T09:30:00Z\","
	    "\"size_estimate\": 1200,"
	    "\"from\": {\"name\": \"Me\", \"email\": \"me@example.com\"},"
	    "\"to\": [{\"name\": \"\", \"email\": \"you@example.com\"}],"
	    "\"cc\": [], \"bcc\": [], \"reply_to\": [], \"subject\": \"Note\","
	    "\"date\": \"2026-12-01T09:30:00Z\","
	    "\"message_id\": \"<m1@example.com>\", \"in_reply_to\": null,"
	    "\"references\": [], \"body_text\": null, \"body_html\": null,"
	    "\"attachments\": []}", "metadata");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_html_related)
{
	json_t *msg = load_json("full-html-related.json");
	json_t *e = email_of(msg, MIME_FULL);

	assert_str(e, "body_text", "Winter sale\n\nUp to 50% off \xe2\x80\x93 "
	    "see our sale <https://shop.example/sale?utm=1&x=2>.\n\n"
	    "[Shop logo]\n- Boots\n- Coats");
	ck_assert_uint_gt(json_string_length(json_object_get(e,
	    "body_html")), 100);
	ck_assert(strncmp(json_string_value(json_object_get(e, "body_html")),
	    "<html><head><meta charset=\"utf-8\">", 34) == 0);
	assert_str(e, "date", "2026-12-07T13:00:00Z");
	assert_json_text(json_object_get(e, "from"),
	    "{\"name\": \"Shop\", \"email\": \"news@shop.example\"}", "from");
	assert_json_text(json_object_get(e, "attachments"), "["
	    "{\"filename\": \"logo.png\", \"mime_type\": \"image/png\","
	    " \"size\": 2048, \"attachment_id\": \"ANGjdJ_logo\","
	    " \"content_id\": \"logo@shop\", \"inline\": true},"
	    "{\"filename\": \"\", \"mime_type\": \"image/gif\", \"size\": 43,"
	    " \"attachment_id\": \"ANGjdJ_spacer\","
	    " \"content_id\": \"spacer@shop\", \"inline\": true}]",
	    "attachments");
	json_decref(e);
	json_decref(msg);
}
END_TEST

#define JP_TEXT "\xe6\xb0\xb4\xe9\x87\x8e\xe6\xa7\x98\xe3\x80\x81\xe3\x81" \
	"\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\xe3\x80\x82\n"

START_TEST(test_full_iso2022jp_converted)
{
	json_t *msg = load_json("full-iso2022jp-utf8.json");
	json_t *e = email_of(msg, MIME_FULL);

	/* Gmail already converted the body: the UTF-8 bytes stay. */
	assert_str(e, "body_text", JP_TEXT);
	assert_str(e, "subject", "\xe3\x81\x8a\xe7\x9f\xa5\xe3\x82\x89\xe3"
	    "\x81\x9b");
	assert_str(e, "internal_date", "1970-01-01T00:00:00Z");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_iso2022jp_real)
{
	json_t *msg = load_json("full-iso2022jp-real.json");
	json_t *e = email_of(msg, MIME_FULL);

	/* The body really is ISO-2022-JP (escape sequences): converted. */
	assert_str(e, "body_text", JP_TEXT);
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_cp1252)
{
	json_t *msg = load_json("full-cp1252.json");
	json_t *e = email_of(msg, MIME_FULL);

	assert_str(e, "body_text", "Caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d"
	    " \xe2\x82\xac" "5 \xe2\x80\x93 na\xc3\xafve\n");
	assert_null(e, "body_html");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_rfc822)
{
	json_t *msg = load_json("full-rfc822.json");
	json_t *e = email_of(msg, MIME_FULL);

	/* The message's own body wins; the attached message's HTML is not
	 * taken for it. */
	assert_str(e, "body_text", "See the forwarded message.\n");
	assert_null(e, "body_html");
	assert_str(e, "subject", "Fwd: Original");
	assert_str(e, "internal_date", "2023-11-14T22:13:20Z");
	assert_json_text(json_object_get(e, "attachments"), "["
	    "{\"filename\": \"Original.eml\","
	    " \"mime_type\": \"message/rfc822\","
	    " \"size\": 3456, \"attachment_id\": \"ANGjdJ_eml\","
	    " \"content_id\": null, \"inline\": false},"
	    "{\"filename\": \"data.zip\", \"mime_type\": \"application/zip\","
	    " \"size\": 777, \"attachment_id\": \"ANGjdJ_zip\","
	    " \"content_id\": null, \"inline\": false}]", "attachments");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_rfc822_only)
{
	json_t *msg = load_json("full-rfc822.json");
	json_t *parts = json_object_get(json_object_get(msg, "payload"),
	    "parts");
	json_t *e;

	/* A forward with no text of its own: the attached message's bodies
	 * stand in. */
	ck_assert_int_eq(json_array_remove(parts, 0), 0);
	e = email_of(msg, MIME_FULL);
	assert_str(e, "body_text", "Inner body.\n");
	assert_str(e, "body_html", "<p>Inner <b>body</b>.</p>");
	ck_assert_uint_eq(json_array_size(json_object_get(e, "attachments")),
	    2);
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_nul_bytes)
{
	json_t *msg = single_part("text/plain; charset=utf-8", "a\0b\0", 4);
	json_t *e = email_of(msg, MIME_FULL);

	assert_str(e, "body_text", "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_bad_base64)
{
	json_t *msg = single_part("text/plain", "x", 1);
	json_t *body = json_object_get(json_object_get(msg, "payload"),
	    "body");
	json_t *e;

	json_object_set_new(body, "data", json_string("@@not*base64@@"));
	e = email_of(msg, MIME_FULL);
	assert_null(e, "body_text");
	assert_null(e, "body_html");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_bad_base64_html_stands_in)
{
	json_t *msg = load_json("full-alternative.json");
	json_t *alt = json_array_get(json_object_get(json_object_get(msg,
	    "payload"), "parts"), 0);
	json_t *plain = json_array_get(json_object_get(alt, "parts"), 0);
	json_t *e;

	json_object_set_new(json_object_get(plain, "body"), "data",
	    json_string("a"));	/* a lone 6-bit group */
	e = email_of(msg, MIME_FULL);
	assert_str(e, "body_text", "Hi Bob,\n\nhere's the report & the slides "
	    "<draft>.\n\xc3\x9c" "bersicht: 3 Punkte.\n\nCheers,\nAlice");
	json_decref(e);
	json_decref(msg);
}
END_TEST

/* A payload of `levels` nested multiparts; level i holds level i + 1,
 * then a text/plain "level i". */
static json_t *
deep_payload(int levels)
{
	json_t *inner = NULL, *p, *text, *parts;
	char *enc, label[32];
	int i;

	for (i = levels - 1; i >= 0; i--) {
		snprintf(label, sizeof(label), "level %d", i);
		enc = mv_b64_encode(label, strlen(label), 1, 0);
		text = json_pack("{s:s, s:s, s:[], s:{s:i, s:s}}", "mimeType",
		    "text/plain", "filename", "", "headers", "body", "size",
		    (int)strlen(label), "data", enc);
		free(enc);
		parts = inner ? json_pack("[o, o]", inner, text) :
		    json_pack("[o]", text);
		p = json_pack("{s:s, s:s, s:[], s:{s:i}, s:o}",
		    "mimeType", "multipart/mixed", "filename", "", "headers",
		    "body", "size", 0, "parts", parts);
		ck_assert_ptr_nonnull(p);
		inner = p;
	}
	return inner;
}

START_TEST(test_full_deep)
{
	json_t *msg = json_pack("{s:s, s:o}", "id", "deep", "payload",
	    deep_payload(200));
	json_t *e = email_of(msg, MIME_FULL);

	/* The multipart at depth 63 holds the deepest part kept (64). */
	assert_str(e, "body_text", "level 63");
	ck_assert_uint_eq(json_array_size(json_object_get(e, "attachments")),
	    0);
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_many_parts)
{
	json_t *parts = json_array(), *msg, *e;
	int i;

	for (i = 0; i < 20000; i++)
		json_array_append_new(parts, json_pack(
		    "{s:s, s:s, s:{s:s, s:i}}", "mimeType",
		    "application/octet-stream", "filename", "f.bin", "body",
		    "attachmentId", "A", "size", i));
	msg = json_pack("{s:s, s:{s:s, s:o}}", "id", "wide", "payload",
	    "mimeType", "multipart/mixed", "parts", parts);
	e = email_of(msg, MIME_FULL);
	/* 10 000 parts in all, the top-level one included. */
	ck_assert_uint_eq(json_array_size(json_object_get(e, "attachments")),
	    9999);
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_full_huge_header)
{
	size_t n = 10 * 1024 * 1024;
	char *big = malloc(n + 1);
	json_t *msg, *e;

	ck_assert_ptr_nonnull(big);
	memset(big, 'A', n);
	big[n] = '\0';
	msg = json_pack("{s:s, s:{s:s, s:[{s:s, s:s}, {s:s, s:s}]}}", "id",
	    "hdr", "payload", "mimeType", "text/plain", "headers",
	    "name", "Subject", "value", big, "name", "From", "value",
	    "a@example.com");
	ck_assert_ptr_nonnull(msg);
	e = email_of(msg, MIME_FULL);
	assert_strn(e, "subject", big, n);
	assert_str(json_object_get(e, "from"), "email", "a@example.com");
	json_decref(e);
	json_decref(msg);
	free(big);
}
END_TEST

/* mime_email, format raw */

#define RAW_PLAIN_LF "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen! This line " \
	"is soft broken. Bad escapes: =ZZ and =4 stay.\nPrice: 5 = five "
#define RAW_HTML "<div>Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen</div>"

static const char raw_attachments[] = "["
    "{\"filename\": \"Rechnung M\xc3\xa4rz 2026.pdf\","
    " \"mime_type\": \"application/pdf\", \"size\": 54,"
    " \"attachment_id\": null, \"content_id\": null, \"inline\": false},"
    "{\"filename\": \"dot.png\", \"mime_type\": \"image/png\", \"size\": 8,"
    " \"attachment_id\": null, \"content_id\": \"dot@shop.example\","
    " \"inline\": true},"
    "{\"filename\": \"\", \"mime_type\": \"message/rfc822\", \"size\": %d,"
    " \"attachment_id\": null, \"content_id\": null, \"inline\": false}]";

static void
assert_raw_mixed(json_t *e, const char *plain, int rfc822_size)
{
	char want[1024];

	assert_str(e, "id", "raw1");
	assert_str(e, "thread_id", "thr1");
	assert_str(e, "history_id", "777");
	assert_str(e, "internal_date", "2026-11-20T10:11:12Z");
	assert_str(e, "snippet", "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen!");
	assert_json_text(json_object_get(e, "from"), "{\"name\": "
	    "\"J\xc3\xb6rg M\xc3\xbcller\", \"email\": \"joerg@shop.example\"}",
	    "from");
	assert_json_text(json_object_get(e, "to"),
	    "[{\"name\": \"\", \"email\": \"bob@example.com\"}]", "to");
	assert_str(e, "subject", "Gr\xc3\xbc\xc3\x9f" "e from M\xc3\xbcnchen");
	assert_str(e, "date", "2026-11-20T10:11:09Z");
	assert_str(e, "message_id", "<raw-1@shop.example>");
	assert_null(e, "in_reply_to");
	assert_str(e, "body_text", plain);
	assert_str(e, "body_html", RAW_HTML);
	snprintf(want, sizeof(want), raw_attachments, rfc822_size);
	assert_json_text(json_object_get(e, "attachments"), want,
	    "attachments");
}

START_TEST(test_raw_mixed_lf)
{
	size_t len;
	char *eml = load_file("raw-mixed.eml", &len);
	json_t *msg = raw_message(eml, len, 1);
	json_t *e = email_of(msg, MIME_RAW);

	assert_raw_mixed(e, RAW_PLAIN_LF, 106);
	ck_assert(json_equal(json_object_get(e, "raw"),
	    json_object_get(msg, "raw")));
	json_decref(e);
	json_decref(msg);
	free(eml);
}
END_TEST

START_TEST(test_raw_mixed_crlf)
{
	size_t len, clen;
	char *eml = load_file("raw-mixed.eml", &len);
	char *c = crlf(eml, len, &clen);
	json_t *msg = raw_message(c, clen, 0);
	json_t *e = email_of(msg, MIME_RAW);

	/* CRLF line ends come out as LF, as from an LF message. */
	assert_raw_mixed(e, RAW_PLAIN_LF, 110);
	json_decref(e);
	json_decref(msg);
	free(c);
	free(eml);
}
END_TEST

START_TEST(test_raw_missing_final_boundary)
{
	size_t len;
	char *eml = load_file("raw-mixed.eml", &len);
	char *cut = strstr(eml, "--==outer==--");
	json_t *msg, *e;

	ck_assert_ptr_nonnull(cut);
	msg = raw_message(eml, (size_t)(cut - eml), 1);
	e = email_of(msg, MIME_RAW);
	/* The last part runs to the end of the message. */
	assert_raw_mixed(e, RAW_PLAIN_LF, 106);
	json_decref(e);
	json_decref(msg);
	free(eml);
}
END_TEST

START_TEST(test_raw_bad_base64url)
{
	json_t *msg = json_pack("{s:s, s:[s], s:s}", "id", "bad",
	    "labelIds", "INBOX", "raw", "*** not base64 ***");
	json_t *e = email_of(msg, MIME_RAW);

	assert_str(e, "id", "bad");
	assert_str(e, "subject", "");
	assert_null(e, "body_text");
	assert_null(e, "body_html");
	assert_str(e, "raw", "*** not base64 ***");
	assert_json_text(json_object_get(e, "from"),
	    "{\"name\": \"\", \"email\": \"\"}", "from");
	ck_assert_uint_eq(json_array_size(json_object_get(e, "attachments")),
	    0);
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_raw_absent)
{
	json_t *msg = json_pack("{s:s}", "id", "noraw");
	json_t *e = email_of(msg, MIME_RAW);

	assert_null(e, "raw");
	assert_null(e, "body_text");
	json_decref(e);
	json_decref(msg);
}
END_TEST

static json_t *
raw_text_email(const char *eml)
{
	json_t *msg = raw_message(eml, strlen(eml), 1);
	json_t *e = email_of(msg, MIME_RAW);

	json_decref(msg);
	return e;
}

START_TEST(test_raw_quoted_printable)
{
	json_t *e = raw_text_email("Subject: qp\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: Quoted-Printable\r\n\r\n"
	    "caf=c3=a9 =E2=82=AC soft=  \t\r\nbreak trailing   \r\n"
	    "bad =G1 =\xc3\xa9 end=");
	const char *want = "caf\xc3\xa9 \xe2\x82\xac softbreak trailing\n"
	    "bad =G1 =\xc3\xa9 end";

	assert_str(e, "body_text", want);
	assert_str(e, "subject", "qp");
	json_decref(e);
}
END_TEST

START_TEST(test_raw_base64_lenient)
{
	/* Line breaks, a stray character and two padded pieces in a row. */
	json_t *e = raw_text_email("Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: BASE64\n\n"
	    "SGVs\nbG8=\n!IHdv\ncmxk\n");

	assert_str(e, "body_text", "Hello world");
	json_decref(e);
}
END_TEST

START_TEST(test_raw_single_part_defaults)
{
	/* No Content-Type: text/plain; 8-bit bytes that are not UTF-8 and no
	 * charset fall back to windows-1252; a NUL byte becomes U+FFFD. */
	static const char eml[] = "From: a@example.com\n\nna\xefve\x80 x\0y";
	json_t *msg = raw_message(eml, sizeof(eml) - 1, 1);
	json_t *e = email_of(msg, MIME_RAW);

	assert_str(e, "body_text", "na\xc3\xafve\xe2\x82\xac x\xef\xbf\xbdy");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_raw_no_boundary)
{
	json_t *e = raw_text_email("Content-Type: multipart/mixed\n\n"
	    "just text\n");

	/* No boundary to split at: the body is shown rather than lost. */
	assert_str(e, "body_text", "just text\n");
	json_decref(e);
}
END_TEST

START_TEST(test_raw_digest)
{
	json_t *e = raw_text_email("Content-Type: multipart/digest; "
	    "boundary=d\n\n--d\n\nSubject: one\n\nfirst\n--d\n\n"
	    "Subject: two\n\nsecond\n--d--\n");
	json_t *att = json_object_get(e, "attachments");

	/* Parts of a digest are messages by default; their text stands in
	 * for the empty digest. */
	ck_assert_uint_eq(json_array_size(att), 2);
	assert_str(json_array_get(att, 0), "mime_type", "message/rfc822");
	assert_str(e, "body_text", "first");
	json_decref(e);
}
END_TEST

START_TEST(test_raw_deep)
{
	struct mv_buf b;
	json_t *msg, *e;
	int i;

	mv_buf_init(&b, 0);
	mv_buf_puts(&b, "Subject: deep\r\n");
	for (i = 0; i < 200; i++)
		mv_buf_printf(&b, "Content-Type: multipart/mixed; "
		    "boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
	mv_buf_puts(&b, "Content-Type: text/plain\r\n\r\nbottom\r\n");
	for (i = 199; i >= 0; i--)
		mv_buf_printf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\n"
		    "level %d\r\n--b%d--\r\n", i, i, i);
	msg = raw_message(b.data, b.len, 1);
	e = email_of(msg, MIME_RAW);
	assert_str(e, "subject", "deep");
	assert_str(e, "body_text", "level 63");
	json_decref(e);
	json_decref(msg);
	mv_buf_free(&b);
}
END_TEST

START_TEST(test_raw_huge_header)
{
	struct mv_buf b;
	char chunk[1001];
	json_t *msg, *e, *subj;
	int i;

	memset(chunk, 'B', 1000);
	chunk[1000] = '\0';
	mv_buf_init(&b, 0);
	mv_buf_puts(&b, "Subject: ");
	for (i = 0; i < 10000; i++)
		mv_buf_printf(&b, "%s%s", i ? "\r\n " : "", chunk);
	mv_buf_puts(&b, "\r\nFrom: z@example.com\r\n\r\nbody\r\n");
	msg = raw_message(b.data, b.len, 1);
	e = email_of(msg, MIME_RAW);
	subj = json_object_get(e, "subject");
	ck_assert(json_is_string(subj));
	/* 10 000 folded pieces, each fold unfolded into one space. */
	ck_assert_uint_eq(json_string_length(subj), 10000 * 1000 + 9999);
	ck_assert(strncmp(json_string_value(subj), "BBBB", 4) == 0);
	ck_assert_int_eq(json_string_value(subj)[1000], ' ');
	assert_str(json_object_get(e, "from"), "email", "z@example.com");
	assert_str(e, "body_text", "body\n");
	json_decref(e);
	json_decref(msg);
	mv_buf_free(&b);
}
END_TEST

/* mime_email, hostile and partial resources */

START_TEST(test_not_object)
{
	struct mv_err err;
	json_t *s = json_string("message");

	mv_err_clear(&err);
	ck_assert_ptr_null(mime_email(s, MIME_FULL, &err));
	ck_assert_int_eq(err.type, MV_E_API);
	mv_err_clear(&err);
	ck_assert_ptr_null(mime_email(NULL, MIME_RAW, &err));
	ck_assert_int_eq(err.type, MV_E_API);
	json_decref(s);
}
END_TEST

START_TEST(test_minimal)
{
	json_t *msg = json_pack("{s:s, s:s, s:[s, s], s:s, s:s, s:s, s:i}",
	    "id", "m1", "threadId", "t1", "labelIds", "INBOX", "UNREAD",
	    "snippet", "Tom &amp; Jerry&#39;s &lt;b&gt;", "historyId", "5",
	    "internalDate", "1700000000999", "sizeEstimate", 12);
	json_t *e = email_of(msg, MIME_FULL);

	assert_json_text(e, "{\"id\": \"m1\", \"thread_id\": \"t1\","
	    "\"label_ids\": [\"INBOX\", \"UNREAD\"],"
	    "\"snippet\": \"Tom & Jerry's <b>\", \"history_id\": \"5\","
	    "\"internal_date\": \"2023-11-14T22:13:20Z\","
	    "\"size_estimate\": 12,"
	    "\"from\": {\"name\": \"\", \"email\": \"\"},"
	    "\"to\": [], \"cc\": [],"
	    "\"bcc\": [], \"reply_to\": [], \"subject\": \"\", \"date\": null,"
	    "\"message_id\": null, \"in_reply_to\": null, \"references\": [],"
	    "\"body_text\": null, \"body_html\": null, \"attachments\": []}",
	    "minimal");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_wrong_types)
{
	json_error_t je;
	json_t *msg = json_loads("{\"id\": 5, \"threadId\": [], "
	    "\"labelIds\": \"INBOX\", \"snippet\": 7, \"historyId\": 99, "
	    "\"internalDate\": \"12abc\", \"sizeEstimate\": \"12\", "
	    "\"payload\": {\"mimeType\": 3, \"filename\": [], "
	    "\"headers\": [{\"name\": 1, \"value\": \"x\"}, \"str\", null, "
	    "{\"name\": \"Subject\"},"
	    "{\"name\": \"Subject\", \"value\": \"ok\"},"
	    "{\"name\": \"Content-Type\", \"value\": \"multipart/mixed\"}], "
	    "\"body\": \"x\", \"parts\": [1, \"x\", null, [], "
	    "{\"mimeType\": \"text/plain\", \"body\": []}, "
	    "{\"mimeType\": \"text/html\", \"body\": {\"data\": 5, "
	    "\"size\": \"big\", \"attachmentId\": 3}, \"parts\": {}}]}}",
	    0, &je);
	json_t *e;

	ck_assert_ptr_nonnull(msg);
	e = email_of(msg, MIME_FULL);
	assert_str(e, "id", "5");
	assert_null(e, "thread_id");
	ck_assert_uint_eq(json_array_size(json_object_get(e, "label_ids")), 0);
	assert_str(e, "snippet", "");
	assert_str(e, "history_id", "99");
	assert_null(e, "internal_date");
	assert_null(e, "size_estimate");
	assert_str(e, "subject", "ok");
	assert_str(e, "body_text", "");
	assert_str(e, "body_html", "");
	json_decref(e);
	json_object_set_new(msg, "payload", json_string("not a part"));
	e = email_of(msg, MIME_FULL);
	assert_null(e, "body_text");
	json_decref(e);
	json_decref(msg);
}
END_TEST

START_TEST(test_internal_date)
{
	json_t *msg = json_pack("{s:I}", "internalDate", (json_int_t)1500);
	json_t *e = email_of(msg, MIME_FULL);

	assert_str(e, "internal_date", "1970-01-01T00:00:01Z");
	json_decref(e);
	json_object_set_new(msg, "internalDate", json_string("-1500"));
	e = email_of(msg, MIME_FULL);
	assert_str(e, "internal_date", "1969-12-31T23:59:58Z");
	json_decref(e);
	json_object_set_new(msg, "internalDate",
	    json_string("99999999999999999999"));
	e = email_of(msg, MIME_FULL);
	assert_null(e, "internal_date");
	json_decref(e);
	json_decref(msg);
}
END_TEST

/* mime_pending_bodies */

START_TEST(test_pending_bodies)
{
	json_t *msg = load_json("full-pending.json");
	json_t *bodies[4], *one[1], *e;
	size_t len;
	char *data = load_file("full-pending.data", &len);

	ck_assert_uint_eq(mime_pending_bodies(msg, bodies, 4), 2);
	assert_str(bodies[0], "attachmentId", "ANGjdJ_bigtext");
	assert_str(bodies[1], "attachmentId", "ANGjdJ_bightml");
	/* More pending than room: the count is still the whole. */
	ck_assert_uint_eq(mime_pending_bodies(msg, one, 1), 2);
	ck_assert_ptr_eq(one[0], bodies[0]);

	json_object_set_new(bodies[0], "data", json_stringn(data, len - 1));
	ck_assert_uint_eq(mime_pending_bodies(msg, bodies, 4), 1);
	assert_str(bodies[0], "attachmentId", "ANGjdJ_bightml");
	e = email_of(msg, MIME_FULL);
	assert_str(e, "body_text", "Long text line.\nLong text line.\n"
	    "Long text line.\nLong text line.\n");
	assert_null(e, "body_html");	/* still held as an attachment */
	ck_assert_uint_eq(json_array_size(json_object_get(e, "attachments")),
	    0);
	json_decref(e);
	json_decref(msg);
	free(data);
}
END_TEST

START_TEST(test_pending_none)
{
	json_t *msg = load_json("full-alternative.json");
	json_t *bodies[2], *s = json_string("x");

	ck_assert_uint_eq(mime_pending_bodies(msg, bodies, 2), 0);
	ck_assert_uint_eq(mime_pending_bodies(s, bodies, 2), 0);
	ck_assert_uint_eq(mime_pending_bodies(NULL, bodies, 2), 0);
	json_decref(s);
	json_decref(msg);
}
END_TEST

static Suite *
mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *full = tcase_create("mime_email_full");
	TCase *raw = tcase_create("mime_email_raw");
	TCase *bad = tcase_create("mime_email_hostile");
	TCase *pend = tcase_create("mime_pending_bodies");

	tcase_set_timeout(full, 30);
	tcase_set_timeout(raw, 30);
	tcase_add_test(full, test_full_alternative);
	tcase_add_test(full, test_full_as_metadata);
	tcase_add_test(full, test_metadata);
	tcase_add_test(full, test_full_html_related);
	tcase_add_test(full, test_full_iso2022jp_converted);
	tcase_add_test(full, test_full_iso2022jp_real);
	tcase_add_test(full, test_full_cp1252);
	tcase_add_test(full, test_full_rfc822);
	tcase_add_test(full, test_full_rfc822_only);
	tcase_add_test(full, test_full_nul_bytes);
	tcase_add_test(full, test_full_bad_base64);
	tcase_add_test(full, test_full_bad_base64_html_stands_in);
	tcase_add_test(full, test_full_deep);
	tcase_add_test(full, test_full_many_parts);
	tcase_add_test(full, test_full_huge_header);
	tcase_add_test(raw, test_raw_mixed_lf);
	tcase_add_test(raw, test_raw_mixed_crlf);
	tcase_add_test(raw, test_raw_missing_final_boundary);
	tcase_add_test(raw, test_raw_bad_base64url);
	tcase_add_test(raw, test_raw_absent);
	tcase_add_test(raw, test_raw_quoted_printable);
	tcase_add_test(raw, test_raw_base64_lenient);
	tcase_add_test(raw, test_raw_single_part_defaults);
	tcase_add_test(raw, test_raw_no_boundary);
	tcase_add_test(raw, test_raw_digest);
	tcase_add_test(raw, test_raw_deep);
	tcase_add_test(raw, test_raw_huge_header);
	tcase_add_test(bad, test_not_object);
	tcase_add_test(bad, test_minimal);
	tcase_add_test(bad, test_wrong_types);
	tcase_add_test(bad, test_internal_date);
	tcase_add_test(pend, test_pending_bodies);
	tcase_add_test(pend, test_pending_none);
	suite_add_tcase(s, full);
	suite_add_tcase(s, raw);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, pend);
	return s;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	(void)argc;
	log_init("check_mime", LOG_LVL_WARN);
	find_datadir(argv[0]);
	sr = srunner_create(mime_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
