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

/* The Internet checksum (RFC 1071) of an ICMPv6 message msg[0..len) sent
 * from src to dst, including the IPv6 pseudo-header. The checksum field in
 * msg must be zero, or the result is the value that verifies (0) when it
 * holds the right checksum. Result in host order. */
uint16_t frames_icmp6_csum(const void *src, const void *dst,
                           const void *msg, size_t len);

#endif
