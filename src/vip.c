/*
 * vip.c - carry out policy_decide() for one VIP.
 *
 * The facts are read fresh at every decision (the fence against the clock
 * at that instant), so a late event - a netlink notice or an etcd reply
 * that arrives after the process was frozen - can never re-add an address
 * after the fence has passed.
 */
#include "vip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"
#include "backoff.h"
#include "config.h"
#include "conflict.h"
#include "elect.h"
#include "hooks.h"
#include "links.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "netlink.h"
#include "peers.h"
#include "policy.h"
#include "session.h"
#include "subnet.h"
#include "xmem.h"

#include "vip_int.h"

_Static_assert(VIP_KERNEL_LAG_MS == POLICY_KERNEL_LAG_MS, "the kernel lag is stated once");

const char *vip_ip(const struct vip *v)
{
	return v->cv.ip;
}

bool vip_is_held(const struct vip *v)
{
	return v->held;
}

int vip_in_subnet(const struct vip *v)
{
	return v->ifindex > 0 ? v->in_subnet : -1;
}

size_t vip_addr_len(const struct vip *v)
{
	return v->cv.family == AF_INET ? 4 : 16;
}

/* ---- announcements ------------------------------------------------------ */

static void announce_once(struct vip *v)
{
	int r;

	if (!v->held || v->ifindex <= 0)
		return;
	r = announce_send(v->ifindex, v->mac, v->cv.family, v->cv.addr);
	if (r < 0)
		log_warnx("vip: announce failed vip=%s link=%s: %s", v->cv.ip, v->ifname,
		    strerror(-r));
	else {
		v->announcements++;
		log_debug("vip: announced vip=%s link=%s", v->cv.ip, v->ifname);
	}
}

static void on_announce(void *arg)
{
	struct vip *v = arg;
	const struct vip_opts *c = &v->o;

	if (!v->held)
		return;
	announce_once(v);
	if (v->announce_left > 0)
		v->announce_left--;
	if (v->announce_left > 0)
		loop_timer_arm(v->announce_timer, c->announce_interval_ms);
	else if (c->announce_refresh_ms > 0)
		loop_timer_arm(v->announce_timer, c->announce_refresh_ms);
}

void vip_announce_start(struct vip *v)
{
	v->announce_left = v->o.announce_count;
	if (v->announce_left == 0 && v->o.announce_refresh_ms == 0)
		return;
	if (v->announce_left == 0) {
		loop_timer_arm(v->announce_timer, v->o.announce_refresh_ms);
		return;
	}
	on_announce(v);
}

/* ---- ownership ---------------------------------------------------------- */

/*
 * The one place where this node starts or stops holding the address: it
 * records the new state, the reason and the time (vip_status), stops the
 * announcements on a release, and logs one line - "vip: acquired" (info)
 * or "vip: released ... reason=" (info; warn for a release nobody chose:
 * the kernel lifetime ran out, someone removed the address). extra is
 * appended to the line (details such as a failed delete), "" if none.
 * The hooks hear of it last (hooks_event only queues: the transition is
 * done and never waits for a hook).
 */
static void set_held(struct vip *v, bool held, const char *reason, bool warn, const char *extra)
{
	uint64_t now = loop_now_ms();

	if (held == v->held)
		return;
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
	v->reason_set = true;
	v->changed_at = now;
	metrics_table_get(&v->transitions, held ? "acquired" : "released", reason)->count++;
	if (held) {
		v->held = true;
		v->held_since = now;
		log_info("vip: acquired vip=%s link=%s node=%s lease=%" PRIx64 " fence_in_ms=%" PRId64 "%s",
		    v->cv.ip, v->ifname, v->env.node, (uint64_t)v->lease,
		    (int64_t)(session_fence(v->env.session) - now), extra);
		hooks_event(v->env.hooks, HOOKS_ACQUIRE, v->cv.ip, v->ifname, reason);
		return;
	}
	v->held = false;
	loop_timer_disarm(v->announce_timer);
	(warn ? log_warnx : log_info)("vip: released vip=%s link=%s reason=\"%s\" held_ms=%" PRIu64
	    " fence_in_ms=%" PRId64 "%s", v->cv.ip, v->ifname, reason, now - v->held_since,
	    (int64_t)(session_fence(v->env.session) - now), extra);
	hooks_event(v->env.hooks, HOOKS_RELEASE, v->cv.ip, v->ifname, reason);
}

void vip_status(const struct vip *v, struct vip_status *out)
{
	uint64_t now = loop_now_ms();
	struct vip_facts f;

	vip_gather(v, now, &f);

	*out = (struct vip_status){
		.ip = v->cv.ip,
		.link = v->ifname,
		.ifindex = v->ifindex,
		.held = v->held,
		.leader = elect_is_leader(v->elect),
		.candidate = elect_is_campaigning(v->elect),
		.owner = elect_leader(v->elect),
		.lease = v->lease,
		.fence_left_ms = (int64_t)(session_fence(v->env.session) - now),
		.since_ms = v->changed_at,
		.reason = v->reason,
		.conflict = v->in_conflict,
		.stray_copy = v->n_strays > 0 || v->strays_more || v->sweep_owed,
		.link_error = v->link_error,
		.in_subnet = vip_in_subnet(v),
		.announcements = v->announcements,
		.paused = v->paused,
		.healthy = !v->unhealthy,
		.link_up = f.link_up,
		.role = policy_role(&f, v->held),
		.role_since_ms = v->role_since,
	};
}

const struct metrics_table *vip_transitions(const struct vip *v)
{
	return &v->transitions;
}

/* ---- address ------------------------------------------------------------ */

void vip_retry_later(struct vip *v)
{
	loop_timer_arm(v->retry_timer, backoff_next(&v->retry_ms, VIP_RETRY_MS, 5000));
}

static int del_now(struct vip *v);

/*
 * Add or refresh the address with a kernel lifetime that ends by the
 * fence (policy_lifetime_s). The kernel starts the lifetime during the
 * call, after now: its end is bounded by the clock read after the call,
 * and an add that took so long that the lifetime may outlive the fence is
 * redone with the time left (at most three tries, then the address is
 * deleted). Arms the refresh that moves the end to just before the fence
 * (policy_refresh_at). Returns 0, -ETIME when the fence is too close for
 * any safe lifetime (nothing is installed, or what was is deleted), or a
 * netlink -errno.
 */
static int install(struct vip *v, uint64_t now)
{
	uint64_t fence = session_fence(v->env.session), end, at;
	bool added = false;
	int r;

	for (int tries = 0; tries < 3; tries++) {
		uint32_t life = policy_lifetime_s(now, fence);

		if (life == 0)
			break;
		/* IPv6: installed deprecated (preferred lifetime 0). It still
		 * answers, but source selection (RFC 6724 rule 3: avoid deprecated
		 * addresses) never picks it for this node's own connections - which
		 * it otherwise did, even to peers in the same /64 (measured: `ip -6
		 * route get fd00:18::12` on the owner chose the /128 VIP), and those
		 * connections (etcd, kubelet, our keepalives) break when the VIP
		 * moves. IPv4 needs nothing: the kernel takes the source from the
		 * subnet route's preferred source, the node's own address. */
		r = nl_addr_add(v->env.nl, v->ifindex, v->cv.family, v->cv.addr, life,
		    v->cv.family == AF_INET6 ? 0 : life, true);
		if (r < 0)
			return r;
		added = true;
		v->held_ifindex = v->ifindex;
		v->del_owed = false;
		now = loop_now_ms();
		end = now + life * 1000u;
		v->expires_at = end;
		if (end <= fence) {
			at = policy_refresh_at(fence, end);
			if (at != 0)
				loop_timer_arm_at(v->life_timer, at);
			else
				loop_timer_disarm(v->life_timer);
			return 0;
		}
	}
	if (added) {
		loop_timer_disarm(v->life_timer);
		log_warnx("vip: the address's lifetime could not be made to end before the fence "
		    "vip=%s link=%s; deleting it", v->cv.ip, v->ifname);
		if (del_now(v) < 0)
			vip_retry_later(v);
	}
	return -ETIME;
}

/* The refresh install() armed: keepalives are late (the next renewal would
 * have re-installed the address first). Re-install if that makes the
 * lifetime end later; a timer that fired too late gains nothing. While
 * not held, the same timer marks the end of an address whose delete
 * failed (update()). */
static void on_life_timer(void *arg)
{
	struct vip *v = arg;
	uint64_t now = loop_now_ms();
	uint32_t life;
	int r;

	if (!v->held) {
		/* Armed by update() while a failed delete keeps the key: the
		 * kernel lifetime has surely ended the address now. */
		vip_update(v);
		return;
	}
	if (!session_valid(v->env.session, now))
		return;
	life = policy_lifetime_s(now, session_fence(v->env.session));
	if (now + life * 1000u <= v->expires_at) {
		log_debug("vip: lifetime refresh too late to gain vip=%s expires_in_ms=%" PRId64,
		    v->cv.ip, (int64_t)(v->expires_at - now));
		return;
	}
	r = install(v, now);
	if (r < 0 && r != -ETIME)
		log_warnx("vip: lifetime refresh failed vip=%s link=%s", v->cv.ip, v->ifname);
	else if (r == 0)
		log_debug("vip: lifetime refreshed vip=%s life_s=%u fence_in_ms=%" PRId64, v->cv.ip,
		    life, (int64_t)(session_fence(v->env.session) - now));
}

unsigned vip_host_plen(const struct vip *v)
{
	return (unsigned)vip_addr_len(v) * 8;
}

/* Delete the copy with prefix length plen from ifindex: 0 also when it was
 * not there (or the link is gone), else the netlink -errno. */
int vip_addr_del_plen(struct vip *v, int ifindex, unsigned plen)
{
	int r = nl_addr_del(v->env.nl, ifindex, v->cv.family, v->cv.addr, plen);

	return r == -EADDRNOTAVAIL || r == -ENODEV ? 0 : r;
}

/* Delete our host-prefix address from ifindex (see vip_addr_del_plen). */
static int addr_del(struct vip *v, int ifindex)
{
	return vip_addr_del_plen(v, ifindex, vip_host_plen(v));
}

static int del_now(struct vip *v)
{
	int r = addr_del(v, v->held_ifindex);

	v->del_owed = r < 0;
	return r;
}

static void acquire(struct vip *v, uint64_t now)
{
	int r;

	if (v->del_owed && v->held_ifindex > 0 && v->held_ifindex != v->ifindex) {
		/* The address moved links, and its delete from the old one
		 * failed: adding it here now would put it on two links (and
		 * forget the old copy). The retry deletes it there first. */
		log_debug("vip: not installing vip=%s on link=%s: its delete from ifindex=%d "
		    "is still owed", v->cv.ip, v->ifname, v->held_ifindex);
		if (!loop_timer_armed(v->retry_timer))
			vip_retry_later(v);
		return;
	}
	r = install(v, now);

	if (r == -ETIME) {
		/* Elected, but the lease is not confirmed for long enough to
		 * give the address a lifetime that ends before the fence. The
		 * next keepalive (vip_renewed) tries again. */
		log_debug("vip: not installing vip=%s: fence too close fence_in_ms=%" PRId64,
		    v->cv.ip, (int64_t)(session_fence(v->env.session) - now));
		return;
	}
	if (r < 0) {
		/* Logged by netlink; try again, backing off to 5 s. */
		vip_retry_later(v);
		return;
	}
	v->retry_ms = 0;
	set_held(v, true, "elected", false, "");
	vip_announce_start(v);
}

/* Remove the address from the link it was put on. Returns 0 (also when it
 * was already gone) or the netlink -errno; a failure is retried later. */
static int drop(struct vip *v, const char *why)
{
	int r = 0;

	loop_timer_disarm(v->announce_timer);
	if (v->held_ifindex > 0) {
		r = del_now(v);
		if (r < 0)
			vip_retry_later(v);
	}
	set_held(v, false, why, false, r < 0 ? " (delete failed, retrying)" : "");
	return r;
}

/* ---- the decision --------------------------------------------------------- */

/* True while an address we put on a link may still be there although its
 * delete failed: until a retried delete succeeds, or its kernel lifetime
 * has surely run out (expiry + the kernel's lag). */
static bool delete_pending(const struct vip *v, uint64_t now)
{
	return v->del_owed && v->held_ifindex > 0 &&
	    now < v->expires_at + VIP_KERNEL_LAG_MS;
}

void vip_gather(const struct vip *v, uint64_t now, struct vip_facts *f)
{
	f->have_lease = v->lease != 0;
	f->fence_ok = session_valid(v->env.session, now);
	f->link_up = v->ifindex > 0 && v->link_up;
	f->link_unusable = v->link_error;
	f->healthy = !v->unhealthy;
	f->paused = v->paused;
	f->leader = elect_is_leader(v->elect);
	f->stray_copy = v->n_strays > 0 || v->strays_more || v->sweep_owed;
	f->probed = v->probed;
	f->conflict = v->in_conflict;
}

/* Record when the role (policy_role) changed, and why, for status: the
 * reason set_held or an operator's command wrote since the last update,
 * else what the policy says. */
static void note_role(struct vip *v, uint64_t now)
{
	struct vip_facts f;
	const char *role, *why;

	vip_gather(v, now, &f);
	role = policy_role(&f, v->held);
	if (v->role == NULL || strcmp(role, v->role) != 0) {
		why = policy_why_not(&f);
		if (v->role != NULL && !v->reason_set)
			snprintf(v->reason, sizeof(v->reason), "%s", why[0] ? why : role);
		v->role = role;
		v->role_since = now;
	}
	v->reason_set = false;
}

/* Nothing called from here calls back into this VIP (elect, netlink and
 * announce never call back from within a call), so no re-entrancy guard:
 * after each call the facts are simply read again. */
void vip_update(struct vip *v)
{
	uint64_t now = loop_now_ms();
	struct vip_facts f;
	struct vip_want w;

	static const unsigned char no_mac[6];

	if (!elect_is_leader(v->elect) || v->ifindex <= 0 || !v->link_up) {
		v->probed = false; /* a takeover probes again */
		v->peer_wait_since = 0;
	}
	peers_publish(v->peers, v->lease, v->ifindex > 0 ? v->mac : no_mac);
	vip_gather(v, now, &f);
	w = policy_decide(&f);
	if (w.campaign && !elect_is_campaigning(v->elect))
		elect_campaign(v->elect, v->lease);
	else if (!w.campaign && elect_is_campaigning(v->elect)) {
		/* The address before the key: once the key is deleted the next
		 * candidate may take over at once (as when stopping). */
		if (v->held)
			drop(v, policy_why_not(&f));
		if (f.have_lease && delete_pending(v, now)) {
			/* Its delete failed: the address may still be on the
			 * link, so the key stays and nobody else takes the VIP
			 * until the retried delete succeeds or the kernel
			 * lifetime has ended it (as a stop keeps the lease). */
			if (!v->warned_owed)
				log_warnx("vip: not standing aside yet vip=%s link=%s reason=\"%s\": "
				    "the address's delete failed; keeping the election key until it "
				    "is gone (retrying; the kernel lifetime ends it in %" PRId64 " ms at the latest)",
				    v->cv.ip, v->ifname, policy_why_not(&f),
				    (int64_t)(v->expires_at + VIP_KERNEL_LAG_MS - now));
			v->warned_owed = true;
			/* Look again when that has surely happened. */
			loop_timer_arm_at(v->life_timer, v->expires_at + VIP_KERNEL_LAG_MS);
		} else {
			v->warned_owed = false;
			log_info("vip: standing aside vip=%s reason=\"%s\"", v->cv.ip, policy_why_not(&f));
			if (f.have_lease)
				elect_resign(v->elect);
			else
				elect_reset(v->elect);
		}
	}
	/* Standing aside made leader false: read the facts again. */
	vip_gather(v, now, &f);
	w = policy_decide(&f);
	if (!w.hold && !v->held && policy_probe_wanted(&f) &&
	    !(conflict_busy(v->conflict) && v->probing_takeover)) {
		vip_probe_start(v, true);
		vip_gather(v, now, &f); /* a probe that could not be sent: go on */
		w = policy_decide(&f);
	}
	if (w.hold && !v->held)
		acquire(v, now);
	else if (!w.hold && v->held)
		drop(v, policy_why_not(&f));
	if (v->held) {
		/* The owner does not probe for itself. */
		loop_timer_disarm(v->probe_timer);
		if (!v->probing_takeover)
			conflict_cancel(v->conflict);
	} else if (!loop_timer_armed(v->probe_timer) && !conflict_busy(v->conflict)) {
		loop_timer_arm(v->probe_timer, vip_probe_period_ms(v));
	}
	note_role(v, now);
}

void vip_pause(struct vip *v, bool paused)
{
	if (paused == v->paused || v->retiring)
		return;
	v->paused = paused;
	snprintf(v->reason, sizeof(v->reason), "%s by the operator", paused ? "paused" : "resumed");
	v->reason_set = true;
	vip_update(v);
}

void vip_set_healthy(struct vip *v, bool healthy, const char *why)
{
	if (healthy == !v->unhealthy)
		return;
	v->unhealthy = !healthy;
	/* The address before the key (as vip_pause): drop, then vip_update
	 * resigns, or keeps the key while a failed delete is owed. The
	 * release's reason (a metrics label) stays fixed; status shows why. */
	if (!healthy && v->held)
		(void)drop(v, "health checks failing");
	if (healthy)
		snprintf(v->reason, sizeof(v->reason), "health checks pass again");
	else
		snprintf(v->reason, sizeof(v->reason), "health checks failing: %s", why);
	v->reason_set = true;
	vip_update(v);
}

void vip_retire(struct vip *v)
{
	v->retiring = true;
	v->paused = true;
	/* The address before the key (as vip_set_healthy), with the reason
	 * the log line, the metrics and onRelease's VIPD_REASON show: not
	 * "paused", which names vipctl pause. */
	if (v->held)
		(void)drop(v, "removed from the configuration");
	snprintf(v->reason, sizeof(v->reason), "removed from the configuration");
	v->reason_set = true;
	vip_update(v);
}

bool vip_retired(const struct vip *v)
{
	return v->retiring && !v->held && !v->del_owed && elect_idle(v->elect);
}

int vip_handover(struct vip *v)
{
	if (!v->held)
		return -ENOENT;
	/* The address before the key, as when stopping: once the key is
	 * gone the next candidate may take over at once. */
	if (drop(v, "released by the operator") < 0)
		return -EIO; /* retried; the key stays until it is gone */
	elect_resign(v->elect);
	vip_update(v); /* campaigns again: a new key, behind every other */
	return 0;
}

static void on_retry(void *arg)
{
	struct vip *v = arg;

	/* A failed delete is retried as a delete; a failed add as an add. */
	if (!v->held && v->held_ifindex > 0) {
		if (del_now(v) < 0) {
			vip_retry_later(v);
			/* The kernel lifetime may have ended it meanwhile. */
			vip_update(v);
			return;
		}
		v->held_ifindex = 0;
	}
	if ((v->n_strays > 0 || v->strays_more || v->sweep_owed) && vip_sweep(v, "retry") != 0)
		return; /* retried later; still out of the election */
	vip_update(v);
}

/* The peers' MACs are read at once whenever the leader (as this node
 * knows it) changes, and again half a second later (a new candidate's
 * MAC key is put right after its election key). At once: the peers that
 * campaigned before are there now, and a lease revoked from outside right
 * after its holder's takeover takes that holder's key before a delayed
 * read (t_23: revoked 150-270 ms after the start or the takeover, the
 * next owner heard the old one answer, took it for a foreign host and
 * waited 3 s). Two reads per VIP at start: see peers_prefetch. */
#define VIP_PEERS_PREFETCH_MS 500u

static void on_peers_timer(void *arg)
{
	struct vip *v = arg;

	peers_prefetch(v->peers);
}

static void on_elect(void *arg, bool leader)
{
	struct vip *v = arg;

	if (!leader) {
		peers_prefetch(v->peers);
		loop_timer_arm(v->peers_timer, VIP_PEERS_PREFETCH_MS);
	}
	vip_update(v);
}

void vip_set_lease(struct vip *v, int64_t lease)
{
	int64_t old = v->lease;

	if (lease == old)
		return;
	v->lease = lease;
	if (old != 0)
		elect_reset(v->elect); /* the old key went with the old lease */
	vip_update(v);
}

void vip_renewed(struct vip *v)
{
	uint64_t now = loop_now_ms();

	if (v->held && session_valid(v->env.session, now)) {
		int r = install(v, now);
		if (r < 0 && r != -ETIME)
			log_warnx("vip: lifetime refresh failed vip=%s link=%s", v->cv.ip, v->ifname);
	}
	vip_update(v);
}

int vip_release(struct vip *v, const char *why)
{
	int r = 0;

	v->lease = 0;
	if (v->held) {
		r = drop(v, why);
	} else if (v->del_owed && v->held_ifindex > 0) {
		/* An earlier delete failed and waits for its retry: the
		 * address may still be on the link. Try once more now. */
		r = del_now(v);
		if (r < 0)
			log_warnx("vip: delete still failing vip=%s link=%s reason=\"%s\": %s",
			    v->cv.ip, v->ifname, why, strerror(-r));
	}
	elect_reset(v->elect);
	loop_timer_disarm(v->retry_timer);
	loop_timer_disarm(v->probe_timer);
	conflict_cancel(v->conflict);
	return r;
}

/* ---- links and addresses ---------------------------------------------------- */

void vip_link_set(struct vip *v, const struct vip_link *l)
{
	bool moved = l->ifindex != v->ifindex;
	bool was_up = v->ifindex > 0 && v->link_up, is_up = l->ifindex > 0 && l->up;
	bool mac_changed = !moved && l->ifindex > 0 && memcmp(l->mac, v->mac, sizeof(v->mac)) != 0;

	if (!moved && !mac_changed && was_up == is_up && l->error == v->link_error &&
	    strcmp(l->name, v->ifname) == 0)
		return;
	if (moved && v->ifindex > 0 && l->ifindex == 0)
		log_warnx("vip: link gone vip=%s link=%s reason=\"%s\"", v->cv.ip, v->ifname,
		    l->reason);
	/* Off the old link before anything else: the address is never on
	 * two links (a deleted link took it with it: that delete is a no-op). */
	if (moved && v->held)
		drop(v, l->ifindex > 0 ? "moved to another link" : "link gone");
	if (!moved && l->ifindex > 0 && strcmp(l->name, v->ifname) != 0)
		log_info("vip: link renamed vip=%s ifindex=%d from=%s to=%s%s", v->cv.ip,
		    l->ifindex, v->ifname, l->name, v->held ? " (address kept)" : "");
	v->ifindex = l->ifindex;
	snprintf(v->ifname, sizeof(v->ifname), "%s", l->name);
	v->link_up = l->up;
	v->link_error = l->error;
	memcpy(v->mac, l->mac, sizeof(v->mac));
	if (l->ifindex > 0 && (moved || was_up != is_up))
		log_info("vip: link %s vip=%s link=%s ifindex=%d", is_up ? "up" : "down",
		    v->cv.ip, v->ifname, l->ifindex);
	if (mac_changed && v->held) {
		/* Neighbours still point at the old MAC: tell them at once
		 * (the kernel's own arp_notify/ndisc_notify may be off). */
		log_info("vip: link MAC changed vip=%s link=%s; announcing again", v->cv.ip,
		    v->ifname);
		vip_announce_start(v);
	}
	vip_subnet_check(v);
	vip_update(v);
}

void vip_addr_changed(struct vip *v, int ifindex, int family, const void *addr,
                      unsigned prefixlen, bool removed)
{
	struct vip_copy *stray;

	if (family != v->cv.family)
		return;
	if (memcmp(addr, v->cv.addr, vip_addr_len(v)) != 0) {
		/* Another address on the VIP's link: the subnet may change -
		 * unless it is a host address (/32, /128: the other VIPs' own,
		 * refreshed at every renewal), which contains no other
		 * address. Checking on those cost a link dump per VIP per
		 * event: at 256 VIPs, a third of the daemon's CPU (perf). */
		if (ifindex == v->ifindex && v->ifindex > 0 && prefixlen < vip_host_plen(v))
			vip_subnet_check(v);
		return;
	}
	if (removed && v->held && ifindex == v->held_ifindex && prefixlen == vip_host_plen(v)) {
		/* The kernel lifetime ran out (keepalives are late: the lease
		 * is not confirmed), or someone - an operator, a network
		 * manager - took it away while we own it. Either way update()
		 * puts it back only with a lifetime that ends before the fence;
		 * the kernel may remove it up to 20 ms early. */
		if (loop_now_ms() + 50 >= v->expires_at)
			set_held(v, false, "kernel lifetime expired: keepalives are late", true, "");
		else
			set_held(v, false, "address removed by someone else", true, "; restoring");
		vip_update(v);
	} else if (!removed && !vip_owned_copy(v, ifindex, prefixlen)) {
		/* Not ours to hold (any prefix, any link, also beside our own
		 * copy): two nodes answering is the one thing we must never
		 * allow. A failed delete takes the node out of the election.
		 * Logged by vip_delete_stray only if there was something to delete:
		 * the late event of our own add, after we dropped it, finds
		 * nothing. */
		if (vip_delete_stray(v, ifindex, prefixlen, v->held ?
		    "added by someone else while this node holds it" :
		    "added by someone else while not owner") < 0)
			vip_update(v); /* stand aside while it stays */
	} else if (removed && (stray = vip_stray_find(v, ifindex, prefixlen)) != NULL) {
		log_info("vip: stray copy of the address gone vip=%s ifindex=%d prefix=/%u",
		    v->cv.ip, ifindex, prefixlen);
		vip_stray_forget(v, stray);
		vip_update(v);
	}
}

/* Every copy of the address left on any link by an earlier run (or put
 * there by hand, or by keepalived or Pacemaker as "VIP/24") goes: this node
 * holds it only once elected. */
static void remove_leftover(struct vip *v)
{
	(void)vip_sweep(v, "leftover, not elected yet");
}

void vip_resync(struct vip *v)
{
	int r;

	if (v->held) {
		r = nl_addr_present(v->env.nl, v->ifindex, v->cv.family, v->cv.addr, NULL);
		if (r == 0)
			set_held(v, false, "address missing after resync", true, "; restoring");
	}
	/* Copies whose events were lost. */
	(void)vip_sweep(v, "found at resync");
	vip_subnet_check(v);
	vip_update(v);
}

void vip_set_opts(struct vip *v, const struct vip_opts *o)
{
	v->o.lease_ttl_ms = o->lease_ttl_ms;
	v->o.announce_count = o->announce_count;
	v->o.announce_interval_ms = o->announce_interval_ms;
	v->o.announce_refresh_ms = o->announce_refresh_ms;
}

const char *vip_election(const struct vip *v)
{
	return v->election;
}

struct vip *vip_new(const struct vip_env *env, const struct vip_opts *o,
    const struct cfg_vip *cv)
{
	struct vip *v = xcalloc(1, sizeof(*v));

	v->env = *env;
	cfg_vip_copy_addr(&v->cv, cv);
	v->election = xasprintf("%s%s", o->prefix, cv->ip);
	v->o = *o;
	v->o.prefix = NULL; /* not kept: election holds it */
	v->elect = elect_new(env->loop, env->etcd, env->watch, v->election, env->node,
	    o->lease_ttl_ms, on_elect, v);
	v->announce_timer = loop_timer_new(env->loop, on_announce, v);
	v->retry_timer = loop_timer_new(env->loop, on_retry, v);
	v->life_timer = loop_timer_new(env->loop, on_life_timer, v);
	v->peers = peers_new(env->loop, env->etcd, v->election);
	v->conflict = conflict_new(env->loop, v->peers, vip_on_probe, v);
	v->probe_timer = loop_timer_new(env->loop, vip_on_probe_timer, v);
	v->peers_timer = loop_timer_new(env->loop, on_peers_timer, v);
	v->in_subnet = -1;
	snprintf(v->reason, sizeof(v->reason), "not elected yet");
	remove_leftover(v);
	log_info("vip: managing vip=%s election=%s", cv->ip, v->election);
	return v;
}

void vip_free(struct vip *v)
{
	if (v == NULL)
		return;
	elect_free(v->elect);
	loop_timer_free(v->announce_timer);
	loop_timer_free(v->retry_timer);
	loop_timer_free(v->life_timer);
	conflict_free(v->conflict);
	peers_free(v->peers);
	loop_timer_free(v->probe_timer);
	loop_timer_free(v->peers_timer);
	free(v->election);
	free(v);
}
