/* runstat: runs a command N times and prints the median and best wall
 * time and the largest peak RSS (wait4's ru_maxrss of the child alone).
 * usage: runstat [-n N] [-q] -- command args...   (stdout to /dev/null
 * with -q). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int n = 10, quiet = 0, c, st, failed = 0;
	double *t, t0;
	long rss = 0;
	struct rusage ru;
	pid_t pid;

	while ((c = getopt(argc, argv, "n:q")) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'q')
			quiet = 1;
		else
			return 2;
	}
	if (optind >= argc || n < 1) {
		fprintf(stderr, "usage: runstat [-n N] [-q] -- cmd...\n");
		return 2;
	}
	if ((t = calloc((size_t)n, sizeof(*t))) == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		t0 = now_ms();
		if ((pid = fork()) == 0) {
			if (quiet) {
				int fd = open("/dev/null", O_WRONLY);

				dup2(fd, 1);
			}
			execvp(argv[optind], argv + optind);
			_exit(127);
		}
		if (pid == -1 || wait4(pid, &st, 0, &ru) == -1)
			return 1;
		t[i] = now_ms() - t0;
		if (ru.ru_maxrss > rss)
			rss = ru.ru_maxrss;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("runs=%d median_ms=%.2f best_ms=%.2f max_rss_kb=%ld failed=%d\n",
	    n, t[n / 2], t[0], rss, failed);
	free(t);
	return failed ? 1 : 0;
}
