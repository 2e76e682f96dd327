/*
 * ctlproto.c - the control socket's request line (ctlproto.h).
 */
#include "ctlproto.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
	[CTL_STATUS] = "status",
	[CTL_RELEASE] = "release",
	[CTL_PAUSE] = "pause",
	[CTL_RESUME] = "resume",
	[CTL_RELOAD] = "reload",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

const char *ctlproto_cmd_name(enum ctl_cmd cmd)
{
	return (unsigned)cmd < N_NAMES ? names[cmd] : "?";
}

static int cmd_of(const char *s, size_t len)
{
	for (size_t i = 0; i < N_NAMES; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return (int)i;
	return -1;
}

int ctlproto_cmd_parse(const char *name)
{
	return name == NULL ? -1 : cmd_of(name, strlen(name));
}

static bool vip_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	    c == '.' || c == ':';
}

static bool vip_ok(const char *s, size_t len)
{
	if (len == 0 || len >= CTL_MAX_VIP)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!vip_char(s[i]))
			return false;
	return true;
}

int ctlproto_parse(const char *buf, size_t len, struct ctl_req *req, const char **why)
{
	const char *lf = len > 0 ? memchr(buf, '\n', len) : NULL;
	const char *sp;
	size_t n, word;
	int cmd;

	if (lf == NULL) {
		if (len < CTL_MAX_REQUEST)
			return 0;
		*why = "request too long";
		return -1;
	}
	n = (size_t)(lf - buf);
	if (n + 1 > CTL_MAX_REQUEST) {
		*why = "request too long";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (buf[i] < 0x20 || buf[i] > 0x7e) {
			*why = "request is not printable ASCII";
			return -1;
		}
	}
	sp = memchr(buf, ' ', n);
	word = sp != NULL ? (size_t)(sp - buf) : n;
	cmd = cmd_of(buf, word);
	if (cmd < 0) {
		*why = "unknown command (status, release, pause, resume, reload)";
		return -1;
	}
	memset(req, 0, sizeof(*req));
	req->cmd = (enum ctl_cmd)cmd;
	if (sp == NULL)
		return 1;
	if (req->cmd == CTL_RELOAD) {
		*why = "reload takes no argument";
		return -1;
	}
	if (!vip_ok(sp + 1, n - word - 1)) {
		*why = "the argument is not a VIP address";
		return -1;
	}
	memcpy(req->vip, sp + 1, n - word - 1);
	return 1;
}

int ctlproto_format(const struct ctl_req *req, char *out, size_t size)
{
	int n;

	if ((unsigned)req->cmd >= N_NAMES ||
	    (req->cmd == CTL_RELOAD && req->vip[0] != '\0') ||
	    (req->vip[0] != '\0' && !vip_ok(req->vip, strnlen(req->vip, CTL_MAX_VIP))))
		return -1;
	n = snprintf(out, size, "%s%s%s\n", names[req->cmd], req->vip[0] ? " " : "", req->vip);
	return n < 0 || (size_t)n >= size ? -1 : n;
}
