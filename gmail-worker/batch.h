/* Gmail batch requests: many GETs in one multipart/mixed POST, and the
 * multipart/mixed answer split back into per-call statuses and bodies. */
#ifndef GW_BATCH_H
#define GW_BATCH_H

#include <stddef.h>

#define BATCH_MAX	100	/* Google's limit of calls per batch */

struct batch_part {
	const char	*path;		/* "/gmail/v1/users/me/messages/ID?.." */
	long		 status;	/* 0 until parsed */
	char		*body;		/* owned after batch_parse() */
	size_t		 len;
	int		 retry_after;	/* -1: none */
};

/* The request body for n GET calls (n <= BATCH_MAX), with Content-IDs
 * "<item-I>" for I = 0..n-1. Returns a new string (caller frees) and its
 * length; the Content-Type is "multipart/mixed; boundary=" boundary. */
char *batch_build(const char *boundary, const struct batch_part *parts,
    size_t n, size_t *lenp);

/* Splits an answer: content_type holds the boundary; each part's
 * Content-ID "<response-item-I>" selects parts[I], which gets its inner
 * status, Retry-After and body (copied). Parts that the answer lacks keep
 * status 0. Returns the number of parts filled, or -1 when the answer is
 * not a multipart batch answer. */
int batch_parse(const char *content_type, const char *body, size_t len,
    struct batch_part *parts, size_t n);

/* Frees the bodies batch_parse() stored. */
void batch_parts_clear(struct batch_part *parts, size_t n);

#endif
