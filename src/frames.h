/*
 * frames.h - build the link-layer frames that announce an address.
 *
 * Pure functions: a buffer goes in, a length comes out; no I/O, no global
 * state, so every byte is checked by tests/unit/test_frames.c. announce.c
 * sends what these build.
 */
#ifndef VIPD_FRAMES_H
#define VIPD_FRAMES_H

#include <stddef.h>
#include <stdint.h>

/* Gratuitous ARP: 14 bytes Ethernet + 28 bytes ARP, zero-padded to the
 * Ethernet minimum of 60 (drivers would pad anyway; we send what goes on
 * the wire). */
#define FRAMES_ARP_LEN 60
/* Unsolicited NA: 14 Ethernet + 40 IPv6 + 24 NA + 8 target-LLA option. */
#define FRAMES_NA_LEN 86

#define FRAMES_ARP_REQUEST 1 /* ARPOP_REQUEST */
#define FRAMES_ARP_REPLY   2 /* ARPOP_REPLY */

/*
 * Gratuitous ARP for the IPv4 address ip4 (4 bytes, network order) owned
 * by mac, broadcast to ff:ff:ff:ff:ff:ff. Sender IP = target IP = ip4,
 * sender MAC = mac. op selects the form:
 *   FRAMES_ARP_REQUEST: target MAC 00:00:00:00:00:00 (RFC 5227 announcement,
 *                       as the kernel's own arp_notify sends it);
 *   FRAMES_ARP_REPLY:   target MAC = mac (Linux treats a reply as
 *                       gratuitous only when target MAC == sender MAC).
 * Returns FRAMES_ARP_LEN, or 0 if size is too small or op is invalid.
 */
size_t frames_garp(unsigned char *buf, size_t size, int op,
                   const unsigned char mac[6], const void *ip4);

/*
 * Unsolicited Neighbour Advertisement (RFC 4861 7.2.6) for ip6 (16 bytes)
 * owned by mac: Ethernet to 33:33:00:00:00:01, IPv6 from ip6 to ff02::1
 * with hop limit 255, ICMPv6 type 136 code 0, flags Override only, target
 * ip6, one Target Link-Layer Address option carrying mac, checksum filled.
 * Returns FRAMES_NA_LEN, or 0 if size is too small.
 */
size_t frames_unsol_na(unsigned char *buf, size_t size,
                       const unsigned char mac[6], const void *ip6);

/* ---- probes: is anyone else answering for the address? ------------------ */

/* RFC 5227 ARP probe: 14 Ethernet + 28 ARP, padded to 60 like frames_garp. */
#define FRAMES_ARP_PROBE_LEN 60
/* DAD-style Neighbour Solicitation: 14 Ethernet + 40 IPv6 + 24 NS (no
 * option: RFC 4861 7.2.2 forbids the source link-layer address option
 * when the source is the unspecified address). */
#define FRAMES_NS_PROBE_LEN 78

/*
 * ARP probe (RFC 5227 2.1.1) for ip4 (4 bytes, network order) from mac:
 * broadcast, op request, sender MAC mac, sender IP 0.0.0.0, target MAC
 * zero, target IP ip4. A host holding ip4 answers with an ARP reply whose
 * sender IP is ip4 (Linux: arp_process(), sip == 0 branch). Sending IP
 * 0.0.0.0 keeps every receiver's ARP cache untouched.
 * Returns FRAMES_ARP_PROBE_LEN, or 0 if size is too small.
 */
size_t frames_arp_probe(unsigned char *buf, size_t size,
                        const unsigned char mac[6], const void *ip4);

/*
 * DAD-style Neighbour Solicitation (RFC 4862 5.4.2) for ip6 (16 bytes)
 * from mac: Ethernet to 33:33:ff:xx:xx:xx and IPv6 from :: to the
 * solicited-node multicast address ff02::1:ffxx:xxxx of ip6 (its last 24
 * bits), hop limit 255, ICMPv6 type 135 code 0, target ip6, checksum
 * filled. A host holding ip6 answers with an NA to ff02::1 whose target is
 * ip6 (RFC 4861 7.2.4; Linux: ndisc_recv_ns(), the dad branch).
 * Returns FRAMES_NS_PROBE_LEN, or 0 if size is too small.
 */
size_t frames_ns_probe(unsigned char *buf, size_t size,
                       const unsigned char mac[6], const void *ip6);

/*
 * Does the Ethernet frame f[0..len) answer for ip4? True for an ARP packet
 * (Ethernet, IPv4, request or reply) whose sender IP is ip4 (RFC 5227
 * 2.1.1: "any ARP packet ... where the 'sender IP address' is the address
 * being probed for" is a conflict). Probes (sender IP 0.0.0.0), such as a
 * peer's own, never match. On a match copies the ARP sender hardware
 * address to mac_out (6 bytes) and returns 1; else 0. Never reads past len.
 */
int frames_arp_answers(const unsigned char *f, size_t len, const void *ip4,
                       unsigned char mac_out[6]);

/*
 * Does the Ethernet frame f[0..len) answer for ip6? True for a valid
 * Neighbour Advertisement (IPv6, next header ICMPv6 with no extension
 * headers, hop limit 255, type 136 code 0, ICMPv6 checksum right - RFC
 * 4861 7.1.2) whose target is ip6. mac_out gets the Target Link-Layer
 * Address option if there is one, else the Ethernet source. Returns 1 on
 * a match, else 0. Never reads past len.
 */
int frames_na_answers(const unsigned char *f, size_t len, const void *ip6,
                      unsigned char mac_out[6]);

/* The Internet checksum (RFC 1071) of an ICMPv6 message msg[0..len) sent
 * from src to dst, including the IPv6 pseudo-header. The checksum field in
 * msg must be zero, or the result is the value that verifies (0) when it
 * holds the right checksum. Result in host order. */
uint16_t frames_icmp6_csum(const void *src, const void *dst,
                           const void *msg, size_t len);

#endif
