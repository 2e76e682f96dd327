/*
 * notify.c - sd_notify(3) readiness, status and watchdog (notify.h).
 */
#include "notify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "loop.h"
#include "xmem.h"

#define STATUS_MAX 256

struct notify {
	struct loop_timer *ready_timer;
	struct loop_timer *watchdog_timer;
	uint64_t watchdog_ms;
	bool ready;           /* READY=1 sent */
	bool warned;          /* a send failed and was logged */
	char status[STATUS_MAX];
};

uint64_t notify_watchdog_interval_ms(uint64_t usec)
{
	uint64_t ms;

	if (usec == 0)
		return 0;
	ms = usec / 2 / 1000;
	return ms > 0 ? ms : 1;
}

/* sd_notify returns > 0 when sent, 0 when there is no $NOTIFY_SOCKET. */
static void send_state(struct notify *n, const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0 && !n->warned) {
		n->warned = true;
		log_warnx("systemd: cannot notify the service manager: %s", strerror(-rc));
	}
}

/* what (may be ""), then the current status (an empty STATUS= clears it). */
static void send_with_status(struct notify *n, const char *what)
{
	char buf[STATUS_MAX + 64];

	snprintf(buf, sizeof(buf), "%s%sSTATUS=%s", what, what[0] ? "\n" : "", n->status);
	send_state(n, buf);
}

static void on_ready(void *arg)
{
	struct notify *n = arg;

	n->ready = true;
	send_with_status(n, "READY=1");
	log_debug("systemd: ready sent%s", n->watchdog_ms ? "; watchdog on" : "");
}

static void on_watchdog(void *arg)
{
	struct notify *n = arg;

	send_state(n, "WATCHDOG=1");
	loop_timer_arm(n->watchdog_timer, n->watchdog_ms);
}

struct notify *notify_new(struct loop *l)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	uint64_t usec = 0;

	n->ready_timer = loop_timer_new(l, on_ready, n);
	n->watchdog_timer = loop_timer_new(l, on_watchdog, n);
	if (n->ready_timer == NULL || n->watchdog_timer == NULL)
		fatalx("out of memory");
	if (sd_watchdog_enabled(0, &usec) > 0)
		n->watchdog_ms = notify_watchdog_interval_ms(usec);
	if (n->watchdog_ms > 0) {
		log_info("systemd: watchdog every %" PRIu64 " ms (WatchdogSec %" PRIu64 " ms)",
		    n->watchdog_ms, usec / 1000);
		loop_timer_arm(n->watchdog_timer, n->watchdog_ms);
	}
	return n;
}

void notify_start(struct notify *n, const char *status)
{
	if (n->ready || loop_timer_armed(n->ready_timer))
		return;
	if (status != NULL)
		snprintf(n->status, sizeof(n->status), "%s", status);
	loop_timer_arm(n->ready_timer, 0);
}

void notify_status(struct notify *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n->status, sizeof(n->status), fmt, ap);
	va_end(ap);
	if (n->ready)
		send_with_status(n, "");
}

void notify_stopping(struct notify *n, const char *status)
{
	if (status != NULL)
		snprintf(n->status, sizeof(n->status), "%s", status);
	loop_timer_disarm(n->ready_timer);
	send_with_status(n, "STOPPING=1");
}

uint64_t notify_watchdog_ms(const struct notify *n)
{
	return n->watchdog_ms;
}

void notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	loop_timer_free(n->ready_timer);
	loop_timer_free(n->watchdog_timer);
	free(n);
}
