/* Sets of UIDs for sync's cursor (see uidset.h). A run is written as the
 * gap since the previous run's last UID (from 0) less one, then "-" and
 * its length less one when it holds more than one UID; runs are separated
 * by ".", numbers in base 36: 1..26 is "0-p", {1, 3} is "0.1". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap-worker/uidset.h"

#define B36_DIGITS	13	/* 36^13 > 2^64 */

uint64_t
uidset_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t
uidset_fnv(uint64_t h, const char *s)
{
	const unsigned char *c = (const unsigned char *)s;

	for (;; c++) {
		h = (h ^ *c) * 0x100000001b3ULL;
		if (*c == '\0')
			return h;
	}
}

void
uidset_init(struct uidset *u)
{
	memset(u, 0, sizeof(*u));
	u->exact = 1;
}

void
uidset_free(struct uidset *u)
{
	if (u == NULL)
		return;
	free(u->r);
	uidset_init(u);
}

/* Appends the run [first, last], after every run of u. */
static int
uidset_run(struct uidset *u, uint32_t first, uint32_t last)
{
	struct uidrun *r;
	size_t cap;

	if (u->nr == u->cap) {
		cap = u->cap ? u->cap * 2 : 16;
		if ((r = realloc(u->r, cap * sizeof(*r))) == NULL)
			return -1;
		u->r = r;
		u->cap = cap;
	}
	u->r[u->nr].first = first;
	u->r[u->nr].last = last;
	u->nr++;
	return 0;
}

int
uidset_copy(struct uidset *dst, const struct uidset *src)
{
	uidset_init(dst);
	*dst = *src;
	dst->r = NULL;
	dst->cap = dst->nr;
	if (src->nr > 0 && (dst->r = malloc(src->nr * sizeof(*dst->r))) ==
	    NULL) {
		uidset_init(dst);
		return -1;
	}
	if (src->nr > 0)
		memcpy(dst->r, src->r, src->nr * sizeof(*dst->r));
	return 0;
}

int
uidset_push(struct uidset *u, uint32_t uid)
{
	struct uidrun *last = u->nr ? &u->r[u->nr - 1] : NULL;

	if (uid == 0 || (last != NULL && uid <= last->last)) {
		errno = EINVAL;
		return -1;
	}
	if (!u->exact)
		;	/* the count and hash alone */
	else if (last != NULL && uid == last->last + 1)
		last->last = uid;
	else if (uidset_run(u, uid, uid) == -1)
		return -1;
	u->count++;
	u->hash += uidset_mix(uid);
	return 0;
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
uidset_from(struct uidset *u, uint32_t *uids, size_t n)
{
	qsort(uids, n, sizeof(*uids), uid_cmp);
	for (size_t i = 0; i < n; i++) {
		if (uids[i] == 0 || (i > 0 && uids[i] == uids[i - 1]))
			continue;
		if (uidset_push(u, uids[i]) == -1)
			return -1;
	}
	return 0;
}

void
uidset_below(const struct uidset *u, uint32_t below, uint64_t *count,
    uint64_t *hash)
{
	uint32_t v, last;

	*count = 0;
	*hash = 0;
	for (size_t i = 0; i < u->nr && u->r[i].first < below; i++) {
		last = u->r[i].last < below ? u->r[i].last : below - 1;
		*count += (uint64_t)last - u->r[i].first + 1;
		for (v = u->r[i].first;; v++) {
			*hash += uidset_mix(v);
			if (v == last)
				break;
		}
	}
}

int
uidset_has(const struct uidset *u, uint32_t uid)
{
	size_t lo = 0, hi = u->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u->r[mid].last < uid)
			lo = mid + 1;
		else if (u->r[mid].first > uid)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

int
uidset_b36_put(struct mv_buf *b, uint64_t v)
{
	char d[B36_DIGITS + 1];
	size_t i = sizeof(d);

	do {
		d[--i] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		v /= 36;
	} while (v != 0);
	return mv_buf_append(b, d + i, sizeof(d) - i);
}

int
uidset_b36_get(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t d;

	*v = 0;
	for (; s < end && s - *p <= B36_DIGITS; s++) {
		if (*s >= '0' && *s <= '9')
			d = (uint64_t)(*s - '0');
		else if (*s >= 'a' && *s <= 'z')
			d = (uint64_t)(*s - 'a') + 10;
		else
			break;
		if (*v > (UINT64_MAX - d) / 36)
			return -1;
		*v = *v * 36 + d;
	}
	if (s == *p || s - *p > B36_DIGITS)
		return -1;
	*p = s;
	return 0;
}

/* The runs of u as text, if they take at most max bytes. */
static int
uidset_runs(const struct uidset *u, size_t max, struct mv_buf *b)
{
	size_t start = b->len;
	uint32_t prev = 0;

	for (size_t i = 0; i < u->nr; i++) {
		if ((i > 0 && mv_buf_putc(b, '.') == -1) ||
		    uidset_b36_put(b, u->r[i].first - prev - 1) == -1)
			return -1;
		if (u->r[i].last != u->r[i].first &&
		    (mv_buf_putc(b, '-') == -1 ||
		    uidset_b36_put(b, u->r[i].last - u->r[i].first) == -1))
			return -1;
		prev = u->r[i].last;
		if (b->len - start > max)
			return -1;
	}
	return 0;
}

int
uidset_format(const struct uidset *u, size_t max, struct mv_buf *b)
{
	size_t len = b->len;

	if (u->exact && max > 0) {
		if (mv_buf_putc(b, 'r') == 0 && uidset_runs(u, max - 1, b) == 0)
			return 0;
		b->len = len;	/* too long: the hash instead */
		if (b->data != NULL)
			b->data[len] = '\0';
	}
	if (mv_buf_putc(b, 'h') == -1 || uidset_b36_put(b, u->count) == -1 ||
	    mv_buf_putc(b, '.') == -1 || uidset_b36_put(b, u->hash) == -1)
		return -1;
	return 0;
}

/* The runs s[0..end) into u. */
static int
uidset_parse_runs(const char *s, const char *end, uint32_t below,
    struct uidset *u)
{
	uint64_t gap, len, first, prev = 0;

	while (s < end) {
		if (u->nr > 0 && *s++ != '.')
			return -1;
		if (uidset_b36_get(&s, end, &gap) == -1)
			return -1;
		len = 0;
		if (s < end && *s == '-' && (++s, uidset_b36_get(&s, end,
		    &len) == -1))
			return -1;
		first = prev + 1 + gap;
		if (gap >= below || len >= below || first + len >= below ||
		    u->count + len + 1 > UIDSET_MAX)
			return -1;
		if (uidset_run(u, (uint32_t)first, (uint32_t)(first + len)) ==
		    -1)
			return -1;
		u->count += len + 1;
		prev = first + len;
	}
	for (size_t i = 0; i < u->nr; i++)
		for (uint32_t v = u->r[i].first;; v++) {
			u->hash += uidset_mix(v);
			if (v == u->r[i].last)
				break;
		}
	return 0;
}

int
uidset_parse(const char *s, size_t len, uint32_t below, struct uidset *u)
{
	const char *end = s + len;

	uidset_init(u);
	if (len > 0 && *s == 'r' &&
	    uidset_parse_runs(s + 1, end, below, u) == 0)
		return 0;
	uidset_free(u);
	if (len == 0 || *s != 'h')
		return -1;
	s++;
	u->exact = 0;
	if (uidset_b36_get(&s, end, &u->count) == -1 || s == end ||
	    *s++ != '.' || uidset_b36_get(&s, end, &u->hash) == -1 ||
	    s != end || u->count >= below)
		return -1;
	return 0;
}
