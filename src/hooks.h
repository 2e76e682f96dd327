/*
 * hooks.h - vipd.hooks: programs run after this node starts or stops
 * holding a VIP (onAcquire, onRelease), e.g. to move a cloud provider's
 * floating IP (contrib/hooks/).
 *
 * A hook never gates a transition: it is told after the fact. The VIP
 * calls hooks_event when the address is on the link (acquire) or has been
 * deleted (release); that call only queues the event, and the hooks
 * module starts the program from its own 0 ms timer (never from inside
 * the VIP's call), through child.h: no shell, environment VIPD_EVENT
 * (acquire|release), VIPD_VIP, VIPD_LINK, VIPD_NODE, VIPD_REASON and PATH,
 * vipd.hooks.timeout (SIGTERM, SIGKILL 2 s later), output into the log.
 *
 * Per VIP the hooks run one at a time, in the order of the events, so a
 * provider API sees acquire and release in the order they happened: an
 * event that comes while that VIP's hook runs waits (at most
 * HOOKS_QUEUE_MAX events wait per VIP; past that the oldest waiting one
 * is dropped and logged). Different VIPs' hooks run side by side.
 */
#ifndef VIPD_HOOKS_H
#define VIPD_HOOKS_H

#include <stdbool.h>

struct loop;
struct cfg_hooks;
struct hooks;

/* Events waiting per VIP while its hook runs. */
#define HOOKS_QUEUE_MAX 4

enum hooks_event { HOOKS_ACQUIRE, HOOKS_RELEASE };

/* The hooks of cfg for this node (both copied: a reload may free cfg).
 * Never NULL (allocation failure is fatal); with no hook configured
 * hooks_event does nothing. */
struct hooks *hooks_new(struct loop *loop, const struct cfg_hooks *cfg, const char *node);

/* A reload: the hooks of cfg (copied, as by hooks_new) from now on.
 * Events queued or started later run the new programs with the new
 * timeout; a hook already running keeps its own; an event still waiting
 * whose hook the reload removed is dropped when its turn comes ("hook:
 * not run, no onRelease hook since the reload ..."). */
void hooks_rebind(struct hooks *h, const struct cfg_hooks *cfg);

/* Queue ev for vip (on link, for reason; all copied). Returns at once:
 * the hook starts from the loop (see the top). NULL-safe (h NULL: no
 * hooks, as in unit tests of the VIP). */
void hooks_event(struct hooks *h, enum hooks_event ev, const char *vip, const char *link,
    const char *reason);

/* For a stop: from now on every queued event starts at once, without
 * waiting for the hook running for the same VIP, and cb(arg) runs once -
 * from a hooks event handler (a 0 ms timer or a hook's end), never from
 * inside this call - when no hook runs or waits any more. The caller
 * bounds the wait itself (the daemon's stop deadline). */
void hooks_drain(struct hooks *h, void (*cb)(void *arg), void *arg);

/* True when no hook runs or waits. */
bool hooks_idle(const struct hooks *h);

/* Kill (SIGKILL) and reap the hooks still running, drop the waiting ones
 * (each logged). NULL-safe. */
void hooks_free(struct hooks *h);

#endif
