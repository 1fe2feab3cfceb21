/* MIME header decoding: RFC 2047 encoded words, RFC 2045/2231 parameters
 * and media types. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "shared/b64.h"
#include "shared/buf.h"
#include "shared/utf8.h"
#include "common/charset.h"
#include "common/rfc2047.h"
#include "shared/str.h"

#define EW_CSMAX	64	/* longest charset name in an encoded word */
#define MP_IDXMAX	9999	/* highest RFC 2231 continuation number */

static const char rd_fffd[] = "\xef\xbf\xbd";

/* One encoded word =?charset[*lang]?B|Q?text?= found in the input. */
struct ew {
	const char	*cs;		/* charset, language dropped */
	size_t		 cslen;
	int		 enc;		/* 'B' or 'Q' */
	const char	*text;
	size_t		 textlen;
	size_t		 end;		/* offset past "?=" */
};

/*
 * The state of one rfc2047_decode() run: out is the UTF-8 so far (cleaned
 * at the end), pend the bytes of adjacent words in charset pend_cs, word
 * the bytes of the word being read. A word text starting in [fail_from,
 * fail_to) is known to have no "?=" before a line end.
 */
struct rd {
	const char	*in;
	size_t		 len;
	struct mv_buf	 out;
	struct mv_buf	 pend;
	struct mv_buf	 word;
	char		 pend_cs[EW_CSMAX + 1];
	int		 have_pend;
	size_t		 fail_from;
	size_t		 fail_to;
};

static int
rd_lws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Finds the closing "?=" of a word text starting at offset t. The text
 * may not cross a line end. Remembers a failed scan so that later words
 * starting inside it fail at once: this keeps the decoder linear on
 * inputs full of "=?" and no "?=". Returns the offset of '?' or -1.
 */
static ssize_t
rd_text_end(struct rd *rd, size_t t)
{
	size_t j;

	if (t >= rd->fail_from && t < rd->fail_to)
		return -1;
	for (j = t; j < rd->len; j++) {
		if (rd->in[j] == '\r' || rd->in[j] == '\n')
			break;
		if (rd->in[j] == '?' && j + 1 < rd->len &&
		    rd->in[j + 1] == '=')
			return (ssize_t)j;
	}
	rd->fail_from = t;
	rd->fail_to = j;
	return -1;
}

/* Parses the encoded word whose "=?" is at offset p. Returns 0 or -1. */
static int
rd_parse_word(struct rd *rd, size_t p, struct ew *ew)
{
	const char *in = rd->in, *star;
	size_t i = p + 2;
	ssize_t e;

	while (i < rd->len && in[i] != '?' && !rd_lws(in[i]) &&
	    i - (p + 2) <= EW_CSMAX)
		i++;
	if (i + 2 >= rd->len || in[i] != '?' || i - (p + 2) > EW_CSMAX)
		return -1;
	ew->cs = in + p + 2;
	ew->cslen = i - (p + 2);
	if ((star = memchr(ew->cs, '*', ew->cslen)) != NULL)
		ew->cslen = (size_t)(star - ew->cs);
	ew->enc = toupper((unsigned char)in[i + 1]);
	if (ew->cslen == 0 || (ew->enc != 'B' && ew->enc != 'Q') ||
	    in[i + 2] != '?')
		return -1;
	if ((e = rd_text_end(rd, i + 3)) == -1)
		return -1;
	ew->text = in + i + 3;
	ew->textlen = (size_t)e - (i + 3);
	ew->end = (size_t)e + 2;
	return 0;
}

/* The byte of "%XX" or "=XX" at s (n bytes left), or -1. */
static int
rd_hexpair(const char *s, size_t n)
{
	int hi, lo;

	if (n < 3 || (hi = mv_hexval((unsigned char)s[1])) == -1 ||
	    (lo = mv_hexval((unsigned char)s[2])) == -1)
		return -1;
	return hi << 4 | lo;
}

/* Q decoding: '_' is a space, =XX a byte; a stray '=' stays as it is. */
static int
rd_q(const char *s, size_t n, struct mv_buf *b)
{
	size_t i;
	int c, h;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '_')
			c = ' ';
		else if (c == '=' && (h = rd_hexpair(s + i, n - i)) != -1) {
			c = h;
			i += 2;
		}
		if (mv_buf_putc(b, c) == -1)
			return -1;
	}
	return 0;
}

/* Decodes a word's text into rd->word. Returns 0, or -1 when the word is
 * malformed (bad base64) or memory ran out. */
static int
rd_decode_word(struct rd *rd, const struct ew *ew)
{
	unsigned char *raw;
	size_t n;
	int rc;

	mv_buf_reset(&rd->word);
	if (ew->enc == 'Q')
		return rd_q(ew->text, ew->textlen, &rd->word);
	if ((raw = mv_b64_decode(ew->text, ew->textlen, &n)) == NULL)
		return -1;
	rc = mv_buf_append(&rd->word, raw, n);
	free(raw);
	return rc;
}

/* Converts bytes in charset cs (unknown: UTF-8 if valid, else
 * windows-1252) and appends them to b. Returns 0 or -1. */
static int
rd_put_converted(struct mv_buf *b, const char *s, size_t n, const char *cs)
{
	char *u;
	size_t ulen;
	int rc;

	if (cs != NULL && charset_known(cs))
		u = charset_convert(s, n, cs, &ulen);
	else
		u = charset_text_to_utf8(s, n, NULL, &ulen);
	if (u == NULL)
		return -1;
	rc = mv_buf_append(b, u, ulen);
	free(u);
	return rc;
}

/* Converts and emits the pending bytes of adjacent words. */
static int
rd_flush(struct rd *rd)
{
	int rc = 0;

	if (rd->have_pend)
		rc = rd_put_converted(&rd->out, rd->pend.data ? rd->pend.data :
		    "", rd->pend.len, rd->pend_cs);
	mv_buf_reset(&rd->pend);
	rd->have_pend = 0;
	return rc;
}

/* Emits text found outside words: kept when UTF-8, else windows-1252. */
static int
rd_text(struct rd *rd, const char *s, size_t n)
{
	if (mv_utf8_valid(s, n))
		return mv_buf_append(&rd->out, s, n);
	return rd_put_converted(&rd->out, s, n, "windows-1252");
}

static int
rd_all_lws(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!rd_lws((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Takes in a decoded word preceded by the outside text in[seg..p): the
 * text is dropped when it is only whitespace after another word, and the
 * bytes join the pending ones when the charset is the same (so that a
 * character split across two words decodes right).
 */
static int
rd_take_word(struct rd *rd, size_t seg, size_t p, const struct ew *ew)
{
	int same;

	same = rd->have_pend && strlen(rd->pend_cs) == ew->cslen &&
	    strncasecmp(rd->pend_cs, ew->cs, ew->cslen) == 0;
	if (!rd->have_pend || !rd_all_lws(rd->in + seg, p - seg)) {
		if (rd_flush(rd) == -1 ||
		    rd_text(rd, rd->in + seg, p - seg) == -1)
			return -1;
		same = 0;
	} else if (!same && rd_flush(rd) == -1)
		return -1;
	if (!same) {
		memcpy(rd->pend_cs, ew->cs, ew->cslen);
		rd->pend_cs[ew->cslen] = '\0';
	}
	rd->have_pend = 1;
	return mv_buf_append(&rd->pend, rd->word.data ? rd->word.data : "",
	    rd->word.len);
}

/*
 * The final clean-up of decoded header text: ill-formed UTF-8 and C0
 * controls other than TAB become U+FFFD; a line break followed by
 * whitespace is unfolded away, any other becomes a space. Returns a new
 * string (caller frees), NULL when out of memory.
 */
static char *
rd_clean(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, l;

	if (n > (SIZE_MAX - 1) / 3 || (out = malloc(n * 3 + 1)) == NULL)
		return NULL;
	o = out;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		l = c < 0x80 ? 1 : mv_utf8_seqlen(u + i, n - i);
		if (c == '\r' || c == '\n') {
			i++;
			if (c == '\r' && i < n && s[i] == '\n')
				i++;
			if (i >= n || (s[i] != ' ' && s[i] != '\t'))
				*o++ = ' ';
		} else if ((c < 0x20 && c != '\t') || l == 0) {
			memcpy(o, rd_fffd, 3);
			o += 3;
			i++;
		} else {
			memcpy(o, s + i, l);
			o += l;
			i += l;
		}
	}
	*o = '\0';
	return out;
}

/* The offset of the next "=?" at or after i, or -1. (memchr, not
 * memmem: sanitizers check memmem's whole haystack on every call.) */
static ssize_t
rd_next_word(const struct rd *rd, size_t i)
{
	const char *q;

	while (i + 1 < rd->len &&
	    (q = memchr(rd->in + i, '=', rd->len - i - 1)) != NULL) {
		i = (size_t)(q - rd->in);
		if (rd->in[i + 1] == '?')
			return (ssize_t)i;
		i++;
	}
	return -1;
}

/* The decoding loop of rfc2047_decode(). Returns 0 or -1. */
static int
rd_run(struct rd *rd)
{
	size_t i = 0, seg = 0, p;
	ssize_t next;
	struct ew ew;

	while ((next = rd_next_word(rd, i)) != -1) {
		p = (size_t)next;
		if (rd_parse_word(rd, p, &ew) == -1 ||
		    rd_decode_word(rd, &ew) == -1) {
			i = p + 1;	/* left as it is */
			continue;
		}
		if (rd_take_word(rd, seg, p, &ew) == -1)
			return -1;
		seg = i = ew.end;
	}
	if (rd_flush(rd) == -1)
		return -1;
	return rd_text(rd, rd->in + seg, rd->len - seg);
}

char *
rfc2047_decode(const char *in, size_t len)
{
	struct rd rd;
	char *res = NULL;

	memset(&rd, 0, sizeof(rd));
	rd.in = in ? in : "";
	rd.len = in ? len : 0;
	mv_buf_init(&rd.out, 0);
	mv_buf_init(&rd.pend, 0);
	mv_buf_init(&rd.word, 0);
	if (rd_run(&rd) == 0)
		res = rd_clean(rd.out.data ? rd.out.data : "", rd.out.len);
	mv_buf_free(&rd.out);
	mv_buf_free(&rd.pend);
	mv_buf_free(&rd.word);
	return res;
}

/* One name*N or name*N* section of an RFC 2231 continued parameter. */
struct mp_seg {
	unsigned long	 idx;
	size_t		 order;		/* in the header: first wins */
	int		 ext;		/* percent-encoded (name*N*) */
	int		 quoted;
	const char	*v;
	size_t		 vlen;
};

/* What the header holds for one parameter name. */
struct mp_found {
	const char	*plain;		/* name=value, the first one */
	size_t		 plainlen;
	int		 plainq, have_plain;
	const char	*ext;		/* name*=charset'lang'value */
	size_t		 extlen;
	int		 extq, have_ext;
	struct mp_seg	*segs;		/* name*0, name*1*, ... */
	size_t		 nseg, segcap;
};

/* A parameter value as found: slice of the header, quoted or not. */
struct mp_val {
	const char	*v;
	size_t		 vlen;
	int		 quoted;
};

static const char *
mp_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Reads a value at p: a quoted string (backslash escapes kept in the
 * slice; unterminated runs to the end) or everything up to ';', trimmed.
 * Returns the position of the next ';' or the end. */
static const char *
mp_read_value(const char *p, struct mp_val *val)
{
	const char *e;

	val->quoted = *p == '"';
	if (val->quoted) {
		val->v = ++p;
		while (*p && *p != '"')
			p += (p[0] == '\\' && p[1] != '\0') ? 2 : 1;
		val->vlen = (size_t)(p - val->v);
		return p + strcspn(p, ";");
	}
	val->v = p;
	p += strcspn(p, ";");
	for (e = p; e > val->v && isspace((unsigned char)e[-1]); e--)
		;
	val->vlen = (size_t)(e - val->v);
	return p;
}

/* Splits attribute suffixes: "" plain (0), "*" extended (1), "*N" (2),
 * "*N*" (3), anything else -1. Sets *idx for the last two. */
static int
mp_suffix(const char *s, size_t n, unsigned long *idx)
{
	size_t i;

	if (n == 0)
		return 0;
	if (s[0] != '*')
		return -1;
	if (n == 1)
		return 1;
	*idx = 0;
	for (i = 1; i < n && isdigit((unsigned char)s[i]); i++) {
		*idx = *idx * 10 + (unsigned long)(s[i] - '0');
		if (*idx > MP_IDXMAX)
			return -1;
	}
	if (i == 1)
		return -1;
	if (i == n)
		return 2;
	return (i + 1 == n && s[i] == '*') ? 3 : -1;
}

static int
mp_add_seg(struct mp_found *f, unsigned long idx, int ext,
    const struct mp_val *val)
{
	struct mp_seg *ns;
	size_t cap;

	if (f->nseg == f->segcap) {
		cap = f->segcap ? f->segcap * 2 : 8;
		if ((ns = reallocarray(f->segs, cap, sizeof(*ns))) == NULL)
			return -1;
		f->segs = ns;
		f->segcap = cap;
	}
	ns = &f->segs[f->nseg];
	ns->idx = idx;
	ns->order = f->nseg++;
	ns->ext = ext;
	ns->quoted = val->quoted;
	ns->v = val->v;
	ns->vlen = val->vlen;
	return 0;
}

/* Files attribute attr (n bytes, trimmed) with value val when its name
 * is the one looked for. Returns 0, or -1 when out of memory. */
static int
mp_file(struct mp_found *f, const char *name, const char *attr, size_t n,
    const struct mp_val *val)
{
	size_t nlen = strlen(name);
	unsigned long idx = 0;
	int kind;

	if (n < nlen || strncasecmp(attr, name, nlen) != 0)
		return 0;
	kind = mp_suffix(attr + nlen, n - nlen, &idx);
	if (kind == 0 && !f->have_plain) {
		f->plain = val->v;
		f->plainlen = val->vlen;
		f->plainq = val->quoted;
		f->have_plain = 1;
	} else if (kind == 1 && !f->have_ext) {
		f->ext = val->v;
		f->extlen = val->vlen;
		f->extq = val->quoted;
		f->have_ext = 1;
	} else if (kind >= 2)
		return mp_add_seg(f, idx, kind == 3, val);
	return 0;
}

/* Walks the parameters of value, filing those called name. The leading
 * media type or disposition is skipped (when there is one: a value that
 * starts with "a=b" has none). Returns 0 or -1. */
static int
mp_scan(const char *value, const char *name, struct mp_found *f)
{
	const char *p = value, *a, *e;
	struct mp_val val;

	p += strcspn(p, ";=");
	p = (*p == '=') ? value : p;
	for (;;) {
		while (*p == ';' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		a = p;
		p += strcspn(p, ";=");
		if (*p != '=')
			continue;
		for (e = p; e > a && isspace((unsigned char)e[-1]); e--)
			;
		p = mp_read_value(mp_skip_ws(p + 1), &val);
		if (mp_file(f, name, a, (size_t)(e - a), &val) == -1)
			return -1;
	}
}

/* Appends a value with its quoted-string escapes undone. */
static int
mp_unquote(struct mv_buf *b, const char *v, size_t n, int quoted)
{
	size_t i, s = 0;

	if (!quoted)
		return mv_buf_append(b, v, n);
	for (i = 0; i < n; i++) {
		if (v[i] != '\\' || i + 1 >= n)
			continue;
		if (mv_buf_append(b, v + s, i - s) == -1)
			return -1;
		s = ++i;	/* the escaped character is kept */
	}
	return mv_buf_append(b, v + s, n - s);
}

/* Appends s with %XX decoded (a stray '%' stays). */
static int
mp_pct(struct mv_buf *b, const char *s, size_t n)
{
	size_t i;
	int c, h;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%' && (h = rd_hexpair(s + i, n - i)) != -1) {
			c = h;
			i += 2;
		}
		if (mv_buf_putc(b, c) == -1)
			return -1;
	}
	return 0;
}

/*
 * Splits an RFC 2231 initial section "charset'lang'rest": copies the
 * charset into cs (empty when absent or too long) and returns the offset
 * of rest (0 when the value has no two quotes).
 */
static size_t
mp_charset(const char *v, size_t n, char *cs, size_t cssz)
{
	const char *q1, *q2;

	cs[0] = '\0';
	if ((q1 = memchr(v, '\'', n)) == NULL ||
	    (q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - v))) == NULL)
		return 0;
	if ((size_t)(q1 - v) < cssz) {
		memcpy(cs, v, (size_t)(q1 - v));
		cs[q1 - v] = '\0';
	}
	return (size_t)(q2 + 1 - v);
}

/* Converts RFC 2231 bytes from cs into a cleaned new string. */
static char *
mp_finish(const struct mv_buf *bytes, const char *cs)
{
	struct mv_buf u;
	char *res = NULL;

	mv_buf_init(&u, 0);
	if (rd_put_converted(&u, bytes->data ? bytes->data : "", bytes->len,
	    cs[0] ? cs : NULL) == 0)
		res = rd_clean(u.data ? u.data : "", u.len);
	mv_buf_free(&u);
	return res;
}

/* name*=charset'lang'%XX... (quoted too, as some mailers send it). */
static char *
mp_ext_value(const struct mp_found *f)
{
	struct mv_buf raw, bytes;
	char cs[EW_CSMAX + 1], *res = NULL;
	size_t off;

	mv_buf_init(&raw, 0);
	mv_buf_init(&bytes, 0);
	if (mp_unquote(&raw, f->ext, f->extlen, f->extq) == 0) {
		off = mp_charset(raw.data, raw.len, cs, sizeof(cs));
		if (mp_pct(&bytes, raw.data + off, raw.len - off) == 0)
			res = mp_finish(&bytes, cs);
	}
	mv_buf_free(&raw);
	mv_buf_free(&bytes);
	return res;
}

static int
mp_seg_cmp(const void *a, const void *b)
{
	const struct mp_seg *x = a, *y = b;

	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends one continuation section (its charset prefix, when it is the
 * first, into cs). Returns 0 or -1. */
static int
mp_seg_put(const struct mp_seg *sg, int first, struct mv_buf *bytes,
    char *cs, size_t cssz)
{
	struct mv_buf raw;
	size_t off = 0;
	int rc;

	mv_buf_init(&raw, 0);
	if (mp_unquote(&raw, sg->v, sg->vlen, sg->quoted) == -1) {
		mv_buf_free(&raw);
		return -1;
	}
	if (raw.data == NULL)
		rc = 0;
	else if (!sg->ext)
		rc = mv_buf_append(bytes, raw.data, raw.len);
	else {
		if (first && sg->idx == 0)
			off = mp_charset(raw.data, raw.len, cs, cssz);
		rc = mp_pct(bytes, raw.data + off, raw.len - off);
	}
	mv_buf_free(&raw);
	return rc;
}

/* name*0, name*1*, ...: sorted, duplicates dropped (first wins), gaps
 * tolerated. Plain-only sections may hold RFC 2047 words. */
static char *
mp_segments(struct mp_found *f)
{
	struct mv_buf bytes;
	char cs[EW_CSMAX + 1], *res = NULL;
	size_t i;
	int any_ext = 0;

	cs[0] = '\0';
	qsort(f->segs, f->nseg, sizeof(*f->segs), mp_seg_cmp);
	mv_buf_init(&bytes, 0);
	for (i = 0; i < f->nseg; i++) {
		if (i > 0 && f->segs[i].idx == f->segs[i - 1].idx)
			continue;
		any_ext |= f->segs[i].ext;
		if (mp_seg_put(&f->segs[i], i == 0, &bytes, cs,
		    sizeof(cs)) == -1)
			goto out;
	}
	if (any_ext)
		res = mp_finish(&bytes, cs);
	else
		res = rfc2047_decode(bytes.data ? bytes.data : "", bytes.len);
out:
	mv_buf_free(&bytes);
	return res;
}

/* name=value: unquoted, then RFC 2047 words decoded. */
static char *
mp_plain_value(const struct mp_found *f)
{
	struct mv_buf raw;
	char *res = NULL;

	mv_buf_init(&raw, 0);
	if (mp_unquote(&raw, f->plain, f->plainlen, f->plainq) == 0)
		res = rfc2047_decode(raw.data ? raw.data : "", raw.len);
	mv_buf_free(&raw);
	return res;
}

char *
mime_param(const char *value, const char *name)
{
	struct mp_found f;
	char *res = NULL;

	if (value == NULL || name == NULL || *name == '\0')
		return NULL;
	memset(&f, 0, sizeof(f));
	if (mp_scan(value, name, &f) == 0) {
		if (f.have_ext)
			res = mp_ext_value(&f);
		else if (f.nseg > 0)
			res = mp_segments(&f);
		else if (f.have_plain)
			res = mp_plain_value(&f);
	}
	free(f.segs);
	return res;
}

/* 1 for an RFC 2045 token character. */
static int
mt_token(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

char *
mime_media_type(const char *value)
{
	const char *p, *t, *st;
	size_t tlen, stlen, i;
	char *res;

	if (value == NULL)
		return strdup("text/plain");
	p = mp_skip_ws(value);
	for (t = p; mt_token((unsigned char)*p); p++)
		;
	tlen = (size_t)(p - t);
	p = mp_skip_ws(p);
	if (tlen == 0 || *p != '/')
		return strdup("text/plain");
	p = mp_skip_ws(p + 1);
	for (st = p; mt_token((unsigned char)*p); p++)
		;
	if ((stlen = (size_t)(p - st)) == 0)
		return strdup("text/plain");
	if ((res = malloc(tlen + stlen + 2)) == NULL)
		return NULL;
	for (i = 0; i < tlen; i++)
		res[i] = (char)tolower((unsigned char)t[i]);
	res[tlen] = '/';
	for (i = 0; i < stlen; i++)
		res[tlen + 1 + i] = (char)tolower((unsigned char)st[i]);
	res[tlen + 1 + stlen] = '\0';
	return res;
}
