#!/bin/bash
# t_28_announce_refresh: announcements reach the wire as configured. With
# announce.count 2, interval 50ms and refresh 1s, the owner sends its
# burst at takeover and then re-announces every second: a client whose
# neighbour entry for the VIP was pointed at a wrong MAC is corrected by
# the next refresh, without sending anything itself (IPv4: gratuitous ARP;
# IPv6: unsolicited Neighbour Advertisement with Override). The wrong entry
# is planted just after a logged refresh, so no frame can fix it before the
# test has seen it in place.
#
#   safety  no overlap.
#   timing  each wrong entry is corrected within the refresh period (1 s)
#           + slack (the frame's arrival and the client's update).
set -euo pipefail
. "$(dirname "$0")/scenario.sh" # lab.sh and bounds.sh; the setup is our own

lab_up 3
lab_etcd_up
lab_monitor_start
for i in 1 2 3; do
	lab_vipd_config "$i" --v6
	sed -i 's/^    count: 3$/    count: 2/; s/^    interval: 100ms$/    interval: 50ms\n    refresh: 1s/' "$LAB_DIR/n$i/vipd.yaml"
	grep -q 'refresh: 1s' "$LAB_DIR/n$i/vipd.yaml" || lab_fail "could not set announce.refresh"
	"$LAB_VIPD" --check -c "$LAB_DIR/n$i/vipd.yaml" >/dev/null || lab_fail "config rejected"
	lab_vipd_start "$i"
done
o=$(lab_wait_owner 10) || lab_fail "no owner"
o6=$(lab_wait_owner 10 - "$VIP6") || lab_fail "no owner of $VIP6"
mac=$(lab_exec "${o#n}" cat /sys/class/net/eth0/address)
mac6=$(lab_exec "${o6#n}" cat /sys/class/net/eth0/address)
bogus=02:00:00:00:00:99

# neigh_mac ADDR: the client's neighbour entry's MAC for ADDR ("" if none).
neigh_mac() {
	lab_exec cl ip neigh show "$1" dev eth0 | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'
}
corrected() {
	[ "$(neigh_mac "$1")" = "$2" ]
}

# announced NODE ADDR: how many announcements of ADDR NODE has logged.
announced() {
	grep -cF "announced vip=$2 " "$LAB_DIR/$1/vipd.log" || true
}
more_than() {
	[ "$(announced "$1" "$2")" -gt "$3" ]
}
# The takeover burst (2 frames, 50 ms apart) must be over before a wrong
# entry is planted, or its second frame corrects it at once.
lab_wait_until 5 more_than "$o" "$VIP4" 1 || lab_fail "$o logged no takeover burst for $VIP4"
lab_wait_until 5 more_than "$o6" "$VIP6" 1 || lab_fail "$o6 logged no takeover burst for $VIP6"

# Each wrong entry is planted right after a refresh of its address was
# logged, so the next refresh is about 1 s away and cannot land between the
# planting and the check that it took.
for round in 1 2 3; do
	for a in "$VIP4 $mac $o" "$VIP6 $mac6 $o6"; do
		read -r addr want node <<<"$a"
		n0=$(announced "$node" "$addr")
		lab_wait_until 3 more_than "$node" "$addr" "$n0" || lab_fail "round $round: $node logged no refresh of $addr within 3 s (refresh 1 s)"
		lab_exec cl ip neigh replace "$addr" lladdr "$bogus" dev eth0 nud stale
		t0=$(date +%s%6N)
		lab_assert "round $round: client's entry for $addr points at the wrong MAC" test "$(neigh_mac "$addr")" = "$bogus"
		lab_wait_until 5 corrected "$addr" "$want" || lab_fail "round $round: $addr entry not corrected within 5 s (refresh 1 s): $(neigh_mac "$addr")"
		bd_timing "round $round: $addr entry corrected" $((($(date +%s%6N) - t0) / 1000)) $((1000 + BD_SLACK_MS)) \
			"refresh 1000 + slack $BD_SLACK_MS"
	done
done

# The burst and the refreshes, as logged: 2 at takeover, then one a second.
n=$(grep -c "announced vip=$VIP4" "$LAB_DIR/$o/vipd.log")
lab_log "$o logged $n announcements of $VIP4"
lab_assert "burst plus refreshes were sent (>= 2 + 3)" test "$n" -ge 5
lab_assert_no_overlap "$VIP4" "$VIP6"
lab_log "PASS"
