/*
 * reload.c - the plan of a configuration reload (reload.h): which VIPs stay,
 * go and come, and what happens to every other setting that changed.
 */
#include "reload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "xmem.h"

static bool str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void add_line(json_t *arr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_line(json_t *arr, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(arr, json_string(buf));
}

/* A setting that needs a restart: reported if it differs, and the running
 * value moved into new (reload.h). */
static void keep_str(json_t *restart, const char *key, char **old, char **new)
{
	char *t;

	if (str_same(*old, *new))
		return;
	json_array_append_new(restart, json_string(key));
	t = *old;
	*old = *new;
	*new = t;
}

static void keep_bool(json_t *restart, const char *key, bool *old, bool *new)
{
	bool t;

	if (*old == *new)
		return;
	json_array_append_new(restart, json_string(key));
	t = *old;
	*old = *new;
	*new = t;
}

static bool endpoints_same(const struct cfg *a, const struct cfg *b)
{
	if (a->etcd.n_endpoints != b->etcd.n_endpoints)
		return false;
	for (size_t i = 0; i < a->etcd.n_endpoints; i++)
		if (strcmp(a->etcd.endpoints[i], b->etcd.endpoints[i]) != 0)
			return false;
	return true;
}

static void plan_vips(const struct cfg *old, const struct cfg *new, struct reload_plan *p)
{
	p->old_of_new = xcalloc(new->n_vips ? new->n_vips : 1, sizeof(*p->old_of_new));
	p->removed = xcalloc(old->n_vips ? old->n_vips : 1, sizeof(*p->removed));
	for (size_t j = 0; j < old->n_vips; j++)
		p->removed[j] = true;
	/* Pairwise: at most CFG_MAX_VIPS each, as cfg_load's own checks. */
	for (size_t i = 0; i < new->n_vips; i++) {
		p->old_of_new[i] = RELOAD_ADDED;
		for (size_t j = 0; j < old->n_vips; j++) {
			if (p->removed[j] && cfg_vip_equal(&old->vips[j], &new->vips[i])) {
				p->old_of_new[i] = j;
				p->removed[j] = false;
				break;
			}
		}
		if (p->old_of_new[i] == RELOAD_ADDED)
			p->n_added++;
		else
			p->n_kept++;
	}
	p->n_removed = old->n_vips - p->n_kept;
}

static void plan_settings(struct cfg *old, struct cfg *new, struct reload_plan *p)
{
	struct cfg_etcd *x = &old->etcd, *y = &new->etcd;
	char a[CFG_DURATION_LEN], b[CFG_DURATION_LEN], c[CFG_DURATION_LEN];
	char d[CFG_DURATION_LEN], e[CFG_DURATION_LEN], f[CFG_DURATION_LEN];

	if (old->log_level != new->log_level) {
		p->log_level = true;
		add_line(p->applied, "logLevel %s -> %s", log_level_name(old->log_level),
		    log_level_name(new->log_level));
	}
	if (old->announce_count != new->announce_count ||
	    old->announce_interval_ms != new->announce_interval_ms ||
	    old->announce_refresh_ms != new->announce_refresh_ms) {
		p->announce = true;
		add_line(p->applied, "announce count=%u interval=%s refresh=%s -> count=%u "
		    "interval=%s refresh=%s", old->announce_count,
		    cfg_duration_format(old->announce_interval_ms, a),
		    cfg_duration_format(old->announce_refresh_ms, b), new->announce_count,
		    cfg_duration_format(new->announce_interval_ms, c),
		    cfg_duration_format(new->announce_refresh_ms, d));
	}
	if (!endpoints_same(old, new)) {
		p->endpoints = true;
		add_line(p->applied, "etcd endpoints: %zu -> %zu (first %s)", x->n_endpoints,
		    y->n_endpoints, y->endpoints[0]);
	}
	if (!cfg_hooks_equal(&old->hooks, &new->hooks)) {
		p->hooks = true;
		add_line(p->applied, "hooks: the new programs run for later events");
	}
	if (!cfg_health_equal(&old->health, &new->health)) {
		p->health = true;
		add_line(p->applied, "health: %zu -> %zu check(s), started anew%s",
		    old->health.n_checks, new->health.n_checks,
		    new->health.n_checks > 0 ? " (an unhealthy node stays so until rise rounds pass)" : "");
	}
	if (old->lease_ttl_ms != new->lease_ttl_ms) {
		p->lease_ttl = true;
		add_line(p->next_lease, "leaseTTL %s -> %s: applies to the next lease",
		    cfg_duration_format(old->lease_ttl_ms, e),
		    cfg_duration_format(new->lease_ttl_ms, f));
	}
	keep_str(p->restart, "vipd.node", &old->node, &new->node);
	keep_str(p->restart, "vipd.controlSocket", &old->control_socket, &new->control_socket);
	keep_str(p->restart, "vipd.controlGroup", &old->control_group, &new->control_group);
	keep_str(p->restart, "vipd.metrics.listen", &old->metrics_listen, &new->metrics_listen);
	keep_bool(p->restart, "vipd.createVlans", &old->create_vlans, &new->create_vlans);
	keep_str(p->restart, "vipd.etcd.caFile", &x->ca_file, &y->ca_file);
	keep_str(p->restart, "vipd.etcd.certFile", &x->cert_file, &y->cert_file);
	keep_str(p->restart, "vipd.etcd.keyFile", &x->key_file, &y->key_file);
	keep_str(p->restart, "vipd.etcd.username", &x->username, &y->username);
	keep_str(p->restart, "vipd.etcd.passwordFile", &x->password_file, &y->password_file);
	keep_str(p->restart, "vipd.etcd.prefix", &x->prefix, &y->prefix);
	keep_bool(p->restart, "vipd.etcd.allowInsecure", &x->allow_insecure, &y->allow_insecure);
	keep_bool(p->restart, "vipd.etcd.avoidLeader", &x->avoid_leader, &y->avoid_leader);
	if (x->timeout_ms != y->timeout_ms) {
		uint32_t t = x->timeout_ms;

		json_array_append_new(p->restart, json_string("vipd.etcd.timeout"));
		x->timeout_ms = y->timeout_ms;
		y->timeout_ms = t;
	}
}

int reload_plan_make(struct cfg *old, struct cfg *new, struct reload_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->applied = json_array();
	p->next_lease = json_array();
	p->restart = json_array();
	if (p->applied == NULL || p->next_lease == NULL || p->restart == NULL)
		fatalx("reload: out of memory");
	plan_vips(old, new, p);
	plan_settings(old, new, p);
	return 0;
}

void reload_plan_free(struct reload_plan *p)
{
	if (p == NULL)
		return;
	free(p->old_of_new);
	free(p->removed);
	json_decref(p->applied);
	json_decref(p->next_lease);
	json_decref(p->restart);
	memset(p, 0, sizeof(*p));
}

json_t *reload_answer(const struct cfg *old, const struct cfg *new,
    const struct reload_plan *p, const char *node)
{
	json_t *kept = json_array(), *added = json_array(), *removed = json_array();

	for (size_t i = 0; i < new->n_vips; i++)
		json_array_append_new(p->old_of_new[i] == RELOAD_ADDED ? added : kept,
		    json_string(new->vips[i].ip));
	for (size_t j = 0; j < old->n_vips; j++)
		if (p->removed[j])
			json_array_append_new(removed, json_string(old->vips[j].ip));
	return json_pack("{s:b, s:s, s:s, s:s, s:{s:o, s:o, s:o}, s:O, s:O, s:O}",
	    "ok", 1, "command", "reload", "node", node, "path", new->path ? new->path : "",
	    "vips", "kept", kept, "added", added, "removed", removed,
	    "applied", p->applied, "next_lease", p->next_lease,
	    "restart_needed", p->restart);
}

json_t *reload_answer_failed(const char *path, const char *errs, const char *node)
{
	json_t *arr = json_array();
	const char *s = errs != NULL ? errs : "";

	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);

		if (n > 0)
			json_array_append_new(arr, json_stringn(s, n));
		s += n + (nl != NULL);
	}
	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:o}", "ok", 0, "command", "reload",
	    "node", node, "path", path,
	    "error", "configuration not valid; the running configuration stays",
	    "errors", arr);
}

/* "[a, b]" of an array of strings, appended to *s. */
static void put_list(FILE *f, const char *name, const json_t *arr)
{
	size_t i;
	json_t *v;

	fprintf(f, " %s=[", name);
	json_array_foreach(arr, i, v)
		fprintf(f, "%s%s", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "");
	fputc(']', f);
}

char *reload_summary(const json_t *answer)
{
	const json_t *vips = json_object_get(answer, "vips");
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (f == NULL)
		return xstrdup("(no summary: out of memory)");
	fprintf(f, "vips kept=%zu added=%zu removed=%zu",
	    json_array_size(json_object_get(vips, "kept")),
	    json_array_size(json_object_get(vips, "added")),
	    json_array_size(json_object_get(vips, "removed")));
	put_list(f, "applied", json_object_get(answer, "applied"));
	put_list(f, "next_lease", json_object_get(answer, "next_lease"));
	put_list(f, "restart_needed", json_object_get(answer, "restart_needed"));
	if (fclose(f) != 0) {
		free(s);
		return xstrdup("(no summary: out of memory)");
	}
	return s;
}

struct cfg *reload_parse(const char *path, char **errs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cfg *c;

	*errs = NULL;
	if (f == NULL) {
		*errs = xasprintf("%s: cannot collect the errors: out of memory\n", path);
		return NULL;
	}
	c = cfg_load(path, f);
	if (fclose(f) != 0) {
		free(buf);
		buf = NULL;
	}
	if (c != NULL) {
		free(buf);
		return c;
	}
	*errs = buf != NULL ? buf : xasprintf("%s: not valid\n", path);
	return NULL;
}
