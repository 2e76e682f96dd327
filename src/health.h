/*
 * health.h - vipd.health: checks run on the loop that gate candidacy.
 *
 * Every interval a round starts every check at once (tcp connect, http
 * GET, exec); each one enforces its own timeout (a loop timer with a
 * nonblocking connect, libcurl's CURLOPT_TIMEOUT_MS on curlloop.h, child.h's
 * SIGTERM then SIGKILL to the program's process group), so nothing waits
 * and a hanging check never delays the loop (measured: t_62_health_exec). A
 * round that has not finished when the next one is due is not started a
 * second time (that round is skipped). A round passes when every check
 * passed. fall rounds in a row failing make the node unhealthy, rise in a
 * row passing make it healthy again (keepalived's and HAProxy's fall/rise).
 *
 * Initial state: healthy, so the first node of a kubeadm cluster takes the
 * VIP before its API server answers; with startGrace, failing rounds are
 * not counted until startGrace after health_new has passed or a round has
 * passed, whichever comes first (docs/configuration.md, "Health checks").
 */
#ifndef VIPD_HEALTH_H
#define VIPD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct cfg_health;
struct health;

/* ---- the pure state machine (unit-tested without a loop) ------------------ */

struct health_sm {
	bool healthy;            /* starts true */
	unsigned fails, passes;  /* rounds in a row, capped at fall / rise */
	bool grace_over;         /* a round passed, or startGrace ran out */
};

/* The initial state: healthy, counters zero, grace not over. */
void health_sm_init(struct health_sm *sm);

/*
 * Fold one finished round in. pass: every check passed. in_grace: the
 * caller's clock is still inside startGrace (ignored once a round has
 * passed: grace_over). A failing round inside the grace is not counted.
 * Returns true when sm->healthy changed.
 */
bool health_sm_step(struct health_sm *sm, unsigned fall, unsigned rise, bool pass,
    bool in_grace);

/* ---- the module on the loop ----------------------------------------------- */

/*
 * Told from health's own event handlers (a check's fd, timer, child or
 * libcurl completion), never from within a call into health. why: the
 * first failing check and its reason ("tcp 127.0.0.1:6443: connect:
 * Connection refused") when unhealthy, "" when healthy; borrowed for the
 * call.
 */
typedef void health_changed_cb(void *arg, bool healthy, const char *why);

/*
 * Start the rounds: the first on the loop's next turn, then one every
 * interval (from each round's start). cfg must have n_checks > 0 and outlive the
 * health module. Returns NULL (errno set) if libcurl's multi handle
 * cannot be made.
 */
struct health *health_new(struct loop *l, const struct cfg_health *cfg,
    health_changed_cb *cb, void *arg);
/*
 * A reload whose vipd.health is equal (cfg_health_equal) to the running
 * one: the module carries on with cfg (borrowed from now on, same rules),
 * its state and counters untouched.
 */
void health_rebind(struct health *h, const struct cfg_health *cfg);
/*
 * A reload that changed vipd.health on an unhealthy node: the new module
 * (just made by health_new) starts unhealthy for why (copied), without
 * startGrace, and needs rise passing rounds to become healthy, so new
 * checks never make a failing node a candidate at once. No callback.
 */
void health_start_unhealthy(struct health *h, const char *why);

/* NULL-safe. Cancels running checks: closes sockets and transfers, kills
 * (SIGKILL) and reaps the children. Never calls back. */
void health_free(struct health *h);

/* The state now: true until fall rounds in a row have failed. */
bool health_ok(const struct health *h);
/* Why unhealthy (as given to the callback); "" when healthy. Borrowed. */
const char *health_why(const struct health *h);
/* Rounds finished, and rounds skipped because the previous one still ran. */
uint64_t health_rounds(const struct health *h);
uint64_t health_skipped(const struct health *h);

#endif
