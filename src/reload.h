/*
 * reload.h - what a configuration reload changes (SIGHUP, `vipctl reload`):
 * the plan, computed from the running config and a freshly parsed one.
 * Pure: no I/O, no live state (unit-tested in tests/unit/test_reload.c);
 * daemon.c carries the plan out (docs/design.md, "Reload").
 *
 * A VIP's identity is its cfg_vip as cfg_vip_equal() compares it: the
 * address and the whole link spec (interface, or selector, or typed link;
 * VLAN id, name and protocol; alias and its index). A VIP in both configs
 * is kept and not touched; one only in the old config is removed; one only
 * in the new is added. A VIP whose link spec changed is removed + added.
 *
 * The other settings, each applied or reported, never silently ignored:
 *   applied now         vipd.log.level, vipd.announce.*, vipd.etcd.endpoints
 *                       (the running client's list is replaced: requests in
 *                       flight finish where they are; etcd.h)
 *   at the next lease   vipd.lease.ttl (the current lease keeps its TTL, its
 *                       keepalive interval and fence: session.h)
 *   needs a restart     vipd.node, vipd.controlSocket, vipd.controlGroup,
 *                       vipd.metrics.listen,
 *                       vipd.createVlans, vipd.etcd.{caFile, certFile,
 *                       keyFile, username, passwordFile, prefix, timeout,
 *                       allowInsecure, avoidLeader}
 */
#ifndef VIPD_RELOAD_H
#define VIPD_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct cfg;

/* old_of_new[i] for a new VIP without an old one (an added VIP). */
#define RELOAD_ADDED ((size_t)-1)

struct reload_plan {
	size_t *old_of_new;      /* per new VIP: the old VIP index kept for it,
	                            or RELOAD_ADDED */
	bool *removed;           /* per old VIP: not in the new config */
	size_t n_kept, n_added, n_removed;
	bool log_level;          /* vipd.log.level changed: apply */
	bool announce;           /* vipd.announce.* changed: apply to every VIP */
	bool lease_ttl;          /* vipd.lease.ttl changed: for the next lease */
	bool endpoints;          /* vipd.etcd.endpoints changed: apply */
	bool hooks;              /* vipd.hooks changed: for later events */
	bool health;             /* vipd.health changed: new checks */
	json_t *applied;         /* array of strings, "logLevel info -> debug" */
	json_t *next_lease;      /* array of strings, "leaseTTL 5s -> 3s" */
	json_t *restart;         /* array of strings: keys needing a restart */
};

/*
 * Compare the running config old with the parsed config new (both
 * validated by cfg_load) and fill p (zeroed first). Then, for every
 * setting that needs a restart and differs, the running value is moved
 * into new and the file's value into old (pointers swapped, nothing
 * copied), so new describes what runs after the reload and a later
 * reload reports the same difference again. Returns 0; the caller frees
 * p with reload_plan_free. Aborts only when out of memory (xmem.h), as
 * the parser does.
 */
int reload_plan_make(struct cfg *old, struct cfg *new, struct reload_plan *p);
/* NULL-safe; leaves p zeroed. */
void reload_plan_free(struct reload_plan *p);

/*
 * The answer to `vipctl reload` (docs/operations.md, "vipctl"): on success
 * {"ok":true,"command":"reload","node":..,"path":..,"vips":{"kept":[..],
 * "added":[..],"removed":[..]},"applied":[..],"next_lease":[..],
 * "restart_needed":[..]}; old and new are the configs as they were passed
 * to reload_plan_make (after it). A new reference; NULL if out of memory.
 */
json_t *reload_answer(const struct cfg *old, const struct cfg *new,
    const struct reload_plan *p, const char *node);
/*
 * The answer when the file is rejected: {"ok":false,"command":"reload",
 * "node":..,"path":..,"error":"...","errors":["file:line:col: ...", ...]}.
 * errs: cfg_load's error text, one error a line (may be "").
 */
json_t *reload_answer_failed(const char *path, const char *errs, const char *node);

/*
 * The one-line summary for the log: "vips kept=1 added=0 removed=0
 * applied=[...] next_lease=[...] restart_needed=[...]" from an answer of
 * reload_answer. Malloc'ed; the caller frees.
 */
char *reload_summary(const json_t *answer);

/*
 * Parse path into a fresh config. Returns it, or NULL with *errs set to
 * cfg_load's errors (malloc'ed text, one a line; the caller frees it).
 * Never exits: a bad file is only an error.
 */
struct cfg *reload_parse(const char *path, char **errs);

#endif
