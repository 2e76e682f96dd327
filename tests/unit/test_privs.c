/*
 * test_privs.c - privs.c: secret files only root can read, capabilities
 * kept after start-up, no key log file and no core dumps. The capability
 * cases run in a forked child (they change the process) and need root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"

static char dir[] = "/tmp/test_privs.XXXXXX";

static char *write_file(const char *name, const char *text, mode_t mode)
{
	char *path = NULL;
	int fd;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* Before the fix a world-readable passwordFile was read without a word. */
static void test_secret_file_rules(void **state)
{
	char why[256], *out = (char *)1, *p, *link = NULL;

	(void)state;
	p = write_file("ok", "s3cret\r\nsecond line\n", 0600);
	assert_int_equal(privs_read_secret(p, &out, why, sizeof(why)), 0);
	assert_string_equal(out, "s3cret");
	free(out);
	assert_true(asprintf(&link, "%s/link", dir) > 0);
	assert_int_equal(symlink(p, link), 0);
	assert_true(privs_read_secret(link, &out, why, sizeof(why)) < 0);
	assert_null(out);
	unlink(link);
	free(link);
	unlink(p);
	free(p);

	p = write_file("world", "pw\n", 0644);
	assert_int_equal(privs_read_secret(p, &out, why, sizeof(why)), -EPERM);
	assert_null(out);
	assert_non_null(strstr(why, "mode 0644; chmod 600"));
	unlink(p);
	free(p);

	p = write_file("group", "pw\n", 0640);
	assert_int_equal(privs_read_secret(p, &out, why, sizeof(why)), -EPERM);
	unlink(p);
	free(p);

	p = write_file("empty", "\n", 0400);
	assert_int_equal(privs_read_secret(p, &out, why, sizeof(why)), -ENODATA);
	assert_string_equal(why, "is empty");
	unlink(p);
	free(p);

	/* A first line over the limit was cut at 4096 bytes without a word:
	 * a wrong password, then a confusing authentication failure. */
	{
		char *big = malloc(4097 + 2);

		assert_non_null(big);
		memset(big, 'x', 4096);
		strcpy(big + 4096, "\n");
		p = write_file("max", big, 0600);
		assert_int_equal(privs_read_secret(p, &out, why, sizeof(why)), 0);
		assert_int_equal(strlen(out), 4096);
		free(out);
		unlink(p);
		free(p);
		for (int end = 0; end < 2; end++) {
			memset(big, 'x', 4097);
			strcpy(big + 4097, end ? "\n" : "");
			p = write_file("long", big, 0600);
			out = (char *)1;
			assert_int_equal(privs_read_secret(p, &out, why, sizeof(why)),
			    -EMSGSIZE);
			assert_null(out);
			assert_string_equal(why, "has a first line longer than 4096 bytes "
			    "(the limit for a secret)");
			unlink(p);
			free(p);
		}
		free(big);
	}
	if (geteuid() == 0) {
		p = write_file("other", "pw\n", 0600);
		assert_int_equal(chown(p, 12345, 12345), 0);
		assert_int_equal(privs_read_secret(p, &out, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "must be owned by root"));
		unlink(p);
		free(p);
	}
	assert_int_equal(privs_read_secret("/nonexistent/pw", &out, why, sizeof(why)), -ENOENT);
	assert_int_equal(privs_read_secret(dir, &out, why, sizeof(why)), -EPERM);
}

/* The capability sets of this process from /proc/self/status. */
static unsigned long long cap_line(const char *which)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long v = ~0ull;

	if (f == NULL)
		return v;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, which, strlen(which)) == 0)
			v = strtoull(line + strlen(which), NULL, 16);
	fclose(f);
	return v;
}

/* Run fn in a child; returns its exit status. */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

/* Root only (the test is skipped otherwise): fn in a child exits 0. */
static void in_root_child(int (*fn)(void))
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_child(fn), 0);
}

#define KEPT ((1ull << CAP_NET_ADMIN) | (1ull << CAP_NET_RAW))

static int child_drop(void)
{
	char why[512];

	if (privs_drop(why, sizeof(why)) != 0) {
		fprintf(stderr, "privs_drop: %s\n", why);
		return 1;
	}
	if (cap_line("CapEff:") != KEPT || cap_line("CapPrm:") != KEPT)
		return 2;
	if (cap_line("CapBnd:") != KEPT || cap_line("CapInh:") != 0 || cap_line("CapAmb:") != 0)
		return 3;
	/* Nothing left to drop (as under the systemd unit): still fine. */
	if (privs_drop(why, sizeof(why)) != 0 || cap_line("CapEff:") != KEPT)
		return 4;
	return 0;
}

static void test_drop_keeps_net_admin_and_raw(void **state)
{
	(void)state;
	in_root_child(child_drop);
}

static int child_missing(void)
{
	cap_t c = cap_get_proc();
	cap_value_t raw = CAP_NET_RAW;
	char why[512];

	if (c == NULL || cap_set_flag(c, CAP_PERMITTED, 1, &raw, CAP_CLEAR) < 0 ||
	    cap_set_flag(c, CAP_EFFECTIVE, 1, &raw, CAP_CLEAR) < 0 || cap_set_proc(c) < 0)
		return 1;
	cap_free(c);
	if (privs_drop(why, sizeof(why)) != -EPERM)
		return 2;
	if (strstr(why, "missing CAP_NET_RAW") == NULL || strstr(why, "CAP_NET_ADMIN (") != NULL)
		return 3;
	return 0;
}

static void test_drop_names_the_missing_capability(void **state)
{
	(void)state;
	in_root_child(child_missing);
}

static int child_early(void)
{
	setenv("SSLKEYLOGFILE", "/tmp/keys", 1);
	privs_early();
	if (getenv("SSLKEYLOGFILE") != NULL)
		return 1;
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 2;
}

static void test_early_no_keylog_not_dumpable(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_early), 0);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_file_rules),
		cmocka_unit_test(test_drop_keeps_net_admin_and_raw),
		cmocka_unit_test(test_drop_names_the_missing_capability),
		cmocka_unit_test(test_early_no_keylog_not_dumpable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
