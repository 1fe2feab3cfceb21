/* X-GM-LABELS as Gmail's documentation shows them, system labels bare
 * (\Inbox), beside the quoted form ("\\Inbox") that libetpan's own parser
 * takes: the same struct mailimap_msg_att_xgmlabels, the labels unquoted.
 * Gmail's labels between X-GM-LABELS and its API's label ids. */
#ifndef IW_GMLABELS_H
#define IW_GMLABELS_H

#include <jansson.h>
#include <libetpan/libetpan.h>

/* Registers the parser with libetpan, which tries it after its own fails.
 * Once; later calls do nothing. */
void gmlabels_register(void);

/* 1 when x holds X-GM-LABELS (struct mailimap_msg_att_xgmlabels), from
 * either parser. */
int gmlabels_is(const struct mailimap_extension_data *x);

/* One X-GM-LABELS label as a label id: a system one by its API name
 * (\Inbox: INBOX), a user one by its name (modified UTF-7 decoded);
 * another backslashed one (\Muted, ...) is NULL. New reference. */
json_t *gmlabels_api(const char *raw);

/* The X-GM-LABELS name of a system label id (INBOX: \Inbox), or NULL
 * when id is not one that X-GM-LABELS holds (STARRED and UNREAD are
 * flags; a user label). Static. */
const char *gmlabels_system(const char *id);

#endif
