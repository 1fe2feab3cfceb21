/* The error types of the contract, their exit codes, and the JSON
 * envelopes a worker prints. */
#ifndef MV_ERR_H
#define MV_ERR_H

#include <jansson.h>

enum mv_errtype {
	MV_OK = 0,
	MV_E_INVALID_ARGUMENT,
	MV_E_BAD_CREDENTIALS,
	MV_E_NO_INPUT,
	MV_E_AUTH,
	MV_E_PERMISSION,
	MV_E_NOT_FOUND,
	MV_E_HISTORY_EXPIRED,
	MV_E_RATE_LIMITED,
	MV_E_TIMEOUT,
	MV_E_NETWORK,
	MV_E_API,
	MV_E_INTERNAL,
	MV_E_BAD_OUTPUT,	/* a model's answer does not fit its schema */
	MV_E_REFUSED,		/* a model refused to answer */
	MV_E__COUNT
};

/* What went wrong, for the error envelope. */
struct mv_err {
	enum mv_errtype	 type;
	int		 http_status;	/* 0: none */
	int		 retry_after;	/* seconds; -1: none */
	int		 retryable;	/* -1: as the type says; 0 or 1 */
	char		 msg[512];
};

/* A cleared error, for declarations: struct mv_err e = MV_ERR_INIT. */
#define MV_ERR_INIT	{ MV_OK, 0, -1, -1, "" }

/* Clears err to "no error". */
void mv_err_clear(struct mv_err *);
/* Sets type and message (printf-style); leaves http_status and
 * retry_after alone. Returns -1 so that callers can `return mv_err_set()`. */
int mv_err_set(struct mv_err *, enum mv_errtype, const char *, ...)
    __attribute__((format(printf, 3, 4)));

const char *mv_err_name(enum mv_errtype);
/* sysexits-style exit code for the type (0 for MV_OK). */
int mv_err_exit(enum mv_errtype);
/* 1 when a caller may retry the same request later. */
int mv_err_retryable(enum mv_errtype);
/* The same for one error: its own verdict when it has one (a send that
 * may have happened must not be retried), else its type's. */
int mv_err_is_retryable(const struct mv_err *);

/* {"status":"success","action":A,"user_email":U}; user_email left out when
 * NULL. Returns a new reference. */
json_t *mv_envelope_success(const char *action, const char *user_email);
/* The error envelope for err. Returns a new reference. */
json_t *mv_envelope_error(const char *action, const struct mv_err *);

#endif
