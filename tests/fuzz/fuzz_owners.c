/*
 * fuzz_owners.c - libFuzzer harness for `vipctl owners`' reading of an
 * etcd range reply (src/owners.c), whose keys and values anyone with write
 * access to the prefix chooses.
 *
 * Input: the HTTP body of a /v3/kv/range reply, parsed as etcd.c parses it
 * (json_loadb, flags 0). Checked: owners_parse succeeds or refuses with
 * -EPROTO leaving nothing behind; after owners_sort every queue is in
 * create-revision order, every VIP name is an address, and the columns
 * and the JSON form (which must encode: names that are not UTF-8 are
 * escaped) come out without a crash or a leak.
 * Seeds: tests/fuzz/corpus/owners.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "owners.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *reply = json_loadb((const char *)data, size, 0, NULL);
	struct owners o = { 0 };
	unsigned char a[16];
	FILE *null;
	json_t *j;
	int r;

	if (reply == NULL)
		return 0;
	r = owners_parse(&o, reply, "/vipd/election/");
	check(r == 0 || r == -EPROTO);
	if (r < 0) {
		check(o.n == 0 && o.vips == NULL);
		json_decref(reply);
		return 0;
	}
	owners_add_configured(&o, "198.18.0.100");
	owners_sort(&o);
	for (size_t i = 0; i < o.n; i++) {
		check(inet_pton(AF_INET, o.vips[i].vip, a) == 1 ||
		    inet_pton(AF_INET6, o.vips[i].vip, a) == 1);
		for (size_t k = 1; k < o.vips[i].n; k++)
			check(o.vips[i].cand[k - 1].create_rev <= o.vips[i].cand[k].create_rev);
	}
	null = fopen("/dev/null", "w");
	if (null != NULL) {
		owners_print(&o, null);
		fclose(null);
	}
	j = owners_json(&o);
	check(j != NULL);
	json_decref(j);
	owners_free(&o);
	json_decref(reply);
	return 0;
}
