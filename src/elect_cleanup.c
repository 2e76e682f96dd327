/*
 * elect_cleanup.c - at start-up, remove the election keys an earlier run
 * of this node left behind (it crashed, so its lease is still counting
 * down and its key still heads the queue).
 *
 * Only keys vipd itself would have written are touched: under this
 * daemon's own elections (its configured VIPs), of the exact shape
 * "<election>/<lease id in lower-case hex>", on that very lease, with this
 * node's name as the value, and on a lease other than the new one. Each is
 * deleted by its exact bytes - never a lease revoke, which would delete
 * every key on that lease anywhere in etcd. Requests are bounded: one
 * range at a time, at most CLEANUP_MAX_INFLIGHT deletes in flight.
 */
#include "elect.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "etcd_codec.h"
#include "log.h"
#include "xmem.h"

#define CLEANUP_MAX_INFLIGHT 16

struct elect_cleanup;

struct cleanup_slot {
	struct elect_cleanup *c;
	struct etcd_req *req;     /* NULL = free */
	char *key_b64;
};

struct elect_cleanup {
	struct etcd *etcd;
	char **names;             /* the elections, in order */
	size_t n_names, next_name;
	char *node;
	int64_t own;
	struct etcd_req *range;
	char **todo;              /* base64 of the keys still to delete */
	size_t n_todo, next_todo;
	struct cleanup_slot slot[CLEANUP_MAX_INFLIGHT];
	void (*done)(void *arg);
	void *arg;
};

static void next_range(struct elect_cleanup *c);

static void todo_clear(struct elect_cleanup *c)
{
	for (size_t i = 0; i < c->n_todo; i++)
		free(c->todo[i]);
	free(c->todo);
	c->todo = NULL;
	c->n_todo = c->next_todo = 0;
}

static void cleanup_free(struct elect_cleanup *c)
{
	etcd_cancel(c->range);
	for (size_t i = 0; i < CLEANUP_MAX_INFLIGHT; i++) {
		etcd_cancel(c->slot[i].req);
		free(c->slot[i].key_b64);
	}
	todo_clear(c);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	free(c->node);
	free(c);
}

static void on_deleted(void *arg, const struct etcd_result *r);

/* Fill free slots from the list; when the list is done and nothing is in
 * flight, go on with the next election (or finish). */
static void pump(struct elect_cleanup *c)
{
	size_t busy = 0;

	for (size_t i = 0; i < CLEANUP_MAX_INFLIGHT; i++) {
		struct cleanup_slot *s = &c->slot[i];

		if (s->req == NULL && c->next_todo < c->n_todo) {
			s->c = c;
			s->key_b64 = c->todo[c->next_todo];
			c->todo[c->next_todo++] = NULL;
			s->req = etcd_call(c->etcd, "/v3/kv/deleterange",
			    json_pack("{s:s}", "key", s->key_b64), 0, on_deleted, s);
		}
		busy += s->req != NULL;
	}
	if (busy == 0 && c->next_todo == c->n_todo) {
		todo_clear(c);
		next_range(c);
	}
}

static void on_deleted(void *arg, const struct etcd_result *r)
{
	struct cleanup_slot *s = arg;
	struct elect_cleanup *c = s->c;
	char esc[LOG_ESC_LEN];
	size_t len;
	char *key = etcd_b64_decode(s->key_b64, &len);

	if (r->err == 0)
		log_info("election: removed a key of an earlier run of this node key=\"%s\"",
		    log_escn(esc, key ? key : "", key ? len : 0));
	free(key);
	free(s->key_b64);
	s->key_b64 = NULL;
	s->req = NULL;
	pump(c);
}

/*
 * Is kv a key an earlier run of this node left under election name? The
 * key is exactly name "/" <hex>, the hex (lower case, no leading zero, as
 * vipd and etcdctl write it) is the kv's own lease, that lease is not the
 * new one, and the value is exactly our node name.
 */
static bool is_stale(const struct elect_cleanup *c, const char *name, const json_t *kv)
{
	size_t klen, vlen, nlen = strlen(name), hlen;
	char *key = etcd_get_b64n(kv, "key", &klen);
	char *val = etcd_get_b64n(kv, "value", &vlen);
	int64_t lease = 0;
	uint64_t id = 0;
	bool stale = false;
	const char *hex;

	if (key == NULL || val == NULL || etcd_get_i64(kv, "lease", &lease) < 0)
		goto out;
	if (klen <= nlen + 1 || memcmp(key, name, nlen) != 0 || key[nlen] != '/')
		goto out;
	hex = key + nlen + 1;
	hlen = klen - nlen - 1;
	if (hlen > 16 || hex[0] == '0' || strspn(hex, "0123456789abcdef") != hlen)
		goto out;
	for (size_t i = 0; i < hlen; i++)
		id = id << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	stale = lease != 0 && (uint64_t)lease == id && lease != c->own &&
	    vlen == strlen(c->node) && memcmp(val, c->node, vlen) == 0;
out:
	free(key);
	free(val);
	return stale;
}

static void on_range(void *arg, const struct etcd_result *r)
{
	struct elect_cleanup *c = arg;
	const char *name = c->names[c->next_name - 1];
	json_t *kv, *kvs;
	size_t i;

	c->range = NULL;
	if (r->err != 0)
		/* Not fatal: a stale key of ours left in place only delays the
		 * other candidates until its lease expires (one TTL). */
		log_warnx("election: start-up clean-up could not read name=%s: %s; keys an "
		    "earlier run left there expire with their lease", name, strerror(-r->err));
	kvs = r->err == 0 ? json_object_get(r->body, "kvs") : NULL;
	c->todo = xcalloc(json_array_size(kvs) + 1, sizeof(*c->todo));
	json_array_foreach(kvs, i, kv) {
		const char *b64 = json_string_value(json_object_get(kv, "key"));
		int64_t lease = 0;

		if (b64 == NULL || !is_stale(c, name, kv))
			continue;
		etcd_get_i64(kv, "lease", &lease);
		log_warnx("election: key of this node on an old lease name=%s lease=%" PRIx64
		    "; an earlier run left it, removing (were another running node configured "
		    "with this name, this would take its key: node names must be unique)", name,
		    (uint64_t)lease);
		c->todo[c->n_todo++] = xstrdup(b64);
	}
	pump(c);
}

/* Read the next election's keys, or finish: free the handle, then done. */
static void next_range(struct elect_cleanup *c)
{
	void (*done)(void *) = c->done;
	void *arg = c->arg;
	char *pfx, *end;

	if (c->next_name == c->n_names) {
		cleanup_free(c);
		done(arg);
		return;
	}
	pfx = xasprintf("%s/", c->names[c->next_name++]);
	end = etcd_prefix_end(pfx);
	c->range = etcd_call(c->etcd, "/v3/kv/range",
	    json_pack("{s:o, s:o}", "key", etcd_json_b64(pfx), "range_end",
	    etcd_json_b64(end)), 0, on_range, c);
	free(pfx);
	free(end);
}

struct elect_cleanup *elect_cleanup_stale(struct etcd *etcd, char *const *names,
    size_t n_names, const char *node, int64_t own_lease, void (*done)(void *arg),
    void *arg)
{
	struct elect_cleanup *c = xcalloc(1, sizeof(*c));

	if (n_names == 0)
		fatalx("election: clean-up without an election");
	c->etcd = etcd;
	c->names = xcalloc(n_names, sizeof(*c->names));
	for (size_t i = 0; i < n_names; i++)
		c->names[i] = xstrdup(names[i]);
	c->n_names = n_names;
	c->node = xstrdup(node);
	c->own = own_lease;
	c->done = done;
	c->arg = arg;
	next_range(c); /* sends the first range: done cannot run from here */
	return c;
}

void elect_cleanup_cancel(struct elect_cleanup *c)
{
	if (c != NULL)
		cleanup_free(c);
}
