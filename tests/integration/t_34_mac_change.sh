#!/bin/bash
# t_34_mac_change: the MAC of the owner's VIP link changes while it holds
# the VIP. vipd sends its announcement burst again at once (gratuitous ARP,
# unsolicited NA with Override), so the client's existing neighbour entry
# follows the new MAC. The kernel's own announcements are off
# (arp_notify=0, ndisc_notify=0, also in "all", which the kernel ORs in),
# so only vipd's can move it; without them the client keeps the old MAC
# until its entry goes stale and is probed again (tens of seconds).
#
# Each node carries VIP4 and VIP6 on vip0, a macvlan on eth0 with its own
# MAC (changing eth0's MAC would also cut the node's etcd peers off until
# their neighbour entries for the node expire). arp_ignore=1 in the nodes:
# only vip0 answers ARP for the VIP (else eth0 answers too, with its own
# MAC: "ARP flux").
#
#   safety  no overlap of either VIP.
#   timing  MAC changed -> the client's neighbour entry has the new MAC:
#           the link event, one announcement (vipd sends the first of the
#           burst on the event itself), the client's ARP/NDISC input:
#           100 ms + the slack; polled every few ms.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

lab_up 3
for i in 1 2 3; do
	lab_exec "$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_notify=0 \
		net.ipv4.conf.eth0.arp_notify=0 net.ipv6.conf.all.ndisc_notify=0 >/dev/null
	lab_macvlan_add "$i" vip0 "$(printf '02:00:00:00:01:%02x' $((10 + i)))" || lab_fail "no macvlan on n$i"
done
lab_etcd_up
lab_service_up
lab_monitor_start
for i in 1 2 3; do
	lab_vipd_config "$i" --v6 || lab_fail "vipd config for n$i rejected"
	sed -i 's/interface: eth0/interface: vip0/' "$LAB_DIR/n$i/vipd.yaml"
	lab_vipd_start "$i"
done
o4=$(lab_wait_owner 10 - "$VIP4") || lab_fail "no single owner of $VIP4"
o6=$(lab_wait_owner 10 - "$VIP6") || lab_fail "no single owner of $VIP6"
lab_log "owners: $VIP4 on $o4, $VIP6 on $o6"

# client_mac ADDR: the MAC the client's neighbour entry for ADDR holds.
client_mac() {
	ip -n "$LAB_PREFIX-cl" neigh show "$1" dev eth0 |
		awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'
}
vip0_mac() { lab_exec "$1" cat /sys/class/net/vip0/address; }

seq=0
for fam in v4 v6; do
	if [ $fam = v4 ]; then addr=$VIP4 o=$o4; else addr=$VIP6 o=$o6; fi
	got=$(lab_client_reach "${fam#v4}") || lab_fail "client cannot reach $addr"
	lab_assert "client reaches $addr on $o" test "$got" = "$o"
	old=$(vip0_mac "$o")
	lab_assert "the client's entry for $addr is $o's vip0 ($old)" test "$(client_mac "$addr")" = "$old"
	# Past the acquisition's burst (3 x 100 ms): a packet of it sent after
	# the change would carry the new MAC, with or without this feature.
	sleep 1
	seq=$((seq + 1))
	new=$(printf '02:00:00:00:02:%02x' "$seq")
	t0=$(sc_now_us)
	lab_exec "$o" ip link set vip0 address "$new"
	t1=
	for ((k = 0; k < 2000; k++)); do
		if [ "$(client_mac "$addr")" = "$new" ]; then
			t1=$(sc_now_us)
			break
		fi
		[ $(((${EPOCHREALTIME/./} - t0) / 1000)) -lt 5000 ] || break
		sleep 0.002
	done
	[ -n "$t1" ] || lab_fail "the client's entry for $addr still has $(client_mac "$addr") 5 s after $o's vip0 became $new"
	bd_timing "$o's vip0 MAC changed -> the client's entry for $addr has it" $(((t1 - t0) / 1000)) \
		$((100 + BD_SLACK_MS)) "100 ms (link event, the burst's first announcement, the client's input) + slack $BD_SLACK_MS"
	lab_assert "$o logged the MAC change of $addr's link" \
		grep -q "link MAC changed vip=$addr link=vip0; announcing again" "$LAB_DIR/$o/vipd.log"
	got=$(lab_client_reach "${fam#v4}") || lab_fail "client cannot reach $addr after the MAC change"
	lab_assert "client still reaches $addr on $o" test "$got" = "$o"
	lab_assert "$o still holds $addr" test "$(lab_owner "$addr")" = "$o"
done
lab_assert_no_overlap "$VIP4" "$VIP6"
lab_log "PASS"
