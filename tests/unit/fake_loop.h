/*
 * fake_loop.h - the test side of fake_loop.c, a loop.h with virtual time.
 *
 * Unit tests of the state machines link fake_loop.o before libvipd.a, so
 * the linker takes every loop_* symbol of loop.o from the fake and never
 * pulls loop.o out of the archive; the timers are timerlist.o's, the same
 * code loop.c runs. Time stands still until the test moves it:
 * loop_now_ms() returns the virtual clock, and fake_loop_advance() moves
 * it forward, firing each due timer at its own deadline, earliest first.
 * One loop exists at a time. fds are accepted and ignored (nothing in the
 * faked modules uses them); signals are delivered by fake_loop_raise().
 */
#ifndef VIPD_FAKE_LOOP_H
#define VIPD_FAKE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

/* The virtual clock starts here at every fake_loop_reset(): far from 0,
 * since 0 means "disarmed" or "no fence" in the code under test. */
#define FAKE_LOOP_T0 1000000u

/* Back to FAKE_LOOP_T0, no runner, sequence counter to 0. A loop still
 * alive (a test that failed half-way) is forgotten, not freed. */
void fake_loop_reset(void);

/* Move the clock forward by ms, firing every timer that falls due on the
 * way at its deadline (loop_now_ms() equals the deadline inside the
 * callback), earliest first, including timers armed by those callbacks.
 * Stops firing once loop_stop() was called. Aborts if timers keep firing
 * without time moving (a busy loop in the code under test). */
void fake_loop_advance(uint64_t ms);
/* Same, up to an absolute time (no-op if it is in the past). */
void fake_loop_advance_to(uint64_t when_ms);
/* Fire the timers due now, without moving the clock. */
void fake_loop_run_due(void);

/* The earliest deadline of an armed timer, 0 if none is armed. */
uint64_t fake_loop_next_deadline(void);
/* Number of timers armed now. */
unsigned fake_loop_armed(void);

/* Deliver signo to the callback loop_signal() registered for it. Returns
 * false if none is registered. */
bool fake_loop_raise(int signo);

/*
 * loop_run() calls fn(loop, arg) once and returns: 0 if loop_stop() was
 * called by then, -ETIMEDOUT if not (the scenario ended with the loop
 * still running). Without a runner loop_run returns -ETIMEDOUT at once.
 */
typedef void fake_loop_runner(struct loop *l, void *arg);
void fake_loop_set_runner(fake_loop_runner *fn, void *arg);
/* True once loop_stop() was called on the current loop. */
bool fake_loop_stopped(void);

/* A process-wide order of recorded events, shared by every fake (etcd
 * requests, netlink changes, announcements), so a test can assert that
 * one thing happened before another in the same millisecond. */
uint64_t fake_seq_next(void);

#endif
