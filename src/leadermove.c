/*
 * leadermove.c - move etcd's raft leadership away from the member of the
 * node that owns a VIP: status -> member list -> MoveLeader.
 */
#include "leadermove.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "etcd.h"
#include "etcd_codec.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"


struct leadermove {
	struct loop *loop;
	struct etcd *etcd;
	char *local;             /* the endpoint of this node's own member */
	char *node;              /* this node's name (vipd.node) */
	uint32_t interval_ms;
	leadermove_owns_fn *owns;
	void *arg;
	struct loop_timer *timer;
	struct etcd_req *req;
	uint64_t self;           /* this node's member id, from the status */
	uint64_t target;         /* the member asked to lead */
	unsigned skip;           /* rotates the choice after a failed move */
	uint64_t started;        /* when the move was asked (loop ms) */
	uint64_t moves;
	uint64_t not_leader_at;  /* last round that saw another leader (loop
	                          * ms; 0 never): leadership came since */
	bool warned_other;       /* logged that another endpoint answered */
	bool warned_all_own;     /* logged that every other node owns a VIP */
};

/*
 * A member id: etcd's are unsigned 64-bit (often above INT64_MAX), sent by
 * the gateway as decimal strings (or numbers). 0 when missing or not one.
 */
static uint64_t member_id(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	char *end;
	uint64_t id;

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return 0;
	errno = 0;
	id = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? 0 : id;
}

/* LEADERMOVE_SETTLE_MS, or 3 TTLs for a long TTL (leadermove.h). */
static uint32_t settle_ms(const struct leadermove *m)
{
	return m->interval_ms * 3 > LEADERMOVE_SETTLE_MS ? m->interval_ms * 3 : LEADERMOVE_SETTLE_MS;
}

static void next_round(struct leadermove *m)
{
	m->req = NULL;
	loop_timer_arm(m->timer, m->interval_ms);
}

static void on_move(void *arg, const struct etcd_result *r)
{
	struct leadermove *m = arg;

	if (r->err == 0) {
		m->moves++;
		log_info("etcd: moved raft leadership off this node's member member=%" PRIx64
		    " to=%" PRIx64 " took_ms=%" PRIu64 " (it owns a VIP: avoidLeader)",
		    m->self, m->target, loop_now_ms() - m->started);
	} else {
		m->skip++;
		log_warnx("etcd: could not move raft leadership to=%" PRIx64 ": %s%s", m->target,
		    r->message, r->code == 7 || r->code == 16 ?
		    " (under etcd auth, MoveLeader needs a user with the root role)" : "");
	}
	next_round(m);
}

/* A voting member other than ours whose node owns no VIP: the (skip)-th
 * such, in list order. *others: voting members other than ours at all. */
static uint64_t pick_target(struct leadermove *m, const json_t *members, size_t *others)
{
	uint64_t ids[16];
	size_t n = 0, i;
	json_t *mb;

	*others = 0;
	json_array_foreach(members, i, mb) {
		uint64_t id = member_id(mb, "ID");
		const char *name = json_string_value(json_object_get(mb, "name"));
		int learner = 0;

		if (id == 0 || id == m->self)
			continue;
		etcd_get_bool(mb, "isLearner", &learner);
		if (learner)
			continue;
		(*others)++;
		if (name != NULL && name[0] != '\0' && m->owns(m->arg, name))
			continue;
		if (n < sizeof(ids) / sizeof(ids[0]))
			ids[n++] = id;
	}
	return n == 0 ? 0 : ids[m->skip % n];
}

/* Is this node's own member (id self) named as this node is? */
static bool names_match(const struct leadermove *m, const json_t *members)
{
	size_t i;
	json_t *mb;

	json_array_foreach(members, i, mb) {
		const char *name = json_string_value(json_object_get(mb, "name"));

		if (member_id(mb, "ID") == m->self)
			return name != NULL && strcmp(name, m->node) == 0;
	}
	return false;
}

static void on_members(void *arg, const struct etcd_result *r)
{
	struct leadermove *m = arg;
	const json_t *members;
	char id[24];
	size_t others;

	if (r->err != 0) {
		next_round(m);
		return;
	}
	members = json_object_get(r->body, "members");
	/* Member names are trusted to be node names when this node's own
	 * member is named after it; otherwise a target's node may own VIPs
	 * under another name, and only the settle time bounds the changes.
	 * Leadership came after the last round that saw it elsewhere, so it
	 * has been here at least (now - not_leader_at - interval). */
	if (!names_match(m, members) && m->not_leader_at != 0 &&
	    loop_now_ms() - m->not_leader_at < settle_ms(m) + m->interval_ms) {
		log_debug("etcd: avoidLeader: member names are not node names, and this node's "
		    "member may have become leader less than %u ms ago; not moving it on yet",
		    settle_ms(m));
		next_round(m);
		return;
	}
	m->target = pick_target(m, members, &others);
	if (m->target == 0 && others > 0) {
		if (!m->warned_all_own)
			log_info("etcd: avoidLeader: this node's member leads, but every other member's "
			    "node owns a VIP too; leadership stays (moving it would not help)");
		m->warned_all_own = true;
		next_round(m);
		return;
	}
	m->warned_all_own = false;
	if (m->target == 0) {
		log_debug("etcd: raft leader is this node's member, and no other voting member to move it to");
		next_round(m);
		return;
	}
	m->started = loop_now_ms();
	log_info("etcd: this node owns a VIP and its etcd member leads; moving raft leadership "
	    "member=%" PRIx64 " to=%" PRIx64, m->self, m->target);
	snprintf(id, sizeof(id), "%" PRIu64, m->target);
	m->req = etcd_call(m->etcd, "/v3/maintenance/transfer-leadership",
	    json_pack("{s:s}", "targetID", id), 0, on_move, m);
}

static void on_status(void *arg, const struct etcd_result *r)
{
	struct leadermove *m = arg;
	uint64_t leader;

	if (r->err != 0) {
		m->not_leader_at = loop_now_ms(); /* not known: as if it just came */
		next_round(m);
		return;
	}
	if (strcmp(r->endpoint, m->local) != 0) {
		m->not_leader_at = loop_now_ms();
		/* Fail-over took us elsewhere: who "we" are is not known. */
		if (!m->warned_other)
			log_info("etcd: avoidLeader: status answered by %s, not this node's own member "
			    "%s (the first endpoint); skipped until it answers", r->endpoint, m->local);
		m->warned_other = true;
		next_round(m);
		return;
	}
	m->warned_other = false;
	m->self = member_id(json_object_get(r->body, "header"), "member_id");
	leader = member_id(r->body, "leader");
	if (m->self == 0 || leader != m->self) {
		m->not_leader_at = loop_now_ms();
		next_round(m);
		return;
	}
	if (!m->owns(m->arg, NULL)) {
		next_round(m);
		return;
	}

	m->req = etcd_call(m->etcd, "/v3/cluster/member/list", json_object(), 0, on_members, m);
}

static void on_timer(void *arg)
{
	struct leadermove *m = arg;

	m->req = etcd_call(m->etcd, "/v3/maintenance/status", json_object(), 0, on_status, m);
}

struct leadermove *leadermove_new(struct loop *loop, struct etcd *etcd,
    const char *local_endpoint, const char *node, uint32_t interval_ms,
    leadermove_owns_fn *owns, void *arg)
{
	struct leadermove *m = xcalloc(1, sizeof(*m));

	m->loop = loop;
	m->etcd = etcd;
	m->local = xstrdup(local_endpoint);
	m->node = xstrdup(node);
	m->interval_ms = interval_ms;
	m->owns = owns;
	m->arg = arg;
	m->timer = loop_timer_new(loop, on_timer, m);
	loop_timer_arm(m->timer, interval_ms);
	return m;
}

void leadermove_free(struct leadermove *m)
{
	if (m == NULL)
		return;
	etcd_cancel(m->req);
	loop_timer_free(m->timer);
	free(m->local);
	free(m->node);
	free(m);
}

uint64_t leadermove_moves(const struct leadermove *m)
{
	return m->moves;
}
