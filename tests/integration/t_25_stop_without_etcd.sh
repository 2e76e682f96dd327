#!/bin/bash
# t_25_stop_without_etcd: a stop must not hang on etcd. With the owner's
# etcd member frozen (SIGSTOP: its only endpoint accepts nothing and
# answers nothing, the worst case for a client), SIGTERM still removes the
# address at once and vipd exits 0; the lease it could not revoke expires by
# itself and another node takes over.
#
#   safety  the address goes before the (failed) revoke; nobody adds the
#           VIP before the old lease expires; no overlap.
#   timing  the address is gone within the slack of SIGTERM (signalfd,
#           netlink delete); vipd exits within its stop deadline (1.8 s,
#           STOP_DEADLINE_MS) + slack; the new owner within
#           bd_lease_takeover's bound of the stop (TTL, or etcd's re-arm
#           when the frozen member was the raft leader, + lessor check +
#           slack).
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
leader=$(sc_etcd_leader) || leader='?'
lab_kill "$OWNER_ID" etcd STOP
t0=$(sc_now_us)
lab_vipd_stop "$OWNER_ID" 5 || lab_fail "vipd on $OWNER did not stop"
t1=$(sc_now_us)
lab_log "vipd on $OWNER exited with status $LAB_LAST_STATUS $(sc_ms "$t0" "$t1") ms after SIGTERM, its etcd down"
lab_assert "it exited 0" test "$LAB_LAST_STATUS" = 0
bd_timing "SIGTERM -> vipd exited" $(((t1 - t0) / 1000)) $((1800 + BD_SLACK_MS)) "stop deadline 1800 + slack $BD_SLACK_MS"
bd_safety "its address is gone" test -z "$(lab_owner)"
t_del=$(sc_ev_first "$OWNER" del "$t0") || lab_fail "no Deleted event on $OWNER after the SIGTERM"
lab_log "address removed $(sc_ms "$t0" "$t_del") ms after SIGTERM"
bd_timing "SIGTERM -> address removed" $(((t_del - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (signalfd, netlink delete; no etcd request before it)"
bd_safety "the address went before the revoke was given up (it never waits for etcd)" test "$t_del" -le "$t1"
lab_assert "the revoke was given up, not waited for" \
	grep -qE 'lease revoke (timed out|failed)' "$LAB_DIR/$OWNER/vipd.log"
# If the frozen member was etcd's raft leader, the others first elect a new
# one, which re-arms every lease (TTL + an election timeout): allow that.
# The frozen member stays frozen: resumed, a deposed etcd leader may still
# revoke leases it thinks expired (etcd 3.4), which is etcd's business.
new=$(lab_wait_owner $((LAB_TTL + 10)) "$OWNER") || lab_fail "no new owner after the old lease expired"
t_seen=$(sc_now_us)
t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "no add event on $new after the stop"
lab_log "new owner $new $(sc_ms "$t0" "$t_add") ms after the stop (etcd leader before: $leader)"
bd_safety "nobody added the VIP before the address was gone" test "$t_del" -le "$t_add"
read -r bound why <<<"$(bd_lease_takeover "$t0" "$t_seen")"
bd_timing "SIGTERM -> $new adds the VIP (the lease expired)" $(((t_add - t0) / 1000)) "$bound" "$why"
scenario_end
