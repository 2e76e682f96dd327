/*
 * linkfacts.h - what sysfs (and the caller's netlink view) says about one
 * link, as the struct link_facts the selector matcher reads (linksel.h),
 * and which links a VIP's deviceSelector or LinkAliasConfig alias chooses.
 *
 * Reading follows Talos (nethelpers.GetDeviceInfo, LinkStatusController):
 * <root>/class/net/<name>/device/uevent gives DRIVER, PCI_ID and
 * PCI_SLOT_NAME; what it lacks comes from the device's sysfs links and
 * files, and on the real /sys from ethtool. docs/configuration.md
 * ("How vipd reads link facts") lists every field's source.
 *
 * The sysfs root is $VIPD_SYSFS when set (tests only: a fixture tree
 * stands in for hardware), else /sys. No global state; every file read is
 * bounded (LINKFACTS_FILE_MAX bytes), and a missing, odd or oversized file
 * (a symlink loop, a fifo, a directory, a file larger than the bound) only
 * leaves its field unknown.
 */
#ifndef VIPD_LINKFACTS_H
#define VIPD_LINKFACTS_H

#include <stddef.h>

#include "linksel.h"           /* struct link_facts */

struct cfg_vip;

/* The most bytes read from one sysfs file (a sysfs attribute is at most a
 * page); a file with more is treated as missing. */
#define LINKFACTS_FILE_MAX 4096

/*
 * What sysfs (and the caller's netlink view) says about one link, with
 * the strings the struct link_facts points into. Copying the struct
 * leaves f pointing into the original: use linkfacts_copy().
 */
struct linkfacts {
	struct link_facts f;       /* pointers into the buffers below, or NULL */
	char name[16];
	char kind[32];             /* rtnetlink IFLA_INFO_KIND, "" for a plain NIC */
	char type[16];             /* "ether", "loopback", ... from sysfs type (ARPHRD_*) */
	char driver[64];           /* uevent DRIVER, else basename of .../device/driver */
	char hardware_addr[LINKSEL_MAC_LEN];
	char permanent_addr[LINKSEL_MAC_LEN];
	char bus_path[128];        /* as Talos: uevent PCI_SLOT_NAME, "0000:00:03.0" */
	char pci_id[16];           /* "1AF4:1000": uevent PCI_ID, else device/vendor, device/device */
};

/* The sysfs root: $VIPD_SYSFS if set and non-empty (tests only), else "/sys".
 * The string is the environment's or a literal: do not free it. */
const char *linkfacts_root(void);

/*
 * Fill *out for the link called name (1..15 bytes) from <root>/class/net/<name>/
 * plus the netlink facts given: kind ("" or NULL if none), the current MAC
 * (mac, mac_len bytes; 0 = none) and the permanent MAC (IFLA_PERM_ADDRESS,
 * or from ethtool ETHTOOL_GPERMADDR when netlink has none and root is "/sys";
 * perm_len 0 = unknown). A missing sysfs file leaves that field NULL
 * ("not known"); physical = the device link exists (and leads to a
 * directory) and the type is "ether": Talos's "type ether and no kind"
 * for real NICs, and what lets a fixture tree make a veth stand in for
 * one. Returns 0, or -errno only when <root>/class/net/<name> itself cannot
 * be read (-ENOENT), or -EINVAL for a name that is not a link name.
 * MACs longer than 32 bytes are cut to 32. Blocking: a few small file
 * reads, and on the real /sys up to two ethtool ioctls.
 */
int linkfacts_read(const char *root, const char *name, const char *kind,
                   const unsigned char *mac, size_t mac_len,
                   const unsigned char *perm, size_t perm_len,
                   struct linkfacts *out);

/* *dst = *src with dst->f pointing into dst's own buffers. */
void linkfacts_copy(struct linkfacts *dst, const struct linkfacts *src);

/*
 * Which of the n links (facts[]) does cv's selector or alias choose?
 * - cv->selector (legacy deviceSelector): every link linksel_match() accepts.
 * - cv->alias, fixed name: every link whose facts satisfy alias->match (cel.h).
 * - cv->alias, pattern ("net%d"): the matches numbered by linksel_alias_order();
 *   the one numbered cv->alias_index, if any (at most one).
 * - neither: none (named links are not resolved here).
 * As Talos (LinkAliasConfigController), an alias only considers physical
 * links (f.physical), and numbers a pattern's matches by permanent address
 * where known, else hardware address. Links another alias already named
 * are not skipped here (that needs every alias: the caller's part).
 * Writes up to max indices into facts[] to match[] (ascending order of
 * facts[] for selector/fixed alias) and returns the number of matches
 * found (may exceed max). Pure: no system access.
 */
size_t linkfacts_select(const struct cfg_vip *cv, const struct linkfacts *facts, size_t n,
                        size_t *match, size_t max);

#endif
