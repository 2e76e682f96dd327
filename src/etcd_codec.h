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
 * a value with a NUL byte in it (no C string can hold it). */
char *etcd_get_b64(const json_t *obj, const char *key);

/* The key just past every key that starts with prefix (for range_end). */
char *etcd_prefix_end(const char *prefix);

#endif
