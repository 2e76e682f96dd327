/*
 * probe.c - measure TCP outages of a service behind a virtual IP.
 *
 *   probe -a ADDR -p PORT [-i 10ms] [-t 30s] [-T 50ms] [-o FILE] [-W] [-1]
 *
 * Every interval (scheduled on CLOCK_MONOTONIC, not drifting with the time
 * each attempt takes) the probe starts an attempt: a non-blocking TCP
 * connection to ADDR:PORT (IPv4 or IPv6, numeric) that must connect AND
 * bring the answer within the attempt timeout (-T, default 50 ms); the
 * answer is read up to EOF: the lab's service stand-in writes the node name
 * ("n2") and closes. An attempt is "ok NODE" when a non-empty answer came
 * back within the timeout, else "fail REASON" (timeout, refused, unreach,
 * ...).
 *
 * Attempts overlap: a new one starts on every slot whether or not the
 * earlier ones have finished, each with its own deadline, all multiplexed
 * with ppoll(). So a failed attempt that waits out its timeout does not
 * blind the probe for that long, and outages are measured to about one
 * interval. At most timeout/interval + 2 attempts are in flight (each ends
 * by its deadline, so that bound is only reached when the probe itself was
 * stalled); a slot that finds them all busy, or that the probe woke up too
 * late for, is skipped, never bunched up.
 *
 * Every result is attributed to its attempt's START time and results are
 * processed in attempt order (seq), also when a later attempt finishes
 * first: completions are held back until every earlier attempt is done.
 *
 * -o FILE gets one line per attempt, in seq order:
 *     <unix time ms> <seq> ok <node> <latency us>
 *     <unix time ms> <seq> fail <reason> <latency us>
 * (time = the attempt's start, latency = start to result.)
 *
 * The probe stops starting attempts when the duration (-t, 0 = until a
 * signal) has elapsed or on SIGTERM/SIGINT, lets the attempts in flight
 * finish (each by its deadline), then prints a summary on stdout:
 *     target ADDR PORT interval_ms I timeout_ms T
 *     attempts N ok N fail N
 *     answers n1=N n2=N ...
 *     switches N                      (answering node changed, ok to ok)
 *     outages N
 *     outage K start_ms S duration_ms D failures F before NODE after NODE
 *     max_outage_ms D
 *     initial_failures N              (with -W)
 * An outage is a run of failed attempts. Its duration runs from the start
 * of the last successful attempt before it to the start of the first
 * successful attempt after it (the time the service was seen to be away).
 * A run at the very beginning counts from the probe's start ("before -"),
 * a run at the end lasts until the probe stopped starting attempts
 * ("after -"): a VIP that never comes back is an outage, not a clean run.
 *
 * -W (wait): failures before the first success are no outage; they are
 * reported as "initial_failures N" (a probe started before any owner).
 *
 * -1 makes a single attempt, prints "ok NODE" or "fail REASON" and exits
 * 0 or 1.
 *
 * Standalone on purpose (no project libraries): it is test equipment.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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
#define NAME_LEN 32
#define ANSWER_LEN 256

struct answer_count {
	char name[NAME_LEN];
	unsigned long n;
};

struct outage {
	int64_t start_ms;      /* wall clock of the last success before (or probe start) */
	int64_t dur_us;
	unsigned long failures;
	char before[NAME_LEN]; /* "-" when none */
	char after[NAME_LEN];
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
	int64_t t0_mono;       /* start */
	int64_t t0_wall_ms;
	int64_t deadline;      /* t0_mono + timeout */
	int64_t lat_us;        /* start to result */
	size_t got;
	int ok;
	char what[NAME_LEN];   /* node, or failure reason */
	char buf[ANSWER_LEN];
};

struct probe {
	struct sockaddr_storage sa;
	socklen_t salen;
	const char *addr;
	int port;
	int64_t interval_us;
	int64_t duration_us;   /* 0 = until a signal */
	int64_t timeout_us;
	FILE *rec;
	int wait_first;        /* -W */
	unsigned long initial_failures;

	/* attempts in flight, a ring indexed by seq % n_slots */
	struct attempt *slots;
	struct pollfd *pfds;
	size_t *pfd_slot;
	size_t n_slots;
	unsigned long next_seq;   /* seq of the next attempt to start */
	unsigned long flush_seq;  /* seq of the next result to process */
	unsigned long skipped;    /* slots with no free attempt */

	unsigned long attempts, ok, fail, switches;
	struct answer_count answers[MAX_NODES];
	int n_answers;
	struct outage *outages;
	size_t n_outages, cap_outages;

	/* the run in progress */
	int have_success;
	int64_t last_ok_mono;  /* start of the last successful attempt */
	int64_t last_ok_wall_ms;
	char last_node[NAME_LEN];
	int in_outage;
	unsigned long run_failures;
	int64_t run_start_mono;
	int64_t run_start_wall_ms;
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

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static const char *errno_reason(int e)
{
	switch (e) {
	case ECONNREFUSED: return "refused";
	case ETIMEDOUT: return "timeout";
	case EHOSTUNREACH: return "hostunreach";
	case ENETUNREACH: return "netunreach";
	case ECONNRESET: return "reset";
	case EADDRNOTAVAIL: return "addrnotavail";
	case ENOBUFS: return "nobufs";
	case EPERM: return "eperm";
	default: return "error";
	}
}

/* --- one attempt, as a state machine ------------------------------------- */

/* The attempt has its result: close the socket, keep the outcome. */
static void attempt_finish(struct attempt *a, int ok, const char *what)
{
	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
	a->lat_us = mono_us() - a->t0_mono;
	a->ok = ok;
	snprintf(a->what, sizeof(a->what), "%s", what);
	a->state = A_DONE;
}

static void attempt_fail_errno(struct attempt *a, const char *prefix, int e)
{
	char why[NAME_LEN];

	snprintf(why, sizeof(why), "%s%s", prefix, errno_reason(e));
	attempt_finish(a, 0, why);
}

/* EOF (or a full buffer): the first word of the answer, "n2\n" -> "n2". */
static void attempt_answer(struct attempt *a)
{
	char *s = a->buf, *e;

	a->buf[a->got] = '\0';
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s;
	while (*e && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n')
		e++;
	*e = '\0';
	if (*s == '\0') {
		attempt_finish(a, 0, "empty");
		return;
	}
	attempt_finish(a, 1, s); /* truncated to NAME_LEN - 1 */
}

/* Read what is there; finishes the attempt at EOF or on an error. */
static void attempt_read(struct attempt *a)
{
	for (;;) {
		ssize_t n = read(a->fd, a->buf + a->got, sizeof(a->buf) - 1 - a->got);

		if (n > 0) {
			a->got += (size_t)n;
			if (a->got >= sizeof(a->buf) - 1) {
				attempt_answer(a);
				return;
			}
			continue;
		}
		if (n == 0) {
			attempt_answer(a);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			attempt_fail_errno(a, "read-", errno);
		return; /* EAGAIN: wait for more */
	}
}

/* The connect completed (writable, or an error was flagged). */
static void attempt_connected(struct attempt *a)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err) {
		attempt_fail_errno(a, "", err);
		return;
	}
	a->state = A_READING;
	attempt_read(a);
}

static void attempt_start(struct probe *p, struct attempt *a, unsigned long seq)
{
	int r;

	memset(a, 0, offsetof(struct attempt, buf));
	a->seq = seq;
	a->fd = -1;
	a->t0_mono = mono_us();
	a->t0_wall_ms = wall_ms();
	a->deadline = a->t0_mono + p->timeout_us;
	a->state = A_CONNECTING;

	a->fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		attempt_finish(a, 0, "socket");
		return;
	}
	r = connect(a->fd, (struct sockaddr *)&p->sa, p->salen);
	if (r == 0) {
		a->state = A_READING;
		attempt_read(a);
	} else if (errno != EINPROGRESS) {
		attempt_fail_errno(a, "", errno);
	}
}

/* poll said something about the attempt's socket. */
static void attempt_event(struct attempt *a, short revents)
{
	if (a->state == A_CONNECTING && (revents & (POLLOUT | POLLERR | POLLHUP)))
		attempt_connected(a);
	else if (a->state == A_READING && (revents & (POLLIN | POLLERR | POLLHUP)))
		attempt_read(a);
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

static void add_outage(struct probe *p, int64_t end_mono, const char *after)
{
	struct outage *o;

	if (p->n_outages == p->cap_outages) {
		p->cap_outages = p->cap_outages ? 2 * p->cap_outages : 16;
		p->outages = realloc(p->outages, p->cap_outages * sizeof(*p->outages));
		if (!p->outages)
			die("out of memory");
	}
	o = &p->outages[p->n_outages++];
	o->start_ms = p->run_start_wall_ms;
	o->dur_us = end_mono - p->run_start_mono;
	o->failures = p->run_failures;
	snprintf(o->before, NAME_LEN, "%s", p->run_before);
	snprintf(o->after, NAME_LEN, "%s", after);
}

/* One attempt's result, in seq order, attributed to the attempt's start. */
static void record(struct probe *p, int64_t t_mono, int64_t t_wall, int ok,
		   const char *what, int64_t lat_us)
{
	p->attempts++;
	if (p->rec)
		fprintf(p->rec, "%lld %lu %s %s %lld\n", (long long)t_wall,
			p->attempts, ok ? "ok" : "fail", what, (long long)lat_us);
	if (ok) {
		p->ok++;
		count_answer(p, what);
		if (p->in_outage) {
			add_outage(p, t_mono, what);
			p->in_outage = 0;
		} else if (p->have_success && strcmp(p->last_node, what) != 0) {
			p->switches++;
		}
		p->have_success = 1;
		p->last_ok_mono = t_mono;
		p->last_ok_wall_ms = t_wall;
		snprintf(p->last_node, NAME_LEN, "%s", what);
		return;
	}
	p->fail++;
	if (p->wait_first && !p->have_success) {
		p->initial_failures++;
		return;
	}
	if (!p->in_outage) {
		p->in_outage = 1;
		p->run_failures = 0;
		if (p->have_success) {
			p->run_start_mono = p->last_ok_mono;
			p->run_start_wall_ms = p->last_ok_wall_ms;
			snprintf(p->run_before, NAME_LEN, "%s", p->last_node);
		} else {
			p->run_start_mono = t_mono;
			p->run_start_wall_ms = t_wall;
			snprintf(p->run_before, NAME_LEN, "-");
		}
	}
	p->run_failures++;
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
		record(p, a->t0_mono, a->t0_wall_ms, a->ok, a->what, a->lat_us);
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
				attempt_event(&p->slots[p->pfd_slot[i]], p->pfds[i].revents);
	}
	/* an answer that is there counts even if we saw it late; else expire */
	now = mono_us();
	for (s = p->flush_seq; s < p->next_seq; s++) {
		struct attempt *a = &p->slots[s % p->n_slots];

		if (a->state == A_CONNECTING && now >= a->deadline)
			attempt_finish(a, 0, "timeout");
		else if (a->state == A_READING && now >= a->deadline)
			attempt_finish(a, 0, "read-timeout");
	}
	flush_results(p);
}

static void setup_slots(struct probe *p, int once)
{
	struct rlimit rl;
	int64_t n = once ? 1 : (p->timeout_us + p->interval_us - 1) / p->interval_us + 2;

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

static void summary(struct probe *p, int64_t end_mono)
{
	int64_t max_us = 0;
	size_t k;
	int i;

	if (p->in_outage) {
		add_outage(p, end_mono, "-");
		p->in_outage = 0;
	}
	printf("target %s %d interval_ms %.3f timeout_ms %.3f\n", p->addr, p->port,
	       p->interval_us / 1000.0, p->timeout_us / 1000.0);
	printf("attempts %lu ok %lu fail %lu\n", p->attempts, p->ok, p->fail);
	printf("answers");
	for (i = 0; i < p->n_answers; i++)
		printf(" %s=%lu", p->answers[i].name, p->answers[i].n);
	printf("\n");
	printf("switches %lu\n", p->switches);
	printf("outages %zu\n", p->n_outages);
	for (k = 0; k < p->n_outages; k++) {
		struct outage *o = &p->outages[k];

		printf("outage %zu start_ms %lld duration_ms %lld failures %lu before %s after %s\n",
		       k + 1, (long long)o->start_ms, (long long)((o->dur_us + 999) / 1000),
		       o->failures, o->before, o->after);
		if (o->dur_us > max_us)
			max_us = o->dur_us;
	}
	printf("max_outage_ms %lld\n", (long long)((max_us + 999) / 1000));
	if (p->wait_first)
		printf("initial_failures %lu\n", p->initial_failures);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: probe -a ADDR -p PORT [-i INTERVAL] [-t DURATION] [-T TIMEOUT] [-o FILE] [-W] [-1]\n"
		"  -i  attempt interval (default 10ms); attempts overlap\n"
		"  -t  run time, 0 = until SIGTERM/SIGINT (default 0)\n"
		"  -T  per-attempt timeout for connect + answer (default 50ms)\n"
		"  -o  per-attempt record file\n"
		"  -W  failures before the first success are not an outage\n"
		"  -1  one attempt: print 'ok NODE' or 'fail REASON', exit 0/1\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct probe p;
	struct sigaction sa;
	sigset_t stopsigs, waitmask;
	const char *recfile = NULL;
	int once = 0, c;
	int64_t start, next, stop_mono = 0;

	memset(&p, 0, sizeof(p));
	p.port = -1;
	p.interval_us = 10000;
	p.timeout_us = 50000;
	while ((c = getopt(argc, argv, "a:p:i:t:T:o:W1h")) != -1) {
		switch (c) {
		case 'a': p.addr = optarg; break;
		case 'p': p.port = atoi(optarg); break;
		case 'i': p.interval_us = parse_duration_us(optarg); break;
		case 't': p.duration_us = parse_duration_us(optarg); break;
		case 'T': p.timeout_us = parse_duration_us(optarg); break;
		case 'o': recfile = optarg; break;
		case 'W': p.wait_first = 1; break;
		case '1': once = 1; break;
		default: usage();
		}
	}
	if (!p.addr || p.port <= 0 || p.port > 65535 || optind != argc)
		usage();
	if (p.interval_us < 1000)
		die("interval below 1ms");
	if (p.timeout_us < 1000)
		die("timeout below 1ms");

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

	start = mono_us();
	next = start;
	for (;;) {
		int64_t now = mono_us();

		if (!stop_mono && (stop_flag || (p.duration_us && now - start >= p.duration_us)))
			stop_mono = now; /* no more attempts; drain those in flight */
		if (stop_mono) {
			if (p.flush_seq == p.next_seq)
				break;
		} else if (now >= next) {
			if (p.next_seq - p.flush_seq < p.n_slots) {
				attempt_start(&p, &p.slots[p.next_seq % p.n_slots], p.next_seq);
				p.next_seq++;
			} else {
				p.skipped++;
			}
			next += p.interval_us;
			if (next <= now) /* woke up late: skip missed slots, keep the grid */
				next += ((now - next) / p.interval_us + 1) * p.interval_us;
			flush_results(&p); /* an attempt may fail at once */
			continue;
		}
		service(&p, next, !stop_mono, &waitmask);
	}
	/* a trailing outage lasts until the probe stopped starting attempts */
	summary(&p, stop_mono);
	if (p.skipped)
		fprintf(stderr, "probe: %lu slots skipped, %zu attempts in flight\n",
			p.skipped, p.n_slots);
	if (p.rec)
		fclose(p.rec);
	free(p.outages);
	free(p.slots);
	free(p.pfds);
	free(p.pfd_slot);
	return 0;
}
