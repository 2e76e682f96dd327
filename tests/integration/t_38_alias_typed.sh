#!/bin/bash
# t_38_alias_typed: a Talos 1.12 machine-config stream - the machine
# document (with vipd's section), a LinkAliasConfig "mgmt" whose CEL
# selector picks the virtio NIC at PCI 0000:00:03.* and a Layer2VIPConfig
# on "mgmt". Each vipd reads a fixture sysfs tree (VIPD_SYSFS,
# lab_sysfs_fixture) that describes its real veth eth0 as that NIC. The
# selector names every veth too (link.kind == "veth"): eth0, and a second
# veth pair eth1/eth1p the test adds; but eth1 and eth1p are not physical
# (no device link in the fixture), and Talos aliases physical links only:
# without that rule the fixed alias would match three links, and no node
# would hold the VIP.
#
#   safety  the VIP is only ever on eth0 of its owner; never held twice
#           (graceful stop, then SIGKILL of the next owner).
#   timing  a new owner within the slack of the graceful stop; within the
#           lease bound (bd_lease_takeover) of the SIGKILL.
# The client reaches the owner at the end. About 20 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

# typed_config ID: node ID's vipd.yaml, a Talos 1.12 stream.
typed_config() {
	local dir=$LAB_DIR/n$1
	{
		echo "version: v1alpha1"
		echo "machine:"
		echo "  type: controlplane"
		_lab_vipd_yaml "$1" 0 0 | sed -n '/^vipd:/,$p'
		cat <<EOF
---
apiVersion: v1alpha1
kind: LinkAliasConfig
name: mgmt
selector:
  match: link.type == "ether" && (glob("0000:00:03.*", link.bus_path) && link.pci_id == "1AF4:1000" || link.kind == "veth")
---
apiVersion: v1alpha1
kind: Layer2VIPConfig
name: $VIP4
link: mgmt
EOF
	} >"$dir/vipd.yaml"
	"$LAB_VIPD" --check -c "$dir/vipd.yaml" >"$dir/vipd.check" 2>&1 ||
		lab_fail "vipd --check rejects n$1's config: $(cat "$dir/vipd.check")"
}

# on_eth0 NODE: eth0 of NODE holds the VIP (output read whole: grep -q
# would close the pipe early, and pipefail would count ip's SIGPIPE).
on_eth0() { [[ $(lab_exec "$1" ip -o addr show dev eth0) == *" $VIP4/"* ]]; }
# never_on_eth1 NODE: eth1 of NODE does not hold the VIP now, and never
# did (the monitor file names a node's links by index: "<index>: <name>").
never_on_eth1() {
	local idx
	idx=$(lab_exec "$1" cat /sys/class/net/eth1/ifindex) || return 1
	[[ $(lab_exec "$1" ip -o addr show dev eth1) != *" $VIP4/"* ]] &&
		[[ $(awk -v i="$idx:" '$2 == i || $3 == i' "$LAB_DIR/$1/addr.mon") != *" $VIP4/"* ]]
}

lab_up 3 --ttl 5
lab_etcd_up
lab_service_up
lab_monitor_start
for i in 1 2 3; do
	lab_exec "$i" ip link add eth1 type veth peer name eth1p
	lab_exec "$i" ip link set eth1 up
	sysfs=$(lab_sysfs_fixture "$i" eth0 0000:00:03.0)
	typed_config "$i"
	lab_vipd_start "$i" --sysfs "$sysfs"
done
old=$(lab_wait_owner 15 - "$VIP4") || lab_fail "no single owner within 15 s of start"
lab_log "owner at start: $old"
bd_safety "$VIP4 is on eth0 of $old (the link aliased mgmt)" on_eth0 "$old"

t_stop=$(sc_now_us)
lab_vipd_stop "${old#n}"
new=$(lab_wait_owner 5 "$old" "$VIP4") || lab_fail "$VIP4 did not move within 5 s after $old stopped"
t_add=$(sc_ev_first "$new" add "$t_stop") || lab_fail "no add event of $VIP4 on $new after the stop"
bd_timing "stop of $old -> $new adds $VIP4" $(((t_add - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"
bd_safety "$VIP4 is on eth0 of $new" on_eth0 "$new"

t_kill=$(sc_now_us)
lab_vipd_kill "$new" || lab_fail "cannot SIGKILL vipd on $new"
last=$(lab_wait_owner $((LAB_TTL + 8)) "$new" "$VIP4") || lab_fail "no new owner within TTL + 8 s of the kill"
t_seen=$(sc_now_us)
t_add=$(sc_ev_first "$last" add "$t_kill") || lab_fail "no add event of $VIP4 on $last after the kill"
read -r bound why <<<"$(bd_lease_takeover "$t_kill" "$t_seen")"
bd_timing "SIGKILL of $new -> $last adds $VIP4" $(((t_add - t_kill) / 1000)) "$bound" "$why"
bd_safety "$VIP4 is on eth0 of $last" on_eth0 "$last"
for i in 1 2 3; do
	bd_safety "n$i never had $VIP4 on eth1" never_on_eth1 "n$i"
done
scenario_end
