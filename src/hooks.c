/*
 * hooks.c - vipd.hooks (see hooks.h): a queue per VIP, children through
 * child.c, one log line when a hook starts and one when it ends.
 */
#include "hooks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

struct hk_event {
	enum hooks_event ev;
	char *link, *reason;
};

/* One VIP's queue. Kept until hooks_free (a handful of VIPs). */
struct hk_vip {
	char *ip;
	struct hk_event q[HOOKS_QUEUE_MAX]; /* q[0] is the oldest */
	size_t n;
	unsigned running;         /* its hooks running now */
	struct hk_vip *next;
};

/* One hook running. */
struct hk_run {
	struct hooks *h;
	struct hk_vip *hv;
	enum hooks_event ev;
	struct child *child;
	struct hk_run *next;
};

struct hooks {
	struct loop *loop;
	char **argv[2];           /* copies: [HOOKS_ACQUIRE], [HOOKS_RELEASE]; NULL = none */
	uint32_t timeout_ms;
	char *node;
	struct loop_timer *kick;  /* 0 ms: start what waits (hooks_event) */
	struct hk_vip *vips;
	struct hk_run *runs;
	bool draining;
	void (*idle_cb)(void *);
	void *idle_arg;
};

static const char *ev_name(enum hooks_event ev)
{
	return ev == HOOKS_ACQUIRE ? "acquire" : "release";
}

static const char *ev_key(enum hooks_event ev)
{
	return ev == HOOKS_ACQUIRE ? "onAcquire" : "onRelease";
}

static char **ev_argv(const struct hooks *h, enum hooks_event ev)
{
	return h->argv[ev == HOOKS_ACQUIRE ? 0 : 1];
}

static char **argv_dup(char *const *a)
{
	size_t n = 0;
	char **d;

	if (a == NULL)
		return NULL;
	while (a[n] != NULL)
		n++;
	d = xcalloc(n + 1, sizeof(*d));
	for (size_t i = 0; i < n; i++)
		d[i] = xstrdup(a[i]);
	return d;
}

static void argv_free(char **a)
{
	for (size_t i = 0; a != NULL && a[i] != NULL; i++)
		free(a[i]);
	free(a);
}

static void event_free(struct hk_event *e)
{
	free(e->link);
	free(e->reason);
}

bool hooks_idle(const struct hooks *h)
{
	if (h->runs != NULL)
		return false;
	for (const struct hk_vip *hv = h->vips; hv; hv = hv->next)
		if (hv->n > 0)
			return false;
	return true;
}

static void pump(struct hooks *h);

static void on_end(void *arg, struct child *c, const struct child_result *res)
{
	struct hk_run *r = arg;
	struct hooks *h = r->h;
	char how[64];

	child_result_str(res, how, sizeof(how));
	(res->end == CHILD_EXITED && res->code == 0 ? log_info : log_warnx)(
	    "hook: ended event=%s vip=%s %s duration_ms=%" PRIu64 " pid=%d", ev_name(r->ev),
	    r->hv->ip, how, res->duration_ms, (int)res->pid);
	child_free(c);
	for (struct hk_run **pp = &h->runs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	r->hv->running--;
	free(r);
	pump(h);
}

/* Start e's hook for hv now; e's strings are used and left to the caller. */
static void start(struct hooks *h, struct hk_vip *hv, const struct hk_event *e)
{
	char **argv = ev_argv(h, e->ev);
	char *env[6], *prefix, esc[LOG_ESC_LEN];
	struct hk_run *r;

	/* Queued before a reload that removed this event's hook. */
	if (argv == NULL) {
		log_info("hook: not run, no %s hook since the reload event=%s vip=%s",
		    ev_key(e->ev), ev_name(e->ev), hv->ip);
		return;
	}
	env[0] = xasprintf("VIPD_EVENT=%s", ev_name(e->ev));
	env[1] = xasprintf("VIPD_VIP=%s", hv->ip);
	env[2] = xasprintf("VIPD_LINK=%s", e->link);
	env[3] = xasprintf("VIPD_NODE=%s", h->node);
	env[4] = xasprintf("VIPD_REASON=%s", e->reason);
	env[5] = NULL;
	prefix = xasprintf("hook: %s vip=%s", ev_key(e->ev), hv->ip);
	r = xcalloc(1, sizeof(*r));
	r->h = h;
	r->hv = hv;
	r->ev = e->ev;
	r->child = child_spawn(h->loop, (const char *const *)argv, (const char *const *)env,
	    h->timeout_ms, prefix, on_end, r);
	if (r->child == NULL) {
		log_warn("hook: cannot start event=%s vip=%s hook=%s", ev_name(e->ev), hv->ip,
		    argv[0]);
		free(r);
	} else {
		log_info("hook: started event=%s vip=%s link=%s reason=\"%s\" hook=%s pid=%d",
		    ev_name(e->ev), hv->ip, e->link, log_esc(esc, e->reason), argv[0],
		    (int)child_pid(r->child));
		r->next = h->runs;
		h->runs = r;
		hv->running++;
	}
	for (size_t i = 0; i < 5; i++)
		free(env[i]);
	free(prefix);
}

/* Start what may start: per VIP the oldest waiting event once none of its
 * hooks runs (every waiting one while draining). Then tell a drain that
 * asked whether all is done. Runs only from the hooks' own handlers. */
static void pump(struct hooks *h)
{
	for (struct hk_vip *hv = h->vips; hv; hv = hv->next) {
		while (hv->n > 0 && (hv->running == 0 || h->draining)) {
			struct hk_event e = hv->q[0];

			memmove(&hv->q[0], &hv->q[1], (hv->n - 1) * sizeof(hv->q[0]));
			hv->n--;
			start(h, hv, &e);
			event_free(&e);
		}
	}
	if (h->idle_cb != NULL && hooks_idle(h)) {
		void (*cb)(void *) = h->idle_cb;

		h->idle_cb = NULL;
		cb(h->idle_arg);
	}
}

static void on_kick(void *arg)
{
	pump(arg);
}

void hooks_event(struct hooks *h, enum hooks_event ev, const char *vip, const char *link,
    const char *reason)
{
	struct hk_vip *hv;

	if (h == NULL || ev_argv(h, ev) == NULL)
		return;
	for (hv = h->vips; hv && strcmp(hv->ip, vip) != 0; hv = hv->next)
		;
	if (hv == NULL) {
		hv = xcalloc(1, sizeof(*hv));
		hv->ip = xstrdup(vip);
		hv->next = h->vips;
		h->vips = hv;
	}
	if (hv->n == HOOKS_QUEUE_MAX) {
		log_warnx("hook: too many events waiting, dropped event=%s vip=%s (the oldest waiting; %u wait per VIP)",
		    ev_name(hv->q[0].ev), hv->ip, HOOKS_QUEUE_MAX);
		event_free(&hv->q[0]);
		memmove(&hv->q[0], &hv->q[1], (hv->n - 1) * sizeof(hv->q[0]));
		hv->n--;
	}
	hv->q[hv->n++] = (struct hk_event){
		.ev = ev, .link = xstrdup(link ? link : ""), .reason = xstrdup(reason ? reason : ""),
	};
	loop_timer_arm(h->kick, 0);
}

void hooks_drain(struct hooks *h, void (*cb)(void *arg), void *arg)
{
	h->draining = true;
	h->idle_cb = cb;
	h->idle_arg = arg;
	loop_timer_arm(h->kick, 0);
}

struct hooks *hooks_new(struct loop *loop, const struct cfg_hooks *cfg, const char *node)
{
	struct hooks *h = xcalloc(1, sizeof(*h));

	h->loop = loop;
	h->argv[0] = argv_dup(cfg->on_acquire);
	h->argv[1] = argv_dup(cfg->on_release);
	h->timeout_ms = cfg->timeout_ms;
	h->node = xstrdup(node);
	h->kick = loop_timer_new(loop, on_kick, h);
	return h;
}

void hooks_rebind(struct hooks *h, const struct cfg_hooks *cfg)
{
	argv_free(h->argv[0]);
	argv_free(h->argv[1]);
	h->argv[0] = argv_dup(cfg->on_acquire);
	h->argv[1] = argv_dup(cfg->on_release);
	h->timeout_ms = cfg->timeout_ms;
}

void hooks_free(struct hooks *h)
{
	if (h == NULL)
		return;
	while (h->runs != NULL) {
		struct hk_run *r = h->runs;

		log_warnx("hook: still running at exit, killing event=%s vip=%s pid=%d",
		    ev_name(r->ev), r->hv->ip, (int)child_pid(r->child));
		h->runs = r->next;
		child_free(r->child);
		free(r);
	}
	while (h->vips != NULL) {
		struct hk_vip *hv = h->vips;

		for (size_t i = 0; i < hv->n; i++) {
			log_warnx("hook: not run, exiting event=%s vip=%s", ev_name(hv->q[i].ev),
			    hv->ip);
			event_free(&hv->q[i]);
		}
		h->vips = hv->next;
		free(hv->ip);
		free(hv);
	}
	loop_timer_free(h->kick);
	argv_free(h->argv[0]);
	argv_free(h->argv[1]);
	free(h->node);
	free(h);
}
