/*
 * metrics_vipd.h - vipd's metrics: read at scrape time from the modules'
 * own accessors (vip_status, vip_transitions, session_counts,
 * etcd_stats) and rendered with metrics.h. Every metric is listed, with
 * its labels and meaning, in docs/operations.md "Metrics".
 */
#ifndef VIPD_METRICS_VIPD_H
#define VIPD_METRICS_VIPD_H

#include <stddef.h>
#include <stdint.h>

struct vip;
struct session;
struct etcd;

/* The daemon's parts a scrape reads; borrowed, owned by the daemon. */
struct metrics_src {
	const struct session *session;
	const struct etcd *etcd;
	struct vip *const *vips;
	size_t n_vips;
	uint64_t now_ms;          /* loop_now_ms() at the scrape */
};

/* One scrape's text (exposition format 0.0.4), malloc'ed; *len bytes. */
char *metrics_vipd_render(const struct metrics_src *s, size_t *len);

#endif
