#!/bin/bash
# t_19_etcdctl_elect: vipd speaks etcd's own election recipe, so it
# interoperates with `etcdctl elect`. An outsider (etcdctl elect, proposal
# "outsider") wins the election /vipd/election/198.18.0.100 before any vipd
# runs; then vipd starts on all 3 nodes: for TTL + 2 s no vipd takes the VIP,
# the four keys (outsider + one per vipd, name/<lease hex>) share the
# election and `etcdctl elect -l` names the outsider. When the outsider
# resigns (SIGTERM), one vipd takes the VIP and `etcdctl elect -l` names
# exactly the node holding the address. The client reaches it.
#
#   safety  no vipd adds the VIP while the outsider leads; one owner after;
#           no overlap.
#   timing  the takeover after the outsider's SIGTERM: etcdctl resigns
#           (deletes its key) and revokes its session, the watch wakes the
#           next candidate: no TTL involved, so the slack.
# About 15 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh" # lab.sh and scenario_end; the setup is our own

ELECTION=/vipd/election/$VIP4

# elect_leader NODE: the proposal of the current leader of $ELECTION as
# `etcdctl elect -l` (observe: prints key and value, then waits for changes
# until interrupted) shows it from NODE; empty if none within 2 s.
elect_leader() {
	local out
	out=$(lab_exec "$1" timeout -s INT 2 env ETCDCTL_API=3 etcdctl \
		--endpoints=http://127.0.0.1:2379 --dial-timeout=2s elect -l "$ELECTION" 2>/dev/null) || true
	# key, value, key, value...: the last value is the current leader
	tail -n 1 <<<"$out"
}

# --- the lab without vipd, and the outsider --------------------------------------

lab_up 3 --ttl 5
ttl=$LAB_TTL
lab_etcd_up
lab_service_up
lab_monitor_start

lab_run 1 outsider env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 \
	elect "$ELECTION" outsider || lab_fail "cannot start etcdctl elect"
lab_wait_until 5 grep -qx outsider "$LAB_DIR/n1/outsider.log" ||
	lab_fail "etcdctl elect did not win the empty election within 5 s: $(cat "$LAB_DIR/n1/outsider.log")"
lab_log "outsider elected: $(head -1 "$LAB_DIR/n1/outsider.log")"

# --- vipd everywhere, waiting behind the outsider ------------------------------
for i in 1 2 3; do
	lab_vipd_config "$i" || lab_fail "vipd config for n$i rejected"
	lab_vipd_start "$i"
done
for i in 1 2 3; do
	lab_wait_until 5 grep -q 'election: campaigning' "$LAB_DIR/n$i/vipd.log" ||
		lab_fail "vipd on n$i is not campaigning within 5 s"
done
# "campaigning" is logged before the key's txn is sent: wait for the keys.
lab_wait_until 5 sc_queued 4 "$VIP4" || lab_fail "the election does not hold 4 keys within 5 s"
t_started=$(sc_now_us)
lab_log "every vipd campaigns"

keys=$(lab_etcdctl 1 get --prefix --keys-only "$ELECTION/" | sed '/^$/d')
sed 's/^/    key: /' <<<"$keys" >&2
lab_assert "the election holds 4 keys named $ELECTION/<lease hex> (outsider + 3 vipd)" \
	test "$(grep -cE "^$ELECTION/[0-9a-f]+\$" <<<"$keys")" -eq 4 -a "$(wc -l <<<"$keys")" -eq 4

hold_ms=$(((ttl + 2) * 1000))
while [ $((($(sc_now_us) - t_started) / 1000)) -lt "$hold_ms" ]; do
	o=$(lab_owner)
	[ -z "$o" ] || lab_fail "safety: $o took the VIP while the outsider leads ($((($(sc_now_us) - t_started) / 1000)) ms after vipd started)"
	sleep 0.05
done
for i in 1 2 3; do
	adds=$(grep -c " inet $VIP4/" "$LAB_DIR/n$i/addr.mon" || true)
	bd_safety "n$i never added the VIP while the outsider leads ($adds add events)" test "$adds" -eq 0
done
lab_log "ok: nobody held the VIP for $hold_ms ms behind the outsider"
for i in 1 2 3; do
	lab_assert "vipd on n$i sees the outsider as the leader ($(grep -m1 -o 'election: [a-z ]*name=[^ ]* leader=[^ ]*' "$LAB_DIR/n$i/vipd.log" || true))" \
		grep -q 'leader=outsider' "$LAB_DIR/n$i/vipd.log"
done

l=$(elect_leader 2)
lab_assert "etcdctl elect -l names the outsider (got '$l')" test "$l" = outsider

# --- the outsider resigns ---------------------------------------------------------
t_stop=$(sc_now_us)
lab_stop 1 outsider 5 || lab_fail "etcdctl elect ignored SIGTERM"
lab_log "outsider stopped (exit status ${LAB_LAST_STATUS:-?}): $(tail -n +3 "$LAB_DIR/n1/outsider.log" | tr '\n' ' ')"
o=$(lab_wait_owner 5) || lab_fail "no vipd took the VIP within 5 s of the outsider's resignation"
add_us=$(sc_ev_first "$o" add) || lab_fail "no add event of $VIP4 on $o in its monitor file"
lab_log "measured: $o added the VIP $(((add_us - t_stop) / 1000)) ms after SIGTERM to the outsider (monitor stamp)"
bd_timing "outsider's SIGTERM -> $o adds the VIP" $(((add_us - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (resign, watch event, add)"

l=$(elect_leader 3)
lab_assert "etcdctl elect -l names the node holding the address ($o; got '$l')" test "$l" = "$o"
sleep 0.5
bd_safety "still exactly one owner ($o)" test "$(lab_owner)" = "$o"
scenario_end
