/*
 * test_linkfacts.c - link facts read from a fixture sysfs tree
 * (tests/unit/sysfs: every field, each source, missing and malformed
 * files), odd trees built at run time (symlink loops, a fifo, oversized
 * files), and which links a deviceSelector or an alias chooses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cel.h"
#include "config.h"
#include "linkfacts.h"

#define S(lit) ((char *)(lit))

/* The committed fixture tree: beside this file, as the build names it. */
static const char *fixture(void)
{
	static char root[4096];
	const char *env = getenv("VIPD_TEST_SYSFS");
	const char *slash;

	if (env != NULL)
		return env;
	slash = strrchr(__FILE__, '/');
	snprintf(root, sizeof(root), "%.*ssysfs", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
	return root;
}

static void read_ok(const char *root, const char *name, const char *kind, struct linkfacts *lf)
{
	int r = linkfacts_read(root, name, kind, NULL, 0, NULL, 0, lf);

	if (r != 0)
		fail_msg("linkfacts_read(%s, %s) = %d", root, name, r);
	assert_string_equal(lf->f.name, name);
}

#define assert_field(lf, field, want) do { \
		if ((want) == NULL) \
			assert_null((lf).f.field); \
		else { \
			assert_non_null((lf).f.field); \
			assert_string_equal((lf).f.field, (want)); \
		} \
	} while (0)

static void test_root(void **state)
{
	(void)state;
	unsetenv("VIPD_SYSFS");
	assert_string_equal(linkfacts_root(), "/sys");
	setenv("VIPD_SYSFS", "", 1);
	assert_string_equal(linkfacts_root(), "/sys");
	setenv("VIPD_SYSFS", "/tmp/fx", 1);
	assert_string_equal(linkfacts_root(), "/tmp/fx");
	unsetenv("VIPD_SYSFS");
}

/* The brief's layout: vendor and device files, a driver link, no uevent. */
static void test_pci_files(void **state)
{
	struct linkfacts lf;

	(void)state;
	read_ok(fixture(), "eth0", "", &lf);
	assert_field(lf, kind, "");
	assert_field(lf, type, "ether");
	assert_field(lf, driver, "virtio_net");
	assert_field(lf, hardware_addr, "52:54:00:12:34:56");
	assert_field(lf, permanent_addr, NULL);   /* not /sys: no ethtool */
	assert_field(lf, bus_path, "0000:00:03.0");
	assert_field(lf, pci_id, "1AF4:1000");    /* upper case, as the uevent */
	assert_true(lf.f.physical);
}

/* uevent alone: DRIVER, PCI_ID (upper-cased), PCI_SLOT_NAME. */
static void test_uevent(void **state)
{
	struct linkfacts lf;

	(void)state;
	read_ok(fixture(), "eth1", NULL, &lf);
	assert_field(lf, kind, "");
	assert_field(lf, driver, "e1000e");
	assert_field(lf, pci_id, "8086:10D3");
	assert_field(lf, bus_path, "0000:01:00.0");
	assert_field(lf, hardware_addr, "00:1a:2b:3c:4d:5e"); /* normalized */
	assert_true(lf.f.physical);
}

/* A virtio device under its PCI function: the bus path is the function's
 * (ethtool's bus_info); the virtio ids are not a pciID (Talos: empty). */
static void test_virtio_layout(void **state)
{
	struct linkfacts lf;

	(void)state;
	read_ok(fixture(), "ens4", "", &lf);
	assert_field(lf, driver, "virtio_net");
	assert_field(lf, bus_path, "0000:00:04.0");
	assert_field(lf, pci_id, NULL);
	assert_true(lf.f.physical);
}

/* Netlink's MACs win over sysfs; perm only from netlink off /sys. */
static void test_netlink_macs(void **state)
{
	static const unsigned char mac[6] = { 0x02, 0, 0, 0, 0, 0xAB };
	static const unsigned char perm[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	static const unsigned char big[40] = { 1 };
	struct linkfacts lf;

	(void)state;
	assert_int_equal(linkfacts_read(fixture(), "eth0", "", mac, 6, perm, 6, &lf), 0);
	assert_field(lf, hardware_addr, "02:00:00:00:00:ab");
	assert_field(lf, permanent_addr, "52:54:00:01:02:03");
	/* More than 32 bytes: cut to 32 (MAX_ADDR_LEN), never overflow. */
	assert_int_equal(linkfacts_read(fixture(), "eth0", "", big, sizeof(big), NULL, 0, &lf), 0);
	assert_int_equal(strlen(lf.f.hardware_addr), 32 * 3 - 1);
}

static void test_virtual_and_other_types(void **state)
{
	struct linkfacts lf;

	(void)state;
	read_ok(fixture(), "dummy0", "dummy", &lf);
	assert_field(lf, kind, "dummy");
	assert_field(lf, type, "ether");
	assert_field(lf, driver, NULL);
	assert_field(lf, bus_path, NULL);
	assert_field(lf, pci_id, NULL);
	assert_false(lf.f.physical);

	read_ok(fixture(), "lo", "", &lf);
	assert_field(lf, type, "loopback");
	assert_false(lf.f.physical);

	/* A device, but InfiniBand: not physical in Talos's sense (ether). */
	read_ok(fixture(), "ib0", "", &lf);
	assert_field(lf, type, "infiniband");
	assert_field(lf, driver, "mlx5_core");
	assert_field(lf, pci_id, "15B3:1017");
	assert_false(lf.f.physical);
}

static void test_missing_and_malformed(void **state)
{
	struct linkfacts lf;

	(void)state;
	read_ok(fixture(), "bare0", "", &lf);   /* every file missing */
	assert_field(lf, type, NULL);
	assert_field(lf, hardware_addr, NULL);
	assert_field(lf, driver, NULL);
	assert_false(lf.f.physical);

	read_ok(fixture(), "odd0", "", &lf);    /* bad values, dangling link */
	assert_field(lf, type, NULL);
	assert_field(lf, hardware_addr, NULL);
	assert_field(lf, bus_path, NULL);
	assert_false(lf.f.physical);

	assert_int_equal(linkfacts_read(fixture(), "nosuch0", "", NULL, 0, NULL, 0, &lf), -ENOENT);
	assert_int_equal(linkfacts_read("/nonexistent-root", "eth0", "", NULL, 0, NULL, 0, &lf), -ENOENT);
	assert_int_equal(linkfacts_read(fixture(), "", "", NULL, 0, NULL, 0, &lf), -EINVAL);
	assert_int_equal(linkfacts_read(fixture(), "../../x", "", NULL, 0, NULL, 0, &lf), -EINVAL);
	assert_int_equal(linkfacts_read(fixture(), "..", "", NULL, 0, NULL, 0, &lf), -EINVAL);
	assert_int_equal(linkfacts_read(fixture(), "0123456789abcdef", "", NULL, 0, NULL, 0, &lf),
	    -EINVAL);
}

/* ---- odd trees made at run time ---------------------------------------- */

static char tmp_root[64];

static void mk(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", tmp_root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp_root, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void sym(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", tmp_root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int odd_setup(void **state)
{
	char p[512];
	FILE *f;

	(void)state;
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/test_linkfacts.XXXXXX");
	if (mkdtemp(tmp_root) == NULL)
		return -1;
	mk("class");
	mk("class/net");
	/* loop0: device, driver and files are symlink loops; type a fifo. */
	mk("class/net/loop0");
	sym("device", "class/net/loop0/device");
	sym("address", "class/net/loop0/address");
	snprintf(p, sizeof(p), "%s/class/net/loop0/type", tmp_root);
	if (mkfifo(p, 0644) < 0)
		return -1;
	/* big0: a 1 MiB address and uevent, a directory as type. */
	mk("class/net/big0");
	mk("class/net/big0/type");
	mk("devices");
	mk("devices/0000:00:09.0");
	sym("../../../devices/0000:00:09.0", "class/net/big0/device");
	snprintf(p, sizeof(p), "%s/class/net/big0/address", tmp_root);
	f = fopen(p, "w");
	for (int i = 0; f != NULL && i < 1 << 16; i++)
		fputs("aa:bb:cc:dd:ee:ff:00:", f);
	if (f != NULL)
		fclose(f);
	snprintf(p, sizeof(p), "%s/devices/0000:00:09.0/uevent", tmp_root);
	f = fopen(p, "w");
	for (int i = 0; f != NULL && i < 1 << 16; i++)
		fputs("DRIVER=x\n", f);
	if (f != NULL)
		fclose(f);
	put("devices/0000:00:09.0/vendor", "0x12345\n");     /* > 16 bits */
	put("devices/0000:00:09.0/device", "0x1000\n");
	sym("/", "devices/0000:00:09.0/driver");             /* basename "" */
	/* loopy: the link's own directory is a loop. */
	sym("loopy", "class/net/loopy");
	/* weird0: uevent lines without '=', bad PCI_ID, an overlong value. */
	mk("class/net/weird0");
	mk("devices/weird");
	sym("../../../devices/weird", "class/net/weird0/device");
	put("class/net/weird0/type", "1\n");
	put("devices/weird/uevent", "DRIVER\nPCI_ID=zzzz:1\nPCI_SLOT_NAME=a b\n"
	    "DRIVER=" "0123456789012345678901234567890123456789012345678901234567890123456789\n");
	return 0;
}

static int odd_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_odd_trees(void **state)
{
	struct linkfacts lf;
	char big[LINKFACTS_FILE_MAX * 2];

	(void)state;
	read_ok(tmp_root, "loop0", "", &lf);     /* returns; no hang on the fifo */
	assert_field(lf, type, NULL);
	assert_field(lf, hardware_addr, NULL);
	assert_false(lf.f.physical);

	read_ok(tmp_root, "big0", "", &lf);
	assert_field(lf, type, NULL);
	assert_field(lf, hardware_addr, NULL);  /* oversized: as missing */
	assert_field(lf, driver, NULL);         /* uevent oversized, driver "/" */
	assert_field(lf, pci_id, NULL);         /* vendor out of range */
	assert_field(lf, bus_path, "0000:00:09.0");
	assert_false(lf.f.physical);            /* no type: not known as ether */

	assert_int_equal(linkfacts_read(tmp_root, "loopy", "", NULL, 0, NULL, 0, &lf), -ELOOP);

	read_ok(tmp_root, "weird0", "", &lf);
	assert_field(lf, driver, NULL);
	assert_field(lf, pci_id, NULL);
	assert_field(lf, bus_path, NULL);
	assert_true(lf.f.physical);

	/* A root so long the path cannot be formed. */
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(linkfacts_read(big, "eth0", "", NULL, 0, NULL, 0, &lf), -ENAMETOOLONG);
}

/* The real /sys: lo is in every namespace; ethtool is tried, harmlessly. */
static void test_real_sysfs(void **state)
{
	struct linkfacts lf;

	(void)state;
	read_ok("/sys", "lo", "", &lf);
	assert_field(lf, type, "loopback");
	assert_false(lf.f.physical);
	assert_field(lf, permanent_addr, NULL);
}

static void test_copy(void **state)
{
	struct linkfacts a, b;

	(void)state;
	read_ok(fixture(), "eth0", "", &a);
	linkfacts_copy(&b, &a);
	memset(&a, 'x', sizeof(a));
	assert_field(b, driver, "virtio_net");
	assert_field(b, pci_id, "1AF4:1000");
	assert_field(b, permanent_addr, NULL);
	assert_ptr_equal(b.f.name, b.name);
}

/* ---- selection ---------------------------------------------------------- */

/* eth0 virtio 52:54:00:12:34:56, eth1 e1000e, ens4 virtio 52:54:00:00:00:01,
 * dummy0 virtio-less dummy, lo. */
static size_t load_all(struct linkfacts *lf)
{
	static const char *const names[] = { "eth0", "eth1", "ens4", "dummy0", "lo" };
	static const char *const kinds[] = { "", "", "", "dummy", "" };

	for (size_t i = 0; i < 5; i++)
		read_ok(fixture(), names[i], kinds[i], &lf[i]);
	return 5;
}

static void test_select_selector(void **state)
{
	struct linkfacts lf[5];
	struct cfg_selector s = { 0 };
	struct cfg_vip cv = { 0 };
	size_t n = load_all(lf), m[5];

	(void)state;
	cv.selector = &s;
	s.driver = S("virtio_net");             /* two matches, in facts[] order */
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 2);
	assert_int_equal(m[0], 0);
	assert_int_equal(m[1], 2);
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 1), 2); /* count beyond max */
	assert_int_equal(m[0], 0);
	s.bus_path = S("0000:00:03.*");         /* one */
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 1);
	assert_int_equal(m[0], 0);
	s.bus_path = NULL;
	s.driver = S("igb");                    /* none */
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 0);
	s.driver = NULL;
	s.pci_id = S("8086:10d3");
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 1);
	assert_int_equal(m[0], 1);
	s.pci_id = NULL;
	s.has_physical = true;
	s.physical = false;                     /* dummy0 and lo */
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 2);
	assert_int_equal(m[0], 3);
	assert_int_equal(m[1], 4);
	s.physical = true;
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 3);
	s.has_physical = false;
	s.hardware_addr = S("52:54:00:*");
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 2);
	s.hardware_addr = NULL;
	/* Empty selector, no selector, no links. */
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 0);
	cv.selector = NULL;
	assert_int_equal(linkfacts_select(&cv, lf, n, m, 5), 0);
	assert_int_equal(linkfacts_select(NULL, lf, n, m, 5), 0);
	cv.selector = &s;
	s.driver = S("*");
	assert_int_equal(linkfacts_select(&cv, lf, 0, m, 5), 0);
}

static size_t sel_alias(const char *name, const char *expr, unsigned index,
                        const struct linkfacts *lf, size_t n, size_t *m)
{
	struct cel_error err;
	struct cfg_alias a = { .name = S(name) };
	struct cfg_vip cv = { .alias = &a, .alias_index = index };
	size_t r;

	a.match = cel_parse(expr, strlen(expr), &err);
	assert_non_null(a.match);
	r = linkfacts_select(&cv, lf, n, m, 5);
	cel_free(a.match);
	return r;
}

static void test_select_fixed_alias(void **state)
{
	struct linkfacts lf[5];
	size_t n = load_all(lf), m[5];

	(void)state;
	/* One: the caller may name it. */
	assert_int_equal(sel_alias("mgmt", "link.driver == \"e1000e\"", 0, lf, n, m), 1);
	assert_int_equal(m[0], 1);
	/* Several: all reported (the caller's error names each). */
	assert_int_equal(sel_alias("mgmt", "link.driver == \"virtio_net\"", 0, lf, n, m), 2);
	assert_int_equal(m[0], 0);
	assert_int_equal(m[1], 2);
	/* Zero. */
	assert_int_equal(sel_alias("mgmt", "link.driver == \"igb\"", 0, lf, n, m), 0);
	/* Only physical links are aliased (Talos): dummy0 and lo never. */
	assert_int_equal(sel_alias("mgmt", "link.kind == \"dummy\"", 0, lf, n, m), 0);
	assert_int_equal(sel_alias("mgmt", "link.type == \"loopback\"", 0, lf, n, m), 0);
	assert_int_equal(sel_alias("mgmt", "!(link.driver == \"\")", 0, lf, n, m), 3);
	/* A bad alias name matches nothing. */
	assert_int_equal(sel_alias("a%s", "link.driver == \"e1000e\"", 0, lf, n, m), 0);
}

static void test_select_pattern_alias(void **state)
{
	static const unsigned char perm0[6] = { 0x00, 0x01, 0, 0, 0, 0 };
	struct linkfacts lf[5];
	size_t n = load_all(lf), m[5];
	const char *virtio = "link.driver == \"virtio_net\"";

	(void)state;
	/* By hardware address: ens4 (52:54:00:00:00:01) is net0, eth0 net1. */
	assert_int_equal(sel_alias("net%d", virtio, 0, lf, n, m), 1);
	assert_int_equal(m[0], 2);
	assert_int_equal(sel_alias("net%d", virtio, 1, lf, n, m), 1);
	assert_int_equal(m[0], 0);
	assert_int_equal(sel_alias("net%d", virtio, 2, lf, n, m), 0);
	/* Every physical link: eth1 (00:1a:...) first. */
	assert_int_equal(sel_alias("p%dx", "!(link.driver == \"\")", 0, lf, n, m), 1);
	assert_int_equal(m[0], 1);
	/* dummy0 (aa:bb:...) is an ether link too, but not physical: three. */
	assert_int_equal(sel_alias("e%d", "link.type == \"ether\"", 2, lf, n, m), 1);
	assert_int_equal(m[0], 0);
	assert_int_equal(sel_alias("e%d", "link.type == \"ether\"", 3, lf, n, m), 0);
	/* A permanent address, where known, orders before the current one
	 * (Talos sorts by permanentAddr, else hardwareAddr). */
	assert_int_equal(linkfacts_read(fixture(), "eth0", "", NULL, 0, perm0, 6, &lf[0]), 0);
	assert_int_equal(sel_alias("net%d", virtio, 0, lf, n, m), 1);
	assert_int_equal(m[0], 0);
	assert_int_equal(sel_alias("net%d", virtio, 1, lf, n, m), 1);
	assert_int_equal(m[0], 2);
	/* None match. */
	assert_int_equal(sel_alias("net%d", "link.driver == \"igb\"", 0, lf, n, m), 0);
	assert_int_equal(sel_alias("net%d", virtio, 0, lf, 0, m), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_pci_files),
		cmocka_unit_test(test_uevent),
		cmocka_unit_test(test_virtio_layout),
		cmocka_unit_test(test_netlink_macs),
		cmocka_unit_test(test_virtual_and_other_types),
		cmocka_unit_test(test_missing_and_malformed),
		cmocka_unit_test_setup_teardown(test_odd_trees, odd_setup, odd_teardown),
		cmocka_unit_test(test_real_sysfs),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_select_selector),
		cmocka_unit_test(test_select_fixed_alias),
		cmocka_unit_test(test_select_pattern_alias),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
