/*
 * testkit.h - helpers the unit tests on the fakes share: bringing up and
 * down a loop and an etcd client on fake_loop and fake_etcd, and playing
 * etcd's part (range kvs, the lease grant, the keepalives).
 *
 * Linked like the fakes (build/tests/testkit.o, given before libvipd.a),
 * into every test that links them.
 */
#ifndef VIPD_TESTKIT_H
#define VIPD_TESTKIT_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct etcd;
struct etcd_req;
struct loop;

/* Every fake back to its start: the virtual clock at FAKE_LOOP_T0,
 * nothing recorded, no link known. */
void testkit_reset_fakes(void);
/* Log at ERROR and above as ident, then testkit_reset_fakes(). */
void testkit_start(const char *ident);
/* Capture what the log writes (its stderr) from now on, at level info
 * and above; testkit_log_end stops, stores it in *out (caller frees) and
 * puts the level back to error. Not nested. */
void testkit_log_begin(void);
void testkit_log_end(char **out);
/* testkit_start(ident), then a new loop and an etcd client on it
 * (*loop, *etcd). */
void testkit_open(const char *ident, struct loop **loop, struct etcd **etcd);
/* Free etcd, then the loop, then testkit_reset_fakes(). */
void testkit_close(struct loop *loop, struct etcd *etcd);
/* The config of the YAML text (len bytes), which must load. */
struct cfg *testkit_cfg(const char *yaml, size_t len);

/* One kv of a range reply, JSON text (caller frees): key and value in
 * base64, lease, create_revision and mod_revision both crev. */
char *testkit_kv(const char *key, const char *value, int64_t lease, int64_t crev);
/* Same, from bytes (keys and values may hold NULs). */
char *testkit_kvn(const char *key, size_t klen, const char *value, size_t vlen,
    int64_t lease, int64_t crev);

/* Fire the timers due now, then answer the pending lease grant with
 * lease and TTL 5 s. */
void testkit_grant(int64_t lease);
/* The pending keepalive sent at time at (loop_now_ms), NULL if none. */
struct etcd_req *testkit_keepalive_at(uint64_t at);

#endif
