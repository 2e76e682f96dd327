/*
 * health_int.h - what health.c and the check kinds (health_tcp.c,
 * health_http.c, health_exec.c) share; private to them.
 *
 * A kind's start either finishes at once (returns NULL and fills *now:
 * a refused connect, a program that cannot be run) or returns a running
 * check that reports exactly once through done, from the kind's own event
 * handler, unless cancelled first. Cancel never calls back.
 */
#ifndef VIPD_HEALTH_INT_H
#define VIPD_HEALTH_INT_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct cfg_check;

/* One check's outcome; why is "" when it passed. */
struct hresult {
	bool pass;
	char why[200];
};

typedef void hcheck_done(void *arg, const struct hresult *r);

struct htcp;
struct htcp *htcp_start(struct loop *l, const struct cfg_check *c, uint32_t timeout_ms,
    hcheck_done *done, void *arg, struct hresult *now);
void htcp_cancel(struct htcp *t); /* NULL-safe */

/* http checks share one libcurl multi handle on the loop. */
struct hhttp;
struct hhttp_req;
struct hhttp *hhttp_new(struct loop *l);
void hhttp_free(struct hhttp *m); /* NULL-safe; requests cancelled first */
struct hhttp_req *hhttp_start(struct hhttp *m, const struct cfg_check *c,
    uint32_t timeout_ms, hcheck_done *done, void *arg, struct hresult *now);
void hhttp_cancel(struct hhttp_req *r); /* NULL-safe */

/* Through child.h: the result comes when the child has ended. */
struct hexec;
struct hexec *hexec_start(struct loop *l, const struct cfg_check *c, uint32_t timeout_ms,
    hcheck_done *done, void *arg, struct hresult *now);
/* Kills the child's process group (SIGKILL) and reaps it. */
void hexec_cancel(struct hexec *x); /* NULL-safe */

#endif
