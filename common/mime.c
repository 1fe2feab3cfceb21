/* Gmail Message resources (format full, metadata, raw) to EMAIL objects:
 * a bounded part tree, then one walk over it that fills the object. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/b64.h"
#include "shared/buf.h"
#include "shared/log.h"
#include "shared/mvtime.h"
#include "shared/utf8.h"
#include "common/addr.h"
#include "common/charset.h"
#include "common/date.h"
#include "common/html2text.h"
#include "common/mime.h"
#include "common/rfc2047.h"
#include "shared/str.h"

/*
 * Bounds: parts deeper than MIME_DEPTH_MAX (the top-level part is at depth
 * 0) and parts past MIME_PARTS_MAX in all (top level included) are left
 * out of the tree, silently: a hostile message loses its excess, never
 * the process.
 *
 * Which parts are attachments: a leaf part with a filename, with
 * Content-Disposition: attachment, or of any media type other than
 * text/plain and text/html (an image, a PDF, a calendar invitation, a
 * delivery report...: a user cannot see those otherwise), and every
 * message/rfc822 part (an attached message). inline is true for a
 * disposition of inline, or for no disposition and a Content-ID (the
 * images of multipart/related). Text parts without a filename and
 * without "attachment" are bodies, chosen or not, never attachments.
 */
#define MIME_DEPTH_MAX	64
#define MIME_PARTS_MAX	10000

enum mime_disp {
	DISP_NONE,
	DISP_INLINE,
	DISP_ATTACHMENT,
};

enum mime_cte {
	CTE_IDENTITY,
	CTE_BASE64,
	CTE_QP,
};

struct mime_hdr {
	char		*name;
	char		*value;
	size_t		 vlen;
};

struct mime_part {
	struct mime_part *parent;
	struct mime_part *child;	/* first child */
	struct mime_part *last;		/* last child */
	struct mime_part *next;		/* next sibling */
	struct mime_part *allnext;	/* creation order, for build and free */
	int		 depth;
	int		 nested;	/* inside an attached message */
	char		*type;		/* media type, lower case */
	struct mime_hdr	*hdrs;
	size_t		 nhdrs;
	char		*filename;	/* decoded; NULL: none */
	enum mime_disp	 disp;
	char		*cid;		/* without <>; NULL: none */
	char		*charset;	/* NULL: none declared */
	/* format raw: the entity (headers and body) and its body */
	const char	*src;
	size_t		 srclen;
	const char	*body;
	size_t		 bodylen;
	enum mime_cte	 cte;
	char		*owned;		/* decoded content of message/rfc822 */
	/* format full/metadata: the MessagePart and its body (borrowed) */
	json_t		*jpart;
	json_t		*jbody;
	const char	*attach_id;
	json_int_t	 size;
};

struct mime_tree {
	enum mime_format  fmt;
	const char	 *msgid;	/* for log lines */
	struct mime_part *root;
	struct mime_part *tail;		/* last created, for allnext */
	size_t		  nparts;
	char		 *raw;		/* decoded `raw`, or the bytes given */
	size_t		  rawlen;
	int		  raw_borrowed;	/* raw is the caller's */
};

/* Parts and headers. */

static void
part_free(struct mime_part *p)
{
	size_t i;

	for (i = 0; i < p->nhdrs; i++) {
		free(p->hdrs[i].name);
		free(p->hdrs[i].value);
	}
	free(p->hdrs);
	free(p->type);
	free(p->filename);
	free(p->cid);
	free(p->charset);
	free(p->owned);
	free(p);
}

static void
tree_free(struct mime_tree *t)
{
	struct mime_part *p, *n;

	for (p = t->root; p != NULL; p = n) {
		n = p->allnext;
		part_free(p);
	}
	if (!t->raw_borrowed)
		free(t->raw);
	t->root = t->tail = NULL;
	t->raw = NULL;
}

/* A new part, last child of parent (NULL: the top level). NULL when the
 * tree is full, the parent is at the depth bound, or out of memory. */
static struct mime_part *
part_new(struct mime_tree *t, struct mime_part *parent)
{
	struct mime_part *p;

	if (t->nparts >= MIME_PARTS_MAX)
		return NULL;
	if (parent != NULL && parent->depth >= MIME_DEPTH_MAX)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (parent != NULL) {
		p->parent = parent;
		p->depth = parent->depth + 1;
		p->nested = parent->nested;
		if (parent->last != NULL)
			parent->last->next = p;
		else
			parent->child = p;
		parent->last = p;
	}
	if (t->tail != NULL)
		t->tail->allnext = p;
	else
		t->root = p;
	t->tail = p;
	t->nparts++;
	return p;
}

/* The part after p in document order (depth first), or NULL. */
static struct mime_part *
part_next(const struct mime_part *p)
{
	if (p->child != NULL)
		return p->child;
	for (; p != NULL; p = p->parent)
		if (p->next != NULL)
			return p->next;
	return NULL;
}

/* Adds a header (copied). Returns 0, or -1 when out of memory. */
static int
part_add_hdr(struct mime_part *p, const char *name, size_t nl,
    const char *value, size_t vl)
{
	struct mime_hdr *h;

	if ((p->nhdrs & (p->nhdrs - 1)) == 0) {	/* 0, 1, 2, 4...: grow */
		h = reallocarray(p->hdrs, p->nhdrs ? p->nhdrs * 2 : 1,
		    sizeof(*h));
		if (h == NULL)
			return -1;
		p->hdrs = h;
	}
	h = &p->hdrs[p->nhdrs];
	h->name = strndup(name, nl);
	if ((h->value = malloc(vl + 1)) != NULL) {
		memcpy(h->value, value, vl);
		h->value[vl] = '\0';
	}
	h->vlen = vl;
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		return -1;
	}
	p->nhdrs++;
	return 0;
}

/* The first header called name (case-insensitive), or NULL. Borrowed. */
static const struct mime_hdr *
part_hdr(const struct mime_part *p, const char *name)
{
	size_t i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < p->nhdrs; i++)
		if (strcasecmp(p->hdrs[i].name, name) == 0)
			return &p->hdrs[i];
	return NULL;
}

static const char *
part_hval(const struct mime_part *p, const char *name)
{
	const struct mime_hdr *h = part_hdr(p, name);

	return h ? h->value : NULL;
}

static int
mime_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s[0..*n) without surrounding whitespace. */
static const char *
mime_trim(const char *s, size_t *n)
{
	while (*n > 0 && mime_ws((unsigned char)s[0])) {
		s++;
		(*n)--;
	}
	while (*n > 0 && mime_ws((unsigned char)s[*n - 1]))
		(*n)--;
	return s;
}

/* The disposition type of a Content-Disposition value. */
static enum mime_disp
mime_disp_type(const char *v)
{
	size_t n;

	if (v == NULL)
		return DISP_NONE;
	n = strcspn(v, ";");
	v = mime_trim(v, &n);
	if (n == 10 && strncasecmp(v, "attachment", 10) == 0)
		return DISP_ATTACHMENT;
	if (n == 6 && strncasecmp(v, "inline", 6) == 0)
		return DISP_INLINE;
	return DISP_NONE;
}

/* A Content-ID without its angle brackets; NULL when empty. New. */
static char *
mime_cid(const char *v)
{
	size_t n;

	if (v == NULL)
		return NULL;
	n = strlen(v);
	v = mime_trim(v, &n);
	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		v++;
		n -= 2;
	}
	v = mime_trim(v, &n);
	return n > 0 ? strndup(v, n) : NULL;
}

/* Frees s and returns NULL when it is empty. */
static char *
mime_nonempty(char *s)
{
	if (s != NULL && s[0] == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

/*
 * Fills what the walk needs from a part's headers: charset, disposition,
 * Content-ID and filename (gmail_name, Gmail's own decoded filename, when
 * not empty; else the filename or name parameter, RFC 2231/2047 decoded).
 */
static void
part_describe(struct mime_part *p, const char *gmail_name)
{
	const char *ct = part_hval(p, "Content-Type");
	const char *cd = part_hval(p, "Content-Disposition");

	p->charset = ct ? mime_nonempty(mime_param(ct, "charset")) : NULL;
	p->disp = mime_disp_type(cd);
	p->cid = mime_cid(part_hval(p, "Content-ID"));
	if (gmail_name != NULL && gmail_name[0] != '\0')
		p->filename = rfc2047_decode(gmail_name, strlen(gmail_name));
	if (p->filename == NULL && cd != NULL)
		p->filename = mime_param(cd, "filename");
	if (p->filename == NULL && ct != NULL)
		p->filename = mime_param(ct, "name");
	p->filename = mime_nonempty(p->filename);
}

static int
part_is_type(const struct mime_part *p, const char *type)
{
	return p->type != NULL && strcmp(p->type, type) == 0;
}

static int
part_is_multipart(const struct mime_part *p)
{
	return p->type != NULL && strncmp(p->type, "multipart/", 10) == 0;
}

static int
part_is_message(const struct mime_part *p)
{
	return part_is_type(p, "message/rfc822") ||
	    part_is_type(p, "message/global");
}

/* 1 when the part is listed in attachments (see the top comment). */
static int
part_is_attachment(const struct mime_part *p)
{
	if (part_is_message(p))
		return 1;
	if (part_is_multipart(p))
		return 0;
	if (p->filename != NULL || p->disp == DISP_ATTACHMENT)
		return 1;
	return !part_is_type(p, "text/plain") && !part_is_type(p, "text/html");
}

/* 1 when the part can be the body of that type. */
static int
part_is_body(const struct mime_part *p, const char *type)
{
	return part_is_type(p, type) && !part_is_attachment(p);
}

/* The first body of the type in document order, among the message's own
 * parts only (nested: 0) or among all; NULL when none. */
static struct mime_part *
tree_first(const struct mime_tree *t, const char *type, int nested)
{
	struct mime_part *p;

	for (p = t->root; p != NULL; p = part_next(p))
		if ((nested || !p->nested) && part_is_body(p, type))
			return p;
	return NULL;
}

/* The parts read as body_text and body_html. The message's own parts
 * win; an attached message's bodies stand in only when the message has
 * neither (a forward with nothing of its own), so that both bodies always
 * come from the same message. */
static void
tree_bodies(const struct mime_tree *t, struct mime_part **plain,
    struct mime_part **html)
{
	*plain = tree_first(t, "text/plain", 0);
	*html = tree_first(t, "text/html", 0);
	if (*plain == NULL && *html == NULL) {
		*plain = tree_first(t, "text/plain", 1);
		*html = tree_first(t, "text/html", 1);
	}
}

/* Format full and metadata: the tree from `payload`. */

/* Copies a MessagePart's headers, skipping entries of the wrong type.
 * Returns 0, or -1 when out of memory. */
static int
json_part_headers(struct mime_part *p, json_t *headers)
{
	json_t *h, *n, *v;
	size_t i;

	if (!json_is_array(headers))
		return 0;
	json_array_foreach(headers, i, h) {
		n = json_object_get(h, "name");
		v = json_object_get(h, "value");
		if (!json_is_string(n) || !json_is_string(v))
			continue;
		if (part_add_hdr(p, json_string_value(n), json_string_length(n),
		    json_string_value(v), json_string_length(v)) == -1)
			return -1;
	}
	return 0;
}

static void
json_part_body(struct mime_part *p, json_t *body)
{
	json_t *aid, *size;

	if (!json_is_object(body))
		return;
	p->jbody = body;
	aid = json_object_get(body, "attachmentId");
	if (json_is_string(aid) && json_string_length(aid) > 0)
		p->attach_id = json_string_value(aid);
	size = json_object_get(body, "size");
	if (json_is_integer(size) && json_integer_value(size) >= 0)
		p->size = json_integer_value(size);
}

/* Fills p from its MessagePart and queues its children (objects only).
 * Returns 0, or -1 when out of memory. */
static int
json_part_fill(struct mime_tree *t, struct mime_part *p)
{
	json_t *j = p->jpart, *mt, *fn, *parts, *c;
	struct mime_part *k;
	size_t i;

	if (json_part_headers(p, json_object_get(j, "headers")) == -1)
		return -1;
	mt = json_object_get(j, "mimeType");
	p->type = mime_media_type(json_is_string(mt) &&
	    json_string_length(mt) > 0 ? json_string_value(mt) :
	    part_hval(p, "Content-Type"));
	if (p->type == NULL)
		return -1;
	json_part_body(p, json_object_get(j, "body"));
	fn = json_object_get(j, "filename");
	part_describe(p, json_is_string(fn) ? json_string_value(fn) : NULL);
	parts = json_object_get(j, "parts");
	if (!json_is_array(parts))
		return 0;
	json_array_foreach(parts, i, c) {
		if (!json_is_object(c))
			continue;
		if ((k = part_new(t, p)) == NULL)
			break;
		k->jpart = c;
		if (part_is_message(p))
			k->nested = 1;
	}
	return 0;
}

/* Builds the tree breadth first (the creation list is the queue), so
 * that no nesting depth can exhaust the stack. */
static int
tree_from_payload(struct mime_tree *t, json_t *payload)
{
	struct mime_part *p;

	if (!json_is_object(payload))
		return 0;
	if ((p = part_new(t, NULL)) == NULL)
		return -1;
	p->jpart = payload;
	for (; p != NULL; p = p->allnext)
		if (json_part_fill(t, p) == -1)
			return -1;
	return 0;
}

/* The bytes of a part's body.data (base64url of bytes Gmail already took
 * the transfer encoding off: never decoded further). "" for a body
 * without data or attachment; NULL when it is held as an attachment or is
 * not base64url (logged). New; caller frees. */
static char *
json_part_bytes(const struct mime_tree *t, const struct mime_part *p,
    size_t *len)
{
	json_t *d = json_object_get(p->jbody, "data");
	char *out;

	if (!json_is_string(d)) {
		if (p->attach_id != NULL)
			return NULL;
		*len = 0;
		return strdup("");
	}
	out = (char *)mv_b64_decode(json_string_value(d), json_string_length(d),
	    len);
	if (out == NULL)
		log_debug("message %s: %s body is not base64url", t->msgid,
		    p->type);
	return out;
}

/* Format raw: the tree from the RFC 5322 message. */

/* Length of the line break at s[0..n): 2 for CRLF, 1 for LF, else 0. */
static size_t
mime_eol(const char *s, size_t n)
{
	if (n >= 1 && s[0] == '\n')
		return 1;
	if (n >= 2 && s[0] == '\r' && s[1] == '\n')
		return 2;
	return 0;
}

/* One '=' of quoted-printable at s[0]: appends its byte to out (a soft
 * line break appends nothing; a bad escape is kept as it is). Returns the
 * input bytes used. */
static size_t
mime_qp_escape(const char *s, size_t n, char *out, size_t *o)
{
	size_t j = 1, eol;
	int hi, lo;

	if (n >= 3 && (hi = mv_hexval((unsigned char)s[1])) >= 0 &&
	    (lo = mv_hexval((unsigned char)s[2])) >= 0) {
		out[(*o)++] = (char)(hi << 4 | lo);
		return 3;
	}
	while (j < n && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (j == n)
		return n;	/* "=" ending the body */
	if ((eol = mime_eol(s + j, n - j)) > 0)
		return j + eol;
	out[(*o)++] = '=';
	return 1;
}

/* Quoted-printable (RFC 2045 §6.7): =XX in either case, soft line breaks,
 * whitespace ending a line dropped, bad escapes kept, line breaks kept as
 * they are. Returns a new buffer (caller frees), NULL when out of
 * memory. */
static char *
mime_qp(const char *s, size_t n, size_t *len)
{
	char *out;
	size_t i = 0, o = 0, j;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	while (i < n) {
		if (s[i] == '=') {
			i += mime_qp_escape(s + i, n - i, out, &o);
			continue;
		}
		if (s[i] != ' ' && s[i] != '\t') {
			out[o++] = s[i++];
			continue;
		}
		for (j = i; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
			;
		if (j < n && mime_eol(s + j, n - j) == 0) {
			memcpy(out + o, s + i, j - i);
			o += j - i;
		}
		i = j;
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/* The body of a raw part without its transfer encoding. New; caller
 * frees; NULL when out of memory. */
static char *
raw_decode(const struct mime_part *p, size_t *len)
{
	char *out;

	switch (p->cte) {
	case CTE_BASE64:
		return (char *)mv_b64_decode_lenient(p->body, p->bodylen, len);
	case CTE_QP:
		return mime_qp(p->body, p->bodylen, len);
	default:
		if ((out = malloc(p->bodylen + 1)) == NULL)
			return NULL;
		memcpy(out, p->body, p->bodylen);
		out[p->bodylen] = '\0';
		*len = p->bodylen;
		return out;
	}
}

/* Stores the header whose name is name[0..nl) and whose value (unfolded)
 * is in val. Returns 0, or -1 when out of memory. */
static int
raw_hdr_store(struct mime_part *p, const char *name, size_t nl,
    struct mv_buf *val)
{
	const char *v;
	size_t vl;
	int rc;

	if (name == NULL)
		return 0;
	while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
		nl--;
	vl = val->len;
	v = mime_trim(val->data ? val->data : "", &vl);
	rc = nl > 0 ? part_add_hdr(p, name, nl, v, vl) : 0;
	mv_buf_reset(val);
	return rc;
}

/* Reads the header block at s[0..n) into p, unfolding continuation
 * lines. Lines without a colon are ignored. Returns where the body
 * starts (after the empty line; n when there is none). */
static size_t
raw_headers(struct mime_part *p, const char *s, size_t n)
{
	struct mv_buf val;
	const char *name = NULL, *e, *colon;
	size_t i = 0, le, ce, nl = 0;

	mv_buf_init(&val, 0);
	while (i < n) {
		e = memchr(s + i, '\n', n - i);
		le = e ? (size_t)(e - s) : n;
		ce = (le > i && s[le - 1] == '\r') ? le - 1 : le;
		if (ce == i) {
			i = e ? le + 1 : n;
			break;
		}
		if (s[i] == ' ' || s[i] == '\t') {
			if (name != NULL)
				mv_buf_append(&val, s + i, ce - i);
		} else {
			raw_hdr_store(p, name, nl, &val);
			name = NULL;
			if ((colon = memchr(s + i, ':', ce - i)) != NULL) {
				name = s + i;
				nl = (size_t)(colon - name);
				mv_buf_append(&val, colon + 1,
				    ce - (size_t)(colon + 1 - s));
			}
		}
		i = e ? le + 1 : n;
	}
	raw_hdr_store(p, name, nl, &val);
	mv_buf_free(&val);
	return i;
}

static enum mime_cte
raw_cte(const char *v)
{
	size_t n;

	if (v == NULL)
		return CTE_IDENTITY;
	n = strlen(v);
	v = mime_trim(v, &n);
	if (n == 6 && strncasecmp(v, "base64", 6) == 0)
		return CTE_BASE64;
	if (n == 16 && strncasecmp(v, "quoted-printable", 16) == 0)
		return CTE_QP;
	return CTE_IDENTITY;	/* 7bit, 8bit, binary, unknown */
}

/* A boundary line? 1: delimiter, 2: close delimiter, 0: neither. The
 * boundary must be followed by "--", or by nothing but white space, so
 * that a boundary that prefixes a nested one does not match it. */
static int
raw_delim(const char *l, size_t len, const char *b, size_t bl)
{
	if (len < 2 + bl || l[0] != '-' || l[1] != '-' ||
	    memcmp(l + 2, b, bl) != 0)
		return 0;
	l += 2 + bl;
	len -= 2 + bl;
	if (len >= 2 && l[0] == '-' && l[1] == '-')
		return 2;
	while (len > 0 && mime_ws((unsigned char)l[0])) {
		l++;
		len--;
	}
	return len == 0;
}

/* Adds a child entity s[start..end) to p, without the line break that
 * belongs to the next delimiter. Returns -1 when no more parts fit. */
static int
raw_child(struct mime_tree *t, struct mime_part *p, size_t start,
    size_t end)
{
	struct mime_part *c;
	const char *s = p->body;

	if (end > start && s[end - 1] == '\n')
		end--;
	if (end > start && s[end - 1] == '\r')
		end--;
	if ((c = part_new(t, p)) == NULL)
		return -1;
	c->src = s + start;
	c->srclen = end - start;
	return 0;
}

/* Splits a multipart body at its boundary: preamble and epilogue are
 * skipped, a missing close delimiter ends the last part at the end.
 * Returns the number of delimiters found. */
static int
raw_split_at(struct mime_tree *t, struct mime_part *p, const char *b)
{
	const char *s = p->body, *e;
	size_t n = p->bodylen, bl = strlen(b), i = 0, start = 0, next;
	int d, found = 0, open = 0;

	while (i < n) {
		e = memchr(s + i, '\n', n - i);
		next = e ? (size_t)(e - s) + 1 : n;
		d = raw_delim(s + i, (e ? (size_t)(e - s) : n) - i, b, bl);
		if (d != 0) {
			found++;
			if (open && raw_child(t, p, start, i) == -1)
				return found;
			open = d == 1;
			start = next;
			if (d == 2)
				return found;
		}
		i = next;
	}
	if (open)
		raw_child(t, p, start, n);
	return found;
}

/* A multipart part's children. Without a boundary, or when none occurs,
 * the body is shown as text rather than lost. */
static void
raw_split(struct mime_tree *t, struct mime_part *p)
{
	char *b = mime_param(part_hval(p, "Content-Type"), "boundary");
	char *plain;

	if (b != NULL && b[0] != '\0' && raw_split_at(t, p, b) > 0) {
		free(b);
		return;
	}
	free(b);
	if ((plain = strdup("text/plain")) != NULL) {
		free(p->type);
		p->type = plain;
	}
}

/* The nested message of a message/rfc822 part, as its one child. */
static void
raw_message(struct mime_tree *t, struct mime_part *p)
{
	struct mime_part *c;
	const char *s = p->body;
	size_t n = p->bodylen;

	if (p->cte != CTE_IDENTITY) {
		if ((p->owned = raw_decode(p, &n)) == NULL)
			return;
		s = p->owned;
	}
	p->size = (json_int_t)n;
	if ((c = part_new(t, p)) == NULL)
		return;
	c->nested = 1;
	c->src = s;
	c->srclen = n;
}

/* Parses p's entity: headers, media type, then its children. Returns 0,
 * or -1 when out of memory. */
static int
raw_fill(struct mime_tree *t, struct mime_part *p)
{
	size_t hend = raw_headers(p, p->src, p->srclen);
	const char *ct = part_hval(p, "Content-Type");

	p->body = p->src + hend;
	p->bodylen = p->srclen - hend;
	if (ct != NULL)
		p->type = mime_media_type(ct);
	else if (p->parent && part_is_type(p->parent, "multipart/digest"))
		p->type = strdup("message/rfc822");
	else
		p->type = strdup("text/plain");
	if (p->type == NULL)
		return -1;
	p->cte = raw_cte(part_hval(p, "Content-Transfer-Encoding"));
	part_describe(p, NULL);
	if (part_is_multipart(p))
		raw_split(t, p);
	else if (part_is_message(p))
		raw_message(t, p);
	return 0;
}

/* Builds the tree of the message in t->raw breadth first. Returns 0, -1
 * when out of memory. */
static int
tree_parse_raw(struct mime_tree *t)
{
	struct mime_part *p;

	if ((p = part_new(t, NULL)) == NULL)
		return -1;
	p->src = t->raw;
	p->srclen = t->rawlen;
	for (; p != NULL; p = p->allnext)
		if (raw_fill(t, p) == -1)
			return -1;
	return 0;
}

/* Decodes `raw` (base64url) and builds the tree. Returns 0 (an
 * undecodable `raw` gives no tree, logged), -1 when out of memory. */
static int
tree_from_raw(struct mime_tree *t, json_t *raw)
{
	if (!json_is_string(raw))
		return 0;
	t->raw = (char *)mv_b64_decode(json_string_value(raw),
	    json_string_length(raw), &t->rawlen);
	if (t->raw == NULL) {
		log_debug("message %s: raw is not base64url", t->msgid);
		return 0;
	}
	return tree_parse_raw(t);
}

/* The walk: EMAIL fields from the tree. */

/* A part's body bytes (transfer encoding removed). New; caller frees;
 * NULL when there are none to read. */
static char *
part_bytes(const struct mime_tree *t, const struct mime_part *p,
    size_t *len)
{
	if (t->fmt == MIME_RAW)
		return raw_decode(p, len);
	return json_part_bytes(t, p, len);
}

/* A text part as UTF-8 (its declared charset applied by the contract's
 * rule). New; caller frees; NULL when the part has no readable body. */
static char *
part_text(const struct mime_tree *t, const struct mime_part *p,
    size_t *len)
{
	char *bytes, *text;
	size_t n;

	if (p == NULL || (bytes = part_bytes(t, p, &n)) == NULL)
		return NULL;
	text = charset_text_to_utf8(bytes, n, p->charset, len);
	free(bytes);
	return text;
}

/* Folds CRLF line ends into LF in place: a message read from IMAP or
 * POP3 has CRLF (RFC 5322's canonical form), Gmail's API may give either;
 * the same message gives the same bodies. A lone CR stays. */
static void
text_lf(char *s, size_t *len)
{
	size_t i, o = 0;

	if (s == NULL)
		return;
	for (i = 0; i < *len; i++)
		if (!(s[i] == '\r' && i + 1 < *len && s[i + 1] == '\n'))
			s[o++] = s[i];
	s[o] = '\0';
	*len = o;
}

/* Sets body_text and body_html (LF line ends); null where there is
 * none. */
static void
email_bodies(json_t *email, const struct mime_tree *t)
{
	struct mime_part *pp, *hp;
	char *plain = NULL, *html = NULL, *rendered;
	size_t pl = 0, hl = 0;

	if (t->fmt != MIME_METADATA) {
		tree_bodies(t, &pp, &hp);
		plain = part_text(t, pp, &pl);
		html = part_text(t, hp, &hl);
		text_lf(plain, &pl);
		text_lf(html, &hl);
	}
	if (plain == NULL && html != NULL &&
	    (rendered = html_to_text(html, hl, &pl)) != NULL)
		plain = rendered;
	json_object_set_new(email, "body_text", plain ?
	    mv_json_strn(plain, pl) : json_null());
	json_object_set_new(email, "body_html", html ?
	    mv_json_strn(html, hl) : json_null());
	free(plain);
	free(html);
}

/* An attachment's size: Gmail's body.size, or for raw the decoded byte
 * count. */
static json_int_t
part_size(const struct mime_tree *t, const struct mime_part *p)
{
	char *bytes;
	size_t n;

	if (t->fmt != MIME_RAW || part_is_message(p))
		return p->size;
	if ((bytes = raw_decode(p, &n)) == NULL)
		return 0;
	free(bytes);
	return (json_int_t)n;
}

static json_t *
email_attachment(const struct mime_tree *t, const struct mime_part *p)
{
	json_t *a = json_object();

	if (a == NULL)
		return NULL;
	json_object_set_new(a, "filename", mv_json_str(p->filename ?
	    p->filename : ""));
	json_object_set_new(a, "mime_type", mv_json_str(p->type));
	json_object_set_new(a, "size", json_integer(part_size(t, p)));
	json_object_set_new(a, "attachment_id", mv_json_str(p->attach_id));
	json_object_set_new(a, "content_id", mv_json_str(p->cid));
	json_object_set_new(a, "inline", json_boolean(p->disp == DISP_INLINE ||
	    (p->disp == DISP_NONE && p->cid != NULL)));
	return a;
}

static json_t *
email_attachments(const struct mime_tree *t)
{
	json_t *arr = json_array();
	struct mime_part *p;

	if (arr == NULL)
		return NULL;
	for (p = t->root; p != NULL; p = part_next(p))
		if (part_is_attachment(p))
			json_array_append_new(arr, email_attachment(t, p));
	return arr;
}

/* A string member as a JSON string (an integer as its digits); null when
 * absent or of another type. New reference. */
static json_t *
email_str(json_t *msg, const char *key)
{
	json_t *v = json_object_get(msg, key);

	if (json_is_string(v))
		return mv_json_strn(json_string_value(v),
		    json_string_length(v));
	if (json_is_integer(v))
		return json_sprintf("%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	return json_null();
}

/* labelIds, its strings only; [] when absent. */
static json_t *
email_labels(json_t *msg)
{
	json_t *in = json_object_get(msg, "labelIds"), *out = json_array(), *v;
	size_t i;

	if (out == NULL || !json_is_array(in))
		return out;
	json_array_foreach(in, i, v)
		if (json_is_string(v))
			json_array_append_new(out, mv_json_strn(
			    json_string_value(v), json_string_length(v)));
	return out;
}

/* The snippet with its HTML escapes undone; "" when absent. */
static json_t *
email_snippet(json_t *msg)
{
	json_t *v = json_object_get(msg, "snippet"), *j;
	char *s;
	size_t n;

	if (!json_is_string(v))
		return json_string("");
	s = html_unescape(json_string_value(v), json_string_length(v), &n);
	j = mv_json_strn(s, n);
	free(s);
	return j;
}

/* Epoch seconds as "YYYY-MM-DDTHH:MM:SSZ"; null when out of range. */
static json_t *
email_time(long long secs)
{
	char buf[64];

	if (mv_iso8601((time_t)secs, buf, sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

/* internalDate (epoch milliseconds, a string or a number) in UTC. */
static json_t *
email_internal_date(json_t *msg)
{
	json_t *v = json_object_get(msg, "internalDate");
	const char *s;
	char *end;
	long long ms;

	if (json_is_integer(v))
		ms = json_integer_value(v);
	else if (json_is_string(v)) {
		s = json_string_value(v);
		errno = 0;
		ms = strtoll(s, &end, 10);
		if (end == s || *end != '\0' || errno != 0)
			return json_null();
	} else
		return json_null();
	return email_time(ms / 1000 - (ms % 1000 < 0));
}

static json_t *
email_size_estimate(json_t *msg)
{
	json_t *v = json_object_get(msg, "sizeEstimate");

	return json_is_integer(v) ? json_integer(json_integer_value(v)) :
	    json_null();
}

/* A decoded header as a string; "" when absent. */
static json_t *
email_subject(const struct mime_part *top)
{
	const struct mime_hdr *h = part_hdr(top, "Subject");
	char *s;
	json_t *j;

	if (h == NULL)
		return json_string("");
	if ((s = rfc2047_decode(h->value, h->vlen)) == NULL)
		return json_string("");
	j = mv_json_str(s);
	free(s);
	return j;
}

/* The Date header in UTC; null when absent or unparsable. */
static json_t *
email_date(const struct mime_part *top)
{
	const char *v = part_hval(top, "Date");
	time_t t;

	if (v == NULL || date_parse(v, &t) == -1)
		return json_null();
	return email_time((long long)t);
}

/* Message-ID or In-Reply-To: its first msg-id, else the trimmed value,
 * else null. */
static json_t *
email_msgid(const struct mime_part *top, const char *name)
{
	const struct mime_hdr *h = part_hdr(top, name);
	json_t *ids, *first;
	const char *v;
	size_t n;

	if (h == NULL)
		return json_null();
	ids = addr_parse_msgids(h->value);
	first = json_array_get(ids, 0);
	if (json_is_string(first)) {
		json_incref(first);
		json_decref(ids);
		return first;
	}
	json_decref(ids);
	n = h->vlen;
	v = mime_trim(h->value, &n);
	return n > 0 ? mv_json_strn(v, n) : json_null();
}

static json_t *
email_references(const struct mime_part *top)
{
	const char *v = part_hval(top, "References");

	return v ? addr_parse_msgids(v) : json_array();
}

/* The fields that come from the top-level headers. */
static void
email_headers(json_t *e, const struct mime_part *top)
{
	json_object_set_new(e, "from", addr_parse_one(part_hval(top, "From")));
	json_object_set_new(e, "to", addr_parse_list(part_hval(top, "To")));
	json_object_set_new(e, "cc", addr_parse_list(part_hval(top, "Cc")));
	json_object_set_new(e, "bcc", addr_parse_list(part_hval(top, "Bcc")));
	json_object_set_new(e, "reply_to",
	    addr_parse_list(part_hval(top, "Reply-To")));
	json_object_set_new(e, "subject", email_subject(top));
	json_object_set_new(e, "date", email_date(top));
	json_object_set_new(e, "message_id", email_msgid(top, "Message-ID"));
	json_object_set_new(e, "in_reply_to", email_msgid(top, "In-Reply-To"));
	json_object_set_new(e, "references", email_references(top));
}

/* The fields that come from the Message resource itself. */
static void
email_resource(json_t *e, json_t *msg)
{
	json_object_set_new(e, "id", email_str(msg, "id"));
	json_object_set_new(e, "thread_id", email_str(msg, "threadId"));
	json_object_set_new(e, "label_ids", email_labels(msg));
	json_object_set_new(e, "snippet", email_snippet(msg));
	json_object_set_new(e, "history_id", email_str(msg, "historyId"));
	json_object_set_new(e, "internal_date", email_internal_date(msg));
	json_object_set_new(e, "size_estimate", email_size_estimate(msg));
}

/* Builds the part tree for the format. Returns 0, or -1 when out of
 * memory. */
static int
tree_build(struct mime_tree *t, json_t *msg, enum mime_format fmt)
{
	json_t *id = json_object_get(msg, "id");

	memset(t, 0, sizeof(*t));
	t->fmt = fmt;
	t->msgid = json_is_string(id) ? json_string_value(id) : "(no id)";
	if (fmt == MIME_RAW)
		return tree_from_raw(t, json_object_get(msg, "raw"));
	return tree_from_payload(t, json_object_get(msg, "payload"));
}

json_t *
mime_email(json_t *msg, enum mime_format fmt, struct mv_err *err)
{
	struct mime_tree t;
	json_t *e, *raw;

	if (!json_is_object(msg)) {
		mv_err_set(err, MV_E_API, "message resource is not an object");
		return NULL;
	}
	if (tree_build(&t, msg, fmt) == -1 || (e = json_object()) == NULL) {
		tree_free(&t);
		mv_err_set(err, MV_E_INTERNAL,
		    "decoding message: out of memory");
		return NULL;
	}
	email_resource(e, msg);
	email_headers(e, t.root);
	email_bodies(e, &t);
	json_object_set_new(e, "attachments", email_attachments(&t));
	if (fmt == MIME_RAW) {
		raw = json_object_get(msg, "raw");
		json_object_set(e, "raw", json_is_string(raw) ? raw :
		    json_null());
	}
	tree_free(&t);
	return e;
}

json_t *
mime_email_bytes(const char *bytes, size_t len, json_t *res,
    enum mime_format fmt, struct mv_err *err)
{
	struct mime_tree t;
	json_t *e, *id = json_object_get(res, "id");

	memset(&t, 0, sizeof(t));
	t.fmt = fmt == MIME_METADATA ? MIME_METADATA : MIME_RAW;
	t.msgid = json_is_string(id) ? json_string_value(id) : "(no id)";
	t.raw = (char *)(uintptr_t)bytes;
	t.rawlen = len;
	t.raw_borrowed = 1;
	if (tree_parse_raw(&t) == -1 || (e = json_object()) == NULL) {
		tree_free(&t);
		mv_err_set(err, MV_E_INTERNAL,
		    "decoding message: out of memory");
		return NULL;
	}
	email_resource(e, res);
	email_headers(e, t.root);
	email_bodies(e, &t);
	json_object_set_new(e, "attachments", t.fmt == MIME_METADATA ?
	    json_array() : email_attachments(&t));
	tree_free(&t);
	return e;
}

unsigned char *
mime_attachment_bytes(const char *bytes, size_t len, size_t n, size_t *lenp)
{
	struct mime_tree t;
	struct mime_part *p;
	char *out = NULL;
	size_t i = 0;

	memset(&t, 0, sizeof(t));
	t.fmt = MIME_RAW;
	t.msgid = "(attachment)";
	t.raw = (char *)(uintptr_t)bytes;
	t.rawlen = len;
	t.raw_borrowed = 1;
	if (n > 0 && tree_parse_raw(&t) == 0)
		for (p = t.root; p != NULL && out == NULL; p = part_next(p))
			if (part_is_attachment(p) && ++i == n &&
			    (out = raw_decode(p, lenp)) == NULL &&
			    (out = malloc(1)) != NULL)
				*lenp = 0;	/* an empty body */
	tree_free(&t);
	return (unsigned char *)out;
}

/* Stores p's body in bodies[] when it is held as an attachment without
 * data; counts it in *n either way. */
static void
pending_add(const struct mime_part *p, json_t **bodies, size_t max,
    size_t *n)
{
	if (p == NULL || p->attach_id == NULL ||
	    json_is_string(json_object_get(p->jbody, "data")))
		return;
	if (*n < max)
		bodies[*n] = p->jbody;
	(*n)++;
}

size_t
mime_pending_bodies(json_t *msg, json_t **bodies, size_t max)
{
	struct mime_tree t;
	struct mime_part *plain, *html;
	size_t n = 0;

	if (!json_is_object(msg))
		return 0;
	if (tree_build(&t, msg, MIME_FULL) == 0) {
		tree_bodies(&t, &plain, &html);
		pending_add(plain, bodies, max, &n);
		pending_add(html, bodies, max, &n);
	}
	tree_free(&t);
	return n;
}
