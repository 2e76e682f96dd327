/*
 * metrics_http.c - GET /metrics through libmicrohttpd, driven from the
 * event loop (metrics_http.h).
 */
#include "metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmem.h"

/* How long accepting pauses when the process runs out of fds. */
#define METRICS_HTTP_PAUSE_MS 1000u
/* Connections accepted per wake-up of the listening socket. */
#define METRICS_HTTP_ACCEPTS 16u
/* Each connection's memory pool (MHD's default is 32 KiB): the request
 * line and headers fit many times over; the body is not in it. */
#define METRICS_HTTP_MEM 16384u
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	struct loop *loop;
	struct MHD_Daemon *mhd;
	int lfd;                  /* the listening socket, accepted from here */
	unsigned conns;           /* connections MHD holds now */
	int epfd;                 /* MHD's epoll fd, watched by the loop */
	struct loop_timer *timer; /* MHD_get_timeout */
	struct loop_timer *resume; /* accepting again after running out of fds */
	metrics_render_fn *render;
	void *arg;
};

/* After every MHD_run: when MHD wants to run again without an event. */
static void arm(struct metrics_http *m)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(m->mhd, &t) == MHD_YES)
		loop_timer_arm(m->timer, (uint64_t)t);
	else
		loop_timer_disarm(m->timer);
}

static void on_ready(int fd, unsigned events, void *arg)
{
	struct metrics_http *m = arg;

	(void)fd, (void)events;
	MHD_run(m->mhd);
	arm(m);
}

static void on_timer(void *arg)
{
	struct metrics_http *m = arg;

	MHD_run(m->mhd);
	arm(m);
}

/* MHD's count of its connections, kept here for on_accept. */
static void on_conn(void *arg, struct MHD_Connection *c, void **ctx,
    enum MHD_ConnectionNotificationCode what)
{
	struct metrics_http *m = arg;

	(void)c, (void)ctx;
	if (what == MHD_CONNECTION_NOTIFY_STARTED)
		m->conns++;
	else if (what == MHD_CONNECTION_NOTIFY_CLOSED && m->conns > 0)
		m->conns--;
}

/*
 * The listening socket is ours, not MHD's: at its connection limit MHD
 * stops watching its listening socket and, driven from outside, did not
 * watch it again once connections had timed out (libmicrohttpd 0.9.75:
 * 8 idle connections plus more queued left /metrics unanswered after the
 * idle timeout). Here a connection over the limit is closed at once, and
 * the scraper sees the refusal instead of waiting in the backlog.
 */
static void on_accept(int fd, unsigned events, void *arg)
{
	struct metrics_http *m = arg;
	struct sockaddr_storage sa;
	socklen_t sl;
	int c;

	(void)events;
	/* At most METRICS_HTTP_ACCEPTS per wake-up: a flood of connections
	 * must not keep the loop (and the lease's keepalives) waiting; the
	 * loop is level-triggered and comes back for the rest. */
	for (unsigned n = 0; n < METRICS_HTTP_ACCEPTS; n++) {
		sl = sizeof(sa);
		c = accept4(fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)) {
			/* The connection stays queued and the socket readable:
			 * pause instead of spinning, and try again later. */
			log_warnx("metrics: cannot accept a connection: %s; pausing %u ms",
			    strerror(errno), METRICS_HTTP_PAUSE_MS);
			loop_fd_mod(m->loop, m->lfd, 0);
			loop_timer_arm(m->resume, METRICS_HTTP_PAUSE_MS);
			break;
		}
		if (c < 0)
			break; /* EAGAIN, or the client gave up (ECONNABORTED) */
		if (m->conns >= METRICS_HTTP_CONNS) {
			log_debug("metrics: refusing a connection: %u open", m->conns);
			close(c);
			continue;
		}
		/* MHD owns c from here, also when this fails. */
		if (MHD_add_connection(m->mhd, c, (struct sockaddr *)&sa, sl) != MHD_YES)
			log_debug("metrics: connection not taken: %s", strerror(errno));
	}
	MHD_run(m->mhd);
	arm(m);
}

static void on_resume(void *arg)
{
	struct metrics_http *m = arg;

	loop_fd_mod(m->loop, m->lfd, LOOP_READ);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
    const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload, size_t *upload_len,
    void **state)
{
	struct metrics_http *m = cls;
	char *body;
	size_t len;

	(void)version, (void)upload, (void)upload_len, (void)state;
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, xstrdup("not found: try /metrics\n"),
		    strlen("not found: try /metrics\n"), "text/plain");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, xstrdup("method not allowed\n"),
		    strlen("method not allowed\n"), "text/plain");
	body = m->render(m->arg, &len);
	return reply(c, MHD_HTTP_OK, body, len, CONTENT_TYPE);
}

static void mhd_log(void *arg, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	(void)arg;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("metrics: libmicrohttpd: %s", buf);
}

/* A bound, listening, non-blocking socket for listen, or -1 with why. */
static int open_listener(const char *listen_at, char *why, size_t len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res = NULL;
	char host[256];
	const char *colon = strrchr(listen_at, ':'), *h = listen_at;
	size_t hl;
	int fd, one = 1, r, e;

	if (colon == NULL) {
		snprintf(why, len, "needs host:port, got \"%s\"", listen_at);
		return -1;
	}
	hl = (size_t)(colon - h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
		h++, hl -= 2;
	if (hl >= sizeof(host)) {
		snprintf(why, len, "host too long in \"%s\"", listen_at);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if ((r = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(why, len, "cannot resolve %s: %s", listen_at, gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (res->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		snprintf(why, len, "cannot listen on %s: %s", listen_at, strerror(e));
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

struct metrics_http *metrics_http_new(struct loop *loop, const char *listen_at,
    metrics_render_fn *render, void *arg, char *why, size_t len)
{
	struct metrics_http *m;
	const union MHD_DaemonInfo *info;
	int fd = open_listener(listen_at, why, len), r;

	if (fd < 0)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->loop = loop;
	m->lfd = fd;
	m->render = render;
	m->arg = arg;
	m->epfd = -1;
	/* MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: no thread;
	 * we run it. Connections come from on_accept (MHD_add_connection). */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, m,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_HTTP_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_HTTP_IDLE_S,
	    /* A request is a GET line and a few headers: a client that
	     * trickles more runs out of room and is closed, instead of
	     * holding a slot with a byte every few seconds. */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_HTTP_MEM,
	    MHD_OPTION_NOTIFY_CONNECTION, on_conn, m,
	    MHD_OPTION_END);
	if (m->mhd != NULL) {
		info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
		m->epfd = info ? info->epoll_fd : -1;
	}
	if (m->mhd == NULL || m->epfd < 0 ||
	    (r = loop_fd_add(loop, m->epfd, LOOP_READ, on_ready, m)) < 0) {
		if (m->mhd != NULL)
			MHD_stop_daemon(m->mhd);
		close(fd);
		free(m);
		snprintf(why, len, "cannot start the HTTP server on %s", listen_at);
		return NULL;
	}
	if ((r = loop_fd_add(loop, fd, LOOP_READ, on_accept, m)) < 0) {
		loop_fd_del(loop, m->epfd);
		MHD_stop_daemon(m->mhd);
		close(fd);
		free(m);
		snprintf(why, len, "cannot watch the listening socket: %s", strerror(-r));
		return NULL;
	}
	m->timer = loop_timer_new(loop, on_timer, m);
	m->resume = loop_timer_new(loop, on_resume, m);
	arm(m);
	log_info("metrics: serving http://%s/metrics", listen_at);
	return m;
}

void metrics_http_free(struct metrics_http *m)
{
	if (m == NULL)
		return;
	loop_fd_del(m->loop, m->lfd);
	loop_fd_del(m->loop, m->epfd);
	loop_timer_free(m->timer);
	loop_timer_free(m->resume);
	MHD_stop_daemon(m->mhd);
	close(m->lfd);
	free(m);
}
