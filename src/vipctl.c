/*
 * vipctl - the operator's tool.
 *
 * `vipctl owners` reads the elections from etcd itself, with the etcd
 * settings of vipd's configuration file, so it works on any node, with or
 * without a running vipd. status, release, pause, resume and reload ask the vipd
 * of this node through its control socket (ctlproto.h: one request line,
 * one JSON line back); -s names the socket, else the configuration's
 * vipd.controlSocket, else /run/vipd/vipd.sock.
 *
 * Exit codes: 0 ok, 1 error (configuration, TLS files, etcd, the daemon
 * not running or refusing), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctlproto.h"
#include "ctlview.h"
#include "etcd.h"
#include "etcd_codec.h"
#include "log.h"
#include "loop.h"
#include "owners.h"
#include "privs.h"
#include "tlsfiles.h"

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: vipctl [-c FILE] [--json] owners\n"
	    "       vipctl [-c FILE | -s SOCKET] [--json] status|release|pause|resume [VIP]\n"
	    "       vipctl [-c FILE | -s SOCKET] [--json] reload\n"
	    "       vipctl --version | --help\n"
	    "\n"
	    "  owners             each VIP's owner and the candidates queued behind it,\n"
	    "                     read from etcd (works on any node)\n"
	    "  status [VIP]       this node's VIPs: link, role, owner, lease, fence, time in\n"
	    "                     the role, the reason for the last change\n"
	    "  release [VIP]      hand the VIPs this node holds over now (the address goes,\n"
	    "                     this node queues again at the back)\n"
	    "  pause [VIP]        stop being a candidate (an owner hands over first)\n"
	    "  resume [VIP]       be a candidate again (at the back of the queue)\n"
	    "                     (without VIP: every VIP of this node)\n"
	    "  reload             vipd reads its configuration file again: unchanged VIPs\n"
	    "                     stay as they are; prints what changed, or the file's\n"
	    "                     errors (exit 1; the running configuration stays)\n"
	    "  -c, --config FILE  vipd's configuration, for its etcd settings and its\n"
	    "                     control socket (default %s)\n"
	    "  -s, --socket PATH  vipd's control socket (default: the configuration's\n"
	    "                     vipd.controlSocket, else /run/vipd/vipd.sock)\n"
	    "  -j, --json         machine-readable output (fields: docs/operations.md)\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         print this help and exit\n",
	    CFG_DEFAULT_PATH);
}

/* One range read, its reply kept for main. */
struct read {
	struct loop *loop;
	struct etcd *etcd;
	const char *prefix;
	size_t tries_left;     /* endpoints not tried yet */
	json_t *body;          /* the reply, a new reference; NULL on failure */
	char why[1024];
};

static void on_range(void *arg, const struct etcd_result *r);

/* One read of the whole prefix, values included (the node names), every
 * election at the same revision. */
static void send_range(struct read *rd)
{
	char *end = etcd_prefix_end(rd->prefix);

	etcd_call(rd->etcd, "/v3/kv/range", json_pack("{s:o, s:o, s:s, s:s}",
	    "key", etcd_json_b64(rd->prefix), "range_end", etcd_json_b64(end),
	    "sort_order", "ASCEND", "sort_target", "CREATE"), 0, on_range, rd);
	free(end);
}

static void on_range(void *arg, const struct etcd_result *r)
{
	struct read *rd = arg;
	size_t n = strlen(rd->why);

	if (r->err == 0) {
		rd->body = json_incref(r->body);
		loop_stop(rd->loop);
		return;
	}
	snprintf(rd->why + n, sizeof(rd->why) - n, "%s%s: %s", n ? "; " : "", r->endpoint,
	    r->message[0] ? r->message : strerror(-r->err));
	/* A transport failure moves the client to the next endpoint for the
	 * next request (etcd.h): ask each endpoint once. An answer from etcd
	 * itself (-EIO: an error code) is final. */
	if (r->err != -EIO && --rd->tries_left > 0) {
		send_range(rd);
		return;
	}
	loop_stop(rd->loop);
}

/* The etcd client as vipd would build it; NULL after printing why. */
static struct etcd *connect_etcd(struct loop *loop, const struct cfg *c)
{
	struct etcd_opts o = {
		.endpoints = c->etcd.endpoints, .n_endpoints = c->etcd.n_endpoints,
		.ca_file = c->etcd.ca_file, .cert_file = c->etcd.cert_file,
		.key_file = c->etcd.key_file, .username = c->etcd.username,
		.timeout_ms = c->etcd.timeout_ms, .allow_insecure = c->etcd.allow_insecure,
	};
	char why[512], *password = NULL;
	struct etcd *e;

	if (tlsfiles_check(c->etcd.ca_file, c->etcd.cert_file, c->etcd.key_file,
	    (int64_t)time(NULL), NULL, why, sizeof(why)) != TLSFILES_OK) {
		fprintf(stderr, "vipctl: %s: %s\n", c->path, why);
		return NULL;
	}
	if (c->etcd.username != NULL && c->etcd.password_file != NULL &&
	    privs_read_secret(c->etcd.password_file, &password, why, sizeof(why)) < 0) {
		fprintf(stderr, "vipctl: %s: vipd.etcd.passwordFile %s %s\n", c->path,
		    c->etcd.password_file, why);
		return NULL;
	}
	o.password = password;
	e = etcd_new(loop, &o);
	if (password != NULL)
		explicit_bzero(password, strlen(password));
	free(password);
	if (e == NULL)
		fprintf(stderr, "vipctl: etcd client set-up failed: %s\n", strerror(errno));
	return e;
}

static int cmd_owners(const struct cfg *c, bool json)
{
	struct read rd = { .loop = loop_new() };
	struct owners o = { 0 };
	struct etcd *e;
	int rc = 1;

	if (rd.loop == NULL) {
		fprintf(stderr, "vipctl: %s\n", strerror(errno));
		return 1;
	}
	e = connect_etcd(rd.loop, c);
	if (e == NULL)
		goto out;
	rd.etcd = e;
	rd.prefix = c->etcd.prefix;
	rd.tries_left = c->etcd.n_endpoints;
	send_range(&rd);
	if (loop_run(rd.loop) < 0 || rd.body == NULL) {
		fprintf(stderr, "vipctl: cannot read the elections from etcd (%s)\n",
		    rd.why[0] ? rd.why : "event loop failed");
		goto out;
	}
	if (owners_parse(&o, rd.body, c->etcd.prefix) < 0) {
		fprintf(stderr, "vipctl: etcd's answer is not a range reply\n");
		goto out;
	}
	for (size_t i = 0; i < c->n_vips; i++)
		owners_add_configured(&o, c->vips[i].ip);
	owners_sort(&o);
	if (json) {
		json_t *j = owners_json(&o);

		if (j == NULL) {
			fprintf(stderr, "vipctl: cannot encode the answer as JSON\n");
			goto out;
		}
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		owners_print(&o, stdout);
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	owners_free(&o);
	json_decref(rd.body);
	etcd_free(e);
	loop_free(rd.loop);
	return rc;
}

/* How long vipctl waits for vipd's answer; the daemon answers from its
 * event loop at once, so only a hung daemon takes this long. */
#define CTL_CLIENT_TIMEOUT_S 5
/* The largest answer read (many VIPs' status is a few KiB). */
#define CTL_MAX_ANSWER (1u << 20)

/* The socket from the configuration when it can be read, else the
 * default; an explicitly named file (-c) that is not valid is an error
 * (NULL after printing why). The caller frees. */
static char *socket_path(const char *cfg_path, bool cfg_given)
{
	FILE *quiet = cfg_given ? stderr : fopen("/dev/null", "w");
	struct cfg *c = cfg_load(cfg_path, quiet != NULL ? quiet : stderr);
	char *p;

	if (quiet != NULL && quiet != stderr)
		fclose(quiet);
	if (c == NULL && cfg_given) {
		fprintf(stderr, "vipctl: %s: configuration not valid\n", cfg_path);
		return NULL;
	}
	p = strdup(c != NULL && c->control_socket != NULL ? c->control_socket :
	    "/run/vipd/vipd.sock");
	cfg_free(c);
	return p;
}

/* Send one request and read the whole answer. Returns the parsed answer
 * (a new reference) or NULL after printing why. */
static json_t *ask(const char *path, const struct ctl_req *req)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_CLIENT_TIMEOUT_S };
	char line[CTL_MAX_REQUEST], *buf = NULL;
	size_t len = 0, cap = 0;
	json_error_t jerr;
	json_t *j = NULL;
	int fd = -1, n;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "vipctl: %s: path too long for a Unix socket\n", path);
		return NULL;
	}
	n = ctlproto_format(req, line, sizeof(line));
	if (n < 0) {
		fprintf(stderr, "vipctl: %s: not a VIP address\n", req->vip);
		return NULL;
	}
	memcpy(a.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		fprintf(stderr, "vipctl: socket: %s\n", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "vipctl: %s does not exist: vipd is not running, or its "
			    "control socket is elsewhere (-s, or -c for its configuration)\n", path);
		else if (errno == ECONNREFUSED)
			fprintf(stderr, "vipctl: nobody listens on %s: vipd is not running (the file "
			    "is left from an earlier run), or its control socket is elsewhere (-s)\n",
			    path);
		else if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "vipctl: %s: permission denied: the control socket is for "
			    "root (mode 0600) and vipd.controlGroup's members (0660); run vipctl "
			    "as root or as a member\n", path);
		else
			fprintf(stderr, "vipctl: cannot connect to %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		fprintf(stderr, "vipctl: %s: cannot send the request: %s\n", path, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (buf == NULL)
				fatal("vipctl");
		}
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "vipctl: %s: %s\n", path, errno == EAGAIN ?
			    "vipd did not answer in time" : strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CTL_MAX_ANSWER) {
			fprintf(stderr, "vipctl: %s: the answer is too long\n", path);
			goto out;
		}
	}
	j = json_loadb(buf != NULL ? buf : "", len, 0, &jerr);
	if (j == NULL || !json_is_object(j)) {
		fprintf(stderr, "vipctl: %s: the answer is not JSON%s%s\n", path,
		    len == 0 ? " (vipd closed the connection without one)" : ": ",
		    len == 0 ? "" : jerr.text);
		json_decref(j);
		j = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return j;
}

static int cmd_control(const char *path, const struct ctl_req *req, bool json)
{
	json_t *j = ask(path, req);
	int rc;

	if (j == NULL)
		return 1;
	if (json) {
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		rc = json_is_true(json_object_get(j, "ok")) ? 0 : 1;
		if (rc != 0) {
			const char *e = json_string_value(json_object_get(j, "error"));

			fprintf(stderr, "vipctl: %s: %s\n", ctlproto_cmd_name(req->cmd),
			    e != NULL ? "failed (see the answer)" : "the answer is not understood");
		}
	} else {
		rc = ctlview_print(j, ctlproto_cmd_name(req->cmd), stdout, stderr);
	}
	json_decref(j);
	return fflush(stdout) == 0 ? rc : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CFG_DEFAULT_PATH, *sock = NULL;
	bool json = false, cfg_given = false;
	struct ctl_req req = { 0 };
	struct cfg *cfg;
	char *sp;
	int ch, rc, cmd;

	while ((ch = getopt_long(argc, argv, "c:s:jVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			cfg_given = true;
			break;
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'V':
			printf("vipctl %s\n", VIPD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	cmd = optind < argc ? ctlproto_cmd_parse(argv[optind]) : -1;
	if (cmd >= 0) {
		if (optind + 2 < argc) {
			fprintf(stderr, "vipctl: extra argument: %s\n", argv[optind + 2]);
			usage(stderr);
			return 2;
		}
		req.cmd = (enum ctl_cmd)cmd;
		if (req.cmd == CTL_RELOAD && optind + 1 < argc) {
			fprintf(stderr, "vipctl: reload takes no argument: %s\n", argv[optind + 1]);
			usage(stderr);
			return 2;
		}
		if (optind + 1 < argc) {
			char line[CTL_MAX_REQUEST];

			snprintf(req.vip, sizeof(req.vip), "%s", argv[optind + 1]);
			if (strlen(argv[optind + 1]) >= sizeof(req.vip) ||
			    ctlproto_format(&req, line, sizeof(line)) < 0) {
				fprintf(stderr, "vipctl: not a VIP address: %s\n", argv[optind + 1]);
				usage(stderr);
				return 2;
			}
		}
		log_init("vipctl", LOG_LVL_ERROR);
		sp = sock != NULL ? strdup(sock) : socket_path(path, cfg_given);
		if (sp == NULL)
			return 1;
		rc = cmd_control(sp, &req, json);
		free(sp);
		return rc;
	}
	if (optind + 1 != argc || strcmp(argv[optind], "owners") != 0) {
		if (optind < argc)
			fprintf(stderr, "vipctl: unknown command or extra argument: %s\n",
			    argv[optind + (optind + 1 < argc && strcmp(argv[optind], "owners") == 0)]);
		usage(stderr);
		return 2;
	}
	/* etcd's failures are summed up in vipctl's own message, one line. */
	log_init("vipctl", LOG_LVL_ERROR);
	privs_early();
	cfg = cfg_load(path, stderr);
	if (cfg == NULL) {
		fprintf(stderr, "vipctl: %s: configuration not valid\n", path);
		return 1;
	}
	rc = cmd_owners(cfg, json);
	cfg_free(cfg);
	return rc;
}
