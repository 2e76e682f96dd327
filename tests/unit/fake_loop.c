/*
 * fake_loop.c - loop.h with a virtual clock, for unit tests (fake_loop.h).
 *
 * Defines every symbol of loop.h that loop.o defines, so loop.o is never
 * taken from the archive; the timers are the same timerlist (timerlist.c)
 * that loop.c uses, driven with virtual time, so they behave as loop.c's:
 * one-shot, re-arming replaces the deadline, arming at 0 means "now",
 * firing disarms first. Each timer fired is a pass of its own, as if the
 * loop went round with no fd ready in between.
 */
#include "fake_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "loop.h"
#include "timerlist.h"
#include "xmem.h"

#define FAKE_LOOP_MAX_SIGS 16
/* Timers fired without the clock moving before we call it a busy loop. */
#define FAKE_LOOP_SPIN_LIMIT 100000

struct fake_sig {
	int signo;
	loop_signal_cb *cb;
	void *arg;
};

struct loop {
	struct timerlist *timers;
	bool stop;
	struct fake_sig sigs[FAKE_LOOP_MAX_SIGS];
	size_t nsigs;
};

static uint64_t now_ms = FAKE_LOOP_T0;
static uint64_t seq;
static struct loop *cur;
static fake_loop_runner *runner;
static void *runner_arg;

static void die(const char *msg)
{
	fprintf(stderr, "fake_loop: %s\n", msg);
	abort();
}

void fake_loop_reset(void)
{
	/* A loop still alive here belongs to a test that failed half-way
	 * (cmocka jumped out of it): drop it, so later tests still run. */
	cur = NULL;
	now_ms = FAKE_LOOP_T0;
	seq = 0;
	runner = NULL;
	runner_arg = NULL;
}

uint64_t fake_seq_next(void)
{
	return ++seq;
}

uint64_t loop_now_ms(void)
{
	return now_ms;
}

struct loop *loop_new(void)
{
	if (cur != NULL)
		die("only one loop at a time");
	cur = xcalloc(1, sizeof(*cur));
	cur->timers = timerlist_new();
	return cur;
}

void loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	timerlist_free(l->timers);
	if (l == cur)
		cur = NULL;
	free(l);
}

int loop_fd_add(struct loop *l, int fd, unsigned events, loop_fd_cb *cb, void *arg)
{
	(void)l, (void)fd, (void)events, (void)cb, (void)arg;
	return 0;
}

int loop_fd_mod(struct loop *l, int fd, unsigned events)
{
	(void)l, (void)fd, (void)events;
	return 0;
}

void loop_fd_del(struct loop *l, int fd)
{
	(void)l, (void)fd;
}

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb *cb, void *arg)
{
	return timerlist_add(l->timers, cb, arg);
}

void loop_timer_arm(struct loop_timer *t, uint64_t delay_ms)
{
	loop_timer_arm_at(t, now_ms + delay_ms);
}

int loop_signal(struct loop *l, int signo, loop_signal_cb *cb, void *arg)
{
	if (l->nsigs == FAKE_LOOP_MAX_SIGS)
		return -ENOSPC;
	l->sigs[l->nsigs].signo = signo;
	l->sigs[l->nsigs].cb = cb;
	l->sigs[l->nsigs].arg = arg;
	l->nsigs++;
	return 0;
}

int loop_run(struct loop *l)
{
	l->stop = false;
	if (runner != NULL)
		runner(l, runner_arg);
	return l->stop ? 0 : -ETIMEDOUT;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

/* ---- the test side ------------------------------------------------------- */

void fake_loop_advance_to(uint64_t when_ms)
{
	unsigned spins = 0;
	uint64_t last = now_ms;

	if (when_ms < now_ms)
		when_ms = now_ms;
	while (cur != NULL && !cur->stop) {
		uint64_t due = timerlist_earliest(cur->timers);

		if (due == 0 || due > when_ms)
			break;
		if (due > now_ms)
			now_ms = due;
		if (now_ms != last) {
			last = now_ms;
			spins = 0;
		} else if (++spins > FAKE_LOOP_SPIN_LIMIT) {
			die("timers keep firing without time moving (busy loop)");
		}
		timerlist_new_pass(cur->timers);
		(void)timerlist_fire_next(cur->timers, now_ms);
	}
	now_ms = when_ms;
}

void fake_loop_advance(uint64_t ms)
{
	fake_loop_advance_to(now_ms + ms);
}

void fake_loop_run_due(void)
{
	fake_loop_advance_to(now_ms);
}

uint64_t fake_loop_next_deadline(void)
{
	return cur ? timerlist_earliest(cur->timers) : 0;
}

unsigned fake_loop_armed(void)
{
	return cur ? timerlist_armed(cur->timers) : 0;
}

bool fake_loop_raise(int signo)
{
	bool found = false;

	if (cur == NULL)
		return false;
	for (size_t i = 0; i < cur->nsigs; i++) {
		if (cur->sigs[i].signo == signo) {
			found = true;
			cur->sigs[i].cb(signo, cur->sigs[i].arg);
		}
	}
	return found;
}

void fake_loop_set_runner(fake_loop_runner *fn, void *arg)
{
	runner = fn;
	runner_arg = arg;
}

bool fake_loop_stopped(void)
{
	return cur != NULL && cur->stop;
}
