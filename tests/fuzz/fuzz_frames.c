/*
 * fuzz_frames.c - libFuzzer harness for the parsers of probe answers
 * (src/frames.c: frames_arp_answers, frames_na_answers), which read
 * frames from the wire: any host on the segment chooses their bytes.
 *
 * Input: byte 0 picks the parser (even: ARP for 198.18.0.100, odd: NA for
 * fd00:18::100); the rest is the Ethernet frame. Checked: the answer is 0
 * or 1 and nothing is read outside the frame (ASan); a frame that answers
 * keeps answering when bytes are appended (trailing padding, as Ethernet
 * minimum sizes add, never changes the verdict); our own probes (built
 * with frames_arp_probe / frames_ns_probe) are never answers.
 * Seeds: tests/fuzz/corpus/frames (an ARP reply and an NA for the VIPs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)

static const unsigned char vip4[4] = { 198, 18, 0, 100 };
static const unsigned char vip6[16] = { 0xfd, 0x00, 0x00, 0x18, [15] = 0x00, [14] = 0x01 };
static const unsigned char mac[6] = { 0x02, 0, 0, 0, 0, 0x0b };

static int answers(int v6, const unsigned char *f, size_t len, unsigned char out[6])
{
	return v6 ? frames_na_answers(f, len, vip6, out) : frames_arp_answers(f, len, vip4, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char out[6], buf[256], *copy;
	int v6, r, r2;
	size_t n;

	if (size < 1)
		return 0;
	v6 = data[0] & 1;
	/* An exact-size heap copy, so ASan sees any read past the frame. */
	copy = malloc(size - 1 + 16);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	r = answers(v6, copy, size - 1, out);
	check(r == 0 || r == 1);
	if (r == 1) {
		memset(copy + size - 1, 0, 16);
		r2 = answers(v6, copy, size - 1 + 16, out);
		check(r2 == 1);
	}
	free(copy);
	/* Our own probes never count as answers. */
	n = v6 ? frames_ns_probe(buf, sizeof(buf), mac, vip6) : frames_arp_probe(buf, sizeof(buf), mac, vip4);
	check(n > 0);
	check(answers(v6, buf, n, out) == 0);
	return 0;
}
