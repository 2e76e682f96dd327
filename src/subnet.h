/*
 * subnet.h - is the VIP inside a prefix of its link? Pure functions over
 * address lists (struct nl_addr), no I/O: used by vip.c at run time and by
 * `vipd --check`.
 *
 * The rule comes from the seed's deployment: the nodes share one network
 * and the VIP is an address of that network, so neighbours reach it on-link
 * and take the gratuitous ARP / unsolicited NA (RFC 5227 s. 3, RFC 4861
 * s. 7.2.6) as an update for an address they already route to that link.
 */
#ifndef VIPD_SUBNET_H
#define VIPD_SUBNET_H

#include <stdbool.h>
#include <stddef.h>

struct nl_addr;

/* Does the prefix addr/prefixlen contain ip? family AF_INET or AF_INET6;
 * addresses 4 or 16 bytes, network order; prefixlen in bits (0 contains
 * everything; more than the address length contains nothing). */
bool subnet_contains(int family, const void *addr, unsigned prefixlen, const void *ip);

/* The index of the first of the n addresses of family whose prefix
 * contains ip - copies of ip itself (the VIP we hold, a leftover "VIP/24")
 * do not count - or -1 if none does. */
int subnet_find(int family, const void *ip, const struct nl_addr *a, size_t n);

/* How many of the n addresses are IPv4 secondaries of primary: on its
 * link, of the same prefix length, inside its prefix, not primary itself
 * (the kernel's rule in __inet_insert_ifa: same mask, inet_ifa_match).
 * Deleting primary deletes all of them unless promote_secondaries is on. */
size_t subnet_secondaries(const struct nl_addr *primary, const struct nl_addr *a, size_t n);

/* The addresses of family, other than ip, as "a/p a/p ..." into buf
 * (always NUL-terminated, cut short with "..." when it does not fit);
 * "none" when there are none. Returns buf. */
char *subnet_format(char *buf, size_t size, const struct nl_addr *a, size_t n, int family,
                    const void *ip);

#endif
