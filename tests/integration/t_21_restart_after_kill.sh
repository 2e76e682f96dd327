#!/bin/bash
# t_21_restart_after_kill: the owner's vipd is SIGKILLed and restarted at
# once (within 0.5 s), as a supervisor would. The restarted vipd finds its
# node's key under the old lease and revokes that lease (its log says so),
# so the next candidate takes over well before the old lease's TTL would
# have run out: a new owner within 2 s of the kill, not 5. The old owner's
# address (its kernel lifetime still running) is removed by the restarted
# vipd at start (a Deleted event with lifetime left, not a kernel expiry),
# before the new owner adds it: the ownership intervals never overlap. The
# client reaches the new owner. About 10 s.
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
lab_assert "restarted within 0.5 s of the kill ($restart_ms ms)" test "$restart_ms" -le 500

new=$(lab_wait_owner 3 "$OWNER") || lab_fail "no new owner within 3 s of the kill (holders: $(lab_owner))"
sleep 0.5 # let the records settle

# When the new owner added it (its monitor), against the kill.
add_us=$(sc_mon_events "$new" | awk -v t="$t_kill" '$2 == "add" && $1 >= t { print $1; exit }')
[ -n "$add_us" ] || lab_fail "no add event on $new after the kill"
takeover_ms=$(((add_us - t_kill) / 1000))
lab_log "measured: $new added the VIP $takeover_ms ms after the SIGKILL of $OWNER's vipd (TTL ${ttl} s)"
lab_assert "new owner $new within 2 s of the kill, not a TTL ($takeover_ms ms)" test "$takeover_ms" -le 2000

# The old owner's leftover copy: removed by the restarted vipd (lifetime
# left, not a kernel expiry), before the new owner added it.
read -r del_us del_left < <(sc_mon_events "$OWNER" | awk -v t="$t_kill" '$2 == "del" && $1 >= t { print $1, $3; exit }') || true
[ -n "${del_us:-}" ] || lab_fail "no Deleted event on $OWNER after the kill: its leftover address was never removed"
lab_log "measured: $OWNER's leftover address removed $(((del_us - t_kill) / 1000)) ms after the kill (valid_lft left ${del_left}s), $(((add_us - del_us) / 1000)) ms before $new added it"
lab_assert "the leftover was removed with lifetime left (valid_lft ${del_left}s), i.e. by vipd, not by the kernel" \
	test "$del_left" -gt 0
lab_assert "the leftover went before the new owner added the VIP" test "$del_us" -le "$add_us"
grep -E 'leftover|stale|foreign lease' "$LAB_DIR/$OWNER/vipd.log" | sed 's/^/    vipd: /' >&2 || true
lab_assert "the restarted vipd revoked its previous lease (log: 'revoked stale lease of this node')" \
	grep -q 'election: revoked stale lease of this node' "$LAB_DIR/$OWNER/vipd.log"

for i in 1 2 3; do
	[ "n$i" = "$new" ] || [ "n$i" = "$OWNER" ] && continue
	adds=$(sc_mon_events "n$i" | awk '$2 == "add"' | wc -l)
	lab_assert "n$i never added the VIP ($adds add events)" test "$adds" -eq 0
done
adds=$(sc_mon_events "$OWNER" | awk -v t="$t_kill" '$2 == "add" && $1 >= t' | wc -l)
lab_assert "the restarted $OWNER did not take the VIP back ($adds add events since the kill)" test "$adds" -eq 0
lab_log "owner after the restart: $new (was $OWNER)"
scenario_end
