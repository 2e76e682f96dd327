/*
 * test_links.c - the link table and each VIP's resolution (links.h) on the
 * fake netlink: VLANs found by parent and id whatever they are called,
 * renames, altnames, bond and bridge members, several matches, and
 * vipd.createVlans's naming.
 *
 * The sysfs root (linkfacts.h) is a temporary directory with an empty
 * class/net/<name> per link, so selectors see only the netlink facts
 * (name, kind, MAC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fake_nl.h"
#include "links.h"
#include "netlink.h"
#include "testkit.h"

static char sysfs[64];

static const char head[] =
	"vipd:\n"
	"  node: node-a\n"
	"  etcd:\n"
	"    endpoints: [\"http://127.0.0.1:2379\"]\n";

struct t {
	struct cfg *cfg;
	struct nl *nl;
	struct links *ls;
	struct links_want *w[4];
};

/* A link in the model, with a sysfs directory for it. */
static struct nl_link *mk(struct nl_link *l, int ifindex, const char *name, const char *kind,
                          unsigned char mac_last)
{
	char path[256];

	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->kind, sizeof(l->kind), "%s", kind);
	l->up = true;
	if (mac_last != 0) { /* 0: no MAC (loopback) */
		l->mac[0] = 0x02;
		l->mac[5] = mac_last;
	}
	snprintf(path, sizeof(path), "%s/class/net/%s", sysfs, name);
	(void)mkdir(path, 0755);
	return l;
}

static void put(int ifindex, const char *name, const char *kind, unsigned char mac_last)
{
	struct nl_link l;

	fake_nl_put_link(mk(&l, ifindex, name, kind, mac_last));
}

static void put_vlan(int ifindex, const char *name, int parent, unsigned id, uint16_t proto)
{
	struct nl_link l;

	mk(&l, ifindex, name, "vlan", (unsigned char)ifindex);
	l.parent = parent;
	l.vlan_id = id;
	l.vlan_proto = proto;
	fake_nl_put_link(&l);
}

/* Load yaml (after the vipd: head), open the table, one want per VIP. */
static void start(struct t *t, const char *body, bool create)
{
	char *y;

	if (asprintf(&y, "%s%s", head, body) < 0)
		abort();
	t->cfg = testkit_cfg(y, strlen(y));
	free(y);
	t->nl = nl_open(NULL, NULL, NULL);
	t->ls = links_new(t->nl, create);
	for (size_t i = 0; i < t->cfg->n_vips && i < 4; i++)
		t->w[i] = links_want_new(t->ls, &t->cfg->vips[i]);
}

static struct vip_link res(struct t *t, size_t i)
{
	struct vip_link l;

	links_resolve(t->ls, t->w[i], &l);
	return l;
}

/* The fake's model changed: tell the table, as the daemon does. */
static void changed(struct t *t, int ifindex)
{
	struct nl_link l;

	assert_int_equal(nl_link_by_index(t->nl, ifindex, &l), 0);
	links_link_changed(t->ls, &l);
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	char path[128];

	testkit_start("test_links");
	fake_nl_reset();
	snprintf(sysfs, sizeof(sysfs), "/tmp/test_links.XXXXXX");
	assert_non_null(mkdtemp(sysfs));
	snprintf(path, sizeof(path), "%s/class", sysfs);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/class/net", sysfs);
	assert_int_equal(mkdir(path, 0755), 0);
	setenv("VIPD_SYSFS", sysfs, 1);
	put(1, "lo", "", 0);
	put(2, "eth0", "veth", 2);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	char cmd[128];

	for (size_t i = 0; i < 4; i++)
		links_want_free(t->w[i]);
	links_free(t->ls);
	nl_close(t->nl);
	cfg_free(t->cfg);
	free(t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sysfs);
	assert_int_equal(system(cmd), 0);
	unsetenv("VIPD_SYSFS");
	return 0;
}

static const char legacy_vlan[] =
	"machine:\n"
	"  network:\n"
	"    interfaces:\n"
	"      - interface: eth0\n"
	"        vlans:\n"
	"          - vlanId: 100\n"
	"            vip:\n"
	"              ip: 198.18.100.10\n";

/* The VLAN is found by parent and id, not by "eth0.100"; a VLAN of
 * another id, another parent or the 802.1ad protocol is not it. */
static void test_vlan_by_parent_and_id_any_name(void **state)
{
	struct t *t = *state;
	struct vip_link l;

	put(3, "eth1", "veth", 3);
	put_vlan(10, "eth0.100x", 3, 100, 0x8100);     /* other parent */
	put_vlan(11, "v101", 2, 101, 0x8100);          /* other id */
	put_vlan(12, "qinq100", 2, 100, 0x88a8);       /* 802.1ad */
	put_vlan(13, "vlan100", 2, 100, 0x8100);
	start(t, legacy_vlan, false);
	l = res(t, 0);
	assert_int_equal(l.ifindex, 13);
	assert_string_equal(l.name, "vlan100");
	assert_true(l.up);
	assert_false(l.error);
}

static void test_vlan_missing_waits_then_appears(void **state)
{
	struct t *t = *state;
	struct vip_link l;

	start(t, legacy_vlan, false);
	l = res(t, 0);
	assert_int_equal(l.ifindex, 0);
	assert_false(l.error);
	assert_non_null(strstr(l.reason, "VLAN 100"));
	assert_int_equal(fake_nl_vlan_count(), 0); /* createVlans off */
	put_vlan(20, "anything", 2, 100, 0);
	changed(t, 20);
	assert_int_equal(res(t, 0).ifindex, 20);
	links_link_removed(t->ls, 20);
	assert_int_equal(res(t, 0).ifindex, 0);
}

/* A rename keeps the want on the same ifindex (the VIP keeps its
 * address); a new link taking the configured name wins it back. */
static void test_rename_keeps_link(void **state)
{
	struct t *t = *state;
	struct nl_link l;
	struct vip_link v;

	start(t, "machine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	    "        vip:\n          ip: 198.18.0.10\n", false);
	assert_int_equal(res(t, 0).ifindex, 2);
	fake_nl_put_link(mk(&l, 2, "wan0", "veth", 2));
	changed(t, 2);
	v = res(t, 0);
	assert_int_equal(v.ifindex, 2);
	assert_string_equal(v.name, "wan0");
	put(7, "eth0", "veth", 7);
	changed(t, 7);
	assert_int_equal(res(t, 0).ifindex, 7);
}

/* A name also matches an alternative name. */
static void test_altname(void **state)
{
	struct t *t = *state;
	struct nl_link l;
	struct vip_link v;

	mk(&l, 5, "enp1s0", "", 5);
	snprintf(l.altnames[0], sizeof(l.altnames[0]), "enx020000000005");
	snprintf(l.altnames[1], sizeof(l.altnames[1]), "mgmt");
	l.n_altnames = 2;
	fake_nl_put_link(&l);
	start(t, "machine:\n  network:\n    interfaces:\n      - interface: mgmt\n"
	    "        vip:\n          ip: 198.18.0.11\n", false);
	v = res(t, 0);
	assert_int_equal(v.ifindex, 5);
	assert_string_equal(v.name, "enp1s0");
}

/* A bond or bridge member is an error naming the master; a VRF member is
 * fine. */
static void test_bond_member_refused(void **state)
{
	struct t *t = *state;
	struct nl_link l;
	struct vip_link v;

	put(10, "bond0", "bond", 10);
	fake_nl_put_link(mk(&l, 2, "eth0", "veth", 2));
	l.master = 10;
	fake_nl_put_link(&l);
	start(t, "machine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	    "        vip:\n          ip: 198.18.0.12\n", false);
	v = res(t, 0);
	assert_int_equal(v.ifindex, 0);
	assert_true(v.error);
	assert_non_null(strstr(v.reason, "bond0"));
	assert_non_null(strstr(v.reason, "bond"));
	/* Enslaved to a VRF instead: usable. */
	put(10, "vrf-blue", "vrf", 10);
	changed(t, 10);
	v = res(t, 0);
	assert_int_equal(v.ifindex, 2);
	assert_false(v.error);
	/* A bridge port. */
	put(10, "br0", "bridge", 10);
	changed(t, 10);
	v = res(t, 0);
	assert_true(v.error);
	assert_non_null(strstr(v.reason, "br0"));
}

/* Several links match a deviceSelector: an error naming each, until
 * exactly one matches. */
static void test_several_matches_is_an_error(void **state)
{
	struct t *t = *state;
	struct vip_link v;

	put(3, "eth1", "veth", 3);
	put(4, "eth2", "veth", 0x33);
	start(t, "machine:\n  network:\n    interfaces:\n      - deviceSelector:\n"
	    "          hardwareAddr: \"02:00:00:00:00:0?\"\n"
	    "        vip:\n          ip: 198.18.0.13\n", false);
	v = res(t, 0);
	assert_int_equal(v.ifindex, 0);
	assert_true(v.error);
	assert_non_null(strstr(v.reason, "eth0"));
	assert_non_null(strstr(v.reason, "eth1"));
	assert_null(strstr(v.reason, "eth2"));
	links_link_removed(t->ls, 3);
	v = res(t, 0);
	assert_int_equal(v.ifindex, 2);
	assert_false(v.error);
	/* None: waiting, not an error. */
	links_link_removed(t->ls, 2);
	v = res(t, 0);
	assert_int_equal(v.ifindex, 0);
	assert_false(v.error);
}

static void test_vlan_name_rule(void **state)
{
	char b[16];

	(void)state;
	links_vlan_name("eth0", 100, b);
	assert_string_equal(b, "eth0.100");
	links_vlan_name("abcdefghij", 4094, b);
	assert_string_equal(b, "abcdefghij.4094");
	links_vlan_name("enp0s20f0u1u2", 4094, b);
	assert_string_equal(b, "enp0s20f0u.4094");
	links_vlan_name("enp0s20f0u1u2", 7, b);
	assert_string_equal(b, "enp0s20f0u1u2.7");
	links_vlan_name("abcdefghijklmn", 7, b);
	assert_string_equal(b, "abcdefghijklm.7");
	assert_true(strlen(b) <= 15);
}

/* createVlans: the missing VLAN is created once, as <parent>.<id>, and
 * used; a failure is not retried on every event. */
static void test_create_vlans(void **state)
{
	struct t *t = *state;
	struct vip_link v;

	start(t, legacy_vlan, true);
	v = res(t, 0);
	assert_int_equal(fake_nl_vlan_count(), 1);
	assert_string_equal(fake_nl_vlan_last()->name, "eth0.100");
	assert_int_equal(fake_nl_vlan_last()->parent, 2);
	assert_int_equal(fake_nl_vlan_last()->id, 100);
	assert_false(fake_nl_vlan_last()->ad);
	assert_int_not_equal(v.ifindex, 0);
	assert_int_equal(v.ifindex, fake_nl_vlan_last()->ifindex);
	assert_string_equal(v.name, "eth0.100");
	(void)res(t, 0);
	assert_int_equal(fake_nl_vlan_count(), 1);
}

static void test_create_vlans_failure_once(void **state)
{
	struct t *t = *state;
	struct vip_link v;

	fake_nl_vlan_fail(-EPERM);
	start(t, legacy_vlan, true);
	v = res(t, 0);
	assert_int_equal(v.ifindex, 0);
	assert_false(v.error);
	assert_non_null(strstr(v.reason, "eth0.100"));
	(void)res(t, 0);
	assert_int_equal(fake_nl_vlan_count(), 1);
}

/* A typed VLANConfig: the created link gets its name and protocol. */
static void test_create_vlans_typed(void **state)
{
	struct t *t = *state;
	struct vip_link v;

	start(t, "---\napiVersion: v1alpha1\nkind: VLANConfig\nname: uplink.42\n"
	    "vlanID: 42\nvlanMode: 802.1ad\nparent: eth0\n"
	    "---\napiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.18.42.10\n"
	    "link: uplink.42\n", true);
	v = res(t, 0);
	assert_int_equal(fake_nl_vlan_count(), 1);
	assert_string_equal(fake_nl_vlan_last()->name, "uplink.42");
	assert_true(fake_nl_vlan_last()->ad);
	assert_string_equal(v.name, "uplink.42");
}

/* Lost events: the table is dumped again. */
static void test_resync(void **state)
{
	struct t *t = *state;

	start(t, legacy_vlan, false);
	assert_int_equal(res(t, 0).ifindex, 0);
	put_vlan(30, "v100", 2, 100, 0);
	assert_int_equal(res(t, 0).ifindex, 0); /* no event yet */
	assert_int_equal(links_resync(t->ls), 0);
	assert_int_equal(res(t, 0).ifindex, 30);
	fake_nl_fail_lookup(-ENOBUFS);
	assert_int_equal(links_resync(t->ls), -ENOBUFS);
	assert_int_equal(res(t, 0).ifindex, 30); /* kept */
	fake_nl_fail_lookup(0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_vlan_by_parent_and_id_any_name),
		T(test_vlan_missing_waits_then_appears),
		T(test_rename_keeps_link),
		T(test_altname),
		T(test_bond_member_refused),
		T(test_several_matches_is_an_error),
		T(test_vlan_name_rule),
		T(test_create_vlans),
		T(test_create_vlans_failure_once),
		T(test_create_vlans_typed),
		T(test_resync),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
