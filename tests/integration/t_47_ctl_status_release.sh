#!/bin/bash
# t_47_ctl_status_release: `vipctl status` through the control socket shows,
# on the owner and on a candidate, what the lab sees (lab_owner) and what
# etcd holds (the owner's lease); `vipctl release` on the owner hands the
# VIP to another node with zero overlap (the address goes before the key)
# and the old owner queues again at the back (vipctl owners shows it
# last); exit codes and messages for a named VIP this node does not hold,
# an unknown VIP, a usage error and no daemon behind the socket.
#
#   safety  zero overlap (lab_assert_no_overlap); the new owner adds only
#           after the old one deleted.
#   timing  release -> the new owner's add within BD_SLACK_MS (the key's
#           delete seen by a watch, a range read, a 20 ms probe window,
#           the add).
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
VIPCTL=$LAB_ROOT/build/vipctl

scenario_up
ctl() { lab_exec "$1" "$VIPCTL" -s "$LAB_DIR/n${1#n}/vipd.sock" "${@:2}"; }
cand=$(( OWNER_ID % 3 + 1 ))

# status on the owner: columns and JSON.
out=$(ctl "$OWNER_ID" status) || lab_fail "vipctl status failed on the owner"
lab_log "vipctl status on $OWNER:"$'\n'"$out"
lab_assert "header" grep -q '^VIP  *LINK  *ROLE  *OWNER  *LEASE  *FENCE  *IN-ROLE  *REASON$' <<<"$out"
row=$(awk -v v="$VIP4" '$1 == v' <<<"$out")
lab_assert "owner's row: link eth0, role owner, owner $OWNER" \
	test "$(awk '{ print $2, $3, $4 }' <<<"$row")" = "eth0 owner $OWNER"
js=$(ctl "$OWNER_ID" --json status) || lab_fail "vipctl --json status failed"
key=$(lab_etcdctl 1 get --prefix --keys-only "/vipd/election/$VIP4/" | awk 'NF' |
	while read -r k; do [ "$(lab_etcdctl 1 get --print-value-only "$k")" != "$OWNER" ] || echo "$k"; done)
lab_assert "JSON: ok, node $OWNER" test "$(jq -r '"\(.ok) \(.node)"' <<<"$js")" = "true $OWNER"
lab_assert "JSON: role owner, held, leader, owner $OWNER" \
	test "$(jq -r '.vips[0] | "\(.role) \(.held) \(.leader) \(.owner) \(.paused)"' <<<"$js")" = "owner true true $OWNER false"
lab_assert "JSON: the lease is the owner's key's (${key##*/})" test "$(jq -r '.vips[0].lease' <<<"$js")" = "${key##*/}"
fence=$(jq -r '.vips[0].fence_left_ms' <<<"$js")
lab_assert "JSON: fence ahead, within one TTL ($fence ms)" test "$fence" -gt 0 -a "$fence" -le "$(bd_ttl_ms)"
lab_assert "JSON: reason elected, time in role counted" \
	test "$(jq -r '.vips[0] | "\(.reason) \(.role_ms > 0)"' <<<"$js")" = "elected true"

# status on a candidate, found through the configuration's controlSocket.
js=$(lab_exec "$cand" "$VIPCTL" -c "$LAB_DIR/n$cand/vipd.yaml" --json status) ||
	lab_fail "vipctl -c status failed on n$cand"
lab_assert "n$cand: role candidate, not held, owner $OWNER" \
	test "$(jq -r '.vips[0] | "\(.role) \(.held) \(.owner)"' <<<"$js")" = "candidate false $OWNER"

# Errors: a named VIP this node does not hold, an unknown VIP, usage, no
# daemon behind the socket.
set +e
err=$(ctl "$cand" release "$VIP4" 2>&1 >/dev/null); rc_nh=$?
err_u=$(ctl "$OWNER_ID" status 198.19.9.9 2>&1 >/dev/null); rc_unknown=$?
ctl "$OWNER_ID" status "$VIP4" extra >/dev/null 2>&1; rc_extra=$?
ctl "$OWNER_ID" pause 'x;y' >/dev/null 2>&1; rc_arg=$?
err_n=$(lab_exec 1 "$VIPCTL" -s "$LAB_DIR/none.sock" status 2>&1 >/dev/null); rc_none=$?
set -e
lab_assert "release of a VIP this node does not hold exits 1" test "$rc_nh" = 1
lab_assert "and says so" grep -q "release $VIP4: not held\|release: not held" <<<"$err"
lab_assert "an unknown VIP exits 1 ($err_u)" test "$rc_unknown" = 1
lab_assert "an extra argument exits 2" test "$rc_extra" = 2
lab_assert "a VIP argument that is no address exits 2" test "$rc_arg" = 2
lab_assert "no daemon: exit 1" test "$rc_none" = 1
lab_assert "no daemon: says vipd is not running ($err_n)" grep -q 'vipd is not running' <<<"$err_n"

# release on the owner: the VIP moves, the old owner queues at the back.
old=$OWNER
t0=$(sc_now_us)
out=$(ctl "$OWNER_ID" release) || lab_fail "vipctl release failed"
lab_log "vipctl release on $old: $out"
lab_assert "release says released" grep -q "^$VIP4: released$" <<<"$out"
new=$(lab_wait_owner 5 "$old") || lab_fail "no new owner within 5 s of the release"
t_del=$(sc_ev_first "$old" del "$t0") || lab_fail "no delete on $old"
t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "no add on $new"
lab_log "$old deletes at +$(sc_ms "$t0" "$t_del") ms, $new adds at +$(sc_ms "$t0" "$t_add") ms"
bd_safety "$new added only after $old deleted" test "$t_add" -gt "$t_del"
bd_timing "release -> $new adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" \
	"slack $BD_SLACK_MS (watch event, range read, a 20 ms probe window, add)"
last_in_queue() {
	local o
	o=$(lab_exec "$OWNER_ID" "$VIPCTL" -c "$LAB_DIR/n$OWNER_ID/vipd.yaml" owners) || return 1
	[ "$(awk -v v="$VIP4" '$1 == v { print $NF }' <<<"$o")" = "$old" ]
}
lab_wait_until 5 last_in_queue || lab_fail "$old is not last in the queue after the release"
lab_log "queue: $(lab_exec 1 "$VIPCTL" -c "$LAB_DIR/n1/vipd.yaml" owners | awk -v v="$VIP4" '$1 == v')"
# its status names the new owner once its own range read has answered
status_line() { ctl "$OWNER_ID" --json status | jq -r '.vips[0] | "\(.role) \(.owner) \(.reason)"'; }
# shellcheck disable=SC2016 # eval expands it
lab_wait_until 5 eval '[ "$(status_line)" = "candidate $new released by the operator" ]' || true
lab_assert "$old: candidate again, owner $new, reason from the release ($(status_line))" \
	test "$(status_line)" = "candidate $new released by the operator"
lab_assert "$old's log says who released it" grep -q 'control: release vip='"$VIP4"' uid=0 result="released"' "$LAB_DIR/n$OWNER_ID/vipd.log"
OWNER=$new
scenario_end
