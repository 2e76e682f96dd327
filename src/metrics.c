/*
 * metrics.c - Prometheus metrics as plain data, rendered to the text
 * exposition format 0.0.4. Pure: no I/O, no clock.
 */
#include "metrics.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

void metrics_hist_observe(struct metrics_hist *h, const double *bounds, size_t n, double v)
{
	size_t i = 0;

	assert(n <= METRICS_HIST_MAX);
	while (i < n && v > bounds[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += v;
}

struct metrics_entry *metrics_table_get(struct metrics_table *t, const char *a, const char *b)
{
	struct metrics_entry *e;

	for (size_t i = 0; i < t->n; i++) {
		e = &t->e[i];
		if (strncmp(e->a, a, sizeof(e->a) - 1) == 0 && strncmp(e->b, b, sizeof(e->b) - 1) == 0)
			return e;
	}
	if (t->n >= METRICS_TABLE_MAX - 1) {
		/* Full: everything new goes into the reserved last entry. */
		a = b = "other";
		for (size_t i = 0; i < t->n; i++) {
			e = &t->e[i];
			if (strcmp(e->a, a) == 0 && strcmp(e->b, b) == 0)
				return e;
		}
	}
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->a, sizeof(e->a), "%s", a);
	snprintf(e->b, sizeof(e->b), "%s", b);
	return e;
}

/* ---- rendering ----------------------------------------------------------- */

static void grow(struct metrics_out *o, size_t more)
{
	if (o->len + more + 1 <= o->cap)
		return;
	while (o->len + more + 1 > o->cap)
		o->cap = o->cap ? o->cap * 2 : 4096;
	o->buf = xrealloc(o->buf, o->cap);
}

static void put(struct metrics_out *o, const char *s, size_t n)
{
	grow(o, n);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct metrics_out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* s escaped as the format wants: \ and newline always, " in label values. */
static void put_escaped(struct metrics_out *o, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(o, "\\\\", 2);
		else if (*s == '\n')
			put(o, "\\n", 2);
		else if (*s == '"' && quote)
			put(o, "\\\"", 2);
		else
			put(o, s, 1);
	}
}

/* Whole numbers as integers; else the shortest decimal that reads back
 * as v (so 0.1 is "0.1", not 0.10000000000000001); "NaN", "+Inf", "-Inf" as the format spells them. */
static void put_number(struct metrics_out *o, double v)
{
	char b[40];

	if (isnan(v)) {
		puts_(o, "NaN");
		return;
	}
	if (isinf(v)) {
		puts_(o, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == trunc(v) && fabs(v) < 1e15) {
		snprintf(b, sizeof(b), "%.0f", v);
		puts_(o, b);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(b, sizeof(b), "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			break;
	}
	puts_(o, b);
}

void metrics_family(struct metrics_out *o, const char *name, const char *help,
    enum metrics_type type)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	o->family = name;
	o->type = type;
	puts_(o, "# HELP ");
	puts_(o, name);
	puts_(o, " ");
	put_escaped(o, help, 0);
	puts_(o, "\n# TYPE ");
	puts_(o, name);
	puts_(o, " ");
	puts_(o, types[type]);
	puts_(o, "\n");
}

/* name{labels[,le="le"]} value */
static void put_sample(struct metrics_out *o, const char *suffix, const char *const *labels,
    const char *le, double v)
{
	int first = 1;

	puts_(o, o->family);
	puts_(o, suffix);
	for (size_t i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		puts_(o, first ? "{" : ",");
		first = 0;
		puts_(o, labels[i]);
		puts_(o, "=\"");
		put_escaped(o, labels[i + 1], 1);
		puts_(o, "\"");
	}
	if (le != NULL) {
		puts_(o, first ? "{" : ",");
		first = 0;
		puts_(o, "le=\"");
		puts_(o, le);
		puts_(o, "\"");
	}
	if (!first)
		puts_(o, "}");
	puts_(o, " ");
	put_number(o, v);
	puts_(o, "\n");
}

void metrics_sample(struct metrics_out *o, const char *const *labels, double v)
{
	assert(o->family != NULL && o->type != METRICS_HISTOGRAM);
	put_sample(o, "", labels, NULL, v);
}

void metrics_histogram(struct metrics_out *o, const char *const *labels,
    const double *bounds, size_t n, const struct metrics_hist *h)
{
	struct metrics_out le = { 0 };
	uint64_t cum = 0;

	assert(o->family != NULL && o->type == METRICS_HISTOGRAM && n <= METRICS_HIST_MAX);
	for (size_t i = 0; i < n; i++) {
		cum += h->buckets[i];
		le.len = 0;
		put_number(&le, bounds[i]);
		put_sample(o, "_bucket", labels, le.buf, (double)cum);
	}
	free(le.buf);
	put_sample(o, "_bucket", labels, "+Inf", (double)h->count);
	put_sample(o, "_sum", labels, NULL, h->sum);
	put_sample(o, "_count", labels, NULL, (double)h->count);
}

char *metrics_take(struct metrics_out *o, size_t *len)
{
	char *s = o->buf ? o->buf : xstrdup("");

	*len = o->len;
	*o = (struct metrics_out){ 0 };
	return s;
}
