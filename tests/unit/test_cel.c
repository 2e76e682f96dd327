/*
 * test_cel.c - the CEL subset of Talos link selectors: what parses, what
 * it evaluates to over link facts, the canonical form, and the error (its
 * offset and message) for what is outside the subset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cel.h"

static const struct link_facts virtio = {
	.name = "enp0s3", .kind = "", .type = "ether", .driver = "virtio_net",
	.hardware_addr = "52:54:00:12:34:56", .permanent_addr = "52:54:0:12:34:56",
	.bus_path = "0000:00:03.0", .pci_id = "1AF4:1000", .physical = true,
};

static const struct link_facts vlan = {
	.name = "enp0s3.100", .kind = "vlan", .type = "ether",
	.hardware_addr = "52:54:00:12:34:56",
};

static struct cel_expr *parse_ok(const char *s)
{
	struct cel_error err;
	struct cel_expr *e = cel_parse(s, strlen(s), &err);

	if (e == NULL)
		fail_msg("%s: unexpected error at %zu: %s", s, err.offset, err.msg);
	return e;
}

static bool eval(const char *s, const struct link_facts *l)
{
	struct cel_expr *e = parse_ok(s);
	bool r = cel_eval(e, l);

	cel_free(e);
	return r;
}

static void bad(const char *s, size_t offset, const char *msg)
{
	struct cel_error err;
	struct cel_expr *e = cel_parse(s, strlen(s), &err);

	if (e != NULL)
		fail_msg("%s: parsed, expected an error", s);
	if (strcmp(err.msg, msg) != 0 || err.offset != offset)
		fail_msg("%s:\n got %zu: %s\nwant %zu: %s", s, err.offset, err.msg, offset, msg);
}

static void test_eval(void **state)
{
	(void)state;
	assert_true(eval("link.driver == \"virtio_net\"", &virtio));
	assert_false(eval("link.driver == \"e1000\"", &virtio));
	assert_true(eval("link.driver != 'e1000'", &virtio));
	assert_true(eval("glob(\"virtio*\", link.driver)", &virtio));
	assert_true(eval("glob(\"0000:00:0?.*\", link.bus_path)", &virtio));
	/* mac() pads and lower-cases, so a short octet still compares. */
	assert_true(eval("mac(link.permanent_addr) == \"52:54:00:12:34:56\"", &virtio));
	assert_false(eval("link.permanent_addr == \"52:54:00:12:34:56\"", &virtio));
	assert_true(eval("glob(\"52:54:00:*\", mac(link.hardware_addr))", &virtio));
	assert_true(eval("link.kind == \"vlan\"", &vlan));
	assert_true(eval("link.kind == \"\"", &virtio));
	/* Unknown facts compare as "". */
	assert_true(eval("link.driver == \"\"", &vlan));
	assert_true(eval("link.pci_id == \"1AF4:1000\" && link.type == \"ether\"", &virtio));
	assert_true(eval("!(link.kind == \"vlan\")", &virtio));
	assert_false(eval("!(link.kind == \"vlan\")", &vlan));
	assert_true(eval("!!(link.kind == \"vlan\")", &vlan));
	/* && binds tighter than ||. */
	assert_true(eval("link.kind == \"vlan\" || link.driver == \"virtio_net\" && "
	    "link.type == \"ether\"", &virtio));
	assert_false(eval("(link.kind == \"vlan\" || link.driver == \"virtio_net\") && "
	    "link.type == \"none\"", &virtio));
	assert_true(eval("  (  (link.driver)  ==  'virtio_net' ) ", &virtio));
}

static void test_format(void **state)
{
	static const char *const cases[][2] = {
		{ "link.driver=='e1000'", "link.driver == \"e1000\"" },
		{ "((link.kind == \"\"))", "link.kind == \"\"" },
		{ "!(link.kind == \"\") && (glob('x*', link.driver) || link.type != 'ether')",
		  "!(link.kind == \"\") && (glob(\"x*\", link.driver) || link.type != \"ether\")" },
		{ "link.kind == \"a\" || (link.kind == \"b\" || link.kind == \"c\")",
		  "link.kind == \"a\" || (link.kind == \"b\" || link.kind == \"c\")" },
		{ "link.kind == \"a\" || link.kind == \"b\" || link.kind == \"c\"",
		  "link.kind == \"a\" || link.kind == \"b\" || link.kind == \"c\"" },
		{ "link.driver == 'say \"hi\" \\\\ \\''",
		  "link.driver == \"say \\\"hi\\\" \\\\ '\"" },
		{ "mac( link.hardware_addr )==\"aa:bb\"", "mac(link.hardware_addr) == \"aa:bb\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cel_expr *e, *again, *copy;
		char *text, *text2;

		e = parse_ok(cases[i][0]);
		text = cel_format(e);
		assert_string_equal(text, cases[i][1]);
		again = parse_ok(text);
		assert_true(cel_equal(e, again));
		text2 = cel_format(again);
		assert_string_equal(text, text2);
		copy = cel_dup(e);
		assert_true(cel_equal(e, copy));
		cel_free(copy);
		cel_free(again);
		free(text);
		free(text2);
		cel_free(e);
	}
}

static void test_equal(void **state)
{
	struct cel_expr *a = parse_ok("link.driver == \"x\"");
	struct cel_expr *b = parse_ok("link.driver == \"y\"");
	struct cel_expr *c = parse_ok("link.kind == \"x\"");
	struct cel_expr *d = parse_ok("link.driver != \"x\"");

	(void)state;
	assert_false(cel_equal(a, b));
	assert_false(cel_equal(a, c));
	assert_false(cel_equal(a, d));
	assert_true(cel_equal(NULL, NULL));
	assert_false(cel_equal(a, NULL));
	assert_null(cel_dup(NULL));
	cel_free(NULL);
	cel_free(a);
	cel_free(b);
	cel_free(c);
	cel_free(d);
}

static void test_errors(void **state)
{
	(void)state;
	bad("", 0, "empty expression");
	bad("   ", 0, "empty expression");
	bad("link.driver", 0, "a selector needs a condition, got a string (compare it "
	    "with == or !=)");
	bad("link.speed > 1000", 5, "unsupported field link.speed (supported: driver, "
	    "hardware_addr, permanent_addr, bus_path, pci_id, kind, type)");
	bad("link.type == 1", 13, "numbers are not supported (compare strings)");
	bad("link.driver > \"a\"", 12, "unsupported operator '>' (only ==, !=, &&, || and !)");
	bad("link.driver.startsWith(\"e\")", 11, "methods and sub-fields are not supported");
	bad("size(link.driver) == \"1\"", 0, "unsupported function size() (supported: "
	    "glob, mac)");
	bad("foo == \"1\"", 0, "unsupported name \"foo\" (only link.<field>, strings, "
	    "glob() and mac())");
	bad("link.kind in [\"vlan\"]", 10, "unsupported operator \"in\" (lists are not "
	    "supported)");
	bad("link.driver == \"e\" link.kind == \"\"", 19, "expected &&, || or the end of "
	    "the expression, got \"link\"");
	bad("(link.driver == \"e\"", 19, "expected ')', got the end of the expression");
	bad("link.driver == \"e", 15, "string not closed (missing \")");
	bad("link.driver == \"\\n\"", 16, "unsupported escape in a string (only \\\\, \\\" "
	    "and \\')");
	bad("link.driver == \"a\tb\"", 17, "control characters in strings are not "
	    "supported");
	bad("mac(\"00:11\") == link.hardware_addr", 4, "mac() takes a link field such as "
	    "link.permanent_addr");
	bad("glob(\"x\") ", 8, "expected ',' and the string glob() matches, got \")\"");
	bad("glob(link.kind == \"\", link.driver)", 5, "glob()'s pattern needs a string, "
	    "got a condition");
	bad("glob(\"e*\", link.driver) == \"true\"", 0, "'==' needs a string, got a condition");
	bad("link.driver == link.kind == \"x\"", 25, "comparisons cannot be chained; join "
	    "them with && or ||");
	bad("!link.driver", 1, "'!' needs a condition, got a string (compare it with == or !=)");
	bad("link.driver == \"x\" && link.kind", 22, "'&&' needs a condition, got a string "
	    "(compare it with == or !=)");
	bad("link.driver == \"x\" || \"y\"", 22, "'||' needs a condition, got a string "
	    "(compare it with == or !=)");
	bad("link[\"driver\"] == \"x\"", 4, "lists, maps and indexing are not supported");
	bad("link.", 5, "expected a field name after \"link.\", got the end of the expression");
	bad("link.driver == \"x\" && @", 22, "unsupported '@' (expected a condition, a string "
	    "or link.<field>)");
	bad("link.driver == \"\xc3\xa9\" && \xc3\xa9", 23, "unsupported character (expected a "
	    "condition, a string or link.<field>)");
}

static void test_depth(void **state)
{
	char buf[1024];
	size_t n = 0;
	struct cel_error err;

	(void)state;
	for (int i = 0; i < 200; i++)
		buf[n++] = '(';
	memcpy(buf + n, "link.kind == \"\"", 15);
	n += 15;
	for (int i = 0; i < 200; i++)
		buf[n++] = ')';
	assert_null(cel_parse(buf, n, &err));
	assert_string_equal(err.msg, "nested more than 64 levels deep");
	memset(buf, '!', 500);
	assert_null(cel_parse(buf, 500, &err));
	assert_string_equal(err.msg, "nested more than 64 levels deep");
}

/* Not NUL-terminated: the parser reads len bytes only. */
static void test_length(void **state)
{
	const char text[] = "link.kind == \"vlan\"XXXX";
	struct cel_error err;
	struct cel_expr *e = cel_parse(text, strlen(text) - 4, &err);

	(void)state;
	assert_non_null(e);
	assert_true(cel_eval(e, &vlan));
	cel_free(e);
	assert_null(cel_parse("link.kind == \"vlan\"", 15, &err));
	assert_string_equal(err.msg, "string not closed (missing \")");
}

/* A long && / || chain builds a tree as deep as it has operands, and
 * every walk over the tree recurses: 150,000 operands overflowed the
 * stack. The parser refuses an expression longer than CEL_MAX_LEN bytes
 * or with more than CEL_MAX_OPERANDS operands of && and ||. */
static char *chain(size_t n, const char *operand, const char *op, size_t *len)
{
	size_t lo = strlen(operand), lp = strlen(op), k = 0;
	char *s = malloc(n * (lo + lp) + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(s + k, op, lp);
			k += lp;
		}
		memcpy(s + k, operand, lo);
		k += lo;
	}
	s[k] = '\0';
	*len = k;
	return s;
}

static void test_long_chain(void **state)
{
	struct cel_error err;
	struct cel_expr *e;
	size_t len;
	char *s;

	(void)state;
	s = chain(150000, "link.driver == \"a\"", " || ", &len);
	e = cel_parse(s, len, &err);
	cel_free(e); /* before the limit: a stack overflow here */
	assert_null(e);
	assert_int_equal(err.offset, 4096);
	assert_string_equal(err.msg, "expression longer than 4096 bytes");
	free(s);

	/* 256 operands parse (in 2,558 bytes), 257 do not */
	s = chain(256, "'a'=='a'", "||", &len);
	e = parse_ok(s);
	assert_true(cel_eval(e, &vlan));
	cel_free(e);
	free(s);
	s = chain(257, "'a'=='a'", "&&", &len);
	assert_null(cel_parse(s, len, &err));
	assert_int_equal(err.offset, 256 * 8 + 255 * 2); /* the 256th && */
	assert_string_equal(err.msg, "more than 256 operands of && and ||");
	free(s);
	/* the count is over the whole expression, && and || together */
	s = chain(200, "'a'=='a'&&''==''", "||", &len);
	assert_null(cel_parse(s, len, &err));
	assert_string_equal(err.msg, "more than 256 operands of && and ||");
	free(s);
	/* The canonical form (spaced, double-quoted) must fit too, or what
	 * --check prints would not read back (found by fuzz_cel): 200
	 * operands in 3,598 bytes write as 4,396; 180 write as 3,956. */
	s = chain(200, "link.driver==\"a\"", "||", &len);
	assert_int_equal(len, 3598);
	assert_null(cel_parse(s, len, &err));
	assert_string_equal(err.msg, "expression longer than 4096 bytes once written in its "
	    "canonical form (4396 bytes)");
	free(s);
	s = chain(180, "link.driver==\"a\"", "||", &len);
	e = parse_ok(s);
	cel_free(e);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eval),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_long_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
