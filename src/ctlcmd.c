/*
 * ctlcmd.c - the control socket's commands (ctlcmd.h).
 */
#include "ctlcmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctlproto.h"
#include "log.h"
#include "loop.h"
#include "vip.h"

/* Text from the outside (a node name read from etcd) as a JSON string:
 * escaped as in the logs when it is not valid UTF-8. */
static json_t *jtext(const char *s)
{
	char esc[LOG_ESC_LEN];
	json_t *j = json_string(s);

	return j != NULL ? j : json_string(log_esc(esc, s));
}

static json_t *status_json(const struct vip *v, uint64_t now)
{
	struct vip_status st;
	char lease[24];
	json_t *j;

	vip_status(v, &st);
	snprintf(lease, sizeof(lease), "%" PRIx64, (uint64_t)st.lease);
	j = json_pack("{s:s, s:o, s:b, s:s, s:o, s:b, s:b, s:b, s:o, s:o, s:o, s:o, s:b, s:o}",
	    "vip", st.ip,
	    "link", st.link[0] ? jtext(st.link) : json_null(),
	    "link_up", st.link_up,
	    "role", st.role,
	    "owner", st.owner[0] ? jtext(st.owner) : json_null(),
	    "held", st.held,
	    "leader", st.leader,
	    "paused", st.paused,
	    "lease", st.lease != 0 ? json_string(lease) : json_null(),
	    "fence_left_ms", st.lease != 0 ? json_integer(st.fence_left_ms) : json_null(),
	    "role_ms", st.role_since_ms != 0 ? json_integer((json_int_t)(now - st.role_since_ms)) :
	    json_null(),
	    "reason", jtext(st.reason),
	    "conflict", st.conflict || st.stray_copy,
	    "in_subnet", st.in_subnet < 0 ? json_null() : json_boolean(st.in_subnet == 1));
	return j;
}

/* One VIP's action: its result word; *failed set when it did not happen. */
static const char *act(struct vip *v, const struct ctl_req *req, bool named, bool *failed)
{
	struct vip_status st;
	int r;

	vip_status(v, &st);
	switch (req->cmd) {
	case CTL_RELEASE:
		r = vip_handover(v);
		if (r == 0)
			return "released";
		if (r == -ENOENT) {
			*failed = named; /* named: the operator expected an owner */
			return "not held";
		}
		*failed = true;
		return "the address could not be deleted (retrying); still the owner";
	case CTL_PAUSE:
		if (st.paused)
			return "already paused";
		vip_pause(v, true);
		return "paused";
	case CTL_RESUME:
		if (!st.paused)
			return "not paused";
		vip_pause(v, false);
		return "resumed";
	case CTL_STATUS:
	case CTL_RELOAD: /* daemon.c answers it (reload.h) */
		break;
	}
	return "?";
}

char *ctlcmd_run(struct vip *const *vips, size_t n_vips, const char *node,
    const struct ctl_req *req, uid_t uid)
{
	uint64_t now = loop_now_ms();
	json_t *arr = json_array(), *j;
	bool failed = false, found = false;
	const char *why = NULL; /* the first failure */
	char *out;

	for (size_t i = 0; i < n_vips; i++) {
		struct vip *v = vips[i];
		const char *res;
		bool f = false;

		if (req->vip[0] != '\0' && strcmp(req->vip, vip_ip(v)) != 0)
			continue;
		found = true;
		if (req->cmd == CTL_STATUS) {
			json_array_append_new(arr, status_json(v, now));
			continue;
		}
		res = act(v, req, req->vip[0] != '\0', &f);
		if (f && why == NULL)
			why = res;
		failed |= f;
		log_info("control: %s vip=%s uid=%u result=\"%s\"", ctlproto_cmd_name(req->cmd),
		    vip_ip(v), (unsigned)uid, res);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "vip", vip_ip(v),
		    "result", res, "done", !f));
	}
	if (req->vip[0] != '\0' && !found) {
		char esc[LOG_ESC_LEN];

		json_decref(arr);
		j = json_pack("{s:b, s:s, s:o}", "ok", 0, "error", "no such VIP on this node",
		    "vip", json_string(log_esc(esc, req->vip)));
	} else {
		j = json_pack("{s:b, s:s, s:o, s:o}", "ok", !failed, "command",
		    ctlproto_cmd_name(req->cmd), "node", jtext(node), "vips", arr);
		if (why != NULL && j != NULL)
			json_object_set_new(j, "error", json_string(why));
	}
	out = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	return out;
}
