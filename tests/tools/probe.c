/*
 * probe.c - measure TCP outages of a service behind a virtual IP.
 *
 *   probe -a ADDR -p PORT [-i 10ms] [-t 0] [-T 50ms] [-R 1s] [-x N1,N2..]
 *         [-o FILE] [-W] [-r] [-1]
 *
 * Every interval (scheduled on CLOCK_MONOTONIC, not drifting with the time
 * each attempt takes) the probe starts an attempt: a non-blocking TCP
 * connection to ADDR:PORT (IPv4 or IPv6, numeric), then the answer read up
 * to its newline (or EOF): the lab's stand-in service writes the node name
 * ("n2\n") and closes. Attempts overlap: a new one starts on every slot
 * whether or not earlier ones have finished, each with its own deadlines,
 * all multiplexed with ppoll(), so a failed attempt waiting out its
 * timeout never blinds the probe.
 *
 * What an attempt proves, and when. The two phases are judged separately
 * because they say different things:
 *
 *  - the CONNECT must complete within -T (default 50 ms; must stay below
 *    TCP's initial SYN retransmission timeout of 1 s, so every SYN is sent
 *    exactly once, at the attempt's start; -1 allows more). The kernels
 *    alone complete it (SYN, SYN-ACK): it proves the path to the VIP and a
 *    listener on its owner, and it does not depend on when any user-space
 *    process gets the CPU.
 *  - the ANSWER may then take up to -R (default 1 s): it only names the node
 *    that answered. A slow answer (a busy machine delaying the service) is
 *    an ok attempt with a long latency, not an outage.
 *
 *    An ok attempt is placed at its start + the handshake round trip the
 *    kernel measured (TCP_INFO tcpi_rtt, from the SYN's send to the
 *    SYN-ACK): normally ~0.1 ms after the start, but a SYN that waited in a
 *    queue (an unresolved neighbour) is placed when it got through. A failed
 *    attempt is placed at its start, when its SYN was sent (a failure after
 *    the connect, e.g. an answer lost to a fault that began just then, is
 *    early by the service's answer time: microseconds for the lab's
 *    stand-in). Results are processed in attempt order (seq), also when a
 *    later attempt finishes first.
 *
 *    Why: this probe used to demand connect + answer + EOF within one 50 ms
 *    deadline. The lab's stand-in then was socat forking an echo per
 *    connection; on a busy machine that chain of processes took longer, so
 *    attempts to a VIP that never moved failed as "read-timeout" and runs
 *    of them were reported as outages of seconds, and the probe itself,
 *    not real-time, skipped slots. The time needed to answer says nothing
 *    about the VIP.
 *
 * Failure kinds (record file and per outage):
 *     connect-timeout   no SYN-ACK within -T (dropped: no owner, a filter,
 *                       a stale neighbour entry); with a soft ICMP error
 *                       pending it is named after that error instead
 *     hostunreach, netunreach   the kernel said so (any other errno:
 *                       "other", the record says errno-N)
 *     refused           a RST to the SYN: the owner has no listener
 *     read-timeout      connected, but no complete answer within -R
 *     reset             connected, then reset before the answer ended
 *     empty             connected, EOF without an answer
 *     wrong-answer      an answer not in the -x list, or no newline at EOF
 *
 * An OUTAGE is a run of failed attempts. Its start is the first failed
 * attempt's place (F) and its end the first ok attempt's place after it
 * (O); duration_ms = O - F. With L = the last ok place before the run and
 * Z = the last failed place in it, the true gap G (from the moment the
 * service stopped answering to the moment it answered again) satisfies
 *     Z - F  <=  G  <=  O - L,
 * so |G - duration| < one interval when no slot was skipped: F and O are
 * each at most one interval after the transition they detect. The summary
 * prints both bounds (lo_ms, hi_ms) with every outage; a probe that could
 * not start attempts on time shows it there and in "skipped"/"max_gap_ms".
 * A run at the very beginning counts from the probe's start ("before -"),
 * a run at the end lasts until the probe stopped starting attempts
 * ("after -"): a VIP that never comes back is an outage, not a clean run.
 * -W (wait): failures before the first success are no outage; they are
 * reported as "initial_failures N" (a probe started before any owner).
 *
 * -o FILE gets one line per attempt, in seq order:
 *     <unix ms> <seq> ok <node> <latency us> <handshake rtt us>
 *     <unix ms> <seq> fail <kind> <latency us> <handshake rtt us or ->
 * (time = the attempt's start, latency = start to result).
 *
 * Summary on stdout when the duration (-t, 0 = until a signal) ends or on
 * SIGTERM/SIGINT (no more attempts start; those in flight finish, each by
 * its deadline):
 *     target ADDR PORT interval_ms I timeout_ms T answer_timeout_ms R
 *     attempts N ok N fail N
 *     answers n1=N n2=N ...
 *     failures KIND=N,KIND=N          (all failed attempts by kind; "-": none)
 *     switches N                      (answering node changed, ok to ok)
 *     switch K at_ms S from NODE to NODE
 *     outages N
 *     outage K start_ms S duration_ms D failures F before NODE after NODE kinds KIND=N,.. lo_ms A hi_ms B
 *     max_outage_ms D
 *     skipped N max_gap_ms G          (slots not started; largest start gap)
 *     initial_failures N              (with -W)
 *
 * -x N1,N2,...: the answers that count as ok; any other is "wrong-answer".
 * -r: run SCHED_FIFO (priority 10) so a busy machine does not delay the
 *     attempts' starts (a warning, not an error, if not permitted).
 * -1: one attempt; prints "ok NODE" or "fail KIND", exit 0 or 1.
 *
 * Standalone on purpose (no project libraries): it is test equipment.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 64
#define MAX_EXPECT 64
#define NAME_LEN 32
#define ANSWER_LEN 256

/* Failure kinds, counted per outage and in all. */
enum kind {
	K_CONNECT_TIMEOUT,
	K_UNREACH_HOST,
	K_UNREACH_NET,
	K_REFUSED,
	K_READ_TIMEOUT,
	K_RESET,
	K_EMPTY,
	K_WRONG,
	K_OTHER,
	K_N
};

static const char *const kind_name[K_N] = {
	"connect-timeout", "hostunreach", "netunreach", "refused", "read-timeout",
	"reset", "empty", "wrong-answer", "other",
};

struct answer_count {
	char name[NAME_LEN];
	unsigned long n;
};

struct outage {
	int64_t start_wall_ms;  /* wall clock of F, the first failed attempt */
	int64_t dur_us;         /* O - F */
	int64_t lo_us, hi_us;   /* Z - F <= true gap <= O - L */
	unsigned long failures;
	unsigned long kinds[K_N];
	char before[NAME_LEN];  /* "-" when none */
	char after[NAME_LEN];
};

struct sw {
	int64_t at_wall_ms;
	char from[NAME_LEN], to[NAME_LEN];
};

enum attempt_state {
	A_FREE,                /* slot unused */
	A_CONNECTING,          /* connect in progress: wait for writable */
	A_READING,             /* connected: read the answer to EOF */
	A_DONE,                /* result known, waiting for earlier attempts */
};

struct attempt {
	enum attempt_state state;
	unsigned long seq;     /* 1, 2, ... in start order */
	int fd;                /* -1 unless CONNECTING/READING */
	int64_t t0_mono;       /* start (the SYN leaves in this connect()) */
	int64_t t0_wall_us;
	int64_t deadline;      /* connect: t0 + T; reading: connected + R */
	int64_t rtt_us;        /* kernel's handshake RTT, -1 if not connected */
	int64_t lat_us;        /* start to result */
	size_t got;
	int ok;
	enum kind kind;        /* when !ok */
	char what[NAME_LEN];   /* node, or failure kind */
	char buf[ANSWER_LEN];
};

struct probe {
	struct sockaddr_storage sa;
	socklen_t salen;
	const char *addr;
	int port;
	int64_t interval_us;
	int64_t duration_us;   /* 0 = until a signal */
	int64_t timeout_us;    /* connect */
	int64_t answer_us;     /* answer, from the connect */
	FILE *rec;
	int wait_first;        /* -W */
	unsigned long initial_failures;
	char expect[MAX_EXPECT][NAME_LEN]; /* -x */
	int n_expect;

	/* attempts in flight, a ring indexed by seq % n_slots */
	struct attempt *slots;
	struct pollfd *pfds;
	size_t *pfd_slot;
	size_t n_slots;
	unsigned long next_seq;   /* seq of the next attempt to start */
	unsigned long flush_seq;  /* seq of the next result to process */
	unsigned long skipped;    /* slots with no attempt started */
	int64_t last_start_mono, max_gap_us;

	unsigned long attempts, ok, fail, switches;
	unsigned long kinds[K_N];
	struct answer_count answers[MAX_NODES];
	int n_answers;
	struct outage *outages;
	size_t n_outages, cap_outages;
	struct sw *sws;
	size_t n_sws, cap_sws;

	/* the run in progress; all times are placements (see the top) */
	int64_t start_mono, start_wall_us;
	int have_success;
	int64_t last_ok_mono;  /* L */
	char last_node[NAME_LEN];
	int in_outage;
	unsigned long run_failures;
	unsigned long run_kinds[K_N];
	int64_t run_first_mono; /* F */
	int64_t run_first_wall_us;
	int64_t run_last_mono;  /* Z */
	int64_t run_before_mono; /* L, or the probe's start */
	char run_before[NAME_LEN];
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("probe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* "10ms", "2s", "1.5s", "250us", "1m"; a bare number is milliseconds. */
static int64_t parse_duration_us(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		die("bad duration: %s", s);
	if (*end == '\0' || strcmp(end, "ms") == 0)
		return (int64_t)(v * 1000);
	if (strcmp(end, "us") == 0)
		return (int64_t)v;
	if (strcmp(end, "s") == 0)
		return (int64_t)(v * 1000000);
	if (strcmp(end, "m") == 0)
		return (int64_t)(v * 60000000);
	die("bad duration unit: %s", s);
}

static enum kind errno_kind(int e)
{
	switch (e) {
	case ECONNREFUSED: return K_REFUSED;
	case ETIMEDOUT: return K_CONNECT_TIMEOUT;
	case EHOSTUNREACH: return K_UNREACH_HOST;
	case ENETUNREACH: return K_UNREACH_NET;
	case ECONNRESET: return K_RESET;
	default: return K_OTHER;
	}
}

/* --- one attempt, as a state machine ------------------------------------- */

/* The attempt has its result: close the socket, keep the outcome. */
static void attempt_finish(struct attempt *a, int ok, enum kind k, const char *what)
{
	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
	a->lat_us = mono_us() - a->t0_mono;
	a->ok = ok;
	a->kind = k;
	snprintf(a->what, sizeof(a->what), "%s", ok ? what : kind_name[k]);
	if (!ok && k == K_OTHER && what)
		snprintf(a->what, sizeof(a->what), "%s", what);
	a->state = A_DONE;
}

static void attempt_fail(struct attempt *a, enum kind k)
{
	attempt_finish(a, 0, k, NULL);
}

static void attempt_fail_errno(struct attempt *a, int e)
{
	char why[NAME_LEN];
	enum kind k = errno_kind(e);

	/* an unnamed errno keeps its symbolic-ish text in the record */
	snprintf(why, sizeof(why), "errno-%d", e);
	attempt_finish(a, 0, k, k == K_OTHER ? why : NULL);
}

static int answer_expected(const struct probe *p, const char *s)
{
	int i;

	if (p->n_expect == 0)
		return 1;
	for (i = 0; i < p->n_expect; i++)
		if (strcmp(p->expect[i], s) == 0)
			return 1;
	return 0;
}

/*
 * A line or EOF: the answer must be one line, "n2\n", its first word the
 * node. Whatever follows the first newline is not looked at.
 */
static void attempt_answer(const struct probe *p, struct attempt *a)
{
	char *s = a->buf, *e, *nl;
	int complete;

	a->buf[a->got] = '\0';
	nl = strchr(a->buf, '\n');
	complete = nl != NULL;
	if (nl)
		nl[1] = '\0';
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s;
	while (*e && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n')
		e++;
	*e = '\0';
	if (*s == '\0') {
		attempt_fail(a, K_EMPTY);
		return;
	}
	if (!complete || (size_t)(e - s) >= NAME_LEN || !answer_expected(p, s)) {
		attempt_fail(a, K_WRONG);
		return;
	}
	attempt_finish(a, 1, K_OTHER, s);
}

/* Read what is there; finishes the attempt at EOF or on an error. */
static void attempt_read(const struct probe *p, struct attempt *a)
{
	for (;;) {
		ssize_t n = read(a->fd, a->buf + a->got, sizeof(a->buf) - 1 - a->got);

		if (n > 0) {
			a->got += (size_t)n;
			/* a complete line names the node: no need to wait for EOF */
			if (memchr(a->buf + a->got - n, '\n', (size_t)n)) {
				attempt_answer(p, a);
				return;
			}
			if (a->got >= sizeof(a->buf) - 1) {
				attempt_fail(a, K_WRONG); /* no service of ours says that much */
				return;
			}
			continue;
		}
		if (n == 0) {
			attempt_answer(p, a);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			attempt_fail(a, errno == ECONNRESET ? K_RESET : errno_kind(errno));
		return; /* EAGAIN: wait for more */
	}
}

/* The handshake round trip as the kernel measured it (us), -1 if unknown. */
static int64_t handshake_rtt(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || ti.tcpi_rtt == 0)
		return -1;
	return ti.tcpi_rtt;
}

/* The connect completed (writable, or an error was flagged). */
static void attempt_connected(const struct probe *p, struct attempt *a)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err) {
		attempt_fail_errno(a, err);
		return;
	}
	a->rtt_us = handshake_rtt(a->fd);
	a->state = A_READING;
	a->deadline = mono_us() + p->answer_us;
	attempt_read(p, a);
}

/* No SYN-ACK in time. A soft ICMP error (host unreachable...) names it. */
static void attempt_connect_timeout(struct attempt *a)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err &&
	    errno_kind(err) != K_OTHER) {
		attempt_fail(a, errno_kind(err));
		return;
	}
	attempt_fail(a, K_CONNECT_TIMEOUT);
}

static void attempt_start(struct probe *p, struct attempt *a, unsigned long seq)
{
	int r;

	memset(a, 0, offsetof(struct attempt, buf));
	a->seq = seq;
	a->fd = -1;
	a->rtt_us = -1;
	a->t0_mono = mono_us();
	a->t0_wall_us = wall_us();
	a->deadline = a->t0_mono + p->timeout_us;
	a->state = A_CONNECTING;

	a->fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		attempt_fail_errno(a, errno);
		return;
	}
	r = connect(a->fd, (struct sockaddr *)&p->sa, p->salen);
	if (r == 0)
		attempt_connected(p, a);
	else if (errno != EINPROGRESS)
		attempt_fail_errno(a, errno);
}

/* poll said something about the attempt's socket. */
static void attempt_event(const struct probe *p, struct attempt *a, short revents)
{
	if (a->state == A_CONNECTING && (revents & (POLLOUT | POLLERR | POLLHUP)))
		attempt_connected(p, a);
	else if (a->state == A_READING && (revents & (POLLIN | POLLERR | POLLHUP)))
		attempt_read(p, a);
}

/* --- results --------------------------------------------------------------- */

static void count_answer(struct probe *p, const char *node)
{
	int i;

	for (i = 0; i < p->n_answers; i++) {
		if (strcmp(p->answers[i].name, node) == 0) {
			p->answers[i].n++;
			return;
		}
	}
	if (p->n_answers < MAX_NODES) {
		snprintf(p->answers[p->n_answers].name, NAME_LEN, "%s", node);
		p->answers[p->n_answers].n = 1;
		p->n_answers++;
	}
}

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 16;
	v = realloc(v, *cap * size);
	if (!v)
		die("out of memory");
	return v;
}

static int64_t nonneg(int64_t v)
{
	return v < 0 ? 0 : v;
}

/* The run ends at O (end_mono): O - F, bounds Z - F and O - L. */
static void add_outage(struct probe *p, int64_t end_mono, const char *after)
{
	struct outage *o;

	p->outages = grow(p->outages, &p->cap_outages, p->n_outages, sizeof(*p->outages));
	o = &p->outages[p->n_outages++];
	o->start_wall_ms = p->run_first_wall_us / 1000;
	o->dur_us = nonneg(end_mono - p->run_first_mono);
	o->lo_us = nonneg(p->run_last_mono - p->run_first_mono);
	o->hi_us = nonneg(end_mono - p->run_before_mono);
	o->failures = p->run_failures;
	memcpy(o->kinds, p->run_kinds, sizeof(o->kinds));
	snprintf(o->before, NAME_LEN, "%s", p->run_before);
	snprintf(o->after, NAME_LEN, "%s", after);
}

static void add_switch(struct probe *p, int64_t at_wall_us, const char *from, const char *to)
{
	struct sw *w;

	p->sws = grow(p->sws, &p->cap_sws, p->n_sws, sizeof(*p->sws));
	w = &p->sws[p->n_sws++];
	w->at_wall_ms = at_wall_us / 1000;
	snprintf(w->from, NAME_LEN, "%s", from);
	snprintf(w->to, NAME_LEN, "%s", to);
}

/*
 * One attempt's result, in seq order. Placement: an ok attempt at its
 * start + the handshake RTT (when the SYN-ACK came), a failed one at its
 * start (when its SYN left).
 */
static void record(struct probe *p, const struct attempt *a)
{
	int64_t place = a->t0_mono, place_wall = a->t0_wall_us;

	if (a->ok && a->rtt_us > 0) {
		place += a->rtt_us;
		place_wall += a->rtt_us;
	}
	p->attempts++;
	if (p->rec) {
		fprintf(p->rec, "%lld %lu %s %s %lld ", (long long)(a->t0_wall_us / 1000),
			p->attempts, a->ok ? "ok" : "fail", a->what, (long long)a->lat_us);
		if (a->rtt_us >= 0)
			fprintf(p->rec, "%lld\n", (long long)a->rtt_us);
		else
			fputs("-\n", p->rec);
	}
	if (a->ok) {
		p->ok++;
		count_answer(p, a->what);
		if (p->in_outage) {
			add_outage(p, place, a->what);
			p->in_outage = 0;
		} else if (p->have_success && strcmp(p->last_node, a->what) != 0) {
			p->switches++;
			add_switch(p, place_wall, p->last_node, a->what);
		}
		p->have_success = 1;
		p->last_ok_mono = place;
		snprintf(p->last_node, NAME_LEN, "%s", a->what);
		return;
	}
	p->fail++;
	p->kinds[a->kind]++;
	if (p->wait_first && !p->have_success) {
		p->initial_failures++;
		return;
	}
	if (!p->in_outage) {
		p->in_outage = 1;
		p->run_failures = 0;
		memset(p->run_kinds, 0, sizeof(p->run_kinds));
		p->run_first_mono = place;
		p->run_first_wall_us = place_wall;
		if (p->have_success) {
			p->run_before_mono = p->last_ok_mono;
			snprintf(p->run_before, NAME_LEN, "%s", p->last_node);
		} else {
			p->run_before_mono = p->start_mono;
			snprintf(p->run_before, NAME_LEN, "-");
		}
	}
	p->run_last_mono = place;
	p->run_failures++;
	p->run_kinds[a->kind]++;
}

/* Process the finished attempts whose predecessors are all processed. */
static void flush_results(struct probe *p)
{
	while (p->flush_seq < p->next_seq) {
		struct attempt *a = &p->slots[p->flush_seq % p->n_slots];

		if (a->state != A_DONE)
			break;
		if (a->seq != p->flush_seq || a->seq != p->attempts + 1)
			die("internal: result %lu out of order (expected %lu)",
			    a->seq, p->flush_seq);
		record(p, a);
		a->state = A_FREE;
		p->flush_seq++;
	}
}

/* --- the event loop -------------------------------------------------------- */

static void usec_to_timespec(int64_t us, struct timespec *ts)
{
	if (us < 0)
		us = 0;
	ts->tv_sec = (time_t)(us / 1000000);
	ts->tv_nsec = (long)(us % 1000000) * 1000;
}

/*
 * Wait until the next slot (when starting is still on), the earliest
 * deadline or a socket event; handle the events and the expired deadlines.
 * sigmask: the mask to wait with (stop signals unblocked).
 */
static void service(struct probe *p, int64_t next_slot, int starting,
		    const sigset_t *sigmask)
{
	int64_t wake = starting ? next_slot : INT64_MAX, now;
	struct timespec ts;
	nfds_t n = 0;
	unsigned long s;
	int r;

	for (s = p->flush_seq; s < p->next_seq; s++) {
		struct attempt *a = &p->slots[s % p->n_slots];

		if (a->state != A_CONNECTING && a->state != A_READING)
			continue;
		if (a->deadline < wake)
			wake = a->deadline;
		p->pfds[n].fd = a->fd;
		p->pfds[n].events = a->state == A_CONNECTING ? POLLOUT : POLLIN;
		p->pfds[n].revents = 0;
		p->pfd_slot[n] = s % p->n_slots;
		n++;
	}
	if (wake == INT64_MAX)
		return; /* nothing to wait for */
	usec_to_timespec(wake - mono_us(), &ts);
	r = ppoll(p->pfds, n, &ts, sigmask);
	if (r < 0 && errno != EINTR)
		die("ppoll: %s", strerror(errno));
	if (r > 0) {
		nfds_t i;

		for (i = 0; i < n; i++)
			if (p->pfds[i].revents)
				attempt_event(p, &p->slots[p->pfd_slot[i]], p->pfds[i].revents);
	}
	/*
	 * What the kernel completed counts even if we look late (the events
	 * above); only then expire. A connect that just completed moved to
	 * READING with a fresh deadline.
	 */
	now = mono_us();
	for (s = p->flush_seq; s < p->next_seq; s++) {
		struct attempt *a = &p->slots[s % p->n_slots];

		if (a->state == A_CONNECTING && now >= a->deadline)
			attempt_connect_timeout(a);
		else if (a->state == A_READING && now >= a->deadline)
			attempt_fail(a, K_READ_TIMEOUT);
	}
	flush_results(p);
}

static void setup_slots(struct probe *p, int once)
{
	struct rlimit rl;
	int64_t n = once ? 1
		: (p->timeout_us + p->answer_us + p->interval_us - 1) / p->interval_us + 2;

	/* leave a few descriptors for stdio and the record file */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)n + 16 > rl.rlim_cur)
		n = rl.rlim_cur > 17 ? (int64_t)rl.rlim_cur - 16 : 1;
	p->n_slots = (size_t)n;
	p->slots = calloc(p->n_slots, sizeof(*p->slots));
	p->pfds = calloc(p->n_slots, sizeof(*p->pfds));
	p->pfd_slot = calloc(p->n_slots, sizeof(*p->pfd_slot));
	if (!p->slots || !p->pfds || !p->pfd_slot)
		die("out of memory");
	p->next_seq = 1;
	p->flush_seq = 1;
}

static void print_kinds(const unsigned long *k)
{
	int i, any = 0;

	for (i = 0; i < K_N; i++) {
		if (!k[i])
			continue;
		printf("%s%s=%lu", any ? "," : "", kind_name[i], k[i]);
		any = 1;
	}
	if (!any)
		printf("-");
}

static long long ms_up(int64_t us)
{
	return (long long)((us + 999) / 1000);
}

static void summary(struct probe *p, int64_t end_mono)
{
	int64_t max_us = 0;
	size_t k;
	int i;

	if (p->in_outage) {
		add_outage(p, end_mono, "-");
		p->in_outage = 0;
	}
	printf("target %s %d interval_ms %.3f timeout_ms %.3f answer_timeout_ms %.3f\n",
	       p->addr, p->port, p->interval_us / 1000.0, p->timeout_us / 1000.0,
	       p->answer_us / 1000.0);
	printf("attempts %lu ok %lu fail %lu\n", p->attempts, p->ok, p->fail);
	printf("answers");
	for (i = 0; i < p->n_answers; i++)
		printf(" %s=%lu", p->answers[i].name, p->answers[i].n);
	printf("\n");
	printf("failures ");
	print_kinds(p->kinds);
	printf("\n");
	printf("switches %lu\n", p->switches);
	for (k = 0; k < p->n_sws; k++)
		printf("switch %zu at_ms %lld from %s to %s\n", k + 1,
		       (long long)p->sws[k].at_wall_ms, p->sws[k].from, p->sws[k].to);
	printf("outages %zu\n", p->n_outages);
	for (k = 0; k < p->n_outages; k++) {
		struct outage *o = &p->outages[k];

		printf("outage %zu start_ms %lld duration_ms %lld failures %lu before %s after %s kinds ",
		       k + 1, (long long)o->start_wall_ms, ms_up(o->dur_us), o->failures,
		       o->before, o->after);
		print_kinds(o->kinds);
		/* the bounds rounded outwards */
		printf(" lo_ms %lld hi_ms %lld\n", (long long)(o->lo_us / 1000), ms_up(o->hi_us));
		if (o->dur_us > max_us)
			max_us = o->dur_us;
	}
	printf("max_outage_ms %lld\n", ms_up(max_us));
	printf("skipped %lu max_gap_ms %.1f\n", p->skipped, p->max_gap_us / 1000.0);
	if (p->wait_first)
		printf("initial_failures %lu\n", p->initial_failures);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: probe -a ADDR -p PORT [-i INTERVAL] [-t DURATION] [-T TIMEOUT] [-R TIMEOUT]\n"
		"             [-x NODE,NODE...] [-o FILE] [-W] [-r] [-1]\n"
		"  -i  attempt interval (default 10ms); attempts overlap\n"
		"  -t  run time, 0 = until SIGTERM/SIGINT (default 0)\n"
		"  -T  connect timeout (default 50ms, below 1s)\n"
		"  -R  answer timeout, from the connect (default 1s)\n"
		"  -x  the answers that count as ok (default: any one line)\n"
		"  -o  per-attempt record file\n"
		"  -W  failures before the first success are not an outage\n"
		"  -r  run SCHED_FIFO, so a busy machine does not delay the attempts\n"
		"  -1  one attempt: print 'ok NODE' or 'fail KIND', exit 0/1\n");
	exit(2);
}

static void parse_expect(struct probe *p, const char *list)
{
	const char *s = list;

	while (*s) {
		size_t n = strcspn(s, ",");

		if (n == 0 || n >= NAME_LEN || p->n_expect == MAX_EXPECT)
			die("bad -x list: %s", list);
		memcpy(p->expect[p->n_expect], s, n);
		p->expect[p->n_expect][n] = '\0';
		p->n_expect++;
		s += n;
		if (*s == ',')
			s++;
	}
}

static void go_realtime(void)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
	sp.sched_priority = 10;
	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
		fprintf(stderr, "probe: SCHED_FIFO not possible (%s); attempts may start late\n",
			strerror(errno));
}

int main(int argc, char **argv)
{
	struct probe p;
	struct sigaction sa;
	sigset_t stopsigs, waitmask;
	const char *recfile = NULL;
	int once = 0, rt = 0, c;
	int64_t next, stop_mono = 0;

	memset(&p, 0, sizeof(p));
	p.port = -1;
	p.interval_us = 10000;
	p.timeout_us = 50000;
	p.answer_us = 1000000;
	while ((c = getopt(argc, argv, "a:p:i:t:T:R:x:o:Wr1h")) != -1) {
		switch (c) {
		case 'a': p.addr = optarg; break;
		case 'p': p.port = atoi(optarg); break;
		case 'i': p.interval_us = parse_duration_us(optarg); break;
		case 't': p.duration_us = parse_duration_us(optarg); break;
		case 'T': p.timeout_us = parse_duration_us(optarg); break;
		case 'R': p.answer_us = parse_duration_us(optarg); break;
		case 'x': parse_expect(&p, optarg); break;
		case 'o': recfile = optarg; break;
		case 'W': p.wait_first = 1; break;
		case 'r': rt = 1; break;
		case '1': once = 1; break;
		default: usage();
		}
	}
	if (!p.addr || p.port <= 0 || p.port > 65535 || optind != argc)
		usage();
	if (p.interval_us < 1000)
		die("interval below 1ms");
	if (p.timeout_us < 1000 || p.answer_us < 1000)
		die("timeout below 1ms");
	/* a SYN is retransmitted after 1 s (TCP_TIMEOUT_INIT): a success by a
	 * retransmitted SYN would look like a success at the attempt's start */
	if (p.timeout_us >= 1000000 && !once)
		die("connect timeout must stay below 1s (TCP's first SYN retransmission)");

	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)&p.sa;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p.sa;

		if (inet_pton(AF_INET, p.addr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)p.port);
			p.salen = sizeof(*s4);
		} else if (inet_pton(AF_INET6, p.addr, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)p.port);
			p.salen = sizeof(*s6);
		} else {
			die("not a numeric IPv4 or IPv6 address: %s", p.addr);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	setup_slots(&p, once);

	if (once) {
		struct attempt *a = &p.slots[0];
		int ok;

		attempt_start(&p, a, p.next_seq++);
		/* processing the result frees the slot but keeps its outcome */
		flush_results(&p);
		while (p.attempts == 0)
			service(&p, 0, 0, NULL);
		ok = a->ok;
		printf("%s %s\n", ok ? "ok" : "fail", a->what);
		free(p.slots);
		free(p.pfds);
		free(p.pfd_slot);
		return ok ? 0 : 1;
	}

	if (recfile) {
		p.rec = fopen(recfile, "w");
		if (!p.rec)
			die("%s: %s", recfile, strerror(errno));
		setvbuf(p.rec, NULL, _IOLBF, 0);
	}
	if (rt)
		go_realtime();

	/*
	 * The stop signals are blocked except inside ppoll(), so one that
	 * comes between checking stop_flag and waiting is not slept through.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	sigprocmask(SIG_BLOCK, &stopsigs, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);

	p.start_mono = mono_us();
	p.start_wall_us = wall_us();
	p.last_start_mono = p.start_mono;
	next = p.start_mono;
	for (;;) {
		int64_t now = mono_us();

		if (!stop_mono && (stop_flag || (p.duration_us && now - p.start_mono >= p.duration_us)))
			stop_mono = now; /* no more attempts; drain those in flight */
		if (stop_mono) {
			if (p.flush_seq == p.next_seq)
				break;
		} else if (now >= next) {
			if (p.next_seq - p.flush_seq < p.n_slots) {
				struct attempt *a = &p.slots[p.next_seq % p.n_slots];

				attempt_start(&p, a, p.next_seq);
				if (a->t0_mono - p.last_start_mono > p.max_gap_us)
					p.max_gap_us = a->t0_mono - p.last_start_mono;
				p.last_start_mono = a->t0_mono;
				p.next_seq++;
			} else {
				p.skipped++;
			}
			next += p.interval_us;
			if (next <= now) { /* woke up late: skip missed slots, keep the grid */
				int64_t missed = (now - next) / p.interval_us + 1;

				p.skipped += (unsigned long)missed;
				next += missed * p.interval_us;
			}
			flush_results(&p); /* an attempt may fail at once */
			continue;
		}
		service(&p, next, !stop_mono, &waitmask);
	}
	/* a trailing outage lasts until the probe stopped starting attempts */
	summary(&p, stop_mono);
	if (p.skipped)
		fprintf(stderr, "probe: %lu slots skipped (late or %zu attempts in flight)\n",
			p.skipped, p.n_slots);
	if (p.rec)
		fclose(p.rec);
	free(p.outages);
	free(p.sws);
	free(p.slots);
	free(p.pfds);
	free(p.pfd_slot);
	return 0;
}
