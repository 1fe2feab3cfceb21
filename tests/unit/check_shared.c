/* Unit tests of shared/: base64, UTF-8, buffers, errors, time stamps. */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shared/b64.h"
#include "shared/buf.h"
#include "shared/err.h"
#include "shared/mvtime.h"
#include "shared/str.h"
#include "shared/utf8.h"

/* RFC 4648 §10 test vectors. */
static const struct {
	const char	*plain;
	const char	*padded;
	const char	*bare;
} vectors[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};
#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* Bytes whose encodings differ between the two alphabets. */
static const unsigned char alpha_bytes[] = { 0xfb, 0xff, 0xbf };

static char tmpdir[64];

static void
tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_shared.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes n bytes to a new file in tmpdir; returns its path (static). */
static const char *
tmp_file(const char *name, const void *data, size_t n)
{
	static char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	return path;
}

/* Decodes s and checks the result is exactly want[0..wantlen). */
static void
assert_decodes(const char *s, const void *want, size_t wantlen)
{
	unsigned char *out;
	size_t len = 12345;

	out = mv_b64_decode(s, strlen(s), &len);
	ck_assert_msg(out != NULL, "decoding \"%s\" failed", s);
	ck_assert_uint_eq(len, wantlen);
	ck_assert_mem_eq(out, want, wantlen);
	ck_assert_int_eq(out[len], '\0');
	free(out);
}

static void
assert_refused(const char *s)
{
	errno = 0;
	ck_assert_msg(mv_b64_decode(s, strlen(s), NULL) == NULL,
	    "\"%s\" was accepted", s);
	ck_assert_int_eq(errno, EINVAL);
}

/* mv_b64_encode */

START_TEST(b64_encode_vectors)
{
	size_t i;
	char *s;

	for (i = 0; i < NVECTORS; i++) {
		s = mv_b64_encode(vectors[i].plain, strlen(vectors[i].plain), 0,
		    1);
		ck_assert_str_eq(s, vectors[i].padded);
		free(s);
		s = mv_b64_encode(vectors[i].plain, strlen(vectors[i].plain), 1,
		    0);
		ck_assert_str_eq(s, vectors[i].bare);
		free(s);
	}
}
END_TEST

START_TEST(b64_encode_alphabets)
{
	char *s;

	s = mv_b64_encode(alpha_bytes, 2, 0, 1);
	ck_assert_str_eq(s, "+/8=");
	free(s);
	s = mv_b64_encode(alpha_bytes, 2, 1, 1);
	ck_assert_str_eq(s, "-_8=");
	free(s);
	s = mv_b64_encode(alpha_bytes, 2, 1, 0);
	ck_assert_str_eq(s, "-_8");
	free(s);
	s = mv_b64_encode(alpha_bytes, 3, 0, 0);
	ck_assert_str_eq(s, "+/+/");
	free(s);
	s = mv_b64_encode("\0\0", 2, 0, 1);
	ck_assert_str_eq(s, "AAA=");
	free(s);
}
END_TEST

/* mv_b64_decode */

START_TEST(b64_decode_vectors)
{
	size_t i;

	for (i = 0; i < NVECTORS; i++) {
		assert_decodes(vectors[i].padded, vectors[i].plain,
		    strlen(vectors[i].plain));
		assert_decodes(vectors[i].bare, vectors[i].plain,
		    strlen(vectors[i].plain));
	}
}
END_TEST

START_TEST(b64_decode_alphabets_space)
{
	assert_decodes("+/8=", alpha_bytes, 2);
	assert_decodes("-_8", alpha_bytes, 2);
	assert_decodes("+/+/", alpha_bytes, 3);
	assert_decodes("-_-_", alpha_bytes, 3);
	assert_decodes("Zm9v\r\nYmFy\r\n", "foobar", 6);
	assert_decodes(" Zm 9v\tYg =\n=", "foob", 4);
	assert_decodes("AAA=", "\0\0", 2);
}
END_TEST

START_TEST(b64_decode_refused)
{
	assert_refused("Zm9v*");
	assert_refused("Zm9v.YmFy");
	assert_refused("Zm\x80v");
	assert_refused("Zm9vY");	/* a lone 6-bit group */
	assert_refused("Z");
	assert_refused("Z===");
	assert_refused("Zg==Zg");	/* data after the padding */
	assert_refused("=Zg");
}
END_TEST

START_TEST(b64_decode_nul_in_input)
{
	/* The length, not a NUL, ends the input. */
	ck_assert_ptr_null(mv_b64_decode("Zg\0=", 4, NULL));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(b64_round_trip_binary)
{
	enum { N = 1 << 20 };
	unsigned char *in, *out;
	char *enc;
	size_t i, len;
	int url;

	in = malloc(N);
	ck_assert_ptr_nonnull(in);
	for (i = 0; i < N; i++)
		in[i] = (unsigned char)(i * 7 + i / 256);
	for (url = 0; url <= 1; url++) {
		enc = mv_b64_encode(in, N, url, !url);
		ck_assert_ptr_nonnull(enc);
		ck_assert_uint_eq(strlen(enc), url ? (N * 4 + 2) / 3 :
		    (N + 2) / 3 * 4);
		out = mv_b64_decode(enc, strlen(enc), &len);
		ck_assert_ptr_nonnull(out);
		ck_assert_uint_eq(len, N);
		ck_assert_mem_eq(out, in, N);
		free(out);
		free(enc);
	}
	free(in);
}
END_TEST

/* mv_b64_encode_mime */

START_TEST(b64_mime_lines)
{
	unsigned char in[115];
	char *s, *flat;
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	s = mv_b64_encode_mime(in, 57);		/* exactly one line */
	ck_assert_uint_eq(strlen(s), 78);
	ck_assert_str_eq(s + 76, "\r\n");
	free(s);
	s = mv_b64_encode_mime(in, 115);	/* 76 + 76 + 4 */
	flat = mv_b64_encode(in, 115, 0, 1);
	ck_assert_uint_eq(strlen(s), 76 + 2 + 76 + 2 + 4 + 2);
	ck_assert_mem_eq(s, flat, 76);
	ck_assert_mem_eq(s + 76, "\r\n", 2);
	ck_assert_mem_eq(s + 78, flat + 76, 76);
	ck_assert_mem_eq(s + 154, "\r\n", 2);
	ck_assert_str_eq(s + 156, "cg==\r\n");
	ck_assert_str_eq(flat + 152, "cg==");
	free(flat);
	free(s);
}
END_TEST

START_TEST(b64_mime_empty)
{
	char *s = mv_b64_encode_mime("", 0);

	ck_assert_str_eq(s, "");
	free(s);
	s = mv_b64_encode_mime("f", 1);
	ck_assert_str_eq(s, "Zg==\r\n");
	free(s);
}
END_TEST

/* mv_utf8_valid */

START_TEST(utf8_valid_accepts)
{
	ck_assert_int_eq(mv_utf8_valid("", 0), 1);
	ck_assert_int_eq(mv_utf8_valid("plain ascii", 11), 1);
	ck_assert_int_eq(mv_utf8_valid("a\0b", 3), 1);
	ck_assert_int_eq(mv_utf8_valid("Gr\xc3\xbc\xc3\x9f" "e", 7), 1);
	ck_assert_int_eq(mv_utf8_valid("\xe2\x82\xac", 3), 1);	/* U+20AC */
	ck_assert_int_eq(mv_utf8_valid("\xed\x9f\xbf", 3), 1);	/* U+D7FF */
	ck_assert_int_eq(mv_utf8_valid("\xee\x80\x80", 3), 1);	/* U+E000 */
	ck_assert_int_eq(mv_utf8_valid("\xf0\x9d\x84\x9e", 4), 1);
	ck_assert_int_eq(mv_utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);
	ck_assert_int_eq(mv_utf8_valid("\xef\xbf\xbd", 3), 1);
}
END_TEST

START_TEST(utf8_valid_refuses)
{
	ck_assert_int_eq(mv_utf8_valid("\xc0\xaf", 2), 0);	/* overlong / */
	ck_assert_int_eq(mv_utf8_valid("\xc1\xbf", 2), 0);
	ck_assert_int_eq(mv_utf8_valid("\xe0\x80\xaf", 3), 0);
	ck_assert_int_eq(mv_utf8_valid("\xe0\x9f\xbf", 3), 0);
	ck_assert_int_eq(mv_utf8_valid("\xf0\x80\x80\xaf", 4), 0);
	ck_assert_int_eq(mv_utf8_valid("\xf0\x8f\xbf\xbf", 4), 0);
	ck_assert_int_eq(mv_utf8_valid("\xed\xa0\x80", 3), 0);	/* D800 */
	ck_assert_int_eq(mv_utf8_valid("\xed\xbf\xbf", 3), 0);	/* DFFF */
	ck_assert_int_eq(mv_utf8_valid("\xf4\x90\x80\x80", 4), 0);
	ck_assert_int_eq(mv_utf8_valid("\xf5\x80\x80\x80", 4), 0);
	ck_assert_int_eq(mv_utf8_valid("\xff", 1), 0);
	ck_assert_int_eq(mv_utf8_valid("\x80", 1), 0);
	ck_assert_int_eq(mv_utf8_valid("a\xe2\x82", 3), 0);	/* truncated */
	ck_assert_int_eq(mv_utf8_valid("\xe2\x82" "a", 3), 0);
	ck_assert_int_eq(mv_utf8_valid("\xf0\x9d\x84", 3), 0);
	/* The length bounds the check: a cut sequence is invalid. */
	ck_assert_int_eq(mv_utf8_valid("\xe2\x82\xac", 2), 0);
}
END_TEST

/* mv_utf8_seqlen */

START_TEST(utf8_seqlen_lengths)
{
	ck_assert_uint_eq(mv_utf8_seqlen((const unsigned char *)"A", 1), 1);
	ck_assert_uint_eq(mv_utf8_seqlen((const unsigned char *)"\xc3\xa9",
	    2), 2);
	ck_assert_uint_eq(mv_utf8_seqlen((const unsigned char *)"\xe2\x82\xac",
	    3), 3);
	ck_assert_uint_eq(mv_utf8_seqlen(
	    (const unsigned char *)"\xf0\x9d\x84\x9e", 4), 4);
}
END_TEST

START_TEST(utf8_seqlen_bad)
{
	ck_assert_uint_eq(mv_utf8_seqlen((const unsigned char *)"\xc3\xa9",
	    1), 0);
	ck_assert_uint_eq(mv_utf8_seqlen((const unsigned char *)"\x80", 1), 0);
	ck_assert_uint_eq(mv_utf8_seqlen((const unsigned char *)"\xc3(", 2),
	    0);
	ck_assert_uint_eq(mv_utf8_seqlen((const unsigned char *)"\xed\xa0\x80",
	    3), 0);
}
END_TEST

/* mv_utf8_sanitize */

START_TEST(utf8_sanitize_repairs)
{
	char *s;
	size_t len;

	s = mv_utf8_sanitize("a\xff" "b", 3, &len);
	ck_assert_str_eq(s, "a\xef\xbf\xbd" "b");
	ck_assert_uint_eq(len, 5);
	free(s);
	s = mv_utf8_sanitize("a\0b", 3, &len);
	ck_assert_str_eq(s, "a\xef\xbf\xbd" "b");
	ck_assert_uint_eq(len, 5);
	free(s);
	/* Each byte of a truncated sequence becomes one U+FFFD. */
	s = mv_utf8_sanitize("x\xe2\x82", 3, &len);
	ck_assert_str_eq(s, "x\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = mv_utf8_sanitize("\xed\xa0\x80", 3, NULL);
	ck_assert_str_eq(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = mv_utf8_sanitize("\xc0\xaf", 2, NULL);
	ck_assert_str_eq(s, "\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}
END_TEST

START_TEST(utf8_sanitize_keeps_valid)
{
	const char *in = "Gr\xc3\xbc\xc3\x9f" "e \xf0\x9d\x84\x9e";
	char *s;
	size_t len;

	s = mv_utf8_sanitize(in, strlen(in), &len);
	ck_assert_str_eq(s, in);
	ck_assert_uint_eq(len, strlen(in));
	free(s);
	s = mv_utf8_sanitize("", 0, &len);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
}
END_TEST

START_TEST(utf8_sanitize_huge)
{
	enum { N = 1 << 20 };
	char *in, *s;
	size_t len;

	in = malloc(N);
	memset(in, 0xff, N);
	s = mv_utf8_sanitize(in, N, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, 3 * (size_t)N);
	ck_assert_int_eq(mv_utf8_valid(s, len), 1);
	free(s);
	free(in);
}
END_TEST

/* mv_json_strn / mv_json_str */

START_TEST(json_strn_repairs)
{
	json_t *j;

	j = mv_json_strn("a\0b\xff", 4);
	ck_assert_str_eq(json_string_value(j),
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	ck_assert_uint_eq(json_string_length(j), 8);
	json_decref(j);
	j = mv_json_strn("Gr\xc3\xbc\xc3\x9f" "e", 7);
	ck_assert_str_eq(json_string_value(j), "Gr\xc3\xbc\xc3\x9f" "e");
	json_decref(j);
}
END_TEST

START_TEST(json_str_null)
{
	json_t *j;

	ck_assert(json_is_null(mv_json_str(NULL)));
	ck_assert(json_is_null(mv_json_strn(NULL, 3)));
	j = mv_json_str("x\xc3");
	ck_assert_str_eq(json_string_value(j), "x\xef\xbf\xbd");
	json_decref(j);
}
END_TEST

/* mv_buf_append and friends */

START_TEST(buf_append_cap)
{
	struct mv_buf b;

	mv_buf_init(&b, 8);
	ck_assert_int_eq(mv_buf_append(&b, "abcde", 5), 0);
	errno = 0;
	ck_assert_int_eq(mv_buf_append(&b, "fghi", 4), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_str_eq(b.data, "abcde");
	ck_assert_int_eq(mv_buf_append(&b, "fgh", 3), 0);	/* exactly 8 */
	ck_assert_str_eq(b.data, "abcdefgh");
	ck_assert_int_eq(mv_buf_putc(&b, 'x'), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(mv_buf_puts(&b, "y"), -1);
	ck_assert_int_eq(mv_buf_printf(&b, "%d", 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(b.data, "abcdefgh");
	ck_assert_int_eq(mv_buf_append(&b, NULL, 0), 0);
	mv_buf_free(&b);
}
END_TEST

START_TEST(buf_append_grows)
{
	struct mv_buf b;
	size_t i, failed = 0;

	mv_buf_init(&b, 0);
	for (i = 0; i < 100000; i++)
		failed += mv_buf_putc(&b, 'a' + (int)(i % 26)) != 0;
	ck_assert_uint_eq(failed, 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_eq(strlen(b.data), 100000);
	ck_assert_int_eq(b.data[99999], 'a' + 99999 % 26);
	ck_assert_int_eq(mv_buf_append(&b, "\0z", 2), 0);
	ck_assert_uint_eq(b.len, 100002);
	ck_assert_int_eq(b.data[100001], 'z');
	mv_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	mv_buf_free(&b);
	mv_buf_free(&b);
	mv_buf_free(NULL);
}
END_TEST

START_TEST(buf_printf_growth)
{
	struct mv_buf b;
	char big[1000];

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mv_buf_init(&b, 0);
	ck_assert_int_eq(mv_buf_printf(&b, "%s-%d", "n", 42), 0);
	ck_assert_int_eq(mv_buf_printf(&b, "[%s]", big), 0);
	ck_assert_uint_eq(b.len, 4 + 1001);
	ck_assert_mem_eq(b.data, "n-42[qqq", 8);
	ck_assert_str_eq(b.data + b.len - 3, "qq]");
	mv_buf_free(&b);
	/* A long printf past the cap appends nothing. */
	mv_buf_init(&b, 600);
	ck_assert_int_eq(mv_buf_puts(&b, "keep"), 0);
	ck_assert_int_eq(mv_buf_printf(&b, "%s", big), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(b.data, "keep");
	mv_buf_free(&b);
}
END_TEST

START_TEST(buf_steal)
{
	struct mv_buf b;
	char *p;
	size_t len = 99;

	mv_buf_init(&b, 0);
	p = mv_buf_steal(&b, &len);	/* an empty buffer gives "" */
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
	mv_buf_puts(&b, "hello");
	p = mv_buf_steal(&b, &len);
	ck_assert_str_eq(p, "hello");
	ck_assert_uint_eq(len, 5);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(mv_buf_puts(&b, "again"), 0);
	ck_assert_str_eq(b.data, "again");
	ck_assert_str_eq(p, "hello");
	free(p);
	mv_buf_free(&b);
}
END_TEST

/* mv_read_file */

START_TEST(read_file_ok)
{
	const char *path;
	char *p;
	size_t len;

	path = tmp_file("data", "ab\0cd", 5);
	p = mv_read_file(path, 5, &len);	/* exactly the cap */
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(p, "ab\0cd", 6);
	free(p);
	path = tmp_file("empty", "", 0);
	p = mv_read_file(path, 0, &len);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
}
END_TEST

START_TEST(read_file_fails)
{
	const char *path;
	char missing[PATH_MAX];

	path = tmp_file("six", "123456", 6);
	errno = 0;
	ck_assert_ptr_null(mv_read_file(path, 5, NULL));
	ck_assert_int_eq(errno, EMSGSIZE);
	snprintf(missing, sizeof(missing), "%s/nope", tmpdir);
	ck_assert_ptr_null(mv_read_file(missing, 0, NULL));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(mv_read_file(tmpdir, 0, NULL));
	ck_assert_int_eq(errno, EISDIR);
}
END_TEST

/* The contract's table: error.type → exit code, retryable. */
static const struct {
	enum mv_errtype	 type;
	const char	*name;
	int		 exit;
	int		 retryable;
} contract[] = {
	{ MV_E_INVALID_ARGUMENT, "invalid_argument", 64, 0 },
	{ MV_E_BAD_CREDENTIALS, "bad_credentials", 78, 0 },
	{ MV_E_NO_INPUT, "no_input", 66, 0 },
	{ MV_E_AUTH, "auth", 77, 0 },
	{ MV_E_PERMISSION, "permission", 77, 0 },
	{ MV_E_NOT_FOUND, "not_found", 65, 0 },
	{ MV_E_HISTORY_EXPIRED, "history_expired", 65, 0 },
	{ MV_E_RATE_LIMITED, "rate_limited", 75, 1 },
	{ MV_E_TIMEOUT, "timeout", 75, 1 },
	{ MV_E_NETWORK, "network", 75, 1 },
	{ MV_E_API, "api", 69, 0 },
	{ MV_E_INTERNAL, "internal", 70, 0 },
	{ MV_E_BAD_OUTPUT, "bad_output", 65, 0 },
	{ MV_E_REFUSED, "refused", 65, 0 },
};
#define NCONTRACT (sizeof(contract) / sizeof(contract[0]))

/* mv_err_name, mv_err_exit, mv_err_retryable */

START_TEST(err_table_matches_contract)
{
	size_t i;

	ck_assert_uint_eq(NCONTRACT, MV_E__COUNT - 1);
	for (i = 0; i < NCONTRACT; i++) {
		ck_assert_str_eq(mv_err_name(contract[i].type),
		    contract[i].name);
		ck_assert_int_eq(mv_err_exit(contract[i].type),
		    contract[i].exit);
		ck_assert_int_eq(mv_err_retryable(contract[i].type),
		    contract[i].retryable);
	}
	ck_assert_int_eq(mv_err_exit(MV_OK), 0);
}
END_TEST

START_TEST(err_table_out_of_range)
{
	ck_assert_str_eq(mv_err_name(MV_E__COUNT), "internal");
	ck_assert_str_eq(mv_err_name((enum mv_errtype)-1), "internal");
	ck_assert_int_eq(mv_err_exit((enum mv_errtype)1000), 70);
	ck_assert_int_eq(mv_err_retryable((enum mv_errtype)1000), 0);
}
END_TEST

/* mv_err_set, mv_err_clear */

START_TEST(err_set_formats)
{
	struct mv_err e;
	char big[2000];

	mv_err_clear(&e);
	ck_assert_int_eq(e.type, MV_OK);
	ck_assert_int_eq(e.retry_after, -1);
	ck_assert_int_eq(e.http_status, 0);
	ck_assert_str_eq(e.msg, "");
	e.http_status = 503;
	ck_assert_int_eq(mv_err_set(&e, MV_E_API, "HTTP %d from %s", 503,
	    "gmail"), -1);
	ck_assert_int_eq(e.type, MV_E_API);
	ck_assert_str_eq(e.msg, "HTTP 503 from gmail");
	ck_assert_int_eq(e.http_status, 503);	/* left alone */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mv_err_set(&e, MV_E_INTERNAL, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), sizeof(e.msg) - 1);
}
END_TEST

START_TEST(err_clear_resets)
{
	struct mv_err e;

	mv_err_set(&e, MV_E_TIMEOUT, "late");
	e.http_status = 504;
	e.retry_after = 9;
	mv_err_clear(&e);
	ck_assert_int_eq(e.type, MV_OK);
	ck_assert_int_eq(e.http_status, 0);
	ck_assert_int_eq(e.retry_after, -1);
	ck_assert_str_eq(e.msg, "");
}
END_TEST

/* Compact JSON with sorted keys; decrefs j. Caller frees. */
static char *
dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(j);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* mv_envelope_success */

START_TEST(envelope_success_shapes)
{
	char *s;

	s = dump(mv_envelope_success("get_profile", "user@gmail.com"));
	ck_assert_str_eq(s, "{\"action\":\"get_profile\","
	    "\"status\":\"success\",\"user_email\":\"user@gmail.com\"}");
	free(s);
	s = dump(mv_envelope_success("ping", NULL));
	ck_assert_str_eq(s, "{\"action\":\"ping\",\"status\":\"success\"}");
	free(s);
	s = dump(mv_envelope_success("ping", "bad\xff"));
	ck_assert_str_eq(s, "{\"action\":\"ping\",\"status\":\"success\","
	    "\"user_email\":\"bad\xef\xbf\xbd\"}");
	free(s);
}
END_TEST

/* mv_envelope_error */

START_TEST(envelope_error_plain)
{
	struct mv_err e;
	char *s;

	mv_err_clear(&e);
	mv_err_set(&e, MV_E_INVALID_ARGUMENT, "--days_back: not a number");
	s = dump(mv_envelope_error("fetch_emails", &e));
	ck_assert_str_eq(s, "{\"action\":\"fetch_emails\",\"error\":{"
	    "\"http_status\":null,\"message\":\"--days_back: not a number\","
	    "\"retryable\":false,\"type\":\"invalid_argument\"},"
	    "\"status\":\"error\"}");
	free(s);
	mv_err_clear(&e);
	e.type = MV_E_NETWORK;	/* no message: the type name stands in */
	s = dump(mv_envelope_error(NULL, &e));
	ck_assert_str_eq(s, "{\"action\":null,\"error\":{\"http_status\":null,"
	    "\"message\":\"network\",\"retryable\":true,\"type\":\"network\"},"
	    "\"status\":\"error\"}");
	free(s);
}
END_TEST

START_TEST(envelope_error_http_retry_after)
{
	struct mv_err e;
	char *s;

	mv_err_clear(&e);
	mv_err_set(&e, MV_E_RATE_LIMITED, "slow down \xc3");
	e.http_status = 429;
	e.retry_after = 900;
	s = dump(mv_envelope_error("send_email", &e));
	ck_assert_str_eq(s, "{\"action\":\"send_email\",\"error\":{"
	    "\"http_status\":429,\"message\":\"slow down \xef\xbf\xbd\","
	    "\"retry_after\":900,\"retryable\":true,"
	    "\"type\":\"rate_limited\"},\"status\":\"error\"}");
	free(s);
	e.retry_after = 0;	/* "retry now" is still a retry_after */
	e.http_status = 0;
	s = dump(mv_envelope_error("send_email", &e));
	ck_assert_ptr_nonnull(strstr(s, "\"http_status\":null"));
	ck_assert_ptr_nonnull(strstr(s, "\"retry_after\":0,"));
	free(s);
}
END_TEST

/* mv_iso8601 */

START_TEST(iso8601_format)
{
	char buf[32];

	ck_assert_str_eq(mv_iso8601(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00Z");
	ck_assert_str_eq(mv_iso8601(1795169472, buf, sizeof(buf)),
	    "2026-11-20T10:11:12Z");
	ck_assert_str_eq(mv_iso8601(951782400, buf, 21),
	    "2000-02-29T00:00:00Z");
}
END_TEST

START_TEST(iso8601_format_fails)
{
	char buf[32];

	ck_assert_ptr_null(mv_iso8601(0, buf, 20));	/* no room for NUL */
	ck_assert_ptr_null(mv_iso8601((time_t)300000000000LL, buf, 21));
}
END_TEST

/* mv_parse_iso8601 */

START_TEST(parse_iso8601_round_trip)
{
	static const time_t ts[] = { 0, 951782400, 1795169472, 2147483647,
	    4102444799 };
	char buf[32];
	time_t t;
	size_t i;

	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		ck_assert_ptr_nonnull(mv_iso8601(ts[i], buf, sizeof(buf)));
		t = -1;
		ck_assert_int_eq(mv_parse_iso8601(buf, &t), 0);
		ck_assert_int_eq((long long)t, (long long)ts[i]);
	}
}
END_TEST

START_TEST(parse_iso8601_offsets)
{
	static const struct {
		const char	*in;
		long long	 want;
	} ok[] = {
		{ "2026-11-20T10:11:12Z", 1795169472 },
		{ "2026-11-20T10:11:12z", 1795169472 },
		{ "2026-11-20T10:11:12.123456Z", 1795169472 },
		{ "2026-11-20T15:41:12+05:30", 1795169472 },
		{ "2026-11-20T02:11:12-08:00", 1795169472 },
		{ "2026-11-20T10:11:12-00:00", 1795169472 },
		{ "2026-11-20T11:11:12.5+01:00", 1795169472 },
		{ "2026-11-21T00:11:12+14:00", 1795169472 },
		{ "2000-02-29T00:00:00Z", 951782400 },
		{ "2016-12-31T23:59:60Z", 1483228799 },	/* leap second */
	};
	time_t t;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(mv_parse_iso8601(ok[i].in, &t) == 0, "%s",
		    ok[i].in);
		ck_assert_msg((long long)t == ok[i].want, "%s gave %lld",
		    ok[i].in, (long long)t);
	}
}
END_TEST

START_TEST(parse_iso8601_garbage)
{
	static const char *bad[] = {
		"", "garbage", "2026-11-19", "2026-11-19T10:11:12",
		"2026-11-19 10:11:12Z", "2026-11-19T10:11:12ZZ",
		"2026-11-19T10:11:12Z ", "2026-13-01T00:00:00Z",
		"2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
		"2026-11-19T24:00:01Z", "2026-11-19T10:61:00Z",
		"2026-1-2T3:4:5Z", " 2026-11-19T10:11:12Z",
		"2026-11-19T10:11:12+5:30x", "2026-11-19T10:11:12+-1:30",
		"2026-11-19T10:11:12+ 1:30", "2026-11-19T10:11:12+99:00",
		"2026-11-19T10:11:12+05:60", "2026-11-19T10:11:12+0530",
		"2026-11-19T10:11:12+05", "2026-11-19T10:11:12.Z",
		"2026-11-19T10:11:12.12", "2026-11-19T10:11:12+05:30:00",
		"2026-11-19T10:11:12\xc3\xa9",
	};
	time_t t;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mv_parse_iso8601(bad[i], &t) == -1,
		    "\"%s\" was accepted", bad[i]);
}
END_TEST

/* mv_mono_ms, mv_wall_ms */

START_TEST(clocks)
{
	int64_t a, b, w;

	a = mv_mono_ms();
	b = mv_mono_ms();
	ck_assert(b >= a);
	w = mv_wall_ms();
	ck_assert(w / 1000 >= (int64_t)time(NULL) - 1);
	ck_assert(w / 1000 <= (int64_t)time(NULL) + 1);
}
END_TEST

START_TEST(optname_eq)
{
	ck_assert_int_eq(mv_optname_eq("days_back", "days_back", 9), 1);
	ck_assert_int_eq(mv_optname_eq("days_back", "days-back", 9), 1);
	ck_assert_int_eq(mv_optname_eq("token-file", "token_file", 10), 1);
	ck_assert_int_eq(mv_optname_eq("days_back", "days_back=3", 9), 1);
	ck_assert_int_eq(mv_optname_eq("days_back", "days_bac", 8), 0);
	ck_assert_int_eq(mv_optname_eq("days", "days_back", 9), 0);
	ck_assert_int_eq(mv_optname_eq("days_back", "daysxback", 9), 0);
	ck_assert_int_eq(mv_optname_eq("a", "", 0), 0);
	ck_assert_int_eq(mv_optname_eq("", "", 0), 1);
}
END_TEST

/* The shortest text that reads back: no 17-digit noise, but every bit
 * kept when 15 digits would lose some. */
START_TEST(fmt_double_shortest)
{
	static const struct {
		double d;
		const char *want;
	} v[] = {
		{ 0.003, "0.003" }, { 0.057, "0.057" }, { 1, "1" },
		{ 301.5, "301.5" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 0.056999999999999995, "0.056999999999999995" },
		{ 1e21, "1e+21" },
		{ 1.0 / 3, "0.3333333333333333" }, { -2.5, "-2.5" },
	};
	char b[40];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_str_eq(mv_fmt_double(b, sizeof(b), v[i].d),
		    v[i].want);
	ck_assert_str_eq(mv_fmt_double(b, sizeof(b), 1.0 / 0.0), "+Inf");
	ck_assert_str_eq(mv_fmt_double(b, sizeof(b), -1.0 / 0.0), "-Inf");
	ck_assert_str_eq(mv_fmt_double(b, sizeof(b), 0.0 / 0.0), "NaN");
}
END_TEST

START_TEST(json_dumps_shortest)
{
	json_t *v = json_pack("{s:f, s:[f, f], s:i}", "a", 0.003, "b", 0.057,
	    301.5, "c", 7);
	json_t *w = json_pack("[f, f]", 0.003, 0.1 + 0.2);
	char *s = mv_json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	char *t = mv_json_dumps(w, JSON_COMPACT);

	ck_assert_str_eq(s, "{\"a\":0.003,\"b\":[0.057,301.5],\"c\":7}");
	/* 15 digits would write 0.3: the whole document takes 17. */
	ck_assert_str_eq(t, "[0.0030000000000000001,0.30000000000000004]");
	free(s);
	free(t);
	json_decref(v);
	json_decref(w);
}
END_TEST

static TCase *
tcase(const char *name, const TTest *t1, const TTest *t2, const TTest *t3)
{
	TCase *tc = tcase_create(name);

	tcase_add_test(tc, t1);
	if (t2)
		tcase_add_test(tc, t2);
	if (t3)
		tcase_add_test(tc, t3);
	return tc;
}

static Suite *
shared_suite(void)
{
	Suite *s = suite_create("shared");
	TCase *tc;

	suite_add_tcase(s, tcase("mv_b64_encode", b64_encode_vectors,
	    b64_encode_alphabets, b64_round_trip_binary));
	tc = tcase("mv_b64_decode", b64_decode_vectors,
	    b64_decode_alphabets_space, b64_decode_refused);
	tcase_add_test(tc, b64_decode_nul_in_input);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tcase("mv_b64_encode_mime", b64_mime_lines,
	    b64_mime_empty, NULL));
	suite_add_tcase(s, tcase("mv_utf8_valid", utf8_valid_accepts,
	    utf8_valid_refuses, NULL));
	suite_add_tcase(s, tcase("mv_utf8_seqlen", utf8_seqlen_lengths,
	    utf8_seqlen_bad, NULL));
	suite_add_tcase(s, tcase("mv_utf8_sanitize", utf8_sanitize_repairs,
	    utf8_sanitize_keeps_valid, utf8_sanitize_huge));
	suite_add_tcase(s, tcase("mv_json_strn", json_strn_repairs,
	    json_str_null, NULL));
	suite_add_tcase(s, tcase("mv_buf_append", buf_append_cap,
	    buf_append_grows, NULL));
	suite_add_tcase(s, tcase("mv_buf_printf", buf_printf_growth, NULL,
	    NULL));
	suite_add_tcase(s, tcase("mv_buf_steal", buf_steal, NULL, NULL));
	tc = tcase("mv_read_file", read_file_ok, read_file_fails, NULL);
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tcase("mv_err_name", err_table_matches_contract,
	    err_table_out_of_range, NULL));
	suite_add_tcase(s, tcase("mv_err_set", err_set_formats,
	    err_clear_resets, NULL));
	suite_add_tcase(s, tcase("mv_envelope_success",
	    envelope_success_shapes, NULL, NULL));
	suite_add_tcase(s, tcase("mv_envelope_error", envelope_error_plain,
	    envelope_error_http_retry_after, NULL));
	suite_add_tcase(s, tcase("mv_iso8601", iso8601_format,
	    iso8601_format_fails, NULL));
	suite_add_tcase(s, tcase("mv_parse_iso8601", parse_iso8601_round_trip,
	    parse_iso8601_offsets, parse_iso8601_garbage));
	suite_add_tcase(s, tcase("mv_mono_ms", clocks, NULL, NULL));
	suite_add_tcase(s, tcase("mv_optname_eq", optname_eq, NULL, NULL));
	suite_add_tcase(s, tcase("mv_fmt_double", fmt_double_shortest, NULL,
	    NULL));
	suite_add_tcase(s, tcase("mv_json_dumps", json_dumps_shortest, NULL,
	    NULL));
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(shared_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
