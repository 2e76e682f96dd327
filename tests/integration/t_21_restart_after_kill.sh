#!/bin/bash
# t_21_restart_after_kill: the owner's vipd is SIGKILLed and restarted at
# at once, as a supervisor would. The restarted vipd finds its node's key
# under the old lease and deletes that key (its log says so; never the
# lease: a lease may hold keys that are not vipd's), so the next candidate
# takes over before the old lease could have expired. The old
# owner's address (its kernel lifetime still running) is removed by the
# restarted vipd at start (a Deleted event with lifetime left, not a kernel
# expiry).
#
#   safety  the leftover goes before the new owner adds the VIP; nobody
#           else adds it; the restarted node does not take it back; no
#           overlap.
#   timing  the new owner adds the VIP within restart + slack of the kill
#           (grant, election read, delete, watch event, add: no TTL). For
#           that to prove the delete (not an expiry) moved it, the restart must
#           come early enough: the old lease expires no sooner than its last
#           keepalive (at most TTL/4 before the kill) + TTL, i.e. 3/4 TTL
#           after the kill, so restart + slack must stay below 3/4 TTL
#           (precondition, checked).
# The client reaches the new owner. About 10 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
ttl=$LAB_TTL
sleep 1

t_kill=$(sc_now_us)
lab_vipd_kill "$OWNER" || lab_fail "vipd on $OWNER did not die on SIGKILL"
lab_vipd_start "$OWNER"
t_restart=$(sc_now_us)
restart_ms=$(((t_restart - t_kill) / 1000))
lab_log "vipd on $OWNER SIGKILLed and restarted in $restart_ms ms"
earliest_expiry_ms=$((ttl * 750))
((restart_ms + BD_SLACK_MS < earliest_expiry_ms)) ||
	lab_fail "precondition: the restart took $restart_ms ms; + slack $BD_SLACK_MS it is not below the old lease's earliest expiry ($earliest_expiry_ms ms)"

new=$(lab_wait_owner $((ttl + 5)) "$OWNER") || lab_fail "no new owner within TTL + 5 s of the kill (holders: $(lab_owner))"
sleep 0.5 # let the records settle

# When the new owner added it (its monitor), against the kill.
add_us=$(sc_mon_events "$new" | awk -v t="$t_kill" '$2 == "add" && $1 >= t { print $1; exit }')
[ -n "$add_us" ] || lab_fail "no add event on $new after the kill"
takeover_ms=$(((add_us - t_kill) / 1000))
lab_log "measured: $new added the VIP $takeover_ms ms after the SIGKILL of $OWNER's vipd (TTL ${ttl} s)"
bd_timing "SIGKILL -> $new adds the VIP (by the key's delete, not an expiry)" "$takeover_ms" $((restart_ms + BD_SLACK_MS)) \
	"restart $restart_ms + slack $BD_SLACK_MS, below the old lease's earliest expiry $earliest_expiry_ms"

# The old owner's leftover copy: removed by the restarted vipd (lifetime
# left, not a kernel expiry), before the new owner added it.
read -r del_us del_left < <(sc_mon_events "$OWNER" | awk -v t="$t_kill" '$2 == "del" && $1 >= t { print $1, $3; exit }') || true
[ -n "${del_us:-}" ] || lab_fail "no Deleted event on $OWNER after the kill: its leftover address was never removed"
lab_log "measured: $OWNER's leftover address removed $(((del_us - t_kill) / 1000)) ms after the kill (valid_lft left ${del_left}s), $(((add_us - del_us) / 1000)) ms before $new added it"
lab_assert "the leftover was removed with lifetime left (valid_lft ${del_left}s), i.e. by vipd, not by the kernel" \
	test "$del_left" -gt 0
bd_safety "the leftover went before the new owner added the VIP" test "$del_us" -le "$add_us"
grep -E 'leftover|stale|old lease|earlier run' "$LAB_DIR/$OWNER/vipd.log" | sed 's/^/    vipd: /' >&2 || true
lab_assert "the restarted vipd deleted its previous key (log: 'removed a key of an earlier run of this node')" \
	grep -q 'election: removed a key of an earlier run of this node' "$LAB_DIR/$OWNER/vipd.log"

for i in 1 2 3; do
	[ "n$i" = "$new" ] || [ "n$i" = "$OWNER" ] && continue
	adds=$(sc_mon_events "n$i" | awk '$2 == "add"' | wc -l)
	bd_safety "n$i never added the VIP ($adds add events)" test "$adds" -eq 0
done
# Counted after the leftover's delete: the killed vipd may still have
# refreshed its lifetime (an "add" event) between the stamp t_kill and the
# signal's arrival; after the delete, which the restarted vipd made, only
# that vipd could add it (one recorder, events in kernel order).
adds=$(sc_mon_events "$OWNER" | awk -v t="$del_us" 'NF && $2 == "add" && $1 > t' | wc -l)
bd_safety "the restarted $OWNER did not take the VIP back ($adds add events after its leftover went)" test "$adds" -eq 0
lab_log "owner after the restart: $new (was $OWNER)"
scenario_end
