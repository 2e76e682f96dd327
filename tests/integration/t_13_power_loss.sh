#!/bin/bash
# t_13_power_loss: scenario 4, the owner loses power (lab_power_off: every
# process in its namespace frozen then SIGKILLed, its etcd member too, link
# down, addresses gone). Two rounds on one lab, the etcd raft leader placed
# with `etcdctl move-leader`:
#
#  A. the dead owner's etcd member is a follower (the leader is moved to
#     another node if need be);
#  B. the node comes back (link, etcd, vipd, as a boot would) and must not
#     take the VIP from the owner; then the owner, now made etcd raft
#     leader too, loses power.
#
#   safety  every round: the VIP left the dead node before another added
#           it; the rebooted node never takes the VIP from the owner; no
#           overlap over the whole run.
#   timing  a new owner within bd_lease_takeover's bound of the power loss:
#           A: TTL + lessor check + slack (7 s at TTL 5 s). B: the raft
#           leader died with the owner; etcd 3.4 gives every lease a fresh
#           TTL plus one election timeout when the new raft leader takes
#           over (lessor Promote), so the bound is counted from that
#           election, read from the members' logs: election + TTL + 1 s +
#           lessor check + slack. A round A in which etcd happens to elect a
#           new leader anyway (a busy machine) gets the same rule. The
#           probe's longest outage: the same bound + one probe interval.
#
# The client reaches the owner at the end. About 30 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
# The owner is made etcd's raft leader on purpose below: vipd must not
# move the leadership away meanwhile (vipd.etcd.avoidLeader, t_46).
export LAB_AVOID_LEADER=false

# lab_power_off under errexit dies at random while the probe runs (a
# per-connection socat child exits between `ip netns pids` and the kill in
# _lab_kill_ns: kill returns 1, or awk in _lab_parents returns 2). Run it
# with errexit off (the || context) and check the result ourselves.
t_power_off() {
	local n=$1
	lab_power_off "$n" || true
	# shellcheck disable=SC2016 # eval expands them
	lab_assert "nothing of $n's vipd or etcd is left running" \
		eval '! lab_pid "$n" vipd >/dev/null && ! lab_pid "$n" etcd >/dev/null'
	# shellcheck disable=SC2016
	lab_assert "$n's eth0 is down" eval '[[ $(ip -n "$LAB_PREFIX-$n" -o link show eth0) != *",UP"* ]]'
}

# t_round DEAD: power DEAD off while probing; wait for the new owner;
# print and check the times. Sets NEW.
t_round() {
	local dead=$1 t_off t_del t_add t_seen outage bound why elections
	lab_probe_start
	sleep 1
	t_off=$(sc_now_us)
	t_power_off "$dead"
	NEW=$(lab_wait_owner $((LAB_TTL + 10)) "$dead") || lab_fail "no new owner within TTL + 10 s of the power loss"
	t_seen=$(sc_now_us)
	sleep 0.5
	lab_probe_stop >&2
	outage=$(lab_probe_max_outage_ms) || lab_fail "no probe summary"
	t_del=$(sc_ev_first "$dead" del "$t_off") || lab_fail "no Deleted event of $VIP4 on $dead after the power loss"
	t_add=$(sc_ev_first "$NEW" add "$t_off") || lab_fail "no add event of $VIP4 on $NEW after the power loss"
	elections=$(bd_etcd_elections "$t_off" "$t_seen" | while read -r e; do printf ' %+d' $(((e - t_off) / 1000)); done)
	lab_log "etcd raft elections after the power loss (ms):${elections:- none}"
	lab_log "power off -> $VIP4 gone from $dead: $(sc_ms "$t_off" "$t_del") ms"
	lab_log "power off -> $NEW adds $VIP4: $(sc_ms "$t_off" "$t_add") ms (TTL $LAB_TTL s)"
	bd_safety "$VIP4 left $dead before $NEW added it" test "$t_del" -le "$t_add"
	read -r bound why <<<"$(bd_lease_takeover "$t_off" "$t_seen")"
	bd_timing "power off -> $NEW adds the VIP" $(((t_add - t_off) / 1000)) "$bound" "$why"
	bd_timing "probe's longest outage" "$outage" $((bound + 10)) "the takeover's bound + one probe interval 10"
}

scenario_up

# --- A: the owner is not the etcd raft leader
old=$OWNER
lead=$(sc_etcd_leader) || lab_fail "cannot tell the etcd raft leader"
if [ "$lead" = "$old" ]; then
	for i in 1 2 3; do
		[ "n$i" = "$old" ] || break
	done
	sc_etcd_move_leader "n$i" || lab_fail "cannot move the etcd raft leader to n$i"
	lead=n$i
fi
lab_log "round A: owner $old, etcd raft leader $lead"
t_round "$old"
a_new=$NEW

# --- B: the dead node boots and stays a candidate; then the owner, also
# the etcd raft leader, loses power
lab_power_on "$old"
lab_etcd_start "$old" || lab_fail "cannot start etcd on $old"
lab_etcd_wait_healthy 20 || lab_fail "etcd not healthy again after $old's reboot"
t_boot=$(sc_now_us)
lab_vipd_start "$old" || lab_fail "cannot start vipd on $old"
lab_wait_until 5 grep -qE "election: (not leader|leader changed) .*leader=$a_new\$" "$LAB_DIR/$old/vipd.log" ||
	lab_fail "$old's vipd did not see $a_new as leader after its reboot"
sleep 1
lab_assert "$a_new still owns $VIP4 after $old came back" test "$(lab_owner)" = "$a_new"
x=$(sc_ev "$old" add "$t_boot") || lab_fail "cannot read $old's monitor file"
bd_safety "$old added no $VIP4 after its reboot while $a_new owns it" test -z "$x"
sc_etcd_move_leader "$a_new" || lab_fail "cannot move the etcd raft leader to $a_new"
lab_log "round B: owner $a_new, etcd raft leader $(sc_etcd_leader || echo '?')"
t_round "$a_new"

scenario_end
