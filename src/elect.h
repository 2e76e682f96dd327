/*
 * elect.h - one election in etcd, by the v3 "concurrency" recipe, so that
 * etcd's own tools interoperate (`etcdctl elect NAME`, `etcdctl elect -l`).
 *
 *   key    = NAME "/" <lease ID in lower-case hex>, value = node name,
 *            attached to the lease, created only if absent
 *            (txn: create_revision(key) == 0 ? put : get);
 *   leader = the key under NAME "/" with the lowest create revision;
 *   our key = the one our txn created (its create revision), of exactly
 *            our bytes, on our lease - never a look-alike someone else
 *            wrote (a NUL after our name, another lease);
 *   a waiter watches the key just ahead of it for deletion, then re-checks;
 *   the leader watches its own key: deleted from outside -> it steps down;
 *   both through the daemon's one shared watch over the prefix (watch.h).
 *
 * Every step re-reads with a range and watches from the revision read, so
 * a broken watch (member restart, compaction) never loses an event. A
 * periodic re-check catches a watch that died silently.
 */
#ifndef VIPD_ELECT_H
#define VIPD_ELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct etcd;
struct elect;
struct watch;

/* Called whenever leadership or the known leader changes, from the
 * election's own event handlers (an etcd answer, a watch event, a timer),
 * never from within a call the owner made (elect_campaign, elect_resign,
 * elect_reset): after those the owner re-reads elect_is_leader(). */
typedef void elect_cb(void *arg, bool leader);

/* name: the election name (prefix + VIP); value: this node's name.
 * hub: the daemon's shared watch over the prefix (watch.h), borrowed, or
 * NULL for a watch stream of this election's own (one HTTP connection
 * each: the unit tests' per-key streams). recheck_ms: the periodic
 * re-read, ms (0 = none). */
struct elect *elect_new(struct loop *loop, struct etcd *etcd, struct watch *hub,
    const char *name, const char *value, uint32_t recheck_ms, elect_cb *cb, void *arg);
/* NULL-safe. Does not delete the key (the lease revoke does that). */
void elect_free(struct elect *el);

/* Campaign with lease (create the key if absent, then follow the queue).
 * Calling it again with the same lease does nothing. Never calls back
 * from within this call. */
void elect_campaign(struct elect *el, int64_t lease);
/* Stand aside: delete our key, stop following. Leader is false when this
 * returns; never calls back from within this call (the caller knows). */
void elect_resign(struct elect *el);
/* The lease is gone (and the key with it): forget everything, no etcd
 * calls. Leader is false when this returns; never calls back from within
 * this call. */
void elect_reset(struct elect *el);

/* True when nothing of ours is (or may come to be) in this election: not
 * campaigning, no delete owed from a resign, no request in flight (a
 * create in flight may still land). The owner may then free it without
 * leaving a key behind (a reload's removed VIP, docs/design.md). */
bool elect_idle(const struct elect *el);

bool elect_is_leader(const struct elect *el);
/* True while campaigning (from elect_campaign to resign/reset). */
bool elect_is_campaigning(const struct elect *el);
/* The current leader's value (node name) as last read, or "" if none or
 * not read yet (election reads are keys_only; a follower reads the
 * leader's value by itself, once per leading key). At most 255 bytes. */
const char *elect_leader(const struct elect *el);
const char *elect_name(const struct elect *el);

/*
 * At start-up, after the first grant: remove the keys an earlier run of
 * this node left (it crashed; its lease is still counting down and its key
 * would head the queue until then). names are this daemon's elections
 * (prefix + VIP, n_names >= 1, copied); only keys of the exact shape
 * "<name>/<lease hex>" on that very lease, other than own_lease, whose
 * value is exactly node are deleted, each by its exact bytes - never a
 * lease revoke (a lease may hold keys that are not vipd's). At most 16
 * requests are in flight. A failed read or delete is logged and skipped
 * (the key then expires with its lease). done runs once, when every
 * request has answered (always later, from an etcd answer, never from
 * within this call); the handle is freed just before.
 */
struct elect_cleanup;
struct elect_cleanup *elect_cleanup_stale(struct etcd *etcd, char *const *names,
    size_t n_names, const char *node, int64_t own_lease, void (*done)(void *arg),
    void *arg);
/* Abandon a clean-up still running (done does not run). NULL-safe. */
void elect_cleanup_cancel(struct elect_cleanup *c);

#endif
