/*
 * cfg_parse.c - the YAML layer of the config parser and value checks.
 *
 * libyaml's events are built into a small tree in which every node keeps
 * its line and column, so that config.c can look keys up in any order and
 * name the place of every error. Errors are collected here, then sorted
 * by position and printed together. Contracts are in cfg_parse.h.
 */
#include "cfg_parse.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <yaml.h>

#include "log.h"
#include "xmem.h"

#define MAX_DEPTH 64    /* YAML nesting; a Talos config uses about 10 */

struct cfg_pos cfg_pos_of(const struct cfg_ynode *n)
{
	return (struct cfg_pos){ n->line, n->col };
}

/* "name:line:col: " pre1 pre2 and the message of fmt/ap; the caller frees. */
static char *located(const struct cfg_pctx *p, struct cfg_pos at, const char *pre1,
    const char *pre2, const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static char *located(const struct cfg_pctx *p, struct cfg_pos at, const char *pre1,
    const char *pre2, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);
	char *s = xasprintf("%s:%u:%u: %s%s%s", p->name, at.line, at.col, pre1, pre2, msg);

	free(msg);
	return s;
}

void cfg_report(struct cfg_pctx *p, struct cfg_pos at, const char *fmt, ...)
{
	va_list ap;

	if (p->n_err == p->cap_err) {
		p->cap_err = p->cap_err ? 2 * p->cap_err : 8;
		p->err = xrealloc(p->err, p->cap_err * sizeof(*p->err));
	}
	va_start(ap, fmt);
	p->err[p->n_err] = (struct cfg_perr){ at, p->n_err,
	    located(p, at, p->path ? p->path : "", p->plen ? ": " : "", fmt, ap) };
	va_end(ap);
	p->n_err++;
}

void cfg_note(struct cfg_pctx *p, struct cfg_pos at, const char *fmt, ...)
{
	va_list ap;

	p->notes = xrealloc(p->notes, (p->n_notes + 1) * sizeof(*p->notes));
	va_start(ap, fmt);
	p->notes[p->n_notes++] = located(p, at, "note: ", "", fmt, ap);
	va_end(ap);
}

void cfg_warn(struct cfg_pctx *p, struct cfg_pos at, const char *fmt, ...)
{
	va_list ap;

	p->notes = xrealloc(p->notes, (p->n_notes + 1) * sizeof(*p->notes));
	va_start(ap, fmt);
	p->notes[p->n_notes++] = located(p, at, "warning: ", "", fmt, ap);
	va_end(ap);
}

static int perr_cmp(const void *a, const void *b)
{
	const struct cfg_perr *x = a, *y = b;

	if (x->at.line != y->at.line)
		return x->at.line < y->at.line ? -1 : 1;
	if (x->at.col != y->at.col)
		return x->at.col < y->at.col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void cfg_report_flush(struct cfg_pctx *p, FILE *errs)
{
	if (p->n_err > 0)
		qsort(p->err, p->n_err, sizeof(*p->err), perr_cmp);
	for (size_t i = 0; i < p->n_err; i++) {
		if (errs != NULL)
			fprintf(errs, "%s\n", p->err[i].text);
		free(p->err[i].text);
	}
	free(p->err);
	p->err = NULL;
	p->cap_err = 0;
}

/* Append n bytes of s to the path, controls shown as '?'. */
static size_t path_add(struct cfg_pctx *p, const char *s, size_t n)
{
	size_t old = p->plen;

	if (p->plen + n + 1 > p->pcap) {
		p->pcap = p->plen + n + 64;
		p->path = xrealloc(p->path, p->pcap);
	}
	for (size_t i = 0; i < n; i++)
		p->path[p->plen++] =
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	p->path[p->plen] = '\0';
	return old;
}

/* Append ".key" (or "key" at the top) to the path; returns the old length. */
size_t cfg_path_key(struct cfg_pctx *p, const char *key)
{
	size_t old = p->plen, n = strlen(key);

	if (p->plen > 0)
		path_add(p, ".", 1);
	path_add(p, key, n > 40 ? 40 : n);
	if (n > 40)
		path_add(p, "...", 3);
	return old;
}

size_t cfg_path_idx(struct cfg_pctx *p, size_t i)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "[%zu]", i);

	return path_add(p, buf, (size_t)n);
}

void cfg_path_set(struct cfg_pctx *p, size_t len)
{
	p->plen = len;
	if (p->path != NULL)
		p->path[len] = '\0';
}

/* A scalar's text for a message: controls as '?', long ones cut short. */
const char *cfg_show(const struct cfg_ynode *n, char buf[CFG_SHOW_LEN])
{
	size_t i, max = CFG_SHOW_LEN - 4;

	for (i = 0; i < n->len && i < max; i++)
		buf[i] = (unsigned char)n->str[i] < 0x20 || n->str[i] == 0x7f ||
		    n->str[i] == '"' ? '?' : n->str[i];
	if (i < n->len)
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

/* --- building the tree from libyaml events ------------------------------ */

static struct cfg_ynode *node_new(enum cfg_ytype type, const yaml_mark_t *m)
{
	struct cfg_ynode *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

static void node_add(struct cfg_ynode *parent, struct cfg_ynode *kid)
{
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? 2 * parent->cap : 8;
		parent->kid = xrealloc(parent->kid, parent->cap * sizeof(*parent->kid));
	}
	parent->kid[parent->n++] = kid;
}

/* NULL-safe; recursion is bounded by MAX_DEPTH. */
void cfg_yaml_free(struct cfg_ynode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		cfg_yaml_free(n->kid[i]);
	free(n->kid);
	free(n->str);
	free(n->tag);
	free(n);
}

static void report_syntax(struct cfg_pctx *p, const yaml_parser_t *y,
    const char *text, size_t len)
{
	struct cfg_pos at = { 1, 1 };
	const char *problem = y->problem ? y->problem : "unknown error";

	if (y->error == YAML_MEMORY_ERROR)
		fatalx("libyaml: out of memory");
	if (y->error == YAML_READER_ERROR) {
		/* Only a byte offset is known: count lines up to it. */
		for (size_t i = 0; i < y->problem_offset && i < len; i++) {
			if (text[i] == '\n')
				at.line++, at.col = 1;
			else
				at.col++;
		}
		cfg_report(p, at, "syntax error: %s", problem);
		return;
	}
	at.line = (unsigned)y->problem_mark.line + 1;
	at.col = (unsigned)y->problem_mark.column + 1;
	if (y->context != NULL)
		cfg_report(p, at, "syntax error: %s (%s at %u:%u)", problem, y->context,
		    (unsigned)y->context_mark.line + 1,
		    (unsigned)y->context_mark.column + 1);
	else
		cfg_report(p, at, "syntax error: %s", problem);
}

/*
 * Build each YAML document in text into a tree; an empty document gives a
 * NULL entry. Returns 0, or -1 after reporting a syntax error or too deep
 * nesting. Either way *docs (n_docs entries) is the caller's to free.
 */
int cfg_yaml_build(struct cfg_pctx *p, const char *text, size_t len,
    struct cfg_ynode ***docs, size_t *n_docs)
{
	yaml_parser_t y;
	yaml_event_t ev;
	struct cfg_ynode *stack[MAX_DEPTH], *root = NULL, *n;
	size_t depth = 0, cap = 0;
	const yaml_char_t *tag;
	bool done = false;
	int rc = -1;

	if (!yaml_parser_initialize(&y))
		fatalx("libyaml: out of memory");
	yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&y, &ev)) {
			report_syntax(p, &y, text, len);
			goto out;
		}
		n = NULL;
		tag = NULL;
		switch (ev.type) {
		case YAML_DOCUMENT_END_EVENT:
			if (*n_docs == cap) {
				cap = cap ? 2 * cap : 4;
				*docs = xrealloc(*docs, cap * sizeof(**docs));
			}
			(*docs)[(*n_docs)++] = root;
			root = NULL;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_SCALAR_EVENT:
			n = node_new(CFG_Y_SCALAR, &ev.start_mark);
			n->len = ev.data.scalar.length;
			n->str = xmalloc(n->len + 1);
			memcpy(n->str, ev.data.scalar.value, n->len);
			n->str[n->len] = '\0';
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			switch (ev.data.scalar.style) {
			case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = '\''; break;
			case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = '"'; break;
			case YAML_LITERAL_SCALAR_STYLE: n->style = '|'; break;
			case YAML_FOLDED_SCALAR_STYLE: n->style = '>'; break;
			default: n->style = 0; break;
			}
			tag = ev.data.scalar.tag;
			break;
		case YAML_SEQUENCE_START_EVENT:
			n = node_new(CFG_Y_SEQ, &ev.start_mark);
			tag = ev.data.sequence_start.tag;
			break;
		case YAML_MAPPING_START_EVENT:
			n = node_new(CFG_Y_MAP, &ev.start_mark);
			tag = ev.data.mapping_start.tag;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_ALIAS_EVENT:
			n = node_new(CFG_Y_ALIAS, &ev.start_mark);
			n->str = xstrdup((const char *)ev.data.alias.anchor);
			n->len = strlen(n->str);
			break;
		default:
			break;
		}
		if (n != NULL) {
			n->end_line = (unsigned)ev.end_mark.line + 1;
			n->end_col = (unsigned)ev.end_mark.column + 1;
			if (tag != NULL)
				n->tag = xstrdup((const char *)tag);
			if (depth > 0)
				node_add(stack[depth - 1], n);
			else
				root = n;
			if (n->type == CFG_Y_SEQ || n->type == CFG_Y_MAP) {
				if (depth == MAX_DEPTH) {
					cfg_report(p, cfg_pos_of(n),
					    "nested more than %d levels deep", MAX_DEPTH);
					yaml_event_delete(&ev);
					goto out;
				}
				stack[depth++] = n;
			}
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	cfg_yaml_free(root);
	yaml_parser_delete(&y);
	return rc;
}

static bool key_is(const struct cfg_ynode *k, const char *s)
{
	return k->type == CFG_Y_SCALAR && strcmp(k->str, s) == 0;
}

bool cfg_has_key(const struct cfg_ynode *map, const char *key)
{
	for (size_t i = 0; map->type == CFG_Y_MAP && i < map->n; i += 2)
		if (key_is(map->kid[i], key))
			return true;
	return false;
}

/*
 * For every key i of map (even indexes), the index of the first key equal
 * to it: i unless repeated (non-scalar keys are never equal). One pass
 * with a hash set of the keys seen, so a mapping of n keys costs O(n), not
 * O(n^2) (160,000 keys under an ignored section took 47 s before). The
 * caller frees the array (map->n entries; odd ones unused).
 */
static size_t *first_keys(const struct cfg_ynode *map)
{
	size_t *first = xcalloc(map->n ? map->n : 1, sizeof(*first));
	size_t cap = 16, mask, *slot;

	while (cap < map->n + 1) /* at least twice the number of keys */
		cap <<= 1;
	mask = cap - 1;
	slot = xmalloc(cap * sizeof(*slot));
	for (size_t i = 0; i < cap; i++)
		slot[i] = SIZE_MAX;
	for (size_t i = 0; i < map->n; i += 2) {
		const struct cfg_ynode *k = map->kid[i], *e;
		uint64_t h = 14695981039346656037u; /* FNV-1a */
		size_t at;

		first[i] = i;
		if (k->type != CFG_Y_SCALAR)
			continue;
		for (size_t b = 0; b < k->len; b++)
			h = (h ^ (unsigned char)k->str[b]) * 1099511628211u;
		for (at = (size_t)h & mask; slot[at] != SIZE_MAX; at = (at + 1) & mask) {
			e = map->kid[slot[at]];
			if (e->len == k->len && memcmp(e->str, k->str, k->len) == 0)
				break;
		}
		if (slot[at] == SIZE_MAX)
			slot[at] = i;
		else
			first[i] = slot[at];
	}
	free(slot);
	return first;
}

static const char *tag_name(const char *tag, const char **rest)
{
	static const char std[] = "tag:yaml.org,2002:";

	if (strncmp(tag, std, sizeof(std) - 1) == 0) {
		*rest = tag + sizeof(std) - 1;
		return "!!";
	}
	*rest = tag;
	return "";
}

/*
 * What the schema cannot see, checked over every document, including the
 * parts vipd ignores: duplicate keys, keys that are not scalars, aliases
 * and tags.
 */
void cfg_yaml_check(struct cfg_pctx *p, const struct cfg_ynode *n)
{
	const struct cfg_ynode *k;
	const char *rest;
	size_t old, j, *first;

	if (n == NULL)
		return;
	if (n->type == CFG_Y_ALIAS)
		cfg_report(p, cfg_pos_of(n), "aliases (*%s) are not supported; "
		    "write the value out", n->str);
	if (n->tag != NULL) {
		const char *bang = tag_name(n->tag, &rest);

		cfg_report(p, cfg_pos_of(n), "tags (%s%s) are not supported", bang, rest);
	}
	first = n->type == CFG_Y_MAP ? first_keys(n) : NULL;
	for (size_t i = 0; i < n->n; i++) {
		k = n->kid[i];
		if (n->type == CFG_Y_SEQ) {
			old = cfg_path_idx(p, i);
			cfg_yaml_check(p, k);
			cfg_path_set(p, old);
			continue;
		}
		/* A mapping: k is a key, n->kid[i + 1] its value. */
		cfg_yaml_check(p, k);
		if (k->type != CFG_Y_SCALAR) {
			if (k->type != CFG_Y_ALIAS)
				cfg_report(p, cfg_pos_of(k), "keys must be plain values, "
				    "got %s", k->type == CFG_Y_MAP ? "a mapping" : "a list");
			cfg_yaml_check(p, n->kid[++i]);
			continue;
		}
		old = cfg_path_key(p, k->str);
		if ((j = first[i]) != i)
			cfg_report(p, cfg_pos_of(k), "duplicate key (first at %u:%u)",
			    n->kid[j]->line, n->kid[j]->col);
		cfg_yaml_check(p, n->kid[++i]);
		cfg_path_set(p, old);
	}
	free(first);
}

/* --- schema helpers ----------------------------------------------------- */

bool cfg_is_null(const struct cfg_ynode *n)
{
	return n->type == CFG_Y_SCALAR && n->plain && n->tag == NULL &&
	    (n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
		strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0);
}

static const char *kind_of(const struct cfg_ynode *n)
{
	switch (n->type) {
	case CFG_Y_MAP:
		return "a mapping";
	case CFG_Y_SEQ:
		return "a list";
	case CFG_Y_ALIAS:
		return "an alias";
	default:
		return "a single value";
	}
}

/* True if v is a t; otherwise reports (an alias was reported already). */
bool cfg_want(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v,
    enum cfg_ytype t)
{
	if (v->type == t)
		return true;
	if (v->type != CFG_Y_ALIAS)
		cfg_report(p, at, "must be %s, got %s", t == CFG_Y_MAP ? "a mapping" :
		    t == CFG_Y_SEQ ? "a list" : "a single value", kind_of(v));
	return false;
}

/* Optimal string alignment distance, ignoring case; long strings: far. */
static unsigned distance(const char *a, const char *b)
{
	unsigned d[33][33];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > 32 || lb > 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			unsigned cost = (a[i - 1] | 0x20) != (b[j - 1] | 0x20);
			unsigned v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && (a[i - 1] | 0x20) == (b[j - 2] | 0x20) &&
			    (a[i - 2] | 0x20) == (b[j - 1] | 0x20) && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

static void report_unknown(struct cfg_pctx *p, const struct cfg_ynode *key,
    const char *const *names)
{
	const char *best = NULL;
	unsigned bd = 3, d;
	size_t old = cfg_path_key(p, key->str);

	for (size_t i = 0; names[i] != NULL; i++) {
		d = distance(key->str, names[i]);
		if (d < bd && d < strlen(names[i])) {
			bd = d;
			best = names[i];
		}
	}
	if (best != NULL)
		cfg_report(p, cfg_pos_of(key), "unknown key (did you mean \"%s\"?)", best);
	else
		cfg_report(p, cfg_pos_of(key), "unknown key");
	cfg_path_set(p, old);
}

/*
 * Match the keys of map against names (NULL-terminated, < CFG_MAX_FIELDS).
 * at[i] is where key names[i] stands (line 0: absent), val[i] its value,
 * NULL when absent or null. With strict, any other key is an error (with
 * a suggestion); otherwise other keys are ignored. Of duplicate keys the
 * first counts (cfg_yaml_check reports the others).
 */
void cfg_fields(struct cfg_pctx *p, const struct cfg_ynode *map, const char *const *names,
    bool strict, const struct cfg_ynode **val, struct cfg_pos *at)
{
	size_t i, *first = first_keys(map);

	for (i = 0; names[i] != NULL; i++) {
		val[i] = NULL;
		at[i] = (struct cfg_pos){ 0, 0 };
	}
	for (size_t k = 0; k + 1 < map->n; k += 2) {
		const struct cfg_ynode *key = map->kid[k], *v = map->kid[k + 1];

		if (key->type != CFG_Y_SCALAR || first[k] != k)
			continue;
		for (i = 0; names[i] != NULL && strcmp(key->str, names[i]) != 0; i++)
			;
		if (names[i] == NULL) {
			if (strict)
				report_unknown(p, key, names);
			continue;
		}
		at[i] = cfg_pos_of(key);
		val[i] = cfg_is_null(v) ? NULL : v;
	}
	free(first);
}

/* The text of scalar v, or NULL after reporting. */
const char *cfg_get_str(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v)
{
	if (!cfg_want(p, at, v, CFG_Y_SCALAR))
		return NULL;
	if (strlen(v->str) != v->len) {
		cfg_report(p, at, "must not contain NUL characters");
		return NULL;
	}
	return v->str;
}

/* Set *dst to a copy of v's text, or NULL for "". False after reporting. */
bool cfg_set_str(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v, char **dst)
{
	const char *s = cfg_get_str(p, at, v);

	if (s == NULL)
		return false;
	free(*dst);
	*dst = *s ? xstrdup(s) : NULL;
	return true;
}

bool cfg_get_bool(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	char buf[CFG_SHOW_LEN];

	if (!cfg_want(p, at, v, CFG_Y_SCALAR))
		return false;
	for (size_t i = 0; v->plain && i < 3; i++) {
		if (strcmp(v->str, yes[i]) == 0 || strcmp(v->str, no[i]) == 0) {
			*out = strcmp(v->str, yes[i]) == 0;
			return true;
		}
	}
	cfg_report(p, at, "must be true or false, got \"%s\"", cfg_show(v, buf));
	return false;
}

bool cfg_get_uint(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v,
    unsigned min, unsigned max, unsigned *out)
{
	const char *s;
	unsigned long long n = 0;
	char buf[CFG_SHOW_LEN];
	bool neg;

	if (!cfg_want(p, at, v, CFG_Y_SCALAR))
		return false;
	s = v->str;
	neg = *s == '-';
	s += neg;
	if (!v->plain || *s == '\0' || strspn(s, "0123456789") != strlen(s)) {
		cfg_report(p, at, "must be a whole number, got \"%s\"%s", cfg_show(v, buf),
		    v->plain ? "" : " (a quoted string)");
		return false;
	}
	for (; *s && n <= max; s++)
		n = n * 10 + (unsigned)(*s - '0');
	if (neg || n < min || n > max) {
		cfg_report(p, at, "must be %u..%u, got %s", min, max, cfg_show(v, buf));
		return false;
	}
	*out = (unsigned)n;
	return true;
}

bool cfg_get_duration(struct cfg_pctx *p, struct cfg_pos at, const struct cfg_ynode *v,
    uint32_t min, uint32_t max, uint32_t *out)
{
	char buf[CFG_SHOW_LEN], a[CFG_DURATION_LEN], b[CFG_DURATION_LEN];
	const char *s = cfg_get_str(p, at, v);
	uint32_t ms;

	if (s == NULL)
		return false;
	if (cfg_duration_parse(s, &ms) < 0) {
		cfg_report(p, at, "must be a duration such as 250ms, 2s or 1m, got \"%s\"",
		    cfg_show(v, buf));
		return false;
	}
	if (ms < min || ms > max) {
		cfg_report(p, at, "must be %s..%s, got %s", cfg_duration_format(min, a),
		    cfg_duration_format(max, b), cfg_show(v, buf));
		return false;
	}
	*out = ms;
	return true;
}


/* --- value checks ----------------------------------------------------------- */

const char *cfg_check_vip(const char *s, struct cfg_vip *v)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	unsigned char *a = v->addr;

	if (strchr(s, '/') != NULL)
		return "must be an address without a prefix length";
	if (strchr(s, '%') != NULL)
		return "must be an address without a zone";
	memset(v->addr, 0, sizeof(v->addr));
	if (inet_pton(AF_INET, s, a) == 1) {
		v->family = AF_INET;
		if ((a[0] | a[1] | a[2] | a[3]) == 0)
			return "must not be the unspecified address";
		if (a[0] == 127)
			return "must not be a loopback address";
		if (a[0] >= 224 && a[0] <= 239)
			return "must not be a multicast address";
		if (a[0] == 169 && a[1] == 254)
			return "must not be a link-local address";
		if ((a[0] & a[1] & a[2] & a[3]) == 255)
			return "must not be the broadcast address";
	} else if (inet_pton(AF_INET6, s, a) == 1) {
		static const unsigned char zero[16], one[16] = { [15] = 1 };

		v->family = AF_INET6;
		if (memcmp(a, zero, 16) == 0)
			return "must not be the unspecified address";
		if (memcmp(a, one, 16) == 0)
			return "must not be a loopback address";
		if (a[0] == 0xff)
			return "must not be a multicast address";
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return "must not be a link-local address";
		if (memcmp(a, mapped, 12) == 0)
			return "must not be IPv4-mapped; write the IPv4 address";
	} else {
		return "must be an IPv4 or IPv6 address";
	}
	if (inet_ntop(v->family, a, v->ip, sizeof(v->ip)) == NULL)
		return "must be an IPv4 or IPv6 address";
	return NULL;
}

const char *cfg_check_hostport(const char *s, size_t len, bool need_port)
{
	const char *e = s + len, *h;
	char buf[INET6_ADDRSTRLEN];
	unsigned char a[16];
	unsigned long port = 0;

	if (s == e || *s == ':')
		return "needs a host";
	if (*s == '[') {
		h = memchr(s, ']', len);
		if (h == NULL || (size_t)(h - s - 1) >= sizeof(buf))
			return "needs an IPv6 address in [brackets]";
		memcpy(buf, s + 1, (size_t)(h - s - 1));
		buf[h - s - 1] = '\0';
		if (inet_pton(AF_INET6, buf, a) != 1)
			return "needs an IPv6 address in [brackets]";
		if (++h != e && *h != ':')
			return "must have only \":port\" after \"]\"";
	} else {
		for (h = s; h < e && *h != ':'; h++)
			if (!(*h >= 'a' && *h <= 'z') && !(*h >= 'A' && *h <= 'Z') &&
			    !(*h >= '0' && *h <= '9') && *h != '.' && *h != '-' && *h != '_')
				return "must be a host name or address and a port";
		if (h < e && memchr(h + 1, ':', (size_t)(e - h - 1)) != NULL)
			return "needs [brackets] around an IPv6 address";
	}
	if (h == e)
		return need_port ? "needs a port (host:port)" : NULL;
	if (++h == e)
		return "needs a port after \":\"";
	for (; h < e; h++) {
		if (*h < '0' || *h > '9')
			return "must have a numeric port";
		port = port * 10 + (unsigned long)(*h - '0');
		if (port > 65535)
			break;
	}
	if (port < 1 || port > 65535)
		return "must have a port in 1..65535";
	return NULL;
}

const char *cfg_check_endpoint(const char *s)
{
	size_t len;

	if (strncmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncmp(s, "http://", 7) == 0)
		s += 7;
	else
		return "must start with http:// or https://";
	len = strlen(s);
	if (len > 0 && s[len - 1] == '/')
		len--;
	if (strcspn(s, "/?#@") < len)
		return "must be only scheme, host and port (no path or user)";
	return cfg_check_hostport(s, len, false);
}

const char *cfg_check_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return "must not be empty";
	if (len > 15)
		return "must be at most 15 characters";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "must be a link name";
	for (; *s; s++)
		if (*s == '/' || *s == ':' || (unsigned char)*s <= ' ' || *s == 0x7f)
			return "must not contain '/', ':' or spaces";
	return NULL;
}

const char *cfg_check_node(const char *s)
{
	if (*s == '\0')
		return "must not be empty";
	if (strlen(s) > 253 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != strlen(s))
		return "must be a host name (letters, digits, '.', '-', '_'; at most 253)";
	return NULL;
}
