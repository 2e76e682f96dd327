#!/bin/bash
# t_55_stop_revoke_retry: a graceful stop still hands the VIP over at once
# when the owner's own etcd member hangs. Every vipd has two endpoints: its
# own member first, then the next node's. The owner's member is frozen
# (SIGSTOP: it accepts connections and answers nothing, as a member whose
# disk stalls), not the raft leader, and then vipd gets SIGTERM: the
# revoke's first try has no answer within 500 ms, the second goes to the
# next endpoint 100 ms later and is confirmed; the next owner does not wait
# for the lease to expire.
#
#   safety  the address is gone before the next owner adds it; no overlap.
#   timing  SIGTERM -> next owner adds: one try (500 ms) + the pause before
#           the next (100 ms) + the slack (delete, revoke, watch event, add)
#           - far below the TTL (5 s) that a revoke given up would cost.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

LAB_NEXT_ENDPOINT=1 # a second endpoint: the next node's member
scenario_up
owner=$OWNER
next=n$((OWNER_ID % 3 + 1)) # its second endpoint's node (LAB_NEXT_ENDPOINT)
next_ep=http://$(lab_node_addr4 "$next"):2379
grep -q "$next_ep" "$LAB_DIR/$owner/vipd.yaml" || lab_fail "no second endpoint in $owner's config"
# The raft leader elsewhere: a frozen leader would need an election first
# (that case is t_25's, with one endpoint).
leader=$(sc_etcd_leader) || lab_fail "no etcd leader"
if [ "$leader" = "$owner" ]; then
	sc_etcd_move_leader "$next" || lab_fail "cannot move etcd's leader to $next"
	leader=$next
fi
lab_log "owner $owner, etcd leader $leader"

lab_kill "$owner" etcd STOP || lab_fail "cannot freeze $owner's etcd member"
t0=$(sc_now_us)
lab_vipd_stop "${owner#n}" 5 || lab_fail "vipd on $owner did not stop"
lab_assert "it exited 0" test "$LAB_LAST_STATUS" = 0
new=$(lab_wait_owner 5 "$owner") || lab_fail "no new owner within 5 s of the stop"
t_del=$(sc_ev_first "$owner" del "$t0") || lab_fail "no Deleted event on $owner after the SIGTERM"
t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "no add event on $new after the SIGTERM"
bd_safety "the address left $owner before $new added it" test "$t_del" -lt "$t_add"
bd_timing "SIGTERM -> $new adds the VIP" $(((t_add - t0) / 1000)) $((500 + 100 + BD_SLACK_MS)) \
	"a try 500 + the pause 100 + slack $BD_SLACK_MS (delete, revoke, watch event, add); a revoke given up costs the TTL"
lab_assert "the first try, to its own (frozen) member, was given up and the revoke sent again" \
	grep -qE 'session: lease revoke failed endpoint=http://127\.0\.0\.1:2379 .*try=1; trying again' "$LAB_DIR/$owner/vipd.log"
lab_assert "a later try was confirmed by the next endpoint ($next_ep)" \
	grep -qE "session: lease revoked at try [2-9] endpoint=$next_ep\$" "$LAB_DIR/$owner/vipd.log"
grep -E 'stop: |session: (revoking|lease revoke)|stopped' "$LAB_DIR/$owner/vipd.log" | sed 's/^/    /' >&2
# resumed (on a failure above, lab_down's SIGKILL ends it frozen or not)
lab_kill "$owner" etcd CONT || lab_fail "cannot resume $owner's etcd member"
scenario_end
