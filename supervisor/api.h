/* mailvisord's HTTP API: an evhttp server on the daemon's event loop
 * serving the routes of routes.h, /metrics and the dashboard. */
#ifndef MVD_API_H
#define MVD_API_H

#include <stddef.h>

#include "supervisor/conf.h"

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif

/* Largest request head (request line and headers), in bytes. */
#define API_HEADERS_MAX		16384
/* Most connections waiting at once in listen(2)'s queue. */
#define API_BACKLOG		128

struct event_base;
struct mvd;
struct api;

/*
 * Listens on http->host and http->port (the values it needs are copied:
 * the configuration may go with a reload) and serves the API of d on
 * base; also starts counting runs for /metrics (stats_set_observer()).
 * Refuses a host that is not loopback when http has no token, whatever
 * the configuration said. Returns NULL with the reason in err (e.g.
 * "cannot listen on 127.0.0.1:8080: Address already in use") when it
 * cannot bind or memory runs out. Free with api_free() before
 * mvd_free(d).
 */
struct api *api_new(struct event_base *base, struct mvd *d,
    const struct conf_http *http, char *err, size_t errlen);

/* Stops listening, drops the requests in progress (their Redis replies
 * are forgotten) and the connections, and frees a. NULL-safe. */
void api_free(struct api *a);

#endif
