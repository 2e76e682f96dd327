#!/bin/bash
# t_35_rename: the owner's VIP link is renamed (eth0 -> lan0) while it holds
# the VIP. The link keeps its ifindex and its addresses; vipd's links
# module keeps the VIP on that ifindex, so the address is never deleted,
# its lifetime goes on being refreshed on the renamed link, and the key
# stays: no failover. A graceful stop afterwards deletes it from lan0 and
# the VIP moves as usual. Then eth0 becomes an altname of lan0, and the
# restarted vipd finds its link by it and campaigns again.
#
#   safety  no Deleted event of the VIP on the owner between the rename
#           and the stop; no overlap.
#   timing  stop -> the next owner adds the VIP: the slack, as t_11.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
o=$OWNER
t0=$(sc_now_us)
lab_exec "$o" ip link set eth0 name lan0
lab_log "$o: eth0 renamed lan0"
# Two lifetime refreshes (one every TTL/4) on the renamed link.
sleep 3
dels=$(sc_ev "$o" del "$t0" | grep -c . || true)
bd_safety "no Deleted event of $VIP4 on $o since the rename" test "$dels" = 0
lab_assert "$o logged the rename" grep -q "link renamed vip=$VIP4 ifindex=[0-9]* from=eth0 to=lan0 (address kept)" \
	"$LAB_DIR/$o/vipd.log"
lab_assert "$o still holds $VIP4" test "$(lab_owner)" = "$o"
lab_assert "$VIP4 is on $o's lan0" bash -c "ip -n '$LAB_PREFIX-$o' -o addr show dev lan0 | grep -q ' $VIP4/'"
adds=$(sc_ev "$o" add "$t0" | grep -c . || true)
lab_assert "the lifetime was refreshed on lan0 since the rename ($adds adds)" test "$adds" -ge 1
lab_assert "$o logged no release" bash -c "! grep -q 'vip: released vip=$VIP4' '$LAB_DIR/$o/vipd.log'"

t_stop=$(sc_now_us)
lab_vipd_stop "$o"
n=$(lab_wait_owner 5 "$o") || lab_fail "$VIP4 did not move within 5 s after $o stopped"
t_add=$(sc_ev_first "$n" add "$t_stop") || lab_fail "no add event on $n after the stop"
bd_timing "stop of $o -> $n adds $VIP4" $(((t_add - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"
lab_assert "nothing left on $o's lan0" test -z "$(lab_exec "$o" ip -o addr show dev lan0 | grep " $VIP4/")"

# The configured name as an altname of lan0: a restarted vipd finds the
# link through it and is a candidate again.
lab_exec "$o" ip link property add dev lan0 altname eth0
lab_vipd_start "$o"
lab_wait_until 5 grep -q "links: vip=$VIP4 is on link=lan0 " "$LAB_DIR/$o/vipd.log" ||
	lab_fail "$o did not find eth0 as lan0's altname"
lab_wait_until 5 sc_one_key "$o" ||
	lab_fail "$o is no candidate after its restart on the altname"
lab_assert "$n still holds $VIP4" test "$(lab_owner)" = "$n"
scenario_end
