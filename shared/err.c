/* Error types, exit codes (sysexits.h values) and result envelopes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shared/err.h"
#include "shared/utf8.h"

static const struct {
	const char	*name;
	int		 exit;
	int		 retryable;
} err_table[MV_E__COUNT] = {
	[MV_OK] =			{ "ok",			0,  0 },
	[MV_E_INVALID_ARGUMENT] =	{ "invalid_argument",	64, 0 },
	[MV_E_BAD_CREDENTIALS] =	{ "bad_credentials",	78, 0 },
	[MV_E_NO_INPUT] =		{ "no_input",		66, 0 },
	[MV_E_AUTH] =			{ "auth",		77, 0 },
	[MV_E_PERMISSION] =		{ "permission",		77, 0 },
	[MV_E_NOT_FOUND] =		{ "not_found",		65, 0 },
	[MV_E_HISTORY_EXPIRED] =	{ "history_expired",	65, 0 },
	[MV_E_RATE_LIMITED] =		{ "rate_limited",	75, 1 },
	[MV_E_TIMEOUT] =		{ "timeout",		75, 1 },
	[MV_E_NETWORK] =		{ "network",		75, 1 },
	[MV_E_API] =			{ "api",		69, 0 },
	[MV_E_INTERNAL] =		{ "internal",		70, 0 },
	[MV_E_BAD_OUTPUT] =		{ "bad_output",		65, 0 },
	[MV_E_REFUSED] =		{ "refused",		65, 0 },
};

void
mv_err_clear(struct mv_err *e)
{
	e->type = MV_OK;
	e->http_status = 0;
	e->retry_after = -1;
	e->retryable = -1;
	e->msg[0] = '\0';
}

int
mv_err_set(struct mv_err *e, enum mv_errtype type, const char *fmt, ...)
{
	va_list ap;

	e->type = type;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

const char *
mv_err_name(enum mv_errtype t)
{
	if ((unsigned)t >= MV_E__COUNT)
		t = MV_E_INTERNAL;
	return err_table[t].name;
}

int
mv_err_exit(enum mv_errtype t)
{
	if ((unsigned)t >= MV_E__COUNT)
		t = MV_E_INTERNAL;
	return err_table[t].exit;
}

int
mv_err_retryable(enum mv_errtype t)
{
	if ((unsigned)t >= MV_E__COUNT)
		return 0;
	return err_table[t].retryable;
}

int
mv_err_is_retryable(const struct mv_err *e)
{
	return e->retryable >= 0 ? e->retryable : mv_err_retryable(e->type);
}

json_t *
mv_envelope_success(const char *action, const char *user_email)
{
	json_t *o = json_object();

	json_object_set_new(o, "status", json_string("success"));
	json_object_set_new(o, "action", mv_json_str(action));
	if (user_email)
		json_object_set_new(o, "user_email", mv_json_str(user_email));
	return o;
}

json_t *
mv_envelope_error(const char *action, const struct mv_err *e)
{
	json_t *o = json_object(), *err = json_object();

	json_object_set_new(err, "type", json_string(mv_err_name(e->type)));
	json_object_set_new(err, "message", mv_json_str(e->msg[0] ? e->msg :
	    mv_err_name(e->type)));
	json_object_set_new(err, "http_status", e->http_status ?
	    json_integer(e->http_status) : json_null());
	json_object_set_new(err, "retryable",
	    json_boolean(mv_err_is_retryable(e)));
	if (e->retry_after >= 0)
		json_object_set_new(err, "retry_after",
		    json_integer(e->retry_after));
	json_object_set_new(o, "status", json_string("error"));
	json_object_set_new(o, "action", action ? mv_json_str(action) :
	    json_null());
	json_object_set_new(o, "error", err);
	return o;
}
