/*
 * daemon.c - builds the parts from the configuration, connects their
 * events, runs the loop, and stops in the safe order: addresses first,
 * then the lease (so the next candidate wins at once and never overlaps).
 */
#include "daemon.h"
#include "daemon_int.h"

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
#include "ctlproto.h"
#include "ctlsock.h"
#include "elect.h"
#include "etcd.h"
#include "health.h"
#include "hooks.h"
#include "leadermove.h"
#include "links.h"
#include "log.h"
#include "loop.h"
#include "metrics_http.h"
#include "metrics_vipd.h"
#include "netlink.h"
#include "notify.h"
#include "privs.h"
#include "reload.h"
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
	for (size_t i = 0; i < d->n_retiring; i++)
		fn(d->retiring[i]);
}

/* A VIP whose election a removed VIP still has a key in (the same ip on
 * another link: removed + added by one reload) waits for it to go: both
 * would campaign with the same key name on the same lease. */
static bool waits_for_retiring(const struct daemon *d, const struct vip *v)
{
	for (size_t i = 0; i < d->n_retiring; i++)
		if (strcmp(vip_election(d->retiring[i]), vip_election(v)) == 0)
			return true;
	return false;
}

void daemon_set_lease_all(struct daemon *d, int64_t lease)
{
	for (size_t i = 0; i < d->n_vips; i++)
		if (lease == 0 || !waits_for_retiring(d, d->vips[i]))
			vip_set_lease(d->vips[i], lease);
	if (lease == 0)
		for (size_t i = 0; i < d->n_retiring; i++)
			vip_set_lease(d->retiring[i], 0);
}

static void on_cleaned(void *arg)
{
	struct daemon *d = arg;
	int64_t lease = session_lease(d->session);

	d->cleaned = true;
	d->cleanup = NULL;
	if (!d->stopping && lease != 0)
		daemon_set_lease_all(d, lease);
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
				names[i] = xstrdup(vip_election(d->vips[i]));
			d->cleanup = elect_cleanup_stale(d->etcd, names, d->n_vips, d->node,
			    lease, on_cleaned, d);
			for (size_t i = 0; i < d->n_vips; i++)
				free(names[i]);
			free(names);
		}
		return;
	}
	daemon_set_lease_all(d, lease);
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
	daemon_set_lease_all(d, 0);
}

static const struct session_ops session_ops = {
	.granted = on_granted,
	.renewed = on_renewed,
	.expired = on_expired,
	.lost = on_lost,
};

bool daemon_owns_a_vip(void *arg, const char *node)
{
	struct daemon *d = arg;
	struct vip_status st;

	for (size_t i = 0; i < d->n_vips; i++) {
		if (node == NULL) {
			if (vip_is_held(d->vips[i]))
				return true;
			continue;
		}
		vip_status(d->vips[i], &st);
		if (st.owner != NULL && strcmp(st.owner, node) == 0)
			return true;
	}
	return false;
}

/* ---- health checks ------------------------------------------------------ */

/* health's own event handler (a check finished): fan out to every VIP. */
void daemon_on_health(void *arg, bool healthy, const char *why)
{
	struct daemon *d = arg;

	if (d->stopping)
		return;
	for (size_t i = 0; i < d->n_vips; i++)
		vip_set_healthy(d->vips[i], healthy, why);
}

/* ---- netlink events ------------------------------------------------------ */

/* Tell every VIP where its link is now (links.h: data flows from the
 * table to the VIPs, never back). */
void daemon_resolve_all(struct daemon *d)
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
		daemon_resolve_all(d);
}

static void on_link_removed(void *arg, int ifindex, const char *name)
{
	struct daemon *d = arg;

	log_debug("netlink: link removed link=%s ifindex=%d", name, ifindex);
	links_link_removed(d->links, ifindex);
	if (!d->stopping)
		daemon_resolve_all(d);
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
	daemon_resolve_all(d);
	for_each_vip(d, vip_resync);
}

static const struct nl_watch_ops nl_ops = {
	.link_changed = on_link_changed,
	.link_removed = on_link_removed,
	.addr_changed = on_addr_changed,
	.resync = on_resync,
};

/* ---- stopping ----------------------------------------------------------- */

static void hooks_done(void *arg)
{
	struct daemon *d = arg;

	loop_stop(d->loop);
}

/* The lease is revoked (or there was none): let the onRelease hooks of
 * the addresses just deleted start and end, within the stop deadline
 * (none configured, or none due: stop at once). */
static void stopped(void *arg)
{
	struct daemon *d = arg;

	if (hooks_idle(d->hooks))
		loop_stop(d->loop);
	else
		hooks_drain(d->hooks, hooks_done, d);
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
		if (d->stopping)
			log_info("reload: vipd is stopping; SIGHUP ignored");
		else
			free(daemon_reload(d));
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
	for (size_t i = 0; i < d->n_retiring; i++)
		if (vip_release(d->retiring[i], "stopping") < 0)
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
		stopped(d); /* no lease: nothing to revoke */
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
	if (req->cmd == CTL_RELOAD) {
		log_info("control: reload uid=%u", (unsigned)uid);
		return daemon_reload(d);
	}
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

int daemon_run(struct cfg *cfg)
{
	struct daemon d = { .cfg = cfg };
	struct vip_env env;
	struct vip_opts vo;
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
	if (cfg->control_group != NULL &&
	    ctlsock_set_group(d.ctl, cfg->control_group, why, sizeof(why)) < 0) {
		ctlsock_close(d.ctl);
		fatalx("control: %s", why);
	}
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
	d.hooks = hooks_new(d.loop, &cfg->hooks, d.node);
	env = daemon_vip_env(&d);
	vo = daemon_vip_opts(cfg);
	d.retire_timer = loop_timer_new(d.loop, daemon_on_retire_check, &d);
	d.links = links_new(d.nl, cfg->create_vlans);
	d.vips = xcalloc(cfg->n_vips, sizeof(*d.vips));
	d.wants = xcalloc(cfg->n_vips, sizeof(*d.wants));
	for (size_t i = 0; i < cfg->n_vips; i++) {
		d.wants[i] = links_want_new(d.links, &cfg->vips[i]);
		d.vips[d.n_vips++] = vip_new(&env, &vo, &cfg->vips[i]);
	}
	daemon_resolve_all(&d);
	if (cfg->health.n_checks > 0 && cfg->n_vips > 0 &&
	    (d.health = health_new(d.loop, &cfg->health, daemon_on_health, &d)) == NULL)
		fatal("health: libcurl");

	if (cfg->etcd.avoid_leader && cfg->n_vips > 0)
		d.leadermove = leadermove_new(d.loop, d.etcd, cfg->etcd.endpoints[0], d.node,
		    cfg->lease_ttl_ms, daemon_owns_a_vip, &d);
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
	health_free(d.health); /* running checks cancelled, children reaped */
	for (size_t i = 0; i < d.n_vips; i++) {
		vip_release(d.vips[i], "exiting");
		vip_free(d.vips[i]);
		links_want_free(d.wants[i]);
	}
	for (size_t i = 0; i < d.n_retiring; i++) {
		vip_release(d.retiring[i], "exiting");
		vip_free(d.retiring[i]);
	}
	free(d.retiring);
	loop_timer_free(d.retire_timer);
	/* After the addresses: until then no second vipd may start (ctlsock.h). */
	ctlsock_close(d.ctl);
	hooks_free(d.hooks); /* kills what still runs: the stop deadline passed */
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
	cfg_free(d.owned);
	log_info("stopped");
	return rc;
}
