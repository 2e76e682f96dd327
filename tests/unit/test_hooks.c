/*
 * test_hooks.c - hooks.c with real children on the real loop: an event
 * only queues (nothing runs inside hooks_event), the environment a hook
 * gets, one hook at a time per VIP in event order while different VIPs
 * run side by side, the bounded queue dropping the oldest waiting event,
 * a drain starting everything at once and calling back when all ended,
 * and no hook configured doing nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"

struct t {
	struct loop *loop;
	struct loop_timer *stop;
	char dir[64], rec[96];
	char sh[8], dash_c[3]; /* argv's first two, writable (cfg_hooks holds char *) */
	char *argv[4];
	struct cfg_hooks cfg;
	int drained;
};

/* The hook: one line per run when it starts and one when it ends, then a
 * sleep of $1 seconds between. */
static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	snprintf(t->sh, sizeof(t->sh), "/bin/sh");
	snprintf(t->dash_c, sizeof(t->dash_c), "-c");
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_hooks.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->rec, sizeof(t->rec), "%s/rec", t->dir);
	t->argv[0] = t->sh;
	t->argv[1] = t->dash_c;
	t->argv[2] = NULL;
	t->cfg.timeout_ms = 10000;
	t->loop = loop_new();
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	unlink(t->rec);
	rmdir(t->dir);
	free(t->argv[2]);
	loop_free(t->loop);
	free(t);
	return 0;
}

static void hook_script(struct t *t, double sleep_s)
{
	free(t->argv[2]);
	if (asprintf(&t->argv[2], "echo \"start $VIPD_EVENT $VIPD_VIP $VIPD_LINK $VIPD_NODE [$VIPD_REASON]\" >>%s; "
	    "sleep %.1f; echo \"end $VIPD_EVENT $VIPD_VIP\" >>%s", t->rec, sleep_s, t->rec) < 0)
		fail();
	t->argv[3] = NULL;
	t->cfg.on_acquire = t->argv;
	t->cfg.on_release = t->argv;
}

/* The hook for ordering checks: like hook_script, but instead of a fixed
 * sleep it waits until the record holds n start lines (polled every 50 ms,
 * at most 100 polls: 5 s and sh's forks), so hooks that must run side by
 * side meet there whatever the machine's speed, and hooks run one after
 * the other (the bug) show as one ending before the other started. */
static void hook_script_meet(struct t *t, int n)
{
	free(t->argv[2]);
	if (asprintf(&t->argv[2], "echo \"start $VIPD_EVENT $VIPD_VIP $VIPD_LINK $VIPD_NODE [$VIPD_REASON]\" >>%s; "
	    "i=0; while [ \"$(grep -c '^start' %s)\" -lt %d ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; "
	    "echo \"end $VIPD_EVENT $VIPD_VIP\" >>%s", t->rec, t->rec, n, t->rec) < 0)
		fail();
	t->argv[3] = NULL;
	t->cfg.on_acquire = t->argv;
	t->cfg.on_release = t->argv;
}

static void on_stop(void *arg)
{
	loop_stop(arg);
}

static void run_for(struct t *t, uint64_t ms)
{
	struct loop_timer *tm = loop_timer_new(t->loop, on_stop, t->loop);

	loop_timer_arm(tm, ms);
	loop_run(t->loop);
	loop_timer_free(tm);
}

static char *read_rec(struct t *t)
{
	static char buf[4096];
	FILE *f = fopen(t->rec, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* Run the loop until the record holds needle (checked every 20 ms), at
 * most 5 s: generous for a loaded machine, and no test waits for it when
 * things go well. */
static void run_until(struct t *t, const char *needle)
{
	for (int i = 0; i < 250 && strstr(read_rec(t), needle) == NULL; i++)
		run_for(t, 20);
}

/* Run the loop in 20 ms steps until h is idle (the last hook's end
 * reaped), at most 5 s. */
static void run_until_idle(struct t *t, struct hooks *h)
{
	for (int i = 0; i < 250 && !hooks_idle(h); i++)
		run_for(t, 20);
}

static void test_event_only_queues_and_env(void **state)
{
	struct t *t = *state;
	struct hooks *h;

	hook_script(t, 0);
	h = hooks_new(t->loop, &t->cfg, "node-a");
	hooks_event(h, HOOKS_ACQUIRE, "198.18.0.100", "eth0", "elected");
	assert_false(hooks_idle(h));
	usleep(100 * 1000);
	assert_string_equal(read_rec(t), ""); /* nothing ran inside hooks_event */
	run_until(t, "end acquire");
	run_until_idle(t, h); /* its end reaped */
	assert_string_equal(read_rec(t),
	    "start acquire 198.18.0.100 eth0 node-a [elected]\nend acquire 198.18.0.100\n");
	assert_true(hooks_idle(h));
	hooks_free(h);
}

/* Per VIP one at a time, in order; another VIP's hook runs beside (the
 * two acquires wait for each other's start line). */
static void test_serialized_per_vip(void **state)
{
	struct t *t = *state;
	struct hooks *h;

	hook_script_meet(t, 2);
	h = hooks_new(t->loop, &t->cfg, "n");
	hooks_event(h, HOOKS_ACQUIRE, "198.18.0.100", "eth0", "elected");
	hooks_event(h, HOOKS_RELEASE, "198.18.0.100", "eth0", "stopping");
	hooks_event(h, HOOKS_ACQUIRE, "fd00::100", "eth0", "elected");
	run_until(t, "end release 198.18.0.100");
	run_until(t, "end acquire fd00::100");
	run_until_idle(t, h);
	/* VIP 1's release starts only after its acquire ended; VIP 2's
	 * acquire started beside VIP 1's acquire. */
	{
		const char *r = read_rec(t);
		const char *a1 = strstr(r, "start acquire 198.18.0.100");
		const char *e1 = strstr(r, "end acquire 198.18.0.100");
		const char *r1 = strstr(r, "start release 198.18.0.100");
		const char *a2 = strstr(r, "start acquire fd00::100");

		assert_non_null(a1);
		assert_non_null(e1);
		assert_non_null(r1);
		assert_non_null(a2);
		assert_true(e1 < r1);
		assert_true(a2 < e1);
	}
	assert_true(hooks_idle(h));
	hooks_free(h);
}

/* Past HOOKS_QUEUE_MAX waiting events the oldest waiting one is dropped. */
static void test_queue_bounded(void **state)
{
	struct t *t = *state;
	struct hooks *h;
	char reason[16];
	const char *r;

	hook_script(t, 0.1);
	h = hooks_new(t->loop, &t->cfg, "n");
	hooks_event(h, HOOKS_ACQUIRE, "198.18.0.100", "eth0", "r0");
	run_until(t, "[r0]"); /* r0 runs, no longer waits */
	for (int i = 1; i <= HOOKS_QUEUE_MAX + 1; i++) {
		snprintf(reason, sizeof(reason), "r%d", i);
		hooks_event(h, HOOKS_RELEASE, "198.18.0.100", "eth0", reason);
	}
	snprintf(reason, sizeof(reason), "[r%d]", HOOKS_QUEUE_MAX + 1);
	run_until(t, reason);
	run_for(t, 300);
	r = read_rec(t);
	assert_non_null(strstr(r, "[r0]"));
	assert_null(strstr(r, "[r1]")); /* the oldest waiting, dropped */
	for (int i = 2; i <= HOOKS_QUEUE_MAX + 1; i++) {
		snprintf(reason, sizeof(reason), "[r%d]", i);
		assert_non_null(strstr(r, reason));
	}
	hooks_free(h);
}

static void on_drained(void *arg)
{
	struct t *t = arg;

	t->drained++;
	loop_stop(t->loop);
}

/* A drain starts what waits at once and calls back when all ended. */
static void test_drain(void **state)
{
	struct t *t = *state;
	struct hooks *h;
	const char *r;

	hook_script_meet(t, 2); /* each ends once both started */
	h = hooks_new(t->loop, &t->cfg, "n");
	hooks_event(h, HOOKS_ACQUIRE, "198.18.0.100", "eth0", "elected");
	hooks_event(h, HOOKS_RELEASE, "198.18.0.100", "eth0", "stopping");
	hooks_drain(h, on_drained, t);
	assert_int_equal(t->drained, 0); /* never from inside the call */
	run_for(t, 10000); /* on_drained stops it sooner */
	assert_int_equal(t->drained, 1);
	r = read_rec(t);
	/* Both started before either ended. */
	assert_non_null(strstr(r, "start release"));
	assert_non_null(strstr(r, "end acquire"));
	assert_true(strstr(r, "start release") < strstr(r, "end acquire"));
	assert_true(hooks_idle(h));
	hooks_free(h);
}

static void test_nothing_configured(void **state)
{
	struct t *t = *state;
	struct cfg_hooks none = { .timeout_ms = 30000 };
	struct hooks *h = hooks_new(t->loop, &none, "n");

	hooks_event(h, HOOKS_ACQUIRE, "198.18.0.100", "eth0", "elected");
	assert_true(hooks_idle(h));
	hooks_event(NULL, HOOKS_ACQUIRE, "198.18.0.100", "eth0", "elected");
	hooks_free(h);
	hooks_free(NULL);
}

/* hooks_free kills what still runs. */
static void test_free_kills(void **state)
{
	struct t *t = *state;
	struct hooks *h;

	hook_script(t, 30);
	h = hooks_new(t->loop, &t->cfg, "n");
	hooks_event(h, HOOKS_ACQUIRE, "198.18.0.100", "eth0", "elected");
	run_until(t, "start acquire");
	assert_non_null(strstr(read_rec(t), "start acquire"));
	hooks_free(h); /* returns at once: killed and reaped */
	assert_null(strstr(read_rec(t), "end acquire"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_only_queues_and_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serialized_per_vip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_kills, setup, teardown),
	};

	log_init("test_hooks", LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
