/*
 * test_timerlist.c - the timers of one loop (timerlist.c, a min-heap)
 * driven with virtual time: order by deadline, equal deadlines, arm at 0,
 * the pass rule (a timer armed during a pass waits for the next one),
 * callbacks that free or re-arm timers, disarm of a due timer, and 10,000
 * random operations checked against a plain-list reference model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "timerlist.h"

/* The fixed-scenario tests: each timer is a slot naming what it does. */

enum action { A_NONE, A_FREE_OTHER, A_FREE_SELF, A_REARM_SELF0, A_REARM_OTHER, A_ARM_OTHER0 };

struct ctx;
struct slot {
	struct ctx *c;
	char name;
	enum action act;
	struct loop_timer *t;
	struct slot *other;
	uint64_t when; /* A_REARM_OTHER: the other's new deadline */
};

struct ctx {
	struct timerlist *tl;
	char order[64];
	size_t n;
};

static void fired(void *arg)
{
	struct slot *s = arg;
	struct ctx *c = s->c;

	if (c->n < sizeof(c->order) - 1)
		c->order[c->n++] = s->name;
	switch (s->act) {
	case A_NONE:
		break;
	case A_FREE_OTHER:
		loop_timer_free(s->other->t);
		s->other->t = NULL;
		break;
	case A_FREE_SELF:
		loop_timer_free(s->t);
		s->t = NULL;
		break;
	case A_REARM_SELF0:
		loop_timer_arm_at(s->t, 0);
		break;
	case A_REARM_OTHER:
		loop_timer_arm_at(s->other->t, s->when);
		break;
	case A_ARM_OTHER0:
		loop_timer_arm_at(s->other->t, 0);
		break;
	}
}

static void slot_init(struct ctx *c, struct slot *s, char name)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->name = name;
	s->t = timerlist_add(c->tl, fired, s);
}

/* n slots named 'a', 'b', ... in that order of creation. */
static void slots_init(struct ctx *c, struct slot *s, int n)
{
	for (int i = 0; i < n; i++)
		slot_init(c, &s[i], (char)('a' + i));
}

/* One pass at now: fire everything due; returns how many fired. */
static unsigned pass(struct ctx *c, uint64_t now)
{
	unsigned k = 0;

	timerlist_new_pass(c->tl);
	while (timerlist_fire_next(c->tl, now))
		k++;
	return k;
}

static void test_order_by_deadline(void **state)
{
	struct ctx c = { .tl = timerlist_new() };
	struct slot s[5];

	(void)state;
	slots_init(&c, s, 5);
	loop_timer_arm_at(s[3].t, 40);
	loop_timer_arm_at(s[0].t, 10);
	loop_timer_arm_at(s[4].t, 50);
	loop_timer_arm_at(s[1].t, 20);
	loop_timer_arm_at(s[2].t, 30);
	assert_int_equal(timerlist_armed(c.tl), 5);
	assert_int_equal(timerlist_earliest(c.tl), 10);
	assert_int_equal(pass(&c, 5), 0);
	assert_int_equal(pass(&c, 25), 2);
	assert_string_equal(c.order, "ab");
	assert_int_equal(timerlist_earliest(c.tl), 30);
	/* re-arming replaces the deadline, both later and earlier */
	loop_timer_arm_at(s[2].t, 60);
	loop_timer_arm_at(s[4].t, 35);
	assert_int_equal(timerlist_earliest(c.tl), 35);
	assert_int_equal(pass(&c, 100), 3);
	assert_string_equal(c.order, "abedc");
	assert_int_equal(timerlist_armed(c.tl), 0);
	assert_int_equal(timerlist_earliest(c.tl), 0);
	assert_false(loop_timer_armed(s[0].t));
	assert_int_equal(loop_timer_deadline(s[0].t), 0);
	timerlist_free(c.tl);
}

static void test_equal_deadlines_created_last_first(void **state)
{
	struct ctx c = { .tl = timerlist_new() };
	struct slot s[4];

	(void)state;
	slots_init(&c, s, 4);
	/* armed in another order than created: creation order decides */
	loop_timer_arm_at(s[1].t, 7);
	loop_timer_arm_at(s[3].t, 7);
	loop_timer_arm_at(s[0].t, 7);
	loop_timer_arm_at(s[2].t, 7);
	assert_int_equal(pass(&c, 7), 4);
	assert_string_equal(c.order, "dcba");
	timerlist_free(c.tl);
}

static void test_arm_at_zero_is_deadline_one(void **state)
{
	struct ctx c = { .tl = timerlist_new() };
	struct slot s;

	(void)state;
	slot_init(&c, &s, 'z');
	loop_timer_arm_at(s.t, 0);
	assert_true(loop_timer_armed(s.t));
	assert_int_equal(loop_timer_deadline(s.t), 1);
	assert_int_equal(timerlist_earliest(c.tl), 1);
	assert_int_equal(pass(&c, 0), 0); /* not due at 0 */
	assert_int_equal(pass(&c, 1), 1);
	assert_string_equal(c.order, "z");
	timerlist_free(c.tl);
}

static void test_armed_in_pass_waits_for_next(void **state)
{
	struct ctx c = { .tl = timerlist_new() };
	struct slot s, o;

	(void)state;
	slot_init(&c, &s, 'r');
	slot_init(&c, &o, 'o');
	/* armed before the first pass, so the first pass may fire it */
	loop_timer_arm_at(s.t, 0);
	s.act = A_REARM_SELF0;
	/* a timer armed during a pass, due: not fired in that pass */
	timerlist_new_pass(c.tl);
	loop_timer_arm_at(o.t, 5);
	assert_true(timerlist_fire_next(c.tl, 100));
	assert_string_equal(c.order, "r"); /* r fired, not o */
	/* r re-armed itself at 0 in its callback: no spin in this pass */
	assert_false(timerlist_fire_next(c.tl, 100));
	assert_false(timerlist_fire_next(c.tl, 100));
	/* both set aside, still armed and counted */
	assert_int_equal(timerlist_armed(c.tl), 2);
	assert_int_equal(timerlist_earliest(c.tl), 1);
	assert_true(loop_timer_armed(o.t));
	assert_int_equal(loop_timer_deadline(o.t), 5);
	/* next pass: both fire, earliest first; r re-arms itself again */
	assert_int_equal(pass(&c, 100), 2);
	assert_string_equal(c.order, "rro");
	assert_int_equal(timerlist_armed(c.tl), 1);
	assert_int_equal(pass(&c, 100), 1);
	assert_string_equal(c.order, "rror");
	/* a timer set aside may be disarmed or re-armed later meanwhile */
	timerlist_new_pass(c.tl);
	loop_timer_arm_at(o.t, 3);
	assert_true(timerlist_fire_next(c.tl, 100)); /* r */
	assert_false(timerlist_fire_next(c.tl, 100));
	assert_int_equal(timerlist_armed(c.tl), 2);
	loop_timer_disarm(o.t);
	assert_int_equal(timerlist_armed(c.tl), 1);
	assert_int_equal(timerlist_earliest(c.tl), 1);
	s.act = A_NONE;
	assert_int_equal(pass(&c, 100), 1);
	assert_string_equal(c.order, "rrorrr");
	assert_int_equal(timerlist_armed(c.tl), 0);
	/* a callback arming another timer at 0: it waits too */
	s.act = A_ARM_OTHER0;
	s.other = &o;
	loop_timer_arm_at(s.t, 10);
	assert_int_equal(pass(&c, 10), 1);
	assert_true(loop_timer_armed(o.t));
	assert_int_equal(pass(&c, 10), 1);
	assert_string_equal(c.order, "rrorrrro");
	timerlist_free(c.tl);
}

static void test_callback_frees_and_rearms(void **state)
{
	struct ctx c = { .tl = timerlist_new() };
	struct slot s[6];

	(void)state;
	slots_init(&c, s, 6);
	/* a frees b (due after it), c frees itself, d re-arms e later,
	 * f re-arms a (already fired) to a due deadline: waits. */
	s[0].act = A_FREE_OTHER;
	s[0].other = &s[1];
	s[2].act = A_FREE_SELF;
	s[3].act = A_REARM_OTHER;
	s[3].other = &s[4];
	s[3].when = 500;
	s[5].act = A_REARM_OTHER;
	s[5].other = &s[0];
	s[5].when = 2;
	for (int i = 0; i < 6; i++)
		loop_timer_arm_at(s[i].t, (uint64_t)(10 + i));
	assert_int_equal(timerlist_armed(c.tl), 6);
	assert_int_equal(pass(&c, 100), 4);
	assert_string_equal(c.order, "acdf");
	assert_null(s[1].t);
	assert_null(s[2].t);
	assert_int_equal(loop_timer_deadline(s[4].t), 500);
	assert_int_equal(loop_timer_deadline(s[0].t), 2);
	assert_int_equal(timerlist_armed(c.tl), 2);
	assert_int_equal(timerlist_earliest(c.tl), 2);
	s[0].act = A_NONE;
	assert_int_equal(pass(&c, 100), 1);
	assert_string_equal(c.order, "acdfa");
	assert_int_equal(pass(&c, 499), 0);
	assert_int_equal(pass(&c, 500), 1);
	assert_string_equal(c.order, "acdfae");
	timerlist_free(c.tl);
}

static void test_disarm_of_due_timer(void **state)
{
	struct ctx c = { .tl = timerlist_new() };
	struct slot s[3];

	(void)state;
	slots_init(&c, s, 3);
	loop_timer_arm_at(s[0].t, 1);
	loop_timer_arm_at(s[1].t, 2);
	loop_timer_arm_at(s[2].t, 3);
	loop_timer_disarm(s[1].t);
	loop_timer_disarm(s[1].t); /* twice is fine */
	assert_int_equal(timerlist_armed(c.tl), 2);
	assert_int_equal(pass(&c, 10), 2);
	assert_string_equal(c.order, "ac");
	/* freeing a disarmed timer, and NULL */
	loop_timer_free(s[1].t);
	loop_timer_free(NULL);
	timerlist_free(c.tl);
}

/* timerlist_free with timers armed, set aside and disarmed: nothing leaks
 * (make asan-check, valgrind). */
static void test_free_with_timers_armed_and_set_aside(void **state)
{
	struct ctx c = { .tl = timerlist_new() };
	struct slot s[40];

	(void)state;
	for (int i = 0; i < 40; i++)
		slot_init(&c, &s[i], 'x');
	timerlist_new_pass(c.tl);
	for (int i = 0; i < 30; i++)
		loop_timer_arm_at(s[i].t, (uint64_t)i);
	assert_false(timerlist_fire_next(c.tl, 1000)); /* all set aside */
	assert_int_equal(timerlist_armed(c.tl), 30);
	assert_int_equal(timerlist_earliest(c.tl), 1);
	for (int i = 30; i < 35; i++)
		loop_timer_arm_at(s[i].t, 5000);
	timerlist_free(c.tl);
	timerlist_free(NULL);
}

/* Random operations against a reference model: the plain list's rules. */

#define NSLOT 64
#define NOPS 10000

struct model {
	bool live;
	uint64_t deadline; /* 0 = disarmed */
	uint64_t armed_pass;
	uint64_t seq;
};

struct rnd {
	struct timerlist *tl;
	struct loop_timer *t[NSLOT];
	struct model m[NSLOT];
	uint64_t pass, seq, now, rng;
	int fired; /* the slot the last callback ran for, -1 none */
	unsigned nfired, nops;
};

static uint64_t next_rand(struct rnd *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

static void rnd_fire(void *arg);

static void op_new(struct rnd *r, int i)
{
	r->t[i] = timerlist_add(r->tl, rnd_fire, &r->t[i]);
	r->m[i] = (struct model){ .live = true, .seq = ++r->seq };
}

static void op_arm(struct rnd *r, int i, uint64_t when)
{
	loop_timer_arm_at(r->t[i], when);
	r->m[i].deadline = when ? when : 1;
	r->m[i].armed_pass = r->pass;
}

/* One random operation on slot i (arm near now, disarm, free + new). */
static void op_random(struct rnd *r, int i)
{
	uint64_t x = next_rand(r) % 100;

	r->nops++;
	if (!r->m[i].live) {
		op_new(r, i);
		return;
	}
	if (x < 10) {
		loop_timer_free(r->t[i]);
		r->t[i] = NULL;
		r->m[i].live = false;
	} else if (x < 30) {
		loop_timer_disarm(r->t[i]);
		r->m[i].deadline = 0;
	} else if (x < 40) {
		op_arm(r, i, 0);
	} else {
		/* due or not, often equal to others' deadlines */
		uint64_t lo = r->now > 20 ? r->now - 20 : 0;
		op_arm(r, i, lo + next_rand(r) % 60);
	}
}

/* The random test's state, for its callbacks (the tests run one at a time). */
static struct rnd *cur_rnd;

static void rnd_fire(void *arg)
{
	struct rnd *r = cur_rnd;
	int i = (int)((struct loop_timer **)arg - r->t);
	unsigned k = (unsigned)(next_rand(r) % 3);

	r->fired = i;
	r->nfired++;
	/* a callback does up to two random operations, on itself or others */
	for (unsigned j = 0; j < k; j++) {
		int o = (next_rand(r) % 4 == 0) ? i : (int)(next_rand(r) % NSLOT);
		op_random(r, o);
	}
}

/* The model's next timer to fire: the list's scan. */
static int model_next(const struct rnd *r)
{
	int best = -1;

	for (int i = 0; i < NSLOT; i++) {
		const struct model *m = &r->m[i];

		if (!m->live || m->deadline == 0 || m->deadline > r->now ||
		    m->armed_pass == r->pass)
			continue;
		if (best < 0 || m->deadline < r->m[best].deadline ||
		    (m->deadline == r->m[best].deadline && m->seq > r->m[best].seq))
			best = i;
	}
	return best;
}

static void model_check(const struct rnd *r)
{
	uint64_t first = 0;
	unsigned armed = 0;

	for (int i = 0; i < NSLOT; i++) {
		const struct model *m = &r->m[i];

		if (!m->live)
			continue;
		assert_int_equal(loop_timer_deadline(r->t[i]), m->deadline);
		assert_int_equal(loop_timer_armed(r->t[i]), m->deadline != 0);
		if (m->deadline == 0)
			continue;
		armed++;
		if (first == 0 || m->deadline < first)
			first = m->deadline;
	}
	assert_int_equal(timerlist_armed(r->tl), armed);
	assert_int_equal(timerlist_earliest(r->tl), first);
}

static void test_random_against_model(void **state)
{
	static struct rnd r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.rng = 0x9e3779b97f4a7c15ull;
	r.tl = timerlist_new();
	cur_rnd = &r;
	r.now = 1;
	for (int i = 0; i < NSLOT; i++) {
		r.t[i] = timerlist_add(r.tl, rnd_fire, &r.t[i]);
		r.m[i] = (struct model){ .live = true, .seq = ++r.seq };
	}
	while (r.nops < NOPS) {
		/* some operations outside any callback */
		unsigned k = (unsigned)(next_rand(&r) % 8);

		for (unsigned j = 0; j < k; j++)
			op_random(&r, (int)(next_rand(&r) % NSLOT));
		model_check(&r);
		/* a pass; time moves on by 0..9 ms */
		r.now += next_rand(&r) % 10;
		timerlist_new_pass(r.tl);
		r.pass++;
		for (;;) {
			int want = model_next(&r);

			r.fired = -1;
			if (want >= 0)
				r.m[want].deadline = 0;
			assert_int_equal(timerlist_fire_next(r.tl, r.now), want >= 0);
			assert_int_equal(r.fired, want);
			model_check(&r);
			if (want < 0)
				break;
		}
	}
	assert_true(r.nfired > 1000);
	timerlist_free(r.tl);
	cur_rnd = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_by_deadline),
		cmocka_unit_test(test_equal_deadlines_created_last_first),
		cmocka_unit_test(test_arm_at_zero_is_deadline_one),
		cmocka_unit_test(test_armed_in_pass_waits_for_next),
		cmocka_unit_test(test_callback_frees_and_rearms),
		cmocka_unit_test(test_disarm_of_due_timer),
		cmocka_unit_test(test_free_with_timers_armed_and_set_aside),
		cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
