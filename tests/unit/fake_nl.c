/*
 * fake_nl.c - netlink.h for unit tests (fake_nl.h). Defines every symbol
 * of netlink.h, so netlink.o is never taken from the archive.
 */
#include "fake_nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fake_loop.h"
#include "loop.h"
#include "netlink.h"
#include "xmem.h"

#define FAKE_NL_MAX 32

struct nl {
	const struct nl_watch_ops *ops;
	void *arg;
};

struct fake_addr {
	int ifindex;
	int family;
	unsigned char addr[16];
	unsigned prefixlen;
};

static struct nl_link links[FAKE_NL_MAX];
static size_t n_links;
static struct fake_addr addrs[FAKE_NL_MAX];
static size_t n_addrs;
static struct fake_nl_op *ops_rec;
static size_t n_ops, cap_ops;
static int fail_err[FAKE_NL_N_KINDS];
static int fail_lookup;
static int fail_list;
static int promote = 0;     /* promote_secondaries, every link */
static struct nl *live;
static struct fake_nl_vlan vlan_last;
static size_t n_vlan;
static int vlan_err;

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static struct nl_link *link_find(int ifindex)
{
	for (size_t i = 0; i < n_links; i++)
		if (links[i].ifindex == ifindex)
			return &links[i];
	return NULL;
}

/* prefixlen 0 = any */
static struct fake_addr *addr_find_plen(int ifindex, int family, const void *addr, unsigned prefixlen)
{
	for (size_t i = 0; i < n_addrs; i++)
		if ((ifindex == 0 || addrs[i].ifindex == ifindex) && addrs[i].family == family &&
		    (prefixlen == 0 || addrs[i].prefixlen == prefixlen) &&
		    memcmp(addrs[i].addr, addr, alen(family)) == 0)
			return &addrs[i];
	return NULL;
}

static struct fake_addr *addr_find(int ifindex, int family, const void *addr)
{
	return addr_find_plen(ifindex, family, addr, 0);
}

static void addr_remove(struct fake_addr *a)
{
	size_t i = (size_t)(a - addrs);

	memmove(&addrs[i], &addrs[i + 1], (n_addrs - i - 1) * sizeof(addrs[0]));
	n_addrs--;
}

/* ---- the test side ------------------------------------------------------- */

void fake_nl_reset(void)
{
	free(ops_rec);
	ops_rec = NULL;
	n_ops = cap_ops = 0;
	n_links = n_addrs = 0;
	memset(fail_err, 0, sizeof(fail_err));
	fail_lookup = 0;
	n_vlan = 0;
	vlan_err = 0;
	memset(&vlan_last, 0, sizeof(vlan_last));
	fail_list = 0;
	promote = 0;
}

void fake_nl_set_link(int ifindex, const char *name, bool up, const unsigned char mac[6])
{
	struct nl_link *l = link_find(ifindex);

	if (l == NULL) {
		if (n_links == FAKE_NL_MAX)
			abort();
		l = &links[n_links++];
	}
	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->up = up;
	if (mac)
		memcpy(l->mac, mac, 6);
}

void fake_nl_put_link(const struct nl_link *n)
{
	struct nl_link *l = link_find(n->ifindex);

	if (l == NULL) {
		if (n_links == FAKE_NL_MAX)
			abort();
		l = &links[n_links++];
	}
	*l = *n;
}

size_t fake_nl_vlan_count(void)
{
	return n_vlan;
}

const struct fake_nl_vlan *fake_nl_vlan_last(void)
{
	return n_vlan ? &vlan_last : NULL;
}

void fake_nl_vlan_fail(int err)
{
	vlan_err = err;
}

void fake_nl_del_link(int ifindex)
{
	struct nl_link *l = link_find(ifindex);

	if (l != NULL)
		*l = links[--n_links];
	for (size_t i = n_addrs; i > 0; i--)
		if (addrs[i - 1].ifindex == ifindex)
			addr_remove(&addrs[i - 1]);
}

void fake_nl_put_addr_plen(int ifindex, int family, const void *addr, unsigned prefixlen)
{
	/* IPv6: one copy of an address per link whatever its prefix
	 * ("address already assigned"); IPv4: one per prefix length. */
	if (addr_find_plen(ifindex, family, addr, family == AF_INET ? prefixlen : 0) != NULL)
		return;
	if (n_addrs == FAKE_NL_MAX)
		abort();
	addrs[n_addrs].ifindex = ifindex;
	addrs[n_addrs].family = family;
	memset(addrs[n_addrs].addr, 0, 16);
	memcpy(addrs[n_addrs].addr, addr, alen(family));
	addrs[n_addrs].prefixlen = prefixlen;
	n_addrs++;
}

void fake_nl_put_addr(int ifindex, int family, const void *addr)
{
	fake_nl_put_addr_plen(ifindex, family, addr, (unsigned)alen(family) * 8);
}

bool fake_nl_has_addr(int ifindex, int family, const void *addr)
{
	return addr_find(ifindex, family, addr) != NULL;
}

bool fake_nl_has_addr_plen(int ifindex, int family, const void *addr, unsigned prefixlen)
{
	return addr_find_plen(ifindex, family, addr, prefixlen) != NULL;
}

void fake_nl_fail(enum fake_nl_kind kind, int err)
{
	fail_err[kind] = err;
}

void fake_nl_fail_lookup(int err)
{
	fail_lookup = err;
}

void fake_nl_fail_list(int err)
{
	fail_list = err;
}

void fake_nl_set_promote(bool on)
{
	promote = on;
}

/* IPv4: b is a secondary of a (same link, same prefix length, inside a's
 * prefix, a listed earlier), as the kernel keeps them. */
static bool v4_in(const struct fake_addr *a, const struct fake_addr *b)
{
	unsigned plen = a->prefixlen;
	uint32_t m = plen == 0 ? 0 : 0xffffffffu << (32 - plen), x, y;

	memcpy(&x, a->addr, 4);
	memcpy(&y, b->addr, 4);
	return a->family == AF_INET && b->family == AF_INET && a->ifindex == b->ifindex &&
	    a->prefixlen == b->prefixlen && ((ntohl(x) ^ ntohl(y)) & m) == 0;
}

static bool is_secondary(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (v4_in(&addrs[j], &addrs[i]))
			return true;
	return false;
}

size_t fake_nl_count(void)
{
	return n_ops;
}

const struct fake_nl_op *fake_nl_op(size_t i)
{
	return i < n_ops ? &ops_rec[i] : NULL;
}

size_t fake_nl_count_kind(enum fake_nl_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < n_ops; i++)
		n += ops_rec[i].kind == kind;
	return n;
}

const struct fake_nl_op *fake_nl_last(void)
{
	return n_ops ? &ops_rec[n_ops - 1] : NULL;
}

void fake_nl_send_link(int ifindex)
{
	struct nl_link *l = link_find(ifindex);

	if (live && live->ops->link_changed && l) {
		struct nl_link copy = *l;
		live->ops->link_changed(live->arg, &copy);
	}
}

void fake_nl_send_link_removed(int ifindex)
{
	struct nl_link *l = link_find(ifindex);
	char name[16] = "";

	if (l)
		snprintf(name, sizeof(name), "%s", l->name);
	fake_nl_del_link(ifindex);
	if (live && live->ops->link_removed)
		live->ops->link_removed(live->arg, ifindex, name);
}

void fake_nl_send_addr_plen(int ifindex, int family, const void *addr, unsigned prefixlen,
                            bool removed)
{
	if (live && live->ops->addr_changed)
		live->ops->addr_changed(live->arg, ifindex, family, addr, prefixlen, removed);
}

void fake_nl_send_addr(int ifindex, int family, const void *addr, bool removed)
{
	fake_nl_send_addr_plen(ifindex, family, addr, (unsigned)alen(family) * 8, removed);
}

void fake_nl_send_resync(void)
{
	if (live && live->ops->resync)
		live->ops->resync(live->arg);
}

/* ---- netlink.h ------------------------------------------------------------- */

struct nl *nl_open(struct loop *loop, const struct nl_watch_ops *ops, void *arg)
{
	static const struct nl_watch_ops none;
	struct nl *nl = xcalloc(1, sizeof(*nl));

	(void)loop;
	nl->ops = ops ? ops : &none;
	nl->arg = arg;
	if (ops)
		live = nl;
	return nl;
}

void nl_close(struct nl *nl)
{
	if (nl == NULL)
		return;
	if (live == nl)
		live = NULL;
	free(nl);
}

int nl_watch_fd(const struct nl *nl)
{
	(void)nl;
	return -1;
}

int nl_link_by_name(struct nl *nl, const char *name, struct nl_link *out)
{
	(void)nl;
	if (name == NULL || name[0] == '\0' || strlen(name) > 15)
		return -EINVAL;
	if (fail_lookup)
		return fail_lookup;
	for (size_t i = 0; i < n_links; i++) {
		bool alt = false;

		for (unsigned k = 0; k < links[i].n_altnames; k++)
			alt |= strcmp(links[i].altnames[k], name) == 0;
		if (alt || strcmp(links[i].name, name) == 0) {
			*out = links[i];
			return 0;
		}
	}
	return -ENODEV;
}

int nl_link_by_index(struct nl *nl, int ifindex, struct nl_link *out)
{
	struct nl_link *l;

	(void)nl;
	if (ifindex <= 0)
		return -EINVAL;
	if (fail_lookup)
		return fail_lookup;
	l = link_find(ifindex);
	if (l == NULL)
		return -ENODEV;
	*out = *l;
	return 0;
}

int nl_link_foreach(struct nl *nl, void (*cb)(void *arg, const struct nl_link *link), void *arg)
{
	struct nl_link copy[FAKE_NL_MAX];
	size_t n = n_links;

	(void)nl;
	if (fail_lookup)
		return fail_lookup;
	memcpy(copy, links, n * sizeof(copy[0]));
	for (size_t i = 0; i < n; i++)
		cb(arg, &copy[i]);
	return 0;
}

int nl_vlan_create(struct nl *nl, int parent, const char *name, unsigned id, bool ad)
{
	struct nl_link l = { .ifindex = 100, .up = true, .parent = parent, .vlan_id = id,
	    .vlan_proto = ad ? 0x88a8 : 0x8100 };
	const struct nl_link *p = link_find(parent);

	(void)nl;
	n_vlan++;
	memset(&vlan_last, 0, sizeof(vlan_last));
	vlan_last.parent = parent;
	snprintf(vlan_last.name, sizeof(vlan_last.name), "%s", name);
	vlan_last.id = id;
	vlan_last.ad = ad;
	if (vlan_err)
		return vlan_err;
	if (p == NULL)
		return -ENODEV;
	for (size_t i = 0; i < n_links; i++)
		if (strcmp(links[i].name, name) == 0)
			return -EEXIST;
	while (link_find(l.ifindex) != NULL)
		l.ifindex++;
	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.kind, sizeof(l.kind), "vlan");
	memcpy(l.mac, p->mac, sizeof(l.mac));
	fake_nl_put_link(&l);
	vlan_last.ifindex = l.ifindex;
	return 0;
}

static struct fake_nl_op *rec(enum fake_nl_kind kind, int ifindex, int family, const void *addr)
{
	struct fake_nl_op *o;

	if (n_ops == cap_ops) {
		cap_ops = cap_ops ? cap_ops * 2 : 32;
		ops_rec = xrealloc(ops_rec, cap_ops * sizeof(*ops_rec));
	}
	o = &ops_rec[n_ops++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->ifindex = ifindex;
	o->family = family;
	memcpy(o->addr, addr, alen(family));
	o->prefixlen = (unsigned)alen(family) * 8;
	o->at_ms = loop_now_ms();
	o->seq = fake_seq_next();
	return o;
}

int nl_addr_add(struct nl *nl, int ifindex, int family, const void *addr,
                uint32_t valid_s, uint32_t preferred_s, bool replace)
{
	struct fake_nl_op *o = rec(replace ? FAKE_NL_REPLACE : FAKE_NL_ADD, ifindex, family, addr);

	(void)nl;
	o->valid_s = valid_s;
	o->preferred_s = preferred_s;
	if (fail_err[o->kind])
		o->result = fail_err[o->kind];
	else if (link_find(ifindex) == NULL)
		o->result = -ENODEV;
	else if (valid_s == 0 || preferred_s > valid_s)
		o->result = -EINVAL; /* as the kernel answers */
	else if (!replace && addr_find_plen(ifindex, family, addr, o->prefixlen) != NULL)
		o->result = -EEXIST;
	else if (family == AF_INET6 && addr_find(ifindex, family, addr) != NULL &&
	    addr_find_plen(ifindex, family, addr, o->prefixlen) == NULL)
		o->result = -EEXIST; /* IPv6: another prefix length already there */
	else
		fake_nl_put_addr(ifindex, family, addr);
	return o->result;
}

int nl_addr_del(struct nl *nl, int ifindex, int family, const void *addr, unsigned prefixlen)
{
	struct fake_nl_op *o = rec(FAKE_NL_DEL, ifindex, family, addr);
	struct fake_addr *a;

	(void)nl;
	o->prefixlen = prefixlen;
	if (prefixlen == 0 || prefixlen > alen(family) * 8)
		o->result = -EINVAL;
	else if (fail_err[FAKE_NL_DEL])
		o->result = fail_err[FAKE_NL_DEL];
	else if (link_find(ifindex) == NULL)
		o->result = -ENODEV;
	else if ((a = addr_find_plen(ifindex, family, addr, prefixlen)) == NULL)
		o->result = -EADDRNOTAVAIL; /* also another prefix length: as the kernel */
	else if (family == AF_INET && !promote && !is_secondary((size_t)(a - addrs))) {
		/* A primary takes its secondaries along (measured). */
		struct fake_addr p = *a;

		for (size_t i = n_addrs; i > 0; i--)
			if (v4_in(&p, &addrs[i - 1]))
				addr_remove(&addrs[i - 1]);
	} else {
		addr_remove(a);
	}
	return o->result;
}

int nl_addr_list(struct nl *nl, int ifindex, int family, const void *addr,
                 struct nl_addr *out, size_t max)
{
	size_t n = 0;

	(void)nl;
	if (ifindex < 0)
		return -EINVAL;
	if (fail_list)
		return fail_list;
	if (ifindex != 0 && link_find(ifindex) == NULL)
		return -ENODEV;
	for (size_t i = 0; i < n_addrs; i++) {
		const struct fake_addr *a = &addrs[i];

		if (a->family != family || (ifindex != 0 && a->ifindex != ifindex) ||
		    (addr != NULL && memcmp(a->addr, addr, alen(family)) != 0))
			continue;
		if (n < max && out != NULL) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].ifindex = a->ifindex;
			out[n].family = a->family;
			memcpy(out[n].addr, a->addr, 16);
			out[n].prefixlen = a->prefixlen;
			out[n].secondary = is_secondary(i);
		}
		n++;
	}
	return (int)n;
}

int nl_promote_secondaries(struct nl *nl, int ifindex)
{
	(void)nl;
	if (link_find(ifindex) == NULL)
		return -ENODEV;
	return promote;
}

int nl_addr_present(struct nl *nl, int ifindex, int family, const void *addr, int *ifindex_out)
{
	struct fake_addr *a;

	(void)nl;
	if (ifindex != 0 && link_find(ifindex) == NULL)
		return -ENODEV;
	a = addr_find(ifindex, family, addr);
	if (a == NULL)
		return 0;
	if (ifindex_out)
		*ifindex_out = a->ifindex;
	return 1;
}
