/*
 * test_owners.c - owners.c: one range reply of the election prefix grouped
 * into per-VIP queues (etcd's order: create revision), keys of any other
 * shape counted and left out, replies that are no range reply refused,
 * VIPs sorted by address, the columns and the JSON form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_codec.h"
#include "owners.h"

#define PFX "/vipd/election/"

static json_t *kv(const char *key, size_t klen, const char *val, int64_t crev, int64_t lease)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "key", etcd_json_b64n(key, klen),
	    "value", etcd_json_b64(val), "create_revision", etcd_json_i64(crev),
	    "mod_revision", etcd_json_i64(crev), "lease", etcd_json_i64(lease));
}

static json_t *reply(json_t *kvs)
{
	return json_pack("{s:{s:s}, s:o}", "header", "revision", "99", "kvs", kvs);
}

#define KV(k, v, r, l) kv(k, strlen(k), v, r, l)

/* Three nodes on two VIPs, given out of order, plus keys that are not
 * election keys. */
static json_t *sample(void)
{
	json_t *a = json_array();

	json_array_append_new(a, KV(PFX "198.18.0.100/3", "n3", 30, 3));
	json_array_append_new(a, KV(PFX "198.18.0.100/1", "n1", 10, 1));
	json_array_append_new(a, KV(PFX "fd00:18::100/2", "n2", 12, 2));
	json_array_append_new(a, KV(PFX "198.18.0.100/2", "n2", 20, 2));
	json_array_append_new(a, KV(PFX "198.18.0.99/694d7a1b2c3d4e5f", "cp 1", 5, 0x694d7a1b2c3d4e5f));
	/* a node name that is not UTF-8 (etcd values are bytes) */
	json_array_append_new(a, KV(PFX "198.18.0.99/7", "n\xff", 6, 7));
	/* a peer's MAC key (peers.h): skipped, not counted */
	json_array_append_new(a, KV(PFX "198.18.0.100.mac/1", "02:00:00:00:00:0b", 11, 1));
	/* not election keys: another shape, upper-case lease, nested, a NUL */
	json_array_append_new(a, KV(PFX "bad.mac/1", "x", 12, 0));
	json_array_append_new(a, KV(PFX "198.18.0.100/ABC", "x", 40, 0));
	json_array_append_new(a, KV(PFX "a/b/1", "x", 41, 0));
	json_array_append_new(a, KV(PFX "noslash", "x", 42, 0));
	json_array_append_new(a, kv(PFX "198.18.0.7\0/1", sizeof(PFX "198.18.0.7\0/1") - 1, "x", 43, 0));
	json_array_append_new(a, KV(PFX "/1", "x", 44, 0));
	return reply(a);
}

static void test_groups_and_orders(void **state)
{
	struct owners o = { 0 };
	json_t *r = sample();

	(void)state;
	assert_int_equal(owners_parse(&o, r, PFX), 0);
	owners_add_configured(&o, "198.18.0.100");
	owners_add_configured(&o, "198.18.0.200"); /* configured, nobody campaigns */
	owners_sort(&o);
	assert_int_equal(o.revision, 99);
	assert_int_equal(o.other_keys, 6);
	assert_int_equal(o.n, 4);
	/* by address: .99 < .100 < .200, IPv4 before IPv6 */
	assert_string_equal(o.vips[0].vip, "198.18.0.99");
	assert_string_equal(o.vips[1].vip, "198.18.0.100");
	assert_string_equal(o.vips[2].vip, "198.18.0.200");
	assert_string_equal(o.vips[3].vip, "fd00:18::100");
	assert_false(o.vips[0].configured);
	assert_true(o.vips[1].configured);
	assert_int_equal(o.vips[1].n, 3);
	assert_string_equal(o.vips[1].cand[0].node, "n1");
	assert_string_equal(o.vips[1].cand[1].node, "n2");
	assert_string_equal(o.vips[1].cand[2].node, "n3");
	assert_int_equal(o.vips[1].cand[2].create_rev, 30);
	assert_string_equal(o.vips[1].cand[0].key, PFX "198.18.0.100/1");
	assert_int_equal(o.vips[2].n, 0);
	assert_int_equal(o.vips[0].cand[0].lease, 0x694d7a1b2c3d4e5f);
	owners_free(&o);
	json_decref(r);
}

static void test_columns(void **state)
{
	struct owners o = { 0 };
	json_t *r = sample();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(owners_parse(&o, r, PFX), 0);
	owners_add_configured(&o, "198.18.0.100");
	owners_add_configured(&o, "198.18.0.99");
	owners_add_configured(&o, "fd00:18::100");
	owners_sort(&o);
	owners_print(&o, f);
	fclose(f);
	/* The node name "cp 1" from etcd cannot split a column. */
	assert_string_equal(buf,
	    "VIP           OWNER    LEASE             QUEUE\n"
	    "198.18.0.99   cp\\x201  694d7a1b2c3d4e5f  n\\xff\n"
	    "198.18.0.100  n1       1                 n2 n3\n"
	    "fd00:18::100  n2       2                 -\n"
	    "(6 other keys under the prefix not shown)\n");
	free(buf);
	owners_free(&o);
	json_decref(r);
}

static void test_json(void **state)
{
	struct owners o = { 0 };
	json_t *r = sample(), *j, *v;

	(void)state;
	assert_int_equal(owners_parse(&o, r, PFX), 0);
	owners_add_configured(&o, "198.18.0.200");
	owners_sort(&o);
	j = owners_json(&o);
	assert_int_equal(json_integer_value(json_object_get(j, "revision")), 99);
	assert_int_equal(json_integer_value(json_object_get(j, "other_keys")), 6);
	v = json_array_get(json_object_get(j, "vips"), 1);
	assert_string_equal(json_string_value(json_object_get(v, "vip")), "198.18.0.100");
	assert_false(json_boolean_value(json_object_get(v, "configured")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "owner"), "node")), "n1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "owner"), "lease")), "1");
	assert_int_equal(json_array_size(json_object_get(v, "queue")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(v, "queue"), 1), "node")), "n3");
	/* a name that is not UTF-8 comes out escaped, still valid JSON */
	v = json_array_get(json_object_get(j, "vips"), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(v,
	    "queue"), 0), "node")), "n\\xff");
	v = json_array_get(json_object_get(j, "vips"), 2);
	assert_true(json_is_null(json_object_get(v, "owner")));
	assert_true(json_boolean_value(json_object_get(v, "configured")));
	json_decref(j);
	owners_free(&o);
	json_decref(r);
}

static void test_not_a_range_reply(void **state)
{
	struct owners o = { 0 };
	json_t *r;

	(void)state;
	/* no header revision */
	r = json_pack("{s:[]}", "kvs");
	assert_int_equal(owners_parse(&o, r, PFX), -EPROTO);
	json_decref(r);
	/* kvs not an array */
	r = json_pack("{s:{s:s}, s:s}", "header", "revision", "5", "kvs", "x");
	assert_int_equal(owners_parse(&o, r, PFX), -EPROTO);
	json_decref(r);
	/* a kv without a create revision, after a good one: nothing kept */
	r = reply(json_pack("[o, {s:o}]", KV(PFX "198.18.0.1/1", "n1", 3, 1), "key",
	    etcd_json_b64(PFX "198.18.0.1/2")));
	assert_int_equal(owners_parse(&o, r, PFX), -EPROTO);
	assert_int_equal(o.n, 0);
	assert_null(o.vips);
	json_decref(r);
	/* no kvs at all (proto3: an empty range) is an empty answer */
	r = json_pack("{s:{s:s}}", "header", "revision", "5");
	assert_int_equal(owners_parse(&o, r, PFX), 0);
	assert_int_equal(o.n, 0);
	owners_free(&o);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups_and_orders),
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_not_a_range_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
