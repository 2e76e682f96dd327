#!/bin/bash
# t_25_stop_without_etcd: a stop must not hang on etcd. With the owner's
# etcd member frozen (SIGSTOP: its only endpoint accepts nothing and
# answers nothing, the worst case for a client), SIGTERM still removes the
# address at once and vipd exits 0 within 2 s; the lease it could not
# revoke expires by itself and another node takes over, never overlapping.
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
lab_assert "within 2 s" test $((t1 - t0)) -le 2000000
lab_assert "its address is gone" test -z "$(lab_owner)"
t_del=$(sc_ev_first "$OWNER" del "$t0") || lab_fail "no Deleted event on $OWNER after the SIGTERM"
lab_log "address removed $(sc_ms "$t0" "$t_del") ms after SIGTERM"
lab_assert "the address went first, within 100 ms, not after the revoke" test $((t_del - t0)) -le 100000
lab_assert "the revoke was given up, not waited for" \
	grep -qE 'lease revoke (timed out|failed)' "$LAB_DIR/$OWNER/vipd.log"
# If the frozen member was etcd's raft leader, the others first elect a new
# one, which re-arms every lease (TTL + an election timeout): allow that.
# The frozen member stays frozen: resumed, a deposed etcd leader may still
# revoke leases it thinks expired (etcd 3.4), which is etcd's business.
new=$(lab_wait_owner $((LAB_TTL + 5)) "$OWNER") || lab_fail "no new owner after the old lease expired"
lab_log "new owner $new $(sc_ms "$t0" "$(sc_now_us)") ms after the stop (etcd leader before: $leader)"
scenario_end
