/* Runs a fuzz harness without libFuzzer: every file in the directories
 * (or the files) given is passed once to LLVMFuzzerTestOneInput(), in a
 * buffer of exactly its size. A broken promise or a sanitizer's report
 * aborts; a file that cannot be read fails. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

/* Reads path whole into a new buffer of exactly its size. */
static uint8_t *
slurp(const char *path, size_t *lenp)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;

	if (fp == NULL || fstat(fileno(fp), &st) == -1)
		goto fail;
	if ((buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL ||
	    fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size)
		goto fail;
	fclose(fp);
	*lenp = (size_t)st.st_size;
	return buf;
fail:
	fprintf(stderr, "replay: %s: %s\n", path,
	    errno ? strerror(errno) : "short read");
	free(buf);
	if (fp != NULL)
		fclose(fp);
	return NULL;
}

static int
run_file(const char *path)
{
	uint8_t *buf;
	size_t len;

	if ((buf = slurp(path, &len)) == NULL)
		return -1;
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir, in name order (a failure names the
 * file last started: see the log). Returns the count, or -1. */
static long
run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, **nn, path[4096];
	size_t n = 0;
	long count = 0;

	if (d == NULL)
		return run_file(dir) == 0 ? 1 : -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((nn = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (nn[n] = strdup(de->d_name)) == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			exit(1);
		}
		names = nn;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (getenv("FUZZ_REPLAY_VERBOSE") != NULL)
			fprintf(stderr, "replay: %s\n", path);
		if (run_file(path) == -1)
			count = -1;
		else if (count >= 0)
			count++;
		free(names[i]);
	}
	free(names);
	return count;
}

int
main(int argc, char **argv)
{
	long total = 0, c;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if ((c = run_dir(argv[i])) < 0)
			rc = 1;
		else
			total += c;
	}
	fprintf(stderr, "replay: %s: %ld inputs\n", argc > 0 ? argv[0] : "?",
	    total);
	return rc;
}
