/*
 * privs.h - what a root daemon owes: no core dumps or ptrace of its
 * secrets, only the capabilities it needs, secret files that only root
 * can read.
 */
#ifndef VIPD_PRIVS_H
#define VIPD_PRIVS_H

#include <stddef.h>

/*
 * Call first in the daemon, before any library is set up: unsets
 * SSLKEYLOGFILE (libcurl would write every TLS session's secrets to the
 * file it names) and marks the process not dumpable (PR_SET_DUMPABLE 0:
 * no core file and no ptrace by other processes of the same user, which
 * would show the password and the token). Never fails.
 */
void privs_early(void);

/*
 * Early in start-up, before any file is opened (libcurl reads the TLS
 * files again at every connection, so they are checked under the final
 * privileges): keep only CAP_NET_ADMIN
 * (addresses) and CAP_NET_RAW (AF_PACKET announcements), in the permitted
 * and effective sets; the inheritable, ambient and bounding sets lose
 * every other capability. Without either of the two, nothing is changed
 * and -EPERM is returned with why (len bytes) naming the missing ones and
 * how to grant them. Other failures: -errno, why says which step.
 * Returns 0 on success.
 */
int privs_drop(char *why, size_t len);

/*
 * Read a secret (etcd password) from path: the first line, without its
 * line end, into *out (caller frees; scrub it with explicit_bzero). The
 * file must be a regular file owned by root or by this process's user,
 * with no group or other permission bits (0600 or 0400); otherwise
 * -EPERM. A first line longer than 4096 bytes is -EMSGSIZE, not cut
 * short. Returns 0, or -errno with why (len bytes) saying what is wrong;
 * why does not name the file (callers put it before why).
 */
int privs_read_secret(const char *path, char **out, char *why, size_t len);

#endif
