#!/bin/bash
# t_36_selector_one: the VIP's link chosen by a Talos deviceSelector
# (driver, pciID and busPath, read from sysfs) that matches exactly one
# link on each node. Each vipd reads a fixture sysfs tree (VIPD_SYSFS,
# lab_sysfs_fixture) that describes the node's real veth eth0 as a virtio
# NIC at PCI 0000:00:03.0; a second veth eth1 beside it (peer eth1p),
# described as no device, must not be chosen.
#
#   safety  the VIP is only ever on eth0 of its owner; never held twice
#           (graceful stop, then SIGKILL of the next owner).
#   timing  a new owner within the slack of the graceful stop; within the
#           lease bound (bd_lease_takeover) of the SIGKILL.
# The client reaches the owner at the end. About 20 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

# sel_config ID: node ID's vipd.yaml: the VIP on the deviceSelector, the
# daemon settings as lab_vipd_config writes them.
sel_config() {
	local dir=$LAB_DIR/n$1
	{
		cat <<EOF
machine:
  network:
    interfaces:
      - deviceSelector:
          driver: virtio_net
          pciID: "1af4:1000"
          busPath: "0000:00:0*"
        vip:
          ip: $VIP4
EOF
		_lab_vipd_yaml "$1" 0 0 | sed -n '/^vipd:/,$p'
	} >"$dir/vipd.yaml"
	"$LAB_VIPD" --check -c "$dir/vipd.yaml" >"$dir/vipd.check" 2>&1 ||
		lab_fail "vipd --check rejects n$1's config: $(cat "$dir/vipd.check")"
}

lab_up 3 --ttl 5
lab_etcd_up
lab_service_up
lab_monitor_start
for i in 1 2 3; do
	lab_exec "$i" ip link add eth1 type veth peer name eth1p
	lab_exec "$i" ip link set eth1 up
	sysfs=$(lab_sysfs_fixture "$i" eth0 0000:00:03.0)
	sel_config "$i"
	lab_vipd_start "$i" --sysfs "$sysfs"
done
old=$(lab_wait_owner 15 - "$VIP4") || lab_fail "no single owner within 15 s of start"
lab_log "owner at start: $old"
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
bd_safety "$VIP4 is on eth0 of $old (the one link the selector matches)" on_eth0 "$old"

# Graceful stop: the next candidate takes over at once.
t_stop=$(sc_now_us)
lab_vipd_stop "${old#n}"
new=$(lab_wait_owner 5 "$old" "$VIP4") || lab_fail "$VIP4 did not move within 5 s after $old stopped"
t_add=$(sc_ev_first "$new" add "$t_stop") || lab_fail "no add event of $VIP4 on $new after the stop"
bd_timing "stop of $old -> $new adds $VIP4" $(((t_add - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"
bd_safety "$VIP4 is on eth0 of $new" on_eth0 "$new"

# SIGKILL of the new owner: the last node takes over after the lease.
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
