/*
 * announce.h - tell the local L2 segment that this node now holds an
 * address: gratuitous ARP for IPv4, unsolicited Neighbour Advertisement
 * for IPv6, so neighbours and switches repoint their caches at once.
 */
#ifndef VIPD_ANNOUNCE_H
#define VIPD_ANNOUNCE_H

#include <stddef.h>

/*
 * Send one round of announcements for addr (family AF_INET: 4 bytes,
 * AF_INET6: 16 bytes, network order) on ifindex, whose Ethernet address is
 * mac:
 *   IPv4: a gratuitous ARP request and a gratuitous ARP reply (some
 *         switches learn from only one form), both to ff:ff:ff:ff:ff:ff;
 *   IPv6: an unsolicited NA with the Override flag to ff02::1, from addr.
 * Frames are built by frames.h. A packet socket (needs CAP_NET_RAW) is
 * opened, bound to ifindex and closed within the call; announcements are
 * rare, so nothing is cached. Stops at the first failed send.
 * Returns 0, -EINVAL (bad ifindex, or mac zero or multicast),
 * -EAFNOSUPPORT (family), or -errno from the socket (e.g. -ENETDOWN when
 * the link is down, -EPERM without CAP_NET_RAW). Does not log: the caller
 * knows which VIP this was and logs the failure.
 */
int announce_send(int ifindex, const unsigned char mac[6], int family, const void *addr);

/*
 * Send one whole Ethernet frame (len bytes, its own header first) on an
 * AF_PACKET SOCK_RAW socket fd out of ifindex; the destination and the
 * EtherType come from the frame's header. Returns 0, -EIO on a short send,
 * or -errno (EINTR retried). Shared with the probes of conflict.c.
 */
int announce_frame(int fd, int ifindex, const unsigned char *frame, size_t len);

#endif
