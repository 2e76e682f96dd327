/*
 * child.h - run a program beside the event loop: no shell, a timeout, its
 * output into the log, its end reported from the loop.
 *
 * For hooks (hooks.h) and exec health checks. The program is started with
 * posix_spawn (argv[0] an absolute path; no shell, no PATH search), in a
 * process group of its own, stdin from /dev/null, stdout and stderr into
 * one pipe the loop reads; every other descriptor of the daemon is closed
 * in the child (closefrom 3), its signal mask is empty and every signal is
 * at its default action (the loop blocks the signals it takes through a
 * signalfd, and the daemon ignores SIGPIPE: neither may leak into a child).
 * Its environment is PATH (CHILD_PATH) plus the caller's entries, nothing
 * of the daemon's own.
 *
 * The end is seen through a pidfd (pidfd_open, Linux >= 5.3) on the loop,
 * and the child reaped with waitid(P_PIDFD): no SIGCHLD handler, so nothing
 * else of the daemon's reaps or is disturbed. Where pidfd_open says ENOSYS
 * (a kernel before 5.3; valgrind 3.19, which does not know the call) a
 * loop timer asks waitid(P_PID, WNOHANG) every CHILD_POLL_MS instead, so
 * the end is seen up to that much later. At the timeout the group gets
 * SIGTERM, and SIGKILL CHILD_KILL_GRACE_MS later if the child is still
 * there. Nothing here blocks the loop, except child_free on a child still
 * running (SIGKILL, then the reap: the time the kernel takes to end it).
 */
#ifndef VIPD_CHILD_H
#define VIPD_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct child;

#define CHILD_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* SIGTERM at the timeout, SIGKILL this long after (ms). */
#define CHILD_KILL_GRACE_MS 2000u
/* Without pidfd: how often the end is looked for (ms). */
#define CHILD_POLL_MS 20u
/* How long child_free waits for a SIGKILLed child before leaving it to
 * end on its own (ms; the loop is blocked meanwhile). */
#define CHILD_FREE_WAIT_MS 100u
/* Output lines are logged cut to this many bytes (escaped: log_esc)... */
#define CHILD_LINE_MAX 200u
/* ...and at most this many lines per run (so at most ~20 KiB of log); the
 * rest is read and dropped (one "output truncated" line), so the child
 * never blocks on a full pipe. */
#define CHILD_OUTPUT_LINES 64u

enum child_end {
	CHILD_EXITED,   /* code: the exit status (0-255) */
	CHILD_SIGNALED, /* code: the signal that ended it */
	CHILD_TIMEDOUT, /* signalled at its timeout; code as for the other two,
	                 * after how it ended (signaled) */
};

struct child_result {
	enum child_end end;
	int code;
	bool signaled;        /* code is a signal number, not an exit status */
	uint64_t duration_ms; /* from child_spawn to the end seen (loop ms) */
	pid_t pid;
};

/* The child ended (already reaped). Runs from the loop's pidfd handler,
 * never from inside child_spawn or child_free. The callee may call
 * child_free(c) on this child (and should: the handle stays until freed);
 * res is valid during the call only. */
typedef void child_done_cb(void *arg, struct child *c, const struct child_result *res);

/*
 * Start argv[0] (absolute path) with argv (NULL-terminated), environment
 * PATH=CHILD_PATH plus env (NULL-terminated "NAME=value" strings, may be
 * NULL). timeout_ms 0: no timeout. Each output line is logged at info as
 * `<log_prefix> output: "<line>"` (log_prefix is copied, e.g. "hook
 * onAcquire vip=198.18.0.100"). done_cb runs once, from the loop, when the
 * child ended, unless child_free comes first. All strings are copied by
 * the time this returns.
 *
 * Returns the handle, or NULL with errno: ENOENT / EACCES / ENOEXEC (the
 * program cannot be executed: posix_spawn reports exec's error), EINVAL
 * (argv empty or argv[0] not absolute), or the pipe/pidfd/spawn errno
 * (EMFILE, EAGAIN).
 */
struct child *child_spawn(struct loop *loop, const char *const argv[], const char *const env[],
    uint32_t timeout_ms, const char *log_prefix, child_done_cb *done_cb, void *arg);

/* The child's pid (for log lines). */
pid_t child_pid(const struct child *c);

/* Forget a child: a running one is killed (SIGKILL to its process group)
 * and reaped here, without its callback. One that has not ended
 * CHILD_FREE_WAIT_MS after the SIGKILL (uninterruptible sleep: a hung NFS
 * or FUSE mount) is left to end on its own and reaped then, from the loop,
 * so the loop never waits longer (logged). NULL-safe; may be called from
 * its own done callback. */
void child_free(struct child *c);

/* A result as one log phrase into buf: "exit=0", "signal=TERM",
 * "timeout signal=KILL", "timeout exit=143". Returns buf. */
const char *child_result_str(const struct child_result *res, char *buf, size_t size);

#endif
