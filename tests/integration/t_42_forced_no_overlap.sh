#!/bin/bash
# t_42_forced_no_overlap: the owner's election key is deleted from outside
# (etcdctl del) REPS times in a row (default 3; T42_REPS=10 to measure).
# etcd tells the old owner and the next candidate at the same instant; the
# next candidate probes the wire (ARP probe) before adding the VIP and, if
# the old owner still answers, waits and probes again until it does not
# (bounded by TTL + 1 s) - so the VIP is never held twice, strictly.
#
#   safety  zero overlap over every repetition (lab_assert_no_overlap:
#           any overlap shows as >= 1 ms).
#   timing  each deletion -> the new owner's add within the slack (a
#           watch event, a range read, one or more 20 ms probe windows).
# The gap (old owner's delete -> new owner's add) of each repetition is
# printed, and how many takeovers had to wait for the old owner.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

reps=${T42_REPS:-3}
scenario_up
name=/vipd/election/$VIP4

owner_key() {
	lab_etcdctl 1 get --prefix "$name/" | awk -v n="$1" 'NR % 2 == 1 { k = $0 } NR % 2 == 0 && $0 == n { print k }'
}
has_key() { test -n "$(owner_key "$1")"; }

o=$OWNER gaps=()
for ((r = 1; r <= reps; r++)); do
	key=$(owner_key "$o")
	[ -n "$key" ] || lab_fail "run $r: the owner $o has no key"
	t0=$(sc_now_us)
	lab_etcdctl 1 del "$key" >/dev/null
	new=$(lab_wait_owner 5 "$o") || lab_fail "run $r: no new owner within 5 s of deleting $o's key"
	t_del=$(sc_ev_first "$o" del "$t0") || lab_fail "run $r: no delete on $o"
	t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "run $r: no add on $new"
	gaps+=("$(sc_ms "$t_del" "$t_add")")
	lab_log "run $r: $o deletes at +$(sc_ms "$t0" "$t_del") ms, $new adds at +$(sc_ms "$t0" "$t_add") ms (gap ${gaps[-1]} ms)"
	bd_timing "run $r: key deleted -> $new adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" \
		"slack $BD_SLACK_MS (watch event, range read, probe windows of 20 ms, add)"
	bd_safety "run $r: $new added only after $o deleted" test "$t_add" -gt "$t_del"
	lab_wait_until 5 has_key "$o" || lab_fail "run $r: $o did not campaign again"
	o=$new
done
waits=$(cat "$LAB_DIR"/n*/vipd.log | grep -c "waiting for the old owner to let go" || true)
lab_log "gaps (old delete -> new add, ms): ${gaps[*]}; takeovers that waited for the old owner: $waits of $reps"
lab_assert_no_overlap "$VIP4"
scenario_end
# T42_DEBUG=DIR keeps the three vipd logs there (to read the probes).
if [ -n "${T42_DEBUG:-}" ]; then mkdir -p "$T42_DEBUG"; for i in 1 2 3; do cp "$LAB_DIR/n$i/vipd.log" "$T42_DEBUG/n$i.log"; done; fi
