/*
 * health_http.c - http checks: a GET through libcurl's multi interface
 * driven by the loop (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION, as etcd.c
 * drives its own). A 2xx status passes. No redirects are followed, no
 * proxy from the environment is used, only http and https are spoken; the
 * body is read and dropped, its first bytes kept for the reason (at most
 * HHTTP_BODY_MAX bytes are read: a longer body ends the transfer, which
 * then counts by its status). CURLOPT_TIMEOUT_MS is the check's timeout.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "health_int.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

#define HHTTP_BODY_MAX (64 * 1024)
#define HHTTP_KEEP     80

struct hhttp {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer;
	struct hhttp_req *reqs;  /* running, for hhttp_free */
};

struct hhttp_req {
	struct hhttp *m;
	struct hhttp_req *next;
	CURL *easy;
	uint32_t timeout_ms;
	size_t body;             /* bytes read */
	char keep[HHTTP_KEEP + 1];
	char err[CURL_ERROR_SIZE];
	hcheck_done *done;
	void *arg;
};

static void req_unlink(struct hhttp_req *r)
{
	for (struct hhttp_req **pp = &r->m->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return;
		}
}

static void req_free(struct hhttp_req *r)
{
	req_unlink(r);
	curl_multi_remove_handle(r->m->multi, r->easy);
	curl_easy_cleanup(r->easy);
	free(r);
}

/* Finished transfers: report each (from on_sock or on_timer only). */
static void check_done(struct hhttp *m)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		struct hhttp_req *r = NULL;
		struct hresult res = { 0 };
		long status = 0;
		hcheck_done *done;
		void *arg;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if ((msg->data.result == CURLE_OK || msg->data.result == CURLE_WRITE_ERROR) &&
		    status >= 200 && status <= 299) {
			res.pass = true;
		} else if (msg->data.result == CURLE_OK || msg->data.result == CURLE_WRITE_ERROR) {
			snprintf(res.why, sizeof(res.why), "HTTP status %ld%s%s", status,
			    r->keep[0] ? ": " : "", r->keep);
		} else if (msg->data.result == CURLE_OPERATION_TIMEDOUT) {
			snprintf(res.why, sizeof(res.why), "no answer within %u ms (timeout)",
			    r->timeout_ms);
		} else {
			snprintf(res.why, sizeof(res.why), "%.190s", r->err[0] ? r->err :
			    curl_easy_strerror(msg->data.result));
		}
		done = r->done;
		arg = r->arg;
		req_free(r);
		done(arg, &res);
	}
}

static void on_sock(int fd, unsigned events, void *arg)
{
	struct hhttp *m = arg;
	int mask = 0, running;

	if (events & LOOP_READ)
		mask |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		mask |= CURL_CSELECT_OUT;
	if (events & LOOP_ERROR)
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(m->multi, fd, mask, &running);
	check_done(m);
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct hhttp *m = userp;
	unsigned ev = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sockp != NULL) {
			loop_fd_del(m->loop, s);
			curl_multi_assign(m->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= LOOP_READ;
	if (what & CURL_POLL_OUT)
		ev |= LOOP_WRITE;
	if (sockp == NULL) {
		if (loop_fd_add(m->loop, s, ev, on_sock, m) < 0)
			log_warnx("health: cannot watch socket fd=%d", (int)s);
		curl_multi_assign(m->multi, s, m);
	} else {
		loop_fd_mod(m->loop, s, ev);
	}
	return 0;
}

static void on_timer(void *arg)
{
	struct hhttp *m = arg;
	int running;

	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(m);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct hhttp *m = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_disarm(m->timer);
	else
		loop_timer_arm(m->timer, (uint64_t)timeout_ms);
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct hhttp_req *r = userp;
	size_t len = size * n, have = strlen(r->keep);

	for (size_t i = 0; i < len && have < HHTTP_KEEP; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n' || c == '\r')
			break;
		r->keep[have++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	r->keep[have] = '\0';
	r->body += len;
	if (r->body > HHTTP_BODY_MAX)
		return 0; /* enough: CURLE_WRITE_ERROR, judged by the status */
	return len;
}

struct hhttp *hhttp_new(struct loop *l)
{
	struct hhttp *m = xcalloc(1, sizeof(*m));

	m->loop = l;
	m->multi = curl_multi_init();
	if (m->multi == NULL) {
		free(m);
		return NULL;
	}
	m->timer = loop_timer_new(l, on_timer, m);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	return m;
}

void hhttp_free(struct hhttp *m)
{
	if (m == NULL)
		return;
	while (m->reqs != NULL)
		req_free(m->reqs);
	curl_multi_cleanup(m->multi);
	loop_timer_free(m->timer);
	free(m);
}

struct hhttp_req *hhttp_start(struct hhttp *m, const struct cfg_check *c,
    uint32_t timeout_ms, hcheck_done *done, void *arg, struct hresult *now)
{
	struct hhttp_req *r = xcalloc(1, sizeof(*r));

	r->m = m;
	r->timeout_ms = timeout_ms;
	r->done = done;
	r->arg = arg;
	r->easy = curl_easy_init();
	if (r->easy == NULL) {
		free(r);
		*now = (struct hresult){ .pass = false, .why = "cannot make a libcurl handle" };
		return NULL;
	}
	curl_easy_setopt(r->easy, CURLOPT_URL, c->target);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->err);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* No proxy from the environment (http_proxy, HTTPS_PROXY, ...). */
	curl_easy_setopt(r->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/* A fresh connection each round: a check of the server as a new
	 * client sees it, not of a connection kept from the last round. */
	curl_easy_setopt(r->easy, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
	curl_easy_setopt(r->easy, CURLOPT_QUICK_EXIT, 1L);
#endif
	if (c->ca_file != NULL) {
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->ca_file);
		curl_easy_setopt(r->easy, CURLOPT_CAPATH, NULL);
	}
	if (c->insecure) {
		curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (curl_multi_add_handle(m->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		free(r);
		*now = (struct hresult){ .pass = false, .why = "cannot start the transfer" };
		return NULL;
	}
	r->next = m->reqs;
	m->reqs = r;
	return r;
}

void hhttp_cancel(struct hhttp_req *r)
{
	if (r != NULL)
		req_free(r);
}
