/*
 * ctlproto.h - the control socket's request language, pure (no I/O), so it
 * is unit-tested and fuzzed (tests/fuzz/fuzz_ctlproto.c).
 *
 * A request is one line of printable ASCII ending in LF, at most
 * CTL_MAX_REQUEST bytes including the LF:
 *
 *     COMMAND [ SP VIP ] LF        COMMAND = status | release | pause | resume
 *     reload LF                    (no argument: the whole configuration)
 *
 * VIP is the address as configured (1..CTL_MAX_VIP-1 bytes of hex digits,
 * '.' and ':'); without it the command applies to every VIP of the
 * daemon. The answer is one JSON object on one line, then the daemon
 * closes the connection (docs/operations.md lists its fields). One
 * request per connection; bytes after the LF are ignored.
 */
#ifndef VIPD_CTLPROTO_H
#define VIPD_CTLPROTO_H

#include <stddef.h>

/* Largest request accepted, LF included (bytes). Real requests are under
 * 64 bytes; the bound only caps what a client can make the daemon hold. */
#define CTL_MAX_REQUEST 4096u
/* Room for a VIP argument, NUL included (INET6_ADDRSTRLEN is 46). */
#define CTL_MAX_VIP 64u

enum ctl_cmd {
	CTL_STATUS,
	CTL_RELEASE,
	CTL_PAUSE,
	CTL_RESUME,
	CTL_RELOAD,  /* read the configuration file again (reload.h); the last:
	              * tests/fuzz/fuzz_ctlproto.c checks against it */
};

struct ctl_req {
	enum ctl_cmd cmd;
	char vip[CTL_MAX_VIP]; /* "" = every VIP */
};

/*
 * Parse the first line of buf[0..len). Returns 1 when a complete, valid
 * request was found (req filled), 0 when no LF has come yet and len is
 * still below CTL_MAX_REQUEST (read more), -1 when the request is
 * malformed or too long: *why then says what is wrong (a static string).
 * Never reads past buf + len; buf need not be NUL-terminated.
 */
int ctlproto_parse(const char *buf, size_t len, struct ctl_req *req, const char **why);

/* "status", "release", "pause", "resume", "reload"; "?" for anything else. */
const char *ctlproto_cmd_name(enum ctl_cmd cmd);

/* The command named name, or -1 (vipctl's argument check). */
int ctlproto_cmd_parse(const char *name);

/* Write req as its request line (LF included, NUL-terminated) into
 * out[0..size). Returns the line's length in bytes, or -1 if it does not
 * fit or the VIP is not a valid argument. */
int ctlproto_format(const struct ctl_req *req, char *out, size_t size);

#endif
