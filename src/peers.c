/*
 * peers.c - publish this node's MAC for a VIP and read its peers' MACs.
 */
#include "peers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "etcd.h"
#include "etcd_codec.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

struct peers {
	struct loop *loop;
	struct etcd *etcd;
	char *dir;                /* "<name>.mac/" */
	char *dir_end;            /* its range end (last byte + 1) */
	/* publishing */
	int64_t lease;            /* wanted (0 = none) */
	unsigned char mac[6];
	int64_t put_lease;        /* last put that succeeded, or is in flight */
	unsigned char put_mac[6];
	bool put_ok;
	struct etcd_req *put_req;
	struct loop_timer *retry;
	uint32_t retry_ms;
	/* reading */
	struct etcd_req *read_req;
	peers_cb *cb;
	void *cb_arg;
	unsigned char known[PEERS_MAX][6];
	uint64_t seen_at[PEERS_MAX]; /* the last read that had it (loop ms) */
	size_t n_known;
	uint64_t read_at;         /* loop_now_ms() of the last good read, 0 = never */
};

void peers_mac_str(const unsigned char m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int mac_parse(const char *s, unsigned char m[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
	    &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		m[i] = (unsigned char)v[i];
	return 0;
}

static bool mac_zero(const unsigned char m[6])
{
	static const unsigned char z[6];

	return memcmp(m, z, 6) == 0;
}

static void do_put(struct peers *p);

static void on_put(void *arg, const struct etcd_result *r)
{
	struct peers *p = arg;

	p->put_req = NULL;
	if (r->err < 0) {
		/* Logged by etcd.c. */
		p->put_ok = false;
		loop_timer_arm(p->retry, backoff_next(&p->retry_ms, 200, 5000));
		return;
	}
	p->retry_ms = 0;
	if (p->put_lease != p->lease || memcmp(p->put_mac, p->mac, 6) != 0)
		do_put(p); /* changed while in flight */
}

static void do_put(struct peers *p)
{
	char hex[17], mac[18], *key;
	json_t *body;

	if (p->put_req != NULL || p->lease == 0 || mac_zero(p->mac))
		return;
	snprintf(hex, sizeof(hex), "%" PRIx64, (uint64_t)p->lease);
	peers_mac_str(p->mac, mac);
	key = xasprintf("%s%s", p->dir, hex);
	body = json_pack("{s:o, s:o, s:o}", "key", etcd_json_b64(key), "value",
	    etcd_json_b64(mac), "lease", etcd_json_i64(p->lease));
	free(key);
	if (body == NULL)
		fatalx("peers: cannot build put");
	p->put_lease = p->lease;
	memcpy(p->put_mac, p->mac, 6);
	p->put_ok = true;
	log_debug("peers: publishing %s%s = %s", p->dir, hex, mac);
	p->put_req = etcd_call(p->etcd, "/v3/kv/put", body, 0, on_put, p);
}

static void on_retry(void *arg)
{
	do_put(arg);
}

void peers_publish(struct peers *p, int64_t lease, const unsigned char mac[6])
{
	p->lease = lease;
	memcpy(p->mac, mac, 6);
	if (lease == 0 || mac_zero(mac)) {
		loop_timer_disarm(p->retry);
		p->put_ok = false;
		return;
	}
	if (p->put_ok && p->put_lease == lease && memcmp(p->put_mac, mac, 6) == 0)
		return;
	if (!loop_timer_armed(p->retry))
		do_put(p);
}

bool peers_known(const struct peers *p, const unsigned char mac[6])
{
	for (size_t i = 0; i < p->n_known; i++)
		if (memcmp(p->known[i], mac, 6) == 0)
			return true;
	return false;
}

uint64_t peers_age_ms(const struct peers *p, uint64_t now_ms)
{
	if (p->read_at == 0)
		return UINT64_MAX;
	return now_ms - p->read_at;
}

/*
 * The peers' MACs are remembered, not replaced, at each read: a MAC key
 * lives on its node's lease, so a lease revoked from outside takes the key
 * at once - exactly when that node (the old owner of a forced step-down)
 * may still answer a takeover probe for a few ms, and before it publishes
 * again under its new lease. Forgotten PEERS_FORGET_MS after the last read
 * that had it. Counting a MAC as a peer is never unsafe: a takeover waits
 * while a peer answers, bounded by the old owner's fence (vip_probe.c),
 * and then treats it as a foreign host.
 */
static void remember(struct peers *p, const unsigned char m[6], uint64_t now)
{
	size_t i, oldest = 0;

	for (i = 0; i < p->n_known; i++) {
		if (memcmp(p->known[i], m, 6) == 0) {
			p->seen_at[i] = now;
			return;
		}
		if (p->seen_at[i] < p->seen_at[oldest])
			oldest = i;
	}
	if (p->n_known < PEERS_MAX)
		i = p->n_known++;
	else
		i = oldest;
	memcpy(p->known[i], m, 6);
	p->seen_at[i] = now;
}

static void forget_old(struct peers *p, uint64_t now)
{
	size_t i = 0;

	while (i < p->n_known) {
		if (now - p->seen_at[i] > PEERS_FORGET_MS) {
			p->n_known--;
			memcpy(p->known[i], p->known[p->n_known], 6);
			p->seen_at[i] = p->seen_at[p->n_known];
		} else {
			i++;
		}
	}
}

static void on_read(void *arg, const struct etcd_result *r)
{
	struct peers *p = arg;
	peers_cb *cb = p->cb;
	json_t *kvs, *kv;
	size_t i;
	int err = r->err;

	p->read_req = NULL;
	p->cb = NULL;
	if (err == 0) {
		uint64_t now = loop_now_ms();

		kvs = json_object_get(r->body, "kvs");
		json_array_foreach(kvs, i, kv) {
			char *v = etcd_get_b64(kv, "value");
			unsigned char m[6];

			if (v != NULL && mac_parse(v, m) == 0)
				remember(p, m, now);
			free(v);
		}
		forget_old(p, now);
		p->read_at = now;
		if (p->read_at == 0)
			p->read_at = 1;
	}
	if (cb != NULL)
		cb(p->cb_arg, err);
}

void peers_refresh(struct peers *p, peers_cb *cb, void *arg)
{
	json_t *body;

	etcd_cancel(p->read_req);
	body = json_pack("{s:o, s:o}", "key", etcd_json_b64(p->dir), "range_end",
	    etcd_json_b64(p->dir_end));
	if (body == NULL)
		fatalx("peers: cannot build range");
	p->cb = cb;
	p->cb_arg = arg;
	p->read_req = etcd_call(p->etcd, "/v3/kv/range", body, 0, on_read, p);
}

void peers_prefetch(struct peers *p)
{
	if (p == NULL || p->read_req != NULL)
		return;
	peers_refresh(p, NULL, NULL);
}

void peers_refresh_forget(struct peers *p)
{
	if (p != NULL)
		p->cb = NULL;
}

struct peers *peers_new(struct loop *loop, struct etcd *etcd, const char *name)
{
	struct peers *p = xcalloc(1, sizeof(*p));
	size_t n;

	p->loop = loop;
	p->etcd = etcd;
	p->dir = xasprintf("%s.mac/", name);
	p->dir_end = xstrdup(p->dir);
	n = strlen(p->dir_end);
	p->dir_end[n - 1]++; /* '/' + 1 = '0': the end of the "<name>.mac/" range */
	p->retry = loop_timer_new(loop, on_retry, p);
	return p;
}

void peers_free(struct peers *p)
{
	if (p == NULL)
		return;
	etcd_cancel(p->put_req);
	etcd_cancel(p->read_req);
	loop_timer_free(p->retry);
	free(p->dir);
	free(p->dir_end);
	free(p);
}
