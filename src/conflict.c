/*
 * conflict.c - send a probe, listen for the window, sort the answers.
 */
#include "conflict.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "announce.h"
#include "frames.h"
#include "log.h"
#include "loop.h"
#include "peers.h"
#include "xmem.h"

#define CONFLICT_RCVBUF 16384
#define CONFLICT_DRAIN_MAX 64 /* frames read per wake-up */

struct conflict {
	struct loop *loop;
	struct peers *peers;
	conflict_cb *cb;
	void *arg;
	struct loop_timer *window;
	int fd;                    /* kept open between probes, -1 = none */
	int fd_ifindex, fd_family; /* what fd is bound to */
	bool listening;            /* a window is open: answers are collected */
	bool reading_peers;
	int family;
	unsigned char addr[16];
	unsigned char own[6];
	unsigned char macs[CONFLICT_MAX_MACS][6];
	unsigned n_macs;
};

/* Socket filters (offsets from the Ethernet header of a SOCK_RAW packet
 * socket). Between probes nothing passes, so nothing queues; during a
 * window every ARP packet passes (the socket is ETH_P_ARP), or for IPv6
 * only ICMPv6 (next header 58, no extension header) type 136 (NA). */
static struct sock_filter drop_all[] = {
	BPF_STMT(BPF_RET | BPF_K, 0),
};
static struct sock_filter pass_all[] = {
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
};
static struct sock_filter pass_na[] = {
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 6),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 58, 0, 3),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 40),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 136, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static int set_filter(int fd, struct sock_filter *code, unsigned short len)
{
	struct sock_fprog prog = { .len = len, .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

static int set_listening(struct conflict *c, bool on)
{
	if (!on)
		return set_filter(c->fd, drop_all, 1);
	if (c->fd_family == AF_INET)
		return set_filter(c->fd, pass_all, 1);
	return set_filter(c->fd, pass_na, sizeof(pass_na) / sizeof(pass_na[0]));
}

/* Closing a packet socket waits for an RCU grace period (packet_release:
 * synchronize_net; measured 5-10 ms in the lab, the loop stalled that
 * long): done only when the link changes and at conflict_free. */
static void close_fd(struct conflict *c)
{
	if (c->fd >= 0) {
		loop_fd_del(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
}

static void note_mac(struct conflict *c, const unsigned char m[6])
{
	if (memcmp(m, c->own, 6) == 0)
		return;
	for (unsigned i = 0; i < c->n_macs; i++)
		if (memcmp(c->macs[i], m, 6) == 0)
			return;
	if (c->n_macs < CONFLICT_MAX_MACS)
		memcpy(c->macs[c->n_macs++], m, 6);
}

/* Read what is queued; answers count only while listening (frames that
 * got in before the filter closed are dropped here). */
static void drain(struct conflict *c)
{
	unsigned char f[1514], m[6];

	for (int i = 0; i < CONFLICT_DRAIN_MAX && c->fd >= 0; i++) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(c->fd, f, sizeof(f), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		int hit;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN: all read; anything else: the window decides */
		}
		if (!c->listening || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (c->family == AF_INET)
			hit = frames_arp_answers(f, (size_t)n, c->addr, m);
		else
			hit = frames_na_answers(f, (size_t)n, c->addr, m);
		if (hit)
			note_mac(c, m);
	}
}

static void report(struct conflict *c, int err, bool peers_ok)
{
	struct conflict_result r;

	memset(&r, 0, sizeof(r));
	r.err = err;
	for (unsigned i = 0; i < c->n_macs && err == 0; i++) {
		if (!peers_ok || peers_known(c->peers, c->macs[i])) {
			if (r.n_peer++ == 0)
				memcpy(r.peer, c->macs[i], 6);
		} else if (r.n_foreign++ == 0) {
			memcpy(r.foreign, c->macs[i], 6);
		}
	}
	c->n_macs = 0;
	c->cb(c->arg, &r);
}

static void on_peers(void *arg, int err)
{
	struct conflict *c = arg;

	c->reading_peers = false;
	/* A failed read (logged by etcd.c) cannot tell a peer from a foreign
	 * host: the answers count as peers, which makes a takeover wait -
	 * the cautious side - and declares no conflict. */
	report(c, 0, err == 0);
}

static void on_window(void *arg)
{
	struct conflict *c = arg;
	bool all_known = true;
	int r;

	drain(c);
	r = set_listening(c, false);
	c->listening = false;
	if (r < 0) {
		/* The filter could not close: a socket that may queue every
		 * frame is not kept. */
		close_fd(c);
	}
	drain(c); /* empty it: what got in before the filter closed */
	for (unsigned i = 0; i < c->n_macs; i++)
		all_known = all_known && peers_known(c->peers, c->macs[i]);
	if (c->n_macs > 0 &&
	    (!all_known || peers_age_ms(c->peers, loop_now_ms()) > CONFLICT_PEERS_MAX_AGE_MS)) {
		c->reading_peers = true;
		peers_refresh(c->peers, on_peers, c);
		return;
	}
	report(c, 0, true);
}

static void on_readable(int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	drain(arg);
}

/* Protocol 0 first: no receive hook yet, so the bind below only adds one
 * (a socket opened with a protocol is re-hooked by bind, which waits for
 * an RCU grace period); the drop-all filter is on before the hook. */
static int open_socket(struct conflict *c, int ifindex, int family)
{
	uint16_t proto = htons(family == AF_INET ? ETH_P_ARP : ETH_P_IPV6);
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = proto,
		.sll_ifindex = ifindex,
	};
	int fd, rcv = CONFLICT_RCVBUF, err;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) < 0 ||
	    set_filter(fd, drop_all, 1) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	err = loop_fd_add(c->loop, fd, LOOP_READ, on_readable, c);
	if (err < 0) {
		close(fd);
		return err;
	}
	c->fd = fd;
	c->fd_ifindex = ifindex;
	c->fd_family = family;
	return 0;
}

int conflict_probe(struct conflict *c, int ifindex, const unsigned char mac[6], int family,
    const void *addr)
{
	unsigned char frame[FRAMES_NS_PROBE_LEN > FRAMES_ARP_PROBE_LEN ?
	    FRAMES_NS_PROBE_LEN : FRAMES_ARP_PROBE_LEN];
	size_t len;
	int r;

	if (conflict_busy(c))
		return -EBUSY;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (ifindex <= 0 || mac == NULL || addr == NULL)
		return -EINVAL;
	if (family == AF_INET)
		len = frames_arp_probe(frame, sizeof(frame), mac, addr);
	else
		len = frames_ns_probe(frame, sizeof(frame), mac, addr);
	if (c->fd >= 0 && (c->fd_ifindex != ifindex || c->fd_family != family))
		close_fd(c); /* another link (the VIP's link was re-created) */
	if (c->fd < 0 && (r = open_socket(c, ifindex, family)) < 0)
		return r;
	c->family = family;
	memcpy(c->addr, addr, family == AF_INET ? 4 : 16);
	memcpy(c->own, mac, 6);
	c->n_macs = 0;
	drain(c); /* nothing from before this probe counts */
	/* Listening before sending: an answer can come back at once. */
	r = set_listening(c, true);
	if (r == 0) {
		c->listening = true;
		r = announce_frame(c->fd, ifindex, frame, len);
	}
	if (r < 0) {
		c->listening = false;
		close_fd(c); /* a socket in an unknown state is not kept */
		return r;
	}
	loop_timer_arm(c->window, CONFLICT_WINDOW_MS);
	return 0;
}

void conflict_cancel(struct conflict *c)
{
	if (c == NULL)
		return;
	if (c->listening) {
		c->listening = false;
		if (set_listening(c, false) < 0)
			close_fd(c);
	}
	loop_timer_disarm(c->window);
	if (c->reading_peers) {
		peers_refresh_forget(c->peers);
		c->reading_peers = false;
	}
	c->n_macs = 0;
}

bool conflict_busy(const struct conflict *c)
{
	return c->listening || c->reading_peers;
}

struct conflict *conflict_new(struct loop *loop, struct peers *peers, conflict_cb *cb,
    void *arg)
{
	struct conflict *c = xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->peers = peers;
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	c->window = loop_timer_new(loop, on_window, c);
	return c;
}

void conflict_free(struct conflict *c)
{
	if (c == NULL)
		return;
	conflict_cancel(c);
	close_fd(c);
	loop_timer_free(c->window);
	free(c);
}
