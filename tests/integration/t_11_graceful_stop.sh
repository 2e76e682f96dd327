#!/bin/bash
# t_11_graceful_stop: scenario 2, the owner's vipd gets SIGTERM while the
# client probes the VIP every 10 ms.
#
#   safety  the old owner's delete comes before the new owner's add; no
#           overlap over the run.
#   timing  vipd exits 0 within its stop deadline (1.8 s, STOP_DEADLINE_MS
#           in src/daemon.c) + slack; the new owner adds the VIP within the
#           slack of the signal (no TTL is involved: delete, revoke, watch
#           event, add); the probe's longest outage stays within that + one
#           probe interval. The figures are printed; the speed target
#           (median <= 50 ms) is the benchmark's.
# The client then reaches the new owner. About 10 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
old=$OWNER
lab_assert "client reaches $old before the stop" test "$(lab_client_reach)" = "$old"
lab_probe_start
sleep 1

sc_stop_graceful "$old"
t_sig=$SC_T_SIG t_exit=$SC_T_EXIT
grep -E 'stop: |vip: released|session: (revoking|lease revoked)|stopped' "$LAB_DIR/$old/vipd.log" |
	sed "s/^/    $old vipd: /" >&2 || true

new=$(lab_wait_owner 5 "$old") || lab_fail "no new owner within 5 s of the stop"
sleep 0.5
lab_probe_stop >&2
outage=$(lab_probe_max_outage_ms) || lab_fail "no probe summary"

t_del=$(sc_ev_first "$old" del "$t_sig") || lab_fail "no Deleted event of $VIP4 on $old after the signal"
t_add=$(sc_ev_first "$new" add "$t_sig") || lab_fail "no add event of $VIP4 on $new after the signal"
lab_log "SIGTERM -> $old deletes $VIP4: $(sc_ms "$t_sig" "$t_del") ms"
lab_log "SIGTERM -> $new adds $VIP4: $(sc_ms "$t_sig" "$t_add") ms (handover)"
lab_log "$old delete -> $new add: $(sc_ms "$t_del" "$t_add") ms"
bd_safety "$old deleted the VIP before $new added it" test "$t_del" -le "$t_add"
bd_timing "SIGTERM -> vipd on $old exited" $(((t_exit - t_sig) / 1000)) $((1800 + BD_SLACK_MS)) \
	"stop deadline 1800 + slack $BD_SLACK_MS"
bd_timing "SIGTERM -> $new adds the VIP" $(((t_add - t_sig) / 1000)) "$BD_SLACK_MS" \
	"slack $BD_SLACK_MS (delete, revoke, watch event, add: no TTL involved)"
bd_timing "probe's longest outage" "$outage" $((BD_SLACK_MS + 10)) \
	"the handover's bound $BD_SLACK_MS + one probe interval 10"
got_new=$(awk -v n="$new" '$1 == "answers" { for (i = 2; i <= NF; i++) if (index($i, n "=") == 1) print substr($i, length(n) + 2) }' \
	"$LAB_DIR/cl/probe4.log")
lab_assert "the probe got answers from $new after the stop (${got_new:-0})" test "${got_new:-0}" -gt 0

scenario_end
lab_assert "still owned by $new" test "$(lab_owner)" = "$new"
