/*
 * health_exec.c - an exec check: the configured argv run without a
 * shell (posix_spawn, no PATH search), in its own process group, stdin
 * from /dev/null, stdout and stderr into a pipe of which the first
 * HEXEC_OUT_MAX bytes are kept for the log. Exit status 0 passes.
 *
 * The child is watched by a pidfd in the loop (Linux >= 5.3); at the
 * timeout its process group is killed (SIGKILL) and the check fails at
 * once; the child is reaped when its pidfd says it is gone (killed ones
 * are kept on a list until then). The daemon's blocked signals (its
 * signalfd) and ignored SIGPIPE are reset for the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "health_int.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

extern char **environ;

#define HEXEC_OUT_MAX 160

struct hexec {
	struct loop *loop;
	pid_t pid;
	int pidfd;
	int out;                 /* the pipe's read end, -1 once closed */
	struct loop_timer *timer;
	uint32_t timeout_ms;
	hcheck_done *done;       /* NULL once reported or cancelled */
	void *arg;
	char buf[HEXEC_OUT_MAX + 1];
	size_t len;
};

static void close_out(struct hexec *x)
{
	if (x->out < 0)
		return;
	loop_fd_del(x->loop, x->out);
	close(x->out);
	x->out = -1;
}

static void drain(struct hexec *x)
{
	char tmp[512];
	ssize_t n;

	while (x->out >= 0) {
		n = read(x->out, tmp, sizeof(tmp));
		if (n > 0) {
			size_t room = HEXEC_OUT_MAX - x->len, k = (size_t)n < room ? (size_t)n : room;

			memcpy(x->buf + x->len, tmp, k);
			x->len += k;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN)
			close_out(x);
		break;
	}
	x->buf[x->len] = '\0';
}

static void on_out(int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	drain(arg);
}

static void destroy(struct hexec *x)
{
	close_out(x);
	loop_fd_del(x->loop, x->pidfd);
	close(x->pidfd);
	loop_timer_free(x->timer);
	free(x);
}

/* The first line of the output, printable, for the reason. */
static void first_line(const char *in, char *out, size_t len)
{
	size_t j = 0;

	for (; *in && *in != '\n' && j + 1 < len; in++)
		out[j++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[j] = '\0';
}

static void on_exit_fd(int fd, unsigned events, void *arg)
{
	struct hexec *x = arg;
	struct hresult r = { 0 };
	siginfo_t si = { 0 };
	char line[HEXEC_OUT_MAX + 1];
	hcheck_done *done = x->done;

	(void)fd;
	(void)events;
	if (waitid(P_PIDFD, (id_t)x->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return; /* not yet (a spurious wake-up) */
	drain(x);
	if (done == NULL) {
		destroy(x); /* killed at its timeout or cancelled: reaped now */
		return;
	}
	first_line(x->buf, line, sizeof(line));
	if (si.si_code == CLD_EXITED && si.si_status == 0)
		r.pass = true;
	else if (si.si_code == CLD_EXITED)
		snprintf(r.why, sizeof(r.why), "exit status %d%s%s", si.si_status,
		    line[0] ? ": " : "", line);
	else
		snprintf(r.why, sizeof(r.why), "killed by signal %d (%s)", si.si_status,
		    strsignal(si.si_status));
	void *arg2 = x->arg;
	destroy(x);
	done(arg2, &r);
}

static void kill_group(struct hexec *x)
{
	/* Its own process group: a script's children go too. */
	if (kill(-x->pid, SIGKILL) < 0)
		(void)pidfd_send_signal(x->pidfd, SIGKILL, NULL, 0);
}

static void on_timeout(void *arg)
{
	struct hexec *x = arg;
	struct hresult r = { .pass = false };
	hcheck_done *done = x->done;

	kill_group(x);
	snprintf(r.why, sizeof(r.why), "no exit within %u ms (timeout; killed)", x->timeout_ms);
	x->done = NULL; /* reaped later, by on_exit_fd */
	close_out(x);
	done(x->arg, &r);
}

struct hexec *hexec_start(struct loop *l, const struct cfg_check *c, uint32_t timeout_ms,
    hcheck_done *done, void *arg, struct hresult *now)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	struct hexec *x;
	int p[2], r;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		*now = (struct hresult){ .pass = false };
		snprintf(now->why, sizeof(now->why), "pipe: %s", strerror(errno));
		return NULL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGHUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(&pid, c->argv[0], &fa, &at, c->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		*now = (struct hresult){ .pass = false };
		snprintf(now->why, sizeof(now->why), "cannot run: %s", strerror(r));
		return NULL;
	}
	x = xcalloc(1, sizeof(*x));
	*x = (struct hexec){ .loop = l, .pid = pid, .out = p[0], .timeout_ms = timeout_ms,
		.done = done, .arg = arg };
	x->pidfd = pidfd_open(pid, 0);
	if (x->pidfd < 0 || loop_fd_add(l, x->pidfd, LOOP_READ, on_exit_fd, x) < 0) {
		/* Cannot watch it: do not leave it running. */
		int e = errno;

		kill(-pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		if (x->pidfd >= 0)
			close(x->pidfd);
		close(p[0]);
		free(x);
		*now = (struct hresult){ .pass = false };
		snprintf(now->why, sizeof(now->why), "pidfd: %s", strerror(e));
		return NULL;
	}
	if (loop_fd_add(l, x->out, LOOP_READ, on_out, x) < 0)
		close_out(x);
	x->timer = loop_timer_new(l, on_timeout, x);
	loop_timer_arm(x->timer, timeout_ms);
	return x;
}

void hexec_cancel(struct hexec *x)
{
	if (x == NULL)
		return;
	/* At exit or reload: kill and reap now (SIGKILL cannot be caught;
	 * the wait is for the kernel to tear the process down). */
	kill_group(x);
	(void)waitpid(x->pid, NULL, 0);
	destroy(x);
}
