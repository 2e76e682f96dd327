#!/bin/bash
# t_40_same_subnet: the VIP must be an address of the nodes' shared network.
#
#   normal    in the lab as it is (VIP4 198.18.0.100, nodes 198.18.0.1x/24)
#             no node logs the same-subnet warning, and `vipd --check` run
#             inside a node says nothing about it.
#   outside   n1 is given a VIP outside every prefix on its eth0
#             (198.19.0.100; the nodes have 198.18.0.0/24): `vipd --check`
#             in n1 warns, naming the file:line and the link; the daemon
#             logs the warning once at start; an address in 198.19.0.0/24
#             added on eth0 clears it ("now in the subnet", logged within
#             the slack); deleting that address brings the warning back.
#   safety    VIP4 is never held twice (scenario_end).
#
# Fails on main (checked): neither --check nor the daemon says anything
# about the subnet. About 15 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

OUT=198.19.0.100
WARN='vip: not in the subnet of its link'
CLEAR='vip: now in the subnet of its link'

count() { grep -c "$1 vip=$2 " "$LAB_DIR/n1/vipd.log" || true; }
# has_count WHAT ADDR N: n1's log has at least N lines of WHAT for ADDR.
has_count() { [ "$(count "$1" "$2")" -ge "$3" ]; }

scenario_up
for i in 1 2 3; do
	n=$(grep -c "$WARN" "$LAB_DIR/n$i/vipd.log" || true)
	bd_safety "n$i does not warn about the subnet in the normal lab ($n lines)" test "$n" -eq 0
	lab_exec "$i" "$LAB_VIPD" --check -c "$LAB_DIR/n$i/vipd.yaml" >/dev/null 2>"$LAB_DIR/n$i/check.err" ||
		lab_fail "vipd --check rejects n$i's config"
	lab_assert "vipd --check in n$i says nothing about the subnet" \
		eval "! grep -q 'not in the subnet' '$LAB_DIR/n$i/check.err'"
done

# n1 gets a VIP outside its link's prefixes.
lab_vipd_stop 1 || lab_fail "vipd on n1 did not stop"
sed "s/ip: $VIP4\$/ip: $OUT/" "$LAB_DIR/n1/vipd.yaml" >"$LAB_DIR/n1/out.yaml"
grep -q "ip: $OUT" "$LAB_DIR/n1/out.yaml" || lab_fail "could not write n1's config with $OUT"
lab_exec 1 "$LAB_VIPD" --check -c "$LAB_DIR/n1/out.yaml" >/dev/null 2>"$LAB_DIR/n1/check.err" ||
	lab_fail "vipd --check rejects n1's config with $OUT"
line=$(grep -n "ip: $OUT" "$LAB_DIR/n1/out.yaml" | cut -d: -f1)
lab_log "vipd --check in n1: $(grep 'not in the subnet' "$LAB_DIR/n1/check.err" || true)"
lab_assert "vipd --check warns at out.yaml:$line for link eth0" \
	grep -q "out.yaml:$line: warning: vip $OUT is not in the subnet of link eth0 .*addresses: 198.18.0.11/24" "$LAB_DIR/n1/check.err"
cp "$LAB_DIR/n1/out.yaml" "$LAB_DIR/n1/vipd.yaml"
lab_vipd_start 1
lab_wait_until 5 has_count "$WARN" "$OUT" 1 || lab_fail "vipd on n1 did not warn about $OUT within 5 s"
lab_log "n1: $(grep -m1 "$WARN" "$LAB_DIR/n1/vipd.log")"

# An address of 198.19.0.0/24 on eth0 clears it; deleting it brings it back.
t0=$(sc_now_us)
ip -n "$LAB_PREFIX-n1" addr add 198.19.0.11/24 dev eth0
lab_wait_until 5 has_count "$CLEAR" "$OUT" 1 || lab_fail "vipd on n1 did not log that $OUT is now in the subnet"
t1=$(sc_now_us)
bd_timing "address added -> \"now in the subnet\" seen in n1's log" $(((t1 - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (a netlink event, one address dump, the log write; polled every 50 ms)"
ip -n "$LAB_PREFIX-n1" addr del 198.19.0.11/24 dev eth0
lab_wait_until 5 has_count "$WARN" "$OUT" 2 || lab_fail "vipd on n1 did not warn again after the address went"
sleep 1
lab_assert "the warning was logged once per change (2 warnings, 1 clear)" \
	test "$(count "$WARN" "$OUT"):$(count "$CLEAR" "$OUT")" = 2:1

scenario_end
