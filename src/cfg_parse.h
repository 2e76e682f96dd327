/*
 * cfg_parse.h - private to the config module (config.c, cfg_parse.c):
 * the YAML tree with positions, error collection, and typed getters that
 * report what is wrong with a value. Not for use elsewhere; the API is
 * config.h.
 */
#ifndef VIPD_CFG_PARSE_H
#define VIPD_CFG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define CFG_MAX_FIELDS 20   /* names in one schema mapping */
#define CFG_SHOW_LEN 64     /* buffer for a value quoted in a message */

enum cfg_ytype { CFG_Y_SCALAR, CFG_Y_SEQ, CFG_Y_MAP, CFG_Y_ALIAS };

/* One YAML node. Aliases are kept as nodes (and reported), not resolved. */
struct cfg_ynode {
	enum cfg_ytype type;
	unsigned line, col;     /* 1-based, from libyaml's start mark */
	char *str;              /* scalar text or alias name, NUL-terminated */
	size_t len;             /* bytes in str (a quoted scalar may hold NUL) */
	bool plain;             /* unquoted scalar: may be null, bool, integer */
	char style;             /* scalar: 0 plain, '\'' or '"' quoted, '|' or '>' block */
	unsigned end_line, end_col; /* just after the node (libyaml's end mark) */
	char *tag;              /* explicit tag, or NULL */
	struct cfg_ynode **kid; /* seq: items; map: key, value, key, value... */
	size_t n, cap;
};

struct cfg_pos {
	unsigned line, col;     /* line 0: nowhere (a key that is absent) */
};

struct cfg_perr {
	struct cfg_pos at;
	size_t seq;
	char *text;             /* the whole line, without "\n" */
};

struct cfg_vip_at {
	struct cfg_pos at;      /* the "ip" key, for "also at" */
	char *path;
};

/* The state of one parse. Zero-initialize, set name and cfg. */
struct cfg_pctx {
	const char *name;       /* file name for messages */
	struct cfg *cfg;        /* being filled in */
	struct cfg_perr *err;
	size_t n_err, cap_err;
	char *path;             /* dotted field path of what is being walked */
	size_t plen, pcap;
	struct cfg_vip_at *vip_at; /* parallel to cfg->vips */
	struct cfg_pos carrier; /* where the document with machine/vipd is */
	size_t n_vip_blocks;    /* vip: blocks seen, valid or not */
	bool too_many_vips;     /* CFG_MAX_VIPS reported */
	char **notes;           /* "file:line:col: note: ...", for cfg->notes */
	size_t n_notes;
	const struct cfg_ynode *hostname; /* machine.network.hostname */
	const struct cfg_ynode *hostname_doc; /* HostnameConfig.hostname */
	struct cfg_talos *talos; /* typed documents seen (cfg_talos.c) */
};

/* Walk into field name of the current mapping: push, call, pop. */
#define FIELD(p, name, call)                      \
	do {                                      \
		size_t old_ = cfg_path_key((p), (name)); \
		call;                             \
		cfg_path_set((p), old_);              \
	} while (0)

/* Record an error at "at" for the field p->path. */
void cfg_report(struct cfg_pctx *p, struct cfg_pos at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Record a note (not an error) at "at": "file:line:col: note: ...". */
void cfg_note(struct cfg_pctx *p, struct cfg_pos at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with "warning: " (a setting that takes effect but is likely a
 * mistake); kept with the notes, printed by --check. */
void cfg_warn(struct cfg_pctx *p, struct cfg_pos at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Print the errors sorted by position, one per line, to errs (NULL: do
 * not print) and free them; p->n_err keeps the count.
 */
void cfg_report_flush(struct cfg_pctx *p, FILE *errs);

/* Append ".key" or "[i]" to p->path; return the length to restore. */
size_t cfg_path_key(struct cfg_pctx *p, const char *key);
size_t cfg_path_idx(struct cfg_pctx *p, size_t i);
void cfg_path_set(struct cfg_pctx *p, size_t len);

/*
 * Build each YAML document of text into a tree (NULL for an empty one).
 * Returns 0, or -1 after reporting a syntax error or too deep nesting;
 * either way the *n_docs trees in *docs are the caller's to free.
 */
int cfg_yaml_build(struct cfg_pctx *p, const char *text, size_t len,
    struct cfg_ynode ***docs, size_t *n_docs);
/* Report duplicate keys, non-scalar keys, aliases and tags under n. */
void cfg_yaml_check(struct cfg_pctx *p, const struct cfg_ynode *n);
void cfg_yaml_free(struct cfg_ynode *n); /* NULL-safe */

struct cfg_pos cfg_pos_of(const struct cfg_ynode *n);
bool cfg_is_null(const struct cfg_ynode *n);
bool cfg_has_key(const struct cfg_ynode *map, const char *key);
/* A scalar's text fit for a message (controls as '?', cut short). */
const char *cfg_show(const struct cfg_ynode *n, char buf[CFG_SHOW_LEN]);

/*
 * Match the keys of map against names (NULL-terminated, fewer than
 * CFG_MAX_FIELDS). at[i] is where key names[i] stands (line 0: absent),
 * val[i] its value, NULL when absent or null. With strict, any other key
 * is an error ("unknown key", with a suggestion); otherwise ignored.
 */
void cfg_fields(struct cfg_pctx *p, const struct cfg_ynode *map,
    const char *const *names, bool strict, const struct cfg_ynode **val,
    struct cfg_pos *at);

/*
 * Typed getters. "at" is where the value's key stands. Each returns false
 * (or NULL) after reporting why the value is wrong.
 */
bool cfg_want(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v,
    enum cfg_ytype t);
const char *cfg_get_str(struct cfg_pctx *p, struct cfg_pos at,
    const struct cfg_ynode *v);
/* *dst (freed first) = a copy of the text, or NULL for "". */
bool cfg_set_str(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v,
    char **dst);
bool cfg_get_bool(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v,
    bool *out);
bool cfg_get_uint(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v,
    unsigned min, unsigned max, unsigned *out);
bool cfg_get_duration(struct cfg_pctx *p, struct cfg_pos at,
    const struct cfg_ynode *v, uint32_t min, uint32_t max, uint32_t *out);

/* Append vip (moved: the caller no longer owns its strings) to p->cfg;
 * past CFG_MAX_VIPS, report once (at at) and free its strings. */
void cfg_add_vip(struct cfg_pctx *p, const struct cfg_vip *vip, struct cfg_pos at);

/* The vipd: section (cfg_vipd.c); at is where its key stands. */
void cfg_walk_vipd(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map);
/* vipd.health (cfg_health.c). */
void cfg_walk_health(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *map);

/*
 * Talos typed documents (cfg_talos.c). cfg_talos_doc takes one document
 * with a "kind" key (index: 1-based place in the stream) and remembers
 * what vipd needs; cfg_talos_finish, after the last document, resolves
 * every Layer2VIPConfig's link, appends its VIP, and frees p->talos.
 */
void cfg_talos_doc(struct cfg_pctx *p, const struct cfg_ynode *root, size_t index);
void cfg_talos_finish(struct cfg_pctx *p);

/* NULL-safe; free an alias and what it holds / copy one. */
void cfg_alias_free(struct cfg_alias *a);
struct cfg_alias *cfg_alias_dup(const struct cfg_alias *a);

/*
 * Value checks on plain strings. Each returns NULL if s is fine, else
 * what is wrong, phrased to be followed by ", got ...".
 */
/* A VIP: IPv4/IPv6 address usable as a VIP; fills family, addr, ip. */
const char *cfg_check_vip(const char *s, struct cfg_vip *v);
/* "host:port" or "[v6]:port"; the port may be left out unless need_port. */
const char *cfg_check_hostport(const char *s, size_t len, bool need_port);
/* "http://host[:port]" or "https://..." (a trailing "/" is allowed). */
const char *cfg_check_endpoint(const char *s);
/* A link name the kernel accepts: 1..15 bytes, no '/', ':' or space. */
const char *cfg_check_ifname(const char *s);
/* A node name: letters, digits, '.', '-', '_'; 1..253 bytes. */
const char *cfg_check_node(const char *s);

#endif
