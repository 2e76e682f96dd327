/*
 * fuzz_etcd_transport.c - libFuzzer harness for the etcd transport's
 * reply handling (src/etcd.c, included: its parsers are static).
 *
 * What is fuzzed is what the network decides: the HTTP status, the reply
 * bytes, and how they are cut into the pieces libcurl hands to write_cb.
 * For a stream (watch, keepalive) the bytes go through the real framing
 * (write_cb, then dispatch_streams after every piece, as on_sock does);
 * at the end reply_result turns the rest into the struct etcd_result the
 * caller's callback would get.
 *
 * Input: byte 0 = bit 0 stream; bits 1-3 the HTTP status (statuses[]);
 *        bits 4-7 k: the k-th message's callback cancels the stream
 *        (0 = never). byte 1 = n (mod 8) piece sizes follow, 1 byte each
 *        (size = byte + 1, used in turn); the rest is the reply body.
 *
 * Checks, for every input: no crash, leak or undefined behaviour; every
 * message handed over is an object; the messages and the final result do
 * not depend on how the bytes were cut (the run is repeated with the body
 * in one piece and compared); a result is consistent (err == 0 exactly
 * when the body is a JSON object with status 200 and no stream; message
 * never NULL). Seeds: tests/fuzz/corpus/etcd_transport (capture-seeds).
 */
#include "../../src/etcd.c"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const long statuses[8] = { 200, 200, 400, 401, 404, 500, 503, 302 };

/* What one run saw: every message serialized, then the result. */
struct seen {
	char *log;
	size_t len;
	FILE *f;
	unsigned msgs;
	unsigned cancel_at;   /* cancel inside this message's callback; 0 never */
	struct etcd_req *r;
	bool cancelled;
};

static void on_msg(void *arg, json_t *result)
{
	struct seen *s = arg;
	char *text;

	if (!json_is_object(result))
		abort();
	text = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (text == NULL)
		abort();
	fprintf(s->f, "msg %s\n", text);
	free(text);
	if (++s->msgs == s->cancel_at) {
		etcd_cancel(s->r); /* freed by dispatch_streams once we return */
		s->cancelled = true;
	}
}

/* Feed body to a fresh request in pieces (sizes cycled from cuts, or in
 * one piece when ncuts == 0) and record what the owner would see. */
static void run(struct seen *s, bool stream, long status, unsigned cancel_at,
    const uint8_t *cuts, size_t ncuts, const uint8_t *body, size_t len)
{
	struct etcd e = { 0 };
	struct etcd_req *r = xcalloc(1, sizeof(*r));
	struct etcd_result res = { 0 };
	json_t *reply;
	size_t off = 0, i = 0;

	memset(s, 0, sizeof(*s));
	s->f = open_memstream(&s->log, &s->len);
	if (s->f == NULL)
		abort();
	s->cancel_at = cancel_at;
	s->r = r;
	r->e = &e;
	r->path = xstrdup("/v3/fuzz");
	r->cb = NULL;
	r->msg_cb = stream ? on_msg : NULL;
	r->arg = s;
	e.reqs = r;

	while (off < len && !s->cancelled) {
		size_t n = ncuts ? (size_t)cuts[i++ % ncuts] + 1 : len;

		if (n > len - off)
			n = len - off;
		if (write_cb((char *)body + off, 1, n, r) != n)
			abort(); /* only ETCD_MAX_REPLY makes it refuse */
		off += n;
		if (stream)
			dispatch_streams(&e);
	}
	if (s->cancelled) {
		if (e.reqs != NULL) /* dispatch_streams frees a cancelled one */
			abort();
		fprintf(s->f, "cancelled\n");
		fclose(s->f);
		return;
	}

	res.message = "";
	res.http_status = status;
	reply = reply_result(r, &res);
	if (res.message == NULL || (res.err == 0) != (res.body != NULL))
		abort();
	if (res.err == 0 && (stream || status != 200 || !json_is_object(res.body) ||
	    res.body != reply))
		abort();
	if (res.err != 0 && res.err != -EIO && res.err != -EPROTO && res.err != -EPIPE)
		abort();
	if (res.err != -EIO && res.code != 0)
		abort();
	fprintf(s->f, "end err=%d code=%d message=%s\n", res.err, res.code, res.message);
	fclose(s->f);
	json_decref(reply);
	req_free(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen cut, whole;
	size_t ncuts;
	bool stream;
	long status;
	unsigned cancel_at;

	if (size < 2)
		return 0;
	stream = data[0] & 1;
	status = statuses[data[0] >> 1 & 7];
	cancel_at = data[0] >> 4;
	ncuts = data[1] % 8;
	if (size < 2 + ncuts)
		return 0;

	run(&cut, stream, status, cancel_at, data + 2, ncuts, data + 2 + ncuts,
	    size - 2 - ncuts);
	run(&whole, stream, status, cancel_at, NULL, 0, data + 2 + ncuts,
	    size - 2 - ncuts);
	if (cut.len != whole.len || memcmp(cut.log, whole.log, cut.len) != 0) {
		fprintf(stderr, "cutting the reply changed what was seen:\n"
		    "--- in pieces\n%s--- whole\n%s", cut.log, whole.log);
		abort();
	}
	free(cut.log);
	free(whole.log);
	return 0;
}
