/* Fuzzes ai_input_parse(), ai-worker's reading of the mail it is given
 * (a worker's output, a stream entry: untrusted bytes). Whatever comes
 * in: a thread of EMAIL objects, a change without mail, a summary line,
 * or an error with a type and a message; never a crash or a leak. */
#include <stdlib.h>
#include <string.h>

#include "ai-worker/input.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_err err = MV_ERR_INIT;
	struct ai_thread t;
	char *text = fuzz_copy(data, size);
	size_t i;
	json_t *e;
	int rc;

	rc = ai_input_parse(text, size, &t, &err);
	switch (rc) {
	case 0:
		FUZZ_ASSERT(json_array_size(t.emails) > 0);
		FUZZ_ASSERT(json_array_size(t.emails) <= AI_THREAD_MAX);
		json_array_foreach(t.emails, i, e)
			FUZZ_ASSERT(json_is_string(json_object_get(e, "id")));
		break;
	case AI_INPUT_NO_MAIL:
		FUZZ_ASSERT(json_is_string(json_object_get(t.nomail,
		    "change")));
		break;
	case AI_INPUT_SUMMARY:
	case -1:
		FUZZ_ASSERT(err.type != MV_OK && err.msg[0] != '\0');
		FUZZ_ASSERT(t.emails == NULL);
		break;
	default:
		FUZZ_ASSERT(0);
	}
	ai_thread_free(&t);
	free(text);
	return 0;
}
