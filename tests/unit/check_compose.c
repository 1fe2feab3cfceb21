/* Unit tests of compose.c: messages built for send_email, parsed back. */
#include <sys/stat.h>

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/compose.h"
#include "shared/b64.h"
#include "shared/utf8.h"

#define NOW	1795169472	/* Fri, 20 Nov 2026 10:11:12 UTC */

static char tmpdir[64];
static const char *one_to[] = { "bob@example.com" };

static void
tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_compose.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes n bytes to tmpdir/name; returns the path (caller frees). */
static char *
tmp_file(const char *name, const void *data, size_t n)
{
	char *path;
	int fd;

	ck_assert_int_ne(asprintf(&path, "%s/%s", tmpdir, name), -1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	return path;
}

/* A sparse file of n bytes of zeros; returns the path (caller frees). */
static char *
tmp_sparse(const char *name, off_t n)
{
	char *path;
	int fd;

	ck_assert_int_ne(asprintf(&path, "%s/%s", tmpdir, name), -1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(ftruncate(fd, n), 0);
	close(fd);
	return path;
}

/* A message to Bob with the given subject and text, dated NOW. */
static void
basic(struct compose *m, const char *subject, const char *text)
{
	memset(m, 0, sizeof(*m));
	m->to = one_to;
	m->nto = 1;
	m->subject = subject;
	m->body_text = text;
	m->body_text_len = text ? strlen(text) : 0;
	m->date = NOW;
}

/* Asserts what every message must be: no NUL, no bare CR or LF, no
 * line longer than RFC 5322's 998. (Per-byte checks use ck_abort_msg:
 * each passing ck_assert costs a write to the runner.) */
static void
assert_wire_form(const char *s, size_t len)
{
	size_t i, col = 0;

	ck_assert_uint_eq(strlen(s), len);
	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			if (s[i + 1] != '\n')
				ck_abort_msg("bare CR at %zu", i);
			i++;
			col = 0;
			continue;
		}
		if (s[i] == '\n')
			ck_abort_msg("bare LF at %zu", i);
		if (++col > 998)
			ck_abort_msg("line too long at %zu", i);
	}
}

/* Composes m, which must succeed. Returns the message; caller frees. */
static char *
compose_ok(const struct compose *m)
{
	struct mv_err err;
	size_t len = 0;
	char *s;

	s = compose_message(m, &len, &err);
	ck_assert_msg(s != NULL, "compose failed: %s", err.msg);
	ck_assert_int_eq(err.type, MV_OK);
	assert_wire_form(s, len);
	return s;
}

/* Composes m, which must fail with type; returns the message text. */
static const char *
compose_fails(const struct compose *m, enum mv_errtype type)
{
	static struct mv_err err;
	size_t len = 777;
	char *s;

	s = compose_message(m, &len, &err);
	ck_assert_msg(s == NULL, "compose succeeded; wanted %s",
	    mv_err_name(type));
	ck_assert_msg(err.type == type, "got %s (%s), wanted %s",
	    mv_err_name(err.type), err.msg, mv_err_name(type));
	ck_assert(strchr(err.msg, '\r') == NULL);
	ck_assert(strchr(err.msg, '\n') == NULL);
	return err.msg;
}

/* The folded text of field `name` in the header block of entity e (a
 * message or a part), from its name to its last CRLF excluded; NULL when
 * absent. Caller frees. */
static char *
field_raw(const char *e, const char *name)
{
	const char *end = strstr(e, "\r\n\r\n"), *p = e, *q;
	size_t nl = strlen(name);

	ck_assert_ptr_nonnull(end);
	while (p <= end) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			for (q = p; (q = strstr(q, "\r\n")) != NULL &&
			    (q[2] == ' ' || q[2] == '\t'); q += 2)
				;
			return strndup(p, (size_t)(q - p));
		}
		p = strstr(p, "\r\n") + 2;
	}
	return NULL;
}

/* The unfolded value of field `name` (without "Name: "); NULL when
 * absent. Caller frees. */
static char *
field(const char *e, const char *name)
{
	char *raw = field_raw(e, name), *v, *o;
	const char *p;

	if (raw == NULL)
		return NULL;
	p = raw + strlen(name) + 1;
	if (*p == ' ')
		p++;
	v = o = malloc(strlen(p) + 1);
	for (; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n')
			p++;
		else
			*o++ = *p;
	}
	*o = '\0';
	free(raw);
	return v;
}

/* Asserts that field `name` of e unfolds to want. */
static void
assert_field(const char *e, const char *name, const char *want)
{
	char *v = field(e, name);

	ck_assert_msg(v != NULL, "no %s field", name);
	ck_assert_str_eq(v, want);
	free(v);
}

/* Asserts that every line of s[0..n) has at most max characters. */
static void
assert_lines(const char *s, size_t n, size_t max)
{
	const char *end = s + n, *eol;

	while (s < end) {
		eol = memchr(s, '\r', (size_t)(end - s));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - s) > max)
			ck_abort_msg("line of %zu: %.*s", (size_t)(eol - s),
			    (int)(eol - s), s);
		if (eol != end && eol[1] != '\n')
			ck_abort_msg("bare CR");
		s = eol + 2;
	}
}

/* Asserts that the header block of e has lines of at most 78. */
static void
assert_header_lines(const char *e)
{
	const char *end = strstr(e, "\r\n\r\n");

	ck_assert_ptr_nonnull(end);
	assert_lines(e, (size_t)(end - e), 78);
}

/* The content of entity e, after its header block. */
static const char *
content(const char *e)
{
	const char *p = strstr(e, "\r\n\r\n");

	ck_assert_ptr_nonnull(p);
	return p + 4;
}

/* Decodes a run of RFC 2047 B words of UTF-8 separated by white space;
 * checks each word's length and that each decodes to whole characters.
 * Returns the text; caller frees. */
static char *
ew_decode(const char *v)
{
	char *out = calloc(1, strlen(v) + 1), *word;
	const char *p = v;
	unsigned char *d;
	size_t n, dlen, olen = 0;

	while (*p != '\0') {
		p += strspn(p, " \t\r\n");
		if (*p == '\0')
			break;
		n = strcspn(p, " \t\r\n");
		ck_assert_msg(n <= 75, "encoded word of %zu characters", n);
		ck_assert_msg(strncmp(p, "=?UTF-8?B?", 10) == 0 &&
		    strncmp(p + n - 2, "?=", 2) == 0, "not a word: %.*s",
		    (int)n, p);
		word = strndup(p + 10, n - 12);
		d = mv_b64_decode(word, strlen(word), &dlen);
		ck_assert_ptr_nonnull(d);
		ck_assert_msg(mv_utf8_valid((char *)d, dlen),
		    "a word splits a character");
		memcpy(out + olen, d, dlen);
		olen += dlen;
		free(d);
		free(word);
		p += n;
	}
	return out;
}

/* Decodes quoted-printable text. Returns it (caller frees). */
static char *
qp_decode(const char *s, size_t n, size_t *outlen)
{
	char *out = malloc(n + 1), hex[3] = { 0 };
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '=') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]) ||
		    islower((unsigned char)s[i + 1]) ||
		    islower((unsigned char)s[i + 2]))
			ck_abort_msg("bad escape at %zu", i);
		memcpy(hex, s + i + 1, 2);
		out[o++] = (char)strtol(hex, NULL, 16);
		i += 2;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* The boundary parameter of the Content-Type of e. Caller frees. */
static char *
boundary_of(const char *e)
{
	char *ct = field(e, "Content-Type"), *p, *b;

	ck_assert_ptr_nonnull(ct);
	p = strstr(ct, "boundary=\"");
	ck_assert_msg(p != NULL, "no boundary in %s", ct);
	p += strlen("boundary=\"");
	b = strndup(p, strcspn(p, "\""));
	free(ct);
	ck_assert_uint_ge(strlen(b), 20);
	return b;
}

/* Splits the content of multipart entity e into its parts (copies;
 * caller frees each). Checks the delimiters. Returns the count. */
static size_t
split(const char *e, char **parts, size_t max)
{
	char *b = boundary_of(e), *delim, *close;
	const char *p = content(e), *q;
	size_t n = 0;

	ck_assert_int_ne(asprintf(&delim, "\r\n--%s", b), -1);
	ck_assert_int_ne(asprintf(&close, "\r\n--%s--", b), -1);
	ck_assert_msg(strncmp(p, delim + 2, strlen(delim) - 2) == 0,
	    "no first delimiter");
	p += strlen(delim) - 2;
	while (strncmp(p, "--", 2) != 0) {
		ck_assert(strncmp(p, "\r\n", 2) == 0);
		p += 2;
		q = strstr(p, delim);
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_lt(n, max);
		parts[n++] = strndup(p, (size_t)(q - p));
		p = q + strlen(delim);
	}
	ck_assert_ptr_nonnull(strstr(content(e), close));
	free(delim);
	free(close);
	free(b);
	return n;
}

static void
free_parts(char **parts, size_t n)
{
	while (n > 0)
		free(parts[--n]);
}

/* The base64 content of part p, decoded; checks its lines. */
static unsigned char *
b64_content(const char *p, size_t *len)
{
	const char *c = content(p);
	unsigned char *d;

	assert_field(p, "Content-Transfer-Encoding", "base64");
	assert_lines(c, strlen(c), 76);
	d = mv_b64_decode(c, strlen(c), len);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* compose_message: the Subject field */

START_TEST(subject_encoded_exact)
{
	struct compose m;
	char *s, *raw;

	basic(&m, "Gr\xc3\xbc\xc3\x9f" "e", "hi");
	s = compose_ok(&m);
	raw = field_raw(s, "Subject");
	ck_assert_str_eq(raw, "Subject: =?UTF-8?B?R3LDvMOfZQ==?=");
	free(raw);
	free(s);
	basic(&m, "Hello  world\t!", "hi");
	s = compose_ok(&m);
	raw = field_raw(s, "Subject");
	ck_assert_str_eq(raw, "Subject: Hello  world\t!");
	free(raw);
	free(s);
}
END_TEST

START_TEST(subject_empty_or_absent)
{
	struct compose m;
	char *s, *raw;

	basic(&m, "", "hi");
	s = compose_ok(&m);
	raw = field_raw(s, "Subject");
	ck_assert_str_eq(raw, "Subject:");
	free(raw);
	free(s);
	basic(&m, NULL, "hi");
	s = compose_ok(&m);
	ck_assert_ptr_null(field_raw(s, "Subject"));
	free(s);
}
END_TEST

START_TEST(subject_long_ascii_folds)
{
	const char *subj = "Re: the quarterly report for the northern region, "
	    "with the corrections we talked about on Tuesday and the new "
	    "figures from accounting";
	struct compose m;
	char *s, *raw;

	basic(&m, subj, "hi");
	s = compose_ok(&m);
	raw = field_raw(s, "Subject");
	ck_assert_ptr_nonnull(strstr(raw, "\r\n "));	/* folded */
	assert_lines(raw, strlen(raw), 78);
	ck_assert_ptr_null(strstr(raw, "=?"));		/* still plain */
	free(raw);
	assert_field(s, "Subject", subj);
	assert_header_lines(s);
	free(s);
}
END_TEST

START_TEST(subject_long_utf8_folds)
{
	char subj[2048] = "";
	struct compose m;
	char *s, *raw, *v, *dec;
	int i;

	for (i = 0; i < 40; i++)	/* 1-, 2-, 3- and 4-byte characters */
		strcat(subj, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ");
	basic(&m, subj, "hi");
	s = compose_ok(&m);
	raw = field_raw(s, "Subject");
	assert_lines(raw, strlen(raw), 78);
	ck_assert_ptr_nonnull(strstr(raw, "\r\n =?UTF-8?B?"));
	v = field(s, "Subject");
	dec = ew_decode(v);
	ck_assert_str_eq(dec, subj);
	free(dec);
	free(v);
	free(raw);
	assert_header_lines(s);
	free(s);
}
END_TEST

START_TEST(subject_unfoldable_encoded)
{
	char subj[201];
	struct compose m;
	char *s, *v, *dec;

	/* One 200-character word cannot fold at white space. */
	memset(subj, 'x', 200);
	subj[200] = '\0';
	basic(&m, subj, "hi");
	s = compose_ok(&m);
	assert_header_lines(s);
	v = field(s, "Subject");
	dec = ew_decode(v);
	ck_assert_str_eq(dec, subj);
	free(dec);
	free(v);
	free(s);
	/* A control character is not sent raw. */
	basic(&m, "bell\x07", "hi");
	s = compose_ok(&m);
	v = field(s, "Subject");
	ck_assert_str_eq(v, "=?UTF-8?B?YmVsbAc=?=");
	free(v);
	free(s);
	/* Text that looks like an encoded word is encoded itself. */
	basic(&m, "=?UTF-8?B?SGk=?=", "hi");
	s = compose_ok(&m);
	v = field(s, "Subject");
	ck_assert_str_eq(v, "=?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PQ==?=");
	free(v);
	free(s);
}
END_TEST

START_TEST(subject_refused)
{
	struct compose m;
	const char *msg;

	basic(&m, "Hi\r\nBcc: evil@example.net", "hi");
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "header injection"));
	basic(&m, "Hi\nX-Evil: 1", "hi");
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	basic(&m, "Hi\r", "hi");
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	basic(&m, "caf\xe9", "hi");
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "subject is not valid UTF-8");
	basic(&m, "over\xc0\xaflong", "hi");
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	basic(&m, "truncated \xe2\x82", "hi");
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
}
END_TEST

/* compose_message: address fields */

START_TEST(addresses_lists_and_names)
{
	const char *to[] = { "Zo\xc3\xab <z@x.example>, b@y.example",
	    "\"Doe, John\" <j@x.example>" };
	const char *cc[] = { "J. Doe <jd@x.example>",
	    "\"A \\\"B\\\" C\" <abc@x.example>", "  <bare@x.example>  " };
	const char *bcc[] = { "Hidden Person <h@x.example>" };
	struct compose m;
	char *s;

	basic(&m, "s", "hi");
	m.from = "Me Myself <me@gmail.com>";
	m.to = to;
	m.nto = 2;
	m.cc = cc;
	m.ncc = 3;
	m.bcc = bcc;
	m.nbcc = 1;
	s = compose_ok(&m);
	assert_field(s, "From", "Me Myself <me@gmail.com>");
	assert_field(s, "To", "=?UTF-8?B?Wm/Dqw==?= <z@x.example>, "
	    "b@y.example, \"Doe, John\" <j@x.example>");
	assert_field(s, "Cc", "\"J. Doe\" <jd@x.example>, "
	    "\"A \\\"B\\\" C\" <abc@x.example>, bare@x.example");
	assert_field(s, "Bcc", "Hidden Person <h@x.example>");
	assert_header_lines(s);
	free(s);
}
END_TEST

START_TEST(addresses_long_list_folds)
{
	const char *to[12];
	char bufs[12][64];
	struct compose m;
	char *s, *v;
	int i;

	for (i = 0; i < 12; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "Person Number %d "
		    "<person.number.%d@example.com>", i, i);
		to[i] = bufs[i];
	}
	basic(&m, "s", "hi");
	m.to = to;
	m.nto = 12;
	m.cc = to;
	m.ncc = 1;
	s = compose_ok(&m);
	assert_header_lines(s);
	v = field(s, "To");
	ck_assert_ptr_nonnull(strstr(v, "Person Number 0 "
	    "<person.number.0@example.com>, Person Number 1 "));
	ck_assert_ptr_nonnull(strstr(v, ", Person Number 11 "
	    "<person.number.11@example.com>"));
	free(v);
	free(s);
}
END_TEST

START_TEST(addresses_long_utf8_name)
{
	char name[400] = "", addr[512];
	const char *to[] = { addr };
	struct compose m;
	char *s, *v, *dec;
	int i;

	for (i = 0; i < 30; i++)
		strcat(name, "J\xc3\xb6rg ");
	strcat(name, "M\xc3\xbcller");
	snprintf(addr, sizeof(addr), "%s <jm@example.de>", name);
	basic(&m, "s", "hi");
	m.to = to;
	s = compose_ok(&m);
	assert_header_lines(s);
	v = field(s, "To");
	ck_assert_ptr_nonnull(strstr(v, " <jm@example.de>"));
	*strstr(v, " <jm@example.de>") = '\0';
	dec = ew_decode(v);
	ck_assert_str_eq(dec, name);
	free(dec);
	free(v);
	free(s);
}
END_TEST

START_TEST(addresses_bad_index_and_value)
{
	const char *to[] = { "a@x.example", "b@y.example, bob at example" };
	const char *cc[] = { "ok@x.example", "no-at-sign.example" };
	struct compose m;
	const char *msg;

	basic(&m, "s", "hi");
	m.to = to;
	m.nto = 2;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "--to recipient 3 \"bob at example\": space or "
	    "control character in the address");
	basic(&m, "s", "hi");
	m.cc = cc;
	m.ncc = 2;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "--cc recipient 2 \"no-at-sign.example\": no "
	    "'@' in the address");
}
END_TEST

START_TEST(addresses_refused)
{
	static const char *bad[] = {
		"a@b@c.example", "@x.example", "a@", "Bob <>",
		"Bob <b@x.example", "Bob <b@x> <c@y>", "b\xc3\xa9@x.example",
		"Bad \xff Name <b@x.example>", "a(b)@x.example", "a\\b@x",
		"\x01@x.example",
	};
	const char *to[1];
	struct compose m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		basic(&m, "s", "hi");
		to[0] = bad[i];
		m.to = to;
		compose_fails(&m, MV_E_INVALID_ARGUMENT);
	}
}
END_TEST

START_TEST(addresses_injection)
{
	const char *to[] = { "a@x.example\r\nBcc: evil@example.net" };
	const char *cc[] = { "Bob\n <b@x.example>" };
	const char *from = "me@x.example\rX: y";
	struct compose m;
	const char *msg;

	basic(&m, "s", "hi");
	m.to = to;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "--to recipient 1 \"a@x.example??Bcc: "
	    "evil@example.net\": header injection refused (CR or LF)");
	basic(&m, "s", "hi");
	m.cc = cc;
	m.ncc = 1;
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	basic(&m, "s", "hi");
	m.from = from;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "header injection"));
}
END_TEST

START_TEST(addresses_missing)
{
	const char *empty[] = { " , ," };
	const char *two[] = { "a@x.example, b@x.example" };
	struct compose m;
	const char *msg;

	basic(&m, "s", "hi");
	m.nto = 0;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "no recipient: give --to, --cc or --bcc");
	basic(&m, "s", "hi");
	m.bcc = empty;
	m.nbcc = 1;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "--bcc value \" , ,\" holds no address");
	basic(&m, "s", "hi");
	m.from = two[0];
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	basic(&m, "s", "hi");	/* Bcc alone is enough */
	m.nto = 0;
	m.bcc = one_to;
	m.nbcc = 1;
	free(compose_ok(&m));
}
END_TEST

START_TEST(addresses_long_value_shown_cut)
{
	char big[4000];
	const char *to[1] = { big };
	struct compose m;
	const char *msg;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	basic(&m, "s", "hi");
	m.to = to;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "xxx...\": "));
	ck_assert_uint_lt(strlen(msg), 300);
}
END_TEST

/* compose_message: Date, Message-ID, In-Reply-To, References */

START_TEST(date_and_message_id)
{
	struct compose m;
	char *s, *s2, *id, *id2;
	size_t i;

	basic(&m, "s", "hi");
	s = compose_ok(&m);
	ck_assert_int_eq(strncmp(s, "Date: Fri, 20 Nov 2026 10:11:12 +0000\r\n",
	    39), 0);
	id = field(s, "Message-ID");
	ck_assert_uint_eq(strlen(id), 1 + 32 + strlen("@mailvisor.local>"));
	ck_assert_int_eq(id[0], '<');
	for (i = 1; i <= 32; i++)
		ck_assert(isxdigit((unsigned char)id[i]));
	ck_assert_str_eq(id + 33, "@mailvisor.local>");
	m.message_id_domain = "mail.example.org";
	s2 = compose_ok(&m);
	id2 = field(s2, "Message-ID");
	ck_assert_str_eq(id2 + 33, "@mail.example.org>");
	ck_assert_int_ne(memcmp(id, id2, 33), 0);
	free(id);
	free(id2);
	free(s);
	free(s2);
}
END_TEST

START_TEST(date_now_and_bad_domain)
{
	struct compose m;
	char *s, *d, year[16];
	time_t now = time(NULL);
	struct tm tm;

	basic(&m, "s", "hi");
	m.date = 0;
	s = compose_ok(&m);
	d = field(s, "Date");
	gmtime_r(&now, &tm);
	snprintf(year, sizeof(year), " %d ", tm.tm_year + 1900);
	ck_assert_ptr_nonnull(strstr(d, year));
	ck_assert_str_eq(d + strlen(d) - 6, " +0000");
	free(d);
	free(s);
	basic(&m, "s", "hi");
	m.message_id_domain = "bad domain>\r\nX: y";
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	m.message_id_domain = "";
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
}
END_TEST

START_TEST(threading_fields)
{
	struct compose m;
	char *s;

	basic(&m, "Re: plans", "hi");
	m.in_reply_to = "<CAF=abc+1@mail.gmail.com>";
	s = compose_ok(&m);
	assert_field(s, "In-Reply-To", "<CAF=abc+1@mail.gmail.com>");
	assert_field(s, "References", "<CAF=abc+1@mail.gmail.com>");
	free(s);
	m.references = "<r1@x.example> <r2@x.example>";
	s = compose_ok(&m);
	assert_field(s, "References", "<r1@x.example> <r2@x.example> "
	    "<CAF=abc+1@mail.gmail.com>");
	free(s);
	m.in_reply_to = "r2@x.example";	/* brackets added; no repeat */
	s = compose_ok(&m);
	assert_field(s, "In-Reply-To", "<r2@x.example>");
	assert_field(s, "References", "<r1@x.example> <r2@x.example>");
	free(s);
	m.in_reply_to = NULL;
	s = compose_ok(&m);
	ck_assert_ptr_null(field_raw(s, "In-Reply-To"));
	assert_field(s, "References", "<r1@x.example> <r2@x.example>");
	free(s);
}
END_TEST

START_TEST(threading_long_references_fold)
{
	char refs[2000] = "", one[64];
	struct compose m;
	char *s, *v;
	int i;

	for (i = 0; i < 30; i++) {
		snprintf(one, sizeof(one), "<message.%d.abcdef@x.example> ", i);
		strcat(refs, one);
	}
	basic(&m, "s", "hi");
	m.references = refs;
	m.in_reply_to = "<parent@x.example>";
	s = compose_ok(&m);
	assert_header_lines(s);
	v = field(s, "References");
	ck_assert_ptr_nonnull(strstr(v, "<message.29.abcdef@x.example> "
	    "<parent@x.example>"));
	free(v);
	free(s);
}
END_TEST

START_TEST(threading_refused)
{
	struct compose m;
	const char *msg;

	basic(&m, "s", "hi");
	m.in_reply_to = "<a@b>\r\nBcc: evil@example.net";
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "header injection refused: in_reply_to "
	    "contains CR or LF");
	m.in_reply_to = "<no-at-sign>";
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "in_reply_to \"<no-at-sign>\": no '@' in the "
	    "message id");
	m.in_reply_to = "   ";
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "in_reply_to is empty");
	m.in_reply_to = "<a<b@c>";
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	m.in_reply_to = "<caf\xc3\xa9@x>";
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	m.in_reply_to = "<a@b>";
	m.references = "<ok@x> <bad\n@x>";
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "references"));
}
END_TEST

/* compose_message: text bodies */

START_TEST(body_7bit_single_part)
{
	struct compose m;
	char *s;

	basic(&m, "s", "Hello\n.\nBye\r\n\tindented\rlast");
	s = compose_ok(&m);
	ck_assert_ptr_null(strstr(s, "multipart"));
	assert_field(s, "MIME-Version", "1.0");
	assert_field(s, "Content-Type", "text/plain; charset=UTF-8");
	assert_field(s, "Content-Transfer-Encoding", "7bit");
	ck_assert_str_eq(content(s), "Hello\r\n.\r\nBye\r\n\tindented\r\n"
	    "last");
	assert_header_lines(s);
	free(s);
	basic(&m, "s", NULL);	/* no body at all: an empty text part */
	s = compose_ok(&m);
	assert_field(s, "Content-Type", "text/plain; charset=UTF-8");
	ck_assert_str_eq(content(s), "");
	free(s);
}
END_TEST

START_TEST(body_quoted_printable)
{
	static const char text[] = "Gr\xc3\xbc\xc3\x9f" "e = ok \nx\t\n"
	    "NUL\0end";
	struct compose m;
	char *s;

	basic(&m, "s", text);
	m.body_text_len = sizeof(text) - 1;
	s = compose_ok(&m);
	assert_field(s, "Content-Transfer-Encoding", "quoted-printable");
	ck_assert_str_eq(content(s), "Gr=C3=BC=C3=9Fe =3D ok=20\r\nx=09\r\n"
	    "NUL=00end");
	free(s);
}
END_TEST

START_TEST(body_long_lines_round_trip)
{
	enum { N = 1 << 20 };
	struct compose m;
	char *text, *s, *dec, *want;
	const char *c;
	size_t i, len, wlen;

	text = malloc(N + 1);
	for (i = 0; i < N; i++)	/* long lines, '=', spaces, UTF-8 */
		text[i] = i % 997 == 996 ? '\n' : i % 13 == 0 ? '=' :
		    i % 7 == 0 ? ' ' : (char)('a' + i % 26);
	memcpy(text + 500, "\xc3\xa9\xe2\x82\xac", 5);
	text[N] = '\0';
	basic(&m, "s", text);
	s = compose_ok(&m);
	assert_field(s, "Content-Transfer-Encoding", "quoted-printable");
	c = content(s);
	assert_lines(c, strlen(c), 76);
	dec = qp_decode(c, strlen(c), &len);
	want = malloc(2 * N);
	for (i = 0, wlen = 0; i < N; i++) {	/* each LF becomes CRLF */
		if (text[i] == '\n')
			want[wlen++] = '\r';
		want[wlen++] = text[i];
	}
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(dec, want, wlen);
	free(want);
	free(dec);
	free(s);
	free(text);
}
END_TEST

START_TEST(body_line_of_76_stays_7bit)
{
	char line[78];
	struct compose m;
	char *s;

	memset(line, 'a', 76);
	line[76] = '\0';
	basic(&m, "s", line);
	s = compose_ok(&m);
	assert_field(s, "Content-Transfer-Encoding", "7bit");
	free(s);
	line[76] = 'a';		/* 77: quoted-printable */
	line[77] = '\0';
	basic(&m, "s", line);
	s = compose_ok(&m);
	assert_field(s, "Content-Transfer-Encoding", "quoted-printable");
	assert_lines(content(s), strlen(content(s)), 76);
	free(s);
}
END_TEST

START_TEST(body_invalid_utf8)
{
	struct compose m;
	const char *msg;

	basic(&m, "s", "caf\xe9");
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "body is not valid UTF-8");
	basic(&m, "s", "ok\xed\xa0\x80");	/* a surrogate */
	compose_fails(&m, MV_E_INVALID_ARGUMENT);
	basic(&m, "s", "ok");
	m.body_html = "<p>\xff</p>";
	m.body_html_len = strlen(m.body_html);
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "html body is not valid UTF-8");
}
END_TEST

/* compose_message: MIME structure */

START_TEST(structure_alternative)
{
	struct compose m;
	char *s, *parts[4], *ct;
	size_t n;

	basic(&m, "s", "plain");
	m.body_html = "<p>html</p>";
	m.body_html_len = strlen(m.body_html);
	s = compose_ok(&m);
	ck_assert_ptr_null(strstr(s, "multipart/mixed"));
	n = split(s, parts, 4);
	ck_assert_uint_eq(n, 2);
	ct = field(s, "Content-Type");
	ck_assert_int_eq(strncmp(ct, "multipart/alternative;", 22), 0);
	free(ct);
	assert_field(parts[0], "Content-Type", "text/plain; charset=UTF-8");
	ck_assert_str_eq(content(parts[0]), "plain");
	assert_field(parts[1], "Content-Type", "text/html; charset=UTF-8");
	ck_assert_str_eq(content(parts[1]), "<p>html</p>");
	assert_header_lines(s);
	free_parts(parts, n);
	free(s);
}
END_TEST

START_TEST(structure_html_only)
{
	struct compose m;
	char *s;

	basic(&m, "s", NULL);
	m.body_html = "<p>only</p>";
	m.body_html_len = strlen(m.body_html);
	s = compose_ok(&m);
	ck_assert_ptr_null(strstr(s, "multipart"));
	ck_assert_ptr_null(strstr(s, "text/plain"));
	assert_field(s, "Content-Type", "text/html; charset=UTF-8");
	ck_assert_str_eq(content(s), "<p>only</p>");
	free(s);
}
END_TEST

START_TEST(structure_mixed)
{
	const char *att[1];
	struct compose m;
	char *s, *parts[4], *inner[4], *path, *ct, *b1, *b2;
	size_t n, ni;

	path = tmp_file("a.txt", "attached\n", 9);
	att[0] = path;
	basic(&m, "s", "plain");
	m.attach = att;
	m.nattach = 1;
	s = compose_ok(&m);
	ct = field(s, "Content-Type");
	ck_assert_int_eq(strncmp(ct, "multipart/mixed;", 16), 0);
	free(ct);
	n = split(s, parts, 4);
	ck_assert_uint_eq(n, 2);
	assert_field(parts[0], "Content-Type", "text/plain; charset=UTF-8");
	assert_field(parts[1], "Content-Disposition",
	    "attachment; filename=\"a.txt\"");
	free_parts(parts, n);
	free(s);
	/* text + html + attachment: the alternative comes first. */
	m.body_html = "<b>x</b>";
	m.body_html_len = 8;
	s = compose_ok(&m);
	n = split(s, parts, 4);
	ck_assert_uint_eq(n, 2);
	ni = split(parts[0], inner, 4);
	ck_assert_uint_eq(ni, 2);
	ck_assert_str_eq(content(inner[0]), "plain");
	ck_assert_str_eq(content(inner[1]), "<b>x</b>");
	b1 = boundary_of(s);
	b2 = boundary_of(parts[0]);
	ck_assert_str_ne(b1, b2);
	ck_assert_ptr_null(strstr(parts[1], b1));
	ck_assert_ptr_null(strstr(inner[0], b2));
	free(b1);
	free(b2);
	assert_header_lines(parts[0]);
	assert_header_lines(s);
	free_parts(inner, ni);
	free_parts(parts, n);
	free(s);
	free(path);
}
END_TEST

START_TEST(structure_attachment_only)
{
	const char *att[2];
	struct compose m;
	char *s, *parts[4], *p1, *p2;
	size_t n;

	p1 = tmp_file("one.bin", "1", 1);
	p2 = tmp_file("two.bin", "", 0);
	att[0] = p1;
	att[1] = p2;
	basic(&m, "s", NULL);
	m.attach = att;
	m.nattach = 1;
	s = compose_ok(&m);
	n = split(s, parts, 4);	/* still multipart/mixed */
	ck_assert_uint_eq(n, 1);
	assert_field(parts[0], "Content-Type",
	    "application/octet-stream; name=\"one.bin\"");
	ck_assert_str_eq(content(parts[0]), "MQ==");
	free_parts(parts, n);
	free(s);
	m.nattach = 2;		/* an empty file too */
	s = compose_ok(&m);
	n = split(s, parts, 4);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(content(parts[1]), "");
	free_parts(parts, n);
	free(s);
	free(p1);
	free(p2);
}
END_TEST

/* compose_message: attachments */

START_TEST(attach_types)
{
	static const struct {
		const char	*name;
		const char	*type;
	} t[] = {
		{ "a.pdf", "application/pdf" }, { "b.PNG", "image/png" },
		{ "c.jpeg", "image/jpeg" }, { "d.jpg", "image/jpeg" },
		{ "e.docx", "application/vnd.openxmlformats-officedocument."
		    "wordprocessingml.document" },
		{ "f.xlsx", "application/vnd.openxmlformats-officedocument."
		    "spreadsheetml.sheet" },
		{ "g.ics", "text/calendar" },
		{ "h.tar.gz", "application/gzip" },
		{ "i.csv", "text/csv" }, { "j.json", "application/json" },
		{ "k.webp", "image/webp" }, { "l.svg", "image/svg+xml" },
		{ "m.mp3", "audio/mpeg" }, { "n.zip", "application/zip" },
		{ "o.unknownext", "application/octet-stream" },
		{ "noext", "application/octet-stream" },
		{ ".hidden", "application/octet-stream" },
	};
	enum { NT = sizeof(t) / sizeof(t[0]) };
	const char *att[NT];
	char *paths[NT], *s, *parts[NT + 1], *want;
	struct compose m;
	size_t i, n;

	for (i = 0; i < NT; i++)
		att[i] = paths[i] = tmp_file(t[i].name, "x", 1);
	basic(&m, "s", "see attached");
	m.attach = att;
	m.nattach = NT;
	s = compose_ok(&m);
	n = split(s, parts, NT + 1);
	ck_assert_uint_eq(n, NT + 1);
	for (i = 0; i < NT; i++) {
		ck_assert_int_ne(asprintf(&want, "%s; name=\"%s\"", t[i].type,
		    t[i].name), -1);
		assert_field(parts[i + 1], "Content-Type", want);
		free(want);
		if (strlen(t[i].type) < 60)	/* a type is not folded */
			assert_header_lines(parts[i + 1]);
		free(paths[i]);
	}
	free_parts(parts, n);
	free(s);
}
END_TEST

START_TEST(attach_filenames)
{
	const char *att[4];
	char *paths[4], *s, *parts[5];
	struct compose m;
	size_t n, i;

	paths[0] = tmp_file("r\xc3\xa9sum\xc3\xa9.pdf", "%PDF", 4);
	paths[1] = tmp_file("my notes.txt", "n", 1);
	paths[2] = tmp_file("a\"b.txt", "q", 1);
	paths[3] = tmp_file("line\nbreak.txt", "l", 1);
	for (i = 0; i < 4; i++)
		att[i] = paths[i];
	basic(&m, "s", "hi");
	m.attach = att;
	m.nattach = 4;
	s = compose_ok(&m);
	n = split(s, parts, 5);
	ck_assert_uint_eq(n, 5);
	assert_field(parts[1], "Content-Type", "application/pdf; "
	    "name=\"=?UTF-8?B?csOpc3Vtw6kucGRm?=\"");
	assert_field(parts[1], "Content-Disposition",
	    "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
	assert_field(parts[2], "Content-Disposition",
	    "attachment; filename=\"my notes.txt\"");
	assert_field(parts[3], "Content-Disposition",
	    "attachment; filename*=UTF-8''a%22b.txt");
	assert_field(parts[4], "Content-Disposition",
	    "attachment; filename*=UTF-8''line%0Abreak.txt");
	for (i = 0; i < 4; i++)
		free(paths[i]);
	free_parts(parts, n);
	free(s);
}
END_TEST

/* Percent-decodes s in place. */
static void
pct_decode(char *s)
{
	char *o = s, hex[3] = { 0 };

	for (; *s != '\0'; s++) {
		if (*s == '%') {
			memcpy(hex, s + 1, 2);
			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

START_TEST(attach_long_name_continuations)
{
	char name[256] = "", joined[1024] = "", key[32], *p, *q, *v;
	const char *att[1];
	char *path, *s, *parts[3], *raw;
	struct compose m;
	size_t n;
	int i;

	for (i = 0; i < 40; i++)
		strcat(name, "\xc3\xa9t\xc3\xa9");
	strcat(name, ".pdf");
	path = tmp_file(name, "x", 1);
	att[0] = path;
	basic(&m, "s", "hi");
	m.attach = att;
	m.nattach = 1;
	s = compose_ok(&m);
	n = split(s, parts, 3);
	raw = field_raw(parts[1], "Content-Disposition");
	assert_lines(raw, strlen(raw), 78);
	v = field(parts[1], "Content-Disposition");
	ck_assert_ptr_nonnull(strstr(v, "filename*0*=UTF-8''%C3%A9t"));
	for (i = 0; ; i++) {	/* join filename*N*= segments in order */
		snprintf(key, sizeof(key), "filename*%d*=", i);
		if ((p = strstr(v, key)) == NULL)
			break;
		p += strlen(key);
		if (i == 0)
			p += strlen("UTF-8''");
		q = p + strcspn(p, ";");
		strncat(joined, p, (size_t)(q - p));
	}
	ck_assert_int_gt(i, 1);
	pct_decode(joined);
	ck_assert_str_eq(joined, name);
	free(v);
	v = field(parts[1], "Content-Type");	/* the 2047 fallback */
	ck_assert_int_eq(strncmp(v, "application/pdf; name=\"", 23), 0);
	v[strlen(v) - 1] = '\0';
	p = ew_decode(v + 23);
	ck_assert_str_eq(p, name);
	free(p);
	free(v);
	assert_header_lines(parts[1]);
	free(raw);
	free_parts(parts, n);
	free(s);
	free(path);
}
END_TEST

START_TEST(attach_binary_round_trip)
{
	enum { N = 256 * 100 + 7 };
	unsigned char data[N], *dec;
	const char *att[1];
	char *path, *s, *parts[3];
	struct compose m;
	size_t i, n, len;

	for (i = 0; i < N; i++)
		data[i] = (unsigned char)(i * 31 + i / 256);
	path = tmp_file("blob.bin", data, N);
	att[0] = path;
	basic(&m, "s", "hi");
	m.attach = att;
	m.nattach = 1;
	s = compose_ok(&m);
	n = split(s, parts, 3);
	ck_assert_uint_eq(n, 2);
	dec = b64_content(parts[1], &len);
	ck_assert_uint_eq(len, N);
	ck_assert_mem_eq(dec, data, N);
	free(dec);
	free_parts(parts, n);
	free(s);
	free(path);
}
END_TEST

START_TEST(attach_eml)
{
	const char *eml = "From: a@x.example\nSubject: inner\n\nGr\xc3\xbc\xc3"
	    "\x9f" "e\n";
	const char *att[2];
	char *p1, *p2, *s, *parts[3];
	struct compose m;
	unsigned char *dec;
	size_t n, len;

	p1 = tmp_file("fwd.eml", eml, strlen(eml));
	p2 = tmp_file("bin.eml", "From: a\0b", 9);
	att[0] = p1;
	att[1] = p2;
	basic(&m, "s", "hi");
	m.attach = att;
	m.nattach = 2;
	s = compose_ok(&m);
	n = split(s, parts, 3);
	ck_assert_uint_eq(n, 3);
	assert_field(parts[1], "Content-Type",
	    "message/rfc822; name=\"fwd.eml\"");
	assert_field(parts[1], "Content-Transfer-Encoding", "8bit");
	ck_assert_str_eq(content(parts[1]), "From: a@x.example\r\nSubject: "
	    "inner\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n");
	/* message/rfc822 allows no base64: a NUL makes it opaque. */
	assert_field(parts[2], "Content-Type",
	    "application/octet-stream; name=\"bin.eml\"");
	dec = b64_content(parts[2], &len);
	ck_assert_uint_eq(len, 9);
	ck_assert_mem_eq(dec, "From: a\0b", 9);
	free(dec);
	free_parts(parts, n);
	free(s);
	free(p1);
	free(p2);
}
END_TEST

START_TEST(attach_missing)
{
	const char *att[2];
	char *ok, *missing;
	struct compose m;
	const char *msg;

	ok = tmp_file("ok.txt", "x", 1);
	ck_assert_int_ne(asprintf(&missing, "%s/nope.pdf", tmpdir), -1);
	att[0] = ok;
	att[1] = missing;
	basic(&m, "s", "hi");
	m.attach = att;
	m.nattach = 2;
	msg = compose_fails(&m, MV_E_NO_INPUT);
	ck_assert_ptr_nonnull(strstr(msg, "nope.pdf"));
	ck_assert_ptr_nonnull(strstr(msg, "No such file or directory"));
	att[1] = tmpdir;	/* a directory */
	msg = compose_fails(&m, MV_E_NO_INPUT);
	ck_assert_ptr_nonnull(strstr(msg, "not a regular file"));
	att[1] = "";
	compose_fails(&m, MV_E_NO_INPUT);
	free(ok);
	free(missing);
}
END_TEST

START_TEST(attach_unreadable)
{
	const char *att[1];
	char *path;
	struct compose m;
	const char *msg;

	ck_assert_int_ne(asprintf(&path, "%s/pipe", tmpdir), -1);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	att[0] = path;
	basic(&m, "s", "hi");
	m.attach = att;
	m.nattach = 1;
	msg = compose_fails(&m, MV_E_NO_INPUT);	/* never blocks on it */
	ck_assert_ptr_nonnull(strstr(msg, "not a regular file"));
	free(path);
	if (geteuid() == 0)	/* root reads anything */
		return;
	path = tmp_file("secret.txt", "x", 1);
	ck_assert_int_eq(chmod(path, 0), 0);
	att[0] = path;
	msg = compose_fails(&m, MV_E_NO_INPUT);
	ck_assert_ptr_nonnull(strstr(msg, "Permission denied"));
	free(path);
}
END_TEST

/* compose_message: the 35 MiB limit */

/* The N of "message too large (N bytes, Gmail's limit is 35 MiB)". */
static unsigned long long
too_large_n(const char *msg)
{
	unsigned long long n = 0;
	char tail[64];

	ck_assert_int_eq(sscanf(msg, "message too large (%llu bytes, %63[^)]",
	    &n, tail), 2);
	ck_assert_str_eq(tail, "Gmail's limit is 35 MiB");
	ck_assert_str_eq(msg + strlen(msg) - 1, ")");
	return n;
}

START_TEST(limit_big_file_refused_unread)
{
	const char *att[1];
	char *path;
	struct compose m;
	const char *msg;

	path = tmp_sparse("huge.iso", (off_t)40 << 20);
	att[0] = path;
	basic(&m, "s", "hi");
	m.attach = att;
	m.nattach = 1;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_uint_gt(too_large_n(msg), (40ULL << 20) * 4 / 3);
	free(path);
}
END_TEST

START_TEST(limit_sum_refused)
{
	const char *att[2];
	char *p1, *p2;
	struct compose m;
	const char *msg;

	/* Each fits; together their base64 does not. */
	p1 = tmp_sparse("a.bin", (off_t)14 << 20);
	p2 = tmp_sparse("b.bin", (off_t)14 << 20);
	att[0] = p1;
	att[1] = p2;
	basic(&m, "s", "hi");
	m.attach = att;
	m.nattach = 2;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_uint_gt(too_large_n(msg), COMPOSE_MAX_MESSAGE);
	free(p1);
	free(p2);
}
END_TEST

/* Length of mv_b64_encode_mime() output for n bytes, less its last CRLF
 * (which the next delimiter brings). */
static size_t
b64_len(size_t n)
{
	size_t chars = (n + 2) / 3 * 4;

	return chars == 0 ? 0 : chars + ((chars + 75) / 76 - 1) * 2;
}

/* Composes text and an attachment of n zeros (sparse file). */
static char *
compose_with_zeros(const char *text, size_t n, size_t *len,
    struct mv_err *err)
{
	const char *att[1];
	struct compose m;
	char *path, *s;

	path = tmp_sparse("zeros.bin", (off_t)n);
	att[0] = path;
	basic(&m, "s", text);
	m.attach = att;
	m.nattach = 1;
	s = compose_message(&m, len, err);
	free(path);
	return s;
}

START_TEST(limit_exact_boundary)
{
	struct mv_err err;
	char *text, *s;
	size_t i, len, fixed, n;

	/* The fixed part: everything but the attachment's base64. */
	text = malloc((1 << 20) + 1);
	for (i = 0; i < 1 << 20; i++)
		text[i] = i % 64 == 63 ? '\n' : 'x';
	text[1 << 20] = '\0';
	s = compose_with_zeros(text, 3, &len, &err);
	ck_assert_ptr_nonnull(s);
	free(s);
	fixed = len - b64_len(3);
	/* The largest attachment (in 3-byte steps) that still fits. */
	for (n = (COMPOSE_MAX_MESSAGE - fixed) / 78 * 57 - 300; fixed +
	    b64_len(n + 3) <= COMPOSE_MAX_MESSAGE; n += 3)
		;
	s = compose_with_zeros(text, n, &len, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_uint_eq(len, fixed + b64_len(n));
	ck_assert_uint_le(len, COMPOSE_MAX_MESSAGE);
	free(s);
	/* Three bytes more: refused, with the exact size. These pass the
	 * estimate made before reading (it leaves out part headers). */
	ck_assert_ptr_null(compose_with_zeros(text, n + 3, &len, &err));
	ck_assert_int_eq(err.type, MV_E_INVALID_ARGUMENT);
	ck_assert_uint_eq(too_large_n(err.msg), fixed + b64_len(n + 3));
	free(text);
}
END_TEST

START_TEST(limit_huge_body)
{
	struct compose m;
	const char *msg;

	/* The length alone is refused: nothing is read past it. */
	basic(&m, "s", "x");
	m.body_text_len = (size_t)COMPOSE_MAX_MESSAGE + 1;
	msg = compose_fails(&m, MV_E_INVALID_ARGUMENT);
	ck_assert_uint_gt(too_large_n(msg), COMPOSE_MAX_MESSAGE);
}
END_TEST

static TCase *
tcase(Suite *s, const char *name, int tmp, int timeout)
{
	TCase *tc = tcase_create(name);

	if (tmp)
		tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	if (timeout)
		tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *
compose_suite(void)
{
	Suite *s = suite_create("compose");
	TCase *tc;

	tc = tcase(s, "subject", 0, 0);
	tcase_add_test(tc, subject_encoded_exact);
	tcase_add_test(tc, subject_empty_or_absent);
	tcase_add_test(tc, subject_long_ascii_folds);
	tcase_add_test(tc, subject_long_utf8_folds);
	tcase_add_test(tc, subject_unfoldable_encoded);
	tcase_add_test(tc, subject_refused);
	tc = tcase(s, "addresses", 0, 0);
	tcase_add_test(tc, addresses_lists_and_names);
	tcase_add_test(tc, addresses_long_list_folds);
	tcase_add_test(tc, addresses_long_utf8_name);
	tcase_add_test(tc, addresses_bad_index_and_value);
	tcase_add_test(tc, addresses_refused);
	tcase_add_test(tc, addresses_injection);
	tcase_add_test(tc, addresses_missing);
	tcase_add_test(tc, addresses_long_value_shown_cut);
	tc = tcase(s, "date_message_id_threading", 0, 0);
	tcase_add_test(tc, date_and_message_id);
	tcase_add_test(tc, date_now_and_bad_domain);
	tcase_add_test(tc, threading_fields);
	tcase_add_test(tc, threading_long_references_fold);
	tcase_add_test(tc, threading_refused);
	tc = tcase(s, "bodies", 0, 0);
	tcase_add_test(tc, body_7bit_single_part);
	tcase_add_test(tc, body_quoted_printable);
	tcase_add_test(tc, body_long_lines_round_trip);
	tcase_add_test(tc, body_line_of_76_stays_7bit);
	tcase_add_test(tc, body_invalid_utf8);
	tc = tcase(s, "structure", 1, 0);
	tcase_add_test(tc, structure_alternative);
	tcase_add_test(tc, structure_html_only);
	tcase_add_test(tc, structure_mixed);
	tcase_add_test(tc, structure_attachment_only);
	tc = tcase(s, "attachments", 1, 0);
	tcase_add_test(tc, attach_types);
	tcase_add_test(tc, attach_filenames);
	tcase_add_test(tc, attach_long_name_continuations);
	tcase_add_test(tc, attach_binary_round_trip);
	tcase_add_test(tc, attach_eml);
	tcase_add_test(tc, attach_missing);
	tcase_add_test(tc, attach_unreadable);
	tc = tcase(s, "size_limit", 1, 60);
	tcase_add_test(tc, limit_big_file_refused_unread);
	tcase_add_test(tc, limit_sum_refused);
	tcase_add_test(tc, limit_exact_boundary);
	tcase_add_test(tc, limit_huge_body);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(compose_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
