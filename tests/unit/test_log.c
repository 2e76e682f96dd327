/*
 * test_log.c - log_esc: text from etcd made safe for one log line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "log.h"

static void test_escapes(void **state)
{
	char b[LOG_ESC_LEN];

	(void)state;
	assert_string_equal(log_esc(b, "cp2"), "cp2");
	assert_string_equal(log_esc(b, NULL), "");
	assert_string_equal(log_esc(b, "a\nb"), "a\\x0ab");
	assert_string_equal(log_esc(b, "a\r\tb\x7f\xff"), "a\\x0d\\x09b\\x7f\\xff");
	assert_string_equal(log_esc(b, "say \"hi\" \\o/"), "say \\\"hi\\\" \\\\o/");
	assert_string_equal(log_escn(b, "k\0x", 3), "k\\x00x");
	/* Unquoted values stay one word. */
	assert_string_equal(log_esc_word(b, "n1 vip=1.2.3.4"), "n1\\x20vip=1.2.3.4");
}

static void test_cut_short(void **state)
{
	char b[LOG_ESC_LEN], in[1000];

	(void)state;
	memset(in, '\n', sizeof(in));
	log_escn(b, in, sizeof(in));
	assert_true(strlen(b) < LOG_ESC_LEN);
	assert_string_equal(b + strlen(b) - 3, "...");
	assert_null(strchr(b, '\n'));
	memset(in, 'x', sizeof(in));
	log_escn(b, in, LOG_ESC_LEN - 4);
	assert_int_equal(strlen(b), LOG_ESC_LEN - 4);
	log_escn(b, in, LOG_ESC_LEN - 3);
	assert_string_equal(b + strlen(b) - 3, "...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_cut_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
