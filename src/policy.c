/*
 * policy.c - should this node hold this VIP now?
 */
#include "policy.h"

struct vip_want policy_decide(const struct vip_facts *f)
{
	struct vip_want w;

	w.campaign = f->have_lease && !f->link_unusable && f->link_up && f->healthy && !f->paused &&
	    !f->stray_copy;
	w.hold = w.campaign && f->leader && f->fence_ok && f->probed && !f->conflict;
	return w;
}

bool policy_probe_wanted(const struct vip_facts *f)
{
	struct vip_want w = policy_decide(f);

	return w.campaign && f->leader && f->fence_ok && !f->probed && !f->conflict;
}

bool policy_conflict_step(bool conflict, unsigned *clear, bool foreign)
{
	if (foreign) {
		*clear = 0;
		return true;
	}
	if (*clear < POLICY_CONFLICT_CLEAR)
		(*clear)++;
	return conflict && *clear < POLICY_CONFLICT_CLEAR;
}

const char *policy_why_not(const struct vip_facts *f)
{
	if (f->link_unusable)
		return "link unusable";
	if (!f->link_up)
		return "link down";
	if (f->paused)
		return "paused";
	if (!f->healthy)
		return "unhealthy";
	if (f->stray_copy)
		return "a copy of the address could not be deleted";
	if (!f->have_lease)
		return "no lease";
	if (!f->fence_ok)
		return "fence passed";
	if (!f->leader)
		return "not elected";
	if (f->conflict)
		return "a host that is no vipd peer answers for the address";
	if (!f->probed)
		return "probing the wire";
	return "";
}

const char *policy_role(const struct vip_facts *f, bool held)
{
	if (held)
		return "owner";
	if (f->paused)
		return "paused";
	if (f->link_unusable || !f->link_up)
		return "waiting-for-link";
	if (!f->healthy)
		return "unhealthy";
	if (f->stray_copy)
		return "conflict";
	if (!f->have_lease || !f->fence_ok)
		return "no-session";
	if (f->conflict)
		return "conflict";
	return "candidate";
}

uint32_t policy_lifetime_s(uint64_t now_ms, uint64_t fence_ms)
{
	if (fence_ms < now_ms + 1000u)
		return 0;
	return (uint32_t)((fence_ms - now_ms) / 1000u);
}

uint64_t policy_refresh_at(uint64_t fence_ms, uint64_t expires_ms)
{
	const uint64_t slack = POLICY_REFRESH_SLACK_MS;
	uint64_t k;

	if (fence_ms <= expires_ms + 2 * slack)
		return 0;
	/* The smallest k with fence - k s - slack <= expires - 2 slack. */
	k = (fence_ms - expires_ms + slack + 999u) / 1000u;
	if (fence_ms < k * 1000u + slack)
		return 0;
	return fence_ms - k * 1000u - slack;
}
