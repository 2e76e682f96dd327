/*
 * vip.h - one virtual IP: its election, its link, its address and its
 * announcements. The decision itself is policy_decide(); this module
 * gathers the facts and carries the decision out.
 */
#ifndef VIPD_VIP_H
#define VIPD_VIP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct etcd;
struct session;
struct nl;
struct watch;
struct vip_link;
struct cfg;
struct cfg_vip;
struct vip;
struct metrics_table;
struct hooks;

/* The daemon's shared parts a VIP uses; owned by the daemon, outlive it. */
struct vip_env {
	struct loop *loop;
	struct etcd *etcd;
	struct session *session;
	struct nl *nl;
	const char *node;
	struct hooks *hooks;     /* vipd.hooks, told of every acquire and
	                          * release (hooks.h); NULL = none */
	struct watch *watch;    /* the shared election watch (watch.h), or NULL */
};

/*
 * What a VIP reads from the configuration besides its own cfg_vip. vip_new
 * copies it (prefix included) together with the cfg_vip's address fields,
 * so the VIP never points into a config: a reload frees the old config
 * while the VIP lives on (docs/design.md, "Reload").
 */
struct vip_opts {
	const char *prefix;            /* election prefix, ends in "/" */
	uint32_t lease_ttl_ms;         /* bounds the wait for a peer's release */
	uint32_t announce_count;       /* frames in a burst */
	uint32_t announce_interval_ms; /* between them */
	uint32_t announce_refresh_ms;  /* a burst's frame again this often, 0 off */
};

/* How late the kernel may remove an expired address: policy.h's
 * POLICY_KERNEL_LAG_MS (stated and derived there), 1.1 s. */
#define VIP_KERNEL_LAG_MS 1100u

/* Create a VIP and remove every leftover copy of the address, any prefix
 * length, any link (this node is not elected yet). Campaigns once given a
 * lease and a usable link (vip_link_set). */
struct vip *vip_new(const struct vip_env *env, const struct vip_opts *o,
    const struct cfg_vip *cv);
/* A reload changed the settings the VIP reads (prefix is ignored: a new
 * prefix is a new election, which needs a restart). Announcements: the
 * next burst uses the new count and interval; a refresh already armed
 * fires once more at the old period, then at the new one. */
void vip_set_opts(struct vip *v, const struct vip_opts *o);
/* The election key's name (prefix + ip), borrowed from the VIP. */
const char *vip_election(const struct vip *v);
/* NULL-safe. Leaves the address alone: call vip_release first. */
void vip_free(struct vip *v);

const char *vip_ip(const struct vip *v);
/* True while this node holds the address (put there by this VIP). */
bool vip_is_held(const struct vip *v);

/*
 * A snapshot of one VIP for status, metrics and tests. Strings are
 * borrowed from the VIP (valid until its next event or vip_free); times
 * are loop ms (CLOCK_BOOTTIME).
 */
struct vip_status {
	const char *ip;
	const char *link;        /* "" while no link is resolved */
	int ifindex;             /* 0 = none */
	bool held;               /* the address is on this node */
	bool leader;             /* this node leads the election */
	bool candidate;          /* this node campaigns */
	const char *owner;       /* the leader's node name as last read, "" unknown */
	int64_t lease;           /* the lease campaigned with, 0 none */
	int64_t fence_left_ms;   /* the session's fence minus now (negative: passed) */
	uint64_t since_ms;       /* when held last changed, 0 never */
	const char *reason;      /* why held or the role last changed ("elected",
	                          * "stopping", "paused by the operator", ...) */
	bool conflict;           /* a foreign host answers for the address */
	bool stray_copy;         /* a copy this node cannot delete is in the way */
	bool link_error;         /* the link is unusable (links.h) */
	int in_subnet;           /* vip_in_subnet() */
	uint64_t announcements;  /* announcements sent (each a burst's frames) */
	bool paused;             /* vip_pause() */
	bool healthy;            /* vip_set_healthy(): health checks allow campaigning */
	bool link_up;            /* the link is resolved, up and has carrier */
	const char *role;        /* policy_role(): "owner", "candidate", ... */
	uint64_t role_since_ms;  /* when the role last changed, 0 never */
};
void vip_status(const struct vip *v, struct vip_status *out);
/* The same-subnet check (subnet.h) as last done on the VIP's link: 1 an
 * address on the link has a prefix containing the VIP, 0 none has (logged
 * as a warning once per change), -1 not known (no link, or not read yet).
 * For status and metrics. */
int vip_in_subnet(const struct vip *v);
/* Ownership changes counted by (direction "acquired"/"released", reason
 * as set_held records it), for metrics; borrowed from the VIP. */
const struct metrics_table *vip_transitions(const struct vip *v);

/* An operator's pause (policy fact paused): a paused VIP stands aside -
 * an owner deletes its address first, then its election key - and stays
 * out of the election until resumed, when it campaigns again (at the back
 * of the queue). Kept across lease changes, not across restarts. */
void vip_pause(struct vip *v, bool paused);
/* Health checks (health.h) passed or failed (policy fact healthy): an
 * unhealthy VIP stands aside like a paused one - an owner deletes its
 * address first (reason "health checks failing: <why>", why borrowed for
 * the call), then its election key - and campaigns again, at the back of
 * the queue, once healthy. Healthy until told otherwise. */
void vip_set_healthy(struct vip *v, bool healthy, const char *why);
/* An operator's release: if this node holds the address, delete it, then
 * resign (delete the election key) and campaign again with a new key,
 * which etcd's create revision puts behind every waiting candidate (the
 * election recipe's resign + campaign; elect.c sends the create only
 * after the delete landed). Returns 0, -ENOENT when this node does not
 * hold the VIP, -EIO when the address could not be deleted (retried; the
 * key stays until it is gone). */
int vip_handover(struct vip *v);

/* A reload removed this VIP: it stands aside for good, as vip_pause does
 * (an owner deletes its address first, then its election key, so another
 * node takes over at once), and never campaigns again. The caller keeps
 * it (lease and link events included) until vip_retired, then frees it. */
void vip_retire(struct vip *v);
/* True when a retired VIP leaves nothing behind: no address on the link
 * nor a delete owed for one, no election key nor a request that could
 * create or still owes deleting one (elect_idle). */
bool vip_retired(const struct vip *v);

/* The lease to campaign with; 0 = the lease is gone (stop at once). */
void vip_set_lease(struct vip *v, int64_t lease);
/* The fence moved: refresh the address lifetime if held, re-evaluate. */
void vip_renewed(struct vip *v);
/* Re-evaluate now (the fence passed, or anything else changed). */
void vip_update(struct vip *v);
/* Remove the address now - also one whose earlier delete failed and is
 * still owed - and stop campaigning locally (no etcd calls); used when
 * stopping. Returns 0, or -errno if the address could not be deleted
 * (then the lease must not be revoked: it has to expire, after the
 * address's kernel lifetime). */
int vip_release(struct vip *v, const char *why);

/* The VIP's link as links_resolve() says it is now (links.h); the daemon
 * calls it after every link event, also when nothing changed (then it
 * returns at once). l->ifindex 0: no link (l->error: unusable, blocks
 * campaigning). Held on the same ifindex: a rename keeps the address; a
 * new MAC sends the announcement burst again at once. Another ifindex
 * while held: the address is deleted from the old link first. */
void vip_link_set(struct vip *v, const struct vip_link *l);
/* An address changed (netlink.h addr_changed; prefixlen in bits). A copy of
 * the VIP this node does not hold - any prefix length, any link - is
 * deleted with its own prefix length; another address on the VIP's link
 * re-runs the same-subnet check. */
void vip_addr_changed(struct vip *v, int ifindex, int family, const void *addr,
                      unsigned prefixlen, bool removed);
/* Netlink lost events: check the held address again (the daemon has
 * passed the link on with vip_link_set first). */
void vip_resync(struct vip *v);

#endif
