#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# failover.sh - part of scripts/bench: one system on one 3-node lab, the
# idle footprint, then every failover scenario N times; result lines
# appended to OUT (the format is in tests/bench/report.awk).
#
#   failover.sh LABEL SYSTEM TTL PREVOTE N IDLE_S OUT [SCENARIO...]
#
# LABEL names the system in the results (e.g. "vipd-ttl3"); SYSTEM is vipd
# or keepalived; TTL the vipd lease TTL (s; ignored for keepalived);
# PREVOTE 1 runs etcd with --pre-vote (LAB_ETCD_PREVOTE); IDLE_S the
# footprint window (0: none). Default scenarios: all that apply.
#
# Each trial: the owner O is settled and the client reaches it; the probe
# starts (an attempt every 10 ms); the fault hits O at T; the fault is held
# until another node holds the VIP, plus 1 s (hiccup: 1 s; quorum loss:
# until the VIP is gone, plus 1 s), then repaired (the daemon restarted,
# power back on, partition healed, SIGCONT, quorum restored); when one node
# holds the VIP again and the client reaches it (up to 90 s) the probe
# stops. The hiccup of vipd is reported as
# hiccup-prevote or hiccup-no-prevote (etcd's --pre-vote). Result line:
#   R LABEL SCENARIO TRIAL OUTAGE_MS OUTAGES TAKEOVER_MS OVERLAP_MS CHANGES
#     OWNER ETCD_LEADER
# Measured, per trial:
#   outage     the client's total outage, ms (sum of the probe's outages)
#   takeover   T to the first add of the VIP by a node other than O, ms,
#              from the monitor ("-" if none; quorum loss: from the
#              restore to the first add by anyone)
#   overlap    ms two or more nodes held the VIP at once (owners.awk)
#   changes    ownership intervals begun after T (a new owner, or O
#              dropping and re-adding it)
# Run as root, from scripts/bench.
set -euo pipefail
BENCH_HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../integration/scenario.sh
. "$BENCH_HERE/../integration/scenario.sh"
# shellcheck source=lib.sh
. "$BENCH_HERE/lib.sh"

[ $# -ge 7 ] || {
	echo "usage: failover.sh LABEL SYSTEM TTL PREVOTE N IDLE_S OUT [SCENARIO...]" >&2
	exit 2
}
LABEL=$1 BENCH_SYS=$2 TTL=$3 N=$5 IDLE=$6 OUT=$7
export LAB_ETCD_PREVOTE=$4
shift 7
SCENARIOS=("$@")
if [ ${#SCENARIOS[@]} -eq 0 ]; then
	SCENARIOS=(graceful kill power-follower power-leader partition sigstop hiccup quorum)
	[ "$BENCH_SYS" = vipd ] || SCENARIOS=(graceful kill power-follower partition sigstop hiccup)
fi
# how long to wait for a takeover before calling the trial failed, s
WAIT=$((TTL + 10))
[ "$BENCH_SYS" = vipd ] || WAIT=15

# --- the lab --------------------------------------------------------------------

lab_up 3 --ttl "$TTL"
# etcd runs for keepalived too (a control plane's nodes run it anyway, and
# the footprint compares the same machines), but keepalived never uses it.
lab_etcd_up
lab_service_up
lab_monitor_start
for i in 1 2 3; do
	if [ "$BENCH_SYS" = vipd ]; then
		# lab_vipd_start runs it with -v (debug logging, whatever the
		# file says): the footprint's CPU includes that logging
		lab_vipd_config "$i" || lab_fail "vipd config for n$i rejected"
	fi
	bench_daemon_start "$i"
done
lab_wait_owner 20 >/dev/null || lab_fail "no single owner within 20 s of start"

# --- helpers ------------------------------------------------------------------------

# settle TIMEOUT: wait until one node holds the VIP, the client reaches
# it through the VIP and (vipd) etcd is healthy; print the owner. Non-zero
# after TIMEOUT s. A keepalived backup that briefly took the VIP at its
# start leaves the client's neighbour entry on its MAC, and the owner sends
# no further GARP: the client then waits for its entry to go stale (tens of
# seconds). That is an outage of the trial that caused it, so a trial ends
# only once the client reaches the owner again (the probe still running).
settle() {
	local o
	lab_wait_until "$1" _settled || return 1
	o=$(lab_owner)
	if [ "$BENCH_SYS" = vipd ] && ! lab_etcd_healthy; then
		lab_etcd_wait_healthy 30 || return 1
	fi
	echo "$o"
}
_settled() {
	local o
	o=$(lab_owner)
	[ -n "$o" ] && [[ $o != *" "* ]] && [ "$(lab_client_reach 2>/dev/null || true)" = "$o" ]
}

# other NODE: a node that is not NODE.
other() { echo "n$((${1#n} % 3 + 1))"; }

# total overlap (ms) of the VIP so far, and the intervals begun since ISO.
overlap_now() { lab_overlap_ms "$VIP4" 2>/dev/null || echo 0; }
changes_since() {
	lab_owners_report "$VIP4" | awk -v t="$1" '$1 == "#" && $2 == "interval" && $6 >= t { n++ } END { print n + 0 }'
}

# first_add_other OWNER SINCE_US: the first add of the VIP by a node other
# than OWNER at or after SINCE_US (epoch us); non-zero if none.
first_add_other() {
	local i t best=''
	for i in 1 2 3; do
		[ "n$i" = "$1" ] && continue
		t=$(sc_ev_first "n$i" add "$2") || continue
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	[ -n "$best" ] || return 1
	echo "$best"
}

first_add_any() {
	local i t best=''
	for i in 1 2 3; do
		t=$(sc_ev_first "n$i" add "$1") || continue
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	[ -n "$best" ] || return 1
	echo "$best"
}

# wait_new OWNER: wait until a node other than OWNER holds the VIP (OWNER
# may still hold it too: a killed keepalived leaves its address behind).
wait_new() {
	lab_wait_until "$WAIT" _held_elsewhere "$1" ||
		lab_log "$LABEL: no new owner within $WAIT s (holders: $(lab_owner))"
}
_held_elsewhere() {
	local h
	for h in $(lab_owner); do
		[ "$h" = "$1" ] || return 0
	done
	return 1
}

restart_daemon() {
	bench_daemon_start "$1" || lab_fail "$LABEL: cannot restart the daemon on $1"
}

# place_leader SCENARIO OWNER: the etcd raft leader where the scenario
# wants it (power-leader: the owner's member; power-follower, partition,
# hiccup: another member); others: wherever it is.
place_leader() {
	[ "$BENCH_SYS" = vipd ] || return 0
	case $1 in
	power-leader) sc_etcd_move_leader "$2" >/dev/null 2>&1 || lab_log "cannot move the etcd leader to $2" ;;
	power-follower | partition | hiccup)
		if [ "$(sc_etcd_leader || true)" = "$2" ]; then
			sc_etcd_move_leader "$(other "$2")" >/dev/null 2>&1 || lab_log "cannot move the etcd leader off $2"
		fi
		;;
	esac
}

# fault SCENARIO OWNER T: inflict, hold and repair. Sets TK_FROM (the time
# the takeover is counted from, epoch us) and TK_OTHER (1: the takeover is
# another node's first add; 0: anyone's, quorum loss).
fault() {
	local s=$1 o=$2 t=$3 id=${2#n} i
	TK_FROM=$t TK_OTHER=1
	case $s in
	graceful)
		bench_daemon_stop "$id"
		wait_new "$o"
		sleep 1
		restart_daemon "$id"
		;;
	kill)
		bench_daemon_signal "$id" KILL
		lab_wait_until 5 bench_daemon_gone "$id" || true
		wait_new "$o"
		sleep 1
		restart_daemon "$id"
		;;
	power-follower | power-leader)
		lab_power_off "$id" || true
		wait_new "$o"
		sleep 1
		lab_power_on "$id"
		lab_service_start "$id" || true
		lab_etcd_start "$id" || true
		lab_etcd_wait_healthy 30 || lab_log "etcd not healthy again after $o's reboot"
		restart_daemon "$id"
		;;
	partition)
		bench_partition "$id"
		wait_new "$o"
		sleep 1
		bench_heal "$id"
		;;
	sigstop)
		bench_daemon_signal "$id" STOP
		wait_new "$o"
		sleep 1
		bench_daemon_signal "$id" CONT
		;;
	hiccup)
		lab_hiccup "$id" 1
		# then watch: anything the hiccup sets off happens within TTL + 2 s
		sleep $((TTL + 2))
		TK_OTHER=1
		;;
	quorum)
		# the two members other than the owner's: the owner's vipd still
		# reaches its own member, which has no quorum
		local stop=()
		for i in 1 2 3; do [ "$i" = "$id" ] || stop+=("$i"); done
		lab_quorum_loss "${stop[@]}"
		lab_wait_until $((TTL + 10)) _lab_no_owner "$VIP4" || lab_log "$LABEL: the VIP stayed without quorum"
		sleep 1
		TK_FROM=$(sc_now_us) TK_OTHER=0
		lab_quorum_restore || lab_log "etcd not healthy after the quorum came back"
		;;
	*) lab_fail "unknown scenario $s" ;;
	esac
}

# --- footprint ------------------------------------------------------------------------

settle 60 >/dev/null || lab_fail "$LABEL: not settled 60 s after the start (holders: $(lab_owner))"
if [ "$IDLE" -gt 0 ]; then
	lab_log "$LABEL: idle footprint over $IDLE s"
	bench_idle "$LABEL" "$IDLE" "$OUT"
fi

# --- the trials ---------------------------------------------------------------------

for s in "${SCENARIOS[@]}"; do
	for ((k = 1; k <= N; k++)); do
		o=$(settle 60) || lab_fail "$LABEL: not settled before $s #$k (holders: $(lab_owner))"
		place_leader "$s" "$o"
		o=$(settle 60) || lab_fail "$LABEL: not settled before $s #$k (holders: $(lab_owner))"
		leader=-
		if [ "$BENCH_SYS" = vipd ]; then leader=$(sc_etcd_leader || echo '?'); fi
		ov0=$(overlap_now)
		lab_probe_start >/dev/null
		sleep 0.5
		t=$(sc_now_us)
		iso=$(bench_iso "$t")
		fault "$s" "$o" "$t"
		settle 90 >/dev/null || lab_log "$LABEL $s #$k: not settled 90 s after the repair (holders: $(lab_owner))"
		sleep 0.3
		lab_probe_stop >/dev/null
		outage=$(lab_probe_outages | awk '{ for (i = 1; i < NF; i++) if ($i == "duration_ms") s += $(i + 1) } END { print s + 0 }')
		nout=$(lab_probe_value outages || echo '?')
		if [ "$TK_OTHER" = 1 ]; then
			ta=$(first_add_other "$o" "$TK_FROM") || ta=
		else
			ta=$(first_add_any "$TK_FROM") || ta=
		fi
		tk=-
		[ -z "$ta" ] || tk=$(((ta - TK_FROM) / 1000))
		ov1=$(overlap_now)
		ch=$(changes_since "$iso")
		name=$s
		if [ "$s" = hiccup ] && [ "$BENCH_SYS" = vipd ]; then
			if [ "$LAB_ETCD_PREVOTE" = 1 ]; then name=hiccup-prevote; else name=hiccup-no-prevote; fi
		fi
		echo "R $LABEL $name $k $outage $nout $tk $((ov1 - ov0)) $ch $o $leader" >>"$OUT"
		lab_log "$LABEL $s #$k: owner $o (etcd leader $leader): outage $outage ms ($nout), takeover $tk ms, overlap $((ov1 - ov0)) ms, changes $ch"
	done
done
lab_log "$LABEL: done"
