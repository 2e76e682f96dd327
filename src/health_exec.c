/*
 * health_exec.c - an exec check: the configured argv run through
 * child.h (posix_spawn without a shell or PATH search, its own process
 * group, environment PATH only, stdin /dev/null, each output line logged
 * as `health: exec <program> output: "..."`). Exit status 0 passes.
 *
 * The timeout is child.h's: SIGTERM to the process group at timeout_ms,
 * SIGKILL CHILD_KILL_GRACE_MS later. The check's result comes when the
 * child has ended (reaped from the loop's pidfd handler): at the timeout
 * for a program that ends on SIGTERM, at most CHILD_KILL_GRACE_MS later
 * for one that ignores it. Until then the round is not over, so no
 * second copy of the check is started (health.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "config.h"
#include "health_int.h"
#include "xmem.h"

struct hexec {
	struct child *ch;
	uint32_t timeout_ms;
	hcheck_done *done;
	void *arg;
};

/* child.h's done callback: from the loop's pidfd handler. */
static void on_child(void *arg, struct child *c, const struct child_result *res)
{
	struct hexec *x = arg;
	struct hresult r = { 0 };
	hcheck_done *done = x->done;
	void *darg = x->arg;
	char how[64];

	if (res->end == CHILD_EXITED && res->code == 0)
		r.pass = true;
	else if (res->end == CHILD_TIMEDOUT)
		snprintf(r.why, sizeof(r.why), "no exit within %u ms (%s)", x->timeout_ms,
		    child_result_str(res, how, sizeof(how)));
	else if (res->end == CHILD_EXITED)
		snprintf(r.why, sizeof(r.why), "exit status %d", res->code);
	else
		snprintf(r.why, sizeof(r.why), "ended by %s",
		    child_result_str(res, how, sizeof(how)));
	child_free(c);
	free(x);
	done(darg, &r);
}

struct hexec *hexec_start(struct loop *l, const struct cfg_check *c, uint32_t timeout_ms,
    hcheck_done *done, void *arg, struct hresult *now)
{
	struct hexec *x = xcalloc(1, sizeof(*x));
	char prefix[96];

	*x = (struct hexec){ .timeout_ms = timeout_ms, .done = done, .arg = arg };
	snprintf(prefix, sizeof(prefix), "health: exec %.80s", c->argv[0]);
	x->ch = child_spawn(l, (const char *const *)c->argv, NULL, timeout_ms, prefix,
	    on_child, x);
	if (x->ch == NULL) {
		*now = (struct hresult){ .pass = false };
		snprintf(now->why, sizeof(now->why), "cannot run: %s", strerror(errno));
		free(x);
		return NULL;
	}
	return x;
}

void hexec_cancel(struct hexec *x)
{
	if (x == NULL)
		return;
	child_free(x->ch); /* kills (SIGKILL) and reaps a running one */
	free(x);
}
