#!/bin/bash
# t_23_key_deleted: the owner watches its own election key. Deleting that
# key from outside (etcdctl del), or revoking its lease (etcdctl lease
# revoke), makes the owner step down at once, another node takes the VIP,
# and the old owner queues up again as a candidate.
#
#   timing  the old owner's delete and the new owner's add each follow the
#           etcd event within the slack (a watch event and a netlink
#           request: no TTL involved), from the monitor files.
#   overlap zero, strictly: etcd tells the old and the new leader of the
#           deletion at the same instant, but the new one probes the wire
#           (ARP probe) before adding the address and waits while the old
#           owner still answers (docs/design.md "Probing the wire"). Before
#           the probe this race showed 0-5 ms of overlap.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
name=/vipd/election/$VIP4
# Every node reads its peers' MACs when it learns the leader and again
# 500 ms later (VIP_PEERS_PREFETCH_MS, src/vip.c): only a peer known so
# can be told from a foreign host by the next owner's takeover probe. A
# lease revoked sooner after the start (the revoked node's MAC key goes
# with it) is the 3 s conflict wait, safe but not this test's subject.
sleep 1

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

# t_step_checks WHAT OLD NEW T0_US: the step-down's timing from the monitor
# files: OLD's delete and NEW's add after T0_US (the etcdctl command).
t_step_checks() {
	local what=$1 old=$2 new=$3 t0=$4 t_del t_add
	t_del=$(sc_ev_first "$old" del "$t0") || lab_fail "no Deleted event on $old after: $what"
	t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "no add event on $new after: $what"
	lab_log "$what -> $old deletes at +$(sc_ms "$t0" "$t_del") ms, $new adds at +$(sc_ms "$t0" "$t_add") ms"
	bd_timing "$what -> $old steps down" $(((t_del - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (watch event, netlink delete)"
	bd_timing "$what -> $new adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (watch event, range read, add)"
}

# --- 1: the key deleted by hand
key=$(owner_key "$OWNER")
lab_assert "the owner $OWNER has a key under $name/" test -n "$key"
t0=$(sc_now_us)
lab_etcdctl 1 del "$key" >/dev/null
lab_wait_until 5 not_holding "$OWNER" || lab_fail "$OWNER still holds the VIP 5 s after its key was deleted"
new=$(lab_wait_owner 5 "$OWNER") || lab_fail "no new owner within 5 s of deleting $OWNER's key"
t_step_checks "key of $OWNER deleted" "$OWNER" "$new" "$t0"
lab_assert "$OWNER logged stepping down" grep -qE 'own key (deleted while leading|vanished).*stepping down' "$LAB_DIR/$OWNER/vipd.log"
lab_wait_until 5 has_key "$OWNER" || lab_fail "$OWNER did not campaign again"
lab_assert "still exactly $new" test "$(lab_owner)" = "$new"

# --- 2: the owner's lease revoked by hand
key=$(owner_key "$new")
lease=${key##*/}
t0=$(sc_now_us)
lab_etcdctl 1 lease revoke "$lease" >/dev/null
lab_wait_until 5 not_holding "$new" || lab_fail "$new still holds the VIP 5 s after its lease was revoked"
third=$(lab_wait_owner 5 "$new") || lab_fail "no new owner within 5 s of revoking $new's lease"
t_step_checks "lease of $new revoked" "$new" "$third" "$t0"
lab_wait_until 8 grep -q 'session: lease lost' "$LAB_DIR/$new/vipd.log" ||
	lab_fail "$new did not notice its lease was gone"
lab_wait_until 5 has_key "$new" || lab_fail "$new did not campaign again with a new lease"
lab_assert "the new key of $new is on a new lease" test "$(owner_key "$new")" != "$key"

o=$(lab_wait_owner 10) || lab_fail "no single owner at the end"
lab_assert "client reaches the owner ($o)" test "$(lab_client_reach)" = "$o"
lab_assert_no_overlap "$VIP4"
