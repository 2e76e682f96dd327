/*
 * fuzz_ctlproto.c - libFuzzer harness for the control socket's request
 * parser (src/ctlproto.c), which reads whatever a local client sends.
 *
 * Input: the bytes a client sent so far (any length; the socket hands the
 * parser at most CTL_MAX_REQUEST, but the parser must not care). Checked:
 * the result is -1, 0 or 1; 0 only without a LF and below the limit; -1
 * always with a reason; 1 only with a known command and a VIP argument
 * that is empty or printable, NUL-terminated and short, and the request
 * formats back (ctlproto_format) to exactly the first line of the input.
 * Every prefix of the input is parsed too, as the socket does while bytes
 * arrive. Seeds: tests/fuzz/corpus/ctlproto.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)

static void one(const char *buf, size_t len)
{
	const char *lf = len > 0 ? memchr(buf, '\n', len) : NULL;
	const char *why = NULL;
	struct ctl_req req;
	char line[CTL_MAX_REQUEST + 1];
	int r = ctlproto_parse(buf, len, &req, &why), n;

	check(r >= -1 && r <= 1);
	if (r == 0) {
		check(lf == NULL && len < CTL_MAX_REQUEST);
		return;
	}
	if (r < 0) {
		check(why != NULL && why[0] != '\0');
		return;
	}
	check(lf != NULL);
	check(req.cmd <= CTL_RELOAD); /* the last command (ctlproto.h) */
	check(strnlen(req.vip, sizeof(req.vip)) < sizeof(req.vip));
	n = ctlproto_format(&req, line, sizeof(line));
	check(n > 0 && (size_t)n == (size_t)(lf - buf) + 1);
	check(memcmp(line, buf, (size_t)n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);

	memcpy(buf, data, size);
	for (size_t k = 0; k <= size && k < 256; k++)
		one(buf, k);
	one(buf, size);
	free(buf);
	return 0;
}
