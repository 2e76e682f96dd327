/*
 * metrics_vipd.c - vipd's metrics, read from the modules at scrape time.
 */
#include "metrics_vipd.h"

#include "etcd.h"
#include "metrics.h"
#include "session.h"
#include "vip.h"

static const double latency_bounds[] = { ETCD_LATENCY_BOUNDS };

static void per_vip_bool(struct metrics_out *o, const struct metrics_src *s, const char *name,
    const char *help, bool (*get)(const struct vip_status *))
{
	struct vip_status st;

	metrics_family(o, name, help, METRICS_GAUGE);
	for (size_t i = 0; i < s->n_vips; i++) {
		vip_status(s->vips[i], &st);
		metrics_sample(o, (const char *const[]){ "vip", st.ip, NULL }, get(&st) ? 1 : 0);
	}
}

static bool get_leader(const struct vip_status *st) { return st->leader; }
static bool get_candidate(const struct vip_status *st) { return st->candidate; }
static bool get_conflict(const struct vip_status *st) { return st->conflict; }
static bool get_healthy(const struct vip_status *st) { return st->healthy; }

static void vips(struct metrics_out *o, const struct metrics_src *s)
{
	struct vip_status st;

	metrics_family(o, "vipd_vip_owner",
	    "1 while this node holds the VIP's address on link, else 0", METRICS_GAUGE);
	for (size_t i = 0; i < s->n_vips; i++) {
		vip_status(s->vips[i], &st);
		metrics_sample(o, (const char *const[]){ "vip", st.ip, "link", st.link, NULL },
		    st.held ? 1 : 0);
	}
	per_vip_bool(o, s, "vipd_vip_leader", "1 while this node leads the VIP's election",
	    get_leader);
	per_vip_bool(o, s, "vipd_vip_candidate", "1 while this node campaigns for the VIP",
	    get_candidate);
	per_vip_bool(o, s, "vipd_vip_conflict",
	    "1 while a host that is no vipd peer answers for the VIP (probing the wire)",
	    get_conflict);
	per_vip_bool(o, s, "vipd_vip_healthy",
	    "1 while vipd.health's checks allow campaigning for the VIP (1 without "
	    "health checks)", get_healthy);

	metrics_family(o, "vipd_vip_transitions_total",
	    "Times this node started (acquired) or stopped (released) holding the VIP, by reason",
	    METRICS_COUNTER);
	for (size_t i = 0; i < s->n_vips; i++) {
		const struct metrics_table *t = vip_transitions(s->vips[i]);

		for (size_t j = 0; j < t->n; j++)
			metrics_sample(o, (const char *const[]){ "vip", vip_ip(s->vips[i]),
			    "direction", t->e[j].a, "reason", t->e[j].b, NULL }, (double)t->e[j].count);
	}

	metrics_family(o, "vipd_vip_announcements_total",
	    "Gratuitous ARP / unsolicited NA announcements sent for the VIP", METRICS_COUNTER);
	for (size_t i = 0; i < s->n_vips; i++) {
		vip_status(s->vips[i], &st);
		metrics_sample(o, (const char *const[]){ "vip", st.ip, NULL },
		    (double)st.announcements);
	}
}

static void session(struct metrics_out *o, const struct metrics_src *s)
{
	struct session_counts c;
	uint64_t fence = session_fence(s->session);

	session_counts(s->session, &c);
	metrics_family(o, "vipd_fence_left_seconds",
	    "Seconds until the lease's local fence passes (negative: passed; 0 without a lease)",
	    METRICS_GAUGE);
	metrics_sample(o, NULL, fence == 0 ? 0 : ((double)fence - (double)s->now_ms) / 1000.0);
	metrics_family(o, "vipd_session_lease",
	    "1 while this node has an etcd lease", METRICS_GAUGE);
	metrics_sample(o, NULL, session_lease(s->session) != 0 ? 1 : 0);
	metrics_family(o, "vipd_session_grants_total", "etcd leases granted", METRICS_COUNTER);
	metrics_sample(o, NULL, (double)c.grants);
	metrics_family(o, "vipd_session_losses_total",
	    "etcd leases etcd reported gone (keepalive TTL <= 0 or not found)", METRICS_COUNTER);
	metrics_sample(o, NULL, (double)c.losses);
	metrics_family(o, "vipd_session_fence_expiries_total",
	    "Times the fence passed without a renewal (every address dropped)", METRICS_COUNTER);
	metrics_sample(o, NULL, (double)c.expiries);
}

static void etcd(struct metrics_out *o, const struct metrics_src *s)
{
	const struct metrics_table *req, *lat;

	etcd_stats(s->etcd, &req, &lat);
	metrics_family(o, "vipd_etcd_requests_total",
	    "Completed etcd requests by operation (gateway path) and result (ok or the failure kind)",
	    METRICS_COUNTER);
	for (size_t i = 0; i < req->n; i++)
		metrics_sample(o, (const char *const[]){ "operation", req->e[i].a,
		    "result", req->e[i].b, NULL }, (double)req->e[i].count);
	metrics_family(o, "vipd_etcd_request_duration_seconds",
	    "Time from sending an etcd request to its result, failures included (watch streams excluded)",
	    METRICS_HISTOGRAM);
	for (size_t i = 0; i < lat->n; i++)
		metrics_histogram(o, (const char *const[]){ "operation", lat->e[i].a, NULL },
		    latency_bounds, ETCD_LATENCY_N, &lat->e[i].hist);
}

char *metrics_vipd_render(const struct metrics_src *s, size_t *len)
{
	struct metrics_out o = { 0 };

	metrics_family(&o, "vipd_build_info", "Always 1; the version in a label", METRICS_GAUGE);
	metrics_sample(&o, (const char *const[]){ "version", VIPD_VERSION, NULL }, 1);
	vips(&o, s);
	session(&o, s);
	etcd(&o, s);
	return metrics_take(&o, len);
}
