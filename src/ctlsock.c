/*
 * ctlsock.c - the control socket (ctlsock.h).
 */
#include "ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "ctlproto.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

struct conn {
	struct ctlsock *s;
	int fd;                  /* -1 = slot free */
	uid_t uid;
	char in[CTL_MAX_REQUEST];
	size_t in_len;
	char *out;               /* the answer and its LF, while being written */
	size_t out_len, out_off;
	struct loop_timer *deadline;
};

struct ctlsock {
	struct loop *loop;
	char *path;
	int fd;
	int lock_fd;              /* <path>.lock, flock()ed for our lifetime */
	dev_t dev;
	ino_t ino;
	ctlsock_handler *handler;
	void *arg;
	struct conn conns[CTLSOCK_MAX_CONNS];
};

static void conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	loop_fd_del(c->s->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->in_len = c->out_len = c->out_off = 0;
	loop_timer_disarm(c->deadline);
}

static void on_deadline(void *arg)
{
	struct conn *c = arg;

	log_debug("control: connection dropped: no complete exchange within %u ms",
	    CTLSOCK_DEADLINE_MS);
	conn_close(c);
}

/* Write what is left of the answer; close when done or on an error. */
static void conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			(void)loop_fd_mod(c->s->loop, c->fd, LOOP_WRITE);
			return;
		}
		if (n <= 0) {
			log_debug("control: answer not delivered: %s", strerror(errno));
			break;
		}
		c->out_off += (size_t)n;
	}
	conn_close(c);
}

/* Queue text (taken over; NULL = an internal error) plus a LF. */
static void conn_answer(struct conn *c, char *text)
{
	size_t n;

	if (text == NULL)
		text = xstrdup("{\"ok\":false,\"error\":\"internal error\"}");
	n = strlen(text);
	c->out = xrealloc(text, n + 2);
	c->out[n] = '\n';
	c->out[n + 1] = '\0';
	c->out_len = n + 1;
	c->out_off = 0;
	(void)loop_fd_mod(c->s->loop, c->fd, 0);
	conn_flush(c);
}

static char *error_json(const char *why)
{
	json_t *j = json_pack("{s:b, s:s}", "ok", 0, "error", why);
	char *t = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return t;
}

static void conn_read(struct conn *c)
{
	struct ctl_req req;
	const char *why = NULL;
	ssize_t n;
	int r;

	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* Gone before a whole request: nobody to answer. */
		log_debug("control: connection closed before a complete request");
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	r = ctlproto_parse(c->in, c->in_len, &req, &why);
	if (r == 0)
		return;
	if (r < 0) {
		log_debug("control: request refused uid=%u: %s", (unsigned)c->uid, why);
		conn_answer(c, error_json(why));
		return;
	}
	conn_answer(c, c->s->handler(c->s->arg, &req, c->uid));
}

static void on_conn(int fd, unsigned events, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (c->out != NULL) {
		if (events & (LOOP_WRITE | LOOP_ERROR))
			conn_flush(c);
		return;
	}
	if (events & (LOOP_READ | LOOP_ERROR))
		conn_read(c);
}

static void on_listen(int fd, unsigned events, void *arg)
{
	struct ctlsock *s = arg;
	struct conn *c = NULL;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	for (size_t i = 0; i < CTLSOCK_MAX_CONNS && c == NULL; i++)
		if (s->conns[i].fd < 0)
			c = &s->conns[i];
	if (c == NULL) {
		log_debug("control: %u connections open; dropping a new one", CTLSOCK_MAX_CONNS);
		close(cfd);
		return;
	}
	if (loop_fd_add(s->loop, cfd, LOOP_READ, on_conn, c) < 0) {
		log_warnx("control: cannot watch a connection");
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->uid = getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 ? cred.uid : (uid_t)-1;
	loop_timer_arm(c->deadline, CTLSOCK_DEADLINE_MS);
}

/* Is a daemon serving path? 1 yes, 0 no (connection refused: stale),
 * -errno when it cannot be told. */
static int live(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	memcpy(a.sun_path, path, strlen(path));
	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	/* EAGAIN: its backlog is full - somebody is listening. */
	r = r == 0 || errno == EAGAIN ? 1 : errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	return r;
}

/* Open and lock <path>.lock into *lock_fd: 0, or -1 with why filled. */
static int take_lock(const char *path, int *lock_fd, char *why, size_t why_size)
{
	char *lp = xasprintf("%s.lock", path);
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (fd >= 0 && errno == EWOULDBLOCK)
			snprintf(why, why_size, "%s is served by another process (it holds %s: "
			    "another vipd running with this configuration?); refusing to start",
			    path, lp);
		else
			snprintf(why, why_size, "%s: %s", lp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(lp);
		return -1;
	}
	free(lp);
	*lock_fd = fd;
	return 0;
}

/* Make way for the socket at path (taking its lock into *lock_fd first):
 * 0, or -1 with why filled (no lock held then). */
static int clear_path(const char *path, int *lock_fd, char *why, size_t why_size)
{
	struct stat st;
	char *dir = xstrdup(path);
	int r;

	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST) {
		snprintf(why, why_size, "cannot create the directory of %s: %s", path,
		    strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	/* One vipd per socket, decided by a lock rather than by a probe
	 * (two vipds starting at once could both find the old socket
	 * stale): flock() on <path>.lock, held until exit (the kernel drops
	 * it with the process, also after a crash). */
	if (take_lock(path, lock_fd, why, why_size) < 0)
		return -1;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (snprintf(why, why_size, "%s: %s", path,
		    strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, why_size, "%s exists and is not a socket; not replacing it", path);
		return -1;
	}
	r = live(path);
	if (r == 1) {
		snprintf(why, why_size, "%s is served by another process (another vipd running "
		    "with this configuration?); refusing to start", path);
		return -1;
	}
	if (r < 0) {
		snprintf(why, why_size, "%s: cannot tell whether it is in use: %s", path,
		    strerror(-r));
		return -1;
	}
	log_info("control: replacing the stale socket %s (nobody listens on it)", path);
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(why, why_size, "cannot remove the stale socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct ctlsock *ctlsock_open(struct loop *loop, const char *path, ctlsock_handler *h,
    void *arg, char *why, size_t why_size)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ctlsock *s;
	struct stat st;
	mode_t old;
	int fd, r, lock_fd = -1;

	if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(a.sun_path)) {
		snprintf(why, why_size, "control socket path must be absolute and shorter than "
		    "%zu bytes", sizeof(a.sun_path));
		return NULL;
	}
	if (clear_path(path, &lock_fd, why, why_size) < 0) {
		if (lock_fd >= 0)
			close(lock_fd);
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_size, "socket: %s", strerror(errno));
		close(lock_fd);
		return NULL;
	}
	memcpy(a.sun_path, path, strlen(path));
	old = umask(0177); /* never a moment with a wider mode */
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0 || stat(path, &st) < 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		if (r == 0)
			unlink(path);
		close(fd);
		close(lock_fd);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->lock_fd = lock_fd;
	s->loop = loop;
	s->path = xstrdup(path);
	s->fd = fd;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->handler = h;
	s->arg = arg;
	for (size_t i = 0; i < CTLSOCK_MAX_CONNS; i++) {
		s->conns[i].s = s;
		s->conns[i].fd = -1;
		s->conns[i].deadline = loop_timer_new(loop, on_deadline, &s->conns[i]);
	}
	if (loop_fd_add(loop, fd, LOOP_READ, on_listen, s) < 0) {
		snprintf(why, why_size, "%s: cannot watch the socket", path);
		ctlsock_close(s);
		return NULL;
	}
	log_info("control: listening on %s", path);
	return s;
}

/* group (a name, or a number) as a gid: 0, or -1 with why filled. */
static int group_gid(const char *group, gid_t *gid, char *why, size_t why_size)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long n;
	int r;

	errno = 0;
	n = strtoul(group, &end, 10);
	if (group[0] >= '0' && group[0] <= '9' && *end == '\0' && errno == 0 &&
	    n < (unsigned long)(gid_t)-1) {
		*gid = (gid_t)n;
		return 0;
	}
	r = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
	if (res == NULL) {
		snprintf(why, why_size, "vipd.controlGroup %s: %s", group,
		    r != 0 ? strerror(r) : "no such group");
		return -1;
	}
	*gid = gr.gr_gid;
	return 0;
}

int ctlsock_group_check(const char *group, char *why, size_t why_size)
{
	gid_t gid;

	return group_gid(group, &gid, why, why_size);
}

int ctlsock_set_group(struct ctlsock *s, const char *group, char *why, size_t why_size)
{
	struct stat st;
	gid_t gid;

	if (group_gid(group, &gid, why, why_size) < 0)
		return -1;
	/* Already the group (vipd runs with it as its group, as the unit's
	 * Group= makes it): no chown, which systemd's filter denies. */
	if (stat(s->path, &st) < 0 || (st.st_gid != gid && chown(s->path, (uid_t)-1, gid) < 0) ||
	    chmod(s->path, 0660) < 0) {
		snprintf(why, why_size, "%s: group %s: %s%s", s->path, group, strerror(errno),
		    errno == EPERM ? " (under systemd: set Group= in the unit, vipd(8) SYSTEMD)" : "");
		return -1;
	}
	return 0;
}

void ctlsock_close(struct ctlsock *s)
{
	struct stat st;

	if (s == NULL)
		return;
	for (size_t i = 0; i < CTLSOCK_MAX_CONNS; i++) {
		conn_close(&s->conns[i]);
		loop_timer_free(s->conns[i].deadline);
	}
	loop_fd_del(s->loop, s->fd);
	close(s->fd);
	/* Only our own file: a successor may have replaced it already. */
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	/* The lock last, once the file is gone; the lock file stays (deleting
	 * it would race with a successor that just opened it). */
	close(s->lock_fd);
	free(s->path);
	free(s);
}
