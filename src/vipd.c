/*
 * vipd - keeps a shared virtual IP on exactly one node, elected via etcd.
 *
 * main() parses arguments, loads the configuration and hands over to the
 * daemon module; --check validates and prints the normalized config.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "netlink.h"
#include "privs.h"
#include "log.h"
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
 * The links this version's daemon cannot find yet (vip.c resolves a link
 * by name only, a VLAN as "<parent>.<id>"): the VIP is valid and kept,
 * but the daemon would wait for its link. Said, never silent.
 */
static void warn_unresolved(const char *path, const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->n_vips; i++) {
		const struct cfg_vip *v = &cfg->vips[i];
		char name[64];

		if (v->interface == NULL) {
			fprintf(stderr, "%s:%u: warning: vip %s: links chosen by %s are not "
			    "resolved by this version of the daemon: it would wait for "
			    "the link and not hold the address\n", path, v->line, v->ip,
			    v->alias ? "LinkAliasConfig" : "deviceSelector");
			continue;
		}
		snprintf(name, sizeof(name), "%s.%u", v->interface, v->vlan);
		if (v->vlan_name != NULL && strcmp(v->vlan_name, name) != 0)
			fprintf(stderr, "%s:%u: warning: vip %s: this version of the daemon "
			    "looks for the VLAN link as %s, not %s: it would wait for "
			    "that link\n", path, v->line, v->ip, name, v->vlan_name);
	}
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

	for (size_t i = 0; i < cfg->n_vips; i++) {
		const struct cfg_vip *v = &cfg->vips[i];
		struct nl_addr a[64];
		struct nl_link l;
		char name[64], list[256];
		int n;

		if (v->interface == NULL)
			continue;
		if (v->vlan == 0)
			snprintf(name, sizeof(name), "%s", v->interface);
		else
			snprintf(name, sizeof(name), "%s.%u", v->interface, v->vlan);
		if (nl == NULL && (nl = nl_open(NULL, NULL, NULL)) == NULL)
			return; /* logged by netlink; nothing to compare with */
		if (nl_link_by_name(nl, name, &l) != 0)
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
		    v->ip, name, list);
	}
	nl_close(nl);
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
		warn_unresolved(path, cfg);
		check_subnets(path, cfg);
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
