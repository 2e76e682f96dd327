/*
 * curlloop.h - a libcurl multi handle driven by the event loop.
 *
 * libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); the loop does the waiting. The
 * owner sets up easy handles as it likes and hands them over with
 * curlloop_add; when a transfer ends, the easy handle is taken out of the
 * multi and given back through its done callback. Used by etcd.c (the
 * etcd gateway) and meant for any other HTTP client of the daemon (health
 * checks): each owner keeps its own curlloop.
 *
 * Callbacks (done, after) run only from the loop's fd and timer handlers,
 * after libcurl has returned - never from inside curlloop_add or
 * curlloop_remove, and never from inside a libcurl callback - so they may
 * add, remove and clean up easy handles, their own included.
 */
#ifndef VIPD_CURLLOOP_H
#define VIPD_CURLLOOP_H

#include <curl/curl.h>

struct loop;
struct curlloop;

/* A transfer ended with result (CURLE_OK or libcurl's error). easy is no
 * longer in the multi: the callee owns it again (curl_easy_cleanup, or
 * curlloop_add again to resend). */
typedef void curlloop_done_cb(void *arg, CURL *easy, CURLcode result);
/* Called after every round of libcurl work (socket or timer event), before
 * the done callbacks of that round: lets the owner consume bytes the write
 * callbacks buffered (etcd's watch streams). */
typedef void curlloop_after_cb(void *arg);

/* A new multi handle on loop; curl_global_init is done on the first call.
 * Returns NULL with errno set (EIO: libcurl's global init failed, ENOMEM). */
struct curlloop *curlloop_new(struct loop *loop);

/* Optional: at most max_open connections per host open at once (further
 * transfers wait in libcurl's queue, their timeouts running) and at most
 * max_idle kept open once idle (CURLMOPT_MAX_HOST_CONNECTIONS,
 * CURLMOPT_MAXCONNECTS); 0 = libcurl's default. */
void curlloop_set_conns(struct curlloop *c, long max_open, long max_idle);

/* Optional: set the after-round callback (NULL to clear). */
void curlloop_set_after(struct curlloop *c, curlloop_after_cb *cb, void *arg);

/* Start the transfer of easy (set up by the caller, which keeps owning it:
 * the curlloop never cleans it up). CURLOPT_PRIVATE is the curlloop's: do
 * not set it. done_cb runs once, from a later loop event, unless
 * curlloop_remove comes first. Returns 0 or -errno (-EINVAL: libcurl
 * refused the handle, e.g. it is in a multi already). */
int curlloop_add(struct curlloop *c, CURL *easy, curlloop_done_cb *done_cb, void *arg);

/* Stop a transfer started with curlloop_add, without its callback. NULL-
 * safe, and a no-op for a handle not (or no longer) in the multi, so it
 * can be called before every curl_easy_cleanup. */
void curlloop_remove(struct curlloop *c, CURL *easy);

/* Remove the transfers still running (no callbacks; their easy handles
 * stay the owners') and free the multi. NULL-safe. Not from inside one of
 * its own callbacks. */
void curlloop_free(struct curlloop *c);

#endif
