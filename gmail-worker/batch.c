/* The multipart/mixed codec of Google's batch endpoint. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gmail-worker/batch.h"
#include "common/retry.h"
#include "common/rfc2047.h"
#include "shared/buf.h"

char *
batch_build(const char *boundary, const struct batch_part *parts, size_t n,
    size_t *lenp)
{
	struct mv_buf b;

	mv_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++)
		if (mv_buf_printf(&b, "--%s\r\nContent-Type: application/http"
		    "\r\nContent-ID: <item-%zu>\r\n\r\nGET %s HTTP/1.1\r\n\r\n",
		    boundary, i, parts[i].path) == -1)
			goto fail;
	if (mv_buf_printf(&b, "--%s--\r\n", boundary) == -1)
		goto fail;
	return mv_buf_steal(&b, lenp);
fail:
	mv_buf_free(&b);
	return NULL;
}

/* memmem for the next "--boundary" at a line start. */
static const char *
find_delim(const char *p, const char *end, const char *delim, size_t dlen)
{
	const char *q = p;

	while ((q = memmem(q, (size_t)(end - q), delim, dlen)) != NULL) {
		if (q == p || q[-1] == '\n')
			return q;
		q += dlen;
	}
	return NULL;
}

/* The end of a header block starting at p: the empty line. Sets *body. */
static const char *
headers_end(const char *p, const char *end, const char **body)
{
	const char *q;

	for (q = p; q < end; q++) {
		if (q[0] != '\n')
			continue;
		if (q + 1 < end && q[1] == '\n') {
			*body = q + 2;
			return q;
		}
		if (q + 2 < end && q[1] == '\r' && q[2] == '\n') {
			*body = q + 3;
			return q;
		}
	}
	return NULL;
}

/* The value of header name in [p, end), copied into out. */
static int
header_value(const char *p, const char *end, const char *name, char *out,
    size_t outlen)
{
	size_t nlen = strlen(name), n;
	const char *eol;

	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 &&
		    p[nlen] == ':') {
			p += nlen + 1;
			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			n = (size_t)(eol - p);
			while (n > 0 && isspace((unsigned char)p[n - 1]))
				n--;
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, p, n);
			out[n] = '\0';
			return 0;
		}
		if (eol == end)
			break;
	}
	return -1;
}

/* The status of the line "HTTP/1.1 200 OK" at p (before end, which
 * need not be followed by a NUL). 0, or -1. */
static int
status_code(const char *p, const char *end, long *status)
{
	char line[128];
	size_t n = (size_t)(end - p);

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	return sscanf(line, "HTTP/%*s %ld", status) == 1 ? 0 : -1;
}

/* One part: outer headers, "HTTP/1.1 200 OK", inner headers, body. */
static int
batch_part_parse(const char *p, const char *end, struct batch_part *parts,
    size_t n)
{
	const char *inner, *body, *hend, *cid_num;
	char cid[128], ra[128];
	size_t idx;
	long status;
	struct batch_part *bp;

	if (headers_end(p, end, &inner) == NULL)
		return -1;
	if (header_value(p, inner, "Content-ID", cid, sizeof(cid)) == -1 ||
	    (cid_num = strstr(cid, "item-")) == NULL)
		return -1;
	idx = strtoul(cid_num + 5, NULL, 10);
	if (idx >= n)
		return -1;
	if (status_code(inner, end, &status) == -1)
		return -1;
	if ((hend = headers_end(inner, end, &body)) == NULL)
		body = hend = end;
	bp = &parts[idx];
	bp->status = status;
	bp->retry_after = header_value(inner, hend, "Retry-After", ra,
	    sizeof(ra)) == 0 ? retry_after_parse(ra, time(NULL)) : -1;
	while (end > body && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	free(bp->body);
	if ((bp->body = malloc((size_t)(end - body) + 1)) == NULL)
		return -1;
	memcpy(bp->body, body, (size_t)(end - body));
	bp->body[end - body] = '\0';
	bp->len = (size_t)(end - body);
	return 0;
}

int
batch_parse(const char *content_type, const char *body, size_t len,
    struct batch_part *parts, size_t n)
{
	const char *end = body + len, *p, *next;
	char *boundary, delim[256];
	size_t dlen;
	int filled = 0;

	if (content_type == NULL ||
	    strncasecmp(content_type, "multipart/", 10) != 0 ||
	    (boundary = mime_param(content_type, "boundary")) == NULL)
		return -1;
	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	free(boundary);
	if (dlen >= sizeof(delim))
		return -1;
	if ((p = find_delim(body, end, delim, dlen)) == NULL)
		return -1;
	for (;;) {
		p += dlen;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;		/* the closing delimiter */
		if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p++;
		if ((next = find_delim(p, end, delim, dlen)) == NULL)
			next = end;
		if (batch_part_parse(p, next, parts, n) == 0)
			filled++;
		if ((p = next) == end)
			break;
	}
	return filled;
}

void
batch_parts_clear(struct batch_part *parts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(parts[i].body);
		parts[i].body = NULL;
		parts[i].len = 0;
		parts[i].status = 0;
	}
}
