/*
 * child.c - a program run beside the loop (see child.h).
 *
 * Kill safety: signals go to the child's process group (kill(-pid)) only
 * while the child is not reaped - a zombie keeps its pid, and with it the
 * group's id, from being reused - so a stale pid never reaches a stranger.
 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmem.h"

struct child {
	struct loop *loop;
	pid_t pid;
	int pidfd;                 /* -1 once reaped, or without pidfd */
	bool live;                 /* not reaped yet */
	bool orphan;               /* child_free'd, not ended: freed by ended() */
	struct loop_timer *poll;   /* without pidfd: waitid(WNOHANG) timer */
	int outfd;                 /* read end of the output pipe; -1 at EOF */
	struct loop_timer *timeout, *kill;
	uint32_t timeout_ms;
	bool timedout;
	uint64_t started_at;       /* loop ms */
	char *prefix;
	char line[CHILD_LINE_MAX + 1];
	size_t line_len;
	bool line_cut;             /* the line went on past CHILD_LINE_MAX */
	unsigned lines;            /* output lines logged */
	child_done_cb *cb;
	void *arg;
};

pid_t child_pid(const struct child *c)
{
	return c->pid;
}

static void line_emit(struct child *c)
{
	char esc[LOG_ESC_LEN];

	if (c->lines > CHILD_OUTPUT_LINES)
		return;
	if (c->lines++ == CHILD_OUTPUT_LINES) {
		log_info("%s output truncated after lines=%u", c->prefix, CHILD_OUTPUT_LINES);
		return;
	}
	log_info("%s output: \"%s%s\"", c->prefix, log_escn(esc, c->line, c->line_len),
	    c->line_cut ? "..." : "");
	c->line_len = 0;
	c->line_cut = false;
}

/* Split n output bytes into lines (line_emit drops those past the cap). */
static void out_bytes(struct child *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c->lines > CHILD_OUTPUT_LINES)
			continue;
		if (p[i] == '\n')
			line_emit(c);
		else if (c->line_len < CHILD_LINE_MAX)
			c->line[c->line_len++] = p[i];
		else
			c->line_cut = true;
	}
}

static void out_close(struct child *c)
{
	if (c->outfd < 0)
		return;
	loop_fd_del(c->loop, c->outfd);
	close(c->outfd);
	c->outfd = -1;
}

/* Read what the pipe holds now (non-blocking). At most max_reads reads, so
 * a chatty child cannot hold the loop. */
static void out_read(struct child *c, int max_reads)
{
	char buf[4096];

	while (c->outfd >= 0 && max_reads-- > 0) {
		ssize_t n = read(c->outfd, buf, sizeof(buf));

		if (n > 0) {
			out_bytes(c, buf, (size_t)n);
		} else if (n == 0) {
			out_close(c); /* every writer is gone */
		} else if (errno == EINTR) {
			continue;
		} else {
			if (errno != EAGAIN)
				out_close(c);
			break;
		}
	}
}

static void on_out(int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	out_read(arg, 16);
}

/* The child's group: only while the child is unreaped (see the top). */
static void group_kill(struct child *c, int sig)
{
	if (c->live && kill(-c->pid, sig) < 0 && errno != ESRCH)
		log_warn("%s: cannot signal pid=%d", c->prefix, (int)c->pid);
}

static void on_kill(void *arg)
{
	struct child *c = arg;

	log_warnx("%s still running %u ms after SIGTERM, killing pid=%d", c->prefix,
	    CHILD_KILL_GRACE_MS, (int)c->pid);
	group_kill(c, SIGKILL);
}

static void on_timeout(void *arg)
{
	struct child *c = arg;

	log_warnx("%s timed out after timeout_ms=%u, terminating pid=%d", c->prefix,
	    c->timeout_ms, (int)c->pid);
	c->timedout = true;
	group_kill(c, SIGTERM);
	loop_timer_arm(c->kill, CHILD_KILL_GRACE_MS);
}

/* Reap (the child has ended, or been SIGKILLed: waitid blocks only for the
 * kernel to finish it), unless given what a non-blocking waitid already
 * reaped (got). Fills res. */
static void reap(struct child *c, const siginfo_t *got, struct child_result *res)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	memset(res, 0, sizeof(*res));
	if (got != NULL)
		si = *got;
	while (got == NULL && (c->pidfd >= 0 ?
	    waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED) :
	    waitid(P_PID, (id_t)c->pid, &si, WEXITED)) < 0) {
		if (errno != EINTR) {
			log_warn("%s: waitid pid=%d", c->prefix, (int)c->pid);
			si.si_code = CLD_KILLED;
			si.si_status = 0;
			break;
		}
	}
	c->live = false;
	if (c->pidfd >= 0) {
		loop_fd_del(c->loop, c->pidfd);
		close(c->pidfd);
		c->pidfd = -1;
	}
	loop_timer_disarm(c->poll);
	loop_timer_disarm(c->timeout);
	loop_timer_disarm(c->kill);
	res->pid = c->pid;
	res->duration_ms = loop_now_ms() - c->started_at;
	res->code = si.si_status;
	res->signaled = si.si_code != CLD_EXITED;
	res->end = res->signaled ? CHILD_SIGNALED : CHILD_EXITED;
	if (c->timedout)
		res->end = CHILD_TIMEDOUT;
}

static void destroy(struct child *c)
{
	out_close(c);
	loop_timer_free(c->timeout);
	loop_timer_free(c->kill);
	loop_timer_free(c->poll);
	free(c->prefix);
	free(c);
}

/* Has the (SIGKILLed) child ended within ms? Blocks the loop that long at
 * most; without pidfd, waitid(WNOWAIT) leaves it to reap(). */
static bool wait_end(struct child *c, int ms)
{
	siginfo_t si;

	if (c->pidfd >= 0) {
		struct pollfd p = { .fd = c->pidfd, .events = POLLIN };

		return poll(&p, 1, ms) > 0;
	}
	for (int i = 0; i <= ms; i++) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid != 0)
			return true; /* ended (or not ours: reap() says so) */
		usleep(1000);
	}
	return false;
}

/* The child has ended (got: already reaped by the poll, else NULL). */
static void ended(struct child *c, const siginfo_t *got)
{
	struct child_result res;

	/* Leftovers of a group killed at its timeout go too, while the
	 * leader is still a zombie (not with got: the poll has reaped the
	 * leader, and its id may already be another process's). */
	if (c->timedout)
		group_kill(c, SIGKILL);
	reap(c, got, &res);
	/* What the child wrote before it ended; a descendant that keeps the
	 * pipe open is not waited for. */
	out_read(c, 16);
	if (c->line_len > 0)
		line_emit(c);
	out_close(c);
	if (c->orphan) {
		destroy(c);
		return;
	}
	if (c->cb)
		c->cb(c->arg, c, &res); /* may free c: nothing after this */
}

/* The pidfd is readable: the child has ended - unless the event is stale
 * (the loop finds handlers by fd number, and a pidfd closed in this batch
 * may have been reused by the next hook's), so ask first without reaping
 * (WNOWAIT) and without blocking: a blocking reap of a running child would
 * hold the loop until it ends. ended() reaps the zombie then. */
static void on_pidfd(int fd, unsigned events, void *arg)
{
	struct child *c = arg;
	siginfo_t si;

	(void)fd;
	(void)events;
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno == EINTR)
			return; /* level-triggered: asked again */
	} else if (si.si_pid == 0) {
		return; /* not ended: a stale event */
	}
	ended(c, NULL);
}

/* Without pidfd: has it ended? (waitid with WNOHANG reaps only this pid.) */
static void on_poll(void *arg)
{
	struct child *c = arg;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG) < 0) {
		if (errno == EINTR) {
			loop_timer_arm(c->poll, 0);
			return;
		}
		log_warn("%s: waitid pid=%d", c->prefix, (int)c->pid);
		si.si_code = CLD_KILLED;
		si.si_pid = c->pid;
	}
	if (si.si_pid == 0) {
		loop_timer_arm(c->poll, CHILD_POLL_MS);
		return;
	}
	c->live = false; /* before ended(): its group kill would hit a reused id */
	ended(c, &si);
}

struct child *child_spawn(struct loop *loop, const char *const argv[], const char *const env[],
    uint32_t timeout_ms, const char *log_prefix, child_done_cb *done_cb, void *arg)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int pipefd[2], err;
	size_t n_env = 0;
	const char **envp;
	struct child *c;
	pid_t pid;

	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	/* posix_spawn reports exec's error too, but not everywhere (not
	 * under valgrind, whose clone runs on): ask first, so a missing or
	 * non-executable program is always this call's ENOENT / EACCES. */
	if (access(argv[0], X_OK) < 0)
		return NULL;
	while (env != NULL && env[n_env] != NULL)
		n_env++;
	envp = xcalloc(n_env + 2, sizeof(char *));
	envp[0] = "PATH=" CHILD_PATH;
	for (size_t i = 0; i < n_env; i++)
		envp[i + 1] = env[i];

	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		free((void *)envp);
		return NULL;
	}
	/* Both ends above 2: with a standard descriptor closed in the
	 * daemon, the pipe could get 0-2 and the child's own set-up
	 * (/dev/null on 0, the pipe on 1 and 2) would clobber it. */
	for (int i = 0; i < 2; i++) {
		if (pipefd[i] < 3) {
			int fd = fcntl(pipefd[i], F_DUPFD_CLOEXEC, 3);

			if (fd < 0) {
				err = errno;
				close(pipefd[0]);
				close(pipefd[1]);
				free((void *)envp);
				errno = err;
				return NULL;
			}
			close(pipefd[i]);
			pipefd[i] = fd;
		}
	}
	/* The child's end blocks as usual. */
	(void)fcntl(pipefd[1], F_SETFL, 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETPGROUP);
	/* glibc's posix_spawn (CLONE_VFORK) returns exec's error itself. */
	/* posix_spawn's char *const[] only for history: it writes nothing. */
	err = posix_spawn(&pid, argv[0], &fa, &at, (char *const *)argv, (char *const *)envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free((void *)envp);
	close(pipefd[1]);
	if (err != 0) {
		close(pipefd[0]);
		errno = err;
		return NULL;
	}

	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->pid = pid;
	c->outfd = pipefd[0];
	c->started_at = loop_now_ms();
	c->timeout_ms = timeout_ms;
	c->prefix = xstrdup(log_prefix ? log_prefix : "child");
	c->cb = done_cb;
	c->arg = arg;
	c->timeout = loop_timer_new(loop, on_timeout, c);
	c->kill = loop_timer_new(loop, on_kill, c);
	c->poll = loop_timer_new(loop, on_poll, c);
	c->live = true;
	c->pidfd = pidfd_open(pid, 0);
	if (c->pidfd < 0 && errno == ENOSYS) {
		/* A kernel before 5.3, or valgrind 3.19 (no pidfd_open). */
		loop_timer_arm(c->poll, CHILD_POLL_MS);
	}
	if ((c->pidfd < 0 && !loop_timer_armed(c->poll)) ||
	    (c->pidfd >= 0 && loop_fd_add(loop, c->pidfd, LOOP_READ, on_pidfd, c) < 0) ||
	    loop_fd_add(loop, c->outfd, LOOP_READ, on_out, c) < 0) {
		int e = errno;

		if (c->pidfd < 0 && !loop_timer_armed(c->poll)) {
			/* No pidfd: end it the old way (the pid is ours and
			 * unreaped, so this reaches the right process). */
			kill(-pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			destroy(c);
		} else {
			c->cb = NULL;
			child_free(c);
		}
		errno = e;
		return NULL;
	}
	if (timeout_ms > 0)
		loop_timer_arm(c->timeout, timeout_ms);
	return c;
}

void child_free(struct child *c)
{
	struct child_result res;

	if (c == NULL)
		return;
	if (c->live) {
		group_kill(c, SIGKILL);
		if (!wait_end(c, CHILD_FREE_WAIT_MS)) {
			/* Uninterruptible sleep (a hung NFS or FUSE mount):
			 * waiting would stall the loop, keepalives and fences
			 * with it. It is reaped, silently, when it ends. */
			log_warnx("%s pid=%d still there %u ms after SIGKILL (uninterruptible "
			    "sleep?); reaped when it ends", c->prefix, (int)c->pid,
			    CHILD_FREE_WAIT_MS);
			c->orphan = true;
			c->cb = NULL;
			out_close(c);
			loop_timer_disarm(c->timeout);
			loop_timer_disarm(c->kill);
			return;
		}
		reap(c, NULL, &res);
	}
	destroy(c);
}

const char *child_result_str(const struct child_result *res, char *buf, size_t size)
{
	const char *pre = res->end == CHILD_TIMEDOUT ? "timeout " : "";
	const char *sig = res->signaled ? sigabbrev_np(res->code) : NULL;

	if (!res->signaled)
		snprintf(buf, size, "%sexit=%d", pre, res->code);
	else
		snprintf(buf, size, "%ssignal=%s", pre, sig ? sig : "?");
	return buf;
}
