#!/bin/bash
# t_62_health_exec: vipd.health with an exec check, a script whose exit
# code a file controls (and which hangs, sleep 30, while a "hang" file
# exists).
#
#   1. The owner's script exits 1: it turns unhealthy ("exit status 1")
#      and the VIP moves, zero overlap.
#   2. Hanging checks never delay a takeover: every node's check hangs
#      (each round killed at its timeout), the new owner stops (SIGTERM)
#      the moment the third node's check has started hanging, and the
#      third takes the VIP as fast as without checks (the bound of t_11:
#      BD_SLACK_MS from the signal, below TIMEOUT) and before its hanging
#      check is killed. One hanging round is fewer than fall: nobody turns
#      unhealthy meanwhile.
#   3. Every running node unhealthy: nobody holds the VIP (documented:
#      health checks never elect an unhealthy node). One becomes healthy
#      again after rise rounds and takes the VIP.
#
#   safety  zero overlap over the run; each new owner adds only after the
#           old one deleted; nobody holds the VIP while every vipd left is
#           unhealthy.
#   timing  exit 1 -> the new owner adds within interval * fall + timeout
#           + BD_SLACK_MS; SIGTERM -> the third adds within BD_SLACK_MS
#           (t_11's bound); exit 0 again -> the add within interval * rise
#           + timeout + BD_SLACK_MS.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
# A long timeout: a runner that blocked the loop until the timeout (or
# the kill) would miss the takeover's bound by far (TIMEOUT > BD_SLACK_MS).
INTERVAL=2500 TIMEOUT=2000 FALL=3 RISE=2

sc_lab_up 3 --ttl 5
for i in 1 2 3; do
	d=$LAB_DIR/n$i
	echo 0 >"$d/code"
	cat >"$d/check.sh" <<'EOS'
#!/bin/sh
d=$(dirname "$0")
if [ -e "$d/hang" ]; then : >"$d/hanging"; sleep 30; fi
exit "$(cat "$d/code")"
EOS
	lab_vipd_config "$i" "$(sc_health_yaml "$INTERVAL" "$TIMEOUT" "$FALL" "$RISE" \
		"      - exec: [/bin/sh, \"$d/check.sh\"]")" || lab_fail "vipd config for n$i rejected"
	lab_vipd_start "$i"
done
old=$(lab_wait_owner 10 -) || lab_fail "no single owner within 10 s of start"
lab_log "owner at start: $old"
sleep 1

# 1. exit 1 on the owner.
t0=$(sc_now_us)
echo 1 >"$LAB_DIR/$old/code"
new=$(lab_wait_owner 20 "$old") || lab_fail "no new owner within 15 s of $old's check failing"
sc_handover "$old" "$new" "$t0" "exit 1" $((INTERVAL * FALL + TIMEOUT + BD_SLACK_MS)) \
	"interval $INTERVAL * fall $FALL + timeout $TIMEOUT + slack $BD_SLACK_MS"
lab_assert "$old logged why (exit status 1)" \
	grep -q "health: unhealthy after $FALL failing round(s): exec /bin/sh: exit status 1" "$LAB_DIR/$old/vipd.log"

# 2. Every check hangs; the owner stops the moment the third node's check
# has started hanging; the third takes over at once, its check still
# running (it is killed TIMEOUT ms after it started, after the add).
third=
for i in 1 2 3; do
	[ "n$i" != "$old" ] && [ "n$i" != "$new" ] && third=n$i
	touch "$LAB_DIR/n$i/hang"
done
rm -f "$LAB_DIR/$third/hanging"
lab_wait_until $((INTERVAL / 1000 + 3)) test -e "$LAB_DIR/$third/hanging" || lab_fail "$third's check did not start hanging"
t_sig=$(sc_now_us)
lab_vipd_stop "$new" 5 || lab_fail "vipd on $new did not stop"
t_exit=$(sc_now_us)
o=$(lab_wait_owner 5 "$new") || lab_fail "no owner within 5 s of $new's stop"
lab_assert "the third node ($third) took over" test "$o" = "$third"
t_add=$(sc_ev_first "$third" add "$t_sig") || lab_fail "no add on $third"
bd_timing "SIGTERM -> $third adds the VIP while its check hangs" $(((t_add - t_sig) / 1000)) \
	"$BD_SLACK_MS" "slack $BD_SLACK_MS (t_11's bound: delete, revoke, watch event, add; no check involved)"
bd_timing "SIGTERM -> vipd on $new (its check hanging too) exited" $(((t_exit - t_sig) / 1000)) \
	$((1800 + BD_SLACK_MS)) "stop deadline 1800 + slack $BD_SLACK_MS"
# The kill of the check that was hanging at the signal: the first one
# logged after it. It came after the add: the takeover did not wait.
lab_wait_until $((TIMEOUT / 1000 + 3)) grep -q "no exit within $TIMEOUT ms (timeout" "$LAB_DIR/$third/vipd.log" ||
	lab_fail "$third's hanging check was never killed"
t_kill=
while read -r stamp; do
	us=$(date -d "$stamp" +%s%6N)
	if [ "$us" -ge "$t_sig" ]; then t_kill=$us; break; fi
done < <(grep "no exit within $TIMEOUT ms (timeout" "$LAB_DIR/$third/vipd.log" | cut -d' ' -f1)
[ -n "$t_kill" ] || lab_fail "no kill of a hanging check on $third after the signal"
lab_log "$third: signal +0, add +$(sc_ms "$t_sig" "$t_add") ms, its hanging check killed +$(sc_ms "$t_sig" "$t_kill") ms"
lab_assert "$third added the VIP before its hanging check was killed" test "$t_add" -lt "$t_kill"
for i in 1 2 3; do rm -f "$LAB_DIR/n$i/hang"; done
lab_assert "$third still healthy (fewer than fall $FALL hanging rounds)" \
	test "$(grep -c 'health: unhealthy' "$LAB_DIR/$third/vipd.log")" = 0

# 3. Everyone left unhealthy: no owner; then $old healthy again takes it.
t1=$(sc_now_us)
echo 1 >"$LAB_DIR/$third/code"
lab_wait_no_owner $(((INTERVAL * FALL + TIMEOUT + BD_SLACK_MS) / 1000 + 1)) ||
	lab_fail "$third still holds the VIP although its check fails"
sleep 1
bd_safety "nobody holds the VIP while every vipd left is unhealthy" test -z "$(lab_owner)"
t2=$(sc_now_us)
echo 0 >"$LAB_DIR/$old/code"
o=$(lab_wait_owner 15 -) || lab_fail "nobody took the VIP after $old became healthy"
lab_assert "$old took it" test "$o" = "$old"
t_add=$(sc_ev_first "$old" add "$t2") || lab_fail "no add on $old"
bd_timing "exit 0 again -> $old adds the VIP" $(((t_add - t2) / 1000)) \
	$((INTERVAL * RISE + TIMEOUT + BD_SLACK_MS)) \
	"interval $INTERVAL * rise $RISE + timeout $TIMEOUT + slack $BD_SLACK_MS (campaign, range read, probe, add)"
lab_log "no owner for $(sc_ms "$t1" "$t2") ms while both were unhealthy"
scenario_end
