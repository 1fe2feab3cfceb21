/*
 * The API's request heads, read as they arrive. libevent 2.1 answers the
 * requests it cannot take (a malformed request line, a head or a body
 * over its limits, a method it does not know) with an HTML page of its
 * own, and has no hook to change it. The guard sees each byte of a
 * connection before evhttp does (a callback on the input buffer, which
 * runs before the bufferevent's read callback), and stands in for such a
 * request: the bytes not yet parsed are replaced by a head marked with
 * GUARD_HEADER, which evhttp hands to the API like any other.
 *
 * The state of each connection lives in a fixed table keyed by its input
 * buffer: nothing to free when evhttp frees a connection, and a key
 * reused by a new connection is reset when that connection is made. A
 * connection that finds no room is not guarded (evhttp's own answers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "supervisor/guard.h"

#define SLOTS		1024	/* connections guarded at once */
#define PROBES		16
#define LINE_MAX_	16384	/* longest line looked at whole */

enum gstate {
	GS_LINE,	/* a request line comes at scan */
	GS_HEADERS,	/* header lines come at scan */
	GS_BODY,	/* the body ends at scan */
	GS_DONE,	/* stood in, or lost: nothing more is looked at */
};

struct gslot {
	const struct evbuffer	*buf;	/* NULL: free */
	uint64_t		 serial;
	enum gstate		 state;
	uint64_t		 base;	/* bytes drained so far */
	uint64_t		 head;	/* where this head starts */
	uint64_t		 scan;	/* where the next line starts */
	uint64_t		 length;	/* its Content-Length */
};

struct guard {
	size_t		 max_head, max_body;
	uint64_t	 serial;
	char		 nonce[33];
	struct gslot	 slot[SLOTS];
};

struct guard *
guard_new(size_t max_head, size_t max_body)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	struct guard *g;

	if (getentropy(r, sizeof(r)) == -1 ||
	    (g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(r); i++) {
		g->nonce[2 * i] = hex[r[i] >> 4];
		g->nonce[2 * i + 1] = hex[r[i] & 15];
	}
	g->max_head = max_head;
	g->max_body = max_body;
	return g;
}

void
guard_free(struct guard *g)
{
	free(g);
}

static size_t
slot_hash(const struct evbuffer *b)
{
	uintptr_t p = (uintptr_t)b;

	return (size_t)((p >> 4) ^ (p >> 14)) % SLOTS;
}

/* The slot of b, or NULL. */
static struct gslot *
slot_find(struct guard *g, const struct evbuffer *b)
{
	size_t h = slot_hash(b);

	for (size_t i = 0; i < PROBES; i++)
		if (g->slot[(h + i) % SLOTS].buf == b)
			return &g->slot[(h + i) % SLOTS];
	return NULL;
}

/* A fresh slot for b: its own, a free one, else the oldest near it. */
static void
slot_take(struct guard *g, const struct evbuffer *b)
{
	struct gslot *s = slot_find(g, b), *old = NULL;
	size_t h = slot_hash(b);

	for (size_t i = 0; s == NULL && i < PROBES; i++) {
		struct gslot *c = &g->slot[(h + i) % SLOTS];

		if (c->buf == NULL)
			s = c;
		else if (old == NULL || c->serial < old->serial)
			old = c;
	}
	if (s == NULL)
		s = old;
	memset(s, 0, sizeof(*s));
	s->buf = b;
	s->serial = ++g->serial;
}

/* Puts text in place of the gone bytes after the first n of b, and then
 * the rest when keep_rest (else the rest goes): what evhttp will read. */
static void
stand_in(struct gslot *s, struct evbuffer *b, size_t n, size_t gone,
    int keep_rest, const char *text)
{
	struct evbuffer *keep = evbuffer_new(), *rest = evbuffer_new();

	s->state = GS_DONE;	/* the changes below call back */
	if (keep == NULL || rest == NULL)
		evbuffer_drain(b, evbuffer_get_length(b));
	else {
		evbuffer_remove_buffer(b, keep, n);
		evbuffer_drain(b, gone);
		if (keep_rest)
			evbuffer_add_buffer(rest, b);
		evbuffer_drain(b, evbuffer_get_length(b));
		evbuffer_add_buffer(b, keep);
		evbuffer_add(b, text, strlen(text));
		evbuffer_add_buffer(b, rest);
	}
	if (keep != NULL)
		evbuffer_free(keep);
	if (rest != NULL)
		evbuffer_free(rest);
}

/* Stands in for a request whose head evhttp has not read yet. */
static void
replace_request(struct guard *g, struct gslot *s, struct evbuffer *b,
    enum guard_why why)
{
	char text[128];

	snprintf(text, sizeof(text), "GET / HTTP/1.1\r\nConnection: close\r\n"
	    GUARD_HEADER ": %s %d\r\n\r\n", g->nonce, (int)why);
	stand_in(s, b, (size_t)(s->head - s->base), 0, 0, text);
}

/* Puts "GET target" in place of the request line of an unknown method,
 * which the mark names; the headers stay (Host, the token). */
static void
replace_method(struct guard *g, struct gslot *s, struct evbuffer *b,
    const char *method, const char *target)
{
	char text[LINE_MAX_ + 256];

	snprintf(text, sizeof(text), "GET %s HTTP/1.1\r\nConnection: close\r\n"
	    GUARD_HEADER ": %s %d %s\r\n", target, g->nonce, (int)GW_METHOD,
	    method);
	stand_in(s, b, (size_t)(s->head - s->base), (size_t)(s->scan -
	    s->head), 1, text);
}

/* Stands in for the rest of a head whose request line evhttp may have
 * read: the mark ends it, the line at scan and what follows go. */
static void
replace_rest(struct guard *g, struct gslot *s, struct evbuffer *b,
    enum guard_why why)
{
	char text[128];

	snprintf(text, sizeof(text), "Connection: close\r\n" GUARD_HEADER
	    ": %s %d\r\n\r\n", g->nonce, (int)why);
	stand_in(s, b, (size_t)(s->scan - s->base), 0, 0, text);
}

/* 1 when m is a method evhttp 2.1 takes. */
static int
known_method(const char *m)
{
	static const char *const v[] = { "GET", "POST", "HEAD", "PUT",
	    "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH" };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(m, v[i]) == 0)
			return 1;
	return 0;
}

/* 1 when s[0..n) are characters of a token (RFC 9110). */
static int
is_token(const char *s, size_t n)
{
	static const char ok[] = "!#$%&'*+-.^_`|~0123456789"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(ok, s[i]) == NULL)
			return 0;
	return 1;
}

/* The request line l (without its end): "METHOD TARGET HTTP/1.x". */
static void
on_request_line(struct guard *g, struct gslot *s, struct evbuffer *b,
    char *l)
{
	char *sp1 = strchr(l, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	int bad = sp2 == NULL || strchr(sp2 + 1, ' ') != NULL;

	if (!bad) {
		*sp1 = *sp2 = '\0';
		bad = !is_token(l, strlen(l)) || sp1[1] == '\0' ||
		    (strcmp(sp2 + 1, "HTTP/1.1") != 0 &&
		    strcmp(sp2 + 1, "HTTP/1.0") != 0);
		for (const char *t = sp1 + 1; !bad && *t != '\0'; t++)
			bad = (unsigned char)*t <= 0x20 || *t == 0x7f;
	}
	if (bad)
		replace_request(g, s, b, GW_LINE);
	else if (!known_method(l))
		replace_method(g, s, b, l, sp1 + 1);
	else
		s->state = GS_HEADERS;
}

/* One header line l (without its end). */
static void
on_header(struct guard *g, struct gslot *s, struct evbuffer *b, char *l)
{
	const char *colon = strchr(l, ':'), *v;
	char *end;
	unsigned long long n;

	if (l[0] == ' ' || l[0] == '\t')
		return;		/* a continuation: evhttp takes it */
	if (colon == NULL || !is_token(l, (size_t)(colon - l))) {
		replace_rest(g, s, b, GW_HEADER);
		return;
	}
	v = colon + 1 + strspn(colon + 1, " \t");
	if (strncasecmp(l, "Transfer-Encoding:", 18) == 0)
		replace_rest(g, s, b, GW_CHUNKED);
	else if (strncasecmp(l, "Content-Length:", 15) == 0) {
		n = strtoull(v, &end, 10);
		end += strspn(end, " \t");
		if (*v < '0' || *v > '9' || *end != '\0' || strlen(v) > 18)
			replace_rest(g, s, b, GW_LENGTH);
		else if (n > g->max_body)
			replace_rest(g, s, b, GW_BIG);
		else
			s->length = n;
	}
}

/*
 * The complete lines from s->scan, one at a time. Each is seen in the
 * call that completes it, before evhttp reads it; evhttp drains only
 * whole lines, so a line begun in an earlier call is still there.
 */
static void
guard_lines(struct guard *g, struct gslot *s, struct evbuffer *b)
{
	uint64_t total = s->base + evbuffer_get_length(b);
	struct evbuffer_ptr p, eol;
	char line[LINE_MAX_ + 1];
	size_t n, cut;

	while (s->state != GS_DONE) {
		if (s->state == GS_BODY) {
			if (total <= s->scan)
				return;
			s->state = GS_LINE;
			s->head = s->scan;
			s->length = 0;
		}
		if (s->scan < s->base) {	/* evhttp read past us */
			s->state = GS_DONE;
			return;
		}
		if (evbuffer_ptr_set(b, &p, (size_t)(s->scan - s->base),
		    EVBUFFER_PTR_SET) == -1)
			return;
		eol = evbuffer_search(b, "\n", 1, &p);
		n = eol.pos == -1 ? (size_t)(total - s->scan) :
		    (size_t)eol.pos - (size_t)(s->scan - s->base);
		if ((eol.pos == -1 ? total : s->scan + n + 1) - s->head >
		    g->max_head) {
			if (s->state == GS_LINE)
				replace_request(g, s, b, GW_HEAD);
			else
				replace_rest(g, s, b, GW_HEAD);
			return;
		}
		if (eol.pos == -1)
			return;
		cut = n < LINE_MAX_ ? n : LINE_MAX_;
		evbuffer_copyout_from(b, &p, line, cut);
		line[cut] = '\0';
		if (cut > 0 && line[cut - 1] == '\r')
			line[--cut] = '\0';
		if (s->state == GS_LINE) {
			s->scan += n + 1;
			on_request_line(g, s, b, line);
			continue;
		}
		if (cut == 0) {		/* the end of the head */
			s->scan += n + 1 + s->length;
			s->state = GS_BODY;
			continue;
		}
		on_header(g, s, b, line);
		if (s->state == GS_DONE)
			return;
		s->scan += n + 1;
	}
}

/* Each change of a connection's input buffer. */
static void
guard_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct guard *g = arg;
	struct gslot *s = slot_find(g, b);

	if (s == NULL || s->state == GS_DONE)
		return;
	s->base += info->n_deleted;
	if (info->n_added > 0)
		guard_lines(g, s, b);
}

struct bufferevent *
guard_bev(struct event_base *base, void *arg)
{
	struct guard *g = arg;
	struct bufferevent *bev;
	struct evbuffer *in;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	in = bufferevent_get_input(bev);
	if (evbuffer_add_cb(in, guard_cb, g) != NULL)
		slot_take(g, in);
	return bev;
}

int
guard_marked(const struct guard *g, const char *v, char *method,
    size_t len)
{
	size_t n = strlen(g->nonce);
	char *end;
	long why;

	if (strncmp(v, g->nonce, n) != 0 || v[n] != ' ')
		return -1;
	why = strtol(v + n + 1, &end, 10);
	if (why < GW_LINE || why > GW_METHOD)
		return -1;
	if (why == GW_METHOD && *end != ' ')
		return -1;
	if (why == GW_METHOD && len > 0)
		snprintf(method, len, "%s", end + 1);
	return (int)why;
}

const char *
guard_message(enum guard_why why)
{
	switch (why) {
	case GW_LINE:
		return "malformed request line (METHOD /PATH HTTP/1.1 is "
		    "expected)";
	case GW_HEAD:
		return "the request line and headers are too large";
	case GW_HEADER:
		return "malformed header line (NAME: VALUE is expected)";
	case GW_LENGTH:
		return "Content-Length is not a number";
	case GW_BIG:
		return "the body is too large";
	case GW_CHUNKED:
		return "a body must come with a Content-Length (no "
		    "Transfer-Encoding)";
	case GW_METHOD:
		break;
	}
	return "unknown method";
}
