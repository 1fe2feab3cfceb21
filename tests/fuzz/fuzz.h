/* What the fuzz harnesses share: the entry point, the check that aborts
 * when a header's promise is broken, and checks of produced values. */
#ifndef MV_FUZZ_H
#define MV_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* libFuzzer's entry point, one per harness (tests/fuzz/replay.c calls it
 * for each saved input when the fuzzer is not linked in). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the broken promise on stderr, so that the fuzzer (or the
 * replay) reports the input. */
#define FUZZ_ASSERT(c) do {						\
	if (!(c))							\
		fuzz_broken(__FILE__, __LINE__, #c);			\
} while (0)

void fuzz_broken(const char *file, int line, const char *what)
    __attribute__((noreturn));

/* A NUL-terminated copy of data[0..size) in a buffer of exactly size + 1
 * bytes. Caller frees; aborts when out of memory. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* A copy of data[0..size) in a buffer of exactly size bytes (one when
 * size is 0), with no NUL after it: a read past it is a sanitizer's
 * report. Caller frees; aborts when out of memory. */
char *fuzz_copy(const uint8_t *data, size_t size);

/* Cuts data at its first '\n': the head (without it) and the rest. With
 * no '\n', the head is everything and the rest empty. */
void fuzz_cut(const uint8_t *data, size_t size, const uint8_t **head,
    size_t *headlen, const uint8_t **rest, size_t *restlen);

/* Every string (values and keys) in v is well-formed UTF-8 and, when
 * nonul, holds no NUL. Aborts otherwise. */
void fuzz_json_utf8(const json_t *v, int nonul);

/* The string s (n bytes) is well-formed UTF-8 with no NUL before n and a
 * NUL at n. Aborts otherwise. */
void fuzz_text(const char *s, size_t n);

/* a is an address object {"name": string, "email": string}. Aborts
 * otherwise. */
void fuzz_address(const json_t *a);

/* e is an EMAIL object of the contract (§1): every field there, of its
 * type, every string valid UTF-8 without NUL. Aborts otherwise. */
void fuzz_email(const json_t *e);

#endif
