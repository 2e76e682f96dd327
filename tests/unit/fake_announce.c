/*
 * fake_announce.c - announce.h for unit tests (fake_announce.h).
 */
#include "fake_announce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "announce.h"
#include "fake_loop.h"
#include "loop.h"
#include "xmem.h"

static struct fake_announce *sent;
static size_t n_sent, cap_sent;
static int fail_err;

void fake_announce_reset(void)
{
	free(sent);
	sent = NULL;
	n_sent = cap_sent = 0;
	fail_err = 0;
}

void fake_announce_fail(int err)
{
	fail_err = err;
}

size_t fake_announce_count(void)
{
	return n_sent;
}

const struct fake_announce *fake_announce_nth(size_t i)
{
	return i < n_sent ? &sent[i] : NULL;
}

int announce_send(int ifindex, const unsigned char mac[6], int family, const void *addr)
{
	struct fake_announce *a;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (ifindex <= 0 || mac == NULL || addr == NULL)
		return -EINVAL;
	if (fail_err)
		return fail_err;
	if (n_sent == cap_sent) {
		cap_sent = cap_sent ? cap_sent * 2 : 16;
		sent = xrealloc(sent, cap_sent * sizeof(*sent));
	}
	a = &sent[n_sent++];
	memset(a, 0, sizeof(*a));
	a->ifindex = ifindex;
	a->family = family;
	memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
	memcpy(a->mac, mac, 6);
	a->at_ms = loop_now_ms();
	a->seq = fake_seq_next();
	return 0;
}
