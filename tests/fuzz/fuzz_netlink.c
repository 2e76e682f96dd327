/*
 * fuzz_netlink.c - libFuzzer harness for rtnetlink messages as vipd parses
 * them (src/netlink.c, included: its callbacks are static).
 *
 * The input is one datagram as recv() would return it from the kernel,
 * cut to its well-framed messages as nl_recv() does (nl_framed_len). It
 * goes through every path netlink.c has for a datagram:
 *   - the monitor: mnl_cb_run(buf, len, 0, 0, nl_watch_msg, nl), exactly
 *     as nl_watch_cb runs it, with watch callbacks that check what they
 *     are given; the first byte also picks after how many callbacks one
 *     of them calls nl_close() (as a VIP's handler may), after which no
 *     callback may run;
 *   - a request's replies: nl_run() with each data callback a request
 *     uses (none for add/delete: the ACK; link lookup, link dump, address
 *     dump), matched on the sequence number and port id of the first
 *     message, so most inputs get past the match.
 *
 * Checks: no crash, leak or undefined behaviour; links have ifindex > 0
 * and a terminated name; addresses are IPv4 or IPv6 with ifindex as sent;
 * nl_run answers 1, 0 or -errno; the extended-ACK text is terminated.
 * Seeds: tests/fuzz/corpus/netlink (capture-seeds, from a real kernel).
 */
#include "../../src/netlink.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define check(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)

static struct nl fuzz_nl;      /* 128 KiB: not on the stack */
static unsigned events, close_after;

static void after_event(void)
{
	check(!fuzz_nl.closed);
	if (++events == close_after)
		nl_close(&fuzz_nl); /* dispatching > 0: only marks it closed */
}

static void link_changed(void *arg, const struct nl_link *link)
{
	check(arg == &fuzz_nl);
	check(link->ifindex > 0 && memchr(link->name, '\0', sizeof(link->name)) != NULL);
	after_event();
}

static void link_removed(void *arg, int ifindex, const char *name)
{
	check(arg == &fuzz_nl);
	check(ifindex > 0 && strnlen(name, IFNAMSIZ) < IFNAMSIZ);
	after_event();
}

static void addr_changed(void *arg, int ifindex, int family, const void *addr,
                         unsigned prefixlen, bool removed)
{
	unsigned char copy[16];

	check(arg == &fuzz_nl);
	check(family == AF_INET || family == AF_INET6);
	memcpy(copy, addr, nl_addr_len(family)); /* ASan: readable */
	(void)ifindex;
	check(prefixlen <= (family == AF_INET ? 32u : 128u));
	(void)removed;
	after_event();
}

static void resync(void *arg)
{
	(void)arg;
	abort(); /* only a socket overflow asks for it */
}

static const struct nl_watch_ops ops = {
	.link_changed = link_changed,
	.link_removed = link_removed,
	.addr_changed = addr_changed,
	.resync = resync,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	fuzz_nl.ops = &ops;
	fuzz_nl.arg = &fuzz_nl;
	fuzz_nl.mon_fd = -1;
	return 0;
}

/* One request's replies in buf, through nl_run with data callback cb. */
static void request(const char *buf, size_t len, mnl_cb_t cb, void *data)
{
	const struct nlmsghdr *first = (const void *)buf;
	struct nl_req rq = { .data_cb = cb, .data = data };
	uint32_t seq = 1;
	int rc;

	fuzz_nl.portid = 4242;
	if (len >= sizeof(*first)) {
		seq = first->nlmsg_seq;
		fuzz_nl.portid = first->nlmsg_pid;
	}
	errno = 0;
	rc = nl_run(&fuzz_nl, buf, len, seq, &rq);
	check(rc == 1 || rc == 0 || (rc < 0 && rc > -4096));
	check(memchr(rq.ext, '\0', sizeof(rq.ext)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nl_link link;
	struct nl_link_list list = { 0 };
	unsigned char want[16] = { 198, 18, 0, 100 };
	struct nl_addr found[4];
	struct nl_addr_find find = { .family = AF_INET, .addr = want, .out = found,
	    .max = sizeof(found) / sizeof(found[0]) };
	char *buf;

	/* netlink.c reads into a 64 KiB buffer; here the datagram gets a heap
	 * block of its own size (aligned, as the kernel's datagrams are), so
	 * ASan sees any read past its end, not stale bytes. */
	if (size > sizeof(fuzz_nl.monbuf))
		size = sizeof(fuzz_nl.monbuf);
	buf = xmalloc(size ? size : 1);
	memcpy(buf, data, size);
	size = nl_framed_len(buf, size); /* as nl_recv hands it on */

	/* The monitor, closed after the (first byte mod 8)-th callback. */
	events = 0;
	close_after = size ? data[0] % 8 : 0;
	fuzz_nl.closed = false;
	fuzz_nl.dispatching = 1;
	(void)mnl_cb_run(buf, size, 0, 0, nl_watch_msg, &fuzz_nl);
	fuzz_nl.dispatching = 0;
	fuzz_nl.closed = false;

	/* Requests: mnl_cb_run2 leaves the buffer alone, so reuse it. */
	request(buf, size, NULL, NULL);
	request(buf, size, nl_cb_link_one, &link);
	request(buf, size, nl_cb_link_list, &list);
	for (size_t i = 0; i < list.n; i++)
		check(list.v[i].ifindex > 0);
	free(list.v);
	request(buf, size, nl_cb_addr_find, &find);
	for (size_t i = 0; i < find.n && i < find.max; i++)
		check(found[i].family == AF_INET && found[i].prefixlen <= 32);
	find.family = AF_INET6;
	find.n = 0;
	request(buf, size, nl_cb_addr_find, &find);
	for (size_t i = 0; i < find.n && i < find.max; i++)
		check(found[i].family == AF_INET6 && found[i].prefixlen <= 128);
	/* Every address of any link (the same-subnet check's listing). */
	find.addr = NULL;
	find.n = 0;
	request(buf, size, nl_cb_addr_find, &find);
	free(buf);
	return 0;
}
