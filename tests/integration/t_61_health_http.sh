#!/bin/bash
# t_61_health_http: vipd.health with an https check on each node's own
# readiness endpoint (python3's http.server wrapped in TLS on
# 127.0.0.1:8443 with the lab CA's server certificate, serving a
# directory; GET /readyz is 200 while the file is there, 404 once it is
# removed). n1 verifies with caFile (the lab CA), n2 with
# insecureSkipVerify, n3 with caFile of another CA: n3 turns unhealthy
# from start (the certificate is refused) and never holds the VIP. The
# owner's file goes: it turns unhealthy ("HTTP status 404") and the VIP
# moves to the other healthy node; the file comes back: a candidate again.
#
#   safety  zero overlap; the new owner adds only after the old deleted.
#   timing  file removed -> the new owner adds the VIP within
#           interval * fall + timeout + BD_SLACK_MS (as t_60_health_tcp:
#           the first round after the removal, fall failing rounds, then
#           the release path within the slack).
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v python3 >/dev/null || lab_skip "python3 not installed"
command -v openssl >/dev/null || lab_skip "openssl not installed"
PY=$(python3 -c 'import sys; print(sys.executable)')
INTERVAL=500 TIMEOUT=300 FALL=2 RISE=2 PORT=8443

sc_lab_up 3 --ttl 5
pki=$LAB_DIR/pki
lab_pki "$pki"
lab_pki "$pki/other" # another CA, for n3
cat >"$LAB_DIR/https.py" <<'EOS'
import functools, http.server, ssl, sys
d, cert, key, port = sys.argv[1:5]
srv = http.server.HTTPServer(("127.0.0.1", int(port)),
    functools.partial(http.server.SimpleHTTPRequestHandler, directory=d))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOS
for i in 1 2 3; do
	mkdir -p "$LAB_DIR/n$i/www"
	echo ok >"$LAB_DIR/n$i/www/readyz"
	lab_run "$i" https "$PY" "$LAB_DIR/https.py" "$LAB_DIR/n$i/www" "$pki/server.crt" "$pki/server.key" "$PORT" ||
		lab_fail "cannot start the https server on n$i"
done
tls=("        caFile: $pki/ca.crt" "        insecureSkipVerify: true" "        caFile: $pki/other/ca.crt")
for i in 1 2 3; do
	lab_wait_until 10 lab_exec "$i" curl -fsS --cacert "$pki/ca.crt" -o /dev/null "https://127.0.0.1:$PORT/readyz" ||
		lab_fail "https server on n$i does not answer"
	lab_vipd_config "$i" "$(sc_health_yaml "$INTERVAL" "$TIMEOUT" "$FALL" "$RISE" \
		"      - http: https://127.0.0.1:$PORT/readyz" "${tls[$((i - 1))]}")" || lab_fail "vipd config for n$i rejected"
	lab_vipd_start "$i"
done
# n3 pins another CA: its check fails from the start, it leaves the election.
lab_wait_until 5 grep -q "health: unhealthy after $FALL failing round(s): http https://127.0.0.1:$PORT/readyz: SSL certificate problem" \
	"$LAB_DIR/n3/vipd.log" || lab_fail "n3 (caFile of another CA) did not turn unhealthy"
old=$(lab_wait_owner 10 -) || lab_fail "no single owner after n3 left"
lab_log "owner: $old"
lab_assert "the owner ($old) is not n3" test "$old" != n3
sleep 1
for n in n1 n2; do
	lab_assert "$n: healthy while /readyz answers 200 (caFile / insecureSkipVerify)" \
		test "$(grep -c 'health: unhealthy' "$LAB_DIR/$n/vipd.log")" = 0
done

t0=$(sc_now_us)
rm "$LAB_DIR/$old/www/readyz"
new=$(lab_wait_owner 10 "$old") || lab_fail "no new owner within 10 s of $old's /readyz failing"
sc_handover "$old" "$new" "$t0" "/readyz removed" $((INTERVAL * FALL + TIMEOUT + BD_SLACK_MS)) \
	"interval $INTERVAL * fall $FALL + timeout $TIMEOUT + slack $BD_SLACK_MS"
lab_assert "$new is not n3 (unhealthy)" test "$new" != n3
lab_assert "$old logged why (HTTP status 404)" \
	grep -q "health: unhealthy after $FALL failing round(s): http https://127.0.0.1:$PORT/readyz: HTTP status 404" "$LAB_DIR/$old/vipd.log"

echo ok >"$LAB_DIR/$old/www/readyz"
lab_wait_until $(((INTERVAL * RISE + TIMEOUT + BD_SLACK_MS) / 1000 + 1)) \
	grep -q 'health: healthy again' "$LAB_DIR/$old/vipd.log" || lab_fail "$old not healthy again"
lab_wait_until 5 sc_has_key "$old" ||
	lab_fail "$old did not campaign again"
lab_assert "$new keeps the VIP" test "$(lab_owner)" = "$new"
scenario_end
