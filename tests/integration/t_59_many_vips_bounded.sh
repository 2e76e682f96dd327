#!/bin/bash
# t_59_many_vips_bounded: 32 VIPs in one vipd per node (VIP4 and
# 198.18.2.1..31 on eth0, one lease per node). Every election follows its
# queue through the daemon's one shared watch over the election prefix
# (src/watch.c), and no more than ETCD_IDLE_CONNS (8) connections per
# endpoint are kept once their requests are done (src/etcd.h): so the etcd
# connections of a node do not grow with its VIPs (a watch stream per VIP
# made 32 and more; the start's burst left 48 open without the cache cap).
# Then the node holding the most VIPs is SIGKILLed: every VIP it held is
# taken over through the shared watch (the lease's delete of 32 keys at
# one revision, demultiplexed by key).
#
#   bound   established connections from each vipd to its etcd <= 8,
#           counted after the start and again after the takeover, once
#           the requests of the burst are answered (up to 5 s for the count
#           to fall to the cap; 32 re-reads every 5 s take a few ms each).
#           A count, no slack.
#   safety  no overlap of any of the 32 VIPs over the whole run.
#   timing  SIGKILL -> the last of its VIPs added elsewhere: the lease
#           bound (bd_lease_takeover: TTL or an etcd re-arm + lessor
#           check + slack), plus one more slack for 32 takeovers in a row
#           (each a probe window of 20 ms, an address add, announcements).
# About 25 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

N_VIPS=32
MAX_CONNS=8 # ETCD_IDLE_CONNS, src/etcd.h
ADDRS=("$VIP4")
for ((j = 1; j < N_VIPS; j++)); do ADDRS+=("198.18.2.$j"); done

# held: "TOTAL DISTINCT MOST_NODE MOST_COUNT" (sc_vips_held) now.
held() { sc_vips_held "${ADDRS[@]}"; }
# all_held: every VIP held by exactly one node.
all_held() { sc_vips_all_held "${ADDRS[@]}"; }
# all_held_without NODE: every VIP held by exactly one node, none by NODE
# (one pass).
all_held_without() { sc_vips_all_held --without "$1" "${ADDRS[@]}"; }
# conns ID: established TCP connections of node ID's vipd to etcd.
conns() {
	local pid
	pid=$(cat "$LAB_DIR/n$1/vipd.pid")
	lab_exec "$1" ss -Htnp state established '( dport = :2379 )' 2>/dev/null |
		grep -c "pid=$pid," || true
}

# conns_capped ID: node ID's vipd has at most MAX_CONNS of them now.
conns_capped() { [ "$(conns "$1")" -le "$MAX_CONNS" ]; }

sc_lab_up 3
for i in 1 2 3; do
	lab_vipd_config "$i" || lab_fail "vipd config for n$i rejected"
	sc_config_add_vips "$i" "${ADDRS[@]:1}" ||
		lab_fail "vipd --check rejects the $N_VIPS-VIP config"
	lab_vipd_start "$i"
done
lab_wait_until 30 all_held || lab_fail "not every VIP held by exactly one node 30 s after the start ($(held))"
read -r _ _ most mostc <<<"$(held)"
lab_log "all $N_VIPS VIPs held; $most holds $mostc"
for i in 1 2 3; do
	# the burst's last requests answered: the count falls to the cap
	lab_wait_until 5 conns_capped "$i" || true
	c=$(conns "$i")
	lab_log "n$i: $c etcd connections, $(find "/proc/$(cat "$LAB_DIR/n$i/vipd.pid")/fd" -mindepth 1 | wc -l) fds"
	lab_assert "n$i: at most $MAX_CONNS etcd connections with $N_VIPS VIPs (got $c)" test "$c" -le "$MAX_CONNS"
done

mine=$(sc_vips_on "${ADDRS[@]}" | awk -v n="$most" '$1 == n { print $2 }')
t_kill=$(sc_now_us)
lab_vipd_kill "${most#n}" || lab_fail "cannot SIGKILL vipd on $most"
# (its addresses stay until their kernel lifetime runs out: a crash)
lab_wait_until $((LAB_TTL + 15)) all_held_without "$most" ||
	lab_fail "not every VIP held by one of the others within TTL + 15 s of the kill ($(held))"
t_seen=$(sc_now_us)
# The last of $most's VIPs to be added elsewhere: per VIP, the first add
# on another node after the kill (later adds are lifetime refreshes).
t_last=0
for a in $mine; do
	t=$(for i in 1 2 3; do
		[ "n$i" = "$most" ] && continue
		sc_mon_events "n$i" "$a" | awk -v t="$t_kill" 'NF && $2 == "add" && $1 >= t { print $1; exit }'
	done | sort -n | head -1)
	[ -n "$t" ] || lab_fail "no add of $a after the kill"
	[ "$t" -gt "$t_last" ] && t_last=$t
done
[ "$t_last" -gt 0 ] || lab_fail "no add event after the kill"
read -r bound why <<<"$(bd_lease_takeover "$t_kill" "$t_seen")"
bd_timing "SIGKILL of $most ($mostc VIPs) -> the last of them added elsewhere" \
	$(((t_last - t_kill) / 1000)) $((bound + BD_SLACK_MS)) "$why + slack $BD_SLACK_MS for $mostc takeovers in a row"
for i in 1 2 3; do
	[ "n$i" = "$most" ] && continue
	lab_wait_until 5 conns_capped "$i" || true
	c=$(conns "$i")
	lab_assert "n$i: at most $MAX_CONNS etcd connections after the takeover (got $c)" test "$c" -le "$MAX_CONNS"
done
lab_assert_no_overlap "${ADDRS[@]}"
lab_log "PASS"
