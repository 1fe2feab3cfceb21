/* Where mailvisorctl finds the daemon and its token: flags, then the
 * environment, then the daemon's configuration file. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "shared/buf.h"
#include "shared/str.h"
#include "supervisor/conf.h"
#include "supervisor/ctl/ctl.h"

int
ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("mailvisorctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

const char *
ctl_clean(char *buf, size_t buflen, const char *s, size_t max)
{
	mv_quote_clean(buf, buflen, s != NULL ? s : "", max);
	return buf;
}

int
ctl_token_valid(const char *s, size_t n)
{
	if (n < CTL_TOKEN_MIN || n > CTL_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* Reads at most buflen bytes of fd into buf. Returns the count, or -1. */
static ssize_t
token_slurp(int fd, char *buf, size_t buflen)
{
	size_t len = 0;
	ssize_t n;

	while (len < buflen) {
		n = read(fd, buf + len, buflen - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

char *
ctl_token_read(const char *path, int *code)
{
	char buf[CTL_TOKEN_MAX + 3], name[256], *tok = NULL;
	ssize_t n;
	int fd;

	ctl_clean(name, sizeof(name), path, 200);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*code = ctl_fail(EX_NOINPUT, "token file %s: %s", name,
		    strerror(errno));
		return NULL;
	}
	n = token_slurp(fd, buf, sizeof(buf));
	if (n == -1)
		*code = ctl_fail(EX_NOINPUT, "token file %s: %s", name,
		    strerror(errno));
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n >= 0 && !ctl_token_valid(buf, (size_t)n))
		*code = ctl_fail(EX_CONFIG, "token file %s: not one line of "
		    "%d to %d printable ASCII characters without blanks",
		    name, CTL_TOKEN_MIN, CTL_TOKEN_MAX);
	else if (n >= 0 && (tok = strndup(buf, (size_t)n)) == NULL)
		*code = ctl_fail(EX_SOFTWARE, "out of memory");
	explicit_bzero(buf, sizeof(buf));
	return tok;
}

/* The token from MAILVISOR_TOKEN into t. 0, or an exit status. */
static int
target_env_token(struct ctl_target *t, const char *v)
{
	if (!ctl_token_valid(v, strlen(v)))
		return ctl_fail(EX_CONFIG, "MAILVISOR_TOKEN: not %d to %d "
		    "printable ASCII characters without blanks", CTL_TOKEN_MIN,
		    CTL_TOKEN_MAX);
	if ((t->token = strdup(v)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	return 0;
}

/* Sets t->url to a copy of url without its trailing '/'s, after checks.
 * from names its source. Returns 0, or EX_USAGE after saying why. */
static int
target_set_url(struct ctl_target *t, const char *url, const char *from)
{
	char q[256];
	const char *rest;
	size_t n;

	ctl_clean(q, sizeof(q), url, 200);
	if (strncasecmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		rest = url + 8;
	else
		return ctl_fail(EX_USAGE, "%s: '%s' is not an http:// or "
		    "https:// URL", from, q);
	if (*rest == '\0' || *rest == '/')
		return ctl_fail(EX_USAGE, "%s: '%s' names no host", from, q);
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f ||
		    strchr("?#\"<>\\^`{|}", *p) != NULL)
			return ctl_fail(EX_USAGE, "%s: '%s': a base URL "
			    "without spaces, query or fragment is needed",
			    from, q);
	n = strcspn(rest, "/");
	if (memchr(rest, '@', n) != NULL)
		return ctl_fail(EX_USAGE, "%s: credentials in the URL are "
		    "refused: use a token file", from);
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if ((t->url = strndup(url, n)) == NULL ||
	    (t->url_from = strdup(from)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	return 0;
}

/*
 * The URL of [http] listen's host and port: a wildcard address becomes the
 * loopback one of its family. Returns a new string, or NULL when out of
 * memory.
 */
static char *
target_listen_url(const char *host, int port)
{
	char *url = NULL;
	int v6 = strchr(host, ':') != NULL;

	if (*host == '\0' || strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	if (asprintf(&url, "http://%s%s%s:%d", v6 ? "[" : "", host,
	    v6 ? "]" : "", port) == -1)
		return NULL;
	return url;
}

/* Loads the configuration file path, its errors printed as
 * "mailvisorctl: file:line: message". Returns it, or NULL. */
static struct conf *
target_conf_load(const char *path)
{
	struct conf *c;
	char *text = NULL, *line, *save = NULL, clean[512];
	size_t len = 0;
	FILE *errs;

	if ((errs = open_memstream(&text, &len)) == NULL) {
		ctl_fail(EX_SOFTWARE, "out of memory");
		return NULL;
	}
	c = conf_load(path, errs);
	fclose(errs);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		ctl_fail(EX_CONFIG, "%s", ctl_clean(clean, sizeof(clean),
		    line, 400));
	free(text);
	return c;
}

/* The URL and the token that t still lacks from the configuration file
 * c (loaded from path). Returns 0, or an exit status. */
static int
target_from_conf(struct ctl_target *t, const struct conf *c,
    const char *path)
{
	char q[256], from[300];
	char *url;
	int rc;

	ctl_clean(q, sizeof(q), path, 200);
	if (t->url == NULL && c->http.listen == NULL)
		return ctl_fail(EX_USAGE, "%s has no [http] listen (the API "
		    "is off there): give --url", q);
	if (t->url == NULL) {
		if (c->http.host == NULL ||
		    (url = target_listen_url(c->http.host, c->http.port)) ==
		    NULL)
			return ctl_fail(EX_SOFTWARE, "out of memory");
		snprintf(from, sizeof(from), "%s: [http] listen", q);
		rc = target_set_url(t, url, from);
		free(url);
		if (rc != 0)
			return rc;
	}
	/* conf_load() read and checked the token file. */
	if (t->token == NULL && c->http.token != NULL &&
	    (t->token = strdup(c->http.token)) == NULL)
		return ctl_fail(EX_SOFTWARE, "out of memory");
	return 0;
}

/*
 * The configuration file's part: path is -c's or the default. The
 * default is skipped when it does not exist or may not be read (then
 * *denied is set); an explicit file must load. Returns 0 or an exit
 * status.
 */
static int
target_conf(struct ctl_target *t, const char *path, int explicit,
    int *denied)
{
	char q[256];
	struct conf *c;
	int fd, rc;

	ctl_clean(q, sizeof(q), path, 200);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (!explicit && (errno == ENOENT || errno == EACCES)) {
			*denied = errno == EACCES;
			return 0;
		}
		return ctl_fail(EX_CONFIG, "cannot read %s: %s%s", q,
		    strerror(errno), errno == EACCES ? " (give --url and "
		    "--token-file, or run as a user who may read it)" : "");
	}
	close(fd);
	if ((c = target_conf_load(path)) == NULL)
		return EX_CONFIG;
	rc = target_from_conf(t, c, path);
	conf_free(c);
	return rc;
}

/* The flags' and the environment's part. Returns 0 or an exit status. */
static int
target_direct(const struct ctl_source *src, struct ctl_target *t)
{
	const char *v;
	int code = 0, rc;

	if (src->url != NULL && (rc = target_set_url(t, src->url, "--url")))
		return rc;
	if (t->url == NULL && (v = getenv("MAILVISOR_URL")) != NULL &&
	    *v != '\0' && (rc = target_set_url(t, v, "MAILVISOR_URL")))
		return rc;
	if (src->token_file != NULL) {
		if ((t->token = ctl_token_read(src->token_file, &code)) == NULL)
			return code;
	} else if ((v = getenv("MAILVISOR_TOKEN")) != NULL && *v != '\0') {
		if ((rc = target_env_token(t, v)) != 0)
			return rc;
	} else if ((v = getenv("MAILVISOR_TOKEN_FILE")) != NULL &&
	    *v != '\0') {
		if ((t->token = ctl_token_read(v, &code)) == NULL)
			return code;
	}
	return 0;
}

int
ctl_target_get(const struct ctl_source *src, struct ctl_target *t)
{
	const char *path = src->config ? src->config : CTL_DEFAULT_CONF;
	int denied = 0, rc;

	memset(t, 0, sizeof(*t));
	t->cacert = src->cacert;
	if ((rc = target_direct(src, t)) != 0)
		return rc;
	if ((t->url == NULL || t->token == NULL) &&
	    (rc = target_conf(t, path, src->config != NULL, &denied)) != 0)
		return rc;
	if (t->url == NULL)
		return ctl_fail(EX_USAGE, "no daemon URL: give --url URL, set "
		    "MAILVISOR_URL, or name the daemon's configuration with "
		    "-c FILE%s", denied ? " (" CTL_DEFAULT_CONF ": permission "
		    "denied)" : "");
	return 0;
}

void
ctl_target_free(struct ctl_target *t)
{
	if (t->token != NULL) {
		explicit_bzero(t->token, strlen(t->token));
		free(t->token);
	}
	free(t->url);
	free(t->url_from);
	memset(t, 0, sizeof(*t));
}
