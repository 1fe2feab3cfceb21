/* X-GM-LABELS with bare system labels: a FETCH data item parsed from
 * libetpan's buffer, as the extension libetpan calls when its own parser
 * refuses the item; Gmail's system labels and its API's ids for them. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-worker/gmlabels.h"
#include "imap-worker/mutf7.h"
#include "shared/utf8.h"

#define ITEM	"X-GM-LABELS ("

/* Gmail's system labels (X-GM-LABELS) as its API names them; the first
 * of an id is the one written. */
static const struct {
	const char *imap, *api;
} gm_system[] = {
	{ "\\Inbox", "INBOX" }, { "\\Sent", "SENT" }, { "\\Draft", "DRAFT" },
	{ "\\Drafts", "DRAFT" }, { "\\Important", "IMPORTANT" },
	{ "\\Starred", "STARRED" }, { "\\Trash", "TRASH" },
	{ "\\Spam", "SPAM" }, { "\\Junk", "SPAM" },
};

static int gml_parse(int, mailstream *, MMAPString *,
    struct mailimap_parser_context *, size_t *,
    struct mailimap_extension_data **, size_t, progress_function *);
static void gml_free(struct mailimap_extension_data *);

static char gml_name[] = "X-GM-LABELS";
static struct mailimap_extension_api gml_api = {
	gml_name, -1, gml_parse, gml_free
};

/* One label at *p (before end): a quoted string (unescaped) or an atom,
 * backslashed or not. New string, *p past it; NULL when it does not
 * parse (a literal among them) or out of memory. */
static char *
gml_label(const char **p, const char *end)
{
	const char *s = *p;
	char *out, *o;

	if (s < end && *s == '"') {
		if ((o = out = malloc((size_t)(end - s))) == NULL)
			return NULL;
		for (s++; s < end && *s != '"'; s++) {
			if (*s == '\\' && s + 1 < end)
				s++;
			*o++ = *s;
		}
		if (s >= end) {
			free(out);
			return NULL;
		}
		*o = '\0';
		*p = s + 1;
		return out;
	}
	while (s < end && *s != ' ' && *s != ')' && *s != '(' && *s != '{' &&
	    *s != '"' && (unsigned char)*s > 0x1f && *s != 0x7f)
		s++;
	if (s == *p)
		return NULL;
	out = strndup(*p, (size_t)(s - *p));
	*p = s;
	return out;
}

static int
gml_parse(int calling_parser, mailstream *fd, MMAPString *buffer,
    struct mailimap_parser_context *ctx, size_t *indx,
    struct mailimap_extension_data **result, size_t progr_rate,
    progress_function *progr_fun)
{
	struct mailimap_msg_att_xgmlabels *att;
	const char *p, *end;
	char *label;

	(void)fd, (void)ctx, (void)progr_rate, (void)progr_fun;
	if (calling_parser != MAILIMAP_EXTENDED_PARSER_FETCH_DATA ||
	    *indx > buffer->len)
		return MAILIMAP_ERROR_PARSE;
	p = buffer->str + *indx;
	end = buffer->str + buffer->len;
	if ((size_t)(end - p) < strlen(ITEM) ||
	    strncasecmp(p, ITEM, strlen(ITEM)) != 0)
		return MAILIMAP_ERROR_PARSE;
	if ((att = mailimap_msg_att_xgmlabels_new_empty()) == NULL)
		return MAILIMAP_ERROR_MEMORY;
	for (p += strlen(ITEM); p < end && *p != ')'; ) {
		if (*p == ' ') {
			p++;
			continue;
		}
		if ((label = gml_label(&p, end)) == NULL ||
		    mailimap_msg_att_xgmlabels_add(att, label) < 0) {
			free(label);
			mailimap_msg_att_xgmlabels_free(att);
			return MAILIMAP_ERROR_PARSE;
		}
	}
	if (p >= end ||
	    (*result = mailimap_extension_data_new(&gml_api, 0, att)) == NULL) {
		mailimap_msg_att_xgmlabels_free(att);
		return MAILIMAP_ERROR_PARSE;
	}
	*indx = (size_t)(p + 1 - buffer->str);
	return MAILIMAP_NO_ERROR;
}

static void
gml_free(struct mailimap_extension_data *x)
{
	if (x == NULL)
		return;
	if (x->ext_data != NULL)
		mailimap_msg_att_xgmlabels_free(x->ext_data);
	free(x);
}

void
gmlabels_register(void)
{
	static int done;

	if (!done && mailimap_extension_register(&gml_api) == 0)
		done = 1;
}

int
gmlabels_is(const struct mailimap_extension_data *x)
{
	return x->ext_extension == &mailimap_extension_xgmlabels ||
	    x->ext_extension == &gml_api;
}

json_t *
gmlabels_api(const char *raw)
{
	char *u;
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(gm_system) / sizeof(gm_system[0]); i++)
		if (strcasecmp(raw, gm_system[i].imap) == 0)
			return json_string(gm_system[i].api);
	if (raw[0] == '\\' || raw[0] == '\0')
		return NULL;
	if ((u = mutf7_decode(raw)) == NULL)
		return mv_json_str(raw);
	j = mv_json_str(u);
	free(u);
	return j;
}

const char *
gmlabels_system(const char *id)
{
	size_t i;

	if (strcmp(id, "STARRED") == 0)
		return NULL;
	for (i = 0; i < sizeof(gm_system) / sizeof(gm_system[0]); i++)
		if (strcmp(id, gm_system[i].api) == 0)
			return gm_system[i].imap;
	return NULL;
}
