/*
 * cfg_vipd.c - the schema of the "vipd:" section: etcd, lease, announce,
 * control socket, metrics, log, hooks and the node name. Every key is strict:
 * an unknown one is an error with a suggestion.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cfg_parse.h"
#include "xmem.h"

enum { E_ENDPOINTS, E_CA, E_CERT, E_KEY, E_USER, E_PASS, E_PREFIX, E_TIMEOUT,
	E_INSECURE, E_AVOID };
static const char *const etcd_keys[] = {
	"endpoints", "caFile", "certFile", "keyFile", "username", "passwordFile",
	"prefix", "timeout", "allowInsecure", "avoidLeader", NULL
};

/*
 * Why prefix (as written) is not an election prefix vipd may own, or NULL.
 * Every key under it is read, and this node's old keys deleted, so it must
 * be a path of vipd's own: at least two non-empty segments ("/vipd/election",
 * not "/" or "/vipd" - a shallow prefix is too easily shared with other
 * programs' keys), no empty, "." or ".." segment, printable ASCII only.
 */
static const char *prefix_problem(const char *s)
{
	size_t segs = 0;

	if (s[0] != '/')
		return "must start with \"/\"";
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
			return "must be printable ASCII without spaces";
	for (const char *p = s + 1; *p; ) {
		size_t n = strcspn(p, "/");

		if (n == 0 && p[n] != '\0')
			return "must not have an empty segment (\"//\")";
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "must not have \".\" or \"..\" segments";
		segs += n > 0;
		p += n + (p[n] == '/');
	}
	if (segs < 2)
		return "must be at least two segments deep, such as /vipd/election "
		    "(vipd reads every key under it and deletes its own old ones)";
	return NULL;
}

static void walk_endpoints(struct cfg_pctx *p, struct cfg_pos at,
    const struct cfg_ynode *seq)
{
	struct cfg_etcd *e = &p->cfg->etcd;
	char buf[CFG_SHOW_LEN];
	const char *s, *why;

	if (!cfg_want(p, at, seq, CFG_Y_SEQ))
		return;
	if (seq->n == 0) {
		cfg_report(p, at, "must list at least one endpoint");
		return;
	}
	e->endpoints = xcalloc(seq->n, sizeof(*e->endpoints));
	for (size_t i = 0; i < seq->n; i++) {
		const struct cfg_ynode *item = seq->kid[i];
		size_t old = cfg_path_idx(p, i), len;

		s = cfg_get_str(p, cfg_pos_of(item), item);
		why = s ? cfg_check_endpoint(s) : NULL;
		if (why != NULL)
			cfg_report(p, cfg_pos_of(item), "%s, got \"%s\"", why,
			    cfg_show(item, buf));
		if (s == NULL || why != NULL)
			goto next;
		len = strlen(s);
		len -= s[len - 1] == '/';
		e->endpoints[e->n_endpoints] = xasprintf("%.*s", (int)len, s);
		for (size_t j = 0; j < e->n_endpoints; j++)
			if (strcmp(e->endpoints[j], e->endpoints[e->n_endpoints]) == 0) {
				cfg_report(p, cfg_pos_of(item), "%s is listed twice",
				    e->endpoints[j]);
				break;
			}
		e->n_endpoints++;
next:
		cfg_path_set(p, old);
	}
}

static void walk_etcd(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map)
{
	static const int pairs[][2] = { { E_CERT, E_KEY }, { E_USER, E_PASS } };
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg_etcd *e = &p->cfg->etcd;
	char **dst[] = { [E_CA] = &e->ca_file, [E_CERT] = &e->cert_file,
		[E_KEY] = &e->key_file, [E_USER] = &e->username,
		[E_PASS] = &e->password_file };
	bool ok[E_TIMEOUT + 1];
	char buf[CFG_SHOW_LEN];
	const char *s;

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return;
	cfg_fields(p, map, etcd_keys, true, v, k);
	if (v[E_ENDPOINTS] != NULL)
		FIELD(p, "endpoints", walk_endpoints(p, k[E_ENDPOINTS], v[E_ENDPOINTS]));
	for (int i = E_CA; i <= E_PASS; i++) {
		ok[i] = true;
		if (v[i] != NULL)
			FIELD(p, etcd_keys[i],
			    ok[i] = cfg_set_str(p, k[i], v[i], dst[i]));
	}
	/* certFile+keyFile and username+passwordFile come in pairs. */
	for (size_t i = 0; i < 2; i++) {
		int a = pairs[i][0], b = pairs[i][1], have = *dst[a] ? a : b;

		if (ok[a] && ok[b] && (*dst[a] == NULL) != (*dst[b] == NULL))
			FIELD(p, etcd_keys[have], cfg_report(p, k[have],
			    "needs %s as well", etcd_keys[have == a ? b : a]));
	}
	if (v[E_PREFIX] != NULL)
		FIELD(p, "prefix", {
			const char *why = NULL;

			s = cfg_get_str(p, k[E_PREFIX], v[E_PREFIX]);
			if (s != NULL && (why = prefix_problem(s)) != NULL) {
				cfg_report(p, k[E_PREFIX], "%s, got \"%s\"", why,
				    cfg_show(v[E_PREFIX], buf));
			} else if (s != NULL) {
				free(e->prefix);
				e->prefix = xasprintf("%s%s", s,
				    s[strlen(s) - 1] == '/' ? "" : "/");
			}
		});
	if (v[E_TIMEOUT] != NULL)
		FIELD(p, "timeout", cfg_get_duration(p, k[E_TIMEOUT], v[E_TIMEOUT],
		    100, 60000, &e->timeout_ms));
	if (v[E_INSECURE] != NULL)
		FIELD(p, "allowInsecure", cfg_get_bool(p, k[E_INSECURE], v[E_INSECURE],
		    &e->allow_insecure));
	if (v[E_AVOID] != NULL)
		FIELD(p, "avoidLeader", cfg_get_bool(p, k[E_AVOID], v[E_AVOID],
		    &e->avoid_leader));
	/* TLS files with an http:// endpoint: libcurl speaks plain HTTP
	 * there and never uses them, so that endpoint gets the election in
	 * clear and unauthenticated - most likely a forgotten "s". */
	for (int i = E_CA; i <= E_KEY; i++) {
		if (!ok[i] || *dst[i] == NULL)
			continue;
		for (size_t j = 0; j < e->n_endpoints; j++)
			if (strncmp(e->endpoints[j], "http://", 7) == 0)
				cfg_warn(p, k[i], "etcd.%s is set but endpoint %s is plain http: "
				    "no TLS is used with it (requests go in clear, the server is "
				    "not verified); use https://", etcd_keys[i], e->endpoints[j]);
		break; /* named once, at the first TLS field */
	}
	/* The password, and the token it buys, must never cross the network
	 * in clear: an http endpoint (fail-over may reach it) with auth is
	 * an error unless explicitly allowed. */
	if (ok[E_USER] && e->username != NULL && !e->allow_insecure) {
		for (size_t i = 0; i < e->n_endpoints; i++) {
			if (strncmp(e->endpoints[i], "http://", 7) != 0)
				continue;
			FIELD(p, "username", cfg_report(p, k[E_USER], "would send the password "
			    "and the auth token in clear to %s; use https endpoints, or set "
			    "allowInsecure: true (a network you trust)", e->endpoints[i]));
			break;
		}
	}
}

/* A mapping with the single key name (lease, metrics, log): its value. */
static const struct cfg_ynode *walk_one(struct cfg_pctx *p, struct cfg_pos at,
    const struct cfg_ynode *map, const char *name, struct cfg_pos *kat)
{
	const char *names[] = { name, NULL };
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return NULL;
	cfg_fields(p, map, names, true, v, k);
	*kat = k[0];
	return v[0];
}

static void walk_lease(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map)
{
	const struct cfg_ynode *v;
	struct cfg_pos k;
	char buf[CFG_SHOW_LEN];
	uint32_t ms;

	if ((v = walk_one(p, at, map, "ttl", &k)) == NULL)
		return;
	FIELD(p, "ttl", {
		if (cfg_get_duration(p, k, v, 3000, 300000, &ms)) {
			if (ms % 1000 != 0)
				cfg_report(p, k, "must be whole seconds, got %s",
				    cfg_show(v, buf));
			else
				p->cfg->lease_ttl_ms = ms;
		}
	});
}

enum { A_COUNT, A_INTERVAL, A_REFRESH };
static const char *const announce_keys[] = { "count", "interval", "refresh", NULL };

static void walk_announce(struct cfg_pctx *p, struct cfg_pos at,
    const struct cfg_ynode *map)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg *c = p->cfg;
	char buf[CFG_SHOW_LEN];
	uint32_t ms;

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return;
	cfg_fields(p, map, announce_keys, true, v, k);
	if (v[A_COUNT] != NULL)
		FIELD(p, "count", cfg_get_uint(p, k[A_COUNT], v[A_COUNT], 0, 100,
		    &c->announce_count));
	if (v[A_INTERVAL] != NULL)
		FIELD(p, "interval", cfg_get_duration(p, k[A_INTERVAL], v[A_INTERVAL],
		    10, 10000, &c->announce_interval_ms));
	if (v[A_REFRESH] != NULL)
		FIELD(p, "refresh", {
			if (!cfg_get_duration(p, k[A_REFRESH], v[A_REFRESH], 0,
			    UINT32_MAX, &ms))
				;
			else if (ms != 0 && (ms < 1000 || ms > 3600000))
				cfg_report(p, k[A_REFRESH], "must be 0s (off) or "
				    "1s..60m, got %s", cfg_show(v[A_REFRESH], buf));
			else
				c->announce_refresh_ms = ms;
		});
}

/* node: a host-name-like word; it is the value of the election key. */
static void walk_node(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v)
{
	char buf[CFG_SHOW_LEN];
	const char *s = cfg_get_str(p, at, v), *why;

	if (s == NULL || *s == '\0')
		return;
	if ((why = cfg_check_node(s)) != NULL) {
		cfg_report(p, at, "%s, got \"%s\"", why, cfg_show(v, buf));
		return;
	}
	free(p->cfg->node);
	p->cfg->node = xstrdup(s);
}

static void walk_socket(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v)
{
	char buf[CFG_SHOW_LEN];
	const char *s = cfg_get_str(p, at, v);

	if (s == NULL)
		return;
	if (s[0] != '/')
		cfg_report(p, at, "must be an absolute path, got \"%s\"", cfg_show(v, buf));
	else if (strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		cfg_report(p, at, "must be shorter than %zu bytes (a socket path)",
		    sizeof(((struct sockaddr_un *)0)->sun_path));
	else
		cfg_set_str(p, at, v, &p->cfg->control_socket);
}

static void walk_metrics(struct cfg_pctx *p, struct cfg_pos at,
    const struct cfg_ynode *map)
{
	const struct cfg_ynode *v;
	struct cfg_pos k;
	char buf[CFG_SHOW_LEN];
	const char *s, *why;

	if ((v = walk_one(p, at, map, "listen", &k)) == NULL)
		return;
	FIELD(p, "listen", {
		s = cfg_get_str(p, k, v);
		why = s && *s ? cfg_check_hostport(s, strlen(s), true) : NULL;
		if (why != NULL)
			cfg_report(p, k, "%s, got \"%s\"", why, cfg_show(v, buf));
		else if (s != NULL) {
			free(p->cfg->metrics_listen);
			p->cfg->metrics_listen = xstrdup(s); /* "" = off */
		}
	});
}

static void walk_log(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map)
{
	const struct cfg_ynode *v;
	struct cfg_pos k;
	char buf[CFG_SHOW_LEN];
	const char *s;

	if ((v = walk_one(p, at, map, "level", &k)) == NULL)
		return;
	FIELD(p, "level", {
		s = cfg_get_str(p, k, v);
		if (s != NULL && log_level_parse(s, &p->cfg->log_level) < 0)
			cfg_report(p, k, "must be debug, info, warn or error, got \"%s\"",
			    cfg_show(v, buf));
	});
}

/* createVlans: a missing VLAN link of a VIP is created (links.h). */
static void walk_create_vlans(struct cfg_pctx *p, struct cfg_pos at,
    const struct cfg_ynode *v)
{
	(void)cfg_get_bool(p, at, v, &p->cfg->create_vlans);
}

/* A hook's argv: a non-empty list of strings, the first an absolute path
 * (run without a shell or PATH search: child.h). */
static void walk_argv(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *seq,
    char ***dst)
{
	char buf[CFG_SHOW_LEN];
	char **argv;
	size_t n = 0;

	if (!cfg_want(p, at, seq, CFG_Y_SEQ))
		return;
	if (seq->n == 0) {
		cfg_report(p, at, "must list the program and its arguments, "
		    "such as [/usr/local/bin/on-acquire, --verbose]");
		return;
	}
	argv = xcalloc(seq->n + 1, sizeof(*argv));
	for (size_t i = 0; i < seq->n; i++) {
		const struct cfg_ynode *item = seq->kid[i];
		size_t old = cfg_path_idx(p, i);
		const char *s = cfg_get_str(p, cfg_pos_of(item), item);

		if (s != NULL && i == 0 && s[0] != '/')
			cfg_report(p, cfg_pos_of(item), "must be an absolute path (no shell, "
			    "no PATH search), got \"%s\"", cfg_show(item, buf));
		else if (s != NULL && strlen(s) != item->len)
			cfg_report(p, cfg_pos_of(item), "must not hold a NUL byte");
		else if (s != NULL)
			argv[n++] = xstrdup(s);
		cfg_path_set(p, old);
	}
	if (n < seq->n) {
		for (size_t i = 0; i < n; i++)
			free(argv[i]);
		free(argv);
		return;
	}
	*dst = argv;
}

enum { H_ACQUIRE, H_RELEASE, H_TIMEOUT };
static const char *const hooks_keys[] = { "onAcquire", "onRelease", "timeout", NULL };

static void walk_hooks(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg_hooks *h = &p->cfg->hooks;

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return;
	cfg_fields(p, map, hooks_keys, true, v, k);
	if (v[H_ACQUIRE] != NULL)
		FIELD(p, "onAcquire", walk_argv(p, k[H_ACQUIRE], v[H_ACQUIRE], &h->on_acquire));
	if (v[H_RELEASE] != NULL)
		FIELD(p, "onRelease", walk_argv(p, k[H_RELEASE], v[H_RELEASE], &h->on_release));
	if (v[H_TIMEOUT] != NULL)
		FIELD(p, "timeout", cfg_get_duration(p, k[H_TIMEOUT], v[H_TIMEOUT],
		    1000, 600000, &h->timeout_ms));
}

/* controlGroup: the group that may use the control socket (ctlsock.h); a
 * name or a number, resolved when vipd starts. */
static void walk_group(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v)
{
	char buf[CFG_SHOW_LEN];
	const char *s = cfg_get_str(p, at, v);

	if (s == NULL)
		return;
	if (s[0] == '\0' || strlen(s) > 64 || strpbrk(s, " \t:/") != NULL)
		cfg_report(p, at, "must be a group name or number, got \"%s\"", cfg_show(v, buf));
	else
		cfg_set_str(p, at, v, &p->cfg->control_group);
}

enum { D_NODE, D_ETCD, D_LEASE, D_ANNOUNCE, D_SOCKET, D_METRICS, D_LOG, D_VLANS,
	D_HOOKS, D_HEALTH, D_GROUP };
static const char *const vipd_keys[] = {
	"node", "etcd", "lease", "announce", "controlSocket", "metrics", "log",
	"createVlans", "hooks", "health", "controlGroup", NULL
};

void cfg_walk_vipd(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map)
{
	static void (*const walk[])(struct cfg_pctx *, struct cfg_pos,
	    const struct cfg_ynode *) = {
		walk_node, walk_etcd, walk_lease, walk_announce, walk_socket,
		walk_metrics, walk_log, walk_create_vlans, walk_hooks, cfg_walk_health,
		walk_group
	};
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return;
	cfg_fields(p, map, vipd_keys, true, v, k);
	for (size_t i = 0; i <= D_GROUP; i++)
		if (v[i] != NULL)
			FIELD(p, vipd_keys[i], walk[i](p, k[i], v[i]));
}
