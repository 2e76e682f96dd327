/*
 * fake_conflict.h - the test side of fake_conflict.c: conflict.h and
 * peers.h without sockets or etcd. Linked before libvipd.a (Makefile
 * FAKES), it replaces conflict.o and peers.o in the tests on the fakes.
 *
 * By default conflict_probe() fails at once with -EOPNOTSUPP (as when a
 * probe cannot be sent): vip.c then takes over without a probe, as it did
 * before probes existed, so the tests of the election and the address
 * run unchanged. fake_conflict_accept(true) makes it start a probe
 * instead; fake_conflict_answer() then delivers its result.
 */
#ifndef VIPD_FAKE_CONFLICT_H
#define VIPD_FAKE_CONFLICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void fake_conflict_reset(void);
void fake_conflict_accept(bool accept);
/* Probes started (accepted) so far, and whether one is in flight. */
size_t fake_conflict_probes(void);
bool fake_conflict_pending(void);
/* Deliver the pending probe's result (n_peer peer MACs, n_foreign
 * foreign ones, MACs 02:..:0b and 02:..:66). */
void fake_conflict_answer(unsigned n_peer, unsigned n_foreign);
/* MACs published by peers_publish, last one (zero if none). */
int64_t fake_peers_lease(void);

#endif
