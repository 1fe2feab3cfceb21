/* Folders: LIST, special-use roles (RFC 6154, and INBOX), STATUS. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-worker/folders.h"
#include "imap-worker/mutf7.h"

/* The special-use flags and the roles they give. */
static const struct {
	const char *flag, *role;
} roles[] = {
	{ "All", "all" }, { "Archive", "archive" }, { "Drafts", "drafts" },
	{ "Flagged", "flagged" }, { "Important", "important" },
	{ "Junk", "junk" }, { "Sent", "sent" }, { "Trash", "trash" },
};

/* Reads one LIST flag: a role, or \Noselect / \NonExistent. */
static void
folder_flag(struct folder *fo, const char *flag)
{
	size_t i;

	if (strcasecmp(flag, "NonExistent") == 0 ||
	    strcasecmp(flag, "Noselect") == 0) {
		fo->noselect = 1;
		return;
	}
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcasecmp(flag, roles[i].flag) == 0 && fo->role == NULL)
			fo->role = roles[i].role;
}

static void
folder_flags(struct folder *fo, const struct mailimap_mbx_list_flags *fl)
{
	clistiter *it;

	if (fl == NULL)
		return;
	if (fl->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
	    fl->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
		fo->noselect = 1;
	for (it = clist_begin(fl->mbf_oflags); it; it = clist_next(it)) {
		struct mailimap_mbx_list_oflag *of = clist_content(it);

		if (of->of_type == MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT &&
		    of->of_flag_ext != NULL)
			folder_flag(fo, of->of_flag_ext);
	}
}

static int
folders_take(struct folders *f, clist *list, struct mv_err *err)
{
	clistiter *it;
	size_t n = 0;

	f->v = calloc(clist_count(list) + 1, sizeof(*f->v));
	if (f->v == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	for (it = clist_begin(list); it; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);
		struct folder *fo = &f->v[n];

		/* UTF-8 from here on; a name that is not modified UTF-7
		 * stays as it came. */
		if ((fo->name = mutf7_decode(mb->mb_name)) == NULL)
			fo->name = strdup(mb->mb_name);
		if (fo->name == NULL)
			return mv_err_set(err, MV_E_INTERNAL, "out of memory");
		folder_flags(fo, mb->mb_flag);
		if (strcasecmp(fo->name, "INBOX") == 0)
			fo->role = "inbox";
		f->n = ++n;
	}
	return 0;
}

int
folders_list(struct session *s, struct folders *f, struct mv_err *err)
{
	clist *list = NULL;
	int r, rc;

	memset(f, 0, sizeof(*f));
	conn_set_budget(&s->conn, SESSION_BUDGET);
	if ((r = mailimap_list(s->m, "", "*", &list)) != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "LIST", err);
	rc = folders_take(f, list, err);
	mailimap_list_result_free(list);
	return rc;
}

void
folders_free(struct folders *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].name);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

const struct folder *
folders_by_role(const struct folders *f, const char *role)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].role != NULL && strcmp(f->v[i].role, role) == 0)
			return &f->v[i];
	return NULL;
}

int
folders_default(const struct folder *fo, int spam_trash)
{
	if (fo->noselect)
		return 0;
	if (fo->role == NULL)
		return 1;
	if (strcmp(fo->role, "all") == 0 || strcmp(fo->role, "flagged") == 0)
		return 0;
	if (strcmp(fo->role, "junk") == 0 || strcmp(fo->role, "trash") == 0)
		return spam_trash;
	return 1;
}

static void
status_take(struct folder_status *st, struct mailimap_mailbox_data_status *d)
{
	clistiter *it;

	if (d == NULL || d->st_info_list == NULL)
		return;
	for (it = clist_begin(d->st_info_list); it; it = clist_next(it)) {
		struct mailimap_status_info *i = clist_content(it);

		switch (i->st_att) {
		case MAILIMAP_STATUS_ATT_MESSAGES:
			st->messages = i->st_value;
			break;
		case MAILIMAP_STATUS_ATT_UNSEEN:
			st->unseen = i->st_value;
			break;
		case MAILIMAP_STATUS_ATT_UIDNEXT:
			st->uidnext = i->st_value;
			break;
		case MAILIMAP_STATUS_ATT_UIDVALIDITY:
			st->uidvalidity = i->st_value;
			break;
		default:
			break;
		}
	}
}

int
folders_status(struct session *s, const char *name,
    struct folder_status *st, struct mv_err *err)
{
	static const int atts[] = { MAILIMAP_STATUS_ATT_MESSAGES,
	    MAILIMAP_STATUS_ATT_UNSEEN, MAILIMAP_STATUS_ATT_UIDNEXT,
	    MAILIMAP_STATUS_ATT_UIDVALIDITY };
	struct mailimap_status_att_list *al;
	struct mailimap_mailbox_data_status *d = NULL;
	char *wire;
	size_t i;
	int r;

	memset(st, 0, sizeof(*st));
	if ((al = mailimap_status_att_list_new_empty()) == NULL)
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	for (i = 0; i < sizeof(atts) / sizeof(atts[0]); i++)
		mailimap_status_att_list_add(al, atts[i]);
	if ((wire = mutf7_encode(name)) == NULL) {
		mailimap_status_att_list_free(al);
		return mv_err_set(err, MV_E_INTERNAL, "out of memory");
	}
	conn_set_budget(&s->conn, SESSION_BUDGET);
	r = mailimap_status(s->m, wire, al, &d);
	free(wire);
	mailimap_status_att_list_free(al);
	if (r == MAILIMAP_ERROR_STATUS)
		return mv_err_set(err, MV_E_NOT_FOUND, "folder '%.200s': no "
		    "such folder", name);
	if (r != MAILIMAP_NO_ERROR)
		return session_fail(s, r, "STATUS", err);
	status_take(st, d);
	mailimap_mailbox_data_status_free(d);
	return 0;
}
