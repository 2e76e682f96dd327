/*
 * notify_recv - a stand-in for systemd's notify socket, for tests.
 *
 *     notify_recv PATH
 *
 * Binds an AF_UNIX datagram socket at PATH (as /run/systemd/notify is)
 * and prints every NAME=VALUE line of every datagram received as
 *
 *     <epoch microseconds> <line>
 *
 * flushed at once, so a test can wait for READY=1 and order it against
 * other events. The time is the kernel's stamp of the datagram
 * (SO_TIMESTAMPNS; af_unix stamps it as the sender queues it), not when
 * this process got the CPU to read it, so a busy machine does not move a
 * line after an event that followed it. Runs until killed; removes PATH
 * on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	sigset_t set;
	char buf[4097];
	int fd, on = 1;

	if (argc != 2 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: notify_recv PATH (shorter than %zu bytes)\n",
		    sizeof(a.sun_path));
		return 2;
	}
	/* Signals are taken synchronously below, between datagrams. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("notify_recv: socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0) {
		perror("notify_recv: SO_TIMESTAMPNS");
		return 1;
	}
	memcpy(a.sun_path, argv[1], strlen(argv[1]) + 1);
	unlink(argv[1]);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("notify_recv: bind");
		return 1;
	}
	for (;;) {
		struct timespec ts = { 0, 0 }, zero = { 0, 0 };
		union {
			char buf[CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		struct cmsghdr *c;
		ssize_t n;
		char *line, *save = NULL;
		int sig;

		/* Poll for a signal every 100 ms of silence. */
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recvmsg(fd, &msg, 0);
		sig = sigtimedwait(&set, NULL, &zero);
		if (sig > 0 && n < 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			perror("notify_recv: recvmsg");
			return 1;
		}
		buf[n] = '\0';
		for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		if (ts.tv_sec == 0) {
			fprintf(stderr, "notify_recv: a datagram without its kernel time stamp\n");
			return 1;
		}
		for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
			printf("%lld%06ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, line);
		fflush(stdout);
		if (sig > 0)
			break;
	}
	unlink(argv[1]);
	return 0;
}
