/*
 * test_config.c - the configuration parser: defaults, the examples, every
 * class of error with its exact message and position, durations, and
 * print-then-reparse round trips.
 *
 * Run from the top of the source tree (tests/run-all does): the examples
 * are read from examples/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cel.h"
#include "config.h"

/* Under valgrind CPU-time bounds do not hold (memcheck is what is checked
 * there); valgrind.h is header-only and optional. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
/* The CPU-time bounds below are for the plain build: valgrind and the
 * sanitizers (make asan-check) check memory, and slow everything down. */
#ifdef __SANITIZE_ADDRESS__
#define TIME_BOUNDS_APPLY 0
#else
#define TIME_BOUNDS_APPLY (!RUNNING_ON_VALGRIND)
#endif

/* Parse text; *errs gets everything written to the error stream. */
static struct cfg *load(const char *text, char **errs)
{
	size_t len = 0;
	FILE *f = open_memstream(errs, &len);
	struct cfg *c;

	assert_non_null(f);
	c = cfg_load_string("t.yaml", text, strlen(text), f);
	fclose(f);
	return c;
}

/* text must parse without a word on the error stream. */
static struct cfg *ok(const char *text)
{
	char *errs = NULL;
	struct cfg *c = load(text, &errs);

	if (c == NULL || errs[0] != '\0')
		fail_msg("unexpected errors:\n%s", errs);
	free(errs);
	return c;
}

/* text must fail with exactly these error lines. */
static void bad(const char *text, const char *want)
{
	char *errs = NULL;
	struct cfg *c = load(text, &errs);

	assert_null(c);
	assert_string_equal(errs, want);
	free(errs);
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every field of a and b, one assert each, so a failure names the field. */
static void assert_cfg_equal(const struct cfg *a, const struct cfg *b)
{
	if (a->node == NULL || b->node == NULL)
		assert_ptr_equal(a->node, b->node);
	else
		assert_string_equal(a->node, b->node);
	assert_int_equal(a->etcd.n_endpoints, b->etcd.n_endpoints);
	for (size_t i = 0; i < a->etcd.n_endpoints; i++)
		assert_string_equal(a->etcd.endpoints[i], b->etcd.endpoints[i]);
#define STR_EQ(f)                                                   \
	do {                                                        \
		if (a->f == NULL || b->f == NULL)                   \
			assert_ptr_equal(a->f, b->f);               \
		else                                                \
			assert_string_equal(a->f, b->f);            \
	} while (0)
	STR_EQ(etcd.ca_file);
	STR_EQ(etcd.cert_file);
	STR_EQ(etcd.key_file);
	STR_EQ(etcd.username);
	STR_EQ(etcd.password_file);
	STR_EQ(etcd.prefix);
	STR_EQ(control_socket);
	STR_EQ(metrics_listen);
	assert_int_equal(a->etcd.timeout_ms, b->etcd.timeout_ms);
	assert_int_equal(a->lease_ttl_ms, b->lease_ttl_ms);
	assert_int_equal(a->announce_count, b->announce_count);
	assert_int_equal(a->announce_interval_ms, b->announce_interval_ms);
	assert_int_equal(a->announce_refresh_ms, b->announce_refresh_ms);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->n_vips, b->n_vips);
	for (size_t i = 0; i < a->n_vips; i++) {
		const struct cfg_vip *x = &a->vips[i], *y = &b->vips[i];

		assert_int_equal(x->family, y->family);
		assert_memory_equal(x->addr, y->addr, 16);
		assert_string_equal(x->ip, y->ip);
		STR_EQ(vips[i].interface);
		assert_int_equal(x->vlan, y->vlan);
		assert_int_equal(x->selector == NULL, y->selector == NULL);
		if (x->selector != NULL) {
			assert_int_equal(x->selector->has_physical, y->selector->has_physical);
			assert_int_equal(x->selector->physical, y->selector->physical);
			STR_EQ(vips[i].selector->hardware_addr);
			STR_EQ(vips[i].selector->permanent_addr);
			STR_EQ(vips[i].selector->driver);
			STR_EQ(vips[i].selector->bus_path);
			STR_EQ(vips[i].selector->pci_id);
		}
		assert_int_equal(x->typed, y->typed);
		STR_EQ(vips[i].link);
		STR_EQ(vips[i].vlan_name);
		assert_int_equal(x->vlan_mode, y->vlan_mode);
		assert_int_equal(x->alias == NULL, y->alias == NULL);
		if (x->alias != NULL) {
			STR_EQ(vips[i].alias->name);
			assert_true(cel_equal(x->alias->match, y->alias->match));
			assert_int_equal(x->alias_index, y->alias_index);
		}
	}
#undef STR_EQ
	assert_true(cfg_equal(a, b));
}

/* Print c, parse the output, compare; print again, compare the text. */
static void round_trip(const struct cfg *c)
{
	char *out1 = NULL, *out2 = NULL;
	size_t len1 = 0, len2 = 0;
	FILE *f = open_memstream(&out1, &len1);
	struct cfg *d;

	cfg_print(c, f);
	fclose(f);
	d = ok(out1);
	assert_cfg_equal(c, d);
	f = open_memstream(&out2, &len2);
	cfg_print(d, f);
	fclose(f);
	assert_string_equal(out1, out2);
	cfg_free(d);
	free(out1);
	free(out2);
}

/* --- good files -------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct cfg *c = ok("");

	(void)state;
	assert_string_equal(c->path, "t.yaml");
	assert_null(c->node);
	assert_int_equal(c->etcd.n_endpoints, 1);
	assert_string_equal(c->etcd.endpoints[0], "https://127.0.0.1:2379");
	assert_null(c->etcd.ca_file);
	assert_null(c->etcd.cert_file);
	assert_null(c->etcd.key_file);
	assert_null(c->etcd.username);
	assert_null(c->etcd.password_file);
	assert_string_equal(c->etcd.prefix, "/vipd/election/");
	assert_int_equal(c->etcd.timeout_ms, 2000);
	assert_int_equal(c->lease_ttl_ms, 5000);
	assert_int_equal(c->announce_count, 3);
	assert_int_equal(c->announce_interval_ms, 200);
	assert_int_equal(c->announce_refresh_ms, 0);
	assert_string_equal(c->control_socket, "/run/vipd/vipd.sock");
	assert_string_equal(c->metrics_listen, "127.0.0.1:9450");
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_int_equal(c->n_vips, 0);
	round_trip(c);
	cfg_free(c);

	/* Empty sections and null values leave the defaults. */
	c = ok("vipd:\n  node:\n  etcd: {}\n  lease: ~\n  metrics: {listen: null}\n"
	    "  announce:\n");
	cfg_free(c);
}

static void test_defaults_empty_sections(void **state)
{
	struct cfg *c = ok("vipd:\n  node: \"\"\n  etcd:\n    caFile: \"\"\n"
	    "    username: \"\"\n  lease: {}\n");

	(void)state;
	assert_null(c->node);
	assert_null(c->etcd.ca_file);
	assert_null(c->etcd.username);
	assert_int_equal(c->etcd.n_endpoints, 1);
	assert_int_equal(c->lease_ttl_ms, 5000);
	cfg_free(c);
}

static void test_example_eth0(void **state)
{
	struct cfg *c = cfg_load("examples/talos-eth0.yaml", stderr);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->n_vips, 1);
	assert_int_equal(c->vips[0].family, AF_INET);
	assert_string_equal(c->vips[0].ip, "192.168.0.15");
	assert_memory_equal(c->vips[0].addr, "\xc0\xa8\x00\x0f", 4);
	assert_string_equal(c->vips[0].interface, "eth0");
	assert_null(c->vips[0].selector);
	assert_int_equal(c->vips[0].vlan, 0);
	round_trip(c);
	cfg_free(c);
}

static void test_example_vlan(void **state)
{
	struct cfg *c = cfg_load("examples/talos-vlan.yaml", stderr);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->n_vips, 1);
	assert_string_equal(c->vips[0].ip, "192.168.1.15");
	assert_string_equal(c->vips[0].interface, "eth0");
	assert_int_equal(c->vips[0].vlan, 100);
	round_trip(c);
	cfg_free(c);
}

static void test_example_selector(void **state)
{
	struct cfg *c = cfg_load("examples/talos-selector.yaml", stderr);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->n_vips, 1);
	assert_null(c->vips[0].interface);
	assert_non_null(c->vips[0].selector);
	assert_true(c->vips[0].selector->has_physical);
	assert_true(c->vips[0].selector->physical);
	assert_null(c->vips[0].selector->hardware_addr);
	assert_null(c->vips[0].selector->driver);
	round_trip(c);
	cfg_free(c);
}

static void test_example_vipd(void **state)
{
	struct cfg *c = cfg_load("examples/vipd.yaml", stderr);

	(void)state;
	assert_non_null(c);
	assert_true(c->n_vips >= 1);
	/* the local member first, then the three members */
	assert_int_equal(c->etcd.n_endpoints, 4);
	assert_string_equal(c->etcd.endpoints[0], "https://127.0.0.1:2379");
	assert_non_null(c->etcd.cert_file);
	assert_non_null(c->etcd.key_file);
	round_trip(c);
	cfg_free(c);
}

static void test_full(void **state)
{
	struct cfg *c = ok(
	    "version: v1alpha1\n"
	    "debug: false\n"
	    "persist: true\n"
	    "cluster: {controlPlane: {endpoint: \"https://198.18.0.100:6443\"}}\n"
	    "machine:\n"
	    "  type: controlplane\n"
	    "  install: {disk: /dev/sda}\n"
	    "  network:\n"
	    "    hostname: cp1\n"
	    "    nameservers: [198.18.0.1]\n"
	    "    interfaces:\n"
	    "      - interface: eth0\n"
	    "        vlans:\n"
	    "          - vlanId: 10\n"
	    "            mtu: 1400\n"
	    "            vip: {ip: 198.18.10.100}\n"
	    "          - vlanId: 11\n"
	    "            dhcp: true\n"
	    "          - vlanId: 12\n"
	    "            vip: {ip: \"fd00:12::100\"}\n"
	    "        addresses: [198.18.0.11/24]\n"
	    "        routes: [{network: 0.0.0.0/0, gateway: 198.18.0.1}]\n"
	    "        mtu: 1500\n"
	    "        dhcp: false\n"
	    "        vip:\n"
	    "          ip: 198.18.0.100\n"
	    "      - deviceSelector:\n"
	    "          physical: false\n"
	    "          hardwareAddr: \"00:1a:*\"\n"
	    "          permanentAddr: \"00:1b:*\"\n"
	    "          driver: virtio*\n"
	    "          busPath: \"0000:00:0?.0\"\n"
	    "        vip: {ip: \"FD00:0::0100\"}\n"
	    "      - interface: bond0\n"
	    "        bond: {mode: 802.3ad, interfaces: [eth1, eth2]}\n"
	    "        dhcpOptions: {routeMetric: 100}\n"
	    "vipd:\n"
	    "  node: cp1\n"
	    "  etcd:\n"
	    "    endpoints:\n"
	    "      - https://198.18.0.11:2379/\n"
	    "      - http://[fd00::11]:2379\n"
	    "      - https://etcd-3.example\n"
	    "    caFile: /etc/ca.crt\n"
	    "    certFile: /etc/c.crt\n"
	    "    keyFile: /etc/c.key\n"
	    "    username: vipd\n"
	    "    passwordFile: /etc/vipd/password\n"
	    "    prefix: /vip/e\n"
	    "    allowInsecure: true\n"
	    "    avoidLeader: false\n"
	    "    timeout: 1.5s\n"
	    "  lease: {ttl: 1m}\n"
	    "  announce: {count: 0, interval: 10ms, refresh: 60m}\n"
	    "  controlSocket: /run/v.sock\n"
	    "  metrics: {listen: \"\"}\n"
	    "  log: {level: debug}\n");

	(void)state;
	assert_string_equal(c->node, "cp1");
	assert_int_equal(c->etcd.n_endpoints, 3);
	assert_string_equal(c->etcd.endpoints[0], "https://198.18.0.11:2379");
	assert_string_equal(c->etcd.endpoints[1], "http://[fd00::11]:2379");
	assert_string_equal(c->etcd.endpoints[2], "https://etcd-3.example");
	assert_string_equal(c->etcd.ca_file, "/etc/ca.crt");
	assert_string_equal(c->etcd.cert_file, "/etc/c.crt");
	assert_string_equal(c->etcd.key_file, "/etc/c.key");
	assert_string_equal(c->etcd.username, "vipd");
	assert_string_equal(c->etcd.password_file, "/etc/vipd/password");
	assert_string_equal(c->etcd.prefix, "/vip/e/");
	assert_true(c->etcd.allow_insecure);
	assert_false(c->etcd.avoid_leader);
	assert_int_equal(c->etcd.timeout_ms, 1500);
	assert_int_equal(c->lease_ttl_ms, 60000);
	assert_int_equal(c->announce_count, 0);
	assert_int_equal(c->announce_interval_ms, 10);
	assert_int_equal(c->announce_refresh_ms, 3600000);
	assert_string_equal(c->control_socket, "/run/v.sock");
	assert_string_equal(c->metrics_listen, "");
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);

	/* File order: own vip first, then the VLANs' (vlans came first). */
	assert_int_equal(c->n_vips, 4);
	assert_string_equal(c->vips[0].ip, "198.18.0.100");
	assert_int_equal(c->vips[0].vlan, 0);
	assert_int_equal(c->vips[0].line, 26);
	assert_string_equal(c->vips[1].ip, "198.18.10.100");
	assert_int_equal(c->vips[1].vlan, 10);
	assert_string_equal(c->vips[1].interface, "eth0");
	assert_int_equal(c->vips[1].line, 16);
	assert_string_equal(c->vips[2].ip, "fd00:12::100");
	assert_int_equal(c->vips[2].family, AF_INET6);
	assert_int_equal(c->vips[2].vlan, 12);
	assert_string_equal(c->vips[3].ip, "fd00::100");
	assert_null(c->vips[3].interface);
	assert_false(c->vips[3].selector->physical);
	assert_true(c->vips[3].selector->has_physical);
	assert_string_equal(c->vips[3].selector->hardware_addr, "00:1a:*");
	assert_string_equal(c->vips[3].selector->permanent_addr, "00:1b:*");
	assert_string_equal(c->vips[3].selector->driver, "virtio*");
	assert_string_equal(c->vips[3].selector->bus_path, "0000:00:0?.0");
	round_trip(c);
	cfg_free(c);
}

/* Talos multi-document configs: documents with kind: are skipped. */
static void test_multidoc(void **state)
{
	struct cfg *c = ok(
	    "apiVersion: v1alpha1\n"
	    "kind: HostnameConfig\n"
	    "auto: stable\n"
	    "---\n"
	    "version: v1alpha1\n"
	    "machine:\n"
	    "  network:\n"
	    "    interfaces:\n"
	    "      - interface: eth0\n"
	    "        vip: {ip: 198.18.0.100}\n"
	    "vipd: {node: cp2}\n"
	    "---\n"
	    "apiVersion: v1alpha1\n"
	    "kind: ExtensionServiceConfig\n"
	    "name: vipd\n"
	    "vipd: {ignored: here}\n"
	    "---\n");

	(void)state;
	assert_int_equal(c->n_vips, 1);
	assert_string_equal(c->node, "cp2");
	cfg_free(c);
}

/* An entry with neither interface nor deviceSelector is fine without vips. */
static void test_entry_without_link(void **state)
{
	struct cfg *c = ok("machine:\n  network:\n    interfaces:\n"
	    "      - dhcp: true\n        vlans: [{vlanId: 5}]\n");

	(void)state;
	assert_int_equal(c->n_vips, 0);
	cfg_free(c);
}

static void test_load_file_errors(void **state)
{
	char *errs = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&errs, &len);

	(void)state;
	assert_null(cfg_load("/nonexistent/vipd.yaml", f));
	fclose(f);
	assert_string_equal(errs, "/nonexistent/vipd.yaml: cannot open: "
	    "No such file or directory\n");
	free(errs);
	cfg_free(NULL);
	/* A NULL error stream is allowed: errors are counted, not printed. */
	assert_null(cfg_load_string("x", "vipd: 1", 7, NULL));
}

/* --- errors ------------------------------------------------------------ */

static void test_err_syntax(void **state)
{
	(void)state;
	bad("vipd:\n  node: cp1\n   etcd: {}\n",
	    "t.yaml:3:8: syntax error: mapping values are not allowed in this context\n");
	bad("vipd: [1, 2\n",
	    "t.yaml:2:1: syntax error: did not find expected ',' or ']' "
	    "(while parsing a flow sequence at 1:7)\n");
	bad("vipd: \"a\xff\"\n",
	    "t.yaml:1:9: syntax error: invalid leading UTF-8 octet\n");
}

static void test_err_unknown_keys(void **state)
{
	(void)state;
	bad("vipd:\n  etcd:\n    endpoint: [\"https://a:1\"]\n    cafile: /x\n"
	    "  lease: {tll: 5s}\n  wibble: 1\n",
	    "t.yaml:3:5: vipd.etcd.endpoint: unknown key (did you mean \"endpoints\"?)\n"
	    "t.yaml:4:5: vipd.etcd.cafile: unknown key (did you mean \"caFile\"?)\n"
	    "t.yaml:5:11: vipd.lease.tll: unknown key (did you mean \"ttl\"?)\n"
	    "t.yaml:6:3: vipd.wibble: unknown key\n");
	bad("machine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	    "        vip: {ip: 198.18.0.1, ipp: 1}\n        vipp: {}\n",
	    "t.yaml:5:31: machine.network.interfaces[0].vip.ipp: unknown key "
	    "(did you mean \"ip\"?)\n"
	    "t.yaml:6:9: machine.network.interfaces[0].vipp: unknown key "
	    "(did you mean \"vip\"?)\n");
	bad("vpid: {}\nmachines: {}\n",
	    "t.yaml:1:1: vpid: unknown key (did you mean \"vipd\"?)\n"
	    "t.yaml:2:1: machines: unknown key (did you mean \"machine\"?)\n");
	bad("machine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	    "        vlans: [{vlanId: 3, vip: {ip: 198.18.0.1}, vipp: 1}]\n"
	    "        deviceSelector: {driver: e1000, pysical: true}\n",
	    "t.yaml:4:9: machine.network.interfaces[0]: has both interface and "
	    "deviceSelector; give one\n"
	    "t.yaml:5:52: machine.network.interfaces[0].vlans[0].vipp: unknown key "
	    "(did you mean \"vip\"?)\n"
	    "t.yaml:6:41: machine.network.interfaces[0].deviceSelector.pysical: "
	    "unknown key (did you mean \"physical\"?)\n");
	/* A VIP moved by a cloud API: vipd cannot serve it, never half. */
	bad("machine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	    "        vip:\n          ip: 198.18.0.100\n"
	    "          equinixMetal: {apiToken: x}\n          hcloud: {apiToken: y}\n",
	    "t.yaml:7:11: machine.network.interfaces[0].vip.equinixMetal: vipd cannot "
	    "serve this VIP: Talos moves it through the Equinix Metal API, vipd only "
	    "announces on the local network; remove the key where announcing reaches "
	    "the clients, or leave this VIP to Talos\n"
	    "t.yaml:8:11: machine.network.interfaces[0].vip.hcloud: vipd cannot "
	    "serve this VIP: Talos moves it through the Hetzner Cloud API, vipd only "
	    "announces on the local network; remove the key where announcing reaches "
	    "the clients, or leave this VIP to Talos\n");
}

static void test_err_types(void **state)
{
	(void)state;
	bad("vipd:\n  node: {a: 1}\n  etcd: [1]\n  log: {level: [info]}\n",
	    "t.yaml:2:3: vipd.node: must be a single value, got a mapping\n"
	    "t.yaml:3:3: vipd.etcd: must be a mapping, got a list\n"
	    "t.yaml:4:9: vipd.log.level: must be a single value, got a list\n");
	bad("machine:\n  network:\n    interfaces:\n      interface: eth0\n",
	    "t.yaml:3:5: machine.network.interfaces: must be a list, got a mapping\n");
	bad("machine: 1\n", "t.yaml:1:1: machine: must be a mapping, got a single value\n");
	bad("machine:\n  network:\n    interfaces:\n      - deviceSelector: {physical: maybe}\n"
	    "        vip: {ip: 198.18.0.1}\n      - 7\n",
	    "t.yaml:4:26: machine.network.interfaces[0].deviceSelector.physical: "
	    "must be true or false, got \"maybe\"\n"
	    "t.yaml:6:9: machine.network.interfaces[1]: must be a mapping, "
	    "got a single value\n");
	bad("vipd:\n  announce:\n    count: \"3\"\n",
	    "t.yaml:3:5: vipd.announce.count: must be a whole number, got \"3\" "
	    "(a quoted string)\n");
	bad("vipd:\n  announce:\n    count: 2.5\n",
	    "t.yaml:3:5: vipd.announce.count: must be a whole number, got \"2.5\"\n");
	bad("- vipd\n", "t.yaml:1:1: a document must be a mapping, got a list\n");
}

static void test_err_link(void **state)
{
	(void)state;
	bad("machine:\n  network:\n    interfaces:\n"
	    "      - vip: {ip: 198.18.0.1}\n"
	    "      - vlans: [{vlanId: 2, vip: {ip: 198.18.0.2}}]\n"
	    "      - deviceSelector: {}\n        vip: {ip: 198.18.0.3}\n"
	    "      - deviceSelector: {pciID: \"8086:*\"}\n"
	    "      - deviceSelector: {driver: \"\"}\n"
	    "      - interface: this-name-is-too-long\n"
	    "      - interface: \"eth 0\"\n",
	    "t.yaml:4:9: machine.network.interfaces[0]: needs interface or "
	    "deviceSelector to say which link carries its vip\n"
	    "t.yaml:5:9: machine.network.interfaces[1]: needs interface or "
	    "deviceSelector to say which link carries its vip\n"
	    "t.yaml:6:9: machine.network.interfaces[2].deviceSelector: empty (or every value null): it "
	    "would match every link; give physical, hardwareAddr, permanentAddr, "
	    "driver, busPath or pciID\n"
	    "t.yaml:8:26: machine.network.interfaces[3].deviceSelector.pciID: must "
	    "be the vendor and device ids in hex, such as 8086:100E, got \"8086:*\"\n"
	    "t.yaml:9:26: machine.network.interfaces[4].deviceSelector.driver: must "
	    "not be empty\n"
	    "t.yaml:10:9: machine.network.interfaces[5].interface: must be at most "
	    "15 characters, got \"this-name-is-too-long\"\n"
	    "t.yaml:11:9: machine.network.interfaces[6].interface: must not contain "
	    "'/', ':' or spaces, got \"eth 0\"\n");
}

static void test_err_vlans(void **state)
{
	(void)state;
	bad("machine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	    "        vlans:\n"
	    "          - vlanId: 100\n"
	    "          - vlanId: 5000\n"
	    "          - vlanId: 0\n"
	    "          - vlanId: 100\n"
	    "          - vlanId: ten\n"
	    "          - vip: {ip: 198.18.0.1}\n"
	    "      - interface: eth1\n"
	    "        vlans: [{vlanId: 100}]\n"
	    "        vip: {ip: 198.18.0.2}\n",
	    "t.yaml:7:13: machine.network.interfaces[0].vlans[1].vlanId: must be "
	    "1..4094, got 5000\n"
	    "t.yaml:8:13: machine.network.interfaces[0].vlans[2].vlanId: must be "
	    "1..4094, got 0\n"
	    "t.yaml:9:13: machine.network.interfaces[0].vlans[3].vlanId: VLAN 100 "
	    "listed twice (also at 6:13)\n"
	    "t.yaml:10:13: machine.network.interfaces[0].vlans[4].vlanId: must be "
	    "a whole number, got \"ten\"\n"
	    "t.yaml:11:13: machine.network.interfaces[0].vlans[5]: missing vlanId\n");
	bad("machine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	    "        vlans: {vlanId: 1}\n",
	    "t.yaml:5:9: machine.network.interfaces[0].vlans: must be a list, "
	    "got a mapping\n");
}

static void test_err_vip_address(void **state)
{
	(void)state;
	bad("machine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	    "        vlans:\n"
	    "          - {vlanId: 1, vip: {ip: 198.18.0.1/24}}\n"
	    "          - {vlanId: 2, vip: {ip: \"fe80::1%eth0\"}}\n"
	    "          - {vlanId: 3, vip: {ip: 198.18.0}}\n"
	    "          - {vlanId: 4, vip: {ip: 0.0.0.0}}\n"
	    "          - {vlanId: 5, vip: {ip: \"::\"}}\n"
	    "          - {vlanId: 6, vip: {ip: 224.0.0.18}}\n"
	    "          - {vlanId: 7, vip: {ip: \"ff02::12\"}}\n"
	    "          - {vlanId: 8, vip: {ip: 127.0.1.1}}\n"
	    "          - {vlanId: 9, vip: {ip: \"::1\"}}\n"
	    "          - {vlanId: 10, vip: {ip: 169.254.0.1}}\n"
	    "          - {vlanId: 11, vip: {ip: \"fe80::1\"}}\n"
	    "          - {vlanId: 12, vip: {ip: \"::ffff:198.18.0.1\"}}\n"
	    "          - {vlanId: 13, vip: {ip: 255.255.255.255}}\n"
	    "          - {vlanId: 14, vip: {}}\n"
	    "          - {vlanId: 15, vip: {ip: [1]}}\n",
	    "t.yaml:6:31: machine.network.interfaces[0].vlans[0].vip.ip: must be an "
	    "address without a prefix length, got \"198.18.0.1/24\"\n"
	    "t.yaml:7:31: machine.network.interfaces[0].vlans[1].vip.ip: must be an "
	    "address without a zone, got \"fe80::1%eth0\"\n"
	    "t.yaml:8:31: machine.network.interfaces[0].vlans[2].vip.ip: must be an "
	    "IPv4 or IPv6 address, got \"198.18.0\"\n"
	    "t.yaml:9:31: machine.network.interfaces[0].vlans[3].vip.ip: must not be "
	    "the unspecified address, got \"0.0.0.0\"\n"
	    "t.yaml:10:31: machine.network.interfaces[0].vlans[4].vip.ip: must not be "
	    "the unspecified address, got \"::\"\n"
	    "t.yaml:11:31: machine.network.interfaces[0].vlans[5].vip.ip: must not be "
	    "a multicast address, got \"224.0.0.18\"\n"
	    "t.yaml:12:31: machine.network.interfaces[0].vlans[6].vip.ip: must not be "
	    "a multicast address, got \"ff02::12\"\n"
	    "t.yaml:13:31: machine.network.interfaces[0].vlans[7].vip.ip: must not be "
	    "a loopback address, got \"127.0.1.1\"\n"
	    "t.yaml:14:31: machine.network.interfaces[0].vlans[8].vip.ip: must not be "
	    "a loopback address, got \"::1\"\n"
	    "t.yaml:15:32: machine.network.interfaces[0].vlans[9].vip.ip: must not be "
	    "a link-local address, got \"169.254.0.1\"\n"
	    "t.yaml:16:32: machine.network.interfaces[0].vlans[10].vip.ip: must not be "
	    "a link-local address, got \"fe80::1\"\n"
	    "t.yaml:17:32: machine.network.interfaces[0].vlans[11].vip.ip: must not be "
	    "IPv4-mapped; write the IPv4 address, got \"::ffff:198.18.0.1\"\n"
	    "t.yaml:18:32: machine.network.interfaces[0].vlans[12].vip.ip: must not be "
	    "the broadcast address, got \"255.255.255.255\"\n"
	    "t.yaml:19:26: machine.network.interfaces[0].vlans[13].vip: missing ip\n"
	    "t.yaml:20:32: machine.network.interfaces[0].vlans[14].vip.ip: must be a "
	    "single value, got a list\n");
}

static void test_err_duplicate_vip(void **state)
{
	(void)state;
	bad("machine:\n  network:\n    interfaces:\n"
	    "      - interface: eth0\n"
	    "        vip:\n"
	    "          ip: 198.18.0.15\n"
	    "        vlans:\n"
	    "          - vlanId: 100\n"
	    "            vip:\n"
	    "              ip: \"fd00::15\"\n"
	    "      - interface: eth1\n"
	    "        vip: {ip: 198.18.0.15}\n"
	    "        vlans:\n"
	    "          - vlanId: 100\n"
	    "            vip:\n"
	    "              ip: \"FD00:0:0::0:15\"\n",
	    "t.yaml:12:15: machine.network.interfaces[1].vip.ip: 198.18.0.15 is "
	    "configured twice (also at 6:11)\n"
	    "t.yaml:16:15: machine.network.interfaces[1].vlans[0].vip.ip: fd00::15 is "
	    "configured twice (also at 10:15)\n");
}

static void test_err_durations(void **state)
{
	(void)state;
	bad("vipd:\n"
	    "  etcd: {timeout: 2}\n"
	    "  lease: {ttl: 5h}\n"
	    "  announce: {interval: -1s, refresh: 0.5s}\n"
	    "---\n",
	    "t.yaml:2:10: vipd.etcd.timeout: must be a duration such as 250ms, 2s or "
	    "1m, got \"2\"\n"
	    "t.yaml:3:11: vipd.lease.ttl: must be a duration such as 250ms, 2s or 1m, "
	    "got \"5h\"\n"
	    "t.yaml:4:14: vipd.announce.interval: must be a duration such as 250ms, "
	    "2s or 1m, got \"-1s\"\n"
	    "t.yaml:4:29: vipd.announce.refresh: must be 0s (off) or 1s..60m, got 0.5s\n");
	bad("vipd:\n"
	    "  lease: {ttl: 1s}\n"
	    "  announce: {interval: 11s, refresh: 61m, count: 101}\n"
	    "  etcd: {timeout: 50ms}\n",
	    "t.yaml:2:11: vipd.lease.ttl: must be 3s..5m, got 1s\n"
	    "t.yaml:3:14: vipd.announce.interval: must be 10ms..10s, got 11s\n"
	    "t.yaml:3:29: vipd.announce.refresh: must be 0s (off) or 1s..60m, got 61m\n"
	    "t.yaml:3:43: vipd.announce.count: must be 0..100, got 101\n"
	    "t.yaml:4:10: vipd.etcd.timeout: must be 100ms..1m, got 50ms\n");
	bad("vipd:\n  lease:\n    ttl: 3500ms\n",
	    "t.yaml:3:5: vipd.lease.ttl: must be whole seconds, got 3500ms\n");
}

static void test_err_etcd(void **state)
{
	(void)state;
	bad("vipd:\n  etcd:\n    endpoints:\n"
	    "      - ftp://198.18.0.1:2379\n"
	    "      - https://\n"
	    "      - https://198.18.0.1:0\n"
	    "      - https://198.18.0.1:99999\n"
	    "      - https://198.18.0.1:https\n"
	    "      - https://fd00::1:2379\n"
	    "      - https://[fd00::1\n"
	    "      - https://h/v3\n"
	    "      - https://user@h\n"
	    "      - https://h:2379\n"
	    "      - https://h:2379/\n"
	    "    certFile: /c\n"
	    "    passwordFile: /p\n",
	    "t.yaml:4:9: vipd.etcd.endpoints[0]: must start with http:// or https://, "
	    "got \"ftp://198.18.0.1:2379\"\n"
	    "t.yaml:5:9: vipd.etcd.endpoints[1]: needs a host, got \"https://\"\n"
	    "t.yaml:6:9: vipd.etcd.endpoints[2]: must have a port in 1..65535, "
	    "got \"https://198.18.0.1:0\"\n"
	    "t.yaml:7:9: vipd.etcd.endpoints[3]: must have a port in 1..65535, "
	    "got \"https://198.18.0.1:99999\"\n"
	    "t.yaml:8:9: vipd.etcd.endpoints[4]: must have a numeric port, "
	    "got \"https://198.18.0.1:https\"\n"
	    "t.yaml:9:9: vipd.etcd.endpoints[5]: needs [brackets] around an IPv6 "
	    "address, got \"https://fd00::1:2379\"\n"
	    "t.yaml:10:9: vipd.etcd.endpoints[6]: needs an IPv6 address in "
	    "[brackets], got \"https://[fd00::1\"\n"
	    "t.yaml:11:9: vipd.etcd.endpoints[7]: must be only scheme, host and port "
	    "(no path or user), got \"https://h/v3\"\n"
	    "t.yaml:12:9: vipd.etcd.endpoints[8]: must be only scheme, host and port "
	    "(no path or user), got \"https://user@h\"\n"
	    "t.yaml:14:9: vipd.etcd.endpoints[10]: https://h:2379 is listed twice\n"
	    "t.yaml:15:5: vipd.etcd.certFile: needs keyFile as well\n"
	    "t.yaml:16:5: vipd.etcd.passwordFile: needs username as well\n");
	bad("vipd:\n  etcd:\n    endpoints: []\n    keyFile: /k\n    username: u\n"
	    "    prefix: vipd/\n",
	    "t.yaml:3:5: vipd.etcd.endpoints: must list at least one endpoint\n"
	    "t.yaml:4:5: vipd.etcd.keyFile: needs certFile as well\n"
	    "t.yaml:5:5: vipd.etcd.username: needs passwordFile as well\n"
	    "t.yaml:6:5: vipd.etcd.prefix: must start with \"/\", got \"vipd/\"\n");
	bad("vipd:\n  etcd:\n    endpoints: https://h:2379\n",
	    "t.yaml:3:5: vipd.etcd.endpoints: must be a list, got a single value\n");
}

static void test_err_misc(void **state)
{
	(void)state;
	bad("vipd:\n"
	    "  node: \"cp 1\"\n"
	    "  controlSocket: vipd.sock\n"
	    "  metrics: {listen: 9450}\n"
	    "  log: {level: verbose}\n"
	    "---\n"
	    "vipd:\n"
	    "  metrics: {listen: \"[::1]\"}\n",
	    "t.yaml:2:3: vipd.node: must be a host name (letters, digits, '.', '-', "
	    "'_'; at most 253), got \"cp 1\"\n"
	    "t.yaml:3:3: vipd.controlSocket: must be an absolute path, got \"vipd.sock\"\n"
	    "t.yaml:4:13: vipd.metrics.listen: needs a port (host:port), got \"9450\"\n"
	    "t.yaml:5:9: vipd.log.level: must be debug, info, warn or error, "
	    "got \"verbose\"\n"
	    "t.yaml:7:1: vipd: only one document may hold machine and vipd; the first "
	    "one does, at line 1\n");
	bad("vipd:\n  controlSocket: /run/vipd/a-very-long-directory-name-for-a-socket/"
	    "and-another-one-to-go-past-the-limit-of-sun-path/vipd.sock\n"
	    "  metrics:\n    listen: \":9450\"\n",
	    "t.yaml:2:3: vipd.controlSocket: must be shorter than 108 bytes "
	    "(a socket path)\n"
	    "t.yaml:4:5: vipd.metrics.listen: needs a host, got \":9450\"\n");
}

static void test_err_yaml_features(void **state)
{
	(void)state;
	bad("vipd:\n  node: a\n  log: &l {level: info}\n  node: b\n"
	    "machine: *l\n",
	    "t.yaml:4:3: vipd.node: duplicate key (first at 2:3)\n"
	    "t.yaml:5:10: machine: aliases (*l) are not supported; write the value out\n");
	/* Duplicates and aliases count in the parts vipd ignores, too. */
	bad("cluster:\n  network: {}\n  network: {}\nmachine:\n  certSANs: [*x]\n",
	    "t.yaml:3:3: cluster.network: duplicate key (first at 2:3)\n"
	    "t.yaml:5:14: machine.certSANs[0]: aliases (*x) are not supported; "
	    "write the value out\n");
	bad("vipd: !!map {}\n", "t.yaml:1:7: vipd: tags (!!map) are not supported\n");
	bad("vipd:\n  node: \"a\\0b\"\n",
	    "t.yaml:2:3: vipd.node: must not contain NUL characters\n");
	bad("? [a]\n: *x\n",
	    "t.yaml:1:3: keys must be plain values, got a list\n"
	    "t.yaml:2:3: aliases (*x) are not supported; write the value out\n");
}

/* Nesting is bounded, so that recursion over the tree is. */
static void test_err_depth(void **state)
{
	char text[200];

	(void)state;
	memset(text, '[', 100);
	text[100] = '\0';
	bad(text, "t.yaml:1:65: nested more than 64 levels deep\n");
}

/* Three errors in one file: three lines, all in one run. */
static void test_err_all_reported(void **state)
{
	char *errs = NULL;
	struct cfg *c;

	(void)state;
	c = load("machine:\n  network:\n    interfaces:\n"
	    "      - interface: eth0\n"
	    "        vip: {ip: 300.1.1.1}\n"
	    "vipd:\n  lease: {ttl: 1s}\n  log: {levle: info}\n", &errs);
	assert_null(c);
	assert_int_equal(count_lines(errs), 3);
	assert_string_equal(errs,
	    "t.yaml:5:15: machine.network.interfaces[0].vip.ip: must be an IPv4 or "
	    "IPv6 address, got \"300.1.1.1\"\n"
	    "t.yaml:7:11: vipd.lease.ttl: must be 3s..5m, got 1s\n"
	    "t.yaml:8:9: vipd.log.levle: unknown key (did you mean \"level\"?)\n");
	free(errs);
}

/* Talos keys vipd does not act on are accepted, whatever their value. */
static void test_ignored_talos_keys(void **state)
{
	struct cfg *c = ok(
	    "version: v1alpha1\ndebug: maybe\npersist: 1\ncluster: [whatever]\n"
	    "machine:\n  type: controlplane\n  token: x\n  kubelet: {image: y}\n"
	    "  network:\n    hostname: cp1\n    kubespan: {enabled: true}\n"
	    "    interfaces:\n"
	    "      - interface: eth0\n"
	    "        addresses: 1\n        cidr: 2\n        routes: 3\n"
	    "        bond: 4\n        bridge: 5\n        bridgePort: 6\n"
	    "        mtu: 7\n        dhcp: 8\n        dhcpOptions: 9\n"
	    "        ignore: 10\n        dummy: 11\n        wireguard: 12\n"
	    "        vlans:\n"
	    "          - {vlanId: 3, addresses: 1, routes: 2, dhcp: 3, "
	    "dhcpOptions: 4, mtu: 5}\n");

	(void)state;
	assert_int_equal(c->n_vips, 0);
	cfg_free(c);
}

/* --- durations and printing ---------------------------------------------- */

static void test_duration_parse(void **state)
{
	static const struct { const char *s; uint32_t ms; } good[] = {
		{ "0s", 0 }, { "0ms", 0 }, { "0m", 0 }, { "250ms", 250 }, { "2s", 2000 },
		{ "1m", 60000 }, { "1.5s", 1500 }, { "1.50s", 1500 }, { "0.001s", 1 },
		{ "1.5m", 90000 }, { "007s", 7000 }, { "4294967295ms", 4294967295u },
		{ "4294967s", 4294967000u }, { "71582m", 4294920000u },
		{ "1.0000000000s", 1000 },
	};
	static const char *const badv[] = {
		"", "5", "s", "ms", "5h", "5 s", " 5s", "5s ", "-1s", "+1s", "1.s", ".5s",
		"1.0005s", "0.5ms", "4294967296ms", "4294968s", "71583m", "1e3ms",
		"99999999999999999999s", "1,5s", "5S", "5Ms", "1.00000000001s",
	};
	uint32_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = 12345;
		if (cfg_duration_parse(good[i].s, &ms) != 0)
			fail_msg("rejected %s", good[i].s);
		assert_int_equal(ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++)
		if (cfg_duration_parse(badv[i], &ms) != -EINVAL)
			fail_msg("accepted %s", badv[i]);
}

static void test_duration_format(void **state)
{
	static const struct { uint32_t ms; const char *s; } t[] = {
		{ 0, "0s" }, { 1, "1ms" }, { 200, "200ms" }, { 1500, "1500ms" },
		{ 2000, "2s" }, { 90000, "90s" }, { 60000, "1m" }, { 3600000, "60m" },
		{ 4294967295u, "4294967295ms" },
	};
	char buf[CFG_DURATION_LEN];
	uint32_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_string_equal(cfg_duration_format(t[i].ms, buf), t[i].s);
		assert_int_equal(cfg_duration_parse(buf, &ms), 0);
		assert_int_equal(ms, t[i].ms);
	}
}

static void test_print(void **state)
{
	struct cfg *c = ok("machine:\n  network:\n    interfaces:\n"
	    "      - interface: eth0\n        vip: {ip: \"fd00::0:15\"}\n"
	    "vipd:\n  etcd: {caFile: \"/etc/odd \\\"name\\\"\", prefix: /v/e}\n"
	    "  node: \"yes\"\n");
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	cfg_print(c, f);
	fclose(f);
	assert_string_equal(out,
	    "# vipd configuration, normalized by vipd --check\n"
	    "machine:\n"
	    "  network:\n"
	    "    interfaces:\n"
	    "      - interface: eth0\n"
	    "        vip:\n"
	    "          ip: \"fd00::15\"\n"
	    "vipd:\n"
	    "  node: \"yes\"\n"
	    "  etcd:\n"
	    "    endpoints:\n"
	    "      - \"https://127.0.0.1:2379\"\n"
	    "    caFile: \"/etc/odd \\\"name\\\"\"\n"
	    "    certFile: \"\"\n"
	    "    keyFile: \"\"\n"
	    "    username: \"\"\n"
	    "    passwordFile: \"\"\n"
	    "    prefix: /v/e/\n"
	    "    timeout: 2s\n"
	    "    avoidLeader: true\n"
	    "  lease:\n"
	    "    ttl: 5s\n"
	    "  announce:\n"
	    "    count: 3\n"
	    "    interval: 200ms\n"
	    "    refresh: 0s\n"
	    "  controlSocket: /run/vipd/vipd.sock\n"
	    "  metrics:\n"
	    "    listen: \"127.0.0.1:9450\"\n"
	    "  log:\n"
	    "    level: info\n");
	free(out);
	round_trip(c);
	cfg_free(c);
}

/* Entries split in the input must not merge in a way that reorders vips. */
static void test_round_trip_grouping(void **state)
{
	struct cfg *c = ok("machine:\n  network:\n    interfaces:\n"
	    "      - interface: eth0\n        vlans: [{vlanId: 5, vip: {ip: 198.18.5.1}}]\n"
	    "      - interface: eth0\n        vip: {ip: 198.18.0.1}\n"
	    "      - interface: eth0\n        vlans: [{vlanId: 5, vip: {ip: 198.18.5.2}}]\n"
	    "      - interface: eth0\n        vlans: [{vlanId: 6, vip: {ip: 198.18.6.1}}]\n"
	    "      - deviceSelector: {driver: e1000}\n        vip: {ip: 198.18.1.1}\n"
	    "      - deviceSelector: {driver: e1000}\n"
	    "        vlans: [{vlanId: 9, vip: {ip: 198.18.9.1}}]\n"
	    "      - deviceSelector: {driver: e1000e}\n"
	    "        vlans: [{vlanId: 9, vip: {ip: 198.18.9.2}}]\n");

	(void)state;
	assert_int_equal(c->n_vips, 7);
	round_trip(c);
	cfg_free(c);
}


/* --- Talos typed documents ---------------------------------------------- */

static const char typed_stream[] =
    "apiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.18.0.1\nlink: eth0\n"
    "---\napiVersion: v1alpha1\nkind: VLANConfig\nname: vl5\nvlanID: 5\n"
    "parent: eth0\nvlanMode: 802.1ad\nmtu: 1500\n"
    "---\napiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.18.5.1\nlink: vl5\n"
    "---\napiVersion: v1alpha1\nkind: LinkAliasConfig\nname: net%d\n"
    "selector: {match: 'link.driver == \"e1000\"'}\n"
    "---\napiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: fd00::1\nlink: net3\n"
    "---\napiVersion: v1alpha1\nkind: VLANConfig\nname: net0.7\nvlanID: 7\n"
    "parent: net0\n"
    "---\napiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.18.7.1\nlink: net0.7\n"
    "---\nmachine:\n  network:\n    interfaces:\n"
    "      - interface: eth9\n        vip: {ip: 198.18.9.1}\n";

/* What each form puts in struct cfg_vip; vip.c reads interface and vlan. */
static void test_typed_forms(void **state)
{
	struct cfg *c = ok(typed_stream);
	const struct cfg_vip *v = c->vips;
	const struct link_facts e1000 = { .driver = "e1000" }, other = { .driver = "igb" };

	(void)state;
	assert_int_equal(c->n_vips, 5);
	/* The machine.network.interfaces form first, whatever the order. */
	assert_string_equal(v[0].ip, "198.18.9.1");
	assert_false(v[0].typed);
	assert_null(v[0].link);
	/* A plain link name: as interface: eth0. */
	assert_true(v[1].typed);
	assert_string_equal(v[1].interface, "eth0");
	assert_int_equal(v[1].vlan, 0);
	assert_string_equal(v[1].link, "eth0");
	assert_null(v[1].alias);
	assert_null(v[1].selector);
	/* A VLANConfig: parent and id, as the legacy vlans form, plus its name. */
	assert_string_equal(v[2].interface, "eth0");
	assert_int_equal(v[2].vlan, 5);
	assert_string_equal(v[2].vlan_name, "vl5");
	assert_int_equal(v[2].vlan_mode, CFG_VLAN_8021AD);
	/* An alias: no interface, the alias and which of its matches. */
	assert_null(v[3].interface);
	assert_null(v[3].selector);
	assert_int_equal(v[3].vlan, 0);
	assert_string_equal(v[3].alias->name, "net%d");
	assert_int_equal(v[3].alias_index, 3);
	assert_true(cel_eval(v[3].alias->match, &e1000));
	assert_false(cel_eval(v[3].alias->match, &other));
	/* A VLANConfig on an alias. */
	assert_null(v[4].interface);
	assert_int_equal(v[4].vlan, 7);
	assert_string_equal(v[4].vlan_name, "net0.7");
	assert_int_equal(v[4].vlan_mode, CFG_VLAN_8021Q);
	assert_int_equal(v[4].alias_index, 0);
	assert_ptr_not_equal(v[4].alias, v[3].alias); /* each VIP owns a copy */
	round_trip(c);
	cfg_free(c);
}

static void test_typed_notes_and_hostname(void **state)
{
	struct cfg *c;

	(void)state;
	c = ok("apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp7\n"
	    "---\napiVersion: v1alpha1\nkind: KubeSpanConfig\nenabled: true\n"
	    "---\napiVersion: v1alpha1\nkind: LinkConfig\nname: eth0\nup: true\n");
	assert_string_equal(c->node, "cp7");
	assert_int_equal(c->n_vips, 0);
	assert_int_equal(c->n_notes, 2);
	assert_string_equal(c->notes[0], "t.yaml:5:1: note: ignored: kind KubeSpanConfig, "
	    "document 2");
	assert_string_equal(c->notes[1], "t.yaml:9:1: note: ignored: kind LinkConfig, "
	    "document 3 (vipd does not configure links)");
	cfg_free(c);
	/* machine.network.hostname before HostnameConfig; vipd.node first. */
	c = ok("machine: {network: {hostname: cp8}}\n---\n"
	    "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp7\n");
	assert_string_equal(c->node, "cp8");
	cfg_free(c);
	c = ok("machine: {network: {hostname: cp8}}\nvipd: {node: cp9}\n");
	assert_string_equal(c->node, "cp9");
	round_trip(c);
	cfg_free(c);
}

static void test_typed_errors(void **state)
{
	(void)state;
	/* The column of the offending token, in plain and quoted scalars. */
	bad("apiVersion: v1alpha1\nkind: LinkAliasConfig\nname: a\n"
	    "selector: {match: link.bogus == \"x\"}\n"
	    "---\napiVersion: v1alpha1\nkind: LinkAliasConfig\nname: b\n"
	    "selector:\n  match: \"link.kind == 'x' && link.mtu == '1'\"\n"
	    "---\napiVersion: v1alpha1\nkind: LinkAliasConfig\nname: c\n"
	    "selector:\n  match: >\n    link.kind == 'x' &&\n    link.mtu == '1'\n"
	    "---\napiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.18.0.1\nlink: a\n"
	    "---\napiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.18.0.2\nlink: b\n"
	    "---\napiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.18.0.3\nlink: c\n",
	    "t.yaml:4:24: LinkAliasConfig.selector.match: unsupported field link.bogus "
	    "(supported: driver, hardware_addr, permanent_addr, bus_path, pci_id, kind, type)\n"
	    "t.yaml:10:36: LinkAliasConfig.selector.match: unsupported field link.mtu "
	    "(supported: driver, hardware_addr, permanent_addr, bus_path, pci_id, kind, type)\n"
	    "t.yaml:16:10: LinkAliasConfig.selector.match: unsupported field link.mtu "
	    "(supported: driver, hardware_addr, permanent_addr, bus_path, pci_id, kind, type) "
	    "(at character 26 of the expression)\n");
	/* A VIP Talos moves through a cloud API is never dropped silently. */
	bad("apiVersion: v1alpha1\nkind: HCloudVIPConfig\nname: 198.18.0.1\nlink: eth0\n"
	    "apiToken: x\n",
	    "t.yaml:2:1: HCloudVIPConfig: vipd cannot serve this VIP: Talos moves it "
	    "through the Hetzner Cloud API, vipd only announces on the local network; "
	    "use Layer2VIPConfig where that reaches the clients, or leave this VIP to "
	    "Talos\n");
	/* The same address in both forms. */
	bad("apiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 198.18.0.1\nlink: eth0\n"
	    "---\nmachine: {network: {interfaces: [{interface: eth1, "
	    "vip: {ip: 198.18.0.1}}]}}\n",
	    "t.yaml:3:1: Layer2VIPConfig.name: 198.18.0.1 is configured twice "
	    "(also at 6:58)\n");
	/* A fixed alias and a VLANConfig of the same name. */
	bad("apiVersion: v1alpha1\nkind: LinkAliasConfig\nname: mgmt\n"
	    "selector: {match: 'link.kind == \"\"'}\n"
	    "---\napiVersion: v1alpha1\nkind: VLANConfig\nname: mgmt\nvlanID: 3\n"
	    "parent: eth0\n",
	    "t.yaml:6:1: VLANConfig.name: mgmt is also the name of alias mgmt (at 1:1); "
	    "give the VLAN another name\n");
}

/* cfg_equal sees every kind of difference. */
static void test_equal(void **state)
{
	const char *base = "machine: {network: {interfaces: [{interface: eth0, "
	    "vip: {ip: 198.18.0.1}}]}}\n";
	struct cfg *a = ok(base), *b = ok(base);

	(void)state;
	assert_true(cfg_equal(a, b));
	b->vips[0].vlan = 3;
	assert_false(cfg_equal(a, b));
	assert_false(cfg_vip_equal(&a->vips[0], &b->vips[0]));
	assert_true(cfg_vip_same_link(&a->vips[0], &b->vips[0]));
	b->vips[0].vlan = 0;
	b->lease_ttl_ms++;
	assert_false(cfg_equal(a, b));
	cfg_free(b);
	b = ok("machine: {network: {interfaces: [{interface: eth1, "
	    "vip: {ip: 198.18.0.1}}]}}\n");
	assert_false(cfg_vip_same_link(&a->vips[0], &b->vips[0]));
	assert_false(cfg_equal(a, b));
	cfg_free(a);
	cfg_free(b);
}

/* The election prefix must be vipd's own path: vipd reads every key under
 * it (and, at start, deletes its own old ones). Before the fix "/" and
 * "/vipd" were accepted. */
static void test_prefix_rule(void **state)
{
	static const struct {
		const char *prefix, *want;
	} cases[] = {
		{ "/", "must be at least two segments deep" },
		{ "/vipd", "must be at least two segments deep" },
		{ "/vipd/", "must be at least two segments deep" },
		{ "//vipd/e", "must not have an empty segment" },
		{ "/vipd//e", "must not have an empty segment" },
		{ "/vipd/../e", "must not have \".\" or \"..\" segments" },
		{ "/./vipd/e", "must not have \".\" or \"..\" segments" },
		{ "\"/vipd/e\\x01\"", "must be printable ASCII" },
		{ "\"/vipd/e f\"", "must be printable ASCII" },
		{ "vipd/e", "must start with \"/\"" },
		{ "/vipd/election", NULL },
		{ "/vipd/election/", NULL },
		{ "/a/b/c/", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL, *errs = NULL;
		struct cfg *c;

		assert_true(asprintf(&text, "vipd:\n  etcd:\n    prefix: %s\n", cases[i].prefix) > 0);
		c = load(text, &errs);
		if (cases[i].want == NULL) {
			assert_non_null(c);
			assert_string_equal(errs, "");
		} else {
			assert_null(c);
			if (strstr(errs, cases[i].want) == NULL || strncmp(errs, "t.yaml:3:5: vipd.etcd.prefix: ", 30) != 0)
				fail_msg("prefix %s: got %s", cases[i].prefix, errs);
		}
		cfg_free(c);
		free(errs);
		free(text);
	}
}

/* A username with any http:// endpoint sends the password and the token in
 * clear: an error unless allowInsecure. */
static void test_auth_over_http(void **state)
{
	struct cfg *c;

	(void)state;
	bad("vipd:\n  etcd:\n    endpoints: [\"https://a:2379\", \"http://b:2379\"]\n"
	    "    username: u\n    passwordFile: /p\n",
	    "t.yaml:4:5: vipd.etcd.username: would send the password and the auth token in "
	    "clear to http://b:2379; use https endpoints, or set allowInsecure: true "
	    "(a network you trust)\n");
	c = ok("vipd:\n  etcd:\n    endpoints: [\"https://a:2379\", \"http://b:2379\"]\n"
	    "    username: u\n    passwordFile: /p\n    allowInsecure: true\n");
	assert_true(c->etcd.allow_insecure);
	cfg_free(c);
	c = ok("vipd:\n  etcd:\n    endpoints: [\"https://a:2379\"]\n"
	    "    username: u\n    passwordFile: /p\n");
	assert_false(c->etcd.allow_insecure);
	cfg_free(c);
	/* without auth, http is fine */
	cfg_free(ok("vipd:\n  etcd:\n    endpoints: [\"http://b:2379\"]\n"));
}

/* deviceSelector with every value null selects every link, as {} does. */
static void test_selector_all_null(void **state)
{
	(void)state;
	bad("machine:\n  network:\n    interfaces:\n      - deviceSelector: {driver: null}\n"
	    "        vip: {ip: 198.18.0.100}\n",
	    "t.yaml:4:9: machine.network.interfaces[0].deviceSelector: empty (or every value "
	    "null): it would match every link; give physical, hardwareAddr, permanentAddr, "
	    "driver, busPath or pciID\n");
}

/* The duplicate-key check is linear: 100,000 keys under an ignored section
 * (160,000 took 47 s before: every key was compared with every earlier
 * one). Still reports a duplicate, with the first one's position. The
 * bound, 3 s of CPU, is checked in the plain build only. */
static void test_many_keys_linear(void **state)
{
	size_t cap = 100000 * 16 + 256, len = 0;
	char *text = malloc(cap), *errs = NULL;
	struct cfg *c;
	clock_t t0;
	double cpu;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "cluster:\n");
	for (int i = 0; i < 100000; i++)
		len += (size_t)snprintf(text + len, cap - len, "  k%d: v\n", i);
	len += (size_t)snprintf(text + len, cap - len, "  k7: again\n");
	t0 = clock();
	c = load(text, &errs);
	cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_null(c);
	assert_string_equal(errs, "t.yaml:100002:3: cluster.k7: duplicate key (first at 9:3)\n");
	if (cpu > 3.0 && TIME_BOUNDS_APPLY)
		fail_msg("100,000 keys took %.1f s of CPU", cpu);
	free(errs);
	free(text);
}

/* n documents of a kind; %d in fmt is the document's number. */
static char *docs(size_t n, const char *fmt, const char *tail)
{
	size_t cap = n * (strlen(fmt) + 32) + strlen(tail) + 1, len = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, fmt, (int)i, (int)i,
		    (int)i);
	snprintf(text + len, cap - len, "%s", tail);
	return text;
}

static double cpu_load(const char *text, struct cfg **c, char **errs)
{
	clock_t t0 = clock();

	*c = load(text, errs);
	return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

/* 60,000 documents of fmt then tail: refused with exactly want, within
 * the CPU bound below. */
static void over_cap(const char *fmt, const char *tail, const char *want)
{
	char *text = docs(60000, fmt, tail), *errs = NULL;
	struct cfg *c;
	double cpu = cpu_load(text, &c, &errs);

	assert_null(c);
	assert_string_equal(errs, want);
	if (cpu > 1.5 && TIME_BOUNDS_APPLY)
		fail_msg("60,000 documents took %.1f s of CPU: %s", cpu, want);
	free(errs);
	free(text);
}

/*
 * At most CFG_MAX_VIPS (4096) VIPs, VLANConfig and LinkAliasConfig
 * documents each, one error at the first one over. The checks across
 * them are pairwise: before the cap, 60,000 Layer2VIPConfig took 10.0 s
 * of CPU here (and vipd --check took 5.9 s on 40,000 VLANConfig, 6.7 s on
 * 40,000 LinkAliasConfig); with the cap 0.23, 0.30 and 0.31 s (the YAML
 * parse), and the worst file within the caps (4,096 of each, every VIP on
 * a VLAN on an alias) 0.6 s in vipd --check. The bound, 1.5 s of CPU, is
 * far from both; it is checked in the plain build only (not under
 * valgrind or the sanitizers).
 */
static void test_many_vips_capped(void **state)
{
	static const char *const l2 = "apiVersion: v1alpha1\nkind: Layer2VIPConfig\n"
	    "name: fd00::%x:%x\nlink: eth0\n---\n";
	static const char *const vlan = "apiVersion: v1alpha1\nkind: VLANConfig\n"
	    "name: v%d\nvlanID: 7\nparent: eth0\n---\n";
	static const char *const alias = "apiVersion: v1alpha1\nkind: LinkAliasConfig\n"
	    "name: a%d\nselector: {match: 'link.driver == \"x\"'}\n---\n";
	static const char *const one = "apiVersion: v1alpha1\nkind: Layer2VIPConfig\n"
	    "name: 198.19.0.1\nlink: eth0\n";
	char *text, *errs = NULL;
	struct cfg *c;

	(void)state;
	over_cap(l2, one, "t.yaml:20481:1: Layer2VIPConfig: more than 4096 "
	    "Layer2VIPConfig documents (the limit of one vipd)\n");
	over_cap(vlan, one, "t.yaml:24577:1: VLANConfig: more than 4096 "
	    "VLANConfig documents (the limit of one vipd)\n");
	over_cap(alias, one, "t.yaml:20481:1: LinkAliasConfig: more than 4096 "
	    "LinkAliasConfig documents (the limit of one vipd)\n");

	/* 4096 exactly is fine */
	text = docs(4095, l2, one);
	c = ok(text);
	assert_int_equal(c->n_vips, 4096);
	cfg_free(c);
	free(text);

	/* the cap counts every VIP: one in interfaces (added first) and 4096
	 * typed; the error is at the last typed one */
	text = docs(4096, l2, "machine:\n  network:\n    interfaces:\n"
	    "      - {interface: eth1, vip: {ip: 198.19.0.1}}\n");
	assert_null(load(text, &errs));
	assert_string_equal(errs, "t.yaml:20478:1: Layer2VIPConfig.name: more than 4096 "
	    "VIPs (the limit of one vipd)\n");
	free(errs);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_rule),
		cmocka_unit_test(test_many_keys_linear),
		cmocka_unit_test(test_many_vips_capped),
		cmocka_unit_test(test_auth_over_http),
		cmocka_unit_test(test_selector_all_null),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_defaults_empty_sections),
		cmocka_unit_test(test_example_eth0),
		cmocka_unit_test(test_example_vlan),
		cmocka_unit_test(test_example_selector),
		cmocka_unit_test(test_example_vipd),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_multidoc),
		cmocka_unit_test(test_entry_without_link),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_err_syntax),
		cmocka_unit_test(test_err_unknown_keys),
		cmocka_unit_test(test_err_types),
		cmocka_unit_test(test_err_link),
		cmocka_unit_test(test_err_vlans),
		cmocka_unit_test(test_err_vip_address),
		cmocka_unit_test(test_err_duplicate_vip),
		cmocka_unit_test(test_err_durations),
		cmocka_unit_test(test_err_etcd),
		cmocka_unit_test(test_err_misc),
		cmocka_unit_test(test_err_yaml_features),
		cmocka_unit_test(test_err_depth),
		cmocka_unit_test(test_err_all_reported),
		cmocka_unit_test(test_ignored_talos_keys),
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_round_trip_grouping),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_typed_forms),
		cmocka_unit_test(test_typed_notes_and_hostname),
		cmocka_unit_test(test_typed_errors),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
