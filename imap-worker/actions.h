/* imap-worker's actions, each printing its result or error and returning
 * the exit code. */
#ifndef IW_ACTIONS_H
#define IW_ACTIONS_H

#include "imap-worker/session.h"

struct action {
	const char	*name;
	int		(*run)(struct session *);
};

/* The action named name, or NULL. */
const struct action *action_find(const char *name);

/* Prints env (stolen) as the result, its array items one line each in
 * ndjson mode; returns the exit code. */
int action_finish(struct session *s, json_t *env, const char *items);
/* Prints err; returns its exit code. */
int action_fail(struct session *s, const struct mv_err *err);
/* The success envelope with user_email. New reference. */
json_t *action_success(struct session *s);

int act_ping(struct session *);
int act_get_profile(struct session *);
int act_list_labels(struct session *);
int act_fetch_emails(struct session *);
int act_get_email(struct session *);
int act_sync(struct session *);
int act_modify_labels(struct session *);
int act_mark_read(struct session *);
int act_mark_unread(struct session *);
int act_archive(struct session *);
int act_trash(struct session *);
int act_untrash(struct session *);
int act_delete(struct session *);
int act_send_email(struct session *);
int act_get_attachment(struct session *);

#endif
