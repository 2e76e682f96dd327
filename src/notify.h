/*
 * notify.h - readiness, status and watchdog for systemd's service manager
 * (sd_notify(3) of libsystemd; the protocol is systemd's "notify socket":
 * datagrams of NAME=VALUE lines to $NOTIFY_SOCKET).
 *
 * vipd is ready once its loop runs with the configuration loaded, the
 * capabilities dropped and netlink open: READY=1 is sent from the loop's
 * first iteration. It does NOT wait for etcd: with kubeadm the VIP fronts
 * the API server that etcd's own bring-up may depend on, and a unit that
 * is "activating" until etcd answers would hold up everything ordered
 * after it (and time out), while vipd itself handles etcd being away.
 *
 * Without $NOTIFY_SOCKET (not started by systemd, or Type=simple) every
 * call here does nothing. Errors sending are logged once, never fatal:
 * the manager's view is a convenience, the VIP's safety does not rest on
 * it.
 */
#ifndef VIPD_NOTIFY_H
#define VIPD_NOTIFY_H

#include <stdint.h>

struct loop;
struct notify;

/*
 * The watchdog ping interval in ms for a manager's watchdog timeout of
 * usec microseconds ($WATCHDOG_USEC): half of it, rounded down, at least
 * 1 ms (sd_watchdog_enabled(3) recommends pinging at half the timeout).
 * 0 for usec == 0 (no watchdog). Pure.
 */
uint64_t notify_watchdog_interval_ms(uint64_t usec);

/*
 * Read the environment ($NOTIFY_SOCKET; $WATCHDOG_USEC and $WATCHDOG_PID
 * through sd_watchdog_enabled(3)) and, when a watchdog is asked for, start
 * a timer on l that sends WATCHDOG=1 every notify_watchdog_interval_ms().
 * Nothing is sent before notify_start(). Returns a new object (the caller
 * frees it with notify_free()); never NULL (xmem aborts on no memory).
 */
struct notify *notify_new(struct loop *l);

/*
 * Send READY=1 and STATUS=status (copied; NULL for none) from the loop's
 * next iteration, i.e. once loop_run() runs. Once only; later calls do
 * nothing.
 */
void notify_start(struct notify *n, const char *status);

/* STATUS=<printf format> (at most 256 bytes; longer is cut). Sent at once
 * when ready was sent, otherwise it replaces the status READY=1 carries. */
void notify_status(struct notify *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* STOPPING=1 (and STATUS=status if not NULL): the stop sequence began.
 * The watchdog keeps pinging until notify_free(): the stop runs on the
 * loop too (at most 1.8 s, STOP_DEADLINE_MS in daemon.c). */
void notify_stopping(struct notify *n, const char *status);

/* The watchdog interval in force, ms; 0 when none. */
uint64_t notify_watchdog_ms(const struct notify *n);

/* NULL-safe. Stops the watchdog timer. */
void notify_free(struct notify *n);

#endif
