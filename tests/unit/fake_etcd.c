/*
 * fake_etcd.c - etcd.h for unit tests: records requests, the test answers
 * them (fake_etcd.h). Defines every symbol of etcd.h, so etcd.o is never
 * taken from the archive.
 */
#include "fake_etcd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "etcd_codec.h"
#include "fake_loop.h"
#include "loop.h"
#include "metrics.h"
#include "xmem.h"

#define FAKE_ENDPOINT "http://fake-etcd:2379"

struct etcd_req {
	struct etcd *e;
	char *path;
	json_t *body;
	uint32_t timeout_ms;
	bool stream;
	enum fake_req_state state;
	bool in_cb;
	etcd_cb *cb;
	etcd_msg_cb *msg_cb;
	void *arg;
	uint64_t sent_ms;
	uint64_t seq, end_seq;
};

struct etcd {
	char *endpoint;
};

static struct etcd_req **reqs;
static size_t n_reqs, cap_reqs;
static struct etcd *live;

static void die(const char *what, const struct etcd_req *r)
{
	fprintf(stderr, "fake_etcd: %s (request %s)\n", what, r ? r->path : "-");
	abort();
}

/* ---- etcd.h ---------------------------------------------------------------- */

struct etcd *etcd_new(struct loop *loop, const struct etcd_opts *opts)
{
	struct etcd *e = xcalloc(1, sizeof(*e));

	(void)loop;
	e->endpoint = xstrdup(opts && opts->n_endpoints ? opts->endpoints[0] : FAKE_ENDPOINT);
	live = e;
	return e;
}

void etcd_free(struct etcd *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < n_reqs; i++) {
		if (reqs[i]->e == e && reqs[i]->state == FAKE_REQ_PENDING) {
			reqs[i]->state = FAKE_REQ_CANCELLED;
			reqs[i]->end_seq = fake_seq_next();
		}
		if (reqs[i]->e == e)
			reqs[i]->e = NULL;
	}
	if (live == e)
		live = NULL;
	free(e->endpoint);
	free(e);
}

void etcd_stats(const struct etcd *e, const struct metrics_table **requests,
    const struct metrics_table **latency)
{
	static const struct metrics_table none;

	(void)e;
	*requests = *latency = &none;
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->endpoint;
}

static struct etcd_req *record(struct etcd *e, const char *path, json_t *body,
    uint32_t timeout_ms, bool stream, etcd_cb *cb, etcd_msg_cb *msg_cb, void *arg)
{
	struct etcd_req *r = xcalloc(1, sizeof(*r));

	if (body == NULL)
		die("request without a body (json_pack failed?)", NULL);
	r->e = e;
	r->path = xstrdup(path);
	r->body = body; /* stolen, as etcd_call does */
	r->timeout_ms = timeout_ms;
	r->stream = stream;
	r->state = FAKE_REQ_PENDING;
	r->cb = cb;
	r->msg_cb = msg_cb;
	r->arg = arg;
	r->sent_ms = loop_now_ms();
	r->seq = fake_seq_next();
	if (n_reqs == cap_reqs) {
		cap_reqs = cap_reqs ? cap_reqs * 2 : 32;
		reqs = xrealloc(reqs, cap_reqs * sizeof(*reqs));
	}
	reqs[n_reqs++] = r;
	return r;
}

struct etcd_req *etcd_call(struct etcd *e, const char *path, json_t *body,
    uint32_t timeout_ms, etcd_cb *cb, void *arg)
{
	return record(e, path, body, timeout_ms, false, cb, NULL, arg);
}

struct etcd_req *etcd_stream(struct etcd *e, const char *path, json_t *body,
    etcd_msg_cb *msg_cb, etcd_cb *end_cb, void *arg)
{
	return record(e, path, body, 0, true, end_cb, msg_cb, arg);
}

void etcd_cancel(struct etcd_req *r)
{
	if (r == NULL)
		return;
	if (r->state == FAKE_REQ_DONE && !r->in_cb)
		die("etcd_cancel on a request that has completed (freed in the real client)", r);
	if (r->state == FAKE_REQ_CANCELLED)
		die("etcd_cancel twice on one request (freed in the real client)", r);
	if (r->state == FAKE_REQ_PENDING) {
		r->state = FAKE_REQ_CANCELLED;
		r->end_seq = fake_seq_next();
	}
}

/* ---- records -------------------------------------------------------------- */

void fake_etcd_reset(void)
{
	/* A handle still alive belongs to a test that failed half-way:
	 * forget it (its requests go below). */
	live = NULL;
	for (size_t i = 0; i < n_reqs; i++) {
		json_decref(reqs[i]->body);
		free(reqs[i]->path);
		free(reqs[i]);
	}
	free(reqs);
	reqs = NULL;
	n_reqs = cap_reqs = 0;
}

size_t fake_etcd_count(void)
{
	return n_reqs;
}

struct etcd_req *fake_etcd_nth(size_t i)
{
	return i < n_reqs ? reqs[i] : NULL;
}

static bool on_path(const struct etcd_req *r, const char *path)
{
	return path == NULL || strcmp(r->path, path) == 0;
}

struct etcd_req *fake_etcd_pending(const char *path)
{
	for (size_t i = 0; i < n_reqs; i++)
		if (reqs[i]->state == FAKE_REQ_PENDING && on_path(reqs[i], path))
			return reqs[i];
	return NULL;
}

size_t fake_etcd_count_state(const char *path, enum fake_req_state state)
{
	size_t n = 0;

	for (size_t i = 0; i < n_reqs; i++)
		n += reqs[i]->state == state && on_path(reqs[i], path);
	return n;
}

size_t fake_etcd_count_path(const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < n_reqs; i++)
		n += on_path(reqs[i], path);
	return n;
}

struct etcd_req *fake_etcd_last(const char *path)
{
	for (size_t i = n_reqs; i > 0; i--)
		if (on_path(reqs[i - 1], path))
			return reqs[i - 1];
	return NULL;
}

const char *fake_req_path(const struct etcd_req *r) { return r->path; }
bool fake_req_is_stream(const struct etcd_req *r) { return r->stream; }
enum fake_req_state fake_req_state(const struct etcd_req *r) { return r->state; }
uint32_t fake_req_timeout(const struct etcd_req *r) { return r->timeout_ms; }
uint64_t fake_req_sent_ms(const struct etcd_req *r) { return r->sent_ms; }
uint64_t fake_req_seq(const struct etcd_req *r) { return r->seq; }
uint64_t fake_req_end_seq(const struct etcd_req *r) { return r->end_seq; }
json_t *fake_req_body(const struct etcd_req *r) { return r->body; }

json_t *fake_req_get(const struct etcd_req *r, const char *dotted)
{
	char *copy = xstrdup(dotted), *save = NULL;
	json_t *j = r->body;

	for (char *p = strtok_r(copy, ".", &save); p && j; p = strtok_r(NULL, ".", &save)) {
		char *end;
		unsigned long idx = strtoul(p, &end, 10);

		if (json_is_array(j) && *end == '\0' && end != p)
			j = json_array_get(j, idx);
		else
			j = json_object_get(j, p);
	}
	free(copy);
	return j;
}

char *fake_req_b64(const struct etcd_req *r, const char *dotted)
{
	const char *s = json_string_value(fake_req_get(r, dotted));
	size_t len;

	return s ? etcd_b64_decode(s, &len) : NULL;
}

int64_t fake_req_i64(const struct etcd_req *r, const char *dotted)
{
	json_t *holder, *j = fake_req_get(r, dotted);
	int64_t v = INT64_MIN;

	if (j == NULL)
		return INT64_MIN;
	holder = json_pack("{s:O}", "v", j);
	if (etcd_get_i64(holder, "v", &v) < 0)
		v = INT64_MIN;
	json_decref(holder);
	return v;
}

/* ---- answers ------------------------------------------------------------- */

static void must_be_pending(const struct etcd_req *r)
{
	if (r == NULL)
		die("answer to no request (none pending?)", NULL);
	if (r->state != FAKE_REQ_PENDING)
		die("answer to a request that is not pending", r);
}

/* Run the completion callback once, as etcd.c's req_done does. */
static void complete(struct etcd_req *r, const struct etcd_result *res)
{
	must_be_pending(r);
	r->state = FAKE_REQ_DONE;
	r->end_seq = fake_seq_next();
	r->in_cb = true;
	if (r->cb)
		r->cb(r->arg, res);
	r->in_cb = false;
}

static struct etcd_result result(const struct etcd_req *r, int err, long status)
{
	struct etcd_result res = {
		.err = err,
		.http_status = status,
		.message = "",
		.endpoint = r->e ? r->e->endpoint : FAKE_ENDPOINT,
	};
	return res;
}

static json_t *load_fmt(const char *fmt, va_list ap)
{
	char *text = xvasprintf(fmt, ap);
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!json_is_object(j)) {
		fprintf(stderr, "fake_etcd: not a JSON object: %s (%s)\n", text, jerr.text);
		abort();
	}
	free(text);
	return j;
}

void fake_etcd_reply(struct etcd_req *r, const char *fmt, ...)
{
	struct etcd_result res;
	va_list ap;
	json_t *body;

	must_be_pending(r);
	if (r->stream)
		die("fake_etcd_reply on a stream (use push/end)", r);
	va_start(ap, fmt);
	body = load_fmt(fmt, ap);
	va_end(ap);
	res = result(r, 0, 200);
	res.body = body;
	complete(r, &res);
	json_decref(body);
}

void fake_etcd_fail(struct etcd_req *r, int err, int code, const char *message)
{
	struct etcd_result res;

	if (err >= 0)
		die("fake_etcd_fail needs err < 0", r);
	res = result(r, err, err == -EIO ? 400 : 0);
	res.code = code;
	res.message = message ? message : "";
	complete(r, &res);
}

/* etcd's two error shapes, read as etcd.c reads them. */
static void error_fields(json_t *body, struct etcd_result *res)
{
	etcd_error_fields(body, &res->code, &res->message);
}

void fake_etcd_reply_raw(struct etcd_req *r, long http_status, const void *data, size_t len)
{
	json_error_t jerr;
	json_t *body = json_loadb(data, len, 0, &jerr);
	struct etcd_result res;

	must_be_pending(r);
	res = result(r, 0, http_status);
	if (r->stream) {
		res.err = -EPIPE;
		res.message = "stream closed by server";
		if (json_is_object(json_object_get(body, "error"))) {
			res.err = -EIO;
			error_fields(body, &res);
		}
	} else if (!json_is_object(body)) {
		res.err = http_status != 200 ? -EIO : -EPROTO;
		res.message = "reply is not a JSON object";
	} else if (http_status != 200) {
		res.err = -EIO;
		error_fields(body, &res);
	} else {
		res.body = body;
	}
	complete(r, &res);
	json_decref(body);
}

static void deliver(struct etcd_req *r, json_t *result_obj)
{
	r->in_cb = true;
	if (r->msg_cb)
		r->msg_cb(r->arg, result_obj);
	r->in_cb = false;
}

void fake_etcd_push(struct etcd_req *r, const char *fmt, ...)
{
	va_list ap;
	json_t *res;

	must_be_pending(r);
	if (!r->stream)
		die("fake_etcd_push on a call (use reply/fail)", r);
	va_start(ap, fmt);
	res = load_fmt(fmt, ap);
	va_end(ap);
	deliver(r, res);
	json_decref(res);
}

void fake_etcd_push_raw(struct etcd_req *r, const void *data, size_t len)
{
	json_error_t jerr;
	json_t *msg, *res;

	must_be_pending(r);
	if (!r->stream)
		die("fake_etcd_push_raw on a call", r);
	msg = json_loadb(data, len, 0, &jerr);
	res = json_object_get(msg, "result");
	if (json_is_object(res))
		deliver(r, res);
	json_decref(msg);
}

void fake_etcd_end(struct etcd_req *r, int err, int code, const char *message)
{
	struct etcd_result res;

	must_be_pending(r);
	if (!r->stream)
		die("fake_etcd_end on a call (use reply/fail)", r);
	if (err >= 0)
		die("a stream never ends with err >= 0", r);
	res = result(r, err, 200);
	res.code = code;
	res.message = message ? message : "";
	complete(r, &res);
}

int etcd_set_endpoints(struct etcd *e, char *const *endpoints, size_t n)
{
	(void)e;
	(void)endpoints;
	return n > 0 ? 0 : -EINVAL;
}
