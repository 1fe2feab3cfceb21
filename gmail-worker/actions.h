/* The actions of contract §1, each printing its result or error and
 * returning the exit code. */
#ifndef GW_ACTIONS_H
#define GW_ACTIONS_H

#include "gmail-worker/gmail.h"

struct action {
	const char	*name;
	int		(*run)(struct gm *);
	const char	*scopes;	/* what a service account asks for */
};

/* The action named name, or NULL. */
const struct action *action_find(const char *name);

int act_get_profile(struct gm *);
int act_list_labels(struct gm *);
int act_list_history(struct gm *);
int act_send_email(struct gm *);
int act_modify_labels(struct gm *);
int act_mark_read(struct gm *);
int act_mark_unread(struct gm *);
int act_archive(struct gm *);
int act_trash(struct gm *);
int act_untrash(struct gm *);
int act_delete(struct gm *);
int act_get_attachment(struct gm *);
int act_ping(struct gm *);

#endif
