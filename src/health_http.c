/*
 * health_http.c - http checks: a GET through libcurl's multi interface
 * on the loop (curlloop.h: the same glue etcd.c uses; one curlloop for
 * every http check of the daemon). A 2xx status passes. No redirects are followed, no
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
#include "curlloop.h"
#include "health_int.h"
#include "xmem.h"

#define HHTTP_BODY_MAX (64 * 1024)
#define HHTTP_KEEP     80

struct hhttp {
	struct curlloop *cl;
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
	curlloop_remove(r->m->cl, r->easy);
	curl_easy_cleanup(r->easy);
	free(r);
}

/* A transfer ended (curlloop's done callback: from the loop's fd or timer
 * handler, never from inside hhttp_start). */
static void on_done(void *arg, CURL *easy, CURLcode result)
{
	struct hhttp_req *r = arg;
	struct hresult res = { 0 };
	long status = 0;
	hcheck_done *done = r->done;
	void *darg = r->arg;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if ((result == CURLE_OK || result == CURLE_WRITE_ERROR) && status >= 200 &&
	    status <= 299) {
		res.pass = true;
	} else if (result == CURLE_OK || result == CURLE_WRITE_ERROR) {
		snprintf(res.why, sizeof(res.why), "HTTP status %ld%s%s", status,
		    r->keep[0] ? ": " : "", r->keep);
	} else if (result == CURLE_OPERATION_TIMEDOUT) {
		snprintf(res.why, sizeof(res.why), "no answer within %u ms (timeout)",
		    r->timeout_ms);
	} else {
		snprintf(res.why, sizeof(res.why), "%.190s", r->err[0] ? r->err :
		    curl_easy_strerror(result));
	}
	req_free(r);
	done(darg, &res);
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

	m->cl = curlloop_new(l);
	if (m->cl == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void hhttp_free(struct hhttp *m)
{
	if (m == NULL)
		return;
	while (m->reqs != NULL)
		req_free(m->reqs);
	curlloop_free(m->cl);
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
	if (curlloop_add(m->cl, r->easy, on_done, r) < 0) {
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
