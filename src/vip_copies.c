/*
 * vip_copies.c - copies of the VIP on this node that it does not hold (a
 * leftover of an earlier run, a "VIP/24" another tool left, one added by
 * hand), deleted with their own prefix length; and the same-subnet check
 * of the VIP's link. Part of one VIP (vip_int.h).
 */
#include "vip_int.h"

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
bool vip_owned_copy(const struct vip *v, int ifindex, unsigned plen)
{
	return plen == vip_host_plen(v) && v->held_ifindex > 0 && ifindex == v->held_ifindex &&
	    (v->held || v->del_owed);
}

struct vip_copy *vip_stray_find(struct vip *v, int ifindex, unsigned plen)
{
	for (size_t i = 0; i < v->n_strays; i++)
		if (v->strays[i].ifindex == ifindex && v->strays[i].prefixlen == plen)
			return &v->strays[i];
	return NULL;
}

static void stray_add(struct vip *v, int ifindex, unsigned plen)
{
	if (vip_stray_find(v, ifindex, plen) != NULL)
		return;
	if (v->n_strays == VIP_MAX_COPIES) {
		v->strays_more = true; /* still out of the election: vip_sweep again */
		return;
	}
	v->strays[v->n_strays++] = (struct vip_copy){ ifindex, plen };
}

void vip_stray_forget(struct vip *v, struct vip_copy *c)
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

	if (v->cv.family != AF_INET || plen >= 32)
		return 0;
	n = nl_addr_list(v->env.nl, ifindex, AF_INET, NULL, a, VIP_MAX_LINK_ADDRS);
	if (n < 0)
		return n == -ENODEV ? 0 : n;
	if (n > VIP_MAX_LINK_ADDRS)
		n = VIP_MAX_LINK_ADDRS;
	for (int i = 0; i < n && copy == NULL; i++)
		if (a[i].prefixlen == plen && memcmp(a[i].addr, v->cv.addr, 4) == 0)
			copy = &a[i];
	if (copy == NULL || copy->secondary)
		return 0;
	k = subnet_secondaries(copy, a, (size_t)n);
	if (k == 0 || nl_promote_secondaries(v->env.nl, ifindex) == 1)
		return 0;
	return k > 1000 ? 1000 : (int)k;
}

int vip_delete_stray(struct vip *v, int ifindex, unsigned plen, const char *why)
{
	struct vip_copy *known = vip_stray_find(v, ifindex, plen);
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
			    "stays (retrying)", v->cv.ip, ifindex, plen, why, take);
		stray_add(v, ifindex, plen);
		vip_retry_later(v);
		return -ENOTEMPTY;
	}
	r = take < 0 ? take : nl_addr_del(v->env.nl, ifindex, v->cv.family, v->cv.addr, plen);
	if (r == -EADDRNOTAVAIL || r == -ENODEV) {
		log_debug("vip: copy of the address already gone vip=%s ifindex=%d prefix=/%u",
		    v->cv.ip, ifindex, plen);
		r = 0;
	} else if (r == 0) {
		log_warnx("vip: removed a copy of the address this node does not hold vip=%s "
		    "ifindex=%d prefix=/%u reason=\"%s\"", v->cv.ip, ifindex, plen, why);
	} else if (known == NULL) {
		log_errorx("vip: cannot delete a copy of the address vip=%s ifindex=%d prefix=/%u "
		    "reason=\"%s\": %s; not a candidate while it stays (retrying)", v->cv.ip,
		    ifindex, plen, why, strerror(-r));
	}
	if (r < 0) {
		stray_add(v, ifindex, plen);
		vip_retry_later(v);
	} else if (known != NULL) {
		log_info("vip: stray copy of the address deleted vip=%s ifindex=%d prefix=/%u",
		    v->cv.ip, ifindex, plen);
		vip_stray_forget(v, known);
	}
	return r;
}

/* List every copy of the address on every link and delete each one this
 * node does not hold (vip_delete_stray). Strays recorded earlier that the
 * listing no longer shows are gone. A listing that fails keeps what we
 * knew and is retried. Returns the number of copies still there that are
 * not ours (0 = none), or -errno when the listing failed. */
int vip_sweep(struct vip *v, const char *why)
{
	struct nl_addr c[VIP_MAX_COPIES];
	int n = nl_addr_list(v->env.nl, 0, v->cv.family, v->cv.addr, c, VIP_MAX_COPIES);
	size_t seen = n < 0 ? 0 : (size_t)n < VIP_MAX_COPIES ? (size_t)n : VIP_MAX_COPIES;
	int left = 0;

	if (n < 0) {
		/* Logged by netlink. A leftover may be there unseen: out of
		 * the election until a listing succeeds. */
		v->sweep_owed = true;
		vip_retry_later(v);
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
			    v->cv.ip, k->ifindex, k->prefixlen);
			vip_stray_forget(v, k);
		}
	}
	v->strays_more = (size_t)n > seen;
	for (size_t j = 0; j < seen; j++)
		if (!vip_owned_copy(v, c[j].ifindex, c[j].prefixlen) &&
		    vip_delete_stray(v, c[j].ifindex, c[j].prefixlen, why) < 0)
			left++;
	if (v->strays_more)
		vip_retry_later(v); /* the next listing sees the rest */
	return left + (v->strays_more ? 1 : 0);
}

/* ---- the same subnet ---------------------------------------------------------- */

/* Warn once per change when no address on the VIP's link has a prefix that
 * contains the VIP (neighbours then have no on-link route to it and the
 * announcements reach nobody who would use them); say so when it clears. */
void vip_subnet_check(struct vip *v)
{
	struct nl_addr a[VIP_MAX_LINK_ADDRS];
	char list[256];
	int n, in;

	if (v->ifindex <= 0)
		return;
	n = nl_addr_list(v->env.nl, v->ifindex, v->cv.family, NULL, a, VIP_MAX_LINK_ADDRS);
	if (n < 0)
		return; /* logged by netlink; checked again at the next change */
	if (n > VIP_MAX_LINK_ADDRS)
		n = VIP_MAX_LINK_ADDRS;
	in = subnet_find(v->cv.family, v->cv.addr, a, (size_t)n) >= 0;
	if (in == v->in_subnet)
		return;
	if (!in) {
		subnet_format(list, sizeof(list), a, (size_t)n, v->cv.family, v->cv.addr);
		log_warnx("vip: not in the subnet of its link vip=%s link=%s addresses=\"%s\": no "
		    "address on the link has a prefix that contains the VIP; other nodes "
		    "may not reach it", v->cv.ip, v->ifname, list);
	} else if (v->in_subnet == 0) {
		log_info("vip: now in the subnet of its link vip=%s link=%s", v->cv.ip, v->ifname);
	}
	v->in_subnet = in;
}

