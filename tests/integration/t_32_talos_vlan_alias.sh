#!/bin/bash
# t_32_talos_vlan_alias: a Talos 1.12 machine-config stream: a
# LinkAliasConfig "mgmt" whose CEL selector picks the virtio NIC at PCI
# 0000:00:03.* (each node's eth0, described so by a fixture sysfs tree,
# lab_sysfs_fixture), a VLANConfig "mgmt.100" (VLAN 100 on the alias), and
# two Layer2VIPConfig: VIP4 on the alias, VIPV on the VLANConfig. The
# nodes' VLAN links are called vlan100, not mgmt.100: vipd finds them by
# parent (the alias's link) and VLAN id. Both VIPs are acquired and fail
# over (graceful stop, then SIGKILL).
#
#   safety  VIP4 only on eth0, VIPV only on vlan100; no overlap of either.
#   timing  stop -> next owner adds: the slack; SIGKILL: the lease bound.
# Skipped (77) on a kernel without 802.1Q (CONFIG_VLAN_8021Q); tests/run-all
# then runs it in a VM whose kernel has it (tests/vm/run), by this line:
# needs-kernel: vlan
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

VIPV=198.18.100.100

# typed_config ID: node ID's vipd.yaml, a Talos 1.12 stream.
typed_config() {
	local dir=$LAB_DIR/n$1
	{
		echo "version: v1alpha1"
		echo "machine:"
		echo "  type: controlplane"
		_lab_vipd_yaml "$1" 0 0 | sed -n '/^vipd:/,$p'
		cat <<EOF2
---
apiVersion: v1alpha1
kind: LinkAliasConfig
name: mgmt
selector:
  match: glob("0000:00:03.*", link.bus_path) && link.pci_id == "1AF4:1000"
---
apiVersion: v1alpha1
kind: VLANConfig
name: mgmt.100
vlanID: 100
parent: mgmt
---
apiVersion: v1alpha1
kind: Layer2VIPConfig
name: $VIP4
link: mgmt
---
apiVersion: v1alpha1
kind: Layer2VIPConfig
name: $VIPV
link: mgmt.100
EOF2
	} >"$dir/vipd.yaml"
	"$LAB_VIPD" --check -c "$dir/vipd.yaml" >"$dir/vipd.check" 2>&1 ||
		lab_fail "vipd --check rejects n$1's config: $(cat "$dir/vipd.check")"
}
# on_link NODE LINK ADDR: ADDR is on LINK of NODE. grep reads all of ip's
# output (no -q): ip flushes each line, and grep -q leaving at the first
# match would make ip's next line a SIGPIPE, which pipefail counts.
on_link() { lab_exec "$1" ip -o addr show dev "$2" | grep " $3/" >/dev/null; }
client_reaches() { [ "$(lab_reach cl "$1" 2>/dev/null)" = "$2" ]; }
# first_add NODE ADDR SINCE_US: NODE's first add event of ADDR since then.
first_add() {
	sc_mon_events "$1" "$2" | awk -v t="$3" 'NF && $2 == "add" && $1 >= t { print $1; exit }'
}

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
	sysfs=$(lab_sysfs_fixture "$i" eth0 0000:00:03.0)
	typed_config "$i"
	lab_vipd_start "$i" --sysfs "$sysfs"
done
o4=$(lab_wait_owner 15 - "$VIP4") || lab_fail "no single owner of $VIP4 within 15 s"
ov=$(lab_wait_owner 15 - "$VIPV") || lab_fail "no single owner of $VIPV within 15 s"
lab_log "owners: $VIP4 on $o4 (alias mgmt), $VIPV on $ov (VLANConfig mgmt.100)"
bd_safety "$VIP4 is on eth0 of $o4" on_link "$o4" eth0 "$VIP4"
bd_safety "$VIPV is on vlan100 of $ov" on_link "$ov" vlan100 "$VIPV"
lab_assert "the client reaches $VIP4 on $o4" client_reaches "$VIP4" "$o4"
lab_assert "the client on VLAN 100 reaches $VIPV on $ov" client_reaches "$VIPV" "$ov"

# Graceful stop of VIPV's owner: VIPV (and VIP4, if it held it too) move.
t_stop=$(sc_now_us)
lab_vipd_stop "${ov#n}"
nv=$(lab_wait_owner 5 "$ov" "$VIPV") || lab_fail "$VIPV did not move within 5 s after $ov stopped"
t_add=$(first_add "$nv" "$VIPV" "$t_stop")
[ -n "$t_add" ] || lab_fail "no add event of $VIPV on $nv"
bd_timing "stop of $ov -> $nv adds $VIPV" $(((t_add - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"
bd_safety "$VIPV is on vlan100 of $nv" on_link "$nv" vlan100 "$VIPV"
lab_assert "the client follows $VIPV to $nv" lab_wait_until 3 client_reaches "$VIPV" "$nv"
n4=$(lab_wait_owner 5 "$ov" "$VIP4") || lab_fail "no single owner of $VIP4 after $ov stopped"

# SIGKILL of VIP4's owner now.
t_kill=$(sc_now_us)
lab_vipd_kill "$n4" || lab_fail "cannot SIGKILL vipd on $n4"
l4=$(lab_wait_owner $((LAB_TTL + 8)) "$n4" "$VIP4") || lab_fail "no new owner of $VIP4 within TTL + 8 s of the kill"
t_seen=$(sc_now_us)
t_add=$(first_add "$l4" "$VIP4" "$t_kill")
[ -n "$t_add" ] || lab_fail "no add event of $VIP4 on $l4"
read -r bound why <<<"$(bd_lease_takeover "$t_kill" "$t_seen")"
bd_timing "SIGKILL of $n4 -> $l4 adds $VIP4" $(((t_add - t_kill) / 1000)) "$bound" "$why"
bd_safety "$VIP4 is on eth0 of $l4" on_link "$l4" eth0 "$VIP4"
lv=$(lab_wait_owner $((LAB_TTL + 8)) - "$VIPV") || lab_fail "no single owner of $VIPV at the end"
bd_safety "$VIPV is on vlan100 of $lv" on_link "$lv" vlan100 "$VIPV"
lab_assert "the client reaches $VIP4 on $l4" lab_wait_until 3 client_reaches "$VIP4" "$l4"
lab_assert "the client reaches $VIPV on $lv" lab_wait_until 3 client_reaches "$VIPV" "$lv"
lab_assert_no_overlap "$VIP4" "$VIPV"
lab_log "PASS"
