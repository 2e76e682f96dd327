#!/bin/bash
# t_60_health_tcp: vipd.health with a tcp check on each node's own API
# server stand-in (127.0.0.1:6443, the lab's service). The stand-in stops
# on the owner: that node turns unhealthy after `fall` failing rounds,
# deletes the address, then its key, and another node takes the VIP; the
# unhealthy node shows role "unhealthy" and has no key. Its stand-in
# starts again: it is healthy after `rise` passing rounds and campaigns
# again, at the back of the queue (the new owner keeps the VIP).
#
#   safety  zero overlap (lab_assert_no_overlap); the new owner adds only
#           after the old one deleted.
#   timing  stand-in stopped -> the new owner adds the VIP within
#           interval * fall + timeout + BD_SLACK_MS: the failure is seen
#           by the first round after the stop (at most one interval away),
#           fall rounds in a row, each ended by then (a refused connect on
#           loopback is immediate; a timeout would add at most timeout),
#           then the release path of t_48_ctl_pause (watch event, range
#           read, a 20 ms probe window, add) within the slack.
#           stand-in back -> "healthy again" within interval * rise +
#           timeout + BD_SLACK_MS.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
INTERVAL=500 TIMEOUT=300 FALL=3 RISE=2

sc_lab_up 3 --ttl 5
for i in 1 2 3; do
	lab_vipd_config "$i" "$(sc_health_yaml "$INTERVAL" "$TIMEOUT" "$FALL" "$RISE" \
		"      - tcp: 127.0.0.1:$LAB_SERVICE_PORT")" || lab_fail "vipd config for n$i rejected"
	lab_vipd_start "$i"
done
old=$(lab_wait_owner 10 -) || lab_fail "no single owner within 10 s of start"
lab_log "owner at start: $old"
sleep 1
lab_assert "$old: no health state change while the stand-in answers" \
	test "$(grep -c 'health: unhealthy' "$LAB_DIR/$old/vipd.log")" = 0

t0=$(sc_now_us)
lab_stop "$old" service 5 || lab_fail "stand-in on $old did not stop"
new=$(lab_wait_owner 10 "$old") || lab_fail "no new owner within 10 s of $old's stand-in stopping"
sc_handover "$old" "$new" "$t0" "stand-in stopped" $((INTERVAL * FALL + TIMEOUT + BD_SLACK_MS)) \
	"interval $INTERVAL * fall $FALL + timeout $TIMEOUT + slack $BD_SLACK_MS"
lab_assert "$old logged why (tcp, refused)" \
	grep -q "health: unhealthy after $FALL failing round(s): tcp 127.0.0.1:$LAB_SERVICE_PORT: connect: Connection refused" "$LAB_DIR/$old/vipd.log"
lab_assert "$old's release reason" grep -q 'vip: released .*reason="health checks failing"' "$LAB_DIR/$old/vipd.log"
js=$(sc_ctl "$old" --json status)
lab_log "$old status: $(jq -c '.vips[0] | {role, reason, held}' <<<"$js")"
lab_assert "$old: role unhealthy, not held" \
	test "$(jq -r '.vips[0] | "\(.role) \(.held)"' <<<"$js")" = "unhealthy false"
lab_assert "$old: status says which check fails" \
	test "$(jq -r '.vips[0].reason' <<<"$js")" = "health checks failing: tcp 127.0.0.1:$LAB_SERVICE_PORT: connect: Connection refused"
lab_assert "$old has no key in the election" sc_no_key "$old"

# Back: healthy after rise rounds, a candidate again behind the others.
t1=$(sc_now_us)
lab_service_start "$old" || lab_fail "cannot start the stand-in on $old again"
lab_wait_until $(((INTERVAL * RISE + TIMEOUT + BD_SLACK_MS) / 1000 + 1)) \
	grep -q 'health: healthy again' "$LAB_DIR/$old/vipd.log" || lab_fail "$old not healthy again"
t_ok=$(sc_now_us)
bd_timing "stand-in back -> $old healthy again (seen)" $(((t_ok - t1) / 1000)) \
	$((INTERVAL * RISE + TIMEOUT + BD_SLACK_MS + 1000)) \
	"interval $INTERVAL * rise $RISE + timeout $TIMEOUT + slack $BD_SLACK_MS + the stand-in's start and this poll, 1000"
lab_wait_until 5 sc_has_key "$old" ||
	lab_fail "$old did not campaign again"
js=$(sc_ctl "$old" --json status)
lab_assert "$old: a candidate again" test "$(jq -r '.vips[0].role' <<<"$js")" = candidate
sleep 1
lab_assert "$new keeps the VIP (rejoining is at the back)" test "$(lab_owner)" = "$new"
scenario_end
