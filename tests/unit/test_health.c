/*
 * test_health.c - health checks: the pure fall/rise/startGrace state
 * machine, and the module on the real loop against a listening socket on
 * 127.0.0.1 and real child processes (tcp refused, exit status and
 * output, a hanging child killed at its timeout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "health.h"
#include "loop.h"
#include "loopback_port.h"
#include "stderr_cap.h"

/* cfg_check.argv is char **, as the parser fills it. */
#define S(x) ((char *)(x))

/* ---- the state machine ---------------------------------------------------- */

/* One finished round fed to the state machine, and what must come of it:
 * changed is health_sm_step's return, healthy the state after the round. */
struct sm_round {
	bool pass, in_grace;
	bool changed, healthy;
	const char *why;         /* what the round shows, for a failure's message */
};

/* Feed rounds[0..n) to sm with fall and rise; a round with another outcome
 * fails the test naming its index and what it shows. */
static void sm_feed(struct health_sm *sm, unsigned fall, unsigned rise,
    const struct sm_round *rounds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct sm_round *r = &rounds[i];
		bool changed = health_sm_step(sm, fall, rise, r->pass, r->in_grace);

		if (changed != r->changed || sm->healthy != r->healthy)
			fail_msg("round %zu (%s%s, fall %u rise %u; %s): changed %d healthy %d, "
			    "want changed %d healthy %d", i, r->pass ? "pass" : "fail",
			    r->in_grace ? " in grace" : "", fall, rise, r->why[0] ? r->why : "-",
			    changed, sm->healthy, r->changed, r->healthy);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_sm_fall_and_rise(void **state)
{
	static const struct sm_round rounds[] = {
		/* pass   grace  changed healthy */
		{ false, false, false, true, "" },
		{ false, false, false, true, "" },
		{ false, false, true, false, "the 3rd: unhealthy" },
		{ false, false, false, false, "stays, no change" },
		{ true, false, false, false, "" },
		{ false, false, false, false, "a fail breaks the run" },
		{ true, false, false, false, "" },
		{ true, false, true, true, "2 in a row: healthy" },
	};
	struct health_sm sm;

	(void)state;
	health_sm_init(&sm);
	assert_true(sm.healthy);
	sm_feed(&sm, 3, 2, rounds, N(rounds));
}

static void test_sm_pass_breaks_fail_run(void **state)
{
	static const struct sm_round rounds[] = {
		/* pass   grace  changed healthy */
		{ false, false, false, true, "" },
		{ true, false, false, true, "a pass breaks the run" },
		{ false, false, false, true, "" },
		{ false, false, true, false, "fall 2" },
		{ true, false, true, true, "rise 1" },
	};
	struct health_sm sm;

	(void)state;
	health_sm_init(&sm);
	sm_feed(&sm, 2, 1, rounds, N(rounds));
}

static void test_sm_grace_not_counted_until_a_pass(void **state)
{
	static const struct sm_round in_grace = { false, true, false, true, "not counted" };
	/* The first pass ends the grace: failures count from now on, even
	 * while the caller's clock is still inside startGrace. */
	static const struct sm_round rounds[] = {
		/* pass   grace  changed healthy */
		{ true, true, false, true, "ends the grace" },
		{ false, true, true, false, "counted: fall 1" },
	};
	struct health_sm sm;

	(void)state;
	health_sm_init(&sm);
	for (int i = 0; i < 50; i++)
		sm_feed(&sm, 1, 1, &in_grace, 1);
	assert_int_equal(sm.fails, 0);
	sm_feed(&sm, 1, 1, rounds, 1);
	assert_true(sm.grace_over);
	sm_feed(&sm, 1, 1, rounds + 1, 1);
}

static void test_sm_grace_ends_with_the_clock(void **state)
{
	static const struct sm_round rounds[] = {
		/* pass   grace  changed healthy */
		{ false, true, false, true, "in grace: not counted" },
		{ false, false, false, true, "grace over: 1 of fall 2" },
		{ false, false, true, false, "fall 2" },
	};
	struct health_sm sm;

	(void)state;
	health_sm_init(&sm);
	sm_feed(&sm, 2, 1, rounds, N(rounds));
}

/* ---- on the loop ------------------------------------------------------------ */

struct rec {
	struct loop *loop;
	int changes;
	bool healthy;
	char why[400];
	uint64_t at;             /* loop ms of the last change */
};

static void on_change(void *arg, bool healthy, const char *why)
{
	struct rec *r = arg;

	r->changes++;
	r->healthy = healthy;
	snprintf(r->why, sizeof(r->why), "%s", why);
	r->at = loop_now_ms();
	loop_stop(r->loop);
}

static void on_deadline(void *arg)
{
	loop_stop(arg);
}

/* Run the loop until a change or ms pass. */
static void run_for(struct rec *r, uint64_t ms)
{
	struct loop_timer *t = loop_timer_new(r->loop, on_deadline, r->loop);

	loop_timer_arm(t, ms);
	assert_int_equal(loop_run(r->loop), 0);
	loop_timer_free(t);
}

static struct cfg_health one_check(struct cfg_check *c)
{
	return (struct cfg_health){ .interval_ms = 100, .timeout_ms = 80, .fall = 2, .rise = 1,
		.checks = c, .n_checks = 1 };
}

static void test_tcp_refused_then_back(void **state)
{
	struct rec r = { .loop = loop_new() };
	char target[32];
	uint16_t port;
	int fd = loopback_port(16, &port);
	struct cfg_check c = { .kind = CFG_CHECK_TCP, .target = target };
	struct cfg_health cfg = one_check(&c);
	struct health *h;
	uint64_t t0;

	(void)state;
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	/* A connect to a listening 127.0.0.1 port is done in microseconds;
	 * 80 ms let two stalls of a loaded machine fail it twice (fall 2)
	 * while it listened. 500 ms: a refused connect is still immediate. */
	cfg.timeout_ms = 500;
	h = health_new(r.loop, &cfg, on_change, &r);
	run_for(&r, 450); /* four rounds pass: no change */
	assert_int_equal(r.changes, 0);
	assert_true(health_ok(h));
	assert_true(health_rounds(h) >= 3);
	close(fd); /* refused from now on */
	t0 = loop_now_ms();
	run_for(&r, 2000);
	assert_int_equal(r.changes, 1);
	assert_false(r.healthy);
	assert_non_null(strstr(r.why, "refused"));
	assert_non_null(strstr(r.why, target));
	assert_string_equal(health_why(h), r.why);
	/* fall 2 at 100 ms: within two intervals and a little. */
	assert_true(r.at - t0 <= 2 * 100 + 800); /* loose: a busy machine */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(listen(fd, 16), 0);
	}
	run_for(&r, 2000);
	assert_int_equal(r.changes, 2);
	assert_true(r.healthy);
	assert_string_equal(r.why, "");
	health_free(h);
	close(fd);
	loop_free(r.loop);
}

static void test_exec_status_and_output(void **state)
{
	struct rec r = { .loop = loop_new() };
	char *argv[] = { S("/bin/sh"), S("-c"), S("echo 'not ready yet'; echo more; exit 3"), NULL };
	struct cfg_check c = { .kind = CFG_CHECK_EXEC, .target = argv[0], .argv = argv,
		.argc = 3 };
	struct cfg_health cfg = one_check(&c);
	struct health *h;

	(void)state;
	cfg.fall = 1;
	h = health_new(r.loop, &cfg, on_change, &r);
	run_for(&r, 2000);
	assert_int_equal(r.changes, 1);
	assert_false(r.healthy);
	assert_string_equal(r.why, "exec /bin/sh: exit status 3");
	health_free(h);
	loop_free(r.loop);
}

static void test_exec_missing_program(void **state)
{
	struct rec r = { .loop = loop_new() };
	char *argv[] = { S("/nonexistent/check"), NULL };
	struct cfg_check c = { .kind = CFG_CHECK_EXEC, .target = argv[0], .argv = argv,
		.argc = 1 };
	struct cfg_health cfg = one_check(&c);
	struct health *h;

	(void)state;
	cfg.fall = 1;
	h = health_new(r.loop, &cfg, on_change, &r);
	run_for(&r, 2000);
	assert_int_equal(r.changes, 1);
	assert_non_null(strstr(r.why, "cannot run: No such file"));
	health_free(h);
	loop_free(r.loop);
}

/* A hanging check fails at its own timeout, and nothing else waits: a
 * timer due meanwhile fires on time. */
static void test_exec_hanging_killed_at_timeout(void **state)
{
	struct rec r = { .loop = loop_new() };
	char *argv[] = { S("/bin/sh"), S("-c"), S("sleep 30; exit 0"), NULL };
	struct cfg_check c = { .kind = CFG_CHECK_EXEC, .target = argv[0], .argv = argv,
		.argc = 3 };
	struct cfg_health cfg = one_check(&c);
	struct health *h;
	uint64_t t0 = loop_now_ms();

	(void)state;
	cfg.fall = 1;
	h = health_new(r.loop, &cfg, on_change, &r);
	run_for(&r, 5000);
	assert_int_equal(r.changes, 1);
	assert_non_null(strstr(r.why, "no exit within 80 ms (timeout signal=TERM)"));
	/* The first round starts at once, the timeout is 80 ms from the
	 * spawn; the spawn itself (a fork of a process under valgrind takes
	 * hundreds of ms) and a late loop get 3 s: still far below the 30 s
	 * sleep, which is what this bound tells apart. */
	assert_true(r.at - t0 < 80 + 3000);
		health_free(h);
	loop_free(r.loop);
}

/* A check that ignores SIGTERM runs until child.h's SIGKILL, 2 s after
 * its timeout: the rounds due meanwhile are skipped, never a second copy
 * of it started (the script counts its starts in a file). The trap comes
 * first and the timeout is 1000 ms, so sh has run the trap long before
 * SIGTERM even when it is slow to start (with 80 ms a slow start ended it
 * at TERM). */
static void test_no_second_copy_while_running(void **state)
{
	struct rec r = { .loop = loop_new() };
	char file[] = "/tmp/vipd-test-health-XXXXXX", script[200];
	char *argv[] = { S("/bin/sh"), S("-c"), script, NULL };
	struct cfg_check c = { .kind = CFG_CHECK_EXEC, .target = argv[0], .argv = argv,
		.argc = 3 };
	struct cfg_health cfg = one_check(&c);
	struct health *h;
	char line[16];
	int fd = mkstemp(file), starts = 0;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(script, sizeof(script), "trap '' TERM; echo run >>%s; sleep 10", file);
	cfg.fall = 1;
	cfg.timeout_ms = 1000;
	h = health_new(r.loop, &cfg, on_change, &r);
	/* KILL at 1000 + CHILD_KILL_GRACE_MS = 3000 ms, well before sh's
	 * sleep 10 ends; 8 s leaves 5 s for a loaded machine. */
	run_for(&r, 8000);
	assert_int_equal(r.changes, 1);
	assert_non_null(strstr(r.why, "no exit within 1000 ms (timeout signal=KILL)"));
	/* Rounds of 100 ms due during those 3000 ms: about 29; each one is
	 * skipped, and a loop that is late runs fewer, so ask for a third. */
	assert_true(health_skipped(h) >= 10);
	f = fopen(file, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		starts++;
	fclose(f);
	assert_int_equal(starts, 1);
	health_free(h);
	unlink(file);
	loop_free(r.loop);
}

/* All must pass: one failing check of two is enough, and it is named. */
static void test_all_must_pass(void **state)
{
	struct rec r = { .loop = loop_new() };
	char *ok[] = { S("/bin/true"), NULL }, *bad[] = { S("/bin/false"), NULL };
	struct cfg_check c[2] = {
		{ .kind = CFG_CHECK_EXEC, .target = ok[0], .argv = ok, .argc = 1 },
		{ .kind = CFG_CHECK_EXEC, .target = bad[0], .argv = bad, .argc = 1 },
	};
	struct cfg_health cfg = one_check(c);
	struct health *h;

	(void)state;
	cfg.n_checks = 2;
	h = health_new(r.loop, &cfg, on_change, &r);
	run_for(&r, 2000);
	assert_int_equal(r.changes, 1);
	assert_string_equal(r.why, "exec /bin/false: exit status 1");
	health_free(h);
	loop_free(r.loop);
}

/* startGrace: failing rounds inside it change nothing. */
static void test_start_grace(void **state)
{
	struct rec r = { .loop = loop_new() };
	char *bad[] = { S("/bin/false"), NULL };
	struct cfg_check c = { .kind = CFG_CHECK_EXEC, .target = bad[0], .argv = bad,
		.argc = 1 };
	struct cfg_health cfg = one_check(&c);
	struct health *h;
	uint64_t t0 = loop_now_ms();

	(void)state;
	cfg.fall = 1;
	cfg.start_grace_ms = 500;
	h = health_new(r.loop, &cfg, on_change, &r);
	run_for(&r, 3000);
	assert_int_equal(r.changes, 1);
	assert_true(r.at - t0 >= 500);
	health_free(h);
	loop_free(r.loop);
}

/* ---- http against a small server thread on 127.0.0.1 ------------------------ */

struct server {
	int fd;
	uint16_t port;
	const char *replies[4];  /* one per connection; NULL: read, never answer */
	int n;
	pthread_t th;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < s->n; i++) {
		char buf[4096];
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		(void)!read(c, buf, sizeof(buf)); /* one small GET */
		if (s->replies[i] == NULL) {
			(void)!read(c, buf, sizeof(buf)); /* until vipd gives up */
		} else {
			(void)!write(c, s->replies[i], strlen(s->replies[i]));
		}
		close(c);
	}
	return NULL;
}

/* 503 -> unhealthy (the status and the body's first line named); 200 ->
 * healthy; a server that never answers -> unhealthy at the timeout. */
static void test_http_status_pass_timeout(void **state)
{
	struct rec r = { .loop = loop_new() };
	struct server sv = { .n = 3, .replies = {
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot ready",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
		NULL } };
	char url[64], want[128];
	struct cfg_check c = { .kind = CFG_CHECK_HTTP, .target = url };
	struct cfg_health cfg = one_check(&c);
	struct health *h;

	(void)state;
	sv.fd = loopback_port(16, &sv.port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/readyz", sv.port);
	assert_int_equal(pthread_create(&sv.th, NULL, serve, &sv), 0);
	cfg.fall = 1;
	cfg.rise = 1;
	/* The timeout is wide enough for libcurl's first transfer under
	 * valgrind (80 ms were not, 1000 ms were close). A round still
	 * running when the next is due makes health skip that one, so the
	 * 503, 200, no-answer order holds with either one slow. */
	cfg.interval_ms = 1200;
	cfg.timeout_ms = 3000;
	h = health_new(r.loop, &cfg, on_change, &r);
	run_for(&r, 5000); /* the first round at once, done within its 3 s */
	assert_int_equal(r.changes, 1);
	snprintf(want, sizeof(want), "http %s: HTTP status 503: not ready", url);
	assert_string_equal(r.why, want);
	run_for(&r, 5000); /* the next round due within 1200 ms, + 3 s */
	assert_int_equal(r.changes, 2);
	assert_true(r.healthy);
	/* The next round due within 1200 ms, times out 3000 ms later; 4 s
	 * for a late loop. */
	run_for(&r, 8200);
	assert_int_equal(r.changes, 3);
	snprintf(want, sizeof(want), "http %s: no answer within 3000 ms (timeout)", url);
	assert_string_equal(r.why, want);
	health_free(h);
	pthread_join(sv.th, NULL);
	close(sv.fd);
	loop_free(r.loop);
}

/* ---- reload: health_rebind and health_start_unhealthy ------------------------ */

/* Run the loop in 20 ms slices until n rounds have finished or a change
 * came (at most 5 s). */
static void run_rounds(struct rec *r, struct health *h, uint64_t n)
{
	int changes = r->changes;

	for (int i = 0; i < 250 && health_rounds(h) < n && r->changes == changes; i++)
		run_for(r, 20);
}

/* A heap copy of one exec check's section, as a reload's new config has
 * its own strings (the old one is freed after the rebind). */
struct hcopy {
	struct cfg_health cfg;
	struct cfg_check c;
	char *argv[4];
};

static void hcopy_make(struct hcopy *x, const char *file, unsigned fall, unsigned rise)
{
	char *script = NULL;

	assert_true(asprintf(&script, "test ! -e %s", file) > 0);
	memset(x, 0, sizeof(*x));
	x->argv[0] = strdup("/bin/sh");
	x->argv[1] = strdup("-c");
	x->argv[2] = script;
	x->c = (struct cfg_check){ .kind = CFG_CHECK_EXEC, .target = x->argv[0],
		.argv = x->argv, .argc = 3 };
	/* A generous timeout: a shell's start on a busy machine. */
	x->cfg = (struct cfg_health){ .interval_ms = 100, .timeout_ms = 2000, .fall = fall,
		.rise = rise, .checks = &x->c, .n_checks = 1 };
}

/* Freed and the memory scribbled over first: a module still reading the
 * old section would see garbage (and ASan/valgrind a use after free). */
static void hcopy_free(struct hcopy *x)
{
	for (int i = 0; i < 3; i++) {
		memset(x->argv[i], 'X', strlen(x->argv[i]));
		free(x->argv[i]);
	}
	memset(x, 0xa5, sizeof(*x));
}

/* An equal section on reload: the failing run and the passing run go on
 * across the rebind (the change comes at exactly fall, then rise, rounds
 * in all), the state and why do not move, and the module reads the new
 * section (the old one is freed at once). */
static void test_rebind_keeps_state_and_counters(void **state)
{
	struct rec r = { .loop = loop_new() };
	char file[] = "/tmp/vipd-test-health-XXXXXX";
	struct hcopy a, b, c;
	struct health *h;
	uint64_t k, r0;
	int fd = mkstemp(file); /* exists: the check fails */

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	hcopy_make(&a, file, 4, 3);
	h = health_new(r.loop, &a.cfg, on_change, &r);
	run_rounds(&r, h, 1);
	k = health_rounds(h);
	assert_int_equal(r.changes, 0);
	assert_true(k >= 1 && k < 4);
	hcopy_make(&b, file, 4, 3);
	assert_true(cfg_health_equal(&a.cfg, &b.cfg));
	health_rebind(h, &b.cfg);
	hcopy_free(&a);
	assert_true(health_ok(h));
	run_for(&r, 5000);
	assert_int_equal(r.changes, 1);
	assert_false(r.healthy);
	assert_int_equal(health_rounds(h), 4); /* fall 4: k before, 4 - k after */
	assert_non_null(strstr(r.why, "exec /bin/sh"));

	/* Passing from now on (no check runs: the loop stopped in the
	 * callback of the round's end). */
	unlink(file);
	r0 = health_rounds(h);
	run_rounds(&r, h, r0 + 1);
	k = health_rounds(h) - r0;
	assert_int_equal(r.changes, 1);
	assert_true(k >= 1 && k < 3);
	hcopy_make(&c, file, 4, 3);
	health_rebind(h, &c.cfg);
	hcopy_free(&b);
	assert_false(health_ok(h));
	assert_string_equal(health_why(h), r.why);
	run_for(&r, 5000);
	assert_int_equal(r.changes, 2);
	assert_true(r.healthy);
	assert_int_equal(health_rounds(h), r0 + 3); /* rise 3 in all */
	health_free(h);
	hcopy_free(&c);
	loop_free(r.loop);
}

/* A changed section on an unhealthy node: the new module is unhealthy at
 * once (no callback: nothing changed), keeps the old why, and turns
 * healthy only after rise passing rounds. */
static void test_start_unhealthy_needs_rise(void **state)
{
	struct rec r = { .loop = loop_new() };
	char *ok[] = { S("/bin/true"), NULL };
	struct cfg_check c = { .kind = CFG_CHECK_EXEC, .target = ok[0], .argv = ok, .argc = 1 };
	struct cfg_health cfg = one_check(&c);
	struct health *h;

	(void)state;
	cfg.rise = 3;
	cfg.timeout_ms = 2000;
	cfg.start_grace_ms = 10000;
	h = health_new(r.loop, &cfg, on_change, &r);
	health_start_unhealthy(h, "tcp 127.0.0.1:6443: connect: Connection refused");
	assert_false(health_ok(h));
	assert_string_equal(health_why(h), "tcp 127.0.0.1:6443: connect: Connection refused");
	assert_int_equal(r.changes, 0);
	run_for(&r, 5000);
	assert_int_equal(r.changes, 1);
	assert_true(r.healthy);
	assert_string_equal(r.why, "");
	assert_int_equal(health_rounds(h), 3);
	assert_true(health_ok(h));
	health_free(h);
	loop_free(r.loop);
}

/* startGrace is for a fresh start, not for a node known to be failing:
 * after health_start_unhealthy failing rounds are counted (no "failing
 * during startGrace" line), where a plain health_new logs one. */
static void test_start_unhealthy_ignores_start_grace(void **state)
{
	char *bad[] = { S("/bin/false"), NULL };
	struct cfg_check c = { .kind = CFG_CHECK_EXEC, .target = bad[0], .argv = bad, .argc = 1 };
	struct cfg_health cfg = one_check(&c);
	struct stderr_cap cap;
	char log[8192];

	(void)state;
	cfg.fall = 1;
	cfg.timeout_ms = 2000;
	cfg.start_grace_ms = 10000;
	for (int unhealthy = 0; unhealthy < 2; unhealthy++) {
		struct rec r = { .loop = loop_new() };
		struct health *h;
		bool ok;

		stderr_cap_begin(&cap);
		h = health_new(r.loop, &cfg, on_change, &r);
		if (unhealthy)
			health_start_unhealthy(h, "was failing");
		run_rounds(&r, h, 3);
		ok = health_ok(h);
		health_free(h);
		stderr_cap_end(&cap, log, sizeof(log));
		assert_int_equal(r.changes, 0); /* in grace, or unhealthy already */
		assert_true(ok == !unhealthy);
		if (unhealthy)
			assert_null(strstr(log, "failing during startGrace"));
		else
			assert_non_null(strstr(log, "failing during startGrace"));
		loop_free(r.loop);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sm_fall_and_rise),
		cmocka_unit_test(test_sm_pass_breaks_fail_run),
		cmocka_unit_test(test_sm_grace_not_counted_until_a_pass),
		cmocka_unit_test(test_sm_grace_ends_with_the_clock),
		cmocka_unit_test(test_tcp_refused_then_back),
		cmocka_unit_test(test_exec_status_and_output),
		cmocka_unit_test(test_exec_missing_program),
		cmocka_unit_test(test_exec_hanging_killed_at_timeout),
		cmocka_unit_test(test_no_second_copy_while_running),
		cmocka_unit_test(test_all_must_pass),
		cmocka_unit_test(test_start_grace),
		cmocka_unit_test(test_http_status_pass_timeout),
		cmocka_unit_test(test_rebind_keeps_state_and_counters),
		cmocka_unit_test(test_start_unhealthy_needs_rise),
		cmocka_unit_test(test_start_unhealthy_ignores_start_grace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
