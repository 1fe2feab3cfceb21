/* The action table and the mailbox-wide actions: ping, get_profile,
 * list_labels. */
#include <string.h>

#include "common/output.h"
#include "imap-worker/actions.h"
#include "imap-worker/fetch.h"
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

/* One label of list_labels, id, from the folder fo (on Gmail, the
 * folder the label stands for): its counts from STATUS. New reference,
 * or NULL with err. */
static json_t *
label_of(struct session *s, const struct folder *fo, const char *id,
    struct mv_err *err)
{
	struct folder_status st;
	json_t *l = json_object();

	json_object_set_new(l, "id", mv_json_str(id));
	json_object_set_new(l, "name", mv_json_str(id));
	json_object_set_new(l, "type", json_string(fo->role ? "system" :
	    "user"));
	json_object_set_new(l, "role", fo->role ? json_string(fo->role) :
	    json_null());
	if (s->gmail)
		json_object_set_new(l, "folder", mv_json_str(fo->name));
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

/* Gmail's UNREAD label: All Mail's unseen messages (Spam and Trash
 * aside). New reference, or NULL with err. */
static json_t *
label_unread(struct session *s, const struct folder *all, struct mv_err *err)
{
	struct folder_status st;
	json_t *l;

	if (folders_status(s, all->name, &st, err) == -1)
		return NULL;
	l = json_pack("{s:s, s:s, s:s, s:n, s:n, s:I, s:I}", "id", "UNREAD",
	    "name", "UNREAD", "type", "system", "role", "folder",
	    "messages_total", (json_int_t)st.unseen, "messages_unread",
	    (json_int_t)st.unseen);
	if (l == NULL)
		mv_err_set(err, MV_E_INTERNAL, "out of memory");
	return l;
}

/* The labels: one a folder; on Gmail, the labels its folders stand for
 * by the API's ids (INBOX, SENT, ...; a user label by its name), All
 * Mail's unseen as UNREAD, [Gmail]'s other folders left out. */
static json_t *
labels_of(struct session *s, const struct folders *f, struct mv_err *err)
{
	const struct folder *all;
	const char *id;
	json_t *arr = json_array(), *l;

	for (size_t i = 0; i < f->n; i++) {
		id = s->gmail ? fetch_gm_folder_label(&f->v[i]) : f->v[i].name;
		if (id == NULL || (s->gmail && f->v[i].noselect))
			continue;
		if ((l = label_of(s, &f->v[i], id, err)) == NULL) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, l);
	}
	if (s->gmail && (all = folders_by_role(f, "all")) != NULL) {
		if ((l = label_unread(s, all, err)) == NULL) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, l);
	}
	return arr;
}

int
act_list_labels(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;
	struct folders f;
	json_t *arr, *env;

	if (folders_list(s, &f, &err) == -1)
		return action_fail(s, &err);
	arr = labels_of(s, &f, &err);
	folders_free(&f);
	if (arr == NULL)
		return action_fail(s, &err);
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
	const struct folder *all;
	const char *role;
	json_int_t total = 0;
	json_t *env;

	if (folders_list(s, &f, &err) == -1)
		return action_fail(s, &err);
	/* On Gmail a message is in the folder of each of its labels: All
	 * Mail holds each once, Spam and Trash the others. */
	all = s->gmail ? folders_by_role(&f, "all") : NULL;
	for (size_t i = 0; i < f.n; i++) {
		role = f.v[i].role;
		if (all != NULL ? role == NULL || (strcmp(role, "all") != 0 &&
		    strcmp(role, "junk") != 0 && strcmp(role, "trash") != 0) :
		    !folders_default(&f.v[i], 1))
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
