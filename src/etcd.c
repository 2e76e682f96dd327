/*
 * etcd.c - etcd's JSON gateway over libcurl, on the event loop.
 *
 * Each request is one easy handle, run by a curlloop (curlloop.h: the
 * multi handle's sockets and timer on the loop). Replies are collected
 * whole for plain calls; for
 * streams (watch) each newline-terminated JSON message is handed over as
 * it arrives.
 */
#include "etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "curlloop.h"
#include "etcd_codec.h"
#include "linebuf.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "xmem.h"

#define ETCD_CONNECT_TIMEOUT_MS 1000
#define ETCD_MAX_REPLY (4u << 20) /* no sane reply of ours is bigger */

struct etcd_req {
	struct etcd *e;
	CURL *easy;
	char *path;
	char *body;               /* serialized JSON */
	struct curl_slist *hdrs;
	struct linebuf in;        /* reply bytes not yet consumed */
	uint32_t timeout_ms;
	etcd_cb *cb;
	etcd_msg_cb *msg_cb;      /* non-NULL for streams */
	void *arg;
	size_t ep;                /* endpoint index used */
	unsigned gen;             /* e->gen when it started: ep is stale after
	                           * etcd_set_endpoints */
	bool auth_retried;
	bool secret;              /* body holds the password, the reply the token:
	                           * both scrubbed when freed (in.secret too) */
	bool waiting_auth;        /* parked until a token arrives */
	bool releasing;           /* parked for the authenticate that just ended */
	bool overflow;
	json_t *last_error;       /* a stream's {"error": ...} message */
	bool in_cb;               /* its callback is running */
	uint64_t started_at;      /* etcd_call/etcd_stream time (loop ms) */
	bool cancelled;           /* cancelled while in_cb; freed after */
	char errbuf[CURL_ERROR_SIZE];
	struct etcd_req *next;
};

struct etcd {
	struct loop *loop;
	struct curlloop *cl;       /* the libcurl multi on the loop */
	char **endpoints;
	size_t n_endpoints;
	size_t cur;
	unsigned gen;             /* etcd_set_endpoints calls so far */
	char *ca_file, *cert_file, *key_file;
	char *username, *password;
	char *token;              /* etcd auth token, NULL until authenticated */
	bool token_tls;           /* the token was obtained over https */
	bool allow_insecure;      /* credentials may cross http (etcd_opts) */
	unsigned auth_failures;   /* in a row, for quiet logging */
	struct etcd_req *auth_req;
	uint32_t timeout_ms;
	struct etcd_req *reqs;    /* every live request */
	unsigned frees;           /* requests freed so far (dispatch_streams) */
	unsigned fail_streak;     /* consecutive failures, for quiet logging */
	char last_fail[512];       /* "path kind hint" of the last warning */
	uint64_t last_warn_at;    /* loop ms of the last failure warning */
	struct metrics_table requests, latency; /* etcd_stats() */
};

static void req_start(struct etcd_req *r);

/* The endpoint r went to; its name is gone after etcd_set_endpoints. */
static const char *req_endpoint(const struct etcd_req *r)
{
	return r->gen == r->e->gen ? r->e->endpoints[r->ep] : "(replaced by a reload)";
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->endpoints[e->cur];
}

static void dispatch_streams(void *arg);
static void req_free(struct etcd_req *r);
static void req_done(void *arg, CURL *easy, CURLcode code);

/* ---- requests ---------------------------------------------------------- */

static void req_unlink(struct etcd_req *r)
{
	for (struct etcd_req **pp = &r->e->reqs; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

/* Headers may hold "Authorization: <token>": scrub them before freeing. */
static void scrub_hdrs(struct curl_slist *h)
{
	for (; h != NULL; h = h->next)
		if (h->data != NULL)
			explicit_bzero(h->data, strlen(h->data));
}

static void req_free(struct etcd_req *r)
{
	if (r->easy) {
		curlloop_remove(r->e->cl, r->easy);
		curl_easy_cleanup(r->easy);
	}
	req_unlink(r);
	scrub_hdrs(r->hdrs);
	curl_slist_free_all(r->hdrs);
	json_decref(r->last_error);
	free(r->path);
	if (r->secret && r->body != NULL) /* the authenticate body: the password */
		explicit_bzero(r->body, strlen(r->body));
	free(r->body);
	linebuf_free(&r->in); /* scrubbed if in.secret: the token */
	r->e->frees++;
	free(r);
}

/*
 * Hand complete stream messages (one JSON object per line: {"result": ...}
 * or {"error": ...}) to their owners. This runs after libcurl returns, never
 * inside a libcurl callback, so owners may start or cancel requests. A
 * callback may free any request: the scan goes on with the same request
 * unless a request was freed meanwhile (e->frees moved), then it restarts
 * from the head. Each request's lines come out of its linebuf in linear
 * time, and its buffer is compacted once per pass.
 */
static void dispatch_streams(void *arg)
{
	struct etcd *e = arg;
again:
	for (struct etcd_req *r = e->reqs; r; r = r->next) {
		const char *line;
		size_t n;
		json_t *msg, *res;
		json_error_t jerr;
		unsigned frees;

		while (r->msg_cb != NULL && (line = linebuf_next(&r->in, &n)) != NULL) {
			msg = json_loadb(line, n, 0, &jerr);
			res = json_object_get(msg, "result");
			if (res != NULL && json_is_object(res)) {
				frees = e->frees;
				r->in_cb = true;
				r->msg_cb(r->arg, res);
				r->in_cb = false;
				if (r->cancelled) {
					json_decref(msg);
					req_free(r);
					goto again;
				}
				if (e->frees != frees) {
					json_decref(msg);
					linebuf_compact(&r->in);
					goto again;
				}
			} else if (json_is_object(json_object_get(msg, "error"))) {
				/* An error inside the stream ends it; libcurl
				 * finishes the transfer and the end callback
				 * reports it. */
				json_decref(r->last_error);
				r->last_error = json_incref(msg);
			}
			json_decref(msg);
		}
		linebuf_compact(&r->in);
	}
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct etcd_req *r = userp;
	size_t n = size * nmemb;

	if (linebuf_append(&r->in, data, n, ETCD_MAX_REPLY) < 0) {
		r->overflow = true;
		return 0; /* makes libcurl fail the transfer */
	}
	return n;
}

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_WRITE_ERROR:
		return -EMSGSIZE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return -EKEYREJECTED;
	default:
		return -EPIPE;
	}
}

const char *etcd_failure_kind(const struct etcd_result *r, char *buf, size_t size)
{
	const char *k;

	switch (r->err) {
	case 0:
		k = "ok";
		break;
	case -ETIMEDOUT:
		k = "timeout";
		break;
	case -ECONNREFUSED:
		k = "connect";
		break;
	case -EHOSTUNREACH:
		k = "resolve";
		break;
	case -EKEYREJECTED:
		k = "tls";
		break;
	case -EMSGSIZE:
		k = "reply too large";
		break;
	case -EPROTO:
		k = "bad reply";
		break;
	case -EIO:
		if (r->code != 0)
			snprintf(buf, size, "etcd code %d", r->code);
		else
			snprintf(buf, size, "http %ldxx", r->http_status / 100);
		return buf;
	default:
		k = "transport";
		break;
	}
	snprintf(buf, size, "%s", k);
	return buf;
}

static bool is_https(const char *endpoint)
{
	return strncmp(endpoint, "https://", 8) == 0;
}

static bool has(const char *s, const char *what)
{
	return s != NULL && strcasestr(s, what) != NULL;
}

const char *etcd_failure_hint(const struct etcd_result *r, const struct etcd_hint_cfg *c)
{
	const char *m = r->message;

	switch (r->err) {
	case -EKEYREJECTED:
	case -EPIPE:
		/* libcurl/OpenSSL texts. A TLS alert from the server: it
		 * refused our certificate, or wanted one. */
		if (has(m, "alert") || has(m, "certificate required"))
			return c->cert_file ?
			    "etcd refuses the client certificate: check vipd.etcd.certFile and keyFile "
			    "(signed by a CA in etcd's --trusted-ca-file)" :
			    "etcd wants a client certificate (--client-cert-auth): set "
			    "vipd.etcd.certFile and keyFile";
		if (has(m, "wrong version number") || has(m, "packet length too long") ||
		    has(m, "record layer failure"))
			return "the endpoint does not speak TLS: check http:// or https:// in "
			    "vipd.etcd.endpoints";
		if (has(m, "certificate problem") || has(m, "verify") || has(m, "issuer") ||
		    has(m, "subject name") || has(m, "self-signed") || has(m, "self signed"))
			return c->ca_file ?
			    "etcd's server certificate does not verify: check vipd.etcd.caFile (the "
			    "CA that signed it) and that the endpoint's host is in the certificate" :
			    "etcd's server certificate does not verify against the system CAs: set "
			    "vipd.etcd.caFile to the CA that signed it";
		if (has(m, "client cert") || has(m, "private key"))
			return "vipd.etcd.certFile or keyFile cannot be used (format, or a key of "
			    "another certificate)";
		if (r->err == -EKEYREJECTED)
			return "check vipd.etcd.caFile, certFile and keyFile against etcd's TLS "
			    "set-up (--trusted-ca-file, --cert-file, --client-cert-auth)";
		/* etcd's TLS listener drops a plain HTTP request unanswered. */
		if (has(m, "Empty reply") && r->endpoint != NULL && !is_https(r->endpoint))
			return "nothing answers HTTP there (a TLS listener drops it): check http:// "
			    "or https:// in vipd.etcd.endpoints";
		return NULL;
	case -ECONNREFUSED:
		return "nothing accepts connections there: check the host and port in "
		    "vipd.etcd.endpoints, and that etcd runs";
	case -EHOSTUNREACH:
		return "check the host name in vipd.etcd.endpoints";
	case -EACCES:
		return "authentication failed: check vipd.etcd.username and passwordFile";
	case -EIO:
		if (r->code == ETCD_CODE_UNAUTHENTICATED || (r->code == 0 && r->http_status == 401))
			return c->username ?
			    "etcd rejects the user: check vipd.etcd.username and passwordFile" :
			    "etcd has authentication on: set vipd.etcd.username and passwordFile, "
			    "or a client certificate etcd maps to a user";
		if (r->code == ETCD_CODE_PERMISSION_DENIED || (r->code == 0 && r->http_status == 403))
			return "the etcd user (vipd.etcd.username, or the client certificate's "
			    "CommonName) needs a role with readwrite on vipd.etcd.prefix";
		if (r->code == 0 && r->http_status == 400 && has(m, "HTTPS"))
			return "the endpoint speaks TLS: use https:// in vipd.etcd.endpoints";
		if (r->code == 0 && r->http_status == 404)
			return "no etcd JSON gateway answers there: check vipd.etcd.endpoints "
			    "(etcd's client URL)";
		return NULL;
	default:
		return NULL;
	}
}

/* Log a failure once: the first of a streak at warn, repeats of the same
 * kind for the same operation (etcd_failure_kind: a timeout is a timeout
 * whatever elapsed time libcurl's text gives) at debug, so a long outage is
 * clear in the log but not a flood - except that a warning comes at least
 * every ETCD_FAIL_RELOG_MS while the failures last. A warning carries
 * etcd_failure_hint's hint when there is one. */
static void note_failure(struct etcd *e, const struct etcd_result *res, const char *path)
{
	char line[sizeof(e->last_fail)], esc[LOG_ESC_LEN], kind[32];
	const struct etcd_hint_cfg hc = {
		.ca_file = e->ca_file != NULL, .cert_file = e->cert_file != NULL,
		.username = e->username != NULL,
	};
	const char *hint = etcd_failure_hint(res, &hc);
	uint64_t now = loop_now_ms();

	if (res->code == ETCD_CODE_NOT_FOUND) {
		log_debug("etcd: %s: not found endpoint=%s", path, res->endpoint);
		return;
	}
	log_esc(esc, res->message); /* etcd's text, or a body: never raw in the log */
	etcd_failure_kind(res, kind, sizeof(kind));
	/* The hint is part of the streak's key: a refusal's first hinted
	 * failure is warned even after an unhinted one of the same kind
	 * (etcd's TLS listener sometimes closes before the alert is read:
	 * "getpeername() failed", then "alert bad certificate"). */
	snprintf(line, sizeof(line), "%s %s %s", path, kind, hint ? hint : "");
	e->fail_streak++;
	if (strcmp(line, e->last_fail) != 0 || e->fail_streak % 50 == 1 ||
	    now - e->last_warn_at >= ETCD_FAIL_RELOG_MS) {
		log_warnx("etcd: request failed op=%s endpoint=%s kind=\"%s\" status=%ld code=%d error=\"%s\" failures=%u%s%s%s",
		    path, res->endpoint, kind, res->http_status, res->code, esc, e->fail_streak,
		    hint ? " hint=\"" : "", hint ? hint : "", hint ? "\"" : "");
		snprintf(e->last_fail, sizeof(e->last_fail), "%s", line);
		e->last_warn_at = now;
	} else {
		log_debug("etcd: request failed op=%s endpoint=%s kind=\"%s\" error=\"%s\"",
		    path, res->endpoint, kind, esc);
	}
}

static void note_success(struct etcd *e, const struct etcd_req *r)
{
	if (e->fail_streak > 0 && r->msg_cb == NULL) {
		log_info("etcd: requests succeed again endpoint=%s after failures=%u",
		    req_endpoint(r), e->fail_streak);
		e->fail_streak = 0;
		e->last_fail[0] = '\0';
	}
}

/* Count a completed request for etcd_stats. */
static void count_request(struct etcd *e, const struct etcd_req *r, const struct etcd_result *res)
{
	static const double bounds[] = { ETCD_LATENCY_BOUNDS };
	char kind[32];

	metrics_table_get(&e->requests, r->path, etcd_failure_kind(res, kind, sizeof(kind)))->count++;
	if (r->msg_cb == NULL)
		metrics_hist_observe(&metrics_table_get(&e->latency, r->path, "")->hist, bounds,
		    ETCD_LATENCY_N, (double)(loop_now_ms() - r->started_at) / 1000.0);
}

void etcd_stats(const struct etcd *e, const struct metrics_table **requests,
    const struct metrics_table **latency)
{
	*requests = &e->requests;
	*latency = &e->latency;
}

static void auth_start(struct etcd *e);

/* Forget the token, scrubbing it from memory. */
static void token_drop(struct etcd *e)
{
	if (e->token != NULL)
		explicit_bzero(e->token, strlen(e->token));
	free(e->token);
	e->token = NULL;
	e->token_tls = false;
}

/* etcd's error code and text into res (etcd_error_fields). */
static void error_fields(json_t *body, struct etcd_result *res)
{
	etcd_error_fields(body, &res->code, &res->message);
}

/*
 * The result of a transfer that completed at the HTTP level, from
 * res->http_status and the reply bytes in r->in (for a stream: what is
 * left after its messages, and its last {"error": ...} message, taken
 * over). Fills res->err, code, message and, on success, body. Returns the
 * parsed reply, which the strings in res may point into, for the caller to
 * drop after the callback (NULL if there is none); res->message may also
 * point into r->in's bytes, which are cut at the first line break for that.
 */
static json_t *reply_result(struct etcd_req *r, struct etcd_result *res)
{
	json_t *body = NULL;
	json_error_t jerr;
	size_t len;
	/* linebuf's own bytes when len > 0 (writable: cut below), "" when 0 */
	char *buf = (char *)linebuf_data(&r->in, &len);

	if (r->msg_cb != NULL) {
		/* A stream should never end by itself. */
		res->err = -EPIPE;
		res->message = "stream closed by server";
		body = r->last_error;
		r->last_error = NULL;
		if (body == NULL && len > 0)
			body = json_loadb(buf, len, 0, &jerr);
		if (json_is_object(json_object_get(body, "error"))) {
			res->err = -EIO;
			error_fields(body, res);
		}
	} else {
		body = json_loadb(buf, len, 0, &jerr);
		if (body == NULL || !json_is_object(body)) {
			/* Not etcd's JSON: show what came instead (a proxy's
			 * page, or the gateway's plain-text refusals such as
			 * client certificates with a CommonName under auth). */
			res->err = res->http_status != 200 ? -EIO : -EPROTO;
			res->message = "reply is not a JSON object";
			if (len > 0) {
				size_t n = strcspn(buf, "\r\n");
				if (n > 200)
					n = 200;
				buf[n] = '\0';
				res->message = buf;
			}
		} else if (res->http_status != 200) {
			res->err = -EIO;
			error_fields(body, res);
		} else {
			res->body = body;
		}
	}
	return body;
}

/* The transfer ended: build the result, log failures, run the callback. */
static void req_done(void *arg, CURL *easy, CURLcode code)
{
	struct etcd_req *r = arg;
	struct etcd *e = r->e;
	struct etcd_result res = { 0 };
	json_t *body = NULL;
	const char *path = r->path;

	(void)easy; /* r->easy, out of the multi now (curlloop) */

	res.endpoint = req_endpoint(r);
	res.message = "";
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.http_status);
	if (code != CURLE_OK) {
		res.err = curl_errno(code);
		res.message = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
		if (r->overflow)
			res.message = "reply too large";
		/* A transport failure: the next request tries the next
		 * endpoint (unless another request already moved on). */
		if (e->n_endpoints > 1 && e->cur == r->ep && r->gen == e->gen)
			e->cur = (e->cur + 1) % e->n_endpoints;
	} else {
		body = reply_result(r, &res);
	}

	/* An expired or invalid token: authenticate again and resend once. */
	if (res.err == -EIO && res.code == ETCD_CODE_UNAUTHENTICATED &&
	    e->username != NULL && !r->auth_retried && r != e->auth_req) {
		log_info("etcd: auth token rejected, authenticating again endpoint=%s",
		    res.endpoint);
		token_drop(e);
		r->auth_retried = true;
		json_decref(body);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		linebuf_free(&r->in);
		r->in.secret = r->secret;
		req_start(r);
		return;
	}

	if (res.err != 0)
		note_failure(e, &res, path);
	else
		note_success(e, r);
	count_request(e, r, &res);

	r->in_cb = true;
	if (r->cb)
		r->cb(r->arg, &res);
	json_decref(body);
	req_free(r);
}

/* Set up the easy handle for r against the current endpoint and start it
 * on the curlloop (req_done when it ends). */
static void req_start(struct etcd_req *r)
{
	struct etcd *e = r->e;
	char *url, *auth;

	/* Authenticated clients park requests until a token exists; the
	 * authenticate request itself never waits. */
	if (e->username != NULL && e->token == NULL && r != e->auth_req) {
		r->waiting_auth = true;
		auth_start(e);
		return;
	}
	r->ep = e->cur;
	r->gen = e->gen;
	/* A token obtained over TLS never goes to an http endpoint (after a
	 * fail-over): authenticate there afresh - allowed only with
	 * allowInsecure (etcd_new refuses the rest). */
	if (e->token != NULL && e->token_tls && !is_https(e->endpoints[r->ep]) &&
	    r != e->auth_req) {
		log_warnx("etcd: not sending a token obtained over TLS to an http endpoint "
		    "endpoint=%s; authenticating again", e->endpoints[r->ep]);
		token_drop(e);
		r->waiting_auth = true;
		auth_start(e);
		return;
	}
	r->waiting_auth = false;
	r->errbuf[0] = '\0';
	r->easy = curl_easy_init();
	if (r->easy == NULL)
		fatalx("etcd: curl_easy_init failed");
	url = xasprintf("%s%s", e->endpoints[r->ep], r->path);
	scrub_hdrs(r->hdrs);
	curl_slist_free_all(r->hdrs);
	r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->token != NULL && r != e->auth_req) {
		auth = xasprintf("Authorization: %s", e->token);
		r->hdrs = curl_slist_append(r->hdrs, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, 2L);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* Never wait for a stuck DNS resolver thread when a request ends:
	 * that would block the whole event loop (fence, stop deadline). */
	curl_easy_setopt(r->easy, CURLOPT_QUICK_EXIT, 1L);
#endif
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(r->timeout_ms && r->timeout_ms < ETCD_CONNECT_TIMEOUT_MS ?
	    r->timeout_ms : ETCD_CONNECT_TIMEOUT_MS));
	if (r->timeout_ms)
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	/* Talk to etcd only as configured: never through a proxy from the
	 * environment (http_proxy, HTTPS_PROXY, ALL_PROXY: a proxy sees
	 * every request, and the password on http). */
	curl_easy_setopt(r->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
	if (e->ca_file) {
		/* caFile pins: only that CA, not the system's CA directory
		 * that libcurl also trusts by default. */
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, e->ca_file);
		curl_easy_setopt(r->easy, CURLOPT_CAPATH, NULL);
	}
	if (e->cert_file) {
		curl_easy_setopt(r->easy, CURLOPT_SSLCERT, e->cert_file);
		curl_easy_setopt(r->easy, CURLOPT_SSLKEY, e->key_file);
	}
	free(url);
	if (curlloop_add(e->cl, r->easy, req_done, r) < 0)
		fatalx("etcd: curl_multi_add_handle failed");
}

static struct etcd_req *req_new(struct etcd *e, const char *path, json_t *body,
    uint32_t timeout_ms, etcd_cb *cb, etcd_msg_cb *msg_cb, void *arg)
{
	struct etcd_req *r = xcalloc(1, sizeof(*r));

	r->e = e;
	r->path = xstrdup(path);
	r->body = json_dumps(body, JSON_COMPACT);
	if (r->body == NULL)
		fatalx("etcd: cannot serialize request");
	json_decref(body);
	r->timeout_ms = timeout_ms;
	r->started_at = loop_now_ms();
	r->cb = cb;
	r->msg_cb = msg_cb;
	r->arg = arg;
	r->next = e->reqs;
	e->reqs = r;
	return r;
}

struct etcd_req *etcd_call(struct etcd *e, const char *path, json_t *body,
    uint32_t timeout_ms, etcd_cb *cb, void *arg)
{
	struct etcd_req *r = req_new(e, path, body,
	    timeout_ms ? timeout_ms : e->timeout_ms, cb, NULL, arg);

	req_start(r);
	return r;
}

struct etcd_req *etcd_stream(struct etcd *e, const char *path, json_t *body,
    etcd_msg_cb *msg_cb, etcd_cb *end_cb, void *arg)
{
	struct etcd_req *r = req_new(e, path, body, 0, end_cb, msg_cb, arg);

	req_start(r);
	return r;
}

void etcd_cancel(struct etcd_req *r)
{
	if (r == NULL)
		return;
	/* Never called from inside a libcurl callback: messages and
	 * completions are dispatched after libcurl returns. */
	r->cb = NULL;
	r->msg_cb = NULL;
	if (r->e->auth_req == r)
		r->e->auth_req = NULL;
	if (r->in_cb)
		r->cancelled = true; /* freed when its callback returns */
	else
		req_free(r);
}

/* ---- authentication ---------------------------------------------------- */

static void auth_done(void *arg, const struct etcd_result *res)
{
	struct etcd *e = arg;
	char esc[LOG_ESC_LEN];
	json_t *tok = res->body ? json_object_get(res->body, "token") : NULL;

	e->auth_req = NULL;
	if (res->err == 0 && json_is_string(tok)) {
		token_drop(e);
		e->token = xstrdup(json_string_value(tok));
		e->token_tls = is_https(res->endpoint);
		log_info("etcd: authenticated user=%s endpoint=%s", e->username,
		    res->endpoint);
		e->auth_failures = 0;
	} else if (e->auth_failures++ % 60 == 0) {
		log_warnx("etcd: authentication failed user=%s endpoint=%s error=\"%s\" failures=%u",
		    e->username, res->endpoint, log_esc(esc, res->message), e->auth_failures);
	}
	/* Release the requests parked for this authenticate: with a token
	 * they go out; without one they fail at once, so their owners back
	 * off and retry. The set is taken first: a request a callback makes
	 * now waits for the authenticate it starts, instead of failing with
	 * this one. A callback may cancel other requests, so look for the
	 * next one afresh each time. */
	for (struct etcd_req *r = e->reqs; r; r = r->next)
		r->releasing = r->waiting_auth;
	for (;;) {
		struct etcd_req *r = e->reqs;
		while (r && !r->releasing)
			r = r->next;
		if (r == NULL)
			break;
		r->releasing = false;
		r->waiting_auth = false;
		if (e->token != NULL) {
			req_start(r);
		} else {
			struct etcd_result fail = {
				.err = -EACCES, .message = "not authenticated",
				.endpoint = res->endpoint,
			};
			r->in_cb = true;
			if (r->cb)
				r->cb(r->arg, &fail);
			req_free(r);
		}
	}
}

static void auth_start(struct etcd *e)
{
	json_t *body;

	if (e->auth_req != NULL)
		return;
	body = json_pack("{s:s, s:s}", "name", e->username, "password", e->password);
	if (body == NULL)
		fatalx("etcd: cannot build auth request");
	e->auth_req = req_new(e, "/v3/auth/authenticate", body, e->timeout_ms,
	    auth_done, NULL, e);
	e->auth_req->secret = true;
	e->auth_req->in.secret = true;
	req_start(e->auth_req);
}

/* ---- lifetime ------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* jansson's buffers carry the password (the authenticate body) and the
 * token (its reply) through json_pack, json_dumps and json_loadb: scrub
 * every one of them when it is freed. */
static void scrub_free(void *p)
{
	if (p != NULL)
		explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

struct etcd *etcd_new(struct loop *loop, const struct etcd_opts *o)
{
	struct etcd *e;
	struct curlloop *cl;

	json_set_alloc_funcs(malloc, scrub_free);
	cl = curlloop_new(loop);
	if (cl == NULL)
		return NULL; /* errno set */
	e = xcalloc(1, sizeof(*e));
	e->loop = loop;
	e->cl = cl;
	curlloop_set_after(cl, dispatch_streams, e);
	curlloop_set_conns(cl, ETCD_MAX_CONNS, ETCD_IDLE_CONNS);
	e->n_endpoints = o->n_endpoints;
	e->endpoints = xcalloc(o->n_endpoints, sizeof(char *));
	for (size_t i = 0; i < o->n_endpoints; i++) {
		/* "https://host:2379/" and "https://host:2379" are one URL. */
		char *ep = xstrdup(o->endpoints[i]);
		size_t n = strlen(ep);
		while (n > 0 && ep[n - 1] == '/')
			ep[--n] = '\0';
		e->endpoints[i] = ep;
	}
	e->ca_file = dup_or_null(o->ca_file);
	e->cert_file = dup_or_null(o->cert_file);
	e->key_file = dup_or_null(o->key_file);
	e->username = dup_or_null(o->username);
	e->password = dup_or_null(o->password ? o->password : "");
	e->timeout_ms = o->timeout_ms ? o->timeout_ms : 2000;
	e->allow_insecure = o->allow_insecure;
	for (size_t i = 0; i < e->n_endpoints; i++) {
		if (!is_https(e->endpoints[i]) && e->username != NULL && !e->allow_insecure) {
			log_warnx("etcd: refusing to send credentials in clear endpoint=%s "
			    "(set etcd.allowInsecure to allow it)", e->endpoints[i]);
			etcd_free(e);
			errno = EINVAL;
			return NULL;
		}
		if (!is_https(e->endpoints[i]) && e->username != NULL)
			log_warnx("etcd: allowInsecure: the password and the auth token cross "
			    "the network in clear endpoint=%s", e->endpoints[i]);
		if (is_https(e->endpoints[i]) && e->ca_file == NULL)
			log_warnx("etcd: https endpoint without caFile: any CA the system trusts "
			    "can vouch for it endpoint=%s", e->endpoints[i]);
	}
	return e;
}

int etcd_set_endpoints(struct etcd *e, char *const *endpoints, size_t n)
{
	char **eps;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!is_https(endpoints[i]) && e->username != NULL && !e->allow_insecure) {
			log_warnx("etcd: refusing to send credentials in clear endpoint=%s "
			    "(set etcd.allowInsecure to allow it)", endpoints[i]);
			return -EINVAL;
		}
	eps = xcalloc(n, sizeof(*eps));
	for (size_t i = 0; i < n; i++) {
		size_t len;

		eps[i] = xstrdup(endpoints[i]);
		len = strlen(eps[i]);
		while (len > 0 && eps[i][len - 1] == '/')
			eps[i][--len] = '\0';
	}
	for (size_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	e->endpoints = eps;
	e->n_endpoints = n;
	e->cur = 0;
	e->gen++;
	return 0;
}

void etcd_free(struct etcd *e)
{
	if (e == NULL)
		return;
	while (e->reqs)
		etcd_cancel(e->reqs);
	curlloop_free(e->cl);
	for (size_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	free(e->username);
	if (e->password)
		explicit_bzero(e->password, strlen(e->password));
	free(e->password);
	token_drop(e);
	free(e);
}
