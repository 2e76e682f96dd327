/*
 * vipd - keeps a shared virtual IP on exactly one node, elected via etcd.
 *
 * main() parses arguments, loads the configuration and hands over to the
 * daemon module; --check validates and prints the normalized config.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctlsock.h"
#include "daemon.h"
#include "netlink.h"
#include "privs.h"
#include "links.h"
#include "log.h"
#include "tlsfiles.h"
#include "subnet.h"

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: vipd [-c FILE] [--check] [-v] [--version] [--help]\n"
	    "\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -n, --check        validate the configuration, print it normalized, exit\n"
	    "  -v, --verbose      debug logging (overrides vipd.log.level)\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         print this help and exit\n",
	    CFG_DEFAULT_PATH);
}

/*
 * The etcd TLS files as the daemon will read them: a missing file is a
 * warning (the daemon waits for it, as for kubeadm's certificates), an
 * unusable one an error. Returns false on an error.
 */
static bool check_tls_files(const char *path, const struct cfg *cfg)
{
	const struct cfg_etcd *e = &cfg->etcd;
	char why[512];

	switch (tlsfiles_check(e->ca_file, e->cert_file, e->key_file, (int64_t)time(NULL),
	    NULL, why, sizeof(why))) {
	case TLSFILES_OK:
		return true;
	case TLSFILES_MISSING:
		fprintf(stderr, "%s: warning: %s: the daemon would wait for it and take no "
		    "lease meanwhile\n", path, why);
		return true;
	case TLSFILES_BAD:
		break;
	}
	fprintf(stderr, "%s: error: %s\n", path, why);
	return false;
}

/*
 * The same-subnet rule (subnet.h): for each VIP whose link exists on this
 * machine, warn when no address on it has a prefix that contains the VIP
 * (the daemon logs the same at run time). A link that is not here says
 * nothing: --check is also run on another machine than the node. Reading
 * links and addresses over rtnetlink needs no privilege.
 */
static void check_subnets(const char *path, const struct cfg *cfg)
{
	struct nl *nl = NULL;
	struct links *ls = NULL;
	enum log_level saved = log_getlevel();

	/* The links module logs what it finds; --check says only this. */
	log_setlevel(LOG_LVL_ERROR);
	for (size_t i = 0; i < cfg->n_vips; i++) {
		const struct cfg_vip *v = &cfg->vips[i];
		struct links_want *w;
		struct vip_link l;
		struct nl_addr a[64];
		char list[256];
		int n;

		if (nl == NULL && (nl = nl_open(NULL, NULL, NULL)) == NULL)
			break; /* logged by netlink; nothing to compare with */
		if (ls == NULL)
			ls = links_new(nl, false); /* --check never creates a VLAN */
		/* The link as the daemon would find it (links.h). */
		w = links_want_new(ls, v);
		links_resolve(ls, w, &l);
		links_want_free(w);
		if (l.ifindex <= 0 && l.error)
			fprintf(stderr, "%s:%u: warning: vip %s: its link is not usable on this "
			    "machine: %s\n", path, v->line, v->ip, l.reason);
		if (l.ifindex <= 0)
			continue;
		n = nl_addr_list(nl, l.ifindex, v->family, NULL, a, sizeof(a) / sizeof(a[0]));
		if (n < 0)
			continue;
		if (n > (int)(sizeof(a) / sizeof(a[0])))
			n = (int)(sizeof(a) / sizeof(a[0]));
		if (subnet_find(v->family, v->addr, a, (size_t)n) >= 0)
			continue;
		subnet_format(list, sizeof(list), a, (size_t)n, v->family, v->addr);
		fprintf(stderr, "%s:%u: warning: vip %s is not in the subnet of link %s on this "
		    "machine: no address there has a prefix that contains it (addresses: %s); "
		    "the VIP should be an address of the nodes' shared network\n", path, v->line,
		    v->ip, l.name, list);
	}
	links_free(ls);
	nl_close(nl);
	log_setlevel(saved);
}

/*
 * What the daemon looks up on the machine when it runs, looked up here
 * too: a missing or non-executable exec check (the daemon counts it as a
 * failing check: the node turns unhealthy and leaves every election) or
 * hook (not run, logged), and a controlGroup this machine does not know
 * (the daemon stops at start). Warnings only: --check may run on another
 * machine than the node.
 */
static void check_programs(const char *path, const struct cfg *cfg)
{
	const struct cfg_hooks *hk = &cfg->hooks;
	char *const *hooks[2] = { hk->on_acquire, hk->on_release };
	static const char *const keys[2] = { "onAcquire", "onRelease" };

	for (size_t i = 0; i < cfg->health.n_checks; i++) {
		const struct cfg_check *c = &cfg->health.checks[i];

		if (c->kind == CFG_CHECK_EXEC && access(c->argv[0], X_OK) < 0)
			fprintf(stderr, "%s:%u: warning: vipd.health.checks[%zu].exec: %s: %s on this "
			    "machine: the check would fail and the node stay out of every "
			    "election\n", path, c->line, i, c->argv[0], strerror(errno));
	}
	for (size_t i = 0; i < 2; i++)
		if (hooks[i] != NULL && access(hooks[i][0], X_OK) < 0)
			fprintf(stderr, "%s: warning: vipd.hooks.%s: %s: %s on this machine: the "
			    "hook would not run\n", path, keys[i], hooks[i][0], strerror(errno));
	if (cfg->control_group != NULL) {
		char why[512];

		if (ctlsock_group_check(cfg->control_group, why, sizeof(why)) < 0)
			fprintf(stderr, "%s: warning: %s on this machine: vipd would stop at "
			    "start\n", path, why);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CFG_DEFAULT_PATH;
	int check = 0, verbose = 0, ch, rc;
	struct cfg *cfg;

	while ((ch = getopt_long(argc, argv, "c:nvVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("vipd %s\n", VIPD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vipd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	cfg = cfg_load(path, stderr);
	if (cfg == NULL) {
		fprintf(stderr, "vipd: %s: configuration not valid\n", path);
		return 1;
	}
	if (check) {
		/* Notes and warnings go to stderr: stdout stays the normalized
		 * form, which reads back unchanged. Neither fails the check. */
		for (size_t i = 0; i < cfg->n_notes; i++)
			fprintf(stderr, "%s\n", cfg->notes[i]);
		if (cfg->n_vips == 0)
			fprintf(stderr, "%s: warning: no VIP configured: vipd would run "
			    "and hold no address\n", path);
		check_subnets(path, cfg);
		check_programs(path, cfg);
		if (!check_tls_files(path, cfg)) {
			fprintf(stderr, "vipd: %s: configuration not usable\n", path);
			cfg_free(cfg);
			return 1;
		}
		cfg_print(cfg, stdout);
		cfg_free(cfg);
		return 0;
	}

	log_init("vipd", verbose ? LOG_LVL_DEBUG : cfg->log_level);
	for (size_t i = 0; i < cfg->n_notes; i++) {
		if (strstr(cfg->notes[i], ": warning: ") != NULL)
			log_warnx("config: %s", cfg->notes[i]);
		else
			log_info("config: %s", cfg->notes[i]);
	}
	privs_early(); /* before libcurl is set up */
	rc = daemon_run(cfg);
	cfg_free(cfg);
	return rc;
}
