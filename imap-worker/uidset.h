/* The UIDs of a folder as sync's cursor remembers them: exactly, as runs
 * written in base 36 and delta-encoded, or as a count and a 64-bit hash
 * when the runs would take too much room. */
#ifndef IW_UIDSET_H
#define IW_UIDSET_H

#include <stddef.h>
#include <stdint.h>

#include "shared/buf.h"

/* Most UIDs a set parsed from a cursor may hold. */
#define UIDSET_MAX	(1u << 26)

struct uidrun {
	uint32_t	 first, last;
};

struct uidset {
	struct uidrun	*r;		/* sorted, disjoint; exact sets only */
	size_t		 nr, cap;
	uint64_t	 count;
	uint64_t	 hash;		/* sum of uidset_mix(uid) */
	int		 exact;		/* r holds every UID */
};

/* A 64-bit mix of x (splitmix64's finalizer). */
uint64_t uidset_mix(uint64_t x);

/* FNV-1a of the string s with its NUL, from h (UIDSET_FNV to start). */
#define UIDSET_FNV	0xcbf29ce484222325ULL
uint64_t uidset_fnv(uint64_t h, const char *s);

/* An empty exact set. */
void uidset_init(struct uidset *u);
void uidset_free(struct uidset *u);

/* dst (uninitialised) a copy of src. Returns 0, or -1 (out of memory). */
int uidset_copy(struct uidset *dst, const struct uidset *src);

/* Adds uid, greater than every UID of the exact set u (to the count and
 * hash alone of a set that is not exact). Returns 0, or -1
 * (out of memory; uid not in order: EINVAL). */
int uidset_push(struct uidset *u, uint32_t uid);

/* Sorts uids[0..n) and adds them, duplicates once, to the empty set u.
 * Returns 0, or -1 (out of memory). */
int uidset_from(struct uidset *u, uint32_t *uids, size_t n);

/* The count and hash of the UIDs of u below below. */
void uidset_below(const struct uidset *u, uint32_t below, uint64_t *count,
    uint64_t *hash);

/* 1 when the exact set u holds uid. */
int uidset_has(const struct uidset *u, uint32_t uid);

/* Appends u to b: "r" and its runs when u is exact and they take at most
 * max bytes, else "h", its count, "." and its hash. Returns 0, or -1 (b's
 * cap reached). */
int uidset_format(const struct uidset *u, size_t max, struct mv_buf *b);

/* Parses uidset_format()'s text s[0..len) into u; every UID of a run must
 * be below below. Returns 0, or -1 (not one). */
int uidset_parse(const char *s, size_t len, uint32_t below,
    struct uidset *u);

/* Appends v in base 36; parses one (at most 13 digits, no overflow),
 * advancing *p. */
int uidset_b36_put(struct mv_buf *b, uint64_t v);
int uidset_b36_get(const char **p, const char *end, uint64_t *v);

#endif
