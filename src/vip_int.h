/*
 * vip_int.h - what the parts of one VIP share: struct vip and the helpers
 * vip.c (the decision, ownership, the address), vip_copies.c (copies of
 * the address this node does not hold, the same-subnet check) and
 * vip_probe.c (probing the wire before a takeover) call across files.
 * Private to those three files; everything else uses vip.h.
 */
#ifndef VIPD_VIP_INT_H
#define VIPD_VIP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "policy.h"
#include "vip.h"

struct conflict_result;

#define VIP_RETRY_MS 200
/* While not the owner, the wire is probed for the address this often:
 * every 5 s (one broadcast per VIP and non-owner; the takeover probes
 * anyway), every second while a conflict lasts, so that it clears soon
 * after the foreign host lets go. */
#define VIP_PROBE_QUIET_MS    5000u
#define VIP_PROBE_CONFLICT_MS 1000u
/* Copies of the VIP one listing sees (a copy per link, IPv4 one per prefix
 * length on a link); more are seen by the next sweep, after these go. */
#define VIP_MAX_COPIES 8
/* Addresses of the VIP's link read for the same-subnet check. */
#define VIP_MAX_LINK_ADDRS 64

/* A copy of the VIP on one of this node's links: where, which prefix. */
struct vip_copy {
	int ifindex;
	unsigned prefixlen;
};

struct vip {
	struct vip_env env;
	struct cfg_vip cv;        /* a copy: the address fields, no pointers */
	struct vip_opts o;        /* a copy; o.prefix is election */
	char *election;           /* prefix + ip, owned */
	/* The link as links.c resolved it (vip_link_set). */
	char ifname[16];          /* its name now, "" while unresolved */
	int ifindex;              /* 0 = none */
	bool link_up;
	bool link_error;          /* unusable: blocks campaigning */
	unsigned char mac[6];
	int64_t lease;            /* to campaign with, 0 = none */
	bool held;                /* the address is on the link, put by us;
				     changed only by set_held() */
	uint64_t held_since;
	uint64_t changed_at;      /* when held last changed (loop ms), 0 never */
	char reason[224];         /* why it last changed (ownership or role) */
	bool reason_set;          /* reason written since the last vip_update */
	bool paused;              /* policy fact: an operator paused it */
	bool unhealthy;           /* policy fact healthy, negated (vip_set_healthy) */
	bool retiring;            /* vip_retire: paused for good */
	const char *role;         /* policy_role() at the last vip_update */
	uint64_t role_since;      /* when that role began (loop ms) */
	struct metrics_table transitions; /* set_held's changes (vip_transitions) */
	uint64_t announcements;   /* sent, for metrics */
	uint64_t expires_at;      /* when the kernel lifetime we set runs out */
	int held_ifindex;         /* the link the address was put on */
	bool del_owed;            /* a delete failed: the address may be on it */
	bool warned_owed;         /* logged that the key stays while it is owed */
	struct vip_copy strays[VIP_MAX_COPIES]; /* copies we do not hold and could not delete */
	size_t n_strays;
	bool strays_more;         /* a listing saw more copies than it holds */
	bool sweep_owed;          /* the copies could not be listed: look again */
	int in_subnet;            /* -1 unknown, 0 no address on the link has a
	                           * prefix containing the VIP, 1 one has */
	uint32_t retry_ms;        /* backoff for failed address changes */
	struct elect *elect;
	unsigned announce_left;
	struct loop_timer *announce_timer;
	struct loop_timer *retry_timer;
	struct loop_timer *life_timer; /* the lifetime refresh (install) */
	/* probing the wire (conflict.h, docs/design.md "Probing the wire") */
	struct peers *peers;
	struct conflict *conflict;
	struct loop_timer *probe_timer; /* the next probe while not the owner */
	struct loop_timer *peers_timer; /* reads the peers' MACs after a leader change */
	bool probing_takeover;    /* the probe in flight decides a takeover */
	bool probed;              /* elected, and a probe since heard silence */
	bool in_conflict;         /* policy fact "conflict" */
	unsigned clear_probes;    /* probes in a row without a foreign answer */
	unsigned char conflict_mac[6]; /* the foreign MAC last logged */
	uint64_t peer_wait_since; /* a peer answered a takeover probe: since */
	int probe_err;            /* the last probe's -errno, logged once */
};

/* vip.c */
/* Retry a failed address change later, backing off from 200 ms to 5 s. */
void vip_retry_later(struct vip *v);
/* The address's length in bytes (4 or 16) and its host prefix (32, 128). */
size_t vip_addr_len(const struct vip *v);
unsigned vip_host_plen(const struct vip *v);
/* Delete the copy with prefix length plen (bits) from ifindex: 0 also when
 * it was not there (or the link is gone), else the netlink -errno. */
int vip_addr_del_plen(struct vip *v, int ifindex, unsigned plen);
/* Start the announcement burst (count, interval; then the refresh). */
void vip_announce_start(struct vip *v);
/* The policy facts of v as they are at now (loop ms). */
void vip_gather(const struct vip *v, uint64_t now, struct vip_facts *f);

/* vip_copies.c */
/* True if (ifindex, plen) is the copy this node holds or still owes a
 * delete for; every other copy is a stray. */
bool vip_owned_copy(const struct vip *v, int ifindex, unsigned plen);
/* The stray copy (ifindex, plen) recorded as not deletable, or NULL. */
struct vip_copy *vip_stray_find(struct vip *v, int ifindex, unsigned plen);
void vip_stray_forget(struct vip *v, struct vip_copy *c);
/* Delete a stray copy with its own prefix length; why goes to the log.
 * 0, or -errno (then it is recorded and retried; the node stands aside). */
int vip_delete_stray(struct vip *v, int ifindex, unsigned plen, const char *why);
/* List every copy on every link and delete the strays; 0 or -errno. */
int vip_sweep(struct vip *v, const char *why);
/* Re-run the same-subnet check on the VIP's link; logs a change. */
void vip_subnet_check(struct vip *v);

/* vip_probe.c */
/* The interval of the periodic probe now (ms): quiet or during a conflict. */
uint32_t vip_probe_period_ms(const struct vip *v);
/* Probe the wire for the address (takeover: this probe decides one). */
void vip_probe_start(struct vip *v, bool takeover);
/* The probe timer's and the conflict module's callbacks. */
void vip_on_probe_timer(void *arg);
void vip_on_probe(void *arg, const struct conflict_result *r);

#endif
