/*
 * metrics_http.h - the Prometheus endpoint: GET /metrics over HTTP/1.1,
 * served by libmicrohttpd on vipd's own event loop (no thread of its own:
 * MHD_USE_EPOLL without an internal polling thread; its epoll fd is
 * watched by the loop, MHD_get_timeout arms a loop timer, MHD_run runs on
 * either).
 *
 * Only GET (and HEAD) of /metrics: another path is 404, another method
 * 405. At most METRICS_HTTP_CONNS connections at once, each closed after
 * METRICS_HTTP_IDLE_S idle seconds, so a slow or stuck scraper cannot
 * take more than that; the listening socket is accepted from here, and a
 * connection over the limit is closed at once (metrics_http.c says why
 * MHD does not accept itself).
 */
#ifndef VIPD_METRICS_HTTP_H
#define VIPD_METRICS_HTTP_H

#include <stddef.h>

struct loop;
struct metrics_http;

#define METRICS_HTTP_CONNS 8
#define METRICS_HTTP_IDLE_S 10

/* Builds one scrape's text; returns a malloc'ed buffer (the server frees
 * it) and its length in bytes in *len. Runs from the server's own event
 * handler (a scrape), never from within a call into this module. */
typedef char *metrics_render_fn(void *arg, size_t *len);

/*
 * Listen on listen ("host:port" or "[v6]:port"; a host name is resolved
 * once, here, with getaddrinfo: the first address is used) and serve
 * render's text. Returns NULL on failure with the reason in why (up to
 * len bytes: "cannot listen on 127.0.0.1:9450: Address already in use").
 * A port below 1024 needs CAP_NET_BIND_SERVICE, which vipd does not keep.
 */
struct metrics_http *metrics_http_new(struct loop *loop, const char *listen,
    metrics_render_fn *render, void *arg, char *why, size_t len);
/* NULL-safe: closes the listening socket and every connection. */
void metrics_http_free(struct metrics_http *m);

#endif
