/* RFC 5322 address lists and msg-id lists parsed into JSON, leniently. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "shared/buf.h"
#include "shared/utf8.h"
#include "common/addr.h"
#include "common/rfc2047.h"

#define AT_CSMAX	64	/* longest charset name in an encoded word */

enum at_type {
	AT_END,
	AT_ATOM,		/* atoms, dots, encoded words, anything else */
	AT_QUOTED,		/* "..." with its quotes */
	AT_DLIT,		/* [...] */
	AT_COMMENT,		/* (...), nesting kept */
	AT_LT,
	AT_GT,
	AT_AT,
	AT_COMMA,
	AT_COLON,
	AT_SEMI,
};

struct atok {
	enum at_type	 type;
	const char	*raw;
	size_t		 len;
	int		 ws;		/* whitespace or comment before */
	int		 closed;	/* its closing delimiter is there */
};

/* The lexer: encoded-word texts starting in [fail_from, fail_to) are
 * known to have no "?=". */
struct alex {
	const char	*p;
	const char	*fail_from;
	const char	*fail_to;
};

struct tvec {
	struct atok	*v;
	size_t		 n, cap;
};

/* The mailbox being read, between two commas: its tokens outside and
 * inside angle brackets (angle: 0 none, 1 open, 2 closed), whether an
 * '@' came outside them, and its first non-empty comment. */
struct aitem {
	struct tvec	 out;
	struct tvec	 in;
	int		 angle;
	int		 has_at;
	struct atok	 comment;
	int		 have_comment;
	int		 after_comment;
};

struct aparse {
	struct alex	 lx;
	struct aitem	 it;
	json_t		*list;
	int		 in_group;
	int		 err;
};

static int
al_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The end of the encoded word starting at p ("=?"), or NULL when there is
 * none. Its text may hold specials (real mailers put "Smith, John" there)
 * but no whitespace. A failed scan is remembered so that words starting
 * inside it fail at once: the lexer stays linear.
 */
static const char *
al_ew_end(struct alex *lx, const char *p)
{
	const char *q = p + 2, *t;

	while (*q && *q != '?' && !al_space((unsigned char)*q) &&
	    q - (p + 2) <= AT_CSMAX)
		q++;
	if (*q != '?' || q == p + 2 || q - (p + 2) > AT_CSMAX)
		return NULL;
	q++;
	if (*q == '\0' || strchr("BbQq", *q) == NULL || q[1] != '?')
		return NULL;
	t = q + 2;
	if (t >= lx->fail_from && t < lx->fail_to)
		return NULL;
	for (q = t; *q && !al_space((unsigned char)*q); q++)
		if (q[0] == '?' && q[1] == '=')
			return q + 2;
	lx->fail_from = t;
	lx->fail_to = q;
	return NULL;
}

static const char *
al_atom_end(struct alex *lx, const char *p)
{
	const char *e;

	while (*p) {
		if (p[0] == '=' && p[1] == '?' &&
		    (e = al_ew_end(lx, p)) != NULL) {
			p = e;
			continue;
		}
		if (al_space((unsigned char)*p) || strchr("(<>@,;:\"[", *p))
			break;
		p++;
	}
	return p;
}

/* The end of a quoted string or domain literal opening at p; *closed
 * tells whether it has its closing delimiter. */
static const char *
al_delim_end(const char *p, int close, int *closed)
{
	for (p++; *p && *p != close; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	*closed = *p != '\0';
	return *p ? p + 1 : p;
}

/* The end of the (nested) comment opening at p; counted, not recursive. */
static const char *
al_comment_end(const char *p, int *closed)
{
	size_t depth = 0;

	*closed = 0;
	for (; *p; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0) {
			*closed = 1;
			return p + 1;
		}
	}
	return p;
}

static void
al_next(struct alex *lx, struct atok *t)
{
	static const char singles[] = "<>@,:;";
	static const enum at_type stypes[] = { AT_LT, AT_GT, AT_AT, AT_COMMA,
	    AT_COLON, AT_SEMI };
	const char *p = lx->p, *s;

	t->ws = t->closed = 0;
	for (; al_space((unsigned char)*p); p++)
		t->ws = 1;
	t->raw = p;
	if (*p == '\0') {
		t->type = AT_END;
	} else if (*p == '"' || *p == '[') {
		t->type = *p == '"' ? AT_QUOTED : AT_DLIT;
		p = al_delim_end(p, *p == '"' ? '"' : ']', &t->closed);
	} else if (*p == '(') {
		t->type = AT_COMMENT;
		p = al_comment_end(p, &t->closed);
	} else if ((s = strchr(singles, *p)) != NULL) {
		t->type = stypes[s - singles];
		p++;
	} else {
		t->type = AT_ATOM;
		p = al_atom_end(lx, p);
	}
	t->len = (size_t)(p - t->raw);
	lx->p = p;
}

/* The type of the next token that is no comment, without taking it. */
static enum at_type
al_peek(const struct alex *lx)
{
	struct alex copy = *lx;
	struct atok t;

	do
		al_next(&copy, &t);
	while (t.type == AT_COMMENT);
	return t.type;
}

static int
tv_push(struct tvec *tv, const struct atok *t)
{
	struct atok *nv;
	size_t cap;

	if (tv->n == tv->cap) {
		cap = tv->cap ? tv->cap * 2 : 16;
		if ((nv = reallocarray(tv->v, cap, sizeof(*nv))) == NULL)
			return -1;
		tv->v = nv;
		tv->cap = cap;
	}
	tv->v[tv->n++] = *t;
	return 0;
}

/* Appends s (n bytes) with backslash escapes undone. */
static int
al_unescape(struct mv_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		if (mv_buf_putc(b, s[i]) == -1)
			return -1;
	}
	return 0;
}

/* The inside of a quoted string or comment token (delimiters dropped:
 * an unterminated one has no closing delimiter). */
static int
al_inner(struct mv_buf *b, const struct atok *t)
{
	return al_unescape(b, t->raw + 1, t->len - 1 - (t->closed ? 1 : 0));
}

/* RFC 2047-decodes b's bytes and trims the result. Returns a new string
 * (caller frees) or NULL when out of memory. */
static char *
al_decode_trim(const struct mv_buf *b)
{
	char *s, *e, *d;

	if ((d = rfc2047_decode(b->data ? b->data : "", b->len)) == NULL)
		return NULL;
	for (s = d; *s == ' ' || *s == '\t'; s++)
		;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	memmove(d, s, (size_t)(e - s) + 1);
	return d;
}

/* The display name from tokens v[from..to): words joined by one space
 * where the header had whitespace, quoted strings unquoted, encoded words
 * decoded. Returns a new string (caller frees), NULL when out of memory. */
static char *
al_phrase(const struct atok *v, size_t from, size_t to)
{
	struct mv_buf b;
	size_t k;
	int rc = 0;
	char *res = NULL;

	if (from >= to)
		return strdup("");
	mv_buf_init(&b, 0);
	for (k = from; k < to && rc == 0; k++) {
		if (k > from && v[k].ws)
			rc = mv_buf_putc(&b, ' ');
		if (rc == 0 && v[k].type == AT_QUOTED)
			rc = al_inner(&b, &v[k]);
		else if (rc == 0)
			rc = mv_buf_append(&b, v[k].raw, v[k].len);
	}
	if (rc == 0)
		res = al_decode_trim(&b);
	mv_buf_free(&b);
	return res;
}

/* The text of the item's first comment, decoded; "" when none. */
static char *
al_comment_text(const struct aitem *it)
{
	struct mv_buf b;
	char *res = NULL;

	mv_buf_init(&b, 0);
	if (!it->have_comment || al_inner(&b, &it->comment) == 0)
		res = al_decode_trim(&b);
	mv_buf_free(&b);
	return res;
}

/* The address from tokens v[from..to) as written, whitespace dropped;
 * an obsolete route ("@relay,@relay2:") is removed. Caller frees. */
static char *
al_addr_spec(const struct atok *v, size_t from, size_t to)
{
	struct mv_buf b;
	char *s, *colon;
	size_t k;

	mv_buf_init(&b, 0);
	for (k = from; k < to; k++)
		if (mv_buf_append(&b, v[k].raw, v[k].len) == -1) {
			mv_buf_free(&b);
			return NULL;
		}
	if ((s = mv_buf_steal(&b, NULL)) == NULL)
		return NULL;
	if (s[0] == '@' && (colon = strchr(s, ':')) != NULL)
		memmove(s, colon + 1, strlen(colon + 1) + 1);
	return s;
}

/* Appends {"name", "email"} to the list. Takes name and email (frees
 * them); a NULL one means out of memory. */
static void
al_emit(struct aparse *ps, char *name, char *email)
{
	json_t *o;

	if (name == NULL || email == NULL)
		ps->err = 1;
	else if (*name != '\0' || *email != '\0') {
		o = json_object();
		if (o == NULL ||
		    json_object_set_new(o, "name", mv_json_str(name)) == -1 ||
		    json_object_set_new(o, "email", mv_json_str(email)) == -1 ||
		    json_array_append_new(ps->list, o) == -1)
			ps->err = 1;
	}
	free(name);
	free(email);
}

/* A name, or the comment when the name is empty. Takes name. */
static char *
al_name_or_comment(const struct aitem *it, char *name)
{
	if (name == NULL || *name != '\0' || !it->have_comment)
		return name;
	free(name);
	return al_comment_text(it);
}

/* 1 when token b continues the address-like run that a ends. */
static int
al_glued(const struct atok *a, const struct atok *b)
{
	if (!b->ws || a->type == AT_AT || b->type == AT_AT)
		return 1;
	return (a->type == AT_ATOM && a->raw[a->len - 1] == '.') ||
	    (b->type == AT_ATOM && b->raw[0] == '.');
}

/*
 * An item without angle brackets: each run of glued tokens holding an
 * '@' is an address, named by the words before it ("John Smith
 * john@example.com"); with no '@' at all, the whole item is a name.
 */
static void
al_finish_bare(struct aparse *ps)
{
	const struct atok *v = ps->it.out.v;
	size_t n = ps->it.out.n, i = 0, j, pend = 0;
	int at, any = 0;

	while (i < n && !ps->err) {
		at = v[i].type == AT_AT;
		for (j = i + 1; j < n && al_glued(&v[j - 1], &v[j]); j++)
			at |= v[j].type == AT_AT;
		if (at) {
			al_emit(ps, any ? al_phrase(v, pend, i) :
			    al_name_or_comment(&ps->it, al_phrase(v, pend, i)),
			    al_addr_spec(v, i, j));
			any = 1;
			pend = j;
		}
		i = j;
	}
	if (!any && !ps->err)
		al_emit(ps, al_name_or_comment(&ps->it, al_phrase(v, 0, n)),
		    strdup(""));
}

/* Ends the current item: emits what it holds and empties it. */
static void
al_finish(struct aparse *ps)
{
	struct aitem *it = &ps->it;

	if (it->angle)
		al_emit(ps, al_name_or_comment(it, al_phrase(it->out.v, 0,
		    it->out.n)), al_addr_spec(it->in.v, 0, it->in.n));
	else
		al_finish_bare(ps);
	it->out.n = it->in.n = 0;
	it->angle = it->has_at = it->have_comment = it->after_comment = 0;
}

/* A token inside angle brackets. A ',' not followed by '@' (which would
 * be an obsolete route) or a ';' means the '>' is missing. */
static void
al_in_angle(struct aparse *ps, const struct atok *t)
{
	switch (t->type) {
	case AT_GT:
		ps->it.angle = 2;
		break;
	case AT_COMMA:
		if (al_peek(&ps->lx) == AT_AT) {
			if (tv_push(&ps->it.in, t) == -1)
				ps->err = 1;
			break;
		}
		al_finish(ps);
		break;
	case AT_SEMI:
		al_finish(ps);
		ps->in_group = 0;
		break;
	case AT_LT:
		break;
	default:
		if (tv_push(&ps->it.in, t) == -1)
			ps->err = 1;
	}
}

/* A token outside angle brackets. */
static void
al_outside(struct aparse *ps, const struct atok *t)
{
	struct aitem *it = &ps->it;

	switch (t->type) {
	case AT_COMMA:
		al_finish(ps);
		break;
	case AT_SEMI:
		al_finish(ps);
		ps->in_group = 0;
		break;
	case AT_COLON:
		if (ps->in_group || it->angle || it->has_at)
			break;
		ps->in_group = 1;	/* the group's name is dropped */
		it->out.n = 0;
		it->have_comment = 0;
		break;
	case AT_LT:
		if (it->angle == 2)
			al_finish(ps);	/* "<a@x> <b@y>": no comma */
		it->angle = 1;
		break;
	case AT_GT:
		break;
	default:
		if (it->angle == 2)
			break;		/* junk after the address */
		it->has_at |= t->type == AT_AT;
		if (tv_push(&it->out, t) == -1)
			ps->err = 1;
	}
}

/* Files a comment: the first non-empty one may serve as the name. */
static void
al_comment(struct aitem *it, const struct atok *t)
{
	it->after_comment = 1;
	if (!it->have_comment && t->len > 2) {
		it->comment = *t;
		it->have_comment = 1;
	}
}

json_t *
addr_parse_list(const char *value)
{
	struct aparse ps;
	struct atok t;

	memset(&ps, 0, sizeof(ps));
	if ((ps.list = json_array()) == NULL || value == NULL)
		return ps.list;
	ps.lx.p = value;
	while (!ps.err) {
		al_next(&ps.lx, &t);
		if (t.type == AT_COMMENT) {
			al_comment(&ps.it, &t);
			continue;
		}
		t.ws |= ps.it.after_comment;
		ps.it.after_comment = 0;
		if (t.type == AT_END) {
			al_finish(&ps);
			break;
		}
		if (ps.it.angle == 1)
			al_in_angle(&ps, &t);
		else
			al_outside(&ps, &t);
	}
	free(ps.it.out.v);
	free(ps.it.in.v);
	if (ps.err) {
		json_decref(ps.list);
		return NULL;
	}
	return ps.list;
}

/* A new {"name": "", "email": ""}. */
static json_t *
al_empty(void)
{
	json_t *o = json_object();

	if (o != NULL && (json_object_set_new(o, "name", json_string("")) ||
	    json_object_set_new(o, "email", json_string("")))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
addr_parse_one(const char *value)
{
	json_t *list, *o, *pick = NULL;
	size_t i;

	if ((list = addr_parse_list(value)) == NULL)
		return NULL;
	json_array_foreach(list, i, o) {
		if (pick == NULL)
			pick = o;
		if (json_string_length(json_object_get(o, "email")) > 0) {
			pick = o;
			break;
		}
	}
	if (pick != NULL)
		json_incref(pick);
	json_decref(list);
	return pick ? pick : al_empty();
}

/* Appends "<id>" (whitespace inside dropped) to arr when id is not
 * empty. Returns 0 or -1. */
static int
al_msgid_add(json_t *arr, const char *id, size_t n, int wrap)
{
	struct mv_buf b;
	size_t i;
	int rc = 0;

	mv_buf_init(&b, 0);
	if (wrap)
		rc = mv_buf_putc(&b, '<');
	for (i = 0; i < n && rc == 0; i++)
		if (!al_space((unsigned char)id[i]))
			rc = mv_buf_putc(&b, id[i]);
	if (rc == 0 && wrap)
		rc = mv_buf_putc(&b, '>');
	if (rc == 0 && b.len > 2)
		rc = json_array_append_new(arr, mv_json_strn(b.data, b.len));
	mv_buf_free(&b);
	return rc;
}

/* At '<': the id up to '>' is added; a second '<' restarts there; an
 * unterminated one ends the scan. Returns where to go on, NULL at the
 * end or on error (*err set). */
static const char *
al_msgid_angle(json_t *arr, const char *p, int *err)
{
	const char *q = p + 1;

	q += strcspn(q, "<>");
	if (*q == '<')
		return q;
	if (*q == '\0')
		return NULL;
	if (al_msgid_add(arr, p, (size_t)(q + 1 - p), 0) == -1)
		*err = 1;
	return *err ? NULL : q + 1;
}

/* Without angle brackets: a word holding '@' is taken as an id. */
static const char *
al_msgid_bare(json_t *arr, const char *p, int *err)
{
	size_t n = strcspn(p, " \t\r\n,(\"");

	if (memchr(p, '@', n) != NULL && al_msgid_add(arr, p, n, 1) == -1)
		*err = 1;
	return p + (n ? n : 1);
}

json_t *
addr_parse_msgids(const char *value)
{
	json_t *arr;
	const char *p = value;
	int bare, err = 0, closed;

	if ((arr = json_array()) == NULL || value == NULL)
		return arr;
	bare = strchr(value, '<') == NULL;
	while (p != NULL && *p && !err) {
		if (*p == '(')
			p = al_comment_end(p, &closed);
		else if (*p == '"')
			p = al_delim_end(p, '"', &closed);
		else if (*p == '<')
			p = al_msgid_angle(arr, p, &err);
		else if (bare && !al_space((unsigned char)*p) && *p != ',')
			p = al_msgid_bare(arr, p, &err);
		else
			p++;
	}
	if (err) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
