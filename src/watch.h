/*
 * watch.h - one etcd watch stream over the whole election prefix, shared
 * by every election of the daemon and demultiplexed to them by key.
 *
 * Before, each VIP's election held a watch stream of its own (one HTTP
 * connection to the gateway each: 256 VIPs, 256 connections). Now every
 * election subscribes here to the one key it follows (its predecessor, or
 * its own key while it leads) from the revision its range read + 1, and
 * this module keeps at most one stream open: POST /v3/watch on
 * [prefix, prefix_end) with the NOPUT filter. One create_request per
 * stream, never several on one streamed request body (etcd issue 8237:
 * the gateway's handling of a body that stays open is unreliable).
 *
 * No event is lost between an election's range read and its subscription,
 * by this invariant: every DELETE under the prefix with mod_revision >
 * floor is either in the ring of recent deletes already or still to come
 * on the open stream. A subscription from revision R > floor is answered
 * from the ring, then from the stream; one with R <= floor re-opens the
 * stream at R (floor = R - 1; the ring is emptied, as the new stream replays from R). A delete the
 * ring had to drop raises floor to its revision.
 *
 * The stream ends (a member restart, a network error) or etcd cancels it
 * (compaction: compact_revision): every subscription ends (WATCH_ENDED)
 * and its election reads again with its own backoff before subscribing
 * again; the next subscription opens a new stream. So a broken stream is
 * re-opened with backoff and state re-read, as a per-key watch was.
 */
#ifndef VIPD_WATCH_H
#define VIPD_WATCH_H

#include <stdint.h>

struct loop;
struct etcd;
struct watch;
struct watch_sub;

/* How many recent deletes are kept for subscriptions that come late: a
 * lease expiry deletes all of a node's keys at one revision (its election
 * and MAC keys: 2 per VIP), so this covers a 256-VIP node's expiry whole. */
#define WATCH_RING 1024

enum watch_event {
	WATCH_CREATED,  /* the stream is open (etcd said "created"): following */
	WATCH_DELETED,  /* the subscribed key was deleted (mod_revision >= from) */
	WATCH_ENDED,    /* no more events: the stream ended, was cancelled
	                 * (compaction), or cannot vouch for the revisions asked
	                 * for; the subscription is closed (do not close it) */
};

/* Called from this module's own handlers (a stream message, its end, a
 * zero-delay timer for what a subscription finds in the ring), never from
 * within watch_sub_open/close. why: "" or the reason of WATCH_ENDED. */
typedef void watch_cb(void *arg, enum watch_event ev, const char *why);

/* prefix: the election prefix (raw bytes, copied), every election's name
 * starts with it. Never returns NULL. */
struct watch *watch_new(struct loop *loop, struct etcd *etcd, const char *prefix);
/* NULL-safe. Every subscription must be closed first (else abort). */
void watch_free(struct watch *w);

/*
 * Follow the key whose base64 is key_b64 (the bytes etcd sent, compared
 * exactly; copied) for its deletion at a revision >= from_rev (the range
 * read's header revision + 1, >= 1). The key must lie under the prefix.
 * cb runs for WATCH_CREATED (once the stream is open), WATCH_DELETED (at
 * most once) and WATCH_ENDED (at most once, after which the handle is
 * freed). Never calls back from within this call. Never returns NULL.
 */
struct watch_sub *watch_sub_open(struct watch *w, const char *key_b64, int64_t from_rev,
    watch_cb *cb, void *arg);
/* Stop following: no callback after this. NULL-safe. The stream stays
 * open for the others (and when none is left, until the next one). */
void watch_sub_close(struct watch_sub *s);

/* For tests and status: streams opened so far, subscriptions open. */
unsigned watch_streams_opened(const struct watch *w);
unsigned watch_subs(const struct watch *w);

#endif
