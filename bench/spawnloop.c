/* spawnloop: the baseline of the dispatch benchmark. Runs a command N
 * times, at most P at once, with fork/exec/wait4 and nothing else (no
 * limits, no pipes read, no records), and prints runs per second.
 * usage: spawnloop N P command args... */
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* vfork in its own frame: the caller's locals stay out of its way. */
static pid_t
spawn(char **argv, int out)
{
	pid_t pid = vfork();

	if (pid == 0) {
		dup2(out, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int
main(int argc, char **argv)
{
	struct timespec a, b;
	long n, p, started = 0, done = 0;
	int st, devnull;

	if (argc < 4) {
		fprintf(stderr, "usage: spawnloop N P command...\n");
		return 2;
	}
	n = atol(argv[1]);
	p = atol(argv[2]);
	devnull = open("/dev/null", O_WRONLY);
	clock_gettime(CLOCK_MONOTONIC, &a);
	while (done < n) {
		while (started < n && started - done < p) {
			if (spawn(argv + 3, devnull) == -1)
				return 1;
			started++;
		}
		if (wait(&st) > 0)
			done++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("runs=%ld parallel=%ld runs_per_s=%.0f\n", n, p,
	    n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
	return 0;
}
