/* Fuzzes conf_load() on a configuration file (written to a scratch file
 * under $TMPDIR), then renders each job's command for its accounts with
 * no arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/conf.h"
#include "tests/fuzz/fuzz.h"

static char path[4096];

/* The scratch file, made once per process and removed at its exit. */
static void
unlink_path(void)
{
	unlink(path);
}

static const char *
scratch(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (path[0] != '\0')
		return path;
	snprintf(path, sizeof(path), "%s/fuzz_conf.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	FUZZ_ASSERT(fd != -1);
	close(fd);
	atexit(unlink_path);
	return path;
}

/* Each word of an argv is a string; v[0] is the absolute program. */
static void
render(const struct job_conf *j, const struct account_conf *a)
{
	char err[256], **v;

	err[0] = '\0';
	if ((v = conf_render_argv(j, a, NULL, err, sizeof(err))) == NULL) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	FUZZ_ASSERT(v[0] != NULL && v[0][0] == '/');
	conf_argv_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = scratch();
	struct conf *c;
	FILE *fp = fopen(p, "w"), *errs;

	FUZZ_ASSERT(fp != NULL);
	FUZZ_ASSERT(fwrite(data, 1, size, fp) == size);
	FUZZ_ASSERT(fclose(fp) == 0);
	errs = fopen("/dev/null", "w");
	FUZZ_ASSERT(errs != NULL);
	c = conf_load(p, errs);
	fclose(errs);
	if (c == NULL)
		return 0;
	for (size_t i = 0; i < c->njobs; i++) {
		const struct job_conf *j = &c->jobs[i];

		FUZZ_ASSERT(j->name != NULL && conf_job(c, j->name) == j);
		FUZZ_ASSERT(j->command.n > 0 && j->command.v[0][0] == '/');
		FUZZ_ASSERT(j->command.v[j->command.n] == NULL);
		render(j, NULL);
		for (size_t k = 0; k < c->naccounts && k < 4; k++)
			render(j, &c->accounts[k]);
	}
	for (size_t i = 0; i < c->naccounts; i++)
		FUZZ_ASSERT(conf_account(c, c->accounts[i].name) ==
		    &c->accounts[i]);
	conf_free(c);
	return 0;
}
