/*
 * test_elect_cleanup.c - elect_cleanup.c, the start-up clean-up of this
 * node's keys left by an earlier run, against the fake etcd: which keys
 * go (only its own, each by its exact bytes), that no lease is revoked,
 * and that no more than 16 requests are ever in flight.
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

#include "elect.h"
#include "etcd.h"
#include "fake_etcd.h"
#include "loop.h"
#include "testkit.h"
#include "xmem.h"

#define NAME    "/vipd/election/198.18.0.100"
#define NODE    "node-a"
#define LEASE   0x1234LL

struct t {
	struct loop *loop;
	struct etcd *etcd;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	testkit_open("test_elect_cleanup", &t->loop, &t->etcd);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	testkit_close(t->loop, t->etcd);
	free(t);
	return 0;
}

struct cleanup_rec {
	unsigned done;
};

static void on_cleaned(void *arg)
{
	((struct cleanup_rec *)arg)->done++;
}

#define NAME6 "/vipd/election/fd00::1"
static char name4[] = NAME, name6[] = NAME6;
static char *const two_names[] = { name4, name6 };

/* The range of one election: NAME "/" up to NAME "0". */
static struct etcd_req *cleanup_range_of(const char *name)
{
	struct etcd_req *rg = fake_etcd_pending("/v3/kv/range");
	char *k, *want;

	assert_non_null(rg);
	want = xasprintf("%s/", name);
	k = fake_req_b64(rg, "key");
	assert_string_equal(k, want);
	free(k);
	free(want);
	want = xasprintf("%s0", name);
	k = fake_req_b64(rg, "range_end");
	assert_string_equal(k, want);
	free(k);
	free(want);
	return rg;
}

/*
 * Only keys this node's earlier run wrote, in this daemon's own elections,
 * are removed, each by its exact bytes, and no lease is ever revoked (a
 * lease may hold keys that are not vipd's). Before the fix the whole prefix
 * was read, the old lease revoked, and a key with a NUL after a stale
 * key's name deleted by its truncated name.
 */
static void test_cleanup_deletes_only_own_stale_keys(void **state)
{
	static const char nul_key[] = NAME "/99\0x";
	static const char nul_val[] = NODE "\0";
	struct cleanup_rec c = { 0 };
	struct etcd_req *rg, *del;
	struct t *t = *state;
	char *kvs[9], *all, *k;

	assert_non_null(elect_cleanup_stale(t->etcd, two_names, 2, NODE, LEASE, on_cleaned, &c));
	assert_int_equal(c.done, 0);
	rg = cleanup_range_of(NAME);
	kvs[0] = testkit_kv(NAME "/99", NODE, 0x99, 3);              /* ours, old lease: goes */
	kvs[1] = testkit_kv(NAME "/1234", NODE, LEASE, 4);           /* ours, this lease */
	kvs[2] = testkit_kv(NAME "/55", "node-b", 0x55, 5);          /* another node */
	kvs[3] = testkit_kvn(nul_key, sizeof(nul_key) - 1, NODE, strlen(NODE), 0x99, 6);
	kvs[4] = testkit_kv(NAME "/77", NODE, 0x78, 7);              /* not its own lease */
	kvs[5] = testkit_kv(NAME "/0", NODE, 0, 8);                  /* no lease */
	kvs[6] = testkit_kv(NAME "/abc/def", NODE, 0xabc, 9);        /* not the shape */
	kvs[7] = testkit_kv(NAME "/0abc", NODE, 0xabc, 10);          /* not as vipd writes it */
	kvs[8] = testkit_kvn(NAME "/98", strlen(NAME "/98"), nul_val, sizeof(nul_val) - 1, 0x98, 11);
	all = xasprintf("%s,%s,%s,%s,%s,%s,%s,%s,%s", kvs[0], kvs[1], kvs[2], kvs[3], kvs[4],
	    kvs[5], kvs[6], kvs[7], kvs[8]);
	fake_etcd_reply(rg, "{\"header\":{\"revision\":\"12\"},\"kvs\":[%s]}", all);
	free(all);
	for (size_t i = 0; i < 9; i++)
		free(kvs[i]);
	assert_int_equal(fake_etcd_count_path("/v3/kv/deleterange"), 1);
	del = fake_etcd_pending("/v3/kv/deleterange");
	k = fake_req_b64(del, "key");
	assert_string_equal(k, NAME "/99");
	free(k);
	assert_null(fake_req_get(del, "range_end"));
	assert_null(fake_etcd_pending("/v3/kv/range")); /* one election at a time */
	fake_etcd_reply(del, "{\"deleted\":\"1\"}");
	/* Then the next election of this daemon (and none other). */
	rg = cleanup_range_of(NAME6);
	fake_etcd_reply(rg, "{\"header\":{\"revision\":\"12\"}}");
	assert_int_equal(c.done, 1);
	assert_int_equal(fake_etcd_count_path("/v3/lease/revoke"), 0);
	assert_int_equal(fake_etcd_count(), 3);
}

static void test_cleanup_range_failure_still_done(void **state)
{
	struct cleanup_rec c = { 0 };
	struct t *t = *state;

	elect_cleanup_stale(t->etcd, two_names, 1, NODE, LEASE, on_cleaned, &c);
	fake_etcd_fail(fake_etcd_pending(NULL), -ETIMEDOUT, 0, "timeout");
	assert_int_equal(c.done, 1);
	assert_int_equal(fake_etcd_count(), 1);
}

static void test_cleanup_cancel_never_calls_done(void **state)
{
	struct cleanup_rec c = { 0 };
	struct t *t = *state;
	struct elect_cleanup *cl;
	char *a = testkit_kv(NAME "/99", NODE, 0x99, 3);

	cl = elect_cleanup_stale(t->etcd, two_names, 2, NODE, LEASE, on_cleaned, &c);
	fake_etcd_reply(fake_etcd_pending(NULL), "{\"kvs\":[%s]}", a);
	free(a);
	elect_cleanup_cancel(cl);
	assert_int_equal(fake_req_state(fake_etcd_last("/v3/kv/deleterange")), FAKE_REQ_CANCELLED);
	assert_int_equal(c.done, 0);
}

/* 2,000 stale keys: never more than 16 requests in flight (before the fix
 * all 2,000 went at once and exhausted the 1,024 file descriptors). */
static void test_cleanup_bounded_concurrency(void **state)
{
	struct cleanup_rec c = { 0 };
	struct t *t = *state;
	struct etcd_req *del;
	size_t cap = 2000 * 160, len = 0, answered = 0;
	char *all = xcalloc(1, cap);

	elect_cleanup_stale(t->etcd, two_names, 1, NODE, LEASE, on_cleaned, &c);
	for (int i = 0; i < 2000; i++) {
		char key[96], *one;

		snprintf(key, sizeof(key), NAME "/%x", 0x10000 + i);
		one = testkit_kv(key, NODE, 0x10000 + i, 3 + i);
		len += (size_t)snprintf(all + len, cap - len, "%s%s", i ? "," : "", one);
		free(one);
	}
	fake_etcd_reply(fake_etcd_pending("/v3/kv/range"), "{\"kvs\":[%s]}", all);
	free(all);
	while ((del = fake_etcd_pending("/v3/kv/deleterange")) != NULL) {
		assert_true(fake_etcd_count_state("/v3/kv/deleterange", FAKE_REQ_PENDING) <= 16);
		if (answered % 7 == 0)
			fake_etcd_fail(del, -ETIMEDOUT, 0, "timeout");
		else
			fake_etcd_reply(del, "{\"deleted\":\"1\"}");
		answered++;
	}
	assert_int_equal(answered, 2000);
	assert_int_equal(c.done, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_cleanup_deletes_only_own_stale_keys),
		T(test_cleanup_bounded_concurrency),
		T(test_cleanup_range_failure_still_done),
		T(test_cleanup_cancel_never_calls_done),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
