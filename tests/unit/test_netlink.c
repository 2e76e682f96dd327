/*
 * test_netlink.c - netlink.c and announce.c against a real kernel.
 *
 * Needs root; otherwise the whole file reports one TAP skip. The test
 * process moves itself into a private network namespace
 * (unshare(CLONE_NEWNET)) and forks a "peer" that moves into a second
 * one; a veth pair joins them:
 *
 *   [this process] vipdnl0 198.18.0.1/24 fd00:5::1/64
 *        |
 *   [peer]         vipdnl1 198.18.0.2/24 fd00:5::2/64
 *
 * Both namespaces are anonymous: they vanish with their last process, so
 * nothing is left behind on any path (the peer dies with us through
 * PR_SET_PDEATHSIG and the hold pipe). Nothing touches the root namespace.
 * Announcements are proven by the peer kernel's neighbour table changing.
 *
 * VIPD_TEST_EXPIRY_RUNS=N and VIPD_TEST_EXPIRY_LIFE=S (defaults 1 and 1)
 * repeat the lifetime-expiry measurement; each run prints the lag.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "announce.h"
#include "frames.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "stderr_cap.h"

#define VIP4 "198.18.0.100"
#define VIP6 "fd00:5::100"
#define OLD_MAC "02:00:00:00:00:01"
#define HOST(family) ((family) == AF_INET ? 32u : 128u)

static const char *skip_reason;
static pid_t peer_pid = -1;
static int hold_fd = -1;

/* ---- lab --------------------------------------------------------------- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "# command failed (%d): %s\n", rc, cmd);
	return rc == 0 ? 0 : -1;
}

#define PEER "nsenter -t %d -n "

static void lab_stop(void)
{
	if (hold_fd >= 0)
		close(hold_fd);
	hold_fd = -1;
	if (peer_pid > 0) {
		kill(peer_pid, SIGKILL);
		waitpid(peer_pid, NULL, 0);
	}
	peer_pid = -1;
}

static int lab_start(void)
{
	int ready[2], hold[2];
	char c = 0;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	if (pipe(ready) < 0 || pipe(hold) < 0)
		return -errno;
	peer_pid = fork();
	if (peer_pid < 0)
		return -errno;
	if (peer_pid == 0) {
		close(ready[0]);
		close(hold[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		(void)!write(ready[1], &c, 1);
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	hold_fd = hold[1];
	if (read(ready[0], &c, 1) != 1 || c != 'y') {
		close(ready[0]);
		return -EPERM;
	}
	close(ready[0]);
	if (sh("ip link set lo up") < 0 ||
	    sh("ip link add vipdnl0 type veth peer name vipdnl1 netns %d", peer_pid) < 0 ||
	    sh(PEER "ip link set lo up", peer_pid) < 0)
		return -EIO;
	return 0;
}

/* Before each test: both ends up, subnet addresses in place, no VIP. */
static int lab_reset(void **state)
{
	(void)state;
	sh("ip addr flush dev vipdnl0");
	if (sh("ip link set vipdnl0 up") < 0 ||
	    sh("ip addr replace 198.18.0.1/24 dev vipdnl0") < 0 ||
	    sh("ip -6 addr replace fd00:5::1/64 dev vipdnl0 nodad") < 0 ||
	    sh(PEER "ip link set vipdnl1 up", peer_pid) < 0 ||
	    sh(PEER "ip addr replace 198.18.0.2/24 dev vipdnl1", peer_pid) < 0 ||
	    sh(PEER "ip -6 addr replace fd00:5::2/64 dev vipdnl1 nodad", peer_pid) < 0)
		return -1;
	return 0;
}

static uint64_t now_ms(void)
{
	return loop_now_ms();
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void pton(int family, const char *s, unsigned char *out)
{
	assert_int_equal(inet_pton(family, s, out), 1);
}

static struct nl_link link_get(struct nl *nl, const char *name)
{
	struct nl_link l;

	assert_int_equal(nl_link_by_name(nl, name, &l), 0);
	return l;
}

/* The peer kernel's neighbour entry for addr: "xx:xx:..", or "" if none. */
static void peer_neigh(const char *addr, char out[32])
{
	char cmd[256], line[256], *p;
	FILE *f;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), PEER "ip neigh show %s dev vipdnl1", peer_pid, addr);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if ((p = strstr(line, "lladdr ")) != NULL)
			sscanf(p + 7, "%31s", out);
	pclose(f);
}

static bool peer_neigh_wait(const char *addr, const char *want, unsigned ms)
{
	char got[32];
	uint64_t end = now_ms() + ms;

	do {
		peer_neigh(addr, got);
		if (strcmp(got, want) == 0)
			return true;
		sleep_ms(20);
	} while (now_ms() < end);
	return false;
}

static void peer_neigh_set(const char *addr, const char *mac)
{
	char got[32];

	assert_int_equal(sh(PEER "ip neigh replace %s lladdr %s dev vipdnl1 nud stale",
	    peer_pid, addr, mac), 0);
	peer_neigh(addr, got);
	assert_string_equal(got, mac);
}

static void mac_str(const unsigned char mac[6], char out[32])
{
	snprintf(out, 32, "%02x:%02x:%02x:%02x:%02x:%02x",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* ---- event recording --------------------------------------------------- */

enum want { W_NONE, W_LINK_UP, W_LINK_DOWN, W_LINK_NAMED, W_LINK_REMOVED, W_LINK_MAC,
	    W_ADDRS, W_RESYNC };

struct watched_addr {
	int family;
	unsigned char addr[16];
	bool removed;         /* the event wanted */
	unsigned prefixlen;   /* with this prefix length */
	uint64_t at_ms;       /* when it came, 0 = not yet */
};

struct ev {
	struct loop *loop;
	struct loop_timer *timeout;
	struct nl *nl;
	enum want want;
	int ifindex;
	char name[16];
	unsigned char mac[6];
	struct watched_addr addrs[2];
	int naddrs;
	bool met, close_in_cb;
	/* every event, for assertions */
	int link_events, removed_events, addr_events, resyncs;
	struct nl_link last, matched;
	int removed_ifindex;
	char removed_name[16];
};

static void ev_check(struct ev *e)
{
	if (e->met) {
		loop_stop(e->loop);
		return;
	}
	if (e->want == W_ADDRS) {
		for (int i = 0; i < e->naddrs; i++)
			if (e->addrs[i].at_ms == 0)
				return;
		e->met = true;
	}
	if (e->met)
		loop_stop(e->loop);
}

static void on_link(void *arg, const struct nl_link *l)
{
	struct ev *e = arg;

	e->link_events++;
	e->last = *l;
	if ((e->want == W_LINK_UP && l->ifindex == e->ifindex && l->up) ||
	    (e->want == W_LINK_DOWN && l->ifindex == e->ifindex && !l->up) ||
	    (e->want == W_LINK_NAMED && strcmp(l->name, e->name) == 0) ||
	    (e->want == W_LINK_MAC && l->ifindex == e->ifindex && memcmp(l->mac, e->mac, 6) == 0)) {
		if (!e->met)
			e->matched = *l;
		e->met = true;
	}
	if (e->close_in_cb) {
		nl_close(e->nl);
		e->nl = NULL;
		e->close_in_cb = false;
	}
	ev_check(e);
}

static void on_link_removed(void *arg, int ifindex, const char *name)
{
	struct ev *e = arg;

	e->removed_events++;
	if (e->want == W_LINK_REMOVED && strcmp(name, e->name) == 0 && !e->met) {
		e->removed_ifindex = ifindex;
		snprintf(e->removed_name, sizeof(e->removed_name), "%s", name);
		e->met = true;
	}
	ev_check(e);
}

static void on_addr(void *arg, int ifindex, int family, const void *addr, unsigned prefixlen,
                    bool removed)
{
	struct ev *e = arg;

	e->addr_events++;
	assert_true(family == AF_INET || family == AF_INET6);
	for (int i = 0; i < e->naddrs; i++) {
		struct watched_addr *w = &e->addrs[i];

		if (w->at_ms == 0 && w->family == family && w->removed == removed &&
		    ifindex == e->ifindex && w->prefixlen == prefixlen &&
		    memcmp(w->addr, addr, family == AF_INET ? 4 : 16) == 0)
			w->at_ms = now_ms();
	}
	ev_check(e);
}

static void on_resync(void *arg)
{
	struct ev *e = arg;

	e->resyncs++;
	if (e->want == W_RESYNC)
		e->met = true;
	ev_check(e);
}

static const struct nl_watch_ops ev_ops = {
	.link_changed = on_link,
	.link_removed = on_link_removed,
	.addr_changed = on_addr,
	.resync = on_resync,
};

static void on_timeout(void *arg)
{
	loop_stop(((struct ev *)arg)->loop);
}

static void ev_open(struct ev *e)
{
	memset(e, 0, sizeof(*e));
	e->loop = loop_new();
	assert_non_null(e->loop);
	e->timeout = loop_timer_new(e->loop, on_timeout, e);
	e->nl = nl_open(e->loop, &ev_ops, e);
	assert_non_null(e->nl);
}

static void ev_close(struct ev *e)
{
	nl_close(e->nl);
	loop_timer_free(e->timeout);
	loop_free(e->loop);
}

static void ev_expect(struct ev *e, enum want w, int ifindex, const char *name)
{
	e->want = w;
	e->ifindex = ifindex;
	e->met = false;
	e->naddrs = 0;
	snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
}

static void ev_expect_addr_plen(struct ev *e, int family, const unsigned char *addr,
                                unsigned prefixlen, bool removed)
{
	struct watched_addr *w = &e->addrs[e->naddrs++];

	e->want = W_ADDRS;
	w->family = family;
	memcpy(w->addr, addr, family == AF_INET ? 4 : 16);
	w->removed = removed;
	w->prefixlen = prefixlen;
	w->at_ms = 0;
}

static void ev_expect_addr(struct ev *e, int family, const unsigned char *addr, bool removed)
{
	ev_expect_addr_plen(e, family, addr, family == AF_INET ? 32 : 128, removed);
}

static bool ev_wait(struct ev *e, unsigned ms)
{
	ev_check(e);
	if (!e->met) {
		loop_timer_arm(e->timeout, ms);
		loop_run(e->loop);
		loop_timer_disarm(e->timeout);
	}
	return e->met;
}

/* ---- links ------------------------------------------------------------- */

static void count_link(void *arg, const struct nl_link *l)
{
	int *seen = arg;

	if (strcmp(l->name, "lo") == 0)
		seen[0]++;
	if (strcmp(l->name, "vipdnl0") == 0)
		seen[1]++;
	seen[2]++;
}

static void test_link_lookup(void **state)
{
	struct nl *nl;
	struct nl_link a, b;
	int seen[3] = { 0 };
	static const unsigned char zero[6];

	(void)state;
	nl = nl_open(NULL, NULL, NULL);
	assert_non_null(nl);
	assert_int_equal(nl_watch_fd(nl), -1);
	a = link_get(nl, "vipdnl0");
	assert_true(a.ifindex > 0);
	assert_string_equal(a.name, "vipdnl0");
	assert_true(a.up);
	assert_memory_not_equal(a.mac, zero, 6);
	assert_int_equal(nl_link_by_index(nl, a.ifindex, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	b = link_get(nl, "lo");
	assert_memory_equal(b.mac, zero, 6); /* loopback: not Ethernet */

	assert_int_equal(nl_link_by_name(nl, "vipdnl-nope", &b), -ENODEV);
	assert_int_equal(nl_link_by_index(nl, 999999, &b), -ENODEV);
	assert_int_equal(nl_link_by_name(nl, "a-name-too-long-for-ifnamsiz", &b), -EINVAL);
	assert_int_equal(nl_link_by_name(nl, "", &b), -EINVAL);
	assert_int_equal(nl_link_by_index(nl, 0, &b), -EINVAL);

	assert_int_equal(nl_link_foreach(nl, count_link, seen), 0);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 2); /* lo and vipdnl0: the namespace is ours */
	nl_close(nl);
	nl_close(NULL);
}

/* Carrier loss (peer down) and admin down both clear up; events carry the
 * full state; creation, MAC change and deletion are reported. */
static void test_link_watch(void **state)
{
	struct nl_link l;
	struct ev e;
	int idx, idx2;

	(void)state;
	ev_open(&e);
	idx = link_get(e.nl, "vipdnl0").ifindex;
	{
		int rcvbuf = 0;
		socklen_t len = sizeof(rcvbuf);

		assert_int_equal(getsockopt(nl_watch_fd(e.nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len), 0);
		assert_true(rcvbuf >= 1 << 20);
	}

	ev_expect(&e, W_LINK_DOWN, idx, NULL);
	assert_int_equal(sh(PEER "ip link set vipdnl1 down", peer_pid), 0);
	assert_true(ev_wait(&e, 2000));
	assert_string_equal(e.matched.name, "vipdnl0");
	assert_int_equal(nl_link_by_index(e.nl, idx, &l), 0);
	assert_false(l.up);

	ev_expect(&e, W_LINK_UP, idx, NULL);
	assert_int_equal(sh(PEER "ip link set vipdnl1 up", peer_pid), 0);
	assert_true(ev_wait(&e, 2000));
	assert_int_equal(nl_link_by_index(e.nl, idx, &l), 0);
	assert_true(l.up);

	ev_expect(&e, W_LINK_DOWN, idx, NULL);
	assert_int_equal(sh("ip link set vipdnl0 down"), 0);
	assert_true(ev_wait(&e, 2000));
	ev_expect(&e, W_LINK_UP, idx, NULL);
	assert_int_equal(sh("ip link set vipdnl0 up"), 0);
	assert_true(ev_wait(&e, 2000));

	ev_expect(&e, W_LINK_NAMED, 0, "vipdnl2");
	assert_int_equal(sh("ip link add vipdnl2 type veth peer name vipdnl3"), 0);
	assert_true(ev_wait(&e, 2000));
	idx2 = e.matched.ifindex;
	assert_false(e.matched.up);

	ev_expect(&e, W_LINK_MAC, idx2, NULL);
	memcpy(e.mac, (unsigned char[6]){ 0x02, 0, 0, 0, 0, 0x22 }, 6);
	assert_int_equal(sh("ip link set vipdnl2 address 02:00:00:00:00:22"), 0);
	assert_true(ev_wait(&e, 2000));

	ev_expect(&e, W_LINK_REMOVED, 0, "vipdnl2");
	assert_int_equal(sh("ip link del vipdnl2"), 0);
	assert_true(ev_wait(&e, 2000));
	assert_int_equal(e.removed_ifindex, idx2);
	ev_close(&e);
}

/* nl_close() from inside a callback: no further callbacks, no leak, no
 * use after free (valgrind checks the last two). */
static void test_close_in_callback(void **state)
{
	struct ev e;
	int before;

	(void)state;
	ev_open(&e);
	e.close_in_cb = true;
	ev_expect(&e, W_LINK_NAMED, 0, "never");
	assert_int_equal(sh("ip link add vipdnl4 type veth peer name vipdnl5"), 0);
	assert_int_equal(sh("ip link set vipdnl4 up"), 0); /* more events queued */
	assert_false(ev_wait(&e, 500));
	assert_null(e.nl);
	before = e.link_events;
	assert_int_equal(before, 1);
	assert_int_equal(sh("ip link del vipdnl4"), 0);
	assert_false(ev_wait(&e, 200));
	assert_int_equal(e.link_events, before);
	assert_int_equal(e.removed_events, 0);
	ev_close(&e);
}

/* ---- addresses --------------------------------------------------------- */

static void addr_ops(int family, const char *vip)
{
	struct nl *nl;
	unsigned char a[16];
	struct stderr_cap cap;
	char log[2048];
	int idx, lo, where = 0;

	nl = nl_open(NULL, NULL, NULL);
	assert_non_null(nl);
	pton(family, vip, a);
	idx = link_get(nl, "vipdnl0").ifindex;
	lo = link_get(nl, "lo").ifindex;

	assert_int_equal(nl_addr_present(nl, 0, family, a, &where), 0);
	assert_int_equal(where, 0);
	assert_int_equal(nl_addr_add(nl, idx, family, a, UINT32_MAX, UINT32_MAX, false), 0);
	assert_int_equal(nl_addr_present(nl, 0, family, a, &where), 1);
	assert_int_equal(where, idx);
	assert_int_equal(nl_addr_present(nl, idx, family, a, NULL), 1);
	assert_int_equal(nl_addr_present(nl, lo, family, a, NULL), 0);
	assert_int_equal(sh(family == AF_INET ? "ip -4 addr show dev vipdnl0 | grep -q 'inet %s/32 scope global'"
	                                      : "ip -6 addr show dev vipdnl0 | grep -q 'inet6 %s/128 scope global nodad'", vip), 0);

	/* EEXIST is an answer, not logged as a failure */
	stderr_cap_begin(&cap);
	assert_int_equal(nl_addr_add(nl, idx, family, a, UINT32_MAX, UINT32_MAX, false), -EEXIST);
	stderr_cap_end(&cap, log, sizeof(log));
	assert_null(strstr(log, "failed"));
	assert_int_equal(nl_addr_add(nl, idx, family, a, 60, 30, true), 0);
	assert_int_equal(sh("ip addr show dev vipdnl0 | grep -A1 '%s/' | grep -q 'valid_lft [56][0-9]sec preferred_lft [23][0-9]sec'", vip), 0);

	assert_int_equal(nl_addr_del(nl, idx, family, a, HOST(family)), 0);
	assert_int_equal(nl_addr_present(nl, 0, family, a, NULL), 0);
	assert_int_equal(nl_addr_del(nl, idx, family, a, HOST(family)), -EADDRNOTAVAIL);

	/* Kernel refusals are logged with the kernel's own words. */
	stderr_cap_begin(&cap);
	assert_int_equal(nl_addr_add(nl, 999999, family, a, 10, 10, false), -ENODEV);
	assert_int_equal(nl_addr_add(nl, idx, family, a, 10, 20, false), -EINVAL);
	stderr_cap_end(&cap, log, sizeof(log));
	assert_non_null(strstr(log, "add address failed addr="));
	assert_non_null(strstr(log, "link=999999: No such device"));
	assert_non_null(strstr(log, "(kernel: "));
	assert_int_equal(nl_addr_del(nl, 999999, family, a, HOST(family)), -ENODEV);
	assert_int_equal(nl_addr_present(nl, 999999, family, a, NULL), -ENODEV);
	assert_int_equal(nl_addr_add(nl, idx, AF_PACKET, a, 10, 10, false), -EAFNOSUPPORT);
	assert_int_equal(nl_addr_present(nl, 0, AF_PACKET, a, NULL), -EAFNOSUPPORT);
	assert_int_equal(nl_addr_add(nl, 0, family, a, 10, 10, false), -EINVAL);

	/* The same address with another prefix (keepalived's "VIP/24"): a
	 * host-prefix delete leaves it (the kernel matches the prefix
	 * length), it counts as present, and it goes when deleted with its
	 * own prefix length. */
	assert_int_equal(sh("ip addr add %s/%d dev vipdnl0%s", vip, family == AF_INET ? 24 : 64,
	    family == AF_INET6 ? " nodad" : ""), 0);
	assert_int_equal(nl_addr_del(nl, idx, family, a, HOST(family)), -EADDRNOTAVAIL);
	assert_int_equal(nl_addr_present(nl, idx, family, a, NULL), 1);
	assert_int_equal(nl_addr_del(nl, idx, family, a, family == AF_INET ? 24 : 64), 0);
	assert_int_equal(nl_addr_present(nl, idx, family, a, NULL), 0);
	assert_int_equal(nl_addr_del(nl, idx, family, a, 0), -EINVAL);
	assert_int_equal(nl_addr_del(nl, idx, family, a, HOST(family) + 1), -EINVAL);
	nl_close(nl);
}

static void test_addr_ops_v4(void **state)
{
	(void)state;
	addr_ops(AF_INET, VIP4);
}

static void test_addr_ops_v6(void **state)
{
	(void)state;
	addr_ops(AF_INET6, VIP6);
}

/* Every copy of an address, with its link and prefix length, and every
 * address of a link; deletes by prefix length. IPv4 keeps "VIP/32" and
 * "VIP/24" side by side on one link; IPv6 refuses a second prefix length
 * for an address on a link (measured). */
static void test_addr_list_copies(void **state)
{
	unsigned char a4[4], a6[16], own[4];
	struct nl_addr l[8];
	struct nl *nl;
	int idx, lo, n, saw32 = 0, saw24 = 0, sawlo = 0;

	(void)state;
	nl = nl_open(NULL, NULL, NULL);
	assert_non_null(nl);
	pton(AF_INET, VIP4, a4);
	pton(AF_INET6, VIP6, a6);
	pton(AF_INET, "198.18.0.1", own);
	idx = link_get(nl, "vipdnl0").ifindex;
	lo = link_get(nl, "lo").ifindex;

	assert_int_equal(nl_addr_list(nl, 0, AF_INET, a4, l, 8), 0);
	assert_int_equal(nl_addr_add(nl, idx, AF_INET, a4, UINT32_MAX, UINT32_MAX, false), 0);
	assert_int_equal(sh("ip addr add %s/24 dev vipdnl0 && ip addr add %s/25 dev lo", VIP4, VIP4), 0);
	n = nl_addr_list(nl, 0, AF_INET, a4, l, 8);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		assert_int_equal(l[i].family, AF_INET);
		assert_memory_equal(l[i].addr, a4, 4);
		saw32 += l[i].ifindex == idx && l[i].prefixlen == 32;
		saw24 += l[i].ifindex == idx && l[i].prefixlen == 24;
		/* the lab's 198.18.0.1/24 came first: the VIP/24 is its secondary */
		assert_int_equal(l[i].secondary, l[i].ifindex == idx && l[i].prefixlen == 24);
		sawlo += l[i].ifindex == lo && l[i].prefixlen == 25;
	}
	assert_int_equal(saw32 + saw24 + sawlo, 3);
	/* Too small an array: the count says how many there are. */
	assert_int_equal(nl_addr_list(nl, 0, AF_INET, a4, l, 1), 3);
	assert_int_equal(nl_addr_list(nl, 0, AF_INET, a4, NULL, 0), 3);
	/* One link only. */
	assert_int_equal(nl_addr_list(nl, lo, AF_INET, a4, l, 8), 1);
	assert_int_equal(l[0].prefixlen, 25);
	/* Each copy goes with its own prefix length, and only that one. */
	assert_int_equal(nl_addr_del(nl, idx, AF_INET, a4, 24), 0);
	assert_int_equal(nl_addr_list(nl, idx, AF_INET, a4, l, 8), 1);
	assert_int_equal(l[0].prefixlen, 32);
	assert_int_equal(nl_addr_del(nl, lo, AF_INET, a4, 32), -EADDRNOTAVAIL);
	assert_int_equal(nl_addr_del(nl, lo, AF_INET, a4, 25), 0);
	assert_int_equal(nl_addr_del(nl, idx, AF_INET, a4, 32), 0);
	assert_int_equal(nl_addr_list(nl, 0, AF_INET, a4, l, 8), 0);

	/* A link's addresses (addr NULL): the lab's own 198.18.0.1/24. */
	n = nl_addr_list(nl, idx, AF_INET, NULL, l, 8);
	assert_int_equal(n, 1);
	assert_memory_equal(l[0].addr, own, 4);
	assert_int_equal(l[0].prefixlen, 24);
	assert_int_equal(l[0].ifindex, idx);
	assert_int_equal(nl_addr_list(nl, 999999, AF_INET, NULL, l, 8), -ENODEV);
	assert_int_equal(nl_addr_list(nl, 0, AF_PACKET, NULL, l, 8), -EAFNOSUPPORT);

	/* promote_secondaries as the kernel has it, both ways. */
	assert_int_equal(sh("echo 1 >/proc/sys/net/ipv4/conf/vipdnl0/promote_secondaries"), 0);
	assert_int_equal(nl_promote_secondaries(nl, idx), 1);
	assert_int_equal(sh("echo 0 >/proc/sys/net/ipv4/conf/vipdnl0/promote_secondaries"), 0);
	assert_int_equal(nl_promote_secondaries(nl, idx), 0);
	assert_int_equal(nl_promote_secondaries(nl, 999999), -ENODEV);

	/* IPv6: one prefix length per address and link. */
	assert_int_equal(sh("ip addr add %s/64 dev vipdnl0 nodad", VIP6), 0);
	assert_int_equal(nl_addr_add(nl, idx, AF_INET6, a6, UINT32_MAX, UINT32_MAX, false), -EEXIST);
	assert_int_equal(nl_addr_list(nl, 0, AF_INET6, a6, l, 8), 1);
	assert_int_equal(l[0].prefixlen, 64);
	assert_int_equal(nl_addr_del(nl, idx, AF_INET6, a6, 128), -EADDRNOTAVAIL);
	assert_int_equal(nl_addr_del(nl, idx, AF_INET6, a6, 64), 0);
	assert_int_equal(nl_addr_list(nl, 0, AF_INET6, a6, l, 8), 0);
	nl_close(nl);
}

/* Events carry the prefix length: a "VIP/24" added and deleted by hand. */
static void test_addr_watch_prefix(void **state)
{
	unsigned char a4[4];
	struct ev e;
	int idx;

	(void)state;
	pton(AF_INET, VIP4, a4);
	ev_open(&e);
	idx = link_get(e.nl, "vipdnl0").ifindex;
	ev_expect(&e, W_ADDRS, idx, NULL);
	ev_expect_addr_plen(&e, AF_INET, a4, 24, false);
	assert_int_equal(sh("ip addr add %s/24 dev vipdnl0", VIP4), 0);
	assert_true(ev_wait(&e, 2000));
	ev_expect(&e, W_ADDRS, idx, NULL);
	ev_expect_addr_plen(&e, AF_INET, a4, 24, true);
	assert_int_equal(nl_addr_del(e.nl, idx, AF_INET, a4, 24), 0);
	assert_true(ev_wait(&e, 2000));
	ev_close(&e);
}

static void test_addr_watch(void **state)
{
	unsigned char a4[4], a6[16];
	struct ev e;
	int idx;

	(void)state;
	pton(AF_INET, VIP4, a4);
	pton(AF_INET6, VIP6, a6);
	ev_open(&e);
	idx = link_get(e.nl, "vipdnl0").ifindex;

	ev_expect(&e, W_ADDRS, idx, NULL);
	ev_expect_addr(&e, AF_INET, a4, false);
	ev_expect_addr(&e, AF_INET6, a6, false);
	assert_int_equal(nl_addr_add(e.nl, idx, AF_INET, a4, UINT32_MAX, UINT32_MAX, false), 0);
	assert_int_equal(nl_addr_add(e.nl, idx, AF_INET6, a6, UINT32_MAX, UINT32_MAX, false), 0);
	assert_true(ev_wait(&e, 2000));

	ev_expect(&e, W_ADDRS, idx, NULL);
	ev_expect_addr(&e, AF_INET, a4, true);
	ev_expect_addr(&e, AF_INET6, a6, true);
	assert_int_equal(nl_addr_del(e.nl, idx, AF_INET, a4, 32), 0);
	assert_int_equal(nl_addr_del(e.nl, idx, AF_INET6, a6, 128), 0);
	assert_true(ev_wait(&e, 2000));
	ev_close(&e);
}

static unsigned env_uint(const char *name, unsigned dflt)
{
	const char *s = getenv(name);

	return s && atoi(s) > 0 ? (unsigned)atoi(s) : dflt;
}

/* The kernel removes an address by itself when its valid lifetime runs
 * out; measure how late (the fence margin depends on it). */
static void test_addr_lifetime_expiry(void **state)
{
	unsigned runs = env_uint("VIPD_TEST_EXPIRY_RUNS", 1);
	unsigned life = env_uint("VIPD_TEST_EXPIRY_LIFE", 1);
	long lag[2], min[2] = { 1000000, 1000000 }, max[2] = { -1000000, -1000000 };
	unsigned char a4[4], a6[16];
	uint64_t t0[2];
	struct ev e;
	int idx;

	(void)state;
	pton(AF_INET, VIP4, a4);
	pton(AF_INET6, VIP6, a6);
	ev_open(&e);
	idx = link_get(e.nl, "vipdnl0").ifindex;
	for (unsigned r = 0; r < runs; r++) {
		ev_expect(&e, W_ADDRS, idx, NULL);
		ev_expect_addr(&e, AF_INET, a4, true);
		ev_expect_addr(&e, AF_INET6, a6, true);
		/* The kernel checks lifetimes on rounded ticks; vary the phase
		 * of each add so the samples are independent. */
		sleep_ms(r * 251 % 900);
		t0[0] = now_ms();
		assert_int_equal(nl_addr_add(e.nl, idx, AF_INET, a4, life, life, false), 0);
		sleep_ms(100 + r * 337 % 800);
		t0[1] = now_ms();
		assert_int_equal(nl_addr_add(e.nl, idx, AF_INET6, a6, life, life, false), 0);
		assert_int_equal(nl_addr_present(e.nl, idx, AF_INET, a4, NULL), 1);
		assert_int_equal(nl_addr_present(e.nl, idx, AF_INET6, a6, NULL), 1);
		assert_true(ev_wait(&e, life * 1000 + 3000));
		for (int i = 0; i < 2; i++) {
			lag[i] = (long)(e.addrs[i].at_ms - t0[i]) - (long)life * 1000;
			min[i] = lag[i] < min[i] ? lag[i] : min[i];
			max[i] = lag[i] > max[i] ? lag[i] : max[i];
			/* The kernel may expire up to HZ/50 (20 ms) early
			 * (ADDRCONF_TIMER_FUZZ_MINUS), and late: IPv6 lifetimes
			 * are checked on whole-second ticks (addrconf_verify
			 * rounds up, so up to 1 s), plus the kworker's delay
			 * on a loaded machine (measured up to a few hundred
			 * ms), plus our own wakeup: 2500. */
			assert_true(lag[i] >= -40);
			assert_true(lag[i] < 2500);
		}
		assert_int_equal(nl_addr_present(e.nl, idx, AF_INET, a4, NULL), 0);
		assert_int_equal(nl_addr_present(e.nl, idx, AF_INET6, a6, NULL), 0);
		print_message("expiry run=%u lifetime=%us ipv4_lag_ms=%ld ipv6_lag_ms=%ld\n",
		    r + 1, life, lag[0], lag[1]);
	}
	print_message("expiry runs=%u lifetime=%us ipv4_lag_ms=%ld..%ld ipv6_lag_ms=%ld..%ld\n",
	    runs, life, min[0], max[0], min[1], max[1]);
	ev_close(&e);
}

/* A replace refreshes the lifetime: the address outlives its first one. */
static void test_addr_replace_refreshes(void **state)
{
	unsigned char a4[4], a6[16];
	uint64_t t1;
	struct ev e;
	int idx;

	(void)state;
	pton(AF_INET, VIP4, a4);
	pton(AF_INET6, VIP6, a6);
	ev_open(&e);
	idx = link_get(e.nl, "vipdnl0").ifindex;
	ev_expect(&e, W_ADDRS, idx, NULL);
	ev_expect_addr(&e, AF_INET, a4, true);
	ev_expect_addr(&e, AF_INET6, a6, true);
	/* A first lifetime of 3 s leaves the replace 2.5 s to come (1 s was
	 * too short when this thread was not scheduled for a while). */
	assert_int_equal(nl_addr_add(e.nl, idx, AF_INET, a4, 3, 3, false), 0);
	assert_int_equal(nl_addr_add(e.nl, idx, AF_INET6, a6, 3, 3, false), 0);
	sleep_ms(500);
	t1 = now_ms();
	assert_true(nl_addr_present(e.nl, idx, AF_INET, a4, NULL) == 1);
	assert_true(nl_addr_present(e.nl, idx, AF_INET6, a6, NULL) == 1);
	assert_int_equal(nl_addr_add(e.nl, idx, AF_INET, a4, 6, 6, true), 0);
	assert_int_equal(nl_addr_add(e.nl, idx, AF_INET6, a6, 6, 6, true), 0);
	/* 6 s, the expiry lag's 2500 (test_addr_lifetime_expiry), and 1.5 s. */
	assert_true(ev_wait(&e, 10000));
	/* Unrefreshed, the first lifetime ends by t1 + 2.5 s (t1 is at least
	 * 0.5 s after the add), seen by t1 + 5 s with the lag allowed above;
	 * the refreshed one ends 6 s after the replace, give or take the
	 * kernel's 20 ms early fuzz: so a lost refresh cannot pass. */
	for (int i = 0; i < 2; i++)
		assert_true(e.addrs[i].at_ms >= t1 + 6000 - 40);
	ev_close(&e);
}

/* Overflow the monitor socket: resync is called, once, after the drain. */
static void test_watch_resync(void **state)
{
	unsigned char a[4];
	int small = 1, idx;
	struct ev e;

	(void)state;
	ev_open(&e);
	idx = link_get(e.nl, "vipdnl0").ifindex;
	assert_int_equal(setsockopt(nl_watch_fd(e.nl), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	pton(AF_INET, "198.18.1.0", a);
	for (int i = 1; i <= 100; i++) {
		a[3] = (unsigned char)i;
		assert_int_equal(nl_addr_add(e.nl, idx, AF_INET, a, UINT32_MAX, UINT32_MAX, false), 0);
		assert_int_equal(nl_addr_del(e.nl, idx, AF_INET, a, 32), 0);
	}
	ev_expect(&e, W_RESYNC, 0, NULL);
	assert_true(ev_wait(&e, 1000));
	assert_int_equal(e.resyncs, 1);
	assert_true(e.addr_events < 200);
	ev_close(&e);
}

/* ---- announcements ----------------------------------------------------- */

static int send_frame(int ifindex, const unsigned char *f, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	ssize_t n;

	assert_true(fd >= 0);
	memcpy(&sll.sll_protocol, f + 12, 2);
	memcpy(sll.sll_addr, f, 6);
	n = sendto(fd, f, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* Each ARP form on its own must move the peer's entry to our MAC: the
 * entry was just written, so only a frame the kernel recognises as
 * gratuitous may override it (neighbour locktime). */
static void test_announce_arp(void **state)
{
	struct nl *nl;
	unsigned char ip[4], f[FRAMES_ARP_LEN];
	struct nl_link l;
	char mac[32];

	(void)state;
	nl = nl_open(NULL, NULL, NULL);
	assert_non_null(nl);
	l = link_get(nl, "vipdnl0");
	mac_str(l.mac, mac);
	pton(AF_INET, VIP4, ip);

	peer_neigh_set(VIP4, OLD_MAC);
	assert_int_equal(frames_garp(f, sizeof(f), FRAMES_ARP_REQUEST, l.mac, ip), sizeof(f));
	assert_int_equal(send_frame(l.ifindex, f, sizeof(f)), 0);
	assert_true(peer_neigh_wait(VIP4, mac, 1000));

	peer_neigh_set(VIP4, OLD_MAC);
	assert_int_equal(frames_garp(f, sizeof(f), FRAMES_ARP_REPLY, l.mac, ip), sizeof(f));
	assert_int_equal(send_frame(l.ifindex, f, sizeof(f)), 0);
	assert_true(peer_neigh_wait(VIP4, mac, 1000));

	peer_neigh_set(VIP4, OLD_MAC);
	assert_int_equal(announce_send(l.ifindex, l.mac, AF_INET, ip), 0);
	assert_true(peer_neigh_wait(VIP4, mac, 1000));
	nl_close(nl);
}

static void test_announce_na(void **state)
{
	static const unsigned char other[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct nl *nl;
	unsigned char ip[16], f[FRAMES_NA_LEN];
	struct nl_link l;
	char mac[32], got[32];

	(void)state;
	nl = nl_open(NULL, NULL, NULL);
	assert_non_null(nl);
	l = link_get(nl, "vipdnl0");
	mac_str(l.mac, mac);
	pton(AF_INET6, VIP6, ip);

	/* Control: the peer drops an NA whose checksum is off by one, so the
	 * peer accepting ours below proves our checksum right. */
	peer_neigh_set(VIP6, OLD_MAC);
	assert_int_equal(frames_unsol_na(f, sizeof(f), other, ip), sizeof(f));
	f[57] ^= 1;
	assert_int_equal(send_frame(l.ifindex, f, sizeof(f)), 0);
	f[57] ^= 1;
	sleep_ms(200);
	peer_neigh(VIP6, got);
	assert_string_equal(got, OLD_MAC);
	/* ... and the same frame with the checksum intact is accepted. */
	assert_int_equal(send_frame(l.ifindex, f, sizeof(f)), 0);
	assert_true(peer_neigh_wait(VIP6, "02:00:00:00:00:99", 1000));

	peer_neigh_set(VIP6, OLD_MAC);
	assert_int_equal(announce_send(l.ifindex, l.mac, AF_INET6, ip), 0);
	assert_true(peer_neigh_wait(VIP6, mac, 1000));
	nl_close(nl);
}

static void test_announce_errors(void **state)
{
	static const unsigned char zero[6], mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	struct nl *nl;
	unsigned char ip[4], ip6[16];
	struct nl_link l;

	(void)state;
	nl = nl_open(NULL, NULL, NULL);
	assert_non_null(nl);
	l = link_get(nl, "vipdnl0");
	pton(AF_INET, VIP4, ip);
	assert_int_equal(announce_send(l.ifindex, l.mac, AF_PACKET, ip), -EAFNOSUPPORT);
	assert_int_equal(announce_send(0, l.mac, AF_INET, ip), -EINVAL);
	assert_int_equal(announce_send(l.ifindex, zero, AF_INET, ip), -EINVAL);
	assert_int_equal(announce_send(l.ifindex, mcast, AF_INET, ip), -EINVAL);
	assert_int_equal(announce_send(999999, l.mac, AF_INET, ip), -ENODEV);
	assert_int_equal(sh("ip link set vipdnl0 down"), 0);
	assert_int_equal(announce_send(l.ifindex, l.mac, AF_INET, ip), -ENETDOWN);
	pton(AF_INET6, VIP6, ip6);
	assert_int_equal(announce_send(l.ifindex, l.mac, AF_INET6, ip6), -ENETDOWN);
	assert_int_equal(sh("ip link set vipdnl0 up"), 0);
	nl_close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_link_lookup, lab_reset),
		cmocka_unit_test_setup(test_link_watch, lab_reset),
		cmocka_unit_test_setup(test_close_in_callback, lab_reset),
		cmocka_unit_test_setup(test_addr_ops_v4, lab_reset),
		cmocka_unit_test_setup(test_addr_ops_v6, lab_reset),
		cmocka_unit_test_setup(test_addr_watch, lab_reset),
		cmocka_unit_test_setup(test_addr_list_copies, lab_reset),
		cmocka_unit_test_setup(test_addr_watch_prefix, lab_reset),
		cmocka_unit_test_setup(test_addr_lifetime_expiry, lab_reset),
		cmocka_unit_test_setup(test_addr_replace_refreshes, lab_reset),
		cmocka_unit_test_setup(test_watch_resync, lab_reset),
		cmocka_unit_test_setup(test_announce_arp, lab_reset),
		cmocka_unit_test_setup(test_announce_na, lab_reset),
		cmocka_unit_test_setup(test_announce_errors, lab_reset),
	};
	int rc;

	log_init("test_netlink", LOG_LVL_INFO);
	if (geteuid() != 0) {
		skip_reason = "needs root (network namespaces)";
	} else if ((rc = lab_start()) < 0) {
		fprintf(stderr, "# lab setup failed: %s\n", strerror(-rc));
		skip_reason = "cannot create network namespaces";
	}
	/* One TAP skip line rather than cmocka's skip(): cmocka 1.1.5 prints
	 * skipped tests as "not ok N # SKIP", which tests/run-all counts as
	 * failures. */
	if (skip_reason) {
		printf("1..1\nok 1 - netlink lab # SKIP %s\n", skip_reason);
		lab_stop();
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	lab_stop();
	return rc;
}
