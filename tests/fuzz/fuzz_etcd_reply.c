/*
 * fuzz_etcd_reply.c - libFuzzer harness for etcd reply bodies as the
 * election and the session read them (src/etcd_codec.c).
 *
 * Input: byte 0 picks the kind of reply (mod REPLY_KINDS: '0' range, '1'
 * txn, '2' watch message, '3' lease grant, '4' keepalive, '5' revoke, so
 * seeds stay text); the rest is the HTTP body as etcd's gateway sends it,
 * parsed as etcd.c parses it (json_loadb, flags 0; for a watch message the
 * "result" member, as dispatch_streams hands it over).
 *
 * Today every kind gets the same treatment: every codec getter on every
 * member of every object in the reply, and on a missing member, with
 * their contracts checked (read_all), then the fields the consumer reads,
 * read the way it reads them (read_kind[]). Still to come, on the unit
 * tests' fake etcd (tests/unit/fake_etcd.c): read_kind[] becomes drive_kind[]: put
 * the state machine in the state that sent this request (elect in
 * check/create/watch, session in grant/keepalive/revoke), answer that
 * request with this body through the fake, and check the machine's
 * invariants (never leader without its key first in the range, fence
 * never moved back, no request leaked on elect_free/session_free).
 * Seeds: tests/fuzz/corpus/etcd_reply (capture-seeds).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)

/* decode(encode(x)) == x for any bytes. */
static void check_b64_round_trip(const void *p, size_t len)
{
	char *enc = etcd_b64_encode(p, len), *dec;
	size_t n;

	check(strlen(enc) == (len + 2) / 3 * 4);
	dec = etcd_b64_decode(enc, &n);
	check(dec != NULL && n == len && memcmp(dec, p, len) == 0 && dec[n] == '\0');
	free(enc);
	free(dec);
}

/* etcd_prefix_end(p) is past every key that starts with p. */
static void check_prefix_end(const char *p)
{
	char *end = etcd_prefix_end(p);
	size_t n = strlen(p);

	if (end[0] != '\0') {
		check(strcmp(p, end) < 0);
		check(strlen(end) <= n && memcmp(p, end, strlen(end) - 1) == 0);
	} else {
		for (size_t i = 0; i < n; i++) /* all 0xff, or empty */
			check((unsigned char)p[i] == 0xff);
	}
	free(end);
}

/* Every getter on member key of obj (key may be missing), contracts checked. */
static void read_member(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	int64_t i = 42;
	int b = 42, rc;
	char *s;

	rc = etcd_get_i64(obj, key, &i);
	check(rc == 0 || (rc == -EINVAL && i == 0));
	if (v == NULL || json_is_null(v))
		check(rc == 0 && i == 0);
	if (json_is_integer(v))
		check(rc == 0 && i == json_integer_value(v));
	if (rc == 0 && v != NULL && !json_is_null(v)) {
		/* What we read, written the gateway's way, reads back the same. */
		json_t *o = json_pack("{s:o}", "v", etcd_json_i64(i));
		int64_t j;

		check(o != NULL && etcd_get_i64(o, "v", &j) == 0 && j == i);
		json_decref(o);
	}

	rc = etcd_get_bool(obj, key, &b);
	check((rc == 0 && (b == 0 || b == 1)) || (rc == -EINVAL && b == 0));
	check((rc == 0) == (v == NULL || json_is_null(v) || json_is_boolean(v)));

	errno = 0;
	s = etcd_get_b64(obj, key);
	if (s == NULL) {
		check(errno == EINVAL && v != NULL && !json_is_null(v));
		if (json_is_string(v)) { /* bad base64, or a NUL in the value */
			size_t n;
			char *d = etcd_b64_decode(json_string_value(v), &n);

			check(d == NULL || strlen(d) != n);
			free(d);
		}
	} else if (json_is_string(v)) {
		size_t n;
		char *d = etcd_b64_decode(json_string_value(v), &n);

		check(d != NULL && strlen(s) == n && memcmp(d, s, n + 1) == 0);
		check_b64_round_trip(d, n);
		check_prefix_end(s);
		free(d);
	} else {
		check(s[0] == '\0');
	}
	free(s);
}

/* read_member on every member of every object below j, and a missing one. */
static void read_all(const json_t *j, unsigned depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > 64) /* jansson's own parser stops at 2048 */
		return;
	if (json_is_object(j)) {
		read_member(j, "no such member");
		json_object_foreach((json_t *)j, key, v) {
			read_member(j, key);
			read_all(v, depth + 1);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			read_all(v, depth + 1);
	}
	/* The getters on something that is not an object: all "missing". */
	read_member(json_is_object(j) ? NULL : j, "key");
}

/* ---- the fields each consumer reads (elect.c, session.c) -------------- */

/* elect.c on_check and on_stale_range: header.revision, then per kv the
 * key, value and lease. */
static void read_range(const json_t *body)
{
	int64_t rev, lease;
	json_t *kv;
	size_t i;

	etcd_get_i64(json_object_get(body, "header"), "revision", &rev);
	json_array_foreach(json_object_get(body, "kvs"), i, kv) {
		free(etcd_get_b64(kv, "key"));
		free(etcd_get_b64(kv, "value"));
		etcd_get_i64(kv, "lease", &lease);
	}
}

/* elect.c on_create only looks at the error; the body's responses are the
 * success's put or the failure's range. */
static void read_txn(const json_t *body)
{
	json_t *resp;
	size_t i;
	int ok;

	etcd_get_bool(body, "succeeded", &ok);
	json_array_foreach(json_object_get(body, "responses"), i, resp)
		read_range(json_object_get(resp, "response_range"));
}

/* elect.c on_watch_msg: canceled, created, cancel_reason, events[].type
 * (a missing type is proto3's PUT). */
static void read_watch(const json_t *result)
{
	int canceled, created;
	int64_t compact;
	json_t *ev;
	size_t i;

	etcd_get_bool(result, "canceled", &canceled);
	etcd_get_bool(result, "created", &created);
	etcd_get_i64(result, "compact_revision", &compact);
	(void)json_string_value(json_object_get(result, "cancel_reason"));
	json_array_foreach(json_object_get(result, "events"), i, ev) {
		const char *type = json_string_value(json_object_get(ev, "type"));

		if (type != NULL)
			(void)strcmp(type, "DELETE");
		free(etcd_get_b64(json_object_get(ev, "kv"), "key"));
	}
}

/* session.c on_grant: ID and TTL. */
static void read_grant(const json_t *body)
{
	int64_t id, ttl;

	etcd_get_i64(body, "ID", &id);
	etcd_get_i64(body, "TTL", &ttl);
}

/* session.c on_keepalive: result.TTL, or error.message. */
static void read_keepalive(const json_t *body)
{
	const json_t *res = json_object_get(body, "result");
	int64_t ttl;

	if (json_is_object(res))
		etcd_get_i64(res, "TTL", &ttl);
	(void)json_string_value(json_object_get(json_object_get(body, "error"), "message"));
}

/* session.c on_revoke only looks at the error. */
static void read_revoke(const json_t *body)
{
	(void)body;
}

static void (*const read_kind[])(const json_t *body) = {
	read_range, read_txn, read_watch, read_grant, read_keepalive, read_revoke,
};
#define REPLY_KINDS (sizeof(read_kind) / sizeof(read_kind[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *body, *reply;
	size_t kind;

	check_b64_round_trip(data, size);
	if (size < 1)
		return 0;
	kind = data[0] % REPLY_KINDS;
	body = json_loadb((const char *)data + 1, size - 1, 0, &jerr);
	if (body == NULL)
		return 0;
	reply = body;
	if (kind == 2) /* a watch message: what dispatch_streams hands over */
		reply = json_object_get(body, "result");
	if (json_is_object(reply)) {
		read_all(reply, 0);
		read_kind[kind](reply);
	} else {
		read_all(body, 0);
	}
	json_decref(body);
	return 0;
}
