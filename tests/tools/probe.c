/*
 * probe.c - measure TCP outages of a service behind a virtual IP.
 *
 *   probe -a ADDR -p PORT [-i 10ms] [-t 30s] [-T 50ms] [-o FILE] [-W] [-1]
 *
 * Every interval (scheduled on CLOCK_MONOTONIC, not drifting with the time
 * each attempt takes) the probe opens a non-blocking TCP connection to
 * ADDR:PORT (IPv4 or IPv6, numeric), waits at most the attempt timeout
 * (-T, default 50 ms) for the connection AND the answer, and reads the
 * answer up to EOF: the lab's service stand-in writes the node name ("n2")
 * and closes. An attempt is "ok NODE" when a non-empty answer came back
 * within the timeout, else "fail REASON" (timeout, refused, unreach, ...).
 * If an attempt runs past its slot, the missed slots are skipped, never
 * bunched up.
 *
 * -o FILE gets one line per attempt:
 *     <unix time ms> <seq> ok <node> <latency us>
 *     <unix time ms> <seq> fail <reason> <latency us>
 *
 * The probe stops when the duration (-t, 0 = until a signal) has elapsed
 * or on SIGTERM/SIGINT, then prints a summary on stdout:
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
 * a run at the end lasts until the probe stops ("after -"): a VIP that
 * never comes back is an outage, not a clean run.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 64
#define NAME_LEN 32

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

/* Wait for events on fd until the absolute monotonic deadline. 1 = ready. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - mono_us();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (r > 0)
			return 1;
		if (r == 0)
			continue; /* re-check the deadline; poll rounds to ms */
		if (errno != EINTR)
			return -1;
		/* a stop signal lets the attempt finish; it is short */
	}
}

/*
 * One attempt. Returns 1 with the node name in out, or 0 with a reason.
 */
static int attempt(struct probe *p, char *out, size_t outlen)
{
	int64_t deadline = mono_us() + p->timeout_us;
	char buf[256];
	size_t got = 0;
	int fd, r, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(out, outlen, "socket");
		return 0;
	}
	r = connect(fd, (struct sockaddr *)&p->sa, p->salen);
	if (r < 0 && errno != EINPROGRESS) {
		snprintf(out, outlen, "%s", errno_reason(errno));
		goto fail;
	}
	if (r < 0) {
		r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0) {
			snprintf(out, outlen, r == 0 ? "timeout" : "poll");
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err) {
			snprintf(out, outlen, "%s", errno_reason(err));
			goto fail;
		}
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n > 0) {
			got += (size_t)n;
			if (got >= sizeof(buf) - 1)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			snprintf(out, outlen, "read-%s", errno_reason(errno));
			goto fail;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			snprintf(out, outlen, r == 0 ? "read-timeout" : "poll");
			goto fail;
		}
	}
	close(fd);
	buf[got] = '\0';
	/* the first word of the answer, e.g. "n2\n" -> "n2" */
	{
		char *s = buf, *e;

		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		e = s;
		while (*e && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n')
			e++;
		*e = '\0';
		if (*s == '\0') {
			snprintf(out, outlen, "empty");
			return 0;
		}
		snprintf(out, outlen, "%.*s", NAME_LEN - 1, s);
	}
	return 1;
fail:
	close(fd);
	return 0;
}

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
		"  -i  attempt interval (default 10ms)\n"
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
	const char *recfile = NULL;
	int once = 0, c;
	int64_t start, next;

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

	if (once) {
		char what[NAME_LEN];
		int ok = attempt(&p, what, sizeof(what));

		printf("%s %s\n", ok ? "ok" : "fail", what);
		return ok ? 0 : 1;
	}

	if (recfile) {
		p.rec = fopen(recfile, "w");
		if (!p.rec)
			die("%s: %s", recfile, strerror(errno));
		setvbuf(p.rec, NULL, _IOLBF, 0);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: let poll/nanosleep return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	start = mono_us();
	next = start;
	while (!stop_flag) {
		char what[NAME_LEN];
		int64_t t0 = mono_us(), t_wall = wall_ms(), now;
		int ok;

		if (p.duration_us && t0 - start >= p.duration_us)
			break;
		ok = attempt(&p, what, sizeof(what));
		now = mono_us();
		record(&p, t0, t_wall, ok, what, now - t0);

		next += p.interval_us;
		if (next < now) /* overran: skip missed slots, keep the grid */
			next += ((now - next) / p.interval_us + 1) * p.interval_us;
		while (!stop_flag) {
			int64_t left = next - mono_us();
			struct timespec ts;

			if (left <= 0)
				break;
			ts.tv_sec = left / 1000000;
			ts.tv_nsec = (left % 1000000) * 1000;
			nanosleep(&ts, NULL);
		}
	}
	/* a trailing outage lasts until the probe stops */
	summary(&p, mono_us());
	if (p.rec)
		fclose(p.rec);
	free(p.outages);
	return 0;
}
