/* The actions that change messages: mark_read, mark_unread,
 * modify_labels (flags and keywords), archive, trash, untrash (MOVE, or
 * COPY, \Deleted and UID EXPUNGE where MOVE is not offered) and delete.
 * On Gmail (X-GM-EXT-1) labels are X-GM-LABELS, changed by UID STORE on
 * the message where its id is (a COPY would only add a label), and
 * archive removes \Inbox. The ids are grouped by folder; each folder is
 * SELECTed once, and an id whose UIDVALIDITY is no longer the folder's is
 * not_found. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "imap-worker/actions.h"
#include "imap-worker/fetch.h"
#include "imap-worker/folders.h"
#include "imap-worker/gmlabels.h"
#include "imap-worker/msgid.h"
#include "imap-worker/mutf7.h"

/* What to do to one folder's messages (set), the folder SELECTed. */
typedef int (*modify_fn)(struct session *, struct mailimap_set *set,
    void *arg, struct mv_err *);

/* --id's, parsed. Returns a new array of s->o->id.n, or NULL with err. */
static struct msgid *
ids_parse(struct session *s, struct mv_err *err)
{
	struct msgid *ids;
	size_t i;

	if (s->o->id.n == 0) {
		mv_err_set(err, MV_E_INVALID_ARGUMENT, "%s needs --id",
		    s->o->action);
		return NULL;
	}
	if ((ids = calloc(s->o->id.n, sizeof(*ids))) == NULL) {
		mv_err_set(err, MV_E_INTERNAL, "out of memory");
		return NULL;
	}
	for (i = 0; i < s->o->id.n; i++)
		if (msgid_parse(s->o->id.v[i], &ids[i]) == -1) {
			mv_err_set(err, MV_E_INVALID_ARGUMENT, "--id %.200s: not "
			    "FOLDER/UIDVALIDITY/UID", s->o->id.v[i]);
			while (i-- > 0)
				msgid_free(&ids[i]);
			free(ids);
			return NULL;
		}
	return ids;
}

/* The ids of ids[first]'s folder (marked done) as a set, the folder
 * SELECTed and its UIDVALIDITY checked. */
static int
folder_run(struct session *s, struct msgid *ids, size_t n, size_t first,
    char *done, modify_fn fn, void *arg, struct mv_err *err)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	size_t i;
	int rc;

	if (set == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	if (session_select(s, ids[first].folder, err) == -1) {
		mailimap_set_free(set);
		return -1;
	}
	for (i = first; i < n; i++) {
		if (done[i] || strcmp(ids[i].folder, ids[first].folder) != 0)
			continue;
		done[i] = 1;
		if (ids[i].uidvalidity != s->uidvalidity) {
			mailimap_set_free(set);
			return mv_err_set(err, MV_E_NOT_FOUND, "message %.300s: "
			    "its folder's UIDVALIDITY is now %u", s->o->id.v[i],
			    s->uidvalidity);
		}
		mailimap_set_add_single(set, ids[i].uid);
	}
	rc = fn(s, set, arg, err);
	mailimap_set_free(set);
	return rc;
}

/* Runs fn on every folder of --id; then prints {field: count}. */
static int
modify_run(struct session *s, modify_fn fn, void *arg, const char *field)
{
	struct mv_err err = MV_ERR_INIT;
	struct msgid *ids;
	char *done;
	size_t i, n = s->o->id.n;
	json_t *env;
	int rc = 0;

	if ((ids = ids_parse(s, &err)) == NULL)
		return action_fail(s, &err);
	if ((done = calloc(n, 1)) == NULL)
		rc = mv_err_set(&err, MV_E_INTERNAL, "out of memory");
	for (i = 0; rc == 0 && i < n; i++)
		if (!done[i])
			rc = folder_run(s, ids, n, i, done, fn, arg, &err);
	for (i = 0; i < n; i++)
		msgid_free(&ids[i]);
	free(ids);
	free(done);
	if (rc == -1)
		return action_fail(s, &err);
	env = action_success(s);
	json_object_set_new(env, field, json_integer((json_int_t)n));
	return action_finish(s, env, NULL);
}

/* Flags to add and to remove; on Gmail, X-GM-LABELS too, checked
 * against the user labels in all (listed at the first one). */
struct flags {
	struct mailimap_flag_list *add, *rm;
	struct mailimap_msg_att_xgmlabels *gadd, *grm;
	struct folders	 all;
	int		 listed;
};

static int
store(struct session *s, struct mailimap_set *set,
    struct mailimap_flag_list *fl, int add, struct mv_err *err)
{
	struct mailimap_store_att_flags *sa;
	int r;

	if (fl == NULL || clist_count(fl->fl_list) == 0)
		return 0;
	sa = add ? mailimap_store_att_flags_new_add_flags_silent(fl) :
	    mailimap_store_att_flags_new_remove_flags_silent(fl);
	conn_set_budget(&s->conn, SESSION_BUDGET);
	r = mailimap_uid_store(s->m, set, sa);
	free(sa);	/* not its flag list: that is the caller's */
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "UID STORE", err);
	return 0;
}

/* UID STORE [+-]X-GM-LABELS (not .SILENT: Gmail documents the STORE
 * that answers with the labels). */
static int
store_labels(struct session *s, struct mailimap_set *set,
    struct mailimap_msg_att_xgmlabels *l, int sign, struct mv_err *err)
{
	int r;

	if (clist_count(l->att_labels) == 0)
		return 0;
	conn_set_budget(&s->conn, SESSION_BUDGET);
	r = mailimap_uid_store_xgmlabels(s->m, set, sign, 0, l);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "UID STORE X-GM-LABELS", err);
	return 0;
}

/* Flags first, then labels added, then removed: removing the label of
 * the folder SELECTed takes the messages out of it. */
static int
do_flags(struct session *s, struct mailimap_set *set, void *arg,
    struct mv_err *err)
{
	struct flags *f = arg;

	if (store(s, set, f->add, 1, err) == -1 ||
	    store(s, set, f->rm, 0, err) == -1 ||
	    store_labels(s, set, f->gadd, 1, err) == -1)
		return -1;
	return store_labels(s, set, f->grm, -1, err);
}

/* 1 when l is a user label of the Gmail mailbox: a folder of that name
 * that stands for a label and has no special use. */
static int
gm_user_label(const struct folders *all, const char *l)
{
	const char *name;

	for (size_t i = 0; i < all->n; i++) {
		if (all->v[i].noselect || all->v[i].role != NULL)
			continue;
		name = fetch_gm_folder_label(&all->v[i]);
		if (name != NULL && strcmp(name, l) == 0)
			return 1;
	}
	return 0;
}

/* On Gmail, a label but UNREAD and STARRED as X-GM-LABELS: a system one
 * by its name there (INBOX: \Inbox), a user one in modified UTF-7, which
 * must exist (Gmail would create it: a typo would make a label). */
static int
label_gmail(struct session *s, const char *l, int add, struct flags *f,
    struct mv_err *err)
{
	const char *sys = gmlabels_system(l);
	char *wire;

	if (sys == NULL && !f->listed) {
		if (folders_list(s, &f->all, err) == -1)
			return -1;
		f->listed = 1;
	}
	if (sys == NULL && !gm_user_label(&f->all, l))
		return mv_err_set(err, MV_E_NOT_FOUND, "label '%.100s': no "
		    "such label", l);
	if ((wire = sys != NULL ? strdup(sys) : mutf7_encode(l)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	if (mailimap_msg_att_xgmlabels_add(add ? f->gadd : f->grm, wire) < 0) {
		free(wire);
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	}
	return 0;
}

/* A label as a flag: UNREAD is \Seen the other way round; on Gmail,
 * another but STARRED is a label. */
static int
label_flag(struct session *s, const char *l, int add, struct flags *f,
    struct mv_err *err)
{
	struct mailimap_flag *fl;
	char *kw;
	const char *p;

	if (s->gmail && strcmp(l, "UNREAD") != 0 && strcmp(l, "STARRED") != 0)
		return label_gmail(s, l, add, f, err);
	if (strcmp(l, "UNREAD") == 0) {
		add = !add;
		fl = mailimap_flag_new_seen();
	} else if (strcmp(l, "STARRED") == 0)
		fl = mailimap_flag_new_flagged();
	else if (strcmp(l, "DRAFT") == 0)
		fl = mailimap_flag_new_draft();
	else {
		for (p = l; *p && (isalnum((unsigned char)*p) ||
		    strchr("$_-.", *p)); p++)
			;
		if (*p || p == l || p - l > 100)
			return mv_err_set(err, MV_E_INVALID_ARGUMENT, "label "
			    "'%.100s': not UNREAD, STARRED, DRAFT or a keyword "
			    "(letters, digits, $ _ - .)", l);
		if ((kw = strdup(l)) == NULL)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		fl = mailimap_flag_new_flag_keyword(kw);
	}
	mailimap_flag_list_add(add ? f->add : f->rm, fl);
	return 0;
}

static int
flags_run(struct session *s, const struct strlist *add,
    const struct strlist *rm)
{
	struct mv_err err = MV_ERR_INIT;
	struct flags f = { mailimap_flag_list_new_empty(),
	    mailimap_flag_list_new_empty(),
	    mailimap_msg_att_xgmlabels_new_empty(),
	    mailimap_msg_att_xgmlabels_new_empty(), { NULL, 0 }, 0 };
	size_t i;
	int rc = 0;

	if (f.add == NULL || f.rm == NULL || f.gadd == NULL || f.grm == NULL)
		rc = mv_err_set(&err, MV_E_INTERNAL, "out of memory");
	for (i = 0; rc == 0 && i < add->n; i++)
		rc = label_flag(s, add->v[i], 1, &f, &err);
	for (i = 0; rc == 0 && i < rm->n; i++)
		rc = label_flag(s, rm->v[i], 0, &f, &err);
	if (rc == 0 && add->n + rm->n == 0)
		rc = mv_err_set(&err, MV_E_INVALID_ARGUMENT, "modify_labels "
		    "needs --add_label or --remove_label");
	rc = rc == 0 ? modify_run(s, do_flags, &f, "modified") :
	    action_fail(s, &err);
	if (f.add != NULL)
		mailimap_flag_list_free(f.add);
	if (f.rm != NULL)
		mailimap_flag_list_free(f.rm);
	if (f.gadd != NULL)
		mailimap_msg_att_xgmlabels_free(f.gadd);
	if (f.grm != NULL)
		mailimap_msg_att_xgmlabels_free(f.grm);
	folders_free(&f.all);
	return rc;
}

int
act_modify_labels(struct session *s)
{
	return flags_run(s, &s->o->add_label, &s->o->remove_label);
}

int
act_mark_read(struct session *s)
{
	const char *v[] = { "UNREAD" };
	struct strlist none = { NULL, 0 }, unread = { v, 1 };

	return flags_run(s, &none, &unread);
}

int
act_mark_unread(struct session *s)
{
	const char *v[] = { "UNREAD" };
	struct strlist none = { NULL, 0 }, unread = { v, 1 };

	return flags_run(s, &unread, &none);
}

/* \Deleted, then UID EXPUNGE of exactly set (UIDPLUS: a plain EXPUNGE
 * would take every \Deleted message of the folder). */
static int
expunge(struct session *s, struct mailimap_set *set, struct mv_err *err)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	int r;

	if (!session_has(s, "UIDPLUS")) {
		mailimap_flag_list_free(fl);
		return mv_err_set(err, MV_E_API, "%.200s offers no UIDPLUS: "
		    "UID EXPUNGE is needed to remove only these messages",
		    s->conn.host);
	}
	mailimap_flag_list_add(fl, mailimap_flag_new_deleted());
	r = store(s, set, fl, 1, err);
	mailimap_flag_list_free(fl);
	if (r == -1)
		return -1;
	conn_set_budget(&s->conn, SESSION_BUDGET);
	if ((r = mailimap_uid_expunge(s->m, set)) != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "UID EXPUNGE", err);
	return 0;
}

/* MOVE to the folder arg; COPY, \Deleted and UID EXPUNGE without MOVE. */
static int
do_move(struct session *s, struct mailimap_set *set, void *arg,
    struct mv_err *err)
{
	const char *to = arg;
	char *wire;
	int r, move = session_has(s, "MOVE");

	if (strcmp(s->examined, to) == 0)
		return 0;
	if ((wire = mutf7_encode(to)) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	conn_set_budget(&s->conn, SESSION_BUDGET);
	r = move ? mailimap_uid_move(s->m, set, wire) :
	    mailimap_uid_copy(s->m, set, wire);
	free(wire);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r, move ? "UID MOVE" : "UID COPY", err);
	return move ? 0 : expunge(s, set, err);
}

/* Moves --id to the folder of role. */
static int
move_to(struct session *s, const char *role)
{
	struct mv_err err = MV_ERR_INIT;
	const struct folder *fo;
	struct folders f;
	char *to;
	int rc;

	if (folders_list(s, &f, &err) == -1)
		return action_fail(s, &err);
	fo = folders_by_role(&f, role);
	to = fo ? strdup(fo->name) : NULL;
	folders_free(&f);
	if (to == NULL) {
		mv_err_set(&err, MV_E_NOT_FOUND, "the mailbox has no %s "
		    "folder (special-use)", role);
		return action_fail(s, &err);
	}
	rc = modify_run(s, do_move, to, "modified");
	free(to);
	return rc;
}

/* Archive: out of the inbox. On Gmail, \Inbox removed (its other
 * labels kept, as the API's archive does); else a MOVE to the Archive
 * folder. */
int
act_archive(struct session *s)
{
	const char *v[] = { "INBOX" };
	struct strlist none = { NULL, 0 }, inbox = { v, 1 };

	if (s->gmail)
		return flags_run(s, &none, &inbox);
	return move_to(s, "archive");
}

int
act_trash(struct session *s)
{
	return move_to(s, "trash");
}

int
act_untrash(struct session *s)
{
	return move_to(s, "inbox");
}

static int
do_delete(struct session *s, struct mailimap_set *set, void *arg,
    struct mv_err *err)
{
	(void)arg;
	return expunge(s, set, err);
}

int
act_delete(struct session *s)
{
	struct mv_err err = MV_ERR_INIT;

	if (!s->o->confirm) {
		mv_err_set(&err, MV_E_INVALID_ARGUMENT, "delete is permanent: "
		    "add --confirm");
		return action_fail(s, &err);
	}
	return modify_run(s, do_delete, NULL, "deleted");
}
