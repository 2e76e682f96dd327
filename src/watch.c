/*
 * watch.c - one watch stream over the election prefix, demultiplexed by
 * key to the elections (watch.h says why and the invariant it keeps).
 */
#include "watch.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "etcd_codec.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

/* What a subscription is owed, delivered by flush() in this order. */
#define DUE_CREATED 1u
#define DUE_DELETED 2u
#define DUE_ENDED   4u

struct watch_sub {
	struct watch *w;
	char *key;             /* base64, as etcd sends it */
	int64_t from_rev;
	unsigned due;
	char why[160];         /* WATCH_ENDED's reason */
	watch_cb *cb;
	void *arg;
	struct watch_sub *prev, *next;
};

struct ring_entry {
	char *key;             /* base64 */
	int64_t rev;           /* the delete's mod_revision */
};

struct watch {
	struct loop *loop;
	struct etcd *etcd;
	char *prefix;
	char *prefix_end;
	struct etcd_req *stream;
	bool created;          /* the open stream said "created" */
	int64_t floor;         /* see watch.h: valid while stream != NULL */
	struct ring_entry ring[WATCH_RING];
	size_t ring_head;      /* the oldest entry */
	size_t ring_n;
	struct watch_sub *subs;
	unsigned n_subs;
	unsigned opened;
	struct loop_timer *flush_timer;
};

static void ring_clear(struct watch *w)
{
	for (size_t i = 0; i < w->ring_n; i++) {
		free(w->ring[(w->ring_head + i) % WATCH_RING].key);
		w->ring[(w->ring_head + i) % WATCH_RING].key = NULL;
	}
	w->ring_head = 0;
	w->ring_n = 0;
}

/* Keep a delete; a full ring drops its oldest and raises floor to it. */
static void ring_add(struct watch *w, const char *key, int64_t rev)
{
	struct ring_entry *e;

	if (w->ring_n == WATCH_RING) {
		e = &w->ring[w->ring_head];
		if (e->rev > w->floor)
			w->floor = e->rev;
		free(e->key);
		e->key = NULL;
		w->ring_head = (w->ring_head + 1) % WATCH_RING;
		w->ring_n--;
	}
	e = &w->ring[(w->ring_head + w->ring_n) % WATCH_RING];
	e->key = xstrdup(key);
	e->rev = rev;
	w->ring_n++;
}

static bool ring_has(const struct watch *w, const char *key, int64_t from_rev)
{
	for (size_t i = 0; i < w->ring_n; i++) {
		const struct ring_entry *e = &w->ring[(w->ring_head + i) % WATCH_RING];

		if (e->rev >= from_rev && strcmp(e->key, key) == 0)
			return true;
	}
	return false;
}

static void sub_unlink(struct watch_sub *s)
{
	struct watch *w = s->w;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->subs = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	w->n_subs--;
	free(s->key);
	free(s);
}

/*
 * Deliver what the subscriptions are owed, one callback at a time; after
 * each the list is scanned again from its head, since a callback may close
 * its own subscription or open another.
 */
static void flush(struct watch *w)
{
	for (;;) {
		struct watch_sub *s;
		watch_cb *cb;
		void *arg;

		for (s = w->subs; s != NULL && s->due == 0; s = s->next)
			;
		if (s == NULL)
			return;
		cb = s->cb;
		arg = s->arg;
		if (s->due & DUE_ENDED) {
			char why[sizeof(s->why)];

			memcpy(why, s->why, sizeof(why));
			sub_unlink(s);
			cb(arg, WATCH_ENDED, why);
		} else if (s->due & DUE_CREATED) {
			s->due &= ~DUE_CREATED;
			cb(arg, WATCH_CREATED, "");
		} else {
			s->due &= ~DUE_DELETED;
			cb(arg, WATCH_DELETED, "");
		}
	}
}

static void on_flush(void *arg)
{
	flush(arg);
}

/* The stream is gone: every subscription ends (its election reads again). */
static void end_all(struct watch *w, const char *why)
{
	etcd_cancel(w->stream);
	w->stream = NULL;
	w->created = false;
	ring_clear(w);
	for (struct watch_sub *s = w->subs; s != NULL; s = s->next) {
		s->due |= DUE_ENDED;
		snprintf(s->why, sizeof(s->why), "%s", why);
	}
}

static void on_msg(void *arg, json_t *result)
{
	struct watch *w = arg;
	json_t *events = json_object_get(result, "events"), *ev;
	int canceled = 0, created = 0;
	size_t i;

	etcd_get_bool(result, "canceled", &canceled);
	etcd_get_bool(result, "created", &created);
	if (canceled) {
		char esc[LOG_ESC_LEN], esc2[LOG_ESC_LEN], why[160];
		int64_t crev = 0;

		(void)etcd_get_i64(result, "compact_revision", &crev);
		log_info("watch: cancelled by etcd prefix=%s reason=\"%s\" compact_revision=%" PRId64,
		    log_esc(esc, w->prefix),
		    log_esc(esc2, json_string_value(json_object_get(result, "cancel_reason"))), crev);
		snprintf(why, sizeof(why), "cancelled by etcd (compact_revision %" PRId64 ")", crev);
		end_all(w, why);
		flush(w);
		return;
	}
	if (created && !w->created) {
		w->created = true;
		for (struct watch_sub *s = w->subs; s != NULL; s = s->next)
			s->due |= DUE_CREATED;
	}
	json_array_foreach(events, i, ev) {
		const char *type = json_string_value(json_object_get(ev, "type"));
		json_t *kv = json_object_get(ev, "kv");
		const char *key = json_string_value(json_object_get(kv, "key"));
		int64_t rev = 0;

		if (type == NULL || strcmp(type, "DELETE") != 0 || key == NULL)
			continue;
		/* A delete without a usable revision still counts for every
		 * follower of that key now (the safe side: it reads again),
		 * but is not kept: in the ring it would match every later
		 * subscription to a key made again under that name. */
		if (etcd_get_i64(kv, "mod_revision", &rev) < 0 || rev <= 0)
			rev = INT64_MAX;
		else
			ring_add(w, key, rev);
		for (struct watch_sub *s = w->subs; s != NULL; s = s->next)
			if (rev >= s->from_rev && strcmp(s->key, key) == 0)
				s->due |= DUE_DELETED;
	}
	flush(w);
}

static void on_end(void *arg, const struct etcd_result *r)
{
	struct watch *w = arg;
	char esc[LOG_ESC_LEN], esc2[LOG_ESC_LEN];

	w->stream = NULL; /* freed by etcd after this returns */
	log_info("watch: stream ended prefix=%s subscriptions=%u error=\"%s\"",
	    log_esc(esc, w->prefix), w->n_subs, log_esc(esc2, r->message));
	end_all(w, r->message);
	flush(w);
}

/* (Re-)open the stream at start (>= 1): the ring starts empty, so every
 * delete from start on is still to come. */
static void open_stream(struct watch *w, int64_t start)
{
	json_t *body;

	etcd_cancel(w->stream);
	ring_clear(w);
	body = json_pack("{s:{s:o, s:o, s:o, s:[s]}}", "create_request",
	    "key", etcd_json_b64(w->prefix),
	    "range_end", etcd_json_b64(w->prefix_end),
	    "start_revision", etcd_json_i64(start),
	    "filters", "NOPUT");
	if (body == NULL)
		fatalx("watch: cannot build the watch request");
	w->floor = start - 1;
	w->created = false;
	w->opened++;
	w->stream = etcd_stream(w->etcd, "/v3/watch", body, on_msg, on_end, w);
}

struct watch_sub *watch_sub_open(struct watch *w, const char *key_b64, int64_t from_rev,
    watch_cb *cb, void *arg)
{
	struct watch_sub *s = xcalloc(1, sizeof(*s));

	if (from_rev < 1)
		from_rev = 1;
	s->w = w;
	s->key = xstrdup(key_b64);
	s->from_rev = from_rev;
	s->cb = cb;
	s->arg = arg;
	s->next = w->subs;
	if (w->subs != NULL)
		w->subs->prev = s;
	w->subs = s;
	w->n_subs++;
	if (w->stream == NULL || from_rev <= w->floor) {
		/* Nothing open, or the stream cannot vouch for revisions
		 * this early: one stream from here covers everyone (the
		 * others asked for later revisions). */
		open_stream(w, from_rev);
	} else {
		if (ring_has(w, key_b64, from_rev))
			s->due |= DUE_DELETED;
		if (w->created)
			s->due |= DUE_CREATED;
		if (s->due != 0)
			loop_timer_arm(w->flush_timer, 0);
	}
	return s;
}

void watch_sub_close(struct watch_sub *s)
{
	if (s != NULL)
		sub_unlink(s);
}

unsigned watch_streams_opened(const struct watch *w)
{
	return w->opened;
}

unsigned watch_subs(const struct watch *w)
{
	return w->n_subs;
}

struct watch *watch_new(struct loop *loop, struct etcd *etcd, const char *prefix)
{
	struct watch *w = xcalloc(1, sizeof(*w));

	w->loop = loop;
	w->etcd = etcd;
	w->prefix = xstrdup(prefix);
	w->prefix_end = etcd_prefix_end(prefix);
	w->flush_timer = loop_timer_new(loop, on_flush, w);
	return w;
}

void watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->subs != NULL)
		fatalx("watch: freed with %u subscription(s) open", w->n_subs);
	etcd_cancel(w->stream);
	ring_clear(w);
	loop_timer_free(w->flush_timer);
	free(w->prefix);
	free(w->prefix_end);
	free(w);
}
