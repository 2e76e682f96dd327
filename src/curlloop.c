/*
 * curlloop.c - libcurl multi on the event loop (see curlloop.h).
 *
 * Each transfer has a small entry (its callback), reached from the easy
 * handle through CURLOPT_PRIVATE. Completions are collected with
 * curl_multi_info_read after curl_multi_socket_action returns, so no owner
 * code ever runs inside libcurl.
 */
#include "curlloop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "loop.h"
#include "xmem.h"

struct cl_xfer {
	CURL *easy;
	curlloop_done_cb *cb;
	void *arg;
	struct cl_xfer *next;
};

struct curlloop {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer;
	struct cl_xfer *xfers;      /* transfers in the multi */
	curlloop_after_cb *after;
	void *after_arg;
};

static struct cl_xfer *xfer_find(struct curlloop *c, CURL *easy, struct cl_xfer ***where)
{
	for (struct cl_xfer **pp = &c->xfers; *pp; pp = &(*pp)->next) {
		if ((*pp)->easy == easy) {
			if (where)
				*where = pp;
			return *pp;
		}
	}
	return NULL;
}

/* Take easy out of the multi and forget its entry; returns the entry's
 * callback and argument through cb/arg. false if it was not ours. */
static bool xfer_drop(struct curlloop *c, CURL *easy, curlloop_done_cb **cb, void **arg)
{
	struct cl_xfer **pp = NULL, *x = xfer_find(c, easy, &pp);

	if (x == NULL)
		return false;
	*pp = x->next;
	curl_multi_remove_handle(c->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	if (cb)
		*cb = x->cb;
	if (arg)
		*arg = x->arg;
	free(x);
	return true;
}

/* Hand every finished transfer to its owner. A callback may add or remove
 * handles: curl_multi_info_read is asked afresh each time, and messages of
 * handles removed meanwhile are gone from libcurl's queue. */
static void round_end(struct curlloop *c)
{
	CURLMsg *m;
	int left;

	if (c->after)
		c->after(c->after_arg);
	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		CURL *easy = m->easy_handle;
		CURLcode result = m->data.result;
		curlloop_done_cb *cb = NULL;
		void *arg = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		if (xfer_drop(c, easy, &cb, &arg) && cb != NULL)
			cb(arg, easy, result);
	}
}

static void on_sock(int fd, unsigned events, void *arg)
{
	struct curlloop *c = arg;
	int mask = 0, running;

	if (events & LOOP_READ)
		mask |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		mask |= CURL_CSELECT_OUT;
	if (events & LOOP_ERROR)
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, mask, &running);
	round_end(c);
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct curlloop *c = userp;
	unsigned ev = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sockp != NULL) {
			loop_fd_del(c->loop, s);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= LOOP_READ;
	if (what & CURL_POLL_OUT)
		ev |= LOOP_WRITE;
	if (sockp == NULL) {
		if (loop_fd_add(c->loop, s, ev, on_sock, c) < 0)
			log_warnx("curl: cannot watch socket fd=%d", (int)s);
		curl_multi_assign(c->multi, s, c);
	} else {
		loop_fd_mod(c->loop, s, ev);
	}
	return 0;
}

static void on_timer(void *arg)
{
	struct curlloop *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	round_end(c);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlloop *c = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_disarm(c->timer);
	else
		loop_timer_arm(c->timer, (uint64_t)timeout_ms);
	return 0;
}

struct curlloop *curlloop_new(struct loop *loop)
{
	/* libcurl's global init is process-wide by nature: once, never
	 * undone (the daemon keeps libcurl until it exits). */
	static bool curl_ready;
	struct curlloop *c;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			errno = EIO;
			return NULL;
		}
		curl_ready = true;
	}
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->multi = curl_multi_init();
	if (c->multi == NULL) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->timer = loop_timer_new(loop, on_timer, c);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

void curlloop_set_conns(struct curlloop *c, long max_open, long max_idle)
{
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_open);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, max_idle);
}

void curlloop_set_after(struct curlloop *c, curlloop_after_cb *cb, void *arg)
{
	c->after = cb;
	c->after_arg = arg;
}

int curlloop_add(struct curlloop *c, CURL *easy, curlloop_done_cb *done_cb, void *arg)
{
	struct cl_xfer *x;

	if (easy == NULL || xfer_find(c, easy, NULL) != NULL)
		return -EINVAL;
	x = xcalloc(1, sizeof(*x));
	x->easy = easy;
	x->cb = done_cb;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	/* Only arms the timer (TIMERFUNCTION, 0 ms): the transfer starts,
	 * and may end, from the loop's next timer event. */
	if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -EINVAL;
	}
	x->next = c->xfers;
	c->xfers = x;
	return 0;
}

void curlloop_remove(struct curlloop *c, CURL *easy)
{
	if (c == NULL || easy == NULL)
		return;
	xfer_drop(c, easy, NULL, NULL);
}

void curlloop_free(struct curlloop *c)
{
	if (c == NULL)
		return;
	while (c->xfers)
		xfer_drop(c, c->xfers->easy, NULL, NULL);
	curl_multi_cleanup(c->multi);
	loop_timer_free(c->timer);
	free(c);
}
