/*
 * test_curlloop.c - the libcurl multi on the real loop against a small
 * HTTP server thread on 127.0.0.1: transfers end through their done
 * callback from the loop (never inside curlloop_add), a refused connection
 * is reported, curlloop_remove silences a transfer, and a done callback
 * may send its handle again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "curlloop.h"
#include "log.h"
#include "loop.h"
#include "loopback_port.h"

struct server {
	int fd, port, conns;
	pthread_t th;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

	for (int i = 0; i < s->conns; i++) {
		char buf[4096];
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		(void)!read(c, buf, sizeof(buf)); /* one small GET */
		(void)!write(c, reply, strlen(reply));
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, int conns)
{
	uint16_t port;

	s->fd = loopback_port(8, &port);
	s->port = port;
	s->conns = conns;
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

struct xfer {
	struct loop *loop;
	struct curlloop *cl;
	CURL *easy;
	char body[64];
	size_t n;
	int done;
	CURLcode result;
	int resend;          /* times the done callback sends it again */
	int *pending;        /* stop the loop when it reaches 0 */
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (x->n + n < sizeof(x->body)) {
		memcpy(x->body + x->n, p, n);
		x->n += n;
	}
	return n;
}

static void on_done(void *arg, CURL *easy, CURLcode result)
{
	struct xfer *x = arg;

	assert_ptr_equal(easy, x->easy);
	x->done++;
	x->result = result;
	if (x->resend > 0) {
		x->resend--;
		assert_int_equal(curlloop_add(x->cl, easy, on_done, x), 0);
		return;
	}
	if (--*x->pending == 0)
		loop_stop(x->loop);
}

static void on_guard(void *arg)
{
	loop_stop(arg);
	fail_msg("transfers did not end in time");
}

static void xfer_init(struct xfer *x, struct loop *l, struct curlloop *cl, int port, int *pending)
{
	char url[64];

	memset(x, 0, sizeof(*x));
	x->loop = l;
	x->cl = cl;
	x->pending = pending;
	x->easy = curl_easy_init();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, 3000L);
}

static void test_transfer_ends_from_the_loop(void **state)
{
	struct loop *l = loop_new();
	struct curlloop *cl = curlloop_new(l);
	struct loop_timer *guard = loop_timer_new(l, on_guard, l);
	struct server s;
	struct xfer x;
	int pending = 1;

	(void)state;
	server_start(&s, 1);
	xfer_init(&x, l, cl, s.port, &pending);
	assert_int_equal(curlloop_add(cl, x.easy, on_done, &x), 0);
	assert_int_equal(x.done, 0); /* not from inside curlloop_add */
	assert_int_equal(curlloop_add(cl, x.easy, on_done, &x), -EINVAL); /* twice */
	loop_timer_arm(guard, 5000);
	loop_run(l);
	assert_int_equal(x.done, 1);
	assert_int_equal(x.result, CURLE_OK);
	assert_int_equal(x.n, 2);
	assert_memory_equal(x.body, "ok", 2);
	curlloop_remove(cl, x.easy); /* no-op: out of the multi already */
	curl_easy_cleanup(x.easy);
	server_stop(&s);
	loop_timer_free(guard);
	curlloop_free(cl);
	loop_free(l);
}

/* A refused connection ends with libcurl's error; a removed transfer
 * ends without a callback; a done callback may resend its handle. */
static void test_refused_removed_resent(void **state)
{
	struct loop *l = loop_new();
	struct curlloop *cl = curlloop_new(l);
	struct loop_timer *guard = loop_timer_new(l, on_guard, l);
	struct server s;
	struct xfer refused, removed, resent;
	uint16_t closed_port;
	/* held, never listening: refused, and no other socket takes the port */
	int pending = 2, closed = loopback_port(-1, &closed_port);

	(void)state;
	server_start(&s, 3);
	xfer_init(&refused, l, cl, closed_port, &pending);
	xfer_init(&removed, l, cl, s.port, &pending);
	xfer_init(&resent, l, cl, s.port, &pending);
	resent.resend = 1;
	assert_int_equal(curlloop_add(cl, refused.easy, on_done, &refused), 0);
	assert_int_equal(curlloop_add(cl, removed.easy, on_done, &removed), 0);
	assert_int_equal(curlloop_add(cl, resent.easy, on_done, &resent), 0);
	curlloop_remove(cl, removed.easy);
	loop_timer_arm(guard, 5000);
	loop_run(l);
	assert_int_equal(refused.done, 1);
	assert_int_equal(refused.result, CURLE_COULDNT_CONNECT);
	assert_int_equal(removed.done, 0);
	assert_int_equal(resent.done, 2);
	assert_int_equal(resent.result, CURLE_OK);
	assert_memory_equal(resent.body, "okok", 4);
	close(closed);
	curl_easy_cleanup(refused.easy);
	curl_easy_cleanup(removed.easy);
	curl_easy_cleanup(resent.easy);
	server_stop(&s);
	loop_timer_free(guard);
	curlloop_free(cl);
	loop_free(l);
}

/* Freed with a transfer still running: no callback, the handle stays
 * the owner's. */
static void test_free_with_transfers(void **state)
{
	struct loop *l = loop_new();
	struct curlloop *cl = curlloop_new(l);
	struct xfer x;
	int pending = 1;

	(void)state;
	xfer_init(&x, l, cl, 9, &pending);
	assert_int_equal(curlloop_add(cl, x.easy, on_done, &x), 0);
	curlloop_free(cl);
	assert_int_equal(x.done, 0);
	curl_easy_cleanup(x.easy);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfer_ends_from_the_loop),
		cmocka_unit_test(test_refused_removed_resent),
		cmocka_unit_test(test_free_with_transfers),
	};

	log_init("test_curlloop", LOG_LVL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
