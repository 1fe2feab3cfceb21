/* Fuzzes what imap-worker parses of names given to it: modified UTF-7
 * folder names (mutf7_decode), ids (msgid_parse) and the UID sets of sync
 * cursors (uidset_parse); each parsed value survives a trip back. */
#include <stdlib.h>
#include <string.h>

#include "imap-worker/msgid.h"
#include "imap-worker/mutf7.h"
#include "imap-worker/uidset.h"
#include "tests/fuzz/fuzz.h"

/* A set parsed (UIDs below 2^20: quick) formats back to one that parses
 * the same. */
static void
uidset_trip(const char *s)
{
	struct uidset u, v;
	struct mv_buf b;

	if (uidset_parse(s, strlen(s), 1u << 20, &u) == -1)
		return;
	mv_buf_init(&b, 0);
	FUZZ_ASSERT(uidset_format(&u, 1u << 20, &b) == 0);
	FUZZ_ASSERT(uidset_parse(b.data, b.len, 1u << 20, &v) == 0);
	FUZZ_ASSERT(v.count == u.count && v.hash == u.hash &&
	    v.exact == u.exact && v.nr == u.nr);
	uidset_free(&v);
	uidset_free(&u);
	mv_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size), *d, *e, *d2, *id;
	struct msgid m, m2;

	if ((d = mutf7_decode(s)) != NULL) {
		e = mutf7_encode(d);
		FUZZ_ASSERT(e != NULL);
		d2 = mutf7_decode(e);
		FUZZ_ASSERT(d2 != NULL && strcmp(d, d2) == 0);
		free(e);
		free(d2);
		free(d);
	}
	if (msgid_parse(s, &m) == 0) {
		FUZZ_ASSERT(m.folder != NULL && *m.folder != '\0');
		FUZZ_ASSERT(m.uidvalidity != 0 && m.uid != 0);
		id = msgid_make(m.folder, m.uidvalidity, m.uid);
		FUZZ_ASSERT(id != NULL && msgid_parse(id, &m2) == 0);
		FUZZ_ASSERT(strcmp(m.folder, m2.folder) == 0 &&
		    m.uidvalidity == m2.uidvalidity && m.uid == m2.uid);
		msgid_free(&m2);
		free(id);
		msgid_free(&m);
	}
	uidset_trip(s);
	free(s);
	return 0;
}
