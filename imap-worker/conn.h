/* The connection to a mail server: TCP with a deadline on every read and
 * write, TLS through OpenSSL with the certificate and the host name
 * verified, a cap on the bytes one exchange may read, and the libetpan
 * stream (mailstream_low driver) over all of it. */
#ifndef IW_CONN_H
#define IW_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <libetpan/libetpan.h>
#include <openssl/ssl.h>

#include "shared/err.h"

/* Why the last read or write failed. */
enum conn_fail {
	CONN_OK,
	CONN_TIMEOUT,	/* no byte for --timeout seconds */
	CONN_TOOBIG,	/* the exchange's byte budget is spent */
	CONN_CLOSED,	/* the server closed the connection */
	CONN_IO,	/* a socket or TLS error */
};

struct conn {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	int		 timeout;	/* seconds, per read or write */
	size_t		 budget;	/* bytes the exchange may still read */
	uint64_t	 nread, nwritten;	/* totals, for -v */
	enum conn_fail	 fail;
	char		 host[256];
	char		 why[160];	/* the socket or TLS error */
};

/*
 * Connects to host:port (every address getaddrinfo gives, in turn) within
 * timeout seconds. Returns 0, or -1 with err (network; timeout).
 */
int conn_open(struct conn *c, const char *host, int port, int timeout,
    struct mv_err *err);

/*
 * TLS on the open connection: the system's CA store plus ca_file (when not
 * NULL), the peer's certificate verified and its name checked against the
 * host connected to (DNS name or IP address), SNI sent, TLS 1.2 at least.
 * A certificate that fails is error network, not retryable: nothing else
 * has been sent. Returns 0, or -1 with err.
 */
int conn_tls(struct conn *c, const char *ca_file, struct mv_err *err);

/* A new libetpan stream reading and writing through c (c stays the
 * caller's: the stream's close and free leave it). NULL when out of
 * memory. */
mailstream *conn_stream(struct conn *c);

/* The bytes the next exchange may read; past them a read fails
 * (CONN_TOOBIG). */
void conn_set_budget(struct conn *c, size_t bytes);

/* Turns the last failure into err: timeout, network (closed, I/O) or api
 * (too big); what names the step ("LOGIN", "FETCH"). Returns -1. */
int conn_error(const struct conn *c, const char *what, struct mv_err *err);

/* Closes the socket and frees the TLS state. NULL-safe, idempotent. */
void conn_close(struct conn *c);

#endif
