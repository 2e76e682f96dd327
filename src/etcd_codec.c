/*
 * etcd_codec.c - base64 and proto3-JSON helpers for the etcd gateway.
 */
#include "etcd_codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = b64_alphabet[v >> 6 & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64_alphabet, c);
	return p ? (int)(p - b64_alphabet) : -1;
}

char *etcd_b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	char *out;

	if (n % 4 != 0) {
		errno = EINVAL;
		return NULL;
	}
	out = xmalloc(n / 4 * 3 + 1);
	for (i = 0; i < n; i += 4) {
		int a = b64_value(s[i]), b = b64_value(s[i + 1]);
		int c = s[i + 2] == '=' ? -2 : b64_value(s[i + 2]);
		int d = s[i + 3] == '=' ? -2 : b64_value(s[i + 3]);
		int last = i + 4 == n;

		if (a < 0 || b < 0 || c == -1 || d == -1 ||
		    (c == -2 && d != -2) || ((c == -2 || d == -2) && !last))
			goto bad;
		out[o++] = (char)(a << 2 | b >> 4);
		if (c >= 0)
			out[o++] = (char)((b & 15) << 4 | c >> 2);
		if (d >= 0)
			out[o++] = (char)((c & 3) << 6 | d);
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

json_t *etcd_json_b64(const char *s)
{
	char *enc = etcd_b64_encode(s, strlen(s));
	json_t *j = json_string(enc);

	free(enc);
	if (j == NULL)
		abort();
	return j;
}

json_t *etcd_json_b64n(const void *data, size_t len)
{
	char *enc = etcd_b64_encode(data, len);
	json_t *j = json_string(enc);

	free(enc);
	if (j == NULL)
		abort();
	return j;
}

json_t *etcd_json_i64(int64_t v)
{
	char buf[32];
	json_t *j;

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	j = json_string(buf);
	if (j == NULL)
		abort();
	return j;
}

int etcd_get_i64(const json_t *obj, const char *key, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -EINVAL;
	*out = n;
	return 0;
}

int etcd_get_bool(const json_t *obj, const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return -EINVAL;
	*out = json_is_true(v);
	return 0;
}

char *etcd_get_b64n(const json_t *obj, const char *key, size_t *len)
{
	json_t *v = json_object_get(obj, key);

	*len = 0;
	if (v == NULL || json_is_null(v))
		return xstrdup("");
	if (!json_is_string(v)) {
		errno = EINVAL;
		return NULL;
	}
	return etcd_b64_decode(json_string_value(v), len);
}

char *etcd_get_b64(const json_t *obj, const char *key)
{
	size_t len;
	char *s = etcd_get_b64n(obj, key, &len);

	if (s != NULL && strlen(s) != len) {
		free(s);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

int etcd_header_rev(const json_t *obj, int64_t *out)
{
	int64_t rev = 0;

	*out = 0;
	if (etcd_get_i64(json_object_get(obj, "header"), "revision", &rev) < 0 ||
	    rev <= 0 || rev == INT64_MAX)
		return -EINVAL;
	*out = rev;
	return 0;
}

void etcd_error_fields(const json_t *body, int *code, const char **message)
{
	json_t *er = json_object_get(body, "error"), *m, *c;

	if (json_is_object(er)) {
		m = json_object_get(er, "message");
		c = json_object_get(er, "grpc_code");
		if (c == NULL)
			c = json_object_get(er, "code");
	} else {
		m = json_object_get(body, "message");
		if (!json_is_string(m))
			m = er;
		c = json_object_get(body, "code");
	}
	*code = (int)json_integer_value(c);
	*message = json_is_string(m) ? json_string_value(m) : "HTTP error";
}

char *etcd_prefix_end(const char *prefix)
{
	char *end = xstrdup(prefix);
	size_t n = strlen(end);

	/* Increment the last byte that is not 0xff, dropping those after it. */
	while (n > 0) {
		unsigned char c = (unsigned char)end[n - 1];
		if (c < 0xff) {
			end[n - 1] = (char)(c + 1);
			end[n] = '\0';
			return end;
		}
		n--;
	}
	/* All 0xff (or empty): the range runs to the end of the keyspace,
	 * which etcd spells as "\0". */
	end[0] = '\0';
	return end;
}
