#!/bin/bash
# t_00_lab_smoke: the lab itself works: 3 namespaces with a real etcd
# cluster, the client reaches every node and its service, the probe and the
# ownership monitor measure what really happens (VIP moved by hand), a
# partition cuts node 1 from its peers but not from the client, and
# lab_down leaves nothing behind. No vipd involved. Well under 30 s.
#
# shellcheck disable=SC2016 # eval expands the quoted tests
set -euo pipefail
# shellcheck source=lab.sh
. "$(dirname "$0")/lab.sh"

t_start=$(date +%s%N)
lab_up 3
lab_etcd_up

# --- etcd: three healthy members, data crosses nodes over node addresses
health=$(lab_etcdctl 1 endpoint health --cluster 2>&1) || true
printf '%s\n' "$health" | sed 's/^/    /' >&2
lab_assert "etcd reports 3 healthy members" test "$(grep -c 'is healthy' <<<"$health")" -eq 3
members=$(lab_etcdctl 2 member list)
lab_assert "etcd has 3 members n1 n2 n3" test "$(grep -cE ', started, n[123], ' <<<"$members")" -eq 3

val="smoke-$$-$RANDOM"
lab_assert "put from n1 via 198.18.0.11" lab_etcdctl 1 --at http://198.18.0.11:2379 put /lab/smoke "$val"
got=$(lab_etcdctl 3 --at http://198.18.0.13:2379 get --print-value-only /lab/smoke)
lab_assert "get from n3 via 198.18.0.13 returns the value" test "$got" = "$val"

# --- client reaches every node (ping v4 and v6) and its service
lab_service_up
for i in 1 2 3; do
	a4=$(lab_node_addr4 $i)
	a6=$(lab_node_addr6 $i)
	lab_assert "client pings n$i ($a4)" lab_ping cl "$a4"
	lab_assert "client pings n$i ($a6)" lab_ping cl "$a6"
	lab_assert "service on $a4 answers n$i" test "$(lab_reach cl "$a4")" = "n$i"
	lab_assert "service on [$a6] answers n$i" test "$(lab_reach cl "$a6")" = "n$i"
done
lab_assert "n1 reaches n2's service" test "$(lab_reach 1 198.18.0.12)" = n2

# --- nobody holds the VIP, and nothing answers on it
lab_assert "no node holds the VIP" test -z "$(lab_owner)"
if lab_client_reach >/dev/null; then
	lab_fail "something answered on $VIP4 with no vipd running"
fi

# --- the recorders on real traffic and real `ip monitor` output, with the
# VIP moved by hand (no vipd): the probe must see a 500 ms hiccup, the
# monitor a 300 ms double ownership.
lab_monitor_start
ip -n "$LAB_PREFIX-n1" addr add "$VIP4/32" dev eth0
ip -n "$LAB_PREFIX-n1" addr add "$VIP6/128" dev eth0 nodad
lab_assert "n1 is the one owner" test "$(lab_wait_owner 2)" = n1
# (no announcement when an address is added by hand: the client's own
# ARP/NS resolution, retried every second, finds n1)
lab_assert "client reaches n1 on VIP4" lab_wait_until 3 eval '[ "$(lab_client_reach)" = n1 ]'
lab_assert "client reaches n1 on VIP6" lab_wait_until 3 eval '[ "$(lab_client_reach v6)" = n1 ]'

lab_probe_start
sleep 0.3
# The hiccup, with stamps around the commands that open and close it: it
# begins when the first nft commits, inside [t_a, t_b], and ends when the
# second commits, inside [t_c, t_d], so the real silence G lies in
#     t_c - t_b  <=  G  <=  t_d - t_a
# (500 ms of sleep plus whatever the machine takes to start nft again; on a
# busy box tens of ms: measured, not assumed).
t_a=$(_lab_now_us)
lab_hiccup_start 1
t_b=$(_lab_now_us)
sleep 0.5
t_c=$(_lab_now_us)
lab_hiccup_stop 1
t_d=$(_lab_now_us)
sleep 0.3
lab_probe_stop >&2
g_lo=$(((t_c - t_b) / 1000)) g_hi=$(((t_d - t_a + 999) / 1000))
lab_log "the hiccup lasted ${g_lo}..${g_hi} ms"
# ONE outage, and why: every packet to and from n1's eth0 is dropped, ARP
# too, so every attempt that starts inside the silence fails
# (connect-timeout: its SYN is lost, and with a 50 ms connect timeout no
# attempt lives to the SYN retransmission at 1 s, so none succeeds late);
# outside it nothing fails: the answer may take up to 1 s (a busy stand-in
# is no failure), and the client's neighbour entry for the VIP survives
# 0.5 s of silence (REACHABLE for 15..45 s; even an entry being probed has
# 3 x 1 s before it fails). Failures only inside, successes only outside:
# one run of failures, from n1 to n1. Its length (probe.c): the first
# failure starts at most one interval I after the silence begins, the first
# success at most I after it ends, so duration = G +- I; with the summary's
# rounding up, duration_ms lies in [g_lo - I - 1, g_hi + I + 1] (I = 10).
out=$(lab_probe_max_outage_ms)
line=$(lab_probe_outages)
lab_log "probe: $line"
lab_assert "probe saw the hiccup as one outage n1 -> n1" \
	test "$(lab_probe_value outages)" -eq 1 -a "$(awk '{ print $10, $12 }' <<<"$line")" = "n1 n1"
lab_assert "its length $out ms is the hiccup's ${g_lo}..${g_hi} ms +- one interval" \
	test "$out" -ge $((g_lo - 10 - 1)) -a "$out" -le $((g_hi + 10 + 1))
kinds=$(awk '{ print $14 }' <<<"$line")
lab_assert "its failures are lost SYNs ($kinds)" eval '[[ $kinds =~ ^connect-timeout=[0-9]+(,read-timeout=1)?$ ]]'
lab_assert "no double ownership so far" test "$(lab_overlap_ms)" = 0
# Stamps around each command: the add commits inside [t_a0, t_a1], the
# delete inside [t_d0, t_d1], so the real double ownership lies in
# [t_d0 - t_a1, t_d1 - t_a0]; the monitors (SCHED_FIFO) stamp each event
# within microseconds of it, and the analyzer rounds up to whole ms.
t_a0=$(_lab_now_us)
ip -n "$LAB_PREFIX-n2" addr add "$VIP4/32" dev eth0
t_a1=$(_lab_now_us)
lab_assert "lab_owner shows both holders" test "$(lab_owner)" = "n1 n2"
if lab_wait_owner 0.2 >/dev/null 2>&1; then
	lab_fail "lab_wait_owner accepted two owners"
fi
sleep 0.1
t_d0=$(_lab_now_us)
ip -n "$LAB_PREFIX-n2" addr del "$VIP4/32" dev eth0
t_d1=$(_lab_now_us)
ov=$(lab_overlap_ms)
lo=$(((t_d0 - t_a1) / 1000 - 1)) hi=$(((t_d1 - t_a0 + 999) / 1000 + 1))
lab_assert "monitor saw the double ownership: $ov ms, within the commands' $lo..$hi ms" \
	test "$ov" -ge "$lo" -a "$ov" -le "$hi"
ip -n "$LAB_PREFIX-n1" addr del "$VIP4/32" dev eth0
ip -n "$LAB_PREFIX-n1" addr del "$VIP6/128" dev eth0
lab_assert "VIP6 was never held twice" test "$(lab_overlap_ms "$VIP6")" = 0
lab_assert "nobody holds the VIPs again" test -z "$(lab_owner)$(lab_owner "$VIP6")"

# --- partition n1: peers cut (v4, v6, etcd), client not
lab_partition 1
# each of these must fail (1 s timeouts, so run them side by side)
leaks=()
lab_ping 1 198.18.0.12 & leaks+=($!)
lab_ping 2 198.18.0.11 & leaks+=($!)
lab_ping 1 fd00:18::12 & leaks+=($!)
lab_ping 3 fd00:18::11 & leaks+=($!)
lab_reach 2 198.18.0.11 >/dev/null & leaks+=($!)
lab_etcdctl 1 --at http://198.18.0.12:2379 --dial-timeout=1s --command-timeout=1s get /lab/smoke \
	>/dev/null 2>&1 & leaks+=($!)
for p in "${leaks[@]}"; do
	if wait "$p"; then
		lab_fail "partition leaks between n1 and its peers (check $p of ${leaks[*]} got through)"
	fi
done
lab_log "ok: n1 <-> n2/n3 blocked both ways (ping v4/v6, service, etcd)"
lab_assert "client still pings partitioned n1 (v4)" lab_ping cl 198.18.0.11
lab_assert "client still pings partitioned n1 (v6)" lab_ping cl fd00:18::11
lab_assert "client still reaches n1's service" test "$(lab_reach cl 198.18.0.11)" = n1
lab_assert "n2 and n3 still talk" lab_ping 2 198.18.0.13
lab_assert "etcd still has quorum on n2" lab_etcdctl 2 put /lab/during-partition yes
lab_heal 1
lab_assert "healed n1 pings n2 again" lab_wait_until 3 lab_ping 1 198.18.0.12
lab_assert "healed n1's etcd catches up" lab_wait_until 10 bash -c \
	"[ \"\$(ip netns exec $LAB_PREFIX-n1 env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 get --print-value-only /lab/during-partition 2>/dev/null)\" = yes ]"

# --- power loss, under errexit, with processes coming and going on the node
# (a pid that exits between listing and kill must not abort the test)
lab_run 3 churn sh -c 'while :; do /bin/true; done'
sleep 0.2
lab_power_off 3
for p in etcd service churn; do
	if lab_pid 3 "$p" >/dev/null; then
		lab_fail "$p survived the power loss of n3"
	fi
done
lab_assert "the ownership recorder (the observer) survived" lab_monitor_alive
lab_assert "n3's eth0 is down" eval '[[ $(ip -n "$LAB_PREFIX-n3" -o link show eth0) != *",UP"* ]]'
lab_assert "n3 has no address on eth0" eval '[[ $(ip -n "$LAB_PREFIX-n3" -o addr show dev eth0) != *198.18.* ]]'
lab_power_on 3
lab_service_start 3
lab_etcd_start 3
lab_assert "n3 back: its service answers" lab_wait_until 5 eval '[ "$(lab_reach cl 198.18.0.13 2>/dev/null)" = n3 ]'
lab_assert "n3 back: etcd healthy with 3 members" lab_etcd_wait_healthy 20

# --- a test killed with SIGKILL (no trap runs): the watchdog removes its
# lab, and a nested test never touches ours (LAB_* are exported to it)
# (in a subshell, so bash's "Killed" notice stays out of the log)
(bash -c '. "$1"; lab_up 1 >/dev/null 2>&1 && echo "$LAB_PREFIX" >"$2"; kill -KILL $$' \
	inner "$(dirname "$0")/lab.sh" "$LAB_DIR/inner.prefix" || true) 2>/dev/null
inner=$(cat "$LAB_DIR/inner.prefix" 2>/dev/null) || true
inner=${inner#vl}
lab_assert "the nested test made a lab of its own (vl$inner)" \
	test -n "$inner" -a "vl$inner" != "$LAB_PREFIX" -a -n "$(ip netns list 2>/dev/null | awk -v p="vl$inner-n1" '$1 == p')"
lab_assert "our lab is intact" test -n "$(ip netns list | awk -v p="$LAB_PREFIX-n1" '$1 == p')"
lab_log "nested test $inner SIGKILLed; its lab vl$inner should go within ~2 s"
lab_assert "watchdog removed the SIGKILLed test's namespaces" lab_wait_until 5 \
	eval '[ -z "$(ip netns list 2>/dev/null | awk -v p="vl$inner-" "index(\$1, p) == 1")" ]'
lab_assert "watchdog removed its temp dir" lab_wait_until 2 \
	eval '! ls -d /dev/shm/vipd-lab.vl$inner.* >/dev/null 2>&1'
lab_assert "our lab is still intact" lab_etcd_healthy 3

# --- cleanup leaves nothing behind
dir=$LAB_DIR
pids=$(for ns in $(ip netns list | awk '{print $1}' | grep "^$LAB_PREFIX-"); do ip netns pids "$ns"; done | tr '\n' ' ')
lab_log "processes in the lab before lab_down: $pids"
lab_down
left=$(ip netns list | awk '{print $1}' | grep -c "^$LAB_PREFIX-" || true)
lab_assert "no lab namespace left after lab_down" test "$left" -eq 0
lab_assert "lab dir removed" test ! -e "$dir"
for p in $pids; do
	if _lab_alive "$p"; then
		lab_fail "process $p of the lab survived lab_down: $(tr '\0' ' ' <"/proc/$p/cmdline")"
	fi
done
lab_assert "lab_down is idempotent" lab_down
lab_log "smoke test passed in $(( ($(date +%s%N) - t_start) / 1000000 )) ms"
