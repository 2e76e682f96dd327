/*
 * cfg_talos.c - the schema walk of Talos's typed documents (Talos 1.12+:
 * apiVersion/kind documents in the same YAML stream as the machine
 * config), and the resolution of a Layer2VIPConfig's link.
 *
 * Documents are remembered as they come (a Layer2VIPConfig may precede
 * the VLANConfig or LinkAliasConfig it names); cfg_talos_finish then
 * looks each VIP's link up - as an alias, then a VLANConfig name (whose
 * parent may be an alias or a link name), then a plain link name - and
 * appends the VIPs in document order. A VIP document vipd cannot serve
 * (HCloudVIPConfig, an unknown *VIPConfig) is an error, never dropped;
 * documents of other kinds are listed as notes. Contracts: cfg_parse.h.
 */
#include <stdlib.h>
#include <string.h>

#include "cel.h"
#include "cfg_parse.h"
#include "linksel.h"
#include "xmem.h"

struct tvlan {
	const char *name, *parent;    /* point into the YAML tree */
	unsigned id;
	enum cfg_vlan_mode mode;
	struct cfg_pos at, parent_at; /* the document, the parent key */
	bool ok;                      /* every field valid */
};

struct talias {
	const char *name;
	const struct cfg_ynode *match;  /* the scalar, for error positions */
	struct cfg_pos at, match_at;
	struct cel_expr *expr;          /* NULL: not valid (err says why) */
	struct cel_error err;
	bool reported, used;
	size_t index;                   /* document number */
};

struct tvip {
	struct cfg_vip vip;             /* address filled in */
	const char *link;
	struct cfg_pos at, name_at, link_at;
};

struct cfg_talos {
	bool too_many[3];     /* cap reported: Layer2VIP, VLAN, LinkAlias */
	struct tvlan *vlan;
	size_t n_vlan;
	struct talias *alias;
	size_t n_alias;
	struct tvip *vip;
	size_t n_vip;
};

#define GROW(arr, n) ((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))))

/*
 * Documents of one kind beyond CFG_MAX_VIPS: reported once (at the first
 * one over), then skipped. Resolving links and the clash and duplicate
 * checks compare documents pairwise; the cap bounds them.
 */
static bool over_cap(struct cfg_pctx *p, size_t n, int which, struct cfg_pos at)
{
	static const char *const kinds[] = { "Layer2VIPConfig", "VLANConfig",
		"LinkAliasConfig" };

	if (n < CFG_MAX_VIPS)
		return false;
	if (!p->talos->too_many[which])
		cfg_report(p, at, "more than %d %s documents (the limit of one vipd)",
		    CFG_MAX_VIPS, kinds[which]);
	p->talos->too_many[which] = true;
	return true;
}

void cfg_alias_free(struct cfg_alias *a)
{
	if (a == NULL)
		return;
	free(a->name);
	cel_free(a->match);
	free(a);
}

struct cfg_alias *cfg_alias_dup(const struct cfg_alias *a)
{
	struct cfg_alias *d;

	if (a == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->name = xstrdup(a->name);
	d->match = cel_dup(a->match);
	d->line = a->line;
	return d;
}

static struct cfg_talos *state(struct cfg_pctx *p)
{
	if (p->talos == NULL)
		p->talos = xcalloc(1, sizeof(*p->talos));
	return p->talos;
}

/* A required string field; NULL after reporting. */
static const char *need_str(struct cfg_pctx *p, const char *key, struct cfg_pos doc,
    struct cfg_pos at, const struct cfg_ynode *v, const char *what)
{
	const char *s = NULL;

	FIELD(p, key, {
		if (v == NULL)
			cfg_report(p, at.line ? at : doc, "missing %s", what);
		else if ((s = cfg_get_str(p, at, v)) != NULL && *s == '\0') {
			cfg_report(p, at, "must not be empty");
			s = NULL;
		}
	});
	return s;
}

/* A link name (1..15 bytes, ...); false after reporting. */
static bool check_ifname(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v,
    const char *s)
{
	char buf[CFG_SHOW_LEN];
	const char *why = cfg_check_ifname(s);

	if (why != NULL)
		cfg_report(p, at, "%s, got \"%s\"", why, cfg_show(v, buf));
	return why == NULL;
}

/* --- the documents ---------------------------------------------------- */

enum { L2_API, L2_KIND, L2_NAME, L2_LINK };
static const char *const l2_keys[] = { "apiVersion", "kind", "name", "link", NULL };

static void walk_layer2(struct cfg_pctx *p, const struct cfg_ynode *root)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg_talos *t = state(p);
	struct tvip tv = { .at = cfg_pos_of(root) };
	const char *s, *why;
	char buf[CFG_SHOW_LEN];

	if (over_cap(p, t->n_vip, 0, tv.at))
		return;
	cfg_fields(p, root, l2_keys, true, v, k);
	s = need_str(p, "name", tv.at, k[L2_NAME], v[L2_NAME], "name (the VIP address)");
	if (s != NULL && (why = cfg_check_vip(s, &tv.vip)) != NULL) {
		FIELD(p, "name", cfg_report(p, k[L2_NAME], "%s, got \"%s\"", why,
		    cfg_show(v[L2_NAME], buf)));
		s = NULL;
	}
	tv.link = need_str(p, "link", tv.at, k[L2_LINK], v[L2_LINK],
	    "link (a link name, VLANConfig name or LinkAliasConfig alias)");
	if (s == NULL || tv.link == NULL)
		return;
	tv.name_at = k[L2_NAME];
	tv.link_at = k[L2_LINK];
	tv.vip.line = v[L2_NAME]->line;
	GROW(t->vip, t->n_vip);
	t->vip[t->n_vip++] = tv;
}

enum { V_API, V_KIND, V_NAME, V_ID, V_MODE, V_PARENT };
static const char *const vlan_keys[] = {
	"apiVersion", "kind", "name", "vlanID", "vlanMode", "parent",
	/* Talos keys of the VLAN link itself, which vipd does not act on */
	"up", "mtu", "addresses", "routes", "multicast", NULL
};

static void walk_vlan(struct cfg_pctx *p, const struct cfg_ynode *root)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg_talos *t = state(p);
	struct tvlan tv = { .at = cfg_pos_of(root), .ok = true };
	char buf[CFG_SHOW_LEN];
	const char *mode;

	if (over_cap(p, t->n_vlan, 1, tv.at))
		return;
	cfg_fields(p, root, vlan_keys, true, v, k);
	tv.name = need_str(p, "name", tv.at, k[V_NAME], v[V_NAME], "name (the VLAN link's)");
	if (tv.name != NULL)
		FIELD(p, "name", tv.ok &= check_ifname(p, k[V_NAME], v[V_NAME], tv.name));
	tv.parent = need_str(p, "parent", tv.at, k[V_PARENT], v[V_PARENT],
	    "parent (the link the VLAN is on)");
	if (tv.parent != NULL)
		FIELD(p, "parent", tv.ok &= check_ifname(p, k[V_PARENT], v[V_PARENT],
		    tv.parent));
	tv.parent_at = k[V_PARENT];
	if (v[V_ID] == NULL)
		FIELD(p, "vlanID", cfg_report(p, k[V_ID].line ? k[V_ID] : tv.at,
		    "missing vlanID (1..4094)"));
	else
		FIELD(p, "vlanID", tv.ok &= cfg_get_uint(p, k[V_ID], v[V_ID], 1, 4094, &tv.id));
	if (v[V_MODE] != NULL)
		FIELD(p, "vlanMode", {
			mode = cfg_get_str(p, k[V_MODE], v[V_MODE]);
			if (mode != NULL && strcmp(mode, "802.1ad") == 0)
				tv.mode = CFG_VLAN_8021AD;
			else if (mode != NULL && strcmp(mode, "802.1q") != 0)
				cfg_report(p, k[V_MODE], "must be 802.1q or 802.1ad, got \"%s\"",
				    cfg_show(v[V_MODE], buf));
		});
	tv.ok &= tv.name && tv.parent && v[V_ID];
	for (size_t i = 0; tv.name && i < t->n_vlan; i++)
		if (t->vlan[i].name && strcmp(t->vlan[i].name, tv.name) == 0) {
			FIELD(p, "name", cfg_report(p, k[V_NAME], "VLANConfig %s is declared "
			    "twice (also at %u:%u)", tv.name, t->vlan[i].at.line,
			    t->vlan[i].at.col));
			tv.ok = false;
			break;
		}
	GROW(t->vlan, t->n_vlan);
	t->vlan[t->n_vlan++] = tv;
}

enum { A_API, A_KIND, A_NAME, A_SEL };
static const char *const alias_keys[] = { "apiVersion", "kind", "name", "selector", NULL };
static const char *const selector_keys[] = { "match", NULL };

static void walk_alias(struct cfg_pctx *p, const struct cfg_ynode *root, size_t index)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS], *sv[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS], sk[CFG_MAX_FIELDS];
	struct cfg_talos *t = state(p);
	struct talias ta = { .at = cfg_pos_of(root), .index = index };
	char buf[CFG_SHOW_LEN], name[32];
	const char *s;
	size_t old;
	int pat;

	if (over_cap(p, t->n_alias, 2, ta.at))
		return;
	cfg_fields(p, root, alias_keys, true, v, k);
	ta.name = need_str(p, "name", ta.at, k[A_NAME], v[A_NAME], "name (the alias)");
	if (ta.name != NULL) {
		pat = linksel_alias_is_pattern(ta.name);
		if (pat < 0) {
			FIELD(p, "name", cfg_report(p, k[A_NAME], "may hold one %%d and no "
			    "other %%, got \"%s\"", cfg_show(v[A_NAME], buf)));
			ta.name = NULL;
		} else if (!linksel_alias_name(ta.name, 0, name, sizeof(name)) ||
		    cfg_check_ifname(name) != NULL) {
			FIELD(p, "name", check_ifname(p, k[A_NAME], v[A_NAME],
			    strlen(ta.name) > 15 ? ta.name : name));
			ta.name = NULL;
		}
	}
	if (v[A_SEL] == NULL) {
		FIELD(p, "selector", cfg_report(p, k[A_SEL].line ? k[A_SEL] : ta.at,
		    "missing selector (with match)"));
	} else {
		old = cfg_path_key(p, "selector");
		if (cfg_want(p, k[A_SEL], v[A_SEL], CFG_Y_MAP)) {
			cfg_fields(p, v[A_SEL], selector_keys, true, sv, sk);
			s = need_str(p, "match", k[A_SEL], sk[0], sv[0],
			    "match (a CEL expression)");
			if (s != NULL) {
				ta.match = sv[0];
				ta.match_at = sk[0];
				ta.expr = cel_parse(s, strlen(s), &ta.err);
			}
		}
		cfg_path_set(p, old);
	}
	for (size_t i = 0; ta.name && i < t->n_alias; i++)
		if (t->alias[i].name && strcmp(t->alias[i].name, ta.name) == 0) {
			FIELD(p, "name", cfg_report(p, k[A_NAME], "alias %s is declared twice "
			    "(also at %u:%u)", ta.name, t->alias[i].at.line, t->alias[i].at.col));
			ta.name = NULL;
			break;
		}
	GROW(t->alias, t->n_alias);
	t->alias[t->n_alias++] = ta;
}

/*
 * HostnameConfig.hostname, like machine.network.hostname (which wins when
 * both are set), is the node name unless vipd.node is set. Its other keys
 * (auto, ...) do not concern vipd.
 */
static void walk_hostname(struct cfg_pctx *p, const struct cfg_ynode *root)
{
	static const char *const names[] = { "hostname", NULL };
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	char buf[CFG_SHOW_LEN];
	const char *s, *why;

	cfg_fields(p, root, names, false, v, k);
	if (v[0] == NULL)
		return;
	FIELD(p, "HostnameConfig.hostname", {
		s = cfg_get_str(p, k[0], v[0]);
		why = s && *s ? cfg_check_node(s) : NULL;
		if (why != NULL)
			cfg_report(p, k[0], "%s, got \"%s\"", why, cfg_show(v[0], buf));
		else if (s != NULL && *s && p->hostname_doc == NULL)
			p->hostname_doc = v[0];
	});
}

static const char *const link_keys[] = {
	"apiVersion", "kind", "name", "up", "mtu", "addresses", "routes", "multicast", NULL
};

void cfg_talos_doc(struct cfg_pctx *p, const struct cfg_ynode *root, size_t index)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	static const char *const head[] = { "apiVersion", "kind", NULL };
	char buf[CFG_SHOW_LEN];
	const char *kind, *api;
	size_t klen, old;

	cfg_fields(p, root, head, false, v, k);
	kind = NULL;
	FIELD(p, "kind", {
		if (v[1] == NULL)
			cfg_report(p, k[1], "must name the document's kind");
		else
			kind = cfg_get_str(p, k[1], v[1]);
	});
	if (kind == NULL)
		return;
	klen = strlen(kind);
	if (strcmp(kind, "HostnameConfig") == 0 && cfg_has_key(root, "hostname")) {
		walk_hostname(p, root);
		return;
	}
	if (strcmp(kind, "Layer2VIPConfig") != 0 && strcmp(kind, "VLANConfig") != 0 &&
	    strcmp(kind, "LinkAliasConfig") != 0 && strcmp(kind, "LinkConfig") != 0 &&
	    (klen < 9 || strcmp(kind + klen - 9, "VIPConfig") != 0)) {
		cfg_note(p, cfg_pos_of(root), "ignored: kind %s, document %zu", cfg_show(v[1], buf),
		    index);
		return;
	}
	old = cfg_path_key(p, kind);
	if (strcmp(kind, "Layer2VIPConfig") != 0 && strcmp(kind, "VLANConfig") != 0 &&
	    strcmp(kind, "LinkAliasConfig") != 0 && strcmp(kind, "LinkConfig") != 0) {
		/* A VIP that vipd would not hold must never pass unnoticed. */
		if (strcmp(kind, "HCloudVIPConfig") == 0)
			cfg_report(p, k[1], "vipd cannot serve this VIP: Talos moves it "
			    "through the Hetzner Cloud API, vipd only announces on the "
			    "local network; use Layer2VIPConfig where that reaches the "
			    "clients, or leave this VIP to Talos");
		else
			cfg_report(p, k[1], "a VIP document vipd does not know; vipd "
			    "serves Layer2VIPConfig only");
		goto out;
	}
	api = v[0] != NULL ? cfg_get_str(p, k[0], v[0]) : NULL;
	if (v[0] == NULL)
		FIELD(p, "apiVersion", cfg_report(p, cfg_pos_of(root),
		    "missing apiVersion (v1alpha1)"));
	else if (api != NULL && strcmp(api, "v1alpha1") != 0)
		FIELD(p, "apiVersion", cfg_report(p, k[0], "must be v1alpha1, got \"%s\"",
		    cfg_show(v[0], buf)));
	if (strcmp(kind, "Layer2VIPConfig") == 0) {
		walk_layer2(p, root);
	} else if (strcmp(kind, "VLANConfig") == 0) {
		walk_vlan(p, root);
	} else if (strcmp(kind, "LinkAliasConfig") == 0) {
		walk_alias(p, root, index);
	} else {
		cfg_fields(p, root, link_keys, true, v, k);
		cfg_note(p, cfg_pos_of(root), "ignored: kind LinkConfig, document %zu "
		    "(vipd does not configure links)", index);
	}
out:
	cfg_path_set(p, old);
}

/* --- resolving links -------------------------------------------------- */

/* Where offset off of the expression in scalar v stands in the file. */
static struct cfg_pos expr_at(const struct cfg_ynode *v, size_t off, bool *exact)
{
	unsigned q = v->style == '"' || v->style == '\'';

	*exact = (v->style == 0 || q) && v->end_line == v->line &&
	    v->end_col > v->col && v->end_col - v->col == v->len + 2 * q;
	if (*exact)
		return (struct cfg_pos){ v->line, v->col + q + (unsigned)off };
	return cfg_pos_of(v);
}

/* Report alias a's expression error once, at its place in the file. */
static void report_cel(struct cfg_pctx *p, struct talias *a)
{
	size_t plen, pcap;
	char *path;
	bool exact;
	struct cfg_pos at;

	if (a->reported || a->match == NULL)
		return;
	a->reported = true;
	at = expr_at(a->match, a->err.offset, &exact);
	/* The error belongs to the alias's document, not the VIP's path. */
	path = p->path;
	plen = p->plen;
	pcap = p->pcap;
	p->path = NULL;
	p->plen = p->pcap = 0;
	cfg_path_key(p, "LinkAliasConfig.selector.match");
	if (exact)
		cfg_report(p, at, "%s", a->err.msg);
	else
		cfg_report(p, at, "%s (at character %zu of the expression)", a->err.msg,
		    a->err.offset + 1);
	free(p->path);
	p->path = path;
	p->plen = plen;
	p->pcap = pcap;
}

/*
 * The alias that names link, or NULL. Reports (at "at", field path as
 * set) when two aliases name it or the alias is not usable.
 */
static struct talias *find_alias(struct cfg_pctx *p, struct cfg_pos at, const char *link,
    unsigned *index, bool *bad)
{
	struct cfg_talos *t = p->talos;
	struct talias *found = NULL;
	unsigned idx;

	for (size_t i = 0; i < t->n_alias; i++) {
		struct talias *a = &t->alias[i];

		if (a->name == NULL || !linksel_alias_index(a->name, link, &idx))
			continue;
		if (found != NULL) {
			cfg_report(p, at, "%s is named by two aliases: %s (at %u:%u) and "
			    "%s (at %u:%u)", link, found->name, found->at.line, found->at.col,
			    a->name, a->at.line, a->at.col);
			*bad = true;
			return NULL;
		}
		found = a;
		*index = idx;
	}
	if (found != NULL && found->expr == NULL) {
		report_cel(p, found);
		if (found->match == NULL)
			cfg_report(p, at, "alias %s (at %u:%u) has no valid selector",
			    found->name, found->at.line, found->at.col);
		*bad = true;
		return NULL;
	}
	if (found != NULL)
		found->used = true;
	return found;
}

static struct tvlan *find_vlan(struct cfg_talos *t, const char *name)
{
	for (size_t i = 0; i < t->n_vlan; i++)
		if (t->vlan[i].name != NULL && strcmp(t->vlan[i].name, name) == 0)
			return &t->vlan[i];
	return NULL;
}

static struct cfg_alias *alias_copy(const struct talias *a)
{
	struct cfg_alias *d = xcalloc(1, sizeof(*d));

	d->name = xstrdup(a->name);
	d->match = cel_dup(a->expr);
	d->line = a->at.line;
	return d;
}

/* Fill in tv->vip's link from tv->link; false after reporting. */
static bool resolve(struct cfg_pctx *p, struct tvip *tv)
{
	struct cfg_vip *vip = &tv->vip;
	struct talias *a;
	struct tvlan *vl;
	bool bad = false;
	unsigned idx = 0;
	const char *why;

	cfg_path_key(p, "link");
	if ((a = find_alias(p, tv->link_at, tv->link, &idx, &bad)) != NULL) {
		vip->alias = alias_copy(a);
		vip->alias_index = idx;
		return true;
	}
	if (bad)
		return false;
	if ((vl = find_vlan(p->talos, tv->link)) != NULL) {
		if (!vl->ok) {
			cfg_report(p, tv->link_at, "VLANConfig %s (at %u:%u) is not valid",
			    tv->link, vl->at.line, vl->at.col);
			return false;
		}
		cfg_path_set(p, 0);
		cfg_path_key(p, "VLANConfig.parent");
		if (find_vlan(p->talos, vl->parent) != NULL) {
			cfg_report(p, vl->parent_at, "%s is a VLANConfig: a VLAN on a VLAN "
			    "is not supported by vipd", vl->parent);
			return false;
		}
		if ((a = find_alias(p, vl->parent_at, vl->parent, &idx, &bad)) != NULL) {
			vip->alias = alias_copy(a);
			vip->alias_index = idx;
		} else if (bad) {
			return false;
		} else {
			vip->interface = xstrdup(vl->parent);
		}
		vip->vlan = vl->id;
		vip->vlan_name = xstrdup(vl->name);
		vip->vlan_mode = vl->mode;
		return true;
	}
	if ((why = cfg_check_ifname(tv->link)) != NULL) {
		cfg_report(p, tv->link_at, "not an alias or a VLANConfig name, and as "
		    "a link name it %s, got \"%s\"", why, tv->link);
		return false;
	}
	vip->interface = xstrdup(tv->link);
	return true;
}

/* A pattern alias or a fixed one named like a VLANConfig: ambiguous. */
static void check_clashes(struct cfg_pctx *p)
{
	struct cfg_talos *t = p->talos;
	unsigned idx;

	for (size_t i = 0; i < t->n_vlan; i++) {
		const struct tvlan *vl = &t->vlan[i];

		for (size_t j = 0; vl->name && j < t->n_alias; j++) {
			const struct talias *a = &t->alias[j];

			if (a->name == NULL || !linksel_alias_index(a->name, vl->name, &idx))
				continue;
			cfg_path_key(p, "VLANConfig.name");
			cfg_report(p, vl->at, "%s is also the name of alias %s (at %u:%u); "
			    "give the VLAN another name", vl->name, a->name, a->at.line,
			    a->at.col);
			cfg_path_set(p, 0);
		}
	}
}

void cfg_talos_finish(struct cfg_pctx *p)
{
	struct cfg_talos *t = p->talos;
	size_t plen = p->plen;

	if (t == NULL)
		return;
	/* Field paths of typed documents start with the kind. */
	cfg_path_set(p, 0);
	check_clashes(p);
	for (size_t i = 0; i < t->n_vip; i++) {
		struct tvip *tv = &t->vip[i];

		cfg_path_set(p, 0);
		cfg_path_key(p, "Layer2VIPConfig");
		if (!resolve(p, tv)) {
			free(tv->vip.interface);
			free(tv->vip.vlan_name);
			cfg_alias_free(tv->vip.alias);
			continue;
		}
		tv->vip.typed = true;
		tv->vip.link = xstrdup(tv->link);
		cfg_path_set(p, 0);
		cfg_path_key(p, "Layer2VIPConfig.name");
		cfg_add_vip(p, &tv->vip, tv->name_at);
	}
	for (size_t i = 0; i < t->n_alias; i++) {
		struct talias *a = &t->alias[i];

		if (!a->used && a->expr == NULL && a->match != NULL)
			cfg_note(p, a->at, "LinkAliasConfig %s (document %zu) is not used "
			    "by a VIP; its selector was not checked: %s",
			    a->name ? a->name : "(unnamed)", a->index, a->err.msg);
		cel_free(a->expr);
	}
	cfg_path_set(p, plen);
	free(t->vlan);
	free(t->alias);
	free(t->vip);
	free(t);
	p->talos = NULL;
}
