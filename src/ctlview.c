/*
 * ctlview.c - vipctl's rendering of control answers (ctlview.h).
 */
#include "ctlview.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmem.h"

const char *ctlview_duration(int64_t ms, char *buf, size_t size)
{
	const char *sign = ms < 0 ? "-" : "";
	uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	uint64_t s = a / 1000;

	if (a < 1000)
		snprintf(buf, size, "%s%" PRIu64 "ms", sign, a);
	else if (s < 60)
		snprintf(buf, size, "%s%" PRIu64 ".%" PRIu64 "s", sign, s, (a % 1000) / 100);
	else if (s < 3600)
		snprintf(buf, size, "%s%" PRIu64 "m%02" PRIu64 "s", sign, s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%s%" PRIu64 "h%02" PRIu64 "m", sign, s / 3600, s / 60 % 60);
	else
		snprintf(buf, size, "%s%" PRIu64 "d%02" PRIu64 "h", sign, s / 86400, s / 3600 % 24);
	return buf;
}

#define NCOL 8

/* A string field, escaped (word: spaces too); "-" when absent or null. */
static char *field(const json_t *o, const char *key, bool word)
{
	const json_t *j = json_object_get(o, key);
	char esc[LOG_ESC_LEN];

	if (!json_is_string(j))
		return xstrdup("-");
	return xstrdup(word ? log_esc_word(esc, json_string_value(j)) :
	    log_esc(esc, json_string_value(j)));
}

static char *dur_field(const json_t *o, const char *key)
{
	const json_t *j = json_object_get(o, key);
	char b[32];

	if (!json_is_integer(j))
		return xstrdup("-");
	return xstrdup(ctlview_duration((int64_t)json_integer_value(j), b, sizeof(b)));
}

static void print_status(const json_t *vips, FILE *out)
{
	static const char *const head[NCOL] = {
		"VIP", "LINK", "ROLE", "OWNER", "LEASE", "FENCE", "IN-ROLE", "REASON",
	};
	size_t n = json_array_size(vips);
	char **cell = xcalloc((n + 1) * NCOL, sizeof(*cell));
	int w[NCOL];

	for (size_t c = 0; c < NCOL; c++) {
		cell[c] = xstrdup(head[c]);
		w[c] = (int)strlen(head[c]);
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(vips, i);
		char **row = &cell[(i + 1) * NCOL];

		row[0] = field(v, "vip", true);
		row[1] = field(v, "link", true);
		row[2] = field(v, "role", true);
		row[3] = field(v, "owner", true);
		row[4] = field(v, "lease", true);
		row[5] = dur_field(v, "fence_left_ms");
		row[6] = dur_field(v, "role_ms");
		row[7] = field(v, "reason", false);
		for (size_t c = 0; c < NCOL; c++)
			if ((int)strlen(row[c]) > w[c])
				w[c] = (int)strlen(row[c]);
	}
	for (size_t i = 0; i <= n; i++) {
		char **row = &cell[i * NCOL];

		for (size_t c = 0; c + 1 < NCOL; c++)
			fprintf(out, "%-*s  ", w[c], row[c]);
		fprintf(out, "%s\n", row[NCOL - 1]);
	}
	for (size_t i = 0; i < (n + 1) * NCOL; i++)
		free(cell[i]);
	free(cell);
}

/* One line "label: a, b" of an array of strings; "label: -" if empty. */
static void print_list(FILE *f, const char *label, const json_t *arr)
{
	char esc[LOG_ESC_LEN];
	size_t n = json_array_size(arr);

	fprintf(f, "%s: ", label);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		fprintf(f, "%s%s", i ? ", " : "", log_esc(esc, s != NULL ? s : "?"));
	}
	fprintf(f, "%s\n", n == 0 ? "-" : "");
}

/* A reload's answer: what changed, or the file's errors (on err). */
static void print_reload(const json_t *reply, FILE *out, FILE *err)
{
	const json_t *vips = json_object_get(reply, "vips");

	if (json_is_true(json_object_get(reply, "ok"))) {
		print_list(out, "kept", json_object_get(vips, "kept"));
		print_list(out, "added", json_object_get(vips, "added"));
		print_list(out, "removed", json_object_get(vips, "removed"));
		print_list(out, "applied", json_object_get(reply, "applied"));
		print_list(out, "at the next lease", json_object_get(reply, "next_lease"));
		print_list(out, "needs a restart", json_object_get(reply, "restart_needed"));
		return;
	}
	for (size_t i = 0; i < json_array_size(json_object_get(reply, "errors")); i++) {
		char esc[LOG_ESC_LEN];
		const char *s = json_string_value(json_array_get(json_object_get(reply,
		    "errors"), i));

		fprintf(err, "%s\n", log_esc(esc, s != NULL ? s : "?"));
	}
}

int ctlview_print(const json_t *reply, const char *cmd, FILE *out, FILE *err)
{
	const json_t *ok = json_object_get(reply, "ok");
	const json_t *vips = json_object_get(reply, "vips");
	char *e;
	int rc = 0;

	if (!json_is_boolean(ok)) {
		fprintf(err, "vipctl: %s: the daemon's answer is not understood\n", cmd);
		return 1;
	}
	if (strcmp(cmd, "reload") == 0) {
		print_reload(reply, out, err);
	} else if (json_is_array(vips) && strcmp(cmd, "status") == 0) {
		print_status(vips, out);
	} else if (json_is_array(vips)) {
		for (size_t i = 0; i < json_array_size(vips); i++) {
			const json_t *v = json_array_get(vips, i);
			char *ip = field(v, "vip", true), *res = field(v, "result", false);

			fprintf(out, "%s: %s\n", ip, res);
			free(ip);
			free(res);
		}
		if (json_array_size(vips) == 0)
			fprintf(out, "no VIP configured on this node\n");
	}
	if (!json_is_true(ok)) {
		e = field(reply, "error", false);
		if (json_is_string(json_object_get(reply, "vip"))) {
			char *ip = field(reply, "vip", true);

			fprintf(err, "vipctl: %s %s: %s\n", cmd, ip, e);
			free(ip);
		} else {
			fprintf(err, "vipctl: %s: %s\n", cmd, e);
		}
		free(e);
		rc = 1;
	}
	return rc;
}
