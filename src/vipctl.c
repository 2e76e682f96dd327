/*
 * vipctl - the operator's tool.
 *
 * `vipctl owners` reads the elections from etcd itself, with the etcd
 * settings of vipd's configuration file, so it works on any node, with or
 * without a running vipd. Commands that act on a running vipd (status,
 * release, pause, resume, reload) need its control socket, which this
 * version does not serve yet; they are not offered.
 *
 * Exit codes: 0 ok, 1 error (configuration, TLS files, etcd), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
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
	    "       vipctl --version | --help\n"
	    "\n"
	    "  owners             each VIP's owner and the candidates queued behind it,\n"
	    "                     read from etcd (works on any node)\n"
	    "  -c, --config FILE  vipd's configuration, for its etcd settings (default %s)\n"
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CFG_DEFAULT_PATH;
	bool json = false;
	struct cfg *cfg;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:jVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
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
