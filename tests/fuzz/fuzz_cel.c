/*
 * fuzz_cel.c - libFuzzer harness for the CEL subset parser (cel.c).
 *
 * For any input: cel_parse must not crash, leak or read out of bounds
 * (the input is not NUL-terminated); when it accepts the input, the
 * canonical form must parse back to an equal tree and print the same,
 * and evaluating it over a few link facts must not crash.
 *
 * Built and run by `make fuzz` (seeds: tests/fuzz/corpus/cel, written by
 * hand from the expressions the unit tests use).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct link_facts links[] = {
		{ .name = "eth0", .driver = "virtio_net", .hardware_addr = "52:54:0:1:2:3",
		  .bus_path = "0000:00:03.0", .type = "ether", .kind = "", .physical = true },
		{ .name = "x" },
	};
	struct cel_error err;
	struct cel_expr *e, *d;
	char *out1, *out2;

	e = cel_parse((const char *)data, size, &err);
	if (e == NULL) {
		if (err.offset > size || strlen(err.msg) == 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		(void)cel_eval(e, &links[i]);
	out1 = cel_format(e);
	d = cel_parse(out1, strlen(out1), &err);
	if (d == NULL || !cel_equal(e, d)) {
		fprintf(stderr, "canonical form does not read back equal: %s\n", out1);
		abort();
	}
	out2 = cel_format(d);
	if (strcmp(out1, out2) != 0)
		abort();
	free(out1);
	free(out2);
	cel_free(e);
	cel_free(d);
	return 0;
}
