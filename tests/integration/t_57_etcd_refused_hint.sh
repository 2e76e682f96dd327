#!/bin/bash
# t_57_etcd_refused_hint: while etcd refuses vipd, the log says so with a
# hint naming the configuration key likely at fault, and keeps saying it.
# One node against a single TLS etcd member (--client-cert-auth, lab_pki),
# vipd started three times with one mistake each:
#
#   wrong CA     caFile holds another CA: kind="tls", hint names
#                vipd.etcd.caFile; the warning comes again at least every
#                30 s (ETCD_FAIL_RELOG_MS) although the failure is the same
#                (streak grouping would otherwise keep it at debug).
#   no cert      certFile/keyFile missing: the hint says etcd wants a client
#                certificate (vipd.etcd.certFile and keyFile).
#   http         http:// against the TLS listener (which drops a plain
#                HTTP request: "Empty reply from server"): the hint names
#                http:// or https:// in vipd.etcd.endpoints.
#
# No case holds the VIP. timing: two warnings of the wrong-CA streak at
# most 30 s + 1 s + slack apart (the session retries the grant at most
# BACKOFF_MAX_MS = 1 s apart, so a repeat is due at the first retry after
# 30 s). About 45 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

sc_tls_up
pki=$LAB_DIR/pki
other=$LAB_DIR/other-ca
mkdir -p "$other"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=not-the-etcd-ca \
	-keyout "$other/ca.key" -out "$other/ca.crt" 2>/dev/null || lab_fail "openssl failed"
log=$LAB_DIR/n1/vipd.log
lab_monitor_start

# n1's config (sc_tls_config) has the metrics endpoint off.
metrics_off=('  metrics:' '    listen: ""')

# run SECONDS: vipd for that long, then stopped; its log kept as log.N.
runs=0
run() {
	runs=$((runs + 1))
	: >"$log"
	lab_vipd_start 1
	sleep "$1"
	lab_assert "no VIP while etcd refuses vipd" test -z "$(lab_owner)"
	lab_vipd_stop 1 5 || lab_fail "vipd did not stop"
	cp "$log" "$LAB_DIR/n1/log.$runs"
	grep 'request failed' "$log" | sed "s/^/    run $runs: /" | head -5 >&2 || true
}

# 1. The wrong CA, long enough for the 30 s repeat.
sc_tls_config https://127.0.0.1:2379 "$other/ca.crt" "$pki/client.crt" "$pki/client.key" "${metrics_off[@]}"
run 36
l=$LAB_DIR/n1/log.1
lab_assert "wrong CA: kind tls with a hint naming vipd.etcd.caFile" \
	grep -q 'warn: etcd: request failed .*kind="tls".* hint="etcd.s server certificate does not verify: check vipd.etcd.caFile' "$l"
n=$(grep -c 'warn: etcd: request failed op=/v3/lease/grant .*kind="tls"' "$l") || true
lab_assert "wrong CA: the same failure warned again while it lasts (warnings: $n)" test "$n" -ge 2
gap=$(grep 'warn: etcd: request failed op=/v3/lease/grant .*kind="tls"' "$l" | awk '{
	split(substr($1, 12, 12), t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
	if (p != "") { g = (s - p) * 1000; if (g > m) m = g } p = s } END { printf "%d\n", m }')
bd_timing "wrong CA: longest gap between two warnings" "$gap" $((30000 + 1000 + BD_SLACK_MS)) \
	"ETCD_FAIL_RELOG_MS 30000 + the session's longest retry interval 1000 + slack $BD_SLACK_MS"

# 2. No client certificate for an etcd with --client-cert-auth.
sc_tls_config https://127.0.0.1:2379 "$pki/ca.crt" "" "" "${metrics_off[@]}"
run 3
lab_assert "no client certificate: the hint asks for vipd.etcd.certFile and keyFile" \
	grep -q 'warn: etcd: request failed .* hint="etcd wants a client certificate (--client-cert-auth): set vipd.etcd.certFile and keyFile"' \
	"$LAB_DIR/n1/log.2"

# 3. http:// against the TLS listener.
sc_tls_config http://127.0.0.1:2379 "$pki/ca.crt" "$pki/client.crt" "$pki/client.key" "${metrics_off[@]}"
run 3
lab_assert "http against TLS: the hint names the scheme in vipd.etcd.endpoints" \
	grep -q 'warn: etcd: request failed .*error="Empty reply from server".* hint="nothing answers HTTP there (a TLS listener drops it): check http:// or https:// in vipd.etcd.endpoints"' \
	"$LAB_DIR/n1/log.3"
lab_assert_no_overlap "$VIP4"
lab_log "PASS"
