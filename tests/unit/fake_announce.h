/*
 * fake_announce.h - the test side of fake_announce.c, an announce.h that
 * records every round instead of sending frames (linked before libvipd.a
 * in place of announce.o).
 */
#ifndef VIPD_FAKE_ANNOUNCE_H
#define VIPD_FAKE_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

struct fake_announce {
	int ifindex;
	int family;
	unsigned char addr[16];
	unsigned char mac[6];
	uint64_t at_ms;   /* loop_now_ms() */
	uint64_t seq;     /* fake_seq_next() */
};

void fake_announce_reset(void);
/* Every later announce_send returns err (< 0; 0 = succeed again). Failed
 * rounds are not recorded. */
void fake_announce_fail(int err);
size_t fake_announce_count(void);
const struct fake_announce *fake_announce_nth(size_t i);

#endif
