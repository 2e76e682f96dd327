#!/bin/bash
# t_12_sigkill: scenario 3, the owner's vipd is SIGKILLed (a crash): nobody
# deletes the VIP, so the kernel must remove it when its valid lifetime
# runs out.
#
#   safety  the removal on the old owner is the kernel's lifetime expiry (a
#           "Deleted ... valid_lft 0sec" event) and comes BEFORE any other
#           node adds the VIP (stamps from the monitor files); the dead
#           node never adds it again; no overlap.
#   timing  a new owner within the lease bound of the kill
#           (bd_lease_takeover: TTL, or an etcd re-arm, + lessor check +
#           slack); the probe's longest outage within that + one interval.
# The client reaches the new owner. About 15 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
old=$OWNER
lab_log "etcd raft leader: $(sc_etcd_leader || echo unknown)"
lab_probe_start
sleep 1

t_kill=$(sc_now_us)
lab_vipd_kill "$old" || lab_fail "cannot SIGKILL vipd on $old"
lab_log "vipd on $old SIGKILLed (status ${LAB_LAST_STATUS:-?})"
lab_assert "vipd on $old died of SIGKILL" test "${LAB_LAST_STATUS:-x}" = 137

# The VIP leaves $old by itself, then someone else takes it.
new=$(lab_wait_owner $((LAB_TTL + 8)) "$old") || lab_fail "no new owner within TTL + 8 s of the kill"
t_seen=$(sc_now_us)
sleep 0.5
lab_probe_stop >&2
outage=$(lab_probe_max_outage_ms) || lab_fail "no probe summary"

del=$(sc_ev_first "$old" del "$t_kill" line) || lab_fail "no Deleted event of $VIP4 on $old after the kill"
t_del=${del%% *}
lab_log "$old: ${del#* }"
t_add=$(sc_ev_first "$new" add "$t_kill") || lab_fail "no add event of $VIP4 on $new after the kill"
lab_log "SIGKILL -> kernel removes $VIP4 from $old: $(sc_ms "$t_kill" "$t_del") ms"
lab_log "SIGKILL -> $new adds $VIP4: $(sc_ms "$t_kill" "$t_add") ms"
lab_log "expiry on $old -> add on $new: $(sc_ms "$t_del" "$t_add") ms"
lab_log "probe max outage: $outage ms"
bd_safety "the removal on $old was the kernel's lifetime expiry (valid_lft 0sec)" \
	test "${del#*valid_lft 0sec}" != "$del"
bd_safety "$VIP4 left $old before $new added it" test "$t_del" -le "$t_add"
# After the kernel's removal (the killed vipd may still have refreshed its
# lifetime, an "add" event, between the stamp t_kill and the signal).
others=$(sc_ev "$old" add "$((t_del + 1))") || lab_fail "cannot read $old's monitor file"
bd_safety "$old never added $VIP4 again after the kernel removed it" test -z "$others"
read -r bound why <<<"$(bd_lease_takeover "$t_kill" "$t_seen")"
bd_timing "SIGKILL -> $new adds the VIP" $(((t_add - t_kill) / 1000)) "$bound" "$why"
bd_timing "probe's longest outage" "$outage" $((bound + 10)) "the takeover's bound + one probe interval 10"

scenario_end
