/*
 * test_daemon.c - daemon_run() itself, its wiring and its stop sequence,
 * on the fake etcd, netlink, announcements and clock. The fake loop_run()
 * hands control to a scenario that plays etcd, the kernel and the
 * operator (signals), then daemon_run() tears down as it does for real.
 *
 * Two VIPs on eth0 (IPv4 and IPv6) on one lease, TTL 5 s: fence = send
 * time + 4500 ms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "etcd.h"
#include "etcd_codec.h"
#include "fake_announce.h"
#include "fake_etcd.h"
#include "fake_loop.h"
#include "fake_nl.h"
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "testkit.h"

#define T0     ((uint64_t)FAKE_LOOP_T0)
#define FENCE  3400u /* TTL 5 s - margin 500 ms - POLICY_KERNEL_LAG_MS */
#define LEASE  0xabcLL
#define IFX    2
#define PREFIX "/vipd/election/"

static const unsigned char VIP4[4] = { 198, 18, 0, 100 };
static unsigned char VIP6[16];
static const unsigned char MAC[6] = { 0x02, 0, 0, 0, 0, 0x0a };

static const char yaml[] =
	"machine:\n"
	"  network:\n"
	"    interfaces:\n"
	"      - interface: eth0\n"
	"        vip:\n"
	"          ip: 198.18.0.100\n"
	"      - interface: eth0\n"
	"        vip:\n"
	"          ip: fd00::100\n"
	"vipd:\n"
	"  node: node-a\n"
	"  etcd:\n"
	"    endpoints: [\"http://127.0.0.1:2379\"]\n"
	"  metrics:\n"
	"    listen: \"\"\n";

struct t {
	struct cfg *cfg;
	void (*scenario)(struct t *t);
	uint64_t stopped_at;    /* when the scenario saw the loop stopped */
	uint64_t sigterm_seq;   /* fake_seq_next() just before SIGTERM */
	char dir[32];           /* the control socket's, never /run/vipd */
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	testkit_start("test_daemon");
	fake_nl_set_link(IFX, "eth0", true, MAC);
	assert_int_equal(inet_pton(AF_INET6, "fd00::100", VIP6), 1);
	t->cfg = testkit_cfg(yaml, sizeof(yaml) - 1);
	assert_int_equal(t->cfg->n_vips, 2);
	/* daemon_run serves the control socket: a private one per test. */
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_daemon.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	free(t->cfg->control_socket);
	assert_true(asprintf(&t->cfg->control_socket, "%s/vipd.sock", t->dir) > 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	testkit_reset_fakes();
	unlink(t->cfg->control_socket); /* removed by daemon_run; not if it failed */
	rmdir(t->dir);
	cfg_free(t->cfg);
	free(t);
	return 0;
}

static void runner(struct loop *l, void *arg)
{
	struct t *t = arg;

	(void)l;
	t->scenario(t);
}

static int run(struct t *t, void (*scenario)(struct t *t))
{
	t->scenario = scenario;
	fake_loop_set_runner(runner, t);
	return daemon_run(t->cfg);
}

/* ---- playing etcd -------------------------------------------------------------- */

/* Answer the start-up clean-up: one range per VIP's election (this
 * daemon's own, never the whole prefix), the IPv4 one with kv1. */
static void cleanup_finds(char *kv1)
{
	static const char *const names[] = { PREFIX "198.18.0.100/", PREFIX "fd00::100/" };

	for (size_t i = 0; i < 2; i++) {
		struct etcd_req *r = fake_etcd_pending("/v3/kv/range");
		char *k;

		assert_non_null(r);
		k = fake_req_b64(r, "key");
		assert_string_equal(k, names[i]);
		free(k);
		fake_etcd_reply(r, "{\"header\":{\"revision\":\"5\"},\"kvs\":[%s]}",
		    i == 0 && kv1 ? kv1 : "");
		if (i == 0 && kv1 != NULL)
			return; /* its delete goes first */
	}
}

/* Every campaign txn pending wins: txn ok, range with only that key. */
static void win_all(void)
{
	struct etcd_req *txn;

	while ((txn = fake_etcd_pending("/v3/kv/txn")) != NULL) {
		char *key = fake_req_b64(txn, "success.0.request_put.key");
		int64_t lease = fake_req_i64(txn, "success.0.request_put.lease");
		struct etcd_req *rg;
		char *k;

		fake_etcd_reply(txn, "{\"header\":{\"revision\":\"9\"},\"succeeded\":true}");
		rg = fake_etcd_last("/v3/kv/range");
		assert_int_equal(fake_req_state(rg), FAKE_REQ_PENDING);
		k = testkit_kv(key, "node-a", lease, 9);
		fake_etcd_reply(rg, "{\"header\":{\"revision\":\"9\"},\"kvs\":[%s]}", k);
		free(k);
		free(key);
	}
}

/* Lease at T0, nothing stale, both VIPs won at T0: both addresses on. */
static void up(void)
{
	testkit_grant(LEASE);
	cleanup_finds(NULL);
	win_all();
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_true(fake_nl_has_addr(IFX, AF_INET6, VIP6));
	assert_int_equal(fake_nl_count_kind(FAKE_NL_REPLACE), 2);
	/* IPv4 preferred for its whole lifetime; IPv6 installed deprecated
	 * (preferred 0), so it is never this node's own source address. */
	for (size_t i = 0; i < fake_nl_count(); i++) {
		const struct fake_nl_op *o = fake_nl_op(i);

		if (o->kind != FAKE_NL_REPLACE)
			continue;
		assert_true(o->valid_s > 0);
		assert_int_equal(o->preferred_s, o->family == AF_INET6 ? 0 : o->valid_s);
	}
}

static void sigterm(struct t *t)
{
	t->sigterm_seq = fake_seq_next();
	assert_true(fake_loop_raise(SIGTERM));
}

/* Advance in 1 ms steps until the loop stops (or limit ms pass). */
static void until_stopped(struct t *t, uint64_t limit)
{
	for (uint64_t i = 0; i <= limit && !fake_loop_stopped(); i++)
		if (i > 0)
			fake_loop_advance(1);
	t->stopped_at = fake_loop_stopped() ? loop_now_ms() : 0;
}

/* Both addresses deleted after the signal, before the revoke was sent. */
static void assert_deleted_before(const struct t *t, uint64_t before_seq)
{
	size_t dels = 0;

	for (size_t i = 0; i < fake_nl_count(); i++) {
		const struct fake_nl_op *o = fake_nl_op(i);
		if (o->kind == FAKE_NL_DEL && o->seq > t->sigterm_seq) {
			assert_true(o->seq < before_seq);
			dels++;
		}
	}
	assert_int_equal(dels, 2);
}

/* ---- stopping ---------------------------------------------------------------- */

static void scen_stop_etcd_unreachable(struct t *t)
{
	struct etcd_req *rv;

	up();
	fake_loop_advance(300); /* etcd stops answering from here on */
	sigterm(t);
	rv = fake_etcd_pending("/v3/lease/revoke");
	assert_non_null(rv);
	assert_int_equal(fake_req_i64(rv, "ID"), LEASE);
	assert_deleted_before(t, fake_req_seq(rv));
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_false(fake_nl_has_addr(IFX, AF_INET6, VIP6));
	until_stopped(t, 3000);
	assert_int_equal(fake_req_state(rv), FAKE_REQ_CANCELLED);
}

static void test_stop_with_etcd_unreachable(void **state)
{
	struct t *t = *state;
	size_t kas;

	assert_int_equal(run(t, scen_stop_etcd_unreachable), 0);
	/* Gave up on the revoke after 1.2 s, well within the 2 s budget. */
	assert_int_equal(t->stopped_at, T0 + 300 + 1200);
	/* Nothing was sent after the revoke: no keepalive, no campaign. */
	kas = fake_etcd_count_path("/v3/lease/keepalive");
	assert_true(fake_req_seq(fake_etcd_last(NULL)) <= fake_req_seq(fake_etcd_last("/v3/lease/revoke")));
	assert_int_equal(kas, 0);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_REPLACE), 2);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 2);
}

static void scen_stop_delete_fails(struct t *t)
{
	up();
	fake_loop_advance(300);
	fake_nl_fail(FAKE_NL_DEL, -EPERM);
	sigterm(t);
	/* Nothing more to do: the loop stops at once. */
	assert_true(fake_loop_stopped());
	t->stopped_at = loop_now_ms();
}

/* An address that could not be deleted must not outlive our claim: the
 * lease is left to expire, after the address's kernel lifetime. */
static void test_stop_delete_failed_keeps_lease(void **state)
{
	struct t *t = *state;
	const struct fake_nl_op *add;

	assert_int_equal(run(t, scen_stop_delete_fails), 0);
	assert_int_equal(t->stopped_at, T0 + 300);
	assert_int_equal(fake_etcd_count_path("/v3/lease/revoke"), 0);
	assert_true(fake_nl_count_kind(FAKE_NL_DEL) >= 1);
	for (size_t i = 0; i < fake_nl_count(); i++)
		if (fake_nl_op(i)->kind == FAKE_NL_DEL)
			assert_int_equal(fake_nl_op(i)->result, -EPERM);
	/* The address left behind expires before the lease can: its
	 * lifetime ends by the fence, which leaves the kernel's lag before
	 * the earliest server-side expiry (session.h). */
	add = fake_nl_op(0);
	assert_int_equal(add->kind, FAKE_NL_REPLACE);
	assert_true(add->at_ms + add->valid_s * 1000u <= T0 + FENCE);
	assert_true(T0 + FENCE + POLICY_KERNEL_LAG_MS <= T0 + 5000 - 500);
}

static void scen_stop_revoke_answered(struct t *t)
{
	struct etcd_req *rv;

	up();
	fake_loop_advance(100);
	sigterm(t);
	rv = fake_etcd_pending("/v3/lease/revoke");
	fake_loop_advance(15);
	assert_false(fake_loop_stopped());
	fake_etcd_reply(rv, "{\"header\":{}}");
	assert_true(fake_loop_stopped());
	t->stopped_at = loop_now_ms();
}

static void test_stop_revoke_answered(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, scen_stop_revoke_answered), 0);
	assert_int_equal(t->stopped_at, T0 + 115);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 2);
}

static void scen_stop_before_lease(struct t *t)
{
	fake_loop_run_due();
	assert_non_null(fake_etcd_pending("/v3/lease/grant"));
	sigterm(t);
	assert_true(fake_loop_stopped());
}

static void test_stop_before_any_lease(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, scen_stop_before_lease), 0);
	assert_int_equal(fake_etcd_count_path("/v3/lease/revoke"), 0);
	assert_int_equal(fake_req_state(fake_etcd_last("/v3/lease/grant")), FAKE_REQ_CANCELLED);
	assert_int_equal(fake_nl_count(), 0);
}

static void scen_second_signal(struct t *t)
{
	up();
	sigterm(t);
	assert_false(fake_loop_stopped());
	assert_true(fake_loop_raise(SIGINT));
	assert_true(fake_loop_stopped());
}

static void test_second_signal_exits_at_once(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, scen_second_signal), 0);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 2);
}

static void scen_stop_while_delete_owed(struct t *t)
{
	up();
	/* The fence passes and the kernel refuses the deletes: they are owed,
	 * and retried every 200 ms, 400 ms, ... */
	fake_nl_fail(FAKE_NL_DEL, -EBUSY);
	fake_loop_advance_to(T0 + FENCE);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 2);
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	/* Stopped before a retry got through: the addresses may still be on
	 * the link, so the lease must not be revoked. */
	fake_loop_advance(50);
	sigterm(t);
	until_stopped(t, 3000);
}

/* A delete that failed before the stop is as much a failed delete as one
 * that fails during it: the stop tries it again and, failing, leaves the
 * lease to expire after the address's kernel lifetime. */
static void test_stop_while_delete_owed_keeps_lease(void **state)
{
	struct t *t = *state;
	size_t after = 0;

	assert_int_equal(run(t, scen_stop_while_delete_owed), 0);
	assert_int_equal(fake_etcd_count_path("/v3/lease/revoke"), 0);
	assert_int_equal(t->stopped_at, T0 + FENCE + 50);
	for (size_t i = 0; i < fake_nl_count(); i++)
		after += fake_nl_op(i)->kind == FAKE_NL_DEL && fake_nl_op(i)->seq > t->sigterm_seq;
	/* Each VIP's delete tried again by the stop, and once more on exit. */
	assert_int_equal(after, 4);
}

/* ---- start-up and the shared lease -------------------------------------------------- */

static void scen_stale_key(struct t *t)
{
	struct etcd_req *rv, *txn;
	char *k;

	testkit_grant(LEASE);
	/* The previous run of node-a crashed holding the IPv4 VIP's key. */
	assert_int_equal(fake_etcd_count_path("/v3/kv/txn"), 0);
	k = testkit_kv(PREFIX "198.18.0.100/99", "node-a", 0x99, 3);
	cleanup_finds(k);
	free(k);
	/* The stale key itself is deleted (never its lease revoked). */
	rv = fake_etcd_pending("/v3/kv/deleterange");
	assert_non_null(rv);
	k = fake_req_b64(rv, "key");
	assert_string_equal(k, PREFIX "198.18.0.100/99");
	free(k);
	assert_int_equal(fake_etcd_count_path("/v3/lease/revoke"), 0);
	fake_loop_advance(20);
	/* No campaign until the stale key is gone. */
	assert_int_equal(fake_etcd_count_path("/v3/kv/txn"), 0);
	fake_etcd_reply(rv, "{\"header\":{}}");
	fake_etcd_reply(fake_etcd_pending("/v3/kv/range"), "{\"header\":{\"revision\":\"5\"}}");
	assert_int_equal(fake_etcd_count_path("/v3/kv/txn"), 2);
	txn = fake_etcd_pending("/v3/kv/txn");
	assert_true(fake_req_seq(txn) > fake_req_end_seq(rv));
	assert_int_equal(fake_req_i64(txn, "success.0.request_put.lease"), LEASE);
	win_all();
	/* Elected 20 ms after the grant: lifetime floor(3380 / 1000) = 3. */
	assert_int_equal(fake_nl_op(0)->at_ms, T0 + 20);
	assert_int_equal(fake_nl_op(0)->valid_s, 3);
	sigterm(t);
	fake_etcd_reply(fake_etcd_pending("/v3/lease/revoke"), "{}");
}

static void test_stale_key_of_this_node_cleaned_before_campaign(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, scen_stale_key), 0);
	/* Only the daemon's own lease, at the stop. */
	assert_int_equal(fake_etcd_count_path("/v3/lease/revoke"), 1);
}

static void scen_fence_drops_every_vip(struct t *t)
{
	up();
	fake_loop_advance_to(T0 + FENCE - 1);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
	fake_loop_advance(1);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 2);
	assert_int_equal(fake_nl_last()->at_ms, T0 + FENCE);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_false(fake_nl_has_addr(IFX, AF_INET6, VIP6));
	/* A netlink notice of the delete changes nothing (2 adds, 2
	 * lifetime refreshes at FENCE - 1100, 2 deletes). */
	fake_nl_send_addr(IFX, AF_INET, VIP4, true);
	assert_int_equal(fake_nl_count(), 6);
	sigterm(t);
	until_stopped(t, 2000);
}

static void test_fence_drops_every_vip_at_once(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, scen_fence_drops_every_vip), 0);
	/* The addresses were already gone: the stop deletes nothing more
	 * that exists, and the lease is still revoked. */
	assert_int_equal(fake_etcd_count_path("/v3/lease/revoke"), 1);
}

/* Link events go through the links module to every VIP: a rename keeps
 * both addresses (no delete), a new MAC announces both at once, a link
 * down drops both. */
static void scen_link_events_reach_every_vip(struct t *t)
{
	static const unsigned char mac2[6] = { 0x02, 0, 0, 0, 0, 0x0b };
	size_t announced;

	up();
	fake_loop_advance(1000); /* past the acquisition's burst */
	fake_nl_set_link(IFX, "lan0", true, MAC);
	fake_nl_send_link(IFX);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	announced = fake_announce_count();
	fake_nl_set_link(IFX, "lan0", true, mac2);
	fake_nl_send_link(IFX);
	assert_int_equal(fake_announce_count(), announced + 2);
	assert_memory_equal(fake_announce_nth(announced)->mac, mac2, 6);
	fake_nl_set_link(IFX, "lan0", false, mac2);
	fake_nl_send_link(IFX);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 2);
	assert_false(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_false(fake_nl_has_addr(IFX, AF_INET6, VIP6));
	sigterm(t);
	until_stopped(t, 2000);
}

static void test_link_events_reach_every_vip(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, scen_link_events_reach_every_vip), 0);
}

/* The running file rewritten: the test's yaml, without the IPv6 VIP when
 * v4_only, with a bad lease TTL when bad; the control socket the same. */
static void write_cfg(const struct t *t, bool v4_only, bool bad)
{
	FILE *f = fopen(t->cfg->path, "w");
	const char *y = yaml;

	assert_non_null(f);
	if (v4_only) {
		const char *cut = strstr(yaml, "      - interface: eth0\n        vip:\n          ip: fd00::100\n");

		fwrite(yaml, 1, (size_t)(cut - yaml), f);
		y = strstr(cut, "vipd:\n");
	}
	fprintf(f, "%s  controlSocket: %s\n%s", y, t->cfg->control_socket,
	    bad ? "  lease:\n    ttl: fast\n" : "");
	fclose(f);
}

/* SIGHUP: an unchanged file touches nothing; a bad one changes nothing; a
 * file without the IPv6 VIP deletes its address, then its key (address
 * first), keeps the IPv4 one as it is, and frees the IPv6 VIP once etcd
 * confirmed the delete (its key no longer owed). */
static void scen_reload(struct t *t)
{
	struct etcd_req *r;
	char *k;

	up();
	fake_loop_advance(1000);
	write_cfg(t, false, false);
	assert_true(fake_loop_raise(SIGHUP));
	fake_loop_advance(500);
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
	assert_null(fake_etcd_pending("/v3/kv/deleterange"));
	assert_null(fake_etcd_pending("/v3/kv/txn")); /* no new campaign */
	write_cfg(t, false, true);
	assert_true(fake_loop_raise(SIGHUP));
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 0);
	assert_null(fake_etcd_pending("/v3/kv/deleterange"));

	write_cfg(t, true, false);
	assert_true(fake_loop_raise(SIGHUP));
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 1);
	assert_false(fake_nl_has_addr(IFX, AF_INET6, VIP6));
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	r = fake_etcd_pending("/v3/kv/deleterange");
	assert_non_null(r);
	k = fake_req_b64(r, "key");
	assert_non_null(strstr(k, PREFIX "fd00::100/"));
	free(k);
	fake_etcd_reply(r, "{\"header\":{\"revision\":\"12\"},\"deleted\":\"1\"}");
	fake_loop_advance(1000); /* the retire check frees it */
	assert_null(fake_etcd_pending("/v3/kv/deleterange"));
	assert_true(fake_nl_has_addr(IFX, AF_INET, VIP4));
	assert_int_equal(fake_nl_count_kind(FAKE_NL_DEL), 1);
	sigterm(t);
	until_stopped(t, 2000);
}

static void test_reload(void **state)
{
	struct t *t = *state;

	free(t->cfg->path);
	assert_true(asprintf(&t->cfg->path, "%s/vipd.yaml", t->dir) > 0);
	assert_int_equal(run(t, scen_reload), 0);
	unlink(t->cfg->path);
	/* Only the IPv4 address at the stop. */
	assert_int_equal(fake_etcd_count_path("/v3/lease/revoke"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_stop_with_etcd_unreachable),
		T(test_stop_delete_failed_keeps_lease),
		T(test_stop_revoke_answered),
		T(test_stop_before_any_lease),
		T(test_second_signal_exits_at_once),
		T(test_stop_while_delete_owed_keeps_lease),
		T(test_stale_key_of_this_node_cleaned_before_campaign),
		T(test_fence_drops_every_vip_at_once),
		T(test_link_events_reach_every_vip),
		T(test_reload),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
