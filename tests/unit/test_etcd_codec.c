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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
