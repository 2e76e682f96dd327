#!/bin/bash
# t_31_vlan: a VIP on VLAN 100 (legacy machine.network.interfaces[].vlans)
# over each node's eth0, where the VLAN link is called vlan100, not
# eth0.100: vipd finds it by parent and VLAN id. The client sits on VLAN
# 100 too (its own vlan100) and follows the VIP through a graceful stop
# and a SIGKILL.
#
#   safety  the VIP only ever on vlan100; no overlap.
#   timing  graceful stop -> next owner adds: the slack; SIGKILL -> next
#           owner adds: the lease bound (bd_lease_takeover).
# Skipped (77) on a kernel without 802.1Q (CONFIG_VLAN_8021Q); tests/run-all
# then runs it in a VM whose kernel has it (tests/vm/run), by this line:
# needs-kernel: vlan
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

VIPV=198.18.100.100

# vlan_config ID: node ID's vipd.yaml: VIPV on VLAN 100 of eth0.
vlan_config() {
	local dir=$LAB_DIR/n$1
	{
		cat <<EOF2
machine:
  network:
    interfaces:
      - interface: eth0
        vlans:
          - vlanId: 100
            vip:
              ip: $VIPV
EOF2
		_lab_vipd_yaml "$1" 0 0 | sed -n '/^vipd:/,$p'
	} >"$dir/vipd.yaml"
	"$LAB_VIPD" --check -c "$dir/vipd.yaml" >"$dir/vipd.check" 2>&1 ||
		lab_fail "vipd --check rejects n$1's config: $(cat "$dir/vipd.check")"
}
# on_vlan NODE: VIPV is on NODE's vlan100 (grep without -q: see t_32's
# on_link).
on_vlan() { lab_exec "$1" ip -o addr show dev vlan100 | grep " $VIPV/" >/dev/null; }
# client_reaches NODE: the client on VLAN 100 reaches NODE through VIPV.
client_reaches() { [ "$(lab_reach cl "$VIPV" 2>/dev/null)" = "$1" ]; }

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
	vlan_config "$i"
	lab_vipd_start "$i"
done
old=$(lab_wait_owner 10 - "$VIPV") || lab_fail "no single owner of $VIPV within 10 s"
bd_safety "$VIPV is on vlan100 of $old" on_vlan "$old"
lab_assert "$old logged where $VIPV lives" grep -q "links: vip=$VIPV is on link=vlan100 " "$LAB_DIR/$old/vipd.log"
got=$(lab_reach cl "$VIPV") || lab_fail "the client cannot reach $VIPV"
lab_assert "the client on VLAN 100 reaches $old" test "$got" = "$old"

t_stop=$(sc_now_us)
lab_vipd_stop "${old#n}"
new=$(lab_wait_owner 5 "$old" "$VIPV") || lab_fail "$VIPV did not move within 5 s after $old stopped"
t_add=$(sc_mon_events "$new" "$VIPV" | awk -v t="$t_stop" 'NF && $2 == "add" && $1 >= t { print $1; exit }')
[ -n "$t_add" ] || lab_fail "no add event of $VIPV on $new"
bd_timing "stop of $old -> $new adds $VIPV" $(((t_add - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"
bd_safety "$VIPV is on vlan100 of $new" on_vlan "$new"
lab_assert "the client follows to $new" lab_wait_until 3 client_reaches "$new"

t_kill=$(sc_now_us)
lab_vipd_kill "$new" || lab_fail "cannot SIGKILL vipd on $new"
last=$(lab_wait_owner $((LAB_TTL + 8)) "$new" "$VIPV") || lab_fail "no new owner of $VIPV within TTL + 8 s of the kill"
t_seen=$(sc_now_us)
t_add=$(sc_mon_events "$last" "$VIPV" | awk -v t="$t_kill" 'NF && $2 == "add" && $1 >= t { print $1; exit }')
[ -n "$t_add" ] || lab_fail "no add event of $VIPV on $last"
read -r bound why <<<"$(bd_lease_takeover "$t_kill" "$t_seen")"
bd_timing "SIGKILL of $new -> $last adds $VIPV" $(((t_add - t_kill) / 1000)) "$bound" "$why"
bd_safety "$VIPV is on vlan100 of $last" on_vlan "$last"
lab_assert "the client follows to $last" lab_wait_until 3 client_reaches "$last"
lab_assert_no_overlap "$VIPV"
lab_log "PASS"
