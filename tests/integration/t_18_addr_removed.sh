#!/bin/bash
# t_18_addr_removed: someone (an operator, a network manager) deletes the VIP
# from the owner's eth0 by hand.
#
#   safety  no other node ever adds it; no overlap.
#   timing  vipd puts it back on the same node (the netlink event wakes it,
#           it re-adds at once: no TTL involved) within the slack, measured
#           in the owner's monitor file from the Deleted event to the next
#           add.
# The owner loses it exactly once and the client reaches it. About 10 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

# --- the scenario ------------------------------------------------------------

scenario_up
ns=$LAB_PREFIX-$OWNER
sleep 1 # announcements done, a keepalive or two behind us

t_del=$(sc_now_us)
ip -n "$ns" addr del "$VIP4/32" dev eth0 || lab_fail "cannot delete $VIP4 on $OWNER"
lab_log "deleted $VIP4/32 from $OWNER's eth0 by hand"

back=$(lab_wait_owner 5) || lab_fail "the VIP did not come back within 5 s"
lab_assert "the VIP came back on the same node ($back)" test "$back" = "$OWNER"
sleep 1.5 # room for a wrong second add or a failover to show

# From the owner's monitor: the first Deleted at or after the delete, then
# the first add after it.
ev=$(sc_mon_events "$OWNER")
read -r d_us a_us < <(awk -v t="$t_del" '
	$2 == "del" && $1 >= t - 2000 && d == "" { d = $1; next }
	$2 == "add" && d != "" { print d, $1; found = 1; exit }
	END { if (!found) print d " -" }' <<<"$ev")
[ -n "$d_us" ] || lab_fail "the owner's monitor shows no Deleted event for the VIP after the delete"
[ "$a_us" != - ] || lab_fail "the owner's monitor shows no re-add after the delete"
readd_us=$((a_us - d_us))
readd_ms=$((readd_us / 1000))
lab_log "measured: delete -> re-add on $OWNER in $readd_ms.$(printf %03d $((readd_us % 1000))) ms (monitor stamps)"
bd_timing "delete by hand -> re-add on $OWNER" "$readd_ms" "$BD_SLACK_MS" "slack $BD_SLACK_MS (a netlink event and one netlink request)"

dels=$(awk '$2 == "del"' <<<"$ev" | wc -l)
lab_assert "the owner lost the VIP exactly once, by hand ($dels Deleted events)" test "$dels" -eq 1

for i in 1 2 3; do
	[ "n$i" = "$OWNER" ] && continue
	adds=$(sc_mon_events "n$i" | awk '$2 == "add"' | wc -l)
	bd_safety "n$i never added the VIP ($adds add events)" test "$adds" -eq 0
done
grep -q 'address removed by someone else' "$LAB_DIR/$OWNER/vipd.log" &&
	lab_log "vipd on $OWNER: $(grep -m1 'address removed by someone else' "$LAB_DIR/$OWNER/vipd.log")"

lab_assert "the owner is still $OWNER" test "$(lab_owner)" = "$OWNER"
scenario_end
