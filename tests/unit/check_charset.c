/* Unit tests for common/charset.c (charsets to UTF-8). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "shared/utf8.h"
#include "common/charset.h"

#define FFFD	"\xef\xbf\xbd"

/* Converts in (len bytes) from cs, with the keep-if-UTF-8 rule or
 * strictly, and compares with want (a C string). */
static void
expect(int line, int strict, const char *in, size_t len, const char *cs,
    const char *want)
{
	size_t n = (size_t)-1;
	char *s;

	s = strict ? charset_convert(in, len, cs, &n) :
	    charset_text_to_utf8(in, len, cs, &n);
	ck_assert_msg(s != NULL, "line %d: NULL", line);
	ck_assert_msg(n == strlen(s), "line %d: outlen %zu", line, n);
	ck_assert_msg(strcmp(s, want) == 0, "line %d: got \"%s\"", line, s);
	ck_assert_msg(mv_utf8_valid(s, n), "line %d: not UTF-8", line);
	free(s);
}

#define TEXT(in, cs, want) expect(__LINE__, 0, in, sizeof(in) - 1, cs, want)
#define CONV(in, cs, want) expect(__LINE__, 1, in, sizeof(in) - 1, cs, want)

START_TEST(text_single_byte)
{
	TEXT("Gr\xfc\xdf" "e caf\xe9", "iso-8859-1",
	    "Gr\xc3\xbc\xc3\x9f" "e caf\xc3\xa9");
	TEXT("Gr\xfc\xdf" "e", "latin1", "Gr\xc3\xbc\xc3\x9f" "e");
	/* ISO-8859-1 is read as windows-1252 (WHATWG) */
	TEXT("\x80 \x93q\x94 \x96", "ISO-8859-1",
	    "\xe2\x82\xac \xe2\x80\x9cq\xe2\x80\x9d \xe2\x80\x93");
	TEXT("\x80 \x93quoted\x94 \x96 dash", "windows-1252",
	    "\xe2\x82\xac \xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x80\x93 dash");
	/* unassigned windows-1252 bytes give their C1 control */
	TEXT("\x81\x8d", "windows-1252", "\xc2\x81\xc2\x8d");
	TEXT("\xf0\xd2\xc9\xd7\xc5\xd4", "koi8-r",
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	TEXT("\xa3\xf3" "d\xbc", "ISO-8859-2", "\xc5\x81\xc3\xb3" "d\xc5\xba");
	/* 8-bit bytes in "ascii" mail are windows-1252 */
	TEXT("caf\xe9", "us-ascii", "caf\xc3\xa9");
}
END_TEST

START_TEST(text_multi_byte)
{
	TEXT("\xb0\xa2\xc0\xef\xd4\xc6", "gbk",
	    "\xe9\x98\xbf\xe9\x87\x8c\xe4\xba\x91");
	TEXT("\xd6\xd0\xce\xc4", "gb2312", "\xe4\xb8\xad\xe6\x96\x87");
	TEXT("\x93\xfa\x96{\x8c\xea\x83" "e\x83L\x83X\x83g", "Shift_JIS",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad"
	    "\xe3\x82\xb9\xe3\x83\x88");
	/* 0x5c stays a backslash; NEC row 13 (circled one) decodes */
	TEXT("C:\\\x87\x40", "x-sjis", "C:\\\xe2\x91\xa0");
	TEXT("\xbe\xc8\xb3\xe7\xc7\xcf\xbc\xbc\xbf\xe4", "euc-kr",
	    "\xec\x95\x88\xeb\x85\x95\xed\x95\x98\xec\x84\xb8\xec\x9a\x94");
	TEXT("\xbe\xc8\xb3\xe7", "ks_c_5601-1987",
	    "\xec\x95\x88\xeb\x85\x95");
	TEXT("\xa4\xa4\xa4\xe5", "big5", "\xe4\xb8\xad\xe6\x96\x87");
}
END_TEST

START_TEST(text_stateful)
{
	/* real ISO-2022-JP bytes are converted although they are ASCII */
	TEXT("\x1b$B?eLnMM\x1b(B", "iso-2022-jp",
	    "\xe6\xb0\xb4\xe9\x87\x8e\xe6\xa7\x98");
	/* already UTF-8 with the label kept: left alone */
	TEXT("\xe6\xb0\xb4\xe9\x87\x8e\xe6\xa7\x98", "ISO-2022-JP",
	    "\xe6\xb0\xb4\xe9\x87\x8e\xe6\xa7\x98");
	/* plain ASCII without escapes is the same either way */
	TEXT("Dear Mizuno", "iso-2022-jp", "Dear Mizuno");
	TEXT("Hi Mom -+Jjo--!", "utf-7", "Hi Mom -\xe2\x98\xba-!");
	TEXT("Hi Mom -+Jjo--!", "unicode-1-1-utf-7",
	    "Hi Mom -\xe2\x98\xba-!");
	/* UTF-7 label on text Gmail already converted: kept */
	TEXT("caf\xc3\xa9 1+1", "utf-7", "caf\xc3\xa9 1+1");
	TEXT("a~{VPND~}b~~c", "hz-gb-2312", "a\xe4\xb8\xad\xe6\x96\x87" "b~c");
	/* malformed HZ pair: U+FFFD, the rest decodes */
	TEXT("~{V\n~{VP~}", "HZ-GB-2312", FFFD "\n\xe4\xb8\xad");
}
END_TEST

START_TEST(text_wide)
{
	TEXT("\xff\xfeH\x00\xe9\x00\xac\x20", "utf-16le",
	    "H\xc3\xa9\xe2\x82\xac");
	TEXT("\xfe\xff\x00H\x00\xe9", "UTF-16", "H\xc3\xa9");
	/* the byte order mark wins over the declared order */
	TEXT("\xfe\xff\x00H\x00\xe9", "UTF-16LE", "H\xc3\xa9");
	TEXT("H\x00i\x00", "utf-16le", "Hi");
	TEXT("\xff\xfe\x00\x00H\x00\x00\x00", "utf-32", "H");
	/* a lone surrogate skips one code unit; an odd byte at the end */
	TEXT("\x00\xd8" "a\x00" "b", "UTF-16LE", FFFD "a" FFFD);
	/* UTF-8 (no NUL, no mark) under a UTF-16 label: kept */
	TEXT("caf\xc3\xa9", "utf-16", "caf\xc3\xa9");
}
END_TEST

START_TEST(text_invalid)
{
	TEXT("a\xff" "b\xc3" "c\xe2\x82", "utf-8",
	    "a" FFFD "b" FFFD "c" FFFD FFFD);
	TEXT("ok \xed\xa0\x80!", "UTF-8", "ok " FFFD FFFD FFFD "!");
	/* invalid UTF-8 under a UTF-8 label is never read as Latin-1 */
	TEXT("\xe9t\xe9", "utf8", FFFD "t" FFFD);
	/* valid UTF-8 under a Latin-1 label is kept */
	TEXT("caf\xc3\xa9", "iso-8859-1", "caf\xc3\xa9");
	/* truncated multi-byte sequence at the end */
	TEXT("\xb0\xa2\xc0", "gbk", "\xe9\x98\xbf" FFFD);
	TEXT("\x93\xfa\x93", "shift_jis", "\xe6\x97\xa5" FFFD);
	TEXT("\x1b$B?eL", "iso-2022-jp", "\xe6\xb0\xb4" FFFD);
	/* an invalid byte inside: U+FFFD, and the next byte is read anew */
	TEXT("\xbe\xc8\xff\xb3\xe7", "euc-kr",
	    "\xec\x95\x88" FFFD "\xeb\x85\x95");
	TEXT("\x81 A", "gbk", FFFD " A");
}
END_TEST

/* Occurrences of U+FFFD in s. */
static int
count_fffd(const char *s)
{
	int n = 0;

	while ((s = strstr(s, FFFD)) != NULL) {
		n++;
		s += 3;
	}
	return n;
}

/* Converts in (a C string) from cs; checks that the result is UTF-8, has
 * at most max U+FFFD and ends with tail. */
static void
expect_recovers(int line, const char *in, const char *cs, int max,
    const char *tail)
{
	size_t n;
	char *s;

	s = charset_text_to_utf8(in, strlen(in), cs, &n);
	ck_assert_msg(s != NULL && mv_utf8_valid(s, n), "line %d", line);
	ck_assert_msg(count_fffd(s) <= max, "line %d: %d U+FFFD in \"%s\"",
	    line, count_fffd(s), s);
	ck_assert_msg(n >= strlen(tail) && strcmp(s + n - strlen(tail),
	    tail) == 0, "line %d: got \"%s\"", line, s);
	free(s);
}

START_TEST(text_stateful_invalid)
{
	char big[4096];
	size_t i;

	/* A stray '+' in UTF-7 spoils a character, not the rest. */
	expect_recovers(__LINE__, "Price: 5+3 = 8, caf+AOk- +Jjo- end",
	    "utf-7", 1, "= 8, caf\xc3\xa9 \xe2\x98\xba end");
	expect_recovers(__LINE__, "1+1=2 and 2+2=4, ok", "utf-7", 2,
	    "2 and 2" FFFD "4, ok");
	strcpy(big, "a+b\n");
	for (i = strlen(big); i < sizeof(big) - 8; i++)
		big[i] = "line of text\n"[i % 13];
	strcpy(big + i, "+AOk-");
	expect_recovers(__LINE__, big, "utf-7", 1, "\xc3\xa9");
	/* A bad byte inside an ISO-2022-JP kanji run: the run goes on. */
	expect_recovers(__LINE__, "\x1b$B?e\xffLnMM\x1b(B tail", "iso-2022-jp",
	    1, "\xe9\x87\x8e\xe6\xa7\x98 tail");
	/* A broken pair, then a new run and ASCII. */
	expect_recovers(__LINE__, "\x1b$B\x80L\x1b(B ok \x1b$BMM\x1b(B end",
	    "iso-2022-jp", 1, " ok \xe6\xa7\x98 end");
}
END_TEST

START_TEST(text_nul)
{
	TEXT("a\0b", "utf-8", "a" FFFD "b");
	TEXT("a\0b", NULL, "a" FFFD "b");
	TEXT("\xe9\0", "latin1", "\xc3\xa9" FFFD);
	TEXT("\xb0\xa2\0", "gbk", "\xe9\x98\xbf" FFFD);
	TEXT("a\x00\x00\x00", "utf-16le", "a" FFFD);
}
END_TEST

START_TEST(text_fallback)
{
	/* unknown or missing charset: windows-1252 when not UTF-8 */
	TEXT("\x80 caf\xe9", "x-no-such-charset", "\xe2\x82\xac caf\xc3\xa9");
	TEXT("\x80", NULL, "\xe2\x82\xac");
	TEXT("\x80", "", "\xe2\x82\xac");
	TEXT("\x80", "utf-8//IGNORE", "\xe2\x82\xac");
	TEXT("caf\xc3\xa9", NULL, "caf\xc3\xa9");
	TEXT("caf\xc3\xa9", "x-no-such-charset", "caf\xc3\xa9");
	/* names are trimmed, unquoted and case-insensitive */
	TEXT("\xf0\xd2", " \"KOI8-R\" ", "\xd0\x9f\xd1\x80");
	TEXT("", "gbk", "");
}
END_TEST

START_TEST(text_null_and_large)
{
	size_t n = 1, i, big = 1 << 20;
	char *in, *s;

	s = charset_text_to_utf8(NULL, 5, "utf-8", &n);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(n, 0);
	free(s);
	s = charset_text_to_utf8("x", 1, "utf-8", NULL);
	ck_assert_str_eq(s, "x");
	free(s);
	in = malloc(big);
	ck_assert_ptr_nonnull(in);
	for (i = 0; i < big; i++)
		in[i] = (i % 64 == 63) ? '\xe9' : 'a';
	s = charset_text_to_utf8(in, big, "iso-8859-1", &n);
	ck_assert_uint_eq(n, big + big / 64);
	ck_assert_mem_eq(s + 62, "a\xc3\xa9" "a", 4);
	free(s);
	for (i = 0; i < big; i++)
		in[i] = (i % 2) ? '\xe1' : 'a';
	s = charset_text_to_utf8(in, big, "iso-8859-7", &n);
	ck_assert_uint_eq(n, big + big / 2);
	ck_assert_mem_eq(s, "a\xce\xb1" "a", 4);
	free(s);
	free(in);
}
END_TEST

START_TEST(convert_strict)
{
	/* no keep-if-UTF-8 rule: the bytes are in their charset */
	CONV("caf\xc3\xa9", "iso-8859-1", "caf\xc3\x83\xc2\xa9");
	CONV("caf\xc3\xa9", "utf-8", "caf\xc3\xa9");
	CONV("\xe9", "utf-8", FFFD);
	CONV("\xbe\xc8", "ks_c_5601-1987", "\xec\x95\x88");
	CONV("\x93\xfa", "x-sjis", "\xe6\x97\xa5");
	CONV("\xd6\xd0", "GB2312", "\xe4\xb8\xad");
	CONV("\xf9\xec", "iso-8859-8-i", "\xd7\xa9\xd7\x9c");
	CONV("\xc3\xa9", "utf8", "\xc3\xa9");
	CONV("\x8e", "x-mac-roman", "\xc3\xa9");
	CONV("\x8e", "macintosh", "\xc3\xa9");
	CONV("+AOk-", "unicode-1-1-utf-7", "\xc3\xa9");
	CONV("\xe9\x80", "ascii", "\xc3\xa9\xe2\x82\xac");
	CONV("\x80", "no-such", "\xe2\x82\xac");
	CONV("x\0y", "iso-8859-1", "x" FFFD "y");
}
END_TEST

START_TEST(convert_null)
{
	size_t n = 9;
	char *s;

	s = charset_convert(NULL, 3, "gbk", &n);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(n, 0);
	free(s);
	s = charset_convert("\xb0", 1, "gbk", NULL);
	ck_assert_str_eq(s, FFFD);
	free(s);
}
END_TEST

START_TEST(known_names)
{
	ck_assert_int_eq(charset_known("utf-8"), 1);
	ck_assert_int_eq(charset_known("UTF8"), 1);
	ck_assert_int_eq(charset_known("ks_c_5601-1987"), 1);
	ck_assert_int_eq(charset_known("iso-8859-8-i"), 1);
	ck_assert_int_eq(charset_known("hz-gb-2312"), 1);
	ck_assert_int_eq(charset_known("ascii"), 1);
	ck_assert_int_eq(charset_known("windows-1251"), 1);
	ck_assert_int_eq(charset_known(" \"koi8-r\" "), 1);
}
END_TEST

START_TEST(known_unknown)
{
	char longname[200];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(charset_known(NULL), 0);
	ck_assert_int_eq(charset_known(""), 0);
	ck_assert_int_eq(charset_known("  "), 0);
	ck_assert_int_eq(charset_known("x-no-such-charset"), 0);
	ck_assert_int_eq(charset_known("utf-8//IGNORE"), 0);
	ck_assert_int_eq(charset_known("utf-8\n"), 1);
	ck_assert_int_eq(charset_known("utf\x01-8"), 0);
	ck_assert_int_eq(charset_known(longname), 0);
}
END_TEST

static Suite *
charset_suite(void)
{
	Suite *s = suite_create("charset");
	TCase *tc;

	tc = tcase_create("charset_text_to_utf8");
	tcase_add_test(tc, text_single_byte);
	tcase_add_test(tc, text_multi_byte);
	tcase_add_test(tc, text_stateful);
	tcase_add_test(tc, text_stateful_invalid);
	tcase_add_test(tc, text_wide);
	tcase_add_test(tc, text_invalid);
	tcase_add_test(tc, text_nul);
	tcase_add_test(tc, text_fallback);
	tcase_add_test(tc, text_null_and_large);
	suite_add_tcase(s, tc);
	tc = tcase_create("charset_convert");
	tcase_add_test(tc, convert_strict);
	tcase_add_test(tc, convert_null);
	suite_add_tcase(s, tc);
	tc = tcase_create("charset_known");
	tcase_add_test(tc, known_names);
	tcase_add_test(tc, known_unknown);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(charset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
