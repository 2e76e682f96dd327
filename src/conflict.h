/*
 * conflict.h - is anyone else answering for an address on a link?
 *
 * One probe: an RFC 5227 ARP probe (IPv4) or a DAD-style Neighbour
 * Solicitation (IPv6) from frames.h, then every answer heard for
 * CONFLICT_WINDOW_MS is collected (an ARP packet whose sender IP is the
 * address; an NA whose target is it). Answering MACs are sorted into
 * vipd peers (peers.h: the MACs published beside the election) and
 * foreign hosts; the peers are read again from etcd only when an answer
 * comes from a MAC the last read did not have (or that read is older than
 * CONFLICT_PEERS_MAX_AGE_MS).
 *
 * What to do about the answers is policy's (policy.h) and vip.c's.
 */
#ifndef VIPD_CONFLICT_H
#define VIPD_CONFLICT_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct peers;
struct conflict;

/* How long answers are collected after the probe goes out. A host on the
 * same segment answers from its kernel's receive path (no process is
 * involved): in the lab the answer was queued well under 1 ms after the
 * send, also under `stress-ng --cpu 2`; 20 ms leaves room for a switch
 * and a busy receiver, and is what every takeover pays (docs/design.md). */
#define CONFLICT_WINDOW_MS 20u
/* A peers read older than this is read again before answers are sorted. */
#define CONFLICT_PEERS_MAX_AGE_MS 10000u
/* Distinct answering MACs remembered per probe. */
#define CONFLICT_MAX_MACS 8

struct conflict_result {
	int err;                /* 0; or -errno: the probe could not be sent or
	                         * heard (nothing is known then) */
	unsigned n_peer;        /* distinct answering MACs that are vipd peers
	                         * (or could not be told: the peers read failed) */
	unsigned n_foreign;     /* distinct answering MACs that are not */
	unsigned char peer[6];    /* the first peer MAC, if n_peer */
	unsigned char foreign[6]; /* the first foreign MAC, if n_foreign */
};

/* Called once per conflict_probe() that returned 0, from the module's own
 * handlers (the window's timer, the peers read's answer), never from
 * within conflict_probe or conflict_cancel. */
typedef void conflict_cb(void *arg, const struct conflict_result *r);

/* peers: borrowed, must outlive the handle. */
struct conflict *conflict_new(struct loop *loop, struct peers *peers, conflict_cb *cb,
    void *arg);
/* NULL-safe; cancels a probe in flight (no callback), closes the socket. */
void conflict_free(struct conflict *c);

/*
 * Start a probe for addr (AF_INET: 4 bytes, AF_INET6: 16, network order)
 * on ifindex from mac (the link's own MAC: answers from it are ignored, as
 * are frames this host sent). Uses an AF_PACKET socket (CAP_NET_RAW)
 * bound to ifindex for ETH_P_ARP or ETH_P_IPV6, receive buffer 16 KiB,
 * opened at the first probe and kept: between probes a socket filter
 * drops every frame (nothing queues); during the window it passes ARP, or
 * only ICMPv6 type 136 for IPv6. It is closed by conflict_free or when a
 * probe names another link (closing waits for an RCU grace period, 5-10
 * ms measured, so it is not done per probe). Returns 0 (the result comes
 * through cb), -EBUSY while a probe runs, -EINVAL / -EAFNOSUPPORT on bad
 * arguments, or the socket's -errno (nothing was started, no callback).
 */
int conflict_probe(struct conflict *c, int ifindex, const unsigned char mac[6], int family,
    const void *addr);
/* Abandon a probe in flight (no callback; the socket stays, filtered);
 * NULL-safe, idle is fine. */
void conflict_cancel(struct conflict *c);
bool conflict_busy(const struct conflict *c);

#endif
