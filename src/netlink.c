/*
 * netlink.c - rtnetlink through libmnl: link lookup, host-address add,
 * replace and delete with lifetimes, and a link/address watcher.
 *
 * Requests are synchronous on their own socket, with a receive timeout so a
 * lost reply cannot hang the daemon. Every message read there must carry
 * our port id and the sequence number of the request in flight; anything
 * else (a late reply to a request that timed out) is dropped. The watcher
 * has a second socket so events never interleave with replies, and so a
 * watch callback can make requests while events are being dispatched.
 */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmem.h"

/* Large enough for any link message without VF details (which we never
 * ask for), and for a full dump datagram. */
#define NL_BUF_SIZE    (64 * 1024)
#define NL_REQ_SIZE    512
#define NL_TIMEOUT_S   5
#define NL_MON_RCVBUF  (1 << 20)
#define NL_DUMP_TRIES  3

struct nl {
	struct loop *loop;
	const struct nl_watch_ops *ops;
	void *arg;
	struct mnl_socket *req;
	uint32_t portid;
	uint32_t seq;
	struct mnl_socket *mon;
	int mon_fd;          /* registered with loop when >= 0 */
	int dispatching;     /* > 0 while watch callbacks may run */
	bool closed;         /* nl_close() called during dispatch */
	_Alignas(struct nlmsghdr) char reqbuf[NL_BUF_SIZE];
	_Alignas(struct nlmsghdr) char monbuf[NL_BUF_SIZE];
};

/* One request in flight: its data callback, and what the kernel said. */
struct nl_req {
	mnl_cb_t data_cb;    /* gets the struct nl_req as data */
	void *data;
	int quiet_err;       /* an errno that is an answer, not a failure */
	char ext[256];       /* kernel extended-ACK message, "" if none */
};

/* --- receiving and matching ------------------------------------------- */

/*
 * The length of the well-framed messages at the start of a datagram: each
 * header complete and its nlmsg_len, rounded up to the 4-byte alignment,
 * within what is left. libmnl cannot be trusted with the rest:
 * mnl_nlmsg_ok() compares nlmsg_len as an int, so a length of 2 GiB or
 * more passes, and mnl_cb_run() and mnl_nlmsg_next() then read far outside
 * the datagram; and its attribute walk runs to the aligned end of a
 * message, up to 3 bytes past a datagram that ends unaligned. The kernel
 * sends neither (its messages are padded); this is the boundary check all
 * the same.
 */
static size_t nl_framed_len(const void *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const void *)((const char *)buf + off);
		size_t mlen = nlh->nlmsg_len;

		mlen = (mlen + MNL_ALIGNTO - 1) & ~(size_t)(MNL_ALIGNTO - 1);
		if (nlh->nlmsg_len < sizeof(*nlh) || mlen > len - off)
			break;
		off += mlen;
	}
	return off;
}

/* Read one datagram. Returns the length of its well-framed messages, 0
 * for a datagram that did not come from the kernel or has none (ignored),
 * or -errno. */
static ssize_t nl_recv(int fd, void *buf, size_t len, int flags)
{
	struct sockaddr_nl sa;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_name = &sa,
		.msg_namelen = sizeof(sa),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;

	do {
		n = recvmsg(fd, &msg, flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	if (msg.msg_namelen != sizeof(sa) || sa.nl_pid != 0)
		return 0;
	return (ssize_t)nl_framed_len(buf, (size_t)n);
}

static int nl_extack_attr(const struct nlattr *attr, void *data)
{
	struct nl_req *rq = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(rq->ext, sizeof(rq->ext), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* Extended-ACK TLVs start at off bytes into the payload. */
static void nl_extack(const struct nlmsghdr *nlh, size_t off, struct nl_req *rq)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off > mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_parse(nlh, (unsigned)off, nl_extack_attr, rq);
}

/* The errno for an error code from the kernel: -1 .. -4095 (MAX_ERRNO)
 * is an errno; anything else is a broken message (and negating INT_MIN
 * would overflow). */
static int nl_errno(int kerr)
{
	return kerr < 0 && kerr >= -4095 ? -kerr : EPROTO;
}

static int nl_cb_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* Without NLM_F_CAPPED the request we sent is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < sizeof(struct nlmsghdr))
			off = SIZE_MAX;
		else
			off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	nl_extack(nlh, off, data);
	if (err->error == 0)
		return MNL_CB_STOP;
	errno = nl_errno(err->error);
	return MNL_CB_ERROR;
}

/* A dump ends with NLMSG_DONE, whose payload is the dump's error code. */
static int nl_cb_done(const struct nlmsghdr *nlh, void *data)
{
	int err = 0;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err)) {
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		nl_extack(nlh, sizeof(err), data);
	}
	if (err < 0) {
		errno = nl_errno(err);
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

/* Run the messages of one datagram. 1 = want more, 0 = done, -errno. */
static int nl_run(struct nl *nl, const void *buf, size_t len, uint32_t seq, struct nl_req *rq)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { /* libmnl wants it non-const */
		[NLMSG_ERROR] = nl_cb_error,
		[NLMSG_DONE] = nl_cb_done,
	};
	const struct nlmsghdr *nlh = buf;
	int left = (int)len, rc;

	while (mnl_nlmsg_ok(nlh, left)) {
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != nl->portid) {
			log_debug("netlink: dropped stray reply seq=%u portid=%u want_seq=%u",
			    nlh->nlmsg_seq, nlh->nlmsg_pid, seq);
		} else {
			errno = 0;
			rc = mnl_cb_run2(nlh, nlh->nlmsg_len, seq, nl->portid,
			    rq->data_cb, rq, ctl, NLMSG_MIN_TYPE);
			if (rc < 0)
				return errno ? -errno : -EPROTO;
			if (rc == MNL_CB_STOP)
				return 0;
		}
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	return 1;
}

/* Send nlh (seq and port id are filled here) and read until the ACK,
 * NLMSG_DONE or an error. Returns 0 or -errno; -EINTR means a dump was
 * interrupted by a change and must be redone. Failures other than
 * rq->quiet_err are logged with what (a " key=value..." string). */
static int nl_transact(struct nl *nl, struct nlmsghdr *nlh, struct nl_req *rq,
                       const char *op, const char *what)
{
	int fd = mnl_socket_get_fd(nl->req);
	uint32_t seq;
	ssize_t n;
	int rc;

	if (++nl->seq == 0)
		nl->seq = 1;
	seq = nl->seq;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;
	rq->ext[0] = '\0';
	if (mnl_socket_sendto(nl->req, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	do {
		n = nl_recv(fd, nl->reqbuf, sizeof(nl->reqbuf), 0);
		if (n < 0) {
			rc = n == -EAGAIN ? -ETIMEDOUT : (int)n;
			goto out;
		}
		rc = n == 0 ? 1 : nl_run(nl, nl->reqbuf, (size_t)n, seq, rq);
	} while (rc > 0);
out:
	if (rc < 0 && rc != -rq->quiet_err && rc != -EINTR)
		log_warnx("netlink: %s failed%s: %s%s%s%s", op, what, strerror(-rc),
		    rq->ext[0] ? " (kernel: " : "", rq->ext, rq->ext[0] ? ")" : "");
	else if (rc == 0 && rq->ext[0])
		log_info("netlink: kernel warning op=\"%s\"%s: %s", op, what, rq->ext);
	return rc;
}

/* --- parsing ------------------------------------------------------------ */

/* IFLA_INFO_DATA of a VLAN: id and protocol. */
static void nl_parse_vlan(const struct nlattr *data, struct nl_link *out)
{
	const struct nlattr *attr;

	mnl_attr_for_each_nested(attr, data) {
		if (mnl_attr_get_type(attr) == IFLA_VLAN_ID &&
		    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			out->vlan_id = mnl_attr_get_u16(attr);
		else if (mnl_attr_get_type(attr) == IFLA_VLAN_PROTOCOL &&
		    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			out->vlan_proto = ntohs(mnl_attr_get_u16(attr));
	}
}

/* IFLA_LINKINFO: the kind, and a VLAN's id and protocol. */
static void nl_parse_linkinfo(const struct nlattr *info, struct nl_link *out)
{
	const struct nlattr *attr, *data = NULL;

	mnl_attr_for_each_nested(attr, info) {
		if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
		    mnl_attr_validate(attr, MNL_TYPE_STRING) == 0)
			snprintf(out->kind, sizeof(out->kind), "%.*s",
			    (int)strnlen(mnl_attr_get_str(attr), mnl_attr_get_payload_len(attr)),
			    mnl_attr_get_str(attr));
		else if (mnl_attr_get_type(attr) == IFLA_INFO_DATA &&
		    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
			data = attr;
	}
	if (data != NULL && strcmp(out->kind, "vlan") == 0)
		nl_parse_vlan(data, out);
}

/* IFLA_PROP_LIST: the first NL_LINK_ALTNAMES alternative names. */
static void nl_parse_props(const struct nlattr *list, struct nl_link *out)
{
	const struct nlattr *attr;

	mnl_attr_for_each_nested(attr, list) {
		if (mnl_attr_get_type(attr) != IFLA_ALT_IFNAME ||
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 ||
		    out->n_altnames == NL_LINK_ALTNAMES ||
		    strlen(mnl_attr_get_str(attr)) >= sizeof(out->altnames[0]))
			continue;
		snprintf(out->altnames[out->n_altnames++], sizeof(out->altnames[0]), "%s",
		    mnl_attr_get_str(attr));
	}
}

/* Full state from an RTM_NEWLINK/RTM_DELLINK. 0, or -EBADMSG. */
static int nl_parse_link(const struct nlmsghdr *nlh, struct nl_link *out)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm) || ifm->ifi_index <= 0)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifm->ifi_index;
	out->up = (ifm->ifi_flags & IFF_UP) && (ifm->ifi_flags & IFF_LOWER_UP);
	mnl_attr_for_each(attr, nlh, sizeof(*ifm)) {
		switch (mnl_attr_get_type(attr)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				snprintf(out->name, sizeof(out->name), "%s", mnl_attr_get_str(attr));
			break;
		case IFLA_ADDRESS:
			if (ifm->ifi_type == ARPHRD_ETHER &&
			    mnl_attr_get_payload_len(attr) == sizeof(out->mac))
				memcpy(out->mac, mnl_attr_get_payload(attr), sizeof(out->mac));
			break;
		case IFLA_PERM_ADDRESS:
			if (ifm->ifi_type == ARPHRD_ETHER &&
			    mnl_attr_get_payload_len(attr) == sizeof(out->perm_mac)) {
				memcpy(out->perm_mac, mnl_attr_get_payload(attr), sizeof(out->perm_mac));
				out->has_perm_mac = true;
			}
			break;
		case IFLA_LINK:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0 &&
			    (int)mnl_attr_get_u32(attr) != ifm->ifi_index)
				out->parent = (int)mnl_attr_get_u32(attr);
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				out->master = (int)mnl_attr_get_u32(attr);
			break;
		case IFLA_LINKINFO:
			if (mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
				nl_parse_linkinfo(attr, out);
			break;
		case IFLA_PROP_LIST:
			if (mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
				nl_parse_props(attr, out);
			break;
		default:
			break;
		}
	}
	return 0;
}

static size_t nl_addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* The local address of an RTM_NEWADDR/RTM_DELADDR: IFA_LOCAL when given
 * (IPv4 always; IFA_ADDRESS is then the peer on point-to-point links),
 * else IFA_ADDRESS. 0, -EAFNOSUPPORT for other families, or -EBADMSG. */
static int nl_parse_addr(const struct nlmsghdr *nlh, int *family, int *ifindex,
                         unsigned char addr[16], unsigned *prefixlen, bool *secondary)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const void *local = NULL, *address = NULL;
	const struct nlattr *attr;
	size_t alen;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	alen = nl_addr_len(ifa->ifa_family);
	if (alen == 0)
		return -EAFNOSUPPORT;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_payload_len(attr) != alen)
			continue;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = mnl_attr_get_payload(attr);
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = mnl_attr_get_payload(attr);
	}
	if (local == NULL)
		local = address;
	if (local == NULL)
		return -EBADMSG;
	if (ifa->ifa_prefixlen > alen * 8)
		return -EBADMSG;
	*family = ifa->ifa_family;
	*ifindex = (int)ifa->ifa_index;
	*prefixlen = ifa->ifa_prefixlen;
	*secondary = (ifa->ifa_flags & IFA_F_SECONDARY) != 0;
	memcpy(addr, local, alen);
	return 0;
}

/* --- links --------------------------------------------------------------- */

static struct nlmsghdr *nl_link_msg(char *buf, uint16_t flags, int ifindex)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	memset(buf, 0, NL_REQ_SIZE); /* attribute padding goes to the kernel */
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nlh;
}

static int nl_cb_link_one(const struct nlmsghdr *nlh, void *data)
{
	struct nl_req *rq = data;

	if (nlh->nlmsg_type == RTM_NEWLINK && nl_parse_link(nlh, rq->data) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int nl_link_get(struct nl *nl, int ifindex, const char *name, struct nl_link *out)
{
	_Alignas(struct nlmsghdr) char buf[NL_REQ_SIZE];
	struct nl_req rq = { .data_cb = nl_cb_link_one, .data = out, .quiet_err = ENODEV };
	struct nlmsghdr *nlh = nl_link_msg(buf, NLM_F_ACK, ifindex);
	char what[64];
	int rc;

	if (name != NULL) {
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
		snprintf(what, sizeof(what), " link=%s", name);
	} else {
		snprintf(what, sizeof(what), " link=%d", ifindex);
	}
	memset(out, 0, sizeof(*out));
	rc = nl_transact(nl, nlh, &rq, "get link", what);
	if (rc == 0 && out->ifindex == 0)
		rc = -ENODEV;
	return rc;
}

int nl_link_by_name(struct nl *nl, const char *name, struct nl_link *out)
{
	if (name == NULL || name[0] == '\0' || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	return nl_link_get(nl, 0, name, out);
}

int nl_link_by_index(struct nl *nl, int ifindex, struct nl_link *out)
{
	if (ifindex <= 0)
		return -EINVAL;
	return nl_link_get(nl, ifindex, NULL, out);
}

struct nl_link_list {
	struct nl_link *v;
	size_t n, cap;
};

static int nl_cb_link_list(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link_list *list = ((struct nl_req *)data)->data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct nl_link link;

	if (nlh->nlmsg_type != RTM_NEWLINK || nl_parse_link(nlh, &link) < 0 ||
	    ifm->ifi_family != AF_UNSPEC)
		return MNL_CB_OK;
	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 16;
		list->v = xrealloc(list->v, list->cap * sizeof(*list->v));
	}
	list->v[list->n++] = link;
	return MNL_CB_OK;
}

int nl_link_foreach(struct nl *nl, void (*cb)(void *arg, const struct nl_link *link), void *arg)
{
	_Alignas(struct nlmsghdr) char buf[NL_REQ_SIZE];
	struct nl_link_list list = { 0 };
	struct nl_req rq = { .data_cb = nl_cb_link_list, .data = &list };
	int rc = -EINTR;

	for (int i = 0; i < NL_DUMP_TRIES && rc == -EINTR; i++) {
		list.n = 0;
		rc = nl_transact(nl, nl_link_msg(buf, NLM_F_DUMP, 0), &rq, "list links", "");
	}
	if (rc == 0)
		for (size_t i = 0; i < list.n; i++)
			cb(arg, &list.v[i]);
	free(list.v);
	return rc;
}

int nl_vlan_create(struct nl *nl, int parent, const char *name, unsigned id, bool ad)
{
	_Alignas(struct nlmsghdr) char buf[NL_REQ_SIZE];
	struct nl_req rq = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *info, *data;
	char what[64];

	if (parent <= 0 || id < 1 || id > 4094 || name == NULL || name[0] == '\0' ||
	    strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)parent);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u16(nlh, IFLA_VLAN_ID, (uint16_t)id);
	mnl_attr_put_u16(nlh, IFLA_VLAN_PROTOCOL, htons(ad ? ETH_P_8021AD : ETH_P_8021Q));
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	snprintf(what, sizeof(what), " link=%s parent=%d id=%u", name, parent, id);
	return nl_transact(nl, nlh, &rq, "create VLAN link", what);
}

/* --- addresses ----------------------------------------------------------- */

static struct nlmsghdr *nl_addr_msg(char *buf, uint16_t type, uint16_t flags,
                                    int ifindex, int family, const void *addr,
                                    unsigned prefixlen)
{
	size_t alen = nl_addr_len(family);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	memset(buf, 0, NL_REQ_SIZE);
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	if (family == AF_INET)
		mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	return nlh;
}

static void nl_addr_what(char *what, size_t size, int ifindex, int family, const void *addr,
                         unsigned prefixlen)
{
	char s[INET6_ADDRSTRLEN];

	if (inet_ntop(family, addr, s, sizeof(s)) == NULL)
		snprintf(s, sizeof(s), "?");
	snprintf(what, size, " addr=%s/%u link=%d", s, prefixlen, ifindex);
}

int nl_addr_add(struct nl *nl, int ifindex, int family, const void *addr,
                uint32_t valid_s, uint32_t preferred_s, bool replace)
{
	_Alignas(struct nlmsghdr) char buf[NL_REQ_SIZE];
	struct nl_req rq = { .quiet_err = EEXIST };
	struct ifa_cacheinfo ci = { .ifa_prefered = preferred_s, .ifa_valid = valid_s };
	struct nlmsghdr *nlh;
	char what[80];

	if (nl_addr_len(family) == 0)
		return -EAFNOSUPPORT;
	if (ifindex <= 0 || addr == NULL)
		return -EINVAL;
	nlh = nl_addr_msg(buf, RTM_NEWADDR,
	    NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), ifindex, family, addr,
	    (unsigned)nl_addr_len(family) * 8);
	mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
	if (family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	nl_addr_what(what, sizeof(what), ifindex, family, addr, (unsigned)nl_addr_len(family) * 8);
	return nl_transact(nl, nlh, &rq, replace ? "replace address" : "add address", what);
}

int nl_addr_del(struct nl *nl, int ifindex, int family, const void *addr, unsigned prefixlen)
{
	_Alignas(struct nlmsghdr) char buf[NL_REQ_SIZE];
	struct nl_req rq = { .quiet_err = EADDRNOTAVAIL };
	char what[80];

	if (nl_addr_len(family) == 0)
		return -EAFNOSUPPORT;
	if (ifindex <= 0 || addr == NULL || prefixlen == 0 || prefixlen > nl_addr_len(family) * 8)
		return -EINVAL;
	nl_addr_what(what, sizeof(what), ifindex, family, addr, prefixlen);
	/* IPv4: the kernel matches IFA_LOCAL, and, since IFA_ADDRESS is
	 * given, the prefix length and the prefix (inet_rtm_deladdr); IPv6:
	 * the address and the prefix length (inet6_addr_del). */
	return nl_transact(nl, nl_addr_msg(buf, RTM_DELADDR, 0, ifindex, family, addr, prefixlen),
	    &rq, "delete address", what);
}

struct nl_addr_find {
	int ifindex, family;
	const void *addr;        /* NULL = every address */
	struct nl_addr *out;
	size_t max, n;
};

static int nl_cb_addr_find(const struct nlmsghdr *nlh, void *data)
{
	struct nl_addr_find *f = ((struct nl_req *)data)->data;
	struct nl_addr a;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    nl_parse_addr(nlh, &a.family, &a.ifindex, a.addr, &a.prefixlen, &a.secondary) < 0)
		return MNL_CB_OK;
	/* Old kernels ignore the dump filter: filter here as well. */
	if (a.family != f->family || (f->ifindex != 0 && f->ifindex != a.ifindex) ||
	    (f->addr != NULL && memcmp(a.addr, f->addr, nl_addr_len(a.family)) != 0))
		return MNL_CB_OK;
	if (f->n < f->max)
		f->out[f->n] = a;
	f->n++;
	return MNL_CB_OK;
}

int nl_addr_list(struct nl *nl, int ifindex, int family, const void *addr,
                 struct nl_addr *out, size_t max)
{
	_Alignas(struct nlmsghdr) char buf[NL_REQ_SIZE];
	struct nl_addr_find f = { .ifindex = ifindex, .family = family, .addr = addr,
	    .out = out, .max = out != NULL ? max : 0 };
	struct nl_req rq = { .data_cb = nl_cb_addr_find, .data = &f, .quiet_err = ENODEV };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int rc = -EINTR;

	if (nl_addr_len(family) == 0)
		return -EAFNOSUPPORT;
	if (ifindex < 0)
		return -EINVAL;
	for (int i = 0; i < NL_DUMP_TRIES && rc == -EINTR; i++) {
		f.n = 0;
		memset(buf, 0, sizeof(buf));
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_GETADDR;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = (unsigned char)family;
		ifa->ifa_index = (unsigned)ifindex; /* a filter under strict checking */
		rc = nl_transact(nl, nlh, &rq, "list addresses", "");
	}
	if (rc < 0)
		return rc;
	return f.n > INT_MAX ? INT_MAX : (int)f.n;
}

/* One promote_secondaries value under /proc/sys: 0, 1, or -errno. */
static int nl_read_promote(const char *dev)
{
	char path[96], buf[16];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/promote_secondaries", dev);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	return atoi(buf) != 0;
}

int nl_promote_secondaries(struct nl *nl, int ifindex)
{
	struct nl_link l;
	int rc, all;

	if ((rc = nl_link_by_index(nl, ifindex, &l)) < 0)
		return rc;
	/* The kernel promotes if either the link's or the "all" setting is
	 * on (IN_DEV_ORCONF in include/linux/inetdevice.h). */
	all = nl_read_promote("all");
	if (all == 1)
		return 1;
	rc = nl_read_promote(l.name);
	return rc < 0 ? rc : all < 0 ? all : rc;
}

int nl_addr_present(struct nl *nl, int ifindex, int family, const void *addr, int *ifindex_out)
{
	struct nl_addr a;
	int rc;

	if (addr == NULL)
		return -EINVAL;
	rc = nl_addr_list(nl, ifindex, family, addr, &a, 1);
	if (rc < 0)
		return rc;
	if (rc > 0 && ifindex_out != NULL)
		*ifindex_out = a.ifindex;
	return rc > 0;
}

/* --- watching ------------------------------------------------------------ */

static void nl_watch_link(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct nl_link link;

	/* AF_BRIDGE messages are about bridge ports: an RTM_DELLINK there
	 * means "left the bridge", not "deleted". */
	if (nl_parse_link(nlh, &link) < 0 || ifm->ifi_family != AF_UNSPEC)
		return;
	if (nlh->nlmsg_type == RTM_NEWLINK) {
		if (nl->ops->link_changed)
			nl->ops->link_changed(nl->arg, &link);
	} else if (nl->ops->link_removed) {
		nl->ops->link_removed(nl->arg, link.ifindex, link.name);
	}
}

static void nl_watch_addr(struct nl *nl, const struct nlmsghdr *nlh)
{
	unsigned char addr[16];
	unsigned prefixlen;
	bool secondary;
	int family, ifindex;

	if (nl_parse_addr(nlh, &family, &ifindex, addr, &prefixlen, &secondary) < 0)
		return;
	if (nl->ops->addr_changed)
		nl->ops->addr_changed(nl->arg, ifindex, family, addr, prefixlen,
		    nlh->nlmsg_type == RTM_DELADDR);
}

static int nl_watch_msg(const struct nlmsghdr *nlh, void *data)
{
	struct nl *nl = data;

	if (nl->closed)
		return MNL_CB_STOP;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		nl_watch_link(nl, nlh);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		nl_watch_addr(nl, nlh);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static void nl_free(struct nl *nl)
{
	if (nl->mon)
		mnl_socket_close(nl->mon);
	if (nl->req)
		mnl_socket_close(nl->req);
	free(nl);
}

/* Drain the monitor socket: every queued datagram is dispatched before
 * returning, and a lost-events condition is reported once, afterwards, so
 * the caller's re-check sees the newest state. */
static void nl_watch_cb(int fd, unsigned events, void *arg)
{
	struct nl *nl = arg;
	bool lost = false;
	ssize_t n;

	(void)events;
	nl->dispatching++;
	while (!nl->closed) {
		n = nl_recv(fd, nl->monbuf, sizeof(nl->monbuf), MSG_DONTWAIT);
		if (n == -EAGAIN)
			break;
		if (n == -ENOBUFS) {
			lost = true;
			continue;
		}
		if (n == -EMSGSIZE) { /* that message is gone */
			log_warnx("netlink: event message too large, dropped");
			lost = true;
			continue;
		}
		if (n < 0) {
			errno = (int)-n;
			log_warn("netlink: monitor read failed");
			break;
		}
		if (n > 0 && mnl_cb_run(nl->monbuf, (size_t)n, 0, 0, nl_watch_msg, nl) < 0)
			log_warn("netlink: bad event message");
	}
	if (lost && !nl->closed) {
		log_warnx("netlink: monitor overflowed, events lost; resyncing");
		if (nl->ops->resync)
			nl->ops->resync(nl->arg);
	}
	if (--nl->dispatching == 0 && nl->closed)
		nl_free(nl);
}

static int nl_setopt(struct mnl_socket *s, int level, int name, int val, bool required)
{
	if (setsockopt(mnl_socket_get_fd(s), level, name, &val, sizeof(val)) == 0)
		return 0;
	if (required)
		return -errno;
	log_debug("netlink: socket option %d not supported: %s", name, strerror(errno));
	return 0;
}

static struct mnl_socket *nl_socket(int flags)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | flags);
	int saved;

	if (s == NULL)
		return NULL;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		saved = errno;
		mnl_socket_close(s);
		errno = saved;
		return NULL;
	}
	return s;
}

static int nl_open_req(struct nl *nl)
{
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	int rc;

	nl->req = nl_socket(0);
	if (nl->req == NULL)
		return -errno;
	nl->portid = mnl_socket_get_portid(nl->req);
	nl->seq = (uint32_t)time(NULL);
	/* Extended ACKs arrived in 4.12 and strict checking in 4.20; on older
	 * kernels we lose error text and kernel-side dump filtering only. */
	if ((rc = nl_setopt(nl->req, SOL_NETLINK, NETLINK_EXT_ACK, 1, false)) < 0 ||
	    (rc = nl_setopt(nl->req, SOL_NETLINK, NETLINK_CAP_ACK, 1, false)) < 0 ||
	    (rc = nl_setopt(nl->req, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1, false)) < 0)
		return rc;
	if (setsockopt(mnl_socket_get_fd(nl->req), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int nl_open_mon(struct nl *nl)
{
	static const int groups[] = { RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR };
	int rc;

	nl->mon = nl_socket(SOCK_NONBLOCK);
	if (nl->mon == NULL)
		return -errno;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if ((rc = nl_setopt(nl->mon, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, groups[i], true)) < 0)
			return rc;
	/* SO_RCVBUFFORCE passes net.core.rmem_max when we have CAP_NET_ADMIN
	 * (we do: we manage addresses); fall back for unprivileged tests. */
	if (nl_setopt(nl->mon, SOL_SOCKET, SO_RCVBUFFORCE, NL_MON_RCVBUF, true) < 0)
		(void)nl_setopt(nl->mon, SOL_SOCKET, SO_RCVBUF, NL_MON_RCVBUF, false);
	nl->mon_fd = mnl_socket_get_fd(nl->mon);
	rc = loop_fd_add(nl->loop, nl->mon_fd, LOOP_READ, nl_watch_cb, nl);
	if (rc < 0)
		nl->mon_fd = -1;
	return rc;
}

struct nl *nl_open(struct loop *loop, const struct nl_watch_ops *ops, void *arg)
{
	struct nl *nl;
	int rc;

	if (ops != NULL && loop == NULL) {
		errno = EINVAL;
		return NULL;
	}
	nl = xcalloc(1, sizeof(*nl));
	nl->loop = loop;
	nl->ops = ops;
	nl->arg = arg;
	nl->mon_fd = -1;
	rc = nl_open_req(nl);
	if (rc == 0 && ops != NULL)
		rc = nl_open_mon(nl);
	if (rc < 0) {
		log_warnx("netlink: open failed: %s", strerror(-rc));
		nl_close(nl);
		errno = -rc;
		return NULL;
	}
	return nl;
}

void nl_close(struct nl *nl)
{
	if (nl == NULL)
		return;
	if (nl->mon_fd >= 0) {
		loop_fd_del(nl->loop, nl->mon_fd);
		nl->mon_fd = -1;
	}
	if (nl->dispatching > 0) {
		nl->closed = true; /* nl_watch_cb frees it on the way out */
		return;
	}
	nl_free(nl);
}

int nl_watch_fd(const struct nl *nl)
{
	return nl->mon_fd;
}
