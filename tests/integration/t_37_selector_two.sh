#!/bin/bash
# t_37_selector_two: a Talos deviceSelector (driver: virtio_net) that
# matches two links on n1 - its lab veth eth0 and a second veth eth1
# (peer eth1p, added by the test), both
# described as virtio NICs by n1's fixture sysfs tree (VIPD_SYSFS,
# lab_sysfs_fixture) - and one link (eth0) on n2 and n3. The rule
# (docs/configuration.md, deviceSelector): several matches are an error
# naming every match, and the node does not campaign; vipd never holds one
# VIP on two links, nor picks one of them.
#
#   safety  n1 never holds the VIP, on any link, and has no election key
#           while it sees two matches, even when no other node is left;
#           never two owners (graceful stops of n2 and n3 in turn).
#   rule    n1's log names both matches (eth0 and eth1).
#   re-evaluated  once eth1 is deleted, n1's selector matches one link:
#           n1 campaigns and takes the VIP (bound: slack - the link event,
#           the campaign and the add are a short chain of wake-ups).
# The client reaches n1 at the end. About 25 s.
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
        vip:
          ip: $VIP4
EOF
		_lab_vipd_yaml "$1" 0 0 | sed -n '/^vipd:/,$p'
	} >"$dir/vipd.yaml"
	"$LAB_VIPD" --check -c "$dir/vipd.yaml" >"$dir/vipd.check" 2>&1 ||
		lab_fail "vipd --check rejects n$1's config: $(cat "$dir/vipd.check")"
}

# n1_keys: n1's keys in the VIP's election (values are node names).
n1_keys() {
	lab_etcdctl 2 get --prefix "/vipd/election/$VIP4/" | awk 'NR % 2 == 0 && $0 == "n1"' | wc -l
}
no_n1_key() { test "$(n1_keys)" = 0; }
n1_never_held() {
	! grep -q " $VIP4/" "$LAB_DIR/n1/addr.mon" && [[ " $(lab_owner "$VIP4") " != *" n1 "* ]]
}
# n1_both_line: the last line of n1's log that names both matches.
n1_both_line() {
	grep -E 'match' "$LAB_DIR/n1/vipd.log" | grep -w eth0 | grep -w eth1 | tail -n1
}
n1_names_both() { test -n "$(n1_both_line)"; }

lab_up 3 --ttl 5
lab_etcd_up
lab_service_up
lab_monitor_start
lab_exec 1 ip link add eth1 type veth peer name eth1p
lab_exec 1 ip link set eth1 up
for i in 1 2 3; do
	if [ "$i" = 1 ]; then
		sysfs=$(lab_sysfs_fixture 1 eth0 0000:00:03.0 eth1 0000:00:04.0)
	else
		sysfs=$(lab_sysfs_fixture "$i" eth0 0000:00:03.0)
	fi
	sel_config "$i"
	lab_vipd_start "$i" --sysfs "$sysfs"
done
a=$(lab_wait_owner 15 - "$VIP4") || lab_fail "no single owner within 15 s of start"
lab_log "owner at start: $a"
bd_safety "the owner is n2 or n3, not n1 (two matches there)" test "$a" != n1
lab_wait_until 5 n1_names_both || lab_fail "n1's log does not name both matches (eth0, eth1) within 5 s"
lab_log "n1: $(n1_both_line)"
bd_safety "n1 has no key in the election (no campaign)" no_n1_key

# Graceful stop of the owner: the other one-match node takes over.
t_stop=$(sc_now_us)
lab_vipd_stop "${a#n}"
b=$(lab_wait_owner 5 "$a" "$VIP4") || lab_fail "$VIP4 did not move within 5 s after $a stopped"
bd_safety "the new owner is not n1" test "$b" != n1
t_add=$(sc_ev_first "$b" add "$t_stop") || lab_fail "no add event of $VIP4 on $b after the stop"
bd_timing "stop of $a -> $b adds $VIP4" $(((t_add - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"

# Stop the last one-match node too: nobody may hold the VIP now; n1 stays
# out for a whole lease TTL and more (it is no candidate at all).
lab_vipd_stop "${b#n}"
lab_wait_no_owner 5 "$VIP4" || lab_fail "$VIP4 still held 5 s after $b stopped"
sleep $((LAB_TTL + 1))
bd_safety "no node holds $VIP4 with n1 the only daemon left" test -z "$(lab_owner "$VIP4")"
bd_safety "n1 still has no key in the election" no_n1_key
bd_safety "n1 never held $VIP4" n1_never_held

# Re-evaluated when a link disappears: one match left, n1 campaigns.
t_del=$(sc_now_us)
lab_exec 1 ip link del eth1
o=$(lab_wait_owner 5 - "$VIP4") || lab_fail "n1 did not take $VIP4 within 5 s after eth1 was deleted"
bd_safety "the owner is n1" test "$o" = n1
lab_assert "$VIP4 is on n1's eth0" test -n "$(ip -n "$LAB_PREFIX-n1" -o addr show dev eth0 | awk -v a="$VIP4" 'index($0, " " a "/")')"
t_add=$(sc_ev_first n1 add "$t_del") || lab_fail "no add event of $VIP4 on n1 after eth1 was deleted"
bd_timing "eth1 deleted -> n1 adds $VIP4" $(((t_add - t_del) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (link event, campaign txn, add)"
scenario_end
