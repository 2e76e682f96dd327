/*
 * testkit.c - helpers the unit tests on the fakes share (testkit.h).
 */
#include "testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "etcd.h"
#include "etcd_codec.h"
#include "fake_announce.h"
#include "fake_etcd.h"
#include "fake_loop.h"
#include "fake_nl.h"
#include "log.h"
#include "loop.h"

void testkit_reset_fakes(void)
{
	fake_loop_reset();
	fake_etcd_reset();
	fake_nl_reset();
	fake_announce_reset();
}

void testkit_start(const char *ident)
{
	log_init(ident, LOG_LVL_ERROR);
	testkit_reset_fakes();
}

static int log_saved_fd = -1;
static FILE *log_file;

void testkit_log_begin(void)
{
	assert_int_equal(log_saved_fd, -1);
	fflush(stderr);
	log_file = tmpfile();
	assert_non_null(log_file);
	log_saved_fd = dup(STDERR_FILENO);
	assert_true(log_saved_fd >= 0);
	assert_int_equal(dup2(fileno(log_file), STDERR_FILENO), STDERR_FILENO);
	log_setlevel(LOG_LVL_INFO);
}

void testkit_log_end(char **out)
{
	long n;

	fflush(stderr);
	log_setlevel(LOG_LVL_ERROR);
	assert_int_equal(dup2(log_saved_fd, STDERR_FILENO), STDERR_FILENO);
	close(log_saved_fd);
	log_saved_fd = -1;
	assert_int_equal(fseek(log_file, 0, SEEK_END), 0);
	n = ftell(log_file);
	assert_true(n >= 0);
	rewind(log_file);
	*out = calloc(1, (size_t)n + 1);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)n, log_file), (size_t)n);
	fclose(log_file);
	log_file = NULL;
}

void testkit_open(const char *ident, struct loop **loop, struct etcd **etcd)
{
	testkit_start(ident);
	*loop = loop_new();
	*etcd = etcd_new(*loop, NULL);
}

void testkit_close(struct loop *loop, struct etcd *etcd)
{
	etcd_free(etcd);
	loop_free(loop);
	testkit_reset_fakes();
}

struct cfg *testkit_cfg(const char *yaml, size_t len)
{
	struct cfg *cfg = cfg_load_string("test", yaml, len, stderr);

	assert_non_null(cfg);
	return cfg;
}

char *testkit_kvn(const char *key, size_t klen, const char *value, size_t vlen,
    int64_t lease, int64_t crev)
{
	char *k = etcd_b64_encode(key, klen);
	char *v = etcd_b64_encode(value, vlen);
	char *s = NULL;

	assert_true(asprintf(&s, "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%lld\","
	    "\"create_revision\":\"%lld\",\"mod_revision\":\"%lld\"}",
	    k, v, (long long)lease, (long long)crev, (long long)crev) > 0);
	free(k);
	free(v);
	return s;
}

char *testkit_kv(const char *key, const char *value, int64_t lease, int64_t crev)
{
	return testkit_kvn(key, strlen(key), value, strlen(value), lease, crev);
}

void testkit_grant(int64_t lease)
{
	struct etcd_req *g;

	fake_loop_run_due();
	g = fake_etcd_pending("/v3/lease/grant");
	assert_non_null(g);
	fake_etcd_reply(g, "{\"ID\":\"%lld\",\"TTL\":\"5\"}", (long long)lease);
}

struct etcd_req *testkit_keepalive_at(uint64_t at)
{
	for (size_t i = 0; i < fake_etcd_count(); i++) {
		struct etcd_req *r = fake_etcd_nth(i);

		if (strcmp(fake_req_path(r), "/v3/lease/keepalive") == 0 &&
		    fake_req_sent_ms(r) == at && fake_req_state(r) == FAKE_REQ_PENDING)
			return r;
	}
	return NULL;
}
