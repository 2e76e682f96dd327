/*
 * metrics.h - Prometheus metrics as plain data and a pure renderer to the
 * text exposition format 0.0.4 (prometheus.io/docs/instrumenting/
 * exposition_formats: "# HELP", "# TYPE", one sample a line, label values
 * with \\, \" and \n escaped, histograms as cumulative _bucket{le=...}
 * lines ending at le="+Inf", then _sum and _count).
 *
 * Modules keep their own counters (a number, a metrics_hist, a
 * metrics_table) and the scrape reads them through accessors
 * (metrics_vipd.c): nothing pushes into a central registry.
 */
#ifndef VIPD_METRICS_H
#define VIPD_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* ---- plain data kept by the modules ------------------------------------ */

/* Bucket upper bounds a histogram can have (le="+Inf" comes on top). */
#define METRICS_HIST_MAX 16

/* A histogram's counts, the bounds kept by whoever observes (the same
 * const array every time). buckets[i] counts the observations in
 * (bounds[i-1], bounds[i]]; buckets[n] those above the last bound. Not
 * cumulative: the renderer adds up. */
struct metrics_hist {
	uint64_t buckets[METRICS_HIST_MAX + 1];
	uint64_t count;
	double sum;
};

/* Count v (in the bounds' unit, seconds for durations) into h; n <=
 * METRICS_HIST_MAX bounds, ascending. */
void metrics_hist_observe(struct metrics_hist *h, const double *bounds, size_t n, double v);

/* Label values a table entry keeps (longer ones are cut). */
#define METRICS_LABEL_LEN 64
/* Entries a table holds; the last is reserved for ("other", "other"), so
 * a label that comes from outside can never grow the table. */
#define METRICS_TABLE_MAX 32

/* One counter (and a histogram, for those who use one) under two label
 * values, e.g. (operation, result) or (direction, reason). */
struct metrics_entry {
	char a[METRICS_LABEL_LEN];
	char b[METRICS_LABEL_LEN];
	uint64_t count;
	struct metrics_hist hist;
};

struct metrics_table {
	struct metrics_entry e[METRICS_TABLE_MAX];
	size_t n;
};

/* The entry for (a, b), added with count 0 if new; when the table is full,
 * the ("other", "other") entry. Never NULL. */
struct metrics_entry *metrics_table_get(struct metrics_table *t, const char *a, const char *b);

/* ---- rendering ----------------------------------------------------------- */

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* The text of one scrape, built family by family. Starts zeroed
 * ({0}); the buffer grows as needed (xmem: allocation cannot fail). */
struct metrics_out {
	char *buf;
	size_t len, cap;
	const char *family;       /* the family samples now belong to */
	enum metrics_type type;
};

/* Start a family: "# HELP name help" (help escaped: \\ and \n) and
 * "# TYPE name type". Every sample that follows, until the next family,
 * must be of this name (asserted): the format wants a family's samples
 * together. name and help are borrowed until the next family starts. */
void metrics_family(struct metrics_out *o, const char *name, const char *help,
    enum metrics_type type);

/* One sample of the current counter or gauge family. labels: pairs of
 * label name and value, ended by NULL (NULL itself: no labels); values are
 * escaped here. Values print as integers when whole, else with 17
 * significant digits; NaN and infinities as the format spells them. */
void metrics_sample(struct metrics_out *o, const char *const *labels, double v);

/* The current histogram family's samples for one label set: every
 * bucket cumulatively with le="<bound>", le="+Inf", _sum and _count. */
void metrics_histogram(struct metrics_out *o, const char *const *labels,
    const double *bounds, size_t n, const struct metrics_hist *h);

/* The text (NUL-terminated; *len without the NUL), now the caller's to
 * free(); o is empty again. */
char *metrics_take(struct metrics_out *o, size_t *len);

#endif
