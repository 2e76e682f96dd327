/*
 * test_session.c - session.c (lease, keepalives, fence, revoke) against
 * the fake etcd and the virtual clock: the sequences the lab reaches only
 * by luck, with the exact fence and request each one must produce.
 *
 * TTL 5 s throughout: margin 500 ms, kernel lag 1100 ms, fence = send
 * time + 3400 ms, keepalive every 1250 ms, keepalive timeout min(2500,
 * 2000) = 2000 ms.
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
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "session.h"
#include "testkit.h"

#define TTL_MS   5000u
#define FENCE_MS 3400u  /* TTL - margin - POLICY_KERNEL_LAG_MS */
#define KA_MS    1250u
#define LEASE    0x1234abcdLL
#define T0       ((uint64_t)FAKE_LOOP_T0)

enum ev_kind { EV_GRANTED, EV_RENEWED, EV_EXPIRED, EV_LOST, EV_DONE };

struct ev {
	enum ev_kind kind;
	uint64_t value;  /* lease for granted, fence for renewed */
	uint64_t at;
};

struct t {
	struct loop *loop;
	struct etcd *etcd;
	struct session *s;
	struct ev evs[64];
	size_t n;
	bool in_call;    /* inside a call the test made into the session */
};

static void note(struct t *t, enum ev_kind k, uint64_t value)
{
	/* A call the owner makes never calls back into the owner. */
	assert_false(t->in_call);
	assert_true(t->n < sizeof(t->evs) / sizeof(t->evs[0]));
	t->evs[t->n++] = (struct ev){ k, value, loop_now_ms() };
}

static void on_granted(void *arg, int64_t lease) { note(arg, EV_GRANTED, (uint64_t)lease); }
static void on_renewed(void *arg, uint64_t fence) { note(arg, EV_RENEWED, fence); }
static void on_expired(void *arg) { note(arg, EV_EXPIRED, 0); }
static void on_lost(void *arg) { note(arg, EV_LOST, 0); }
static void on_done(void *arg) { note(arg, EV_DONE, 0); }

static const struct session_ops ops = {
	.granted = on_granted, .renewed = on_renewed,
	.expired = on_expired, .lost = on_lost,
};

static size_t count(const struct t *t, enum ev_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += t->evs[i].kind == k;
	return n;
}

static const struct ev *last(const struct t *t, enum ev_kind k)
{
	for (size_t i = t->n; i > 0; i--)
		if (t->evs[i - 1].kind == k)
			return &t->evs[i - 1];
	return NULL;
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	testkit_open("test_session", &t->loop, &t->etcd);
	t->s = session_new(t->loop, t->etcd, TTL_MS, 2000, &ops, t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	session_free(t->s);
	testkit_close(t->loop, t->etcd);
	free(t);
	return 0;
}

static void start(struct t *t)
{
	t->in_call = true;
	session_start(t->s);
	t->in_call = false;
}

/* Start and have the grant answered at once: lease LEASE, fence T0+3400. */
static void granted(struct t *t)
{
	start(t);
	testkit_grant(LEASE);
}

static void ka_ok(struct etcd_req *r)
{
	fake_etcd_reply(r, "{\"result\":{\"ID\":\"%lld\",\"TTL\":\"5\"}}", LEASE);
}

/* ---- grant and keepalive ------------------------------------------------ */

static void test_grant_then_keepalives_every_quarter_ttl(void **state)
{
	struct t *t = *state;
	struct etcd_req *g, *ka;

	start(t);
	assert_int_equal(fake_etcd_count(), 0); /* nothing from within the call */
	fake_loop_run_due();
	g = fake_etcd_pending("/v3/lease/grant");
	assert_non_null(g);
	assert_int_equal(fake_req_i64(g, "TTL"), 5);
	assert_int_equal(fake_req_timeout(g), KA_MS);
	fake_loop_advance(40); /* the grant takes 40 ms */
	fake_etcd_reply(g, "{\"ID\":\"%lld\",\"TTL\":\"5\"}", LEASE);

	assert_int_equal(session_lease(t->s), LEASE);
	/* Fenced from the grant's send time, not its answer. */
	assert_int_equal(session_fence(t->s), T0 + FENCE_MS);
	assert_int_equal(t->n, 2);
	assert_int_equal(t->evs[0].kind, EV_GRANTED);
	assert_int_equal(t->evs[0].value, LEASE);
	assert_int_equal(t->evs[1].kind, EV_RENEWED);
	assert_int_equal(t->evs[1].value, T0 + FENCE_MS);

	fake_loop_advance_to(T0 + KA_MS - 1);
	assert_int_equal(fake_etcd_count_path("/v3/lease/keepalive"), 0);
	fake_loop_advance_to(T0 + KA_MS);
	ka = testkit_keepalive_at(T0 + KA_MS);
	assert_non_null(ka);
	assert_int_equal(fake_req_i64(ka, "ID"), LEASE);
	assert_int_equal(fake_req_timeout(ka), 2000);
	fake_loop_advance(30);
	ka_ok(ka);
	assert_int_equal(session_fence(t->s), T0 + KA_MS + FENCE_MS);
	assert_int_equal(last(t, EV_RENEWED)->value, T0 + KA_MS + FENCE_MS);
	fake_loop_advance_to(T0 + 2 * KA_MS);
	assert_non_null(testkit_keepalive_at(T0 + 2 * KA_MS));
}

/* TTL 3 s: window 3000 - 300 - 1100 = 1600 ms, and a keepalive every
 * 400 ms (not TTL/4): the next renewal is due before the address's
 * lifetime needs its refresh at fence - 1100 ms (policy_refresh_at). */
static void test_ttl3_fence_and_keepalive_period(void **state)
{
	struct t *t = *state;

	session_free(t->s);
	t->s = session_new(t->loop, t->etcd, 3000, 2000, &ops, t);
	start(t);
	testkit_grant(LEASE); /* answers TTL 5: the fence uses 3 */
	assert_int_equal(session_fence(t->s), T0 + 1600);
	fake_loop_advance_to(T0 + 399);
	assert_int_equal(fake_etcd_count_path("/v3/lease/keepalive"), 0);
	fake_loop_advance_to(T0 + 400);
	assert_non_null(testkit_keepalive_at(T0 + 400));
	assert_true(400 < 1600 - 1000 - POLICY_REFRESH_SLACK_MS);
	fake_loop_advance_to(T0 + 800);
	assert_non_null(testkit_keepalive_at(T0 + 800));
}

/* Keepalives overlap: one per period although none has answered, at most
 * three; the fence passes with two in flight and drops everything exactly
 * at the fence; an answer coming late renews from its own send time, not
 * from when the answer came. */
static void test_fence_passes_while_keepalive_in_flight(void **state)
{
	struct t *t = *state;
	struct etcd_req *k1;

	granted(t);
	fake_loop_advance_to(T0 + 2 * KA_MS);
	assert_int_equal(fake_etcd_count_state("/v3/lease/keepalive", FAKE_REQ_PENDING), 2);
	fake_loop_advance_to(T0 + FENCE_MS - 1);
	assert_int_equal(count(t, EV_EXPIRED), 0);
	assert_true(session_valid(t->s, loop_now_ms()));
	fake_loop_advance_to(T0 + FENCE_MS);
	assert_int_equal(count(t, EV_EXPIRED), 1);
	assert_int_equal(last(t, EV_EXPIRED)->at, T0 + FENCE_MS);
	assert_false(session_valid(t->s, loop_now_ms()));
	fake_loop_advance_to(T0 + 3 * KA_MS);
	assert_int_equal(fake_etcd_count_state("/v3/lease/keepalive", FAKE_REQ_PENDING), 3);
	/* Still three in flight: no fourth at T0+5000. */
	fake_loop_advance_to(T0 + 4 * KA_MS + 100);
	assert_int_equal(fake_etcd_count_path("/v3/lease/keepalive"), 3);
	assert_int_equal(count(t, EV_EXPIRED), 1); /* once per fence */

	k1 = testkit_keepalive_at(T0 + 3 * KA_MS);
	assert_non_null(k1);
	ka_ok(k1);
	assert_int_equal(session_fence(t->s), T0 + 3 * KA_MS + FENCE_MS);
	assert_int_equal(last(t, EV_RENEWED)->value, T0 + 3 * KA_MS + FENCE_MS);
	assert_true(session_valid(t->s, loop_now_ms()));
	/* The renewed fence passes too: expired again, at its own time. */
	fake_loop_advance_to(T0 + 3 * KA_MS + FENCE_MS);
	assert_int_equal(count(t, EV_EXPIRED), 2);
	assert_int_equal(last(t, EV_EXPIRED)->at, T0 + 3 * KA_MS + FENCE_MS);
}

/* An answer that arrives after its own fence has passed renews nothing
 * that matters: the fence stays in the past and expired() is reported. */
static void test_answer_after_its_own_fence(void **state)
{
	struct t *t = *state;
	struct etcd_req *k1;

	granted(t);
	fake_loop_advance_to(T0 + KA_MS);
	k1 = testkit_keepalive_at(T0 + KA_MS);
	fake_loop_advance_to(T0 + KA_MS + FENCE_MS + 200);
	ka_ok(k1);
	assert_false(session_valid(t->s, loop_now_ms()));
	fake_loop_run_due();
	assert_int_equal(last(t, EV_EXPIRED)->at, loop_now_ms());
	assert_true(last(t, EV_EXPIRED) > last(t, EV_RENEWED));
}

/* Granted, then run to T0 + 2 KA: keepalives sent at T0 + KA (*k1) and
 * T0 + 2 KA (*k2), both unanswered. */
static void two_keepalives_out(struct t *t, struct etcd_req **k1, struct etcd_req **k2)
{
	granted(t);
	fake_loop_advance_to(T0 + 2 * KA_MS);
	*k1 = testkit_keepalive_at(T0 + KA_MS);
	*k2 = testkit_keepalive_at(T0 + 2 * KA_MS);
}

static void test_late_answer_never_moves_fence_back(void **state)
{
	struct t *t = *state;
	struct etcd_req *k1, *k2;
	size_t renewed;

	two_keepalives_out(t, &k1, &k2);
	ka_ok(k2);
	assert_int_equal(session_fence(t->s), T0 + 2 * KA_MS + FENCE_MS);
	renewed = count(t, EV_RENEWED);
	ka_ok(k1);
	assert_int_equal(session_fence(t->s), T0 + 2 * KA_MS + FENCE_MS);
	assert_int_equal(count(t, EV_RENEWED), renewed);
}

/* ---- the lease is gone ---------------------------------------------------- */

static void check_lost_and_regranted(struct t *t, struct etcd_req *other)
{
	struct etcd_req *g;

	assert_int_equal(count(t, EV_LOST), 1);
	assert_int_equal(session_lease(t->s), 0);
	assert_int_equal(session_fence(t->s), 0);
	assert_false(session_valid(t->s, loop_now_ms()));
	/* The other keepalive in flight is abandoned. */
	assert_int_equal(fake_req_state(other), FAKE_REQ_CANCELLED);
	/* A new lease is asked for at once (from the loop, not inside). */
	fake_loop_run_due();
	assert_int_equal(fake_etcd_count_path("/v3/lease/grant"), 2);
	g = fake_etcd_pending("/v3/lease/grant");
	assert_non_null(g);
	assert_int_equal(fake_req_sent_ms(g), loop_now_ms());
	/* The old fence timer must not report expiry of a lease that is gone. */
	fake_loop_advance_to(T0 + FENCE_MS + 1000);
	assert_int_equal(count(t, EV_EXPIRED), 0);
	fake_etcd_reply(g, "{\"ID\":\"77\",\"TTL\":\"5\"}");
	assert_int_equal(last(t, EV_GRANTED)->value, 77);
	assert_int_equal(session_lease(t->s), 77);
}

static void test_keepalive_ttl_zero_loses_lease(void **state)
{
	struct t *t = *state;
	struct etcd_req *k1, *k2;

	two_keepalives_out(t, &k1, &k2);
	/* proto3 leaves TTL 0 out: a result without TTL means it is gone. */
	fake_etcd_reply(k1, "{\"result\":{\"ID\":\"%lld\"}}", LEASE);
	check_lost_and_regranted(t, k2);
}

static void test_keepalive_negative_ttl_loses_lease(void **state)
{
	struct t *t = *state;
	struct etcd_req *k1, *k2;

	two_keepalives_out(t, &k1, &k2);
	fake_etcd_reply(k1, "{\"result\":{\"ID\":\"%lld\",\"TTL\":\"-1\"}}", LEASE);
	check_lost_and_regranted(t, k2);
}

static void test_keepalive_lease_not_found(void **state)
{
	struct t *t = *state;
	struct etcd_req *k1, *k2;

	two_keepalives_out(t, &k1, &k2);
	fake_etcd_fail(k1, -EIO, ETCD_CODE_NOT_FOUND, "etcdserver: requested lease not found");
	check_lost_and_regranted(t, k2);
}

/* ---- failures that say nothing about the lease ------------------------------ */

static void test_keepalive_failure_retries_sooner_with_backoff(void **state)
{
	struct t *t = *state;
	struct etcd_req *k;

	granted(t);
	fake_loop_advance_to(T0 + KA_MS);
	fake_loop_advance(10);
	fake_etcd_fail(testkit_keepalive_at(T0 + KA_MS), -ETIMEDOUT, 0, "timeout");
	assert_int_equal(count(t, EV_LOST), 0);
	assert_int_equal(session_lease(t->s), LEASE);
	/* The next one 100 ms later instead of at T0+2500; then 200, 400. */
	fake_loop_advance_to(T0 + KA_MS + 110);
	k = testkit_keepalive_at(T0 + KA_MS + 110);
	assert_non_null(k);
	fake_etcd_fail(k, -ECONNREFUSED, 0, "refused");
	fake_loop_advance(199);
	assert_null(fake_etcd_pending("/v3/lease/keepalive"));
	fake_loop_advance(1);
	k = testkit_keepalive_at(T0 + KA_MS + 310);
	assert_non_null(k);
	/* A gateway error object at HTTP 200 is a failure, not a lost lease. */
	fake_etcd_reply(k, "{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: no leader\"}}");
	assert_int_equal(count(t, EV_LOST), 0);
	fake_loop_advance(400);
	k = testkit_keepalive_at(T0 + KA_MS + 710);
	assert_non_null(k);
	ka_ok(k);
	assert_int_equal(session_fence(t->s), T0 + KA_MS + 710 + FENCE_MS);
	/* The period restarts from the last send; success resets the
	 * backoff: the next failure retries after 100 ms again. */
	fake_loop_advance_to(T0 + KA_MS + 710 + KA_MS - 1);
	assert_null(fake_etcd_pending("/v3/lease/keepalive"));
	fake_loop_advance(1);
	k = testkit_keepalive_at(T0 + 2 * KA_MS + 710);
	assert_non_null(k);
	fake_etcd_fail(k, -ETIMEDOUT, 0, "timeout");
	fake_loop_advance(100);
	assert_non_null(testkit_keepalive_at(T0 + 2 * KA_MS + 810));
}

static void test_grant_failure_retries_with_backoff(void **state)
{
	struct t *t = *state;
	struct etcd_req *g;

	start(t);
	fake_loop_run_due();
	fake_etcd_fail(fake_etcd_pending("/v3/lease/grant"), -ECONNREFUSED, 0, "refused");
	fake_loop_advance(99);
	assert_null(fake_etcd_pending("/v3/lease/grant"));
	fake_loop_advance(1);
	g = fake_etcd_pending("/v3/lease/grant");
	assert_non_null(g);
	/* A reply without an ID is not a lease. */
	fake_etcd_reply(g, "{\"TTL\":\"5\"}");
	assert_int_equal(count(t, EV_GRANTED), 0);
	fake_loop_advance(200);
	g = fake_etcd_pending("/v3/lease/grant");
	assert_non_null(g);
	fake_etcd_reply(g, "{\"ID\":\"9\",\"TTL\":\"5\"}");
	assert_int_equal(session_lease(t->s), 9);
	assert_int_equal(session_fence(t->s), T0 + 300 + FENCE_MS);
}

/* Replies as the transport judges raw bytes (fake_etcd_reply_raw): only
 * a result with TTL <= 0 (or missing) or etcd's NOT_FOUND loses the
 * lease; anything else unreadable is a failed keepalive, retried. */
static void test_keepalive_unreadable_replies(void **state)
{
	static const struct {
		long status;
		const char *body;
		bool lost;
	} cases[] = {
		{ 200, "not json", false },
		{ 200, "[1,2]", false },
		{ 200, "", false },
		{ 200, "{\"result\":\"x\"}", false },
		{ 200, "{\"result\":{\"TTL\":true}}", false },
		{ 200, "{\"result\":{\"TTL\":\"12abc\"}}", false },
		{ 200, "{\"error\":{\"grpc_code\":14,\"message\":\"no leader\"}}", false },
		{ 503, "<html>proxy</html>", false },
		{ 500, "{\"error\":\"etcdserver: request timed out\",\"code\":14}", false },
		{ 404, "{\"error\":\"etcdserver: requested lease not found\",\"code\":5,"
		       "\"message\":\"etcdserver: requested lease not found\"}", true },
		{ 200, "{\"result\":{}}", true },
	};
	struct t *t = *state;

	granted(t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct etcd_req *k;
		size_t lost = count(t, EV_LOST);

		if (session_lease(t->s) == 0) { /* lost by the case before */
			fake_loop_run_due();
			fake_etcd_reply(fake_etcd_pending("/v3/lease/grant"),
			    "{\"ID\":\"%lld\",\"TTL\":\"5\"}", LEASE);
		}
		for (int ms = 0; ms < 2000 && !fake_etcd_pending("/v3/lease/keepalive"); ms++)
			fake_loop_advance(1);
		k = fake_etcd_pending("/v3/lease/keepalive");
		assert_non_null(k);
		fake_etcd_reply_raw(k, cases[i].status, cases[i].body, strlen(cases[i].body));
		assert_int_equal(count(t, EV_LOST) - lost, cases[i].lost);
		assert_int_equal(session_lease(t->s) == 0, cases[i].lost);
		if (cases[i].lost)
			continue;
		/* Retried within the backoff (at most 1 s): answer it. */
		for (int ms = 0; ms < 1000 && !fake_etcd_pending("/v3/lease/keepalive"); ms++)
			fake_loop_advance(1);
		assert_non_null(fake_etcd_pending("/v3/lease/keepalive"));
		while ((k = fake_etcd_pending("/v3/lease/keepalive")) != NULL)
			ka_ok(k);
	}
	assert_int_equal(count(t, EV_EXPIRED), 0);
}

/* ---- revoke ---------------------------------------------------------------- */

static void revoke(struct t *t, bool expect_started)
{
	bool started;

	t->in_call = true;
	started = session_revoke(t->s, 1200, on_done, t);
	t->in_call = false;
	assert_int_equal(started, expect_started);
}

static void test_revoke_answered(void **state)
{
	struct t *t = *state;
	struct etcd_req *k1, *rv;

	granted(t);
	fake_loop_advance_to(T0 + KA_MS);
	k1 = testkit_keepalive_at(T0 + KA_MS);
	revoke(t, true);
	assert_int_equal(count(t, EV_DONE), 0);
	assert_int_equal(fake_req_state(k1), FAKE_REQ_CANCELLED);
	assert_int_equal(session_lease(t->s), 0);
	rv = fake_etcd_pending("/v3/lease/revoke");
	assert_non_null(rv);
	assert_int_equal(fake_req_i64(rv, "ID"), LEASE);
	assert_int_equal(fake_req_timeout(rv), 500); /* a try: at most 500 ms */
	fake_loop_advance(20);
	fake_etcd_reply(rv, "{\"header\":{}}");
	assert_int_equal(count(t, EV_DONE), 1);
	assert_int_equal(last(t, EV_DONE)->at, T0 + KA_MS + 20);
	/* Nothing more: no keepalive, no grant, no expiry, done only once. */
	fake_loop_advance(20000);
	assert_int_equal(fake_etcd_count(), 3); /* grant, keepalive, revoke */
	assert_int_equal(count(t, EV_DONE), 1);
	assert_int_equal(count(t, EV_EXPIRED), 0);
}

/* A try that never ends (the fake does not end a request at its timeout):
 * done runs at the deadline, the revoke is abandoned. */
static void test_revoke_times_out(void **state)
{
	struct t *t = *state;
	struct etcd_req *rv;

	granted(t);
	fake_loop_advance(100);
	revoke(t, true);
	rv = fake_etcd_pending("/v3/lease/revoke");
	fake_loop_advance(1199);
	assert_int_equal(count(t, EV_DONE), 0);
	fake_loop_advance(1);
	assert_int_equal(count(t, EV_DONE), 1);
	assert_int_equal(fake_req_state(rv), FAKE_REQ_CANCELLED);
	fake_loop_advance(20000);
	assert_int_equal(count(t, EV_DONE), 1);
	assert_int_equal(fake_etcd_count(), 2);
}

/*
 * The first try fails after fail_after ms (err, code, message); nothing is
 * sent for the next 100 ms, then a second try with 500 ms, confirmed 10 ms
 * later: done runs once, then, and nothing more is sent.
 */
static void revoke_retried_once(struct t *t, uint64_t fail_after, int err, int code,
    const char *message)
{
	struct etcd_req *rv1, *rv2;
	uint64_t t0;

	granted(t);
	fake_loop_advance(100);
	t0 = loop_now_ms();
	revoke(t, true);
	rv1 = fake_etcd_pending("/v3/lease/revoke");
	assert_non_null(rv1);
	assert_int_equal(fake_req_timeout(rv1), 500);
	fake_loop_advance(fail_after);
	fake_etcd_fail(rv1, err, code, message);
	assert_int_equal(count(t, EV_DONE), 0);
	assert_null(fake_etcd_pending("/v3/lease/revoke"));
	fake_loop_advance(99);
	assert_null(fake_etcd_pending("/v3/lease/revoke"));
	fake_loop_advance(1);
	rv2 = fake_etcd_pending("/v3/lease/revoke");
	assert_non_null(rv2);
	assert_int_equal(fake_req_i64(rv2, "ID"), LEASE);
	assert_int_equal(fake_req_timeout(rv2), 500);
	fake_loop_advance(10);
	fake_etcd_reply(rv2, "{\"header\":{}}");
	assert_int_equal(count(t, EV_DONE), 1);
	assert_int_equal(last(t, EV_DONE)->at, t0 + fail_after + 110);
	fake_loop_advance(20000);
	assert_int_equal(count(t, EV_DONE), 1);
	assert_int_equal(fake_etcd_count(), 3); /* grant, revoke, revoke */
}

/* etcd electing a leader answers "leader changed" at once. */
static void test_revoke_retried_after_leader_change(void **state)
{
	revoke_retried_once(*state, 30, -EIO, ETCD_CODE_UNAVAILABLE, "etcdserver: leader changed");
}

/* A try with no answer: etcd.c ends it at its 500 ms timeout (-ETIMEDOUT,
 * and moves to the next endpoint). */
static void test_revoke_retried_after_try_timeout(void **state)
{
	revoke_retried_once(*state, 500, -ETIMEDOUT, 0,
	    "Operation timed out after 501 milliseconds");
}

/* A refused connection again and again: tried every 100 ms while a next
 * try fits before the deadline, then given up (done once). */
static void test_revoke_retried_until_deadline(void **state)
{
	struct t *t = *state;
	struct etcd_req *rv;
	unsigned tries = 0;
	uint64_t t0;

	granted(t);
	t0 = loop_now_ms();
	revoke(t, true);
	while (count(t, EV_DONE) == 0) {
		rv = fake_etcd_pending("/v3/lease/revoke");
		if (rv != NULL) {
			tries++;
			/* 500 ms a try, or what is left (the last one) */
			assert_int_equal((uint64_t)fake_req_timeout(rv),
			    t0 + 1200 - loop_now_ms() < 500 ? t0 + 1200 - loop_now_ms() : 500);
			fake_etcd_fail(rv, -ECONNREFUSED, 0, "Connection refused");
		}
		fake_loop_advance(1);
		assert_true(loop_now_ms() <= t0 + 1200);
	}
	/* tries at 0, 100, ..., 1100; after the one at 1100 no further try
	 * fits before the deadline: given up then */
	assert_int_equal(tries, 12);
	assert_int_equal(last(t, EV_DONE)->at, t0 + 1100);
	fake_loop_advance(20000);
	assert_int_equal(count(t, EV_DONE), 1);
	assert_null(fake_etcd_pending("/v3/lease/revoke"));
}

/* A revoke answered with code (text): done at once, no retry (nothing
 * more sent or told in the 5 s after). */
static void revoke_answered_final(struct t *t, int code, const char *text)
{
	struct etcd_req *rv;

	granted(t);
	revoke(t, true);
	rv = fake_etcd_pending("/v3/lease/revoke");
	fake_etcd_fail(rv, -EIO, code, text);
	assert_int_equal(count(t, EV_DONE), 1);
	fake_loop_advance(5000);
	assert_null(fake_etcd_pending("/v3/lease/revoke"));
	assert_int_equal(count(t, EV_DONE), 1);
}

/* "lease not found": gone already, which is what a revoke is for: done
 * at once, no retry. A permission error is not retried either. */
static void test_revoke_final_answers(void **state)
{
	revoke_answered_final(*state, ETCD_CODE_NOT_FOUND, "etcdserver: requested lease not found");
}

static void test_revoke_permission_denied(void **state)
{
	revoke_answered_final(*state, ETCD_CODE_PERMISSION_DENIED, "etcdserver: permission denied");
}

static void test_revoke_unauthenticated(void **state)
{
	revoke_answered_final(*state, ETCD_CODE_UNAUTHENTICATED, "etcdserver: invalid auth token");
}

/* No lease: nothing to revoke, and done never runs (the caller knows). */
static void test_revoke_without_lease(void **state)
{
	struct t *t = *state;
	struct etcd_req *g;

	start(t);
	fake_loop_run_due();
	g = fake_etcd_pending("/v3/lease/grant");
	revoke(t, false);
	assert_int_equal(fake_req_state(g), FAKE_REQ_CANCELLED);
	fake_loop_advance(5000);
	assert_int_equal(count(t, EV_DONE), 0);
	assert_int_equal(fake_etcd_count(), 1);
}

/* An endpoint answering a TTL far above the one asked (2^32 s) must not
 * stretch the fence: min(server TTL, configured TTL). Before the fix the
 * fence (and the address's kernel lifetime) followed the server's TTL. */
static void test_huge_server_ttl_is_capped(void **state)
{
	struct t *t = *state;
	struct etcd_req *g, *ka;

	start(t);
	fake_loop_run_due();
	g = fake_etcd_pending("/v3/lease/grant");
	fake_etcd_reply(g, "{\"ID\":\"%lld\",\"TTL\":\"4294967296\"}", LEASE);
	assert_int_equal(session_fence(t->s), T0 + FENCE_MS);
	fake_loop_advance_to(T0 + KA_MS);
	ka = testkit_keepalive_at(T0 + KA_MS);
	assert_non_null(ka);
	fake_etcd_reply(ka, "{\"result\":{\"ID\":\"%lld\",\"TTL\":\"9223372036854775807\"}}", LEASE);
	assert_int_equal(session_fence(t->s), T0 + KA_MS + FENCE_MS);
	/* A shorter TTL than asked is taken as it is. */
	fake_loop_advance_to(T0 + 2 * KA_MS);
	ka = testkit_keepalive_at(T0 + 2 * KA_MS);
	fake_etcd_reply(ka, "{\"result\":{\"ID\":\"%lld\",\"TTL\":\"4\"}}", LEASE);
	assert_int_equal(session_fence(t->s), T0 + 2 * KA_MS + 4000 - 400 - 1100);
	assert_int_equal(last(t, EV_RENEWED)->value, T0 + 2 * KA_MS + 4000 - 400 - 1100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_grant_then_keepalives_every_quarter_ttl),
		T(test_huge_server_ttl_is_capped),
		T(test_ttl3_fence_and_keepalive_period),
		T(test_fence_passes_while_keepalive_in_flight),
		T(test_answer_after_its_own_fence),
		T(test_late_answer_never_moves_fence_back),
		T(test_keepalive_ttl_zero_loses_lease),
		T(test_keepalive_negative_ttl_loses_lease),
		T(test_keepalive_lease_not_found),
		T(test_keepalive_failure_retries_sooner_with_backoff),
		T(test_grant_failure_retries_with_backoff),
		T(test_keepalive_unreadable_replies),
		T(test_revoke_answered),
		T(test_revoke_times_out),
		T(test_revoke_retried_after_leader_change),
		T(test_revoke_retried_until_deadline),
		T(test_revoke_final_answers),
		T(test_revoke_permission_denied),
		T(test_revoke_unauthenticated),
		T(test_revoke_retried_after_try_timeout),
		T(test_revoke_without_lease),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
