/* Fuzzes the classification of a worker's stdout (child.c): the input is
 * what a worker printed. Its result must be a JSON object, the whole
 * output when that is one, else its last non-blank line; the execution
 * record built from it must be valid UTF-8 JSON that the stats reader
 * can take back. */
#include <stdlib.h>
#include <string.h>

#include "supervisor/child.h"
#include "tests/fuzz/fuzz.h"

static void
record(json_t *result)
{
	struct child_result r;
	json_t *rec;
	char *s;

	memset(&r, 0, sizeof(r));
	r.status = result != NULL ? CHILD_FAILED : CHILD_BAD_OUTPUT;
	r.exit_code = 1;
	r.result = result;
	r.stderr_tail = "";
	r.rss_source = "rusage";
	r.reason = "fuzz";
	r.started_at = r.completed_at = 1767225600;
	rec = child_record("job", "id", 1, &r);
	FUZZ_ASSERT(rec != NULL);
	fuzz_json_utf8(rec, 0);
	s = json_dumps(rec, JSON_COMPACT);
	FUZZ_ASSERT(s != NULL);
	json_decref(rec);
	rec = json_loads(s, 0, NULL);
	FUZZ_ASSERT(json_is_object(rec));
	json_decref(rec);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = fuzz_copy(data, size);
	json_t *j, *whole;

	j = child_output_result(out, size);
	if (j != NULL) {
		FUZZ_ASSERT(json_is_object(j));
		whole = json_loadb(out, size, 0, NULL);
		if (json_is_object(whole))
			FUZZ_ASSERT(json_equal(whole, j));
		json_decref(whole);
	}
	record(j);
	json_decref(j);
	free(out);
	return 0;
}
