/* Table-driven long options: parsing and --help lines. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/opt.h"
#include "shared/str.h"

const struct mv_opt *
mv_opt_find(const struct mv_opt_table *t, const char *name, size_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (mv_optname_eq(t->v[i].name, name, len))
			return &t->v[i];
	return NULL;
}

static const struct mv_opt *
opt_find_short(const struct mv_opt_table *t, char c)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].shortname == c)
			return &t->v[i];
	return NULL;
}

static int
list_add(struct strlist *l, const char *v, const char *name,
    struct mv_err *err)
{
	const char **nv;

	if (l->n >= MV_OPT_MAX_LIST)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT,
		    "--%s given more than %d times", name, MV_OPT_MAX_LIST);
	if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	nv[l->n++] = v;
	l->v = nv;
	return 0;
}

static int
opt_set(void *base, const struct mv_opt *d, const char *v, struct mv_err *err)
{
	char *p = (char *)base + d->off, *end;
	long l;
	double x;

	switch (d->kind) {
	case MV_OPT_FLAG:
		*(int *)(void *)p = 1;
		return 0;
	case MV_OPT_COUNT:
		(*(int *)(void *)p)++;
		return 0;
	case MV_OPT_STR:
		*(const char **)(void *)p = v;
		return 0;
	case MV_OPT_LIST:
		return list_add((struct strlist *)(void *)p, v, d->name, err);
	case MV_OPT_LONG:
		errno = 0;
		l = strtol(v, &end, 10);
		if (errno || end == v || *end || l < d->min || l > d->max)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "--%s: '%.64s' is not an integer from %ld to %ld",
			    d->name, v, d->min, d->max);
		*(long *)(void *)p = l;
		return 0;
	case MV_OPT_DOUBLE:
		errno = 0;
		x = strtod(v, &end);
		if (errno || end == v || *end || x < d->min || x > d->max)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "--%s: '%.64s' is not a number from %ld to %ld",
			    d->name, v, d->min, d->max);
		*(double *)(void *)p = x;
		return 0;
	}
	return 0;
}

static int
needs_arg(const struct mv_opt *d)
{
	return d->kind != MV_OPT_FLAG && d->kind != MV_OPT_COUNT;
}

/* One "--name[=value]" at argv[*i]; consumes the value if separate. */
static int
parse_long(const struct mv_opt_table *t, void *base, int argc, char **argv,
    int *i, struct mv_err *err)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	const struct mv_opt *d;

	if ((d = mv_opt_find(t, a, len)) == NULL)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT,
		    "unknown option --%.*s (see --help)", (int)len, a);
	if (!needs_arg(d)) {
		if (eq)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "--%s takes no value", d->name);
		return opt_set(base, d, NULL, err);
	}
	if (eq)
		return opt_set(base, d, eq + 1, err);
	if (*i + 1 >= argc)
		return mv_err_set(err, MV_E_INVALID_ARGUMENT,
		    "--%s needs a value", d->name);
	return opt_set(base, d, argv[++*i], err);
}

/* "-v", "-vv", "-a fetch_emails", "-afetch_emails". */
static int
parse_short(const struct mv_opt_table *t, void *base, int argc, char **argv,
    int *i, struct mv_err *err)
{
	const char *a = argv[*i] + 1;
	const struct mv_opt *d;

	for (; *a; a++) {
		if ((d = opt_find_short(t, *a)) == NULL)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "unknown option -%c (see --help)", *a);
		if (!needs_arg(d)) {
			opt_set(base, d, NULL, err);
			continue;
		}
		if (a[1])
			return opt_set(base, d, a + 1, err);
		if (*i + 1 >= argc)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "-%c needs a value", *a);
		return opt_set(base, d, argv[++*i], err);
	}
	return 0;
}

int
mv_opt_parse(const struct mv_opt_table *t, void *base, int argc, char **argv,
    struct mv_err *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc)
				return mv_err_set(err, MV_E_INVALID_ARGUMENT,
				    "unexpected argument '%.64s'", argv[i + 1]);
			break;
		}
		if (a[0] == '-' && a[1] == '-') {
			if (parse_long(t, base, argc, argv, &i, err) == -1)
				return -1;
		} else if (a[0] == '-' && a[1] != '\0') {
			if (parse_short(t, base, argc, argv, &i, err) == -1)
				return -1;
		} else
			return mv_err_set(err, MV_E_INVALID_ARGUMENT,
			    "unexpected argument '%.64s' (options start with "
			    "--)", a);
	}
	return 0;
}

void
mv_opt_free_lists(const struct mv_opt_table *t, void *base)
{
	struct strlist *l;

	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].kind != MV_OPT_LIST)
			continue;
		l = (struct strlist *)(void *)((char *)base + t->v[i].off);
		free(l->v);
		l->v = NULL;
		l->n = 0;
	}
}

void
mv_opt_help(const struct mv_opt_table *t)
{
	char left[64];

	for (size_t i = 0; i < t->n; i++) {
		const struct mv_opt *d = &t->v[i];

		snprintf(left, sizeof(left), "%s%c%s--%s%s%s",
		    d->shortname ? "-" : "", d->shortname ? d->shortname : ' ',
		    d->shortname ? ", " : "   ", d->name, d->arg ? " " : "",
		    d->arg ? d->arg : "");
		printf("  %-32s %s\n", left, d->help);
	}
}
