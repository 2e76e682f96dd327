/*
 * session.h - the daemon's one etcd lease, its keepalive, and the fence.
 *
 * Every VIP's election key hangs on this lease. The fence is the local
 * deadline until which this node may act as an owner, and by which the
 * kernel lifetime of every address it holds ends (policy_lifetime_s):
 *
 *     fence  = send time of the last successful keepalive + window
 *     window = TTL - margin - POLICY_KERNEL_LAG_MS
 *     margin = TTL/10 (at least 200 ms): the clock-rate margin
 *
 * measured on CLOCK_BOOTTIME, TTL = min(granted, configured). etcd can
 * expire the lease no earlier than "receive time + TTL" on its leader's
 * monotonic clock, and the receive time is after our send time; another
 * node can hold the address only after that. The margin is the only
 * allowance for the two clocks' rates (NTP daemons slew CLOCK_MONOTONIC /
 * BOOTTIME: ntpd and timesyncd by at most 500 ppm, chrony by up to its
 * default maxslewrate of 83 333 ppm while correcting an offset; 10 %
 * covers one clock at chrony's rate and the other at 1.7 %). The kernel's
 * removal lag is the only allowance for the kernel: an address whose
 * lifetime ends at the fence is gone by fence + lag, i.e. by send + TTL -
 * margin, before the earliest server-side expiry. vipd's own delete at the
 * fence has the same lag of room. TTL 5 s: window 3.4 s; TTL 3 s: 1.6 s.
 * docs/design.md "The fence" derives it with the measured numbers.
 */
#ifndef VIPD_SESSION_H
#define VIPD_SESSION_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct etcd;
struct session;

/* Each runs from the session's own event handlers (an etcd answer, a
 * timer), never from within a call the owner made into the session. */
struct session_ops {
	/* A new lease was granted: campaign with it. */
	void (*granted)(void *arg, int64_t lease);
	/* The fence moved forward after a successful keepalive. */
	void (*renewed)(void *arg, uint64_t fence_ms);
	/* The fence passed without a renewal: drop every address now. The
	 * session keeps trying; a later renewal calls renewed again. */
	void (*expired)(void *arg);
	/* etcd says the lease is gone (keepalive TTL <= 0 or not found):
	 * every election key went with it. A new grant follows. */
	void (*lost)(void *arg);
};

/* The clock-rate margin for a TTL (both in ms): TTL/10, at least 200 ms. */
uint32_t session_margin_ms(uint32_t ttl_ms);
/* The fence's distance from a keepalive's send time, in ms, for a TTL in
 * ms: TTL - margin - POLICY_KERNEL_LAG_MS (0 if that is not positive). */
uint32_t session_window_ms(uint32_t ttl_ms);

/* ttl_ms is a whole number of seconds (etcd TTLs are seconds). */
struct session *session_new(struct loop *loop, struct etcd *etcd, uint32_t ttl_ms,
    uint32_t request_timeout_ms, const struct session_ops *ops, void *arg);
/*
 * A reload changed the lease TTL (ms, whole seconds): the next grant asks
 * for ttl_ms. The current lease keeps the TTL it was granted with, and
 * with it its keepalive interval and fence margin - a longer TTL applied
 * to it would space keepalives past its expiry (docs/design.md, "Reload").
 */
void session_set_ttl(struct session *s, uint32_t ttl_ms);
/* NULL-safe; cancels requests in flight without revoking the lease. */
void session_free(struct session *s);

/* Grant the first lease and start keeping it alive (the grant goes out
 * from the loop; no callback from within this call). */
void session_start(struct session *s);

/* The current lease ID, 0 when there is none. */
int64_t session_lease(const struct session *s);
/* The fence (loop_now_ms() time); 0 when there is no lease. */
uint64_t session_fence(const struct session *s);
/* What happened to the leases so far, for metrics. */
struct session_counts {
	uint64_t grants;          /* leases granted */
	uint64_t losses;          /* leases etcd said were gone (ops->lost) */
	uint64_t expiries;        /* fences passed without a renewal (ops->expired) */
};
void session_counts(const struct session *s, struct session_counts *out);
/* True when there is a lease and now is before the fence. */
bool session_valid(const struct session *s, uint64_t now_ms);

/*
 * Stop keeping the lease alive and revoke it, so every election key on it
 * goes at once. A try that fails or has no answer within 500 ms is sent
 * again 100 ms later (to the next endpoint, if the failure was the
 * endpoint's: no connection, no answer) while a try of at least 100 ms
 * still fits before timeout_ms (ms) from now: an etcd leader election answers "leader
 * changed" or nothing for about an election timeout, a member whose disk
 * stalls answers nothing, and a lease left to expire lives a TTL, more if
 * etcd's new leader re-armed it. A revoke sent twice is harmless: the
 * second is answered "lease not found". Not retried: "lease not found" (it is
 * gone: done), permission denied and unauthenticated (after etcd.c's own
 * one re-authentication). Returns true when a revoke is under
 * way: done then runs once, later, from the session's own event handlers -
 * when etcd confirmed, said the lease is gone, failed for good, or after
 * timeout_ms, whichever is first. Returns
 * false when there was no lease to revoke: done never runs. Never calls
 * back from within this call.
 */
bool session_revoke(struct session *s, uint32_t timeout_ms,
    void (*done)(void *arg), void *arg);

#endif
