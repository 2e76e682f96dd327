#!/bin/bash
# t_56_hooks: vipd.hooks (src/hooks.c) on a 3-node lab. Every node runs the
# same hook script (no shell in between: vipd execs it) for onAcquire and
# onRelease; it appends its VIPD_* environment to a file and prints a line
# (into vipd's log), and sleeps 30 s when a marker file asks it to.
#
#   env     the owner's onAcquire ran with VIPD_EVENT=acquire, VIPD_VIP,
#           VIPD_LINK=eth0, VIPD_NODE, VIPD_REASON=elected, PATH; its output
#           line is in the log; nothing ran on the candidates.
#   never   with the owner's onRelease AND every candidate's onAcquire
#   blocks  sleeping 30 s, a graceful stop still hands over as fast as
#           t_11 (timing below), the old owner's onRelease ran with
#           VIPD_REASON=stopping, and vipd did not wait for it beyond its
#           stop deadline (killed, logged).
#   timeout the new owner's sleeping onAcquire is ended at
#           vipd.hooks.timeout (3 s): SIGTERM, logged, "ended ... timeout".
#
#   safety  no overlap over the run (lab_assert_no_overlap).
#   timing  SIGTERM -> vipd on the old owner exited: stop deadline 1800 +
#           slack (the 30 s hook is not waited for); SIGTERM -> the new
#           owner adds the VIP: slack (delete, revoke, watch event, add -
#           as t_11: no hook on the way); the sleeping onAcquire ends
#           within timeout 3000 + slack of its start.
# About 15 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

sc_lab_up 3

# The hook: an absolute path, executable; no environment but vipd's.
hook=$LAB_DIR/hook.sh
rec=$LAB_DIR/hooks.rec
sc_hook_write "$hook" "$rec"
for i in 1 2 3; do
	lab_vipd_config "$i" '  hooks:' "    onAcquire: [$hook, acq]" "    onRelease: [$hook, rel]" \
		'    timeout: 3s' || lab_fail "vipd config for n$i rejected"
	lab_vipd_start "$i"
done
old=$(lab_wait_owner 10 - "$VIP4") || lab_fail "no single owner within 10 s of start"
lab_log "owner at start: $old"
lab_wait_until 5 grep -q "event=acquire .*node=$old " "$rec" || lab_fail "no onAcquire record from $old"
sleep 0.5
sed 's/^/    hooks.rec: /' "$rec" >&2
line=$(grep "event=acquire .*node=$old " "$rec")
lab_assert "onAcquire on $old: arg, VIPD_VIP, VIPD_LINK, VIPD_REASON, PATH" grep -q \
	" arg=acq event=acquire vip=$VIP4 link=eth0 node=$old reason=elected path=/usr/local/sbin:" <<<"$line"
lab_assert "exactly one hook ran (on the owner)" test "$(wc -l <"$rec")" -eq 1
lab_assert "the hook's output is in $old's log" \
	grep -q "hook: onAcquire vip=$VIP4 output: \"hook ran for acquire\"" "$LAB_DIR/$old/vipd.log"
lab_assert "$old logged the hook's start and its end (exit=0)" \
	grep -q "hook: ended event=acquire vip=$VIP4 exit=0 duration_ms=" "$LAB_DIR/$old/vipd.log"

# Slow hooks: the owner's onRelease and every candidate's onAcquire.
touch "$LAB_DIR/slow-release-$old"
for i in 1 2 3; do
	[ "n$i" = "$old" ] || touch "$LAB_DIR/slow-acquire-n$i"
done
lab_probe_start
sleep 1
sc_stop_graceful "$old"
t_sig=$SC_T_SIG t_exit=$SC_T_EXIT
new=$(lab_wait_owner 5 "$old") || lab_fail "no new owner within 5 s of the stop"
grep -E 'stop: |vip: released|hook: ' "$LAB_DIR/$old/vipd.log" | sed "s/^/    $old vipd: /" >&2 || true
t_add=$(sc_ev_first "$new" add "$t_sig") || lab_fail "no add event of $VIP4 on $new after the signal"
t_del=$(sc_ev_first "$old" del "$t_sig") || lab_fail "no Deleted event on $old after the signal"
bd_safety "$old deleted the VIP before $new added it" test "$t_del" -le "$t_add"
bd_timing "SIGTERM -> vipd on $old exited (its onRelease sleeps 30 s)" $(((t_exit - t_sig) / 1000)) \
	$((1800 + BD_SLACK_MS)) "stop deadline 1800 + slack $BD_SLACK_MS"
bd_timing "SIGTERM -> $new adds the VIP (its onAcquire sleeps 30 s)" $(((t_add - t_sig) / 1000)) \
	"$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add; hooks run after, beside)"
lab_assert "$old's onRelease ran: VIPD_REASON=stopping" \
	grep -q " arg=rel event=release vip=$VIP4 link=eth0 node=$old reason=stopping " "$rec"
lab_assert "$old killed its still-running onRelease at exit" \
	grep -q "hook: still running at exit, killing event=release vip=$VIP4" "$LAB_DIR/$old/vipd.log"

# The new owner's onAcquire is ended at its timeout (3 s).
lab_wait_until $((3 + 2 + BD_SLACK_MS / 1000 + 1)) grep -q "hook: ended event=acquire vip=$VIP4 timeout" \
	"$LAB_DIR/$new/vipd.log" || lab_fail "$new's sleeping onAcquire did not end at its timeout"
grep -E 'hook: ' "$LAB_DIR/$new/vipd.log" | sed "s/^/    $new vipd: /" >&2 || true
lab_assert "$new's onAcquire ran with its environment" \
	grep -q " arg=acq event=acquire vip=$VIP4 link=eth0 node=$new reason=elected " "$rec"
lab_assert "$new logged the timeout" \
	grep -q "hook: onAcquire vip=$VIP4 timed out after timeout_ms=3000, terminating pid=" "$LAB_DIR/$new/vipd.log"
lab_assert "ended by SIGTERM" grep -q "hook: ended event=acquire vip=$VIP4 timeout signal=TERM" "$LAB_DIR/$new/vipd.log"
dur=$(sed -n "s/.*hook: ended event=acquire vip=$VIP4 timeout signal=TERM duration_ms=\([0-9]*\).*/\1/p" \
	"$LAB_DIR/$new/vipd.log" | tail -1)
bd_timing "$new's onAcquire start -> ended at its timeout" "${dur:-999999}" $((3000 + BD_SLACK_MS)) \
	"vipd.hooks.timeout 3000 + slack $BD_SLACK_MS"
lab_probe_stop >&2
lab_assert "still owned by $new" test "$(lab_owner)" = "$new"
lab_assert_no_overlap "$VIP4"
lab_log "PASS"
