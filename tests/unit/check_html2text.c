/* Unit tests for common/html2text.c: HTML to plain text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "shared/buf.h"
#include "shared/utf8.h"
#include "common/html2text.h"

/* Renders html[0..len) and compares with want (exact bytes, length
 * included); the output must be valid UTF-8 without NUL. */
static void
check_n(const char *html, size_t len, const char *want)
{
	size_t outlen = (size_t)-1;
	char *out = html_to_text(html, len, &outlen);

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(outlen, strlen(out));
	ck_assert_msg(mv_utf8_valid(out, outlen), "output is not UTF-8");
	ck_assert_str_eq(out, want);
	free(out);
}

static void
check(const char *html, const char *want)
{
	check_n(html, strlen(html), want);
}

/* len and wl of (size_t)-1 mean strlen. */
static void
check_unescape(const char *in, size_t len, const char *want, size_t wl)
{
	size_t outlen = (size_t)-1;
	char *out;

	if (len == (size_t)-1)
		len = strlen(in);
	if (wl == (size_t)-1)
		wl = strlen(want);
	out = html_unescape(in, len, &outlen);

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(outlen, wl);
	ck_assert(memcmp(out, want, wl) == 0);
	ck_assert_int_eq(out[wl], '\0');
	free(out);
}

/* html_to_text */

START_TEST(test_blocks)
{
	check("<p>Hello   <b>world</b>\n</p><p>Two</p>", "Hello world\n\nTwo");
	check("a<div>b</div>c", "a\nb\nc");
	check("<h1>Title</h1>body<h2>Sub</h2>", "Title\n\nbody\n\nSub");
	check("<blockquote>q</blockquote>after", "q\n\nafter");
	check("<DIV>Upper</DIV><P>Case</P>", "Upper\n\nCase");
	check("<section><article>x</article></section>y", "x\ny");
}
END_TEST

START_TEST(test_blank_lines)
{
	/* At most one blank line in a row, whatever asks for more. */
	check("<p>a</p><p></p><p></p><br><br><br><div></div>b", "a\n\nb");
	check("a<br>b<br><br>c<br><br><br><br>d", "a\nb\n\nc\n\nd");
	check("x<br/>y</br>z", "x\ny\nz");
	/* Leading and trailing breaks and spaces are trimmed. */
	check("<br><br><p>  \n\t text \r\n </p><br><br>", "text");
	check("   ", "");
	check("", "");
}
END_TEST

START_TEST(test_whitespace)
{
	check("a \t\r\n\f b", "a b");
	check("<span>a</span> <span>b</span>", "a b");
	check("<span>a</span><span>b</span>", "ab");
	check("a&nbsp;&nbsp; b\xc2\xa0\xc2\xa0" "c", "a b c");
	check("&nbsp;lead", "lead");
}
END_TEST

START_TEST(test_pre)
{
	check("x<pre>  a\n    b\tc\n\n\n\nd  \n</pre>y",
	    "x\n\n  a\n    b\tc\n\nd\n\ny");
	check("<pre>a\r\nb\rc</pre>", "a\nb\nc");
	/* Unbalanced </pre> does not break what follows. */
	check("</pre>a   b", "a b");
}
END_TEST

START_TEST(test_lists)
{
	check("<ul><li>one</li><li>two<ul><li>inner</li></ul></li>"
	    "<li>three</li></ul>after",
	    "- one\n- two\n  - inner\n- three\nafter");
	check("<ol><li><p>para item</p></li><li>next</li></ol>",
	    "- para item\n\n- next");
	check("<li></li><li>  x  </li>", "- x");
	check("text<li>item", "text\n- item");
}
END_TEST

START_TEST(test_tables)
{
	check("<table><tr><td>a</td><td>b</td></tr>"
	    "<tr><th>c</th><td></td><td>d</td></tr></table>",
	    "a | b\nc | d");
	check("<table><tr><td><div>block</div></td><td>x</td></tr></table>",
	    "block | x");
	check("<td>only</td>", "only");
	/* An empty first cell does not join a row to the one above. */
	check("<table><tr><td>a</td></tr><tr><td></td><td>b</td></tr></table>",
	    "a\nb");
	/* A nested table's cells, then the outer row goes on. */
	check("<table><tr><td>x<table><tr><td>y</td><td>z</td></tr></table>"
	    "</td><td>w</td></tr></table>", "x\ny | z | w");
}
END_TEST

START_TEST(test_hr)
{
	check("x<hr>y", "x\n----------\ny");
	check("<p>a</p><hr/><p>b</p>", "a\n\n----------\n\nb");
}
END_TEST

START_TEST(test_images)
{
	check("<img alt=\"  a   cat \">", "[a cat]");
	check("see <img src=x.png alt='Logo &amp; Co'> here",
	    "see [Logo & Co] here");
	check("<img alt=\"\"><img src=\"x\"><img alt>", "");
	check("<img alt=unquoted>", "[unquoted]");
}
END_TEST

START_TEST(test_links)
{
	check("<a href=\"https://x.example/a?b=1&amp;c=2\">click</a>",
	    "click <https://x.example/a?b=1&c=2>");
	check("<a href=\"https://x.example/\">x.example</a>", "x.example");
	check("<a href=\"http://x.example\">HTTP://X.EXAMPLE/</a>",
	    "HTTP://X.EXAMPLE/");
	check("<a href=\"mailto:bob@x.example\">bob@x.example</a>",
	    "bob@x.example");
	check("<a href=\"mailto:bob@x.example\">Bob</a>",
	    "Bob <mailto:bob@x.example>");
	check("<a href='https://y.example/p'><img alt=\"Buy\"></a>",
	    "[Buy] <https://y.example/p>");
	/* Tabs and line breaks in a URL are dropped, as browsers do. */
	check("<a href=\" https://y.example/\n\tp \">y</a>",
	    "y <https://y.example/p>");
	check("<A HREF=https://z.example>z</A>, next",
	    "z <https://z.example>, next");
}
END_TEST

START_TEST(test_links_not_shown)
{
	check("<a href=\"javascript:alert(1)\">js</a>", "js");
	check("<a href=\"/relative\">rel</a>", "rel");
	check("<a href=\"#top\">top</a>", "top");
	check("<a name=\"anchor\">named</a>", "named");
	check("<a href=\"cid:x\">cid</a>", "cid");
	check("</a>stray", "stray");
}
END_TEST

START_TEST(test_links_unclosed)
{
	check("<a href=http://e.example/x>text", "text <http://e.example/x>");
	/* A new link closes the open one. */
	check("<a href=\"https://a.example\">A<a href=\"https://b.example\">B",
	    "A <https://a.example>B <https://b.example>");
}
END_TEST

START_TEST(test_entities)
{
	check("&amp; &lt; &gt; &quot; &apos; &#65; &#x42; &#X43;",
	    "& < > \" ' A B C");
	check("&hellip;&mdash;&ndash;&lsquo;&rsquo;&ldquo;&rdquo;&bull;"
	    "&trade;&euro;&laquo;&raquo;&times;&middot;&copy;&reg;",
	    "\xe2\x80\xa6\xe2\x80\x94\xe2\x80\x93\xe2\x80\x98\xe2\x80\x99"
	    "\xe2\x80\x9c\xe2\x80\x9d\xe2\x80\xa2\xe2\x84\xa2\xe2\x82\xac"
	    "\xc2\xab\xc2\xbb\xc3\x97\xc2\xb7\xc2\xa9\xc2\xae");
	check("&eacute;&Uuml;&szlig;&#128512;&#x1F600;",
	    "\xc3\xa9\xc3\x9c\xc3\x9f\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
	/* &zwj; is kept (emoji sequences need it). */
	check("a&zwj;b", "a\xe2\x80\x8d" "b");
	/* Legacy names without the semicolon. */
	check("&copy 2026 &amp co", "\xc2\xa9 2026 & co");
	/* &#150; means what windows-1252 says. */
	check("&#150;&#x93;", "\xe2\x80\x93\xe2\x80\x9c");
}
END_TEST

START_TEST(test_entities_invalid)
{
	/* Invalid numeric references become U+FFFD. */
	check("&#0;|&#xD800;|&#1114112;|&#99999999999999;|&#x81;",
	    "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd|"
	    "\xef\xbf\xbd");
	/* What is not a reference stays text. */
	check("&bogus; AT&T &#; &#x; & &; &copyright",
	    "&bogus; AT&T &#; &#x; & &; &copyright");
	check("&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;",
	    "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;");
}
END_TEST

START_TEST(test_invisible)
{
	/* Preheader padding: zero-width characters dropped, the spaces
	 * between them collapsed. */
	check("x&zwnj;&nbsp;&zwnj;&nbsp;&#847;&zwnj;&nbsp;y", "x y");
	check("a\xe2\x80\x8c\xe2\x80\x8b\xef\xbb\xbf\xc2\xad" "b", "ab");
	check("a&shy;b&#8203;c", "abc");
}
END_TEST

START_TEST(test_comments)
{
	check("a<!-- c -->b<!---->c<!-->d<!--->e<!-- -- -->f", "abcdef");
	check("<!--[if mso]><p>MSO only</p><![endif]-->ok", "ok");
	check("<!--[if !mso]><!-->shown<!--<![endif]-->", "shown");
	check("x<!-- never closed <p>y</p>", "x");
	check("<!DOCTYPE html><?xml version=\"1.0\"?>hi", "hi");
	check("a<!bogus>b</ x>c</>d", "abcd");
}
END_TEST

START_TEST(test_cdata)
{
	check("<![CDATA[x <y> &amp;]]>z", "x <y> &amp;z");
	check("a<![CDATA[unclosed", "aunclosed");
}
END_TEST

START_TEST(test_skipped)
{
	check("<html><head><title>T</title><style>p { color: red }</style>"
	    "<meta charset=\"utf-8\"><script>var x = 1;</script></head>"
	    "<body>Body</body></html>", "Body");
	check("<script>var s = \"</div>\"; if (a</b) s = '</scr' + 'ipt>';"
	    "</script>after", "after");
	check("<SCRIPT type=text/javascript>x</ScRiPt >shown", "shown");
	check("<style>a:after { content: \"</p>\" }</style>s", "s");
	check("<script>x</scripts></script>y", "y");
	check("a<script>unclosed b", "a");
	check("<title>never closed", "");
	check("<template><p>inert</p></template>live", "live");
	check("<head><xml>96</xml>dropped</head>kept", "kept");
}
END_TEST

START_TEST(test_head_unclosed)
{
	/* A <head> that is never closed held the body. */
	check("<head><meta x>Hello world", "Hello world");
	check("<head><title>T</title><p>para</p>", "para");
	check("<p>x</p><head>late</head>y", "x\n\nlatey");
}
END_TEST

START_TEST(test_malformed_tags)
{
	check("a < b and c<d", "a < b and c");
	check("<div title=\"x>y\" data-a='1>2'>ok</div>", "ok");
	check("x<div title=\"unterminated>y", "x");
	check("x<p", "x");
	check("x<", "x<");
	check("1 <2 > 0", "1 <2 > 0");
	check("<p =a b=c d='e' f>text</p>", "text");
	check("<verylongtagnamethatisnotknownatall>t</verylong>", "t");
	check("<a\thref\n=\n\"https://t.example\"\n>t</a>",
	    "t <https://t.example>");
}
END_TEST

START_TEST(test_deep_nesting)
{
	enum { N = 100000 };
	struct mv_buf b;
	int i;

	mv_buf_init(&b, 0);
	for (i = 0; i < N; i++)
		mv_buf_puts(&b, "<div><span>");
	mv_buf_puts(&b, "deep");
	for (i = 0; i < N; i++)
		mv_buf_puts(&b, "</span></div>");
	check_n(b.data, b.len, "deep");
	mv_buf_reset(&b);
	mv_buf_puts(&b, "top");
	for (i = 0; i < N; i++)
		mv_buf_puts(&b, "<ul><li>");
	mv_buf_puts(&b, "x");
	check_n(b.data, b.len, "top\n        - x");
	mv_buf_free(&b);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	check("bad\xff\xfe utf\xc3", "bad\xef\xbf\xbd\xef\xbf\xbd "
	    "utf\xef\xbf\xbd");
	check("\xed\xa0\x80" "x\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd");
	check("<img alt=\"\xff\">", "[\xef\xbf\xbd]");
	check("<a href=\"https://x.example/\xff\">t</a>",
	    "t <https://x.example/\xef\xbf\xbd>");
	check_n("a\0b<p>\0</p>", 10, "a\xef\xbf\xbd" "b\n\n\xef\xbf\xbd");
}
END_TEST

START_TEST(test_huge_input)
{
	size_t n = 8 * 1024 * 1024, outlen, i;
	char *in = malloc(n), *out;

	ck_assert_ptr_nonnull(in);
	for (i = 0; i < n; i++)
		in[i] = (i % 8 == 7) ? ' ' : 'w';
	out = html_to_text(in, n, &outlen);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(outlen, n - 1);	/* the final space trimmed */
	free(out);
	for (i = 0; i < n; i++)
		in[i] = "<b>&amp;"[i % 8];
	out = html_to_text(in, n, &outlen);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(outlen, n / 8);
	free(out);
	free(in);
}
END_TEST

START_TEST(test_null_input)
{
	size_t outlen = 1;
	char *out = html_to_text(NULL, 0, &outlen);

	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(outlen, 0);
	free(out);
	out = html_to_text("<p>x</p>", 8, NULL);
	ck_assert_str_eq(out, "x");
	free(out);
}
END_TEST

/* html_unescape */

START_TEST(test_unescape)
{
	check_unescape("Tom &amp; Jerry&#39;s &lt;b&gt; &quot;x&quot;",
	    (size_t)-1, "Tom & Jerry's <b> \"x\"", (size_t)-1);
	/* Only part of the input: the reference cut short stays text. */
	check_unescape("x &amp; y", 4, "x &a", 4);
	check_unescape("a&nbsp;b  c\n", (size_t)-1, "a\xc2\xa0" "b  c\n",
	    (size_t)-1);
	check_unescape("&#x1F600;&hellip;", (size_t)-1,
	    "\xf0\x9f\x98\x80\xe2\x80\xa6", (size_t)-1);
	check_unescape("", 0, "", 0);
	check_unescape(NULL, 5, "", 0);
}
END_TEST

START_TEST(test_unescape_invalid)
{
	check_unescape("&unknown; & &#xZZ; <b>", (size_t)-1,
	    "&unknown; & &#xZZ; <b>", (size_t)-1);
	check_unescape("&#0;\xff", 5, "\xef\xbf\xbd\xef\xbf\xbd", 6);
	check_unescape("a\0b", 3, "a\xef\xbf\xbd" "b", 5);
}
END_TEST

static Suite *
html2text_suite(void)
{
	Suite *s = suite_create("html2text");
	TCase *tc = tcase_create("html_to_text");
	TCase *un = tcase_create("html_unescape");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_blocks);
	tcase_add_test(tc, test_blank_lines);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_pre);
	tcase_add_test(tc, test_lists);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_hr);
	tcase_add_test(tc, test_images);
	tcase_add_test(tc, test_links);
	tcase_add_test(tc, test_links_not_shown);
	tcase_add_test(tc, test_links_unclosed);
	tcase_add_test(tc, test_entities);
	tcase_add_test(tc, test_entities_invalid);
	tcase_add_test(tc, test_invisible);
	tcase_add_test(tc, test_comments);
	tcase_add_test(tc, test_cdata);
	tcase_add_test(tc, test_skipped);
	tcase_add_test(tc, test_head_unclosed);
	tcase_add_test(tc, test_malformed_tags);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_huge_input);
	tcase_add_test(tc, test_null_input);
	tcase_add_test(un, test_unescape);
	tcase_add_test(un, test_unescape_invalid);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, un);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(html2text_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
