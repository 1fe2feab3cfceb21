/* Waits until a Redis command's reply is a given value, asking every 10
 * ms on one connection, and prints how many times it asked. The bench's
 * observer: a shell loop forking redis-cli and sleep at each poll would
 * take CPU from the daemon it measures, on a machine of two cores.
 *   rwait SOCKET VALUE COMMAND [ARG...]
 * The reply is compared as text: a string, a status or an integer.
 * Exits 0 when it matched, 1 on an error (a refused command included). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

/* 1 when r reads as want. */
static int
matches(const redisReply *r, const char *want)
{
	char buf[32];

	switch (r->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		return strlen(want) == r->len && memcmp(r->str, want,
		    r->len) == 0;
	case REDIS_REPLY_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", r->integer);
		return strcmp(buf, want) == 0;
	default:
		return 0;
	}
}

int
main(int argc, char **argv)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	redisContext *c;
	redisReply *r;
	const char **cmd = (const char **)(void *)(argv + 3);
	long polls = 0;
	int done;

	if (argc < 4) {
		fprintf(stderr, "usage: rwait SOCKET VALUE COMMAND [ARG...]\n");
		return 1;
	}
	if ((c = redisConnectUnix(argv[1])) == NULL || c->err) {
		fprintf(stderr, "rwait: %s: %s\n", argv[1],
		    c != NULL ? c->errstr : "out of memory");
		return 1;
	}
	for (;;) {
		r = redisCommandArgv(c, argc - 3, cmd, NULL);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "rwait: %s\n", r != NULL ? r->str :
			    c->errstr);
			return 1;
		}
		polls++;
		done = matches(r, argv[2]);
		freeReplyObject(r);
		if (done)
			break;
		nanosleep(&tick, NULL);
	}
	printf("%ld\n", polls);
	redisFree(c);
	return 0;
}
