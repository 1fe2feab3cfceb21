/* Unit tests for common/rfc2047.c (encoded words, parameters). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "shared/buf.h"
#include "shared/utf8.h"
#include "common/rfc2047.h"

#define FFFD	"\xef\xbf\xbd"
#define BIG	(10 * 1024 * 1024)

static void
expect_dec(int line, const char *in, size_t len, const char *want)
{
	char *s = rfc2047_decode(in, len);

	ck_assert_msg(s != NULL, "line %d: NULL", line);
	ck_assert_msg(strcmp(s, want) == 0, "line %d: got \"%s\"", line, s);
	ck_assert_msg(mv_utf8_valid(s, strlen(s)), "line %d: bad UTF-8", line);
	free(s);
}

static void
expect_param(int line, const char *value, const char *name,
    const char *want)
{
	char *s = mime_param(value, name);

	if (want == NULL) {
		ck_assert_msg(s == NULL, "line %d: got \"%s\"", line, s);
		return;
	}
	ck_assert_msg(s != NULL, "line %d: NULL", line);
	ck_assert_msg(strcmp(s, want) == 0, "line %d: got \"%s\"", line, s);
	ck_assert_msg(mv_utf8_valid(s, strlen(s)), "line %d: bad UTF-8", line);
	free(s);
}

#define DEC(in, want)	expect_dec(__LINE__, in, sizeof(in) - 1, want)
#define PARAM(v, n, w)	expect_param(__LINE__, v, n, w)

START_TEST(decode_words)
{
	DEC("=?UTF-8?B?R3LDvMOfZQ==?=", "Gr\xc3\xbc\xc3\x9f" "e");
	DEC("=?utf-8?b?R3LDvMOfZQ?=", "Gr\xc3\xbc\xc3\x9f" "e");
	DEC("=?iso-8859-1?q?caf=E9_cr=e8me?=", "caf\xc3\xa9 cr\xc3\xa8me");
	DEC("=?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=", "\xe6\x97\xa5\xe6\x9c\xac");
	DEC("=?UTF-8*en?Q?Hello?=", "Hello");
	DEC("=?utf-8?q?\?=", "");
	/* glued to text, inside quoted strings */
	DEC("Re:=?utf-8?q?caf=C3=A9?=!", "Re:caf\xc3\xa9!");
	DEC("\"=?utf-8?q?Bob?=\" <b@x>", "\"Bob\" <b@x>");
	/* unknown charset: UTF-8 when valid, else windows-1252 */
	DEC("=?x-unknown?q?caf=C3=A9?=", "caf\xc3\xa9");
	DEC("=?x-unknown?q?caf=E9?=", "caf\xc3\xa9");
	/* Q keeps a stray '=' */
	DEC("=?utf-8?q?a=3=ZZ?=", "a=3=ZZ");
}
END_TEST

START_TEST(decode_adjacent)
{
	/* a character split across two words (bytes joined first) */
	DEC("=?utf-8?B?4oI=?= =?utf-8?B?rHVybw==?=", "\xe2\x82\xacuro");
	DEC("=?utf-8?Q?=E2=82?=\r\n =?UTF-8?Q?=AC?=", "\xe2\x82\xac");
	/* mixed charsets: whitespace dropped, each converted alone */
	DEC("=?iso-8859-1?q?caf=E9?= =?koi8-r?b?8NLJ1w==?=",
	    "caf\xc3\xa9\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2");
	/* text between words is kept */
	DEC("=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c");
	DEC("x =?utf-8?q?a?=  =?utf-8?q?b?= y", "x ab y");
}
END_TEST

START_TEST(decode_malformed)
{
	DEC("=?utf-8?b?!!!?=", "=?utf-8?b?!!!?=");
	DEC("=?utf-8?b?Q?= x", "=?utf-8?b?Q?= x");
	DEC("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
	DEC("=?utf-8?q?abc", "=?utf-8?q?abc");
	DEC("=?\?q?a?=", "=?\?q?a?=");
	DEC("=?utf 8?q?a?=", "=?utf 8?q?a?=");
	DEC("=?utf-8?q?a\r\nb?=", "=?utf-8?q?a b?=");
	DEC("=?", "=?");
	DEC("=?utf-8?q?a?= =?utf-8?x?b?= =?utf-8?q?c?=",
	    "a =?utf-8?x?b?= c");
	/* a bad word before a good one */
	DEC("=?=?utf-8?q?ok?=", "=?ok");
}
END_TEST

START_TEST(decode_sanitize)
{
	DEC("Caf\xe9 =?utf-8?q?ol=C3=A9?=", "Caf\xc3\xa9 ol\xc3\xa9");
	DEC("Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x93 ok", "Gr\xc3\xbc\xc3\x9f"
	    "e \xe2\x80\x93 ok");
	DEC("=?utf-8?q?a=00b=01c=09d=0D=0Ae?=", "a" FFFD "b" FFFD "c\td e");
	DEC("a\0b", "a" FFFD "b");
	DEC("a\r\n b", "a b");
	DEC("a\r\nb\nc\rd", "a b c d");
	DEC("=?utf-8?q?=FF?=x", FFFD "x");
	DEC("=?utf-8?b?/w==?=", FFFD);
	DEC("", "");
}
END_TEST

START_TEST(decode_null)
{
	char *s = rfc2047_decode(NULL, 10);

	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

/* Fills a buffer with n bytes repeating pat. */
static char *
repeat(const char *pat, size_t n)
{
	size_t pl = strlen(pat), i;
	char *b = malloc(n + 1);

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < n; i++)
		b[i] = pat[i % pl];
	b[n] = '\0';
	return b;
}

START_TEST(decode_huge)
{
	static const char word[] = "=?utf-8?q?caf=C3=A9?= ";
	size_t n = BIG / (sizeof(word) - 1) * (sizeof(word) - 1), count;
	char *in, *s;

	count = n / (sizeof(word) - 1);
	in = repeat(word, n);
	s = rfc2047_decode(in, n);
	ck_assert_uint_eq(strlen(s), count * 5 + 1);
	ck_assert_mem_eq(s, "caf\xc3\xa9" "caf\xc3\xa9", 10);
	free(s);
	free(in);
	/* no closing "?=" anywhere: every "=?" starts a failed word */
	in = repeat("=?a?q?x", BIG);
	s = rfc2047_decode(in, BIG);
	ck_assert_uint_eq(strlen(s), BIG);
	ck_assert_mem_eq(s, in, BIG);
	free(s);
	free(in);
	in = repeat("=?", BIG);
	s = rfc2047_decode(in, BIG);
	ck_assert_mem_eq(s, in, BIG);
	free(s);
	free(in);
	in = repeat("=?utf-8?q?a?= =?iso-8859-1?q?=E9?= ", BIG);
	s = rfc2047_decode(in, BIG);
	ck_assert_mem_eq(s, "a\xc3\xa9" "a\xc3\xa9", 6);
	free(s);
	free(in);
}
END_TEST

START_TEST(param_basic)
{
	PARAM("attachment; filename=\"a b.pdf\"", "filename", "a b.pdf");
	PARAM("text/plain; charset=UTF-8", "CHARSET", "UTF-8");
	PARAM("text/plain; Charset = utf-8 ; format=flowed", "charset",
	    "utf-8");
	PARAM("attachment; filename=\"a;b.pdf\"; size=3", "filename",
	    "a;b.pdf");
	PARAM("attachment; filename=\"a;b.pdf\"; size=3", "size", "3");
	PARAM("attachment; filename=\"a\\\"b\\\\c\"", "filename",
	    "a\"b\\c");
	PARAM("attachment; filename=my file.pdf", "filename", "my file.pdf");
	PARAM("charset=utf-8", "charset", "utf-8");
	PARAM("text/plain; charset=a; charset=b", "charset", "a");
	PARAM("x; filenamex=1; filename=2", "filename", "2");
	PARAM("attachment; filename=\"abc", "filename", "abc");
	PARAM("attachment; filename=\"caf\xe9.txt\"", "filename",
	    "caf\xc3\xa9.txt");
	PARAM("attachment; filename=\"=?UTF-8?B?R3LDvMOfZQ==?=.pdf\"",
	    "filename", "Gr\xc3\xbc\xc3\x9f" "e.pdf");
	PARAM("attachment; filename==?utf-8?q?caf=C3=A9?=", "filename",
	    "caf\xc3\xa9");
	PARAM("x; name=\"\"", "name", "");
}
END_TEST

START_TEST(param_absent)
{
	PARAM("attachment", "filename", NULL);
	PARAM("attachment; filename; x=1", "filename", NULL);
	PARAM("attachment; name=x", "filename", NULL);
	PARAM("attachment; file=x", "filename", NULL);
	PARAM("attachment; filename*x=1", "filename", NULL);
	PARAM("", "filename", NULL);
	PARAM(NULL, "filename", NULL);
	PARAM("a; b=c", NULL, NULL);
	PARAM("a; b=c", "", NULL);
	PARAM(";;;;=;=", "x", NULL);
}
END_TEST

START_TEST(param_rfc2231)
{
	PARAM("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", "filename",
	    "r\xc3\xa9sum\xc3\xa9.pdf");
	PARAM("attachment; filename*=iso-8859-1'fr'caf%E9.txt", "filename",
	    "caf\xc3\xa9.txt");
	PARAM("attachment; filename*=\"UTF-8''a%20b\"", "filename", "a b");
	PARAM("x; filename*=%41%42", "filename", "AB");
	PARAM("x; filename*=UTF-8''100%", "filename", "100%");
	PARAM("x; filename*=UTF-8''a%00b%0Ac", "filename",
	    "a" FFFD "b c");
	PARAM("x; filename*=UTF-8''%FF", "filename", FFFD);
	/* the extended form wins over the plain one */
	PARAM("x; filename=\"old.pdf\"; filename*=UTF-8''new.pdf",
	    "filename", "new.pdf");
}
END_TEST

START_TEST(param_continuations)
{
	PARAM("message/external-body; access-type=URL;"
	    " title*0*=us-ascii'en'This%20is%20;"
	    " title*1*=%2A%2A%2Afun%2A%2A%2A;"
	    " title*2=\" isn't it!\"", "title", "This is ***fun*** isn't it!");
	PARAM("x; name*1=\"world\"; name*0=\"hello \"", "name",
	    "hello world");
	PARAM("x; name*0=a; name*2=c", "name", "ac");
	PARAM("x; name*1=b; name*2=c", "name", "bc");
	PARAM("x; name*0=a; name*0=z; name*1=b", "name", "ab");
	PARAM("x; filename*0*=UTF-8''%E2%82; filename*1*=%AC.txt",
	    "filename", "\xe2\x82\xac.txt");
	PARAM("x; name*0*=abc%20d", "name", "abc d");
	PARAM("x; name*0=\"=?utf-8?q?caf?=\"; name*1=\"=?utf-8?q?=C3=A9?=\"",
	    "name", "caf\xc3\xa9");
	/* an index too large is ignored */
	PARAM("x; name*99999=x; name=y", "name", "y");
	PARAM("x; name*01=b; name*00=a", "name", "ab");
}
END_TEST

START_TEST(param_many)
{
	struct mv_buf b;
	char *s;
	int i;

	mv_buf_init(&b, 0);
	ck_assert_int_eq(mv_buf_puts(&b, "x"), 0);
	for (i = 4999; i >= 0; i--)
		ck_assert_int_eq(mv_buf_printf(&b, "; n*%d=%c", i,
		    'a' + i % 26), 0);
	s = mime_param(b.data, "n");
	ck_assert_uint_eq(strlen(s), 5000);
	ck_assert_mem_eq(s, "abcdefghijklmnopqrstuvwxyza", 27);
	free(s);
	mv_buf_free(&b);
}
END_TEST

START_TEST(media_type_ok)
{
	char *s;

	s = mime_media_type("Text/HTML ; charset=x");
	ck_assert_str_eq(s, "text/html");
	free(s);
	s = mime_media_type("  multipart/MIXED;boundary=x");
	ck_assert_str_eq(s, "multipart/mixed");
	free(s);
	s = mime_media_type("application/vnd.ms-excel");
	ck_assert_str_eq(s, "application/vnd.ms-excel");
	free(s);
	s = mime_media_type("text / html");
	ck_assert_str_eq(s, "text/html");
	free(s);
	s = mime_media_type("image/png(comment)");
	ck_assert_str_eq(s, "image/png");
	free(s);
}
END_TEST

START_TEST(media_type_garbage)
{
	static const char *bad[] = { NULL, "", "garbage", "/html", "text/",
	    "text", "\x01\x02", "; charset=utf-8", "t\xc3\xa9xt/plain",
	    "\"text/html\"" };
	size_t i;
	char *s;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = mime_media_type(bad[i]);
		ck_assert_msg(strcmp(s, "text/plain") == 0, "case %zu: %s",
		    i, s);
		free(s);
	}
}
END_TEST

static Suite *
rfc2047_suite(void)
{
	Suite *s = suite_create("rfc2047");
	TCase *tc;

	tc = tcase_create("rfc2047_decode");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, decode_words);
	tcase_add_test(tc, decode_adjacent);
	tcase_add_test(tc, decode_malformed);
	tcase_add_test(tc, decode_sanitize);
	tcase_add_test(tc, decode_null);
	tcase_add_test(tc, decode_huge);
	suite_add_tcase(s, tc);
	tc = tcase_create("mime_param");
	tcase_add_test(tc, param_basic);
	tcase_add_test(tc, param_absent);
	tcase_add_test(tc, param_rfc2231);
	tcase_add_test(tc, param_continuations);
	tcase_add_test(tc, param_many);
	suite_add_tcase(s, tc);
	tc = tcase_create("mime_media_type");
	tcase_add_test(tc, media_type_ok);
	tcase_add_test(tc, media_type_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rfc2047_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
