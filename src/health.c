/*
 * health.c - rounds of health checks on the loop, folded into one
 * healthy/unhealthy state (health.h).
 */
#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "health_int.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

/* ---- the pure state machine ----------------------------------------------- */

void health_sm_init(struct health_sm *sm)
{
	*sm = (struct health_sm){ .healthy = true };
}

bool health_sm_step(struct health_sm *sm, unsigned fall, unsigned rise, bool pass,
    bool in_grace)
{
	bool was = sm->healthy;

	if (pass) {
		sm->grace_over = true;
		sm->fails = 0;
		if (sm->passes < rise)
			sm->passes++;
		if (!sm->healthy && sm->passes >= rise)
			sm->healthy = true;
	} else {
		if (in_grace && !sm->grace_over)
			return false; /* not counted; a pass run is not broken either */
		sm->grace_over = true;
		sm->passes = 0;
		if (sm->fails < fall)
			sm->fails++;
		if (sm->healthy && sm->fails >= fall)
			sm->healthy = false;
	}
	return sm->healthy != was;
}

/* ---- the module ---------------------------------------------------------- */

struct hslot {
	struct health *h;
	const struct cfg_check *c;
	void *run;               /* the kind's running check, NULL when none */
	struct hresult res;      /* this round's outcome */
};

struct health {
	struct loop *loop;
	const struct cfg_health *cfg;
	health_changed_cb *cb;
	void *arg;
	struct loop_timer *timer;
	uint64_t started_ms;     /* health_new: startGrace counts from here */
	struct hhttp *http;      /* NULL when no http check is configured */
	struct hslot *slots;
	size_t pending;          /* checks of this round still running */
	uint64_t round_ms;       /* when this round started */
	struct health_sm sm;
	bool grace_logged;
	char why[320];           /* why unhealthy, "" when healthy */
	char last_fail[320];     /* the last failing round's first failure */
	uint64_t rounds, skipped;
};

static const char *kind_name(const struct cfg_check *c)
{
	return c->kind == CFG_CHECK_HTTP ? "http" : c->kind == CFG_CHECK_TCP ? "tcp" : "exec";
}

static void finish_round(struct health *h)
{
	const struct cfg_health *cfg = h->cfg;
	uint64_t now = loop_now_ms();
	bool pass = true, in_grace;
	char first[sizeof(h->why)] = "";

	for (size_t i = 0; i < cfg->n_checks; i++) {
		const struct hslot *s = &h->slots[i];

		if (s->res.pass)
			continue;
		if (pass)
			snprintf(first, sizeof(first), "%s %s: %s", kind_name(s->c),
			    s->c->target, s->res.why);
		pass = false;
	}
	h->rounds++;
	in_grace = now - h->started_ms < cfg->start_grace_ms;
	if (!pass) {
		snprintf(h->last_fail, sizeof(h->last_fail), "%s", first);
		if (in_grace && !h->sm.grace_over) {
			if (!h->grace_logged)
				log_info("health: failing during startGrace, not counted until %u ms "
				    "after start or a passing round: %s", cfg->start_grace_ms, first);
			h->grace_logged = true;
		} else {
			log_debug("health: round failed: %s", first);
		}
	} else if (!h->sm.grace_over && h->grace_logged) {
		log_info("health: checks pass; startGrace over");
	}
	if (!health_sm_step(&h->sm, cfg->fall, cfg->rise, pass, in_grace))
		return;
	if (!h->sm.healthy) {
		snprintf(h->why, sizeof(h->why), "%s", first);
		log_warnx("health: unhealthy after %u failing round(s): %s; leaving the election",
		    cfg->fall, first);
	} else {
		log_info("health: healthy again after %u passing round(s) (was: %s); "
		    "joining the election", cfg->rise, h->why);
		h->why[0] = '\0';
	}
	h->cb(h->arg, h->sm.healthy, h->why);
}

/* A check's own event handler reports (hcheck_done). */
static void on_done(void *arg, const struct hresult *r)
{
	struct hslot *s = arg;
	struct health *h = s->h;

	s->run = NULL;
	s->res = *r;
	if (--h->pending == 0)
		finish_round(h);
}

static void *start_one(struct health *h, struct hslot *s)
{
	uint32_t t = h->cfg->timeout_ms;

	switch (s->c->kind) {
	case CFG_CHECK_TCP:
		return htcp_start(h->loop, s->c, t, on_done, s, &s->res);
	case CFG_CHECK_HTTP:
		return hhttp_start(h->http, s->c, t, on_done, s, &s->res);
	case CFG_CHECK_EXEC:
		return hexec_start(h->loop, s->c, t, on_done, s, &s->res);
	}
	s->res = (struct hresult){ .pass = false, .why = "unknown check kind" };
	return NULL;
}

static void cancel_one(struct hslot *s)
{
	if (s->run == NULL)
		return;
	switch (s->c->kind) {
	case CFG_CHECK_TCP:
		htcp_cancel(s->run);
		break;
	case CFG_CHECK_HTTP:
		hhttp_cancel(s->run);
		break;
	case CFG_CHECK_EXEC:
		hexec_cancel(s->run);
		break;
	}
	s->run = NULL;
}

/* The round timer (health's own event handler). */
static void on_round(void *arg)
{
	struct health *h = arg;
	uint64_t now = loop_now_ms();

	/* A fixed cadence from each round's start, not from its end. */
	loop_timer_arm_at(h->timer, now + h->cfg->interval_ms);
	if (h->pending > 0) {
		h->skipped++;
		log_debug("health: a round is still running after %llu ms; not starting another",
		    (unsigned long long)(now - h->round_ms));
		return;
	}
	h->round_ms = now;
	/* Count every check as running first, so one that finishes at once
	 * cannot end the round before the others started. */
	h->pending = h->cfg->n_checks;
	for (size_t i = 0; i < h->cfg->n_checks; i++) {
		struct hslot *s = &h->slots[i];

		s->res = (struct hresult){ 0 };
		s->run = start_one(h, s);
		if (s->run == NULL)
			h->pending--;
	}
	if (h->pending == 0)
		finish_round(h);
}

struct health *health_new(struct loop *l, const struct cfg_health *cfg,
    health_changed_cb *cb, void *arg)
{
	struct health *h = xcalloc(1, sizeof(*h));
	char a[CFG_DURATION_LEN], b[CFG_DURATION_LEN], g[CFG_DURATION_LEN];

	h->loop = l;
	h->cfg = cfg;
	h->cb = cb;
	h->arg = arg;
	h->started_ms = loop_now_ms();
	health_sm_init(&h->sm);
	h->slots = xcalloc(cfg->n_checks, sizeof(*h->slots));
	for (size_t i = 0; i < cfg->n_checks; i++) {
		h->slots[i] = (struct hslot){ .h = h, .c = &cfg->checks[i] };
		if (cfg->checks[i].kind == CFG_CHECK_HTTP && h->http == NULL &&
		    (h->http = hhttp_new(l)) == NULL) {
			free(h->slots);
			free(h);
			errno = ENOMEM;
			return NULL;
		}
	}
	h->timer = loop_timer_new(l, on_round, h);
	loop_timer_arm(h->timer, 0);
	log_info("health: %zu check(s) every %s, timeout %s, unhealthy after %u failing "
	    "round(s), healthy after %u passing; healthy at start, startGrace %s",
	    cfg->n_checks, cfg_duration_format(cfg->interval_ms, a),
	    cfg_duration_format(cfg->timeout_ms, b), cfg->fall, cfg->rise,
	    cfg_duration_format(cfg->start_grace_ms, g));
	return h;
}

void health_rebind(struct health *h, const struct cfg_health *cfg)
{
	h->cfg = cfg;
	for (size_t i = 0; i < cfg->n_checks; i++)
		h->slots[i].c = &cfg->checks[i];
}

void health_start_unhealthy(struct health *h, const char *why)
{
	h->sm.healthy = false;
	h->sm.grace_over = true;
	h->sm.fails = h->sm.passes = 0;
	snprintf(h->why, sizeof(h->why), "%s", why);
}

void health_free(struct health *h)
{
	if (h == NULL)
		return;
	loop_timer_free(h->timer);
	for (size_t i = 0; i < h->cfg->n_checks; i++)
		cancel_one(&h->slots[i]);
	hhttp_free(h->http);
	free(h->slots);
	free(h);
}

bool health_ok(const struct health *h)
{
	return h->sm.healthy;
}

const char *health_why(const struct health *h)
{
	return h->why;
}

uint64_t health_rounds(const struct health *h)
{
	return h->rounds;
}

uint64_t health_skipped(const struct health *h)
{
	return h->skipped;
}
