/* Fuzzes route_match(): the first line is the method, the rest the path.
 * A match must give parameters that route_path() encodes back to a path
 * matching the same route with the same parameters. */
#include <stdlib.h>
#include <string.h>

#include "supervisor/routes.h"
#include "tests/fuzz/fuzz.h"

static void
round_trip(const struct route *rt, const char *method,
    char params[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX])
{
	char again[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX], path[4096], allow[64];
	const char *pv[ROUTE_PARAMS_MAX];
	size_t np = 0;
	int status = 0;

	for (const char *p = rt->path; (p = strchr(p, '{')) != NULL; p++)
		np++;
	FUZZ_ASSERT(np <= ROUTE_PARAMS_MAX);
	for (size_t i = 0; i < np; i++) {
		pv[i] = params[i];
		FUZZ_ASSERT(params[i][0] != '\0');
		FUZZ_ASSERT(strchr(params[i], '/') == NULL);
	}
	FUZZ_ASSERT(route_path(rt->id, pv, np, path, sizeof(path)) > 0);
	FUZZ_ASSERT(route_match(method, path, again, &status, allow,
	    sizeof(allow)) == rt);
	for (size_t i = 0; i < np; i++)
		FUZZ_ASSERT(strcmp(again[i], params[i]) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char params[ROUTE_PARAMS_MAX][ROUTE_PARAM_MAX], allow[64];
	const uint8_t *head, *rest;
	size_t headlen, restlen;
	const struct route *rt;
	char *method, *path;
	int status = 0;

	fuzz_cut(data, size, &head, &headlen, &rest, &restlen);
	method = fuzz_strndup(head, headlen);
	path = fuzz_strndup(rest, restlen);
	memset(allow, 'x', sizeof(allow));
	rt = route_match(method, path, params, &status, allow,
	    sizeof(allow));
	if (rt != NULL) {
		FUZZ_ASSERT(strcmp(rt->method, method) == 0);
		round_trip(rt, method, params);
	} else {
		FUZZ_ASSERT(status == 404 || status == 405 || status == 400);
		if (status == 405)
			FUZZ_ASSERT(memchr(allow, '\0', sizeof(allow)) !=
			    NULL && allow[0] != '\0');
	}
	free(method);
	free(path);
	return 0;
}
