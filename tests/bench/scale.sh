#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# scale.sh - part of scripts/bench: VIPS VIPs (VIP4 and 198.18.2.x,
# 198.18.3.x) in one vipd per node of a 3-node lab, TTL 5 s, one lease per
# node; result lines appended to OUT (format: tests/bench/report.awk).
#
#   scale.sh VIPS IDLE_S PREVOTE OUT [TAG VIPD]
#
# TAG names the build measured when it is not this tree's (VIPD: another
# binary, named vipd, e.g. TAG "before" for the commit before a change): the
# result lines then carry "VIPS/TAG" for VIPS and the footprint label
# vipd-VIPS-vips-TAG, so both builds' rows sit in one table.
#
# Measured:
#   start   from starting the three daemons (at once, etcd healthy) until
#           every VIP is held by exactly one node, ms
#   idle    the footprint over IDLE_S s (bench_idle: RSS, CPU, etcd
#           requests and keepalives per minute, fds, etcd connections)
#   power   from the power loss of the node holding the most VIPs (its
#           etcd member a follower: the raft leader moved off it) until
#           every VIP is held again by exactly one of the two others, ms
#   overlap ms two nodes held the same VIP at once, summed over the VIPs
#           (owners.awk on every node's monitor file, over the whole run)
#   releases  VIPs given up over the whole run ("vip: released" in the
#           logs): the start and the power loss's own, plus any churn (a
#           loaded machine's late keepalives let addresses expire)
# A part that does not converge within 60 s records ">60000(K/N-held)"
# and stops there: that is the figure.
# Run as root, from scripts/bench.
set -euo pipefail
BENCH_HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../integration/scenario.sh
. "$BENCH_HERE/../integration/scenario.sh"
# shellcheck source=lib.sh
. "$BENCH_HERE/lib.sh"

[ $# -eq 4 ] || [ $# -eq 6 ] || {
	echo "usage: scale.sh VIPS IDLE_S PREVOTE OUT [TAG VIPD]" >&2
	exit 2
}
VIPS=$1 IDLE=$2 OUT=$4 TAG=${5:-}
[ -z "${6:-}" ] || LAB_VIPD=$6
export LAB_ETCD_PREVOTE=$3
# vipd.etcd.avoidLeader off, as in the failover table's power-loss rows:
# with VIPs on every node, each node's vipd moves the raft leadership off
# itself, the leadership went back and forth between the two survivors,
# and every move gave every lease (the dead node's too) a fresh TTL (etcd
# 3.4): at 256 VIPs the dead node's VIPs stayed unowned for 52 s and more.
export LAB_AVOID_LEADER=false
BENCH_SYS=vipd
LABEL=vipd-$VIPS-vips${TAG:+-$TAG}
KEY=$VIPS${TAG:+/$TAG} # the first field of the S lines
if [ "$VIPS" -lt 1 ] || [ "$VIPS" -gt 509 ]; then lab_fail "scale.sh: 1..509 VIPs"; fi

# The VIP list: VIP4 first, then 198.18.2.1..254, 198.18.3.1..254.
ADDRS=("$VIP4")
for ((j = 1; j < VIPS; j++)); do
	ADDRS+=("198.18.$((2 + (j - 1) / 254)).$(((j - 1) % 254 + 1))")
done

# held: "TOTAL DISTINCT MOST_NODE MOST_COUNT" (sc_vips_held) now.
held() { sc_vips_held "${ADDRS[@]}"; }
# all_held: every VIP held by exactly one node (a powered-off node holds
# none: lab_power_off flushes its addresses).
all_held() { sc_vips_all_held "${ADDRS[@]}"; }

sc_lab_up 3 --ttl 5
for i in 1 2 3; do
	lab_vipd_config "$i" || lab_fail "vipd config for n$i rejected"
	sc_config_add_vips "$i" "${ADDRS[@]:1}" ||
		lab_fail "vipd --check rejects the $VIPS-VIP config"
done

# released: "vip: released" lines in every node's log so far (a VIP
# given up: lifetime expired, lease lost, stop); 0 once settled.
released() {
	cat "$LAB_DIR"/n*/vipd.log 2>/dev/null | grep -c ' vip: released ' || true
}

t0=$(sc_now_us)
for i in 1 2 3; do lab_vipd_start "$i"; done
if ! lab_wait_until 60 all_held; then
	# Not a failure of the bench: a figure. Nothing after it means much.
	read -r tot _ <<<"$(held)"
	echo "S $KEY start_ms >60000(${tot}/${VIPS}-held) " >>"$OUT"
	lab_log "$LABEL: after 60 s only $tot of $VIPS VIPs held; $(released) releases"
	# the footprint all the same: fds and connections do not need a
	# settled lab (its other figures then include the churn)
	if [ "$IDLE" -gt 0 ]; then bench_idle "$LABEL" "$IDLE" "$OUT"; fi
	echo "S $KEY releases $(released)" >>"$OUT"
	exit 0
fi
t1=$(sc_now_us)
read -r _ _ most mostc <<<"$(held)"
echo "S $KEY start_ms $(((t1 - t0) / 1000))" >>"$OUT"
lab_log "$LABEL: all $VIPS VIPs held $(((t1 - t0) / 1000)) ms after the start; $most holds $mostc"

if [ "$IDLE" -gt 0 ]; then
	sleep 5 # the start's last writes and watches settle
	bench_idle "$LABEL" "$IDLE" "$OUT"
fi

read -r _ _ most mostc <<<"$(held)"
# its etcd member a follower, as in the failover table's power-loss row
if [ "$(sc_etcd_leader || true)" = "$most" ]; then
	sc_etcd_move_leader "n$((${most#n} % 3 + 1))" >/dev/null 2>&1 || lab_log "cannot move the etcd leader off $most"
fi
t0=$(sc_now_us)
lab_power_off "${most#n}" || true
if lab_wait_until 60 all_held; then
	t1=$(sc_now_us)
	echo "S $KEY power_ms $(((t1 - t0) / 1000)) $most $mostc" >>"$OUT"
	lab_log "$LABEL: all $VIPS VIPs held again $(((t1 - t0) / 1000)) ms after $most (holding $mostc) lost power"
else
	read -r tot _ <<<"$(held)"
	echo "S $KEY power_ms >60000(${tot}/${VIPS}-held) $most $mostc" >>"$OUT"
	lab_log "$LABEL: 60 s after $most's power loss only $tot of $VIPS VIPs held"
fi
echo "S $KEY releases $(released)" >>"$OUT"

ov=0
for a in "${ADDRS[@]}"; do
	v=$(lab_overlap_ms "$a" 2>/dev/null) || v=0
	ov=$((ov + v))
done
echo "S $KEY overlap_ms $ov" >>"$OUT"
lab_log "$LABEL: overlap summed over the VIPs: $ov ms"
