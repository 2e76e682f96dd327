#!/bin/bash
# t_41_foreign_host: a host that is no vipd node (its own namespace on the
# lab's bridge, MAC 02:00:00:00:00:66) answers for both VIPs. The nodes
# that do not hold a VIP probe the wire every 1 s (ARP probe, DAD-style
# NS) and log the conflict with the foreign MAC; when the owner stops,
# nobody takes the VIP while the foreign host answers; once it stops
# answering, a node takes the VIP after POLICY_CONFLICT_CLEAR (3) silent
# probes.
#
#   safety  no node adds the VIP between the owner's stop and the foreign
#           host letting go (the add events of every node's monitor);
#           never two nodes at once (lab_assert_no_overlap).
#   timing  the foreign address removed -> a node adds the VIP within
#           3 probes 1 s apart, plus one period for the phase of the probe
#           timer, plus the slack.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

FMAC=02:00:00:00:00:66
scenario_up --v6
o4=$OWNER
lab_foreign_up f1 "$VIP4" "$FMAC"
lab_foreign_addr f1 add "$VIP6"

# conflict_logged ADDR: some node logged the conflict for ADDR with the MAC.
conflict_logged() {
	grep -qE "CONFLICT vip=$1 link=eth0 mac=$FMAC" "$LAB_DIR"/n*/vipd.log
}
# The non-owners probe every 5 s (vip.c VIP_PROBE_QUIET_MS) + a 20 ms window + 1 s slack.
lab_wait_until 7 conflict_logged "$VIP4" || lab_fail "no node logged the IPv4 conflict (ARP probe) within 7 s"
lab_log "ok: IPv4 conflict logged: $(grep -h "CONFLICT vip=$VIP4" "$LAB_DIR"/n*/vipd.log | head -n 1)"
lab_wait_until 7 conflict_logged "$VIP6" || lab_fail "no node logged the IPv6 conflict (NS probe) within 7 s"
lab_log "ok: IPv6 conflict logged: $(grep -h "CONFLICT vip=$VIP6" "$LAB_DIR"/n*/vipd.log | head -n 1)"

# The owner of VIP4 stops: the next leader must not take the VIP while
# the foreign host answers.
t_stop=$(sc_now_us)
lab_vipd_stop "${o4#n}"
sleep 4
for i in 1 2 3; do
	[ "n$i" = "$o4" ] && continue
	a=$(sc_ev_first "n$i" add "$t_stop") && lab_fail "n$i added $VIP4 at +$(sc_ms "$t_stop" "$a") ms while a foreign host answers for it"
done
bd_safety "nobody holds $VIP4 while the foreign host answers (holder: '$(lab_owner)')" test -z "$(lab_owner)"
lab_assert "the leader says why it does not take $VIP4" \
	grep -qE "standing aside|CONFLICT vip=$VIP4" "$LAB_DIR"/n*/vipd.log

# The foreign host lets go: a node takes it after 3 silent probes.
t_clear=$(sc_now_us)
lab_foreign_addr f1 del "$VIP4"
new=$(lab_wait_owner 8) || lab_fail "no node took $VIP4 within 8 s of the foreign host letting go"
t_add=$(sc_ev_first "$new" add "$t_clear") || lab_fail "no add event on $new"
bd_timing "foreign address removed -> $new adds $VIP4" $(((t_add - t_clear) / 1000)) \
	$((4000 + BD_SLACK_MS)) "3 probes 1 s apart + 1 s probe-timer phase + slack $BD_SLACK_MS"
lab_assert "$new logged the conflict's end" grep -q "conflict over vip=$VIP4" "$LAB_DIR/$new/vipd.log"
lab_vipd_start "${o4#n}"
lab_foreign_addr f1 del "$VIP6"
scenario_end
lab_assert_no_overlap "$VIP6"
