/*
 * cel.c - a recursive-descent parser and evaluator for the CEL subset of
 * Talos link selectors. Contracts and the grammar are in cel.h.
 *
 * Every node records where it starts in the text, so that type errors
 * (a string where a condition is needed) point at the culprit; the
 * position is not part of the tree's identity (cel_equal ignores it).
 */
#include "cel.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmem.h"

#define MAX_DEPTH 64  /* nesting of parentheses, "!" and calls */

enum op { OP_OR, OP_AND, OP_NOT, OP_EQ, OP_NE, OP_GLOB, OP_MAC, OP_FIELD, OP_STR };

enum field { F_DRIVER, F_HWADDR, F_PERMADDR, F_BUSPATH, F_PCIID, F_KIND, F_TYPE, F_N };

static const char *const field_names[F_N] = {
	"driver", "hardware_addr", "permanent_addr", "bus_path", "pci_id", "kind", "type"
};

struct cel_expr {
	enum op op;
	enum field field;        /* OP_FIELD */
	char *str;               /* OP_STR */
	struct cel_expr *a, *b;  /* operands */
	size_t at;               /* offset in the source text */
};

enum tok {
	T_END, T_LP, T_RP, T_COMMA, T_DOT, T_AND, T_OR, T_NOT, T_EQ, T_NE, T_STR,
	T_IDENT, T_BAD
};

struct parser {
	const char *s;
	size_t len, pos;
	enum tok t;              /* the current token */
	size_t t_at, t_len;      /* where it stands in s */
	char *t_str;             /* T_STR: its value */
	unsigned depth;
	unsigned ops;            /* && and || so far: CEL_MAX_OPERANDS - 1 */
	struct cel_error *err;
	bool failed;
};

static bool is_bool(const struct cel_expr *e)
{
	return e->op <= OP_GLOB;
}

static void fail(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->err->offset = at;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
}

void cel_free(struct cel_expr *e)
{
	if (e == NULL)
		return;
	cel_free(e->a);
	cel_free(e->b);
	free(e->str);
	free(e);
}

static struct cel_expr *node(enum op op, size_t at, struct cel_expr *a, struct cel_expr *b)
{
	struct cel_expr *e = xcalloc(1, sizeof(*e));

	e->op = op;
	e->at = at;
	e->a = a;
	e->b = b;
	return e;
}

/* --- the lexer -------------------------------------------------------- */

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9');
}

/* A string literal from p->pos (at its quote); sets T_STR or fails. */
static void lex_string(struct parser *p)
{
	char q = p->s[p->pos], *out = xmalloc(p->len - p->pos + 1);
	size_t i = p->pos + 1, n = 0;

	for (;;) {
		if (i >= p->len) {
			fail(p, p->pos, "string not closed (missing %c)", q);
			break;
		}
		if (p->s[i] == q) {
			i++;
			break;
		}
		if ((unsigned char)p->s[i] < 0x20 || p->s[i] == 0x7f) {
			fail(p, i, "control characters in strings are not supported");
			break;
		}
		if (p->s[i] == '\\') {
			if (i + 1 < p->len && strchr("\\\"'", p->s[i + 1]) != NULL &&
			    p->s[i + 1] != '\0') {
				out[n++] = p->s[i + 1];
				i += 2;
				continue;
			}
			fail(p, i, "unsupported escape in a string (only \\\\, \\\" and \\')");
			break;
		}
		out[n++] = p->s[i++];
	}
	out[n] = '\0';
	free(p->t_str);
	p->t_str = out;
	p->t = p->failed ? T_BAD : T_STR;
	p->t_len = i - p->pos;
	p->pos = i;
}

static void next(struct parser *p)
{
	static const struct { const char *s; enum tok t; } ops[] = {
		{ "&&", T_AND }, { "||", T_OR }, { "==", T_EQ }, { "!=", T_NE },
		{ "(", T_LP }, { ")", T_RP }, { ",", T_COMMA }, { ".", T_DOT },
		{ "!", T_NOT },
	};
	const char *s = p->s;

	while (p->pos < p->len && strchr(" \t\r\n", s[p->pos]) != NULL && s[p->pos])
		p->pos++;
	p->t_at = p->pos;
	if (p->pos >= p->len) {
		p->t = T_END;
		p->t_len = 0;
		return;
	}
	if (s[p->pos] == '"' || s[p->pos] == '\'') {
		lex_string(p);
		return;
	}
	if (ident_start(s[p->pos])) {
		size_t i = p->pos;

		while (i < p->len && ident_char(s[i]))
			i++;
		p->t = T_IDENT;
		p->t_len = i - p->pos;
		p->pos = i;
		return;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].s);

		if (p->len - p->pos >= n && memcmp(s + p->pos, ops[i].s, n) == 0) {
			p->t = ops[i].t;
			p->t_len = n;
			p->pos += n;
			return;
		}
	}
	p->t = T_BAD;
	p->t_len = 1;
	p->pos++;
}

static bool tok_is(const struct parser *p, const char *word)
{
	return p->t == T_IDENT && p->t_len == strlen(word) &&
	    memcmp(p->s + p->t_at, word, p->t_len) == 0;
}

/* Say what the current token is, for "expected X, got Y". */
static void fail_here(struct parser *p, const char *expected)
{
	char c = p->t_at < p->len ? p->s[p->t_at] : '\0';

	if (p->t == T_END)
		fail(p, p->t_at, "expected %s, got the end of the expression", expected);
	else if (p->t == T_BAD && c >= '0' && c <= '9')
		fail(p, p->t_at, "numbers are not supported (compare strings)");
	else if (p->t == T_BAD && (c == '<' || c == '>'))
		fail(p, p->t_at, "unsupported operator '%c' (only ==, !=, &&, || and !)", c);
	else if (p->t == T_BAD && (c == '[' || c == '{'))
		fail(p, p->t_at, "lists, maps and indexing are not supported");
	else if (p->t == T_BAD && (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		fail(p, p->t_at, "unsupported '%c' (expected %s)", c, expected);
	else if (p->t == T_BAD)
		fail(p, p->t_at, "unsupported character (expected %s)", expected);
	else
		fail(p, p->t_at, "expected %s, got \"%.*s\"", expected,
		    (int)(p->t_len > 40 ? 40 : p->t_len), p->s + p->t_at);
}

/* --- the parser -------------------------------------------------------- */

static struct cel_expr *parse_or(struct parser *p);

static void need_bool(struct parser *p, const struct cel_expr *e, const char *what)
{
	if (e != NULL && !is_bool(e))
		fail(p, e->at, "%s needs a condition, got a string (compare it with == or !=)",
		    what);
}

static void need_str(struct parser *p, const struct cel_expr *e, const char *what)
{
	if (e != NULL && is_bool(e))
		fail(p, e->at, "%s needs a string, got a condition", what);
}

static bool expect(struct parser *p, enum tok t, const char *what)
{
	if (p->t != t) {
		fail_here(p, what);
		return false;
	}
	next(p);
	return true;
}

/* glob(a, b) or mac(a), the name being the current token. */
static struct cel_expr *parse_call(struct parser *p)
{
	size_t at = p->t_at;
	bool glob = tok_is(p, "glob");
	struct cel_expr *a = NULL, *b = NULL;

	next(p);
	next(p); /* "(" */
	a = parse_or(p);
	if (glob && !p->failed) {
		need_str(p, a, "glob()'s pattern");
		if (expect(p, T_COMMA, "',' and the string glob() matches"))
			b = parse_or(p);
		need_str(p, b, "glob()'s second argument");
	} else if (!p->failed && (a->op != OP_FIELD)) {
		fail(p, a->at, "mac() takes a link field such as link.permanent_addr");
	}
	if (!p->failed)
		expect(p, T_RP, "')'");
	if (p->failed) {
		cel_free(a);
		cel_free(b);
		return NULL;
	}
	return node(glob ? OP_GLOB : OP_MAC, at, a, b);
}

/* link.FIELD, "link" being the current token. */
static struct cel_expr *parse_field(struct parser *p)
{
	size_t at = p->t_at;
	struct cel_expr *e;

	next(p);
	if (!expect(p, T_DOT, "'.' and a field after link"))
		return NULL;
	if (p->t != T_IDENT) {
		fail_here(p, "a field name after \"link.\"");
		return NULL;
	}
	for (size_t f = 0; f < F_N; f++) {
		if (tok_is(p, field_names[f])) {
			e = node(OP_FIELD, at, NULL, NULL);
			e->field = (enum field)f;
			next(p);
			if (p->t == T_DOT || p->t == T_LP) {
				fail(p, p->t_at, "methods and sub-fields are not supported");
				cel_free(e);
				return NULL;
			}
			return e;
		}
	}
	fail(p, p->t_at, "unsupported field link.%.*s (supported: driver, hardware_addr, "
	    "permanent_addr, bus_path, pci_id, kind, type)",
	    (int)(p->t_len > 40 ? 40 : p->t_len), p->s + p->t_at);
	return NULL;
}

static struct cel_expr *parse_prim(struct parser *p)
{
	struct cel_expr *e;
	size_t at = p->t_at;

	if (p->t == T_LP) {
		next(p);
		e = parse_or(p);
		if (e != NULL && !expect(p, T_RP, "')'")) {
			cel_free(e);
			return NULL;
		}
		return e;
	}
	if (p->t == T_STR) {
		e = node(OP_STR, at, NULL, NULL);
		e->str = p->t_str;
		p->t_str = NULL;
		next(p);
		return e;
	}
	if (tok_is(p, "link"))
		return parse_field(p);
	if (p->t == T_IDENT) {
		size_t save = p->pos;
		bool call;

		while (save < p->len && strchr(" \t\r\n", p->s[save]) && p->s[save])
			save++;
		call = save < p->len && p->s[save] == '(';
		if (call && (tok_is(p, "glob") || tok_is(p, "mac")))
			return parse_call(p);
		if (call)
			fail(p, at, "unsupported function %.*s() (supported: glob, mac)",
			    (int)(p->t_len > 40 ? 40 : p->t_len), p->s + at);
		else
			fail(p, at, "unsupported name \"%.*s\" (only link.<field>, strings, "
			    "glob() and mac())", (int)(p->t_len > 40 ? 40 : p->t_len),
			    p->s + at);
		return NULL;
	}
	fail_here(p, "a condition, a string or link.<field>");
	return NULL;
}

static struct cel_expr *parse_unary(struct parser *p)
{
	struct cel_expr *e;
	size_t at = p->t_at;

	if (++p->depth > MAX_DEPTH) {
		fail(p, at, "nested more than %d levels deep", MAX_DEPTH);
		return NULL;
	}
	if (p->t == T_NOT) {
		next(p);
		e = parse_unary(p);
		need_bool(p, e, "'!'");
		e = p->failed ? (cel_free(e), NULL) : node(OP_NOT, at, e, NULL);
	} else {
		e = parse_prim(p);
	}
	p->depth--;
	return e;
}

static struct cel_expr *parse_rel(struct parser *p)
{
	struct cel_expr *a = parse_unary(p), *b;
	enum tok t = p->t;
	size_t at;

	if (a != NULL && t == T_IDENT) {
		/* "in", or a missing operator between two operands */
		if (tok_is(p, "in"))
			fail(p, p->t_at, "unsupported operator \"in\" (lists are not "
			    "supported)");
		else
			fail_here(p, "an operator (==, !=, &&, ||)");
		cel_free(a);
		return NULL;
	}
	if (a == NULL || (t != T_EQ && t != T_NE))
		return a;
	at = p->t_at;
	need_str(p, a, t == T_EQ ? "'=='" : "'!='");
	next(p);
	b = p->failed ? NULL : parse_unary(p);
	need_str(p, b, t == T_EQ ? "'=='" : "'!='");
	if (!p->failed && (p->t == T_EQ || p->t == T_NE))
		fail(p, p->t_at, "comparisons cannot be chained; join them with && or ||");
	if (p->failed) {
		cel_free(a);
		cel_free(b);
		return NULL;
	}
	(void)at;
	return node(t == T_EQ ? OP_EQ : OP_NE, a->at, a, b);
}

/* sub (tok sub)*, left-associative: a chain of && or of ||, every
 * operand a condition; name is the operator as errors spell it. */
static struct cel_expr *parse_chain(struct parser *p, struct cel_expr *(*sub)(struct parser *),
    enum tok tok, enum op op, const char *name)
{
	struct cel_expr *a = sub(p), *b;

	while (a != NULL && p->t == tok) {
		need_bool(p, a, name);
		/* n operators join n + 1 operands, whatever the parentheses */
		if (++p->ops >= CEL_MAX_OPERANDS)
			fail(p, p->t_at, "more than %d operands of && and ||",
			    CEL_MAX_OPERANDS);
		next(p);
		b = p->failed ? NULL : sub(p);
		need_bool(p, b, name);
		if (p->failed) {
			cel_free(a);
			cel_free(b);
			return NULL;
		}
		a = node(op, a->at, a, b);
	}
	return a;
}

static struct cel_expr *parse_and(struct parser *p)
{
	return parse_chain(p, parse_rel, T_AND, OP_AND, "'&&'");
}

static struct cel_expr *parse_or(struct parser *p)
{
	struct cel_expr *a;

	if (++p->depth > MAX_DEPTH) {
		fail(p, p->t_at, "nested more than %d levels deep", MAX_DEPTH);
		return NULL;
	}
	a = parse_chain(p, parse_and, T_OR, OP_OR, "'||'");
	p->depth--;
	return a;
}

struct cel_expr *cel_parse(const char *text, size_t len, struct cel_error *err)
{
	struct parser p = { .s = text, .len = len, .err = err };
	struct cel_expr *e;

	err->offset = 0;
	err->msg[0] = '\0';
	if (len > CEL_MAX_LEN) {
		fail(&p, CEL_MAX_LEN, "expression longer than %d bytes", CEL_MAX_LEN);
		return NULL;
	}
	next(&p);
	if (p.t == T_END) {
		fail(&p, 0, "empty expression");
		e = NULL;
	} else {
		e = parse_or(&p);
	}
	if (e != NULL && p.t != T_END)
		fail_here(&p, "&&, || or the end of the expression");
	need_bool(&p, e, "a selector");
	if (!p.failed && e != NULL) {
		/* The canonical form (what --check prints) must read back: it
		 * spaces the operators and quotes every string, so it can be
		 * longer than the text; refuse what would not fit. */
		char *canon = cel_format(e);
		size_t clen = strlen(canon);

		free(canon);
		if (clen > CEL_MAX_LEN)
			fail(&p, len, "expression longer than %d bytes once written in its "
			    "canonical form (%zu bytes)", CEL_MAX_LEN, clen);
	}
	free(p.t_str);
	if (p.failed) {
		cel_free(e);
		return NULL;
	}
	return e;
}

/* --- evaluation -------------------------------------------------------- */

static const char *field_of(const struct link_facts *l, enum field f)
{
	const char *v = NULL;

	switch (f) {
	case F_DRIVER: v = l->driver; break;
	case F_HWADDR: v = l->hardware_addr; break;
	case F_PERMADDR: v = l->permanent_addr; break;
	case F_BUSPATH: v = l->bus_path; break;
	case F_PCIID: v = l->pci_id; break;
	case F_KIND: v = l->kind; break;
	case F_TYPE: v = l->type; break;
	default: break;
	}
	return v != NULL ? v : "";
}

/* The value of a string node; buf (LINKSEL_MAC_LEN) holds mac()'s. */
static const char *str_of(const struct cel_expr *e, const struct link_facts *l, char *buf)
{
	switch (e->op) {
	case OP_STR:
		return e->str;
	case OP_FIELD:
		return field_of(l, e->field);
	case OP_MAC:
		linksel_mac_norm(field_of(l, e->a->field), buf);
		return buf;
	default:
		return ""; /* not reached: the parser checked the types */
	}
}

bool cel_eval(const struct cel_expr *e, const struct link_facts *l)
{
	char x[LINKSEL_MAC_LEN], y[LINKSEL_MAC_LEN];

	switch (e->op) {
	case OP_OR:
		return cel_eval(e->a, l) || cel_eval(e->b, l);
	case OP_AND:
		return cel_eval(e->a, l) && cel_eval(e->b, l);
	case OP_NOT:
		return !cel_eval(e->a, l);
	case OP_EQ:
		return strcmp(str_of(e->a, l, x), str_of(e->b, l, y)) == 0;
	case OP_NE:
		return strcmp(str_of(e->a, l, x), str_of(e->b, l, y)) != 0;
	case OP_GLOB:
		return fnmatch(str_of(e->a, l, x), str_of(e->b, l, y), 0) == 0;
	default:
		return false;
	}
}

/* --- printing, copying, comparing --------------------------------------- */

static int prec(const struct cel_expr *e)
{
	switch (e->op) {
	case OP_OR: return 1;
	case OP_AND: return 2;
	case OP_EQ: case OP_NE: return 3;
	case OP_NOT: return 4;
	default: return 5;
	}
}

static void put(FILE *f, const struct cel_expr *e, int min)
{
	bool paren = prec(e) < min;

	if (paren)
		fputc('(', f);
	switch (e->op) {
	case OP_OR:
	case OP_AND:
		put(f, e->a, prec(e));
		fputs(e->op == OP_OR ? " || " : " && ", f);
		put(f, e->b, prec(e) + 1);
		break;
	case OP_EQ:
	case OP_NE:
		put(f, e->a, 4);
		fputs(e->op == OP_EQ ? " == " : " != ", f);
		put(f, e->b, 4);
		break;
	case OP_NOT:
		fputc('!', f);
		put(f, e->a, 4);
		break;
	case OP_GLOB:
		fputs("glob(", f);
		put(f, e->a, 1);
		fputs(", ", f);
		put(f, e->b, 1);
		fputc(')', f);
		break;
	case OP_MAC:
		fputs("mac(", f);
		put(f, e->a, 1);
		fputc(')', f);
		break;
	case OP_FIELD:
		fprintf(f, "link.%s", field_names[e->field]);
		break;
	case OP_STR:
		fputc('"', f);
		for (const char *s = e->str; *s; s++) {
			if (*s == '"' || *s == '\\')
				fputc('\\', f);
			fputc(*s, f);
		}
		fputc('"', f);
		break;
	}
	if (paren)
		fputc(')', f);
}

char *cel_format(const struct cel_expr *e)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		fatal("open_memstream");
	put(f, e, 1);
	if (fclose(f) != 0 || out == NULL)
		fatal("open_memstream");
	return out;
}

struct cel_expr *cel_dup(const struct cel_expr *e)
{
	struct cel_expr *d;

	if (e == NULL)
		return NULL;
	d = node(e->op, e->at, cel_dup(e->a), cel_dup(e->b));
	d->field = e->field;
	d->str = e->str ? xstrdup(e->str) : NULL;
	return d;
}

bool cel_equal(const struct cel_expr *a, const struct cel_expr *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->op != b->op || (a->op == OP_FIELD && a->field != b->field))
		return false;
	if (a->op == OP_STR && strcmp(a->str, b->str) != 0)
		return false;
	return cel_equal(a->a, b->a) && cel_equal(a->b, b->b);
}
