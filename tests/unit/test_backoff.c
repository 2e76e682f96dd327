/*
 * test_backoff.c - retry delays double from the minimum up to the cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

static void test_doubles_to_cap_and_resets(void **state)
{
	uint32_t cur = 0;
	static const uint32_t want[] = { 100, 200, 400, 800, 1000, 1000 };

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(backoff_next(&cur, 100, 1000), want[i]);
	cur = 0; /* success resets */
	assert_int_equal(backoff_next(&cur, 100, 1000), 100);
}

static void test_no_overflow_near_cap(void **state)
{
	uint32_t cur = UINT32_MAX - 1;

	(void)state;
	assert_int_equal(backoff_next(&cur, 50, UINT32_MAX), UINT32_MAX - 1);
	assert_int_equal(cur, UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_to_cap_and_resets),
		cmocka_unit_test(test_no_overflow_near_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
