/*
 * cfg_health.c - the schema of "vipd.health:" (health.h carries it out):
 *
 *   health:
 *     interval: 2s     timeout: 1s     fall: 3     rise: 2     startGrace: 0s
 *     checks:
 *       - http: https://127.0.0.1:6443/readyz   (caFile, insecureSkipVerify)
 *       - tcp: 127.0.0.1:6443
 *       - exec: ["/usr/local/bin/my-check", "--quick"]
 *
 * Strict like the rest of the vipd: section. A tcp check takes a numeric
 * address (no name look-up can block the loop); an exec check an absolute
 * program path (no shell, no PATH search).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_parse.h"
#include "xmem.h"

enum { C_HTTP, C_TCP, C_EXEC, C_CA, C_INSECURE };
static const char *const check_keys[] = {
	"http", "tcp", "exec", "caFile", "insecureSkipVerify", NULL
};

/* Why s is not "IPv4:port" or "[IPv6]:port", or NULL. */
static const char *tcp_problem(const char *s)
{
	const char *why = cfg_check_hostport(s, strlen(s), true), *colon;
	char host[64];
	unsigned char a[16];
	size_t n;

	if (why != NULL)
		return why;
	if (s[0] == '[')
		return NULL; /* cfg_check_hostport parsed the IPv6 address */
	colon = strrchr(s, ':');
	n = (size_t)(colon - s);
	if (n >= sizeof(host))
		return "must be a numeric address and a port (no name look-up)";
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, a) != 1)
		return "must be a numeric address and a port (no name look-up)";
	return NULL;
}

static const char *url_problem(const char *s)
{
	const char *h;

	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return "must be an http:// or https:// URL";
	if (*h == '\0' || *h == '/')
		return "needs a host";
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return "must be printable ASCII without spaces";
	return NULL;
}

static void walk_exec(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *seq,
    struct cfg_check *c)
{
	char buf[CFG_SHOW_LEN];

	if (!cfg_want(p, at, seq, CFG_Y_SEQ))
		return;
	if (seq->n == 0) {
		cfg_report(p, at, "must list the program and its arguments");
		return;
	}
	c->argv = xcalloc(seq->n + 1, sizeof(*c->argv));
	for (size_t i = 0; i < seq->n; i++) {
		const struct cfg_ynode *item = seq->kid[i];
		size_t old = cfg_path_idx(p, i);
		const char *s = cfg_get_str(p, cfg_pos_of(item), item);

		if (s != NULL && strlen(s) != item->len)
			cfg_report(p, cfg_pos_of(item), "must not contain a NUL byte");
		else if (s != NULL && i == 0 && s[0] != '/')
			cfg_report(p, cfg_pos_of(item), "must be an absolute path (no shell, "
			    "no PATH search), got \"%s\"", cfg_show(item, buf));
		else if (s != NULL)
			c->argv[c->argc++] = xstrdup(s);
		cfg_path_set(p, old);
	}
	if (c->argc > 0)
		c->target = xstrdup(c->argv[0]);
}

static void walk_check(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map,
    struct cfg_check *c)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	char buf[CFG_SHOW_LEN];
	const char *s, *why;
	int kinds = 0;

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return;
	c->line = at.line;
	cfg_fields(p, map, check_keys, true, v, k);
	for (int i = C_HTTP; i <= C_EXEC; i++)
		kinds += v[i] != NULL;
	if (kinds != 1) {
		cfg_report(p, at, "must have exactly one of http, tcp or exec");
		return;
	}
	if (v[C_HTTP] != NULL) {
		c->kind = CFG_CHECK_HTTP;
		FIELD(p, "http", {
			s = cfg_get_str(p, k[C_HTTP], v[C_HTTP]);
			if (s != NULL && (why = url_problem(s)) != NULL)
				cfg_report(p, k[C_HTTP], "%s, got \"%s\"", why,
				    cfg_show(v[C_HTTP], buf));
			else if (s != NULL)
				c->target = xstrdup(s);
		});
	} else if (v[C_TCP] != NULL) {
		c->kind = CFG_CHECK_TCP;
		FIELD(p, "tcp", {
			s = cfg_get_str(p, k[C_TCP], v[C_TCP]);
			if (s != NULL && (why = tcp_problem(s)) != NULL)
				cfg_report(p, k[C_TCP], "%s, got \"%s\"", why,
				    cfg_show(v[C_TCP], buf));
			else if (s != NULL)
				c->target = xstrdup(s);
		});
	} else {
		c->kind = CFG_CHECK_EXEC;
		FIELD(p, "exec", walk_exec(p, k[C_EXEC], v[C_EXEC], c));
	}
	if (v[C_CA] != NULL)
		FIELD(p, "caFile", cfg_set_str(p, k[C_CA], v[C_CA], &c->ca_file));
	if (v[C_INSECURE] != NULL)
		FIELD(p, "insecureSkipVerify", cfg_get_bool(p, k[C_INSECURE], v[C_INSECURE],
		    &c->insecure));
	for (int i = C_CA; i <= C_INSECURE; i++)
		if (v[i] != NULL && (c->kind != CFG_CHECK_HTTP ||
		    (c->target != NULL && strncmp(c->target, "https://", 8) != 0)))
			FIELD(p, check_keys[i], cfg_report(p, k[i],
			    "applies to https checks only"));
	if (c->ca_file != NULL && c->insecure)
		FIELD(p, "caFile", cfg_report(p, k[C_CA],
		    "and insecureSkipVerify: true exclude each other"));
}

static void walk_checks(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *seq)
{
	struct cfg_health *h = &p->cfg->health;

	if (!cfg_want(p, at, seq, CFG_Y_SEQ))
		return;
	if (seq->n == 0 || seq->n > CFG_MAX_CHECKS) {
		cfg_report(p, at, "must list 1..%d checks", CFG_MAX_CHECKS);
		return;
	}
	h->checks = xcalloc(seq->n, sizeof(*h->checks));
	for (size_t i = 0; i < seq->n; i++) {
		size_t old = cfg_path_idx(p, i);

		walk_check(p, cfg_pos_of(seq->kid[i]), seq->kid[i], &h->checks[h->n_checks++]);
		cfg_path_set(p, old);
	}
}

enum { H_INTERVAL, H_TIMEOUT, H_FALL, H_RISE, H_GRACE, H_CHECKS };
static const char *const health_keys[] = {
	"interval", "timeout", "fall", "rise", "startGrace", "checks", NULL
};

void cfg_walk_health(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map)
{
	const struct cfg_ynode *v[CFG_MAX_FIELDS];
	struct cfg_pos k[CFG_MAX_FIELDS];
	struct cfg_health *h = &p->cfg->health;
	char a[CFG_DURATION_LEN], b[CFG_DURATION_LEN];

	if (!cfg_want(p, at, map, CFG_Y_MAP))
		return;
	cfg_health_free(h);
	*h = (struct cfg_health){ .interval_ms = 2000, .timeout_ms = 1000, .fall = 3,
		.rise = 2 };
	cfg_fields(p, map, health_keys, true, v, k);
	if (v[H_INTERVAL] != NULL)
		FIELD(p, "interval", cfg_get_duration(p, k[H_INTERVAL], v[H_INTERVAL], 100,
		    3600000, &h->interval_ms));
	if (v[H_TIMEOUT] != NULL)
		FIELD(p, "timeout", cfg_get_duration(p, k[H_TIMEOUT], v[H_TIMEOUT], 10,
		    3600000, &h->timeout_ms));
	if (h->timeout_ms > h->interval_ms)
		FIELD(p, "timeout", cfg_report(p, v[H_TIMEOUT] ? k[H_TIMEOUT] : at,
		    "must not be longer than interval (%s), got %s",
		    cfg_duration_format(h->interval_ms, a), cfg_duration_format(h->timeout_ms, b)));
	if (v[H_FALL] != NULL)
		FIELD(p, "fall", cfg_get_uint(p, k[H_FALL], v[H_FALL], 1, 100, &h->fall));
	if (v[H_RISE] != NULL)
		FIELD(p, "rise", cfg_get_uint(p, k[H_RISE], v[H_RISE], 1, 100, &h->rise));
	if (v[H_GRACE] != NULL)
		FIELD(p, "startGrace", cfg_get_duration(p, k[H_GRACE], v[H_GRACE], 0,
		    3600000, &h->start_grace_ms));
	if (v[H_CHECKS] != NULL)
		FIELD(p, "checks", walk_checks(p, k[H_CHECKS], v[H_CHECKS]));
	else
		cfg_report(p, at, "needs checks (at least one)");
}

void cfg_health_free(struct cfg_health *h)
{
	for (size_t i = 0; i < h->n_checks; i++) {
		struct cfg_check *c = &h->checks[i];

		for (size_t j = 0; j < c->argc; j++)
			free(c->argv[j]);
		free(c->argv);
		free(c->target);
		free(c->ca_file);
	}
	free(h->checks);
	*h = (struct cfg_health){ 0 };
}

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool cfg_health_equal(const struct cfg_health *a, const struct cfg_health *b)
{
	if (a->interval_ms != b->interval_ms || a->timeout_ms != b->timeout_ms ||
	    a->fall != b->fall || a->rise != b->rise ||
	    a->start_grace_ms != b->start_grace_ms || a->n_checks != b->n_checks)
		return false;
	for (size_t i = 0; i < a->n_checks; i++) {
		const struct cfg_check *x = &a->checks[i], *y = &b->checks[i];

		if (x->kind != y->kind || !str_eq(x->target, y->target) ||
		    !str_eq(x->ca_file, y->ca_file) || x->insecure != y->insecure ||
		    x->argc != y->argc)
			return false;
		for (size_t j = 0; j < x->argc; j++)
			if (strcmp(x->argv[j], y->argv[j]) != 0)
				return false;
	}
	return true;
}
