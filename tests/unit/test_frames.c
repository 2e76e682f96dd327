/*
 * test_frames.c - every byte of the gratuitous ARP and unsolicited NA
 * frames, and the ICMPv6 checksum against an independent implementation
 * and against a frame the Linux kernel built itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "frames.h"

static const unsigned char mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void ip4(const char *s, unsigned char out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void ip6(const char *s, unsigned char out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Reference checksum, written separately from frames.c: build the
 * pseudo-header + message in one buffer and sum 16-bit words. */
static unsigned ref_icmp6_csum(const unsigned char src[16], const unsigned char dst[16],
                               const unsigned char *msg, size_t len)
{
	unsigned char b[512];
	unsigned long sum = 0;
	size_t n = 0;

	assert_true(len + 40 < sizeof(b));
	memcpy(b + n, src, 16), n += 16;
	memcpy(b + n, dst, 16), n += 16;
	b[n++] = 0, b[n++] = 0, b[n++] = (unsigned char)(len >> 8), b[n++] = (unsigned char)len;
	b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = 58;
	memcpy(b + n, msg, len), n += len;
	if (n % 2)
		b[n++] = 0;
	for (size_t i = 0; i < n; i += 2)
		sum += get16(b + i);
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (unsigned)(~sum & 0xffff);
}

/* ---- ARP --------------------------------------------------------------- */

static void check_garp(int op, const unsigned char *f, const unsigned char ip[4])
{
	static const unsigned char bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const unsigned char zero[6];

	/* Ethernet */
	assert_memory_equal(f, bcast, 6);
	assert_memory_equal(f + 6, mac, 6);
	assert_int_equal(get16(f + 12), 0x0806);
	/* ARP: Ethernet/IPv4, 6/4, op */
	assert_int_equal(get16(f + 14), 1);
	assert_int_equal(get16(f + 16), 0x0800);
	assert_int_equal(f[18], 6);
	assert_int_equal(f[19], 4);
	assert_int_equal(get16(f + 20), (unsigned)op);
	assert_memory_equal(f + 22, mac, 6);           /* sender MAC */
	assert_memory_equal(f + 28, ip, 4);            /* sender IP */
	assert_memory_equal(f + 32, op == FRAMES_ARP_REPLY ? mac : zero, 6); /* target MAC */
	assert_memory_equal(f + 38, ip, 4);            /* target IP == sender IP */
	for (size_t i = 42; i < FRAMES_ARP_LEN; i++)
		assert_int_equal(f[i], 0);             /* padding */
}

static void test_garp_request(void **state)
{
	unsigned char f[128], ip[4];

	(void)state;
	ip4("198.18.0.100", ip);
	memset(f, 0xaa, sizeof(f));
	assert_int_equal(frames_garp(f, sizeof(f), FRAMES_ARP_REQUEST, mac, ip), 60);
	check_garp(FRAMES_ARP_REQUEST, f, ip);
	assert_int_equal(f[60], 0xaa); /* nothing written past the frame */
}

static void test_garp_reply(void **state)
{
	unsigned char f[FRAMES_ARP_LEN], ip[4];

	(void)state;
	ip4("198.19.255.254", ip);
	memset(f, 0xaa, sizeof(f));
	assert_int_equal(frames_garp(f, sizeof(f), FRAMES_ARP_REPLY, mac, ip), FRAMES_ARP_LEN);
	check_garp(FRAMES_ARP_REPLY, f, ip);
}

/* The whole request frame, byte for byte, as on the wire. */
static void test_garp_golden(void **state)
{
	static const unsigned char want[FRAMES_ARP_LEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
		0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 198, 18, 0, 100,
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 198, 18, 0, 100,
	};
	unsigned char f[FRAMES_ARP_LEN], ip[4];

	(void)state;
	ip4("198.18.0.100", ip);
	assert_int_equal(frames_garp(f, sizeof(f), FRAMES_ARP_REPLY, mac, ip), FRAMES_ARP_LEN);
	assert_memory_equal(f, want, sizeof(want));
}

static void test_garp_bad_args(void **state)
{
	unsigned char f[FRAMES_ARP_LEN], ip[4] = { 198, 18, 0, 1 };

	(void)state;
	assert_int_equal(frames_garp(f, sizeof(f) - 1, FRAMES_ARP_REQUEST, mac, ip), 0);
	assert_int_equal(frames_garp(f, sizeof(f), 0, mac, ip), 0);
	assert_int_equal(frames_garp(f, sizeof(f), 3, mac, ip), 0);
}

/* ---- NA ---------------------------------------------------------------- */

static void check_na(const unsigned char *f, const unsigned char ip[16])
{
	static const unsigned char allnodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	unsigned char allnodes[16];
	const unsigned char *ip6h = f + 14, *icmp = f + 54;

	ip6("ff02::1", allnodes);
	/* Ethernet */
	assert_memory_equal(f, allnodes_mac, 6);
	assert_memory_equal(f + 6, mac, 6);
	assert_int_equal(get16(f + 12), 0x86dd);
	/* IPv6: version 6, tc 0, flow 0, payload 32, next header 58, hop limit 255 */
	assert_int_equal(ip6h[0], 0x60);
	assert_int_equal(ip6h[1], 0);
	assert_int_equal(get16(ip6h + 2), 0);
	assert_int_equal(get16(ip6h + 4), 32);
	assert_int_equal(ip6h[6], 58);
	assert_int_equal(ip6h[7], 255);
	assert_memory_equal(ip6h + 8, ip, 16);
	assert_memory_equal(ip6h + 24, allnodes, 16);
	/* ICMPv6 NA: type 136 code 0; R=0 S=0 O=1; reserved zero; target */
	assert_int_equal(icmp[0], 136);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(icmp[4], 0x20);
	assert_int_equal(icmp[5], 0);
	assert_int_equal(icmp[6], 0);
	assert_int_equal(icmp[7], 0);
	assert_memory_equal(icmp + 8, ip, 16);
	/* Target Link-Layer Address option: type 2, length 1 (8 bytes) */
	assert_int_equal(icmp[24], 2);
	assert_int_equal(icmp[25], 1);
	assert_memory_equal(icmp + 26, mac, 6);
	/* Checksum: verifies to zero, and equals the reference over a copy
	 * with the field cleared. */
	{
		unsigned char m[32];

		memcpy(m, icmp, sizeof(m));
		assert_int_equal(ref_icmp6_csum(ip, allnodes, m, sizeof(m)), 0);
		m[2] = m[3] = 0;
		assert_int_equal(get16(icmp + 2), ref_icmp6_csum(ip, allnodes, m, sizeof(m)));
	}
}

static void test_na_fields(void **state)
{
	const char *addrs[] = { "fd00::100", "fd12:3456:789a:1::abcd", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::" };
	unsigned char f[128], ip[16];

	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		ip6(addrs[i], ip);
		memset(f, 0xaa, sizeof(f));
		assert_int_equal(frames_unsol_na(f, sizeof(f), mac, ip), FRAMES_NA_LEN);
		check_na(f, ip);
		assert_int_equal(f[FRAMES_NA_LEN], 0xaa);
	}
}

/* A frame the Linux kernel built (raw ICMPv6 socket in a test namespace,
 * kernel-computed checksum, captured on the veth peer), with the flow label
 * it chose zeroed: ours must match byte for byte, checksum 0xd3e1 included. */
static void test_na_golden_kernel(void **state)
{
	static const unsigned char want[FRAMES_NA_LEN] = {
		0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
		0x86, 0xdd,
		0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff,
		0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01,
		0x88, 0x00, 0xd3, 0xe1, 0x20, 0x00, 0x00, 0x00,
		0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
		0x02, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	};
	unsigned char f[FRAMES_NA_LEN], ip[16];

	(void)state;
	ip6("fd00::100", ip);
	assert_int_equal(frames_unsol_na(f, sizeof(f), mac, ip), FRAMES_NA_LEN);
	assert_memory_equal(f, want, sizeof(want));
}

/* Second vector, computed by hand-written Python (RFC 1071 over the
 * pseudo-header), for an address with many non-zero words. */
static void test_na_checksum_vector(void **state)
{
	static const unsigned char mac2[6] = { 0x0a, 0xff, 0xee, 0xdd, 0xcc, 0xbb };
	unsigned char f[FRAMES_NA_LEN], ip[16];

	(void)state;
	ip6("fd12:3456:789a:1::abcd", ip);
	assert_int_equal(frames_unsol_na(f, sizeof(f), mac2, ip), FRAMES_NA_LEN);
	assert_int_equal(get16(f + 56), 0xe462);
}

static void test_na_short_buffer(void **state)
{
	unsigned char f[FRAMES_NA_LEN], ip[16];

	(void)state;
	ip6("fd00::1", ip);
	assert_int_equal(frames_unsol_na(f, sizeof(f) - 1, mac, ip), 0);
}


/* ---- probes and their answers ---------------------------------------------- */

/* RFC 5227 2.1.1: sender IP zero, target MAC zero, target IP the VIP. */
static void test_arp_probe_golden(void **state)
{
	static const unsigned char want[FRAMES_ARP_PROBE_LEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
		0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 198, 18, 0, 100,
	};
	unsigned char f[FRAMES_ARP_PROBE_LEN], ip[4];

	(void)state;
	ip4("198.18.0.100", ip);
	memset(f, 0xaa, sizeof(f));
	assert_int_equal(frames_arp_probe(f, sizeof(f), mac, ip), FRAMES_ARP_PROBE_LEN);
	assert_memory_equal(f, want, sizeof(want));
	assert_int_equal(frames_arp_probe(f, sizeof(f) - 1, mac, ip), 0);
}

/* RFC 4862 5.4.2: from ::, to the solicited-node group ff02::1:ff00:100
 * (33:33:ff:00:01:00), no option; checksum 0x7ba7 computed by a separate
 * Python sum over the pseudo-header. */
static void test_ns_probe_golden(void **state)
{
	static const unsigned char want[FRAMES_NS_PROBE_LEN] = {
		0x33, 0x33, 0xff, 0x00, 0x01, 0x00, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
		0x86, 0xdd,
		0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x3a, 0xff,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x01, 0x00,
		0x87, 0x00, 0x7b, 0xa7, 0x00, 0x00, 0x00, 0x00,
		0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
	};
	unsigned char f[FRAMES_NS_PROBE_LEN], ip[16];

	(void)state;
	ip6("fd00::100", ip);
	memset(f, 0xaa, sizeof(f));
	assert_int_equal(frames_ns_probe(f, sizeof(f), mac, ip), FRAMES_NS_PROBE_LEN);
	assert_memory_equal(f, want, sizeof(want));
	assert_int_equal(ref_icmp6_csum(f + 22, f + 38, f + 54, 24), 0);
	assert_int_equal(frames_ns_probe(f, sizeof(f) - 1, mac, ip), 0);
}

/* The reply Linux sends to an ARP probe (arp_process(), sip == 0: a reply
 * to the prober's MAC, sender = the holder, target IP 0.0.0.0), as
 * captured in the lab, is an answer; the probe itself, a reply for
 * another address and short or non-ARP frames are not. */
static void test_arp_answers(void **state)
{
	static const unsigned char reply[60] = {
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c,
		0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x0c, 198, 18, 0, 100,
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0,
	};
	static const unsigned char holder[6] = { 0x02, 0, 0, 0, 0, 0x0c };
	unsigned char f[60], ip[4], other[4], got[6];

	(void)state;
	ip4("198.18.0.100", ip);
	ip4("198.18.0.101", other);
	memset(got, 0, sizeof(got));
	assert_int_equal(frames_arp_answers(reply, sizeof(reply), ip, got), 1);
	assert_memory_equal(got, holder, 6);
	assert_int_equal(frames_arp_answers(reply, sizeof(reply), other, got), 0);
	assert_int_equal(frames_arp_answers(reply, 14 + 27, ip, got), 0);
	/* A gratuitous ARP of the holder is an answer too. */
	assert_int_equal(frames_garp(f, sizeof(f), FRAMES_ARP_REQUEST, holder, ip), FRAMES_ARP_LEN);
	assert_int_equal(frames_arp_answers(f, sizeof(f), ip, got), 1);
	/* A peer's probe (sender IP 0.0.0.0) is not. */
	assert_int_equal(frames_arp_probe(f, sizeof(f), holder, ip), FRAMES_ARP_PROBE_LEN);
	assert_int_equal(frames_arp_answers(f, sizeof(f), ip, got), 0);
	/* Not ARP, or an unknown opcode. */
	memcpy(f, reply, sizeof(reply));
	f[13] = 0x00;
	assert_int_equal(frames_arp_answers(f, sizeof(f), ip, got), 0);
	memcpy(f, reply, sizeof(reply));
	f[21] = 3;
	assert_int_equal(frames_arp_answers(f, sizeof(f), ip, got), 0);
}

/* Recompute the ICMPv6 checksum of an Ethernet+IPv6 frame's message. */
static void fix_csum(unsigned char *g, size_t icmp_len)
{
	uint16_t c;

	g[56] = g[57] = 0;
	c = frames_icmp6_csum(g + 22, g + 38, g + 54, icmp_len);
	g[56] = (unsigned char)(c >> 8);
	g[57] = (unsigned char)c;
}

/* The NA the kernel built (test_na_golden_kernel's frame) answers for its
 * target with the TLLA option's MAC; a flipped byte (bad checksum), a
 * wrong hop limit, another target, a truncated frame and an NS are not
 * answers; without the option the Ethernet source is taken. */
static void test_na_answers(void **state)
{
	static const unsigned char holder[6] = { 0x02, 0, 0, 0, 0, 0x0c };
	unsigned char f[FRAMES_NA_LEN], g[FRAMES_NA_LEN], ip[16], other[16], got[6];
	size_t len;

	(void)state;
	ip6("fd00::100", ip);
	ip6("fd00::101", other);
	len = frames_unsol_na(f, sizeof(f), holder, ip);
	assert_int_equal(frames_na_answers(f, len, ip, got), 1);
	assert_memory_equal(got, holder, 6);
	assert_int_equal(frames_na_answers(f, len, other, got), 0);
	assert_int_equal(frames_na_answers(f, len - 1, ip, got), 0);
	memcpy(g, f, len);
	g[80] ^= 1; /* inside the option: the checksum no longer holds */
	assert_int_equal(frames_na_answers(g, len, ip, got), 0);
	memcpy(g, f, len);
	g[21] = 64; /* hop limit: RFC 4861 7.1.2 */
	assert_int_equal(frames_na_answers(g, len, ip, got), 0);
	memcpy(g, f, len);
	g[79] = 0; /* a zero-length option is invalid (checksum made right) */
	fix_csum(g, 32);
	assert_int_equal(frames_na_answers(g, len, ip, got), 0);
	/* No option: payload 24, checksum recomputed; MAC from Ethernet. */
	memcpy(g, f, len);
	g[19] = 24;
	fix_csum(g, 24);
	assert_int_equal(frames_na_answers(g, 78, ip, got), 1);
	assert_memory_equal(got, holder, 6);
	/* An NS probe for it is no answer. */
	len = frames_ns_probe(g, sizeof(g), holder, ip);
	assert_int_equal(frames_na_answers(g, len, ip, got), 0);
}

/* frames_icmp6_csum on an odd length pads with a zero byte (RFC 1071). */
static void test_csum_odd_length(void **state)
{
	unsigned char src[16], dst[16], msg[5] = { 0x80, 0, 0, 0, 0xab };

	(void)state;
	ip6("fd00::1", src);
	ip6("fd00::2", dst);
	assert_int_equal(frames_icmp6_csum(src, dst, msg, sizeof(msg)),
	    ref_icmp6_csum(src, dst, msg, sizeof(msg)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garp_request),
		cmocka_unit_test(test_garp_reply),
		cmocka_unit_test(test_garp_golden),
		cmocka_unit_test(test_garp_bad_args),
		cmocka_unit_test(test_na_fields),
		cmocka_unit_test(test_na_golden_kernel),
		cmocka_unit_test(test_na_checksum_vector),
		cmocka_unit_test(test_na_short_buffer),
		cmocka_unit_test(test_csum_odd_length),
		cmocka_unit_test(test_arp_probe_golden),
		cmocka_unit_test(test_ns_probe_golden),
		cmocka_unit_test(test_arp_answers),
		cmocka_unit_test(test_na_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
