/*
 * test_subnet.c - subnet.c: prefix containment, the same-subnet search
 * (the VIP's own copies do not count) and the log formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink.h"
#include "subnet.h"

static struct nl_addr A(int family, const char *s, unsigned plen)
{
	struct nl_addr a = { .ifindex = 2, .family = family, .prefixlen = plen };

	assert_int_equal(inet_pton(family, s, a.addr), 1);
	return a;
}

static unsigned char ip4[4], ip6[16];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(inet_pton(AF_INET, "198.18.0.100", ip4), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00:18::100", ip6), 1);
	return 0;
}

static void test_contains_v4(void **state)
{
	struct nl_addr a = A(AF_INET, "198.18.0.11", 24);

	(void)state;
	assert_true(subnet_contains(AF_INET, a.addr, 24, ip4));
	assert_true(subnet_contains(AF_INET, a.addr, 17, ip4));
	assert_true(subnet_contains(AF_INET, a.addr, 0, ip4));
	assert_false(subnet_contains(AF_INET, a.addr, 32, ip4));
	assert_false(subnet_contains(AF_INET, a.addr, 33, ip4));
	/* Bit boundaries: 198.18.0.100 = ...0110 0100 */
	a = A(AF_INET, "198.18.0.64", 26);  /* .64 - .127 */
	assert_true(subnet_contains(AF_INET, a.addr, 26, ip4));
	a = A(AF_INET, "198.18.0.96", 29);  /* .96 - .103 */
	assert_true(subnet_contains(AF_INET, a.addr, 29, ip4));
	a = A(AF_INET, "198.18.0.104", 29); /* .104 - .111 */
	assert_false(subnet_contains(AF_INET, a.addr, 29, ip4));
	a = A(AF_INET, "198.19.0.100", 16);
	assert_false(subnet_contains(AF_INET, a.addr, 16, ip4));
	assert_true(subnet_contains(AF_INET, a.addr, 15, ip4)); /* 198.18.0.0/15 */
	assert_false(subnet_contains(AF_PACKET, a.addr, 0, ip4));
}

static void test_contains_v6(void **state)
{
	struct nl_addr a = A(AF_INET6, "fd00:18::12", 64);

	(void)state;
	assert_true(subnet_contains(AF_INET6, a.addr, 64, ip6));
	assert_true(subnet_contains(AF_INET6, a.addr, 112, ip6));
	assert_false(subnet_contains(AF_INET6, a.addr, 120, ip6)); /* ::12 vs ::100 */
	assert_false(subnet_contains(AF_INET6, a.addr, 128, ip6));
	assert_false(subnet_contains(AF_INET6, a.addr, 129, ip6));
	a = A(AF_INET6, "fe80::1", 64);
	assert_false(subnet_contains(AF_INET6, a.addr, 64, ip6));
	a = A(AF_INET6, "fd00:19::1", 31);
	assert_true(subnet_contains(AF_INET6, a.addr, 31, ip6)); /* fd00:18::/31 */
	assert_false(subnet_contains(AF_INET6, a.addr, 32, ip6));
}

static void test_find_ignores_the_vip_itself(void **state)
{
	struct nl_addr l[4];

	(void)state;
	l[0] = A(AF_INET, "198.18.0.100", 32); /* our own /32 */
	l[1] = A(AF_INET, "198.18.0.100", 24); /* a leftover VIP/24 */
	l[2] = A(AF_INET, "10.9.0.11", 24);
	assert_int_equal(subnet_find(AF_INET, ip4, l, 3), -1);
	l[3] = A(AF_INET, "198.18.0.12", 24);
	assert_int_equal(subnet_find(AF_INET, ip4, l, 4), 3);
	assert_int_equal(subnet_find(AF_INET, ip4, l, 0), -1);
	/* Another family does not count. */
	l[0] = A(AF_INET6, "fd00:18::12", 64);
	assert_int_equal(subnet_find(AF_INET, ip4, l, 1), -1);
	assert_int_equal(subnet_find(AF_INET6, ip6, l, 1), 0);
}

/* The kernel's secondaries of a primary: same link, same prefix length,
 * inside its prefix. */
static void test_secondaries(void **state)
{
	struct nl_addr vip24 = A(AF_INET, "198.18.0.100", 24), l[6];

	(void)state;
	l[0] = vip24;
	l[1] = A(AF_INET, "198.18.0.12", 24);   /* a secondary */
	l[2] = A(AF_INET, "198.18.0.13", 25);   /* another prefix length */
	l[3] = A(AF_INET, "198.18.1.12", 24);   /* another subnet */
	l[4] = A(AF_INET, "198.18.0.14", 24);
	l[4].ifindex = 3;                       /* another link */
	l[5] = A(AF_INET, "198.18.0.100", 32);  /* our own /32 */
	assert_int_equal(subnet_secondaries(&vip24, l, 6), 1);
	l[4].ifindex = 2;
	assert_int_equal(subnet_secondaries(&vip24, l, 6), 2);
	assert_int_equal(subnet_secondaries(&vip24, l, 1), 0);
	l[0] = A(AF_INET6, "fd00:18::100", 64);
	assert_int_equal(subnet_secondaries(&l[0], l, 1), 0);
}

static void test_format(void **state)
{
	struct nl_addr l[3];
	char buf[64], tiny[20];

	(void)state;
	l[0] = A(AF_INET, "10.9.0.11", 24);
	l[1] = A(AF_INET, "198.18.0.100", 32);
	l[2] = A(AF_INET, "10.10.0.11", 16);
	assert_string_equal(subnet_format(buf, sizeof(buf), l, 3, AF_INET, ip4),
	    "10.9.0.11/24 10.10.0.11/16");
	assert_string_equal(subnet_format(buf, sizeof(buf), l + 1, 1, AF_INET, ip4), "none");
	assert_string_equal(subnet_format(tiny, sizeof(tiny), l, 3, AF_INET, ip4),
	    "10.9.0.11/24 ...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contains_v4),
		cmocka_unit_test(test_contains_v6),
		cmocka_unit_test(test_find_ignores_the_vip_itself),
		cmocka_unit_test(test_secondaries),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
