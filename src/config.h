/*
 * config.h - vipd's configuration as plain, validated data.
 *
 * cfg_load() parses one YAML file into a fresh struct cfg and touches no
 * live state, so a reload can build a new config beside the running one
 * and compare. The file accepts the Talos Linux machine-config form
 * (machine.network.interfaces[].vip.ip, vlans[].vip.ip, deviceSelector)
 * plus a "vipd:" section for the daemon itself, and the typed documents
 * of Talos 1.12+ (Layer2VIPConfig, VLANConfig, LinkAliasConfig, ...) in
 * the same YAML stream.
 */
#ifndef VIPD_CONFIG_H
#define VIPD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define CFG_DEFAULT_PATH "/etc/vipd/vipd.yaml"

/*
 * At most this many VIPs in one configuration, and as many VLANConfig and
 * LinkAliasConfig documents: more is an error. Each VIP is an election
 * and an address; a daemon holding thousands is not a use case, and the
 * checks across VIPs, VLANs and aliases (duplicates, link look-ups) are
 * pairwise, so the cap bounds --check's time (docs/configuration.md).
 */
#define CFG_MAX_VIPS 4096

/* Talos deviceSelector: every field given must match (logical AND). */
struct cfg_selector {
	bool has_physical;
	bool physical;
	char *hardware_addr; /* glob, e.g. "00:1a:*"; NULL = any */
	char *permanent_addr; /* glob; NULL = any */
	char *driver;        /* glob; NULL = any */
	char *bus_path;      /* glob; NULL = any */
	char *pci_id;        /* "VVVV:DDDD", exact, any case; NULL = any */
};

struct cel_expr;

/*
 * A Talos LinkAliasConfig: the link whose facts satisfy match is called
 * name. A name with "%d" (such as "net%d") is a pattern: every matching
 * link gets one, numbered in hardware-address order (linksel.h); a fixed
 * name must match exactly one link at run time.
 */
struct cfg_alias {
	char *name;              /* "mgmt" or "net%d" */
	struct cel_expr *match;  /* selector.match, parsed (cel.h) */
	unsigned line;           /* where its document starts */
};

enum cfg_vlan_mode { CFG_VLAN_8021Q = 0, CFG_VLAN_8021AD };

struct cfg_vip {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];  /* network byte order; 4 bytes used for IPv4 */
	char ip[46];             /* normalized text form (inet_ntop) */
	char *interface;         /* link name, or NULL when selected */
	struct cfg_selector *selector; /* or NULL when named */
	unsigned vlan;           /* 0 = the link itself, else 1..4094 */
	unsigned line;           /* where "ip:" stands, for messages */

	/*
	 * From a Talos Layer2VIPConfig document (typed); zero for the
	 * machine.network.interfaces form. The link is, by its "link":
	 *   a link name     interface = name
	 *   a VLANConfig    interface = parent, vlan = vlanID, vlan_name,
	 *                   vlan_mode; if the parent is an alias: interface
	 *                   NULL and alias, alias_index as below
	 *   an alias        interface NULL, alias, alias_index (the n of
	 *                   "net%d"; 0 for a fixed name)
	 * selector stays NULL.
	 */
	bool typed;
	char *link;              /* Layer2VIPConfig.link as written */
	char *vlan_name;         /* the VLANConfig's name (the VLAN link's) */
	enum cfg_vlan_mode vlan_mode;
	struct cfg_alias *alias; /* owned copy, or NULL */
	unsigned alias_index;
};

struct cfg_etcd {
	char **endpoints;        /* "https://host:port", at least one */
	size_t n_endpoints;
	char *ca_file;           /* NULL = system CAs */
	char *cert_file;         /* NULL = no client certificate */
	char *key_file;
	char *username;          /* NULL = no etcd auth */
	char *password_file;
	char *prefix;            /* election prefix, ends in "/", >= 2 segments */
	bool allow_insecure;     /* username with http:// endpoints allowed */
	bool avoid_leader;       /* move etcd's raft leadership off an owner's
				    member (leadermove.h); default true */
	uint32_t timeout_ms;     /* per request */
};

/*
 * vipd.health (health.h): checks whose failure takes this node out of
 * every VIP's election. n_checks 0 = no health checks (always healthy).
 */
#define CFG_MAX_CHECKS 16
enum cfg_check_kind { CFG_CHECK_HTTP = 1, CFG_CHECK_TCP, CFG_CHECK_EXEC };
struct cfg_check {
	enum cfg_check_kind kind;
	char *target;            /* http: the URL; tcp: "address:port" (a
				    numeric IPv4 or [IPv6]); exec: argv[0] */
	char **argv;             /* exec: NULL-terminated, argv[0] absolute */
	size_t argc;
	char *ca_file;           /* http: NULL = the system's CAs */
	bool insecure;           /* http: insecureSkipVerify */
	unsigned line;           /* where the check stands, for messages */
};
struct cfg_health {
	uint32_t interval_ms;    /* a round every interval (default 2 s) */
	uint32_t timeout_ms;     /* each check's own limit, <= interval (1 s) */
	unsigned fall, rise;     /* rounds in a row to change state (3, 2) */
	uint32_t start_grace_ms; /* failures after start not counted (0) */
	struct cfg_check *checks;
	size_t n_checks;
};
/* NULL-safe parts; leaves h zeroed. */
void cfg_health_free(struct cfg_health *h);
bool cfg_health_equal(const struct cfg_health *a, const struct cfg_health *b);
/* vipd.hooks.timeout when the file does not set it (ms). */
#define CFG_HOOKS_TIMEOUT_MS 30000u

/* vipd.hooks (hooks.h): programs run after this node starts or stops
 * holding a VIP. */
struct cfg_hooks {
	char **on_acquire;       /* argv, NULL-terminated; NULL = none */
	char **on_release;
	uint32_t timeout_ms;     /* per run, 1 s .. 10 min; default
	                          * CFG_HOOKS_TIMEOUT_MS */
};
/* Same programs, arguments and timeout. */
bool cfg_hooks_equal(const struct cfg_hooks *a, const struct cfg_hooks *b);

struct cfg {
	char *path;              /* the file it came from */
	char *node;              /* NULL = use the host name */
	struct cfg_etcd etcd;
	uint32_t lease_ttl_ms;   /* 2000 .. 300000, whole seconds */
	uint32_t announce_count;
	uint32_t announce_interval_ms;
	uint32_t announce_refresh_ms; /* 0 = off */
	char *control_socket;
	char *control_group;     /* vipd.controlGroup: socket 0660 with this
				    group; NULL = 0600, root only */
	char *metrics_listen;    /* "" = off */
	enum log_level log_level;
	struct cfg_health health; /* vipd.health */
	bool create_vlans;       /* vipd.createVlans: create a VIP's missing
				    VLAN link (links.h); default false */
	struct cfg_hooks hooks;
	struct cfg_vip *vips;    /* machine.network.interfaces' first, then
				    the Layer2VIPConfig documents' */
	size_t n_vips;           /* at most CFG_MAX_VIPS */
	char **notes;            /* "file:line:col: note: ..." lines: documents
				    read but not acted on (not compared) */
	size_t n_notes;
};

/*
 * Parse and validate path. On success returns a new config (free with
 * cfg_free). On any error writes every error found, one per line, as
 * "file:line:column: field: message" to errs and returns NULL.
 */
struct cfg *cfg_load(const char *path, FILE *errs);

/* Same, from a string in memory; name is used in messages. */
struct cfg *cfg_load_string(const char *name, const char *text, size_t len, FILE *errs);

/* NULL-safe. */
void cfg_free(struct cfg *c);

/*
 * Write the normalized configuration as YAML that cfg_load accepts and
 * that parses back to an equal config (the --check output format).
 */
void cfg_print(const struct cfg *c, FILE *out);

/*
 * Parse "250ms", "2s", "1m" (also "1.5s"): a decimal number and a unit,
 * nothing else. The result must be whole milliseconds and fit in 32 bits.
 * Returns 0, or -EINVAL (bad syntax, unknown unit, sign, overflow).
 */
int cfg_duration_parse(const char *s, uint32_t *ms);

/*
 * Write ms in canonical form into buf (at least CFG_DURATION_LEN bytes):
 * whole minutes as "Nm", whole seconds as "Ns", otherwise "Nms"; 0 as
 * "0s". cfg_duration_parse reads it back to the same value. Returns buf.
 */
#define CFG_DURATION_LEN 16
char *cfg_duration_format(uint32_t ms, char *buf);

/*
 * Copy what identifies src's address into dst: family, addr, ip, vlan,
 * typed, alias_index, vlan_mode, line. Every pointer field of dst is set
 * to NULL, so dst owns nothing and outlives src's config (a VIP keeps one
 * across reloads: vip.h).
 */
void cfg_vip_copy_addr(struct cfg_vip *dst, const struct cfg_vip *src);

/* True if a and b select the same link: same name, or equal selectors. */
bool cfg_vip_same_link(const struct cfg_vip *a, const struct cfg_vip *b);

/* True if a and b are the same VIP on the same link and VLAN (line ignored). */
bool cfg_vip_equal(const struct cfg_vip *a, const struct cfg_vip *b);

/*
 * True if a and b configure the same thing: every field equal, except
 * path and the VIPs' line numbers. For reload and round-trip tests.
 */
bool cfg_equal(const struct cfg *a, const struct cfg *b);

#endif
