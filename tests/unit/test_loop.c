/*
 * test_loop.c - the event loop: timers in order, fds, signals, and
 * callbacks that free or re-arm timers while the loop runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "loop.h"

struct rec {
	struct loop *loop;
	char order[16];
	size_t n;
	struct loop_timer *victim;
};

static void mark(struct rec *r, char c)
{
	if (r->n < sizeof(r->order) - 1)
		r->order[r->n++] = c;
}

static void fire_a(void *arg) { mark(arg, 'a'); }
static void fire_b(void *arg) { mark(arg, 'b'); }
static void fire_stop(void *arg)
{
	struct rec *r = arg;
	mark(r, 's');
	loop_stop(r->loop);
}

static void test_timers_fire_in_deadline_order(void **state)
{
	struct rec r = { 0 };
	struct loop_timer *a, *b, *s;
	uint64_t t0;

	(void)state;
	r.loop = loop_new();
	a = loop_timer_new(r.loop, fire_a, &r);
	b = loop_timer_new(r.loop, fire_b, &r);
	s = loop_timer_new(r.loop, fire_stop, &r);
	/* All three from one clock reading, armed out of order: with a
	 * reading each, a preemption of more than 15 ms between b's and a's
	 * arming would put a's deadline after b's. */
	t0 = loop_now_ms();
	loop_timer_arm_at(b, t0 + 20);
	loop_timer_arm_at(a, t0 + 5);
	loop_timer_arm_at(s, t0 + 40);
	assert_true(loop_timer_armed(a));
	assert_int_equal(loop_run(r.loop), 0);
	assert_string_equal(r.order, "abs");
	assert_true(loop_now_ms() - t0 >= 40);
	assert_false(loop_timer_armed(a));
	assert_int_equal(loop_timer_deadline(a), 0);
	loop_timer_free(a);
	loop_timer_free(b);
	loop_timer_free(s);
	loop_free(r.loop);
}

static void free_victim(void *arg)
{
	struct rec *r = arg;
	mark(r, 'f');
	loop_timer_free(r->victim);
	r->victim = NULL;
}

static void test_callback_may_free_another_timer(void **state)
{
	struct rec r = { 0 };
	struct loop_timer *f, *s;

	(void)state;
	r.loop = loop_new();
	f = loop_timer_new(r.loop, free_victim, &r);
	r.victim = loop_timer_new(r.loop, fire_b, &r);
	s = loop_timer_new(r.loop, fire_stop, &r);
	/* Both due in the same iteration (the loop first runs after the
	 * later deadline): the earlier one frees the other, which must not
	 * run. */
	loop_timer_arm_at(f, loop_now_ms());
	loop_timer_arm_at(r.victim, loop_now_ms() + 1);
	usleep(3000);
	loop_timer_arm(s, 10);
	loop_run(r.loop);
	assert_null(strchr(r.order, 'b'));
	loop_timer_free(f);
	loop_timer_free(s);
	loop_free(r.loop);
}

static void rearm_self(void *arg)
{
	struct rec *r = arg;
	static struct loop_timer *self;

	if (r->victim != NULL) { /* first call: remember ourselves */
		self = r->victim;
		r->victim = NULL;
	}
	mark(r, 'r');
	if (r->n < 3)
		loop_timer_arm(self, 1);
	else
		loop_stop(r->loop);
}

static void test_timer_rearms_itself(void **state)
{
	struct rec r = { 0 };
	struct loop_timer *t;

	(void)state;
	r.loop = loop_new();
	t = loop_timer_new(r.loop, rearm_self, &r);
	r.victim = t;
	loop_timer_arm(t, 0);
	loop_run(r.loop);
	assert_string_equal(r.order, "rrr");
	loop_timer_free(t);
	loop_free(r.loop);
}

struct fdrec {
	struct loop *loop;
	char got[8];
	unsigned events;
};

static void on_readable(int fd, unsigned events, void *arg)
{
	struct fdrec *f = arg;
	ssize_t n = read(fd, f->got, sizeof(f->got) - 1);

	assert_true(n > 0);
	f->events = events;
	loop_fd_del(f->loop, fd);
	loop_stop(f->loop);
}

static void test_fd_readable(void **state)
{
	struct fdrec f = { 0 };
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	f.loop = loop_new();
	assert_int_equal(loop_fd_add(f.loop, p[0], LOOP_READ, on_readable, &f), 0);
	assert_int_equal(loop_fd_add(f.loop, p[0], LOOP_READ, on_readable, &f), -EEXIST);
	assert_int_equal(write(p[1], "hi", 2), 2);
	loop_run(f.loop);
	assert_string_equal(f.got, "hi");
	assert_true(f.events & LOOP_READ);
	assert_int_equal(loop_fd_mod(f.loop, p[0], LOOP_READ), -ENOENT);
	close(p[0]);
	close(p[1]);
	loop_free(f.loop);
}

static void on_usr1(int signo, void *arg)
{
	struct fdrec *f = arg;

	f->got[0] = (char)(signo == SIGUSR1 ? 'U' : '?');
	loop_stop(f->loop);
}

static void test_signal_arrives_through_loop(void **state)
{
	struct fdrec f = { 0 };

	(void)state;
	f.loop = loop_new();
	assert_int_equal(loop_signal(f.loop, SIGUSR1, on_usr1, &f), 0);
	raise(SIGUSR1); /* blocked now: queued for the signalfd */
	loop_run(f.loop);
	assert_int_equal(f.got[0], 'U');
	loop_free(f.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_deadline_order),
		cmocka_unit_test(test_callback_may_free_another_timer),
		cmocka_unit_test(test_timer_rearms_itself),
		cmocka_unit_test(test_fd_readable),
		cmocka_unit_test(test_signal_arrives_through_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
