/*
 * peers.h - the link-layer (MAC) addresses of the vipd nodes of one VIP,
 * kept in etcd beside the election so that a probe's answer can be told
 * apart: a peer (an old owner still stepping down) or a foreign host.
 *
 *   key   = <election name> ".mac/" <lease ID in lower-case hex>
 *           (e.g. /vipd/election/198.18.0.100.mac/694d8a1c2b3e4f01)
 *   value = the node's MAC on the VIP's link, "02:00:00:00:00:0b"
 *   lease = the node's session lease: the key goes when the lease does.
 *
 * The key is a sibling of the election's "<name>/" range, never inside it:
 * the election key's value stays the node name and `etcdctl elect -l
 * <name>` (which ranges "<name>/") never sees these keys. It stays inside
 * the configured etcd prefix, so the one read-write range of
 * docs/security.md still covers it.
 */
#ifndef VIPD_PEERS_H
#define VIPD_PEERS_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct etcd;
struct peers;

/* At most this many MACs are remembered (more peers than that on one VIP
 * are not a vipd cluster this version supports; the oldest goes first). */
#define PEERS_MAX 64
/* A peer's MAC counts as one for this long after the last read that had
 * it (ms): a revoked lease takes the key while its node may still answer
 * (peers.c, remember()). */
#define PEERS_FORGET_MS 600000u

/* Called once per peers_refresh(), from the etcd answer (never from
 * within peers_refresh): err 0 = the cache was updated with what etcd holds
 * now, else -errno (the cache is left as it was). */
typedef void peers_cb(void *arg, int err);

/* name: the election name (prefix + VIP), copied. */
struct peers *peers_new(struct loop *loop, struct etcd *etcd, const char *name);
/* NULL-safe; cancels requests in flight (no callback). The key stays: it
 * goes with the lease. */
void peers_free(struct peers *p);

/*
 * Publish mac (6 bytes) for lease: a put of the key above, attached to
 * lease. Does nothing when lease and mac are what was last published
 * successfully (or are being published); lease 0 or a zero mac forgets
 * (no etcd call: the old key goes with its lease, or is overwritten). A
 * failed put is logged by etcd.c and retried, backing off 200 ms .. 5 s.
 */
void peers_publish(struct peers *p, int64_t lease, const unsigned char mac[6]);

/* Is mac one of the peers' MACs, read within PEERS_FORGET_MS? */
bool peers_known(const struct peers *p, const unsigned char mac[6]);
/* Milliseconds since the last successful read (UINT64_MAX: never read). */
uint64_t peers_age_ms(const struct peers *p, uint64_t now_ms);

/* Read every peer's MAC again (one range read of "<name>.mac/"); cb runs
 * once with the outcome. A refresh already in flight is replaced (its
 * callback does not run). */
void peers_refresh(struct peers *p, peers_cb *cb, void *arg);

/* Read the peers' MACs now, with no callback, unless a read is in flight
 * (which it would replace): so that a candidate knows the leader's MAC
 * before it may have to tell it from a foreign host - a lease revoked from
 * outside takes that MAC's key just when the old owner may still answer.
 * NULL-safe. */
void peers_prefetch(struct peers *p);

/* The refresh in flight no longer calls back (its answer still fills the
 * cache). NULL-safe; nothing in flight is fine. */
void peers_refresh_forget(struct peers *p);

/* "aa:bb:cc:dd:ee:ff" into out (at least 18 bytes). */
void peers_mac_str(const unsigned char mac[6], char out[18]);

#endif
