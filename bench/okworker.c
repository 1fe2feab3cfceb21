/* The smallest worker: prints a success and exits 0. Linked statically
 * by the bench target, so that the runs measure the supervisor, not the
 * dynamic loader. With a FILE argument it also appends a line to FILE:
 * the CLOCK_MONOTONIC nanoseconds at which it started and ended (one
 * write, atomic with O_APPEND), for the time slots stay free between
 * runs (bench/mvd.sh, MVD_BENCH=gaps). */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long long
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	static const char out[] = "{\"status\":\"success\"}\n";
	long long start = mono_ns();
	char line[64];
	int fd, n, ok;

	ok = write(1, out, sizeof(out) - 1) == sizeof(out) - 1;
	if (argc > 1) {
		if ((fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0644)) == -1)
			return 1;
		n = snprintf(line, sizeof(line), "%lld %lld\n", start,
		    mono_ns());
		ok = ok && write(fd, line, (size_t)n) == n;
		close(fd);
	}
	return ok ? 0 : 1;
}
