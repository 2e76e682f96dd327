/*
 * standin.c - the lab's stand-in for the API server: answers every TCP
 * connection with one line (the node name) and closes it.
 *
 *   standin -n NAME [-p PORT] [-l ADDR]
 *
 * One process, one non-blocking dual-stack listening socket ([::]:PORT with
 * IPV6_V6ONLY off, so IPv4 clients arrive as v4-mapped addresses; -l binds
 * one numeric address instead), one poll() loop. When the socket is
 * readable it accepts every pending connection, writes "NAME\n" into the
 * fresh socket's empty send buffer (always fits: it is a few bytes) and
 * closes it, which sends the answer and the FIN together. Nothing forks,
 * nothing waits for the peer, no per-connection state survives the accept
 * loop: an answer takes one wake-up of this process, a few microseconds of
 * CPU, however many connections arrive at once.
 *
 * Why not socat: `socat TCP-LISTEN:...,fork EXEC:'echo NAME'` forks a socat
 * and execs an echo for every connection, a chain of three processes that
 * each must be scheduled before the answer leaves. On a busy two-core box
 * that chain took longer than the probe's attempt timeout, so the probe
 * counted the stand-in's slowness as VIP outages (seconds of "outage" while
 * one node held the VIP undisturbed).
 *
 * It logs one line at start ("standin: NAME listening on ...") and one per
 * failure on stderr; it exits on SIGTERM/SIGINT (default action). Test
 * equipment: standalone, no project libraries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX 64

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("standin: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: standin -n NAME [-p PORT] [-l ADDR]\n"
			"  answer NAME and a newline on every connection to PORT (default 6443)\n"
			"  -l  listen on this numeric address only (default: [::] dual stack)\n");
	exit(2);
}

/* The listening socket: [::]:port dual stack, or one numeric address. */
static int listen_on(const char *addr, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, zero = 0;

	memset(&ss, 0, sizeof(ss));
	if (!addr || inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		if (!addr)
			s6->sin6_addr = in6addr_any;
		len = sizeof(*s6);
	} else if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		len = sizeof(*s4);
	} else {
		die("not a numeric address: %s", addr);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR: %s", strerror(errno));
	if (ss.ss_family == AF_INET6 && !addr &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		die("IPV6_V6ONLY off: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind %s port %d: %s", addr ? addr : "[::]", port, strerror(errno));
	if (listen(fd, 4096) < 0)
		die("listen: %s", strerror(errno));
	return fd;
}

/*
 * Accept everything pending; answer and close each connection at once.
 * Returns when the accept queue is empty (EAGAIN).
 */
static void serve_pending(int lfd, const char *answer, size_t alen)
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		ssize_t n;

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EMFILE, ENOBUFS, ...: log and let poll() come back */
			fprintf(stderr, "standin: accept: %s\n", strerror(errno));
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				struct timespec ts = { 0, 1000000 };

				nanosleep(&ts, NULL);
			}
			return;
		}
		/* a fresh socket's send buffer is empty: a few bytes always fit */
		n = send(c, answer, alen, MSG_NOSIGNAL);
		/* a peer that gave up already (reset, pipe) is no news */
		if (n != (ssize_t)alen && !(n < 0 && (errno == ECONNRESET || errno == EPIPE)))
			fprintf(stderr, "standin: send: %s\n", n < 0 ? strerror(errno) : "short write");
		close(c); /* the peer sent nothing, so this is a FIN, not a RST */
	}
}

int main(int argc, char **argv)
{
	const char *name = NULL, *addr = NULL;
	char answer[ANSWER_MAX + 2];
	struct pollfd pfd;
	int port = 6443, c, lfd;
	size_t alen;

	while ((c = getopt(argc, argv, "n:p:l:h")) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'l': addr = optarg; break;
		default: usage();
		}
	}
	if (!name || !*name || optind != argc || port <= 0 || port > 65535)
		usage();
	if (strlen(name) > ANSWER_MAX)
		die("name longer than %d bytes", ANSWER_MAX);
	alen = (size_t)snprintf(answer, sizeof(answer), "%s\n", name);
	signal(SIGPIPE, SIG_IGN);

	lfd = listen_on(addr, port);
	fprintf(stderr, "standin: %s listening on %s port %d\n", name, addr ? addr : "[::] (dual stack)", port);
	fflush(stderr);

	pfd.fd = lfd;
	pfd.events = POLLIN;
	for (;;) {
		int r = poll(&pfd, 1, -1);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (pfd.revents & (POLLERR | POLLNVAL))
			die("listening socket failed (revents 0x%x)", (unsigned)pfd.revents);
		if (pfd.revents & POLLIN)
			serve_pending(lfd, answer, alen);
	}
}
