/*
 * elect.c - the etcd "concurrency" election recipe, event-driven.
 *
 * States: idle -> create (txn) -> check (range) -> watch (predecessor or
 * own key) -> check ... Every failed request retries after a backoff.
 */
#include "elect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "etcd.h"
#include "etcd_codec.h"
#include "log.h"
#include "loop.h"
#include "watch.h"
#include "xmem.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

enum el_step { EL_IDLE, EL_CREATE, EL_CHECK, EL_WATCH };

struct elect {
	struct loop *loop;
	struct etcd *etcd;
	char *name;            /* election name */
	char *prefix;          /* name + "/" */
	char *prefix_end;
	char *value;           /* our node name */
	char *key;             /* name/<lease hex>, NULL when not campaigning */
	int64_t my_rev;        /* our key's create revision, from our txn; 0 = unknown */
	char *leader_value;    /* as last read; "" if none */
	char *leader_key;      /* base64 of the key leader_value belongs to, or NULL */
	struct etcd_req *value_req; /* reading the leader's value */
	struct etcd_req *why_req; /* asking why our key went (lease alive?) */
	int64_t why_lease;     /* the lease that question is about */
	int64_t lease;
	bool campaigning;
	bool leader;
	enum el_step step;
	struct etcd_req *req;  /* txn / range / delete in flight */
	bool stale;            /* the range in flight predates a reported delete */
	struct etcd_req *watch;  /* a stream of our own (no shared watch) */
	struct watch *hub;       /* the shared watch, or NULL */
	struct watch_sub *sub;   /* our subscription on it */
	struct etcd_req *resign_req;
	char *resign_key;      /* a key we still owe a delete for, or NULL */
	struct loop_timer *resign_timer;
	char *watch_key;       /* the watched key's base64, exactly as etcd sent it */
	bool watch_own;        /* that key is our own (we lead) */
	struct loop_timer *retry;
	struct loop_timer *recheck;
	uint32_t recheck_ms;
	uint32_t backoff_ms;
	elect_cb *cb;
	void *arg;
};

static void do_create(struct elect *el);
static void do_check(struct elect *el);

const char *elect_name(const struct elect *el)
{
	return el->name;
}

bool elect_is_leader(const struct elect *el)
{
	return el->leader;
}

bool elect_is_campaigning(const struct elect *el)
{
	return el->campaigning;
}

const char *elect_leader(const struct elect *el)
{
	return el->leader_value;
}

/* Record who leads; value "" = unknown (we stopped following). Logs a
 * change of our own leadership, and of the known leader while we follow.
 * Returns true if anything changed. Does not tell the owner: the public
 * calls use it directly (the owner re-reads after its call). */
static bool note_leader(struct elect *el, bool leader, const char *value)
{
	bool changed = leader != el->leader || strcmp(value, el->leader_value) != 0;
	char esc[LOG_ESC_LEN];

	if (!changed)
		return false;
	free(el->leader_value);
	el->leader_value = xstrdup(value);
	if (leader != el->leader) {
		el->leader = leader;
		if (leader)
			log_info("election: elected name=%s key=%s", el->name, el->key);
		else
			log_info("election: not leader any more name=%s leader=%s", el->name,
			    value[0] ? log_esc_word(esc, value) : "(unknown)");
	} else if (value[0] != '\0') {
		log_info("election: leader changed name=%s leader=%s", el->name,
		    log_esc_word(esc, value));
		if (strcmp(value, el->value) == 0)
			log_warnx("election: the leading key carries this node's name name=%s node=%s, "
			    "but it is not this daemon's key: is another node configured with the "
			    "same name? Node names must be unique", el->name, log_esc_word(esc, value));
	}
	return true;
}

/* From the election's own event handlers only: record, and tell the owner. */
static void set_leader(struct elect *el, bool leader, const char *value)
{
	if (note_leader(el, leader, value))
		el->cb(el->arg, leader);
}

/* ---- why did our key go? ---------------------------------------------------- */

/*
 * Our key vanished while we led. The step-down does not wait for this: it
 * only finds out, for the log, whether the key went with its lease (the
 * lease expired or was revoked: this process was frozen or cut off from
 * etcd for longer than the TTL) or alone (deleted from outside: by hand,
 * or by another node configured with this node's name, whose start-up
 * clean-up removes "its" old keys). etcd's LeaseTimeToLive answers TTL -1
 * for a lease it no longer has.
 */
static void on_why(void *arg, const struct etcd_result *r)
{
	struct elect *el = arg;
	char esc[LOG_ESC_LEN];
	int64_t ttl = 0;

	el->why_req = NULL;
	if (r->err != 0 || etcd_get_i64(r->body, "TTL", &ttl) < 0)
		return; /* logged by etcd; the step-down stands either way */
	if (ttl < 0)
		log_warnx("election: own key went with its lease name=%s lease=%" PRIx64 ": the lease "
		    "expired or was revoked (this process frozen, or cut off from etcd, for longer "
		    "than the TTL; or a revoke by hand)", el->name, (uint64_t)el->why_lease);
	else
		log_warnx("election: own key was deleted from outside name=%s lease=%" PRIx64
		    " (the lease is alive, ttl=%" PRId64 "s): deleted by hand, or by another node "
		    "configured with this node's name (%s), which removes such keys when it starts; "
		    "node names must be unique", el->name, (uint64_t)el->why_lease, ttl,
		    log_esc_word(esc, el->value));
}

static void ask_why(struct elect *el)
{
	if (el->why_req != NULL || el->lease == 0)
		return;
	el->why_lease = el->lease;
	el->why_req = etcd_call(el->etcd, "/v3/lease/timetolive",
	    json_pack("{s:o}", "ID", etcd_json_i64(el->lease)), 0, on_why, el);
}

static void stop_watch(struct elect *el)
{
	etcd_cancel(el->watch);
	el->watch = NULL;
	watch_sub_close(el->sub);
	el->sub = NULL;
	free(el->watch_key);
	el->watch_key = NULL;
	el->watch_own = false;
}

/* Stop watching and retrying; a request in flight goes on. */
static void stop_following(struct elect *el)
{
	stop_watch(el);
	etcd_cancel(el->value_req);
	el->value_req = NULL;
	free(el->leader_key);
	el->leader_key = NULL;
	loop_timer_disarm(el->retry);
	loop_timer_disarm(el->recheck);
	el->step = EL_IDLE;
}

static void stop_all(struct elect *el)
{
	etcd_cancel(el->req);
	el->req = NULL;
	el->stale = false;
	stop_following(el);
}

static void resign_continue(struct elect *el);
static void on_resigned(void *arg, const struct etcd_result *r);

/* Retry the current step after a growing delay. */
static void retry_later(struct elect *el)
{
	loop_timer_arm(el->retry, backoff_next(&el->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS));
}

static void on_retry(void *arg)
{
	struct elect *el = arg;

	if (!el->campaigning)
		return;
	if (el->step == EL_CREATE)
		do_create(el);
	else
		do_check(el);
}

static void on_recheck(void *arg)
{
	struct elect *el = arg;

	if (el->campaigning && el->req == NULL)
		do_check(el);
}

/* ---- watch ------------------------------------------------------------- */

/* The key we follow was deleted (our own: we step down at once). */
static void watched_key_deleted(struct elect *el)
{
	log_debug("election: watched key deleted name=%s key_b64=%s", el->name, el->watch_key);
	/* Our own key gone while leading: step down now, before the range
	 * below, since the next candidate heard the same event and may take
	 * over at once. */
	if (el->leader && el->watch_own) {
		log_warnx("election: own key deleted while leading name=%s key=%s; stepping down",
		    el->name, el->key);
		ask_why(el);
		stop_watch(el);
		set_leader(el, false, "");
	} else {
		stop_watch(el);
	}
	/* A range already in flight (the periodic re-read) may have been
	 * read before this delete: its answer must not count, or we could
	 * lead again on a dead key. */
	if (el->req != NULL && el->step == EL_CHECK)
		el->stale = true;
	do_check(el);
}

/* The watch ended (already forgotten): read again after a backoff. */
static void watch_ended(struct elect *el, const char *why)
{
	char esc[LOG_ESC_LEN];

	log_debug("election: watch ended name=%s error=\"%s\"", el->name, log_esc(esc, why));
	free(el->watch_key);
	el->watch_key = NULL;
	el->watch_own = false;
	if (el->campaigning && el->req == NULL) {
		el->step = EL_CHECK;
		retry_later(el);
	}
}

/* The shared watch's events for our key (watch.h). */
static void on_sub(void *arg, enum watch_event ev, const char *why)
{
	struct elect *el = arg;

	switch (ev) {
	case WATCH_CREATED:
		el->backoff_ms = 0; /* following again: the trouble is over */
		break;
	case WATCH_DELETED:
		watched_key_deleted(el);
		break;
	case WATCH_ENDED:
		el->sub = NULL;
		watch_ended(el, why);
		break;
	}
}

static void on_watch_msg(void *arg, json_t *result)
{
	struct elect *el = arg;
	json_t *events = json_object_get(result, "events"), *ev;
	int canceled = 0;
	size_t i;

	int created = 0;

	etcd_get_bool(result, "canceled", &canceled);
	etcd_get_bool(result, "created", &created);
	if (canceled) {
		char esc[LOG_ESC_LEN];

		log_info("election: watch cancelled by etcd name=%s reason=\"%s\"", el->name,
		    log_esc(esc, json_string_value(json_object_get(result, "cancel_reason"))));
		stop_watch(el);
		el->step = EL_CHECK;
		retry_later(el); /* a watch refused at once must not spin */
		return;
	}
	if (created)
		el->backoff_ms = 0; /* following again: the trouble is over */
	json_array_foreach(events, i, ev) {
		const char *type = json_string_value(json_object_get(ev, "type"));
		if (type != NULL && strcmp(type, "DELETE") == 0) {
			watched_key_deleted(el);
			return;
		}
	}
}

static void on_watch_end(void *arg, const struct etcd_result *r)
{
	struct elect *el = arg;

	el->watch = NULL;
	watch_ended(el, r->message);
}

/* Watch the key whose base64 is key_b64 - the bytes etcd sent, never a
 * decoded and re-encoded copy, so a key with a NUL inside is watched as
 * itself and not by a shorter name. */
static void start_watch(struct elect *el, const char *key_b64, bool own, int64_t from_rev)
{
	json_t *body;

	if ((el->watch != NULL || el->sub != NULL) && strcmp(el->watch_key, key_b64) == 0 &&
	    el->watch_own == own)
		return; /* already following that key */
	stop_watch(el);
	el->watch_key = xstrdup(key_b64);
	el->watch_own = own;
	if (el->hub != NULL) {
		el->sub = watch_sub_open(el->hub, key_b64, from_rev, on_sub, el);
		return;
	}
	body = json_pack("{s:{s:s, s:o, s:[s]}}", "create_request",
	    "key", key_b64,
	    "start_revision", etcd_json_i64(from_rev),
	    "filters", "NOPUT");
	if (body == NULL)
		fatalx("election: cannot build watch");
	el->watch = etcd_stream(el->etcd, "/v3/watch", body, on_watch_msg, on_watch_end, el);
}

/* ---- check: who leads? --------------------------------------------------- */

/*
 * Is kv our key? As etcd's concurrency package identifies it: by the
 * create revision our txn created it at (or found it at); and further,
 * the key's bytes are exactly ours (length included: a key with a NUL
 * after our name is another key) and it hangs on our lease. A key anyone
 * else wrote under the prefix matches none of these by accident.
 */
static bool kv_is_mine(const struct elect *el, const json_t *kv)
{
	size_t len;
	char *k = etcd_get_b64n(kv, "key", &len);
	int64_t crev = 0, lease = 0;
	bool mine;

	mine = k != NULL && len == strlen(el->key) && memcmp(k, el->key, len) == 0 &&
	    el->my_rev > 0 && etcd_get_i64(kv, "create_revision", &crev) == 0 &&
	    crev == el->my_rev && etcd_get_i64(kv, "lease", &lease) == 0 &&
	    lease == el->lease;
	free(k);
	return mine;
}

/* Node names are short; a longer value is shown cut (it is only shown). */
#define LEADER_VALUE_MAX 255

static void on_value(void *arg, const struct etcd_result *r)
{
	struct elect *el = arg;
	json_t *kv = json_array_get(json_object_get(r->body, "kvs"), 0);
	const char *key = json_string_value(json_object_get(kv, "key"));
	char *val;

	el->value_req = NULL;
	if (r->err != 0 || key == NULL || el->leader_key == NULL ||
	    strcmp(key, el->leader_key) != 0 || el->leader)
		return; /* gone or moved on: the next read asks again */
	val = etcd_get_b64(kv, "value");
	if (val == NULL)
		val = xstrdup("?");
	if (strlen(val) > LEADER_VALUE_MAX)
		val[LEADER_VALUE_MAX] = '\0';
	set_leader(el, false, val);
	free(val);
}

/*
 * The leader's value (node name) to show, given first, the first kv of a
 * keys_only read (or NULL): the one known if the leading key is the same
 * as before, else "" for now while one request reads that key's value.
 * Election reads leave values out, so that a few huge values written under
 * the prefix cannot push every read over the reply size cap. Caller frees.
 */
static char *leader_value_of(struct elect *el, const json_t *first)
{
	const char *key = json_string_value(json_object_get(first, "key"));

	if (key != NULL && el->leader_key != NULL && strcmp(key, el->leader_key) == 0)
		return xstrdup(el->leader_value);
	etcd_cancel(el->value_req);
	el->value_req = NULL;
	free(el->leader_key);
	el->leader_key = key ? xstrdup(key) : NULL;
	if (key != NULL)
		el->value_req = etcd_call(el->etcd, "/v3/kv/range",
		    json_pack("{s:s}", "key", key), 0, on_value, el);
	return xstrdup("");
}

static void on_check(void *arg, const struct etcd_result *r)
{
	struct elect *el = arg;
	json_t *kvs, *kv, *pred = NULL, *first;
	int64_t rev = 0;
	bool found = false;
	char *leader_val = NULL;
	size_t i;

	el->req = NULL;
	if (el->resign_key != NULL) { /* resigned while the range was out */
		el->stale = false;
		resign_continue(el);
		return;
	}
	if (el->stale) { /* read before a delete the watch reported */
		el->stale = false;
		do_check(el);
		return;
	}
	if (r->err != 0) {
		retry_later(el);
		return;
	}
	kvs = json_object_get(r->body, "kvs");
	json_array_foreach(kvs, i, kv) {
		if (kv_is_mine(el, kv)) {
			found = true;
			break;
		}
		pred = kv;
	}
	first = json_array_get(kvs, 0);
	if (found && pred == NULL) { /* we lead: the value is ours */
		free(el->leader_key);
		el->leader_key = xstrdup(json_string_value(json_object_get(first, "key")));
		leader_val = xstrdup(el->value);
	} else {
		leader_val = leader_value_of(el, first);
	}

	if (!found) {
		/* Our key is gone although we campaign: deleted from outside,
		 * or its lease was revoked. Step down at once and queue up
		 * again (if the lease is gone, the session will notice). */
		if (el->leader) {
			log_warnx("election: own key vanished name=%s key=%s; stepping down",
			    el->name, el->key);
			ask_why(el);
		} else
			log_info("election: own key gone name=%s key=%s; queueing again",
			    el->name, el->key);
		set_leader(el, false, leader_val);
		stop_watch(el);
		free(leader_val);
		el->step = EL_CREATE;
		retry_later(el);
		return;
	}
	if (etcd_header_rev(r->body, &rev) < 0) {
		/* Nothing to watch from: a read that proves nothing
		 * (leadership stays as it was; the fence guards it). */
		log_warnx("election: range reply without a valid revision name=%s", el->name);
		free(leader_val);
		retry_later(el);
		return;
	}
	el->step = EL_WATCH;
	if (pred == NULL) {
		char *own = etcd_b64_encode(el->key, strlen(el->key));

		set_leader(el, true, el->value);
		start_watch(el, own, true, rev + 1);
		free(own);
	} else {
		const char *pkey = json_string_value(json_object_get(pred, "key"));

		set_leader(el, false, leader_val);
		/* Any key ahead of ours holds us back, foreign or not (the
		 * safe side); it is watched by its exact bytes. */
		if (pkey != NULL) {
			start_watch(el, pkey, false, rev + 1);
		} else {
			stop_watch(el);
			el->step = EL_CHECK;
			retry_later(el);
		}
	}
	free(leader_val);
	if (el->recheck_ms)
		loop_timer_arm(el->recheck, el->recheck_ms);
}

static void do_check(struct elect *el)
{
	json_t *body;

	if (el->req != NULL)
		return;
	el->step = EL_CHECK;
	body = json_pack("{s:o, s:o, s:s, s:s, s:b}",
	    "key", etcd_json_b64(el->prefix),
	    "range_end", etcd_json_b64(el->prefix_end),
	    "sort_order", "ASCEND",
	    "sort_target", "CREATE",
	    "keys_only", 1);
	el->req = etcd_call(el->etcd, "/v3/kv/range", body, 0, on_check, el);
}

/* ---- create: put our key if absent ---------------------------------------- */

/*
 * The revision our key was created at, from the campaign txn's answer, as
 * etcd's concurrency package takes it: succeeded -> the txn's header
 * revision; not succeeded (the key existed: an earlier txn of ours was
 * applied but its answer lost) -> the existing key's create revision, but
 * only if it hangs on our lease: a key of our name on another lease (or
 * none) was written by someone else and is not ours to lead with.
 * Returns the revision, or 0 if the answer does not give ours.
 */
static int64_t created_rev(struct elect *el, const json_t *body)
{
	json_t *kv = json_array_get(json_object_get(json_object_get(json_array_get(
	    json_object_get(body, "responses"), 0), "response_range"), "kvs"), 0);
	int succeeded = 0;
	int64_t rev = 0, lease = 0;
	size_t len;
	char *k;

	if (etcd_get_bool(body, "succeeded", &succeeded) < 0)
		return 0;
	if (succeeded)
		return etcd_header_rev(body, &rev) == 0 ? rev : 0;
	k = etcd_get_b64n(kv, "key", &len);
	if (k == NULL || len != strlen(el->key) || memcmp(k, el->key, len) != 0 ||
	    etcd_get_i64(kv, "lease", &lease) < 0 || lease != el->lease ||
	    etcd_get_i64(kv, "create_revision", &rev) < 0 || rev <= 0 || rev == INT64_MAX) {
		free(k);
		log_warnx("election: our key exists but is not ours (another lease or none) "
		    "name=%s key=%s lease=%" PRIx64 "; someone else wrote it, waiting",
		    el->name, el->key, (uint64_t)lease);
		return 0;
	}
	free(k);
	return rev;
}

static void on_create(void *arg, const struct etcd_result *r)
{
	struct elect *el = arg;

	el->req = NULL;
	if (el->resign_key != NULL) { /* resigned while the txn was out */
		resign_continue(el);
		return;
	}
	if (r->err != 0) {
		if (r->code == ETCD_CODE_NOT_FOUND)
			log_info("election: lease not found while campaigning name=%s", el->name);
		retry_later(el);
		return;
	}
	el->my_rev = created_rev(el, r->body);
	if (el->my_rev == 0) {
		retry_later(el);
		return;
	}
	el->backoff_ms = 0;
	do_check(el);
}

static void do_create(struct elect *el)
{
	json_t *body;

	if (el->req != NULL)
		return;
	el->step = EL_CREATE;
	body = json_pack("{s:[{s:o, s:s, s:s, s:o}], s:[{s:{s:o, s:o, s:o}}], s:[{s:{s:o}}]}",
	    "compare",
	    "key", etcd_json_b64(el->key), "target", "CREATE", "result", "EQUAL",
	    "create_revision", etcd_json_i64(0),
	    "success",
	    "request_put", "key", etcd_json_b64(el->key), "value", etcd_json_b64(el->value),
	    "lease", etcd_json_i64(el->lease),
	    "failure",
	    "request_range", "key", etcd_json_b64(el->key));
	if (body == NULL)
		fatalx("election: cannot build txn");
	el->req = etcd_call(el->etcd, "/v3/kv/txn", body, 0, on_create, el);
}

/* ---- public ------------------------------------------------------------- */

void elect_campaign(struct elect *el, int64_t lease)
{
	if (el->campaigning && el->lease == lease)
		return;
	if (el->resign_key != NULL)
		stop_following(el); /* a request in flight still owes the delete */
	else
		stop_all(el);
	free(el->key);
	el->key = xasprintf("%s/%" PRIx64, el->name, (uint64_t)lease);
	el->lease = lease;
	el->my_rev = 0;
	el->campaigning = true;
	el->backoff_ms = 0;
	log_info("election: campaigning name=%s key=%s", el->name, el->key);
	/* A delete still owed from a resign goes first (on_resigned then
	 * creates): were our new key created before it lands, the delete
	 * would remove it. */
	if (el->resign_key == NULL)
		do_create(el);
	else
		resign_continue(el);
}

/* Send the delete a resign owes, once nothing else is in flight. */
static void resign_continue(struct elect *el)
{
	if (el->resign_key == NULL || el->resign_req != NULL || el->req != NULL)
		return;
	el->resign_req = etcd_call(el->etcd, "/v3/kv/deleterange",
	    json_pack("{s:o}", "key", etcd_json_b64(el->resign_key)), 0, on_resigned, el);
}

static void on_resigned(void *arg, const struct etcd_result *r)
{
	struct elect *el = arg;

	el->resign_req = NULL;
	if (r->err != 0) {
		/* The lease keeps the key alive (other VIPs renew it), so it
		 * must really go: try again, with a backoff. */
		loop_timer_arm(el->resign_timer,
		    backoff_next(&el->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS));
		return;
	}
	log_info("election: resigned name=%s key=%s", el->name, el->resign_key);
	free(el->resign_key);
	el->resign_key = NULL;
	el->backoff_ms = 0;
	if (el->campaigning) /* campaigning again meanwhile */
		do_create(el);
}

static void on_resign_retry(void *arg)
{
	resign_continue(arg);
}

void elect_resign(struct elect *el)
{
	if (!el->campaigning)
		return;
	/* A txn or range in flight is left to finish (a create cancelled
	 * locally may still be applied by etcd after our delete); its
	 * callback sends the delete. */
	stop_following(el);
	el->campaigning = false;
	free(el->resign_key);
	el->resign_key = xstrdup(el->key);
	el->backoff_ms = 0;
	resign_continue(el);
	(void)note_leader(el, false, "");
}

bool elect_idle(const struct elect *el)
{
	return !el->campaigning && el->resign_key == NULL && el->resign_req == NULL &&
	    el->req == NULL;
}

void elect_reset(struct elect *el)
{
	/* The lease is gone and every key on it: nothing is owed. */
	stop_all(el);
	etcd_cancel(el->resign_req);
	el->resign_req = NULL;
	loop_timer_disarm(el->resign_timer);
	free(el->resign_key);
	el->resign_key = NULL;
	el->campaigning = false;
	el->lease = 0;
	(void)note_leader(el, false, "");
}

struct elect *elect_new(struct loop *loop, struct etcd *etcd, struct watch *hub,
    const char *name, const char *value, uint32_t recheck_ms, elect_cb *cb, void *arg)
{
	struct elect *el = xcalloc(1, sizeof(*el));

	el->loop = loop;
	el->etcd = etcd;
	el->hub = hub;
	el->name = xstrdup(name);
	el->prefix = xasprintf("%s/", name);
	el->prefix_end = etcd_prefix_end(el->prefix);
	el->value = xstrdup(value);
	el->leader_value = xstrdup("");
	el->recheck_ms = recheck_ms;
	el->cb = cb;
	el->arg = arg;
	el->retry = loop_timer_new(loop, on_retry, el);
	el->recheck = loop_timer_new(loop, on_recheck, el);
	el->resign_timer = loop_timer_new(loop, on_resign_retry, el);
	return el;
}

void elect_free(struct elect *el)
{
	if (el == NULL)
		return;
	stop_all(el);
	etcd_cancel(el->resign_req);
	etcd_cancel(el->why_req);
	loop_timer_free(el->resign_timer);
	free(el->resign_key);
	loop_timer_free(el->retry);
	loop_timer_free(el->recheck);
	free(el->name);
	free(el->prefix);
	free(el->prefix_end);
	free(el->value);
	free(el->key);
	free(el->leader_value);
	free(el);
}
