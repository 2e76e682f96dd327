#!/bin/bash
# t_26_two_vips: one daemon, two VIPs (IPv4 and IPv6), two elections on one
# shared lease. Trouble with one VIP never disturbs the other: when the
# IPv6 VIP's owner loses its election key, only the IPv6 VIP moves, the
# IPv4 one stays put; a graceful stop then moves everything the stopped
# node held. Neither VIP is ever held twice: deleting an owner's key by
# hand is a forced step-down etcd reports to both nodes at once, and the
# next owner's Neighbour Solicitation probe waits until the old one no
# longer answers (see t_23, t_42).
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up --v6
o6=$(lab_wait_owner 10 - "$VIP6") || lab_fail "no single owner of $VIP6"
o4=$OWNER
lab_log "owners: $VIP4 on $o4, $VIP6 on $o6"
lab_assert "client reaches $VIP4 on $o4" test "$(lab_client_reach)" = "$o4"
lab_assert "client reaches [$VIP6] on $o6" test "$(lab_client_reach v6)" = "$o6"
# The IPv4 VIP is never the owner's own source either (the kernel takes
# the subnet route's preferred source; the IPv6 case is t_20's).
r=$(ip -n "$LAB_PREFIX-$o4" route get "$(lab_node_addr4 "n$((${o4#n} % 3 + 1))")") || lab_fail "ip route get on $o4 failed"
lab_log "$o4: ip route get: $r"
lab_assert "$o4's IPv4 source towards a peer is its own $(lab_node_addr4 "$o4"), not $VIP4" \
	test "$(awk '{ for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1) }' <<<"$r")" = "$(lab_node_addr4 "$o4")"

# Both keys of a node hang on its one lease.
# (The peers' MAC keys, <election>.mac/<lease>, sit beside the elections.)
keys=$(lab_etcdctl 1 get --prefix --keys-only /vipd/election/ | grep -v '^$' | grep -v '\.mac/')
lab_assert "6 election keys (2 VIPs x 3 nodes)" test "$(wc -l <<<"$keys")" = 6
leases=$(sed 's|.*/||' <<<"$keys" | sort -u | wc -l)
lab_assert "3 leases: one per daemon, shared by its two VIPs" test "$leases" = 3

# Disturb only the IPv6 election: delete its owner's key there.
key6=$(lab_etcdctl 1 get --prefix "/vipd/election/$VIP6/" |
	awk -v n="$o6" 'NR % 2 == 1 { k = $0 } NR % 2 == 0 && $0 == n { print k }')
lab_assert "$o6 has a key in the $VIP6 election" test -n "$key6"
t0=$(sc_now_us)
lab_etcdctl 1 del "$key6" >/dev/null
new6=$(lab_wait_owner 5 "$o6" "$VIP6") || lab_fail "$VIP6 did not move within 5 s after its owner's key was deleted"
t_add6=$(sc_mon_events "$new6" "$VIP6" | awk -v t="$t0" 'NF && $2 == "add" && $1 >= t { print $1; exit }')
[ -n "$t_add6" ] || lab_fail "no add event of $VIP6 on $new6"
bd_timing "key deleted -> $new6 adds $VIP6" $(((t_add6 - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (watch event, range read, add)"
lab_log "$VIP6 moved $o6 -> $new6; $VIP4 should stay on $o4"
sleep 1
lab_assert "$VIP4 still on $o4" test "$(lab_owner "$VIP4")" = "$o4"
dels=$(sc_mon_events "$o4" "$VIP4" | awk -v t="$t0" 'NF && $1 >= t && $2 == "del"' | wc -l)
bd_safety "$VIP4 was not touched on $o4 (no Deleted event since)" test "$dels" = 0

# A graceful stop moves every VIP the node held, at once.
t_stop=$(sc_now_us)
lab_vipd_stop "${o4#n}"
n4=$(lab_wait_owner 5 "$o4" "$VIP4") || lab_fail "$VIP4 did not move within 5 s after $o4 stopped"
t_add4=$(sc_ev_first "$n4" add "$t_stop") || lab_fail "no add event of $VIP4 on $n4 after the stop"
bd_timing "stop of $o4 -> $n4 adds $VIP4" $(((t_add4 - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"
lab_log "$o4 stopped: $VIP4 -> $n4, $VIP6 on $(lab_owner "$VIP6")"
lab_assert "nothing left on $o4" test -z "$(lab_exec "${o4#n}" ip -o addr show dev eth0 | grep -E " ($VIP4|$VIP6)/")"
scenario_end
o=$(lab_wait_owner 10 - "$VIP6") || lab_fail "no single owner of $VIP6 at the end"
lab_assert "client reaches [$VIP6] on $o" test "$(lab_client_reach v6)" = "$o"
lab_assert_no_overlap "$VIP6"
