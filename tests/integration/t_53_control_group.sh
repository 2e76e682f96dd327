#!/bin/bash
# t_53_control_group: vipd.controlGroup (docs/configuration.md). One node,
# etcd, vipd.
#
#   default        the control socket is 0600 root:root; a process of uid
#                  65534 (nobody) cannot use it.
#   controlGroup   the socket is 0660 with that group (by name: "daemon",
#                  gid 1, present on every Debian-like system); uid 65534
#                  in group 1 runs `vipctl status`; uid 65534 without the
#                  group is refused.
#   reload         a changed controlGroup is reported as needing a
#                  restart (restart_needed), the socket stays as it is.
# The lab's directories get o+x so that uid 65534 reaches the socket path.
set -euo pipefail
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/bounds.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
command -v setpriv >/dev/null || lab_skip "setpriv not installed (util-linux)"
getent group daemon >/dev/null || lab_skip "no group daemon on this system"
VIPCTL=$LAB_ROOT/build/vipctl
GID=$(getent group daemon | cut -d: -f3)

lab_up 1
lab_etcd_up
sock=$LAB_DIR/n1/vipd.sock
chmod o+x "$LAB_DIR" "$LAB_DIR/n1"
# as_nobody [GROUP]: run vipctl status as uid 65534, in GROUP if given.
as_nobody() {
	if [ -n "${1:-}" ]; then
		lab_exec 1 setpriv --reuid=65534 --regid="$1" --clear-groups "$VIPCTL" -s "$sock" status
	else
		lab_exec 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$VIPCTL" -s "$sock" status
	fi
}

# Default: 0600, root only.
lab_vipd_config 1 || lab_fail "config rejected"
lab_vipd_start 1
lab_wait_until 5 test -S "$sock" || lab_fail "no control socket"
lab_assert "default: the socket is 0600 root:root ($(stat -c '%a %U:%G' "$sock"))" \
	test "$(stat -c '%a %u %g' "$sock")" = "600 0 0"
set +e
as_nobody "$GID" >/dev/null 2>&1; rc=$?
set -e
lab_assert "default: uid 65534, even in group daemon, is refused (rc $rc)" test "$rc" = 1
lab_vipd_stop 1

# controlGroup: 0660 with the group.
lab_vipd_config 1 "  controlGroup: daemon" || lab_fail "config with controlGroup rejected"
lab_vipd_start 1
lab_wait_until 5 test -S "$sock" || lab_fail "no control socket"
# bind makes it 0600 root:root; the group and mode follow a moment later
# shellcheck disable=SC2016 # eval expands it
lab_wait_until 5 eval '[ "$(stat -c "%a %u %g" "$sock")" = "660 0 $GID" ]' || true
lab_assert "controlGroup daemon: the socket is 0660 root:daemon ($(stat -c '%a %U:%G' "$sock"))" \
	test "$(stat -c '%a %u %g' "$sock")" = "660 0 $GID"
out=$(as_nobody "$GID") || lab_fail "uid 65534 in group daemon cannot run vipctl status"
lab_log "vipctl status as uid 65534 gid $GID:"$'\n'"$out"
lab_assert "it lists $VIP4" grep -q "^$VIP4 " <<<"$out"
set +e
err=$(as_nobody 2>&1); rc=$?
set -e
lab_assert "uid 65534 outside the group is refused (rc $rc: $err)" test "$rc" = 1

# A changed controlGroup needs a restart.
lab_vipd_config 1 "  controlGroup: \"$GID\"" || lab_fail "config with a numeric controlGroup rejected"
lab_vipd_config 1 "  controlGroup: nogroup" || lab_fail "config rejected"
js=$(lab_exec 1 "$VIPCTL" -s "$sock" --json reload) || lab_fail "vipctl reload failed"
lab_assert "reload: controlGroup needs a restart" jq -e '.restart_needed == ["vipd.controlGroup"]' <<<"$js" >/dev/null
lab_assert "n1's log says so" grep -q 'reload: vipd.controlGroup changed: needs a restart' "$LAB_DIR/n1/vipd.log"
lab_assert "the socket is unchanged" test "$(stat -c '%a %u %g' "$sock")" = "660 0 $GID"
lab_vipd_stop 1
lab_assert "vipd exited 0" test "${LAB_LAST_STATUS:-x}" = 0

# An unknown group stops vipd at start, before any address.
lab_vipd_config 1 "  controlGroup: no-such-group-vipd" || lab_fail "config rejected"
lab_vipd_start 1
lab_wait_exit 1 vipd 5 || lab_fail "vipd with an unknown controlGroup did not exit"
lab_assert "and says why" grep -q 'control: vipd.controlGroup no-such-group-vipd: no such group' "$LAB_DIR/n1/vipd.log"
lab_log "PASS"
