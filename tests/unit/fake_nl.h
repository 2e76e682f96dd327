/*
 * fake_nl.h - the test side of fake_nl.c, a netlink.h that records every
 * address change and keeps a tiny model of the kernel's links and
 * addresses.
 *
 * Linked before libvipd.a in place of netlink.o (it defines every symbol
 * of netlink.h). nl_addr_add/nl_addr_del are recorded in order with the
 * family, address, link, lifetimes, virtual time and global sequence
 * number, and applied to the model (so nl_addr_present answers from it);
 * a failure injected with fake_nl_fail() is recorded too and leaves the
 * model unchanged. Events reach the nl_watch_ops given to nl_open() only
 * when the test sends them (fake_nl_send_*), as the monitor socket would.
 */
#ifndef VIPD_FAKE_NL_H
#define VIPD_FAKE_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_link;

enum fake_nl_kind {
	FAKE_NL_ADD,      /* nl_addr_add(replace=false) */
	FAKE_NL_REPLACE,  /* nl_addr_add(replace=true) */
	FAKE_NL_DEL,      /* nl_addr_del */
	FAKE_NL_N_KINDS
};

struct fake_nl_op {
	enum fake_nl_kind kind;
	int ifindex;
	int family;
	unsigned char addr[16];
	uint32_t valid_s, preferred_s;  /* add/replace only */
	uint64_t at_ms;                 /* loop_now_ms() */
	uint64_t seq;                   /* fake_seq_next() */
	unsigned prefixlen;             /* bits: the host prefix for add/replace */
	int result;                     /* what the call returned */
};

/* Forget links, addresses, records and injected failures. */
void fake_nl_reset(void);

/* Put a link into the model (or change it); no event is sent. */
void fake_nl_set_link(int ifindex, const char *name, bool up, const unsigned char mac[6]);
/* Put a link with every field given (kind, parent, VLAN, master,
 * altnames, ...) into the model (or replace it); no event is sent. */
void fake_nl_put_link(const struct nl_link *l);
/* nl_vlan_create: the calls so far (the newest's arguments), and the
 * error the next calls return (0 = create the link in the model, up,
 * with the next free ifindex from 100; no event is sent). */
struct fake_nl_vlan {
	int parent;
	char name[16];
	unsigned id;
	bool ad;
	int ifindex;        /* the link created, 0 if it failed */
};
size_t fake_nl_vlan_count(void);
const struct fake_nl_vlan *fake_nl_vlan_last(void);
void fake_nl_vlan_fail(int err);
/* Remove a link and every address on it; no event is sent. */
void fake_nl_del_link(int ifindex);
/* Put a host address (/32, /128) into the model without recording an
 * operation (a copy left by an earlier run, or added by an operator). */
void fake_nl_put_addr(int ifindex, int family, const void *addr);
/* The same with any prefix length (a "VIP/24" left by keepalived, or the
 * node's own 198.18.0.11/24). IPv4 keeps one copy per (link, prefix
 * length), IPv6 one per link, as the kernel does. */
void fake_nl_put_addr_plen(int ifindex, int family, const void *addr, unsigned prefixlen);
/* Is the address (any prefix length) on ifindex in the model? */
bool fake_nl_has_addr(int ifindex, int family, const void *addr);
/* Is the address with exactly this prefix length on ifindex? */
bool fake_nl_has_addr_plen(int ifindex, int family, const void *addr, unsigned prefixlen);

/* From now on every operation of kind fails with err (< 0) without
 * touching the model; err 0 makes them succeed again. */
void fake_nl_fail(enum fake_nl_kind kind, int err);
/* Lookups of links (by name, index, foreach) fail with err; 0 = succeed. */
void fake_nl_fail_lookup(int err);
/* Address listings (nl_addr_list) fail with err; 0 = succeed. */
void fake_nl_fail_list(int err);
/* promote_secondaries for every link (default off, as the kernel). Off,
 * deleting an IPv4 primary deletes its secondaries (same link, prefix
 * length and subnet, added later) too, as the kernel does; listings mark
 * secondaries. */
void fake_nl_set_promote(bool on);

/* The operations recorded so far, in order. */
size_t fake_nl_count(void);
const struct fake_nl_op *fake_nl_op(size_t i);
/* The number of recorded operations of kind (successful or not). */
size_t fake_nl_count_kind(enum fake_nl_kind kind);
/* The newest recorded operation, or NULL. */
const struct fake_nl_op *fake_nl_last(void);

/* Events, as the monitor socket delivers them to nl_open()'s ops. */
void fake_nl_send_link(int ifindex);            /* link_changed, model state */
void fake_nl_send_link_removed(int ifindex);    /* link_removed, then gone */
void fake_nl_send_addr(int ifindex, int family, const void *addr, bool removed); /* host prefix */
void fake_nl_send_addr_plen(int ifindex, int family, const void *addr, unsigned prefixlen,
                            bool removed);
void fake_nl_send_resync(void);

#endif
