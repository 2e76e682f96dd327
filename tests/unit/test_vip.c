/*
 * test_vip.c - one VIP on the real session and election, with the fake
 * etcd, netlink, announcements and clock: what happens to the address
 * (add/replace/delete, its kernel lifetime, the order) in the sequences
 * the lab reaches only by luck.
 *
 * The session is wired to the VIP as daemon.c wires it. TTL 5 s: fence =
 * send + 4500 ms; the address lifetime is
 * floor((fence - now - 1000 ms) / 1000) s and nothing is installed when
 * that is 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "etcd.h"
#include "etcd_codec.h"
#include "fake_announce.h"
#include "fake_etcd.h"
#include "fake_loop.h"
#include "fake_nl.h"
#include "links.h"
#include "loop.h"
#include "netlink.h"
#include "session.h"
#include "testkit.h"
#include "vip.h"

#define T0      ((uint64_t)FAKE_LOOP_T0)
#define FENCE   3400u /* TTL - margin - POLICY_KERNEL_LAG_MS */
#define KA      1250u
#define LEASE   0xabcLL
#define IFX     2
#define KEY     "/vipd/election/198.18.0.100/abc"

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

/* What links_resolve() would hand over for one link. */
static struct vip_link link_of(int ifindex, const char *name, bool up, const unsigned char mac[6])
{
	struct vip_link l = { .ifindex = ifindex, .up = up };

	snprintf(l.name, sizeof(l.name), "%s", name);
	memcpy(l.mac, mac, 6);
	return l;
}

static void make(struct t *t)
{
	struct vip_link l = link_of(IFX, "eth0", true, MAC);

	struct vip_env env;

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
	vip_link_set(t->v, &l);
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	testkit_start("test_vip");
	fake_nl_set_link(IFX, "eth0", true, MAC);
	t->cfg = testkit_cfg(yaml, sizeof(yaml) - 1);
	assert_int_equal(t->cfg->lease_ttl_ms, 5000);
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
	free(t);
	return 0;
}

/* ---- helpers ----------------------------------------------------------------- */

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

/* Start, get the lease at T0, win the election at T0 + after. */
static void elected(struct t *t, uint64_t after)
{
	make(t);
	session_start(t->s);
	testkit_grant(LEASE);
	fake_loop_advance(after);
	win(LEASE);
}

static void assert_op(size_t i, enum fake_nl_kind kind, uint64_t at, uint32_t life)
{
	const struct fake_nl_op *o = fake_nl_op(i);

	assert_non_null(o);
	assert_int_equal(o->kind, kind);
	assert_int_equal(o->at_ms, at);
	assert_int_equal(o->ifindex, IFX);
	assert_int_equal(o->family, AF_INET);
	assert_memory_equal(o->addr, VIP4, 4);
	if (kind != FAKE_NL_DEL) {
		assert_int_equal(o->valid_s, life);
		assert_int_equal(o->preferred_s, life);
	}
}

static struct etcd_req *ka_at(uint64_t at)
{
	struct etcd_req *r = testkit_keepalive_at(at);

	if (r == NULL)
		fail_msg("no keepalive sent at T0+%llu", (unsigned long long)(at - T0));
	return r;
}

static void ka_reply(struct etcd_req *r, int ttl)
{
	fake_etcd_reply(r, "{\"result\":{\"ID\":\"%lld\",\"TTL\":\"%d\"}}", LEASE, ttl);
}

/* The election key's deleterange, sent only after the address went (nl op
 * 1); left unanswered. */
static struct etcd_req *resign_after_delete(void)
{
	struct etcd_req *del = fake_etcd_pending("/v3/kv/deleterange");

	assert_non_null(del);
	assert_true(fake_req_seq(del) > fake_nl_op(1)->seq);
	return del;
}

/* True when the election watches our own key: the leader does. */
static bool watches_own_key(void)
{
	struct etcd_req *w = fake_etcd_pending("/v3/watch");
	char *k = w ? fake_req_b64(w, "create_request.key") : NULL;
	bool own = k != NULL && strcmp(k, KEY) == 0;

	free(k);
	return own;
}

/* ---- acquiring ----------------------------------------------------------------- */

static void test_acquire_with_floored_lifetime_then_announce(void **state)
{
	struct t *t = *state;

	/* Elected 600 ms after the grant was sent: the fence is 2800 ms
	 * away, the kernel lifetime floor(2800 / 1000) = 2 s. */
	elected(t, 600);
	assert_int_equal(fake_nl_count(), 1);
	assert_op(0, FAKE_NL_REPLACE, T0 + 600, 2);
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	/* Announced right after the address went on, then twice 200 ms apart. */
	assert_int_equal(fake_announce_count(), 1);
	assert_true(fake_announce_nth(0)->seq > fake_nl_op(0)->seq);
	assert_memory_equal(fake_announce_nth(0)->mac, MAC, 6);
	fake_loop_advance(200);
	fake_loop_advance(200);
	fake_loop_advance(1000);
	assert_int_equal(fake_announce_count(), 3);
	assert_int_equal(fake_announce_nth(1)->at_ms, T0 + 800);
	assert_int_equal(fake_announce_nth(2)->at_ms, T0 + 1000);
}

/* Elected when the fence is less than 1 s away: no whole second fits, so
 * the address is not installed at all until a keepalive moves the fence. */
static void test_no_add_when_fence_too_close(void **state)
{
	struct t *t = *state;

	make(t);
	session_start(t->s);
	testkit_grant(LEASE);
	fake_loop_advance(KA);
	ka_at(T0 + KA); /* leave it unanswered */
	fake_loop_advance_to(T0 + 2500 + 1); /* fence 899 ms away */
	win(LEASE);
	assert_true(watches_own_key()); /* elected */
	assert_int_equal(fake_nl_count(), 0);
	assert_int_equal(fake_announce_count(), 0);
	fake_loop_advance(10);
	ka_reply(ka_at(T0 + KA), 5); /* fence T0+4650, 2139 ms away */
	assert_int_equal(fake_nl_count(), 1);
	assert_op(0, FAKE_NL_REPLACE, T0 + 2511, 2);
}

static void test_each_renewal_replaces_with_new_lifetime(void **state)
{
	struct t *t = *state;

	elected(t, 0);
	assert_op(0, FAKE_NL_REPLACE, T0, 3);
	fake_loop_advance(KA);
	fake_loop_advance(50);
	ka_reply(ka_at(T0 + KA), 5);
	/* fence T0+4650 at T0+1300: floor(3350 / 1000) = 3 */
	assert_int_equal(fake_nl_count(), 2);
	assert_op(1, FAKE_NL_REPLACE, T0 + 1300, 3);
	fake_loop_advance(KA - 50);
	fake_loop_advance(900);
	ka_reply(ka_at(T0 + 2 * KA), 5);
	/* fence T0+5900 at T0+3400: floor(2500 / 1000) = 2 */
	assert_op(2, FAKE_NL_REPLACE, T0 + 3400, 2);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
}

/* ---- losing the fence or the lease ------------------------------------------------- */

static void test_fence_passes_while_keepalive_in_flight(void **state)
{
	struct t *t = *state;

	elected(t, 0);
	/* 3 s at T0 (fence T0+3400); the keepalive at T0+1250 is not
	 * answered, so at T0+2300 the lifetime is refreshed: 1 s, ending at
	 * the fence less POLICY_REFRESH_SLACK_MS. */
	fake_loop_advance_to(T0 + 2300 - 1);
	assert_int_equal(fake_nl_count(), 1);
	fake_loop_advance(1);
	assert_op(1, FAKE_NL_REPLACE, T0 + 2300, 1);
	fake_loop_advance_to(T0 + FENCE - 1);
	assert_int_equal(fake_nl_count(), 2);
	fake_loop_advance(1);
	/* Deleted exactly at the fence, two keepalives still out. */
	assert_int_equal(fake_nl_count(), 3);
	assert_op(2, FAKE_NL_DEL, T0 + FENCE, 0);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_int_equal(fake_etcd_count_state("/v3/lease/keepalive", FAKE_REQ_PENDING), 2);
	/* The oldest answers at T0+3700: fence T0+4650, 950 ms away - no
	 * whole second fits, so nothing is added although we still lead. */
	fake_loop_advance_to(T0 + 3700);
	ka_reply(ka_at(T0 + KA), 5);
	assert_int_equal(fake_nl_count(), 3);
	/* The others answer later still: the fence moves to T0+5900 and
	 * T0+7150, and only a lifetime that ends by it goes on. */
	fake_loop_advance_to(T0 + 4000);
	ka_reply(ka_at(T0 + 2 * KA), 5);
	assert_int_equal(fake_nl_count(), 4);
	assert_op(3, FAKE_NL_REPLACE, T0 + 4000, 1);
	fake_loop_advance(100);
	ka_reply(ka_at(T0 + 3 * KA), 5);
	assert_op(4, FAKE_NL_REPLACE, T0 + 4100, 3);
	/* Never anything after the fence without a renewal: check every add
	 * against the fence it was made under. */
	for (size_t i = 0; i < fake_nl_count(); i++) {
		const struct fake_nl_op *o = fake_nl_op(i);
		if (o->kind != FAKE_NL_DEL)
			assert_true(o->at_ms + o->valid_s * 1000u <= T0 + FENCE ||
			    o->at_ms >= T0 + 3700);
	}
}

static void check_dropped_and_requeued(struct t *t, const struct fake_nl_op *del_expected_after)
{
	struct etcd_req *g, *txn;
	char *k;

	(void)t;
	assert_int_equal(fake_nl_count(), 2);
	assert_int_equal(fake_nl_op(1)->kind, FAKE_NL_DEL);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	(void)del_expected_after;
	/* Dropped before the new lease is even asked for. */
	fake_loop_run_due();
	g = fake_etcd_pending("/v3/lease/grant");
	assert_non_null(g);
	assert_true(fake_req_seq(g) > fake_nl_op(1)->seq);
	/* The old key went with the lease: nothing to delete. */
	assert_int_equal(fake_etcd_count_path("/v3/kv/deleterange"), 0);
	fake_etcd_reply(g, "{\"ID\":\"%d\",\"TTL\":\"5\"}", 0xdef);
	txn = fake_etcd_pending("/v3/kv/txn");
	assert_non_null(txn);
	k = fake_req_b64(txn, "success.0.request_put.key");
	assert_string_equal(k, "/vipd/election/198.18.0.100/def");
	free(k);
	assert_int_equal(fake_req_i64(txn, "success.0.request_put.lease"), 0xdef);
	assert_int_equal(fake_nl_count(), 2);
}

static void test_keepalive_ttl_zero_drops_at_once(void **state)
{
	struct t *t = *state;

	elected(t, 0);
	fake_loop_advance(KA + 20);
	ka_reply(ka_at(T0 + KA), 0);
	assert_op(1, FAKE_NL_DEL, T0 + KA + 20, 0);
	check_dropped_and_requeued(t, NULL);
}

static void test_lease_not_found_drops_at_once(void **state)
{
	struct t *t = *state;

	elected(t, 0);
	fake_loop_advance(KA + 20);
	fake_etcd_fail(ka_at(T0 + KA), -EIO, ETCD_CODE_NOT_FOUND, "etcdserver: requested lease not found");
	assert_op(1, FAKE_NL_DEL, T0 + KA + 20, 0);
	check_dropped_and_requeued(t, NULL);
}

/* The own key deleted in etcd while we hold: the address goes on the
 * watch event itself, before the re-read is sent. */
static void test_own_key_deleted_drops_before_reread(void **state)
{
	struct t *t = *state;
	struct etcd_req *w;
	char *k = etcd_b64_encode(KEY, strlen(KEY));
	size_t ranges;

	elected(t, 0);
	w = fake_etcd_pending("/v3/watch");
	ranges = fake_etcd_count_path("/v3/kv/range");
	fake_loop_advance(700);
	fake_etcd_push(w, "{\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"%s\"}}]}", k);
	free(k);
	assert_op(1, FAKE_NL_DEL, T0 + 700, 0);
	assert_int_equal(fake_etcd_count_path("/v3/kv/range"), ranges + 1);
	assert_true(fake_nl_op(1)->seq < fake_req_seq(fake_etcd_last("/v3/kv/range")));
}

/* The periodic re-read (every TTL) is in flight when the own key is
 * deleted; its answer predates the deletion. The address must stay off. */
static void test_no_add_from_read_older_than_own_key_deletion(void **state)
{
	struct t *t = *state;
	struct etcd_req *w, *rg;
	char *k = etcd_b64_encode(KEY, strlen(KEY)), *old;

	elected(t, 0);
	w = fake_etcd_pending("/v3/watch");
	for (unsigned i = 1; i <= 4; i++) {
		fake_loop_advance_to(T0 + i * KA);
		ka_reply(ka_at(T0 + i * KA), 5);
	}
	rg = fake_etcd_pending("/v3/kv/range");
	assert_non_null(rg);
	fake_etcd_push(w, "{\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"%s\"}}]}", k);
	free(k);
	assert_int_equal(fake_nl_last()->kind, FAKE_NL_DEL);
	assert_int_equal(fake_nl_last()->at_ms, T0 + 4 * KA);
	old = testkit_kv(KEY, "node-a", LEASE, 9);
	fake_etcd_reply(rg, "{\"header\":{\"revision\":\"9\"},\"kvs\":[%s]}", old);
	free(old);
	assert_int_equal(fake_nl_last()->kind, FAKE_NL_DEL);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
}

/* ---- the address on the link ------------------------------------------------------ */

static void test_removed_by_someone_else_is_restored_only_before_fence(void **state)
{
	struct t *t = *state;

	elected(t, 0);
	fake_loop_advance(1000);
	fake_nl_del_link(IFX); /* the operator's ip addr del, modelled: */
	fake_nl_set_link(IFX, "eth0", true, MAC);
	vip_addr_changed(t->v, IFX, AF_INET, VIP4, 32, true);
	assert_op(1, FAKE_NL_REPLACE, T0 + 1000, 2);
	assert_int_equal(fake_announce_count(), 3 + 1); /* announced again */
	/* The refresh at T0+2300 (keepalives are late): 1 s, up to T0+3300. */
	fake_loop_advance_to(T0 + 2300);
	assert_op(2, FAKE_NL_REPLACE, T0 + 2300, 1);
	/* Removed again 2.6 s after the last renewal: 0.8 s to the fence,
	 * no whole second fits: stays off. */
	fake_loop_advance_to(T0 + 2600);
	vip_addr_changed(t->v, IFX, AF_INET, VIP4, 32, true);
	assert_int_equal(fake_nl_count(), 3);
}

/* The status snapshot follows every change of ownership, with its reason
 * and time (vip.c set_held: the one place ownership changes). */
static void test_status_follows_transitions(void **state)
{
	struct t *t = *state;
	struct vip_status st;
	char *log;

	elected(t, 0);
	vip_status(t->v, &st);
	assert_true(st.held);
	assert_true(st.leader);
	assert_string_equal(st.reason, "elected");
	assert_string_equal(st.link, "eth0");
	assert_int_equal(st.lease, LEASE);
	assert_true(st.fence_left_ms > 0);
	fake_loop_advance(1000);
	fake_nl_del_link(IFX); /* the operator's ip addr del, modelled: */
	fake_nl_set_link(IFX, "eth0", true, MAC);
	testkit_log_begin();
	vip_addr_changed(t->v, IFX, AF_INET, VIP4, 32, true);
	testkit_log_end(&log);
	/* One line for the release, one for the new acquire. */
	assert_non_null(strstr(log, "warn: vip: released vip=198.18.0.100 link=eth0 "
	    "reason=\"address removed by someone else\" held_ms="));
	assert_non_null(strstr(log, "; restoring"));
	assert_non_null(strstr(log, "info: vip: acquired vip=198.18.0.100"));
	free(log);
	vip_status(t->v, &st);
	assert_true(st.held);
	assert_string_equal(st.reason, "elected");
	assert_int_equal(st.since_ms, loop_now_ms());
}

static void test_leftover_removed_at_start(void **state)
{
	struct t *t = *state;

	fake_nl_put_addr(IFX, AF_INET, VIP4);
	make(t);
	assert_int_equal(fake_nl_count(), 1);
	assert_op(0, FAKE_NL_DEL, T0, 0);
	assert_int_equal(fake_etcd_count(), 0);
}

static void test_added_by_someone_else_while_not_owner(void **state)
{
	struct t *t = *state;

	make(t);
	session_start(t->s);
	testkit_grant(LEASE);
	fake_nl_put_addr(IFX, AF_INET, VIP4);
	vip_addr_changed(t->v, IFX, AF_INET, VIP4, 32, false);
	assert_int_equal(fake_nl_count(), 1);
	assert_op(0, FAKE_NL_DEL, T0, 0);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
}

static void test_link_down_drops_and_resigns(void **state)
{
	struct t *t = *state;
	struct vip_link down = link_of(IFX, "eth0", false, MAC);
	struct etcd_req *del;

	elected(t, 0);
	fake_loop_advance(300);
	vip_link_set(t->v, &down);
	assert_op(1, FAKE_NL_DEL, T0 + 300, 0);
	del = resign_after_delete();
	fake_etcd_reply(del, "{\"deleted\":\"1\"}");
	/* Back up: campaign again (a new txn), the address waits for the win. */
	down.up = true;
	vip_link_set(t->v, &down);
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
	assert_int_equal(fake_nl_count(), 2);
	win(LEASE);
	assert_op(2, FAKE_NL_REPLACE, T0 + 300, 3);
}

/* A renamed link keeps its addresses, and links.c keeps the VIP on the
 * same ifindex: nothing is deleted, the key stays, no announcement. */
static void test_link_renamed_while_held_keeps_address(void **state)
{
	struct t *t = *state;
	struct vip_link renamed = link_of(IFX, "eth9", true, MAC);
	size_t announced;

	elected(t, 0);
	fake_nl_set_link(IFX, "eth9", true, MAC);
	fake_loop_advance(300);
	announced = fake_announce_count();
	vip_link_set(t->v, &renamed);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_null(fake_etcd_pending("/v3/kv/deleterange"));
	assert_int_equal(fake_announce_count(), announced);
}

/* A new MAC on the held link: the announcement burst again, at once. */
static void test_mac_change_while_held_announces_at_once(void **state)
{
	struct t *t = *state;
	static const unsigned char mac2[6] = { 0x02, 0, 0, 0, 0, 0x0b };
	struct vip_link l = link_of(IFX, "eth0", true, mac2);
	size_t announced;

	elected(t, 0);
	fake_loop_advance(100);
	announced = fake_announce_count();
	vip_link_set(t->v, &l);
	assert_int_equal(fake_announce_count(), announced + 1);
	assert_memory_equal(fake_announce_nth(announced)->mac, mac2, 6);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
	/* The same state again changes nothing. */
	vip_link_set(t->v, &l);
	assert_int_equal(fake_announce_count(), announced + 1);
}

/* Another ifindex while held (the VLAN link was replaced, another link
 * took the name): off the old link first, then on the new one. */
static void test_move_while_held_deletes_old_first(void **state)
{
	struct t *t = *state;
	struct vip_link l = link_of(IFX + 1, "eth0", true, MAC);

	elected(t, 0);
	fake_nl_set_link(IFX + 1, "eth0", true, MAC);
	fake_loop_advance(300);
	vip_link_set(t->v, &l);
	assert_op(1, FAKE_NL_DEL, T0 + 300, 0);
	assert_int_equal(fake_nl_op(1)->ifindex, IFX);
	assert_int_equal(fake_nl_op(2)->kind, FAKE_NL_REPLACE);
	assert_int_equal(fake_nl_op(2)->ifindex, IFX + 1);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_true(fake_nl_has_addr(IFX + 1, AF_INET, VIP4));
}

/* The move, but the delete from the old link fails: the address must not
 * go on the new link while it may still be on the old one (two links of
 * one node); the retry deletes it there, then it is added here. */
static void test_move_with_failed_delete_waits(void **state)
{
	struct t *t = *state;
	struct vip_link l = link_of(IFX + 1, "eth0", true, MAC);
	size_t replaces;

	elected(t, 0);
	fake_nl_set_link(IFX + 1, "eth0", true, MAC);
	fake_loop_advance(300);
	replaces = fake_nl_count_kind(FAKE_NL_REPLACE);
	fake_nl_fail(FAKE_NL_DEL, -EBUSY);
	vip_link_set(t->v, &l);
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_false(fake_nl_has_addr(IFX + 1, AF_INET, VIP4));
	assert_int_equal(fake_nl_count_kind(FAKE_NL_REPLACE), replaces);
	/* Keepalives go on; still nothing on the new link. */
	fake_loop_advance(100);
	vip_renewed(t->v);
	assert_false(fake_nl_has_addr(IFX + 1, AF_INET, VIP4));
	fake_nl_fail(FAKE_NL_DEL, 0);
	/* The retry (200 ms backoff), with the lease kept alive meanwhile. */
	for (int i = 0; i < 10 && !fake_nl_has_addr(IFX + 1, AF_INET, VIP4); i++) {
		struct etcd_req *ka;

		fake_loop_advance(100);
		while ((ka = fake_etcd_pending("/v3/lease/keepalive")) != NULL)
			ka_reply(ka, 5);
	}
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_true(fake_nl_has_addr(IFX + 1, AF_INET, VIP4));
}

/* A resolution error (several links match, a bond member): the address
 * goes, then the key; no campaign while it lasts. */
static void test_link_error_drops_and_resigns(void **state)
{
	struct t *t = *state;
	struct vip_link bad = { .error = true, .reason = "2 links match deviceSelector" };

	elected(t, 0);
	fake_loop_advance(300);
	vip_link_set(t->v, &bad);
	assert_op(1, FAKE_NL_DEL, T0 + 300, 0);
	resign_after_delete();
}

/* Health checks fail (vip_set_healthy): the owner deletes the address,
 * then its key; status says why; no campaign until healthy again, then a
 * new key (at the back of the queue) and the address after the win. */
static void test_unhealthy_drops_and_resigns(void **state)
{
	struct t *t = *state;
	struct vip_status st;
	struct etcd_req *del;

	elected(t, 0);
	fake_loop_advance(300);
	vip_set_healthy(t->v, false, "tcp 127.0.0.1:6443: connect: Connection refused");
	assert_op(1, FAKE_NL_DEL, T0 + 300, 0);
	del = resign_after_delete();
	vip_status(t->v, &st);
	assert_false(st.held);
	assert_false(st.healthy);
	assert_string_equal(st.role, "unhealthy");
	assert_string_equal(st.reason,
	    "health checks failing: tcp 127.0.0.1:6443: connect: Connection refused");
	fake_etcd_reply(del, "{\"deleted\":\"1\"}");
	assert_null(fake_etcd_pending("/v3/kv/txn"));
	vip_set_healthy(t->v, false, "again"); /* no change: nothing happens */
	assert_int_equal(fake_nl_count(), 2);
	vip_set_healthy(t->v, true, "");
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
	win(LEASE);
	assert_op(2, FAKE_NL_REPLACE, T0 + 300, 3);
	vip_status(t->v, &st);
	assert_true(st.healthy);
	assert_string_equal(st.role, "owner");
}

static void test_failed_delete_at_fence_is_retried(void **state)
{
	struct t *t = *state;

	elected(t, 0);
	fake_nl_fail(FAKE_NL_DEL, -EBUSY);
	fake_loop_advance_to(T0 + FENCE);
	/* op 1: the lifetime refresh (keepalives are late), 1 s at T0+2300 */
	assert_op(1, FAKE_NL_REPLACE, T0 + FENCE - 1100, 1);
	assert_op(2, FAKE_NL_DEL, T0 + FENCE, 0);
	assert_int_equal(fake_nl_op(2)->result, -EBUSY);
	fake_loop_advance(200);
	assert_op(3, FAKE_NL_DEL, T0 + FENCE + 200, 0);
	fake_nl_fail(FAKE_NL_DEL, 0);
	fake_loop_advance(400);
	assert_op(4, FAKE_NL_DEL, T0 + FENCE + 600, 0);
	assert_int_equal(fake_nl_op(4)->result, 0);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	fake_loop_advance(10000);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 3);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_REPLACE), 2);
}

static void test_release_reports_failed_delete(void **state)
{
	struct t *t = *state;

	elected(t, 0);
	fake_nl_fail(FAKE_NL_DEL, -EBUSY);
	assert_int_equal(vip_release(t->v, "stopping"), -EBUSY);
	fake_nl_fail(FAKE_NL_DEL, 0);
	/* Released: no retry, no campaign, no request from the VIP. */
	fake_loop_advance(300);
	assert_int_equal(fake_nl_count(), 2);
	assert_int_equal(fake_etcd_count_path("/v3/kv/deleterange"), 0);
}

/* Standing aside (link down) while the address's delete fails: the key
 * stays, so no other node takes the VIP while the address may still be on
 * this link; it goes once a retried delete succeeds. */
/* Elected at T0; at T0 + 300 the link goes down and every delete fails. */
static void down_with_deletes_failing(struct t *t)
{
	struct vip_link down = link_of(IFX, "eth0", false, MAC);

	elected(t, 0);
	fake_nl_fail(FAKE_NL_DEL, -ENOBUFS);
	fake_loop_advance(300);
	vip_link_set(t->v, &down);
}

static void test_failed_delete_keeps_key_until_deleted(void **state)
{
	struct t *t = *state;

	down_with_deletes_failing(t);
	assert_op(1, FAKE_NL_DEL, T0 + 300, 0);
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_null(fake_etcd_pending("/v3/kv/deleterange"));
	fake_loop_advance(200); /* the retry fails too: the key still stays */
	assert_op(2, FAKE_NL_DEL, T0 + 500, 0);
	assert_null(fake_etcd_pending("/v3/kv/deleterange"));
	fake_nl_fail(FAKE_NL_DEL, 0);
	fake_loop_advance(400);
	assert_op(3, FAKE_NL_DEL, T0 + 900, 0);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_true(fake_req_seq(fake_etcd_pending("/v3/kv/deleterange")) > fake_nl_op(3)->seq);
}

/* The same, with every delete failing: the key stays until the kernel
 * lifetime (3 s from T0) plus its lag (1 s) has surely ended the address,
 * then the node stands aside. */
static void test_failed_delete_keeps_key_until_lifetime_ends(void **state)
{
	struct t *t = *state;

	down_with_deletes_failing(t);
	fake_loop_advance_to(T0 + 3000 + VIP_KERNEL_LAG_MS - 1);
	assert_null(fake_etcd_pending("/v3/kv/deleterange"));
	fake_loop_advance_to(T0 + 3000 + VIP_KERNEL_LAG_MS + 200);
	assert_non_null(fake_etcd_pending("/v3/kv/deleterange"));
}

/* A leftover copy that cannot be deleted: no campaign while it stays; a
 * retried delete that succeeds lets the node campaign. */
static void test_stray_copy_blocks_campaign(void **state)
{
	struct t *t = *state;

	fake_nl_put_addr(IFX, AF_INET, VIP4);
	fake_nl_fail(FAKE_NL_DEL, -EBUSY);
	make(t);
	session_start(t->s);
	testkit_grant(LEASE);
	assert_null(fake_etcd_pending("/v3/kv/txn"));
	fake_nl_fail(FAKE_NL_DEL, 0);
	fake_loop_advance(200);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
}

/* ---- copies this node does not hold (issue 7) ---------------------------------- */

#define IFX2 3

static void assert_del(size_t i, int ifindex, unsigned plen)
{
	const struct fake_nl_op *o = fake_nl_op(i);

	assert_non_null(o);
	assert_int_equal(o->kind, FAKE_NL_DEL);
	assert_int_equal(o->ifindex, ifindex);
	assert_int_equal(o->prefixlen, plen);
	assert_memory_equal(o->addr, VIP4, 4);
}

/* keepalived's "VIP/24" on eth0 and a hand-made "VIP/28" on a second link
 * at start: both deleted, each with its own prefix length (main deleted
 * only "VIP/32" on the first link found, which the kernel refused). */
static void test_leftover_any_prefix_any_link_at_start(void **state)
{
	struct t *t = *state;

	fake_nl_set_link(IFX2, "dummy0", true, NULL);
	fake_nl_put_addr_plen(IFX, AF_INET, VIP4, 24);
	fake_nl_put_addr_plen(IFX2, AF_INET, VIP4, 28);
	make(t);
	assert_int_equal(fake_nl_count(), 2);
	assert_del(0, IFX, 24);
	assert_del(1, IFX2, 28);
	assert_int_equal(fake_nl_op(0)->result, 0);
	assert_int_equal(fake_nl_op(1)->result, 0);
	assert_false(fake_nl_has_addr(0, AF_INET, VIP4));
	session_start(t->s);
	testkit_grant(LEASE);
	assert_non_null(fake_etcd_pending("/v3/kv/txn")); /* campaigns */
}

/* "VIP/24" added on a second link while running, not owner: deleted as /24. */
static void test_prefix_copy_added_while_not_owner(void **state)
{
	struct t *t = *state;

	fake_nl_set_link(IFX2, "dummy0", true, NULL);
	make(t);
	session_start(t->s);
	testkit_grant(LEASE);
	fake_nl_put_addr_plen(IFX2, AF_INET, VIP4, 24);
	vip_addr_changed(t->v, IFX2, AF_INET, VIP4, 24, false);
	assert_int_equal(fake_nl_count(), 1);
	assert_del(0, IFX2, 24);
	assert_false(fake_nl_has_addr(0, AF_INET, VIP4));
}

/* Owner holds "VIP/32"; someone adds "VIP/24" on the same link (IPv4 allows
 * both): the /24 goes, our /32 stays and we stay owner. */
static void test_prefix_copy_beside_held_address_is_deleted(void **state)
{
	struct t *t = *state;

	elected(t, 0);
	assert_true(fake_nl_has_addr_plen(IFX, AF_INET, VIP4, 32));
	fake_nl_put_addr_plen(IFX, AF_INET, VIP4, 24);
	vip_addr_changed(t->v, IFX, AF_INET, VIP4, 24, false);
	assert_del(fake_nl_count() - 1, IFX, 24);
	assert_true(fake_nl_has_addr_plen(IFX, AF_INET, VIP4, 32));
	assert_false(fake_nl_has_addr_plen(IFX, AF_INET, VIP4, 24));
	assert_null(fake_etcd_pending("/v3/kv/deleterange")); /* still owner */
	/* Our own copy's event is not a stray. */
	vip_addr_changed(t->v, IFX, AF_INET, VIP4, 32, false);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 1);
}

/* Two copies that cannot be deleted: out of the election until both are
 * gone, whichever way they go (a retried delete, or someone else). */
static void test_several_stray_copies_block_until_all_gone(void **state)
{
	struct t *t = *state;

	fake_nl_set_link(IFX2, "dummy0", true, NULL);
	fake_nl_put_addr_plen(IFX, AF_INET, VIP4, 24);
	fake_nl_put_addr_plen(IFX2, AF_INET, VIP4, 24);
	fake_nl_fail(FAKE_NL_DEL, -EBUSY);
	make(t);
	session_start(t->s);
	testkit_grant(LEASE);
	assert_null(fake_etcd_pending("/v3/kv/txn"));
	/* One goes by someone else's hand: the other still blocks. */
	fake_nl_fail(FAKE_NL_DEL, 0);
	assert_int_equal(nl_addr_del(t->nl, IFX2, AF_INET, VIP4, 24), 0);
	fake_nl_fail(FAKE_NL_DEL, -EBUSY);
	vip_addr_changed(t->v, IFX2, AF_INET, VIP4, 24, true);
	fake_loop_advance(200);
	assert_null(fake_etcd_pending("/v3/kv/txn"));
	/* The retried delete of the last one succeeds: campaigns. */
	fake_nl_fail(FAKE_NL_DEL, 0);
	fake_loop_advance(1000);
	assert_false(fake_nl_has_addr(0, AF_INET, VIP4));
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
}

/* The copies could not be listed at start: a leftover may be there unseen,
 * so no campaign until a listing succeeds. */
static void test_failed_listing_blocks_until_listed(void **state)
{
	struct t *t = *state;

	fake_nl_put_addr_plen(IFX, AF_INET, VIP4, 24);
	fake_nl_fail_list(-ENOBUFS);
	make(t);
	session_start(t->s);
	testkit_grant(LEASE);
	assert_null(fake_etcd_pending("/v3/kv/txn"));
	fake_nl_fail_list(0);
	fake_loop_advance(200);
	assert_false(fake_nl_has_addr(0, AF_INET, VIP4));
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
}

/* Same subnet: known once the link's addresses are read; follows address
 * changes on the link; the VIP's own copies do not count. */
static void test_same_subnet_check(void **state)
{
	struct t *t = *state;
	static const unsigned char own[4] = { 198, 18, 0, 11 }, other[4] = { 10, 9, 0, 11 };

	fake_nl_put_addr_plen(IFX, AF_INET, other, 24);
	make(t);
	assert_int_equal(vip_in_subnet(t->v), 0);
	fake_nl_put_addr_plen(IFX, AF_INET, own, 24);
	vip_addr_changed(t->v, IFX, AF_INET, own, 24, false);
	assert_int_equal(vip_in_subnet(t->v), 1);
	/* An address on another link changes nothing. */
	fake_nl_send_link_removed(IFX2);
	vip_addr_changed(t->v, IFX2, AF_INET, own, 24, true);
	assert_int_equal(vip_in_subnet(t->v), 1);
	fake_nl_del_link(IFX);
	fake_nl_set_link(IFX, "eth0", true, MAC);
	fake_nl_put_addr_plen(IFX, AF_INET, VIP4, 32); /* only the VIP: not a subnet */
	vip_addr_changed(t->v, IFX, AF_INET, own, 24, true);
	assert_int_equal(vip_in_subnet(t->v), 0);
}

/* A leftover "VIP/24" that is the primary of its subnet on eth0 (added
 * before the node's own 198.18.0.12/24): deleting it would take the
 * node's address along (promote_secondaries off, the kernel's default), so
 * it stays, the node stays out of the election; once promote_secondaries
 * is on, the retry deletes the copy alone and the node campaigns. */
static void test_primary_copy_not_deleted_with_node_address(void **state)
{
	struct t *t = *state;
	static const unsigned char own[4] = { 198, 18, 0, 12 };

	fake_nl_put_addr_plen(IFX, AF_INET, VIP4, 24);
	fake_nl_put_addr_plen(IFX, AF_INET, own, 24);
	make(t);
	session_start(t->s);
	testkit_grant(LEASE);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
	assert_true(fake_nl_has_addr_plen(IFX, AF_INET, own, 24));
	assert_null(fake_etcd_pending("/v3/kv/txn"));
	fake_loop_advance(1000);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
	assert_null(fake_etcd_pending("/v3/kv/txn"));
	fake_nl_set_promote(true);
	fake_loop_advance(5000);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_true(fake_nl_has_addr_plen(IFX, AF_INET, own, 24));
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
}

/* The same copy added after the node's address is a secondary: deleting it
 * takes nothing else; deleted at once. */
static void test_secondary_copy_deleted(void **state)
{
	struct t *t = *state;
	static const unsigned char own[4] = { 198, 18, 0, 12 };

	fake_nl_put_addr_plen(IFX, AF_INET, own, 24);
	fake_nl_put_addr_plen(IFX, AF_INET, VIP4, 24);
	make(t);
	assert_del(0, IFX, 24);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_true(fake_nl_has_addr_plen(IFX, AF_INET, own, 24));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_acquire_with_floored_lifetime_then_announce),
		T(test_no_add_when_fence_too_close),
		T(test_each_renewal_replaces_with_new_lifetime),
		T(test_fence_passes_while_keepalive_in_flight),
		T(test_keepalive_ttl_zero_drops_at_once),
		T(test_lease_not_found_drops_at_once),
		T(test_own_key_deleted_drops_before_reread),
		T(test_no_add_from_read_older_than_own_key_deletion),
		T(test_removed_by_someone_else_is_restored_only_before_fence),
		T(test_leftover_removed_at_start),
		T(test_added_by_someone_else_while_not_owner),
		T(test_link_down_drops_and_resigns),
		T(test_link_renamed_while_held_keeps_address),
		T(test_mac_change_while_held_announces_at_once),
		T(test_move_while_held_deletes_old_first),
		T(test_status_follows_transitions),
		T(test_move_with_failed_delete_waits),
		T(test_link_error_drops_and_resigns),
		T(test_unhealthy_drops_and_resigns),
		T(test_failed_delete_at_fence_is_retried),
		T(test_release_reports_failed_delete),
		T(test_failed_delete_keeps_key_until_deleted),
		T(test_failed_delete_keeps_key_until_lifetime_ends),
		T(test_stray_copy_blocks_campaign),
		T(test_leftover_any_prefix_any_link_at_start),
		T(test_prefix_copy_added_while_not_owner),
		T(test_prefix_copy_beside_held_address_is_deleted),
		T(test_several_stray_copies_block_until_all_gone),
		T(test_failed_listing_blocks_until_listed),
		T(test_same_subnet_check),
		T(test_primary_copy_not_deleted_with_node_address),
		T(test_secondary_copy_deleted),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
