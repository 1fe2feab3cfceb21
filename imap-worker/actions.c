/* The action table and the mailbox-wide actions: ping, get_profile,
 * list_labels. */
#include <string.h>

#include "common/output.h"
#include "imap-worker/actions.h"
#include "imap-worker/folders.h"
#include "shared/utf8.h"

/* Sorted by name. */
static const struct action actions[] = {
	{ "archive", act_archive },
	{ "delete", act_delete },
	{ "fetch_emails", act_fetch_emails },
	{ "get_attachment", act_get_attachment },
	{ "get_email", act_get_email },
	{ "get_profile", act_get_profile },
	{ "list_labels", act_list_labels },
	{ "mark_read", act_mark_read },
	{ "mark_unread", act_mark_unread },
	{ "modify_labels", act_modify_labels },
	{ "ping", act_ping },
	{ "send_email", act_send_email },
	{ "sync", act_sync },
	{ "trash", act_trash },
	{ "untrash", act_untrash },
};

const struct action *
action_find(const char *name)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

int
action_finish(struct session *s, json_t *env, const char *items)
{
	int rc = output_result(s->out, s->ndjson, env, items) == 0 ? 0 :
	    mv_err_exit(MV_E_INTERNAL);

	json_decref(env);
	return rc;
}

int
action_fail(struct session *s, const struct mv_err *err)
{
	return output_error(s->out, s->ndjson, s->o->action, err);
}

json_t *
action_success(struct session *s)
{
	return mv_envelope_success(s->o->action, s->acct.username);
}

int
act_ping(struct session *s)
{
	json_t *env = action_success(s);

	json_object_set_new(env, "token_expires_in", s->token_expires_in >= 0 ?
	    json_integer(s->token_expires_in) : json_null());
	return action_finish(s, env, NULL);
}

/* One folder of list_labels: its counts from STATUS. */
static json_t *
label_of(struct session *s, const struct folder *fo, struct mv_err *err)
{
	struct folder_status st;
	json_t *l = json_object();

	json_object_set_new(l, "id", mv_json_str(fo->name));
	json_object_set_new(l, "name", mv_json_str(fo->name));
	json_object_set_new(l, "type", json_string(fo->role ? "system" :
	    "user"));
	json_object_set_new(l, "role", fo->role ? json_string(fo->role) :
	    json_null());
	if (fo->noselect) {
		json_object_set_new(l, "messages_total", json_null());
		json_object_set_new(l, "messages_unread", json_null());
		return l;
	}
	if (folders_status(s, fo->name, &st, err) == -1) {
		json_decref(l);
		return NULL;
	}
	json_object_set_new(l, "messages_total", json_integer(st.messages));
	json_object_set_new(l, "messages_unread", json_integer(st.unseen));
	json_object_set_new(l, "uidvalidity", json_integer(st.uidvalidity));
	json_object_set_new(l, "uidnext", json_integer(st.uidnext));
	return l;
}

int
act_list_labels(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct folders f;
	json_t *arr, *env, *l;

	if (folders_list(s, &f, &err) == -1)
		return action_fail(s, &err);
	arr = json_array();
	for (size_t i = 0; i < f.n; i++) {
		if ((l = label_of(s, &f.v[i], &err)) == NULL) {
			json_decref(arr);
			folders_free(&f);
			return action_fail(s, &err);
		}
		json_array_append_new(arr, l);
	}
	folders_free(&f);
	env = action_success(s);
	json_object_set_new(env, "labels", arr);
	return action_finish(s, env, "labels");
}

int
act_get_profile(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct folder_status st;
	struct folders f;
	json_int_t total = 0;
	json_t *env;

	if (folders_list(s, &f, &err) == -1)
		return action_fail(s, &err);
	for (size_t i = 0; i < f.n; i++) {
		if (!folders_default(&f.v[i], 1))
			continue;
		if (folders_status(s, f.v[i].name, &st, &err) == -1) {
			folders_free(&f);
			return action_fail(s, &err);
		}
		total += st.messages;
	}
	env = action_success(s);
	json_object_set_new(env, "email_address",
	    json_string(s->acct.username));
	json_object_set_new(env, "messages_total", json_integer(total));
	json_object_set_new(env, "threads_total", json_null());
	json_object_set_new(env, "history_id", json_null());
	json_object_set_new(env, "folders_total", json_integer((json_int_t)
	    f.n));
	folders_free(&f);
	return action_finish(s, env, NULL);
}
