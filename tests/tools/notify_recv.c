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
 * other events. Runs until killed; removes PATH on SIGTERM/SIGINT.
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
	int fd;

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
	memcpy(a.sun_path, argv[1], strlen(argv[1]) + 1);
	unlink(argv[1]);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("notify_recv: bind");
		return 1;
	}
	for (;;) {
		struct timespec ts, zero = { 0, 0 };
		ssize_t n;
		char *line, *save = NULL;
		int sig;

		/* Poll for a signal every 100 ms of silence. */
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		sig = sigtimedwait(&set, NULL, &zero);
		if (sig > 0 && n < 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			perror("notify_recv: recv");
			return 1;
		}
		buf[n] = '\0';
		clock_gettime(CLOCK_REALTIME, &ts);
		for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
			printf("%lld%06ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, line);
		fflush(stdout);
		if (sig > 0)
			break;
	}
	unlink(argv[1]);
	return 0;
}
