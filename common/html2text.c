/* HTML to plain text: one forward pass over the bytes, no tree, no stack. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/buf.h"
#include "shared/utf8.h"
#include "common/html2text.h"
#include "shared/str.h"

/*
 * Choices the header leaves open:
 *  - &nbsp; and a literal U+00A0 are rendered as an ordinary space and
 *    collapse with the whitespace around them, so that words split and
 *    searches match; layout made of runs of &nbsp; is lost.
 *  - Invisible characters that newsletters use as padding (soft hyphen,
 *    U+034F, U+200B, U+200C, U+2060, U+FEFF) are dropped; U+200D is kept
 *    because emoji sequences need it.
 *  - Table cells of one row are separated by " | ".
 *  - <![CDATA[...]]> outside script/style is shown as literal text.
 *  - Text inside <head> is dropped when </head> closes it; when a body
 *    element or the end of the input comes first, the head was never
 *    closed and its text is kept (a missing </head> loses nothing).
 *  - Unclosed comments, tags and <script>/<style>/<title> run to the end
 *    of the input, as in browsers.
 */

#define H2T_NAME_MAX	16	/* longest tag name we tell apart */
#define H2T_ENT_MAX	32	/* longest entity name looked up */
#define H2T_INDENT_MAX	5	/* nested list levels shown by indentation */
#define H2T_RULE	"----------"
#define H2T_SEP		" | "
#define H2T_FFFD	"\xef\xbf\xbd"

struct h2t {
	const char	*in;
	size_t		 len;
	size_t		 pos;
	struct mv_buf	 out;
	int		 nomem;
	int		 pend_nl;	/* newlines owed before the next text */
	int		 pend_space;	/* a space owed before the next text */
	int		 pend_sep;	/* a cell separator owed */
	int		 pre;		/* open <pre> elements */
	int		 lists;		/* open <ul>/<ol> elements */
	int		 cells;		/* cells opened in the current row */
	size_t		 row_mark;	/* out.len when the row opened */
	int		 pend_bullet;	/* a list item's "- " owed */
	int		 in_head;	/* inside an open <head> */
	size_t		 head_mark;	/* out.len when <head> opened */
	size_t		 link_start;	/* out.len when the link opened */
	char		*href;		/* href of the open link, or NULL */
};

struct h2t_tag {
	char		 name[H2T_NAME_MAX + 1];
	int		 end;		/* an end tag */
	const char	*href;		/* raw attribute values, NULL: absent */
	size_t		 hreflen;
	const char	*alt;
	size_t		 altlen;
};

enum h2t_kind {
	K_BLOCK,	/* a line break before and after */
	K_PARA,		/* a blank line before and after */
	K_BR,
	K_LI,
	K_LIST,
	K_TR,
	K_CELL,
	K_HR,
	K_IMG,
	K_A,
	K_PRE,
	K_RAW,		/* content skipped up to the end tag */
	K_HEAD,
	K_BODY,
	K_HEADOK,	/* allowed in <head>: does not end it */
	K_INLINE,	/* a known body element without rendering */
};

struct h2t_elem {
	const char	*name;
	enum h2t_kind	 kind;
};

static const struct h2t_elem h2t_elems[] = {
	{ "a", K_A }, { "address", K_BLOCK }, { "article", K_BLOCK },
	{ "aside", K_BLOCK }, { "b", K_INLINE }, { "base", K_HEADOK },
	{ "blockquote", K_PARA }, { "body", K_BODY }, { "br", K_BR },
	{ "caption", K_BLOCK }, { "center", K_BLOCK }, { "dd", K_BLOCK },
	{ "details", K_BLOCK }, { "div", K_BLOCK }, { "dl", K_LIST },
	{ "dt", K_BLOCK }, { "em", K_INLINE }, { "fieldset", K_BLOCK },
	{ "figcaption", K_BLOCK }, { "figure", K_BLOCK }, { "font", K_INLINE },
	{ "footer", K_BLOCK }, { "form", K_BLOCK }, { "h1", K_PARA },
	{ "h2", K_PARA }, { "h3", K_PARA }, { "h4", K_PARA }, { "h5", K_PARA },
	{ "h6", K_PARA }, { "head", K_HEAD }, { "header", K_BLOCK },
	{ "hr", K_HR }, { "i", K_INLINE }, { "img", K_IMG },
	{ "li", K_LI }, { "link", K_HEADOK }, { "main", K_BLOCK },
	{ "meta", K_HEADOK }, { "nav", K_BLOCK }, { "noscript", K_HEADOK },
	{ "ol", K_LIST }, { "p", K_PARA }, { "pre", K_PRE },
	{ "script", K_RAW }, { "section", K_BLOCK }, { "span", K_INLINE },
	{ "strong", K_INLINE }, { "style", K_RAW }, { "summary", K_BLOCK },
	{ "table", K_BLOCK }, { "tbody", K_BLOCK }, { "td", K_CELL },
	{ "template", K_RAW }, { "tfoot", K_BLOCK }, { "th", K_CELL },
	{ "thead", K_BLOCK }, { "title", K_RAW }, { "tr", K_TR },
	{ "u", K_INLINE }, { "ul", K_LIST },
};

struct h2t_ent {
	const char	*name;
	uint32_t	 cp;
};

static const struct h2t_ent h2t_ents[] = {
	{ "amp", 38 }, { "lt", 60 }, { "gt", 62 }, { "quot", 34 },
	{ "apos", 39 }, { "hellip", 0x2026 }, { "mdash", 0x2014 },
	{ "ndash", 0x2013 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 },
	{ "sbquo", 0x201a }, { "ldquo", 0x201c }, { "rdquo", 0x201d },
	{ "bdquo", 0x201e }, { "bull", 0x2022 }, { "trade", 0x2122 },
	{ "euro", 0x20ac }, { "zwnj", 0x200c }, { "zwj", 0x200d },
	{ "lrm", 0x200e }, { "rlm", 0x200f }, { "ensp", 0x2002 },
	{ "emsp", 0x2003 }, { "thinsp", 0x2009 }, { "dagger", 0x2020 },
	{ "Dagger", 0x2021 }, { "permil", 0x2030 }, { "lsaquo", 0x2039 },
	{ "rsaquo", 0x203a }, { "prime", 0x2032 }, { "Prime", 0x2033 },
	{ "OElig", 0x152 }, { "oelig", 0x153 }, { "Scaron", 0x160 },
	{ "scaron", 0x161 }, { "Yuml", 0x178 }, { "fnof", 0x192 },
	{ "circ", 0x2c6 }, { "tilde", 0x2dc }, { "larr", 0x2190 },
	{ "uarr", 0x2191 }, { "rarr", 0x2192 }, { "darr", 0x2193 },
	{ "harr", 0x2194 }, { "minus", 0x2212 }, { "infin", 0x221e },
	{ "ne", 0x2260 }, { "le", 0x2264 }, { "ge", 0x2265 },
	{ "hearts", 0x2665 }, { "check", 0x2713 },
};

/* Latin-1 names, U+00A0 onwards. */
static const char *const h2t_latin1[96] = {
	"nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect",
	"uml", "copy", "ordf", "laquo", "not", "shy", "reg", "macr",
	"deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
	"cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34",
	"iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring",
	"AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave",
	"Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
	"Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute",
	"Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute",
	"acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave",
	"eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth",
	"ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide",
	"oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn",
	"yuml",
};

/* Legacy names browsers still decode without the semicolon. */
static const char *const h2t_legacy[] = {
	"amp", "lt", "gt", "quot", "nbsp", "copy", "reg",
};

/* What &#128; to &#159; mean in practice (windows-1252); 0: undefined. */
static const uint16_t h2t_c1[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static int
h2t_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
h2t_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
h2t_alnum(unsigned char c)
{
	return h2t_alpha(c) || h2t_digit(c);
}

static int
h2t_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* 1 for the characters the rendering leaves out (see the top comment). */
static int
h2t_invisible(uint32_t cp)
{
	return cp == 0xad || cp == 0x34f || cp == 0x200b || cp == 0x200c ||
	    cp == 0x2060 || cp == 0xfeff;
}

/* Encodes a valid code point as UTF-8 into b (4 bytes); returns length. */
static size_t
h2t_utf8(uint32_t cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the well-formed sequence of length n at s. */
static uint32_t
h2t_cp(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t i;

	if (n == 1)
		return s[0];
	cp = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

static void
h2t_append(struct h2t *h, const char *s, size_t n)
{
	if (!h->nomem && mv_buf_append(&h->out, s, n) == -1)
		h->nomem = 1;
}

/* Drops the spaces and tabs that end the output (before a line break). */
static void
h2t_rtrim(struct h2t *h)
{
	while (h->out.len > 0 && (h->out.data[h->out.len - 1] == ' ' ||
	    h->out.data[h->out.len - 1] == '\t'))
		h->out.len--;
	if (h->out.data != NULL)
		h->out.data[h->out.len] = '\0';
}

/* Writes a list item's bullet, indented by list depth. */
static void
h2t_bullet(struct h2t *h)
{
	int i, depth = h->lists > H2T_INDENT_MAX ? H2T_INDENT_MAX : h->lists;

	for (i = 1; i < depth; i++)
		h2t_append(h, "  ", 2);
	h2t_append(h, "- ", 2);
}

/* Writes what is owed before text: line breaks, else a cell separator,
 * else a space; then a pending bullet. Nothing leads the output. */
static void
h2t_flush(struct h2t *h)
{
	if (h->out.len == 0)
		;
	else if (h->pend_nl > 0) {
		h2t_rtrim(h);
		h2t_append(h, "\n\n", (size_t)h->pend_nl);
	} else if (h->pend_bullet)
		;
	else if (h->pend_sep)
		h2t_append(h, H2T_SEP, sizeof(H2T_SEP) - 1);
	else if (h->pend_space)
		h2t_append(h, " ", 1);
	if (h->pend_bullet)
		h2t_bullet(h);
	h->pend_nl = h->pend_space = h->pend_sep = h->pend_bullet = 0;
}

/* Emits visible text (already valid UTF-8). */
static void
h2t_emit(struct h2t *h, const char *s, size_t n)
{
	if (n == 0)
		return;
	h2t_flush(h);
	h2t_append(h, s, n);
}

/* Asks for n line breaks (1: new line, 2: blank line) before the next
 * text; an item whose bullet is still owed keeps its line. */
static void
h2t_block(struct h2t *h, int n)
{
	if (h->pend_bullet)
		return;
	if (h->pend_nl < n)
		h->pend_nl = n;
}

static void
h2t_newline(struct h2t *h)
{
	if (h->pend_nl < 2)
		h->pend_nl++;
}

/* One whitespace character of the text: kept in <pre>, else collapsed. */
static void
h2t_space(struct h2t *h, unsigned char c)
{
	if (h->pre == 0)
		h->pend_space = 1;
	else if (c == '\n' || c == '\r')
		h2t_newline(h);
	else if (c == '\t')
		h2t_emit(h, "\t", 1);
	else
		h2t_emit(h, " ", 1);
}

/* One decoded code point of the text. */
static void
h2t_emit_cp(struct h2t *h, uint32_t cp)
{
	char b[4];

	if (cp == 0xa0)
		cp = ' ';
	if (cp < 0x80 && h2t_ws((unsigned char)cp))
		h2t_space(h, (unsigned char)cp);
	else if (!h2t_invisible(cp))
		h2t_emit(h, b, h2t_utf8(cp, b));
}

/* A numeric reference's value made safe: U+FFFD for NUL, surrogates and
 * values past U+10FFFF; C1 controls read as windows-1252. */
static uint32_t
h2t_numeric_cp(uint32_t v)
{
	if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0xfffd;
	if (v >= 0x80 && v <= 0x9f)
		return h2t_c1[v - 0x80] ? h2t_c1[v - 0x80] : 0xfffd;
	return v;
}

/* &#123; or &#x1F600; at s[0] == '&'. Returns the bytes used, 0 when
 * there is no digit (then the '&' is plain text). */
static size_t
h2t_numeric(const char *s, size_t n, uint32_t *cp)
{
	size_t i = 2;
	uint32_t v = 0;
	int hex = 0, d, any = 0;

	if (i < n && (s[i] == 'x' || s[i] == 'X')) {
		hex = 1;
		i++;
	}
	for (; i < n; i++) {
		d = hex ? mv_hexval((unsigned char)s[i]) :
		    (h2t_digit((unsigned char)s[i]) ? s[i] - '0' : -1);
		if (d < 0)
			break;
		any = 1;
		v = v > 0x10ffff ? v : v * (hex ? 16 : 10) + (uint32_t)d;
	}
	if (!any)
		return 0;
	if (i < n && s[i] == ';')
		i++;
	*cp = h2t_numeric_cp(v);
	return i;
}

static int
h2t_name_lookup(const char *s, size_t n, uint32_t *cp)
{
	size_t i;

	for (i = 0; i < sizeof(h2t_ents) / sizeof(h2t_ents[0]); i++)
		if (strlen(h2t_ents[i].name) == n &&
		    memcmp(h2t_ents[i].name, s, n) == 0) {
			*cp = h2t_ents[i].cp;
			return 0;
		}
	for (i = 0; i < 96; i++)
		if (strlen(h2t_latin1[i]) == n &&
		    memcmp(h2t_latin1[i], s, n) == 0) {
			*cp = 0xa0 + (uint32_t)i;
			return 0;
		}
	return -1;
}

static int
h2t_legacy_name(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(h2t_legacy) / sizeof(h2t_legacy[0]); i++)
		if (strlen(h2t_legacy[i]) == n &&
		    memcmp(h2t_legacy[i], s, n) == 0)
			return 1;
	return 0;
}

/* &name; at s[0] == '&'. Without the semicolon only the legacy names
 * count, and in an attribute not when '=' follows (query strings).
 * Returns the bytes used, 0 when this is no reference. */
static size_t
h2t_named(const char *s, size_t n, int attr, uint32_t *cp)
{
	size_t i = 1;

	while (i < n && i <= H2T_ENT_MAX && h2t_alnum((unsigned char)s[i]))
		i++;
	if (i == 1 || i > H2T_ENT_MAX)
		return 0;
	if (i < n && s[i] == ';')
		return h2t_name_lookup(s + 1, i - 1, cp) == 0 ? i + 1 : 0;
	if (!h2t_legacy_name(s + 1, i - 1) || (attr && i < n && s[i] == '='))
		return 0;
	return h2t_name_lookup(s + 1, i - 1, cp) == 0 ? i : 0;
}

/* A character reference at s[0] == '&'; returns the bytes it uses and
 * its code point, or 0 when the '&' is plain text. */
static size_t
h2t_ref(const char *s, size_t n, int attr, uint32_t *cp)
{
	if (n >= 2 && s[1] == '#')
		return h2t_numeric(s, n, cp);
	return h2t_named(s, n, attr, cp);
}

/* Length of the run at s that can be copied as is: printable ASCII other
 * than '&' and well-formed sequences other than U+00A0 and the invisible
 * characters. */
static size_t
h2t_plain(const char *s, size_t n, int refs)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		if (u[i] < 0x80) {
			if (u[i] == 0 || h2t_ws(u[i]) || (refs && u[i] == '&'))
				break;
			i++;
			continue;
		}
		if ((l = mv_utf8_seqlen(u + i, n - i)) == 0)
			break;
		if (h2t_cp(u + i, l) == 0xa0 || h2t_invisible(h2t_cp(u + i, l)))
			break;
		i += l;
	}
	return i;
}

/* The character at s that h2t_plain() stopped on; returns bytes used. */
static size_t
h2t_special(struct h2t *h, const char *s, size_t n, int refs)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;
	size_t l;

	if (refs && s[0] == '&') {
		if ((l = h2t_ref(s, n, 0, &cp)) > 0) {
			h2t_emit_cp(h, cp);
			return l;
		}
		h2t_emit(h, "&", 1);
		return 1;
	}
	if (s[0] == '\r' && n > 1 && s[1] == '\n')
		return 1;	/* the '\n' makes the break */
	if (u[0] != 0 && (l = mv_utf8_seqlen(u, n)) > 0) {
		h2t_emit_cp(h, h2t_cp(u, l));
		return l;
	}
	h2t_emit(h, H2T_FFFD, 3);	/* NUL or an ill-formed byte */
	return 1;
}

/* Character data s[0..n): references decoded when refs is set. */
static void
h2t_text(struct h2t *h, const char *s, size_t n, int refs)
{
	size_t i = 0, k;

	while (i < n) {
		k = h2t_plain(s + i, n - i, refs);
		if (k > 0) {
			h2t_emit(h, s + i, k);
			i += k;
		} else
			i += h2t_special(h, s + i, n - i, refs);
	}
}

/* References decoded (attr: attribute rules for legacy names) and
 * UTF-8 repaired into a new string, with tabs and line breaks removed
 * when strip_ws is set (as browsers do for URLs). NULL when out of
 * memory. */
static char *
h2t_decode(const char *s, size_t n, int attr, int strip_ws, size_t *outlen)
{
	struct mv_buf b;
	size_t i = 0, l;
	uint32_t cp;
	char u[4], *out;
	int rc = 0;

	mv_buf_init(&b, 0);
	while (i < n && rc == 0) {
		if (s[i] == '&' && (l = h2t_ref(s + i, n - i, attr, &cp)) > 0) {
			rc = mv_buf_append(&b, u, h2t_utf8(cp, u));
			i += l;
		} else if (strip_ws && (s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r'))
			i++;
		else
			rc = mv_buf_putc(&b, (unsigned char)s[i++]);
	}
	out = rc == 0 ? mv_utf8_sanitize(b.data ? b.data : "", b.len, outlen) :
	    NULL;
	mv_buf_free(&b);
	return out;
}

static char *
h2t_attr(const char *s, size_t n, int strip_ws, size_t *outlen)
{
	return h2t_decode(s, n, 1, strip_ws, outlen);
}

char *
html_unescape(const char *s, size_t len, size_t *outlen)
{
	return h2t_decode(s ? s : "", s ? len : 0, 0, 0, outlen);
}

/* s[0..*n) without leading and trailing ASCII whitespace. */
static const char *
h2t_trim(const char *s, size_t *n)
{
	while (*n > 0 && h2t_ws((unsigned char)s[0])) {
		s++;
		(*n)--;
	}
	while (*n > 0 && h2t_ws((unsigned char)s[*n - 1]))
		(*n)--;
	return s;
}

static int
h2t_prefix(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);

	return n >= pl && strncasecmp(s, p, pl) == 0;
}

/* s without a leading http:// or https:// and a trailing '/'. */
static const char *
h2t_url_core(const char *s, size_t *n)
{
	if (h2t_prefix(s, *n, "http://")) {
		s += 7;
		*n -= 7;
	} else if (h2t_prefix(s, *n, "https://")) {
		s += 8;
		*n -= 8;
	}
	if (*n > 0 && s[*n - 1] == '/')
		(*n)--;
	return s;
}

/* 1 when a link's text already shows its href. */
static int
h2t_same_link(const char *t, size_t tl, const char *href)
{
	size_t hl = strlen(href);

	if (tl == hl && memcmp(t, href, tl) == 0)
		return 1;
	if (h2t_prefix(href, hl, "mailto:"))
		return tl == hl - 7 && strncasecmp(t, href + 7, tl) == 0;
	t = h2t_url_core(t, &tl);
	href = h2t_url_core(href, &hl);
	return tl == hl && strncasecmp(t, href, tl) == 0;
}

/* Ends the open link: its href follows unless the text shows it. */
static void
h2t_link_close(struct h2t *h)
{
	const char *t;
	size_t tl, start;

	if (h->href == NULL)
		return;
	start = h->link_start < h->out.len ? h->link_start : h->out.len;
	tl = h->out.len - start;
	t = h2t_trim(h->out.data ? h->out.data + start : "", &tl);
	if (!h2t_same_link(t, tl, h->href)) {
		h->pend_space = 1;
		h2t_emit(h, "<", 1);
		h2t_emit(h, h->href, strlen(h->href));
		h2t_emit(h, ">", 1);
	}
	free(h->href);
	h->href = NULL;
}

/* Opens a link; only http(s) and mailto hrefs are ever shown. */
static void
h2t_link_open(struct h2t *h, const struct h2t_tag *t)
{
	char *href;
	const char *v;
	size_t l;

	h2t_link_close(h);
	if (t->href == NULL)
		return;
	if ((href = h2t_attr(t->href, t->hreflen, 1, &l)) == NULL) {
		h->nomem = 1;
		return;
	}
	v = h2t_trim(href, &l);
	if (l == 0 || !(h2t_prefix(v, l, "http:") ||
	    h2t_prefix(v, l, "https:") || h2t_prefix(v, l, "mailto:"))) {
		free(href);
		return;
	}
	memmove(href, v, l);
	href[l] = '\0';
	h->href = href;
	h->link_start = h->out.len;
}

/* <img alt="..."> as "[alt]", its whitespace collapsed; nothing for an
 * empty alt. */
static void
h2t_img(struct h2t *h, const struct h2t_tag *t)
{
	char *alt;
	size_t l, i, o = 0;

	if (t->alt == NULL)
		return;
	if ((alt = h2t_attr(t->alt, t->altlen, 0, &l)) == NULL) {
		h->nomem = 1;
		return;
	}
	for (i = 0; i < l; i++) {
		if (!h2t_ws((unsigned char)alt[i]))
			alt[o++] = alt[i];
		else if (o > 0 && alt[o - 1] != ' ')
			alt[o++] = ' ';
	}
	if (o > 0 && alt[o - 1] == ' ')
		o--;
	if (o > 0) {
		h2t_emit(h, "[", 1);
		h2t_emit(h, alt, o);
		h2t_emit(h, "]", 1);
	}
	free(alt);
}

static int
h2t_kind(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(h2t_elems) / sizeof(h2t_elems[0]); i++)
		if (strcmp(h2t_elems[i].name, name) == 0)
			return (int)h2t_elems[i].kind;
	return -1;
}

/* Skips the content of a raw-text element (script, style...) up to its
 * end tag, which is then read as a tag; to the end when there is none.
 * "</" inside a script's strings does not end it, only "</name". */
static void
h2t_skip_raw(struct h2t *h, const char *name)
{
	size_t nl = strlen(name), i = h->pos, k;
	const char *p;

	while ((p = memmem(h->in + i, h->len - i, "</", 2)) != NULL) {
		i = (size_t)(p - h->in) + 2;
		if (h->len - i < nl || strncasecmp(h->in + i, name, nl) != 0)
			continue;
		k = i + nl;
		if (k == h->len || h2t_ws((unsigned char)h->in[k]) ||
		    h->in[k] == '/' || h->in[k] == '>') {
			h->pos = (size_t)(p - h->in);
			return;
		}
	}
	h->pos = h->len;
}

/* Leaves an unclosed <head>: its text was body text, kept. */
static void
h2t_head_leave(struct h2t *h, int kind)
{
	if (h->in_head && kind != -1 && kind != K_HEADOK && kind != K_RAW &&
	    kind != K_HEAD)
		h->in_head = 0;
}

/* Closes <head>: what it held is dropped. */
static void
h2t_head_close(struct h2t *h)
{
	if (!h->in_head)
		return;
	h->in_head = 0;
	if (h->out.len > h->head_mark) {
		h->out.len = h->head_mark;
		h->out.data[h->out.len] = '\0';
	}
	h->pend_nl = h->pend_space = h->pend_sep = h->pend_bullet = 0;
}

/* A table row starts on its own line. */
static void
h2t_row(struct h2t *h)
{
	h2t_block(h, 1);
	h->cells = 0;
	h->row_mark = h->out.len;
}

/* A cell continues its row after a separator: line breaks that blocks
 * inside the previous cell asked for are dropped, once the row has
 * text. */
static void
h2t_cell(struct h2t *h)
{
	if (h->cells > 0 && h->out.len > h->row_mark)
		h->pend_nl = 0;
	h->pend_sep = 1;
	h->cells++;
}

static void
h2t_start(struct h2t *h, const struct h2t_tag *t, int kind)
{
	h2t_head_leave(h, kind);
	switch (kind) {
	case K_BLOCK:
		h2t_block(h, 1);
		break;
	case K_TR:
		h2t_row(h);
		break;
	case K_PARA:
		h2t_block(h, 2);
		break;
	case K_PRE:
		h2t_block(h, 2);
		h->pre++;
		break;
	case K_LIST:
		h2t_block(h, 1);
		h->lists++;
		break;
	case K_LI:
		h2t_block(h, 1);
		h->pend_bullet = 1;
		break;
	case K_BR:
		h2t_newline(h);
		break;
	case K_CELL:
		h2t_cell(h);
		break;
	case K_HR:
		h2t_block(h, 1);
		h2t_emit(h, H2T_RULE, sizeof(H2T_RULE) - 1);
		h2t_block(h, 1);
		break;
	case K_IMG:
		h2t_img(h, t);
		break;
	case K_A:
		h2t_link_open(h, t);
		break;
	case K_RAW:
		h2t_skip_raw(h, t->name);
		break;
	case K_HEAD:
		if (h->out.len == 0 && !h->in_head) {
			h->in_head = 1;
			h->head_mark = h->out.len;
		}
		break;
	}
}

static void
h2t_end(struct h2t *h, int kind)
{
	switch (kind) {
	case K_BLOCK:
	case K_TR:
	case K_LI:
		h2t_block(h, 1);
		break;
	case K_PARA:
		h2t_block(h, 2);
		break;
	case K_PRE:
		if (h->pre > 0)
			h->pre--;
		h2t_block(h, 2);
		break;
	case K_LIST:
		if (h->lists > 0)
			h->lists--;
		h2t_block(h, 1);
		break;
	case K_BR:
		h2t_newline(h);	/* </br> acts as <br>, as in browsers */
		break;
	case K_A:
		h2t_link_close(h);
		break;
	case K_HEAD:
		h2t_head_close(h);
		break;
	}
}

/* An attribute value at s[i]: quoted (may hold '>') or bare. Sets the
 * value's span; returns the position after it, or n + 1 when a quote is
 * left open. */
static size_t
h2t_value(const char *s, size_t n, size_t i, size_t *vs, size_t *vl)
{
	const char *e;

	if (i < n && (s[i] == '"' || s[i] == '\'')) {
		if ((e = memchr(s + i + 1, s[i], n - i - 1)) == NULL)
			return n + 1;
		*vs = i + 1;
		*vl = (size_t)(e - (s + i + 1));
		return (size_t)(e - s) + 1;
	}
	*vs = i;
	while (i < n && !h2t_ws((unsigned char)s[i]) && s[i] != '>')
		i++;
	*vl = i - *vs;
	return i;
}

/* Keeps the first href and alt of a tag. */
static void
h2t_keep(struct h2t_tag *t, const char *name, size_t nl, const char *v,
    size_t vl)
{
	if (nl == 4 && strncasecmp(name, "href", 4) == 0 && t->href == NULL) {
		t->href = v;
		t->hreflen = vl;
	} else if (nl == 3 && strncasecmp(name, "alt", 3) == 0 &&
	    t->alt == NULL) {
		t->alt = v;
		t->altlen = vl;
	}
}

/* The attributes of a tag from s[i] up to its '>'. Returns the position
 * after the '>', or n + 1 when the input ends first. */
static size_t
h2t_attrs(const char *s, size_t n, size_t i, struct h2t_tag *t)
{
	size_t ns, ne, vs, vl;

	for (;;) {
		while (i < n && (h2t_ws((unsigned char)s[i]) || s[i] == '/'))
			i++;
		if (i >= n)
			return n + 1;
		if (s[i] == '>')
			return i + 1;
		ns = i++;	/* a name is at least one byte, even '=' */
		while (i < n && !h2t_ws((unsigned char)s[i]) && s[i] != '/' &&
		    s[i] != '>' && s[i] != '=')
			i++;
		ne = vs = i;
		vl = 0;
		while (i < n && h2t_ws((unsigned char)s[i]))
			i++;
		if (i < n && s[i] == '=') {
			i++;
			while (i < n && h2t_ws((unsigned char)s[i]))
				i++;
			if ((i = h2t_value(s, n, i, &vs, &vl)) > n)
				return n + 1;
		}
		h2t_keep(t, s + ns, ne - ns, s + vs, vl);
	}
}

/* Parses the tag at h->pos ("<name" or "</name"). Returns the position
 * after its '>', or h->len + 1 when the input ends inside it. Names too
 * long to be known are left empty. */
static size_t
h2t_tag(const struct h2t *h, struct h2t_tag *t)
{
	const char *s = h->in;
	size_t n = h->len, i = h->pos + 1, k = 0;
	int toolong = 0;

	memset(t, 0, sizeof(*t));
	if (s[i] == '/') {
		t->end = 1;
		i++;
	}
	for (; i < n && !h2t_ws((unsigned char)s[i]) && s[i] != '/' &&
	    s[i] != '>'; i++) {
		if (k < H2T_NAME_MAX)
			t->name[k++] = (char)((s[i] >= 'A' && s[i] <= 'Z') ?
			    s[i] + 32 : s[i]);
		else
			toolong = 1;
	}
	t->name[toolong ? 0 : k] = '\0';
	return h2t_attrs(s, n, i, t);
}

/* A start or end tag; an unterminated one hides the rest, as in
 * browsers. */
static void
h2t_element(struct h2t *h)
{
	struct h2t_tag t;
	size_t next;
	int kind;

	if ((next = h2t_tag(h, &t)) > h->len) {
		h->pos = h->len;
		return;
	}
	h->pos = next;
	kind = t.name[0] ? h2t_kind(t.name) : -1;
	if (t.end)
		h2t_end(h, kind);
	else
		h2t_start(h, &t, kind);
}

/* Moves past the first occurrence of pat from h->pos + skip; to the end
 * when there is none. Returns where pat starts (h->len when absent). */
static size_t
h2t_past(struct h2t *h, size_t skip, const char *pat)
{
	size_t from = h->pos + skip, pl = strlen(pat), at;
	const char *p;

	if (from > h->len)
		from = h->len;
	p = memmem(h->in + from, h->len - from, pat, pl);
	at = p ? (size_t)(p - h->in) : h->len;
	h->pos = p ? at + pl : h->len;
	return at;
}

/* <!-- ... -->, including the empty forms <!--> and <!--->. */
static void
h2t_comment(struct h2t *h)
{
	const char *s = h->in + h->pos + 4;
	size_t n = h->len - h->pos - 4;

	if (n >= 1 && s[0] == '>')
		h->pos += 5;
	else if (n >= 2 && s[0] == '-' && s[1] == '>')
		h->pos += 6;
	else
		h2t_past(h, 4, "-->");
}

/* <![CDATA[ ... ]]>: its content is literal text. */
static void
h2t_cdata(struct h2t *h)
{
	size_t start = h->pos + 9, end;

	end = h2t_past(h, 9, "]]>");
	h2t_text(h, h->in + start, end - start, 0);
}

/* Markup at h->pos == '<'. */
static void
h2t_markup(struct h2t *h)
{
	const char *s = h->in + h->pos;
	size_t n = h->len - h->pos;

	if (n >= 4 && memcmp(s, "<!--", 4) == 0)
		h2t_comment(h);
	else if (n >= 9 && memcmp(s, "<![CDATA[", 9) == 0)
		h2t_cdata(h);
	else if (n >= 2 && (s[1] == '!' || s[1] == '?'))
		h2t_past(h, 2, ">");	/* doctype, processing instruction */
	else if (n >= 2 && h2t_alpha((unsigned char)s[1]))
		h2t_element(h);
	else if (n >= 3 && s[1] == '/' && h2t_alpha((unsigned char)s[2]))
		h2t_element(h);
	else if (n >= 2 && s[1] == '/')
		h2t_past(h, 2, ">");	/* "</>", "</ x>": ignored */
	else {
		h2t_emit(h, "<", 1);
		h->pos++;
	}
}

/* The output without surrounding whitespace, handed to the caller. */
static char *
h2t_finish(struct h2t *h, size_t *outlen)
{
	size_t lead = 0;
	char *s;

	while (h->out.len > 0 && h2t_ws((unsigned char)
	    h->out.data[h->out.len - 1]))
		h->out.len--;
	while (lead < h->out.len && h2t_ws((unsigned char)h->out.data[lead]))
		lead++;
	if (h->out.data != NULL) {
		memmove(h->out.data, h->out.data + lead, h->out.len - lead);
		h->out.len -= lead;
		h->out.data[h->out.len] = '\0';
	}
	if ((s = mv_buf_steal(&h->out, outlen)) == NULL)
		return NULL;
	return s;
}

char *
html_to_text(const char *html, size_t len, size_t *outlen)
{
	struct h2t h;
	const char *lt;
	size_t k;

	memset(&h, 0, sizeof(h));
	mv_buf_init(&h.out, 0);
	h.in = html ? html : "";
	h.len = html ? len : 0;
	while (h.pos < h.len && !h.nomem) {
		if (h.in[h.pos] == '<') {
			h2t_markup(&h);
			continue;
		}
		lt = memchr(h.in + h.pos, '<', h.len - h.pos);
		k = lt ? (size_t)(lt - (h.in + h.pos)) : h.len - h.pos;
		h2t_text(&h, h.in + h.pos, k, 1);
		h.pos += k;
	}
	h2t_link_close(&h);
	if (h.nomem) {
		free(h.href);
		mv_buf_free(&h.out);
		return NULL;
	}
	return h2t_finish(&h, outlen);
}
