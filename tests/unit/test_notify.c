/*
 * test_notify.c - notify.c: the watchdog interval arithmetic (pure), and
 * what reaches a notify socket on the virtual clock: READY=1 only once
 * the loop turns, WATCHDOG=1 at half of $WATCHDOG_USEC, STOPPING=1, and
 * nothing at all without $NOTIFY_SOCKET.
 *
 * The socket is a real AF_UNIX datagram socket in a temporary directory,
 * as systemd's /run/systemd/notify is; sd_notify(3) is libsystemd's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_loop.h"
#include "loop.h"
#include "notify.h"
#include "testkit.h"

/* ---- the arithmetic --------------------------------------------------- */

static void test_interval_half(void **state)
{
	(void)state;
	assert_int_equal(notify_watchdog_interval_ms(0), 0);
	assert_int_equal(notify_watchdog_interval_ms(30000000), 15000);  /* 30 s */
	assert_int_equal(notify_watchdog_interval_ms(1000000), 500);
	/* rounded down: a ping early is harmless, late is a restart */
	assert_int_equal(notify_watchdog_interval_ms(2999), 1);
	assert_int_equal(notify_watchdog_interval_ms(3001999), 1500);
	/* at least 1 ms: a timer of 0 would spin */
	assert_int_equal(notify_watchdog_interval_ms(1), 1);
	assert_int_equal(notify_watchdog_interval_ms(1999), 1);
	/* systemd's largest, "infinity" aside: no overflow */
	assert_int_equal(notify_watchdog_interval_ms(UINT64_MAX - 1), (UINT64_MAX - 1) / 2000);
}

/* ---- on a socket ------------------------------------------------------ */

struct sock {
	char dir[32];
	char path[64];
	int fd;
};

static void sock_open(struct sock *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(s->dir, sizeof(s->dir), "/tmp/test_notify.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/notify", s->dir);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(s->fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", s->path);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", s->path, 1), 0);
}

static void sock_close(struct sock *s)
{
	close(s->fd);
	unlink(s->path);
	rmdir(s->dir);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* The next datagram, "" if none is waiting. */
static const char *sock_next(struct sock *s)
{
	static char buf[1024];
	ssize_t n = recv(s->fd, buf, sizeof(buf) - 1, 0);

	if (n < 0) {
		assert_int_equal(errno, EAGAIN);
		n = 0;
	}
	buf[n] = '\0';
	return buf;
}

static void test_ready_from_the_loop(void **state)
{
	struct sock s;
	struct loop *l;
	struct notify *n;

	(void)state;
	testkit_start("test_notify");
	sock_open(&s);
	l = loop_new();
	n = notify_new(l);
	assert_int_equal(notify_watchdog_ms(n), 0);
	notify_start(n, "running");
	/* Not before the loop turns. */
	assert_string_equal(sock_next(&s), "");
	fake_loop_run_due();
	assert_string_equal(sock_next(&s), "READY=1\nSTATUS=running");
	assert_string_equal(sock_next(&s), "");
	/* Once only. */
	notify_start(n, "again");
	fake_loop_advance(1000);
	assert_string_equal(sock_next(&s), "");
	notify_status(n, "lease %d held", 7);
	assert_string_equal(sock_next(&s), "STATUS=lease 7 held");
	notify_stopping(n, "stopping");
	assert_string_equal(sock_next(&s), "STOPPING=1\nSTATUS=stopping");
	notify_free(n);
	loop_free(l);
	sock_close(&s);
	testkit_reset_fakes();
}

/* A status set before READY rides on READY=1; nothing is sent early. */
static void test_status_before_ready(void **state)
{
	struct sock s;
	struct loop *l;
	struct notify *n;

	(void)state;
	testkit_start("test_notify");
	sock_open(&s);
	l = loop_new();
	n = notify_new(l);
	notify_start(n, "first");
	notify_status(n, "second");
	assert_string_equal(sock_next(&s), "");
	fake_loop_run_due();
	assert_string_equal(sock_next(&s), "READY=1\nSTATUS=second");
	notify_free(n);
	loop_free(l);
	sock_close(&s);
	testkit_reset_fakes();
}

static void test_watchdog_half_interval(void **state)
{
	struct sock s;
	struct loop *l;
	struct notify *n;
	char pid[32];

	(void)state;
	testkit_start("test_notify");
	sock_open(&s);
	setenv("WATCHDOG_USEC", "3000000", 1);      /* WatchdogSec=3 */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	l = loop_new();
	n = notify_new(l);
	assert_int_equal(notify_watchdog_ms(n), 1500);
	fake_loop_advance(1499);
	assert_string_equal(sock_next(&s), "");
	fake_loop_advance(1);
	assert_string_equal(sock_next(&s), "WATCHDOG=1");
	assert_string_equal(sock_next(&s), "");
	/* Every 1500 ms after: 4 more in 6 s, and it goes on while stopping. */
	notify_stopping(n, NULL);
	assert_string_equal(sock_next(&s), "STOPPING=1\nSTATUS=");
	fake_loop_advance(6000);
	for (int i = 0; i < 4; i++)
		assert_string_equal(sock_next(&s), "WATCHDOG=1");
	assert_string_equal(sock_next(&s), "");
	notify_free(n);
	/* Freed: the timer is gone. */
	assert_int_equal(fake_loop_armed(), 0);
	loop_free(l);
	sock_close(&s);
	testkit_reset_fakes();
}

/* $WATCHDOG_PID naming another process: not ours to ping (a child that
 * inherited the environment must not keep its parent alive). */
static void test_watchdog_other_pid(void **state)
{
	struct loop *l;
	struct notify *n;

	(void)state;
	testkit_start("test_notify");
	setenv("WATCHDOG_USEC", "3000000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	l = loop_new();
	n = notify_new(l);
	assert_int_equal(notify_watchdog_ms(n), 0);
	assert_int_equal(fake_loop_armed(), 0);
	notify_free(n);
	loop_free(l);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	testkit_reset_fakes();
}

/* No $NOTIFY_SOCKET: every call is a no-op that logs nothing. */
static void test_no_socket(void **state)
{
	struct loop *l;
	struct notify *n;

	(void)state;
	testkit_start("test_notify");
	unsetenv("NOTIFY_SOCKET");
	l = loop_new();
	n = notify_new(l);
	notify_start(n, "x");
	fake_loop_run_due();
	notify_status(n, "y");
	notify_stopping(n, "z");
	notify_free(n);
	notify_free(NULL);
	loop_free(l);
	testkit_reset_fakes();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval_half),
		cmocka_unit_test(test_ready_from_the_loop),
		cmocka_unit_test(test_status_before_ready),
		cmocka_unit_test(test_watchdog_half_interval),
		cmocka_unit_test(test_watchdog_other_pid),
		cmocka_unit_test(test_no_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
