/* FOLDER/UIDVALIDITY/UID ids. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-worker/msgid.h"

static int
msgid_plain(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

char *
msgid_make(const char *folder, uint32_t uidvalidity, uint32_t uid)
{
	size_t n = strlen(folder), i, o = 0;
	char *s = malloc(n * 3 + 2 * 11 + 1);

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)folder[i];

		if (msgid_plain(c))
			s[o++] = (char)c;
		else
			o += (size_t)sprintf(s + o, "%%%02X", c);
	}
	sprintf(s + o, "/%u/%u", uidvalidity, uid);
	return s;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A decimal in 1..2^32-1 spanning [s, end). */
static int
msgid_num(const char *s, const char *end, uint32_t *v)
{
	unsigned long long n = 0;

	if (s == end || end - s > 10 || *s == '0')
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (unsigned)(*s - '0');
	}
	if (n == 0 || n > UINT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

/* Decodes [s, end) into a new string without NUL bytes. */
static char *
msgid_unescape(const char *s, const char *end)
{
	char *d = malloc((size_t)(end - s) + 1), *o = d;
	int hi, lo;

	if (d == NULL)
		return NULL;
	while (s < end) {
		if (*s != '%') {
			*o++ = *s++;
			continue;
		}
		if (end - s < 3 || (hi = hexval(s[1])) < 0 ||
		    (lo = hexval(s[2])) < 0 || (hi | lo) == 0) {
			free(d);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		s += 3;
	}
	*o = '\0';
	return d;
}

int
msgid_parse(const char *id, struct msgid *m)
{
	const char *u = strrchr(id, '/'), *v;

	memset(m, 0, sizeof(*m));
	if (u == NULL || u == id)
		return -1;
	for (v = u - 1; v > id && *v != '/'; v--)
		;
	if (*v != '/' || v == id)
		return -1;
	if (msgid_num(v + 1, u, &m->uidvalidity) == -1 ||
	    msgid_num(u + 1, u + strlen(u), &m->uid) == -1)
		return -1;
	if ((m->folder = msgid_unescape(id, v)) == NULL || !*m->folder) {
		msgid_free(m);
		return -1;
	}
	return 0;
}

void
msgid_free(struct msgid *m)
{
	free(m->folder);
	m->folder = NULL;
}
