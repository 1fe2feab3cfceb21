/* Scratch directories for the unit tests that start redis-server. */
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "shared/buf.h"
#include "tests/unit/redis_scratch.h"

int
redis_scratch_init(char *root, const char *prog)
{
	char what[128];

	if (access("tests/redis.sh", X_OK) == -1) {
		snprintf(what, sizeof(what), "%s: tests/redis.sh (run from the "
		    "top)", prog);
		perror(what);
		return -1;
	}
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* Kills a server a failed test left behind (its pid file names it), then
 * removes the entry. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	char comm[64], proc[64], *pid;
	size_t len = strlen(path);
	FILE *fp;
	long n;

	(void)st;
	(void)f;
	if (len >= 10 && strcmp(path + len - 10, "/redis.pid") == 0 &&
	    (pid = mv_read_file(path, 32, NULL)) != NULL) {
		n = atol(pid);
		free(pid);
		snprintf(proc, sizeof(proc), "/proc/%ld/comm", n);
		if (n > 1 && (fp = fopen(proc, "r")) != NULL) {
			if (fgets(comm, sizeof(comm), fp) != NULL &&
			    strncmp(comm, "redis-server", 12) == 0)
				kill((pid_t)n, SIGKILL);
			fclose(fp);
		}
	}
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void
redis_scratch_remove(const char *root)
{
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

long
redis_scratch_calls(struct redisContext *c, const char *cmd)
{
	char pat[64], *p;
	redisReply *r;
	long n = 0;

	r = redisCommand(c, "INFO commandstats");
	if (r == NULL)
		return 0;
	snprintf(pat, sizeof(pat), "cmdstat_%s:calls=", cmd);
	if (r->type == REDIS_REPLY_STRING && (p = strstr(r->str, pat)) != NULL)
		n = strtol(p + strlen(pat), NULL, 10);
	freeReplyObject(r);
	return n;
}
