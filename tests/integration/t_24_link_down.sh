#!/bin/bash
# t_24_link_down: the VIP's link. Each node carries the VIP on its own
# link vip0, one end of a veth pair inside the node (etcd keeps using
# eth0, so only the VIP's link fails):
#  - link down on the owner: it releases the VIP and stands aside (resigns
#    from the election), another node takes the VIP;
#  - link up again: it is a candidate again, at the back of the queue;
#  - link absent at start: vipd waits for it (logged), does not exit, and
#    becomes a candidate once the link appears;
#  - link deleted under the owner: the same as down, and when a link of that
#    name comes back, a candidate again.
#
#   safety  no overlap.
#   timing  each move (link down, link deleted -> the next owner adds the
#           VIP) is a netlink event, a delete, a resign, a watch event and
#           an add: no TTL involved, so the slack; from the monitor files.
set -euo pipefail
. "$(dirname "$0")/scenario.sh" # lab.sh, bounds.sh and the sc_ helpers; the setup is our own

lab_up 3
lab_etcd_up
lab_monitor_start
name=/vipd/election/$VIP4
for i in 1 2 3; do
	lab_vipd_config "$i"
	sed -i 's/interface: eth0/interface: vip0/' "$LAB_DIR/n$i/vipd.yaml"
done
# add_vip_link ID: vip0 (with its peer vip0p, both up: a veth has carrier
# only when both ends are up) in node ID.
add_vip_link() {
	lab_exec "$1" ip link add vip0 type veth peer name vip0p
	lab_exec "$1" ip link set vip0p up
	lab_exec "$1" ip link set vip0 up
}
for i in 1 2; do add_vip_link "$i"; done

# node 3 starts without its link
for i in 1 2 3; do lab_vipd_start "$i"; done
owner=$(lab_wait_owner 10) || lab_fail "no owner"
lab_log "owner: $owner"
lab_assert "the VIP is on vip0" test -n "$(lab_exec "${owner#n}" ip -o addr show dev vip0 | grep " $VIP4/32 ")"
lab_wait_until 3 grep -q 'waiting for the link vip=198.18.0.100: link vip0 not found' "$LAB_DIR/n3/vipd.log" ||
	lab_fail "n3 did not say it waits for vip0"
lab_assert "n3's vipd still runs" lab_pid 3 vipd
candidates() { lab_etcdctl 1 get --prefix --print-value-only "$name/" | sort | tr '\n' ' '; }
candidates_are() { [ "$(candidates)" = "$1" ]; }
# n2 may still be committing its key as the first owner adds the VIP.
lab_wait_until 5 candidates_are "n1 n2 " ||
	lab_fail "not exactly n1 and n2 as candidates while n3 lacks its link (candidates: $(candidates))"

add_vip_link 3
lab_wait_until 3 candidates_are "n1 n2 n3 " || lab_fail "n3 did not become a candidate once vip0 appeared (candidates: $(candidates))"
lab_log "n3 became a candidate when its link appeared"

# link down on the owner
t0=$(sc_now_us)
lab_exec "${owner#n}" ip link set vip0 down
new=$(lab_wait_owner 5 "$owner") || lab_fail "no new owner within 5 s of $owner's link going down"
t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "no add event on $new"
bd_timing "$owner's link down -> $new adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (netlink event, delete, resign, watch event, add)"
lab_assert "$owner logged standing aside" grep -q 'standing aside vip=198.18.0.100 reason="link down"' "$LAB_DIR/$owner/vipd.log"
lab_assert "$owner is no candidate while its link is down" \
	test "$(lab_etcdctl 1 get --prefix --print-value-only "$name/" | grep -cx "$owner")" = 0

# link up again: a candidate again, the owner stays
lab_exec "${owner#n}" ip link set vip0 up
lab_wait_until 3 sc_one_key "$owner" ||
	lab_fail "$owner did not campaign again after its link came back"
sleep 1
lab_assert "$new still owns the VIP" test "$(lab_owner)" = "$new"
# the owner's link deleted
t0=$(sc_now_us)
lab_exec "${new#n}" ip link del vip0
third=$(lab_wait_owner 5 "$new") || lab_fail "no new owner within 5 s of $new's link being deleted"
t_add=$(sc_ev_first "$third" add "$t0") || lab_fail "no add event on $third"
bd_timing "$new's link deleted -> $third adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (netlink event, resign, watch event, add)"
lab_assert "$new logged the link gone" grep -q 'link gone vip=198.18.0.100 link=vip0' "$LAB_DIR/$new/vipd.log"
add_vip_link "${new#n}"
lab_wait_until 3 sc_one_key "$new" ||
	lab_fail "$new did not campaign again once vip0 was back"
lab_assert "$third still owns the VIP" test "$(lab_owner)" = "$third"
lab_assert_no_overlap "$VIP4"
lab_log "PASS"
