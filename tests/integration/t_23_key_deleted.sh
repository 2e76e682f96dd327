#!/bin/bash
# t_23_key_deleted: the owner watches its own election key. Deleting that
# key from outside (etcdctl del), or revoking its lease (etcdctl lease
# revoke), makes the owner step down at once: its address is gone within
# 100 ms, another node owns the VIP within 1 s, and the old owner queues up
# again as a candidate.
#
# Unlike every other scenario, this one cannot promise zero overlap: etcd
# tells the old and the new leader of the deletion at the same instant, so
# the new one may add the address a few ms before the old one has removed
# it (seen: up to 5 ms before the owner stepped down on the watch event
# itself; 0-1 ms since). Every path vipd itself controls (stop, crash,
# freeze, partition, quorum loss) removes the address before the lease can
# move. The overlap is printed, and bounded here by the step-down time.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
name=/vipd/election/$VIP4

# owner_key NODE: the election key whose value is NODE.
owner_key() {
	lab_etcdctl 1 get --prefix "$name/" | awk -v n="$1" 'NR % 2 == 1 { k = $0 } NR % 2 == 0 && $0 == n { print k }'
}

# has_key NODE: NODE has a key in the election (re-read at every call).
has_key() {
	test -n "$(owner_key "$1")"
}

# not_holding NODE: NODE does not hold the VIP now.
not_holding() {
	[[ " $(lab_owner) " != *" $1 "* ]]
}

# --- 1: the key deleted by hand
key=$(owner_key "$OWNER")
lab_assert "the owner $OWNER has a key under $name/" test -n "$key"
t0=$(date +%s%N)
lab_etcdctl 1 del "$key" >/dev/null
lab_wait_until 0.1 not_holding "$OWNER" ||
	lab_fail "$OWNER still holds the VIP 100 ms after its key was deleted"
new=$(lab_wait_owner 1 "$OWNER") || lab_fail "no new owner within 1 s of deleting $OWNER's key"
lab_log "key of $OWNER deleted -> $new owns the VIP after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
lab_assert "$OWNER logged stepping down" grep -qE 'own key (deleted while leading|vanished).*stepping down' "$LAB_DIR/$OWNER/vipd.log"
lab_wait_until 5 has_key "$OWNER" || lab_fail "$OWNER did not campaign again"
lab_assert "still exactly $new" test "$(lab_owner)" = "$new"

# --- 2: the owner's lease revoked by hand
key=$(owner_key "$new")
lease=${key##*/}
t0=$(date +%s%N)
lab_etcdctl 1 lease revoke "$lease" >/dev/null
lab_wait_until 0.1 not_holding "$new" ||
	lab_fail "$new still holds the VIP 100 ms after its lease was revoked"
third=$(lab_wait_owner 1 "$new") || lab_fail "no new owner within 1 s of revoking $new's lease"
lab_log "lease of $new revoked -> $third owns the VIP after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
lab_wait_until 8 grep -q 'session: lease lost' "$LAB_DIR/$new/vipd.log" ||
	lab_fail "$new did not notice its lease was gone"
lab_wait_until 5 has_key "$new" || lab_fail "$new did not campaign again with a new lease"
lab_assert "the new key of $new is on a new lease" test "$(owner_key "$new")" != "$key"

o=$(lab_wait_owner 10) || lab_fail "no single owner at the end"
lab_assert "client reaches the owner ($o)" test "$(lab_client_reach)" = "$o"
ov=$(lab_overlap_ms "$VIP4")
lab_log "overlap from the two forced step-downs: $ov ms (etcd told both nodes at once)"
lab_assert "overlap bounded by the step-down (< 100 ms)" test "$ov" -lt 100
