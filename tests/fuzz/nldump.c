/*
 * nldump.c - write real rtnetlink datagrams to files, as seeds for
 * fuzz_netlink. Run by tests/fuzz/capture-seeds inside a network
 * namespace of its own; never in the root namespace.
 *
 *   nldump DIR monitor   subscribe to the link and address groups (as
 *                        vipd's monitor) and write every datagram to
 *                        DIR/mon-N until none came for 2 s
 *   nldump DIR request   send the requests vipd sends (link lookup by
 *                        name and index, link and address dumps, address
 *                        add/replace/delete, and ones the kernel refuses)
 *                        and write every reply datagram to DIR/NAME-N;
 *                        once with NETLINK_CAP_ACK (as vipd) and once
 *                        without (the request echoed in errors)
 *
 * The request mode expects a link "d0" with 198.18.0.1/24 on it.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>

static const char *dir;
static char buf[64 * 1024] __attribute__((aligned(4)));

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void save(const char *name, unsigned n, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%u", dir, name, n);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

static struct mnl_socket *open_sock(unsigned groups_v4v6link, int cap_ack)
{
	struct mnl_socket *s = mnl_socket_open(NETLINK_ROUTE);
	struct timeval tv = { .tv_sec = 2 };
	int one = 1;

	if (s == NULL || mnl_socket_bind(s, groups_v4v6link, MNL_SOCKET_AUTOPID) < 0)
		die("netlink socket");
	setsockopt(mnl_socket_get_fd(s), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (cap_ack)
		setsockopt(mnl_socket_get_fd(s), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(s), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

static void monitor(void)
{
	struct mnl_socket *s = open_sock(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, 1);
	unsigned n = 0;
	ssize_t len;

	while ((len = mnl_socket_recvfrom(s, buf, sizeof(buf))) > 0)
		save("mon", n++, buf, (size_t)len);
	mnl_socket_close(s);
}

/* Send nlh and save every reply datagram until the ACK, error or DONE. */
static void transact(struct mnl_socket *s, const char *name, struct nlmsghdr *nlh)
{
	static unsigned seq = 1000;
	unsigned n = 0;
	ssize_t len;
	int done = 0;

	nlh->nlmsg_seq = ++seq;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		die(name);
	while (!done && (len = mnl_socket_recvfrom(s, buf, sizeof(buf))) > 0) {
		const struct nlmsghdr *m = (const void *)buf;
		int left = (int)len;

		save(name, n++, buf, (size_t)len);
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left))
			if (m->nlmsg_type == NLMSG_ERROR || m->nlmsg_type == NLMSG_DONE)
				done = 1;
	}
}

static struct nlmsghdr *link_msg(char *p, uint16_t flags, int ifindex, const char *name)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	memset(p, 0, 512);
	nlh = mnl_nlmsg_put_header(p);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

static struct nlmsghdr *addr_msg(char *p, uint16_t type, uint16_t flags, int ifindex,
    int family, const char *addr, uint32_t valid)
{
	unsigned char a[16];
	size_t alen = family == AF_INET ? 4 : 16;
	struct ifa_cacheinfo ci = { .ifa_prefered = valid, .ifa_valid = valid };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (inet_pton(family, addr, a) != 1)
		die(addr);
	memset(p, 0, 512);
	nlh = mnl_nlmsg_put_header(p);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)(alen * 8);
	ifa->ifa_index = (unsigned)ifindex;
	if (family == AF_INET)
		mnl_attr_put(nlh, IFA_LOCAL, alen, a);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a);
	if (type == RTM_NEWADDR)
		mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
	if (family == AF_INET6 && type == RTM_NEWADDR)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return nlh;
}

static void requests(int cap_ack)
{
	struct mnl_socket *s = open_sock(0, cap_ack);
	const char *p = cap_ack ? "" : "echo-";
	char req[512] __attribute__((aligned(4))), name[64];
	int d0 = (int)if_nametoindex("d0");
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (d0 == 0)
		die("d0");
#define NAME(s) (snprintf(name, sizeof(name), "%s%s", p, s), name)
	transact(s, NAME("link-by-name"), link_msg(req, NLM_F_ACK, 0, "d0"));
	transact(s, NAME("link-by-index"), link_msg(req, NLM_F_ACK, d0, NULL));
	transact(s, NAME("link-missing"), link_msg(req, NLM_F_ACK, 0, "nosuch0"));
	transact(s, NAME("link-dump"), link_msg(req, NLM_F_DUMP, 0, NULL));
	transact(s, NAME("addr-add"), addr_msg(req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
	    d0, AF_INET, "198.18.0.100", 5));
	transact(s, NAME("addr-exists"), addr_msg(req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
	    d0, AF_INET, "198.18.0.100", 5));
	transact(s, NAME("addr-replace6"), addr_msg(req, RTM_NEWADDR,
	    NLM_F_CREATE | NLM_F_REPLACE, d0, AF_INET6, "fd00:18::100", 5));
	transact(s, NAME("addr-valid0"), addr_msg(req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
	    d0, AF_INET, "198.18.0.101", 0));
	transact(s, NAME("addr-badlink"), addr_msg(req, RTM_NEWADDR, NLM_F_CREATE,
	    9999, AF_INET, "198.18.0.102", 5));
	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_index = (unsigned)d0;
	transact(s, NAME("addr-dump"), nlh);
	transact(s, NAME("addr-del"), addr_msg(req, RTM_DELADDR, 0, d0, AF_INET, "198.18.0.100", 0));
	transact(s, NAME("addr-del-missing"), addr_msg(req, RTM_DELADDR, 0, d0, AF_INET,
	    "198.18.0.100", 0));
	transact(s, NAME("addr-del6"), addr_msg(req, RTM_DELADDR, 0, d0, AF_INET6,
	    "fd00:18::100", 0));
#undef NAME
	mnl_socket_close(s);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: nldump DIR monitor|request\n");
		return 2;
	}
	dir = argv[1];
	if (strcmp(argv[2], "monitor") == 0) {
		monitor();
	} else if (strcmp(argv[2], "request") == 0) {
		requests(1);
		requests(0);
	} else {
		fprintf(stderr, "nldump: unknown mode %s\n", argv[2]);
		return 2;
	}
	return 0;
}
