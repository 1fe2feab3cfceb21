/* X-GM-LABELS as Gmail's documentation shows them, system labels bare
 * (\Inbox), beside the quoted form ("\\Inbox") that libetpan's own parser
 * takes: the same struct mailimap_msg_att_xgmlabels, the labels unquoted. */
#ifndef IW_GMLABELS_H
#define IW_GMLABELS_H

#include <libetpan/libetpan.h>

/* Registers the parser with libetpan, which tries it after its own fails.
 * Once; later calls do nothing. */
void gmlabels_register(void);

/* 1 when x holds X-GM-LABELS (struct mailimap_msg_att_xgmlabels), from
 * either parser. */
int gmlabels_is(const struct mailimap_extension_data *x);

#endif
