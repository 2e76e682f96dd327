/*
 * owners.h - the cluster-wide view of vipd's elections, read from etcd in
 * one range request: for each VIP, the owner and the candidates queued
 * behind it, in the order etcd's election recipe serves them (lowest
 * create revision first). What `vipctl owners` shows; it works on any
 * node, whether or not a vipd runs there.
 *
 * An election key is <prefix><VIP>/<lease id in hex> with the node name as
 * its value (elect.c, and etcd's concurrency package, so `etcdctl elect`
 * candidates on a VIP's election appear too); <VIP> is an IPv4 or IPv6
 * address in text form, the lease 1..16 lower-case hex digits. The peers'
 * MAC keys beside each election (<prefix><VIP>.mac/..., peers.h) are
 * skipped; keys under the prefix of any other shape are counted, not shown.
 */
#ifndef VIPD_OWNERS_H
#define VIPD_OWNERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct owners_cand {
	char *node;            /* the key's value (as etcd holds it; may hold any byte
				  but NUL: escaped when printed) */
	int64_t lease;         /* the key's lease (0 = none) */
	int64_t create_rev;    /* the key's create revision */
	char *key;             /* the whole key */
};

struct owners_vip {
	char *vip;             /* the election's name under the prefix */
	bool configured;       /* named by the local configuration */
	struct owners_cand *cand; /* queue order; cand[0] is the owner */
	size_t n;
};

struct owners {
	struct owners_vip *vips; /* in the order of owners_sort() */
	size_t n;
	size_t other_keys;     /* keys under the prefix that are no election key */
	int64_t revision;      /* the read's header revision */
};

/*
 * Fill o (zeroed by the caller) from the body of a /v3/kv/range reply for
 * [prefix, prefix end) with values, in any order. Returns 0, or -EPROTO
 * when the reply is not a range reply (no header revision, kvs not an
 * array, a kv without key or create_revision); o is then freed.
 */
int owners_parse(struct owners *o, const json_t *reply, const char *prefix);

/* Make sure vip has an entry (with no candidates if etcd had none) and
 * mark it configured. */
void owners_add_configured(struct owners *o, const char *vip);

/* VIPs by address (IPv4 before IPv6, numerically), other names after, by
 * text; each queue by create revision (ties, which etcd never gives, by key). */
void owners_sort(struct owners *o);

/* Aligned columns: VIP, OWNER, LEASE, SINCE_REV, QUEUE; "-" for none. */
void owners_print(const struct owners *o, FILE *out);

/*
 * The stable JSON form (docs/operations.md "vipctl"): {"revision": N,
 * "other_keys": N, "vips": [{"vip", "configured", "owner": null |
 * {"node", "lease" (hex text), "create_revision", "key"}, "queue": [...]}]}.
 * New reference.
 */
json_t *owners_json(const struct owners *o);

/* NULL-safe. */
void owners_free(struct owners *o);

#endif
