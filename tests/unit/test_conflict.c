/*
 * test_conflict.c - what vip.c does with the answers of a probe on the
 * wire (docs/design.md "probing the wire"): one VIP on the real session,
 * election and policy, with the fake etcd, netlink, clock and
 * fake_conflict.c in place of conflict.c and peers.c (it starts probes
 * and the test delivers their results).
 *
 * TTL 5 s; elected 600 ms after the grant: fence T0 + 4500 ms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conflict.h"
#include "etcd.h"
#include "fake_conflict.h"
#include "fake_etcd.h"
#include "fake_loop.h"
#include "fake_nl.h"
#include "loop.h"
#include "links.h"
#include "netlink.h"
#include "policy.h"
#include "session.h"
#include "testkit.h"
#include "vip.h"

#define T0      ((uint64_t)FAKE_LOOP_T0)
#define LEASE   0xabcLL
#define IFX     2

static const unsigned char VIP4[4] = { 198, 18, 0, 100 };
static const unsigned char MAC[6] = { 0x02, 0, 0, 0, 0, 0x0a };

static const char yaml[] =
	"machine:\n"
	"  network:\n"
	"    interfaces:\n"
	"      - interface: eth0\n"
	"        vip:\n"
	"          ip: 198.18.0.100\n"
	"vipd:\n"
	"  node: node-a\n"
	"  etcd:\n"
	"    endpoints: [\"http://127.0.0.1:2379\"]\n";

struct t {
	struct cfg *cfg;
	struct loop *loop;
	struct etcd *etcd;
	struct nl *nl;
	struct session *s;
	struct vip *v;
};

static void on_granted(void *arg, int64_t lease) { vip_set_lease(((struct t *)arg)->v, lease); }
static void on_renewed(void *arg, uint64_t fence) { (void)fence; vip_renewed(((struct t *)arg)->v); }
static void on_expired(void *arg) { vip_update(((struct t *)arg)->v); }
static void on_lost(void *arg) { vip_set_lease(((struct t *)arg)->v, 0); }

static const struct session_ops sops = {
	.granted = on_granted, .renewed = on_renewed,
	.expired = on_expired, .lost = on_lost,
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct vip_env env;
	struct vip_link link;

	testkit_start("test_conflict");
	fake_conflict_reset();
	fake_conflict_accept(true);
	fake_nl_set_link(IFX, "eth0", true, MAC);
	t->cfg = testkit_cfg(yaml, sizeof(yaml) - 1);
	t->loop = loop_new();
	t->etcd = etcd_new(t->loop, NULL);
	t->nl = nl_open(t->loop, NULL, NULL);
	t->s = session_new(t->loop, t->etcd, t->cfg->lease_ttl_ms, t->cfg->etcd.timeout_ms, &sops, t);
	env = (struct vip_env){ .loop = t->loop, .etcd = t->etcd, .session = t->s,
	    .nl = t->nl, .node = "node-a" };
	t->v = vip_new(&env, &(struct vip_opts){ .prefix = t->cfg->etcd.prefix,
	    .lease_ttl_ms = t->cfg->lease_ttl_ms, .announce_count = t->cfg->announce_count,
	    .announce_interval_ms = t->cfg->announce_interval_ms,
	    .announce_refresh_ms = t->cfg->announce_refresh_ms }, &t->cfg->vips[0]);
	/* The link as links.c would hand it over. */
	link = (struct vip_link){ .ifindex = IFX, .up = true };
	snprintf(link.name, sizeof(link.name), "eth0");
	memcpy(link.mac, MAC, 6);
	vip_link_set(t->v, &link);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	vip_free(t->v);
	session_free(t->s);
	nl_close(t->nl);
	testkit_close(t->loop, t->etcd);
	cfg_free(t->cfg);
	fake_conflict_reset();
	free(t);
	return 0;
}

/* Answer the campaign: txn ok, range with only our key for lease. */
static void win(int64_t lease)
{
	char key[64], *k;

	snprintf(key, sizeof(key), "/vipd/election/198.18.0.100/%llx", (long long)lease);
	fake_etcd_reply(fake_etcd_pending("/v3/kv/txn"), "{\"header\":{\"revision\":\"9\"},\"succeeded\":true}");
	k = testkit_kv(key, "node-a", lease, 9);
	fake_etcd_reply(fake_etcd_pending("/v3/kv/range"), "{\"header\":{\"revision\":\"9\"},\"kvs\":[%s]}", k);
	free(k);
}

static void elected(struct t *t, uint64_t after)
{
	session_start(t->s);
	testkit_grant(LEASE);
	assert_int_equal(fake_peers_lease(), LEASE); /* the MAC published on the lease */
	fake_loop_advance(after);
	win(LEASE);
}

/* Move the clock by ms, answering every keepalive as it goes out (the
 * lease stays confirmed, the fence ahead). */
static void advance_alive(uint64_t ms)
{
	uint64_t end = loop_now_ms() + ms;
	struct etcd_req *ka;

	while (loop_now_ms() < end) {
		fake_loop_advance(end - loop_now_ms() < 10 ? end - loop_now_ms() : 10);
		while ((ka = fake_etcd_pending("/v3/lease/keepalive")) != NULL)
			fake_etcd_reply(ka, "{\"result\":{\"ID\":\"%lld\",\"TTL\":\"5\"}}", LEASE);
	}
}

static bool holds(void)
{
	return fake_nl_has_addr(IFX, AF_INET, VIP4);
}

/* Elected: a takeover probe goes out and nothing is added until it comes
 * back silent; then the address goes on at once. The owner does not
 * probe for itself afterwards. */
static void test_takeover_waits_for_a_silent_probe(void **state)
{
	struct t *t = *state;
	size_t n;

	elected(t, 600);
	assert_true(fake_conflict_pending());
	assert_false(holds());
	assert_int_equal(fake_nl_count(), 0);
	fake_loop_advance(CONFLICT_WINDOW_MS);
	fake_conflict_answer(0, 0);
	assert_true(holds());
	n = fake_conflict_probes();
	advance_alive(5000);
	assert_true(holds());
	assert_int_equal(fake_conflict_probes(), n);
	assert_false(fake_conflict_pending());
}

/* A peer (the old owner) answers: no add, the leader probes again at
 * once, and adds after the first silent probe. */
static void test_peer_answer_makes_the_takeover_wait(void **state)
{
	struct t *t = *state;

	elected(t, 600);
	fake_conflict_answer(1, 0);
	assert_false(holds());
	assert_true(fake_conflict_pending());
	assert_int_equal(fake_conflict_probes(), 2);
	fake_loop_advance(CONFLICT_WINDOW_MS);
	fake_conflict_answer(1, 0);
	assert_false(holds());
	fake_loop_advance(CONFLICT_WINDOW_MS);
	fake_conflict_answer(0, 0);
	assert_true(holds());
}

/* A peer still answering TTL + the kernel lag after the first answer is no vipd
 * node: a conflict from then on (no add), cleared only by
 * POLICY_CONFLICT_CLEAR silent periodic probes. */
static void test_peer_past_its_fence_is_a_conflict(void **state)
{
	struct t *t = *state;
	uint64_t start;

	elected(t, 600);
	start = loop_now_ms();
	while (loop_now_ms() - start <= 5000 + VIP_KERNEL_LAG_MS + CONFLICT_WINDOW_MS) {
		assert_true(fake_conflict_pending());
		fake_conflict_answer(1, 0);
		assert_false(holds());
		advance_alive(CONFLICT_WINDOW_MS);
	}
	/* Now a conflict: no takeover probe in flight, a periodic one 1 s on. */
	if (fake_conflict_pending())
		fake_conflict_answer(1, 0);
	assert_false(holds());
	assert_false(fake_conflict_pending());
}

/* A foreign host answers the takeover probe: conflict - no add, still a
 * candidate (the key stays: no deleterange). Periodic probes every 1 s
 * while the conflict lasts (VIP_PROBE_CONFLICT_MS);
 * a foreign answer in between restarts the count; after 3 silent ones in
 * a row the leader probes to take over, and adds. */
static void test_foreign_answer_is_a_conflict_until_three_silent_probes(void **state)
{
	struct t *t = *state;

	elected(t, 600);
	fake_conflict_answer(0, 1);
	assert_false(holds());
	assert_false(fake_conflict_pending());
	assert_int_equal(fake_etcd_count_path("/v3/kv/deleterange"), 0);
	advance_alive(1000);
	assert_true(fake_conflict_pending());
	fake_conflict_answer(0, 0);
	advance_alive(1000);
	fake_conflict_answer(0, 1); /* back: the count starts again */
	for (int i = 0; i < (int)POLICY_CONFLICT_CLEAR - 1; i++) {
		advance_alive(1000);
		assert_true(fake_conflict_pending());
		fake_conflict_answer(1, 0); /* a peer answering is no conflict */
		assert_false(holds());
	}
	advance_alive(1000);
	fake_conflict_answer(0, 0); /* the third in a row */
	assert_false(holds());
	assert_true(fake_conflict_pending()); /* the takeover probe */
	fake_loop_advance(CONFLICT_WINDOW_MS);
	fake_conflict_answer(0, 0);
	assert_true(holds());
	assert_int_equal(fake_etcd_count_path("/v3/kv/deleterange"), 0);
}

/* Not elected: periodic probes every 5 s (VIP_PROBE_QUIET_MS), none of
 * them adds anything. */
static void test_candidate_probes_every_five_seconds(void **state)
{
	struct t *t = *state;

	session_start(t->s);
	testkit_grant(LEASE);
	fake_loop_advance(5000);
	assert_true(fake_conflict_pending());
	fake_conflict_answer(1, 0);
	fake_loop_advance(4999);
	assert_false(fake_conflict_pending());
	fake_loop_advance(1);
	assert_true(fake_conflict_pending());
	fake_conflict_answer(0, 0);
	assert_int_equal(fake_conflict_probes(), 2);
	assert_false(holds());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_takeover_waits_for_a_silent_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_answer_makes_the_takeover_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_past_its_fence_is_a_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_answer_is_a_conflict_until_three_silent_probes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_candidate_probes_every_five_seconds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
