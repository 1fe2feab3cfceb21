/* RFC 5322 address lists to JSON. */
#ifndef MV_COMMON_ADDR_H
#define MV_COMMON_ADDR_H

#include <jansson.h>

/*
 * Parses an address-list header value (From, To, Cc, Reply-To...) into a
 * JSON array of {"name": "...", "email": "..."}: display names unquoted and
 * RFC 2047-decoded, groups flattened (`undisclosed-recipients:;` gives
 * nothing), comments dropped (`bob@x (Bob)` uses the comment as name when
 * there is no other), angle-less addresses, obsolete routes. Never fails on
 * garbage: a piece that is no address becomes {"name": piece, "email": ""}.
 * All strings valid UTF-8. NULL value gives an empty array.
 * Returns a new reference.
 */
json_t *addr_parse_list(const char *value);

/* The first address of a list as one object ({"name":"","email":""} when
 * none), for the From header. Returns a new reference. */
json_t *addr_parse_one(const char *value);

/* The msg-ids of a References/In-Reply-To value ("<a@b> <c@d>") as a JSON
 * array of strings with their angle brackets. Returns a new reference. */
json_t *addr_parse_msgids(const char *value);

#endif
