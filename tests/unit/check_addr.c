/* Unit tests for common/addr.c (address and msg-id lists). */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"

#define BIG	(10 * 1024 * 1024)

/* Compares got (taken) with the JSON text want. */
static void
expect_json(int line, json_t *got, const char *want)
{
	json_error_t e;
	json_t *w = json_loads(want, JSON_DECODE_ANY, &e);
	char *dump;

	ck_assert_msg(w != NULL, "line %d: bad expectation: %s", line, e.text);
	ck_assert_msg(got != NULL, "line %d: NULL", line);
	if (!json_equal(got, w)) {
		dump = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		ck_abort_msg("line %d: got %s", line, dump);
	}
	json_decref(w);
	json_decref(got);
}

/* Compares addr_parse_list(value) with the (name, email) pairs that
 * follow, ended by NULL. */
static void
expect_list(int line, const char *value, ...)
{
	json_t *l = addr_parse_list(value), *o;
	const char *name, *email, *gn, *ge;
	size_t i = 0;
	va_list ap;

	ck_assert_msg(l != NULL, "line %d: NULL", line);
	va_start(ap, value);
	while ((name = va_arg(ap, const char *)) != NULL) {
		email = va_arg(ap, const char *);
		o = json_array_get(l, i++);
		ck_assert_msg(o != NULL, "line %d: only %zu", line, i - 1);
		gn = json_string_value(json_object_get(o, "name"));
		ge = json_string_value(json_object_get(o, "email"));
		ck_assert_msg(gn != NULL && strcmp(gn, name) == 0,
		    "line %d: name %zu: \"%s\"", line, i - 1, gn);
		ck_assert_msg(ge != NULL && strcmp(ge, email) == 0,
		    "line %d: email %zu: \"%s\"", line, i - 1, ge);
	}
	va_end(ap);
	ck_assert_msg(json_array_size(l) == i, "line %d: %zu addresses",
	    line, json_array_size(l));
	json_decref(l);
}

#define LIST(v, ...)	expect_list(__LINE__, v, __VA_ARGS__, (char *)NULL)
#define NONE(v)		expect_list(__LINE__, v, (char *)NULL)
#define ONE(v, want)	expect_json(__LINE__, addr_parse_one(v), want)
#define IDS(v, want)	expect_json(__LINE__, addr_parse_msgids(v), want)

START_TEST(list_basic)
{
	LIST("Alice Example <alice@example.com>",
	    "Alice Example", "alice@example.com");
	LIST("bob@example.com", "", "bob@example.com");
	LIST("  Bob <Bob@Example.COM>  ", "Bob", "Bob@Example.COM");
	LIST("Name <a@b>, \"Last, First\" <c@d>",
	    "Name", "a@b", "Last, First", "c@d");
	LIST("\"Bob \\\"The Builder\\\"\" <b@x>", "Bob \"The Builder\"", "b@x");
	LIST("\"john doe\"@x.com", "", "\"john doe\"@x.com");
	LIST("user@[192.0.2.1]", "", "user@[192.0.2.1]");
	LIST("J\xc3\xbcrgen <j@x>", "J\xc3\xbcrgen", "j@x");
	LIST("Bob.Smith <b@x>", "Bob.Smith", "b@x");
}
END_TEST

START_TEST(list_groups)
{
	LIST("Team: a@x, b@y;", "", "a@x", "", "b@y");
	NONE("undisclosed-recipients:;");
	LIST("Team: A <a@x>;, c@z", "A", "a@x", "", "c@z");
	LIST("Team: a@x", "", "a@x");
}
END_TEST

START_TEST(list_comments)
{
	LIST("bob@x (Bob Smith)", "Bob Smith", "bob@x");
	LIST("Bob (comment) <b@x>", "Bob", "b@x");
	LIST("(c1 (nested)) Bob <b@x> (c2)", "Bob", "b@x");
	LIST("<b@x> (Bob)", "Bob", "b@x");
	LIST("b@x (=?utf-8?q?Bj=C3=B6rn?=)", "Bj\xc3\xb6rn", "b@x");
	LIST("b@x (a \\) b (c))", "a ) b (c)", "b@x");
	LIST("Bob(x)Smith <b@x>", "Bob Smith", "b@x");
	LIST("b(x)@(y)x", "x", "b@x");
	LIST("b@x (unterminated", "unterminated", "b@x");
}
END_TEST

START_TEST(list_encoded)
{
	LIST("=?utf-8?q?Bj=C3=B6rn_M=C3=BCller?= <b@x>",
	    "Bj\xc3\xb6rn M\xc3\xbcller", "b@x");
	/* a comma inside an encoded word does not split the list */
	LIST("=?utf-8?q?M=C3=BCller,_Bj=C3=B6rn?= <b@x>, c@y",
	    "M\xc3\xbcller, Bj\xc3\xb6rn", "b@x", "", "c@y");
	LIST("\"=?UTF-8?B?R3LDvMOfZQ==?=\" <g@x>",
	    "Gr\xc3\xbc\xc3\x9f" "e", "g@x");
	LIST("=?utf-8?q?A?= =?utf-8?q?B?= <ab@x>", "AB", "ab@x");
	LIST("Caf\xe9 <c@x>", "Caf\xc3\xa9", "c@x");
}
END_TEST

START_TEST(list_obsolete)
{
	LIST("<@relay.example:user@x>", "", "user@x");
	LIST("Bob <@a,@b:user@x>", "Bob", "user@x");
	LIST("john . doe @ example . com", "", "john.doe@example.com");
	LIST("Bob <bob@x", "Bob", "bob@x");
	LIST("Bob <bob@x, Carol <c@y>", "Bob", "bob@x", "Carol", "c@y");
	LIST(",, a@x ,, b@y ,", "", "a@x", "", "b@y");
	LIST("a@x b@y", "", "a@x", "", "b@y");
	LIST("<a@x> <b@y>", "", "a@x", "", "b@y");
	LIST("John Smith john@x.com", "John Smith", "john@x.com");
}
END_TEST

START_TEST(list_garbage)
{
	LIST("not an address", "not an address", "");
	NONE("");
	NONE("   ");
	NONE(NULL);
	NONE("<>");
	NONE(",;:<>@");
	LIST("\"unterminated <a@b>", "unterminated <a@b>", "");
	LIST("a\x01" "b <c@d>", "a\xef\xbf\xbd" "b", "c@d");
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

START_TEST(list_hostile)
{
	size_t n = 100000;
	char *in;
	json_t *l;

	/* deep nesting is counted, not recursed */
	in = malloc(2 * n + 8);
	ck_assert_ptr_nonnull(in);
	memset(in, '(', n);
	memset(in + n, ')', n);
	strcpy(in + 2 * n, " b@x");
	l = addr_parse_list(in);
	ck_assert_uint_eq(json_array_size(l), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l,
	    0), "email")), "b@x");
	json_decref(l);
	in[2 * n] = '\0';
	memset(in + n, 'x', n);
	l = addr_parse_list(in);
	ck_assert_uint_eq(json_array_size(l), 1);
	json_decref(l);
	free(in);
	in = repeat("=?a?q?x", BIG);
	l = addr_parse_list(in);
	ck_assert_uint_eq(json_array_size(l), 1);
	json_decref(l);
	free(in);
	in = repeat("<", BIG);
	l = addr_parse_list(in);
	ck_assert_uint_eq(json_array_size(l), 0);
	json_decref(l);
	free(in);
}
END_TEST

START_TEST(list_huge)
{
	char *in = repeat("a@x, ", BIG / 8);
	json_t *l = addr_parse_list(in);

	ck_assert_uint_eq(json_array_size(l), BIG / 8 / 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(l,
	    BIG / 8 / 5 - 1), "email")), "a@x");
	json_decref(l);
	free(in);
}
END_TEST

START_TEST(one_first)
{
	ONE("Alice <a@x>, Bob <b@y>", "{\"name\":\"Alice\",\"email\":\"a@x\"}");
	ONE("garbage, b@y", "{\"name\":\"\",\"email\":\"b@y\"}");
}
END_TEST

START_TEST(one_none)
{
	ONE("", "{\"name\":\"\",\"email\":\"\"}");
	ONE(NULL, "{\"name\":\"\",\"email\":\"\"}");
	ONE("undisclosed-recipients:;", "{\"name\":\"\",\"email\":\"\"}");
	ONE("garbage", "{\"name\":\"garbage\",\"email\":\"\"}");
}
END_TEST

START_TEST(msgids_ok)
{
	IDS("<a@b> <c@d>", "[\"<a@b>\",\"<c@d>\"]");
	IDS("<a@b>junk<c@d>", "[\"<a@b>\",\"<c@d>\"]");
	IDS("<a@b>,\r\n <c@d>", "[\"<a@b>\",\"<c@d>\"]");
	IDS("<a\r\n @b>", "[\"<a@b>\"]");
	IDS("<x <a@b>", "[\"<a@b>\"]");
	IDS("(comment <x@y>) <a@b>", "[\"<a@b>\"]");
	IDS("Message from \"bob@x\" of Mon <a@b>", "[\"<a@b>\"]");
	IDS("a@b c@d", "[\"<a@b>\",\"<c@d>\"]");
	IDS("<CAF=x+y@mail.gmail.com>", "[\"<CAF=x+y@mail.gmail.com>\"]");
}
END_TEST

START_TEST(msgids_junk)
{
	char *in;
	json_t *l;

	IDS("", "[]");
	IDS(NULL, "[]");
	IDS("junk", "[]");
	IDS("<>", "[]");
	IDS("<a@b", "[]");
	IDS("<a@b> <c@d", "[\"<a@b>\"]");
	IDS("(unterminated <a@b>", "[]");
	in = repeat("<", BIG);
	l = addr_parse_msgids(in);
	ck_assert_uint_eq(json_array_size(l), 0);
	json_decref(l);
	free(in);
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;

	tc = tcase_create("addr_parse_list");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, list_basic);
	tcase_add_test(tc, list_groups);
	tcase_add_test(tc, list_comments);
	tcase_add_test(tc, list_encoded);
	tcase_add_test(tc, list_obsolete);
	tcase_add_test(tc, list_garbage);
	tcase_add_test(tc, list_hostile);
	tcase_add_test(tc, list_huge);
	suite_add_tcase(s, tc);
	tc = tcase_create("addr_parse_one");
	tcase_add_test(tc, one_first);
	tcase_add_test(tc, one_none);
	suite_add_tcase(s, tc);
	tc = tcase_create("addr_parse_msgids");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, msgids_ok);
	tcase_add_test(tc, msgids_junk);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
