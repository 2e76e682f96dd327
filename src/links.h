/*
 * links.h - which link each VIP lives on.
 *
 * The one module that knows about links: it keeps a table of this node's
 * links (filled by a netlink dump, kept by the events the daemon passes
 * on, dumped again after lost events) and resolves what a VIP's cfg_vip
 * names into "ifindex N, up or down, MAC m", or why there is none. It
 * never calls a VIP: the daemon asks it after every link event and hands
 * the answer to vip_link_set() (data flows one way).
 *
 * Rules (docs/configuration.md, "Which link a VIP lives on"):
 * - A name matches a link's kernel name or one of its alternative names
 *   (`ip link property add ... altname`). Once resolved, a want stays on
 *   that ifindex when the link is renamed, until the link is deleted or
 *   another link takes the configured name.
 * - A VLAN (legacy vlans[].vip, or a Layer2VIPConfig on a VLANConfig) is
 *   the link of kind "vlan" whose IFLA_LINK is the parent's ifindex and
 *   whose VLAN id and protocol (802.1Q, or 802.1ad for vlanMode 802.1ad)
 *   match, whatever it is called.
 * - With create_vlans, a missing VLAN link is created once per parent
 *   ifindex: named the VLANConfig's name (typed), else "<parent>.<id>";
 *   when that is longer than 15 bytes, the parent's name is cut so that
 *   "<cut parent>.<id>" is 15 ("enp0s20f0u1u2.4094" -> "enp0s20f0u.4094").
 * - deviceSelector and LinkAliasConfig links are chosen by linkfacts.h
 *   over every link in the table. More than one match is an error naming
 *   every match: no campaign until exactly one matches (vipd never picks
 *   one of several, so a VIP never sits on two links of a node, nor
 *   moves when links are enumerated in another order).
 * - A member of a bond, bridge or team (IFLA_MASTER set, the master not a
 *   VRF) cannot hold the VIP: an error naming the master.
 */
#ifndef VIPD_LINKS_H
#define VIPD_LINKS_H

#include <stdbool.h>
#include <stddef.h>

struct nl;
struct nl_link;
struct cfg_vip;
struct links;
struct links_want;

/* What a VIP is told about its link. ifindex 0 = none: then reason says
 * why ("" only before the first resolution), and error tells a waiting
 * VIP (the link may yet appear) from an unusable one (a configuration or
 * topology problem that blocks campaigning until it is fixed). */
struct vip_link {
	int ifindex;
	char name[16];            /* the kernel's name now */
	bool up;                  /* IFF_UP and carrier (netlink.h) */
	unsigned char mac[6];
	bool error;
	char reason[256];
};

/* Create the table and fill it with a dump of nl's links (a failed dump
 * is logged and retried by links_resync). create_vlans: vipd.createVlans.
 * nl must outlive the table. Never NULL. */
struct links *links_new(struct nl *nl, bool create_vlans);
/* NULL-safe. Every want must be freed first. */
void links_free(struct links *ls);

/* Events from the netlink watcher, passed on by the daemon. */
void links_link_changed(struct links *ls, const struct nl_link *link);
void links_link_removed(struct links *ls, int ifindex);
/* Events were lost: dump the table again. 0 or -errno (table kept). */
int links_resync(struct links *ls);

/* One VIP's link: cv must outlive the want. A reload makes new wants for
 * added VIPs, frees those of removed ones and rebinds those it keeps;
 * the table is kept. Never NULL. */
struct links_want *links_want_new(struct links *ls, const struct cfg_vip *cv);
/* A reload kept the VIP: cv is its cfg_vip in the new config, equal to the
 * old one (cfg_vip_equal). What the want learned (the link kept across a
 * rename, the VLAN created) stays, so the VIP does not move. */
void links_want_rebind(struct links_want *w, const struct cfg_vip *cv);
/* NULL-safe. */
void links_want_free(struct links_want *w);

/* Resolve w against the table now into *out. May create a VLAN link
 * (create_vlans; a synchronous netlink request). A new outcome (another
 * ifindex, another reason) is logged once; repeating it is silent. */
void links_resolve(struct links *ls, struct links_want *w, struct vip_link *out);

/* The number of links in the table (tests, diagnostics). */
size_t links_count(const struct links *ls);

/* The name "<parent>.<id>" that create_vlans gives a legacy VLAN, cut to
 * fit 15 bytes as described above, into buf (at least 16 bytes). Pure. */
void links_vlan_name(const char *parent, unsigned id, char buf[16]);

#endif
