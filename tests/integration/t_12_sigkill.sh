#!/bin/bash
# t_12_sigkill: scenario 3, the owner's vipd is SIGKILLed (a crash): nobody
# deletes the VIP, so the kernel must remove it when its valid lifetime
# runs out (a "Deleted ... valid_lft 0sec" event on the old owner), and that
# must happen BEFORE any other node adds it (stamps from the monitor files);
# a new owner appears within TTL + 2 s of the kill; no overlap; the client
# reaches the new owner. About 15 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

# --- local helpers (lab.sh has none for event times) -------------------------
# t_now_us: wall clock in epoch microseconds (the monitor's clock).
t_now_us() {
	local t=$EPOCHREALTIME
	echo "${t%.*}${t#*.}"
}

# t_ev NODE add|del [SINCE_US] [line]: the epoch-us stamps of the VIP4 add
# (incl. lifetime refreshes) or Deleted events in NODE's monitor file at or
# after SINCE_US, one a line; with "line", "US RAW-EVENT-LINE".
t_ev() {
	local node=n${1#n} kind=$2 since=${3:-0} mode=${4:-} line st us
	while IFS= read -r line; do
		[[ $line == *" inet $VIP4/"* ]] || continue
		if [[ $line == *"] Deleted "* ]]; then
			[ "$kind" = del ] || continue
		else
			[ "$kind" = add ] || continue
		fi
		st=${line#[}
		st=${st%%]*}
		us=$(date -d "${st/T/ }" +%s%6N) || return 1
		if [ "$us" -ge "$since" ]; then
			if [ "$mode" = line ]; then echo "$us $line"; else echo "$us"; fi
		fi
	done <"$LAB_DIR/$node/addr.mon"
	return 0
}

# t_ev_first NODE add|del [SINCE_US] [line]: the first of those; non-zero if none.
t_ev_first() {
	local v
	v=$(t_ev "$@") || return 1
	[ -n "$v" ] || return 1
	echo "${v%%$'\n'*}"
}

# t_ms FROM_US TO_US: TO - FROM in ms, one decimal.
t_ms() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }'
}

# t_etcd_leader: the node whose etcd member leads the raft group (n1..),
# non-zero if unknown. For the log: a lost leader delays lease expiry.
t_etcd_leader() {
	local out i
	for i in 1 2 3; do
		lab_pid "$i" etcd >/dev/null || continue
		out=$(lab_etcdctl "$i" endpoint status --cluster -w simple 2>/dev/null) || continue
		# "http://198.18.0.12:2379, <id>, <version>, <size>, true, ..."
		out=$(awk -F', ' '$5 == "true" { print $1 }' <<<"$out")
		[[ $out =~ 198\.18\.0\.1([0-9]): ]] || continue
		echo "n${BASH_REMATCH[1]}"
		return 0
	done
	return 1
}

scenario_up
old=$OWNER
ttl_us=$((LAB_TTL * 1000000))
lab_log "etcd raft leader: $(t_etcd_leader || echo unknown)"
lab_probe_start
sleep 1

t_kill=$(t_now_us)
lab_vipd_kill "$old" || lab_fail "cannot SIGKILL vipd on $old"
lab_log "vipd on $old SIGKILLed (status ${LAB_LAST_STATUS:-?})"
lab_assert "vipd on $old died of SIGKILL" test "${LAB_LAST_STATUS:-x}" = 137

# The VIP leaves $old by itself, then someone else takes it.
new=$(lab_wait_owner $((LAB_TTL + 4)) "$old") || lab_fail "no new owner within TTL + 4 s of the kill"
sleep 0.5
lab_probe_stop >&2
outage=$(lab_probe_max_outage_ms) || lab_fail "no probe summary"

del=$(t_ev_first "$old" del "$t_kill" line) || lab_fail "no Deleted event of $VIP4 on $old after the kill"
t_del=${del%% *}
lab_log "$old: ${del#* }"
t_add=$(t_ev_first "$new" add "$t_kill") || lab_fail "no add event of $VIP4 on $new after the kill"
lab_log "SIGKILL -> kernel removes $VIP4 from $old: $(t_ms "$t_kill" "$t_del") ms"
lab_log "SIGKILL -> $new adds $VIP4: $(t_ms "$t_kill" "$t_add") ms"
lab_log "expiry on $old -> add on $new: $(t_ms "$t_del" "$t_add") ms"
lab_log "probe max outage: $outage ms"
lab_assert "the removal on $old was the kernel's lifetime expiry (valid_lft 0sec)" \
	test "${del#*valid_lft 0sec}" != "$del"
lab_assert "$VIP4 left $old before $new added it" test "$t_del" -le "$t_add"
lab_assert "new owner $new within TTL + 2 s of the kill" test $((t_add - t_kill)) -le $((ttl_us + 2000000))
if others=$(t_ev "$old" add "$t_kill") && [ -n "$others" ]; then
	lab_fail "$old added $VIP4 again after the kill (vipd is dead!)"
fi

scenario_end
