/* Capped growable buffers and whole-file reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/buf.h"

void
mv_buf_init(struct mv_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

static int
buf_grow(struct mv_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->max && need > b->max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1) {
		if (cap > ((size_t)-1) / 2) {
			errno = ENOMEM;
			return -1;
		}
		cap *= 2;
	}
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
mv_buf_append(struct mv_buf *b, const void *p, size_t n)
{
	if (n > ((size_t)-1) - b->len - 1) {
		errno = ENOMEM;
		return -1;
	}
	if (buf_grow(b, b->len + n) == -1)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
mv_buf_puts(struct mv_buf *b, const char *s)
{
	return mv_buf_append(b, s, strlen(s));
}

int
mv_buf_putc(struct mv_buf *b, int c)
{
	char ch = (char)c;

	return mv_buf_append(b, &ch, 1);
}

int
mv_buf_printf(struct mv_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256], *big;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return mv_buf_append(b, small, n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = mv_buf_append(b, big, n);
	free(big);
	return rc;
}

void
mv_buf_reset(struct mv_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *
mv_buf_steal(struct mv_buf *b, size_t *lenp)
{
	char *p;

	if (b->data == NULL && mv_buf_append(b, "", 0) == -1)
		return NULL;
	p = b->data;
	if (lenp)
		*lenp = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
mv_buf_free(struct mv_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
mv_read_file(const char *path, size_t max, size_t *lenp)
{
	struct mv_buf b;
	char chunk[16384];
	ssize_t n;
	int fd, saved;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	mv_buf_init(&b, max);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (mv_buf_append(&b, chunk, (size_t)n) == -1)
			break;
	}
	saved = errno;
	if (fd != STDIN_FILENO)
		close(fd);
	if (n != 0) {
		mv_buf_free(&b);
		errno = saved;
		return NULL;
	}
	return mv_buf_steal(&b, lenp);
}
