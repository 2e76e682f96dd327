/*
 * test_elect.c - elect.c (the etcd election recipe) against the fake
 * etcd and the virtual clock (the start-up clean-up is in
 * test_elect_cleanup.c): the exact requests each step sends, and the
 * orders of events the lab reaches only by luck (a watch broken between
 * the read and the watch, compaction, a resign while the campaign txn is
 * out, the own key deleted while leading).
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
#include "log.h"
#include "loop.h"
#include "testkit.h"
#include "xmem.h"

#define NAME    "/vipd/election/198.18.0.100"
#define NODE    "node-a"
#define LEASE   0x1234LL
#define OURKEY  NAME "/1234"
#define PREDKEY NAME "/7777"
#define RECHECK 5000u

struct t {
	struct loop *loop;
	struct etcd *etcd;
	struct elect *el;
	bool in_call;        /* inside a call the test made into elect */
	unsigned calls;      /* owner callbacks */
	bool last;           /* leader as reported last */
	size_t ranges_at_cb; /* range requests sent when the last callback ran */
};

static void on_elect(void *arg, bool leader)
{
	struct t *t = arg;

	assert_false(t->in_call); /* never from within the owner's own call */
	assert_int_equal(leader, elect_is_leader(t->el));
	t->calls++;
	t->last = leader;
	t->ranges_at_cb = fake_etcd_count_path("/v3/kv/range");
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	testkit_open("test_elect", &t->loop, &t->etcd);
	t->el = elect_new(t->loop, t->etcd, NULL, NAME, NODE, RECHECK, on_elect, t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	elect_free(t->el);
	testkit_close(t->loop, t->etcd);
	free(t);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static void campaign(struct t *t, int64_t lease)
{
	t->in_call = true;
	elect_campaign(t->el, lease);
	t->in_call = false;
}

static void resign(struct t *t)
{
	t->in_call = true;
	elect_resign(t->el);
	t->in_call = false;
}

static void reset(struct t *t)
{
	t->in_call = true;
	elect_reset(t->el);
	t->in_call = false;
}

/* Answer the pending range with rev and kvs (JSON texts, freed here). */
static void range_reply(int64_t rev, char *kv1, char *kv2)
{
	struct etcd_req *r = fake_etcd_pending("/v3/kv/range");

	assert_non_null(r);
	assert_true(json_is_true(fake_req_get(r, "keys_only")));
	fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"},\"kvs\":[%s%s%s],\"count\":\"%d\"}",
	    (long long)rev, kv1 ? kv1 : "", kv2 ? "," : "", kv2 ? kv2 : "",
	    (kv1 != NULL) + (kv2 != NULL));
	/* A follower reads the leader's value (the first key) by itself. */
	r = fake_etcd_pending("/v3/kv/range");
	if (r != NULL && fake_req_get(r, "range_end") == NULL && kv1 != NULL)
		fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"},\"kvs\":[%s]}",
		    (long long)rev, kv1);
	free(kv1);
	free(kv2);
}

/* The campaign txn put our key at revision rev (its create revision). */
static void txn_ok(int64_t rev)
{
	struct etcd_req *r = fake_etcd_pending("/v3/kv/txn");

	assert_non_null(r);
	fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"},\"succeeded\":true}",
	    (long long)rev);
}

/* The open watch must be on key from start_revision from. */
static struct etcd_req *watching(const char *key, int64_t from)
{
	struct etcd_req *w = fake_etcd_pending("/v3/watch");
	char *k;

	assert_non_null(w);
	assert_true(fake_req_is_stream(w));
	k = fake_req_b64(w, "create_request.key");
	assert_string_equal(k, key);
	free(k);
	assert_int_equal(fake_req_i64(w, "create_request.start_revision"), from);
	assert_string_equal(json_string_value(fake_req_get(w, "create_request.filters.0")), "NOPUT");
	return w;
}

static void push_delete(struct etcd_req *w, const char *key, int64_t rev)
{
	char *k = etcd_b64_encode(key, strlen(key));

	fake_etcd_push(w, "{\"header\":{\"revision\":\"%lld\"},\"events\":[{\"type\":\"DELETE\","
	    "\"kv\":{\"key\":\"%s\",\"mod_revision\":\"%lld\"}}]}", (long long)rev, k, (long long)rev);
	free(k);
}

/* Answer the pending range at rev: node-b's PREDKEY (created at 5) ahead
 * of our key (created at 19). */
static void range_behind_pred(int64_t rev)
{
	range_reply(rev, testkit_kv(PREDKEY, "node-b", 0x7777, 5), testkit_kv(OURKEY, NODE, LEASE, 19));
}

/* Campaign and queue second: txn at 19, range [PREDKEY, ours] at 20. */
static void queue_behind_pred(struct t *t)
{
	campaign(t, LEASE);
	txn_ok(19);
	range_behind_pred(20);
}

/* Campaign and become leader: txn, range [ours] at rev 10, watch own key. */
static struct etcd_req *lead(struct t *t)
{
	campaign(t, LEASE);
	txn_ok(9);
	range_reply(10, testkit_kv(OURKEY, NODE, LEASE, 9), NULL);
	assert_true(elect_is_leader(t->el));
	return watching(OURKEY, 11);
}

/* ---- campaign ------------------------------------------------------------------ */

static void test_campaign_txn_range_lead_watch_own_key(void **state)
{
	struct t *t = *state;
	struct etcd_req *txn, *rg;
	char *s;

	campaign(t, LEASE);
	assert_true(elect_is_campaigning(t->el));
	assert_int_equal(fake_etcd_count(), 1);
	txn = fake_etcd_pending("/v3/kv/txn");
	assert_non_null(txn);
	s = fake_req_b64(txn, "compare.0.key");
	assert_string_equal(s, OURKEY);
	free(s);
	assert_string_equal(json_string_value(fake_req_get(txn, "compare.0.target")), "CREATE");
	assert_string_equal(json_string_value(fake_req_get(txn, "compare.0.result")), "EQUAL");
	assert_int_equal(fake_req_i64(txn, "compare.0.create_revision"), 0);
	s = fake_req_b64(txn, "success.0.request_put.key");
	assert_string_equal(s, OURKEY);
	free(s);
	s = fake_req_b64(txn, "success.0.request_put.value");
	assert_string_equal(s, NODE);
	free(s);
	assert_int_equal(fake_req_i64(txn, "success.0.request_put.lease"), LEASE);
	s = fake_req_b64(txn, "failure.0.request_range.key");
	assert_string_equal(s, OURKEY);
	free(s);

	/* Campaigning again with the same lease sends nothing. */
	campaign(t, LEASE);
	assert_int_equal(fake_etcd_count(), 1);

	txn_ok(9);
	rg = fake_etcd_pending("/v3/kv/range");
	assert_non_null(rg);
	s = fake_req_b64(rg, "key");
	assert_string_equal(s, NAME "/");
	free(s);
	s = fake_req_b64(rg, "range_end");
	assert_string_equal(s, NAME "0");
	free(s);
	assert_string_equal(json_string_value(fake_req_get(rg, "sort_target")), "CREATE");
	assert_string_equal(json_string_value(fake_req_get(rg, "sort_order")), "ASCEND");
	assert_int_equal(t->calls, 0);

	range_reply(10, testkit_kv(OURKEY, NODE, LEASE, 9), NULL);
	assert_int_equal(t->calls, 1);
	assert_true(t->last);
	assert_string_equal(elect_leader(t->el), NODE);
	watching(OURKEY, 11);
}

static void test_create_lease_not_found_retries_the_txn(void **state)
{
	struct t *t = *state;

	campaign(t, LEASE);
	fake_etcd_fail(fake_etcd_pending("/v3/kv/txn"), -EIO, ETCD_CODE_NOT_FOUND,
	    "etcdserver: requested lease not found");
	assert_int_equal(fake_etcd_count(), 1);
	fake_loop_advance(49);
	assert_int_equal(fake_etcd_count(), 1);
	fake_loop_advance(1);
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
	assert_null(fake_etcd_pending("/v3/kv/range"));
	assert_false(elect_is_leader(t->el));
	assert_int_equal(t->calls, 0);
}

/* Election reads leave values out (keys_only): a few huge values under
 * the prefix cannot push every read over the client's 4 MiB reply cap and
 * freeze the election. The leader's name is read once per leading key. */
static void test_reads_keys_only_leader_value_once(void **state)
{
	struct t *t = *state;
	struct etcd_req *rg, *val;
	char *k;

	campaign(t, LEASE);
	txn_ok(19);
	rg = fake_etcd_pending("/v3/kv/range");
	assert_true(json_is_true(fake_req_get(rg, "keys_only")));
	fake_etcd_reply(rg, "{\"header\":{\"revision\":\"20\"},\"kvs\":["
	    "{\"key\":\"L3ZpcGQvZWxlY3Rpb24vMTk4LjE4LjAuMTAwLzc3Nzc=\",\"lease\":\"30583\",\"create_revision\":\"5\"},"
	    "{\"key\":\"L3ZpcGQvZWxlY3Rpb24vMTk4LjE4LjAuMTAwLzEyMzQ=\",\"lease\":\"4660\",\"create_revision\":\"19\"}]}");
	assert_false(elect_is_leader(t->el));
	watching(PREDKEY, 21);
	val = fake_etcd_pending("/v3/kv/range");
	assert_non_null(val);
	assert_null(fake_req_get(val, "range_end"));
	k = fake_req_b64(val, "key");
	assert_string_equal(k, PREDKEY);
	free(k);
	fake_etcd_reply(val, "{\"kvs\":[{\"key\":\"L3ZpcGQvZWxlY3Rpb24vMTk4LjE4LjAuMTAwLzc3Nzc=\","
	    "\"value\":\"bm9kZS1i\"}]}");
	assert_string_equal(elect_leader(t->el), "node-b");
	/* The periodic re-read: same leader, no second value read. */
	fake_loop_advance(RECHECK);
	range_behind_pred(30);
	assert_null(fake_etcd_pending("/v3/kv/range"));
	assert_int_equal(fake_etcd_count_path("/v3/kv/range"), 3);
	assert_string_equal(elect_leader(t->el), "node-b");
}

/* ---- watches -------------------------------------------------------------------- */

/* A waiter watches its predecessor from the revision its range read + 1,
 * so a deletion that happened between the read and the watch is still
 * delivered (etcd replays it from start_revision). */
static void test_delete_between_read_and_watch_is_delivered(void **state)
{
	struct t *t = *state;
	struct etcd_req *w;

	queue_behind_pred(t);
	assert_false(elect_is_leader(t->el));
	assert_string_equal(elect_leader(t->el), "node-b");
	assert_int_equal(t->calls, 1); /* the known leader changed */
	assert_false(t->last);
	w = watching(PREDKEY, 21);
	/* The predecessor went at revision 21, before the watch existed. */
	fake_etcd_push(w, "{\"header\":{\"revision\":\"21\"},\"created\":true}");
	push_delete(w, PREDKEY, 21);
	assert_int_equal(fake_req_state(w), FAKE_REQ_CANCELLED);
	assert_int_equal(fake_etcd_count_state("/v3/kv/range", FAKE_REQ_PENDING), 1);
	range_reply(21, testkit_kv(OURKEY, NODE, LEASE, 19), NULL);
	assert_true(elect_is_leader(t->el));
	assert_true(t->last);
	watching(OURKEY, 22);
}

/* The watch breaks (member restart) before it delivered anything: the
 * election reads again and watches from the new read, never re-watches
 * from a revision it read before the break. */
static void test_watch_broken_rereads_before_watching_again(void **state)
{
	struct t *t = *state;
	struct etcd_req *w;

	queue_behind_pred(t);
	w = watching(PREDKEY, 21);
	fake_etcd_end(w, -EPIPE, 0, "stream closed by server");
	assert_int_equal(fake_etcd_count_path("/v3/watch"), 1);
	assert_null(fake_etcd_pending("/v3/kv/range"));
	fake_loop_advance(50);
	assert_int_equal(fake_etcd_count_path("/v3/watch"), 1); /* no blind re-watch */
	/* Meanwhile the predecessor went and someone queued behind us. */
	range_reply(40, testkit_kv(OURKEY, NODE, LEASE, 19), testkit_kv(NAME "/8888", "node-c", 0x8888, 35));
	assert_true(elect_is_leader(t->el));
	watching(OURKEY, 41);
}

static void test_watch_compacted_rereads_with_backoff(void **state)
{
	struct t *t = *state;
	struct etcd_req *w;

	queue_behind_pred(t);
	w = watching(PREDKEY, 21);
	fake_etcd_push(w, "{\"header\":{\"revision\":\"60\"},\"canceled\":true,"
	    "\"compact_revision\":\"50\",\"cancel_reason\":\"mvcc: required revision has been compacted\"}");
	assert_int_equal(fake_req_state(w), FAKE_REQ_CANCELLED);
	assert_null(fake_etcd_pending(NULL));
	fake_loop_advance(50);
	range_behind_pred(60);
	w = watching(PREDKEY, 61);
	/* Refused again at once: the next read waits longer (no spin). */
	fake_etcd_push(w, "{\"canceled\":true,\"compact_revision\":\"70\"}");
	fake_loop_advance(99);
	assert_null(fake_etcd_pending(NULL));
	fake_loop_advance(1);
	range_behind_pred(71);
	w = watching(PREDKEY, 72);
	/* A created watch means following again: the backoff starts over. */
	fake_etcd_push(w, "{\"created\":true}");
	fake_etcd_push(w, "{\"canceled\":true}");
	fake_loop_advance(49);
	assert_null(fake_etcd_pending(NULL));
	fake_loop_advance(1);
	assert_non_null(fake_etcd_pending("/v3/kv/range"));
	assert_false(elect_is_leader(t->el));
}

/* Our own key deleted from outside while leading: etcd tells the next
 * candidate at the same instant, so the owner is told before the
 * re-read is even sent. */
static void test_own_key_deleted_steps_down_before_reread(void **state)
{
	struct t *t = *state;
	struct etcd_req *w = lead(t), *why;
	char *log;
	size_t ranges = fake_etcd_count_path("/v3/kv/range");

	push_delete(w, OURKEY, 30);
	assert_false(elect_is_leader(t->el));
	assert_int_equal(t->calls, 2);
	assert_false(t->last);
	assert_int_equal(t->ranges_at_cb, ranges); /* told before the range */
	assert_int_equal(fake_etcd_count_path("/v3/kv/range"), ranges + 1);
	/* The re-read shows our key gone: queue again at the back. */
	range_reply(30, testkit_kv(NAME "/8888", "node-c", 0x8888, 25), NULL);
	assert_false(elect_is_leader(t->el));
	/* Meanwhile it asks, for the log only, whether the key went with
	 * its lease (the lease is asked about; the answer changes nothing). */
	why = fake_etcd_pending("/v3/lease/timetolive");
	assert_non_null(why);
	assert_int_equal(fake_req_i64(why, "ID"), LEASE);
	testkit_log_begin();
	fake_etcd_reply(why, "{\"header\":{\"revision\":\"30\"},\"ID\":\"4660\",\"TTL\":\"3\"}");
	testkit_log_end(&log);
	assert_non_null(strstr(log, "own key was deleted from outside name=" NAME " lease=1234 "
	    "(the lease is alive, ttl=3s)"));
	assert_non_null(strstr(log, "another node configured with this node's name (node-a)"));
	free(log);
	assert_false(elect_is_leader(t->el));
	assert_null(fake_etcd_pending(NULL));
	fake_loop_advance(50);
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
}

/* The key went with its lease (a frozen process, a lease revoked): the log
 * says so, not "deleted from outside". */
static void test_own_key_gone_with_lease_is_named(void **state)
{
	struct t *t = *state;
	struct etcd_req *w = lead(t), *why;
	char *log;

	push_delete(w, OURKEY, 30);
	assert_false(elect_is_leader(t->el));
	why = fake_etcd_pending("/v3/lease/timetolive");
	assert_non_null(why);
	testkit_log_begin();
	fake_etcd_reply(why, "{\"header\":{\"revision\":\"30\"},\"ID\":\"4660\",\"TTL\":\"-1\"}");
	testkit_log_end(&log);
	assert_non_null(strstr(log, "own key went with its lease name=" NAME " lease=1234: the "
	    "lease expired or was revoked"));
	assert_null(strstr(log, "deleted from outside"));
	free(log);
	/* The re-read shows the key gone: it queues again, as before. */
	range_reply(30, testkit_kv(NAME "/8888", "node-c", 0x8888, 25), NULL);
	assert_false(elect_is_leader(t->el));
}

/* The periodic re-read is in flight (read at revision 10) when the watch
 * reports our key deleted (revision 30). Its answer predates the deletion
 * and still shows us first: acting on it would lead again - and hold the
 * address - while the next candidate takes over. It must be read again. */
static void test_read_in_flight_when_own_key_deleted_is_stale(void **state)
{
	struct t *t = *state;
	struct etcd_req *w = lead(t), *stale;

	fake_loop_advance(RECHECK);
	stale = fake_etcd_pending("/v3/kv/range");
	assert_non_null(stale);
	push_delete(w, OURKEY, 30);
	assert_false(elect_is_leader(t->el));
	assert_int_equal(t->calls, 2);
	range_reply(10, testkit_kv(OURKEY, NODE, LEASE, 9), NULL);
	assert_false(elect_is_leader(t->el));
	assert_int_equal(t->calls, 2);
	/* Read again; this time the key is gone: queue again. */
	assert_true(fake_req_seq(fake_etcd_pending("/v3/kv/range")) > fake_req_end_seq(stale));
	range_reply(31, testkit_kv(NAME "/8888", "node-c", 0x8888, 25), NULL);
	assert_false(elect_is_leader(t->el));
	fake_loop_advance(50);
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
}

/* Same for a waiter: a read in flight when the predecessor's deletion is
 * reported is read again (it would only watch the dead key). */
static void test_read_in_flight_when_predecessor_deleted_rereads(void **state)
{
	struct t *t = *state;
	struct etcd_req *w;

	queue_behind_pred(t);
	w = watching(PREDKEY, 21);
	fake_loop_advance(RECHECK);
	push_delete(w, PREDKEY, 40);
	range_behind_pred(20);
	assert_int_equal(fake_etcd_count_state("/v3/watch", FAKE_REQ_PENDING), 0);
	range_reply(40, testkit_kv(OURKEY, NODE, LEASE, 19), NULL);
	assert_true(elect_is_leader(t->el));
	watching(OURKEY, 41);
}

/* The periodic re-read catches a watch that died silently. */
static void test_recheck_finds_key_gone(void **state)
{
	struct t *t = *state;
	struct etcd_req *w = lead(t);

	fake_loop_advance(RECHECK - 1);
	assert_null(fake_etcd_pending("/v3/kv/range"));
	fake_loop_advance(1);
	assert_int_equal(fake_req_state(w), FAKE_REQ_PENDING);
	range_reply(50, testkit_kv(NAME "/8888", "node-c", 0x8888, 45), NULL);
	assert_false(elect_is_leader(t->el));
	assert_false(t->last);
	assert_string_equal(elect_leader(t->el), "node-c");
	assert_int_equal(fake_req_state(w), FAKE_REQ_CANCELLED);
}

/* Range replies the code must survive (raw bytes, judged as the transport
 * judges them). A reply that is not a JSON object is a failed read: it
 * proves nothing, leadership stays as it was (the fence guards it), and
 * so is a reply without a revision a watch can start after. A readable
 * reply without our key (its exact bytes, our lease and the create
 * revision our txn reported) steps down. */
static void test_unreadable_range_replies(void **state)
{
	static const struct {
		const char *body;
		bool leads;
	} cases[] = {
		{ "garbage", true },
		{ "[]", true },
		{ "{}", false },
		{ "{\"kvs\":\"x\"}", false },
		{ "{\"kvs\":[1,2]}", false },
		{ "{\"kvs\":[{\"key\":\"!!!\"}]}", false },
		{ "{\"kvs\":[{\"key\":5,\"value\":[]}],\"header\":{\"revision\":\"x\"}}", false },
		{ "{\"kvs\":[{}],\"header\":{\"revision\":\"-5\"}}", false },
		/* our key's name first, but without our lease and create
		 * revision: not ours (someone else wrote it) */
		{ "{\"kvs\":[{\"key\":\"L3ZpcGQvZWxlY3Rpb24vMTk4LjE4LjAuMTAwLzEyMzQ=\",\"value\":7}],"
		  "\"header\":[]}", false },
		/* our key first, odd value, but no usable revision to watch
		 * from (missing, <= 0, INT64_MAX: rev + 1 would overflow): a
		 * read that proves nothing */
		{ "{\"kvs\":[{\"key\":\"L3ZpcGQvZWxlY3Rpb24vMTk4LjE4LjAuMTAwLzEyMzQ=\",\"value\":7,"
		  "\"lease\":\"4660\",\"create_revision\":\"9\"}],\"header\":[]}", true },
		{ "{\"kvs\":[{\"key\":\"L3ZpcGQvZWxlY3Rpb24vMTk4LjE4LjAuMTAwLzEyMzQ=\","
		  "\"lease\":\"4660\",\"create_revision\":\"9\"}],\"header\":{\"revision\":\"-5\"}}", true },
		{ "{\"kvs\":[{\"key\":\"L3ZpcGQvZWxlY3Rpb24vMTk4LjE4LjAuMTAwLzEyMzQ=\","
		  "\"lease\":\"4660\",\"create_revision\":\"9\"}],"
		  "\"header\":{\"revision\":\"9223372036854775807\"}}", true },
	};
	struct t *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct etcd_req *w = lead(t), *rg;
		const char *b = cases[i].body;

		fake_loop_advance(RECHECK);
		rg = fake_etcd_pending("/v3/kv/range");
		assert_non_null(rg);
		fake_etcd_reply_raw(rg, 200, b, strlen(b));
		assert_int_equal(elect_is_leader(t->el), cases[i].leads);
		/* Watch messages that carry nothing must not disturb. */
		w = fake_etcd_pending("/v3/watch");
		if (w != NULL) {
			static const char *const msgs[] = {
				"nonsense",
				"{\"result\":{\"events\":\"x\"}}",
				"{\"result\":{\"events\":[{\"type\":7}]}}",
				"{\"result\":{\"events\":[{\"type\":\"PUT\"}],\"canceled\":\"yes\"}}",
			};
			for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++)
				fake_etcd_push_raw(w, msgs[m], strlen(msgs[m]));
			assert_int_equal(fake_req_state(w), FAKE_REQ_PENDING);
			assert_int_equal(elect_is_leader(t->el), cases[i].leads);
		}
		reset(t);
	}
}

/* ---- a hostile writer under the prefix, against a small etcd model ------------ */

/*
 * Just enough of etcd to run two elections against it: keys are bytes
 * (NULs included), revisions count up, ranges sort by create revision,
 * txns create only if absent, watches get the deletes of their exact key
 * from their start revision on. The test plays a third client with write
 * access to the prefix.
 */
struct mkv {
	char key[64];
	size_t klen;
	char value[32];
	int64_t lease, crev;
	bool live;
};

struct mdel {
	char key[64];
	size_t klen;
	int64_t rev;
};

static struct model {
	struct mkv kv[32];
	size_t n;
	struct mdel del[32];
	size_t n_del;
	int64_t rev;
	struct etcd_req *watch[64]; /* watches seen, and the last delete each got */
	int64_t delivered[64];
	size_t n_watch;
} M;

static struct mkv *m_find(const char *key, size_t klen)
{
	for (size_t i = 0; i < M.n; i++)
		if (M.kv[i].live && M.kv[i].klen == klen && memcmp(M.kv[i].key, key, klen) == 0)
			return &M.kv[i];
	return NULL;
}

static void m_put(const char *key, size_t klen, const char *value, int64_t lease)
{
	struct mkv *kv = &M.kv[M.n++];

	assert_null(m_find(key, klen));
	assert_true(M.n <= 32 && klen <= sizeof(kv->key));
	memcpy(kv->key, key, klen);
	kv->klen = klen;
	snprintf(kv->value, sizeof(kv->value), "%s", value);
	kv->lease = lease;
	kv->crev = ++M.rev;
	kv->live = true;
}

static void m_delete(const char *key, size_t klen)
{
	struct mkv *kv = m_find(key, klen);

	if (kv == NULL)
		return;
	kv->live = false;
	M.del[M.n_del].rev = ++M.rev;
	memcpy(M.del[M.n_del].key, key, klen);
	M.del[M.n_del++].klen = klen;
}

static char *m_kv_json(const struct mkv *kv)
{
	char *k = etcd_b64_encode(kv->key, kv->klen);
	char *v = etcd_b64_encode(kv->value, strlen(kv->value));
	char *s = NULL;

	assert_true(asprintf(&s, "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%lld\","
	    "\"create_revision\":\"%lld\",\"mod_revision\":\"%lld\"}", k, v,
	    (long long)kv->lease, (long long)kv->crev, (long long)kv->crev) > 0);
	free(k);
	free(v);
	return s;
}

/* bytes a (alen) < b (blen), as etcd orders keys */
static int m_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static void m_answer(struct etcd_req *r)
{
	const char *path = fake_req_path(r);
	size_t klen = 0, elen = 0;
	char *key = NULL, *end = NULL, *all = xstrdup(""), *one;
	const char *s;

	if (strcmp(path, "/v3/kv/txn") == 0) {
		struct mkv *kv;

		s = json_string_value(fake_req_get(r, "compare.0.key"));
		key = etcd_b64_decode(s, &klen);
		if ((kv = m_find(key, klen)) != NULL) {
			one = m_kv_json(kv);
			fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"},\"succeeded\":false,"
			    "\"responses\":[{\"response_range\":{\"kvs\":[%s],\"count\":\"1\"}}]}",
			    (long long)M.rev, one);
			free(one);
		} else {
			char *val = fake_req_b64(r, "success.0.request_put.value");

			m_put(key, klen, val, fake_req_i64(r, "success.0.request_put.lease"));
			free(val);
			fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"},\"succeeded\":true,"
			    "\"responses\":[{\"response_put\":{}}]}", (long long)M.rev);
		}
	} else if (strcmp(path, "/v3/kv/range") == 0) {
		key = etcd_b64_decode(json_string_value(fake_req_get(r, "key")), &klen);
		s = json_string_value(fake_req_get(r, "range_end"));
		end = s ? etcd_b64_decode(s, &elen) : NULL;
		for (size_t i = 0; i < M.n; i++) {
			const struct mkv *kv = &M.kv[i];
			bool in = end ? m_cmp(kv->key, kv->klen, key, klen) >= 0 &&
			    m_cmp(kv->key, kv->klen, end, elen) < 0 :
			    m_cmp(kv->key, kv->klen, key, klen) == 0;
			char *tmp;

			if (!kv->live || !in)
				continue;
			one = m_kv_json(kv);
			tmp = all;
			all = xasprintf("%s%s%s", tmp, *tmp ? "," : "", one);
			free(tmp);
			free(one);
		}
		fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"},\"kvs\":[%s]}",
		    (long long)M.rev, all);
	} else if (strcmp(path, "/v3/kv/deleterange") == 0) {
		key = etcd_b64_decode(json_string_value(fake_req_get(r, "key")), &klen);
		m_delete(key, klen);
		fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"}}", (long long)M.rev);
	} else if (strcmp(path, "/v3/lease/timetolive") == 0) {
		/* Every lease in the model lives (a deleted key says nothing
		 * about its lease). */
		fake_etcd_reply(r, "{\"header\":{\"revision\":\"%lld\"},\"ID\":\"%lld\",\"TTL\":\"4\"}",
		    (long long)M.rev, (long long)fake_req_i64(r, "ID"));
	} else {
		fail_msg("model: unexpected request %s", path);
	}
	free(key);
	free(end);
	free(all);
}

/* Deliver the next delete a watch has not had yet. Returns true if one went. */
static bool m_watch_step(struct etcd_req *w)
{
	size_t klen, wi;
	int64_t from = fake_req_i64(w, "create_request.start_revision");
	char *key = etcd_b64_decode(json_string_value(fake_req_get(w, "create_request.key")), &klen);
	for (wi = 0; wi < M.n_watch && M.watch[wi] != w; wi++)
		;
	if (wi == M.n_watch) {
		M.watch[M.n_watch] = w;
		M.delivered[M.n_watch++] = 0;
	}
	for (size_t i = 0; i < M.n_del; i++) {
		const struct mdel *d = &M.del[i];
		char *k;

		if (d->rev < from || d->rev <= M.delivered[wi] ||
		    m_cmp(d->key, d->klen, key, klen) != 0)
			continue;
		M.delivered[wi] = d->rev;
		free(key);
		k = etcd_b64_encode(d->key, d->klen);
		fake_etcd_push(w, "{\"header\":{\"revision\":\"%lld\"},\"events\":[{\"type\":\"DELETE\","
		    "\"kv\":{\"key\":\"%s\",\"mod_revision\":\"%lld\"}}]}", (long long)d->rev, k,
		    (long long)d->rev);
		free(k);
		return true;
	}
	free(key);
	return false;
}

/* Answer everything pending, in the order sent, until nothing moves. */
static void m_pump(void)
{
	bool moved = true;

	while (moved) {
		moved = false;
		for (size_t i = 0; i < fake_etcd_count() && !moved; i++) {
			struct etcd_req *r = fake_etcd_nth(i);

			if (fake_req_state(r) != FAKE_REQ_PENDING)
				continue;
			if (fake_req_is_stream(r)) {
				moved = m_watch_step(r);
			} else {
				m_answer(r);
				moved = true;
			}
		}
	}
}

static void on_model_elect(void *arg, bool leader)
{
	(void)arg;
	(void)leader;
}

/* A leader's claim is justified: its exact key exists, on its lease, and no
 * key under the election was created before it. */
static void assert_justified(struct elect *el, const char *key, int64_t lease)
{
	const struct mkv *mine = m_find(key, strlen(key));

	if (!elect_is_leader(el))
		return;
	assert_non_null(mine);
	assert_int_equal(mine->lease, lease);
	for (size_t i = 0; i < M.n; i++)
		assert_false(M.kv[i].live && M.kv[i].crev < mine->crev);
}

/* Let retries and re-reads run (less than B's re-read period), checking
 * after every step that at most one node leads, and only by right. */
static void settle(struct elect *a, struct elect *b)
{
	for (int i = 0; i < 40; i++) {
		m_pump();
		assert_false(elect_is_leader(a) && elect_is_leader(b));
		assert_justified(a, NAME "/a", 0xa);
		assert_justified(b, NAME "/b", 0xb);
		fake_loop_advance(25);
	}
}

/*
 * The attack: a client with write access to the prefix puts
 * NAME/a "\0x" - a different key whose C-string prefix is node A's key -
 * then deletes A's real key, then B's, then its own. Before the fix A took
 * the foreign key for its own, led on it while watching "NAME/a" (a key
 * that no longer existed), and B led too at its next re-read.
 */
static void test_hostile_writer_never_two_leaders(void **state)
{
	static const char evil[] = NAME "/a\0x";
	struct elect *a, *b;
	struct t *t = *state;

	memset(&M, 0, sizeof(M));
	M.rev = 1;
	/* A re-reads only after a minute, B every 5 s. */
	a = elect_new(t->loop, t->etcd, NULL, NAME, "node-a", 60000, on_model_elect, NULL);
	b = elect_new(t->loop, t->etcd, NULL, NAME, "node-b", 5000, on_model_elect, NULL);
	elect_campaign(a, 0xa);
	settle(a, b);
	elect_campaign(b, 0xb);
	settle(a, b);
	assert_true(elect_is_leader(a));
	assert_false(elect_is_leader(b));

	m_put(evil, sizeof(evil) - 1, "evil", 0);          /* 1 */
	settle(a, b);
	m_delete(NAME "/a", strlen(NAME "/a"));             /* 2 */
	settle(a, b);
	m_delete(NAME "/b", strlen(NAME "/b"));             /* 3 */
	settle(a, b);
	m_delete(evil, sizeof(evil) - 1);                   /* 4 */
	settle(a, b);
	fake_loop_advance(5000);                            /* 5: B re-reads */
	settle(a, b);
	/* Someone leads again, by right. */
	assert_true(elect_is_leader(a) || elect_is_leader(b));

	/* A key of A's exact name on no lease (written by the hostile
	 * client while A is away) is not A's to lead with. */
	elect_reset(a);
	elect_reset(b);
	m_delete(NAME "/a", strlen(NAME "/a"));
	m_delete(NAME "/b", strlen(NAME "/b"));
	m_put(NAME "/a", strlen(NAME "/a"), "node-a", 0);
	elect_campaign(a, 0xa);
	settle(a, b);
	assert_false(elect_is_leader(a));
	elect_free(a);
	elect_free(b);
}

/* ---- resign and reset -------------------------------------------------------------- */

/* A campaign txn cancelled locally may still be applied by etcd, so the
 * resign waits for its answer and only then deletes the key. */
/* Each half of the own-key rule alone (the hostile-writer test needs both
 * to go before it fails): a range showing our key name at our create
 * revision but on another lease is not ours... */
static void test_own_key_on_foreign_lease_is_not_ours(void **state)
{
	struct t *t = *state;

	campaign(t, LEASE);
	txn_ok(9);
	range_reply(10, testkit_kv(OURKEY, NODE, 0x9999, 9), NULL);
	assert_false(elect_is_leader(t->el));
	assert_false(t->last);
}

/* ...and a failed txn (the key exists) whose existing key hangs on another
 * lease gives no create revision to claim: no read, a retry later; the
 * same answer on our own lease is ours (a re-campaign after a restart of
 * the request), and the election goes on. */
static void test_existing_key_on_foreign_lease_is_not_claimed(void **state)
{
	struct t *t = *state;
	char *kv;

	campaign(t, LEASE);
	kv = testkit_kv(OURKEY, NODE, 0x9999, 5);
	fake_etcd_reply(fake_etcd_pending("/v3/kv/txn"), "{\"header\":{\"revision\":\"9\"},"
	    "\"succeeded\":false,\"responses\":[{\"response_range\":{\"kvs\":[%s]}}]}", kv);
	free(kv);
	assert_null(fake_etcd_pending("/v3/kv/range"));
	assert_false(elect_is_leader(t->el));
	fake_loop_advance(5000);
	kv = testkit_kv(OURKEY, NODE, LEASE, 5);
	fake_etcd_reply(fake_etcd_pending("/v3/kv/txn"), "{\"header\":{\"revision\":\"9\"},"
	    "\"succeeded\":false,\"responses\":[{\"response_range\":{\"kvs\":[%s]}}]}", kv);
	free(kv);
	range_reply(10, testkit_kv(OURKEY, NODE, LEASE, 5), NULL);
	assert_true(elect_is_leader(t->el));
}

static void test_resign_while_campaign_txn_in_flight(void **state)
{
	struct t *t = *state;
	struct etcd_req *txn, *del;
	char *k;

	campaign(t, LEASE);
	txn = fake_etcd_pending("/v3/kv/txn");
	resign(t);
	assert_false(elect_is_campaigning(t->el));
	assert_false(elect_is_leader(t->el));
	assert_int_equal(t->calls, 0);
	assert_int_equal(fake_req_state(txn), FAKE_REQ_PENDING);
	assert_int_equal(fake_etcd_count(), 1);
	txn_ok(10);
	/* Now the delete, and no range. */
	del = fake_etcd_pending("/v3/kv/deleterange");
	assert_non_null(del);
	k = fake_req_b64(del, "key");
	assert_string_equal(k, OURKEY);
	free(k);
	assert_true(fake_req_seq(del) > fake_req_end_seq(txn));
	assert_int_equal(fake_etcd_count_path("/v3/kv/range"), 0);
	/* Campaigning again before the delete is answered: the new txn waits
	 * for the delete, or the delete would remove the new key. */
	campaign(t, LEASE);
	assert_null(fake_etcd_pending("/v3/kv/txn"));
	fake_etcd_reply(del, "{\"header\":{\"revision\":\"12\"},\"deleted\":\"1\"}");
	assert_non_null(fake_etcd_pending("/v3/kv/txn"));
	assert_true(fake_req_seq(fake_etcd_pending("/v3/kv/txn")) > fake_req_end_seq(del));
	assert_int_equal(t->calls, 0);
}

static void test_resign_while_leading_retries_the_delete(void **state)
{
	struct t *t = *state;
	struct etcd_req *w = lead(t), *del;

	resign(t);
	assert_false(elect_is_leader(t->el));
	assert_int_equal(t->calls, 1); /* only the election of lead() */
	assert_int_equal(fake_req_state(w), FAKE_REQ_CANCELLED);
	del = fake_etcd_pending("/v3/kv/deleterange");
	assert_non_null(del);
	fake_etcd_fail(del, -ETIMEDOUT, 0, "timeout");
	fake_loop_advance(49);
	assert_null(fake_etcd_pending(NULL));
	fake_loop_advance(1);
	del = fake_etcd_pending("/v3/kv/deleterange");
	assert_non_null(del);
	fake_etcd_fail(del, -ECONNREFUSED, 0, "refused");
	fake_loop_advance(100);
	del = fake_etcd_pending("/v3/kv/deleterange");
	assert_non_null(del);
	fake_etcd_reply(del, "{\"deleted\":\"1\"}");
	fake_loop_advance(10000);
	assert_null(fake_etcd_pending(NULL));
	assert_int_equal(fake_etcd_count_path("/v3/kv/deleterange"), 3);
	assert_int_equal(fake_etcd_count_path("/v3/kv/txn"), 1);
}

static void test_reset_forgets_without_etcd_calls(void **state)
{
	struct t *t = *state;
	struct etcd_req *w = lead(t), *rg;
	size_t n;

	fake_loop_advance(RECHECK);
	rg = fake_etcd_pending("/v3/kv/range");
	assert_non_null(rg);
	n = fake_etcd_count();
	reset(t);
	assert_false(elect_is_leader(t->el));
	assert_false(elect_is_campaigning(t->el));
	assert_int_equal(t->calls, 1);
	assert_int_equal(fake_req_state(w), FAKE_REQ_CANCELLED);
	assert_int_equal(fake_req_state(rg), FAKE_REQ_CANCELLED);
	fake_loop_advance(60000);
	assert_int_equal(fake_etcd_count(), n);
	assert_int_equal(fake_loop_armed(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_campaign_txn_range_lead_watch_own_key),
		T(test_create_lease_not_found_retries_the_txn),
		T(test_reads_keys_only_leader_value_once),
		T(test_delete_between_read_and_watch_is_delivered),
		T(test_watch_broken_rereads_before_watching_again),
		T(test_watch_compacted_rereads_with_backoff),
		T(test_own_key_deleted_steps_down_before_reread),
		T(test_own_key_gone_with_lease_is_named),
		T(test_read_in_flight_when_own_key_deleted_is_stale),
		T(test_read_in_flight_when_predecessor_deleted_rereads),
		T(test_recheck_finds_key_gone),
		T(test_unreadable_range_replies),
		T(test_hostile_writer_never_two_leaders),
		T(test_own_key_on_foreign_lease_is_not_ours),
		T(test_existing_key_on_foreign_lease_is_not_claimed),
		T(test_resign_while_campaign_txn_in_flight),
		T(test_resign_while_leading_retries_the_delete),
		T(test_reset_forgets_without_etcd_calls),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
