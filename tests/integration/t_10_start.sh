#!/bin/bash
# t_10_start: scenario 1, a cold start of 3 nodes (TTL 5 s): exactly one
# node owns the VIP within 10 s; the other two are candidates (their logs
# show them campaigning and naming the owner as leader, etcd holds one
# election key per node with values n1, n2, n3), `etcdctl elect -l` (etcd's
# own client of the same recipe) names the owner; no node ever held the
# VIP together with another; the client reaches the owner's service
# through the VIP. About 10 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

ELECTION=/vipd/election/$VIP4

scenario_up
others=()
for i in 1 2 3; do
	[ "n$i" = "$OWNER" ] || others+=("n$i")
done

# Start -> owner: from the first line of the earliest vipd log to the
# owner's add event in its monitor file (same wall clock everywhere).
t_first_log_us() {
	local line
	line=$(head -n 1 "$LAB_DIR/$1/vipd.log") || return 1
	date -d "${line%% *}" +%s%6N
}
t0=
for i in 1 2 3; do
	t=$(t_first_log_us "n$i") || lab_fail "no log line from vipd on n$i"
	if [ -z "$t0" ] || [ "$t" -lt "$t0" ]; then t0=$t; fi
done
tadd=$(sc_ev_first "$OWNER" add) || lab_fail "no add event of $VIP4 on $OWNER in its monitor file"
lab_log "first vipd start -> $OWNER adds $VIP4: $(( (tadd - t0) / 1000 )) ms"
lab_assert "owner within 10 s of the first vipd start" test $((tadd - t0)) -le 10000000

# Still exactly one owner a little later (nobody grabbed it meanwhile).
sleep 1
lab_assert "exactly one owner one second later ($(lab_owner))" test "$(lab_owner)" = "$OWNER"

# The owner's log says it was elected and acquired the VIP.
olog=$LAB_DIR/$OWNER/vipd.log
lab_assert "$OWNER logged 'election: elected'" grep -q "election: elected name=$ELECTION " "$olog"
lab_assert "$OWNER logged 'vip: acquired vip=$VIP4'" grep -q "vip: acquired vip=$VIP4 .*node=$OWNER " "$olog"

# The others campaign and know who leads. A candidate that started before
# the owner's key existed may first log another leader (or none) and then
# "leader changed ... leader=<owner>"; its last leader line must name the
# owner (within 5 s: it logs it once its range read answers) and it must
# never claim to be elected.
last_leader_line() {
	grep -E "election: (not leader|leader changed) name=$ELECTION " "$1" | tail -n 1 || true
}
names_owner() {
	local last
	last=$(last_leader_line "$1")
	[ -n "$last" ] && [ "${last##* leader=}" = "$OWNER" ]
}
for o in "${others[@]}"; do
	log=$LAB_DIR/$o/vipd.log
	lab_assert "$o logged 'election: campaigning'" grep -q "election: campaigning name=$ELECTION " "$log"
	lab_wait_until 5 names_owner "$log" || true
	last=$(last_leader_line "$log")
	lab_log "$o: last leader line: ${last:-none}"
	lab_assert "$o's last leader line names $OWNER" test -n "$last" -a "${last##* leader=}" = "$OWNER"
	if grep -q "election: elected name=$ELECTION " "$log"; then
		lab_fail "$o logged 'election: elected' although $OWNER owns the VIP"
	fi
	if grep -q "vip: acquired" "$log"; then
		lab_fail "$o acquired the VIP at some point: $(grep 'vip: acquired' "$log")"
	fi
done

# etcd: three keys under the election prefix, one per node, with the node
# names as values; the lowest create revision (the leader) is the owner's.
keys=$(lab_etcdctl 1 get --prefix "$ELECTION/") || lab_fail "etcdctl get failed"
printf '%s\n' "$keys" | sed 's/^/    /' >&2
nkeys=$(grep -c "^$ELECTION/" <<<"$keys") || true
lab_assert "etcd holds 3 keys under $ELECTION/ (got $nkeys)" test "$nkeys" -eq 3
values=$(lab_etcdctl 1 get --prefix --print-value-only "$ELECTION/" | grep -v '^$' | sort | tr '\n' ' ') || true
lab_assert "their values are n1 n2 n3 (got: $values)" test "$values" = "n1 n2 n3 "
first=$(lab_etcdctl 1 get --prefix --sort-by=CREATE --order=ASCEND --limit=1 \
	--print-value-only "$ELECTION/" | head -n 1) || true
lab_assert "the key with the lowest create revision is $OWNER's (got $first)" test "$first" = "$OWNER"

# etcd's own election client agrees (same recipe): it prints the leader's
# value and keeps observing; 3 s bound, then it is stopped.
# It prints the leader's key, then its value, on separate lines.
out=$(lab_exec 2 env ETCDCTL_API=3 timeout 3 etcdctl --endpoints=http://127.0.0.1:2379 \
	elect -l "$ELECTION" 2>&1) || true
printf '%s\n' "$out" | sed 's/^/    etcdctl elect -l: /' >&2
leader=$(grep -v "^$ELECTION/" <<<"$out" | grep -v '^$' | head -n 1) || true
lab_assert "etcdctl elect -l $ELECTION prints $OWNER (got '$leader')" test "$leader" = "$OWNER"

# Nobody else ever held it: one ownership interval in the whole run.
nint=$(lab_owners_report "$VIP4" | awk '$1 == "intervals" { print $2 }') || true
lab_assert "one ownership interval since start (got ${nint:-?})" test "${nint:-0}" -eq 1

scenario_end
