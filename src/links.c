/*
 * links.c - the link table and each VIP's resolution (links.h).
 */
#include "links.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "linkfacts.h"
#include "log.h"
#include "netlink.h"
#include "xmem.h"

/* ETH_P_8021Q / ETH_P_8021AD (linux/if_ether.h) */
#define VLAN_PROTO_8021Q  0x8100
#define VLAN_PROTO_8021AD 0x88a8
/* How many matches a "several links match" error names. */
#define LINKS_MAX_MATCH 8

struct links {
	struct nl *nl;
	bool create_vlans;
	struct nl_link *v;        /* the table, in no particular order */
	size_t n, cap;
};

struct links_want {
	const struct cfg_vip *cv;
	int base;                 /* the named (or VLAN parent) link last
	                           * resolved: kept across renames */
	int created_on;           /* parent ifindex a VLAN was created on */
	int last_ifindex;         /* the last outcome, for logging once */
	bool last_error;
	char last_reason[256];
};

/* ---- the table ------------------------------------------------------------ */

static struct nl_link *find_index(struct links *ls, int ifindex)
{
	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].ifindex == ifindex)
			return &ls->v[i];
	return NULL;
}

/* The link whose name or an altname is name (the kernel keeps both
 * unique together), or NULL. */
static struct nl_link *find_name(struct links *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (strcmp(ls->v[i].name, name) == 0)
			return &ls->v[i];
		for (unsigned k = 0; k < ls->v[i].n_altnames; k++)
			if (strcmp(ls->v[i].altnames[k], name) == 0)
				return &ls->v[i];
	}
	return NULL;
}

void links_link_changed(struct links *ls, const struct nl_link *link)
{
	struct nl_link *l = find_index(ls, link->ifindex);

	if (l == NULL) {
		if (ls->n == ls->cap) {
			ls->cap = ls->cap ? ls->cap * 2 : 16;
			ls->v = xrealloc(ls->v, ls->cap * sizeof(*ls->v));
		}
		l = &ls->v[ls->n++];
	}
	*l = *link;
}

void links_link_removed(struct links *ls, int ifindex)
{
	struct nl_link *l = find_index(ls, ifindex);

	if (l != NULL)
		*l = ls->v[--ls->n];
}

static void add_cb(void *arg, const struct nl_link *link)
{
	links_link_changed(arg, link);
}

int links_resync(struct links *ls)
{
	struct links fresh = { .nl = ls->nl };
	int r = nl_link_foreach(ls->nl, add_cb, &fresh);

	if (r < 0) {
		free(fresh.v);
		log_warnx("links: cannot list links: %s; keeping the table (%zu links)",
		    strerror(-r), ls->n);
		return r;
	}
	free(ls->v);
	ls->v = fresh.v;
	ls->n = fresh.n;
	ls->cap = fresh.cap;
	return 0;
}

struct links *links_new(struct nl *nl, bool create_vlans)
{
	struct links *ls = xcalloc(1, sizeof(*ls));

	ls->nl = nl;
	ls->create_vlans = create_vlans;
	(void)links_resync(ls);
	log_debug("links: %zu links create_vlans=%s", ls->n, create_vlans ? "true" : "false");
	return ls;
}

void links_free(struct links *ls)
{
	if (ls == NULL)
		return;
	free(ls->v);
	free(ls);
}

size_t links_count(const struct links *ls)
{
	return ls->n;
}

struct links_want *links_want_new(struct links *ls, const struct cfg_vip *cv)
{
	struct links_want *w = xcalloc(1, sizeof(*w));

	(void)ls;
	w->cv = cv;
	return w;
}

void links_want_rebind(struct links_want *w, const struct cfg_vip *cv)
{
	w->cv = cv;
}

void links_want_free(struct links_want *w)
{
	free(w);
}

/* ---- resolution ----------------------------------------------------------- */

void links_vlan_name(const char *parent, unsigned id, char buf[16])
{
	char suffix[8];
	size_t keep;

	snprintf(suffix, sizeof(suffix), ".%u", id % 10000);
	keep = 15 - strlen(suffix);
	snprintf(buf, 16, "%.*s%s", (int)keep, parent, suffix);
}

static void set_error(struct vip_link *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(struct vip_link *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	out->error = true;
}

static void set_waiting(struct vip_link *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_waiting(struct vip_link *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	out->error = false;
}

/* "deviceSelector", "alias mgmt", "alias net%d #1" */
static void describe_selected(const struct cfg_vip *cv, char *buf, size_t len)
{
	if (cv->selector != NULL)
		snprintf(buf, len, "deviceSelector");
	else if (cv->alias != NULL && linksel_alias_is_pattern(cv->alias->name) == 1)
		snprintf(buf, len, "alias %s #%u", cv->alias->name, cv->alias_index);
	else if (cv->alias != NULL)
		snprintf(buf, len, "alias %s", cv->alias->name);
	else
		snprintf(buf, len, "(no link)");
}

/* The link a selector or alias chooses, or NULL with out's reason set. */
static struct nl_link *select_link(struct links *ls, const struct cfg_vip *cv,
                                   struct vip_link *out)
{
	struct linkfacts *facts = xcalloc(ls->n ? ls->n : 1, sizeof(*facts));
	size_t match[LINKS_MAX_MATCH], n, shown;
	struct nl_link *l = NULL;
	char what[160], names[LINKS_MAX_MATCH * 17 + 8] = "";

	describe_selected(cv, what, sizeof(what));
	for (size_t i = 0; i < ls->n; i++) {
		const struct nl_link *e = &ls->v[i];
		static const unsigned char zero[6];
		bool has_mac = memcmp(e->mac, zero, sizeof(zero)) != 0;

		if (linkfacts_read(linkfacts_root(), e->name, e->kind, e->mac, has_mac ? 6 : 0,
		    e->perm_mac, e->has_perm_mac ? 6 : 0, &facts[i]) < 0) {
			/* Gone from sysfs meanwhile: only its name is known. */
			memset(&facts[i], 0, sizeof(facts[i]));
			snprintf(facts[i].name, sizeof(facts[i].name), "%s", e->name);
			facts[i].f.name = facts[i].name;
		}
	}
	n = linkfacts_select(cv, facts, ls->n, match, LINKS_MAX_MATCH);
	shown = n < LINKS_MAX_MATCH ? n : LINKS_MAX_MATCH;
	for (size_t k = 0; k < shown; k++) {
		size_t at = strlen(names);
		snprintf(names + at, sizeof(names) - at, "%s%s", k ? ", " : "", ls->v[match[k]].name);
	}
	if (n == 0)
		set_waiting(out, "no link matches %s", what);
	else if (n > 1)
		set_error(out, "%zu links match %s (%s%s): vipd never chooses between them; "
		    "make it match exactly one", n, what, names, n > shown ? ", ..." : "");
	else
		l = &ls->v[match[0]];
	free(facts);
	return l;
}

/* The named link or VLAN parent, or NULL with out's reason set. A link
 * once resolved is kept while it exists and no other link has the name
 * (a rename keeps it). */
static struct nl_link *base_link(struct links *ls, struct links_want *w, struct vip_link *out)
{
	const struct cfg_vip *cv = w->cv;
	struct nl_link *l;

	if (cv->interface == NULL) {
		l = select_link(ls, cv, out);
	} else if (strlen(cv->interface) >= sizeof(((struct nl_link *)0)->altnames[0])) {
		set_error(out, "link name %s cannot exist: link names and altnames have at most "
		    "15 and 127 characters", cv->interface);
		l = NULL;
	} else {
		l = find_name(ls, cv->interface);
		if (l == NULL && w->base > 0)
			l = find_index(ls, w->base); /* renamed */
		if (l == NULL)
			set_waiting(out, "link %s not found", cv->interface);
	}
	w->base = l != NULL ? l->ifindex : 0;
	return l;
}

static bool vlan_matches(const struct nl_link *l, const struct cfg_vip *cv, int parent)
{
	uint16_t want = cv->vlan_mode == CFG_VLAN_8021AD ? VLAN_PROTO_8021AD : VLAN_PROTO_8021Q;
	uint16_t have = l->vlan_proto ? l->vlan_proto : VLAN_PROTO_8021Q;

	return strcmp(l->kind, "vlan") == 0 && l->parent == parent && l->vlan_id == cv->vlan &&
	    have == want;
}

/* Create the missing VLAN link on parent p (once per parent ifindex) and
 * put it into the table. Returns it, or NULL with out's reason set. */
static struct nl_link *create_vlan(struct links *ls, struct links_want *w,
                                   const struct nl_link *p, struct vip_link *out)
{
	const struct cfg_vip *cv = w->cv;
	struct nl_link made;
	char name[16];
	int parent = p->ifindex, r;

	if (cv->vlan_name != NULL)
		snprintf(name, sizeof(name), "%s", cv->vlan_name);
	else
		links_vlan_name(p->name, cv->vlan, name);
	if (w->created_on == parent) {
		set_waiting(out, "VLAN %u on %s not found (vipd created or tried %s once on this "
		    "parent and does not again; create it by hand, or restart vipd)", cv->vlan,
		    p->name, name);
		return NULL;
	}
	w->created_on = parent;
	r = nl_vlan_create(ls->nl, parent, name, cv->vlan, cv->vlan_mode == CFG_VLAN_8021AD);
	if (r < 0) {
		set_waiting(out, "VLAN %u on %s not found (creating %s failed: %s)", cv->vlan,
		    p->name, name, strerror(-r));
		return NULL;
	}
	log_info("links: created VLAN link link=%s parent=%s vlan=%u for vip=%s (vipd.createVlans)",
	    name, p->name, cv->vlan, cv->ip);
	if (nl_link_by_name(ls->nl, name, &made) < 0) {
		set_waiting(out, "VLAN %u on %s: created %s, not seen yet", cv->vlan, p->name, name);
		return NULL;
	}
	links_link_changed(ls, &made);
	return find_index(ls, made.ifindex);
}

/* The VLAN link on parent p, or NULL with out's reason set. */
static struct nl_link *vlan_link(struct links *ls, struct links_want *w,
                                 const struct nl_link *p, struct vip_link *out)
{
	const struct cfg_vip *cv = w->cv;
	struct nl_link *found = NULL;
	char names[LINKS_MAX_MATCH * 17 + 8] = "";
	size_t n = 0;

	for (size_t i = 0; i < ls->n; i++) {
		if (!vlan_matches(&ls->v[i], cv, p->ifindex))
			continue;
		if (n < LINKS_MAX_MATCH) {
			size_t at = strlen(names);
			snprintf(names + at, sizeof(names) - at, "%s%s", n ? ", " : "", ls->v[i].name);
		}
		found = &ls->v[i];
		n++;
	}
	if (n > 1) {
		/* The kernel refuses a second VLAN of one id and protocol on
		 * a parent; only a table out of step shows two. */
		set_error(out, "%zu links are VLAN %u on %s (%s)", n, cv->vlan, p->name, names);
		return NULL;
	}
	if (found != NULL)
		return found;
	if (ls->create_vlans)
		return create_vlan(ls, w, p, out);
	set_waiting(out, "no VLAN %u link on %s (vipd.createVlans is off)", cv->vlan, p->name);
	return NULL;
}

/* A member of a bond, bridge or team: its addresses are not used. */
static bool refuse_member(struct links *ls, const struct nl_link *l, struct vip_link *out)
{
	const struct nl_link *m;

	if (l->master <= 0)
		return false;
	m = find_index(ls, l->master);
	if (m != NULL && strcmp(m->kind, "vrf") == 0)
		return false;
	if (m != NULL)
		set_error(out, "link %s is a member of %s (%s): put the VIP on %s instead",
		    l->name, m->name, m->kind[0] ? m->kind : "master", m->name);
	else
		set_error(out, "link %s is a member of ifindex %d", l->name, l->master);
	return true;
}

static void log_outcome(struct links_want *w, const struct vip_link *out)
{
	const struct cfg_vip *cv = w->cv;

	if (out->ifindex == w->last_ifindex && out->error == w->last_error &&
	    (out->ifindex > 0 || strcmp(out->reason, w->last_reason) == 0))
		return;
	if (out->ifindex > 0)
		log_info("links: vip=%s is on link=%s ifindex=%d", cv->ip, out->name, out->ifindex);
	else if (out->error)
		log_warnx("links: link unusable vip=%s: %s; not a candidate until fixed", cv->ip,
		    out->reason);
	else
		log_warnx("links: waiting for the link vip=%s: %s", cv->ip, out->reason);
	w->last_ifindex = out->ifindex;
	w->last_error = out->error;
	snprintf(w->last_reason, sizeof(w->last_reason), "%s", out->reason);
}

void links_resolve(struct links *ls, struct links_want *w, struct vip_link *out)
{
	const struct cfg_vip *cv = w->cv;
	struct nl_link *l;

	memset(out, 0, sizeof(*out));
	l = base_link(ls, w, out);
	if (l != NULL && cv->vlan != 0) {
		int base = l->ifindex;

		l = vlan_link(ls, w, l, out);
		w->base = base; /* create_vlan may have moved the table */
	}
	if (l != NULL && !refuse_member(ls, l, out)) {
		out->ifindex = l->ifindex;
		snprintf(out->name, sizeof(out->name), "%s", l->name);
		out->up = l->up;
		memcpy(out->mac, l->mac, sizeof(out->mac));
	}
	log_outcome(w, out);
}
