/*
 * loop.c - epoll + timers + signalfd.
 *
 * The timers are a timerlist (timerlist.c) driven with CLOCK_BOOTTIME time;
 * the unit tests' fake loop drives the same list with virtual time.
 */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timerlist.h"
#include "xmem.h"

struct loop_fdent {
	int fd;
	unsigned events;
	loop_fd_cb *cb;
	void *arg;
	struct loop_fdent *next;
};

struct loop_sig {
	int signo;
	loop_signal_cb *cb;
	void *arg;
};

struct loop {
	int epfd;
	int stop;
	struct loop_fdent *fds;
	struct timerlist *timers;
	int sigfd;
	sigset_t sigmask;
	struct loop_sig sigs[16];
	size_t nsigs;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->timers = timerlist_new();
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	return l;
}

void loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	while (l->fds) {
		struct loop_fdent *e = l->fds;
		l->fds = e->next;
		free(e);
	}
	timerlist_free(l->timers);
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l);
}

static struct loop_fdent *fd_find(struct loop *l, int fd)
{
	for (struct loop_fdent *e = l->fds; e; e = e->next)
		if (e->fd == fd)
			return e;
	return NULL;
}

static uint32_t to_epoll(unsigned events)
{
	uint32_t ev = 0;

	if (events & LOOP_READ)
		ev |= EPOLLIN;
	if (events & LOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

int loop_fd_add(struct loop *l, int fd, unsigned events, loop_fd_cb *cb, void *arg)
{
	struct epoll_event ev = { .events = to_epoll(events), .data.fd = fd };
	struct loop_fdent *e;

	if (fd_find(l, fd))
		return -EEXIST;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	e = xcalloc(1, sizeof(*e));
	e->fd = fd;
	e->events = events;
	e->cb = cb;
	e->arg = arg;
	e->next = l->fds;
	l->fds = e;
	return 0;
}

int loop_fd_mod(struct loop *l, int fd, unsigned events)
{
	struct epoll_event ev = { .events = to_epoll(events), .data.fd = fd };
	struct loop_fdent *e = fd_find(l, fd);

	if (e == NULL)
		return -ENOENT;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	e->events = events;
	return 0;
}

void loop_fd_del(struct loop *l, int fd)
{
	for (struct loop_fdent **pp = &l->fds; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			struct loop_fdent *e = *pp;
			*pp = e->next;
			/* The fd may already be closed (libcurl closes before it
			 * tells us); epoll forgets closed fds by itself. */
			(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			free(e);
			return;
		}
	}
}

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb *cb, void *arg)
{
	return timerlist_add(l->timers, cb, arg);
}

void loop_timer_arm(struct loop_timer *t, uint64_t delay_ms)
{
	loop_timer_arm_at(t, loop_now_ms() + delay_ms);
}

static void sig_ready(int fd, unsigned events, void *arg)
{
	struct loop *l = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (size_t i = 0; i < l->nsigs; i++)
			if ((unsigned)l->sigs[i].signo == si.ssi_signo)
				l->sigs[i].cb((int)si.ssi_signo, l->sigs[i].arg);
	}
}

int loop_signal(struct loop *l, int signo, loop_signal_cb *cb, void *arg)
{
	int fd, r;

	if (l->nsigs == sizeof(l->sigs) / sizeof(l->sigs[0]))
		return -ENOSPC;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -errno;
	fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (l->sigfd < 0) {
		l->sigfd = fd;
		r = loop_fd_add(l, fd, LOOP_READ, sig_ready, l);
		if (r < 0)
			return r;
	}
	l->sigs[l->nsigs].signo = signo;
	l->sigs[l->nsigs].cb = cb;
	l->sigs[l->nsigs].arg = arg;
	l->nsigs++;
	return 0;
}

/* Fire every timer whose deadline has passed, earliest first. A callback
 * may free or re-arm any timer, so look afresh after each one fires; a
 * timer armed during this pass waits for the next one (no starvation of
 * fds by a timer that keeps re-arming itself with no delay). */
static void run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms();

	timerlist_new_pass(l->timers);
	while (!l->stop && timerlist_fire_next(l->timers, now))
		;
}

static int next_timeout(struct loop *l)
{
	uint64_t now = loop_now_ms(), first = timerlist_earliest(l->timers);

	if (first == 0)
		return -1;
	if (first <= now)
		return 0;
	if (first - now > 60000)
		return 60000;
	return (int)(first - now);
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[32];

	l->stop = 0;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 32, next_timeout(l));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct loop_fdent *e = fd_find(l, evs[i].data.fd);
			unsigned ev = 0;

			if (e == NULL) /* removed by an earlier callback */
				continue;
			if (evs[i].events & EPOLLIN)
				ev |= LOOP_READ;
			if (evs[i].events & EPOLLOUT)
				ev |= LOOP_WRITE;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				ev |= LOOP_ERROR;
			e->cb(e->fd, ev, e->arg);
		}
		if (!l->stop)
			run_timers(l);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = 1;
}
