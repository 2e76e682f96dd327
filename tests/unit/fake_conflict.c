/*
 * fake_conflict.c - conflict.h and peers.h recorded, not sent.
 * One conflict handle at a time is driven (the last with a probe).
 */
#include "fake_conflict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conflict.h"
#include "peers.h"

struct conflict {
	conflict_cb *cb;
	void *arg;
	bool busy;
};

struct peers {
	int64_t lease;
};

static bool accept_probes;
static size_t n_probes;
static struct conflict *last;
static int64_t published_lease;

void fake_conflict_reset(void)
{
	accept_probes = false;
	n_probes = 0;
	last = NULL;
	published_lease = 0;
}

void fake_conflict_accept(bool accept) { accept_probes = accept; }
size_t fake_conflict_probes(void) { return n_probes; }
bool fake_conflict_pending(void) { return last != NULL && last->busy; }
int64_t fake_peers_lease(void) { return published_lease; }

void fake_conflict_answer(unsigned n_peer, unsigned n_foreign)
{
	struct conflict_result r;

	if (!fake_conflict_pending()) {
		fprintf(stderr, "fake_conflict_answer: no probe pending\n");
		abort();
	}
	memset(&r, 0, sizeof(r));
	r.n_peer = n_peer;
	r.n_foreign = n_foreign;
	r.peer[0] = 0x02, r.peer[5] = 0x0b;
	r.foreign[0] = 0x02, r.foreign[5] = 0x66;
	last->busy = false;
	last->cb(last->arg, &r);
}

struct conflict *conflict_new(struct loop *loop, struct peers *peers, conflict_cb *cb,
    void *arg)
{
	struct conflict *c = calloc(1, sizeof(*c));

	(void)loop;
	(void)peers;
	c->cb = cb;
	c->arg = arg;
	return c;
}

void conflict_free(struct conflict *c)
{
	if (c == last)
		last = NULL;
	free(c);
}

int conflict_probe(struct conflict *c, int ifindex, const unsigned char mac[6], int family,
    const void *addr)
{
	(void)ifindex, (void)mac, (void)family, (void)addr;
	if (c->busy)
		return -EBUSY;
	if (!accept_probes)
		return -EOPNOTSUPP;
	c->busy = true;
	last = c;
	n_probes++;
	return 0;
}

void conflict_cancel(struct conflict *c)
{
	if (c != NULL)
		c->busy = false;
}

bool conflict_busy(const struct conflict *c) { return c->busy; }

struct peers *peers_new(struct loop *loop, struct etcd *etcd, const char *name)
{
	(void)loop, (void)etcd, (void)name;
	return calloc(1, sizeof(struct peers));
}

void peers_free(struct peers *p) { free(p); }

void peers_publish(struct peers *p, int64_t lease, const unsigned char mac[6])
{
	(void)mac;
	p->lease = lease;
	published_lease = lease;
}

bool peers_known(const struct peers *p, const unsigned char mac[6])
{
	(void)p, (void)mac;
	return true;
}

uint64_t peers_age_ms(const struct peers *p, uint64_t now_ms)
{
	(void)p, (void)now_ms;
	return 0;
}

void peers_refresh(struct peers *p, peers_cb *cb, void *arg) { (void)p, (void)cb, (void)arg; }
void peers_refresh_forget(struct peers *p) { (void)p; }
void peers_prefetch(struct peers *p) { (void)p; }

void peers_mac_str(const unsigned char m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}
