/*
 * test_etcd.c - the real etcd.c transport (libcurl on the real loop)
 * against a one-shot HTTP server in a thread on 127.0.0.1: vipd talks to
 * etcd only as configured (no proxy from the environment, no credentials
 * in clear) and etcd's texts reach the log escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd.h"
#include "log.h"
#include "loop.h"
#include "loopback_port.h"
#include "stderr_cap.h"

struct server {
	int fd;
	int port;
	const char *reply;  /* the whole HTTP response */
	const char *auth_reply; /* to /v3/auth/authenticate, if not NULL */
	int conns;          /* connections to serve (0: 1) */
	char req[8192];     /* what came in, every request one after another */
	size_t got;
	pthread_t th;
};

static int listen_any(int *port)
{
	uint16_t p;
	int fd = loopback_port(8, &p);

	*port = p;
	return fd;
}

/* Try to connect to 127.0.0.1:port every 20 ms until it works, at most
 * 10 s (a socat started just before listens only once it has loaded its
 * key: tens of ms, more on a loaded machine). 0 once it listens, -1 at the
 * cap. The probe connection is closed at once: socat's child for it fails
 * its handshake and exits, the listener takes the next one. */
static int wait_listening(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 500; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

		if (fd < 0)
			return -1;
		rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (rc == 0)
			return 0;
		usleep(20 * 1000);
	}
	return -1;
}

/* Accept conns connections (default one), read one request each (headers
 * and a JSON body), answer each. */
static void *serve_one(void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < (s->conns ? s->conns : 1); i++) {
		int c = accept(s->fd, NULL, NULL);
		size_t start = s->got;
		const char *reply = s->reply;

		if (c < 0)
			return NULL;
		while (s->got < sizeof(s->req) - 1) {
			ssize_t n = read(c, s->req + s->got, sizeof(s->req) - 1 - s->got);
			char *body;

			if (n <= 0)
				break;
			s->got += (size_t)n;
			s->req[s->got] = '\0';
			body = strstr(s->req + start, "\r\n\r\n");
			if (body != NULL && strchr(body, '}') != NULL)
				break;
		}
		if (s->auth_reply != NULL && strstr(s->req + start, "/v3/auth/authenticate") != NULL)
			reply = s->auth_reply;
		(void)!write(c, reply, strlen(reply));
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, const char *reply)
{
	s->fd = listen_any(&s->port);
	s->reply = reply;
	assert_int_equal(pthread_create(&s->th, NULL, serve_one, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

struct got {
	struct loop *loop;
	int err;
	int code;
	char message[512];
	bool done;
};

static void on_done(void *arg, const struct etcd_result *r)
{
	struct got *g = arg;

	g->err = r->err;
	g->code = r->code;
	snprintf(g->message, sizeof(g->message), "%s", r->message);
	g->done = true;
	loop_stop(g->loop);
}

static void on_deadline(void *arg)
{
	loop_stop(arg);
}

/* One call to http://127.0.0.1:port, run until answered (or 5 s). */
static void call(struct got *g, int port)
{
	char url[64], *eps[] = { url };
	struct etcd_opts o = { .endpoints = eps, .n_endpoints = 1, .timeout_ms = 3000 };
	struct loop_timer *deadline;
	struct etcd *e;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	g->loop = loop_new();
	assert_non_null(g->loop);
	e = etcd_new(g->loop, &o);
	assert_non_null(e);
	deadline = loop_timer_new(g->loop, on_deadline, g->loop);
	loop_timer_arm(deadline, 5000);
	etcd_call(e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), 0, on_done, g);
	loop_run(g->loop);
	assert_true(g->done);
	etcd_free(e);
	loop_timer_free(deadline);
	loop_free(g->loop);
}

/* http_proxy, HTTPS_PROXY, ALL_PROXY set: vipd still goes straight to
 * etcd. Before the fix libcurl sent the request to the proxy. */
static void test_proxy_environment_ignored(void **state)
{
	struct server s = { 0 };
	struct pollfd pfd;
	struct got g = { 0 };
	char proxy[64];
	int pport, pfd_fd = listen_any(&pport);

	(void)state;
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", pport);
	setenv("http_proxy", proxy, 1);
	setenv("HTTPS_PROXY", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
	call(&g, s.port);
	server_stop(&s);
	unsetenv("http_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	pfd = (struct pollfd){ .fd = pfd_fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 0); /* nobody knocked at the proxy */
	close(pfd_fd);
	assert_int_equal(g.err, 0);
	assert_non_null(strstr(s.req, "POST /v3/kv/range HTTP/1.1"));
}

/* How many times needle stands in text. */
static int count_of(const char *text, const char *needle)
{
	int k = 0;

	for (const char *at = text; (at = strstr(at, needle)) != NULL; at++)
		k++;
	return k;
}

/* etcd's error text with a newline must not forge a log line. */
static void test_error_text_escaped_in_log(void **state)
{
	static const char body[] = "{\"error\":\"x\",\"code\":2,\"message\":"
	    "\"boom\\n2026-01-01T00:00:00.000Z vipd[1] info: vip: acquired vip=198.18.0.100\"}";
	char reply[1024], log[4096] = "", *nl;
	struct server s = { 0 };
	struct got g = { 0 };
	struct stderr_cap cap;
	size_t n;

	(void)state;
	snprintf(reply, sizeof(reply), "HTTP/1.1 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    strlen(body), body);
	server_start(&s, reply);
	stderr_cap_begin(&cap);
	call(&g, s.port);
	n = stderr_cap_end(&cap, log, sizeof(log));
	server_stop(&s);
	assert_true(n > 0);
	assert_int_equal(g.err, -EIO);
	/* One line, the newline shown as \x0a. */
	nl = strchr(log, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
	assert_non_null(strstr(log, "error=\"boom\\x0a2026-01-01T00:00:00.000Z vipd[1] info: vip: acquired"));
}

/* A username with an http endpoint is refused unless allowInsecure. */
static void test_credentials_never_in_clear(void **state)
{
	char ep1[] = "https://127.0.0.1:1", ep2[] = "http://127.0.0.1:2";
	char *eps[] = { ep1, ep2 };
	struct etcd_opts o = { .endpoints = eps, .n_endpoints = 2, .username = "u",
		.password = "p" };
	struct loop *l = loop_new();
	struct etcd *e;

	(void)state;
	errno = 0;
	assert_null(etcd_new(l, &o));
	assert_int_equal(errno, EINVAL);
	o.allow_insecure = true;
	e = etcd_new(l, &o);
	assert_non_null(e);
	etcd_free(e);
	o.n_endpoints = 1;
	o.allow_insecure = false;
	e = etcd_new(l, &o);
	assert_non_null(e);
	etcd_free(e);
	loop_free(l);
}

/* ---- caFile pins ------------------------------------------------------------ */

struct tls_got {
	int err;
	char message[512];
	bool done;
	struct loop *loop;
};

static void on_tls_done(void *arg, const struct etcd_result *r)
{
	struct tls_got *g = arg;

	g->err = r->err;
	snprintf(g->message, sizeof(g->message), "%s", r->message);
	g->done = true;
	loop_stop(g->loop);
}

/* One call to https://127.0.0.1:port trusting ca only; 0 if it answered. */
static int tls_call(int port, const char *ca, struct tls_got *g)
{
	char url[64], *eps[] = { url };
	struct etcd_opts o = { .endpoints = eps, .n_endpoints = 1, .timeout_ms = 3000,
		.ca_file = ca };
	struct loop_timer *deadline;
	struct etcd *e;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	g->loop = loop_new();
	e = etcd_new(g->loop, &o);
	if (e == NULL)
		return -1;
	deadline = loop_timer_new(g->loop, on_deadline, g->loop);
	loop_timer_arm(deadline, 5000);
	etcd_call(e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), 0, on_tls_done, g);
	loop_run(g->loop);
	etcd_free(e);
	loop_timer_free(deadline);
	loop_free(g->loop);
	return g->done ? 0 : -1;
}

static int sh(const char *dir, const char *cmd)
{
	char *full = NULL;
	int rc;

	if (asprintf(&full, "cd %s && %s >/dev/null 2>&1", dir, cmd) < 0)
		return -1;
	rc = system(full);
	free(full);
	return rc;
}

/* The TLS server's answer to any request: HTTP 200, not etcd's JSON. */
static const char page_script[] =
	"#!/bin/sh\n"
	"read -r line\n"
	"printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 4\\r\\nConnection: close\\r\\n\\r\\npage'\n";

/*
 * In a private mount namespace (a forked child), the system CA directory
 * (/etc/ssl/certs, libcurl's CAPATH) holds only CA "b", which signed the
 * server's certificate; caFile names CA "a". A pinned caFile must refuse
 * the server. Before the fix libcurl trusted the directory too and the
 * TLS handshake succeeded.
 */
static int child_pins(const char *dir)
{
	char path[512], hash[64] = "", cmd[512];
	struct tls_got g = { 0 };
	pid_t srv;
	int port, fd, rc = 0;
	FILE *f;

	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/etc/ssl/certs", "tmpfs", 0, "mode=0755") < 0)
		return 10;
	snprintf(cmd, sizeof(cmd), "cd %s && openssl x509 -hash -noout -in b.crt", dir);
	if ((f = popen(cmd, "r")) == NULL || fgets(hash, sizeof(hash), f) == NULL)
		return 11;
	pclose(f);
	hash[strcspn(hash, "\n")] = '\0';
	snprintf(cmd, sizeof(cmd), "cp b.crt /etc/ssl/certs/%s.0", hash);
	if (sh(dir, cmd) != 0)
		return 12;
	fd = listen_any(&port);
	close(fd);
	snprintf(path, sizeof(path), "%s/page.sh", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 16;
	fputs(page_script, f);
	fclose(f);
	if (chmod(path, 0700) < 0)
		return 16;
	srv = fork();
	if (srv == 0) {
		char lis[256];

		snprintf(lis, sizeof(lis), "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,"
		    "cert=srv.crt,key=srv.key,verify=0", port);
		if (chdir(dir) < 0)
			_exit(1);
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execlp("socat", "socat", lis, "EXEC:./page.sh", (char *)NULL);
		_exit(127);
	}
	if (wait_listening(port) < 0) {
		fprintf(stderr, "socat not listening on port %d after 10 s\n", port);
		rc = 15;
		goto out;
	}
	/* Control: trusting b, the handshake works and page.sh's answer comes
	 * (not etcd's JSON: -EPROTO); a refused connection or a timeout here
	 * would make the pinned call's refusal below prove nothing. */
	snprintf(path, sizeof(path), "%s/b.crt", dir);
	if (tls_call(port, path, &g) < 0 || g.err != -EPROTO) {
		fprintf(stderr, "control: err=%d message=%s\n", g.err, g.message);
		rc = 13;
		goto out;
	}
	memset(&g, 0, sizeof(g));
	snprintf(path, sizeof(path), "%s/a.crt", dir);
	if (tls_call(port, path, &g) < 0 || g.err == 0 || strstr(g.message, "certificate") == NULL) {
		fprintf(stderr, "pinned: err=%d message=%s\n", g.err, g.message);
		rc = 14;
	}
out:
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	return rc;
}

/* In a new temporary directory dir: CAs a and b, and srv.crt/srv.key for
 * 127.0.0.1 signed by b. */
static void make_pki(char *dir)
{
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sh(dir, "openssl req -x509 -newkey rsa:2048 -nodes -keyout a.key -out a.crt "
	    "-subj /CN=vipd-test-a -days 1"), 0);
	assert_int_equal(sh(dir, "openssl req -x509 -newkey rsa:2048 -nodes -keyout b.key -out b.crt "
	    "-subj /CN=vipd-test-b -days 1"), 0);
	assert_int_equal(sh(dir, "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
	    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"), 0);
	assert_int_equal(sh(dir, "openssl x509 -req -in srv.csr -CA b.crt -CAkey b.key "
	    "-CAcreateserial -out srv.crt -days 1 -copy_extensions copy"), 0);
}

static void test_cafile_pins(void **state)
{
	char dir[] = "/tmp/test_etcd.XXXXXX", *rm = NULL;
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0 ||
	    system("command -v openssl >/dev/null 2>&1 && command -v socat >/dev/null 2>&1") != 0)
		skip();
	make_pki(dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_pins(dir));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(asprintf(&rm, "rm -rf %s", dir) > 0);
	assert_int_equal(system(rm), 0);
	free(rm);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- a token obtained over TLS never goes to an http endpoint --------------- */

static const char tls_script[] =
	"#!/bin/sh\n"
	"# one request: authenticate -> a token; anything else -> hang up\n"
	"read -r line\n"
	"case \"$line\" in\n"
	"*/v3/auth/authenticate*)\n"
	"  body='{\"header\":{},\"token\":\"tok-over-tls\"}'\n"
	"  printf 'HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n"
	"Connection: close\\r\\n\\r\\n%s' ${#body} \"$body\" ;;\n"
	"esac\n";

static void on_any(void *arg, const struct etcd_result *r)
{
	struct got *g = arg;

	g->err = r->err;
	g->done = true;
	loop_stop(g->loop);
}

/* Run the loop until g is answered (or 5 s). */
static void wait_for(struct got *g)
{
	struct loop_timer *deadline = loop_timer_new(g->loop, on_deadline, g->loop);

	loop_timer_arm(deadline, 5000);
	loop_run(g->loop);
	loop_timer_free(deadline);
	assert_true(g->done);
}

/*
 * With allowInsecure and endpoints [https, http]: the token obtained over
 * https must not go to the http endpoint after a fail-over; vipd
 * authenticates there afresh. Before the fix the TLS token went out in
 * clear.
 */
static void test_tls_token_never_sent_over_http(void **state)
{
	char dir[] = "/tmp/test_etcd.XXXXXX", cmd[1024], url1[64], url2[64], ca[256];
	char *eps[] = { url1, url2 }, *rm = NULL;
	struct server s = { 0 };
	struct got g1 = { 0 }, g2 = { 0 };
	struct etcd_opts o = { .endpoints = eps, .n_endpoints = 2, .timeout_ms = 2000,
		.username = "u", .password = "p", .allow_insecure = true, .ca_file = ca };
	struct etcd *e;
	struct loop *l;
	int p1, fd;
	pid_t srv;
	FILE *f;

	(void)state;
	if (system("command -v openssl >/dev/null 2>&1 && command -v socat >/dev/null 2>&1") != 0)
		skip();
	make_pki(dir);
	snprintf(cmd, sizeof(cmd), "%s/tls.sh", dir);
	f = fopen(cmd, "w");
	assert_non_null(f);
	fputs(tls_script, f);
	fclose(f);
	assert_int_equal(chmod(cmd, 0700), 0);
	fd = listen_any(&p1);
	close(fd);
	srv = fork();
	assert_true(srv >= 0);
	if (srv == 0) {
		char lis[256];

		snprintf(lis, sizeof(lis), "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,"
		    "cert=srv.crt,key=srv.key,verify=0", p1);
		if (chdir(dir) < 0)
			_exit(1);
		execlp("socat", "socat", lis, "EXEC:./tls.sh", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(wait_listening(p1), 0);
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
	s.auth_reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 24\r\nConnection: close\r\n\r\n{\"token\":\"tok-in-clear\"}";
	s.conns = 2;
	snprintf(url1, sizeof(url1), "https://127.0.0.1:%d", p1);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d", s.port);
	snprintf(ca, sizeof(ca), "%s/b.crt", dir);
	l = loop_new();
	g1.loop = g2.loop = l;
	e = etcd_new(l, &o);
	assert_non_null(e);
	/* Authenticated over TLS; the range then finds the https endpoint
	 * hanging up: the next request goes to the http one. */
	etcd_call(e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), 0, on_any, &g1);
	wait_for(&g1);
	assert_true(g1.err != 0);
	etcd_call(e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), 0, on_any, &g2);
	wait_for(&g2);
	etcd_free(e);
	loop_free(l);
	server_stop(&s);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	assert_true(asprintf(&rm, "rm -rf %s", dir) > 0);
	assert_int_equal(system(rm), 0);
	free(rm);
	if (strstr(s.req, "tok-over-tls") != NULL)
		fail_msg("the TLS token went to the http endpoint:\n%s", s.req);
	assert_int_equal(strncmp(s.req, "POST /v3/auth/authenticate ", 27), 0);
	assert_non_null(strstr(s.req, "Authorization: tok-in-clear"));
	assert_int_equal(g2.err, 0);
}


/* ---- secrets scrubbed when freed ---------------------------------------------- */

/* test_etcd links with -Wl,--wrap=free: every free() in vipd's own code
 * (etcd.c, linebuf.c, jansson's buffers through etcd.c's scrub_free, this
 * file) comes here first. While armed, a block that still holds the
 * password or the token is counted. */
void *__real_free(void *p);
void __wrap_free(void *p);
static const char *secrets[2];
static int unscrubbed;

void __wrap_free(void *p)
{
	if (p != NULL && secrets[0] != NULL) {
		size_t n = malloc_usable_size(p);

		for (size_t i = 0; i < 2; i++)
			if (memmem(p, n, secrets[i], strlen(secrets[i])) != NULL)
				unscrubbed++;
	}
	__real_free(p);
}

/*
 * The password (the authenticate body), the token (the authenticate reply,
 * its parsed JSON, the Authorization header of the next request, the
 * stored token) never sit in a block vipd gives back to the allocator.
 * Without the scrubbing each of them did.
 */
static void test_secrets_scrubbed_when_freed(void **state)
{
	static const char pw[] = "pw-S3CRET-pw", tok[] = "tok-S3CRET-tok";
	char url[64], *eps[] = { url };
	struct etcd_opts o = { .endpoints = eps, .n_endpoints = 1, .timeout_ms = 2000,
		.username = "u", .password = pw, .allow_insecure = true };
	struct server s = { 0 };
	struct got g = { 0 };
	struct etcd *e;

	(void)state;
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
	s.auth_reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 26\r\nConnection: close\r\n\r\n{\"token\":\"tok-S3CRET-tok\"}";
	s.conns = 2;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	secrets[0] = pw;
	secrets[1] = tok;
	unscrubbed = 0;
	g.loop = loop_new();
	e = etcd_new(g.loop, &o);
	assert_non_null(e);
	etcd_call(e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), 0, on_any, &g);
	wait_for(&g);
	etcd_free(e);
	loop_free(g.loop);
	server_stop(&s);
	secrets[0] = secrets[1] = NULL;
	assert_int_equal(g.err, 0);
	assert_non_null(strstr(s.req, "Authorization: tok-S3CRET-tok"));
	assert_int_equal(unscrubbed, 0);
}

/* ---- requests parked for authentication ------------------------------------------ */

struct again {
	struct etcd *e;
	struct got *second;
};

/* The first request's failure: its owner asks again at once. */
static void on_first_failed(void *arg, const struct etcd_result *r)
{
	struct again *a = arg;

	assert_int_equal(r->err, -EACCES);
	etcd_call(a->e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), 0, on_any, a->second);
}

/*
 * A failed authenticate fails the requests that waited for it; a request
 * their owners make from that very callback waits for the authenticate it
 * starts. Before the fix it was failed with the first one, without a
 * second authenticate ever reaching etcd.
 */
static void test_request_made_on_auth_failure_waits_for_new_auth(void **state)
{
	static const char refused[] = "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
	    "Content-Length: 65\r\nConnection: close\r\n\r\n"
	    "{\"error\":\"authentication failed\",\"code\":3,\"message\":\"nope!\"}";
	char url[64], *eps[] = { url };
	struct etcd_opts o = { .endpoints = eps, .n_endpoints = 1, .timeout_ms = 2000,
		.username = "u", .password = "p", .allow_insecure = true };
	struct server s = { 0 };
	struct got g = { 0 };
	struct again a = { .second = &g };
	const char *at;
	int auths = 0;

	(void)state;
	server_start(&s, refused);
	s.auth_reply = refused;
	s.conns = 2;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	g.loop = loop_new();
	a.e = etcd_new(g.loop, &o);
	assert_non_null(a.e);
	etcd_call(a.e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), 0, on_first_failed, &a);
	wait_for(&g);
	etcd_free(a.e);
	loop_free(g.loop);
	server_stop(&s);
	for (at = s.req; (at = strstr(at, "POST /v3/auth/authenticate ")) != NULL; at++)
		auths++;
	assert_int_equal(auths, 2);
	assert_int_equal(g.err, -EACCES);
}

/* The grouping key of a failure is its kind, not its text. */
static void test_failure_kind(void **state)
{
	struct etcd_result r = { 0 };
	char b[32];

	(void)state;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "ok");
	r.err = -ETIMEDOUT;
	r.message = "Operation timed out after 1001 milliseconds with 0 bytes received";
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "timeout");
	r.message = "Operation timed out after 1734 milliseconds with 0 bytes received";
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "timeout");
	r.err = -ECONNREFUSED;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "connect");
	r.err = -EHOSTUNREACH;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "resolve");
	r.err = -EKEYREJECTED;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "tls");
	r.err = -EMSGSIZE;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "reply too large");
	r.err = -EPIPE;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "transport");
	r.err = -EPROTO;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "bad reply");
	r.err = -EIO;
	r.code = 14;
	r.http_status = 503;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "etcd code 14");
	r.code = 0;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "http 5xx");
	r.http_status = 404;
	assert_string_equal(etcd_failure_kind(&r, b, sizeof(b)), "http 4xx");
	assert_string_equal(etcd_failure_kind(&r, b, 5), "http");
}

/* The hint names the key likely at fault when etcd refuses the client,
 * from libcurl/OpenSSL's texts as seen in t_57 and etcd's codes; none for
 * failures that come and go. */
static void test_failure_hint(void **state)
{
	struct etcd_hint_cfg none = { 0 }, all = { .ca_file = true, .cert_file = true,
		.username = true };
	struct etcd_result r = { .endpoint = "https://127.0.0.1:2379" };
	const char *h;

	(void)state;
	r.err = -EKEYREJECTED;
	r.message = "SSL certificate problem: unable to get local issuer certificate";
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "check vipd.etcd.caFile"));
	assert_non_null(strstr(etcd_failure_hint(&r, &none), "set vipd.etcd.caFile"));
	r.err = -EPIPE; /* TLS 1.3: the server's alert comes with the first read */
	r.message = "OpenSSL SSL_read: OpenSSL/3.0.19: error:0A000412:SSL routines::"
	    "sslv3 alert bad certificate, errno 0";
	assert_non_null(strstr(etcd_failure_hint(&r, &none), "wants a client certificate"));
	assert_non_null(strstr(etcd_failure_hint(&r, &all),
	    "refuses the client certificate: check vipd.etcd.certFile and keyFile"));
	r.err = -EKEYREJECTED;
	r.message = "error:0A00010B:SSL routines::wrong version number";
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "does not speak TLS"));
	r.message = "could not load PEM client certificate from /x";
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "certFile or keyFile cannot be used"));
	r.err = -EPIPE;
	r.message = "Empty reply from server";
	assert_null(etcd_failure_hint(&r, &all)); /* https: no reason to suspect the scheme */
	r.endpoint = "http://127.0.0.1:2379";
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "check http:// or https://"));
	r.message = "Recv failure: Connection reset by peer";
	assert_null(etcd_failure_hint(&r, &all));
	r.err = -ECONNREFUSED;
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "vipd.etcd.endpoints"));
	r.err = -EHOSTUNREACH;
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "host name in vipd.etcd.endpoints"));
	r.err = -EACCES;
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "username and passwordFile"));
	r.err = -EIO;
	r.code = ETCD_CODE_UNAUTHENTICATED;
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "rejects the user"));
	assert_non_null(strstr(etcd_failure_hint(&r, &none), "authentication on: set"));
	r.code = ETCD_CODE_PERMISSION_DENIED;
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "readwrite on vipd.etcd.prefix"));
	r.code = 0;
	r.http_status = 403;
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "readwrite on vipd.etcd.prefix"));
	r.http_status = 400;
	r.message = "Client sent an HTTP request to an HTTPS server.";
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "use https://"));
	r.http_status = 404;
	assert_non_null(strstr(etcd_failure_hint(&r, &all), "no etcd JSON gateway"));
	/* Failures that come and go: no hint. */
	r.http_status = 503;
	r.code = ETCD_CODE_UNAVAILABLE;
	assert_null(etcd_failure_hint(&r, &all));
	r.code = 0;
	assert_null(etcd_failure_hint(&r, &all));
	r.err = -ETIMEDOUT;
	r.message = "Operation timed out after 1001 milliseconds with 0 bytes received";
	assert_null(etcd_failure_hint(&r, &all));
	/* A hint goes into a quoted log value as it is. */
	r.err = -EKEYREJECTED;
	r.message = "";
	h = etcd_failure_hint(&r, &all);
	assert_non_null(h);
	assert_null(strpbrk(h, "\"\\"));
}

/* Three timeouts in a row whose texts differ only in libcurl's elapsed
 * milliseconds: one warning, the repeats at debug (before the grouping
 * by kind, each new text made a new warning). */
static void test_repeated_timeouts_warn_once(void **state)
{
	char url[64], *eps[] = { url }, log[8192] = "";
	struct etcd_opts o = { .endpoints = eps, .n_endpoints = 1, .timeout_ms = 3000 };
	static const uint32_t tmo[] = { 100, 230, 170 };
	int port, lfd = listen_any(&port), warns, msgs = 0;
	struct loop_timer *deadline;
	struct stderr_cap cap;
	struct got g = { 0 };
	struct etcd *e;

	(void)state;
	/* Accepted by the kernel (backlog), never answered: each call times out. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	g.loop = loop_new();
	e = etcd_new(g.loop, &o);
	assert_non_null(e);
	deadline = loop_timer_new(g.loop, on_deadline, g.loop);
	stderr_cap_begin(&cap);
	for (size_t i = 0; i < sizeof(tmo) / sizeof(tmo[0]); i++) {
		g.done = false;
		loop_timer_arm(deadline, 5000);
		etcd_call(e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), tmo[i], on_done, &g);
		loop_run(g.loop);
		assert_true(g.done);
		assert_int_equal(g.err, -ETIMEDOUT);
		msgs += strstr(g.message, "milliseconds") != NULL;
	}
	stderr_cap_end(&cap, log, sizeof(log));
	warns = count_of(log, "warn: etcd: request failed op=/v3/kv/range");
	assert_int_equal(msgs, 3); /* the texts did differ */
	assert_int_equal(warns, 1);
	assert_non_null(strstr(log, "kind=\"timeout\""));
	etcd_free(e);
	loop_timer_free(deadline);
	loop_free(g.loop);
	close(lfd);
}

/* Two failures of one kind ("http 4xx") for one operation, the second
 * with a hint: the hint is warned, not folded into the streak at debug
 * (etcd's TLS listener may close before its alert is read, so the first
 * failure of a refusal can come without the text that gives the hint). */
static void test_hint_starts_a_new_warning(void **state)
{
	char url[64], *eps[] = { url }, log[8192] = "";
	struct etcd_opts o = { .endpoints = eps, .n_endpoints = 1, .timeout_ms = 3000 };
	static const char teapot[] = "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nno";
	static const char unauth[] = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nno";
	struct server s = { .conns = 2 };
	int warns;
	struct loop_timer *deadline;
	struct stderr_cap cap;
	struct got g = { 0 };
	struct etcd *e;

	(void)state;
	server_start(&s, teapot);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	g.loop = loop_new();
	e = etcd_new(g.loop, &o);
	assert_non_null(e);
	deadline = loop_timer_new(g.loop, on_deadline, g.loop);
	stderr_cap_begin(&cap);
	for (int i = 0; i < 2; i++) {
		g.done = false;
		loop_timer_arm(deadline, 5000);
		etcd_call(e, "/v3/kv/range", json_pack("{s:s}", "key", "YQ=="), 0, on_done, &g);
		loop_run(g.loop);
		assert_true(g.done);
		assert_int_equal(g.err, -EIO);
		s.reply = unauth; /* the next connection's answer */
	}
	stderr_cap_end(&cap, log, sizeof(log));
	warns = count_of(log, "warn: etcd: request failed op=/v3/kv/range");
	assert_int_equal(warns, 2);
	assert_non_null(strstr(log, "kind=\"http 4xx\" status=401 code=0 error=\"no\" failures=2 "
	    "hint=\"etcd has authentication on: set vipd.etcd.username and passwordFile"));
	etcd_free(e);
	loop_timer_free(deadline);
	loop_free(g.loop);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_environment_ignored),
		cmocka_unit_test(test_error_text_escaped_in_log),
		cmocka_unit_test(test_credentials_never_in_clear),
		cmocka_unit_test(test_cafile_pins),
		cmocka_unit_test(test_tls_token_never_sent_over_http),
		cmocka_unit_test(test_secrets_scrubbed_when_freed),
		cmocka_unit_test(test_request_made_on_auth_failure_waits_for_new_auth),
		cmocka_unit_test(test_failure_kind),
		cmocka_unit_test(test_failure_hint),
		cmocka_unit_test(test_hint_starts_a_new_warning),
		cmocka_unit_test(test_repeated_timeouts_warn_once),
	};

	log_init("test_etcd", LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
