/*
 * leadermove.h - keep etcd's raft leader off the node that owns a VIP
 * (vipd.etcd.avoidLeader).
 *
 * When the owner of a VIP dies together with etcd's raft leader, etcd
 * first elects a new leader, and the new leader re-arms every lease with a
 * fresh TTL (etcd's lessor "promote"): the VIP moves only after etcd's
 * election + the whole TTL + the fence. With the leader elsewhere, the
 * same power loss costs only the TTL. So a node that owns a VIP and whose
 * own member leads asks etcd to hand leadership to another voting member:
 * the maintenance MoveLeader call (`etcdctl move-leader`), which etcd
 * carries out without an election (measured on etcd 3.4: 0.12 s, writes
 * pause meanwhile).
 *
 * This node's own member is the one that answers on the first configured
 * endpoint (the docs say to list the local member first); when a request
 * is answered by another endpoint (fail-over), that round is skipped.
 * MoveLeader must be sent to the leader; etcd answers "not leader"
 * (FAILED_PRECONDITION) otherwise, which ends the round.
 *
 * Moving only helps when the new leader's node owns no VIP: with VIPs on
 * every node (several VIPs spread over the nodes, or dual stack) each new
 * leader would move it on again, and every change of leader re-arms every
 * lease - also a dead node's, whose VIPs then wait (measured with 256 VIPs
 * on 3 nodes: owned again 52 s after a power loss instead of 6.7 s). So
 * the target is a voting member whose name (etcd's --name) is not the
 * node name of any VIP's owner as this node last read it (kubeadm, k3s
 * and Talos name a member after its node); when every other member's
 * node owns one, nothing is moved. Members named otherwise count as
 * owning nothing; so when this node's own member is not named after it
 * (node, copied: names are then not node names), a node whose member may
 * have become leader
 * less than the settle time ago (LEADERMOVE_SETTLE_MS, or 3 TTLs if
 * longer; a round that saw another leader, failed or was answered
 * elsewhere counts as "maybe not leader then", and the status is read
 * every interval whether or not this node owns a VIP) does not move it
 * on, so leadership changes at most once per settle time and a dead
 * node's lease (one TTL, re-armed by each change) runs out in between.
 *
 * Only logs; calls nobody back but the owns() question, from its own timer.
 */
#ifndef VIPD_LEADERMOVE_H
#define VIPD_LEADERMOVE_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct etcd;
struct leadermove;

/* Does node own a VIP now (node NULL: this node; else a node name, as
 * the election keys hold it, of the owner last read)? Asked from the
 * module's own handlers only. */
typedef bool leadermove_owns_fn(void *arg, const char *node);

/* A node that became leader this recently does not move leadership on
 * (ms): longer than any lease TTL vipd allows the defaults for (5 s) plus
 * etcd's election, so a dead node's lease expires between two moves. */
#define LEADERMOVE_SETTLE_MS 30000u

/*
 * Check every interval_ms (the lease TTL: a leader found on the owner's
 * member is moved within one TTL) whether this node owns a VIP (owns) and,
 * if so, whether the member on local_endpoint (copied) leads (node: this
 * node's name, copied); if it does,
 * move leadership to another voting member, the next one in member-list
 * order after each failure. Requests go through etcd (borrowed; must
 * outlive the handle). While this node owns no VIP only the status is
 * read (one request per interval), to know how long leadership has been
 * here when a VIP comes.
 */
struct leadermove *leadermove_new(struct loop *loop, struct etcd *etcd,
    const char *local_endpoint, const char *node, uint32_t interval_ms,
    leadermove_owns_fn *owns, void *arg);
/* NULL-safe; cancels what is in flight. */
void leadermove_free(struct leadermove *m);

/* Leadership transfers done (for tests and, later, metrics). */
uint64_t leadermove_moves(const struct leadermove *m);

#endif
