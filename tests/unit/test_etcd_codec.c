/*
 * test_etcd_codec.c - base64 and proto3-JSON decoding for the etcd gateway.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_codec.h"

static void test_b64_vectors(void **state)
{
	/* RFC 4648 section 10. */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char *e = etcd_b64_encode(plain[i], strlen(plain[i]));
		size_t n = 99;
		char *d = etcd_b64_decode(enc[i], &n);
		assert_string_equal(e, enc[i]);
		assert_non_null(d);
		assert_int_equal(n, strlen(plain[i]));
		assert_string_equal(d, plain[i]);
		free(e);
		free(d);
	}
}

static void test_b64_binary_round_trip(void **state)
{
	unsigned char buf[256];

	(void)state;
	for (int i = 0; i < 256; i++)
		buf[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= sizeof(buf); len += 17) {
		char *e = etcd_b64_encode(buf, len);
		size_t n = 0;
		char *d = etcd_b64_decode(e, &n);
		assert_non_null(d);
		assert_int_equal(n, len);
		assert_memory_equal(d, buf, len);
		free(e);
		free(d);
	}
}

static void test_b64_rejects_garbage(void **state)
{
	static const char *const bad[] = { "Zg=", "Z===", "Zm9v!A==", "Zg==Zg==", "=Zg=", "Zm=v" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(etcd_b64_decode(bad[i], NULL));
		assert_int_equal(errno, EINVAL);
	}
}

static void test_int64_forms(void **state)
{
	json_t *o = json_loads("{\"a\":\"7587899167556792581\",\"b\":42,\"c\":\"x\",\"d\":true,"
	    "\"e\":\"-5\"}", 0, NULL);
	int64_t v = -1;

	(void)state;
	assert_non_null(o);
	assert_int_equal(etcd_get_i64(o, "a", &v), 0);
	assert_true(v == INT64_C(7587899167556792581));
	assert_int_equal(etcd_get_i64(o, "b", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(etcd_get_i64(o, "e", &v), 0);
	assert_int_equal(v, -5);
	/* proto3 leaves zero out: a missing TTL is 0, i.e. "lease gone". */
	v = 99;
	assert_int_equal(etcd_get_i64(o, "TTL", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(etcd_get_i64(o, "c", &v), -EINVAL);
	assert_int_equal(etcd_get_i64(o, "d", &v), -EINVAL);
	json_decref(o);
}

static void test_bool_and_b64_members(void **state)
{
	json_t *o = json_loads("{\"t\":true,\"n\":1,\"k\":\"Zm9v\",\"bad\":\"***\"}", 0, NULL);
	int b = -1;
	char *s;

	(void)state;
	assert_int_equal(etcd_get_bool(o, "t", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(etcd_get_bool(o, "missing", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(etcd_get_bool(o, "n", &b), -EINVAL);
	s = etcd_get_b64(o, "k");
	assert_string_equal(s, "foo");
	free(s);
	s = etcd_get_b64(o, "missing");
	assert_string_equal(s, "");
	free(s);
	assert_null(etcd_get_b64(o, "bad"));
	assert_null(etcd_get_b64(o, "t"));
	json_decref(o);
}

static void test_json_builders(void **state)
{
	json_t *i = etcd_json_i64(INT64_C(-9223372036854775807) - 1);
	json_t *b = etcd_json_b64("/vipd/election/198.18.0.100/");

	(void)state;
	assert_string_equal(json_string_value(i), "-9223372036854775808");
	assert_string_equal(json_string_value(b), "L3ZpcGQvZWxlY3Rpb24vMTk4LjE4LjAuMTAwLw==");
	json_decref(i);
	json_decref(b);
}

static void test_prefix_end(void **state)
{
	char *e = etcd_prefix_end("/vipd/election/198.18.0.100/");

	(void)state;
	assert_string_equal(e, "/vipd/election/198.18.0.1000");
	free(e);
	e = etcd_prefix_end("a\xff");
	assert_string_equal(e, "b");
	free(e);
}

/* etcd keys are bytes: a NUL inside must not shorten a key into another
 * key's name (the hostile-writer finding). */
static void test_b64_keeps_length(void **state)
{
	json_t *o = json_pack("{s:s}", "key", "L2EvYgB4"); /* "/a/b\0x" */
	json_t *j;
	size_t n = 0;
	char *s;

	(void)state;
	errno = 0;
	assert_null(etcd_get_b64(o, "key"));
	assert_int_equal(errno, EINVAL);
	s = etcd_get_b64n(o, "key", &n);
	assert_non_null(s);
	assert_int_equal(n, 6);
	assert_memory_equal(s, "/a/b\0x", 6);
	free(s);
	j = etcd_json_b64n("/a/b\0x", 6);
	assert_string_equal(json_string_value(j), "L2EvYgB4");
	json_decref(j);
	s = etcd_get_b64n(o, "missing", &n);
	assert_string_equal(s, "");
	assert_int_equal(n, 0);
	free(s);
	json_decref(o);
}

static void test_header_rev_bounds(void **state)
{
	static const struct {
		const char *json;
		int rc;
		int64_t rev;
	} cases[] = {
		{ "{\"header\":{\"revision\":\"1\"}}", 0, 1 },
		{ "{\"header\":{\"revision\":\"9223372036854775806\"}}", 0, INT64_MAX - 1 },
		{ "{\"header\":{\"revision\":\"9223372036854775807\"}}", -EINVAL, 0 },
		{ "{\"header\":{\"revision\":\"0\"}}", -EINVAL, 0 },
		{ "{\"header\":{\"revision\":\"-5\"}}", -EINVAL, 0 },
		{ "{\"header\":{}}", -EINVAL, 0 },
		{ "{}", -EINVAL, 0 },
		{ "{\"header\":{\"revision\":\"x\"}}", -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = json_loads(cases[i].json, 0, NULL);
		int64_t rev = 42;

		assert_non_null(o);
		assert_int_equal(etcd_header_rev(o, &rev), cases[i].rc);
		assert_int_equal(rev, cases[i].rev);
		json_decref(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_binary_round_trip),
		cmocka_unit_test(test_b64_rejects_garbage),
		cmocka_unit_test(test_int64_forms),
		cmocka_unit_test(test_bool_and_b64_members),
		cmocka_unit_test(test_json_builders),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_b64_keeps_length),
		cmocka_unit_test(test_header_rev_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
