/*
 * netlink.h - rtnetlink (libmnl): look links up, add/replace/delete the
 * VIP as a host address with kernel lifetimes, and watch links and
 * addresses change.
 *
 * Two sockets: requests are synchronous on one (sequence number and port
 * id checked on every reply, kernel extended-ACK text logged); events
 * arrive on the other through the event loop.
 */
#ifndef VIPD_NETLINK_H
#define VIPD_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct nl;

/* Link state as the watcher reports it. up = IFF_UP and carrier
 * (IFF_LOWER_UP: the kernel sets it only while the device is running and
 * has carrier, so it drops with a veth peer's or a VLAN's lower link). */
struct nl_link {
	int ifindex;
	char name[16];
	bool up;
	unsigned char mac[6]; /* hardware address (Ethernet), zeros if none */
	/* What the links module (links.h) resolves VIPs with: */
	char kind[16];        /* IFLA_INFO_KIND ("vlan", "bond", "bridge",
	                       * "veth"), "" for a plain NIC */
	int parent;           /* IFLA_LINK: the lower link (a VLAN's parent,
	                       * a veth's peer), 0 = none or the link itself */
	unsigned vlan_id;     /* IFLA_VLAN_ID, kind "vlan" only; else 0 */
	uint16_t vlan_proto;  /* IFLA_VLAN_PROTOCOL in host order (0x8100
	                       * 802.1Q, 0x88a8 802.1ad), kind "vlan" only */
	int master;           /* IFLA_MASTER: the bond/bridge/VRF it is
	                       * enslaved to, 0 = none */
	bool has_perm_mac;
	unsigned char perm_mac[6]; /* IFLA_PERM_ADDRESS (kernels >= 5.6) */
	/* Alternative names (IFLA_PROP_LIST/IFLA_ALT_IFNAME, kernels >= 5.5):
	 * the first NL_LINK_ALTNAMES, each up to 127 bytes (the kernel's
	 * ALTIFNAMSIZ is 128 with the NUL); more are not kept (n_altnames
	 * counts only those kept). */
#define NL_LINK_ALTNAMES 4
	char altnames[NL_LINK_ALTNAMES][128];
	unsigned n_altnames;
};

/* Callbacks run on the loop's thread, from the monitor socket's handler
 * only - never from within a request (nl_addr_*, nl_link_by_*). They may
 * make requests on the same struct nl (a separate socket), and may call
 * nl_close() on it: no further callback runs after that. Any member may
 * be NULL. */
struct nl_watch_ops {
	/* A link appeared or changed (name, flags, mac); always full state. */
	void (*link_changed)(void *arg, const struct nl_link *link);
	/* A link was deleted (or moved to another network namespace). */
	void (*link_removed)(void *arg, int ifindex, const char *name);
	/* An address was added or updated (removed=false; also sent when a
	 * replace refreshes lifetimes) or deleted (removed=true; also when the
	 * kernel expires it) on ifindex. family AF_INET/AF_INET6, addr 4 or
	 * 16 bytes network order (the local address, not a peer), prefixlen
	 * its prefix length in bits (ifa_prefixlen: 32/128 for a host address,
	 * 24 for one installed as "VIP/24" by keepalived or Pacemaker). Events
	 * for other families are not reported. */
	void (*addr_changed)(void *arg, int ifindex, int family, const void *addr,
	                     unsigned prefixlen, bool removed);
	/* The monitor socket overflowed (ENOBUFS): events were lost; the caller
	 * must re-check everything it cares about (nl_link_by_index /
	 * nl_addr_present).
	 * Called once after the queued events have been delivered. */
	void (*resync)(void *arg);
};

/* Open two rtnetlink sockets: one for synchronous requests (each request
 * gets a sequence number; replies/acks are matched on seq and portid;
 * NLM_F_ACK, NETLINK_EXT_ACK and NETLINK_CAP_ACK turned on so kernel error
 * text is logged), and, when ops != NULL, one subscribed to RTNLGRP_LINK,
 * RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR, non-blocking with a 1 MiB
 * receive buffer, registered with loop (loop_fd_add). loop may be NULL
 * when ops is NULL. ops and arg must outlive the handle. Returns NULL with
 * errno set. */
struct nl *nl_open(struct loop *loop, const struct nl_watch_ops *ops, void *arg);
/* NULL-safe; removes its fd from the loop. Safe inside a watch callback. */
void nl_close(struct nl *nl);

/* The monitor socket's fd, -1 without one. For tests and diagnostics only:
 * reading from it steals events. */
int nl_watch_fd(const struct nl *nl);

/* Look a link up by name or index into *out. 0, -ENODEV (no such link),
 * -EINVAL (name empty or longer than 15 bytes, ifindex <= 0), or -errno. */
int nl_link_by_name(struct nl *nl, const char *name, struct nl_link *out);
int nl_link_by_index(struct nl *nl, int ifindex, struct nl_link *out);
/* Enumerate all links: calls cb for each (after the dump has been read,
 * so cb may make requests on nl); 0 or -errno. */
int nl_link_foreach(struct nl *nl, void (*cb)(void *arg, const struct nl_link *link), void *arg);

/* Create a VLAN link called name (1..15 bytes) on parent (ifindex) with
 * VLAN id (1..4094) and protocol 802.1Q (ad=false) or 802.1ad (ad=true),
 * and bring it up in the same request (IFF_UP; `ip link add ... up`).
 * NLM_F_CREATE|NLM_F_EXCL: -EEXIST when a link of that name exists (the
 * kernel also refuses a second VLAN of one id and protocol on a parent).
 * Returns 0 or -errno; failures are logged with the kernel's extended-ACK
 * text. The new link is reported by the watcher like any other. */
int nl_vlan_create(struct nl *nl, int parent, const char *name, unsigned id, bool ad);

/* Add (replace=false: NLM_F_CREATE|NLM_F_EXCL; -EEXIST if present) or
 * add-or-replace (replace=true: NLM_F_CREATE|NLM_F_REPLACE, used to refresh
 * lifetimes) the address as a host prefix (/32 IPv4, /128 IPv6), scope
 * global, on ifindex. IPv6 gets IFA_F_NODAD (usable at once, no DAD
 * delay) via IFA_FLAGS. valid_s and preferred_s are the kernel lifetimes
 * in seconds (IFA_CACHEINFO; UINT32_MAX = forever); the kernel rejects
 * valid_s == 0 and preferred_s > valid_s with -EINVAL. IPv4 also sets
 * IFA_LOCAL and IFA_ADDRESS (and no broadcast). The kernel counts the
 * lifetime from when it handles the request and removes the address late
 * by a fraction of a second (measured on 6.18: 0.02-0.47 s; its check is
 * deferrable work rescheduled at least 1 s apart, so budget a second) or
 * up to 20 ms early (ADDRCONF_TIMER_FUZZ_MINUS). Returns 0 or -errno;
 * a failure other than -EEXIST is logged with log_warnx (operation,
 * address, link, and the kernel's extended-ACK message if any). */
int nl_addr_add(struct nl *nl, int ifindex, int family, const void *addr,
                uint32_t valid_s, uint32_t preferred_s, bool replace);
/* Delete the address with prefix length prefixlen (bits; 1..32 IPv4,
 * 1..128 IPv6, else -EINVAL) from ifindex. The kernel deletes only a copy
 * whose prefix length matches (measured on 6.18: deleting "VIP/32" leaves
 * "VIP/24" in place, IPv4 and IPv6 alike), so pass the length the copy
 * has (struct nl_addr, or the watch event's prefixlen). Returns 0;
 * -EADDRNOTAVAIL when no such copy is on ifindex (both families; not
 * logged); -ENODEV when the link is gone; or -errno (logged like add). */
int nl_addr_del(struct nl *nl, int ifindex, int family, const void *addr, unsigned prefixlen);

/* One address as the kernel lists it. */
struct nl_addr {
	int ifindex;
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];  /* the local address, network order, 4 or 16 bytes */
	unsigned prefixlen;      /* bits */
	bool secondary;          /* IPv4 IFA_F_SECONDARY: another address of the
	                          * same subnet and prefix length on the link is
	                          * its primary */
};

/* List the addresses of family on ifindex (0 = every link); with addr not
 * NULL only the copies of that address (any prefix length, any link: IPv4
 * allows one per prefix length on a link - "VIP/32" and "VIP/24" side by
 * side, measured on 6.18 - IPv6 one per link). Stores up to max of them
 * in out (caller's array; may be NULL when max is 0), in the kernel's
 * order, and returns how many there are - more than max when they did not
 * fit - or -ENODEV if there is no link ifindex (kernels >= 4.20; older
 * ones answer 0), or -errno on failure. A dump the kernel interrupts is
 * retried (3 times). Needs no privilege. */
int nl_addr_list(struct nl *nl, int ifindex, int family, const void *addr,
                 struct nl_addr *out, size_t max);
/* Whether the kernel promotes a secondary IPv4 address when the primary
 * of its subnet is deleted (net.ipv4.conf.<link>.promote_secondaries, read
 * and net.ipv4.conf.all.promote_secondaries, read from /proc/sys: either
 * on is on, as in the kernel's IN_DEV_ORCONF). With both off - the
 * kernel's default - deleting a primary address deletes every secondary of
 * its subnet with it (measured on 6.18: deleting a leftover "VIP/24" added
 * before the node's 198.18.0.12/24 took the node's address too). 1 on, 0
 * off, or -errno (no such link, /proc/sys not readable). */
int nl_promote_secondaries(struct nl *nl, int ifindex);
/* 1 if the address (any prefix length) is on ifindex (ifindex 0 = on any
 * link), 0 if not, -ENODEV if there is no link ifindex (kernels >= 4.20;
 * older ones answer 0), -errno on failure. If ifindex_out is not NULL and
 * found, store the link it is on (the first, if on several). */
int nl_addr_present(struct nl *nl, int ifindex, int family, const void *addr, int *ifindex_out);

#endif
