/*
 * policy.h - the pure decisions at vipd's core, kept free of I/O so they
 * are unit-tested without etcd or netlink.
 */
#ifndef VIPD_POLICY_H
#define VIPD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* What a VIP knows at one instant. */
struct vip_facts {
	bool have_lease;  /* the session holds a lease we may campaign with */
	bool fence_ok;    /* now is before the session's fence */
	bool link_up;     /* the VIP's link exists, is up and has carrier */
	bool link_unusable; /* the VIP's link cannot be resolved to one
	                   * usable link (several match, a bond or bridge
	                   * member, ...: links.h); fixed only by the
	                   * operator */
	bool healthy;     /* health checks pass (always true until configured) */
	bool paused;      /* an operator paused this VIP */
	bool leader;      /* our key leads the election */
	bool stray_copy;  /* a copy of the address that this node could not
	                   * delete is on one of its links: no campaign while
	                   * it stays (the node would answer for the VIP
	                   * without holding it) */
	bool probed;      /* since this node was elected, a probe on the wire
	                   * heard nobody else answer for the address (or
	                   * could not be sent: conflict.h, vip.c) */
	bool conflict;    /* a host that is no vipd peer answered a probe,
	                   * and fewer than POLICY_CONFLICT_CLEAR probes in a
	                   * row since heard no such host */
};

/* What it should do about it. */
struct vip_want {
	bool campaign;    /* be a candidate (have a key in the election) */
	bool hold;        /* have the address on the link */
};

/*
 * The rule: campaign when the link is usable and up, healthy, not paused, no stray
 * copy of the address is left and there is a lease; hold the address only
 * when also elected, before the fence, after a probe heard the wire
 * silent, and while no foreign host answers for it:
 *     hold = campaign && leader && fence_ok && probed && !conflict
 * A conflict does not stop the campaign: every node sees the same
 * segment, so standing aside would only hand the same wait to the next
 * node; the leader keeps its place and takes the VIP as soon as the
 * conflict has cleared.
 */
struct vip_want policy_decide(const struct vip_facts *f);

/* Should a takeover probe go out now? True when everything but the
 * probe allows holding: campaign && leader && fence_ok && !probed &&
 * !conflict. */
bool policy_probe_wanted(const struct vip_facts *f);

/* Probes in a row that must hear no foreign host before a conflict ends
 * (with vip.c's probe every 1 s while a conflict lasts: about 3 s of
 * silence). One answer is enough to start a conflict: a host that
 * answers for the address is there now, a host that stopped answering
 * may only be slow. */
#define POLICY_CONFLICT_CLEAR 3u

/* Fold one probe into the conflict state: foreign = a foreign host
 * answered. *clear counts the probes in a row without one. Returns
 * whether the conflict lasts. */
bool policy_conflict_step(bool conflict, unsigned *clear, bool foreign);

/* A short reason for not holding (for logs); "" when f allows holding. */
const char *policy_why_not(const struct vip_facts *f);

/*
 * The role a VIP is in on this node, for status (vipctl status): the
 * first that applies of
 *   "owner"            held (the address is on this node)
 *   "paused"           an operator paused it (vipctl pause)
 *   "waiting-for-link" no usable link, or it is down
 *   "unhealthy"        health checks fail
 *   "conflict"         a copy this node cannot delete is in the way, or a
 *                      host that is no vipd peer answers for the address
 *   "no-session"       no lease, or its fence has passed
 *   "candidate"        in the election, not holding (also while leading
 *                      and probing the wire before a takeover)
 * A static string. The stray copy counts before the session: it keeps the
 * node out of the election whatever etcd says.
 */
const char *policy_role(const struct vip_facts *f, bool held);

/*
 * The kernel's valid lifetime, in whole seconds, for an address installed
 * at now_ms that must be gone by fence_ms even if vipd is killed or frozen
 * right after: the kernel deletes an expired address up to kernel_lag_ms
 * late (its lifetime check runs on a timer rounded up to whole seconds).
 * Returns 0 when no whole second fits (the fence is less than 1 s + lag
 * away): then the address must not be (re)installed at all, because even
 * the kernel's smallest lifetime, 1 s, could outlive the fence.
 */
uint32_t policy_lifetime_s(uint64_t now_ms, uint64_t fence_ms, uint32_t kernel_lag_ms);

#endif
