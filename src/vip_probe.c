/*
 * vip_probe.c - probing the wire for the VIP before a takeover and while
 * not the owner (RFC 5227 ARP probe, DAD-style NS; conflict.h), and the
 * rules for what the answers mean. Part of one VIP (vip_int.h).
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

/* ---- probing the wire ------------------------------------------------------ */

uint32_t vip_probe_period_ms(const struct vip *v)
{
	return v->in_conflict ? VIP_PROBE_CONFLICT_MS : VIP_PROBE_QUIET_MS;
}

void vip_probe_start(struct vip *v, bool takeover)
{
	int r;

	if (v->ifindex <= 0 || !v->link_up)
		return;
	conflict_cancel(v->conflict);
	r = conflict_probe(v->conflict, v->ifindex, v->mac, v->cv.family, v->cv.addr);
	if (r < 0) {
		/* The probe could not be sent (e.g. no CAP_NET_RAW, or the
		 * link went away): the takeover goes ahead as it did before
		 * probes existed - etcd and the fence still decide - and the
		 * failure is said once per errno. */
		if (r != v->probe_err)
			log_warnx("vip: cannot probe the wire vip=%s link=%s: %s; taking over "
			    "without a probe", v->cv.ip, v->ifname, strerror(-r));
		v->probe_err = r;
		if (takeover)
			v->probed = true;
		loop_timer_arm(v->probe_timer, vip_probe_period_ms(v));
		return;
	}
	v->probe_err = 0;
	v->probing_takeover = takeover;
	log_debug("vip: probing vip=%s link=%s%s", v->cv.ip, v->ifname,
	    takeover ? " (takeover)" : "");
}

void vip_on_probe_timer(void *arg)
{
	struct vip *v = arg;

	if (!v->held && !conflict_busy(v->conflict))
		vip_probe_start(v, false);
}

/* How long a takeover waits for a peer that still answers: the old owner
 * cannot hold the address past its own fence, which is at most one lease
 * TTL after its last keepalive (sent before it answered us), and the
 * kernel removes the address by then (policy_lifetime_s). One kernel lag
 * is added for good measure. */
static uint64_t peer_wait_bound_ms(const struct vip *v)
{
	return (uint64_t)v->o.lease_ttl_ms + VIP_KERNEL_LAG_MS;
}

void vip_on_probe(void *arg, const struct conflict_result *r)
{
	struct vip *v = arg;
	uint64_t now = loop_now_ms();
	bool takeover = v->probing_takeover, was = v->in_conflict;
	char mac[18];

	v->probing_takeover = false;
	log_debug("vip: probe done vip=%s peers=%u foreign=%u%s", v->cv.ip, r->n_peer,
	    r->n_foreign, takeover ? " (takeover)" : "");
	if (r->err < 0) {
		log_warnx("vip: probe failed vip=%s link=%s: %s", v->cv.ip, v->ifname,
		    strerror(-r->err));
		loop_timer_arm(v->probe_timer, VIP_RETRY_MS);
		return;
	}
	v->in_conflict = policy_conflict_step(v->in_conflict, &v->clear_probes, r->n_foreign > 0);
	if (r->n_foreign > 0 && (!was || memcmp(v->conflict_mac, r->foreign, 6) != 0)) {
		peers_mac_str(r->foreign, mac);
		log_errorx("vip: CONFLICT vip=%s link=%s mac=%s: a host that is no vipd peer answers "
		    "for the address; not taking it while it answers (until %u probes in a row, "
		    "1 s apart, hear nobody)", v->cv.ip, v->ifname, mac, POLICY_CONFLICT_CLEAR);
		memcpy(v->conflict_mac, r->foreign, 6);
	} else if (was && !v->in_conflict) {
		peers_mac_str(v->conflict_mac, mac);
		log_info("vip: conflict over vip=%s link=%s mac=%s: %u probes in a row heard nobody",
		    v->cv.ip, v->ifname, mac, POLICY_CONFLICT_CLEAR);
	}
	if (takeover && elect_is_leader(v->elect) && !v->in_conflict) {
		if (r->n_peer == 0) {
			if (v->peer_wait_since != 0)
				log_info("vip: the old owner let go vip=%s after %" PRIu64 " ms",
				    v->cv.ip, now - v->peer_wait_since);
			v->peer_wait_since = 0;
			v->probed = true;
		} else if (v->peer_wait_since == 0) {
			peers_mac_str(r->peer, mac);
			log_info("vip: waiting for the old owner to let go vip=%s link=%s mac=%s "
			    "(at most %" PRIu64 " ms)", v->cv.ip, v->ifname, mac, peer_wait_bound_ms(v));
			v->peer_wait_since = now;
		} else if (now - v->peer_wait_since > peer_wait_bound_ms(v)) {
			/* No vipd peer can hold it this long after losing the
			 * election: whatever answers is not behaving as one. */
			peers_mac_str(r->peer, mac);
			log_errorx("vip: CONFLICT vip=%s link=%s mac=%s: a vipd peer still answers for "
			    "the address %" PRIu64 " ms after losing it; treated as a foreign host",
			    v->cv.ip, v->ifname, mac, now - v->peer_wait_since);
			memcpy(v->conflict_mac, r->peer, 6);
			v->in_conflict = true;
			v->clear_probes = 0;
			v->peer_wait_since = 0;
		}
	}
	if (!v->held)
		loop_timer_arm(v->probe_timer, vip_probe_period_ms(v));
	vip_update(v);
}

