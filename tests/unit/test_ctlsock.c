/*
 * test_ctlsock.c - the control socket on the real event loop, in a
 * private temporary directory: the file's mode, a stale file replaced, a
 * live one or a non-socket refused, a request answered through the
 * handler, a malformed or oversized one refused without calling it, a
 * silent client dropped at the deadline, the file removed at close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "ctlsock.h"
#include "loop.h"

struct t {
	char dir[32];
	char path[64];
	struct loop *loop;
	struct loop_timer *stop;
	int calls;
	struct ctl_req last;
};

static char *handler(void *arg, const struct ctl_req *req, uid_t uid)
{
	struct t *t = arg;
	char *s;

	(void)uid;
	t->calls++;
	t->last = *req;
	if (asprintf(&s, "{\"ok\":true,\"command\":\"%s\"}", ctlproto_cmd_name(req->cmd)) < 0)
		return NULL;
	return s;
}

static void on_stop(void *arg)
{
	loop_stop(arg);
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/test_ctlsock.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/vipd.sock", t->dir);
	t->loop = loop_new();
	assert_non_null(t->loop);
	t->stop = loop_timer_new(t->loop, on_stop, t->loop);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	loop_timer_free(t->stop);
	loop_free(t->loop);
	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void run_ms(struct t *t, uint64_t ms)
{
	loop_timer_arm(t->stop, ms);
	assert_int_equal(loop_run(t->loop), 0);
}

/* True once the daemon closed fd's connection (its answer, if any, is
 * then all in fd's receive buffer); reads nothing. */
static bool peer_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP)) != 0;
}

/* Run the loop in 20 ms steps until the daemon closed all n of fds and
 * the handler ran calls times, at most 5 s (the daemon answers within a
 * loop turn; the cap is for a loaded machine, and for a test that fails). */
static void run_until_closed(struct t *t, const int *fds, size_t n, int calls)
{
	for (int i = 0; i < 250; i++) {
		size_t done = 0;

		for (size_t j = 0; j < n; j++)
			done += peer_closed(fds[j]);
		if (done == n && t->calls == calls)
			return;
		run_ms(t, 20);
	}
}

static int client(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Everything the daemon sent before closing ("" if nothing), or NULL if
 * the connection is still open. */
static char *answer(int fd)
{
	static char buf[8192];
	size_t len = 0;
	ssize_t n;

	while ((n = recv(fd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	if (n < 0 && errno == EAGAIN)
		return NULL;
	buf[len] = '\0';
	return buf;
}

static struct ctlsock *open_ok(struct t *t)
{
	char why[256] = "";
	struct ctlsock *s = ctlsock_open(t->loop, t->path, handler, t, why, sizeof(why));

	if (s == NULL)
		fail_msg("ctlsock_open: %s", why);
	return s;
}

static void test_mode_answer_and_removal(void **state)
{
	struct t *t = *state;
	struct ctlsock *s = open_ok(t);
	struct stat st;
	int fd;

	assert_int_equal(stat(t->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	fd = client(t->path);
	assert_true(fd >= 0);
	assert_int_equal(send(fd, "pause 198.18.0.100\n", 19, 0), 19);
	run_until_closed(t, &fd, 1, 1);
	assert_int_equal(t->calls, 1);
	assert_int_equal(t->last.cmd, CTL_PAUSE);
	assert_string_equal(t->last.vip, "198.18.0.100");
	assert_string_equal(answer(fd), "{\"ok\":true,\"command\":\"pause\"}\n");
	close(fd);
	ctlsock_close(s);
	assert_int_equal(stat(t->path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* vipd.controlGroup: 0660 with that group (by number: the test's own
 * group, so it works as any user); an unknown name leaves 0600. */
static void test_group(void **state)
{
	struct t *t = *state;
	struct ctlsock *s = open_ok(t);
	struct stat st;
	char why[256] = "", gid[32];

	assert_int_equal(ctlsock_set_group(s, "no-such-group-vipd-test", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no such group"));
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(gid, sizeof(gid), "%u", (unsigned)getgid());
	assert_int_equal(ctlsock_set_group(s, gid, why, sizeof(why)), 0);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, getgid());
	ctlsock_close(s);
}

static void test_refused_requests(void **state)
{
	struct t *t = *state;
	struct ctlsock *s = open_ok(t);
	char *big = malloc(CTL_MAX_REQUEST + 10);
	int a = client(t->path), b = client(t->path), c = client(t->path);

	memset(big, 'x', CTL_MAX_REQUEST + 10);
	assert_int_equal(send(a, "hello\n", 6, 0), 6);
	/* The daemon stops reading at the limit: part of it stays unsent. */
	assert_true(send(b, big, CTL_MAX_REQUEST + 10, MSG_DONTWAIT) > 0);
	assert_int_equal(send(c, "status\n", 7, 0), 7);
	run_until_closed(t, (int[]){ a, b, c }, 3, 1);
	assert_int_equal(t->calls, 1); /* only c's */
	assert_string_equal(answer(a),
	    "{\"ok\":false,\"error\":\"unknown command (status, release, pause, resume, reload)\"}\n");
	assert_string_equal(answer(b), "{\"ok\":false,\"error\":\"request too long\"}\n");
	assert_string_equal(answer(c), "{\"ok\":true,\"command\":\"status\"}\n");
	close(a);
	close(b);
	close(c);
	free(big);
	ctlsock_close(s);
}

static void test_silent_client_dropped_at_deadline(void **state)
{
	struct t *t = *state;
	struct ctlsock *s = open_ok(t);
	int fd = client(t->path), fd2;

	assert_true(fd >= 0);
	run_ms(t, CTLSOCK_DEADLINE_MS / 2); /* half: a stalled test still passes */
	assert_null(answer(fd)); /* still open */
	/* Meanwhile another client is answered. */
	fd2 = client(t->path);
	assert_int_equal(send(fd2, "status\n", 7, 0), 7);
	run_until_closed(t, &fd2, 1, 1);
	assert_string_equal(answer(fd2), "{\"ok\":true,\"command\":\"status\"}\n");
	/* fd's deadline comes CTLSOCK_DEADLINE_MS after its accept, about
	 * half of it from now. */
	run_until_closed(t, &fd, 1, 1);
	assert_string_equal(answer(fd), ""); /* closed, nothing said */
	assert_int_equal(t->calls, 1);
	close(fd);
	close(fd2);
	ctlsock_close(s);
}

static void test_too_many_clients(void **state)
{
	struct t *t = *state;
	struct ctlsock *s = open_ok(t);
	int fds[CTLSOCK_MAX_CONNS + 2];

	for (size_t i = 0; i < CTLSOCK_MAX_CONNS + 2; i++) {
		fds[i] = client(t->path);
		assert_true(fds[i] >= 0);
	}
	/* Until the two past the limit are closed; the others' deadline is
	 * CTLSOCK_DEADLINE_MS away, so they must still be open then. */
	run_until_closed(t, fds + CTLSOCK_MAX_CONNS, 2, 0);
	for (size_t i = 0; i < CTLSOCK_MAX_CONNS; i++)
		assert_null(answer(fds[i]));
	for (size_t i = CTLSOCK_MAX_CONNS; i < CTLSOCK_MAX_CONNS + 2; i++)
		assert_string_equal(answer(fds[i]), ""); /* closed at once */
	for (size_t i = 0; i < CTLSOCK_MAX_CONNS + 2; i++)
		close(fds[i]);
	ctlsock_close(s);
}

static void test_stale_live_and_not_a_socket(void **state)
{
	struct t *t = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ctlsock *s, *s2;
	char why[256];
	int fd;

	/* A stale socket file: bound, never listened on, closed. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", t->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	assert_int_equal(client(t->path), -ECONNREFUSED);
	s = open_ok(t);
	/* A live one: refused, and left alone. */
	why[0] = '\0';
	s2 = ctlsock_open(t->loop, t->path, handler, t, why, sizeof(why));
	assert_null(s2);
	assert_non_null(strstr(why, "is served by another process"));
	fd = client(t->path);
	assert_true(fd >= 0);
	close(fd);
	ctlsock_close(s);
	/* Not a socket: refused, and left alone. */
	fd = open(t->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	s2 = ctlsock_open(t->loop, t->path, handler, t, why, sizeof(why));
	assert_null(s2);
	assert_non_null(strstr(why, "exists and is not a socket"));
	assert_int_equal(access(t->path, F_OK), 0);
	/* A relative path: refused. */
	assert_null(ctlsock_open(t->loop, "vipd.sock", handler, t, why, sizeof(why)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mode_answer_and_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_client_dropped_at_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_live_and_not_a_socket, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
