/* Growable byte buffers with a cap: hitting the cap is an outcome. */
#ifndef MV_BUF_H
#define MV_BUF_H

#include <stddef.h>

struct mv_buf {
	char	*data;		/* always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* 0: no cap */
};

/* A buffer that refuses to grow past max bytes (0: unbounded). */
void mv_buf_init(struct mv_buf *, size_t max);
/* Appends n bytes. -1 with errno EMSGSIZE past the cap (nothing appended),
 * ENOMEM when out of memory. */
int mv_buf_append(struct mv_buf *, const void *, size_t n);
int mv_buf_puts(struct mv_buf *, const char *);
int mv_buf_putc(struct mv_buf *, int c);
int mv_buf_printf(struct mv_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void mv_buf_reset(struct mv_buf *);
/* Hands the data to the caller (who frees it) and empties the buffer.
 * Never NULL unless out of memory. */
char *mv_buf_steal(struct mv_buf *, size_t *lenp);
void mv_buf_free(struct mv_buf *);

/* Reads a whole file (path "-" is stdin) into a new NUL-terminated string
 * of at most max bytes. NULL with errno (EMSGSIZE when larger). */
char *mv_read_file(const char *path, size_t max, size_t *lenp);

#endif
