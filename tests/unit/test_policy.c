/*
 * test_policy.c - the ownership rule and the kernel lifetime arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy.h"
#include "session.h"

static struct vip_facts all_good(void)
{
	struct vip_facts f = {
		.have_lease = true, .fence_ok = true, .link_up = true,
		.healthy = true, .paused = false, .leader = true, .probed = true,
	};
	return f;
}

static void test_holds_only_when_everything_allows(void **state)
{
	struct vip_facts f = all_good();
	struct vip_want w;

	(void)state;
	w = policy_decide(&f);
	assert_true(w.campaign);
	assert_true(w.hold);
	assert_string_equal(policy_why_not(&f), "");

	/* Each fact alone takes the address away. */
	for (int i = 0; i < 10; i++) {
		f = all_good();
		switch (i) {
		case 0: f.have_lease = false; break;
		case 1: f.fence_ok = false; break;
		case 2: f.link_up = false; break;
		case 3: f.healthy = false; break;
		case 4: f.paused = true; break;
		case 5: f.leader = false; break;
		case 6: f.stray_copy = true; break;
		case 7: f.probed = false; break;
		case 8: f.conflict = true; break;
		case 9: f.link_unusable = true; break;
		}
		w = policy_decide(&f);
		assert_false(w.hold);
		assert_string_not_equal(policy_why_not(&f), "");
	}
}

static void test_campaign_ignores_fence_and_leadership(void **state)
{
	struct vip_facts f = all_good();

	(void)state;
	/* A node past its fence stays a candidate: the lease may still be
	 * alive on the server, and then it is still the rightful leader. */
	f.fence_ok = false;
	f.leader = false;
	assert_true(policy_decide(&f).campaign);
	f.link_up = false;
	assert_false(policy_decide(&f).campaign);
	/* An unusable link (several match, a bond member) blocks the
	 * campaign even while some link is up. */
	f = all_good();
	f.link_unusable = true;
	assert_false(policy_decide(&f).campaign);
	assert_string_equal(policy_why_not(&f), "link unusable");
	f = all_good();
	f.have_lease = false;
	assert_false(policy_decide(&f).campaign);
}

static void test_why_not_names_the_first_reason(void **state)
{
	struct vip_facts f = all_good();

	(void)state;
	f.link_up = false;
	f.leader = false;
	assert_string_equal(policy_why_not(&f), "link down");
	f = all_good();
	f.fence_ok = false;
	assert_string_equal(policy_why_not(&f), "fence passed");
	f.fence_ok = true;
	f.leader = false;
	assert_string_equal(policy_why_not(&f), "not elected");
}

/* A takeover probe goes out only when it is the one thing missing; a
 * conflict keeps the node a candidate but never lets it probe to hold. */
static void test_probe_wanted_and_conflict_keeps_campaign(void **state)
{
	struct vip_facts f = all_good();

	(void)state;
	assert_false(policy_probe_wanted(&f)); /* probed already */
	f.probed = false;
	assert_true(policy_probe_wanted(&f));
	assert_false(policy_decide(&f).hold);
	assert_string_equal(policy_why_not(&f), "probing the wire");
	f.leader = false;
	assert_false(policy_probe_wanted(&f));
	f.leader = true;
	f.fence_ok = false;
	assert_false(policy_probe_wanted(&f));
	f.fence_ok = true;
	f.link_up = false;
	assert_false(policy_probe_wanted(&f));
	f.link_up = true;
	f.conflict = true;
	assert_false(policy_probe_wanted(&f));
	assert_true(policy_decide(&f).campaign);
	assert_false(policy_decide(&f).hold);
	assert_string_equal(policy_why_not(&f), "a host that is no vipd peer answers for the address");
}

/* One foreign answer starts a conflict; POLICY_CONFLICT_CLEAR silent
 * probes in a row end it; a foreign answer in between starts the count
 * again. */
static void test_conflict_step(void **state)
{
	unsigned clear = 0;
	bool c = false;

	(void)state;
	assert_int_equal(POLICY_CONFLICT_CLEAR, 3);
	c = policy_conflict_step(c, &clear, false);
	assert_false(c);
	c = policy_conflict_step(c, &clear, true);
	assert_true(c);
	assert_int_equal(clear, 0);
	c = policy_conflict_step(c, &clear, false);
	assert_true(c);
	c = policy_conflict_step(c, &clear, false);
	assert_true(c);
	c = policy_conflict_step(c, &clear, true);
	assert_true(c);
	for (unsigned i = 1; i < POLICY_CONFLICT_CLEAR; i++) {
		c = policy_conflict_step(c, &clear, false);
		assert_true(c);
	}
	c = policy_conflict_step(c, &clear, false);
	assert_false(c);
	/* No conflict: stays none, the count saturates. */
	for (int i = 0; i < 10; i++)
		c = policy_conflict_step(c, &clear, false);
	assert_false(c);
	assert_int_equal(clear, POLICY_CONFLICT_CLEAR);
}

static void test_lifetime_ends_before_fence(void **state)
{
	(void)state;
	/* TTL 5 s: the fence is 3.4 s after the keepalive was sent (margin
	 * 500 ms and the kernel lag already taken off: session.h). Installed
	 * 10 ms later: 3 whole seconds. */
	assert_int_equal(policy_lifetime_s(1000, 1000 + 3400), 3);
	assert_int_equal(policy_lifetime_s(1010, 1000 + 3400), 3);
	/* The promise: install time + lifetime <= fence, at least 1 s. */
	for (uint64_t now = 0; now < 9000; now += 7) {
		uint64_t fence = 10000;
		uint32_t life = policy_lifetime_s(now, fence);
		assert_true(now + life * 1000u <= fence);
		assert_true(now + life * 1000u + 1000u > fence); /* floor, not less */
		assert_true(life >= 1);
	}
	/* Too close to the fence for even 1 s: nothing. */
	assert_int_equal(policy_lifetime_s(9000, 10000), 1);
	assert_int_equal(policy_lifetime_s(9001, 10000), 0);
	assert_int_equal(policy_lifetime_s(5000, 5500), 0);
	assert_int_equal(policy_lifetime_s(6000, 5500), 0);
}

/* The refresh moves the lifetime's end to fence - slack, is due while the
 * current lifetime still runs (2 slack before its end), and is skipped
 * when it would gain no more than 2 slack. */
static void test_refresh_at(void **state)
{
	const uint64_t slack = POLICY_REFRESH_SLACK_MS;

	(void)state;
	/* TTL 5 s, sent at 0, installed at 5 ms: fence 3400, 3 s lifetime
	 * ending at 3005: refresh at 2300 with 1 s, ending at 3300. */
	assert_int_equal(policy_refresh_at(3400, 3005), 2300);
	/* TTL 3 s: fence 1600, 1 s ending at 1005: refresh at 500. */
	assert_int_equal(policy_refresh_at(1600, 1005), 500);
	/* Installed just after a whole second: the refresh must come 2 slack
	 * before the end, so one second earlier. */
	assert_int_equal(policy_refresh_at(3400, 2450), 1300);
	/* Nothing worth it. */
	assert_int_equal(policy_refresh_at(3500, 3300), 0);
	assert_int_equal(policy_refresh_at(3500, 3500), 0);
	assert_int_equal(policy_refresh_at(3500, 4000), 0);
	for (uint64_t fence = 3000; fence < 6000; fence += 13) {
		for (uint64_t now = 0; now + 1000 <= fence; now += 17) {
			uint64_t end = now + policy_lifetime_s(now, fence) * 1000u;
			uint64_t at = policy_refresh_at(fence, end);
			uint32_t life;

			if (at == 0) {
				assert_true(end + 2 * slack >= fence);
				continue;
			}
			assert_true(at + 2 * slack <= end);    /* while it still runs */
			life = policy_lifetime_s(at, fence);
			assert_true(life >= 1);
			assert_int_equal(at + life * 1000u, fence - slack);
			assert_true(at + life * 1000u > end + slack);
			/* The latest such time: one second later is too late. */
			assert_true(at + 1000u + 2 * slack > end);
		}
	}
}

static void test_fence_margin(void **state)
{
	(void)state;
	assert_int_equal(session_margin_ms(2000), 200);
	assert_int_equal(session_margin_ms(3000), 300);
	assert_int_equal(session_margin_ms(5000), 500);
	assert_int_equal(session_margin_ms(60000), 6000); /* a rate: no cap */
	/* window = TTL - margin - lag: the fence's distance from a send. */
	assert_int_equal(session_window_ms(3000), 1600);
	assert_int_equal(session_window_ms(5000), 3400);
	assert_int_equal(session_window_ms(1000), 0);
	/* The kernel's removal (lifetime end + lag) comes by send + TTL -
	 * margin, before the earliest server-side expiry (send + TTL, less
	 * the clock-rate margin on our clock). */
	for (uint32_t ttl = 3000; ttl <= 60000; ttl += 1000) {
		uint64_t fence = session_window_ms(ttl);
		uint32_t life = policy_lifetime_s(5, fence);

		assert_true(life >= 1);
		assert_true(5 + life * 1000u + POLICY_KERNEL_LAG_MS <= ttl - session_margin_ms(ttl));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holds_only_when_everything_allows),
		cmocka_unit_test(test_campaign_ignores_fence_and_leadership),
		cmocka_unit_test(test_why_not_names_the_first_reason),
		cmocka_unit_test(test_probe_wanted_and_conflict_keeps_campaign),
		cmocka_unit_test(test_conflict_step),
		cmocka_unit_test(test_lifetime_ends_before_fence),
		cmocka_unit_test(test_refresh_at),
		cmocka_unit_test(test_fence_margin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
