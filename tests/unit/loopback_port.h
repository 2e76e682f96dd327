/*
 * loopback_port.h - a TCP socket bound to a free 127.0.0.1 port (the
 * kernel picks it), for the unit tests that run a server of their own
 * (test_etcd, test_curlloop, test_health).
 *
 * Header-only (static inline); failures are cmocka assertions.
 */
#ifndef VIPD_LOOPBACK_PORT_H
#define VIPD_LOOPBACK_PORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* The socket's fd (the caller closes it); *port: its port. backlog >= 0:
 * listening with that backlog. backlog < 0: bound and never listening, so
 * a connect to the port is refused (RST) for as long as the caller holds
 * the fd, and no other socket can take the port meanwhile (a port just
 * closed could be taken by another listener before the connect). */
static inline int loopback_port(int backlog, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

#endif
