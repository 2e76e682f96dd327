/*
 * cfg_print.c - the normalized form of a config: cfg_print (the output of
 * vipd --check), canonical durations, and comparing configs.
 *
 * The output lists every vipd key, defaults filled in, in a fixed order,
 * so that golden files stay stable and a printed config reads back equal.
 */
#include "config.h"

#include "cel.h"
#include "linksel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* True if s can be written as a plain YAML scalar and read back as s. */
static bool plain_ok(const char *s)
{
	static const char *const reserved[] = {
		"true", "false", "yes", "no", "on", "off", "y", "n", "null", NULL
	};

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '/' ||
	    *s == '_'))
		return false;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_./-") != strlen(s))
		return false;
	for (size_t i = 0; reserved[i] != NULL; i++)
		if (strcasecmp(s, reserved[i]) == 0)
			return false;
	return true;
}

/* A string value: plain when safe, else double-quoted; NULL as "". */
static void put_str(FILE *out, const char *s)
{
	if (s != NULL && plain_ok(s)) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; s != NULL && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void put_key_str(FILE *out, int indent, const char *key, const char *s)
{
	fprintf(out, "%*s%s: ", indent, "", key);
	put_str(out, s);
	fputc('\n', out);
}

static void put_key_dur(FILE *out, int indent, const char *key, uint32_t ms)
{
	char buf[CFG_DURATION_LEN];

	fprintf(out, "%*s%s: %s\n", indent, "", key, cfg_duration_format(ms, buf));
}

/* vipd.hooks, printed only when a hook or the timeout is set (a file
 * without the section prints as it was; a timeout set with no hook, e.g.
 * the hooks commented out, still reads back equal). */
static void put_hooks(FILE *out, const struct cfg_hooks *h)
{
	char **lists[] = { h->on_acquire, h->on_release };
	static const char *const keys[] = { "onAcquire", "onRelease" };

	if (h->on_acquire == NULL && h->on_release == NULL &&
	    h->timeout_ms == CFG_HOOKS_TIMEOUT_MS)
		return;
	fputs("  hooks:\n", out);
	for (size_t i = 0; i < 2; i++) {
		if (lists[i] == NULL)
			continue;
		fprintf(out, "    %s:\n", keys[i]);
		for (char **a = lists[i]; *a; a++) {
			fputs("      - ", out);
			put_str(out, *a);
			fputc('\n', out);
		}
	}
	put_key_dur(out, 4, "timeout", h->timeout_ms);
}

static bool argv_eq(char **a, char **b)
{
	for (; a && b && *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return (a == NULL || *a == NULL) && (b == NULL || *b == NULL) &&
	    (a == NULL) == (b == NULL);
}

/* "vip:" at indent with the address; IPv6 quoted (it holds colons). */
static void put_vip(FILE *out, int indent, const struct cfg_vip *v)
{
	fprintf(out, "%*svip:\n%*sip: ", indent, "", indent + 2, "");
	if (v->family == AF_INET)
		fputs(v->ip, out);
	else
		put_str(out, v->ip);
	fputc('\n', out);
}

/*
 * The end of the run of vips from i that one interface entry can hold,
 * so that reading the output back gives the same order: the same link;
 * its own vip (VLAN 0) only first; each VLAN once.
 */
static size_t group_end(const struct cfg *c, size_t i, size_t n)
{
	size_t j;

	for (j = i + 1; j < n; j++) {
		const struct cfg_vip *v = &c->vips[j];

		if (v->vlan == 0 || !cfg_vip_same_link(&c->vips[i], v))
			return j;
		for (size_t k = i; k < j; k++)
			if (c->vips[k].vlan == v->vlan)
				return j;
	}
	return j;
}

static void put_link(FILE *out, const struct cfg_vip *v)
{
	const struct cfg_selector *s = v->selector;

	if (s == NULL) {
		fputs("      - interface: ", out);
		put_str(out, v->interface);
		fputc('\n', out);
		return;
	}
	fputs("      - deviceSelector:\n", out);
	if (s->has_physical)
		fprintf(out, "          physical: %s\n", s->physical ? "true" : "false");
	if (s->hardware_addr != NULL)
		put_key_str(out, 10, "hardwareAddr", s->hardware_addr);
	if (s->permanent_addr != NULL)
		put_key_str(out, 10, "permanentAddr", s->permanent_addr);
	if (s->driver != NULL)
		put_key_str(out, 10, "driver", s->driver);
	if (s->bus_path != NULL)
		put_key_str(out, 10, "busPath", s->bus_path);
	if (s->pci_id != NULL)
		put_key_str(out, 10, "pciID", s->pci_id);
}

/* The machine.network.interfaces VIPs: those before the first typed one. */
static size_t n_legacy(const struct cfg *c)
{
	size_t n = 0;

	while (n < c->n_vips && !c->vips[n].typed)
		n++;
	return n;
}

static void put_interfaces(FILE *out, const struct cfg *c)
{
	size_t i = 0, j, k, n = n_legacy(c);

	fputs("machine:\n  network:\n", out);
	if (n == 0) {
		fputs("    interfaces: []\n", out);
		return;
	}
	fputs("    interfaces:\n", out);
	for (; i < n; i = j) {
		j = group_end(c, i, n);
		put_link(out, &c->vips[i]);
		k = i;
		if (c->vips[k].vlan == 0)
			put_vip(out, 8, &c->vips[k++]);
		if (k < j)
			fputs("        vlans:\n", out);
		for (; k < j; k++) {
			fprintf(out, "          - vlanId: %u\n", c->vips[k].vlan);
			put_vip(out, 12, &c->vips[k]);
		}
	}
}

/* The name a VIP's alias gives its link ("net%d", 2: "net2"). */
static const char *alias_link(const struct cfg_vip *v, char *buf, size_t len)
{
	if (!linksel_alias_name(v->alias->name, v->alias_index, buf, len))
		snprintf(buf, len, "%s", v->alias->name);
	return buf;
}

static void put_doc(FILE *out, const char *kind, const char *name)
{
	fprintf(out, "---\napiVersion: v1alpha1\nkind: %s\n", kind);
	put_key_str(out, 0, "name", name);
}

/*
 * The Layer2VIPConfig VIPs as documents after the first, in order, each
 * preceded by the LinkAliasConfig and VLANConfig it needs, each of those
 * printed once.
 */
static void put_typed(FILE *out, const struct cfg *c)
{
	char buf[64];
	char *match;

	for (size_t i = n_legacy(c); i < c->n_vips; i++) {
		const struct cfg_vip *v = &c->vips[i];
		bool alias_done = v->alias == NULL, vlan_done = v->vlan_name == NULL;

		for (size_t j = n_legacy(c); j < i; j++) {
			const struct cfg_vip *w = &c->vips[j];

			alias_done |= !alias_done && w->alias &&
			    strcmp(w->alias->name, v->alias->name) == 0;
			vlan_done |= !vlan_done && w->vlan_name &&
			    strcmp(w->vlan_name, v->vlan_name) == 0;
		}
		if (!alias_done) {
			put_doc(out, "LinkAliasConfig", v->alias->name);
			match = cel_format(v->alias->match);
			fputs("selector:\n", out);
			put_key_str(out, 2, "match", match);
			free(match);
		}
		if (!vlan_done) {
			put_doc(out, "VLANConfig", v->vlan_name);
			fprintf(out, "vlanID: %u\n", v->vlan);
			if (v->vlan_mode == CFG_VLAN_8021AD)
				fputs("vlanMode: 802.1ad\n", out);
			put_key_str(out, 0, "parent", v->alias ? alias_link(v, buf, sizeof(buf)) :
			    v->interface);
		}
		/* The address as in put_vip: IPv4 plain, IPv6 quoted. */
		fputs("---\napiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: ", out);
		if (v->family == AF_INET)
			fputs(v->ip, out);
		else
			put_str(out, v->ip);
		fputc('\n', out);
		put_key_str(out, 0, "link", v->link);
	}
}

/* vipd.health, only when configured (the files without it stay as they were). */
static void put_health(FILE *out, const struct cfg_health *h)
{
	static const char *const kind[] = { [CFG_CHECK_HTTP] = "http",
		[CFG_CHECK_TCP] = "tcp", [CFG_CHECK_EXEC] = "exec" };

	if (h->n_checks == 0)
		return;
	fputs("  health:\n", out);
	put_key_dur(out, 4, "interval", h->interval_ms);
	put_key_dur(out, 4, "timeout", h->timeout_ms);
	fprintf(out, "    fall: %u\n    rise: %u\n", h->fall, h->rise);
	put_key_dur(out, 4, "startGrace", h->start_grace_ms);
	fputs("    checks:\n", out);
	for (size_t i = 0; i < h->n_checks; i++) {
		const struct cfg_check *c = &h->checks[i];

		fprintf(out, "      - %s:", kind[c->kind]);
		if (c->kind != CFG_CHECK_EXEC) {
			fputc(' ', out);
			put_str(out, c->target);
			fputc('\n', out);
		} else {
			fputc('\n', out);
			for (size_t j = 0; j < c->argc; j++) {
				fputs("          - ", out);
				put_str(out, c->argv[j]);
				fputc('\n', out);
			}
		}
		if (c->ca_file != NULL)
			put_key_str(out, 8, "caFile", c->ca_file);
		if (c->insecure)
			fputs("        insecureSkipVerify: true\n", out);
	}
}

void cfg_print(const struct cfg *c, FILE *out)
{
	const struct cfg_etcd *e = &c->etcd;

	fputs("# vipd configuration, normalized by vipd --check\n", out);
	put_interfaces(out, c);
	fputs("vipd:\n", out);
	if (c->node != NULL)
		put_key_str(out, 2, "node", c->node);
	else
		fputs("  # node: (host name)\n", out);
	fputs("  etcd:\n    endpoints:\n", out);
	for (size_t i = 0; i < e->n_endpoints; i++) {
		fputs("      - ", out);
		put_str(out, e->endpoints[i]);
		fputc('\n', out);
	}
	put_key_str(out, 4, "caFile", e->ca_file);
	put_key_str(out, 4, "certFile", e->cert_file);
	put_key_str(out, 4, "keyFile", e->key_file);
	put_key_str(out, 4, "username", e->username);
	put_key_str(out, 4, "passwordFile", e->password_file);
	put_key_str(out, 4, "prefix", e->prefix);
	put_key_dur(out, 4, "timeout", e->timeout_ms);
	if (e->allow_insecure)
		fputs("    allowInsecure: true\n", out);
	fprintf(out, "    avoidLeader: %s\n", e->avoid_leader ? "true" : "false");
	fputs("  lease:\n", out);
	put_key_dur(out, 4, "ttl", c->lease_ttl_ms);
	fprintf(out, "  announce:\n    count: %u\n", c->announce_count);
	put_key_dur(out, 4, "interval", c->announce_interval_ms);
	put_key_dur(out, 4, "refresh", c->announce_refresh_ms);
	put_key_str(out, 2, "controlSocket", c->control_socket);
	if (c->control_group != NULL)
		put_key_str(out, 2, "controlGroup", c->control_group);
	fputs("  metrics:\n", out);
	put_key_str(out, 4, "listen", c->metrics_listen);
	fprintf(out, "  log:\n    level: %s\n", log_level_name(c->log_level));
	if (c->create_vlans) /* printed when on: the default's files stay as they were */
		fputs("  createVlans: true\n", out);
	put_health(out, &c->health);
	put_hooks(out, &c->hooks);
	put_typed(out, c);
}

int cfg_duration_parse(const char *s, uint32_t *ms)
{
	uint64_t whole = 0, frac = 0, scale = 1, unit;
	const char *p = s;
	int nfrac = 0;

	if (s == NULL || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > UINT32_MAX)
			return -EINVAL;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			/* More than 9 digits can only be trailing zeros here. */
			if (nfrac == 9) {
				if (*p != '0')
					return -EINVAL;
				continue;
			}
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
			nfrac++;
		}
	}
	if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "m") == 0)
		unit = 60000;
	else
		return -EINVAL;
	/* whole <= 2^32 and unit <= 60000: no 64-bit overflow. */
	whole *= unit;
	frac *= unit;
	if (frac % scale != 0)
		return -EINVAL; /* finer than a millisecond */
	whole += frac / scale;
	if (whole > UINT32_MAX)
		return -EINVAL;
	*ms = (uint32_t)whole;
	return 0;
}

char *cfg_duration_format(uint32_t ms, char *buf)
{
	if (ms == 0)
		snprintf(buf, CFG_DURATION_LEN, "0s");
	else if (ms % 60000 == 0)
		snprintf(buf, CFG_DURATION_LEN, "%um", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, CFG_DURATION_LEN, "%us", ms / 1000);
	else
		snprintf(buf, CFG_DURATION_LEN, "%ums", ms);
	return buf;
}

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool selector_equal(const struct cfg_selector *a, const struct cfg_selector *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->has_physical == b->has_physical &&
	    (!a->has_physical || a->physical == b->physical) &&
	    str_eq(a->hardware_addr, b->hardware_addr) &&
	    str_eq(a->permanent_addr, b->permanent_addr) &&
	    str_eq(a->driver, b->driver) &&
	    str_eq(a->bus_path, b->bus_path) &&
	    str_eq(a->pci_id, b->pci_id);
}

static bool alias_equal(const struct cfg_alias *a, const struct cfg_alias *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a->name, b->name) == 0 && cel_equal(a->match, b->match);
}

bool cfg_vip_same_link(const struct cfg_vip *a, const struct cfg_vip *b)
{
	return str_eq(a->interface, b->interface) &&
	    selector_equal(a->selector, b->selector) &&
	    str_eq(a->vlan_name, b->vlan_name) &&
	    alias_equal(a->alias, b->alias) &&
	    (a->alias == NULL || a->alias_index == b->alias_index);
}

bool cfg_vip_equal(const struct cfg_vip *a, const struct cfg_vip *b)
{
	size_t alen = a->family == AF_INET6 ? 16 : 4;

	return a->family == b->family && memcmp(a->addr, b->addr, alen) == 0 &&
	    strcmp(a->ip, b->ip) == 0 && a->vlan == b->vlan &&
	    a->typed == b->typed && str_eq(a->link, b->link) &&
	    a->vlan_mode == b->vlan_mode && cfg_vip_same_link(a, b);
}

bool cfg_equal(const struct cfg *a, const struct cfg *b)
{
	const struct cfg_etcd *x = &a->etcd, *y = &b->etcd;

	if (!str_eq(a->node, b->node) || x->n_endpoints != y->n_endpoints ||
	    !str_eq(x->ca_file, y->ca_file) || !str_eq(x->cert_file, y->cert_file) ||
	    !str_eq(x->key_file, y->key_file) || !str_eq(x->username, y->username) ||
	    !str_eq(x->password_file, y->password_file) ||
	    !str_eq(x->prefix, y->prefix) || x->timeout_ms != y->timeout_ms ||
	    x->allow_insecure != y->allow_insecure || x->avoid_leader != y->avoid_leader ||
	    a->lease_ttl_ms != b->lease_ttl_ms ||
	    a->announce_count != b->announce_count ||
	    a->announce_interval_ms != b->announce_interval_ms ||
	    a->announce_refresh_ms != b->announce_refresh_ms ||
	    a->create_vlans != b->create_vlans ||
	    !cfg_health_equal(&a->health, &b->health) ||
	    !argv_eq(a->hooks.on_acquire, b->hooks.on_acquire) ||
	    !argv_eq(a->hooks.on_release, b->hooks.on_release) ||
	    a->hooks.timeout_ms != b->hooks.timeout_ms ||
	    !str_eq(a->control_socket, b->control_socket) ||
	    !str_eq(a->control_group, b->control_group) ||
	    !str_eq(a->metrics_listen, b->metrics_listen) ||
	    a->log_level != b->log_level || a->n_vips != b->n_vips)
		return false;
	for (size_t i = 0; i < x->n_endpoints; i++)
		if (!str_eq(x->endpoints[i], y->endpoints[i]))
			return false;
	for (size_t i = 0; i < a->n_vips; i++)
		if (!cfg_vip_equal(&a->vips[i], &b->vips[i]))
			return false;
	return true;
}
