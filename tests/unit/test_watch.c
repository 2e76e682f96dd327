/*
 * test_watch.c - watch.c (the one watch stream over the election prefix,
 * demultiplexed by key) against the fake etcd and the virtual clock: one
 * stream for many subscriptions, deletes to the right key only and only
 * from the revision asked, a delete that came before its subscription
 * (the ring), a subscription older than the stream can vouch for (the
 * stream re-opened lower), compaction and a stream's end (every
 * subscription ends), never a callback from within a call. And two
 * elections sharing it: the waiter takes over on the leader's delete.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elect.h"
#include "etcd.h"
#include "etcd_codec.h"
#include "fake_etcd.h"
#include "fake_loop.h"
#include "loop.h"
#include "testkit.h"
#include "watch.h"
#include "xmem.h"

#define PREFIX "/vipd/election/"
#define KEY_A  PREFIX "198.18.0.100/1"
#define KEY_B  PREFIX "198.18.0.101/2"

struct rec {
	unsigned created, deleted, ended;
	char why[160];
	struct watch_sub *sub;
	bool close_on_delete;
};

struct t {
	struct loop *loop;
	struct etcd *etcd;
	struct watch *w;
};

static bool in_call;

static void on_ev(void *arg, enum watch_event ev, const char *why)
{
	struct rec *r = arg;

	assert_false(in_call);
	switch (ev) {
	case WATCH_CREATED:
		r->created++;
		break;
	case WATCH_DELETED:
		r->deleted++;
		if (r->close_on_delete) {
			watch_sub_close(r->sub);
			r->sub = NULL;
		}
		break;
	case WATCH_ENDED:
		r->ended++;
		snprintf(r->why, sizeof(r->why), "%s", why);
		r->sub = NULL;
		break;
	}
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	testkit_open("test_watch", &t->loop, &t->etcd);
	t->w = watch_new(t->loop, t->etcd, PREFIX);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	watch_free(t->w);
	testkit_close(t->loop, t->etcd);
	free(t);
	return 0;
}

static char *b64(const char *s)
{
	return etcd_b64_encode(s, strlen(s));
}

static void sub(struct t *t, struct rec *r, const char *key, int64_t from)
{
	char *k = b64(key);

	in_call = true;
	r->sub = watch_sub_open(t->w, k, from, on_ev, r);
	in_call = false;
	free(k);
}

static void unsub(struct rec *r)
{
	in_call = true;
	watch_sub_close(r->sub);
	in_call = false;
	r->sub = NULL;
}

/* A DELETE of key at rev on the stream s. */
static void push_delete(struct etcd_req *s, const char *key, int64_t rev)
{
	char *k = b64(key);

	fake_etcd_push(s, "{\"header\":{\"revision\":\"%lld\"},\"events\":[{\"type\":\"DELETE\","
	    "\"kv\":{\"key\":\"%s\",\"mod_revision\":\"%lld\"}}]}", (long long)rev, k,
	    (long long)rev);
	free(k);
}

static struct etcd_req *the_stream(int64_t from)
{
	struct etcd_req *s = fake_etcd_pending("/v3/watch");
	char *k, *end;

	assert_non_null(s);
	assert_true(fake_req_is_stream(s));
	k = fake_req_b64(s, "create_request.key");
	end = fake_req_b64(s, "create_request.range_end");
	assert_string_equal(k, PREFIX);
	assert_string_equal(end, "/vipd/election0"); /* prefix + 1 */
	assert_int_equal(fake_req_i64(s, "create_request.start_revision"), from);
	assert_string_equal(json_string_value(fake_req_get(s, "create_request.filters.0")),
	    "NOPUT");
	free(k);
	free(end);
	return s;
}

/* Many subscriptions, one stream; a delete goes to its key's follower
 * only, and only at or after the revision it asked for. */
static void test_one_stream_demux_by_key(void **state)
{
	struct t *t = *state;
	struct rec a = { 0 }, b = { 0 }, c = { 0 };
	struct etcd_req *s;

	sub(t, &a, KEY_A, 11);
	sub(t, &b, KEY_B, 12);
	sub(t, &c, KEY_A, 20); /* asks for a later revision */
	assert_int_equal(fake_etcd_count_path("/v3/watch"), 1);
	assert_int_equal(watch_streams_opened(t->w), 1);
	assert_int_equal(watch_subs(t->w), 3);
	s = the_stream(11);
	fake_etcd_push(s, "{\"header\":{\"revision\":\"12\"},\"created\":true}");
	assert_int_equal(a.created + b.created + c.created, 3);
	push_delete(s, KEY_A, 15);
	assert_int_equal(a.deleted, 1);
	assert_int_equal(b.deleted, 0);
	assert_int_equal(c.deleted, 0); /* 15 < 20: before its read */
	push_delete(s, PREFIX "198.18.0.100/1x", 16); /* a longer key is another key */
	assert_int_equal(a.deleted + b.deleted + c.deleted, 1);
	push_delete(s, KEY_B, 21);
	assert_int_equal(b.deleted, 1);
	unsub(&a);
	unsub(&b);
	unsub(&c);
	assert_int_equal(fake_req_state(s), FAKE_REQ_PENDING); /* kept for the next */
}

/* The delete came on the stream before the election's range answer was
 * handled (two connections: no order between them): a subscription from
 * a revision at or before it gets it from the ring, on the next turn. */
static void test_delete_before_subscription_from_ring(void **state)
{
	struct t *t = *state;
	struct rec a = { 0 }, b = { 0 }, late = { 0 }, too_late = { 0 };
	struct etcd_req *s;

	sub(t, &a, KEY_B, 5);
	s = the_stream(5);
	fake_etcd_push(s, "{\"header\":{\"revision\":\"5\"},\"created\":true}");
	push_delete(s, KEY_A, 21);
	sub(t, &late, KEY_A, 21);      /* its range read at 20 */
	sub(t, &too_late, KEY_A, 22);  /* read after the delete: not for it */
	sub(t, &b, KEY_B, 6);
	assert_int_equal(late.deleted, 0); /* not from within the call */
	fake_loop_run_due();
	assert_int_equal(late.deleted, 1);
	assert_int_equal(late.created, 1);
	assert_int_equal(too_late.deleted, 0);
	assert_int_equal(b.deleted, 0);
	assert_int_equal(watch_streams_opened(t->w), 1);
	unsub(&a);
	unsub(&b);
	unsub(&late);
	unsub(&too_late);
}

/* A subscription from before the stream's start: the stream cannot
 * vouch for it, so it is opened again lower (the old one cancelled). */
static void test_earlier_revision_reopens_lower(void **state)
{
	struct t *t = *state;
	struct rec a = { 0 }, b = { 0 };
	struct etcd_req *s1, *s2;

	sub(t, &a, KEY_A, 30);
	s1 = the_stream(30);
	sub(t, &b, KEY_B, 25);
	assert_int_equal(fake_req_state(s1), FAKE_REQ_CANCELLED);
	s2 = the_stream(25);
	push_delete(s2, KEY_B, 26);
	push_delete(s2, KEY_A, 27); /* before a's read */
	assert_int_equal(b.deleted, 1);
	assert_int_equal(a.deleted, 0);
	push_delete(s2, KEY_A, 31);
	assert_int_equal(a.deleted, 1);
	assert_int_equal(a.ended + b.ended, 0);
	unsub(&a);
	unsub(&b);
}

/* Compaction: etcd cancels the stream; every subscription ends (its
 * election reads again), the next subscription opens a new stream. */
static void test_compaction_ends_all_then_reopens(void **state)
{
	struct t *t = *state;
	struct rec a = { 0 }, b = { 0 }, c = { 0 };
	struct etcd_req *s;

	sub(t, &a, KEY_A, 3);
	sub(t, &b, KEY_B, 3);
	s = the_stream(3);
	fake_etcd_push(s, "{\"header\":{\"revision\":\"50\"},\"canceled\":true,"
	    "\"compact_revision\":\"40\",\"cancel_reason\":\"mvcc: required revision has been compacted\"}");
	assert_int_equal(a.ended, 1);
	assert_int_equal(b.ended, 1);
	assert_non_null(strstr(a.why, "compact_revision 40"));
	assert_int_equal(watch_subs(t->w), 0);
	assert_int_equal(fake_req_state(s), FAKE_REQ_CANCELLED);
	sub(t, &c, KEY_A, 51);
	the_stream(51);
	assert_int_equal(watch_streams_opened(t->w), 2);
	unsub(&c);
}

/* The stream ends (a member restart): every subscription ends once. */
static void test_stream_end_ends_all(void **state)
{
	struct t *t = *state;
	struct rec a = { 0 }, b = { .close_on_delete = true };
	struct etcd_req *s;

	sub(t, &a, KEY_A, 3);
	sub(t, &b, KEY_B, 3);
	s = the_stream(3);
	push_delete(s, KEY_B, 4); /* b closes itself from its callback */
	assert_int_equal(b.deleted, 1);
	assert_null(b.sub);
	assert_int_equal(watch_subs(t->w), 1);
	fake_etcd_end(s, -EPIPE, 0, "stream closed by server");
	assert_int_equal(a.ended, 1);
	assert_int_equal(b.ended, 0);
	assert_string_equal(a.why, "stream closed by server");
	assert_int_equal(watch_subs(t->w), 0);
	fake_loop_run_due();
	assert_int_equal(a.ended, 1);
}

/* A full ring drops its oldest delete and can no longer vouch for it: a
 * subscription from that revision re-opens the stream there. */
static void test_ring_overflow_raises_floor(void **state)
{
	struct t *t = *state;
	struct rec a = { 0 }, late = { 0 };
	struct etcd_req *s;
	char key[64];

	sub(t, &a, KEY_B, 10);
	s = the_stream(10);
	push_delete(s, KEY_A, 10);
	for (int i = 0; i < WATCH_RING; i++) {
		snprintf(key, sizeof(key), PREFIX "x/%d", i);
		push_delete(s, key, 11 + i);
	}
	sub(t, &late, KEY_A, 10); /* KEY_A's delete was dropped */
	assert_int_equal(watch_streams_opened(t->w), 2);
	s = the_stream(10);
	push_delete(s, KEY_A, 10);
	assert_int_equal(late.deleted, 1);
	unsub(&a);
	unsub(&late);
}

/* ---- two elections on one shared watch ------------------------------------- */

#define ENAME PREFIX "198.18.0.100"

struct el_rec {
	struct elect *el;
	unsigned calls;
};

static void on_elect(void *arg, bool leader)
{
	struct el_rec *r = arg;

	(void)leader;
	assert_false(in_call);
	r->calls++;
}

static void reply_range(int64_t rev, const char *kvs)
{
	struct etcd_req *r = fake_etcd_pending("/v3/kv/range");

	assert_non_null(r);
	fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"},\"kvs\":[%s]}", (long long)rev, kvs);
}

/* B waits behind A on the shared stream; A's key goes: B reads and leads.
 * Both follow through one stream, never one of their own. */
static void test_two_elections_share_one_stream(void **state)
{
	struct t *t = *state;
	struct el_rec a = { 0 }, b = { 0 };
	char *ka = b64(ENAME "/a"), *kb = b64(ENAME "/b"), kvs[512];
	struct etcd_req *s, *r;

	a.el = elect_new(t->loop, t->etcd, t->w, ENAME, "node-a", 0, on_elect, &a);
	b.el = elect_new(t->loop, t->etcd, t->w, ENAME, "node-b", 0, on_elect, &b);
	in_call = true;
	elect_campaign(a.el, 0xa);
	elect_campaign(b.el, 0xb);
	in_call = false;
	fake_etcd_reply(fake_etcd_pending("/v3/kv/txn"),
	    "{\"header\":{\"revision\":\"5\"},\"succeeded\":true}");
	fake_etcd_reply(fake_etcd_pending("/v3/kv/txn"),
	    "{\"header\":{\"revision\":\"6\"},\"succeeded\":true}");
	snprintf(kvs, sizeof(kvs), "{\"key\":\"%s\",\"create_revision\":\"5\",\"lease\":\"10\"},"
	    "{\"key\":\"%s\",\"create_revision\":\"6\",\"lease\":\"11\"}", ka, kb);
	reply_range(6, kvs); /* a's read */
	reply_range(6, kvs); /* b's read */
	while ((r = fake_etcd_pending("/v3/kv/range")) != NULL) /* b reads a's value */
		fake_etcd_reply(r, "{\"kvs\":[{\"key\":\"%s\",\"value\":\"%s\"}]}", ka, "bm9kZS1h");
	assert_true(elect_is_leader(a.el));
	assert_false(elect_is_leader(b.el));
	assert_int_equal(fake_etcd_count_path("/v3/watch"), 1);
	assert_int_equal(watch_subs(t->w), 2);
	s = the_stream(7);
	push_delete(s, ENAME "/a", 8); /* a's key deleted from outside */
	assert_false(elect_is_leader(a.el)); /* a stepped down at once */
	/* b reads again and leads; a's read finds its key gone */
	snprintf(kvs, sizeof(kvs), "{\"key\":\"%s\",\"create_revision\":\"6\",\"lease\":\"11\"}", kb);
	r = fake_etcd_pending("/v3/kv/range");
	assert_non_null(r);
	while ((r = fake_etcd_pending("/v3/kv/range")) != NULL)
		fake_etcd_reply(r, "{\"header\":{\"revision\":\"8\"},\"kvs\":[%s]}", kvs);
	assert_true(elect_is_leader(b.el));
	assert_int_equal(fake_etcd_count_path("/v3/watch"), 1); /* still the one stream */
	elect_free(a.el);
	elect_free(b.el);
	assert_int_equal(watch_subs(t->w), 0);
	free(ka);
	free(kb);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_one_stream_demux_by_key),
		T(test_delete_before_subscription_from_ring),
		T(test_earlier_revision_reopens_lower),
		T(test_compaction_ends_all_then_reopens),
		T(test_stream_end_ends_all),
		T(test_ring_overflow_raises_floor),
		T(test_two_elections_share_one_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
