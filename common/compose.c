/* RFC 5322 messages with MIME bodies and attachments, for send_email. */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "shared/b64.h"
#include "shared/buf.h"
#include "shared/utf8.h"
#include "common/compose.h"

#define HDR_WIDTH	78	/* folded header lines stay within this */
#define EW_MAX		75	/* longest RFC 2047 encoded word */
#define EW_OVERHEAD	12	/* "=?UTF-8?B?" and "?=" */
#define QP_WIDTH	76	/* longest quoted-printable or 7bit line */
#define LINE_MAX_8BIT	998	/* RFC 5322 §2.1.1 */
#define ADDR_MAX	254	/* RFC 5321 path limit, less the brackets */
#define MSGID_MAX	900
#define NAME_PLAIN_MAX	60	/* longer names go as encoded words */
#define PCT_ROOM	(HDR_WIDTH - 1)	/* a parameter on a line of its own */
#define SHOW_MAX	100	/* bytes of a bad value quoted in a message */
#define BOUNDARY_RAND	12	/* random bytes in a boundary */
#define BOUNDARY_SIZE	(5 + 2 * BOUNDARY_RAND + 1)

/* Writes go through this: out of memory is noted once and checked at
 * the end, which keeps the writers short. */
struct out {
	struct mv_buf	b;
	int		oom;
};

/* One header field being written, for folding. */
struct hdr {
	struct out	*o;
	size_t		 col;	/* characters on the current line */
	int		 bare;	/* nothing yet after "Name:" */
};

/* A leaf MIME part: its headers, a blank line, its encoded content. */
struct part {
	char	*data;
	size_t	 len;
};

/* An attachment between stat() and reading. */
struct att {
	const char	*path;
	char		*fname;		/* basename, repaired to UTF-8 */
	const char	*type;
	size_t		 size;
};

static const struct {
	const char	*ext;
	const char	*type;
} mime_types[] = {
	{ "csv", "text/csv" },
	{ "doc", "application/msword" },
	{ "docx", "application/vnd.openxmlformats-officedocument."
	    "wordprocessingml.document" },
	{ "eml", "message/rfc822" },
	{ "gif", "image/gif" },
	{ "gz", "application/gzip" },
	{ "htm", "text/html" },
	{ "html", "text/html" },
	{ "ics", "text/calendar" },
	{ "jpeg", "image/jpeg" },
	{ "jpg", "image/jpeg" },
	{ "json", "application/json" },
	{ "md", "text/markdown" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
	{ "pdf", "application/pdf" },
	{ "png", "image/png" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "pptx", "application/vnd.openxmlformats-officedocument."
	    "presentationml.presentation" },
	{ "svg", "image/svg+xml" },
	{ "tar", "application/x-tar" },
	{ "tgz", "application/gzip" },
	{ "txt", "text/plain" },
	{ "wav", "audio/wav" },
	{ "webp", "image/webp" },
	{ "xls", "application/vnd.ms-excel" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument."
	    "spreadsheetml.sheet" },
	{ "xml", "application/xml" },
	{ "zip", "application/zip" },
};

static void
out_init(struct out *o)
{
	mv_buf_init(&o->b, 0);
	o->oom = 0;
}

static void
out_add(struct out *o, const void *p, size_t n)
{
	if (!o->oom && mv_buf_append(&o->b, p, n) == -1)
		o->oom = 1;
}

static void
out_puts(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* Drops what was written after mark (a length of the buffer). */
static void
out_rewind(struct out *o, size_t mark)
{
	if (o->b.data != NULL && mark <= o->b.len) {
		o->b.len = mark;
		o->b.data[mark] = '\0';
	}
}

/* 0, or -1 with err when a write ran out of memory. */
static int
out_check(struct out *o, struct mv_err *err)
{
	if (!o->oom)
		return 0;
	return mv_err_set(err, MV_E_INTERNAL, "composing the message: "
	    "out of memory");
}

static int
too_large(struct mv_err *err, size_t n)
{
	return mv_err_set(err, MV_E_INVALID_ARGUMENT, "message too large "
	    "(%zu bytes, Gmail's limit is 35 MiB)", n);
}

/* Copies s[0..n) into dst for an error message: control characters
 * become '?', and a long value is cut at a character boundary with
 * "...". The value is not a secret; this only keeps messages tidy. */
static const char *
show(char *dst, size_t dstsz, const char *s, size_t n)
{
	size_t i, cut = n;

	if (cut > dstsz - 4) {
		cut = dstsz - 4;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	for (i = 0; i < cut; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	strcpy(dst + cut, cut < n ? "..." : "");
	return dst;
}

/* 1 when s has only printable ASCII (space included), and tabs when
 * tab is set. */
static int
plain_ascii(const char *s, int tab)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && !(tab && *s == '\t')) ||
		    (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int
has_crlf(const char *s, size_t n)
{
	return memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL;
}

/* Fills buf with 2n lowercase hex digits of random bytes (n <= 16).
 * Returns 0, or -1 with errno. */
static int
rand_hex(char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	ssize_t got;
	size_t i;

	do
		got = getrandom(r, n, 0);
	while (got == -1 && errno == EINTR);
	if (got != (ssize_t)n)
		return -1;
	for (i = 0; i < n; i++) {
		buf[2 * i] = hex[r[i] >> 4];
		buf[2 * i + 1] = hex[r[i] & 15];
	}
	buf[2 * n] = '\0';
	return 0;
}

static void
hdr_begin(struct hdr *h, struct out *o, const char *name)
{
	h->o = o;
	h->col = strlen(name) + 1;
	h->bare = 1;
	out_puts(o, name);
	out_puts(o, ":");
}

/* Writes a space and tok, folding first when tok and the reserve (what
 * will be glued after it) would pass the width. Never folds right after
 * the field name. */
static void
hdr_token(struct hdr *h, const char *tok, size_t len, size_t reserve)
{
	if (!h->bare && h->col + 1 + len + reserve > HDR_WIDTH) {
		out_puts(h->o, "\r\n");
		h->col = 0;
	}
	out_puts(h->o, " ");
	out_add(h->o, tok, len);
	h->col += 1 + len;
	h->bare = 0;
}

/* Glues s to the last token (a comma or a semicolon). */
static void
hdr_glue(struct hdr *h, const char *s)
{
	out_puts(h->o, s);
	h->col += strlen(s);
}

static void
hdr_end(struct hdr *h)
{
	out_puts(h->o, "\r\n");
}

/* The longest prefix of s[0..n) made of whole UTF-8 characters whose
 * encoded word takes at most max characters; 0 when none fits. */
static size_t
ew_take(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cap, i = 0, l;

	if (max < EW_OVERHEAD + 4)
		return 0;
	cap = (max - EW_OVERHEAD) / 4 * 3;
	while (i < n) {
		if ((l = mv_utf8_seqlen(p + i, n - i)) == 0)
			l = 1;
		if (i + l > cap)
			break;
		i += l;
	}
	return i;
}

/*
 * Writes s[0..n) (n > 0) as RFC 2047 B-encoded UTF-8 words of at most 75
 * characters, filling the current line and folding between words, never
 * inside a UTF-8 character. pre is glued to the first word and post to
 * the last (the quotes of a parameter value); reserve as for hdr_token.
 */
static void
hdr_encoded(struct hdr *h, const char *s, size_t n, const char *pre,
    const char *post, size_t reserve)
{
	char tok[EW_MAX + 32], *b64;
	size_t room, extra, take;

	while (n > 0) {
		extra = strlen(pre) + strlen(post) + reserve + 1;
		room = h->col + extra < HDR_WIDTH ?
		    HDR_WIDTH - h->col - extra : 0;
		if (room > EW_MAX)
			room = EW_MAX;
		if ((take = ew_take(s, n, room)) == 0)
			take = ew_take(s, n, EW_MAX);	/* on a new line */
		if ((b64 = mv_b64_encode(s, take, 0, 1)) == NULL) {
			h->o->oom = 1;
			return;
		}
		snprintf(tok, sizeof(tok), "%s=?UTF-8?B?%s?=%s", pre, b64,
		    take == n ? post : "");
		free(b64);
		hdr_token(h, tok, strlen(tok), take == n ? reserve : 0);
		s += take;
		n -= take;
		pre = "";
	}
}

/* Writes ASCII text, keeping its white space, folded before white space.
 * Returns -1 when a line would still pass the width (part of the text
 * is then written: the caller rewinds). */
static int
hdr_text(struct hdr *h, const char *s)
{
	size_t i = 0, j;

	while (s[i] != '\0') {
		j = i;
		while (s[j] == ' ' || s[j] == '\t')
			j++;
		while (s[j] != '\0' && s[j] != ' ' && s[j] != '\t')
			j++;
		/* A folded line must not hold white space alone. */
		if (i > 0 && h->col + (j - i) > HDR_WIDTH &&
		    s[j - 1] != ' ' && s[j - 1] != '\t') {
			out_puts(h->o, "\r\n");
			h->col = 0;
		}
		if (h->col + (j - i) > HDR_WIDTH)
			return -1;
		out_add(h->o, s + i, j - i);
		h->col += j - i;
		i = j;
	}
	return 0;
}

/*
 * The Subject field: ASCII folded at white space when it can be, else
 * (non-ASCII, control characters, text that looks like an encoded word,
 * or a word too long to fold) encoded words. Errors: invalid_argument.
 */
static int
put_subject(struct out *o, const char *subj, struct mv_err *err)
{
	struct hdr h;
	size_t n = strlen(subj), mark;

	if (has_crlf(subj, n))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "header "
		    "injection refused: the subject contains CR or LF");
	if (!mv_utf8_valid(subj, n))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "subject is not "
		    "valid UTF-8");
	hdr_begin(&h, o, "Subject");
	mark = o->b.len;
	if (n > 0 && (!plain_ascii(subj, 1) || strstr(subj, "=?") != NULL ||
	    (hdr_glue(&h, " "), hdr_text(&h, subj)) == -1)) {
		out_rewind(o, mark);
		h.col = strlen("Subject:");
		h.bare = 1;
		hdr_encoded(&h, subj, n, "", "", 0);
	}
	hdr_end(&h);
	return 0;
}

/* Writes a display name: atoms when it can, a quoted string when it has
 * specials, encoded words when it is not plain ASCII or is long. */
static void
hdr_name(struct hdr *h, const char *name)
{
	size_t n = strlen(name), i, j;
	char *q;

	if (!plain_ascii(name, 0) || strstr(name, "=?") ||
	    n > NAME_PLAIN_MAX) {
		hdr_encoded(h, name, n, "", "", 0);
		return;
	}
	if (strpbrk(name, "()<>[]:;@\\,.\"") != NULL) {
		if ((q = malloc(2 * n + 3)) == NULL) {
			h->o->oom = 1;
			return;
		}
		q[0] = '"';
		for (i = 0, j = 1; i < n; i++) {
			if (name[i] == '"' || name[i] == '\\')
				q[j++] = '\\';
			q[j++] = name[i];
		}
		q[j++] = '"';
		hdr_token(h, q, j, 0);
		free(q);
		return;
	}
	for (i = 0; i < n; i = j) {
		for (; name[i] == ' '; i++)
			;
		for (j = i; name[j] != '\0' && name[j] != ' '; j++)
			;
		if (j > i)
			hdr_token(h, name + i, j - i, 0);
	}
}

/* Finds the next comma-separated element of an address list; commas
 * inside quotes or angle brackets do not count. Returns 0 at the end. */
static int
list_next(const char **sp, const char **start, size_t *len)
{
	const char *s = *sp;
	int quoted = 0, angle = 0;

	if (*s == '\0')
		return 0;
	for (*start = s; *s != '\0'; s++) {
		if (quoted) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '"')
				quoted = 0;
		} else if (*s == '"')
			quoted = 1;
		else if (*s == '<')
			angle = 1;
		else if (*s == '>')
			angle = 0;
		else if (*s == ',' && !angle)
			break;
	}
	*len = (size_t)(s - *start);
	*sp = *s == ',' ? s + 1 : s;
	return 1;
}

/* Why a is not an address we send to, or NULL when it is one. */
static const char *
addr_check(const char *a)
{
	const char *p, *at = NULL;
	size_t n = strlen(a);

	if (n == 0)
		return "empty address";
	if (n > ADDR_MAX)
		return "address longer than 254 characters";
	for (p = a; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			return "non-ASCII address (write an internationalised "
			    "domain in its xn-- form)";
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "space or control character in the address";
		if (strchr("\"(),:;<>[\\]", *p) != NULL)
			return "quotes, brackets, commas, colons, semicolons "
			    "and backslashes are not allowed in an address";
		if (*p == '@' && at != NULL)
			return "more than one '@' in the address";
		if (*p == '@')
			at = p;
	}
	if (at == NULL)
		return "no '@' in the address";
	if (at == a || at[1] == '\0')
		return "empty local part or domain";
	return NULL;
}

/* Removes the quotes and backslash escapes of a wholly quoted name. */
static void
unquote(char *s)
{
	size_t n = strlen(s), i, j;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return;
	for (i = 1, j = 0; i < n - 1; i++) {
		if (s[i] == '\\' && i + 1 < n - 1)
			i++;
		s[j++] = s[i];
	}
	s[j] = '\0';
}

/* Cuts white space off both ends of s in place; returns the new start. */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/*
 * Splits a trimmed list element, "Name <a@b>", "<a@b>" or "a@b", in
 * place into a display name (unquoted; "" when none) and an address.
 * Returns NULL, or why the element is not an address.
 */
static const char *
addr_split(char *e, char **name, char **spec)
{
	char *p, *lt = NULL;
	size_t n = strlen(e), nlt = 0, ngt = 0;
	int quoted = 0;

	for (p = e; *p != '\0'; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '<')
			nlt++, lt = p;
		else if (!quoted && *p == '>')
			ngt++;
	}
	if (nlt > 1 || ngt > 1 || nlt != ngt || (lt && e[n - 1] != '>'))
		return "stray '<' or '>': write Name <address>";
	if (lt == NULL) {
		*name = e + n;
		*spec = e;
	} else {
		e[n - 1] = '\0';
		*lt = '\0';
		*spec = lt + 1;
		*name = trim(e);
		unquote(*name);
	}
	if (!mv_utf8_valid(*name, strlen(*name)))
		return "display name is not valid UTF-8";
	return addr_check(*spec);
}

/* Reports a bad recipient: its option, index and value. */
static int
addr_error(struct mv_err *err, const char *opt, size_t idx,
    const char *elem, size_t len, const char *why)
{
	char v[SHOW_MAX + 4];

	show(v, sizeof(v), elem, len);
	if (strcmp(opt, "from") == 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "From address "
		    "\"%s\": %s", v, why);
	return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--%s recipient %zu "
	    "\"%s\": %s", opt, idx, v, why);
}

/* Writes one list element (elem[0..len)) as an address of the field. */
static int
put_addr(struct hdr *h, const char *opt, size_t idx, const char *elem,
    size_t len, struct mv_err *err)
{
	char *copy, *name, *spec, *tok;
	const char *why;
	int first = h->bare;

	if (has_crlf(elem, len))
		return addr_error(err, opt, idx, elem, len, "header injection "
		    "refused (CR or LF)");
	if ((copy = strndup(elem, len)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	if ((why = addr_split(copy, &name, &spec)) != NULL) {
		free(copy);
		return addr_error(err, opt, idx, elem, len, why);
	}
	if (!first)
		hdr_glue(h, ",");
	hdr_name(h, name);
	if (*name == '\0')
		hdr_token(h, spec, strlen(spec), 1);
	else if (asprintf(&tok, "<%s>", spec) == -1)
		h->o->oom = 1;
	else {
		hdr_token(h, tok, strlen(tok), 1);
		free(tok);
	}
	free(copy);
	return 0;
}

/*
 * Writes the addresses of vals[0..n) (each one address or a list) into
 * the field and adds their number to *count. Errors: invalid_argument
 * naming the option, the recipient's index (from 1) and its value.
 */
static int
put_addrs(struct hdr *h, const char *opt, const char *const *vals, size_t n,
    size_t *count, struct mv_err *err)
{
	const char *s, *start;
	size_t i, len, k = 0, before;
	char v[SHOW_MAX + 4];

	for (i = 0; i < n; i++) {
		s = vals[i] != NULL ? vals[i] : "";
		before = k;
		while (list_next(&s, &start, &len)) {
			while (len > 0 && (*start == ' ' || *start == '\t'))
				start++, len--;
			while (len > 0 && (start[len - 1] == ' ' ||
			    start[len - 1] == '\t'))
				len--;
			if (len == 0)
				continue;
			if (put_addr(h, opt, ++k, start, len, err) == -1)
				return -1;
		}
		if (k == before)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT, "--%s "
			    "value \"%s\" holds no address", opt, show(v,
			    sizeof(v), vals[i] ? vals[i] : "", vals[i] ?
			    strlen(vals[i]) : 0));
	}
	*count += k;
	return 0;
}

/* One address field (To, Cc, Bcc, From), left out when n is 0. */
static int
put_field(struct out *o, const char *field, const char *opt,
    const char *const *vals, size_t n, size_t *count, struct mv_err *err)
{
	struct hdr h;

	if (n == 0)
		return 0;
	hdr_begin(&h, o, field);
	if (put_addrs(&h, opt, vals, n, count, err) == -1)
		return -1;
	hdr_end(&h);
	return 0;
}

/* Why tok (a msg-id with its brackets) is not one, or NULL. */
static const char *
msgid_check(const char *tok, size_t n)
{
	size_t i;

	if (n > MSGID_MAX)
		return "longer than 900 characters";
	if (n < 3 || tok[0] != '<' || tok[n - 1] != '>')
		return "not of the form <id@host>";
	for (i = 1; i < n - 1; i++)
		if ((unsigned char)tok[i] <= ' ' ||
		    (unsigned char)tok[i] >= 0x7f || tok[i] == '<' ||
		    tok[i] == '>')
			return "only printable ASCII without spaces or "
			    "brackets may appear in a message id";
	if (memchr(tok, '@', n) == NULL)
		return "no '@' in the message id";
	return NULL;
}

/*
 * Appends the msg-ids of value (separated by white space or commas;
 * brackets added where missing) to list as " <id>". Errors:
 * invalid_argument naming what (the option) and the bad value.
 */
static int
msgids_parse(struct out *list, const char *what, const char *value,
    struct mv_err *err)
{
	const char *s = value, *why;
	char v[SHOW_MAX + 4], *tok;
	size_t n, found = 0;
	int wrap;

	if (has_crlf(value, strlen(value)))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "header "
		    "injection refused: %s contains CR or LF", what);
	for (;;) {
		s += strspn(s, " \t,");
		if ((n = strcspn(s, " \t,")) == 0)
			break;
		wrap = s[0] != '<';
		if (asprintf(&tok, "%s%.*s%s", wrap ? "<" : "", (int)n, s,
		    wrap ? ">" : "") == -1)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		if ((why = msgid_check(tok, strlen(tok))) != NULL) {
			free(tok);
			return mv_err_set(err, MV_E_INVALID_ARGUMENT, "%s "
			    "\"%s\": %s", what, show(v, sizeof(v), s, n), why);
		}
		out_puts(list, " ");
		out_puts(list, tok);
		free(tok);
		found++;
		s += n;
	}
	if (found == 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "%s is empty",
		    what);
	return 0;
}

/* Writes a field from a list of " <id>" tokens. */
static void
put_msgid_field(struct out *o, const char *field, const char *list)
{
	struct hdr h;
	size_t n;

	hdr_begin(&h, o, field);
	while (*list == ' ') {
		list++;
		n = strcspn(list, " ");
		hdr_token(&h, list, n, 0);
		list += n;
	}
	hdr_end(&h);
}

/* 1 when list (" <a> <b>") holds id (n bytes, brackets included). */
static int
msgid_listed(const struct out *list, const char *id, size_t n)
{
	const char *p = list->b.data;
	size_t l;

	while (p != NULL && *p == ' ') {
		l = strcspn(++p, " ");
		if (l == n && memcmp(p, id, n) == 0)
			return 1;
		p += l;
	}
	return 0;
}

/*
 * In-Reply-To and References. References is the given list with the
 * In-Reply-To ids it lacks appended (RFC 5322 §3.6.4: the parent comes
 * last), or In-Reply-To alone. Errors: invalid_argument, internal.
 */
static int
put_threading(struct out *o, const struct compose *m, struct mv_err *err)
{
	struct out irt, refs;
	const char *p;
	size_t n;
	int rc = -1;

	out_init(&irt);
	out_init(&refs);
	if (m->in_reply_to && msgids_parse(&irt, "in_reply_to",
	    m->in_reply_to, err) == -1)
		goto done;
	if (m->references && msgids_parse(&refs, "references", m->references,
	    err) == -1)
		goto done;
	for (p = irt.b.data; p != NULL && *p == ' '; p += n + 1) {
		n = strcspn(p + 1, " ");
		if (!msgid_listed(&refs, p + 1, n))
			out_add(&refs, p, n + 1);
	}
	if (irt.oom || refs.oom) {
		rc = mv_err_set(err, MV_E_INTERNAL, "out of memory");
		goto done;
	}
	if (irt.b.len > 0)
		put_msgid_field(o, "In-Reply-To", irt.b.data);
	if (refs.b.len > 0)
		put_msgid_field(o, "References", refs.b.data);
	rc = 0;
done:
	mv_buf_free(&irt.b);
	mv_buf_free(&refs.b);
	return rc;
}

/* 1 when d looks like a host name (letters, digits, dots, hyphens). */
static int
domain_ok(const char *d)
{
	size_t n = strlen(d);

	return n > 0 && n <= 253 && strspn(d, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

/* Date (RFC 5322 §3.3, in UTC) and Message-ID. */
static int
put_date_id(struct out *o, const struct compose *m, struct mv_err *err)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char mons[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char *dom = m->message_id_domain ? m->message_id_domain :
	    "mailvisor.local";
	char line[600], hex[33], v[SHOW_MAX + 4];
	time_t t = m->date ? m->date : time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1900)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "date out of "
		    "range");
	if (!domain_ok(dom))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "message id "
		    "domain \"%s\" is not a host name", show(v, sizeof(v), dom,
		    strlen(dom)));
	if (rand_hex(hex, 16) == -1)
		return mv_err_set(err, MV_E_INTERNAL, "getrandom: %s",
		    strerror(errno));
	snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d "
	    "+0000\r\nMessage-ID: <%s@%s>\r\n", days[tm.tm_wday], tm.tm_mday,
	    mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, hex, dom);
	out_puts(o, line);
	return 0;
}

/*
 * The header block down to References (no MIME fields). Errors:
 * invalid_argument (bad address, subject, message id; no recipient).
 */
static int
put_headers(struct out *o, const struct compose *m, struct mv_err *err)
{
	size_t nfrom = 0, nrcpt = 0;

	if (put_date_id(o, m, err) == -1)
		return -1;
	if (m->from && put_field(o, "From", "from", &m->from, 1, &nfrom,
	    err) == -1)
		return -1;
	if (nfrom > 1)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "From must be "
		    "one address, not %zu", nfrom);
	if (put_field(o, "To", "to", m->to, m->nto, &nrcpt, err) == -1 ||
	    put_field(o, "Cc", "cc", m->cc, m->ncc, &nrcpt, err) == -1 ||
	    put_field(o, "Bcc", "bcc", m->bcc, m->nbcc, &nrcpt, err) == -1)
		return -1;
	if (nrcpt == 0)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "no recipient: "
		    "give --to, --cc or --bcc");
	if (m->subject && put_subject(o, m->subject, err) == -1)
		return -1;
	return put_threading(o, m, err);
}

/* s[0..n) with every CR, LF and CRLF made CRLF. Returns a new buffer
 * (caller frees) and its length, or NULL when out of memory. */
static char *
crlf(const char *s, size_t n, size_t *outlen)
{
	char *d, *o;
	size_t i;

	if (n > ((size_t)-1 - 1) / 2 || (d = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (i = 0, o = d; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			*o++ = '\r';
			*o++ = '\n';
			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	*outlen = (size_t)(o - d);
	return d;
}

/* 1 when CRLF text can go as 7bit: printable ASCII and tabs in lines of
 * at most 76 characters. */
static int
text_is_7bit(const char *s, size_t n)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {	/* always CRLF here */
			i++;
			col = 0;
			continue;
		}
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    (unsigned char)s[i] > 0x7e || ++col > QP_WIDTH)
			return 0;
	}
	return 1;
}

/*
 * Quoted-printable (RFC 2045 §6.7) of CRLF text: '=', control and 8-bit
 * bytes, and white space at a line end are encoded; lines are kept to 76
 * characters with soft breaks that never split an =XX.
 */
static void
qp_encode(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	char esc[3];
	size_t i, col = 0, w;
	int eol, enc;

	for (i = 0; i < n; i++) {
		if ((c = (unsigned char)s[i]) == '\r') {
			out_puts(o, "\r\n");
			i++;
			col = 0;
			continue;
		}
		eol = i + 1 == n || s[i + 1] == '\r';
		enc = c == '=' || (c < 0x20 && c != '\t') || c > 0x7e ||
		    ((c == ' ' || c == '\t') && eol);
		w = enc ? 3 : 1;
		if (col + w > QP_WIDTH - 1 && !(eol && col + w <= QP_WIDTH)) {
			out_puts(o, "=\r\n");
			col = 0;
		}
		esc[0] = enc ? '=' : (char)c;
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		out_add(o, esc, w);
		col += w;
	}
}

/* Hands the written bytes over to p. */
static int
part_take(struct part *p, struct out *o, struct mv_err *err)
{
	if (out_check(o, err) == -1) {
		mv_buf_free(&o->b);
		return -1;
	}
	p->data = mv_buf_steal(&o->b, &p->len);
	return p->data ? 0 : mv_err_set(err, MV_E_INTERNAL, "out of memory");
}

/* A text/plain or text/html part of UTF-8 text, 7bit or
 * quoted-printable. Errors: invalid_argument "<what> is not valid
 * UTF-8", internal. */
static int
text_part(struct part *p, const char *type, const char *s, size_t n,
    const char *what, struct mv_err *err)
{
	struct out o;
	char *t;
	size_t len;

	if (!mv_utf8_valid(s, n))
		return mv_err_set(err, MV_E_INVALID_ARGUMENT, "%s is not "
		    "valid UTF-8", what);
	if ((t = crlf(s, n, &len)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	out_init(&o);
	out_puts(&o, "Content-Type: ");
	out_puts(&o, type);
	out_puts(&o, "; charset=UTF-8\r\n");
	if (text_is_7bit(t, len)) {
		out_puts(&o, "Content-Transfer-Encoding: 7bit\r\n\r\n");
		out_add(&o, t, len);
	} else {
		out_puts(&o, "Content-Transfer-Encoding: quoted-printable\r\n"
		    "\r\n");
		qp_encode(&o, t, len);
	}
	free(t);
	return part_take(p, &o, err);
}

/* Content-Type of a file name, from its extension. */
static const char *
att_type(const char *fname)
{
	const char *dot = strrchr(fname, '.');
	size_t i;

	if (dot == NULL || dot == fname)
		return "application/octet-stream";
	for (i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
		if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
			return mime_types[i].type;
	return "application/octet-stream";
}

/* 1 when a file name can go as a plain quoted string. */
static int
fname_plain(const char *s)
{
	return plain_ascii(s, 0) && strlen(s) <= NAME_PLAIN_MAX &&
	    strpbrk(s, "\"\\") == NULL;
}

/* RFC 2231 attribute-char, as narrowed by RFC 5987 (what goes as is). */
static int
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$&+-.^_`|~", c));
}

/* Appends the RFC 2231 %-encoding of s[0..n) to o. */
static void
pct_encode(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	char esc[3];
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		esc[0] = attr_char(c) ? (char)c : '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		out_add(o, esc, attr_char(c) ? 1 : 3);
	}
}

/* Bytes of s[0..n) whose %-encoding fits in max characters, in whole
 * UTF-8 characters (at least one). */
static size_t
pct_take(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, w = 0, l, k, cw;

	while (i < n) {
		if ((l = mv_utf8_seqlen(p + i, n - i)) == 0)
			l = 1;
		for (k = 0, cw = 0; k < l; k++)
			cw += attr_char(p[i + k]) ? 1 : 3;
		if (i > 0 && w + cw > max)
			break;
		w += cw;
		i += l;
	}
	return i;
}

/* Writes t as a token and empties it. */
static void
hdr_token_out(struct hdr *h, struct out *t)
{
	if (!t->oom)
		hdr_token(h, t->b.data, t->b.len, 0);
	h->o->oom |= t->oom;
	out_rewind(t, 0);
}

/*
 * The filename parameter of Content-Disposition: filename="..." when
 * plain, else RFC 2231 filename*=UTF-8''%XX, split into continuations
 * (filename*0*=UTF-8''..., filename*1*=...) between characters when long.
 */
static void
hdr_filename(struct hdr *h, const char *name)
{
	struct out t;
	size_t len = strlen(name), i, k, n;
	char pfx[40];

	out_init(&t);
	if (fname_plain(name)) {
		out_puts(&t, "filename=\"");
		out_puts(&t, name);
		out_puts(&t, "\"");
		hdr_token_out(h, &t);
	} else if (pct_take(name, len, PCT_ROOM - 17) == len) {
		out_puts(&t, "filename*=UTF-8''");
		pct_encode(&t, name, len);
		hdr_token_out(h, &t);
	} else {
		for (i = 0, k = 0; i < len; i += n, k++) {
			snprintf(pfx, sizeof(pfx), "filename*%zu*=%s", k,
			    k == 0 ? "UTF-8''" : "");
			/* a line holds " ", pfx, the segment and ";" */
			n = pct_take(name + i, len - i, PCT_ROOM - 1 -
			    strlen(pfx));
			out_puts(&t, pfx);
			pct_encode(&t, name + i, n);
			if (i + n < len)
				out_puts(&t, ";");
			hdr_token_out(h, &t);
		}
	}
	mv_buf_free(&t.b);
}

/* The Content-Type and Content-Disposition fields of an attachment. */
static void
att_headers(struct out *o, const struct att *a, const char *type)
{
	struct hdr h;
	char *q;

	hdr_begin(&h, o, "Content-Type");
	hdr_token(&h, type, strlen(type), 1);
	hdr_glue(&h, ";");
	if (!fname_plain(a->fname))
		hdr_encoded(&h, a->fname, strlen(a->fname), "name=\"", "\"",
		    0);
	else if (asprintf(&q, "name=\"%s\"", a->fname) == -1)
		o->oom = 1;
	else {
		hdr_token(&h, q, strlen(q), 0);
		free(q);
	}
	hdr_end(&h);
	hdr_begin(&h, o, "Content-Disposition");
	hdr_token(&h, "attachment", strlen("attachment"), 1);
	hdr_glue(&h, ";");
	hdr_filename(&h, a->fname);
	hdr_end(&h);
}

/* Whether a message file can travel as message/rfc822, which allows no
 * base64 (RFC 2046 §5.2.1): CRLF lines of at most 998 bytes, no NUL.
 * Returns 0 (no), 7 or 8 (the transfer encoding it needs). */
static int
eml_bits(const char *s, size_t n)
{
	size_t i, col = 0;
	int bits = 7;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			i++;
			col = 0;
			continue;
		}
		if (s[i] == '\0' || ++col > LINE_MAX_8BIT)
			return 0;
		if ((unsigned char)s[i] >= 0x80)
			bits = 8;
	}
	return bits;
}

/* An attachment part from the file's bytes. A .eml goes as
 * message/rfc822 when it can, else as application/octet-stream. */
static int
att_part(struct part *p, const struct att *a, const char *data, size_t n,
    struct mv_err *err)
{
	struct out o;
	char *t = NULL, *b64;
	size_t tlen = 0;
	int bits = 0;

	out_init(&o);
	if (strcmp(a->type, "message/rfc822") == 0) {
		if ((t = crlf(data, n, &tlen)) == NULL)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		bits = eml_bits(t, tlen);
	}
	att_headers(&o, a, bits || t == NULL ? a->type :
	    "application/octet-stream");
	if (bits) {
		out_puts(&o, bits == 8 ? "Content-Transfer-Encoding: 8bit\r\n"
		    "\r\n" : "Content-Transfer-Encoding: 7bit\r\n\r\n");
		out_add(&o, t, tlen);
	} else if ((b64 = mv_b64_encode_mime(data, n)) == NULL)
		o.oom = 1;
	else {
		/* The delimiter that follows brings the last CRLF. */
		out_puts(&o, "Content-Transfer-Encoding: base64\r\n\r\n");
		out_add(&o, b64, strlen(b64) >= 2 ? strlen(b64) - 2 : 0);
		free(b64);
	}
	free(t);
	return part_take(p, &o, err);
}

/* Stats an attachment and fills a. Errors: no_input (missing, not a
 * regular file), internal. */
static int
att_stat(struct att *a, const char *path, struct mv_err *err)
{
	struct stat st;
	const char *base;
	char v[SHOW_MAX + 4];

	memset(a, 0, sizeof(*a));
	a->path = path;
	show(v, sizeof(v), path, strlen(path));
	if (stat(path, &st) == -1)
		return mv_err_set(err, MV_E_NO_INPUT, "attachment \"%s\": %s",
		    v, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return mv_err_set(err, MV_E_NO_INPUT, "attachment \"%s\": not "
		    "a regular file", v);
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if ((a->fname = mv_utf8_sanitize(base, strlen(base), NULL)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	a->type = att_type(a->fname);
	a->size = (size_t)st.st_size;
	return 0;
}

/* Reads an attachment and encodes it into p. Errors: no_input,
 * invalid_argument (too large), internal. */
static int
att_load(struct part *p, const struct att *a, struct mv_err *err)
{
	char *data, v[SHOW_MAX + 4];
	size_t n;
	int rc;

	if ((data = mv_read_file(a->path, COMPOSE_MAX_MESSAGE, &n)) == NULL) {
		if (errno == EMSGSIZE)
			return too_large(err, COMPOSE_MAX_MESSAGE + (size_t)1);
		return mv_err_set(err, MV_E_NO_INPUT, "attachment \"%s\": %s",
		    show(v, sizeof(v), a->path, strlen(a->path)),
		    strerror(errno));
	}
	rc = att_part(p, a, data, n, err);
	free(data);
	return rc;
}

/* Size of mv_b64_encode_mime() output for n bytes. */
static size_t
b64_mime_len(size_t n)
{
	size_t chars = (n + 2) / 3 * 4;

	return chars + (chars + 75) / 76 * 2;
}

/* Picks a boundary found in none of the parts nor equal to other. The
 * "=_" in it cannot come out of base64 or quoted-printable; 7bit and
 * 8bit content is searched. Returns 0, or -1 with err. */
static int
boundary_pick(char *b, const struct part *parts, size_t n,
    const char *other, struct mv_err *err)
{
	size_t i, tries;

	for (tries = 0; tries < 16; tries++) {
		memcpy(b, "=_mv_", 5);
		if (rand_hex(b + 5, BOUNDARY_RAND) == -1)
			return mv_err_set(err, MV_E_INTERNAL, "getrandom: %s",
			    strerror(errno));
		if (other != NULL && strcmp(b, other) == 0)
			continue;
		for (i = 0; i < n; i++)
			if (memmem(parts[i].data, parts[i].len, b,
			    strlen(b)) != NULL)
				break;
		if (i == n)
			return 0;
	}
	return mv_err_set(err, MV_E_INTERNAL, "no free MIME boundary");
}

static void
multipart_open(struct out *o, const char *subtype, const char *b)
{
	out_puts(o, "Content-Type: multipart/");
	out_puts(o, subtype);
	out_puts(o, ";\r\n boundary=\"");
	out_puts(o, b);
	out_puts(o, "\"\r\n\r\n");
}

/* Writes parts[0..n) as the body parts of a multipart entity, freeing
 * each once written. */
static void
multipart_body(struct out *o, const char *b, struct part *parts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out_puts(o, i == 0 ? "--" : "\r\n--");
		out_puts(o, b);
		out_puts(o, "\r\n");
		out_add(o, parts[i].data, parts[i].len);
		free(parts[i].data);
		parts[i].data = NULL;
	}
	out_puts(o, "\r\n--");
	out_puts(o, b);
	out_puts(o, "--");
}

/*
 * Writes the MIME structure: one part alone; text and html as
 * multipart/alternative; with attachments, multipart/mixed holding the
 * body part(s) first. parts: nbody body parts, then the attachments.
 */
static int
put_body(struct out *o, struct part *parts, size_t nbody, size_t natt,
    struct mv_err *err)
{
	char mixed[BOUNDARY_SIZE], alt[BOUNDARY_SIZE];
	size_t n = nbody + natt;

	out_puts(o, "MIME-Version: 1.0\r\n");
	if (natt == 0 && nbody == 1) {
		out_add(o, parts[0].data, parts[0].len);
		return 0;
	}
	if (boundary_pick(alt, parts, n, NULL, err) == -1 ||
	    boundary_pick(mixed, parts, n, alt, err) == -1)
		return -1;
	if (natt == 0) {
		multipart_open(o, "alternative", alt);
		multipart_body(o, alt, parts, n);
	} else {
		multipart_open(o, "mixed", mixed);
		if (nbody == 2) {
			out_puts(o, "--");
			out_puts(o, mixed);
			out_puts(o, "\r\n");
			multipart_open(o, "alternative", alt);
			multipart_body(o, alt, parts, 2);
			/* the close delimiter ends without CRLF */
			out_puts(o, "\r\n");
			multipart_body(o, mixed, parts + 2, natt);
		} else
			multipart_body(o, mixed, parts, n);
	}
	out_puts(o, "\r\n");
	return 0;
}

/* The text and html parts (an empty text one when the message has
 * nothing else) into parts[0..*nbody). */
static int
body_parts(struct part *parts, const struct compose *m, size_t *nbody,
    struct mv_err *err)
{
	*nbody = 0;
	if (m->body_text || (m->body_html == NULL && m->nattach == 0)) {
		if (text_part(&parts[0], "text/plain", m->body_text ?
		    m->body_text : "", m->body_text ? m->body_text_len : 0,
		    "body", err) == -1)
			return -1;
		(*nbody)++;
	}
	if (m->body_html) {
		if (text_part(&parts[*nbody], "text/html", m->body_html,
		    m->body_html_len, "html body", err) == -1)
			return -1;
		(*nbody)++;
	}
	return 0;
}

/* Stats every attachment, then reads those that can fit. sofar: the
 * size of everything else. Errors: no_input, invalid_argument. */
static int
att_parts(struct part *parts, struct att *atts, const struct compose *m,
    size_t sofar, struct mv_err *err)
{
	size_t i, est = sofar;

	for (i = 0; i < m->nattach; i++) {
		if (att_stat(&atts[i], m->attach[i] ? m->attach[i] : "",
		    err) == -1)
			return -1;
		if (atts[i].size > COMPOSE_MAX_MESSAGE)	/* sums stay small */
			return too_large(err, sofar +
			    b64_mime_len(atts[i].size));
		est += b64_mime_len(atts[i].size);
	}
	/* A lower bound (part headers left out): refuse before reading. */
	if (est > COMPOSE_MAX_MESSAGE)
		return too_large(err, est);
	for (i = 0; i < m->nattach; i++)
		if (att_load(&parts[i], &atts[i], err) == -1)
			return -1;
	return 0;
}

char *
compose_message(const struct compose *m, size_t *lenp, struct mv_err *err)
{
	struct out o;
	struct part *parts;
	struct att *atts;
	size_t nbody = 0, i, sofar;
	char *msg = NULL;

	mv_err_clear(err);
	out_init(&o);
	parts = calloc(m->nattach + 2, sizeof(*parts));
	atts = calloc(m->nattach + 1, sizeof(*atts));
	if (parts == NULL || atts == NULL) {
		mv_err_set(err, MV_E_INTERNAL, "out of memory");
		goto done;
	}
	if (put_headers(&o, m, err) == -1 || out_check(&o, err) == -1)
		goto done;
	sofar = o.b.len + (m->body_text ? m->body_text_len : 0) +
	    (m->body_html ? m->body_html_len : 0);
	if (sofar > COMPOSE_MAX_MESSAGE) {
		too_large(err, sofar);
		goto done;
	}
	if (body_parts(parts, m, &nbody, err) == -1)
		goto done;
	for (i = 0, sofar = o.b.len; i < nbody; i++)
		sofar += parts[i].len;
	if (att_parts(parts + nbody, atts, m, sofar, err) == -1 ||
	    put_body(&o, parts, nbody, m->nattach, err) == -1 ||
	    out_check(&o, err) == -1)
		goto done;
	if (o.b.len > COMPOSE_MAX_MESSAGE)
		too_large(err, o.b.len);
	else if ((msg = mv_buf_steal(&o.b, lenp)) == NULL)
		mv_err_set(err, MV_E_INTERNAL, "out of memory");
done:
	for (i = 0; parts != NULL && i < m->nattach + 2; i++)
		free(parts[i].data);
	for (i = 0; atts != NULL && i < m->nattach; i++)
		free(atts[i].fname);
	free(parts);
	free(atts);
	mv_buf_free(&o.b);
	return msg;
}

char *
compose_request(const struct compose_req *o, size_t *len,
    struct mv_err *err)
{
	struct compose m;
	char *text = NULL, *html = NULL, *msg;
	size_t tlen = 0, hlen = 0;

	if (o->raw_file) {
		if (o->nto || o->ncc || o->nbcc || o->subject || o->body ||
		    o->body_file || o->html_file || o->nattach ||
		    o->in_reply_to) {
			mv_err_set(err, MV_E_INVALID_ARGUMENT, "--raw_file "
			    "sends a whole message: it excludes --to, --cc, "
			    "--bcc, --subject, --body, --body_file, --html_file, "
			    "--attach and --in_reply_to");
			return NULL;
		}
		if ((msg = mv_read_file(o->raw_file, COMPOSE_MAX_MESSAGE, len)) == NULL)
			mv_err_set(err, errno == EMSGSIZE ?
			    MV_E_INVALID_ARGUMENT : MV_E_NO_INPUT,
			    "--raw_file %.200s: %s", o->raw_file,
			    errno == EMSGSIZE ? "larger than 35 MiB" :
			    strerror(errno));
		return msg;
	}
	if (o->nto + o->ncc + o->nbcc == 0) {
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "send_email needs a "
		    "recipient: --to, --cc or --bcc (or --raw_file)");
		return NULL;
	}
	if (o->body && o->body_file) {
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "--body and --body_file "
		    "exclude each other");
		return NULL;
	}
	if (o->body_file && (text = mv_read_file(o->body_file, COMPOSE_MAX_MESSAGE,
	    &tlen)) == NULL) {
		mv_err_set(err, MV_E_NO_INPUT, "--body_file %.200s: %s",
		    o->body_file, strerror(errno));
		return NULL;
	}
	if (o->html_file && (html = mv_read_file(o->html_file, COMPOSE_MAX_MESSAGE,
	    &hlen)) == NULL) {
		mv_err_set(err, MV_E_NO_INPUT, "--html_file %.200s: %s",
		    o->html_file, strerror(errno));
		free(text);
		return NULL;
	}
	memset(&m, 0, sizeof(m));
	m.from = o->from;
	m.to = o->to;
	m.nto = o->nto;
	m.cc = o->cc;
	m.ncc = o->ncc;
	m.bcc = o->bcc;
	m.nbcc = o->nbcc;
	m.subject = o->subject;
	m.body_text = text ? text : o->body;
	m.body_text_len = text ? tlen : o->body ? strlen(o->body) : 0;
	m.body_html = html;
	m.body_html_len = hlen;
	m.attach = o->attach;
	m.nattach = o->nattach;
	m.in_reply_to = o->in_reply_to;
	m.date = time(NULL);
	msg = compose_message(&m, len, err);
	free(text);
	free(html);
	return msg;
}
