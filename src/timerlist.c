/*
 * timerlist.c - the timers of one loop (timerlist.h).
 *
 * A binary min-heap: an array of timer pointers ordered by deadline, each
 * timer knowing its index, so arm, re-arm, disarm and free are O(log n),
 * the earliest deadline is O(1) and firing a due timer is O(log n). At 256
 * VIPs a node has some 2,500 timers, and the unsorted list this replaced
 * scanned all of them several times per loop pass (timerlist_fire_next
 * was 20-21 % of vipd's samples in a 256-VIP start; docs/design.md,
 * "Timers at scale").
 *
 * The pass rule (timerlist.h) costs O(log n) per timer it applies to: a
 * timer armed during the current pass that is due is moved, when it
 * reaches the top of the heap, to a second heap ("aside") and goes back
 * into the main heap at the next timerlist_new_pass. Timers set aside are
 * still armed: timerlist_earliest and timerlist_armed count them, and
 * re-arming, disarming or freeing one takes it out of the aside heap.
 *
 * Equal deadlines fire the timer created last first, as the list did (it
 * put new timers at its head and took the first of the earliest): the
 * order stays what it was, and it is deterministic.
 *
 * Every timer, armed or not, is also on a doubly linked list of the
 * timerlist's timers, so timerlist_free frees them all and loop_timer_free
 * unlinks in O(1).
 */
#include "timerlist.h"

#include <stdlib.h>
#include <string.h>

#include "xmem.h"

enum timer_where { T_NONE, T_MAIN, T_ASIDE };

struct heap {
	struct loop_timer **v;
	size_t n, cap;
};

struct loop_timer {
	struct timerlist *list;
	loop_timer_cb *cb;
	void *arg;
	uint64_t deadline; /* 0 = disarmed */
	uint64_t armed_pass; /* the pass in which it was last armed */
	uint64_t seq; /* creation order: equal deadlines fire the larger first */
	enum timer_where where; /* T_NONE exactly when disarmed */
	size_t idx; /* index in the heap `where` names */
	struct loop_timer *prev, *next; /* all of the list's timers */
};

struct timerlist {
	struct heap main; /* armed timers, but for those set aside */
	struct heap aside; /* due timers armed in this pass */
	struct loop_timer *all; /* every timer, armed or not */
	uint64_t pass; /* counts timerlist_new_pass() calls */
	uint64_t seq; /* timers created */
};

/* The heap. */

/* a fires before b: the earlier deadline, then the timer created last. */
static bool before(const struct loop_timer *a, const struct loop_timer *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq > b->seq;
}

static void heap_set(struct heap *h, size_t i, struct loop_timer *t)
{
	h->v[i] = t;
	t->idx = i;
}

static void sift_up(struct heap *h, size_t i)
{
	struct loop_timer *t = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(t, h->v[parent]))
			break;
		heap_set(h, i, h->v[parent]);
		i = parent;
	}
	heap_set(h, i, t);
}

static void sift_down(struct heap *h, size_t i)
{
	struct loop_timer *t = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(h->v[c + 1], h->v[c]))
			c++;
		if (!before(h->v[c], t))
			break;
		heap_set(h, i, h->v[c]);
		i = c;
	}
	heap_set(h, i, t);
}

static void heap_push(struct heap *h, struct loop_timer *t)
{
	if (h->n == h->cap) {
		size_t old = h->cap;

		h->cap = h->cap ? 2 * h->cap : 64;
		h->v = xrealloc(h->v, h->cap * sizeof(h->v[0]));
		/* the unused tail defined too: nothing reads it, but a block
		 * handed back to free() is then all defined (test_etcd scans
		 * every freed block for secrets, under valgrind in CI) */
		memset(h->v + old, 0, (h->cap - old) * sizeof(h->v[0]));
	}
	h->v[h->n] = t;
	t->idx = h->n++;
	sift_up(h, t->idx);
}

/* The timer at i got another key: move it up or down into place. */
static void heap_fix(struct heap *h, size_t i)
{
	if (i > 0 && before(h->v[i], h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

static void heap_remove(struct heap *h, size_t i)
{
	struct loop_timer *last = h->v[--h->n];

	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_fix(h, i);
}

/* Take t out of whichever heap holds it; it stays armed (deadline kept). */
static void unqueue(struct loop_timer *t)
{
	if (t->where == T_MAIN)
		heap_remove(&t->list->main, t->idx);
	else if (t->where == T_ASIDE)
		heap_remove(&t->list->aside, t->idx);
	t->where = T_NONE;
}

/* The list. */

struct timerlist *timerlist_new(void)
{
	return xcalloc(1, sizeof(struct timerlist));
}

void timerlist_free(struct timerlist *tl)
{
	if (tl == NULL)
		return;
	while (tl->all) {
		struct loop_timer *t = tl->all;
		tl->all = t->next;
		free(t);
	}
	free(tl->main.v);
	free(tl->aside.v);
	free(tl);
}

struct loop_timer *timerlist_add(struct timerlist *tl, loop_timer_cb *cb, void *arg)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));

	t->list = tl;
	t->cb = cb;
	t->arg = arg;
	t->seq = ++tl->seq;
	t->where = T_NONE;
	t->next = tl->all;
	if (tl->all)
		tl->all->prev = t;
	tl->all = t;
	return t;
}

/* loop.h: the timer calls that need no clock. */

void loop_timer_free(struct loop_timer *t)
{
	if (t == NULL)
		return;
	unqueue(t);
	if (t->prev)
		t->prev->next = t->next;
	else
		t->list->all = t->next;
	if (t->next)
		t->next->prev = t->prev;
	free(t);
}

void loop_timer_arm_at(struct loop_timer *t, uint64_t when_ms)
{
	t->deadline = when_ms ? when_ms : 1;
	t->armed_pass = t->list->pass;
	if (t->where == T_MAIN) { /* re-armed: moved in place */
		heap_fix(&t->list->main, t->idx);
		return;
	}
	unqueue(t);
	t->where = T_MAIN;
	heap_push(&t->list->main, t);
}

void loop_timer_disarm(struct loop_timer *t)
{
	unqueue(t);
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

uint64_t timerlist_earliest(const struct timerlist *tl)
{
	uint64_t first = 0;

	if (tl->main.n)
		first = tl->main.v[0]->deadline;
	if (tl->aside.n && (first == 0 || tl->aside.v[0]->deadline < first))
		first = tl->aside.v[0]->deadline;
	return first;
}

unsigned timerlist_armed(const struct timerlist *tl)
{
	return (unsigned)(tl->main.n + tl->aside.n);
}

void timerlist_new_pass(struct timerlist *tl)
{
	while (tl->aside.n) {
		struct loop_timer *t = tl->aside.v[tl->aside.n - 1];

		tl->aside.n--; /* the last element: no sifting */
		t->where = T_MAIN;
		heap_push(&tl->main, t);
	}
	tl->pass++;
}

bool timerlist_fire_next(struct timerlist *tl, uint64_t now)
{
	struct loop_timer *due;

	for (;;) {
		if (tl->main.n == 0)
			return false;
		due = tl->main.v[0];
		if (due->deadline > now)
			return false;
		if (due->armed_pass != tl->pass)
			break;
		/* Armed in this pass: it waits for the next one. */
		heap_remove(&tl->main, 0);
		due->where = T_ASIDE;
		heap_push(&tl->aside, due);
	}
	heap_remove(&tl->main, 0);
	due->where = T_NONE;
	due->deadline = 0;
	due->cb(due->arg);
	return true;
}
