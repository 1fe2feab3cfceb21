/* Fuzzes conf_split_command() (a job's command line, split like a shell
 * word list without expansion) on a string of exactly the input's
 * length. */
#include <stdlib.h>
#include <string.h>

#include "supervisor/conf.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[256], **v;
	size_t n = (size_t)-1, total = 0;

	/* Up to the first NUL, as the configuration hands it over. */
	if (memchr(data, '\0', size) != NULL)
		size = strlen((const char *)data);
	s = fuzz_strndup(data, size);
	err[0] = '\0';
	if ((v = conf_split_command(s, &n, err, sizeof(err))) == NULL) {
		FUZZ_ASSERT(err[0] != '\0');
		free(s);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(v[i] != NULL);
		total += strlen(v[i]);
	}
	FUZZ_ASSERT(v[n] == NULL);
	/* Quotes and escapes only ever remove characters. */
	FUZZ_ASSERT(total <= size);
	conf_argv_free(v);
	free(s);
	return 0;
}
