/*
 * privs.c - process hardening, capabilities (libcap), secret files.
 */
#include "privs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

void privs_early(void)
{
	unsetenv("SSLKEYLOGFILE");
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static const struct {
	cap_value_t cap;
	const char *name, *what;
} kept[] = {
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "to add and delete the address" },
	{ CAP_NET_RAW, "CAP_NET_RAW", "to send ARP and neighbour announcements" },
};
#define N_KEPT (sizeof(kept) / sizeof(kept[0]))

static bool is_kept(cap_value_t c)
{
	for (size_t i = 0; i < N_KEPT; i++)
		if (kept[i].cap == c)
			return true;
	return false;
}

/* Does the process hold anything beyond the kept capabilities, in any set? */
static bool needs_drop(cap_t now)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		cap_flag_value_t p = CAP_CLEAR, e = CAP_CLEAR, i = CAP_CLEAR;

		if (!CAP_IS_SUPPORTED(c))
			continue;
		if (cap_get_ambient(c) == 1)
			return true;
		if (is_kept(c)) {
			cap_get_flag(now, c, CAP_EFFECTIVE, &e);
			if (e != CAP_SET) /* permitted (checked before) but not raised */
				return true;
			continue;
		}
		if (cap_get_bound(c) == 1)
			return true;
		cap_get_flag(now, c, CAP_PERMITTED, &p);
		cap_get_flag(now, c, CAP_EFFECTIVE, &e);
		cap_get_flag(now, c, CAP_INHERITABLE, &i);
		if (p == CAP_SET || e == CAP_SET || i == CAP_SET)
			return true;
	}
	return false;
}

int privs_drop(char *why, size_t len)
{
	cap_t now = cap_get_proc(), want = NULL;
	cap_value_t keep[N_KEPT];
	size_t o = 0;
	int rc = 0;

	why[0] = '\0';
	if (now == NULL) {
		rc = -errno;
		snprintf(why, len, "cannot read the capabilities: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < N_KEPT; i++) {
		cap_flag_value_t v = CAP_CLEAR;

		keep[i] = kept[i].cap;
		if (cap_get_flag(now, kept[i].cap, CAP_PERMITTED, &v) < 0 || v != CAP_SET) {
			int n = snprintf(why + o, len - o, "%smissing %s (%s)",
			    o ? "; " : "", kept[i].name, kept[i].what);
			if (n > 0 && (size_t)n < len - o)
				o += (size_t)n;
			rc = -EPERM;
		}
	}
	if (rc < 0) {
		snprintf(why + o, len - o, "; run as root, or grant them "
		    "(systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW)");
		goto out;
	}
	if (!needs_drop(now))
		goto out; /* e.g. under the systemd unit, whose filter denies capset */
	/* The bounding set first (dropping from it needs CAP_SETPCAP, which
	 * goes with the rest below); a capability we lack is skipped. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (!is_kept(c) && CAP_IS_SUPPORTED(c) && cap_get_bound(c) == 1 && cap_drop_bound(c) < 0 &&
		    errno != EPERM) {
			rc = -errno;
			snprintf(why, len, "cannot drop capability %d from the bounding set: %s",
			    (int)c, strerror(errno));
			goto out;
		}
	}
	(void)cap_reset_ambient();
	want = cap_init(); /* everything clear */
	if (want == NULL || cap_set_flag(want, CAP_PERMITTED, N_KEPT, keep, CAP_SET) < 0 ||
	    cap_set_flag(want, CAP_EFFECTIVE, N_KEPT, keep, CAP_SET) < 0 ||
	    cap_set_proc(want) < 0) {
		rc = -errno;
		snprintf(why, len, "cannot set the capabilities: %s", strerror(errno));
	}
out:
	cap_free(now);
	cap_free(want);
	return rc;
}

#define SECRET_MAX 4096 /* the first line must be within this */

int privs_read_secret(const char *path, char **out, char *why, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), rc = 0;
	char *line = NULL;
	ssize_t n = 0;
	size_t got = 0;
	struct stat st;

	*out = NULL;
	why[0] = '\0';
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(why, len, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EPERM;
		snprintf(why, len, "is not a regular file");
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		rc = -EPERM;
		snprintf(why, len, "must be owned by root (or the user vipd runs as), "
		    "not uid %u", (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_mode & 077) {
		rc = -EPERM;
		snprintf(why, len, "must not be readable or writable by group or others "
		    "(mode %04o; chmod 600)", (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* read(2) into our own buffer, not stdio's, so every copy of the
	 * secret can be scrubbed. One byte more than the limit, to tell a
	 * line of exactly SECRET_MAX bytes from a longer one. */
	line = malloc(SECRET_MAX + 2);
	if (line == NULL)
		abort();
	while (got < SECRET_MAX + 1) {
		n = read(fd, line + got, SECRET_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(why, len, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	line[got] = '\0';
	if (strcspn(line, "\r\n") > SECRET_MAX) {
		rc = -EMSGSIZE;
		snprintf(why, len, "has a first line longer than %d bytes (the limit "
		    "for a secret)", SECRET_MAX);
		goto out;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0') {
		rc = -ENODATA;
		snprintf(why, len, "is empty");
		goto out;
	}
	*out = strdup(line);
	if (*out == NULL)
		abort();
out:
	if (line != NULL) {
		explicit_bzero(line, SECRET_MAX + 2);
		free(line);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}
