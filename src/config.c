/*
 * config.c - the configuration schema: from YAML trees (cfg_parse.c) to
 * a validated struct cfg; loading files; freeing.
 *
 * Keys are looked up by name, so their order in the file does not matter,
 * except that cfg->vips follows the file: per interface entry its own vip,
 * then its VLANs' vips. Every error is reported with the dotted path of
 * its field; the walk goes on after an error to find the others. Files
 * named in the config are not opened here (the daemon does that at start).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cfg_parse.h"
#include "xmem.h"

/* A configuration file larger than this is certainly a mistake. */
#define CFG_MAX_FILE (4u << 20)


static void selector_free(struct cfg_selector *s);

/* What a cfg_vip owns. */
static void vip_fields_free(const struct cfg_vip *v)
{
	free(v->interface);
	selector_free(v->selector);
	free(v->link);
	free(v->vlan_name);
	cfg_alias_free(v->alias);
}

void cfg_add_vip(struct cfg_pctx *p, const struct cfg_vip *vip, struct cfg_pos at)
{
	struct cfg *c = p->cfg;

	if (c->n_vips == CFG_MAX_VIPS) {
		if (!p->too_many_vips)
			cfg_report(p, at, "more than %d VIPs (the limit of one vipd)",
			    CFG_MAX_VIPS);
		p->too_many_vips = true;
		vip_fields_free(vip);
		return;
	}
	/* Grows by one: a config holds a handful of VIPs. */
	c->vips = xrealloc(c->vips, (c->n_vips + 1) * sizeof(*c->vips));
	p->vip_at = xrealloc(p->vip_at, (c->n_vips + 1) * sizeof(*p->vip_at));
	c->vips[c->n_vips] = *vip;
	p->vip_at[c->n_vips] = (struct cfg_vip_at){ at, xstrdup(p->path) };
	c->n_vips++;
}

static void selector_free(struct cfg_selector *s)
{
	if (s == NULL)
		return;
	free(s->hardware_addr);
	free(s->permanent_addr);
	free(s->driver);
	free(s->bus_path);
	free(s->pci_id);
	free(s);
}

static struct cfg_selector *selector_dup(const struct cfg_selector *s)
{
	struct cfg_selector *d;

	if (s == NULL)
		return NULL;
	d = xmalloc(sizeof(*d));
	*d = *s;
	d->hardware_addr = s->hardware_addr ? xstrdup(s->hardware_addr) : NULL;
	d->permanent_addr = s->permanent_addr ? xstrdup(s->permanent_addr) : NULL;
	d->driver = s->driver ? xstrdup(s->driver) : NULL;
	d->bus_path = s->bus_path ? xstrdup(s->bus_path) : NULL;
	d->pci_id = s->pci_id ? xstrdup(s->pci_id) : NULL;
	return d;
}

/* The link a vip: block lives on: a name or a selector, and a VLAN. */
struct link {
	const char *name;
	const struct cfg_selector *sel;
	unsigned vlan;
};

enum { V_IP, V_EQUINIX, V_HCLOUD };
static const char *const vip_keys[] = {
	"ip",
	/* Talos: cloud provider APIs that move the address; vipd cannot, so
	 * a VIP with either is an error, never served half (as HCloudVIPConfig). */
	"equinixMetal", "hcloud", NULL
};

/* A vip: block; at is where its key stands. */
static void walk_vip(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map,
    const struct link *l)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg_vip vip = { 0 };
	const char *s, *why;
	char buf[CFG_SHOW_LEN];

	p->n_vip_blocks++;
	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return;
	cfg_fields(p, map, vip_keys, true, v, k);
	if (v[V_EQUINIX] != NULL)
		FIELD(p, "equinixMetal", cfg_report(p, k[V_EQUINIX], "vipd cannot serve "
		    "this VIP: Talos moves it through the Equinix Metal API, vipd only "
		    "announces on the local network; remove the key where announcing "
		    "reaches the clients, or leave this VIP to Talos"));
	if (v[V_HCLOUD] != NULL)
		FIELD(p, "hcloud", cfg_report(p, k[V_HCLOUD], "vipd cannot serve "
		    "this VIP: Talos moves it through the Hetzner Cloud API, vipd only "
		    "announces on the local network; remove the key where announcing "
		    "reaches the clients, or leave this VIP to Talos"));
	if (v[V_IP] == NULL) {
		cfg_report(p, at, "missing ip");
		return;
	}
	FIELD(p, "ip", {
		s = cfg_get_str(p, k[V_IP], v[V_IP]);
		why = s ? cfg_check_vip(s, &vip) : NULL;
		if (s && why) {
			cfg_report(p, k[V_IP], "%s, got \"%s\"", why,
			    cfg_show(v[V_IP], buf));
		} else if (s) {
			vip.interface = l->name ? xstrdup(l->name) : NULL;
			vip.selector = selector_dup(l->sel);
			vip.vlan = l->vlan;
			vip.line = v[V_IP]->line;
			cfg_add_vip(p, &vip, k[V_IP]);
		}
	});
}

enum { S_PHYSICAL, S_HWADDR, S_PERMADDR, S_DRIVER, S_BUSPATH, S_PCIID };
static const char *const selector_keys[] = {
	"physical", "hardwareAddr", "permanentAddr", "driver", "busPath",
	"pciID", NULL
};

/* A deviceSelector: block. Returns the selector (caller frees) or NULL. */
static struct cfg_selector *walk_selector(struct cfg_pctx *p, struct cfg_pos at,
    const struct cfg_ynode *map)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg_selector *sel;
	char buf[CFG_SHOW_LEN];
	char **dst[] = { NULL, NULL, NULL, NULL, NULL, NULL };
	bool any = false;

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return NULL;
	sel = xcalloc(1, sizeof(*sel));
	dst[S_HWADDR] = &sel->hardware_addr;
	dst[S_PERMADDR] = &sel->permanent_addr;
	dst[S_DRIVER] = &sel->driver;
	dst[S_BUSPATH] = &sel->bus_path;
	dst[S_PCIID] = &sel->pci_id;
	cfg_fields(p, map, selector_keys, true, v, k);
	for (size_t i = 0; selector_keys[i] != NULL; i++)
		any |= v[i] != NULL; /* a key given as null ("driver:" alone) selects nothing */
	if (!any)
		cfg_report(p, at, "empty (or every value null): it would match every "
		    "link; give physical, "
		    "hardwareAddr, permanentAddr, driver, busPath or pciID");
	if (v[S_PHYSICAL] != NULL)
		FIELD(p, "physical", sel->has_physical =
		    cfg_get_bool(p, k[S_PHYSICAL], v[S_PHYSICAL], &sel->physical));
	for (size_t i = S_HWADDR; i <= S_PCIID; i++) {
		if (v[i] == NULL)
			continue;
		FIELD(p, selector_keys[i], {
			if (cfg_set_str(p, k[i], v[i], dst[i]) && *dst[i] == NULL)
				cfg_report(p, k[i], "must not be empty");
		});
	}
	/* Compared exactly (not a glob): a malformed one would match nothing. */
	if (sel->pci_id != NULL && (strlen(sel->pci_id) != 9 || sel->pci_id[4] != ':' ||
	    strspn(sel->pci_id, "0123456789abcdefABCDEF") != 4 ||
	    strspn(sel->pci_id + 5, "0123456789abcdefABCDEF") != 4))
		FIELD(p, "pciID", cfg_report(p, k[S_PCIID], "must be the vendor and "
		    "device ids in hex, such as 8086:100E, got \"%s\"",
		    cfg_show(v[S_PCIID], buf)));
	return sel;
}

enum { L_ID, L_VIP };
static const char *const vlan_keys[] = {
	"vlanId", "vip",
	/* Talos keys vipd does not act on */
	"addresses", "cidr", "routes", "dhcp", "dhcpOptions", "mtu", NULL
};

/* The vlans: list of an interface entry whose link is l. */
static void walk_vlans(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *seq,
    const struct link *l)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct link vl = *l;
	struct cfg_pos id_at[4095] = { { 0 } }; /* by VLAN id: where first listed */

	if (!cfg_want(p, at, seq, CFG_Y_SEQ))
		return;
	for (size_t i = 0; i < seq->n; i++) {
		const struct cfg_ynode *item = seq->kid[i];
		size_t old = cfg_path_idx(p, i);

		if (!cfg_want(p, cfg_pos_of(item), item, CFG_Y_MAP))
			goto next;
		cfg_fields(p, item, vlan_keys, true, v, k);
		vl.vlan = 0;
		if (v[L_ID] == NULL)
			cfg_report(p, cfg_pos_of(item), "missing vlanId");
		else
			FIELD(p, "vlanId", {
				if (!cfg_get_uint(p, k[L_ID], v[L_ID], 1, 4094, &vl.vlan))
					vl.vlan = 0;
				else if (id_at[vl.vlan].line != 0)
					cfg_report(p, k[L_ID], "VLAN %u listed twice "
					    "(also at %u:%u)", vl.vlan,
					    id_at[vl.vlan].line, id_at[vl.vlan].col);
				else
					id_at[vl.vlan] = k[L_ID];
			});
		if (v[L_VIP] != NULL)
			FIELD(p, "vip", walk_vip(p, k[L_VIP], v[L_VIP], &vl));
next:
		cfg_path_set(p, old);
	}
}

enum { I_NAME, I_SEL, I_VIP, I_VLANS };
static const char *const iface_keys[] = {
	"interface", "deviceSelector", "vip", "vlans",
	/* Talos keys vipd does not act on */
	"addresses", "cidr", "routes", "bond", "bridge", "bridgePort", "mtu",
	"dhcp", "dhcpOptions", "ignore", "dummy", "wireguard", NULL
};

/* One entry of machine.network.interfaces. */
static void walk_iface(struct cfg_pctx *p, const struct cfg_ynode *item)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg_selector *sel = NULL;
	struct link l = { NULL, NULL, 0 };
	size_t before = p->n_vip_blocks;
	const char *why;
	char buf[CFG_SHOW_LEN];

	if (!cfg_want(p, cfg_pos_of(item), item, CFG_Y_MAP))
		return;
	cfg_fields(p, item, iface_keys, true, v, k);
	if (v[I_NAME] != NULL && v[I_SEL] != NULL)
		cfg_report(p, cfg_pos_of(item),
		    "has both interface and deviceSelector; give one");
	if (v[I_NAME] != NULL)
		FIELD(p, "interface", {
			l.name = cfg_get_str(p, k[I_NAME], v[I_NAME]);
			why = l.name ? cfg_check_ifname(l.name) : NULL;
			if (why)
				cfg_report(p, k[I_NAME], "%s, got \"%s\"", why,
				    cfg_show(v[I_NAME], buf));
		});
	if (v[I_SEL] != NULL)
		FIELD(p, "deviceSelector", sel = walk_selector(p, k[I_SEL], v[I_SEL]));
	l.sel = sel;
	/* Own vip first, then the VLANs': the order of cfg->vips. */
	if (v[I_VIP] != NULL)
		FIELD(p, "vip", walk_vip(p, k[I_VIP], v[I_VIP], &l));
	if (v[I_VLANS] != NULL)
		FIELD(p, "vlans", walk_vlans(p, k[I_VLANS], v[I_VLANS], &l));
	if (v[I_NAME] == NULL && v[I_SEL] == NULL && p->n_vip_blocks > before)
		cfg_report(p, cfg_pos_of(item), "needs interface or deviceSelector "
		    "to say which link carries its vip");
	selector_free(sel); /* each vip holds its own copy */
}

/* machine: only network.interfaces matters; everything else is Talos's. */
static void walk_machine(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map)
{
	static const char *const machine_keys[] = { "network", NULL };
	static const char *const network_keys[] = { "interfaces", "hostname", NULL };
	const struct cfg_ynode *v[CFG_MAX_FIELDS], *net, *ifs;
	struct cfg_pos k[CFG_MAX_FIELDS];
	char buf[CFG_SHOW_LEN];
	const char *s, *why;

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return;
	cfg_fields(p, map, machine_keys, false, v, k);
	if ((net = v[0]) == NULL)
		return;
	cfg_path_key(p, "network");
	if (!cfg_want(p, k[0], net, CFG_Y_MAP))
		return;
	cfg_fields(p, net, network_keys, false, v, k);
	/* Talos's host name is the node's name unless vipd.node says. */
	if (v[1] != NULL)
		FIELD(p, "hostname", {
			s = cfg_get_str(p, k[1], v[1]);
			why = s && *s ? cfg_check_node(s) : NULL;
			if (why != NULL)
				cfg_report(p, k[1], "%s, got \"%s\"", why, cfg_show(v[1], buf));
			else if (s != NULL && *s)
				p->hostname = v[1];
		});
	if ((ifs = v[0]) == NULL)
		return;
	cfg_path_key(p, "interfaces");
	if (!cfg_want(p, k[0], ifs, CFG_Y_SEQ))
		return;
	for (size_t i = 0; i < ifs->n; i++) {
		size_t old = cfg_path_idx(p, i);

		walk_iface(p, ifs->kid[i]);
		cfg_path_set(p, old);
	}
}

enum { T_MACHINE, T_VIPD };
static const char *const top_keys[] = {
	"machine", "vipd",
	/* Talos v1alpha1 keys vipd does not act on */
	"version", "debug", "persist", "cluster", NULL
};

/* One YAML document, the index-th (from 1) of the stream. */
static void walk_doc(struct cfg_pctx *p, const struct cfg_ynode *root, size_t index)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS], first;

	if (root == NULL || cfg_is_null(root) || root->type == CFG_Y_ALIAS)
		return;
	if (root->type != CFG_Y_MAP) {
		cfg_report(p, cfg_pos_of(root), "a document must be a mapping, got %s",
		    root->type == CFG_Y_SEQ ? "a list" : "a single value");
		return;
	}
	/* Talos's typed documents (apiVersion/kind): cfg_talos.c. */
	if (cfg_has_key(root, "kind")) {
		cfg_talos_doc(p, root, index);
		return;
	}
	cfg_fields(p, root, top_keys, true, v, k);
	first = k[T_MACHINE].line != 0 ? k[T_MACHINE] : k[T_VIPD];
	if (first.line == 0)
		return;
	if (p->carrier.line != 0) {
		FIELD(p, k[T_MACHINE].line != 0 ? "machine" : "vipd",
		    cfg_report(p, first, "only one document may hold machine and "
		    "vipd; the first one does, at line %u", p->carrier.line));
		return;
	}
	p->carrier = first;
	if (v[T_MACHINE] != NULL)
		FIELD(p, "machine", walk_machine(p, k[T_MACHINE], v[T_MACHINE]));
	if (v[T_VIPD] != NULL)
		FIELD(p, "vipd", cfg_walk_vipd(p, k[T_VIPD], v[T_VIPD]));
}

/* The same address twice, anywhere, is an error at the second. Pairwise:
 * CFG_MAX_VIPS bounds it (4,096 VIPs, 8 million comparisons: ms). */
static void check_vips(struct cfg_pctx *p)
{
	const struct cfg *c = p->cfg;
	char *path = p->path;
	size_t plen = p->plen;

	for (size_t j = 1; j < c->n_vips; j++) {
		for (size_t i = 0; i < j; i++) {
			if (c->vips[i].family != c->vips[j].family ||
			    memcmp(c->vips[i].addr, c->vips[j].addr, 16) != 0)
				continue;
			p->path = p->vip_at[j].path;
			p->plen = strlen(p->path);
			cfg_report(p, p->vip_at[j].at,
			    "%s is configured twice (also at %u:%u)", c->vips[j].ip,
			    p->vip_at[i].at.line, p->vip_at[i].at.col);
			break;
		}
	}
	p->path = path;
	p->plen = plen;
}

static struct cfg *cfg_new(const char *name)
{
	struct cfg *c = xcalloc(1, sizeof(*c));

	c->path = xstrdup(name);
	c->etcd.prefix = xstrdup("/vipd/election/");
	c->etcd.timeout_ms = 2000;
	c->etcd.avoid_leader = true;
	c->lease_ttl_ms = 5000;
	c->announce_count = 3;
	c->announce_interval_ms = 200;
	c->announce_refresh_ms = 0;
	c->control_socket = xstrdup("/run/vipd/vipd.sock");
	c->metrics_listen = xstrdup("127.0.0.1:9450");
	c->log_level = LOG_LVL_INFO;
	c->hooks.timeout_ms = CFG_HOOKS_TIMEOUT_MS;
	return c;
}

struct cfg *cfg_load_string(const char *name, const char *text, size_t len, FILE *errs)
{
	struct cfg_pctx p = { .name = name };
	struct cfg_ynode **docs = NULL;
	size_t n_docs = 0;
	struct cfg *c = cfg_new(name);

	p.cfg = c;
	if (cfg_yaml_build(&p, text ? text : "", text ? len : 0, &docs, &n_docs) == 0) {
		for (size_t i = 0; i < n_docs; i++)
			cfg_yaml_check(&p, docs[i]);
		for (size_t i = 0; i < n_docs; i++)
			walk_doc(&p, docs[i], i + 1);
		cfg_talos_finish(&p);
		check_vips(&p);
		if (p.hostname == NULL)
			p.hostname = p.hostname_doc;
		if (c->node == NULL && p.hostname != NULL)
			c->node = xstrdup(p.hostname->str);
	}
	cfg_talos_finish(&p); /* NULL-safe: frees what a failed build left */
	c->notes = p.notes;
	c->n_notes = p.n_notes;
	if (c->etcd.n_endpoints == 0) {
		free(c->etcd.endpoints);
		c->etcd.endpoints = xmalloc(sizeof(*c->etcd.endpoints));
		c->etcd.endpoints[0] = xstrdup("https://127.0.0.1:2379");
		c->etcd.n_endpoints = 1;
	}
	for (size_t i = 0; i < n_docs; i++)
		cfg_yaml_free(docs[i]);
	free(docs);
	for (size_t i = 0; i < c->n_vips; i++)
		free(p.vip_at[i].path);
	free(p.vip_at);
	free(p.path);
	cfg_report_flush(&p, errs);
	if (p.n_err > 0) {
		cfg_free(c);
		c = NULL;
	}
	return c;
}

struct cfg *cfg_load(const char *path, FILE *errs)
{
	struct cfg *c = NULL;
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(errs, "%s: cannot open: %s\n", path, strerror(errno));
		goto out;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (len > CFG_MAX_FILE) {
			fprintf(errs, "%s: file too large (more than %u bytes)\n",
			    path, CFG_MAX_FILE);
			goto out;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(errs, "%s: cannot read: %s\n", path, strerror(errno));
		goto out;
	}
	c = cfg_load_string(path, buf ? buf : "", len, errs);
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	return c;
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->etcd.n_endpoints; i++)
		free(c->etcd.endpoints[i]);
	free(c->etcd.endpoints);
	free(c->etcd.ca_file);
	free(c->etcd.cert_file);
	free(c->etcd.key_file);
	free(c->etcd.username);
	free(c->etcd.password_file);
	free(c->etcd.prefix);
	for (size_t i = 0; i < c->n_vips; i++)
		vip_fields_free(&c->vips[i]);
	for (size_t i = 0; i < c->n_notes; i++)
		free(c->notes[i]);
	free(c->notes);
	free(c->vips);
	free(c->path);
	free(c->node);
	free(c->control_socket);
	free(c->control_group);
	free(c->metrics_listen);
	cfg_health_free(&c->health);
	for (char **a = c->hooks.on_acquire; a && *a; a++)
		free(*a);
	free(c->hooks.on_acquire);
	for (char **a = c->hooks.on_release; a && *a; a++)
		free(*a);
	free(c->hooks.on_release);
	free(c);
}

void cfg_vip_copy_addr(struct cfg_vip *dst, const struct cfg_vip *src)
{
	*dst = *src;
	dst->interface = NULL;
	dst->selector = NULL;
	dst->link = NULL;
	dst->vlan_name = NULL;
	dst->alias = NULL;
}

static bool argv_equal(char *const *a, char *const *b)
{
	for (; a != NULL && b != NULL && *a != NULL && *b != NULL; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return (a == NULL || *a == NULL) && (b == NULL || *b == NULL);
}

bool cfg_hooks_equal(const struct cfg_hooks *a, const struct cfg_hooks *b)
{
	return a->timeout_ms == b->timeout_ms && argv_equal(a->on_acquire, b->on_acquire) &&
	    argv_equal(a->on_release, b->on_release);
}
