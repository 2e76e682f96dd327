/*
 * ctlcmd.h - the control socket's commands carried out on the daemon's
 * VIPs, answered as JSON (fields: docs/operations.md, "vipctl"). Kept out
 * of daemon.c, which only hands it the VIPs.
 */
#ifndef VIPD_CTLCMD_H
#define VIPD_CTLCMD_H

#include <stddef.h>
#include <sys/types.h>

struct vip;
struct ctl_req;

/*
 * Carry req out: status reads vip_status(); release calls vip_handover();
 * pause / resume call vip_pause(). req->vip "" means every VIP; a VIP
 * not configured here is an error. Actions are logged at info with the
 * client's uid. Returns the answer, one JSON object on one line without
 * a newline, malloc'ed (the caller frees); NULL only if it cannot be
 * encoded. node: this daemon's node name.
 */
char *ctlcmd_run(struct vip *const *vips, size_t n_vips, const char *node,
    const struct ctl_req *req, uid_t uid);

#endif
