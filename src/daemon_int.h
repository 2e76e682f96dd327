/*
 * daemon_int.h - the daemon's state, shared by daemon.c (start-up, events,
 * the stop) and daemon_reload.c (a reload's plan carried out). Private to
 * those two files; everything else uses daemon.h.
 */
#ifndef VIPD_DAEMON_INT_H
#define VIPD_DAEMON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vip.h"

/* How often VIPs a reload removed are checked for being gone (their
 * address and election key), to free them (ms). */
#define RETIRE_CHECK_MS  200

struct links;
struct links_want;
struct elect_cleanup;
struct leadermove;
struct loop_timer;
struct notify;
struct ctlsock;
struct metrics_http;
struct health;
struct watch;
struct hooks;

struct daemon {
	struct cfg *cfg;          /* the running configuration */
	struct cfg *owned;        /* cfg once a reload replaced the caller's */
	char node[256];
	struct loop *loop;
	struct etcd *etcd;
	struct watch *watch;      /* the elections' one shared watch */
	struct session *session;
	struct nl *nl;
	struct links *links;
	struct links_want **wants; /* one per VIP, same order */
	struct vip **vips;
	size_t n_vips;
	struct vip **retiring;    /* removed by a reload, until vip_retired */
	size_t n_retiring;
	struct loop_timer *retire_timer;
	bool cleaned;             /* stale keys of an earlier run removed */
	struct elect_cleanup *cleanup; /* that clean-up, while it runs */
	struct leadermove *leadermove; /* vipd.etcd.avoidLeader, or NULL */
	bool stopping;
	struct loop_timer *stop_timer;
	struct loop_timer *tls_timer; /* re-reads TLS files until usable */
	char tls_why[512];        /* the problem last logged, "" if none */
	uint64_t tls_logged_at;   /* when it was logged (loop ms) */
	struct notify *notify;    /* systemd readiness and watchdog */
	struct ctlsock *ctl;      /* the control socket (vipctl) */
	struct metrics_http *metrics; /* vipd.metrics.listen, or NULL */
	struct health *health;    /* vipd.health, or NULL */
	char unhealthy_why[320];  /* while checks are configured but no module
	                           * runs (no VIP): why the node was unhealthy
	                           * when the last VIP went; "" = healthy */
	struct hooks *hooks;      /* vipd.hooks */
};

/* daemon.c */
/* Give every VIP the lease (0: the lease is gone); a VIP waiting for a
 * removed one with its election name gets it once that one is gone. */
void daemon_set_lease_all(struct daemon *d, int64_t lease);
/* For leadermove: does this node hold any VIP now? */
bool daemon_owns_a_vip(void *arg, const char *node);
/* Tell every VIP where its link is now (links_resolve). */
void daemon_resolve_all(struct daemon *d);

/* health's event handler: tell every VIP (vip_set_healthy). */
void daemon_on_health(void *arg, bool healthy, const char *why);

/* daemon_reload.c */
/* What a VIP copies from cfg (vip.h); borrowed pointers into cfg. */
struct vip_opts daemon_vip_opts(const struct cfg *c);
struct vip_env daemon_vip_env(struct daemon *d);
/* Loop timer: free the removed VIPs that are gone (vip_retired); VIPs
 * waiting for one of them campaign then. Re-arms itself while any is left. */
void daemon_on_retire_check(void *arg);
/*
 * Read the configuration file again and apply it (reload.h): SIGHUP and
 * `vipctl reload` both come here, from the loop's own handlers. Returns
 * the answer (malloc'ed JSON, one line; NULL only out of memory); all of
 * it is logged too. Never exits: a file with errors leaves the running
 * configuration as it is.
 */
char *daemon_reload(struct daemon *d);

#endif
