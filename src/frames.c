/*
 * frames.c - gratuitous ARP and unsolicited Neighbour Advertisement frames.
 *
 * Fields are written byte by byte in network order rather than through
 * packed structs, so the layout is visible here and nothing depends on the
 * compiler's idea of alignment.
 */
#include "frames.h"

#include <string.h>

#define ETH_HDR_LEN   14
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_IP6 0x86dd
#define ARPHRD_ETH    1
#define ETHERTYPE_IP  0x0800
#define IP6_HDR_LEN   40
#define IPPROTO_ICMP6 58
#define ND_NA_TYPE    136
#define ND_NA_LEN     24
#define ND_OPT_TLLA   2
#define ND_NA_OVERRIDE 0x20 /* first flags byte: R=0x80 S=0x40 O=0x20 */
#define ND_NS_TYPE    135
#define ND_NS_LEN     24
#define ARP_LEN       28

static const unsigned char bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const unsigned char allnodes_mac[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const unsigned char allnodes_ip6[16] = {
	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
};

static unsigned char *put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return p + 2;
}

static unsigned char *put(unsigned char *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

static unsigned char *put_eth(unsigned char *p, const unsigned char dst[6],
                              const unsigned char src[6], unsigned type)
{
	p = put(p, dst, 6);
	p = put(p, src, 6);
	return put16(p, type);
}

size_t frames_garp(unsigned char *buf, size_t size, int op,
                   const unsigned char mac[6], const void *ip4)
{
	static const unsigned char zero_mac[6];
	unsigned char *p = buf;

	if (size < FRAMES_ARP_LEN)
		return 0;
	if (op != FRAMES_ARP_REQUEST && op != FRAMES_ARP_REPLY)
		return 0;
	memset(buf, 0, FRAMES_ARP_LEN);
	p = put_eth(p, bcast_mac, mac, ETHERTYPE_ARP);
	p = put16(p, ARPHRD_ETH);
	p = put16(p, ETHERTYPE_IP);
	*p++ = 6; /* hardware address length */
	*p++ = 4; /* protocol address length */
	p = put16(p, (unsigned)op);
	p = put(p, mac, 6);
	p = put(p, ip4, 4);
	p = put(p, op == FRAMES_ARP_REPLY ? mac : zero_mac, 6);
	put(p, ip4, 4);
	return FRAMES_ARP_LEN;
}

static uint32_t csum_add(uint32_t sum, const unsigned char *p, size_t len)
{
	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t frames_icmp6_csum(const void *src, const void *dst,
                           const void *msg, size_t len)
{
	unsigned char tail[8] = { 0 };
	uint32_t sum = 0;

	/* Pseudo-header: source, destination, 32-bit upper-layer length,
	 * three zero bytes, next header. */
	tail[0] = (unsigned char)(len >> 24);
	tail[1] = (unsigned char)(len >> 16);
	tail[2] = (unsigned char)(len >> 8);
	tail[3] = (unsigned char)len;
	tail[7] = IPPROTO_ICMP6;
	sum = csum_add(sum, src, 16);
	sum = csum_add(sum, dst, 16);
	sum = csum_add(sum, tail, sizeof(tail));
	sum = csum_add(sum, msg, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t frames_unsol_na(unsigned char *buf, size_t size,
                       const unsigned char mac[6], const void *ip6)
{
	const size_t icmp_len = ND_NA_LEN + 8;
	unsigned char *p = buf, *icmp;

	if (size < FRAMES_NA_LEN)
		return 0;
	memset(buf, 0, FRAMES_NA_LEN);
	p = put_eth(p, allnodes_mac, mac, ETHERTYPE_IP6);

	*p = 0x60; /* version 6, traffic class 0, flow label 0 */
	p += 4;
	p = put16(p, (unsigned)icmp_len);
	*p++ = IPPROTO_ICMP6;
	*p++ = 255; /* hop limit: receivers drop ND with anything else */
	p = put(p, ip6, 16);
	p = put(p, allnodes_ip6, 16);

	icmp = p;
	*p++ = ND_NA_TYPE;
	*p++ = 0; /* code */
	p += 2;   /* checksum, filled below */
	*p = ND_NA_OVERRIDE;
	p += 4;   /* flags + reserved */
	p = put(p, ip6, 16);
	*p++ = ND_OPT_TLLA;
	*p++ = 1; /* option length in units of 8 bytes */
	put(p, mac, 6);

	put16(icmp + 2, frames_icmp6_csum(ip6, allnodes_ip6, icmp, icmp_len));
	return FRAMES_NA_LEN;
}

/* ---- probes ---------------------------------------------------------------- */

size_t frames_arp_probe(unsigned char *buf, size_t size,
                        const unsigned char mac[6], const void *ip4)
{
	static const unsigned char zero[6];
	unsigned char *p = buf;

	if (size < FRAMES_ARP_PROBE_LEN)
		return 0;
	memset(buf, 0, FRAMES_ARP_PROBE_LEN);
	p = put_eth(p, bcast_mac, mac, ETHERTYPE_ARP);
	p = put16(p, ARPHRD_ETH);
	p = put16(p, ETHERTYPE_IP);
	*p++ = 6;
	*p++ = 4;
	p = put16(p, FRAMES_ARP_REQUEST);
	p = put(p, mac, 6);
	p = put(p, zero, 4); /* sender IP 0.0.0.0: a probe */
	p = put(p, zero, 6);
	put(p, ip4, 4);
	return FRAMES_ARP_PROBE_LEN;
}

size_t frames_ns_probe(unsigned char *buf, size_t size,
                       const unsigned char mac[6], const void *ip6)
{
	static const unsigned char unspec[16];
	const unsigned char *t = ip6;
	unsigned char dst[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff };
	unsigned char dmac[6] = { 0x33, 0x33, 0xff };
	unsigned char *p = buf, *icmp;

	if (size < FRAMES_NS_PROBE_LEN)
		return 0;
	memcpy(dst + 13, t + 13, 3);
	memcpy(dmac + 2, dst + 12, 4);
	memset(buf, 0, FRAMES_NS_PROBE_LEN);
	p = put_eth(p, dmac, mac, ETHERTYPE_IP6);
	*p = 0x60;
	p += 4;
	p = put16(p, ND_NS_LEN);
	*p++ = IPPROTO_ICMP6;
	*p++ = 255;
	p = put(p, unspec, 16);
	p = put(p, dst, 16);
	icmp = p;
	*p++ = ND_NS_TYPE;
	*p++ = 0;
	p += 2 + 4; /* checksum, reserved */
	put(p, ip6, 16);
	put16(icmp + 2, frames_icmp6_csum(unspec, dst, icmp, ND_NS_LEN));
	return FRAMES_NS_PROBE_LEN;
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

int frames_arp_answers(const unsigned char *f, size_t len, const void *ip4,
                       unsigned char mac_out[6])
{
	const unsigned char *a = f + ETH_HDR_LEN;
	unsigned op;

	if (len < ETH_HDR_LEN + ARP_LEN || get16(f + 12) != ETHERTYPE_ARP)
		return 0;
	op = get16(a + 6);
	if (get16(a) != ARPHRD_ETH || get16(a + 2) != ETHERTYPE_IP || a[4] != 6 || a[5] != 4 ||
	    (op != FRAMES_ARP_REQUEST && op != FRAMES_ARP_REPLY))
		return 0;
	if (memcmp(a + 14, ip4, 4) != 0)
		return 0;
	memcpy(mac_out, a + 8, 6);
	return 1;
}

int frames_na_answers(const unsigned char *f, size_t len, const void *ip6,
                      unsigned char mac_out[6])
{
	const unsigned char *ip = f + ETH_HDR_LEN, *icmp = ip + IP6_HDR_LEN, *o;
	size_t plen, left;

	if (len < ETH_HDR_LEN + IP6_HDR_LEN + ND_NA_LEN || get16(f + 12) != ETHERTYPE_IP6)
		return 0;
	plen = get16(ip + 4);
	if ((ip[0] >> 4) != 6 || ip[6] != IPPROTO_ICMP6 || ip[7] != 255 || plen < ND_NA_LEN ||
	    plen > len - ETH_HDR_LEN - IP6_HDR_LEN)
		return 0;
	if (icmp[0] != ND_NA_TYPE || icmp[1] != 0 || memcmp(icmp + 8, ip6, 16) != 0)
		return 0;
	if (frames_icmp6_csum(ip + 8, ip + 24, icmp, plen) != 0)
		return 0;
	memcpy(mac_out, f + 6, 6);
	/* Options: type, length in units of 8 bytes; a zero length is invalid. */
	for (o = icmp + ND_NA_LEN, left = plen - ND_NA_LEN; left >= 8; ) {
		size_t olen = (size_t)o[1] * 8;

		if (olen == 0 || olen > left)
			return 0;
		if (o[0] == ND_OPT_TLLA && olen == 8)
			memcpy(mac_out, o + 2, 6);
		o += olen;
		left -= olen;
	}
	return 1;
}
