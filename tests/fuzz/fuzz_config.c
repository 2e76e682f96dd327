/*
 * fuzz_config.c - libFuzzer harness for the configuration parser.
 *
 * For any input: cfg_load_string must not crash, leak or read out of
 * bounds; and when it accepts the input, the cfg_print output must be
 * accepted too and parse back to an equal config, printing the same text.
 *
 *   make fuzz-build
 *   build-fuzz/fuzz_config -dict=tests/fuzz/config.dict -max_total_time=300 \
 *       build-fuzz/corpus/config tests/fuzz/corpus/config
 *
 * (`make fuzz` runs every harness; see docs/testing.md, "Fuzzing".)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print c into a new string (the caller frees). */
static char *print(const struct cfg *c, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	if (f == NULL)
		abort();
	cfg_print(c, f);
	fclose(f);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c, *d;
	char *out1, *out2;
	size_t len1, len2;

	c = cfg_load_string("fuzz.yaml", (const char *)data, size, NULL);
	if (c == NULL)
		return 0;
	out1 = print(c, &len1);
	d = cfg_load_string("printed.yaml", out1, len1, stderr);
	if (d == NULL || !cfg_equal(c, d)) {
		fprintf(stderr, "printed config does not read back equal:\n%s", out1);
		abort();
	}
	out2 = print(d, &len2);
	if (len1 != len2 || memcmp(out1, out2, len1) != 0) {
		fprintf(stderr, "printing is not stable:\n%s\n---\n%s", out1, out2);
		abort();
	}
	free(out1);
	free(out2);
	cfg_free(c);
	cfg_free(d);
	return 0;
}
