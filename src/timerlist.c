/*
 * timerlist.c - the timers of one loop (timerlist.h).
 *
 * An unsorted list: a daemon has a few dozen timers at most, and a linear
 * scan per pass is cheaper than keeping a heap in order.
 */
#include "timerlist.h"

#include <stdlib.h>

#include "xmem.h"

struct loop_timer {
	struct timerlist *list;
	loop_timer_cb *cb;
	void *arg;
	uint64_t deadline; /* 0 = disarmed */
	uint64_t armed_pass; /* the pass in which it was last armed */
	struct loop_timer *next;
};

struct timerlist {
	struct loop_timer *head;
	uint64_t pass; /* counts timerlist_new_pass() calls */
};

struct timerlist *timerlist_new(void)
{
	return xcalloc(1, sizeof(struct timerlist));
}

void timerlist_free(struct timerlist *tl)
{
	if (tl == NULL)
		return;
	while (tl->head) {
		struct loop_timer *t = tl->head;
		tl->head = t->next;
		free(t);
	}
	free(tl);
}

struct loop_timer *timerlist_add(struct timerlist *tl, loop_timer_cb *cb, void *arg)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));

	t->list = tl;
	t->cb = cb;
	t->arg = arg;
	t->next = tl->head;
	tl->head = t;
	return t;
}

/* loop.h: the timer calls that need no clock. */

void loop_timer_free(struct loop_timer *t)
{
	if (t == NULL)
		return;
	for (struct loop_timer **pp = &t->list->head; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	free(t);
}

void loop_timer_arm_at(struct loop_timer *t, uint64_t when_ms)
{
	t->deadline = when_ms ? when_ms : 1;
	t->armed_pass = t->list->pass;
}

void loop_timer_disarm(struct loop_timer *t)
{
	t->deadline = 0;
}

int loop_timer_armed(const struct loop_timer *t)
{
	return t->deadline != 0;
}

uint64_t loop_timer_deadline(const struct loop_timer *t)
{
	return t->deadline;
}

/* The list. */

uint64_t timerlist_earliest(const struct timerlist *tl)
{
	uint64_t first = 0;

	for (const struct loop_timer *t = tl->head; t; t = t->next)
		if (t->deadline != 0 && (first == 0 || t->deadline < first))
			first = t->deadline;
	return first;
}

unsigned timerlist_armed(const struct timerlist *tl)
{
	unsigned n = 0;

	for (const struct loop_timer *t = tl->head; t; t = t->next)
		n += t->deadline != 0;
	return n;
}

void timerlist_new_pass(struct timerlist *tl)
{
	tl->pass++;
}

bool timerlist_fire_next(struct timerlist *tl, uint64_t now)
{
	struct loop_timer *due = NULL;

	for (struct loop_timer *t = tl->head; t; t = t->next)
		if (t->deadline != 0 && t->deadline <= now &&
		    t->armed_pass != tl->pass &&
		    (due == NULL || t->deadline < due->deadline))
			due = t;
	if (due == NULL)
		return false;
	due->deadline = 0;
	due->cb(due->arg);
	return true;
}
