/*
 * session.c - lease grant, keepalive every min(TTL/4, window - 1.2 s), fence timer, revoke.
 */
#include "session.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "backoff.h"
#include "etcd.h"
#include "etcd_codec.h"
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "xmem.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000 /* the cap while keeping a lease alive */

/*
 * Keepalives overlap: one goes out every period whether or not the last
 * one has answered (as etcd's own clients keep a stream going), so a reply
 * held up by a network hiccup does not hold up the next request; each
 * success moves the fence from its own send time.
 */
#define SESSION_KA_MAX 3
/* Between a failed revoke and the next try, and the longest a try may
 * take (session_revoke): a member that hangs (frozen, its disk stalled)
 * then costs 500 ms, after which the next try goes to the next endpoint.
 * A try shorter than SESSION_REVOKE_TRY_MIN_MS is not sent (it would
 * only time out). */
#define SESSION_REVOKE_RETRY_MS   100u
#define SESSION_REVOKE_TRY_MS     500u
#define SESSION_REVOKE_TRY_MIN_MS 100u

struct session;

struct session_ka {
	struct session *s;
	struct etcd_req *req;     /* NULL = slot free */
	uint64_t sent_at;
};

struct session {
	struct loop *loop;
	struct etcd *etcd;
	const struct session_ops *ops;
	void *arg;
	uint32_t ttl_ms;          /* the current lease's (asked for) */
	uint32_t next_ttl_ms;     /* for the next grant (session_set_ttl) */
	uint32_t timeout_ms;
	int64_t lease;
	uint64_t fence;
	bool expired;             /* expired() was called for this fence */
	bool ttl_warned;          /* a longer TTL than asked was logged */
	bool stopping;
	uint32_t backoff_ms;
	uint64_t sent_at;         /* send time of the grant in flight */
	struct etcd_req *req;     /* grant or revoke in flight */
	struct session_ka ka[SESSION_KA_MAX]; /* keepalives in flight */
	struct loop_timer *tick;  /* next grant/keepalive */
	struct loop_timer *fence_timer;
	struct loop_timer *revoke_timer;  /* armed at the revoke's deadline */
	struct loop_timer *revoke_retry;  /* the next try after a failure */
	int64_t revoke_lease;     /* the lease being revoked */
	unsigned revoke_tries;
	void (*revoke_done)(void *arg);
	void *revoke_arg;
	struct session_counts counts; /* session_counts() */
};

uint32_t session_margin_ms(uint32_t ttl_ms)
{
	uint32_t m = ttl_ms / 10;

	return m < 200 ? 200 : m;
}

uint32_t session_window_ms(uint32_t ttl_ms)
{
	uint32_t cut = session_margin_ms(ttl_ms) + POLICY_KERNEL_LAG_MS;

	return ttl_ms > cut ? ttl_ms - cut : 0;
}

void session_counts(const struct session *s, struct session_counts *out)
{
	*out = s->counts;
}

int64_t session_lease(const struct session *s)
{
	return s->lease;
}

uint64_t session_fence(const struct session *s)
{
	return s->lease ? s->fence : 0;
}

bool session_valid(const struct session *s, uint64_t now_ms)
{
	return s->lease != 0 && now_ms < s->fence;
}

static uint32_t next_backoff(struct session *s)
{
	return backoff_next(&s->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
}

/*
 * Keepalive every TTL/4 (etcd's own clients use TTL/3), and often enough
 * that the next renewal is due before the address's lifetime needs a
 * refresh (policy_refresh_at: at the latest 1 s + 2 slack before the
 * fence, so at most window - 1 s - 2 slack after the send): then the
 * refresh runs only when keepalives are late. TTL 5 s: 1250 ms; TTL 3 s:
 * window 1600 ms, so 400 ms. The keepalives sent during a network hiccup
 * are answered when it ends, and the next ones go out on schedule anyway.
 */
static uint32_t ka_interval(const struct session *s)
{
	uint32_t p = s->ttl_ms / 4, w = session_window_ms(s->ttl_ms);
	uint32_t before = 1000u + 2 * POLICY_REFRESH_SLACK_MS;

	if (w > before && w - before < p)
		p = w - before;
	return p < 100 ? 100 : p;
}

/* A grant must answer within a keepalive period; a keepalive may take up
 * to half the TTL (later ones are already on their way meanwhile). */
static uint32_t req_timeout(const struct session *s, bool keepalive)
{
	uint32_t t = keepalive ? s->ttl_ms / 2 : ka_interval(s);

	if (t < 500)
		t = 500;
	return t < s->timeout_ms ? t : s->timeout_ms;
}

static void cancel_keepalives(struct session *s)
{
	for (size_t i = 0; i < SESSION_KA_MAX; i++) {
		etcd_cancel(s->ka[i].req);
		s->ka[i].req = NULL;
	}
}

/*
 * The TTL the fence and the kernel lifetime use: min(what etcd granted or
 * renewed, what we asked for). etcd may round a TTL up (3.4 raises < 2 s
 * to 2 s; a new raft leader extends leases), but an endpoint answering a
 * TTL far above ours (a broken or hostile one) must not stretch the fence:
 * a huge TTL gave an address with a permanent kernel lifetime, defeating
 * the backstop. Logged once per lease.
 */
static int64_t use_ttl(struct session *s, int64_t ttl_s, const char *endpoint)
{
	int64_t mine = s->ttl_ms / 1000;
	char esc[LOG_ESC_LEN];

	if (ttl_s <= mine)
		return ttl_s;
	if (!s->ttl_warned)
		log_warnx("session: etcd answered a longer TTL than asked lease=%" PRIx64
		    " ttl=%" PRId64 "s asked=%" PRId64 "s endpoint=%s; the fence uses %" PRId64 "s",
		    (uint64_t)s->lease, ttl_s, mine, log_esc(esc, endpoint), mine);
	s->ttl_warned = true;
	return mine;
}

static void set_fence(struct session *s, uint64_t sent_at, int64_t ttl_s)
{
	uint64_t fence = sent_at + session_window_ms((uint32_t)ttl_s * 1000u);

	if (fence <= s->fence)
		return;
	s->fence = fence;
	s->expired = false;
	loop_timer_arm_at(s->fence_timer, fence);
	s->ops->renewed(s->arg, fence);
}

static void lose(struct session *s, const char *why)
{
	log_warnx("session: lease lost lease=%" PRIx64 " reason=\"%s\"", (uint64_t)s->lease, why);
	s->lease = 0;
	s->fence = 0;
	s->counts.losses++;
	cancel_keepalives(s);
	loop_timer_disarm(s->fence_timer);
	s->ops->lost(s->arg);
	s->backoff_ms = 0;
	loop_timer_arm(s->tick, 0); /* grant a new lease at once */
}

/* Retry sooner than the next period after a failure, with a backoff. */
static void retry_soon(struct session *s)
{
	uint64_t soon = loop_now_ms() + next_backoff(s);

	if (!loop_timer_armed(s->tick) || loop_timer_deadline(s->tick) > soon)
		loop_timer_arm_at(s->tick, soon);
}

static void on_keepalive(void *arg, const struct etcd_result *r)
{
	struct session_ka *ka = arg;
	struct session *s = ka->s;
	int64_t ttl = 0;

	ka->req = NULL;
	if (r->err == -EIO && r->code == ETCD_CODE_NOT_FOUND) {
		lose(s, "lease not found");
		return;
	}
	if (r->err != 0) {
		/* Cannot tell: keep trying until the fence decides. */
		retry_soon(s);
		return;
	}
	/* The gateway streams keepalive replies: {"result": {...}} or, when
	 * the call failed after the headers went out, {"error": {...}} with
	 * HTTP 200. Only a result says anything about the lease. */
	if (!json_is_object(json_object_get(r->body, "result")) ||
	    etcd_get_i64(json_object_get(r->body, "result"), "TTL", &ttl) < 0) {
		json_t *er = json_object_get(r->body, "error");
		const char *m = json_string_value(json_object_get(er, "message"));
		char esc[LOG_ESC_LEN];

		log_warnx("session: keepalive failed endpoint=%s error=\"%s\"", r->endpoint,
		    m ? log_esc(esc, m) : "reply without a result");
		retry_soon(s);
		return;
	}
	if (ttl <= 0) {
		lose(s, "keepalive answered TTL 0");
		return;
	}
	s->backoff_ms = 0;
	log_debug("session: keepalive ok lease=%" PRIx64 " ttl=%" PRId64 " rtt_ms=%" PRIu64,
	    (uint64_t)s->lease, ttl, loop_now_ms() - ka->sent_at);
	set_fence(s, ka->sent_at, use_ttl(s, ttl, r->endpoint));
}

static void on_grant(void *arg, const struct etcd_result *r)
{
	struct session *s = arg;
	int64_t id = 0, ttl = 0;

	s->req = NULL;
	if (r->err != 0 || etcd_get_i64(r->body, "ID", &id) < 0 ||
	    etcd_get_i64(r->body, "TTL", &ttl) < 0 || id == 0 || ttl <= 0) {
		if (r->err == 0)
			log_warnx("session: lease grant reply not understood endpoint=%s",
			    r->endpoint);
		loop_timer_arm(s->tick, next_backoff(s));
		return;
	}
	s->lease = id;
	s->fence = 0;
	s->backoff_ms = 0;
	s->counts.grants++;
	s->ttl_warned = false;
	ttl = use_ttl(s, ttl, r->endpoint);
	log_info("session: lease granted lease=%" PRIx64 " ttl=%" PRId64 "s endpoint=%s",
	    (uint64_t)id, ttl, r->endpoint);
	s->ops->granted(s->arg, id);
	/* granted() may have ended the session (shutdown in progress). */
	if (s->lease == id && !s->stopping) {
		set_fence(s, s->sent_at, ttl);
		loop_timer_arm_at(s->tick, s->sent_at + ka_interval(s));
	}
}

static void send_keepalive(struct session *s)
{
	struct session_ka *ka = NULL;

	for (size_t i = 0; i < SESSION_KA_MAX && ka == NULL; i++)
		if (s->ka[i].req == NULL)
			ka = &s->ka[i];
	if (ka == NULL) {
		log_debug("session: %d keepalives unanswered, not sending another", SESSION_KA_MAX);
		return;
	}
	ka->s = s;
	ka->sent_at = loop_now_ms();
	ka->req = etcd_call(s->etcd, "/v3/lease/keepalive",
	    json_pack("{s:o}", "ID", etcd_json_i64(s->lease)), req_timeout(s, true),
	    on_keepalive, ka);
}

static void on_tick(void *arg)
{
	struct session *s = arg;

	if (s->stopping)
		return;
	if (s->lease == 0) {
		if (s->req != NULL)
			return;
		s->sent_at = loop_now_ms();
		s->ttl_ms = s->next_ttl_ms;
		s->req = etcd_call(s->etcd, "/v3/lease/grant",
		    json_pack("{s:o}", "TTL", json_integer(s->ttl_ms / 1000)),
		    req_timeout(s, false), on_grant, s);
		return;
	}
	loop_timer_arm(s->tick, ka_interval(s));
	send_keepalive(s);
}

static void on_fence(void *arg)
{
	struct session *s = arg;

	if (s->lease == 0 || s->expired || loop_now_ms() < s->fence)
		return;
	s->expired = true;
	s->counts.expiries++;
	log_warnx("session: fence passed without renewal lease=%" PRIx64
	    " dropping every address until the lease is confirmed", (uint64_t)s->lease);
	s->ops->expired(s->arg);
}

static void on_revoke_timeout(void *arg);
static void on_revoke_retry(void *arg);

void session_set_ttl(struct session *s, uint32_t ttl_ms)
{
	s->next_ttl_ms = ttl_ms;
}

struct session *session_new(struct loop *loop, struct etcd *etcd, uint32_t ttl_ms,
    uint32_t request_timeout_ms, const struct session_ops *ops, void *arg)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->etcd = etcd;
	s->ops = ops;
	s->arg = arg;
	s->ttl_ms = ttl_ms;
	s->next_ttl_ms = ttl_ms;
	s->timeout_ms = request_timeout_ms;
	s->tick = loop_timer_new(loop, on_tick, s);
	s->fence_timer = loop_timer_new(loop, on_fence, s);
	s->revoke_timer = loop_timer_new(loop, on_revoke_timeout, s);
	s->revoke_retry = loop_timer_new(loop, on_revoke_retry, s);
	return s;
}

void session_start(struct session *s)
{
	loop_timer_arm(s->tick, 0);
}

static void revoke_finish(struct session *s)
{
	void (*done)(void *) = s->revoke_done;

	s->revoke_done = NULL;
	loop_timer_disarm(s->revoke_timer);
	loop_timer_disarm(s->revoke_retry);
	etcd_cancel(s->req);
	s->req = NULL;
	if (done)
		done(s->revoke_arg);
}

static void on_revoke(void *arg, const struct etcd_result *r);

static void revoke_send(struct session *s)
{
	uint64_t now = loop_now_ms(), deadline = loop_timer_deadline(s->revoke_timer);
	uint64_t left = deadline > now ? deadline - now : 1;

	s->revoke_tries++;
	s->req = etcd_call(s->etcd, "/v3/lease/revoke",
	    json_pack("{s:o}", "ID", etcd_json_i64(s->revoke_lease)),
	    (uint32_t)(left < SESSION_REVOKE_TRY_MS ? left : SESSION_REVOKE_TRY_MS), on_revoke, s);
}

/*
 * Worth another try within the deadline: anything but an answer that
 * will not change (the lease is gone, or the user may not revoke it).
 * "etcdserver: leader changed", "request timed out" (both Unavailable),
 * a refused connection or a stream cut while etcd elects a leader pass
 * within an election timeout (1 s by default); a lease left to expire
 * instead lives a whole TTL, and longer if etcd's new leader re-armed it.
 */
static bool revoke_retryable(const struct etcd_result *r)
{
	if (r->err != -EIO)
		return true;
	return r->code != ETCD_CODE_NOT_FOUND && r->code != ETCD_CODE_PERMISSION_DENIED &&
	    r->code != ETCD_CODE_UNAUTHENTICATED;
}

static void on_revoke(void *arg, const struct etcd_result *r)
{
	struct session *s = arg;
	char esc[LOG_ESC_LEN];
	uint64_t now = loop_now_ms(), deadline = loop_timer_deadline(s->revoke_timer);

	s->req = NULL;
	if (r->err == 0) {
		if (s->revoke_tries > 1)
			log_info("session: lease revoked at try %u endpoint=%s", s->revoke_tries,
			    r->endpoint);
		else
			log_info("session: lease revoked");
	} else if (r->err == -EIO && r->code == ETCD_CODE_NOT_FOUND) {
		log_info("session: lease already gone (etcd: \"%s\")", log_esc(esc, r->message));
	} else if (revoke_retryable(r) &&
	    now + SESSION_REVOKE_RETRY_MS + SESSION_REVOKE_TRY_MIN_MS <= deadline) {
		log_warnx("session: lease revoke failed endpoint=%s error=\"%s\" try=%u; "
		    "trying again in %u ms (given up in %" PRIu64 " ms)", r->endpoint,
		    log_esc(esc, r->message), s->revoke_tries, SESSION_REVOKE_RETRY_MS,
		    deadline - now);
		loop_timer_arm(s->revoke_retry, SESSION_REVOKE_RETRY_MS);
		return;
	} else {
		log_warnx("session: lease revoke failed endpoint=%s error=\"%s\" tries=%u; "
		    "it expires by itself", r->endpoint, log_esc(esc, r->message), s->revoke_tries);
	}
	revoke_finish(s);
}

static void on_revoke_retry(void *arg)
{
	struct session *s = arg;

	if (s->revoke_done == NULL || s->req != NULL)
		return;
	if (loop_now_ms() >= loop_timer_deadline(s->revoke_timer)) { /* the loop ran late */
		on_revoke_timeout(s);
		return;
	}
	revoke_send(s);
}

static void on_revoke_timeout(void *arg)
{
	struct session *s = arg;

	log_warnx("session: lease revoke timed out tries=%u; it expires by itself", s->revoke_tries);
	revoke_finish(s);
}

bool session_revoke(struct session *s, uint32_t timeout_ms,
    void (*done)(void *arg), void *arg)
{
	int64_t lease = s->lease;

	s->stopping = true;
	loop_timer_disarm(s->tick);
	loop_timer_disarm(s->fence_timer);
	etcd_cancel(s->req);
	s->req = NULL;
	cancel_keepalives(s);
	s->lease = 0;
	s->fence = 0;
	if (lease == 0)
		return false; /* nothing to revoke: the caller carries on */
	s->revoke_done = done;
	s->revoke_arg = arg;
	s->revoke_lease = lease;
	s->revoke_tries = 0;
	loop_timer_arm(s->revoke_timer, timeout_ms); /* the deadline, read back by the tries */
	log_info("session: revoking lease=%" PRIx64, (uint64_t)lease);
	revoke_send(s);
	return true;
}

void session_free(struct session *s)
{
	if (s == NULL)
		return;
	etcd_cancel(s->req);
	cancel_keepalives(s);
	loop_timer_free(s->tick);
	loop_timer_free(s->fence_timer);
	loop_timer_free(s->revoke_timer);
	loop_timer_free(s->revoke_retry);
	free(s);
}
