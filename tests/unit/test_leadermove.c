/*
 * test_leadermove.c - leadermove.c on the fake loop and etcd: nothing is
 * asked while this node owns no VIP; an owner whose member leads moves the
 * leadership to another voting member (never a learner, never itself);
 * a status answered by another endpoint or naming another leader ends the
 * round; a failed move picks the next member next round, and a permission
 * error says what etcd auth needs; a member whose node owns a VIP is no
 * target, none is moved when every other node owns one, and leadership
 * that came to this member stays LEADERMOVE_SETTLE_MS first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "fake_etcd.h"
#include "fake_loop.h"
#include "leadermove.h"
#include "loop.h"
#include "testkit.h"

#define EVERY 5000u
#define FAKE_ENDPOINT "http://fake-etcd:2379" /* fake_etcd.c: etcd_new(NULL) answers as it */
#define SELF  "12866751592823508888" /* above INT64_MAX, as etcd's ids often are */
#define OTHER "222"
#define THIRD "333"

struct t {
	struct loop *loop;
	struct etcd *etcd;
	struct leadermove *m;
	bool owns;
	const char *owner_nodes[4]; /* other nodes that own a VIP, NULL-ended */
};

static bool owns(void *arg, const char *node)
{
	struct t *t = arg;

	if (node == NULL)
		return t->owns;
	for (size_t i = 0; i < 4 && t->owner_nodes[i] != NULL; i++)
		if (strcmp(t->owner_nodes[i], node) == 0)
			return true;
	return false;
}

static int setup_with(void **state, const char *local)
{
	struct t *t = calloc(1, sizeof(*t));

	testkit_open("test_leadermove", &t->loop, &t->etcd);
	t->m = leadermove_new(t->loop, t->etcd, local, "node-1", EVERY, owns, t);
	*state = t;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, FAKE_ENDPOINT);
}

static int setup_elsewhere(void **state)
{
	return setup_with(state, "https://192.0.2.1:2379");
}

static int teardown(void **state)
{
	struct t *t = *state;

	leadermove_free(t->m);
	testkit_close(t->loop, t->etcd);
	free(t);
	return 0;
}

static void status(const char *leader)
{
	struct etcd_req *r = fake_etcd_pending("/v3/maintenance/status");

	assert_non_null(r);
	fake_etcd_reply(r, "{\"header\":{\"member_id\":\"" SELF "\",\"revision\":\"5\"},"
	    "\"leader\":\"%s\"}", leader);
}

static void members(void)
{
	struct etcd_req *r = fake_etcd_pending("/v3/cluster/member/list");

	assert_non_null(r);
	fake_etcd_reply(r, "{\"header\":{},\"members\":["
	    "{\"ID\":\"" SELF "\",\"name\":\"n1\"},"
	    "{\"ID\":\"444\",\"name\":\"learner\",\"isLearner\":true},"
	    "{\"ID\":\"" OTHER "\",\"name\":\"n2\"},"
	    "{\"ID\":\"" THIRD "\",\"name\":\"n3\"}]}");
}

/* A round (EVERY ms on) in which this member leads and the member list
 * (members()) is read: the MoveLeader it sends, which must be there. */
static struct etcd_req *leading_round(void)
{
	struct etcd_req *mv;

	fake_loop_advance(EVERY);
	status(SELF);
	members();
	mv = fake_etcd_pending("/v3/maintenance/transfer-leadership");
	assert_non_null(mv);
	return mv;
}

static void test_nothing_asked_without_a_vip(void **state)
{
	struct t *t = *state;

	/* Only the status, to know since when leadership is here. */
	for (int i = 0; i < 10; i++) {
		fake_loop_advance(EVERY);
		status(SELF);
		assert_null(fake_etcd_pending(NULL));
	}
	assert_int_equal(leadermove_moves(t->m), 0);
}

static void test_owner_leading_moves_it(void **state)
{
	struct t *t = *state;
	struct etcd_req *mv;

	t->owns = true;
	mv = leading_round();
	/* the first voting member that is not this one (the learner skipped) */
	assert_string_equal(json_string_value(fake_req_get(mv, "targetID")), OTHER);
	fake_etcd_reply(mv, "{\"header\":{}}");
	assert_int_equal(leadermove_moves(t->m), 1);
	/* next round: the leader is elsewhere now, nothing more */
	fake_loop_advance(EVERY);
	status(OTHER);
	assert_null(fake_etcd_pending(NULL));
	assert_int_equal(leadermove_moves(t->m), 1);
}

static void test_failed_move_tries_the_next_member(void **state)
{
	struct t *t = *state;
	struct etcd_req *mv;
	char *log;

	t->owns = true;
	mv = leading_round();
	testkit_log_begin();
	fake_etcd_fail(mv, -EIO, 7, "etcdserver: permission denied");
	testkit_log_end(&log);
	assert_non_null(strstr(log, "could not move raft leadership to=de: etcdserver: permission denied"));
	assert_non_null(strstr(log, "MoveLeader needs a user with the root role"));
	free(log);
	assert_int_equal(leadermove_moves(t->m), 0);
	mv = leading_round();
	assert_string_equal(json_string_value(fake_req_get(mv, "targetID")), THIRD);
}

static void test_other_endpoint_skips(void **state)
{
	struct t *t = *state;

	t->owns = true;
	fake_loop_advance(EVERY);
	status(SELF); /* answered by FAKE_ENDPOINT, not ours */
	assert_null(fake_etcd_pending(NULL));
	fake_loop_advance(EVERY);
	assert_non_null(fake_etcd_pending("/v3/maintenance/status"));
}

static void test_lost_vip_stops_asking(void **state)
{
	struct t *t = *state;

	t->owns = true;
	fake_loop_advance(EVERY);
	status(OTHER);
	t->owns = false;
	for (int i = 0; i < 5; i++) {
		fake_loop_advance(EVERY);
		status(SELF); /* leads now, but owns no VIP: no member list */
		assert_null(fake_etcd_pending(NULL));
	}
}

/* A member whose node owns a VIP is no target: n2 owns one, so n3. */
static void test_owner_nodes_are_no_target(void **state)
{
	struct t *t = *state;
	struct etcd_req *mv;

	t->owns = true;
	t->owner_nodes[0] = "n2";
	mv = leading_round();
	assert_string_equal(json_string_value(fake_req_get(mv, "targetID")), THIRD);
}

/* Every other node owns a VIP: moving would only start a ping-pong that
 * re-arms every lease at each change, so leadership stays (said once). */
static void test_all_nodes_own_no_move(void **state)
{
	struct t *t = *state;
	char *log;

	t->owns = true;
	t->owner_nodes[0] = "n2";
	t->owner_nodes[1] = "n3";
	testkit_log_begin();
	for (int i = 0; i < 3; i++) {
		fake_loop_advance(EVERY);
		status(SELF);
		members();
		assert_null(fake_etcd_pending("/v3/maintenance/transfer-leadership"));
	}
	testkit_log_end(&log);
	assert_non_null(strstr(log, "every other member's node owns a VIP too; leadership stays"));
	assert_null(strstr(strstr(log, "leadership stays") + 1, "leadership stays"));
	free(log);
	assert_int_equal(leadermove_moves(t->m), 0);
}

/* A round: status SELF, then the member list if asked (n1 = SELF, n2,
 * n3). Returns whether a MoveLeader was sent. */
static bool round_self(uint64_t ms)
{
	struct etcd_req *m;

	fake_loop_advance(ms);
	status(SELF);
	m = fake_etcd_pending("/v3/cluster/member/list");
	if (m == NULL)
		return false;
	fake_etcd_reply(m, "{\"header\":{},\"members\":["
	    "{\"ID\":\"" SELF "\",\"name\":\"n1\"},"
	    "{\"ID\":\"" OTHER "\",\"name\":\"n2\"}]}");
	return fake_etcd_pending("/v3/maintenance/transfer-leadership") != NULL;
}

/* Member names that are not node names (this node is "node-1", its
 * member "n1"): leadership that came to this member (another leader seen
 * before) is not moved on before LEADERMOVE_SETTLE_MS + an interval. */
static void test_new_leader_settles_first(void **state)
{
	struct t *t = *state;
	uint64_t waited = 0;

	t->owns = true;
	fake_loop_advance(EVERY);
	status(OTHER);
	do {
		waited += EVERY;
		assert_true(waited < 2 * LEADERMOVE_SETTLE_MS);
	} while (!round_self(EVERY));
	assert_true(waited >= LEADERMOVE_SETTLE_MS + EVERY);
}

/* Member names that are node names (this node "n1" as its member): the
 * owner rule is enough, leadership that just came is moved at once. */
static void test_names_match_no_settle(void **state)
{
	struct t *t = *state;

	leadermove_free(t->m);
	t->m = leadermove_new(t->loop, t->etcd, FAKE_ENDPOINT, "n1", EVERY, owns, t);
	t->owns = true;
	fake_loop_advance(EVERY);
	status(OTHER);
	assert_true(round_self(EVERY));
}

/* A long TTL (interval 40 s): leadership seen arriving is kept for 3
 * intervals (more than LEADERMOVE_SETTLE_MS) plus one, not moved at the
 * next round. */
static void test_long_interval_settles_too(void **state)
{
	struct t *t = *state;
	int rounds = 0;

	leadermove_free(t->m);
	t->m = leadermove_new(t->loop, t->etcd, FAKE_ENDPOINT, "node-1", 40000, owns, t);
	t->owns = true;
	fake_loop_advance(40000);
	status(OTHER);
	do {
		rounds++;
		assert_true(rounds < 10);
	} while (!round_self(40000));
	assert_true(rounds >= 4); /* 3 x 40 s settle + the 40 s of not knowing */
}

/* A VIP that comes after leadership did (a failover to this node): the
 * rounds without a VIP saw the leader elsewhere, so the settle applies. */
static void test_first_vip_after_leadership_settles(void **state)
{
	struct t *t = *state;

	fake_loop_advance(EVERY);
	status(OTHER);
	fake_loop_advance(EVERY);
	status(SELF);
	t->owns = true;
	assert_false(round_self(EVERY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_asked_without_a_vip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_leading_moves_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_move_tries_the_next_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_endpoint_skips, setup_elsewhere, teardown),
		cmocka_unit_test_setup_teardown(test_lost_vip_stops_asking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_nodes_are_no_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_nodes_own_no_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_leader_settles_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_match_no_settle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_interval_settles_too, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_vip_after_leadership_settles, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
