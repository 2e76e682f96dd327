# shellcheck shell=bash
# bounds.sh - the two kinds of timed assertion the scenarios make, and the
# mechanism figures every timing bound is built from (docs/testing.md,
# "Safety and timing assertions").
#
#   safety  never two owners; the address gone before anyone else adds it;
#           no owner without quorum. Strict: no slack, never loosened.
#           bd_safety DESC CMD...
#   timing  how fast something moves. The bound is derived from the
#           mechanism (TTL, fence margin, kernel lifetime lag, etcd's lease
#           re-arm after a raft election) plus the stated scheduling slack,
#           and the measured figure is always printed. Speed targets live in
#           the benchmark, not here.
#           bd_timing WHAT MEASURED_MS BOUND_MS DERIVATION
#
# Sourced by scenario.sh (and by tests that use lab.sh directly); needs
# lab.sh's lab_log/lab_fail and, for the lease bounds, LAB_DIR and LAB_TTL.

# --- mechanism figures (ms) ----------------------------------------------------

# etcd's election timeout as the lab runs it (lab.sh: --election-timeout
# 1000 --heartbeat-interval 100). It is also the extension etcd 3.4 gives
# every lease when a new raft leader takes over (lessor Promote(extend):
# expiry = takeover + TTL + election timeout).
BD_ETCD_ELECTION_MS=1000
# etcd's lessor looks for expired leases every 500 ms (lessor runLoop), so
# a lease is revoked up to 500 ms after it expired.
BD_LESSOR_CHECK_MS=500
# Scheduling slack: what a short chain of wake-ups (signalfd or netlink or
# an etcd reply -> vipd -> etcd raft commit on tmpfs -> watch event -> the
# next vipd -> netlink) may lose on a busy 2-core machine: the suite itself
# keeps the load average near 5, and the acceptance runs add stress-ng
# --cpu 2. Each hop is a wake-up of a runnable process that the scheduler
# may defer by its latency target (tens of ms with a dozen runnable tasks);
# a dozen hops, with margin for etcd's own goroutines, stays under 1 s.
# Every timing bound adds it exactly once. Only the VM harness changes it
# (tests/vm/run: 3000 under qemu's emulation, where every hop is 3-5 times
# as slow).
BD_SLACK_MS=${BD_SLACK_MS:-1000}

# bd_ttl_ms: the lab's lease TTL in ms.
bd_ttl_ms() {
	echo $((LAB_TTL * 1000))
}

# bd_fence_margin_ms: vipd's fence margin, TTL/10 clamped to 200..1000 ms
# (session_margin_ms() in src/session.c).
bd_fence_margin_ms() {
	local m=$((LAB_TTL * 100))
	((m < 200)) && m=200
	((m > 1000)) && m=1000
	echo "$m"
}

# --- the two kinds of assertion ---------------------------------------------------

# bd_safety DESC CMD...: a safety assertion; strict.
bd_safety() {
	local desc=$1
	shift
	if "$@"; then
		lab_log "ok (safety): $desc"
	else
		lab_fail "safety: $desc (command: $*)"
	fi
}

# bd_timing WHAT MEASURED_MS BOUND_MS DERIVATION: print the measured figure
# and the bound with its derivation; fail if the figure exceeds the bound.
# MEASURED_MS and BOUND_MS are integers (a fraction is cut off).
bd_timing() {
	local what=$1 got=${2%%.*} bound=${3%%.*} why=$4
	if [[ ! $got =~ ^-?[0-9]+$ ]] || [[ ! $bound =~ ^[0-9]+$ ]]; then
		lab_fail "timing: $what: not a number (measured '$2', bound '$3')"
	fi
	if ((got <= bound)); then
		lab_log "ok (timing): $what: $got ms (bound $bound ms = $why)"
	else
		lab_fail "timing: $what: $got ms exceeds the bound $bound ms = $why"
	fi
}

# --- etcd raft elections ----------------------------------------------------------

# bd_etcd_elections SINCE_US [UNTIL_US]: the epoch-us times at which an etcd
# member became raft leader ("became leader at term" in any member's
# etcd.log of this lab, zap JSON with a UTC "ts" in ms), at or after
# SINCE_US (and at or before UNTIL_US), oldest first, one a line. Prints
# nothing if there was none.
bd_etcd_elections() {
	local since=$1 until=${2:-9999999999999999} ts
	ts=$(grep -h 'became leader at term' "$LAB_DIR"/n*/etcd.log 2>/dev/null |
		sed -n 's/.*"ts":"\([^"]*\)".*/\1/p') || true
	[ -n "$ts" ] || return 0
	date -f - +%s%6N <<<"$ts" | sort -n |
		awk -v a="$since" -v b="$until" '$1 >= a && $1 <= b'
}

# bd_lease_takeover FAULT_US END_US: the bound, in ms after FAULT_US, for
# another node to add the VIP when the owner stopped renewing its lease at
# FAULT_US (killed, frozen, powered off, partitioned), and its derivation;
# prints "BOUND_MS DERIVATION". END_US is when the takeover was seen (raft
# elections up to then count).
#
# The lease expires on the server no later than FAULT_US + TTL (its last
# keepalive reached etcd before the fault), unless a raft election
# re-armed it: a leader elected at E sets every lease to E + TTL + the
# election timeout. etcd revokes an expired lease within its 500 ms check,
# the revoke's watch event wakes the next candidate, which adds the
# address: that chain is the scheduling slack.
#   bound = max(FAULT + TTL, E_last + TTL + election timeout) - FAULT
#           + lessor check + slack
# E_last is the last election in [FAULT - TTL - election timeout, END]
# (an earlier one re-armed nothing that outlives FAULT + TTL).
bd_lease_takeover() {
	local fault=$1 end=$2 ttl e deadline why
	ttl=$(bd_ttl_ms)
	deadline=$((ttl))
	why="TTL $ttl"
	e=$(bd_etcd_elections $((fault - (ttl + BD_ETCD_ELECTION_MS) * 1000)) "$end" | tail -n1)
	if [ -n "$e" ]; then
		local re=$(((e - fault) / 1000 + ttl + BD_ETCD_ELECTION_MS))
		if ((re > deadline)); then
			deadline=$re
			why="etcd leader elected at fault$(printf '%+d' $(((e - fault) / 1000))) ms re-arms the lease: that + TTL $ttl + election timeout $BD_ETCD_ELECTION_MS"
		fi
	fi
	echo "$((deadline + BD_LESSOR_CHECK_MS + BD_SLACK_MS)) $why + lessor check $BD_LESSOR_CHECK_MS + slack $BD_SLACK_MS"
}
