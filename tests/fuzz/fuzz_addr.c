/* Fuzzes address lists and msg-ids (addr.c): the input is a header
 * value. */
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	json_t *v, *a;
	size_t i;

	v = addr_parse_list(s);
	FUZZ_ASSERT(json_is_array(v));
	fuzz_json_utf8(v, 0);
	json_array_foreach(v, i, a)
		fuzz_address(a);
	json_decref(v);
	v = addr_parse_one(s);
	fuzz_address(v);
	fuzz_json_utf8(v, 0);
	json_decref(v);
	v = addr_parse_msgids(s);
	FUZZ_ASSERT(json_is_array(v));
	fuzz_json_utf8(v, 0);
	json_array_foreach(v, i, a) {
		const char *id = json_string_value(a);

		FUZZ_ASSERT(id != NULL && id[0] == '<' &&
		    id[strlen(id) - 1] == '>');
	}
	json_decref(v);
	free(s);
	return 0;
}
