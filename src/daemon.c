/*
 * daemon.c - builds the parts from the configuration, connects their
 * events, runs the loop, and stops in the safe order: addresses first,
 * then the lease (so the next candidate wins at once and never overlaps).
 */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctlcmd.h"
#include "ctlsock.h"
#include "elect.h"
#include "etcd.h"
#include "leadermove.h"
#include "links.h"
#include "log.h"
#include "loop.h"
#include "metrics_http.h"
#include "metrics_vipd.h"
#include "netlink.h"
#include "notify.h"
#include "privs.h"
#include "session.h"
#include "tlsfiles.h"
#include "vip.h"
#include "watch.h"
#include "xmem.h"

/* A stop must finish within 2 s even when etcd does not answer. */
#define STOP_REVOKE_MS   1200
#define STOP_DEADLINE_MS 1800
/* How often files that are missing or unusable at start are read again. */
#define TLS_RECHECK_MS   2000
/* ... and how often the same problem is logged again meanwhile. */
#define TLS_RELOG_MS     60000

struct daemon {
	const struct cfg *cfg;
	char node[256];
	struct loop *loop;
	struct etcd *etcd;
	struct watch *watch;     /* the elections' one shared watch */
	struct session *session;
	struct nl *nl;
	struct links *links;
	struct links_want **wants; /* one per VIP, same order */
	struct vip **vips;
	size_t n_vips;
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
};

/* A scrape (metrics_http's own event handler): read every part now. */
static char *render_metrics(void *arg, size_t *len)
{
	struct daemon *d = arg;

	return metrics_vipd_render(&(struct metrics_src){ .session = d->session,
	    .etcd = d->etcd, .vips = d->vips, .n_vips = d->n_vips,
	    .now_ms = loop_now_ms() }, len);
}

/* ---- session events ---------------------------------------------------- */

static void for_each_vip(struct daemon *d, void (*fn)(struct vip *))
{
	for (size_t i = 0; i < d->n_vips; i++)
		fn(d->vips[i]);
}

static void set_lease_all(struct daemon *d, int64_t lease)
{
	for (size_t i = 0; i < d->n_vips; i++)
		vip_set_lease(d->vips[i], lease);
}

static void on_cleaned(void *arg)
{
	struct daemon *d = arg;
	int64_t lease = session_lease(d->session);

	d->cleaned = true;
	d->cleanup = NULL;
	if (!d->stopping && lease != 0)
		set_lease_all(d, lease);
}

static void on_granted(void *arg, int64_t lease)
{
	struct daemon *d = arg;

	if (d->stopping)
		return;
	notify_status(d->notify, "etcd lease %" PRIx64 " held; in the election for %zu VIP(s)",
	    (uint64_t)lease, d->n_vips);
	if (!d->cleaned && d->n_vips > 0) {
		if (d->cleanup == NULL) {
			char **names = xcalloc(d->n_vips, sizeof(*names));

			/* Only this daemon's own elections are cleaned. */
			for (size_t i = 0; i < d->n_vips; i++)
				names[i] = xasprintf("%s%s", d->cfg->etcd.prefix,
				    d->cfg->vips[i].ip);
			d->cleanup = elect_cleanup_stale(d->etcd, names, d->n_vips, d->node,
			    lease, on_cleaned, d);
			for (size_t i = 0; i < d->n_vips; i++)
				free(names[i]);
			free(names);
		}
		return;
	}
	set_lease_all(d, lease);
}

static void on_renewed(void *arg, uint64_t fence)
{
	struct daemon *d = arg;

	(void)fence;
	for_each_vip(d, vip_renewed);
}

static void on_expired(void *arg)
{
	for_each_vip(arg, vip_update);
}

static void on_lost(void *arg)
{
	struct daemon *d = arg;

	notify_status(d->notify, "etcd lease lost; addresses dropped, asking for a new lease");
	set_lease_all(d, 0);
}

static const struct session_ops session_ops = {
	.granted = on_granted,
	.renewed = on_renewed,
	.expired = on_expired,
	.lost = on_lost,
};

/* For leadermove: does this node hold any VIP now? */
static bool owns_a_vip(void *arg)
{
	struct daemon *d = arg;

	for (size_t i = 0; i < d->n_vips; i++)
		if (vip_is_held(d->vips[i]))
			return true;
	return false;
}

/* ---- netlink events ------------------------------------------------------ */

/* Tell every VIP where its link is now (links.h: data flows from the
 * table to the VIPs, never back). */
static void resolve_all(struct daemon *d)
{
	struct vip_link vl;

	for (size_t i = 0; i < d->n_vips; i++) {
		links_resolve(d->links, d->wants[i], &vl);
		vip_link_set(d->vips[i], &vl);
	}
}

static void on_link_changed(void *arg, const struct nl_link *link)
{
	struct daemon *d = arg;

	links_link_changed(d->links, link);
	if (!d->stopping)
		resolve_all(d);
}

static void on_link_removed(void *arg, int ifindex, const char *name)
{
	struct daemon *d = arg;

	log_debug("netlink: link removed link=%s ifindex=%d", name, ifindex);
	links_link_removed(d->links, ifindex);
	if (!d->stopping)
		resolve_all(d);
}

static void on_addr_changed(void *arg, int ifindex, int family, const void *addr,
                            unsigned prefixlen, bool removed)
{
	struct daemon *d = arg;

	if (d->stopping)
		return;
	for (size_t i = 0; i < d->n_vips; i++)
		vip_addr_changed(d->vips[i], ifindex, family, addr, prefixlen, removed);
}

static void on_resync(void *arg)
{
	struct daemon *d = arg;

	log_warnx("netlink: events were lost; checking every link and address again");
	(void)links_resync(d->links);
	if (d->stopping)
		return;
	resolve_all(d);
	for_each_vip(d, vip_resync);
}

static const struct nl_watch_ops nl_ops = {
	.link_changed = on_link_changed,
	.link_removed = on_link_removed,
	.addr_changed = on_addr_changed,
	.resync = on_resync,
};

/* ---- stopping ----------------------------------------------------------- */

static void stopped(void *arg)
{
	struct daemon *d = arg;

	loop_stop(d->loop);
}

static void on_stop_deadline(void *arg)
{
	struct daemon *d = arg;

	log_warnx("stop: deadline reached, exiting");
	loop_stop(d->loop);
}

static void on_signal(int signo, void *arg)
{
	struct daemon *d = arg;
	int failed = 0;

	if (signo == SIGHUP) {
		log_info("reload: not supported by this version; configuration unchanged");
		return;
	}
	if (d->stopping) {
		log_warnx("stop: second signal, exiting now");
		loop_stop(d->loop);
		return;
	}
	d->stopping = true;
	notify_stopping(d->notify, "stopping: releasing addresses, then the lease");
	log_info("stop: signal=%s; releasing addresses, then the lease", strsignal(signo));
	/* Addresses first: once the lease is revoked another node may take
	 * over at once, so ours must already be gone. */
	for (size_t i = 0; i < d->n_vips; i++)
		if (vip_release(d->vips[i], "stopping") < 0)
			failed++;
	loop_timer_arm(d->stop_timer, STOP_DEADLINE_MS);
	if (failed > 0) {
		/* An address we could not delete must not outlive our claim:
		 * leave the lease to expire, after the address's lifetime. */
		log_warnx("stop: %d address(es) could not be deleted; not revoking the lease, it expires by itself",
		    failed);
		loop_stop(d->loop);
		return;
	}
	if (!session_revoke(d->session, STOP_REVOKE_MS, stopped, d))
		loop_stop(d->loop); /* no lease: nothing to revoke */
}

/* ---- TLS files -------------------------------------------------------------- */

/*
 * The session starts once the TLS files are usable. With kubeadm the
 * certificates appear only after the VIP is needed, so a missing or
 * unusable file is waited for (read again every TLS_RECHECK_MS), not
 * fatal: an exit would end, under Restart=always, in a failed unit.
 * Each new problem is logged at once, the same one again every
 * TLS_RELOG_MS. No lease is taken meanwhile, so no VIP is held.
 */
static bool tls_files_ok(struct daemon *d)
{
	const struct cfg_etcd *e = &d->cfg->etcd;
	char why[sizeof(d->tls_why)];
	int64_t expires = 0, now = (int64_t)time(NULL);
	enum tlsfiles_state st;

	if (e->ca_file == NULL && e->cert_file == NULL && e->key_file == NULL)
		return true;
	st = tlsfiles_check(e->ca_file, e->cert_file, e->key_file, now, &expires, why,
	    sizeof(why));
	if (st == TLSFILES_OK) {
		if (d->tls_why[0] != '\0')
			log_info("etcd: TLS files usable now; starting the session");
		if (expires > 0)
			log_info("etcd: client certificate valid for %lld more days",
			    (long long)((expires - now) / 86400));
		d->tls_why[0] = '\0';
		return true;
	}
	if (strcmp(why, d->tls_why) != 0 ||
	    loop_now_ms() - d->tls_logged_at >= TLS_RELOG_MS) {
		log_errorx("etcd: %s; no lease until it is fixed (checking every %u s)", why,
		    TLS_RECHECK_MS / 1000);
		snprintf(d->tls_why, sizeof(d->tls_why), "%s", why);
		d->tls_logged_at = loop_now_ms();
	}
	return false;
}

static void on_tls_recheck(void *arg)
{
	struct daemon *d = arg;

	if (d->stopping)
		return;
	if (tls_files_ok(d))
		session_start(d->session);
	else
		loop_timer_arm(d->tls_timer, TLS_RECHECK_MS);
}

/* ---- the control socket ---------------------------------------------------- */

static char *on_control(void *arg, const struct ctl_req *req, uid_t uid)
{
	struct daemon *d = arg;

	if (d->stopping)
		return xstrdup("{\"ok\":false,\"error\":\"vipd is stopping\"}");
	return ctlcmd_run(d->vips, d->n_vips, d->node, req, uid);
}

/* ---- start-up ------------------------------------------------------------- */

/* Keep only what the VIPs need, before any file is opened: what is
 * readable at start (start_when_files_ok) stays readable for libcurl's
 * later connections, which read caFile, certFile and keyFile again. */
static void drop_privileges(void)
{
	char why[512];

	if (privs_drop(why, sizeof(why)) < 0)
		fatalx("capabilities: %s", why);
	log_debug("capabilities: kept CAP_NET_ADMIN CAP_NET_RAW only");
}

static struct etcd *make_etcd(struct loop *loop, const struct cfg *c)
{
	struct etcd_opts o = {
		.endpoints = c->etcd.endpoints,
		.n_endpoints = c->etcd.n_endpoints,
		.ca_file = c->etcd.ca_file,
		.cert_file = c->etcd.cert_file,
		.key_file = c->etcd.key_file,
		.username = c->etcd.username,
		.timeout_ms = c->etcd.timeout_ms,
		.allow_insecure = c->etcd.allow_insecure,
	};
	char why[256];
	char *password = NULL;
	struct etcd *e;

	if (c->etcd.username != NULL && c->etcd.password_file != NULL &&
	    privs_read_secret(c->etcd.password_file, &password, why, sizeof(why)) < 0)
		fatalx("etcd: passwordFile %s %s", c->etcd.password_file, why);
	o.password = password;
	e = etcd_new(loop, &o);
	if (password)
		explicit_bzero(password, strlen(password));
	free(password);
	if (e == NULL)
		fatal("etcd: client set-up failed");
	return e;
}

/* Every etcd endpoint, comma-separated, for the start-up line. The
 * caller frees it. */
static char *join_endpoints(const struct cfg *c)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < c->etcd.n_endpoints; i++)
		len += strlen(c->etcd.endpoints[i]) + 1;
	s = xcalloc(1, len);
	for (size_t i = 0; i < c->etcd.n_endpoints; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, c->etcd.endpoints[i]);
	}
	return s;
}

int daemon_run(const struct cfg *cfg)
{
	struct daemon d = { .cfg = cfg };
	struct vip_env env;
	char *endpoints, why[512];
	int rc = 0;

	if (cfg->node != NULL)
		snprintf(d.node, sizeof(d.node), "%s", cfg->node);
	else if (gethostname(d.node, sizeof(d.node) - 1) < 0 || d.node[0] == '\0')
		fatal("cannot get the host name; set vipd.node");

	d.loop = loop_new();
	if (d.loop == NULL)
		fatal("epoll");
	signal(SIGPIPE, SIG_IGN);
	if (loop_signal(d.loop, SIGTERM, on_signal, &d) < 0 ||
	    loop_signal(d.loop, SIGINT, on_signal, &d) < 0 ||
	    loop_signal(d.loop, SIGHUP, on_signal, &d) < 0)
		fatal("signalfd");
	d.stop_timer = loop_timer_new(d.loop, on_stop_deadline, &d);
	/* First: a live socket means another vipd runs with this
	 * configuration, and ours would delete its address (vip_new). */
	d.ctl = ctlsock_open(d.loop, cfg->control_socket, on_control, &d, why, sizeof(why));
	if (d.ctl == NULL)
		fatalx("control: %s", why);
	d.notify = notify_new(d.loop);
	drop_privileges();
	d.nl = nl_open(d.loop, &nl_ops, &d);
	if (d.nl == NULL)
		fatal("netlink");
	d.etcd = make_etcd(d.loop, cfg);
	d.session = session_new(d.loop, d.etcd, cfg->lease_ttl_ms, cfg->etcd.timeout_ms,
	    &session_ops, &d);
	d.watch = watch_new(d.loop, d.etcd, cfg->etcd.prefix);

	endpoints = join_endpoints(cfg);
	log_info("starting version=%s node=%s vips=%zu etcd=%s ttl_ms=%u fence_margin_ms=%u",
	    VIPD_VERSION, d.node, cfg->n_vips, endpoints, cfg->lease_ttl_ms,
	    session_margin_ms(cfg->lease_ttl_ms));
	free(endpoints);
	if (cfg->n_vips == 0)
		log_warnx("no VIP configured: nothing to do but wait");
	/* Before any VIP exists, so a port in use stops vipd before it
	 * touches an address (no scrape runs before loop_run). */
	if (cfg->metrics_listen[0] != '\0' && (d.metrics = metrics_http_new(d.loop,
	    cfg->metrics_listen, render_metrics, &d, why, sizeof(why))) == NULL)
		fatalx("vipd.metrics.listen: %s", why);
	env = (struct vip_env){
		.loop = d.loop, .etcd = d.etcd, .session = d.session, .nl = d.nl,
		.cfg = cfg, .node = d.node, .watch = d.watch,
	};
	d.links = links_new(d.nl, cfg->create_vlans);
	d.vips = xcalloc(cfg->n_vips, sizeof(*d.vips));
	d.wants = xcalloc(cfg->n_vips, sizeof(*d.wants));
	for (size_t i = 0; i < cfg->n_vips; i++) {
		d.wants[i] = links_want_new(d.links, &cfg->vips[i]);
		d.vips[d.n_vips++] = vip_new(&env, &cfg->vips[i]);
	}
	resolve_all(&d);

	if (cfg->etcd.avoid_leader && cfg->n_vips > 0)
		d.leadermove = leadermove_new(d.loop, d.etcd, cfg->etcd.endpoints[0],
		    cfg->lease_ttl_ms, owns_a_vip, &d);
	/* Ready from the loop's first turn: config loaded, netlink open; not
	 * waiting for etcd (notify.h says why). */
	notify_start(d.notify, cfg->n_vips > 0 ? "running; waiting for an etcd lease" :
	    "running; no VIP configured");
	d.tls_timer = loop_timer_new(d.loop, on_tls_recheck, &d);
	on_tls_recheck(&d);
	if (loop_run(d.loop) < 0) {
		log_error("event loop failed");
		rc = 1;
	}

	metrics_http_free(d.metrics);
	for (size_t i = 0; i < d.n_vips; i++) {
		vip_release(d.vips[i], "exiting");
		vip_free(d.vips[i]);
		links_want_free(d.wants[i]);
	}
	/* After the addresses: until then no second vipd may start (ctlsock.h). */
	ctlsock_close(d.ctl);
	free(d.vips);
	free(d.wants);
	links_free(d.links);
	leadermove_free(d.leadermove);
	elect_cleanup_cancel(d.cleanup);
	session_free(d.session);
	watch_free(d.watch);
	etcd_free(d.etcd);
	nl_close(d.nl);
	loop_timer_free(d.stop_timer);
	loop_timer_free(d.tls_timer);
	notify_free(d.notify);
	loop_free(d.loop);
	log_info("stopped");
	return rc;
}
