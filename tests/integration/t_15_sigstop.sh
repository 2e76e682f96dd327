#!/bin/bash
# t_15_sigstop: scenario 6, the owner's vipd is frozen (SIGSTOP) for
# at least 2 x TTL (and until another node owns the VIP), then resumed
# (SIGCONT).
#
#   safety  while frozen the kernel removes the VIP by its valid lifetime
#           ("Deleted ... valid_lft 0sec") before another node adds it
#           (stamps from the monitor files); after SIGCONT the old owner
#           does NOT add the VIP again (its monitor file over the next 3 s)
#           and exactly one node, the new owner, holds it; no overlap.
#   timing  a new owner within bd_lease_takeover's bound of the freeze
#           (TTL, or etcd's re-arm after a raft election, + lessor check +
#           slack).
# After SIGCONT the old vipd keeps running and rejoins as a candidate behind
# the new owner; the client reaches the owner.
# About 20 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
old=$OWNER
lab_probe_start
sleep 1

t_stop=$(sc_now_us)
lab_kill "$old" vipd STOP || lab_fail "cannot SIGSTOP vipd on $old"
lab_log "vipd on $old frozen for $((2 * LAB_TTL)) s"
new=$(lab_wait_owner $((LAB_TTL + 10)) "$old") ||
	lab_fail "no single new owner TTL + 10 s after $old was frozen (holders: $(lab_owner))"
t_seen=$(sc_now_us)
# Frozen for at least 2 x TTL: long past its fence and its lease.
left_us=$((t_stop + 2 * LAB_TTL * 1000000 - t_seen))
((left_us <= 0)) || sleep "$(sc_ms 0 "$left_us" | awk '{ printf "%.3f", $1 / 1000 }')"
t_cont=$(sc_now_us)
lab_kill "$old" vipd CONT || lab_fail "cannot SIGCONT vipd on $old"
lab_log "vipd on $old resumed; $new owns $VIP4"

del=$(sc_ev_first "$old" del "$t_stop" line) || lab_fail "no Deleted event of $VIP4 on $old while it was frozen"
t_del=${del%% *}
t_add=$(sc_ev_first "$new" add "$t_stop") || lab_fail "no add event of $VIP4 on $new after the freeze"
lab_log "$old: ${del#* }"
lab_log "SIGSTOP -> kernel removes $VIP4 from $old: $(sc_ms "$t_stop" "$t_del") ms"
lab_log "SIGSTOP -> $new adds $VIP4: $(sc_ms "$t_stop" "$t_add") ms"
lab_log "expiry on $old -> add on $new: $(sc_ms "$t_del" "$t_add") ms"
bd_safety "the removal on $old was the kernel's lifetime expiry (valid_lft 0sec)" \
	test "${del#*valid_lft 0sec}" != "$del"
bd_safety "$VIP4 left $old before $new added it" test "$t_del" -le "$t_add"
bd_safety "the removal on $old happened while it was frozen" test "$t_del" -lt "$t_cont"
read -r bound why <<<"$(bd_lease_takeover "$t_stop" "$t_seen")"
bd_timing "SIGSTOP -> $new adds the VIP" $(((t_add - t_stop) / 1000)) "$bound" "$why"

# After SIGCONT: no add on the old owner, one owner, for 3 s.
for _ in $(seq 1 30); do
	o=$(lab_owner)
	[ "$o" = "$new" ] || lab_fail "after SIGCONT of $old the VIP is held by '${o:-nobody}' (expected $new only)"
	sleep 0.1
done
lab_probe_stop >&2
lab_log "probe max outage: $(lab_probe_max_outage_ms) ms"
sed -n "/$(date -u -d "@$((t_cont / 1000000))" +%Y-%m-%dT%H:%M:%S)/,\$p" "$LAB_DIR/$old/vipd.log" |
	grep -vE 'debug: vip: announced' | head -n 20 | sed "s/^/    $old vipd after SIGCONT: /" >&2 || true
x=$(sc_ev "$old" add "$t_cont" line) || true
[ -z "$x" ] || lab_fail "$old added $VIP4 again after SIGCONT: $x"
lab_log "ok: $old did not add $VIP4 in the 3 s after SIGCONT"
lab_assert "vipd on $old still runs after SIGCONT" lab_pid "$old" vipd
# its last leader line names the new owner
t_rejoined() {
	local l
	l=$(grep -E "election: (not leader|leader changed) " "$LAB_DIR/$old/vipd.log" | tail -n 1) || return 1
	[[ $l == *" leader=$new" ]]
}
lab_wait_until 5 t_rejoined ||
	lab_fail "vipd on $old did not rejoin as a candidate behind $new within 5 s of SIGCONT"
lab_log "ok: $old rejoined as a candidate behind $new"

scenario_end
lab_assert "the owner is still $new" test "$(lab_owner)" = "$new"
