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

#define VIP_RETRY_MS 200
/* While not the owner, the wire is probed for the address this often:
 * every 5 s (one broadcast per VIP and non-owner; the takeover probes
 * anyway), every second while a conflict lasts, so that it clears soon
 * after the foreign host lets go. */
#define VIP_PROBE_QUIET_MS    5000u
#define VIP_PROBE_CONFLICT_MS 1000u
/* Copies of the VIP one listing sees (a copy per link, IPv4 one per prefix
 * length on a link); more are seen by the next sweep, after these go. */
#define VIP_MAX_COPIES 8
/* Addresses of the VIP's link read for the same-subnet check. */
#define VIP_MAX_LINK_ADDRS 64

/* A copy of the VIP on one of this node's links: where, which prefix. */
struct vip_copy {
	int ifindex;
	unsigned prefixlen;
};

struct vip {
	struct vip_env env;
	const struct cfg_vip *cv;
	/* The link as links.c resolved it (vip_link_set). */
	char ifname[16];          /* its name now, "" while unresolved */
	int ifindex;              /* 0 = none */
	bool link_up;
	bool link_error;          /* unusable: blocks campaigning */
	unsigned char mac[6];
	int64_t lease;            /* to campaign with, 0 = none */
	bool held;                /* the address is on the link, put by us;
				     changed only by set_held() */
	uint64_t held_since;
	uint64_t changed_at;      /* when held last changed (loop ms), 0 never */
	char reason[96];          /* why it last changed (ownership or role) */
	bool reason_set;          /* reason written since the last vip_update */
	bool paused;              /* policy fact: an operator paused it */
	const char *role;         /* policy_role() at the last vip_update */
	uint64_t role_since;      /* when that role began (loop ms) */
	struct metrics_table transitions; /* set_held's changes (vip_transitions) */
	uint64_t announcements;   /* sent, for metrics */
	uint64_t expires_at;      /* when the kernel lifetime we set runs out */
	int held_ifindex;         /* the link the address was put on */
	bool del_owed;            /* a delete failed: the address may be on it */
	bool warned_owed;         /* logged that the key stays while it is owed */
	struct vip_copy strays[VIP_MAX_COPIES]; /* copies we do not hold and could not delete */
	size_t n_strays;
	bool strays_more;         /* a listing saw more copies than it holds */
	bool sweep_owed;          /* the copies could not be listed: look again */
	int in_subnet;            /* -1 unknown, 0 no address on the link has a
	                           * prefix containing the VIP, 1 one has */
	uint32_t retry_ms;        /* backoff for failed address changes */
	struct elect *elect;
	unsigned announce_left;
	struct loop_timer *announce_timer;
	struct loop_timer *retry_timer;
	/* probing the wire (conflict.h, docs/design.md "Probing the wire") */
	struct peers *peers;
	struct conflict *conflict;
	struct loop_timer *probe_timer; /* the next probe while not the owner */
	bool probing_takeover;    /* the probe in flight decides a takeover */
	bool probed;              /* elected, and a probe since heard silence */
	bool in_conflict;         /* policy fact "conflict" */
	unsigned clear_probes;    /* probes in a row without a foreign answer */
	unsigned char conflict_mac[6]; /* the foreign MAC last logged */
	uint64_t peer_wait_since; /* a peer answered a takeover probe: since */
	int probe_err;            /* the last probe's -errno, logged once */
};

const char *vip_ip(const struct vip *v)
{
	return v->cv->ip;
}

bool vip_is_held(const struct vip *v)
{
	return v->held;
}

int vip_in_subnet(const struct vip *v)
{
	return v->ifindex > 0 ? v->in_subnet : -1;
}

static size_t addr_len(const struct vip *v)
{
	return v->cv->family == AF_INET ? 4 : 16;
}

/* ---- announcements ------------------------------------------------------ */

static void announce_once(struct vip *v)
{
	int r;

	if (!v->held || v->ifindex <= 0)
		return;
	r = announce_send(v->ifindex, v->mac, v->cv->family, v->cv->addr);
	if (r < 0)
		log_warnx("vip: announce failed vip=%s link=%s: %s", v->cv->ip, v->ifname,
		    strerror(-r));
	else {
		v->announcements++;
		log_debug("vip: announced vip=%s link=%s", v->cv->ip, v->ifname);
	}
}

static void on_announce(void *arg)
{
	struct vip *v = arg;
	const struct cfg *c = v->env.cfg;

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

static void announce_start(struct vip *v)
{
	v->announce_left = v->env.cfg->announce_count;
	if (v->announce_left == 0 && v->env.cfg->announce_refresh_ms == 0)
		return;
	if (v->announce_left == 0) {
		loop_timer_arm(v->announce_timer, v->env.cfg->announce_refresh_ms);
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
		    v->cv->ip, v->ifname, v->env.node, (uint64_t)v->lease,
		    (int64_t)(session_fence(v->env.session) - now), extra);
		return;
	}
	v->held = false;
	loop_timer_disarm(v->announce_timer);
	(warn ? log_warnx : log_info)("vip: released vip=%s link=%s reason=\"%s\" held_ms=%" PRIu64
	    " fence_in_ms=%" PRId64 "%s", v->cv->ip, v->ifname, reason, now - v->held_since,
	    (int64_t)(session_fence(v->env.session) - now), extra);
}

static void gather(const struct vip *v, uint64_t now, struct vip_facts *f);

void vip_status(const struct vip *v, struct vip_status *out)
{
	uint64_t now = loop_now_ms();
	struct vip_facts f;

	gather(v, now, &f);

	*out = (struct vip_status){
		.ip = v->cv->ip,
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

static void retry_later(struct vip *v)
{
	loop_timer_arm(v->retry_timer, backoff_next(&v->retry_ms, VIP_RETRY_MS, 5000));
}

/* Add or refresh the address with a kernel lifetime that ends before the
 * fence. Returns 0, -ETIME when the fence is too close for any safe
 * lifetime (nothing is installed), or a netlink -errno. */
static int install(struct vip *v, uint64_t now)
{
	uint32_t life = policy_lifetime_s(now, session_fence(v->env.session), VIP_KERNEL_LAG_MS);
	int r;

	if (life == 0)
		return -ETIME;
	/* IPv6: installed deprecated (preferred lifetime 0). It still
	 * answers, but source selection (RFC 6724 rule 3: avoid deprecated
	 * addresses) never picks it for this node's own connections - which
	 * it otherwise did, even to peers in the same /64 (measured: `ip -6
	 * route get fd00:18::12` on the owner chose the /128 VIP), and those
	 * connections (etcd, kubelet, our keepalives) break when the VIP
	 * moves. IPv4 needs nothing: the kernel takes the source from the
	 * subnet route's preferred source, the node's own address. */
	r = nl_addr_add(v->env.nl, v->ifindex, v->cv->family, v->cv->addr, life,
	    v->cv->family == AF_INET6 ? 0 : life, true);
	if (r == 0) {
		v->expires_at = now + life * 1000u;
		v->held_ifindex = v->ifindex;
		v->del_owed = false;
	}
	return r;
}

static unsigned host_plen(const struct vip *v)
{
	return (unsigned)addr_len(v) * 8;
}

/* Delete the copy with prefix length plen from ifindex: 0 also when it was
 * not there (or the link is gone), else the netlink -errno. */
static int addr_del_plen(struct vip *v, int ifindex, unsigned plen)
{
	int r = nl_addr_del(v->env.nl, ifindex, v->cv->family, v->cv->addr, plen);

	return r == -EADDRNOTAVAIL || r == -ENODEV ? 0 : r;
}

/* Delete our host-prefix address from ifindex (see addr_del_plen). */
static int addr_del(struct vip *v, int ifindex)
{
	return addr_del_plen(v, ifindex, host_plen(v));
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
		    "is still owed", v->cv->ip, v->ifname, v->held_ifindex);
		if (!loop_timer_armed(v->retry_timer))
			retry_later(v);
		return;
	}
	r = install(v, now);

	if (r == -ETIME) {
		/* Elected, but the lease is not confirmed for long enough to
		 * give the address a lifetime that ends before the fence. The
		 * next keepalive (vip_renewed) tries again. */
		log_debug("vip: not installing vip=%s: fence too close fence_in_ms=%" PRId64,
		    v->cv->ip, (int64_t)(session_fence(v->env.session) - now));
		return;
	}
	if (r < 0) {
		/* Logged by netlink; try again, backing off to 5 s. */
		retry_later(v);
		return;
	}
	v->retry_ms = 0;
	set_held(v, true, "elected", false, "");
	announce_start(v);
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
			retry_later(v);
	}
	set_held(v, false, why, false, r < 0 ? " (delete failed, retrying)" : "");
	return r;
}

/* ---- copies this node does not hold ------------------------------------------ */

/*
 * Ours is exactly one copy: the host prefix (/32, /128) on the link we put
 * it on, while held or while its failed delete is owed (on_retry deletes
 * that one). Every other copy - a leftover of an earlier run, a "VIP/24"
 * that keepalived or Pacemaker left, one added by hand on any link - is a
 * stray and is deleted with its own prefix length: the kernel refuses to
 * delete "VIP/24" as "VIP/32". That includes a "VIP/24" added on the link
 * we hold "VIP/32" on (IPv4 allows both side by side): it brings a subnet
 * route and has no kernel lifetime, so it would outlive our claim and a
 * second node would answer for the VIP after a failover.
 */
static bool owned_copy(const struct vip *v, int ifindex, unsigned plen)
{
	return plen == host_plen(v) && v->held_ifindex > 0 && ifindex == v->held_ifindex &&
	    (v->held || v->del_owed);
}

static struct vip_copy *stray_find(struct vip *v, int ifindex, unsigned plen)
{
	for (size_t i = 0; i < v->n_strays; i++)
		if (v->strays[i].ifindex == ifindex && v->strays[i].prefixlen == plen)
			return &v->strays[i];
	return NULL;
}

static void stray_add(struct vip *v, int ifindex, unsigned plen)
{
	if (stray_find(v, ifindex, plen) != NULL)
		return;
	if (v->n_strays == VIP_MAX_COPIES) {
		v->strays_more = true; /* still out of the election: sweep again */
		return;
	}
	v->strays[v->n_strays++] = (struct vip_copy){ ifindex, plen };
}

static void stray_forget(struct vip *v, struct vip_copy *c)
{
	*c = v->strays[--v->n_strays];
}

/* Delete a copy this node does not hold. Returns 0 (also when it was
 * already gone) or -errno: then the copy is recorded as a stray, the node
 * stops campaigning for the VIP (policy: stray_copy) and a retry is
 * armed. Logged: the removal at warn, a failed delete as an error once
 * per copy. */
/*
 * How many of the node's own addresses deleting the IPv4 copy plen on
 * ifindex would take with it: a copy that is the primary address of its
 * subnet on the link (keepalived's "VIP/24" added before the node's
 * "198.18.0.12/24") takes every secondary of that subnet along unless
 * promote_secondaries is on (measured on 6.18). 0 = safe to delete (or the
 * copy is not listed: the delete will say it is gone), > 0 = would take
 * that many, or -errno when the link's addresses cannot be read.
 */
static int delete_would_take(struct vip *v, int ifindex, unsigned plen)
{
	struct nl_addr a[VIP_MAX_LINK_ADDRS];
	const struct nl_addr *copy = NULL;
	size_t k;
	int n;

	if (v->cv->family != AF_INET || plen >= 32)
		return 0;
	n = nl_addr_list(v->env.nl, ifindex, AF_INET, NULL, a, VIP_MAX_LINK_ADDRS);
	if (n < 0)
		return n == -ENODEV ? 0 : n;
	if (n > VIP_MAX_LINK_ADDRS)
		n = VIP_MAX_LINK_ADDRS;
	for (int i = 0; i < n && copy == NULL; i++)
		if (a[i].prefixlen == plen && memcmp(a[i].addr, v->cv->addr, 4) == 0)
			copy = &a[i];
	if (copy == NULL || copy->secondary)
		return 0;
	k = subnet_secondaries(copy, a, (size_t)n);
	if (k == 0 || nl_promote_secondaries(v->env.nl, ifindex) == 1)
		return 0;
	return k > 1000 ? 1000 : (int)k;
}

static int delete_stray(struct vip *v, int ifindex, unsigned plen, const char *why)
{
	struct vip_copy *known = stray_find(v, ifindex, plen);
	int take = delete_would_take(v, ifindex, plen);
	int r;

	if (take > 0) {
		/* Safety both ways: this copy must not answer here, and the
		 * node must not lose its own addresses (its etcd, its
		 * cluster traffic) to vipd. Left to the operator. */
		if (known == NULL)
			log_errorx("vip: not deleting a copy of the address vip=%s ifindex=%d prefix=/%u "
			    "reason=\"%s\": it is the primary address of its subnet on that link and "
			    "the kernel would delete the node's own %d address(es) of that subnet with "
			    "it (promote_secondaries is off for the link and for all, or /proc/sys "
			    "cannot be read); delete it by hand, or set "
			    "net.ipv4.conf.<link>.promote_secondaries=1; not a candidate while it "
			    "stays (retrying)", v->cv->ip, ifindex, plen, why, take);
		stray_add(v, ifindex, plen);
		retry_later(v);
		return -ENOTEMPTY;
	}
	r = take < 0 ? take : nl_addr_del(v->env.nl, ifindex, v->cv->family, v->cv->addr, plen);
	if (r == -EADDRNOTAVAIL || r == -ENODEV) {
		log_debug("vip: copy of the address already gone vip=%s ifindex=%d prefix=/%u",
		    v->cv->ip, ifindex, plen);
		r = 0;
	} else if (r == 0) {
		log_warnx("vip: removed a copy of the address this node does not hold vip=%s "
		    "ifindex=%d prefix=/%u reason=\"%s\"", v->cv->ip, ifindex, plen, why);
	} else if (known == NULL) {
		log_errorx("vip: cannot delete a copy of the address vip=%s ifindex=%d prefix=/%u "
		    "reason=\"%s\": %s; not a candidate while it stays (retrying)", v->cv->ip,
		    ifindex, plen, why, strerror(-r));
	}
	if (r < 0) {
		stray_add(v, ifindex, plen);
		retry_later(v);
	} else if (known != NULL) {
		log_info("vip: stray copy of the address deleted vip=%s ifindex=%d prefix=/%u",
		    v->cv->ip, ifindex, plen);
		stray_forget(v, known);
	}
	return r;
}

/* List every copy of the address on every link and delete each one this
 * node does not hold (delete_stray). Strays recorded earlier that the
 * listing no longer shows are gone. A listing that fails keeps what we
 * knew and is retried. Returns the number of copies still there that are
 * not ours (0 = none), or -errno when the listing failed. */
static int sweep(struct vip *v, const char *why)
{
	struct nl_addr c[VIP_MAX_COPIES];
	int n = nl_addr_list(v->env.nl, 0, v->cv->family, v->cv->addr, c, VIP_MAX_COPIES);
	size_t seen = n < 0 ? 0 : (size_t)n < VIP_MAX_COPIES ? (size_t)n : VIP_MAX_COPIES;
	int left = 0;

	if (n < 0) {
		/* Logged by netlink. A leftover may be there unseen: out of
		 * the election until a listing succeeds. */
		v->sweep_owed = true;
		retry_later(v);
		return n;
	}
	v->sweep_owed = false;
	/* Recorded strays the kernel no longer lists went by themselves. */
	for (size_t i = v->n_strays; i > 0; i--) {
		struct vip_copy *k = &v->strays[i - 1];
		bool listed = false;

		for (size_t j = 0; j < seen && !listed; j++)
			listed = c[j].ifindex == k->ifindex && c[j].prefixlen == k->prefixlen;
		if (!listed) {
			log_info("vip: stray copy of the address gone vip=%s ifindex=%d prefix=/%u",
			    v->cv->ip, k->ifindex, k->prefixlen);
			stray_forget(v, k);
		}
	}
	v->strays_more = (size_t)n > seen;
	for (size_t j = 0; j < seen; j++)
		if (!owned_copy(v, c[j].ifindex, c[j].prefixlen) &&
		    delete_stray(v, c[j].ifindex, c[j].prefixlen, why) < 0)
			left++;
	if (v->strays_more)
		retry_later(v); /* the next listing sees the rest */
	return left + (v->strays_more ? 1 : 0);
}

/* ---- the same subnet ---------------------------------------------------------- */

/* Warn once per change when no address on the VIP's link has a prefix that
 * contains the VIP (neighbours then have no on-link route to it and the
 * announcements reach nobody who would use them); say so when it clears. */
static void subnet_check(struct vip *v)
{
	struct nl_addr a[VIP_MAX_LINK_ADDRS];
	char list[256];
	int n, in;

	if (v->ifindex <= 0)
		return;
	n = nl_addr_list(v->env.nl, v->ifindex, v->cv->family, NULL, a, VIP_MAX_LINK_ADDRS);
	if (n < 0)
		return; /* logged by netlink; checked again at the next change */
	if (n > VIP_MAX_LINK_ADDRS)
		n = VIP_MAX_LINK_ADDRS;
	in = subnet_find(v->cv->family, v->cv->addr, a, (size_t)n) >= 0;
	if (in == v->in_subnet)
		return;
	if (!in) {
		subnet_format(list, sizeof(list), a, (size_t)n, v->cv->family, v->cv->addr);
		log_warnx("vip: not in the subnet of its link vip=%s link=%s addresses=\"%s\": no "
		    "address on the link has a prefix that contains the VIP; other nodes "
		    "may not reach it", v->cv->ip, v->ifname, list);
	} else if (v->in_subnet == 0) {
		log_info("vip: now in the subnet of its link vip=%s link=%s", v->cv->ip, v->ifname);
	}
	v->in_subnet = in;
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

static void gather(const struct vip *v, uint64_t now, struct vip_facts *f)
{
	f->have_lease = v->lease != 0;
	f->fence_ok = session_valid(v->env.session, now);
	f->link_up = v->ifindex > 0 && v->link_up;
	f->link_unusable = v->link_error;
	f->healthy = true;
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

	gather(v, now, &f);
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

/* ---- probing the wire ------------------------------------------------------ */

static uint32_t probe_period_ms(const struct vip *v)
{
	return v->in_conflict ? VIP_PROBE_CONFLICT_MS : VIP_PROBE_QUIET_MS;
}

static void probe_start(struct vip *v, bool takeover)
{
	int r;

	if (v->ifindex <= 0 || !v->link_up)
		return;
	conflict_cancel(v->conflict);
	r = conflict_probe(v->conflict, v->ifindex, v->mac, v->cv->family, v->cv->addr);
	if (r < 0) {
		/* The probe could not be sent (e.g. no CAP_NET_RAW, or the
		 * link went away): the takeover goes ahead as it did before
		 * probes existed - etcd and the fence still decide - and the
		 * failure is said once per errno. */
		if (r != v->probe_err)
			log_warnx("vip: cannot probe the wire vip=%s link=%s: %s; taking over "
			    "without a probe", v->cv->ip, v->ifname, strerror(-r));
		v->probe_err = r;
		if (takeover)
			v->probed = true;
		loop_timer_arm(v->probe_timer, probe_period_ms(v));
		return;
	}
	v->probe_err = 0;
	v->probing_takeover = takeover;
	log_debug("vip: probing vip=%s link=%s%s", v->cv->ip, v->ifname,
	    takeover ? " (takeover)" : "");
}

static void on_probe_timer(void *arg)
{
	struct vip *v = arg;

	if (!v->held && !conflict_busy(v->conflict))
		probe_start(v, false);
}

/* How long a takeover waits for a peer that still answers: the old owner
 * cannot hold the address past its own fence, which is at most one lease
 * TTL after its last keepalive (sent before it answered us), and the
 * kernel removes the address by then (policy_lifetime_s). One kernel lag
 * is added for good measure. */
static uint64_t peer_wait_bound_ms(const struct vip *v)
{
	return (uint64_t)v->env.cfg->lease_ttl_ms + VIP_KERNEL_LAG_MS;
}

static void on_probe(void *arg, const struct conflict_result *r)
{
	struct vip *v = arg;
	uint64_t now = loop_now_ms();
	bool takeover = v->probing_takeover, was = v->in_conflict;
	char mac[18];

	v->probing_takeover = false;
	log_debug("vip: probe done vip=%s peers=%u foreign=%u%s", v->cv->ip, r->n_peer,
	    r->n_foreign, takeover ? " (takeover)" : "");
	if (r->err < 0) {
		log_warnx("vip: probe failed vip=%s link=%s: %s", v->cv->ip, v->ifname,
		    strerror(-r->err));
		loop_timer_arm(v->probe_timer, VIP_RETRY_MS);
		return;
	}
	v->in_conflict = policy_conflict_step(v->in_conflict, &v->clear_probes, r->n_foreign > 0);
	if (r->n_foreign > 0 && (!was || memcmp(v->conflict_mac, r->foreign, 6) != 0)) {
		peers_mac_str(r->foreign, mac);
		log_errorx("vip: CONFLICT vip=%s link=%s mac=%s: a host that is no vipd peer answers "
		    "for the address; not taking it while it answers (until %u probes in a row, "
		    "1 s apart, hear nobody)", v->cv->ip, v->ifname, mac, POLICY_CONFLICT_CLEAR);
		memcpy(v->conflict_mac, r->foreign, 6);
	} else if (was && !v->in_conflict) {
		peers_mac_str(v->conflict_mac, mac);
		log_info("vip: conflict over vip=%s link=%s mac=%s: %u probes in a row heard nobody",
		    v->cv->ip, v->ifname, mac, POLICY_CONFLICT_CLEAR);
	}
	if (takeover && elect_is_leader(v->elect) && !v->in_conflict) {
		if (r->n_peer == 0) {
			if (v->peer_wait_since != 0)
				log_info("vip: the old owner let go vip=%s after %" PRIu64 " ms",
				    v->cv->ip, now - v->peer_wait_since);
			v->peer_wait_since = 0;
			v->probed = true;
		} else if (v->peer_wait_since == 0) {
			peers_mac_str(r->peer, mac);
			log_info("vip: waiting for the old owner to let go vip=%s link=%s mac=%s "
			    "(at most %" PRIu64 " ms)", v->cv->ip, v->ifname, mac, peer_wait_bound_ms(v));
			v->peer_wait_since = now;
		} else if (now - v->peer_wait_since > peer_wait_bound_ms(v)) {
			/* No vipd peer can hold it this long after losing the
			 * election: whatever answers is not behaving as one. */
			peers_mac_str(r->peer, mac);
			log_errorx("vip: CONFLICT vip=%s link=%s mac=%s: a vipd peer still answers for "
			    "the address %" PRIu64 " ms after losing it; treated as a foreign host",
			    v->cv->ip, v->ifname, mac, now - v->peer_wait_since);
			memcpy(v->conflict_mac, r->peer, 6);
			v->in_conflict = true;
			v->clear_probes = 0;
			v->peer_wait_since = 0;
		}
	}
	if (!v->held)
		loop_timer_arm(v->probe_timer, probe_period_ms(v));
	vip_update(v);
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
	gather(v, now, &f);
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
				    v->cv->ip, v->ifname, policy_why_not(&f),
				    (int64_t)(v->expires_at + VIP_KERNEL_LAG_MS - now));
			v->warned_owed = true;
		} else {
			v->warned_owed = false;
			log_info("vip: standing aside vip=%s reason=\"%s\"", v->cv->ip, policy_why_not(&f));
			if (f.have_lease)
				elect_resign(v->elect);
			else
				elect_reset(v->elect);
		}
	}
	/* Standing aside made leader false: read the facts again. */
	gather(v, now, &f);
	w = policy_decide(&f);
	if (!w.hold && !v->held && policy_probe_wanted(&f) &&
	    !(conflict_busy(v->conflict) && v->probing_takeover)) {
		probe_start(v, true);
		gather(v, now, &f); /* a probe that could not be sent: go on */
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
		loop_timer_arm(v->probe_timer, probe_period_ms(v));
	}
	note_role(v, now);
}

void vip_pause(struct vip *v, bool paused)
{
	if (paused == v->paused)
		return;
	v->paused = paused;
	snprintf(v->reason, sizeof(v->reason), "%s by the operator", paused ? "paused" : "resumed");
	v->reason_set = true;
	vip_update(v);
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
			retry_later(v);
			/* The kernel lifetime may have ended it meanwhile. */
			vip_update(v);
			return;
		}
		v->held_ifindex = 0;
	}
	if ((v->n_strays > 0 || v->strays_more || v->sweep_owed) && sweep(v, "retry") != 0)
		return; /* retried later; still out of the election */
	vip_update(v);
}

static void on_elect(void *arg, bool leader)
{
	struct vip *v = arg;

	(void)leader;
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
			log_warnx("vip: lifetime refresh failed vip=%s link=%s", v->cv->ip, v->ifname);
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
			    v->cv->ip, v->ifname, why, strerror(-r));
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
		log_warnx("vip: link gone vip=%s link=%s reason=\"%s\"", v->cv->ip, v->ifname,
		    l->reason);
	/* Off the old link before anything else: the address is never on
	 * two links (a deleted link took it with it: that delete is a no-op). */
	if (moved && v->held)
		drop(v, l->ifindex > 0 ? "moved to another link" : "link gone");
	if (!moved && l->ifindex > 0 && strcmp(l->name, v->ifname) != 0)
		log_info("vip: link renamed vip=%s ifindex=%d from=%s to=%s%s", v->cv->ip,
		    l->ifindex, v->ifname, l->name, v->held ? " (address kept)" : "");
	v->ifindex = l->ifindex;
	snprintf(v->ifname, sizeof(v->ifname), "%s", l->name);
	v->link_up = l->up;
	v->link_error = l->error;
	memcpy(v->mac, l->mac, sizeof(v->mac));
	if (l->ifindex > 0 && (moved || was_up != is_up))
		log_info("vip: link %s vip=%s link=%s ifindex=%d", is_up ? "up" : "down",
		    v->cv->ip, v->ifname, l->ifindex);
	if (mac_changed && v->held) {
		/* Neighbours still point at the old MAC: tell them at once
		 * (the kernel's own arp_notify/ndisc_notify may be off). */
		log_info("vip: link MAC changed vip=%s link=%s; announcing again", v->cv->ip,
		    v->ifname);
		announce_start(v);
	}
	subnet_check(v);
	vip_update(v);
}

void vip_addr_changed(struct vip *v, int ifindex, int family, const void *addr,
                      unsigned prefixlen, bool removed)
{
	struct vip_copy *stray;

	if (family != v->cv->family)
		return;
	if (memcmp(addr, v->cv->addr, addr_len(v)) != 0) {
		/* Another address on the VIP's link: the subnet may change. */
		if (ifindex == v->ifindex && v->ifindex > 0)
			subnet_check(v);
		return;
	}
	if (removed && v->held && ifindex == v->held_ifindex && prefixlen == host_plen(v)) {
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
	} else if (!removed && !owned_copy(v, ifindex, prefixlen)) {
		/* Not ours to hold (any prefix, any link, also beside our own
		 * copy): two nodes answering is the one thing we must never
		 * allow. A failed delete takes the node out of the election.
		 * Logged by delete_stray only if there was something to delete:
		 * the late event of our own add, after we dropped it, finds
		 * nothing. */
		if (delete_stray(v, ifindex, prefixlen, v->held ?
		    "added by someone else while this node holds it" :
		    "added by someone else while not owner") < 0)
			vip_update(v); /* stand aside while it stays */
	} else if (removed && (stray = stray_find(v, ifindex, prefixlen)) != NULL) {
		log_info("vip: stray copy of the address gone vip=%s ifindex=%d prefix=/%u",
		    v->cv->ip, ifindex, prefixlen);
		stray_forget(v, stray);
		vip_update(v);
	}
}

/* Every copy of the address left on any link by an earlier run (or put
 * there by hand, or by keepalived or Pacemaker as "VIP/24") goes: this node
 * holds it only once elected. */
static void remove_leftover(struct vip *v)
{
	(void)sweep(v, "leftover, not elected yet");
}

void vip_resync(struct vip *v)
{
	int r;

	if (v->held) {
		r = nl_addr_present(v->env.nl, v->ifindex, v->cv->family, v->cv->addr, NULL);
		if (r == 0)
			set_held(v, false, "address missing after resync", true, "; restoring");
	}
	/* Copies whose events were lost. */
	(void)sweep(v, "found at resync");
	subnet_check(v);
	vip_update(v);
}

struct vip *vip_new(const struct vip_env *env, const struct cfg_vip *cv)
{
	struct vip *v = xcalloc(1, sizeof(*v));
	const struct cfg *c = env->cfg;
	char *name;

	v->env = *env;
	v->cv = cv;
	name = xasprintf("%s%s", c->etcd.prefix, cv->ip);
	v->elect = elect_new(env->loop, env->etcd, name, env->node, c->lease_ttl_ms,
	    on_elect, v);
	free(name);
	v->announce_timer = loop_timer_new(env->loop, on_announce, v);
	v->retry_timer = loop_timer_new(env->loop, on_retry, v);
	name = xasprintf("%s%s", c->etcd.prefix, cv->ip);
	v->peers = peers_new(env->loop, env->etcd, name);
	free(name);
	v->conflict = conflict_new(env->loop, v->peers, on_probe, v);
	v->probe_timer = loop_timer_new(env->loop, on_probe_timer, v);
	v->in_subnet = -1;
	snprintf(v->reason, sizeof(v->reason), "not elected yet");
	remove_leftover(v);
	log_info("vip: managing vip=%s election=%s%s", cv->ip, c->etcd.prefix, cv->ip);
	return v;
}

void vip_free(struct vip *v)
{
	if (v == NULL)
		return;
	elect_free(v->elect);
	loop_timer_free(v->announce_timer);
	loop_timer_free(v->retry_timer);
	conflict_free(v->conflict);
	peers_free(v->peers);
	loop_timer_free(v->probe_timer);
	free(v);
}
