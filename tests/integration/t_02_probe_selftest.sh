#!/bin/bash
# t_02_probe_selftest: the client probe (tests/tools/probe.c, behind
# lab_probe_*) against outages of known length, IPv4 and IPv6 at once. No
# vipd: the VIP is put on a node by hand and the outages are scripted.
#
#   drop 300 / 20 / 100 / 1000 ms   the switch drops the VIP's traffic
#   refuse 300 ms                   the owner resets every new connection
#   misanswer 300 ms                the owner's connections answer "wrong"
#   owner change n1 -> n2, no gap   must be a switch, not an outage
#   drop 500 ms while the VIP moves n2 -> n1: one outage, before n2 after n1
#
# Every outage must be reported once, with the right length, kind and nodes;
# the switch once, at the right time. Then the judge itself is shown to
# reject answers that are off by more than its tolerance. About 6 s.
#
# How long the real outage is (the assertion is derived, not tuned):
#
#   The windows are kernel-timed (lab_faults.sh, "timed faults"): one nft
#   transaction puts the VIPs into a set with "timeout W ms"; the rule
#   matches until the element expires. The kernel stamps the element with
#   expiration = jiffies at insertion + W/jiffy and stops matching once
#   jiffies reaches that. Insertion happens somewhere inside a jiffy, so
#   the real window G lasts
#       W - J  <  G  <=  W (+ tick interrupt latency, microseconds)
#   with J the jiffy (4 ms at HZ=250). No process has to run to end it: a
#   busy machine cannot stretch it.
#
# How far the probe may be off (probe.c, top comment):
#
#   An attempt starts every I = 10 ms (SCHED_FIFO, so on time); a failed
#   one is placed at its start, an ok one at its start + its handshake RTT
#   (microseconds here). The outage is reported from the first failed
#   attempt F to the first ok one after it, O. F lies in [start, start + I)
#   and O in [end, end + I) of the real window, so |duration - G| < I; with
#   the window's own J and the summary's rounding up to whole ms:
#       |duration_ms - W|  <=  I + J + 1
#   If the probe had to skip slots (max_gap_ms > I), the bound is its
#   largest gap between two attempt starts instead of I; the test logs it.
#   The summary's own bounds must contain the real window:
#       lo_ms <= W + 1   and   hi_ms >= W - J
set -euo pipefail
. "$(dirname "$0")/lab.sh"

I=10 # lab_probe_start's interval
J=$(lab_jiffy_ms)

# judge LINE W KIND BEFORE AFTER TOL: 0 if the summary's outage LINE is an
# outage of W ms (+- TOL), only of KIND (a drop may also show one
# read-timeout: a connection whose handshake passed just before the window
# and whose answer was then dropped), from BEFORE to AFTER, with bounds that
# contain the real window. Prints why not.
judge() {
	local line=$1 w=$2 kind=$3 before=$4 after=$5 tol=$6
	awk -v w="$w" -v kind="$kind" -v b="$before" -v a="$after" -v tol="$tol" -v j="$J" '
		{ for (i = 1; i < NF; i++) f[$i] = $(i + 1) }
		END {
			d = f["duration_ms"] + 0
			if (d < w - tol || d > w + tol) { print "duration " d " ms, want " w " +- " tol; exit 1 }
			if (f["lo_ms"] + 0 > w + 1) { print "lo_ms " f["lo_ms"] " above the real window (<= " w ")"; exit 1 }
			if (f["hi_ms"] + 0 < w - j) { print "hi_ms " f["hi_ms"] " below the real window (> " w - j ")"; exit 1 }
			if (f["before"] != b || f["after"] != a) { print "before " f["before"] " after " f["after"] ", want " b " -> " a; exit 1 }
			n = split(f["kinds"], k, ",")
			for (i = 1; i <= n; i++) {
				split(k[i], kv, "=")
				if (kv[1] == kind) continue
				if (kind == "connect-timeout" && kv[1] == "read-timeout" && kv[2] == 1) continue
				print "failure kind " k[i] ", want only " kind; exit 1
			}
			if (index(f["kinds"], kind "=") == 0) { print "no " kind " among " f["kinds"]; exit 1 }
		}' <<<"$line"
}

mac() { lab_exec "$1" cat /sys/class/net/eth0/address; }

# vip_add NODE / vip_del NODE: NODE takes / drops VIP4 and VIP6.
vip_add() {
	ip -n "$LAB_PREFIX-$1" addr add "$VIP4/32" dev eth0
	ip -n "$LAB_PREFIX-$1" addr add "$VIP6/128" dev eth0 nodad
}
vip_del() {
	ip -n "$LAB_PREFIX-$1" addr del "$VIP4/32" dev eth0
	ip -n "$LAB_PREFIX-$1" addr del "$VIP6/128" dev eth0
}

# client_to NODE: the client's neighbour entries for VIP4 and VIP6 point at
# NODE: what a gratuitous ARP or an unsolicited NA does (vipd's own
# announcements are tested in t_20 and t_28). Both in ONE `ip -batch` run,
# SCHED_FIFO from the start (chrt execs ip netns exec, which execs ip), so
# it takes milliseconds even on a busy machine. Sets MOVE_T0 (before) and
# MOVE_T1 (after), epoch us.
client_to() {
	local m rt=()
	m=$(mac "$1")
	command -v chrt >/dev/null 2>&1 && rt=(chrt -f 10)
	MOVE_T0=$(_lab_now_us)
	"${rt[@]}" ip netns exec "$LAB_PREFIX-cl" ip -batch - <<EOF
neigh replace $VIP4 lladdr $m dev eth0 nud reachable
neigh replace $VIP6 lladdr $m dev eth0 nud reachable
EOF
	MOVE_T1=$(_lab_now_us)
	lab_log "client's entries for the VIPs point at $1 (switched in $(((MOVE_T1 - MOVE_T0) / 1000)) ms)"
}

lab_up 2
lab_service_up
ip -n "$LAB_PREFIX-n1" addr add "$VIP4/32" dev eth0
ip -n "$LAB_PREFIX-n1" addr add "$VIP6/128" dev eth0 nodad
# shellcheck disable=SC2016 # eval expands it
lab_assert "client reaches n1 on VIP4" lab_wait_until 3 eval '[ "$(lab_client_reach)" = n1 ]'
# shellcheck disable=SC2016 # eval expands it
lab_assert "client reaches n1 on VIP6" lab_wait_until 3 eval '[ "$(lab_client_reach v6)" = n1 ]'
lab_probe_start
lab_probe_start v6
sleep 0.3

# The cases, in order: "W KIND BEFORE AFTER" for each expected outage.
expect=()
for w in 300 20 100 1000; do
	lab_vip_drop "$w"
	expect+=("$w connect-timeout n1 n1")
	sleep "$(awk -v w="$w" 'BEGIN { print w / 1000 + 0.3 }')"
done
lab_vip_refuse 1 300
expect+=("300 refused n1 n1")
sleep 0.6
lab_vip_misanswer 1 300
expect+=("300 wrong-answer n1 n1")
sleep 0.6

# No gap: n2 takes the VIP while n1 still has it, the client turns to n2,
# then n1 lets go; attempts in flight to n1 still complete.
vip_add n2
client_to n2
sw_t0=$MOVE_T0 sw_t1=$MOVE_T1
sleep 0.2
vip_del n1
sleep 0.3

# An outage that spans an owner change: n1 takes the VIP back (both hold it,
# the client still goes to n2), the switch drops the VIP's traffic for 500
# ms, and inside that window the client turns to n1; n2 lets go after it.
# The window ends no earlier than its start (>= LAB_WIN_T0) + 500 - J ms:
# the switch must be done one interval before that.
vip_add n1
lab_vip_drop 500
client_to n1
expect+=("500 connect-timeout n2 n1")
if [ "$MOVE_T1" -gt $((LAB_WIN_T0 + (500 - J - I) * 1000)) ]; then
	lab_fail "the client's entries were switched $(((MOVE_T1 - LAB_WIN_T0) / 1000)) ms into a 500 ms window: too late to judge this case"
fi
sleep 0.6
vip_del n2
sleep 0.2
lab_probe_stop >&2
lab_probe_stop v6 >&2

failures=0
for fam in v4 v6; do
	gap=$(awk '$1 == "skipped" { print $4 }' "$LAB_DIR/cl/probe${fam#v}.log")
	tol=$((I + J + 1))
	g=$(awk -v g="$gap" 'BEGIN { printf "%d", g + 0.999 }')
	if [ "$g" -gt $((I + 1)) ]; then
		tol=$((g + J + 1))
		lab_log "$fam: the probe's largest gap between attempts was $gap ms (late slots): tolerance $tol ms"
	fi
	n=$(lab_probe_value outages "$fam")
	lab_assert "$fam: ${#expect[@]} outages reported (got $n)" test "$n" -eq "${#expect[@]}"
	for k in "${!expect[@]}"; do
		read -r w kind before after <<<"${expect[$k]}"
		line=$(lab_probe_outages "$fam" | awk -v k=$((k + 1)) '$2 == k')
		if why=$(judge "$line" "$w" "$kind" "$before" "$after" "$tol"); then
			lab_log "ok: $fam outage $((k + 1)): ${w} ms $kind $before -> $after (tolerance $tol ms): $line"
		else
			lab_log "FAILED: $fam outage $((k + 1)) (want ${w} ms $kind $before -> $after): $why: $line"
			failures=$((failures + 1))
		fi
	done
	lab_assert "$fam: one switch (owner change without a gap)" test "$(lab_probe_value switches "$fam")" -eq 1
	sw=$(awk '$1 == "switch" { print $4, $6, $8 }' "$LAB_DIR/cl/probe${fam#v}.log")
	read -r at from to <<<"$sw"
	# the first attempt started after the entries were switched answers
	# n2: at most one interval (+1 ms rounding) after they were
	lab_assert "$fam: the switch n1 -> n2 at $at, while the client's entries changed ($((sw_t0 / 1000))..$((sw_t1 / 1000)) + $I ms)" \
		test "$from $to" = "n1 n2" -a "$at" -ge $((sw_t0 / 1000 - 1)) -a "$at" -le $((sw_t1 / 1000 + I + 1))
	ans=$(awk '$1 == "answers"' "$LAB_DIR/cl/probe${fam#v}.log")
	# shellcheck disable=SC2016 # eval expands it
	lab_assert "$fam: answers only from n1 and n2 ($ans)" eval '[[ $ans =~ ^answers\ n1=[0-9]+\ n2=[0-9]+$ ]]'
done
[ "$failures" -eq 0 ] || lab_fail "$failures outages misreported (see above)"

# The judge rejects what is off by more than the tolerance (so the checks
# above can fail): a probe one interval + J + 2 ms off, in either direction,
# bounds that miss the window, a wrong kind, wrong nodes.
tol=$((I + J + 1))
bad=(
	"outage 1 start_ms 0 duration_ms $((300 + tol + 1)) failures 31 before n1 after n1 kinds connect-timeout=31 lo_ms 300 hi_ms 320"
	"outage 1 start_ms 0 duration_ms $((300 - tol - 1)) failures 28 before n1 after n1 kinds connect-timeout=28 lo_ms 270 hi_ms 290"
	"outage 1 start_ms 0 duration_ms 300 failures 30 before n1 after n1 kinds connect-timeout=30 lo_ms 302 hi_ms 310"
	"outage 1 start_ms 0 duration_ms 300 failures 30 before n1 after n1 kinds connect-timeout=30 lo_ms 280 hi_ms 295"
	"outage 1 start_ms 0 duration_ms 300 failures 30 before n1 after n1 kinds refused=30 lo_ms 290 hi_ms 310"
	"outage 1 start_ms 0 duration_ms 300 failures 30 before n1 after n1 kinds connect-timeout=28,read-timeout=2 lo_ms 290 hi_ms 310"
	"outage 1 start_ms 0 duration_ms 300 failures 30 before n1 after n2 kinds connect-timeout=30 lo_ms 290 hi_ms 310"
)
for line in "${bad[@]}"; do
	if judge "$line" 300 connect-timeout n1 n1 "$tol" >/dev/null; then
		lab_fail "the judge accepted a wrong report: $line"
	fi
done
good="outage 1 start_ms 0 duration_ms $((300 + tol)) failures 31 before n1 after n1 kinds connect-timeout=30,read-timeout=1 lo_ms 300 hi_ms 320"
lab_assert "the judge accepts a report just within the tolerance" judge "$good" 300 connect-timeout n1 n1 "$tol"
lab_log "ok: the judge rejects ${#bad[@]} wrong reports"
lab_log "PASS: the probe measured every scripted outage to within one interval"
