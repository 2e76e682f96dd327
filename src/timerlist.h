/*
 * timerlist.h - the timers of one loop: one-shot timers, each armed with
 * an absolute deadline, and "fire what is due at time T". A min-heap
 * (timerlist.c): arm, disarm and free O(log n), the earliest deadline and
 * the number armed O(1), so thousands of timers (256 VIPs) cost little.
 *
 * It knows nothing of clocks: loop.c drives it with CLOCK_BOOTTIME time,
 * the unit tests' fake loop with virtual time, so both give timers the
 * same semantics. A timerlist entry is loop.h's opaque struct loop_timer,
 * and timerlist.c implements the calls of loop.h that need no clock
 * (loop_timer_free, _arm_at, _disarm, _armed, _deadline; contracts in
 * loop.h). loop_timer_new and loop_timer_arm stay with each loop, which
 * knows its list and its clock. A timer armed during a pass (see
 * timerlist_fire_next) does not fire before the next pass.
 */
#ifndef VIPD_TIMERLIST_H
#define VIPD_TIMERLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

struct timerlist;

/* An empty list; never NULL. */
struct timerlist *timerlist_new(void);
/* NULL-safe. Frees every timer still on the list as well. */
void timerlist_free(struct timerlist *tl);

/* A new disarmed timer on tl that will call cb(arg); never NULL. */
struct loop_timer *timerlist_add(struct timerlist *tl, loop_timer_cb *cb, void *arg);
/* The earliest deadline of an armed timer, 0 if none is armed (timers
 * armed in this pass and already due count: they are armed). */
uint64_t timerlist_earliest(const struct timerlist *tl);
/* Number of timers armed now. */
unsigned timerlist_armed(const struct timerlist *tl);

/* Start a pass: timers armed from now on wait for the next pass. */
void timerlist_new_pass(struct timerlist *tl);
/* Of the timers due at now (deadline <= now) and not armed during this
 * pass, disarm the one with the earliest deadline (of equal deadlines,
 * the timer created last) and call it back. Returns false if there is
 * none. The callback may free or re-arm any timer of the list, so call
 * again to fire the next one. */
bool timerlist_fire_next(struct timerlist *tl, uint64_t now);

#endif
