/*
 * daemon_reload.c - carrying out a reload's plan (reload.h) on the running
 * daemon: SIGHUP and `vipctl reload` (docs/design.md, "Reload"). Kept out
 * of daemon.c, which builds the parts; the plan itself is reload.c's.
 */
#include "daemon_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "etcd.h"
#include "health.h"
#include "hooks.h"
#include "leadermove.h"
#include "links.h"
#include "log.h"
#include "loop.h"
#include "reload.h"
#include "session.h"
#include "vip.h"
#include "xmem.h"

struct vip_opts daemon_vip_opts(const struct cfg *c)
{
	return (struct vip_opts){ .prefix = c->etcd.prefix, .lease_ttl_ms = c->lease_ttl_ms,
	    .announce_count = c->announce_count, .announce_interval_ms = c->announce_interval_ms,
	    .announce_refresh_ms = c->announce_refresh_ms };
}

struct vip_env daemon_vip_env(struct daemon *d)
{
	return (struct vip_env){ .loop = d->loop, .etcd = d->etcd, .session = d->session,
	    .nl = d->nl, .node = d->node, .hooks = d->hooks,
	    .watch = d->watch };
}

void daemon_on_retire_check(void *arg)
{
	struct daemon *d = arg;
	size_t k = 0;
	bool freed = false;

	for (size_t i = 0; i < d->n_retiring; i++) {
		struct vip *v = d->retiring[i];

		if (!vip_retired(v)) {
			d->retiring[k++] = v;
			continue;
		}
		log_info("reload: removed vip=%s released and out of its election", vip_ip(v));
		vip_free(v);
		freed = true;
	}
	d->n_retiring = k;
	if (freed && !d->stopping && d->cleaned && session_lease(d->session) != 0)
		daemon_set_lease_all(d, session_lease(d->session));
	if (d->n_retiring > 0)
		loop_timer_arm(d->retire_timer, RETIRE_CHECK_MS);
}

/*
 * vipd.hooks and vipd.health, before the old configuration is freed (both
 * modules borrow theirs). Hooks: the new programs for later events. Health:
 * an equal section carries on untouched; a changed one is a new module,
 * which starts unhealthy when the node is unhealthy now (it has to pass
 * rise rounds first, never a candidate at once by a reload); without
 * checks there is no module and the node is healthy. Without VIPs there
 * is no module either, but an unhealthy node stays so (unhealthy_why)
 * until VIPs come back with checks and a new module's rounds pass: removing
 * every VIP and adding them back does not skip the checks.
 */
static void apply_checks(struct daemon *d, struct cfg *nc)
{
	bool want = nc->health.n_checks > 0 && nc->n_vips > 0;
	bool was_ok = d->health != NULL ? health_ok(d->health) : d->unhealthy_why[0] == '\0';
	char why[320];

	hooks_rebind(d->hooks, &nc->hooks);
	if (d->health != NULL && want && cfg_health_equal(&d->cfg->health, &nc->health)) {
		health_rebind(d->health, &nc->health);
		return;
	}
	snprintf(why, sizeof(why), "%s", d->health != NULL ? health_why(d->health) :
	    d->unhealthy_why);
	health_free(d->health);
	d->health = NULL;
	d->unhealthy_why[0] = '\0';
	if (!want) {
		if (nc->health.n_checks > 0 && !was_ok)
			snprintf(d->unhealthy_why, sizeof(d->unhealthy_why), "%s",
			    why[0] != '\0' ? why : "health checks failing");
		return;
	}
	d->health = health_new(d->loop, &nc->health, daemon_on_health, d);
	if (d->health == NULL) {
		/* A failing node stays unhealthy (no check can say otherwise
		 * until the next reload); a healthy one runs on without. */
		log_errorx("reload: health checks cannot start (libcurl: %s); running without them%s",
		    strerror(errno), was_ok ? "" : ", unhealthy as before");
		if (!was_ok)
			snprintf(d->unhealthy_why, sizeof(d->unhealthy_why), "%s",
			    why[0] != '\0' ? why : "health checks failing");
	} else if (!was_ok)
		health_start_unhealthy(d->health, why);
}

/* Every VIP, the added ones too, as healthy as the node is now. */
static void tell_health(struct daemon *d)
{
	bool ok = d->health != NULL ? health_ok(d->health) : d->unhealthy_why[0] == '\0';
	const char *why = d->health != NULL ? health_why(d->health) : d->unhealthy_why;

	for (size_t i = 0; i < d->n_vips; i++)
		vip_set_healthy(d->vips[i], ok, why);
}

/* Carry out p: the VIPs of nc in its order, kept ones untouched. */
static void apply(struct daemon *d, struct cfg *nc, const struct reload_plan *p)
{
	struct vip_env env = daemon_vip_env(d);
	struct vip_opts o = daemon_vip_opts(nc);
	struct vip **vips = xcalloc(nc->n_vips + 1, sizeof(*vips));
	struct links_want **wants = xcalloc(nc->n_vips + 1, sizeof(*wants));
	int64_t lease = session_lease(d->session);

	for (size_t j = 0; j < d->n_vips; j++) {
		if (!p->removed[j])
			continue;
		log_info("reload: removing vip=%s: the address goes, then the election key",
		    vip_ip(d->vips[j]));
		vip_retire(d->vips[j]);
		d->retiring = xrealloc(d->retiring, (d->n_retiring + 1) * sizeof(*d->retiring));
		d->retiring[d->n_retiring++] = d->vips[j];
		links_want_free(d->wants[j]);
	}
	for (size_t i = 0; i < nc->n_vips; i++) {
		size_t j = p->old_of_new[i];

		if (j == RELOAD_ADDED) {
			log_info("reload: adding vip=%s", nc->vips[i].ip);
			wants[i] = links_want_new(d->links, &nc->vips[i]);
			vips[i] = vip_new(&env, &o, &nc->vips[i]);
			continue;
		}
		vips[i] = d->vips[j];
		wants[i] = d->wants[j];
		links_want_rebind(wants[i], &nc->vips[i]);
		vip_set_opts(vips[i], &o);
	}
	apply_checks(d, nc);
	free(d->vips);
	free(d->wants);
	d->vips = vips;
	d->wants = wants;
	d->n_vips = nc->n_vips;
	cfg_free(d->owned);
	d->cfg = d->owned = nc;
	/* The start-up clean-up ran for no VIP (there was none): none now. */
	if (!d->cleaned && d->cleanup == NULL && lease != 0)
		d->cleaned = true;
	tell_health(d);
	daemon_resolve_all(d);
	if (d->cleaned && lease != 0)
		daemon_set_lease_all(d, lease); /* the added VIPs campaign */
	if (d->n_retiring > 0)
		loop_timer_arm(d->retire_timer, RETIRE_CHECK_MS);
	/* avoidLeader: this node's member is the first endpoint; made anew
	 * when that may have changed, or when the first VIP arrives. */
	if (d->cfg->etcd.avoid_leader && d->cfg->n_vips > 0 &&
	    (p->endpoints || d->leadermove == NULL)) {
		leadermove_free(d->leadermove);
		d->leadermove = leadermove_new(d->loop, d->etcd, d->cfg->etcd.endpoints[0], d->node,
		    d->cfg->lease_ttl_ms, daemon_owns_a_vip, d);
	}
}

/* The settings outside the VIPs. A refused endpoint list (credentials over
 * http) stays the running one: reported as needing a restart. */
static void apply_settings(struct daemon *d, struct cfg *nc, struct reload_plan *p,
    bool verbose)
{
	if (p->log_level && !verbose)
		log_setlevel(nc->log_level);
	if (p->lease_ttl)
		session_set_ttl(d->session, nc->lease_ttl_ms);
	if (p->endpoints && etcd_set_endpoints(d->etcd, nc->etcd.endpoints,
	    nc->etcd.n_endpoints) < 0) {
		char **eps = nc->etcd.endpoints;
		size_t n = nc->etcd.n_endpoints;

		nc->etcd.endpoints = d->cfg->etcd.endpoints;
		nc->etcd.n_endpoints = d->cfg->etcd.n_endpoints;
		d->cfg->etcd.endpoints = eps;
		d->cfg->etcd.n_endpoints = n;
		json_array_remove(p->applied, json_array_size(p->applied) - 1);
		json_array_append_new(p->restart, json_string("vipd.etcd.endpoints"));
	}
}

char *daemon_reload(struct daemon *d)
{
	char *path = xstrdup(d->cfg->path); /* apply() frees the old config */
	char *errs = NULL, *out;
	struct reload_plan p;
	struct cfg *nc;
	json_t *ans, *v;
	size_t i;

	nc = reload_parse(path, &errs);
	if (nc == NULL) {
		ans = reload_answer_failed(path, errs, d->node);
		json_array_foreach(json_object_get(ans, "errors"), i, v)
			log_errorx("reload: %s", json_string_value(v));
		log_errorx("reload: %s not valid; the running configuration stays", path);
		free(errs);
	} else {
		/* vipd -v: debug whatever the file says, as at start. */
		bool verbose = log_getlevel() == LOG_LVL_DEBUG && d->cfg->log_level != LOG_LVL_DEBUG;
		char *sum;

		for (i = 0; i < nc->n_notes; i++)
			log_info("config: %s", nc->notes[i]);
		reload_plan_make(d->cfg, nc, &p);
		apply_settings(d, nc, &p, verbose);
		ans = reload_answer(d->cfg, nc, &p, d->node);
		apply(d, nc, &p);
		sum = reload_summary(ans);
		log_info("reload: %s: %s", path, sum);
		free(sum);
		json_array_foreach(p.restart, i, v)
			log_warnx("reload: %s changed: needs a restart; the running value stays",
			    json_string_value(v));
		reload_plan_free(&p);
	}
	out = ans != NULL ? json_dumps(ans, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(ans);
	free(path);
	return out;
}
