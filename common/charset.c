/* Charset names, aliases and conversion of text to UTF-8 with iconv. */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/buf.h"
#include "shared/utf8.h"
#include "common/charset.h"

#define CS_NAMEMAX	64	/* longer charset names are not charsets */
#define CS_CACHE	8	/* resolved charsets kept per thread */
#define CS_CHUNK	8192	/* iconv output chunk */

static const char cs_fffd[] = "\xef\xbf\xbd";

/* How a charset is converted: windows-1252 by cs_w1252() (never fails),
 * UTF-8 by mv_utf8_sanitize(), HZ-GB-2312 rewritten to GB bytes for
 * iconv, the rest by iconv. */
enum cs_kind {
	CS_W1252,
	CS_UTF8,
	CS_ICONV,
	CS_HZ,
};

/* A charset name after alias mapping: the name given to iconv, whether it
 * is 7-bit with escapes (ISO-2022-*, UTF-7, HZ), and its code unit when
 * it is UTF-16 (2) or UTF-32 (4). */
struct cs_info {
	enum cs_kind	 kind;
	char		 name[CS_NAMEMAX];
	int		 stateful7;
	int		 wide;
};

/* Names iconv lacks or mislabels, keyed by their compact form (lower case,
 * no '-', '_', '.', ':' or space). */
static const struct cs_alias {
	const char	*key;
	const char	*name;
} cs_aliases[] = {
	{ "usascii", "WINDOWS-1252" }, { "ascii", "WINDOWS-1252" },
	{ "ansix341968", "WINDOWS-1252" }, { "iso646us", "WINDOWS-1252" },
	{ "us", "WINDOWS-1252" }, { "cp367", "WINDOWS-1252" },
	{ "iso88591", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" },
	{ "l1", "WINDOWS-1252" }, { "isoir100", "WINDOWS-1252" },
	{ "cp819", "WINDOWS-1252" }, { "ibm819", "WINDOWS-1252" },
	{ "csisolatin1", "WINDOWS-1252" }, { "iso885911987", "WINDOWS-1252" },
	{ "cp1252", "WINDOWS-1252" }, { "windows1252", "WINDOWS-1252" },
	{ "xcp1252", "WINDOWS-1252" }, { "unknown8bit", "WINDOWS-1252" },
	{ "utf8", "UTF-8" }, { "unicode11utf8", "UTF-8" },
	{ "xunicode20utf8", "UTF-8" },
	{ "ksc56011987", "CP949" }, { "ksc5601", "CP949" },
	{ "ksc56011989", "CP949" }, { "euckr", "CP949" },
	{ "cseuckr", "CP949" }, { "windows949", "CP949" },
	{ "cp949", "CP949" }, { "uhc", "CP949" },
	{ "xsjis", "CP932" }, { "shiftjis", "CP932" }, { "sjis", "CP932" },
	{ "mskanji", "CP932" }, { "csshiftjis", "CP932" },
	{ "windows31j", "CP932" }, { "cp932", "CP932" },
	{ "xmscp932", "CP932" },
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "xgbk", "GB18030" },
	{ "cp936", "GB18030" }, { "euccn", "GB18030" },
	{ "gb231280", "GB18030" }, { "csgb2312", "GB18030" },
	{ "chinese", "GB18030" }, { "ms936", "GB18030" },
	{ "windows936", "GB18030" }, { "gb18030", "GB18030" },
	{ "big5", "BIG5-HKSCS" }, { "xxbig5", "BIG5-HKSCS" },
	{ "cnbig5", "BIG5-HKSCS" }, { "csbig5", "BIG5-HKSCS" },
	{ "big5hkscs", "BIG5-HKSCS" },
	{ "iso88598i", "ISO-8859-8" }, { "iso88598e", "ISO-8859-8" },
	{ "csiso88598i", "ISO-8859-8" },
	{ "iso88596i", "ISO-8859-6" }, { "iso88596e", "ISO-8859-6" },
	{ "xmacroman", "MACINTOSH" }, { "macintosh", "MACINTOSH" },
	{ "mac", "MACINTOSH" }, { "xmac", "MACINTOSH" },
	{ "macroman", "MACINTOSH" }, { "csmacintosh", "MACINTOSH" },
	{ "unicode11utf7", "UTF-7" }, { "utf7", "UTF-7" },
	{ "xutf7", "UTF-7" },
	{ "iso88599", "WINDOWS-1254" }, { "latin5", "WINDOWS-1254" },
	{ "iso885911", "WINDOWS-874" }, { "tis620", "WINDOWS-874" },
	{ "dos874", "WINDOWS-874" },
	{ "hzgb2312", "HZ" }, { "hz", "HZ" },
	{ "unicode", "UTF-16" }, { "ucs2", "UTF-16" },
	{ "ucs4", "UTF-32" },
	{ "iso2022jp1", "ISO-2022-JP-2" },
};

/* The decoding of bytes 0x80-0x9f in windows-1252 (WHATWG: the five
 * unassigned bytes give the C1 control of the same value). */
static const unsigned short cs_w1252_hi[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

/* A resolved charset, keyed by its trimmed name; cd is (iconv_t)-1 when
 * iconv does not convert it. */
struct cs_slot {
	char		 key[CS_NAMEMAX];
	struct cs_info	 info;
	iconv_t		 cd;
	int		 used;
};

/* Per thread: iconv_t handles keep conversion state. */
static _Thread_local struct cs_slot cs_cache[CS_CACHE];
static _Thread_local unsigned int cs_next;

/*
 * Copies charset into buf trimmed of whitespace and quotes. Returns 0, or
 * -1 when it is empty, too long or holds a character no charset name has
 * (which also keeps iconv suffixes such as "//IGNORE" out).
 */
static int
cs_clean(const char *charset, char *buf, size_t bufsz)
{
	const char *s = charset, *e;
	size_t n, i;

	if (s == NULL)
		return -1;
	e = s + strlen(s);
	while (s < e && (isspace((unsigned char)*s) || *s == '"' ||
	    *s == '\''))
		s++;
	while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '"' ||
	    e[-1] == '\''))
		e--;
	n = (size_t)(e - s);
	if (n == 0 || n >= bufsz)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && strchr("-_.:+ ", c) == NULL)
			return -1;
		buf[i] = (char)c;
	}
	buf[n] = '\0';
	return 0;
}

/* The compact form of a clean name: lower case, punctuation dropped. */
static void
cs_compact(const char *name, char *buf)
{
	for (; *name; name++)
		if (isalnum((unsigned char)*name))
			*buf++ = (char)tolower((unsigned char)*name);
	*buf = '\0';
}

/* Fills info for a clean charset name (aliases mapped, kind decided). */
static void
cs_resolve(const char *name, struct cs_info *info)
{
	char key[CS_NAMEMAX];
	const char *target = name;
	size_t i;

	cs_compact(name, key);
	for (i = 0; i < sizeof(cs_aliases) / sizeof(cs_aliases[0]); i++)
		if (strcmp(cs_aliases[i].key, key) == 0) {
			target = cs_aliases[i].name;
			break;
		}
	/* target is never longer than name or an alias: it fits */
	(void)strlcpy(info->name, target, sizeof(info->name));
	cs_compact(info->name, key);
	info->kind = CS_ICONV;
	if (strcmp(key, "windows1252") == 0)
		info->kind = CS_W1252;
	else if (strcmp(key, "utf8") == 0)
		info->kind = CS_UTF8;
	else if (strcmp(key, "hz") == 0)
		info->kind = CS_HZ;
	info->stateful7 = strncmp(key, "iso2022", 7) == 0 ||
	    strcmp(key, "utf7") == 0 || info->kind == CS_HZ;
	info->wide = 0;
	if (strncmp(key, "utf16", 5) == 0)
		info->wide = 2;
	else if (strncmp(key, "utf32", 5) == 0)
		info->wide = 4;
}

/*
 * The cache slot for charset: resolved, with an iconv handle when iconv
 * converts it. An unknown, missing or odd name resolves to windows-1252.
 * Never fails.
 */
static struct cs_slot *
cs_lookup(const char *charset)
{
	char name[CS_NAMEMAX];
	struct cs_slot *sl;
	unsigned int i;

	if (cs_clean(charset, name, sizeof(name)) == -1)
		(void)strlcpy(name, "windows-1252", sizeof(name));
	for (i = 0; i < CS_CACHE; i++)
		if (cs_cache[i].used && strcmp(cs_cache[i].key, name) == 0)
			return &cs_cache[i];
	sl = &cs_cache[cs_next++ % CS_CACHE];
	if (sl->used && sl->cd != (iconv_t)-1)
		iconv_close(sl->cd);
	memcpy(sl->key, name, sizeof(sl->key));
	sl->used = 1;
	sl->cd = (iconv_t)-1;
	cs_resolve(name, &sl->info);
	if (sl->info.kind == CS_HZ)
		sl->cd = iconv_open("UTF-8", "GB18030");
	else if (sl->info.kind == CS_ICONV &&
	    (sl->cd = iconv_open("UTF-8", sl->info.name)) == (iconv_t)-1)
		sl->info.kind = CS_W1252;	/* unknown: the fallback */
	return sl;
}

int
charset_known(const char *charset)
{
	char name[CS_NAMEMAX];
	struct cs_slot *sl;

	if (cs_clean(charset, name, sizeof(name)) == -1)
		return 0;
	sl = cs_lookup(name);
	if (sl->info.kind == CS_W1252)
		return strcmp(sl->info.name, "WINDOWS-1252") == 0;
	return sl->info.kind != CS_HZ || sl->cd != (iconv_t)-1;
}

/* windows-1252 to UTF-8: every byte maps; NUL becomes U+FFFD. */
static char *
cs_w1252(const unsigned char *p, size_t len, size_t *outlen)
{
	char *out, *o;
	unsigned int u;
	size_t i;

	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i < len; i++) {
		u = p[i];
		if (u == 0) {
			memcpy(o, cs_fffd, 3);
			o += 3;
			continue;
		}
		if (u < 0x80) {
			*o++ = (char)u;
			continue;
		}
		if (u < 0xa0)
			u = cs_w1252_hi[u - 0x80];
		if (u < 0x800) {
			*o++ = (char)(0xc0 | (u >> 6));
		} else {
			*o++ = (char)(0xe0 | (u >> 12));
			*o++ = (char)(0x80 | ((u >> 6) & 0x3f));
		}
		*o++ = (char)(0x80 | (u & 0x3f));
	}
	*o = '\0';
	if (outlen)
		*outlen = (size_t)(o - out);
	return out;
}

/* Appends n converted bytes, each NUL turned into U+FFFD. */
static int
cs_put(struct mv_buf *b, const char *s, size_t n)
{
	const char *z;

	while (n > 0 && (z = memchr(s, '\0', n)) != NULL) {
		if (mv_buf_append(b, s, (size_t)(z - s)) == -1 ||
		    mv_buf_append(b, cs_fffd, 3) == -1)
			return -1;
		n -= (size_t)(z - s) + 1;
		s = z + 1;
	}
	return mv_buf_append(b, s, n);
}

/*
 * Runs iconv over in[0..len) into b, chunk by chunk. An invalid sequence
 * gives U+FFFD and skips one code unit (unit bytes); then the shift state
 * is reset when resync is set, or kept, unless the very next byte fails
 * too (the state the bad unit left is then wrong: read it again from the
 * initial state, never a U+FFFD per byte to the end). A truncated sequence
 * at the end gives U+FFFD. Returns 0, or -1 when out of memory.
 */
static int
cs_iconv(iconv_t cd, const char *in, size_t len, size_t unit, int resync,
    struct mv_buf *b)
{
	char chunk[CS_CHUNK], *ip = (char *)(uintptr_t)in, *op;
	const char *skipped = NULL;	/* where the last bad unit ended */
	size_t ileft = len, oleft, r, skip;
	int err;

	(void)iconv(cd, NULL, NULL, NULL, NULL);
	while (ileft > 0) {
		op = chunk;
		oleft = sizeof(chunk);
		r = iconv(cd, &ip, &ileft, &op, &oleft);
		err = errno;
		if (cs_put(b, chunk, (size_t)(op - chunk)) == -1)
			return -1;
		if (r != (size_t)-1 || err == E2BIG)
			continue;
		if (err == EILSEQ && ip == skipped) {
			/* Stuck right after a bad unit: the shift state it
			 * left (UTF-7 inside base64, say) is wrong. Read the
			 * byte again from the initial state. */
			(void)iconv(cd, NULL, NULL, NULL, NULL);
			skipped = NULL;
			continue;
		}
		if (mv_buf_append(b, cs_fffd, 3) == -1)
			return -1;
		if (err != EILSEQ)
			break;		/* EINVAL: truncated at the end */
		skip = ileft < unit ? ileft : unit;
		ip += skip;
		ileft -= skip;
		skipped = ip;
		if (resync)
			(void)iconv(cd, NULL, NULL, NULL, NULL);
	}
	op = chunk;
	oleft = sizeof(chunk);
	(void)iconv(cd, NULL, NULL, &op, &oleft);
	return cs_put(b, chunk, (size_t)(op - chunk));
}

/* Appends the GB2312 bytes of an HZ two-byte code, or 0xff (which
 * GB18030 rejects, giving U+FFFD) for a malformed one. Returns the number
 * of input bytes used. */
static size_t
cs_hz_pair(const unsigned char *p, size_t left, unsigned char **o)
{
	if (left >= 2 && p[0] >= 0x21 && p[0] <= 0x7e && p[1] >= 0x21 &&
	    p[1] <= 0x7e) {
		*(*o)++ = p[0] | 0x80;
		*(*o)++ = p[1] | 0x80;
		return 2;
	}
	*(*o)++ = 0xff;
	return 1;
}

/*
 * Rewrites HZ (RFC 1843) as GB2312 bytes for iconv: "~{" enters GB mode,
 * "~}" leaves it, "~~" is '~', "~" before a line end joins the lines.
 * Anything malformed becomes 0xff. Returns a new buffer (caller frees) of
 * *outlen bytes (never more than len), NULL when out of memory.
 */
static unsigned char *
cs_hz_to_gb(const unsigned char *p, size_t len, size_t *outlen)
{
	unsigned char *out, *o;
	size_t i = 0;
	int gb = 0;

	if ((out = o = malloc(len + 1)) == NULL)
		return NULL;
	while (i < len) {
		if (p[i] == '~' && i + 1 < len &&
		    p[i + 1] == (gb ? '}' : '{')) {
			gb = !gb;
			i += 2;
		} else if (!gb && p[i] == '~' && i + 1 < len &&
		    p[i + 1] == '~') {
			*o++ = '~';
			i += 2;
		} else if (!gb && p[i] == '~' && i + 1 < len &&
		    p[i + 1] == '\n') {
			i += 2;
		} else if (p[i] == '\n' || p[i] == '\r') {
			gb = 0;		/* GB mode never spans lines */
			*o++ = p[i++];
		} else if (gb)
			i += cs_hz_pair(p + i, len - i, &o);
		else {
			*o++ = (p[i] < 0x80 && p[i] != '~') ? p[i] : 0xff;
			i++;
		}
	}
	*outlen = (size_t)(o - out);
	return out;
}

/* Steals b's bytes as the result string, repairing them if iconv ever
 * let an ill-formed sequence through. NULL when out of memory. */
static char *
cs_finish(struct mv_buf *b, size_t *outlen)
{
	char *s, *fixed;
	size_t n;

	if ((s = mv_buf_steal(b, &n)) == NULL)
		return NULL;
	if (!mv_utf8_valid(s, n)) {
		fixed = mv_utf8_sanitize(s, n, &n);
		free(s);
		if ((s = fixed) == NULL)
			return NULL;
	}
	if (outlen)
		*outlen = n;
	return s;
}

/* Converts with iconv handle cd; the result as for charset_convert(). */
static char *
cs_run(iconv_t cd, const char *data, size_t len, size_t unit, int resync,
    size_t *outlen)
{
	struct mv_buf b;

	mv_buf_init(&b, 0);
	if (cs_iconv(cd, data, len, unit, resync, &b) == -1) {
		mv_buf_free(&b);
		return NULL;
	}
	return cs_finish(&b, outlen);
}

/* The charset a byte order mark names for a UTF-16 (wide 2) or UTF-32
 * (wide 4) text, with the mark's length in *bomlen; NULL when none. */
static const char *
cs_bom(const unsigned char *p, size_t len, int wide, size_t *bomlen)
{
	*bomlen = (size_t)wide;
	if (wide == 4 && len >= 4 && memcmp(p, "\xff\xfe\0\0", 4) == 0)
		return "UTF-32LE";
	if (wide == 4 && len >= 4 && memcmp(p, "\0\0\xfe\xff", 4) == 0)
		return "UTF-32BE";
	if (wide == 2 && len >= 2 && memcmp(p, "\xff\xfe", 2) == 0)
		return "UTF-16LE";
	if (wide == 2 && len >= 2 && memcmp(p, "\xfe\xff", 2) == 0)
		return "UTF-16BE";
	return NULL;
}

/* UTF-16 and UTF-32: a byte order mark overrides the declared order and
 * is dropped. */
static char *
cs_wide(struct cs_slot *sl, const char *data, size_t len, size_t *outlen)
{
	const char *bom;
	size_t skip;
	int wide = sl->info.wide;

	bom = cs_bom((const unsigned char *)data, len, wide, &skip);
	if (bom != NULL) {
		sl = cs_lookup(bom);
		data += skip;
		len -= skip;
	}
	if (sl->cd == (iconv_t)-1)
		return cs_w1252((const unsigned char *)data, len, outlen);
	return cs_run(sl->cd, data, len, (size_t)wide, 0, outlen);
}

/* Converts strictly from the slot's charset. */
static char *
cs_decode(struct cs_slot *sl, const char *data, size_t len, size_t *outlen)
{
	unsigned char *gb;
	size_t gblen;
	char *s;

	switch (sl->info.kind) {
	case CS_UTF8:
		return mv_utf8_sanitize(data, len, outlen);
	case CS_HZ:
		if (sl->cd == (iconv_t)-1)
			break;
		gb = cs_hz_to_gb((const unsigned char *)data, len, &gblen);
		if (gb == NULL)
			return NULL;
		s = cs_run(sl->cd, (const char *)gb, gblen, 1, 0, outlen);
		free(gb);
		return s;
	case CS_ICONV:
		if (sl->info.wide)
			return cs_wide(sl, data, len, outlen);
		/* A broken UTF-7 base64 run ends there, as in Python's
		 * decoder; ISO-2022 keeps its state (one bad byte in a
		 * kanji run spoils one character). */
		return cs_run(sl->cd, data, len, 1,
		    strcmp(sl->info.name, "UTF-7") == 0, outlen);
	case CS_W1252:
		break;
	}
	return cs_w1252((const unsigned char *)data, len, outlen);
}

char *
charset_convert(const char *data, size_t len, const char *charset,
    size_t *outlen)
{
	if (data == NULL)
		len = 0;
	return cs_decode(cs_lookup(charset), data ? data : "", len, outlen);
}

/* 1 when every byte is 7-bit. */
static int
cs_is_7bit(const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)data[i] >= 0x80)
			return 0;
	return 1;
}

/* 1 when 7-bit text holds the escapes of its stateful charset: ESC for
 * ISO-2022, '+' starting a base64 run or "+-" for UTF-7, "~{" for HZ. */
static int
cs_has_escapes(const struct cs_info *info, const char *data, size_t len)
{
	const char *p;
	size_t i;

	if (info->kind == CS_HZ)
		return memmem(data, len, "~{", 2) != NULL;
	if (strcmp(info->name, "UTF-7") != 0)
		return memchr(data, 0x1b, len) != NULL;
	for (i = 0; i + 1 < len; i++) {
		if (data[i] != '+')
			continue;
		p = data + i + 1;
		if (isalnum((unsigned char)*p) || *p == '+' || *p == '/' ||
		    *p == '-')
			return 1;
	}
	return 0;
}

/*
 * Whether a text declared in sl's charset must be converted although its
 * bytes may be valid UTF-8: 7-bit stateful charsets whose escapes are
 * present, and UTF-16/UTF-32 text with a byte order mark or NUL bytes
 * (which UTF-8 text never has, and UTF-16 text almost always has).
 */
static int
cs_must_convert(const struct cs_slot *sl, const char *data, size_t len)
{
	size_t bomlen;

	if (sl->info.stateful7)
		return cs_is_7bit(data, len) &&
		    cs_has_escapes(&sl->info, data, len);
	if (sl->info.wide)
		return memchr(data, '\0', len) != NULL ||
		    cs_bom((const unsigned char *)data, len, sl->info.wide,
		    &bomlen) != NULL;
	return 0;
}

char *
charset_text_to_utf8(const char *data, size_t len, const char *charset,
    size_t *outlen)
{
	struct cs_slot *sl;
	char *s;

	if (data == NULL) {
		data = "";
		len = 0;
	}
	sl = cs_lookup(charset);
	if (cs_must_convert(sl, data, len) || !mv_utf8_valid(data, len))
		return cs_decode(sl, data, len, outlen);
	if (memchr(data, '\0', len) != NULL)
		return mv_utf8_sanitize(data, len, outlen);
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(s, data, len);
	s[len] = '\0';
	if (outlen)
		*outlen = len;
	return s;
}
