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
 * How late the kernel may remove an address whose valid lifetime ran out,
 * in ms; stated once, here (vip.h's VIP_KERNEL_LAG_MS is this value).
 * Kernel: both the IPv4 check (devinet.c check_lifetime) and the IPv6 one
 * (addrconf.c addrconf_verify_rtnl) are non-deferrable delayed work that
 * removes every address whose age, in whole seconds counted with
 * ADDRCONF_TIMER_FUZZ_MINUS (HZ/50) added, has reached its lifetime, and
 * then sleeps until the next expiry, rounded up to a whole second if that
 * costs less than ADDRCONF_TIMER_FUZZ (HZ/4) - but never less than
 * ADDRCONF_TIMER_FUZZ_MAX (HZ, 1 s). Every address added or replaced in
 * the namespace reruns the check at once. So the removal comes up to 20 ms
 * early, up to 250 ms late when nothing else happens, and up to 1 s late
 * (less the 20 ms) when another address of the namespace is added just
 * before the expiry - plus the kworker's scheduling delay and the add's
 * own latency, budgeted as 120 ms: 1100 ms. Measured on Linux 6.18
 * (tests/tools/lifetime_lag.sh, 120 samples a family and case): at most
 * 453 ms without other address changes, 1013 ms with them, 982 ms with
 * them under stress-ng --cpu 2 (docs/design.md "The kernel-lifetime
 * backstop").
 */
#define POLICY_KERNEL_LAG_MS 1100u

/* How far before the fence a refreshed lifetime ends (policy_refresh_at):
 * room for the refresh timer's and the netlink call's latency, in ms. */
#define POLICY_REFRESH_SLACK_MS 100u

/*
 * The kernel's valid lifetime, in whole seconds, for an address installed
 * at now_ms whose lifetime must end by fence_ms (the session's fence,
 * which already leaves POLICY_KERNEL_LAG_MS before the earliest moment
 * another node may hold the address: session.h): floor((fence - now) / 1
 * s). Returns 0 when no whole second fits: then the address must not be
 * (re)installed at all, because even the kernel's smallest lifetime, 1 s,
 * could outlive the fence.
 */
uint32_t policy_lifetime_s(uint64_t now_ms, uint64_t fence_ms);

/*
 * Whole-second lifetimes end up to 1 s before the fence. When to install
 * the address again so that its lifetime ends at fence_ms -
 * POLICY_REFRESH_SLACK_MS instead, while the lifetime installed now, which
 * ends at expires_ms, still runs: the latest fence - k s - slack (k >= 1)
 * that is no later than expires_ms - 2 slack (the kernel may remove the
 * address 20 ms early; the rest is the timer's latency). Returns that time
 * (ms, the same clock; it may have passed), or 0 when a refresh would gain
 * no more than twice the slack. A refresh that runs late gains nothing (policy_lifetime_s then
 * gives one second less): the caller re-installs only if the new lifetime
 * ends later than the old one.
 */
uint64_t policy_refresh_at(uint64_t fence_ms, uint64_t expires_ms);

#endif
