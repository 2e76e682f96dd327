/*
 * linksel.h - which link does a selector mean? Pure functions over plain
 * data: the facts about one link (filled in by whoever reads netlink and
 * sysfs) against a Talos deviceSelector, plus the numbering of the links
 * a pattern alias ("net%d", LinkAliasConfig) matches.
 *
 * Nothing here touches the system, so every rule is unit-tested.
 */
#ifndef VIPD_LINKSEL_H
#define VIPD_LINKSEL_H

#include <stdbool.h>
#include <stddef.h>

struct cfg_selector;

/*
 * What is known about one link. Strings are NUL-terminated; NULL means
 * "not known / not applicable" and compares as "". MAC addresses are
 * text ("52:54:00:12:34:56"); any case, ':' or '-' separated.
 */
struct link_facts {
	const char *name;           /* kernel name, "eth0" */
	const char *kind;           /* rtnetlink kind: "vlan", "bond", "" */
	const char *type;           /* link type: "ether", "loopback", ... */
	const char *driver;         /* "virtio_net" */
	const char *hardware_addr;  /* current MAC */
	const char *permanent_addr; /* factory MAC */
	const char *bus_path;       /* "0000:00:03.0" */
	const char *pci_id;         /* "1AF4:1000" (vendor:device) */
	bool physical;              /* backed by a device (has a bus) */
};

/*
 * True if l matches every field s gives (logical AND): physical exactly;
 * hardwareAddr, permanentAddr, driver and busPath as shell globs (MAC
 * globs ignore case); pciID exactly, ignoring case. A NULL or empty
 * selector matches nothing (it would match every link).
 */
bool linksel_match(const struct cfg_selector *s, const struct link_facts *l);

/*
 * Write the MAC address in text s normalized (lower case, two digits per
 * octet, ':' between) into buf (at least LINKSEL_MAC_LEN bytes). Returns
 * buf, or NULL if s is not 1..32 octets of 1-2 hex digits separated by
 * ':' or '-' (buf then holds s lower-cased, cut to fit).
 */
#define LINKSEL_MAC_LEN 97
char *linksel_mac_norm(const char *s, char *buf);

/*
 * Talos LinkAliasConfig names. A pattern holds exactly one "%d" and no
 * other '%' (such as "net%d"); a fixed name holds no '%'. Returns 1 for
 * a pattern, 0 for a fixed name, -1 for anything else ("%s", "%d%d").
 */
int linksel_alias_is_pattern(const char *name);

/*
 * For a pattern: if name is the pattern with a decimal number (no sign,
 * no leading zero unless "0", at most 9 digits) in place of "%d", set
 * *index to it and return true. For a fixed name: true (index 0) if equal.
 */
bool linksel_alias_index(const char *alias, const char *name, unsigned *index);

/*
 * The name the index-th match of a pattern alias gets ("net%d", 2 ->
 * "net2") into buf of size len. Returns false if it does not fit.
 */
bool linksel_alias_name(const char *pattern, unsigned index, char *buf, size_t len);

/*
 * Number the n links that matched a pattern alias as Talos does: by
 * hardware address (normalized, compared as text, so octet by octet),
 * ties broken by name. order[k] receives the position in links[] of the
 * link that gets index k. links and order hold n entries.
 */
void linksel_alias_order(const struct link_facts *const *links, size_t n, size_t *order);

#endif
