/*
 * etcd_codec.h - the encodings the etcd v3 JSON gateway uses: keys and
 * values as base64, 64-bit integers as decimal strings, and proto3's
 * habit of leaving out fields whose value is zero/false/empty.
 * Pure functions, no I/O.
 */
#ifndef VIPD_ETCD_CODEC_H
#define VIPD_ETCD_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Standard base64 (RFC 4648, with padding). The caller frees the result. */
char *etcd_b64_encode(const void *data, size_t len);
/* Decode; returns a NUL-terminated buffer (the caller frees it) and its
 * length in *len, or NULL with errno = EINVAL on malformed input. */
char *etcd_b64_decode(const char *s, size_t *len);

/* A JSON string holding the base64 of a C string (new reference). */
json_t *etcd_json_b64(const char *s);
/* The same for len bytes of data, NULs included (new reference). */
json_t *etcd_json_b64n(const void *data, size_t len);
/* A JSON string holding a decimal int64, as the gateway wants (new ref). */
json_t *etcd_json_i64(int64_t v);

/*
 * Read an int64 member that the gateway may send as a string or a number.
 * A missing member is proto3's zero: *out = 0, returns 0. Returns -EINVAL
 * if the member has another type or does not parse.
 */
int etcd_get_i64(const json_t *obj, const char *key, int64_t *out);
/* Same for a bool member (missing = false). */
int etcd_get_bool(const json_t *obj, const char *key, int *out);
/* Decode a base64 string member into a new C string (caller frees);
 * missing = "" ; NULL with errno = EINVAL on a wrong type, bad base64, or
 * bytes a C string cannot hold (a NUL inside: etcd keys and values are
 * arbitrary bytes, and a truncated copy would name another key). */
char *etcd_get_b64(const json_t *obj, const char *key);
/* Decode a base64 string member keeping every byte: returns a new buffer
 * (caller frees; NUL-terminated for convenience, but *len counts the
 * bytes, which may include NULs); missing = "" with *len 0; NULL with
 * errno = EINVAL on a wrong type or bad base64. */
char *etcd_get_b64n(const json_t *obj, const char *key, size_t *len);

/*
 * The revision of a reply's "header" (obj is the reply). etcd revisions
 * start at 1; 0 (missing) or negative is no revision, and INT64_MAX would
 * overflow the "revision + 1" a watch starts from. Returns 0 with *out in
 * 1 .. INT64_MAX - 1, else -EINVAL (*out = 0).
 */
int etcd_header_rev(const json_t *obj, int64_t *out);

/*
 * etcd's error replies come in two shapes: unary calls answer
 * {"error": "text", "code": N, "message": "text"}; streaming calls (watch,
 * keepalive) answer {"error": {"grpc_code" or "code": N, "message": ...}}.
 * Stores the gRPC code (0 if none) in *code and the text in *message
 * (borrowed from body; "HTTP error" when there is none).
 */
void etcd_error_fields(const json_t *body, int *code, const char **message);

/* The key just past every key that starts with prefix (for range_end). */
char *etcd_prefix_end(const char *prefix);

#endif
