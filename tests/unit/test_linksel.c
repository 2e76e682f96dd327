/*
 * test_linksel.c - deviceSelector matching over link facts, MAC
 * normalization, and the naming and numbering of pattern aliases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "config.h"
#include "linksel.h"

/* cfg_selector's strings are not const (the parser owns them). */
#define S(lit) ((char *)(lit))

static const struct link_facts e1000 = {
	.name = "enp1s0", .type = "ether", .kind = "", .driver = "e1000e",
	.hardware_addr = "00:1A:2B:3C:4D:5E", .permanent_addr = "00:1a:2b:3c:4d:5e",
	.bus_path = "0000:01:00.0", .pci_id = "8086:10D3", .physical = true,
};

static const struct link_facts bridge = {
	.name = "br0", .type = "ether", .kind = "bridge",
	.hardware_addr = "02:42:ac:11:00:01",
};

static void test_match(void **state)
{
	struct cfg_selector s = { 0 };

	(void)state;
	/* An empty selector would match everything: it matches nothing. */
	assert_false(linksel_match(&s, &e1000));
	assert_false(linksel_match(NULL, &e1000));

	s.has_physical = true;
	s.physical = true;
	assert_true(linksel_match(&s, &e1000));
	assert_false(linksel_match(&s, &bridge));
	s.physical = false;
	assert_false(linksel_match(&s, &e1000));
	assert_true(linksel_match(&s, &bridge));
	s.has_physical = false;

	s.hardware_addr = S("00:1a:2b:*");     /* MAC globs ignore case */
	assert_true(linksel_match(&s, &e1000));
	assert_false(linksel_match(&s, &bridge));
	s.hardware_addr = NULL;
	s.permanent_addr = S("00:1A:2B:3C:4D:5?");
	assert_true(linksel_match(&s, &e1000));
	assert_false(linksel_match(&s, &bridge)); /* no permanent address */
	s.permanent_addr = NULL;

	s.driver = S("e1000*");
	assert_true(linksel_match(&s, &e1000));
	s.driver = S("E1000*");                /* drivers: case matters */
	assert_false(linksel_match(&s, &e1000));
	s.driver = S("e1000e");
	s.bus_path = S("0000:01:*");
	assert_true(linksel_match(&s, &e1000));
	s.bus_path = S("0000:02:*");           /* AND: one field off, no match */
	assert_false(linksel_match(&s, &e1000));
	s.bus_path = NULL;
	s.driver = NULL;

	s.pci_id = S("8086:10d3");             /* exact, any case */
	assert_true(linksel_match(&s, &e1000));
	s.pci_id = S("8086:10d");
	assert_false(linksel_match(&s, &e1000));
	assert_false(linksel_match(&s, &bridge));
}

static void test_mac_norm(void **state)
{
	char buf[LINKSEL_MAC_LEN];

	(void)state;
	assert_non_null(linksel_mac_norm("52:54:0:A:b:FF", buf));
	assert_string_equal(buf, "52:54:00:0a:0b:ff");
	assert_non_null(linksel_mac_norm("52-54-00-12-34-56", buf));
	assert_string_equal(buf, "52:54:00:12:34:56");
	assert_null(linksel_mac_norm("", buf));
	assert_string_equal(buf, "");
	assert_null(linksel_mac_norm("52:54:", buf));
	assert_null(linksel_mac_norm("52:545", buf));
	assert_null(linksel_mac_norm("NOT-A-MAC", buf));
	assert_string_equal(buf, "not-a-mac");
	/* InfiniBand addresses are 20 octets. */
	assert_non_null(linksel_mac_norm("80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bb:cc", buf));
}

static void test_alias_names(void **state)
{
	char buf[16];
	unsigned i = 99;

	(void)state;
	assert_int_equal(linksel_alias_is_pattern("mgmt"), 0);
	assert_int_equal(linksel_alias_is_pattern("net%d"), 1);
	assert_int_equal(linksel_alias_is_pattern("n%dx"), 1);
	assert_int_equal(linksel_alias_is_pattern("net%s"), -1);
	assert_int_equal(linksel_alias_is_pattern("n%d%d"), -1);
	assert_int_equal(linksel_alias_is_pattern("n%"), -1);

	assert_true(linksel_alias_index("net%d", "net0", &i));
	assert_int_equal(i, 0);
	assert_true(linksel_alias_index("net%d", "net12", &i));
	assert_int_equal(i, 12);
	assert_true(linksel_alias_index("n%dx", "n3x", &i));
	assert_int_equal(i, 3);
	assert_false(linksel_alias_index("net%d", "net", &i));
	assert_false(linksel_alias_index("net%d", "net01", &i));
	assert_false(linksel_alias_index("net%d", "net-1", &i));
	assert_false(linksel_alias_index("net%d", "net1a", &i));
	assert_false(linksel_alias_index("net%d", "eth1", &i));
	assert_false(linksel_alias_index("net%d", "net1234567890", &i));
	assert_true(linksel_alias_index("mgmt", "mgmt", &i));
	assert_int_equal(i, 0);
	assert_false(linksel_alias_index("mgmt", "mgmt0", &i));

	assert_true(linksel_alias_name("net%d", 7, buf, sizeof(buf)));
	assert_string_equal(buf, "net7");
	assert_true(linksel_alias_name("mgmt", 7, buf, sizeof(buf)));
	assert_string_equal(buf, "mgmt");
	assert_false(linksel_alias_name("fifteen-chars%d", 100, buf, sizeof(buf)));
}

static void test_alias_order(void **state)
{
	const struct link_facts a = { .name = "eth2", .hardware_addr = "52:54:00:00:00:10" };
	const struct link_facts b = { .name = "eth0", .hardware_addr = "52:54:00:00:00:02" };
	const struct link_facts c = { .name = "eth1", .hardware_addr = "52:54:0:0:0:9" };
	const struct link_facts d = { .name = "eth3", .hardware_addr = "52:54:00:00:00:02" };
	const struct link_facts *links[] = { &a, &b, &c, &d };
	size_t order[4];

	(void)state;
	/* By address octet by octet (0:9 < 0:10 although "9" > "1"),
	 * equal addresses by name. */
	linksel_alias_order(links, 4, order);
	assert_int_equal(order[0], 1); /* net0: eth0 ...:02 */
	assert_int_equal(order[1], 3); /* net1: eth3 ...:02 */
	assert_int_equal(order[2], 2); /* net2: eth1 ...:09 */
	assert_int_equal(order[3], 0); /* net3: eth2 ...:10 */
	linksel_alias_order(links, 0, order);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_mac_norm),
		cmocka_unit_test(test_alias_names),
		cmocka_unit_test(test_alias_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
