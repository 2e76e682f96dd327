#!/bin/bash
# t_54_hiccup_ttl3: at the smallest TTL (3 s), with etcd run as production
# runs it (--pre-vote, etcd >= 3.5's default: LAB_ETCD_PREVOTE=1) and the
# etcd leader on another node, the owner's network goes silent for TTL/5
# (0.6 s: lab_hiccup drops everything in and out of its eth0; its vipd
# still reaches its own etcd member on 127.0.0.1, which forwards the
# keepalives to the leader across the silence). A hiccup of TTL/5 without
# a new raft leader must never drop the VIP (issue 10).
#
#   safety  no other node ever adds the VIP; no overlap.
#   timing  (stability) in every case the owner's monitor shows no Deleted
#           event, its vipd logs no "released" line, and the owner held the
#           VIP at every sample during the hiccup and TTL + 2 s after it.
#
# The bound behind it (docs/design.md "The fence"): after the last
# keepalive answered before the hiccup, sent at s, the address lives to the
# fence less the refresh slack, s + window - 100 ms (window = TTL - TTL/10
# - kernel lag 1.1 s = 1.6 s), and that keepalive went out at most one
# period (400 ms at TTL 3) before the hiccup began. So a renewal must come
# back within 1.5 - 0.4 - 0.6 = 0.5 s after the hiccup ends: the member's
# TCP retransmission to the leader (RTO 200 ms, then 400 ms) plus one round
# trip. Before this re-derivation the lifetime was floor((fence - now - 1 s)
# / 1 s) = 1 s after each renewal, a keepalive every 750 ms: the address
# went 1.0-1.5 s after s, and most hiccups of 0.6 s dropped it (check: run
# this test against the old build: `git stash` src/, make, run).
#
# Each hiccup starts PHASE s after a keepalive succeeded, so keepalives are
# sent into the silence at different points (the old build dropped the VIP
# whenever a 750 ms keepalive fell into the silence: phases 0.45-0.65 s); a case in which etcd elected
# a new raft leader anyway (never seen with pre-vote) is printed and not
# failed: the target holds only without one. About 45 s.
set -euo pipefail
export LAB_ETCD_PREVOTE=1
. "$(dirname "$0")/scenario.sh"

HICCUP_S=${T54_HICCUP_S:-0.6} # TTL/5 (T54_HICCUP_S=1 tries a longer one: not a target)

# keepalives NODE: how many successful keepalives NODE's vipd logged.
keepalives() {
	grep -c ' session: keepalive ok ' "$LAB_DIR/$1/vipd.log" || true
}

# released NODE: how many times NODE's vipd let go of the VIP.
released() {
	grep -c ' vip: released ' "$LAB_DIR/$1/vipd.log" || true
}

# hiccup_case LABEL PHASE: silence the owner for HICCUP_S from PHASE s
# after a keepalive; check the owner kept the VIP throughout.
hiccup_case() {
	local label=$1 phase=$2 k0 r0 t0 t_start t_end hold_ms o dels i adds gaps elections rel
	t0=$(sc_now_us)
	# shellcheck disable=SC2034 # read by the eval below
	k0=$(keepalives "$OWNER")
	r0=$(released "$OWNER")
	# shellcheck disable=SC2016 # eval expands it
	lab_wait_until $((ttl + 1)) eval '[ "$(keepalives "$OWNER")" -gt "$k0" ]' ||
		lab_fail "($label) no keepalive of $OWNER within TTL + 1 s (log format changed?)"
	sleep "$phase"

	t_start=$(sc_now_us)
	lab_hiccup "$OWNER" "$HICCUP_S" &
	hold_ms=$(((ttl + 2) * 1000))
	gaps=0
	t_end=0
	while :; do
		o=$(lab_owner)
		if [ -z "$o" ]; then
			gaps=$((gaps + 1))
		elif [ "$o" != "$OWNER" ]; then
			lab_fail "safety: ($label) $((($(sc_now_us) - t_start) / 1000)) ms after the hiccup began the VIP is held by '$o', not $OWNER"
		fi
		if [ "$t_end" -eq 0 ] && ! kill -0 $! 2>/dev/null; then
			t_end=$(sc_now_us)
		fi
		[ "$t_end" -gt 0 ] && [ $((($(sc_now_us) - t_end) / 1000)) -ge "$hold_ms" ] && break
		sleep 0.05
	done
	wait

	dels=$(sc_mon_events "$OWNER" | awk -v t="$t0" 'NF && $2 == "del" && $1 >= t')
	rel=$(($(released "$OWNER") - r0))
	lab_log "($label) hiccup of ${HICCUP_S}s, $((($(sc_now_us) - t_start) / 1000 - hold_ms)) ms with the wait; $OWNER's vipd around it:"
	awk -v a="$(date -u -d @$(((t_start - 1000000) / 1000000)) +%FT%T)" \
		-v b="$(date -u -d @$(((t_end + 2000000) / 1000000)) +%FT%T)" \
		'$0 >= a && $0 <= b && !/ announced /' "$LAB_DIR/$OWNER/vipd.log" | cut -c1-200 | sed 's/^/    vipd: /' >&2
	sc_never_added "$label" "$OWNER"
	elections=$(sc_elections_ms "$t0" "$t_start")
	lab_log "($label) etcd raft elections (ms from the hiccup's start):${elections:- none}"
	if [ -z "$dels" ] && [ "$gaps" -eq 0 ] && [ "$rel" -eq 0 ]; then
		lab_log "ok (timing): ($label) $OWNER held the VIP without a gap through the ${HICCUP_S}s hiccup and $hold_ms ms after it"
	elif [ -n "$elections" ]; then
		lab_log "NOTE: ($label) $OWNER dropped the VIP after etcd elected a new raft leader: safe, printed, not failed (see the header)"
	else
		lab_fail "($label) $OWNER dropped the VIP ($(grep -c . <<<"$dels") Deleted events, $rel released lines, $gaps samples with no holder) although etcd elected no new raft leader"
	fi
}

scenario_up --ttl 3
ttl=$LAB_TTL
other=n$((OWNER_ID % 3 + 1))
sc_etcd_move_leader "$other" || lab_fail "cannot make $other the etcd leader"
lab_log "etcd leader: $(sc_etcd_leader || echo '?'); VIP owner: $OWNER; etcd --pre-vote"
hiccup_case a 0.05
hiccup_case b 0.25
hiccup_case c 0.45
hiccup_case d 0.55
hiccup_case e 0.65
scenario_end
