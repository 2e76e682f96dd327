/*
 * test_metrics.c - the Prometheus text renderer against golden text:
 * HELP/TYPE lines, label and help escaping, numbers, histogram buckets
 * (cumulative, le="+Inf", _sum, _count), and the bounded label table.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static char *render(struct metrics_out *o)
{
	size_t len;
	char *s = metrics_take(o, &len);

	assert_int_equal(len, strlen(s));
	return s;
}

static void test_counter_and_gauge(void **state)
{
	struct metrics_out o = { 0 };
	char *s;

	(void)state;
	metrics_family(&o, "vipd_x_total", "Things counted", METRICS_COUNTER);
	metrics_sample(&o, NULL, 42);
	metrics_family(&o, "vipd_g", "A gauge", METRICS_GAUGE);
	metrics_sample(&o, (const char *const[]){ "vip", "198.18.0.100", "link", "eth0", NULL }, 1);
	metrics_sample(&o, (const char *const[]){ "vip", "fd00::100", "link", "", NULL }, 0);
	metrics_sample(&o, NULL, -1.5);
	metrics_sample(&o, NULL, 0.1);
	metrics_sample(&o, NULL, 18446744073709551615.0);
	metrics_sample(&o, NULL, NAN);
	metrics_sample(&o, NULL, INFINITY);
	metrics_sample(&o, NULL, -INFINITY);
	s = render(&o);
	assert_string_equal(s,
	    "# HELP vipd_x_total Things counted\n"
	    "# TYPE vipd_x_total counter\n"
	    "vipd_x_total 42\n"
	    "# HELP vipd_g A gauge\n"
	    "# TYPE vipd_g gauge\n"
	    "vipd_g{vip=\"198.18.0.100\",link=\"eth0\"} 1\n"
	    "vipd_g{vip=\"fd00::100\",link=\"\"} 0\n"
	    "vipd_g -1.5\n"
	    "vipd_g 0.1\n"
	    "vipd_g 1.8446744073709552e+19\n"
	    "vipd_g NaN\n"
	    "vipd_g +Inf\n"
	    "vipd_g -Inf\n");
	free(s);
}

/* Label values escape \, " and newline; HELP escapes \ and newline only
 * (exposition format 0.0.4). */
static void test_escaping(void **state)
{
	struct metrics_out o = { 0 };
	char *s;

	(void)state;
	metrics_family(&o, "vipd_t_total", "back\\slash \"quoted\"\nnext line", METRICS_COUNTER);
	metrics_sample(&o, (const char *const[]){ "reason", "a \"b\" c\\d\ne", NULL }, 3);
	s = render(&o);
	assert_string_equal(s,
	    "# HELP vipd_t_total back\\\\slash \"quoted\"\\nnext line\n"
	    "# TYPE vipd_t_total counter\n"
	    "vipd_t_total{reason=\"a \\\"b\\\" c\\\\d\\ne\"} 3\n");
	free(s);
}

static void test_histogram(void **state)
{
	static const double b[] = { 0.005, 0.1, 1 };
	struct metrics_hist h = { 0 };
	struct metrics_out o = { 0 };
	char *s;

	(void)state;
	metrics_hist_observe(&h, b, 3, 0.001);  /* first bucket */
	metrics_hist_observe(&h, b, 3, 0.005);  /* on the bound: le is <= */
	metrics_hist_observe(&h, b, 3, 0.05);
	metrics_hist_observe(&h, b, 3, 2.5);    /* above every bound */
	assert_int_equal(h.count, 4);
	assert_int_equal(h.buckets[0], 2);
	assert_int_equal(h.buckets[1], 1);
	assert_int_equal(h.buckets[2], 0);
	assert_int_equal(h.buckets[3], 1);
	metrics_family(&o, "vipd_d_seconds", "Durations", METRICS_HISTOGRAM);
	metrics_histogram(&o, (const char *const[]){ "operation", "/v3/kv/txn", NULL }, b, 3, &h);
	metrics_histogram(&o, NULL, b, 3, &(struct metrics_hist){ 0 });
	s = render(&o);
	assert_string_equal(s,
	    "# HELP vipd_d_seconds Durations\n"
	    "# TYPE vipd_d_seconds histogram\n"
	    "vipd_d_seconds_bucket{operation=\"/v3/kv/txn\",le=\"0.005\"} 2\n"
	    "vipd_d_seconds_bucket{operation=\"/v3/kv/txn\",le=\"0.1\"} 3\n"
	    "vipd_d_seconds_bucket{operation=\"/v3/kv/txn\",le=\"1\"} 3\n"
	    "vipd_d_seconds_bucket{operation=\"/v3/kv/txn\",le=\"+Inf\"} 4\n"
	    "vipd_d_seconds_sum{operation=\"/v3/kv/txn\"} 2.556\n"
	    "vipd_d_seconds_count{operation=\"/v3/kv/txn\"} 4\n"
	    "vipd_d_seconds_bucket{le=\"0.005\"} 0\n"
	    "vipd_d_seconds_bucket{le=\"0.1\"} 0\n"
	    "vipd_d_seconds_bucket{le=\"1\"} 0\n"
	    "vipd_d_seconds_bucket{le=\"+Inf\"} 0\n"
	    "vipd_d_seconds_sum 0\n"
	    "vipd_d_seconds_count 0\n");
	free(s);
}

/* Labels that come from outside (etcd's error kinds, reasons) can never
 * grow the table past its size: the rest is counted as ("other", "other"). */
static void test_table_bounded(void **state)
{
	struct metrics_table *t = calloc(1, sizeof(*t));
	char a[32];

	(void)state;
	metrics_table_get(t, "acquired", "elected")->count++;
	metrics_table_get(t, "acquired", "elected")->count++;
	assert_int_equal(t->n, 1);
	assert_int_equal(t->e[0].count, 2);
	for (int i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "op%d", i);
		metrics_table_get(t, a, "ok")->count++;
	}
	assert_int_equal(t->n, METRICS_TABLE_MAX);
	assert_string_equal(t->e[METRICS_TABLE_MAX - 1].a, "other");
	assert_string_equal(t->e[METRICS_TABLE_MAX - 1].b, "other");
	assert_int_equal(t->e[METRICS_TABLE_MAX - 1].count, 100 - (METRICS_TABLE_MAX - 2));
	/* Known entries are still found once full. */
	metrics_table_get(t, "acquired", "elected")->count++;
	assert_int_equal(t->e[0].count, 3);
	free(t);
}

/* An empty scrape is an empty string, not NULL. */
static void test_empty(void **state)
{
	struct metrics_out o = { 0 };
	size_t len = 1;
	char *s = metrics_take(&o, &len);

	(void)state;
	assert_non_null(s);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_and_gauge),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_table_bounded),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
