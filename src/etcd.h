/*
 * etcd.h - an asynchronous client for etcd's v3 JSON gateway.
 *
 * Requests are HTTP POSTs of JSON bodies to paths such as "/v3/kv/txn",
 * carried by libcurl's multi interface on the daemon's event loop. Several
 * endpoints fail over in turn; TLS and client certificates come from
 * libcurl; etcd authentication (username/password -> token) is handled
 * here, transparently to callers.
 *
 * Failures are logged here, once, with the endpoint, the operation, the
 * HTTP status and etcd's own error text; callers decide what to do next.
 */
#ifndef VIPD_ETCD_H
#define VIPD_ETCD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct loop;
struct etcd;
struct etcd_req;
struct metrics_table;

/*
 * Connections to one endpoint: at most ETCD_MAX_CONNS open at once
 * (CURLMOPT_MAX_HOST_CONNECTIONS: a request beyond it waits in libcurl's
 * queue, its timeout running), at most ETCD_IDLE_CONNS kept once their
 * requests are done (CURLMOPT_MAXCONNECTS: the oldest idle one beyond it
 * is closed). One carries the elections' shared watch stream (watch.h).
 * Without a cap, a start with 256 VIPs opened a connection per request in
 * flight and kept every one: 220 established per node after the start
 * (measured in the scale lab), 431 with a watch stream per VIP. The
 * open-at-once cap is well above what a node has in flight once started
 * (a few: rate x latency), so a keepalive waits in the queue only during
 * a burst of more than 31 requests; at 8 the 256-VIP start queued its
 * keepalives behind the burst. A stream holds its connection for its
 * whole life, so the daemon opens one (watch.h) and never this many: with
 * ETCD_MAX_CONNS streams open, every request would wait for ever.
 */
#define ETCD_MAX_CONNS 32
#define ETCD_IDLE_CONNS 8

struct etcd_opts {
	char *const *endpoints;   /* "http(s)://host:port", at least one */
	size_t n_endpoints;
	const char *ca_file;      /* NULL = system CAs; else only this CA (pinned) */
	const char *cert_file;    /* NULL = no client certificate */
	const char *key_file;
	const char *username;     /* NULL = no etcd auth */
	const char *password;     /* copied, scrubbed when freed */
	bool allow_insecure;      /* username with http:// endpoints: else etcd_new
	                           * fails with EINVAL (credentials in clear) */
	uint32_t timeout_ms;      /* default per-request timeout */
};

/* gRPC status codes that callers act on. */
#define ETCD_CODE_NOT_FOUND        5
#define ETCD_CODE_PERMISSION_DENIED 7
#define ETCD_CODE_FAILED_PRECOND   9
#define ETCD_CODE_UNAVAILABLE     14
#define ETCD_CODE_UNAUTHENTICATED 16

struct etcd_result {
	int err;              /* 0 = HTTP 200 with a JSON object; else -errno:
	                       * -ETIMEDOUT, -ECONNREFUSED (cannot connect),
	                       * -EHOSTUNREACH (cannot resolve), -EKEYREJECTED
	                       * (TLS handshake or verification), -EMSGSIZE
	                       * (reply too large), -EPIPE (other transport
	                       * failure, a stream that ended), -EPROTO (bad
	                       * reply), -EIO (etcd answered with an error:
	                       * see code; or a non-JSON HTTP error) */
	long http_status;     /* 0 if no HTTP answer */
	int code;             /* etcd's gRPC code when err == -EIO, else 0 */
	const char *message;  /* etcd's or libcurl's error text, or "" */
	const char *endpoint; /* the endpoint that was asked */
	json_t *body;         /* the reply object (borrowed; NULL on error) */
};

/* Called once when a request completes or fails (never after cancel),
 * from the loop - never from within etcd_call, etcd_stream or etcd_cancel.
 * The request is freed right after it returns. */
typedef void etcd_cb(void *arg, const struct etcd_result *r);
/* Called for each message of a streaming reply (watch): the "result"
 * object, borrowed. */
typedef void etcd_msg_cb(void *arg, json_t *result);

/*
 * Returns NULL with errno set if libcurl cannot be set up, or EINVAL when
 * username is set with an http:// endpoint and not allow_insecure. Logs a
 * warning per https endpoint without ca_file and per http endpoint that
 * credentials would cross. Requests never use a proxy from the environment;
 * a token obtained over https is never sent to an http endpoint.
 */
struct etcd *etcd_new(struct loop *loop, const struct etcd_opts *opts);
/* NULL-safe; cancels every request still in flight without callbacks. */
void etcd_free(struct etcd *e);

/*
 * POST body (stolen: the caller gives up its reference) to path. timeout_ms
 * 0 = the client's default. cb runs exactly once unless the request is
 * cancelled first. Never returns NULL.
 */
struct etcd_req *etcd_call(struct etcd *e, const char *path, json_t *body,
    uint32_t timeout_ms, etcd_cb *cb, void *arg);

/*
 * Open a stream (POST /v3/watch with body, stolen): msg_cb runs for every
 * message as it arrives; end_cb runs once when the stream ends for any
 * reason (err < 0; a stream never ends with err == 0). No overall timeout.
 */
struct etcd_req *etcd_stream(struct etcd *e, const char *path, json_t *body,
    etcd_msg_cb *msg_cb, etcd_cb *end_cb, void *arg);

/* Abort a request or stream; its callbacks will not run. NULL-safe. */
void etcd_cancel(struct etcd_req *r);

/*
 * The kind of a failed result: the key under which repeated failures are
 * grouped in the log (the first of a streak of one kind and operation is a
 * warning, repeats are debug, every 50th and at least one every
 * ETCD_FAIL_RELOG_MS a warning again), so text that
 * changes between repeats - libcurl's "after 1001 milliseconds", a port -
 * does not restart the streak. One of "timeout", "connect", "resolve",
 * "tls", "reply too large", "transport", "bad reply", "etcd code N" (etcd's
 * gRPC code), "http Nxx" (an HTTP error without etcd's JSON), "ok" for
 * err == 0. Written into buf (up to size bytes, NUL-terminated); returns buf.
 */
const char *etcd_failure_kind(const struct etcd_result *r, char *buf, size_t size);

/* What the client was configured with, for etcd_failure_hint. */
struct etcd_hint_cfg {
	bool ca_file, cert_file, username;
};

/*
 * For a failure that means etcd (or what answers at the endpoint) refuses
 * this client - TLS (libcurl's error text tells a server certificate that
 * does not verify from a client certificate refused or missing, and from
 * a peer that does not speak TLS), a refused connection, a name that does
 * not resolve, HTTP 400 "HTTP request to an HTTPS server", 401/403, 404,
 * etcd codes 16 (unauthenticated) and 7 (permission denied), a failed
 * authenticate - a short hint naming the vipd.etcd key likely at fault
 * (caFile, certFile/keyFile, endpoints, username/passwordFile, prefix).
 * NULL for failures that come and go (timeouts, etcd unavailable, 5xx).
 * The hint is a static string without quotes or backslashes. The causes
 * come from etcd's security model (--client-cert-auth, --trusted-ca-file,
 * auth enable, roles on key ranges) and libcurl/OpenSSL's error texts as
 * measured in t_57.
 */
const char *etcd_failure_hint(const struct etcd_result *r, const struct etcd_hint_cfg *c);

/* While requests keep failing, a warning is logged at least this often
 * (ms), the streak grouping notwithstanding: the log never goes quiet
 * while etcd refuses the client. */
#define ETCD_FAIL_RELOG_MS 30000u

/* Request latency histogram bounds, seconds (a local etcd answers in
 * about a millisecond; the default request timeout is seconds). */
#define ETCD_LATENCY_BOUNDS 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
#define ETCD_LATENCY_N 13

/*
 * Completed requests, for metrics (borrowed from the client):
 * requests: counted by (operation = the path, result =
 * etcd_failure_kind: "ok", "timeout", "etcd code 5", ...), streams when
 * they end included; latency: by (path, "") a histogram over
 * ETCD_LATENCY_BOUNDS of the seconds from etcd_call to the result, also
 * for failures (streams excluded: their time is their life). A request
 * resent after a rejected auth token counts once.
 */
void etcd_stats(const struct etcd *e, const struct metrics_table **requests,
    const struct metrics_table **latency);

/*
 * A reload replaced the endpoint list (n >= 1; copied). Every request
 * started from now on goes to the new list, from its first entry;
 * requests and watches in flight finish on the connection they have (a
 * watch moves when it breaks and is re-made). The lease, its election
 * keys and an auth token stay: the same cluster answers for them; a
 * different cluster answers "lease not found" and the session's usual
 * rules apply. Returns 0, or -EINVAL (the list is empty, or would send
 * credentials over http without allowInsecure: nothing changed).
 */
int etcd_set_endpoints(struct etcd *e, char *const *endpoints, size_t n);

/* The endpoint requests currently go to (for status and logs). */
const char *etcd_endpoint(const struct etcd *e);

#endif
