/* The mail server connection: TCP and OpenSSL under libetpan, with a
 * deadline on every read and write and a byte budget per exchange.
 * libetpan's own TLS (GnuTLS on Debian) checks no certificate and no host
 * name: it is never used. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "imap-worker/conn.h"
#include "shared/log.h"

/* Waits until fd is ready for ev within c->timeout. Returns 0, or -1 with
 * c->fail set. */
static int
conn_wait(struct conn *c, short ev)
{
	struct pollfd p = { .fd = c->fd, .events = ev, .revents = 0 };
	int n;

	do
		n = poll(&p, 1, c->timeout * 1000);
	while (n == -1 && errno == EINTR);
	if (n == 0) {
		c->fail = CONN_TIMEOUT;
		return -1;
	}
	if (n == -1) {
		c->fail = CONN_IO;
		snprintf(c->why, sizeof(c->why), "poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Connects one address without blocking past the deadline. Returns the
 * socket, or -1 with errno. */
static int
conn_try(struct conn *c, const struct addrinfo *ai)
{
	int fd, e = 0;
	socklen_t len = sizeof(e);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	c->fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS || conn_wait(c, POLLOUT) == -1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1 ||
		    e != 0) {
			if (c->fail == CONN_TIMEOUT)
				e = ETIMEDOUT;
			close(fd);
			c->fd = -1;
			errno = e ? e : errno;
			return -1;
		}
	}
	return fd;
}

int
conn_open(struct conn *c, const char *host, int port, int timeout,
    struct mv_err *err)
{
	struct addrinfo hints, *res, *ai;
	char serv[16];
	int rc, e = ECONNREFUSED;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout = timeout;
	c->budget = (size_t)-1;
	if (strlcpy(c->host, host, sizeof(c->host)) >= sizeof(c->host))
		return mv_err_set(err, MV_E_BAD_CREDENTIALS, "host: longer "
		    "than %zu bytes", sizeof(c->host) - 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0)
		return mv_err_set(err, MV_E_NETWORK, "%.200s: %s", host,
		    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		c->fail = CONN_OK;
		if (conn_try(c, ai) != -1)
			break;
		e = errno;
	}
	freeaddrinfo(res);
	if (c->fd == -1) {
		mv_err_set(err, e == ETIMEDOUT ? MV_E_TIMEOUT : MV_E_NETWORK,
		    "connect to %.200s port %d: %s", host, port, strerror(e));
		return -1;
	}
	c->fail = CONN_OK;
	return 0;
}

/* The first OpenSSL error queued, as text, into c->why. */
static void
conn_ssl_why(struct conn *c, const char *step)
{
	unsigned long e = ERR_get_error();

	if (e != 0)
		snprintf(c->why, sizeof(c->why), "%s: %s", step,
		    ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
		    "TLS error");
	else
		snprintf(c->why, sizeof(c->why), "%s: %s", step,
		    errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
}

/* The TLS context: system CAs, ca_file, TLS 1.2+, peer verified. */
static int
conn_ctx(struct conn *c, const char *ca_file, struct mv_err *err)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "TLS: no context");
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
		ERR_clear_error();
	if (ca_file != NULL &&
	    SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
		ERR_clear_error();
		return mv_err_set(err, MV_E_NO_INPUT, "--ca_file %.200s: not "
		    "a readable PEM certificate file", ca_file);
	}
	return 0;
}

/* The name to check: an IP address literal or a DNS name (also sent as
 * SNI). */
static int
conn_peer_name(struct conn *c, struct mv_err *err)
{
	unsigned char ip[16];
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);

	if (inet_pton(AF_INET, c->host, ip) == 1 ||
	    inet_pton(AF_INET6, c->host, ip) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, c->host) != 1)
			return mv_err_set(err, MV_E_INTERNAL, "TLS: bad IP");
		return 0;
	}
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(c->ssl, c->host) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, c->host) != 1)
		return mv_err_set(err, MV_E_INTERNAL, "TLS: bad host name");
	return 0;
}

/* Drives SSL_connect to its end within the deadline per step. */
static int
conn_handshake(struct conn *c)
{
	int r, e;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_connect(c->ssl)) == 1)
			return 0;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ && conn_wait(c, POLLIN) == 0)
			continue;
		if (e == SSL_ERROR_WANT_WRITE && conn_wait(c, POLLOUT) == 0)
			continue;
		if (c->fail == CONN_OK) {
			c->fail = CONN_IO;
			conn_ssl_why(c, "TLS handshake");
		}
		return -1;
	}
}

int
conn_tls(struct conn *c, const char *ca_file, struct mv_err *err)
{
	long v;

	if (conn_ctx(c, ca_file, err) == -1)
		return -1;
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "TLS: no session");
	SSL_set_fd(c->ssl, c->fd);
	if (conn_peer_name(c, err) == -1)
		return -1;
	if (conn_handshake(c) == 0)
		return 0;
	v = SSL_get_verify_result(c->ssl);
	if (v != X509_V_OK) {
		mv_err_set(err, MV_E_NETWORK, "TLS: the certificate of "
		    "%.200s fails verification: %s", c->host,
		    X509_verify_cert_error_string(v));
		err->retryable = 0;
		return -1;
	}
	return conn_error(c, "TLS handshake", err);
}

void
conn_set_budget(struct conn *c, size_t bytes)
{
	c->budget = bytes;
}

/* One read or write of the socket or the TLS session: >0 bytes, 0 would
 * block (*ev tells on what), -1 failed (c->fail set). */
static ssize_t
conn_io1(struct conn *c, void *buf, size_t n, int wr, short *ev)
{
	ssize_t r;
	int e;

	if (c->ssl == NULL) {
		r = wr ? send(c->fd, buf, n, MSG_NOSIGNAL) : recv(c->fd, buf,
		    n, 0);
		if (r > 0)
			return r;
		if (r == -1 && (errno == EAGAIN || errno == EINTR)) {
			*ev = wr ? POLLOUT : POLLIN;
			return 0;
		}
		c->fail = r == 0 ? CONN_CLOSED : CONN_IO;
		if (r == -1)
			snprintf(c->why, sizeof(c->why), "%s", strerror(errno));
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	r = wr ? SSL_write(c->ssl, buf, (int)n) : SSL_read(c->ssl, buf,
	    (int)n);
	if (r > 0)
		return r;
	e = SSL_get_error(c->ssl, (int)r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return 0;
	}
	c->fail = e == SSL_ERROR_ZERO_RETURN ? CONN_CLOSED : CONN_IO;
	if (c->fail == CONN_IO)
		conn_ssl_why(c, wr ? "TLS write" : "TLS read");
	return -1;
}

/* Reads or writes until some bytes moved, the deadline passes or the
 * connection fails. */
static ssize_t
conn_io(struct conn *c, void *buf, size_t n, int wr)
{
	ssize_t r;
	short ev = 0;

	if (c->fd == -1 || c->fail != CONN_OK)
		return -1;
	if (n > 1 << 30)
		n = 1 << 30;
	while ((r = conn_io1(c, buf, n, wr, &ev)) == 0)
		if (conn_wait(c, ev) == -1)
			return -1;
	return r;
}

static ssize_t
conn_low_read(mailstream_low *s, void *buf, size_t n)
{
	struct conn *c = s->data;
	ssize_t r;

	if (c->budget == 0) {
		c->fail = CONN_TOOBIG;
		return -1;
	}
	if (n > c->budget)
		n = c->budget;
	if ((r = conn_io(c, buf, n, 0)) > 0) {
		c->budget -= (size_t)r;
		c->nread += (uint64_t)r;
	}
	return r;
}

static ssize_t
conn_low_write(mailstream_low *s, const void *buf, size_t n)
{
	struct conn *c = s->data;
	ssize_t r;

	r = conn_io(c, (void *)(uintptr_t)buf, n, 1);
	if (r > 0)
		c->nwritten += (uint64_t)r;
	return r;
}

/* The connection is the caller's: closing the stream leaves it. */
static int
conn_low_close(mailstream_low *s)
{
	(void)s;
	return 0;
}

static int
conn_low_fd(mailstream_low *s)
{
	return ((struct conn *)s->data)->fd;
}

static void
conn_low_free(mailstream_low *s)
{
	free(s);
}

static void
conn_low_cancel(mailstream_low *s)
{
	(void)s;
}

static struct mailstream_cancel *
conn_low_get_cancel(mailstream_low *s)
{
	(void)s;
	return NULL;
}

static carray *
conn_low_certs(mailstream_low *s)
{
	(void)s;
	return NULL;
}

static mailstream_low_driver conn_driver = {
	.mailstream_read = conn_low_read,
	.mailstream_write = conn_low_write,
	.mailstream_close = conn_low_close,
	.mailstream_get_fd = conn_low_fd,
	.mailstream_free = conn_low_free,
	.mailstream_cancel = conn_low_cancel,
	.mailstream_get_cancel = conn_low_get_cancel,
	.mailstream_get_certificate_chain = conn_low_certs,
};

mailstream *
conn_stream(struct conn *c)
{
	mailstream_low *low;
	mailstream *s;

	if ((low = mailstream_low_new(c, &conn_driver)) == NULL)
		return NULL;
	if ((s = mailstream_new(low, 8192)) == NULL)
		free(low);
	return s;
}

int
conn_error(const struct conn *c, const char *what, struct mv_err *err)
{
	switch (c->fail) {
	case CONN_TIMEOUT:
		return mv_err_set(err, MV_E_TIMEOUT, "%s: no answer from "
		    "%.200s within %d s", what, c->host, c->timeout);
	case CONN_TOOBIG:
		mv_err_set(err, MV_E_API, "%s: the answer of %.200s is larger "
		    "than allowed", what, c->host);
		err->retryable = 0;
		return -1;
	case CONN_CLOSED:
		return mv_err_set(err, MV_E_NETWORK, "%s: %.200s closed the "
		    "connection", what, c->host);
	case CONN_IO:
		return mv_err_set(err, MV_E_NETWORK, "%s: %.200s: %s", what,
		    c->host, c->why);
	case CONN_OK:
		break;
	}
	return mv_err_set(err, MV_E_API, "%s: %.200s sent an answer that "
	    "does not parse", what, c->host);
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	c->ctx = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}
