#!/bin/bash
# t_33_three_vips: one daemon per node with three VIPs - VIP4 and VIP6 on
# eth0, VIPV (IPv4) on VLAN 100 of eth0 (the link called vlan100) - three
# elections on the node's one lease. Each VIP has one owner, the client
# reaches each (VIPV from its own vlan100); a graceful stop of VIPV's
# owner moves every VIP that node held, and only those.
#
#   safety  no overlap of any of the three; VIPV only on vlan100.
#   timing  stop -> next owner adds VIPV: the slack.
# Skipped (77) on a kernel without 802.1Q (CONFIG_VLAN_8021Q); tests/run-all
# then runs it in a VM whose kernel has it (tests/vm/run), by this line:
# needs-kernel: vlan
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

VIPV=198.18.100.100

three_config() {
	local dir=$LAB_DIR/n$1
	{
		cat <<EOF2
machine:
  network:
    interfaces:
      - interface: eth0
        vip:
          ip: $VIP4
        vlans:
          - vlanId: 100
            vip:
              ip: $VIPV
      - interface: eth0
        vip:
          ip: $VIP6
EOF2
		_lab_vipd_yaml "$1" 0 0 | sed -n '/^vipd:/,$p'
	} >"$dir/vipd.yaml"
	"$LAB_VIPD" --check -c "$dir/vipd.yaml" >"$dir/vipd.check" 2>&1 ||
		lab_fail "vipd --check rejects n$1's config: $(cat "$dir/vipd.check")"
}
client_reaches() { [ "$(lab_reach cl "$1" 2>/dev/null)" = "$2" ]; }

lab_up 3
lab_vlan_supported || lab_skip "this kernel makes no VLAN links (CONFIG_VLAN_8021Q is off)"
for i in 1 2 3; do
	lab_vlan_add "$i" 100 vlan100 "198.18.100.$((10 + i))" || lab_fail "no vlan100 on n$i"
done
lab_vlan_add cl 100 vlan100 198.18.100.5 || lab_fail "no vlan100 on the client"
lab_etcd_up
lab_service_up
lab_monitor_start
for i in 1 2 3; do
	three_config "$i"
	lab_vipd_start "$i"
done
declare -A own
for a in "$VIP4" "$VIP6" "$VIPV"; do
	own[$a]=$(lab_wait_owner 10 - "$a") || lab_fail "no single owner of $a within 10 s"
	lab_assert "the client reaches $a on ${own[$a]}" lab_wait_until 3 client_reaches "$a" "${own[$a]}"
done
lab_log "owners: $VIP4 on ${own[$VIP4]}, $VIP6 on ${own[$VIP6]}, $VIPV on ${own[$VIPV]}"
lab_assert "$VIPV is on vlan100 of ${own[$VIPV]}" \
	bash -c "ip -n '$LAB_PREFIX-${own[$VIPV]}' -o addr show dev vlan100 | grep -q ' $VIPV/'"
# (The peers' MAC keys, <election>.mac/<lease>, sit beside the elections.)
keys=$(lab_etcdctl 1 get --prefix --keys-only /vipd/election/ | grep -v '^$' | grep -v '\.mac/')
lab_assert "9 election keys (3 VIPs x 3 nodes)" test "$(wc -l <<<"$keys")" = 9
lab_assert "3 leases: one per daemon, shared by its three VIPs" test "$(sed 's|.*/||' <<<"$keys" | sort -u | wc -l)" = 3

o=${own[$VIPV]}
t_stop=$(sc_now_us)
lab_vipd_stop "${o#n}"
for a in "$VIP4" "$VIP6" "$VIPV"; do
	if [ "${own[$a]}" = "$o" ]; then
		n=$(lab_wait_owner 5 "$o" "$a") || lab_fail "$a did not move within 5 s after $o stopped"
	else
		n=$(lab_wait_owner 5 - "$a") || lab_fail "no single owner of $a after $o stopped"
		lab_assert "$a stayed on ${own[$a]}" test "$n" = "${own[$a]}"
		dels=$(sc_mon_events "${own[$a]}" "$a" | awk -v t="$t_stop" 'NF && $1 >= t && $2 == "del"' | wc -l)
		bd_safety "$a was not touched on ${own[$a]}" test "$dels" = 0
	fi
	if [ "$a" = "$VIPV" ]; then
		t_add=$(sc_mon_events "$n" "$a" | awk -v t="$t_stop" 'NF && $2 == "add" && $1 >= t { print $1; exit }')
		[ -n "$t_add" ] || lab_fail "no add event of $a on $n"
		bd_timing "stop of $o -> $n adds $a" $(((t_add - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"
	fi
	lab_assert "the client reaches $a on $n" lab_wait_until 3 client_reaches "$a" "$n"
done
lab_assert "nothing left on $o" test -z "$(lab_exec "$o" ip -o addr show | grep -E " ($VIP4|$VIP6|$VIPV)/")"
lab_assert_no_overlap "$VIP4" "$VIP6" "$VIPV"
lab_log "PASS"
