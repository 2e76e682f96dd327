/*
 * test_reload.c - the reload plan (reload.h): which VIPs are kept, added
 * and removed, what happens to every other setting, the answer and the
 * summary, and a rejected file.
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

#include <jansson.h>

#include "config.h"
#include "ctlproto.h"
#include "ctlview.h"
#include "hooks.h"
#include "loop.h"
#include "reload.h"

#define BASE \
	"machine:\n" \
	"  network:\n" \
	"    interfaces:\n" \
	"      - interface: eth0\n" \
	"        vip:\n" \
	"          ip: 198.18.0.100\n" \
	"      - interface: eth0\n" \
	"        vip:\n" \
	"          ip: fd00::100\n"

#define VIPD \
	"vipd:\n" \
	"  node: node-a\n" \
	"  etcd:\n" \
	"    endpoints: [\"http://127.0.0.1:2379\"]\n"

static struct cfg *load(const char *text)
{
	struct cfg *c = cfg_load_string("t.yaml", text, strlen(text), stderr);

	assert_non_null(c);
	return c;
}

static bool has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (strstr(json_string_value(v), s) != NULL)
			return true;
	return false;
}

static void test_unchanged_keeps_everything(void **state)
{
	struct cfg *a = load(BASE VIPD), *b = load(BASE VIPD);
	struct reload_plan p;

	(void)state;
	assert_int_equal(reload_plan_make(a, b, &p), 0);
	assert_int_equal(p.n_kept, 2);
	assert_int_equal(p.n_added, 0);
	assert_int_equal(p.n_removed, 0);
	assert_int_equal(p.old_of_new[0], 0);
	assert_int_equal(p.old_of_new[1], 1);
	assert_false(p.log_level || p.announce || p.lease_ttl || p.endpoints);
	assert_int_equal(json_array_size(p.applied), 0);
	assert_int_equal(json_array_size(p.next_lease), 0);
	assert_int_equal(json_array_size(p.restart), 0);
	assert_true(cfg_equal(a, b));
	reload_plan_free(&p);
	cfg_free(a);
	cfg_free(b);
}

/* Reordered, one removed, one added, one moved to another link (its
 * identity changed: removed + added). */
static void test_vips_kept_added_removed(void **state)
{
	struct cfg *a = load(BASE
	    "      - interface: eth1\n"
	    "        vip:\n"
	    "          ip: 198.18.0.102\n"
	    VIPD);
	struct cfg *b = load(
	    "machine:\n"
	    "  network:\n"
	    "    interfaces:\n"
	    "      - interface: eth0\n"
	    "        vip:\n"
	    "          ip: fd00::100\n"
	    "      - interface: eth2\n"
	    "        vip:\n"
	    "          ip: 198.18.0.102\n"
	    "      - interface: eth0\n"
	    "        vip:\n"
	    "          ip: 198.18.0.103\n"
	    VIPD);
	struct reload_plan p;
	json_t *ans;
	char *sum;

	(void)state;
	reload_plan_make(a, b, &p);
	assert_int_equal(p.n_kept, 1);
	assert_int_equal(p.n_added, 2);
	assert_int_equal(p.n_removed, 2);
	assert_int_equal(p.old_of_new[0], 1);           /* fd00::100 */
	assert_int_equal(p.old_of_new[1], RELOAD_ADDED); /* .102 on eth2 */
	assert_int_equal(p.old_of_new[2], RELOAD_ADDED);
	assert_true(p.removed[0]);                      /* .100 */
	assert_false(p.removed[1]);
	assert_true(p.removed[2]);                      /* .102 on eth1 */
	ans = reload_answer(a, b, &p, "node-a");
	assert_non_null(ans);
	assert_true(json_is_true(json_object_get(ans, "ok")));
	assert_string_equal(json_string_value(json_object_get(ans, "command")), "reload");
	assert_true(has(json_object_get(json_object_get(ans, "vips"), "kept"), "fd00::100"));
	assert_true(has(json_object_get(json_object_get(ans, "vips"), "added"), "198.18.0.103"));
	assert_true(has(json_object_get(json_object_get(ans, "vips"), "removed"), "198.18.0.100"));
	sum = reload_summary(ans);
	assert_non_null(strstr(sum, "vips kept=1 added=2 removed=2"));
	free(sum);
	json_decref(ans);
	reload_plan_free(&p);
	cfg_free(a);
	cfg_free(b);
}

/* Applied, at the next lease, needs a restart; the running value of a
 * restart-only setting moves into the new config. */
static void test_settings(void **state)
{
	struct cfg *a = load(BASE VIPD
	    "  lease:\n"
	    "    ttl: 5s\n"
	    "  log:\n"
	    "    level: info\n");
	struct cfg *b = load(BASE
	    "vipd:\n"
	    "  node: node-b\n"
	    "  controlSocket: /run/other.sock\n"
	    "  etcd:\n"
	    "    endpoints: [\"http://127.0.0.2:2379\", \"http://127.0.0.3:2379\"]\n"
	    "    prefix: /other/election/\n"
	    "  lease:\n"
	    "    ttl: 3s\n"
	    "  announce:\n"
	    "    count: 5\n"
	    "  log:\n"
	    "    level: debug\n");
	struct reload_plan p;
	json_t *ans;
	char *sum;

	(void)state;
	reload_plan_make(a, b, &p);
	assert_int_equal(p.n_kept, 2);
	assert_true(p.log_level && p.announce && p.lease_ttl && p.endpoints);
	assert_true(has(p.applied, "logLevel info -> debug"));
	assert_true(has(p.applied, "announce count=3"));
	assert_true(has(p.applied, "etcd endpoints: 1 -> 2"));
	assert_true(has(p.next_lease, "leaseTTL 5s -> 3s: applies to the next lease"));
	assert_true(has(p.restart, "vipd.node"));
	assert_true(has(p.restart, "vipd.controlSocket"));
	assert_true(has(p.restart, "vipd.etcd.prefix"));
	assert_int_equal(json_array_size(p.restart), 3);
	/* What runs stays; the file's value went to the old config. */
	assert_string_equal(b->node, "node-a");
	assert_string_equal(a->node, "node-b");
	assert_string_equal(b->etcd.prefix, "/vipd/election/");
	assert_string_equal(b->control_socket, "/run/vipd/vipd.sock");
	assert_int_equal(b->lease_ttl_ms, 3000);
	ans = reload_answer(a, b, &p, "node-a");
	sum = reload_summary(ans);
	assert_non_null(strstr(sum, "restart_needed=[vipd.node, vipd.controlSocket, vipd.etcd.prefix]"));
	free(sum);
	json_decref(ans);
	reload_plan_free(&p);
	cfg_free(a);
	cfg_free(b);
}

/* A bad file: NULL, its errors with file:line:col, and the answer. */
static void test_bad_file(void **state)
{
	char path[] = "/tmp/test_reload.XXXXXX";
	int fd = mkstemp(path);
	const char bad[] = BASE VIPD "  lease:\n    ttl: fast\n";
	char *errs = NULL;
	json_t *ans, *e;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, sizeof(bad) - 1), (ssize_t)(sizeof(bad) - 1));
	close(fd);
	assert_null(reload_parse(path, &errs));
	assert_non_null(errs);
	assert_non_null(strstr(errs, path));
	assert_non_null(strstr(errs, ":15:"));
	ans = reload_answer_failed(path, errs, "node-a");
	assert_false(json_is_true(json_object_get(ans, "ok")));
	e = json_object_get(ans, "errors");
	assert_true(json_array_size(e) >= 1);
	assert_non_null(strstr(json_string_value(json_array_get(e, 0)), "ttl"));
	json_decref(ans);
	free(errs);
	unlink(path);
	errs = NULL;
	assert_null(reload_parse("/nonexistent/vipd.yaml", &errs));
	assert_non_null(errs);
	free(errs);
}

static void test_request_line(void **state)
{
	struct ctl_req r;
	const char *why = NULL;
	char line[64];

	(void)state;
	assert_int_equal(ctlproto_parse("reload\n", 7, &r, &why), 1);
	assert_int_equal(r.cmd, CTL_RELOAD);
	assert_int_equal(ctlproto_parse("reload 198.18.0.1\n", 18, &r, &why), -1);
	assert_string_equal(why, "reload takes no argument");
	assert_int_equal(ctlproto_cmd_parse("reload"), CTL_RELOAD);
	r = (struct ctl_req){ .cmd = CTL_RELOAD };
	assert_int_equal(ctlproto_format(&r, line, sizeof(line)), 7);
	assert_string_equal(line, "reload\n");
	snprintf(r.vip, sizeof(r.vip), "198.18.0.1");
	assert_int_equal(ctlproto_format(&r, line, sizeof(line)), -1);
}

/* vipctl's text for a reload: one line per list; a refused file's errors
 * on err and exit 1. */
static void test_view(void **state)
{
	json_t *ok = json_loads("{\"ok\":true,\"command\":\"reload\",\"node\":\"n1\","
	    "\"path\":\"/etc/vipd/vipd.yaml\",\"vips\":{\"kept\":[\"198.18.0.100\"],"
	    "\"added\":[\"198.18.0.101\",\"fd00::1\"],\"removed\":[]},"
	    "\"applied\":[\"logLevel info -> debug\"],\"next_lease\":[],"
	    "\"restart_needed\":[\"vipd.node\"]}", 0, NULL);
	json_t *bad = reload_answer_failed("/x.yaml", "/x.yaml:3:5: vipd.lease.ttl: bad\n", "n1");
	char *o = NULL, *e = NULL;
	size_t ol = 0, el = 0;
	FILE *out = open_memstream(&o, &ol), *err = open_memstream(&e, &el);

	(void)state;
	assert_int_equal(ctlview_print(ok, "reload", out, err), 0);
	fflush(out);
	assert_string_equal(o, "kept: 198.18.0.100\nadded: 198.18.0.101, fd00::1\nremoved: -\n"
	    "applied: logLevel info -> debug\nat the next lease: -\nneeds a restart: vipd.node\n");
	assert_int_equal(ctlview_print(bad, "reload", out, err), 1);
	fflush(err);
	assert_non_null(strstr(e, "/x.yaml:3:5: vipd.lease.ttl: bad\n"));
	assert_non_null(strstr(e, "vipctl: reload: configuration not valid"));
	fclose(out);
	fclose(err);
	free(o);
	free(e);
	json_decref(ok);
	json_decref(bad);
}

/* ---- vipd.hooks and vipd.health: the plan's flags and applied lines ---------- */

#define HOOKS(acq, timeout) \
	"  hooks:\n" \
	"    onAcquire: " acq "\n" \
	"    onRelease: [/bin/rel]\n" \
	"    timeout: " timeout "\n"

#define HEALTH(interval, target) \
	"  health:\n" \
	"    interval: " interval "\n" \
	"    rise: 2\n" \
	"    checks:\n" \
	"      - tcp: " target "\n"

/* The plan for a -> b; the caller frees p and both configs. */
static void plan(const char *a_text, const char *b_text, struct cfg **a, struct cfg **b,
    struct reload_plan *p)
{
	*a = load(a_text);
	*b = load(b_text);
	assert_int_equal(reload_plan_make(*a, *b, p), 0);
}

static void done(struct cfg *a, struct cfg *b, struct reload_plan *p)
{
	reload_plan_free(p);
	cfg_free(a);
	cfg_free(b);
}

#define HH BASE VIPD HOOKS("[/bin/acq, one]", "5s") HEALTH("1s", "127.0.0.1:6443")

/* Equal hooks and health (two parses of one text): no flag, no line; the
 * VIPs kept. */
static void test_hooks_health_equal(void **state)
{
	struct cfg *a, *b;
	struct reload_plan p;

	(void)state;
	plan(HH, HH, &a, &b, &p);
	assert_false(p.hooks);
	assert_false(p.health);
	assert_int_equal(json_array_size(p.applied), 0);
	assert_int_equal(json_array_size(p.restart), 0);
	assert_int_equal(p.n_kept, 2);
	assert_true(cfg_hooks_equal(&a->hooks, &b->hooks));
	assert_true(cfg_health_equal(&a->health, &b->health));
	done(a, b, &p);
}

/* Hooks changed (an argument, a program added, the timeout, a hook
 * removed): the hooks flag and its one line; health untouched. */
static void test_hooks_changed(void **state)
{
	static const char *const changed[] = {
		BASE VIPD HOOKS("[/bin/acq, two]", "5s") HEALTH("1s", "127.0.0.1:6443"),
		BASE VIPD HOOKS("[/bin/acq, one, more]", "5s") HEALTH("1s", "127.0.0.1:6443"),
		BASE VIPD HOOKS("[/bin/acq, one]", "6s") HEALTH("1s", "127.0.0.1:6443"),
		BASE VIPD HEALTH("1s", "127.0.0.1:6443"),
	};
	struct cfg *a, *b;
	struct reload_plan p;

	(void)state;
	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		plan(HH, changed[i], &a, &b, &p);
		assert_true(p.hooks);
		assert_false(p.health);
		assert_int_equal(json_array_size(p.applied), 1);
		assert_true(has(p.applied, "hooks: the new programs run for later events"));
		assert_int_equal(json_array_size(p.restart), 0);
		assert_int_equal(p.n_kept, 2);
		done(a, b, &p);
	}
	/* And the other way: hooks where there were none. */
	plan(BASE VIPD, BASE VIPD HOOKS("[/bin/acq]", "5s"), &a, &b, &p);
	assert_true(p.hooks);
	assert_true(has(p.applied, "hooks: the new programs run for later events"));
	done(a, b, &p);
}

/* Health changed (a check's target, the interval): the health flag, the
 * line with the counts and the rise rule; hooks untouched. Removed: the
 * count goes to 0 and the rise rule is not claimed. */
static void test_health_changed(void **state)
{
	struct cfg *a, *b;
	struct reload_plan p;

	(void)state;
	plan(HH, BASE VIPD HOOKS("[/bin/acq, one]", "5s") HEALTH("1s", "127.0.0.1:6444"),
	    &a, &b, &p);
	assert_true(p.health);
	assert_false(p.hooks);
	assert_int_equal(json_array_size(p.applied), 1);
	assert_true(has(p.applied, "health: 1 -> 1 check(s), started anew (an unhealthy node "
	    "stays so until rise rounds pass)"));
	assert_false(cfg_health_equal(&a->health, &b->health));
	done(a, b, &p);

	plan(HH, BASE VIPD HOOKS("[/bin/acq, one]", "5s") HEALTH("2s", "127.0.0.1:6443"),
	    &a, &b, &p);
	assert_true(p.health);
	assert_false(p.hooks);
	assert_true(has(p.applied, "health: 1 -> 1 check(s), started anew"));
	done(a, b, &p);

	plan(HH, BASE VIPD HOOKS("[/bin/acq, one]", "5s"), &a, &b, &p);
	assert_true(p.health);
	assert_true(has(p.applied, "health: 1 -> 0 check(s), started anew"));
	assert_false(has(p.applied, "rise"));
	done(a, b, &p);

	/* Hooks and health both changed: two lines, both flags. */
	plan(HH, BASE VIPD HOOKS("[/bin/acq]", "5s") HEALTH("1s", "127.0.0.1:1"), &a, &b, &p);
	assert_true(p.hooks && p.health);
	assert_int_equal(json_array_size(p.applied), 2);
	done(a, b, &p);
}

/* cfg_hooks_equal on hand-made lists: NULL (no hook) and an empty list
 * are both "no hook"; a prefix, an extra argument, the other event's
 * list or the timeout differing are not equal. */
static void test_cfg_hooks_equal_edges(void **state)
{
	char *empty[] = { NULL }, *a1[] = { (char *)"/bin/a", NULL };
	char *a1b[] = { (char *)"/bin/a", NULL }; /* equal strings, other pointers */
	char *a2[] = { (char *)"/bin/a", (char *)"x", NULL };
	struct cfg_hooks none = { .timeout_ms = 30000 };
	struct cfg_hooks e = { .on_acquire = empty, .on_release = empty, .timeout_ms = 30000 };
	struct cfg_hooks x = { .on_acquire = a1, .timeout_ms = 30000 };
	struct cfg_hooks y = { .on_acquire = a1b, .timeout_ms = 30000 };
	struct cfg_hooks z = { .on_acquire = a2, .timeout_ms = 30000 };
	struct cfg_hooks r = { .on_release = a1, .timeout_ms = 30000 };
	struct cfg_hooks t = { .on_acquire = a1, .timeout_ms = 31000 };

	(void)state;
	assert_true(cfg_hooks_equal(&none, &none));
	assert_true(cfg_hooks_equal(&none, &e));
	assert_true(cfg_hooks_equal(&e, &none));
	assert_true(cfg_hooks_equal(&x, &y));
	assert_false(cfg_hooks_equal(&none, &x));
	assert_false(cfg_hooks_equal(&x, &none));
	assert_false(cfg_hooks_equal(&e, &x));
	assert_false(cfg_hooks_equal(&x, &e));
	assert_false(cfg_hooks_equal(&x, &z));
	assert_false(cfg_hooks_equal(&z, &x));
	assert_false(cfg_hooks_equal(&x, &r));
	assert_false(cfg_hooks_equal(&x, &t));
}

/* ---- hooks_rebind: an event waiting when the reload removed its hook -------- */

struct idle_wait {
	struct loop *loop;
	struct hooks *hooks;
	struct loop_timer *poll;
	int polls;               /* 20 ms each; given up after 250 (5 s) */
};

/* Stops the loop once the hooks are idle (or after 5 s). */
static void on_poll_idle(void *arg)
{
	struct idle_wait *w = arg;

	if (hooks_idle(w->hooks) || ++w->polls >= 250)
		loop_stop(w->loop);
	else
		loop_timer_arm(w->poll, 20);
}

/* onAcquire runs (0.3 s) and a release waits behind it (one at a time per
 * VIP); the reload takes onRelease away. When the acquire ends the waiting
 * release has no program any more: it is not run (logged), and vipd goes
 * on (it must not exec a NULL argv or crash on it). */
static void test_hook_removed_while_its_event_waits(void **state)
{
	char *acq[] = { (char *)"/bin/sh", (char *)"-c", (char *)"sleep 0.3", NULL };
	char *rel[] = { (char *)"/bin/true", NULL };
	struct cfg_hooks old = { .on_acquire = acq, .on_release = rel, .timeout_ms = 5000 };
	struct cfg_hooks new = { .on_acquire = acq, .timeout_ms = 5000 };
	struct idle_wait w = { .loop = loop_new() };
	struct hooks *h = hooks_new(w.loop, &old, "node-a");

	(void)state;
	w.hooks = h;
	w.poll = loop_timer_new(w.loop, on_poll_idle, &w);
	hooks_event(h, HOOKS_ACQUIRE, "198.18.0.100", "eth0", "elected");
	hooks_event(h, HOOKS_RELEASE, "198.18.0.100", "eth0", "paused");
	assert_false(hooks_idle(h));
	hooks_rebind(h, &new);
	loop_timer_arm(w.poll, 20);
	assert_int_equal(loop_run(w.loop), 0);
	assert_true(hooks_idle(h));
	loop_timer_free(w.poll);
	hooks_free(h);
	loop_free(w.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged_keeps_everything),
		cmocka_unit_test(test_vips_kept_added_removed),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_request_line),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_hooks_health_equal),
		cmocka_unit_test(test_hooks_changed),
		cmocka_unit_test(test_health_changed),
		cmocka_unit_test(test_cfg_hooks_equal_edges),
		cmocka_unit_test(test_hook_removed_while_its_event_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
