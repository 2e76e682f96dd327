/*
 * health_tcp.c - a tcp check: a nonblocking connect to a numeric
 * address, bounded by a loop timer. Passes when the connection is
 * established (the kernel finished the handshake); it is closed at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "health_int.h"
#include "loop.h"
#include "xmem.h"

struct htcp {
	struct loop *loop;
	int fd;
	struct loop_timer *timer;
	uint32_t timeout_ms;
	hcheck_done *done;
	void *arg;
};

/* "a.b.c.d:port" or "[v6]:port" (cfg_health.c checked the form). */
static int parse_target(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;
	unsigned long port;

	if (colon == NULL)
		return -EINVAL;
	port = strtoul(colon + 1, NULL, 10);
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		n = (size_t)(colon - s) - 2;
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	{
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		n = (size_t)(colon - s);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = '\0';
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
	}
}

static void finish(struct htcp *t, bool pass, const char *fmt, const char *what)
{
	struct hresult r = { .pass = pass };
	hcheck_done *done = t->done;
	void *arg = t->arg;

	if (!pass)
		snprintf(r.why, sizeof(r.why), fmt, what);
	htcp_cancel(t);
	done(arg, &r);
}

static void on_writable(int fd, unsigned events, void *arg)
{
	struct htcp *t = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0)
		finish(t, true, "", "");
	else
		finish(t, false, "connect: %s", strerror(err));
}

static void on_timeout(void *arg)
{
	struct htcp *t = arg;
	char ms[24];

	snprintf(ms, sizeof(ms), "%u", t->timeout_ms);
	finish(t, false, "connect: no answer within %s ms (timeout)", ms);
}

struct htcp *htcp_start(struct loop *l, const struct cfg_check *c, uint32_t timeout_ms,
    hcheck_done *done, void *arg, struct hresult *now)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	struct htcp *t;
	int fd, r;

	if (parse_target(c->target, &ss, &len) < 0) {
		*now = (struct hresult){ .pass = false, .why = "not an address:port" };
		return NULL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*now = (struct hresult){ .pass = false };
		snprintf(now->why, sizeof(now->why), "socket: %s", strerror(errno));
		return NULL;
	}
	r = connect(fd, (struct sockaddr *)&ss, len);
	if (r == 0 || errno != EINPROGRESS) {
		*now = (struct hresult){ .pass = r == 0 };
		if (r < 0)
			snprintf(now->why, sizeof(now->why), "connect: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	*t = (struct htcp){ .loop = l, .fd = fd, .timeout_ms = timeout_ms, .done = done,
		.arg = arg };
	if (loop_fd_add(l, fd, LOOP_WRITE, on_writable, t) < 0) {
		*now = (struct hresult){ .pass = false, .why = "cannot watch the socket" };
		close(fd);
		free(t);
		return NULL;
	}
	t->timer = loop_timer_new(l, on_timeout, t);
	loop_timer_arm(t->timer, timeout_ms);
	return t;
}

void htcp_cancel(struct htcp *t)
{
	if (t == NULL)
		return;
	loop_fd_del(t->loop, t->fd);
	close(t->fd);
	loop_timer_free(t->timer);
	free(t);
}
