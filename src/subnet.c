/*
 * subnet.c - prefix containment for the same-subnet check (subnet.h).
 */
#include "subnet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink.h"

static size_t alen(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

bool subnet_contains(int family, const void *addr, unsigned prefixlen, const void *ip)
{
	const unsigned char *a = addr, *b = ip;
	size_t len = alen(family);
	unsigned whole = prefixlen / 8, rest = prefixlen % 8;

	if (len == 0 || prefixlen > len * 8)
		return false;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

static bool is_ip(const struct nl_addr *x, int family, const void *ip)
{
	return memcmp(x->addr, ip, alen(family)) == 0;
}

int subnet_find(int family, const void *ip, const struct nl_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].family == family && !is_ip(&a[i], family, ip) &&
		    subnet_contains(family, a[i].addr, a[i].prefixlen, ip))
			return i > (size_t)0x7fffffff ? -1 : (int)i;
	return -1;
}

size_t subnet_secondaries(const struct nl_addr *primary, const struct nl_addr *a, size_t n)
{
	size_t k = 0;

	if (primary->family != AF_INET)
		return 0;
	for (size_t i = 0; i < n; i++)
		k += a[i].family == AF_INET && a[i].ifindex == primary->ifindex &&
		    a[i].prefixlen == primary->prefixlen &&
		    memcmp(a[i].addr, primary->addr, 4) != 0 &&
		    subnet_contains(AF_INET, primary->addr, primary->prefixlen, a[i].addr);
	return k;
}

char *subnet_format(char *buf, size_t size, const struct nl_addr *a, size_t n, int family,
                    const void *ip)
{
	size_t off = 0;
	char s[INET6_ADDRSTRLEN], one[INET6_ADDRSTRLEN + 6];

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (a[i].family != family || is_ip(&a[i], family, ip) ||
		    inet_ntop(family, a[i].addr, s, sizeof(s)) == NULL)
			continue;
		snprintf(one, sizeof(one), "%s%s/%u", off ? " " : "", s, a[i].prefixlen);
		if (off + strlen(one) + 4 >= size) {
			snprintf(buf + off, size - off, "%s", off ? " ..." : "...");
			return buf;
		}
		off += (size_t)snprintf(buf + off, size - off, "%s", one);
	}
	if (off == 0)
		snprintf(buf, size, "none");
	return buf;
}
