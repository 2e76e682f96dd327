/*
 * test_child.c - child.c with real children on the real loop: exit codes,
 * output into the log line by line (cut, capped), the environment given
 * and nothing else, a clean signal mask and dispositions, no inherited
 * descriptors, the timeout (SIGTERM, then SIGKILL after the grace), a
 * missing program as a clear error, and child_free killing and reaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "loop.h"
#include "stderr_cap.h"

struct run {
	struct loop *loop;
	struct loop_timer *guard;
	bool done;
	struct child_result res;
	char log[64 * 1024];
	struct stderr_cap cap;
};

static void on_guard(void *arg)
{
	struct run *r = arg;

	fail_msg("child did not end in time");
	loop_stop(r->loop);
}

static void on_done(void *arg, struct child *c, const struct child_result *res)
{
	struct run *r = arg;

	r->done = true;
	r->res = *res;
	child_free(c);
	loop_stop(r->loop);
}

static void run_begin(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop_new();
	r->guard = loop_timer_new(r->loop, on_guard, r);
	loop_timer_arm(r->guard, 10000);
	stderr_cap_begin(&r->cap);
}

/* Back to the real stderr; the captured log into r->log (and echoed). */
static void run_end(struct run *r)
{
	stderr_cap_end(&r->cap, r->log, sizeof(r->log));
	loop_timer_free(r->guard);
	loop_free(r->loop);
}

/* Spawn argv, run the loop until it ends; returns false if spawn failed. */
static bool run(struct run *r, const char *const argv[], const char *const env[], uint32_t timeout_ms)
{
	struct child *c = child_spawn(r->loop, argv, env, timeout_ms, "test", on_done, r);

	if (c == NULL)
		return false;
	assert_false(r->done); /* never from inside child_spawn */
	loop_run(r->loop);
	assert_true(r->done);
	return true;
}

static void test_exit_codes(void **state)
{
	const char *const t[] = { "/bin/true", NULL };
	const char *const f[] = { "/bin/false", NULL };
	const char *const k[] = { "/bin/sh", "-c", "kill -USR1 $$", NULL };
	char buf[64];
	struct run r;

	(void)state;
	run_begin(&r);
	assert_true(run(&r, t, NULL, 0));
	assert_int_equal(r.res.end, CHILD_EXITED);
	assert_int_equal(r.res.code, 0);
	assert_string_equal(child_result_str(&r.res, buf, sizeof(buf)), "exit=0");
	r.done = false;
	assert_true(run(&r, f, NULL, 0));
	assert_int_equal(r.res.end, CHILD_EXITED);
	assert_int_equal(r.res.code, 1);
	r.done = false;
	assert_true(run(&r, k, NULL, 0));
	assert_int_equal(r.res.end, CHILD_SIGNALED);
	assert_int_equal(r.res.code, SIGUSR1);
	assert_string_equal(child_result_str(&r.res, buf, sizeof(buf)), "signal=USR1");
	run_end(&r);
}

static void test_output_lines_into_the_log(void **state)
{
	const char *const a[] = { "/bin/sh", "-c",
		"echo hello; echo 'to stderr' >&2; printf '\"quoted\"\\n'; printf 'no newline'", NULL };
	struct run r;

	(void)state;
	run_begin(&r);
	assert_true(run(&r, a, NULL, 0));
	run_end(&r);
	assert_non_null(strstr(r.log, "test output: \"hello\"\n"));
	assert_non_null(strstr(r.log, "test output: \"to stderr\"\n"));
	assert_non_null(strstr(r.log, "test output: \"\\\"quoted\\\"\"\n")); /* escaped */
	assert_non_null(strstr(r.log, "test output: \"no newline\"\n"));
}

/* A long line is cut at CHILD_LINE_MAX; past CHILD_OUTPUT_LINES lines one
 * line says so and the rest is drained, so the child still ends. */
static void test_output_is_capped(void **state)
{
	const char *const a[] = { "/bin/sh", "-c",
		"head -c 1000 /dev/zero | tr '\\0' x; echo; yes | head -c 100000; echo done", NULL };
	char want[CHILD_LINE_MAX + 64];
	struct run r;

	(void)state;
	run_begin(&r);
	assert_true(run(&r, a, NULL, 0));
	run_end(&r);
	assert_int_equal(r.res.end, CHILD_EXITED);
	assert_int_equal(r.res.code, 0);
	strcpy(want, "test output: \"");
	memset(want + strlen(want), 'x', CHILD_LINE_MAX);
	want[strlen("test output: \"") + CHILD_LINE_MAX] = '\0';
	strcat(want, "...\"\n");
	assert_non_null(strstr(r.log, want));
	assert_non_null(strstr(r.log, "test output truncated after lines=64\n"));
	assert_null(strstr(r.log, "\"done\""));
}

/* The environment is PATH plus what the caller gives, nothing of ours. */
static void test_environment(void **state)
{
	const char *const a[] = { "/bin/sh", "-c", "echo \"[$VIPD_EVENT][$PATH][$LEAK]\"", NULL };
	const char *const env[] = { "VIPD_EVENT=acquire", NULL };
	struct run r;

	(void)state;
	setenv("LEAK", "daemon-secret", 1);
	run_begin(&r);
	assert_true(run(&r, a, env, 0));
	run_end(&r);
	unsetenv("LEAK");
	assert_non_null(strstr(r.log, "\"[acquire][" CHILD_PATH "][]\""));
}

/* The loop's signalfd blocks signals and the daemon ignores SIGPIPE: the
 * child gets an empty mask and no ignored signal. */
static void test_clean_signal_state(void **state)
{
	const char *const a[] = { "/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL };
	sigset_t block, old;
	const char *p;
	struct run r;

	(void)state;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGPIPE, SIG_IGN);
	run_begin(&r);
	assert_true(run(&r, a, NULL, 0));
	run_end(&r);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);
	assert_non_null(strstr(r.log, "\"SigBlk:\\x090000000000000000\""));
	/* Signals 1-31 at their defaults; glibc's posix_spawn leaves its
	 * own two (32, 33: thread cancel, setxid) ignored in the child,
	 * which its exec resets anyway. */
	p = strstr(r.log, "\"SigIgn:\\x09");
	assert_non_null(p);
	assert_int_equal(strtoull(p + strlen("\"SigIgn:\\x09"), NULL, 16) & 0x7fffffffull, 0);
}

/* A descriptor the daemon left without close-on-exec stays out. */
static void test_no_inherited_fds(void **state)
{
	const char *const a[] = { "/bin/ls", "/proc/self/fd", NULL };
	int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	int high = dup2(fd, 42);
	struct run r;

	(void)state;
	assert_int_equal(high, 42);
	run_begin(&r);
	assert_true(run(&r, a, NULL, 0));
	run_end(&r);
	close(fd);
	close(high);
	/* 0-2, and 3: ls's own listing of the directory. */
	assert_non_null(strstr(r.log, "test output: \"2\"\n"));
	assert_null(strstr(r.log, "test output: \"4\"\n"));
	assert_null(strstr(r.log, "test output: \"42\"\n"));
}

/* SIGTERM at the timeout; ended by it. */
static void test_timeout_terminates(void **state)
{
	const char *const a[] = { "/bin/sh", "-c", "sleep 30", NULL };
	char buf[64];
	struct run r;

	(void)state;
	run_begin(&r);
	assert_true(run(&r, a, NULL, 200));
	run_end(&r);
	assert_int_equal(r.res.end, CHILD_TIMEDOUT);
	assert_true(r.res.signaled);
	assert_int_equal(r.res.code, SIGTERM);
	assert_string_equal(child_result_str(&r.res, buf, sizeof(buf)), "timeout signal=TERM");
	/* 200 ms, and the loop's few ms; far below the 30 s sleep. */
	assert_true(r.res.duration_ms >= 200 && r.res.duration_ms < 1500);
	assert_non_null(strstr(r.log, "test timed out after timeout_ms=200, terminating pid="));
}

/* A child that ignores SIGTERM gets SIGKILL after the grace. */
static void test_timeout_kills_after_grace(void **state)
{
	const char *const a[] = { "/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done", NULL };
	struct run r;

	(void)state;
	run_begin(&r);
	/* 1000 ms, not 100: the timeout runs from the spawn, and sh must have
	 * run its trap before SIGTERM comes or SIGTERM ends it (a slow start
	 * did, at 100 ms). */
	assert_true(run(&r, a, NULL, 1000));
	run_end(&r);
	assert_int_equal(r.res.end, CHILD_TIMEDOUT);
	assert_int_equal(r.res.code, SIGKILL);
	assert_non_null(strstr(r.log, "test output: \"ready\"\n"));
	/* timeout + CHILD_KILL_GRACE_MS, and 3 s for a late loop. */
	assert_true(r.res.duration_ms >= 1000 + CHILD_KILL_GRACE_MS);
	assert_true(r.res.duration_ms < 1000 + CHILD_KILL_GRACE_MS + 3000);
	assert_non_null(strstr(r.log, "still running 2000 ms after SIGTERM, killing pid="));
}

static void test_spawn_errors(void **state)
{
	const char *const missing[] = { "/nonexistent/hook", NULL };
	const char *const relative[] = { "true", NULL };
	const char *const empty[] = { NULL };
	char path[] = "/tmp/vipd-test-child-XXXXXX";
	const char *const notexec[] = { path, NULL };
	struct loop *l = loop_new();
	int fd = mkstemp(path); /* mode 0600: no execute bit */

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(child_spawn(l, missing, NULL, 0, "t", on_done, NULL));
	assert_int_equal(errno, ENOENT);
	assert_null(child_spawn(l, relative, NULL, 0, "t", on_done, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(child_spawn(l, empty, NULL, 0, "t", on_done, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(child_spawn(l, notexec, NULL, 0, "t", on_done, NULL));
	assert_int_equal(errno, EACCES);
	unlink(path);
	loop_free(l);
}

/* child_free on a running child kills it and reaps it: no zombie, no
 * callback. */
static void test_free_kills_and_reaps(void **state)
{
	const char *const a[] = { "/bin/sleep", "30", NULL };
	struct loop *l = loop_new();
	struct child *c = child_spawn(l, a, NULL, 0, "t", on_done, NULL);
	pid_t pid;

	(void)state;
	assert_non_null(c);
	pid = child_pid(c);
	child_free(c);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_output_lines_into_the_log),
		cmocka_unit_test(test_output_is_capped),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_clean_signal_state),
		cmocka_unit_test(test_no_inherited_fds),
		cmocka_unit_test(test_timeout_terminates),
		cmocka_unit_test(test_timeout_kills_after_grace),
		cmocka_unit_test(test_spawn_errors),
		cmocka_unit_test(test_free_kills_and_reaps),
	};

	log_init("test_child", LOG_LVL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
