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
};

/* What it should do about it. */
struct vip_want {
	bool campaign;    /* be a candidate (have a key in the election) */
	bool hold;        /* have the address on the link */
};

/*
 * The rule: campaign when the link is usable and up, healthy, not paused, no stray
 * copy of the address is left and there is a lease; hold the address only
 * when also elected and before the fence:
 *     hold = campaign && leader && fence_ok
 */
struct vip_want policy_decide(const struct vip_facts *f);

/* A short reason for not holding (for logs); "" when f allows holding. */
const char *policy_why_not(const struct vip_facts *f);

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
