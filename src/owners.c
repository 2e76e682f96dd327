/*
 * owners.c - group one range read of the election prefix into per-VIP
 * queues, and print them.
 */
#include "owners.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_codec.h"
#include "log.h"
#include "xmem.h"

static struct owners_vip *find_vip(struct owners *o, const char *vip, size_t len)
{
	for (size_t i = 0; i < o->n; i++)
		if (strlen(o->vips[i].vip) == len && memcmp(o->vips[i].vip, vip, len) == 0)
			return &o->vips[i];
	o->vips = xrealloc(o->vips, (o->n + 1) * sizeof(*o->vips));
	o->vips[o->n] = (struct owners_vip){ .vip = xasprintf("%.*s", (int)len, vip) };
	return &o->vips[o->n++];
}

/* The lease part of an election key: 1..16 lower-case hex digits, as vipd
 * and etcdctl write it (%x of the lease id). */
static bool lease_hex(const char *s, size_t len)
{
	if (len == 0 || len > 16)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* An election's name is the VIP in text form (vipd names them so). */
static bool vip_name(const char *s, size_t len)
{
	char buf[64];
	unsigned char a[16];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, a) == 1 || inet_pton(AF_INET6, buf, a) == 1;
}

/* One kv: an election key of the right shape joins its VIP's queue. */
static int add_kv(struct owners *o, const json_t *kv, const char *prefix, size_t plen)
{
	size_t klen = 0, vlen = 0;
	char *key = etcd_get_b64n(kv, "key", &klen);
	char *val = NULL;
	const char *name, *slash;
	struct owners_vip *v;
	struct owners_cand c = { 0 };
	int r = -EPROTO;

	if (key == NULL || klen == 0 || etcd_get_i64(kv, "create_revision", &c.create_rev) < 0 ||
	    c.create_rev <= 0 || etcd_get_i64(kv, "lease", &c.lease) < 0)
		goto out;
	r = 0;
	name = key + plen;
	slash = memrchr(key, '/', klen);
	if (klen > plen && slash != NULL && slash > name + 4 && memcmp(slash - 4, ".mac", 4) == 0 &&
	    vip_name(name, (size_t)(slash - 4 - name)))
		goto out; /* a peer's MAC beside the election (peers.h): not shown */
	if (klen <= plen || memcmp(key, prefix, plen) != 0 || memchr(key, '\0', klen) != NULL ||
	    slash == NULL || slash <= name || !vip_name(name, (size_t)(slash - name)) ||
	    !lease_hex(slash + 1, klen - (size_t)(slash + 1 - key))) {
		o->other_keys++;
		goto out;
	}
	val = etcd_get_b64n(kv, "value", &vlen);
	if (val == NULL || memchr(val, '\0', vlen) != NULL) {
		o->other_keys++;
		goto out;
	}
	v = find_vip(o, name, (size_t)(slash - name));
	c.node = val;
	c.key = key;
	val = key = NULL;
	v->cand = xrealloc(v->cand, (v->n + 1) * sizeof(*v->cand));
	v->cand[v->n++] = c;
out:
	free(key);
	free(val);
	return r;
}

int owners_parse(struct owners *o, const json_t *reply, const char *prefix)
{
	const json_t *kvs = json_object_get(reply, "kvs");
	size_t plen = strlen(prefix), i;
	json_t *kv;

	if (etcd_header_rev(reply, &o->revision) < 0 || (kvs != NULL && !json_is_array(kvs)))
		goto bad;
	json_array_foreach(kvs, i, kv) {
		if (!json_is_object(kv) || add_kv(o, kv, prefix, plen) < 0)
			goto bad;
	}
	return 0;
bad:
	owners_free(o);
	memset(o, 0, sizeof(*o));
	return -EPROTO;
}

void owners_add_configured(struct owners *o, const char *vip)
{
	find_vip(o, vip, strlen(vip))->configured = true;
}

/* Addresses first, IPv4 before IPv6, in numeric order; then the rest. */
static int vip_cmp(const void *a, const void *b)
{
	const struct owners_vip *x = a, *y = b;
	unsigned char ax[16], bx[16];
	int fx = inet_pton(AF_INET, x->vip, ax) == 1 ? 4 : inet_pton(AF_INET6, x->vip, ax) == 1 ? 6 : 9;
	int fy = inet_pton(AF_INET, y->vip, bx) == 1 ? 4 : inet_pton(AF_INET6, y->vip, bx) == 1 ? 6 : 9;

	if (fx != fy)
		return fx - fy;
	if (fx == 9)
		return strcmp(x->vip, y->vip);
	return memcmp(ax, bx, fx == 4 ? 4 : 16);
}

static int cand_cmp(const void *a, const void *b)
{
	const struct owners_cand *x = a, *y = b;

	if (x->create_rev != y->create_rev)
		return x->create_rev < y->create_rev ? -1 : 1;
	return strcmp(x->key, y->key);
}

void owners_sort(struct owners *o)
{
	if (o->n > 1)
		qsort(o->vips, o->n, sizeof(*o->vips), vip_cmp);
	for (size_t i = 0; i < o->n; i++)
		if (o->vips[i].n > 1)
			qsort(o->vips[i].cand, o->vips[i].n, sizeof(*o->vips[i].cand), cand_cmp);
}

static int width(const char *s, int w)
{
	int n = (int)strlen(s);

	return n > w ? n : w;
}

void owners_print(const struct owners *o, FILE *out)
{
	int wv = 3, wo = 5;
	char esc[LOG_ESC_LEN], esc2[LOG_ESC_LEN];

	for (size_t i = 0; i < o->n; i++) {
		wv = width(o->vips[i].vip, wv);
		if (o->vips[i].n > 0)
			wo = width(log_esc_word(esc, o->vips[i].cand[0].node), wo);
	}
	fprintf(out, "%-*s  %-*s  %-16s  %s\n", wv, "VIP", wo, "OWNER", "LEASE", "QUEUE");
	for (size_t i = 0; i < o->n; i++) {
		const struct owners_vip *v = &o->vips[i];
		char lease[24] = "-";

		if (v->n > 0 && v->cand[0].lease != 0)
			snprintf(lease, sizeof(lease), "%" PRIx64, (uint64_t)v->cand[0].lease);
		fprintf(out, "%-*s  %-*s  %-16s  ", wv, log_esc_word(esc, v->vip), wo,
		    v->n > 0 ? log_esc_word(esc2, v->cand[0].node) : "-", lease);
		if (v->n <= 1)
			fputs("-", out);
		for (size_t k = 1; k < v->n; k++)
			fprintf(out, "%s%s", k > 1 ? " " : "", log_esc_word(esc, v->cand[k].node));
		fprintf(out, "%s\n", v->configured ? "" : "  (not in this node's configuration)");
	}
	if (o->other_keys > 0)
		fprintf(out, "(%zu other key%s under the prefix not shown)\n", o->other_keys,
		    o->other_keys == 1 ? "" : "s");
}

/* A JSON string of text from etcd: as it is when it is UTF-8, else in the
 * log's escaped form (\xNN), so that the output is always valid JSON. */
static json_t *jtext(const char *s)
{
	char esc[LOG_ESC_LEN];
	json_t *j = json_string(s);

	return j != NULL ? j : json_string(log_esc(esc, s));
}

static json_t *cand_json(const struct owners_cand *c)
{
	char lease[24];

	snprintf(lease, sizeof(lease), "%" PRIx64, (uint64_t)c->lease);
	return json_pack("{s:o, s:s, s:I, s:o}", "node", jtext(c->node), "lease", lease,
	    "create_revision", (json_int_t)c->create_rev, "key", jtext(c->key));
}

json_t *owners_json(const struct owners *o)
{
	json_t *vips = json_array();

	for (size_t i = 0; i < o->n; i++) {
		const struct owners_vip *v = &o->vips[i];
		json_t *q = json_array();

		for (size_t k = 1; k < v->n; k++)
			json_array_append_new(q, cand_json(&v->cand[k]));
		json_array_append_new(vips, json_pack("{s:s, s:b, s:o, s:o}", "vip", v->vip,
		    "configured", v->configured, "owner", v->n > 0 ? cand_json(&v->cand[0]) : json_null(),
		    "queue", q));
	}
	return json_pack("{s:I, s:I, s:o}", "revision", (json_int_t)o->revision,
	    "other_keys", (json_int_t)o->other_keys, "vips", vips);
}

void owners_free(struct owners *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n; i++) {
		for (size_t k = 0; k < o->vips[i].n; k++) {
			free(o->vips[i].cand[k].node);
			free(o->vips[i].cand[k].key);
		}
		free(o->vips[i].cand);
		free(o->vips[i].vip);
	}
	free(o->vips);
	o->vips = NULL;
	o->n = 0;
}
