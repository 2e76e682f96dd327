/*
 * fake_etcd.h - the test side of fake_etcd.c, an etcd.h that records
 * every request and lets the test (or a fuzz harness) answer it.
 *
 * Linked before libvipd.a in place of etcd.o (it defines every symbol of
 * etcd.h). Nothing is sent anywhere: etcd_call/etcd_stream record the
 * path, the JSON body, the timeout and the virtual time, and return a
 * request that stays pending until the test answers it. Answers run the
 * owner's callback at once, as the real client does from its loop
 * handler, never from inside etcd_call/etcd_stream/etcd_cancel.
 *
 * Records live until fake_etcd_reset(), so a test can look at requests
 * that were answered or cancelled long ago. Misuse that would be a bug in
 * the real client - etcd_cancel() on a request whose callback already ran
 * (the real one is freed by then), answering a request that is not
 * pending - aborts with a message.
 */
#ifndef VIPD_FAKE_ETCD_H
#define VIPD_FAKE_ETCD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct etcd_req;

enum fake_req_state {
	FAKE_REQ_PENDING,    /* sent, no answer yet */
	FAKE_REQ_DONE,       /* answered (a stream: ended) */
	FAKE_REQ_CANCELLED,  /* etcd_cancel() or etcd_free() before an answer */
};

/* Forget every request (frees them). Call it once the code under test
 * has freed its handle (a handle still alive is forgotten, not freed). */
void fake_etcd_reset(void);

/* Every request so far, in the order sent: index 0 .. count-1. */
size_t fake_etcd_count(void);
struct etcd_req *fake_etcd_nth(size_t i);
/* The oldest pending request on path (NULL = any path), or NULL. */
struct etcd_req *fake_etcd_pending(const char *path);
/* How many requests on path (NULL = any) are in state. */
size_t fake_etcd_count_state(const char *path, enum fake_req_state state);
/* How many requests on path (NULL = any) were ever sent. */
size_t fake_etcd_count_path(const char *path);
/* The newest request on path in any state, or NULL. */
struct etcd_req *fake_etcd_last(const char *path);

/* What was sent. */
const char *fake_req_path(const struct etcd_req *r);
bool fake_req_is_stream(const struct etcd_req *r);
enum fake_req_state fake_req_state(const struct etcd_req *r);
uint32_t fake_req_timeout(const struct etcd_req *r);  /* as passed, 0 = default */
uint64_t fake_req_sent_ms(const struct etcd_req *r);  /* loop_now_ms() at send */
uint64_t fake_req_seq(const struct etcd_req *r);      /* fake_seq_next() at send */
/* fake_seq_next() when it was answered, ended or cancelled; 0 while pending. */
uint64_t fake_req_end_seq(const struct etcd_req *r);
json_t *fake_req_body(const struct etcd_req *r);      /* borrowed */
/*
 * A member of the body by a dotted path: "create_request.key",
 * "success.0.request_put.lease" (numbers index arrays). NULL if absent.
 * _b64 decodes a base64 string (caller frees; NULL if absent or bad);
 * _i64 reads an int64 sent as a string or number (INT64_MIN if absent).
 */
json_t *fake_req_get(const struct etcd_req *r, const char *dotted);
char *fake_req_b64(const struct etcd_req *r, const char *dotted);
int64_t fake_req_i64(const struct etcd_req *r, const char *dotted);

/*
 * Answers. Each runs the request's callback once and marks it done; the
 * request must be pending. For a stream, fake_etcd_push delivers a
 * message and leaves it open.
 *
 * fake_etcd_reply: HTTP 200 with the JSON object given as printf-style
 * text (aborts if it does not parse to an object; a test bug).
 * fake_etcd_fail: a failed request: err (-ETIMEDOUT, -ECONNREFUSED,
 * -EPROTO, or -EIO with etcd's gRPC code), message (NULL = "").
 */
void fake_etcd_reply(struct etcd_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fake_etcd_fail(struct etcd_req *r, int err, int code, const char *message);
/*
 * The bytes of an HTTP reply, judged as the real client judges them: a
 * JSON object with status 200 is a success; anything else at 200 is
 * -EPROTO; a non-200 status is -EIO with the code and message taken from
 * etcd's error object if there is one. For tests of replies the code
 * under test must survive, and for fuzz harnesses (any bytes at all).
 * On a stream this ends it (like etcd.c: a stream's end is an error).
 */
void fake_etcd_reply_raw(struct etcd_req *r, long http_status, const void *data, size_t len);

/* One message on a stream: the "result" object, as printf-style JSON. */
void fake_etcd_push(struct etcd_req *stream, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* One line of a stream's bytes: {"result": {...}} is delivered, anything
 * else is dropped, as etcd.c does (any bytes; for fuzz harnesses). */
void fake_etcd_push_raw(struct etcd_req *stream, const void *data, size_t len);
/* End a stream (its end callback runs with err < 0, as etcd.c's do). */
void fake_etcd_end(struct etcd_req *stream, int err, int code, const char *message);

#endif
