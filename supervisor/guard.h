/* The API's request heads, read as they arrive, before evhttp parses them:
 * what evhttp would refuse with an HTML page of its own becomes a request
 * marked for the API, which answers it with its JSON error. */
#ifndef MVD_GUARD_H
#define MVD_GUARD_H

#include <stddef.h>

/* The header that marks a request the guard stood in for. */
#define GUARD_HEADER	"X-Mailvisord-Guard"

/* Why the guard stood in. */
enum guard_why {
	GW_LINE,	/* a request line evhttp cannot read */
	GW_HEAD,	/* a head larger than max_head */
	GW_HEADER,	/* a header line without a name and a colon */
	GW_LENGTH,	/* a Content-Length that is not a number */
	GW_BIG,		/* a Content-Length over max_body */
	GW_CHUNKED,	/* a Transfer-Encoding: Content-Length only */
	GW_METHOD,	/* a method evhttp does not know */
};

struct event_base;
struct bufferevent;
struct guard;

/* A guard for requests of heads up to max_head bytes and bodies up to
 * max_body. NULL when out of memory. Free with guard_free(), after the
 * evhttp server that uses it. */
struct guard *guard_new(size_t max_head, size_t max_body);
void guard_free(struct guard *g);

/* For evhttp_set_bevcb(): a socket bufferevent whose input g reads. NULL
 * when out of memory. */
struct bufferevent *guard_bev(struct event_base *base, void *g);

/*
 * The value v of a request's GUARD_HEADER: when it is g's own (it holds a
 * secret no client knows), returns why the guard stood in, and for
 * GW_METHOD the method into method (len bytes, cut to fit); else -1.
 */
int guard_marked(const struct guard *g, const char *v, char *method,
    size_t len);

/* What a client should read for why (a sentence without a final stop). */
const char *guard_message(enum guard_why why);

#endif
