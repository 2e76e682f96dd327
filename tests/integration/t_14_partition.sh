#!/bin/bash
# t_14_partition: scenario 5, the owner is cut off from its peers (nftables
# on its eth0; the client still reaches it). Two rounds on one lab:
#
#  A. the etcd raft leader is another node (moved there if need be);
#  B. the owner is also the etcd raft leader (moved there). etcd 3.4 gives
#     every lease a fresh TTL plus one election timeout (1 s) when a new
#     raft leader takes over, so here the old owner's lease outlives the
#     partition start by the raft election too.
#
#   safety  every round: the owner drops the VIP before any other node adds
#           it (stamps from the monitor files); while partitioned the old
#           owner never holds it again (monitor file, and sampled); after
#           the heal it does not add it while the new owner holds it; no
#           overlap over the whole run.
#   timing  a new owner within bd_lease_takeover's bound of the partition:
#           the owner's last keepalive reached etcd before the cut, so TTL
#           + lessor check + slack; in round B (and whenever etcd elects a
#           leader meanwhile) counted from that election + TTL + election
#           timeout instead. The probe's longest outage: the same + one
#           probe interval.
# After lab_heal and TTL + 2 s: exactly one owner, still the new one (no
# needless failover back), and the client reaches it.
# About 45 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
# The owner is made etcd's raft leader on purpose below: vipd must not
# move the leadership away meanwhile (vipd.etcd.avoidLeader, t_46).
export LAB_AVOID_LEADER=false

# Violations that should not stop the run (so every round is measured):
# collected and reported at the end.
DEFERRED=()
t_defer_fail() {
	lab_log "FAIL (reported at the end): $*"
	DEFERRED+=("$*")
}

# t_round OWNER: partition OWNER while probing, check, heal, settle.
# Sets NEW.
t_round() {
	local old=$1 t_p t_del t_dlast t_add t_seen t_heal outage o x bound why
	lab_probe_start
	sleep 1
	t_p=$(sc_now_us)
	lab_partition "$old"
	NEW=$(lab_wait_owner $((LAB_TTL + 10)) "$old") || lab_fail "no single owner other than $old within TTL + 10 s of the partition"
	t_seen=$(sc_now_us)
	t_add=$(sc_ev_first "$NEW" add "$t_p") || lab_fail "no add event of $VIP4 on $NEW after the partition"

	# Stay partitioned a while: the old owner must not take it back.
	for _ in $(seq 1 20); do
		o=$(lab_owner)
		[ "$o" = "$NEW" ] || lab_fail "while $old is partitioned, the VIP is held by '${o:-nobody}' (expected $NEW)"
		sleep 0.1
	done
	lab_probe_stop >&2
	outage=$(lab_probe_max_outage_ms) || lab_fail "no probe summary"
	t_heal=$(sc_now_us)
	lab_heal "$old"

	# What the old owner did while partitioned, from its monitor file.
	t_del=$(sc_ev_first "$old" del "$t_p") || lab_fail "no Deleted event of $VIP4 on $old after the partition"
	x=$(sc_ev "$old" del "$t_p") || true
	t_dlast=$(awk -v h="$t_heal" '$1 < h { t = $1 } END { print t }' <<<"$x")
	lab_log "partition -> $old drops $VIP4: $(sc_ms "$t_p" "$t_del") ms (last drop before the heal: $(sc_ms "$t_p" "$t_dlast") ms)"
	lab_log "partition -> $NEW adds $VIP4: $(sc_ms "$t_p" "$t_add") ms (TTL $LAB_TTL s)"
	lab_log "last drop on $old -> add on $NEW: $(sc_ms "$t_dlast" "$t_add") ms"
	sc_ev "$old" add "$t_p" line | awk -v h="$t_heal" '$1 < h' | cut -d' ' -f2- | sed "s/^/    $old monitor after the partition: /" >&2 || true
	sc_ev "$old" del "$t_p" line | awk -v h="$t_heal" '$1 < h' | cut -d' ' -f2- | sed "s/^/    $old monitor after the partition: /" >&2 || true
	grep -E 'session: (fence|lease lost)|vip: (released|acquired|address removed)' "$LAB_DIR/$old/vipd.log" |
		awk -v since="$(date -u -d "@$((t_p / 1000000))" +%Y-%m-%dT%H:%M:%S)" '$1 >= since' |
		sed "s/^/    $old vipd: /" >&2 || true
	bd_safety "$old no longer held $VIP4 when $NEW added it (last drop <= add)" test "$t_dlast" -le "$t_add"
	read -r bound why <<<"$(bd_lease_takeover "$t_p" "$t_seen")"
	bd_timing "partition -> $NEW adds the VIP" $(((t_add - t_p) / 1000)) "$bound" "$why"
	bd_timing "probe's longest outage" "$outage" $((bound + 10)) "the takeover's bound + one probe interval 10"
	x=$(sc_ev "$old" add "$t_del") || true
	# (an empty here-string is one empty line: skip blank lines)
	x=$(awk -v h="$t_heal" -v p="$t_p" 'NF && $1 < h { printf "%s+%.0fms", sep, ($1 - p) / 1000; sep = " " }' <<<"$x")
	if [ -n "$x" ]; then
		t_defer_fail "safety: round on $old: partitioned $old added $VIP4 again after it had lost it (kernel lifetime expiry at +$(sc_ms "$t_p" "$t_del") ms after the partition; re-adds at $x after the partition)"
	else
		lab_log "ok: $old did not add $VIP4 again from its drop to the heal"
	fi

	sleep $((LAB_TTL + 2))
	o=$(lab_wait_owner 1) || lab_fail "not exactly one owner $((LAB_TTL + 2)) s after the heal (holders: $(lab_owner))"
	lab_assert "$NEW still owns $VIP4 after the heal (got $o)" test "$o" = "$NEW"
	lab_assert "client reaches $NEW after the heal" test "$(lab_client_reach)" = "$NEW"
	x=$(sc_ev "$old" add "$t_heal") || true
	bd_safety "$old added no $VIP4 after the heal while $NEW owns it" test -z "$x"
	bd_safety "no overlap so far" test "$(lab_overlap_ms 2>/dev/null)" = 0
}

t_other() {
	local i
	for i in 1 2 3; do
		[ "n$i" = "$1" ] || { echo "n$i"; return 0; }
	done
}

scenario_up

# --- A: the owner is not the etcd raft leader
lead=$(sc_etcd_leader) || lab_fail "cannot tell the etcd raft leader"
if [ "$lead" = "$OWNER" ]; then
	lead=$(t_other "$OWNER")
	sc_etcd_move_leader "$lead" || lab_fail "cannot move the etcd raft leader to $lead"
fi
lab_log "round A: owner $OWNER, etcd raft leader $lead"
t_round "$OWNER"

# --- B: the owner is the etcd raft leader too
lab_etcd_wait_healthy 10 || lab_fail "etcd not healthy after the heal"
sc_etcd_move_leader "$NEW" || lab_fail "cannot move the etcd raft leader to $NEW"
lab_log "round B: owner $NEW, etcd raft leader $(sc_etcd_leader || echo '?')"
t_round "$NEW"

scenario_end
if [ ${#DEFERRED[@]} -gt 0 ]; then
	lab_fail "$(printf '%s; ' "${DEFERRED[@]}")"
fi
