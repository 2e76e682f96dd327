/*
 * ctlsock.h - the control socket: a Unix stream socket served from the
 * event loop (non-blocking, no threads) for vipctl.
 *
 * One request per connection (ctlproto.h), answered with one line, then
 * closed. Bounded everywhere, because anyone allowed to connect could
 * otherwise make the daemon hold memory or a slot: a request is at most
 * CTL_MAX_REQUEST bytes; a connection gets CTLSOCK_DEADLINE_MS from accept
 * to its answer being written (a slow client is dropped); at most
 * CTLSOCK_MAX_CONNS connections are open at once (more are accepted and
 * closed at once, so the listening socket never stays readable). A
 * malformed request gets {"ok":false,"error":"..."} and the connection is
 * closed.
 */
#ifndef VIPD_CTLSOCK_H
#define VIPD_CTLSOCK_H

#include <stddef.h>
#include <sys/types.h>

struct loop;
struct ctl_req;
struct ctlsock;

#define CTLSOCK_DEADLINE_MS 1000u
#define CTLSOCK_MAX_CONNS   8u

/*
 * Answer one valid request: called from the socket's own read handler
 * (never from within a ctlsock_* call). uid is the client's (SO_PEERCRED),
 * for the log. Returns the answer, one JSON object without a newline,
 * malloc'ed: the socket takes it and frees it. NULL: answered with an
 * internal error.
 */
typedef char *ctlsock_handler(void *arg, const struct ctl_req *req, uid_t uid);

/*
 * Serve path (absolute, shorter than sun_path). A file already there is
 * tried with connect(): refused (a daemon that died left it) -> it is
 * replaced; accepted -> another daemon serves it and nothing is touched
 * (returns NULL); not a socket -> NULL. The socket is created mode 0600
 * (umask 0177 around bind, then chmod): only root may connect, unless
 * ctlsock_set_group opens it to a group. The
 * parent directory is created (0755) if missing. Returns the handle, or
 * NULL with why (a full sentence fragment naming the path) filled.
 */
struct ctlsock *ctlsock_open(struct loop *loop, const char *path, ctlsock_handler *h,
    void *arg, char *why, size_t why_size);

/*
 * vipd.controlGroup: let group (a name, or a number) connect too: the
 * socket gets that group and mode 0660 (chown, then chmod: never wider
 * than that). Members may run every command, release, pause and reload
 * included. Call it right after ctlsock_open, before privileges are
 * dropped (chown needs CAP_CHOWN). The chown is skipped when the socket
 * has the group already - vipd runs with it as its own group, as under
 * systemd's Group=, whose unit denies chown (@privileged). Returns 0, or
 * -1 with why filled (an unknown group, chown refused; the socket stays
 * 0600).
 */
int ctlsock_set_group(struct ctlsock *s, const char *group, char *why, size_t why_size);
/*
 * The group lookup of ctlsock_set_group alone, for `vipd --check`: 0 when
 * group (a name, or a number) is known here, else -1 with why filled as
 * ctlsock_set_group fills it ("vipd.controlGroup NAME: no such group").
 */
int ctlsock_group_check(const char *group, char *why, size_t why_size);

/* NULL-safe. Closes every connection and removes the socket file if it
 * is still the one this handle created (same device and inode). */
void ctlsock_close(struct ctlsock *s);

#endif
