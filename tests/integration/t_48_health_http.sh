#!/bin/bash
# t_48_health_http: vipd.health with an http check on each node's own
# readiness endpoint (python3's http.server on 127.0.0.1:8080 serving a
# directory; GET /readyz is 200 while the file is there, 404 once it is
# removed). The owner's file goes: it turns unhealthy ("HTTP status 404")
# and the VIP moves; the file comes back: healthy again, a candidate.
#
#   safety  zero overlap; the new owner adds only after the old deleted.
#   timing  file removed -> the new owner adds the VIP within
#           interval * fall + timeout + BD_SLACK_MS (as t_48_health_tcp:
#           the first round after the removal, fall failing rounds, then
#           the release path within the slack).
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v python3 >/dev/null || lab_skip "python3 not installed"
PY=$(python3 -c 'import sys; print(sys.executable)')
INTERVAL=500 TIMEOUT=300 FALL=2 RISE=2 PORT=8080

lab_up 3 --ttl 5
lab_etcd_up
lab_service_up
lab_monitor_start
for i in 1 2 3; do
	mkdir -p "$LAB_DIR/n$i/www"
	echo ok >"$LAB_DIR/n$i/www/readyz"
	lab_run "$i" http "$PY" -m http.server --bind 127.0.0.1 --directory "$LAB_DIR/n$i/www" "$PORT" ||
		lab_fail "cannot start the http server on n$i"
done
for i in 1 2 3; do
	lab_wait_until 10 lab_exec "$i" curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" ||
		lab_fail "http server on n$i does not answer"
	lab_vipd_config "$i" "  health:" "    interval: ${INTERVAL}ms" "    timeout: ${TIMEOUT}ms" \
		"    fall: $FALL" "    rise: $RISE" "    checks:" "      - http: http://127.0.0.1:$PORT/readyz" ||
		lab_fail "vipd config for n$i rejected"
	lab_vipd_start "$i"
done
old=$(lab_wait_owner 10 -) || lab_fail "no single owner within 10 s of start"
lab_log "owner at start: $old"
sleep 1
lab_assert "$old: healthy while /readyz answers 200" \
	test "$(grep -c 'health: unhealthy' "$LAB_DIR/$old/vipd.log")" = 0

t0=$(sc_now_us)
rm "$LAB_DIR/$old/www/readyz"
new=$(lab_wait_owner 10 "$old") || lab_fail "no new owner within 10 s of $old's /readyz failing"
t_del=$(sc_ev_first "$old" del "$t0") || lab_fail "no delete on $old"
t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "no add on $new"
lab_log "$old deletes at +$(sc_ms "$t0" "$t_del") ms, $new adds at +$(sc_ms "$t0" "$t_add") ms"
bd_safety "$new added only after $old deleted" test "$t_add" -gt "$t_del"
bd_timing "/readyz removed -> $new adds the VIP" $(((t_add - t0) / 1000)) \
	$((INTERVAL * FALL + TIMEOUT + BD_SLACK_MS)) \
	"interval $INTERVAL * fall $FALL + timeout $TIMEOUT + slack $BD_SLACK_MS"
lab_assert "$old logged why (HTTP status 404)" \
	grep -q "health: unhealthy after $FALL failing round(s): http http://127.0.0.1:$PORT/readyz: HTTP status 404" "$LAB_DIR/$old/vipd.log"

echo ok >"$LAB_DIR/$old/www/readyz"
lab_wait_until $(((INTERVAL * RISE + TIMEOUT + BD_SLACK_MS) / 1000 + 1)) \
	grep -q 'health: healthy again' "$LAB_DIR/$old/vipd.log" || lab_fail "$old not healthy again"
lab_wait_until 5 test -n "$(lab_etcdctl 1 get --prefix "/vipd/election/$VIP4/" | awk -v n="$old" 'NR % 2 == 0 && $0 == n')" ||
	lab_fail "$old did not campaign again"
lab_assert "$new keeps the VIP" test "$(lab_owner)" = "$new"
scenario_end
