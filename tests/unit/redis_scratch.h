/* The scratch directory of unit tests that start redis-server through
 * tests/redis.sh: made at start, removed at the end with any server a
 * failed test left running. */
#ifndef TEST_REDIS_SCRATCH_H
#define TEST_REDIS_SCRATCH_H

/* Checks that tests/redis.sh is at hand (tests run from the top of the
 * tree) and makes the directory from root, a mkdtemp() template changed
 * in place. prog names the test in messages. Returns 0, or -1 with the
 * reason printed. */
int redis_scratch_init(char *root, const char *prog);

/* Kills the redis-servers whose redis.pid files lie under root, then
 * removes root and everything in it. */
void redis_scratch_remove(const char *root);

struct redisContext;

/* How many times Redis ran cmd (lower case, e.g. "evalsha"), from INFO
 * commandstats on c; 0 when never, or on an error. */
long redis_scratch_calls(struct redisContext *c, const char *cmd);

#endif
