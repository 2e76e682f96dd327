/*
 * stderr_cap.h - capture what a unit test's code writes to stderr (the
 * log) into a temporary file, then hand it back as text and echo it.
 *
 * Header-only (static inline): the tests that use it (test_child,
 * test_health, test_etcd, test_netlink) run on the real loop and link no
 * testkit.o; testkit_log_begin/_end is the same for the tests on the
 * fakes, with the log level raised to info.
 */
#ifndef VIPD_STDERR_CAP_H
#define VIPD_STDERR_CAP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

struct stderr_cap {
	FILE *f;                 /* the temporary file stderr points at */
	int saved;               /* the real stderr, dup()ed */
};

/* stderr into a new temporary file from now on (a failure fails the
 * test). Not nested. */
static inline void stderr_cap_begin(struct stderr_cap *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(fileno(c->f), STDERR_FILENO), STDERR_FILENO);
}

/* stderr back; what was written, up to size - 1 bytes, into buf
 * (NUL-terminated) and echoed to the real stderr (the test's output keeps
 * the log). Returns the bytes kept. */
static inline size_t stderr_cap_end(struct stderr_cap *c, char *buf, size_t size)
{
	size_t n;

	fflush(stderr);
	assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	rewind(c->f);
	n = fread(buf, 1, size - 1, c->f);
	buf[n] = '\0';
	fclose(c->f);
	fprintf(stderr, "%s", buf);
	return n;
}

#endif
