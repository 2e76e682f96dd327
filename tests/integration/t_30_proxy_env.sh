#!/bin/bash
# t_30_proxy_env: vipd talks to etcd only as configured. Every vipd starts
# with the proxy variables a host may carry for other software (a systemd
# DefaultEnvironment=HTTP_PROXY=... set for containerd is common) pointing
# at a listener in the client namespace. libcurl honours them unless told
# not to: then every request of vipd would go to the "proxy" (with its
# credentials), and no node would ever reach its etcd.
#
#   safety  no overlap.
#   checks  an owner is elected as usual (within 10 s of the start, as
#           t_10), and the proxy never saw a connection.
set -euo pipefail
. "$(dirname "$0")/scenario.sh" # lab.sh, bounds.sh and the sc_ helpers; the setup is our own

lab_up 3
lab_etcd_up
lab_monitor_start
proxy=http://198.18.0.5:3128
# The "proxy": accepts and logs every connection (socat -d -d), answers
# nothing.
lab_run cl proxy socat -d -d TCP-LISTEN:3128,fork,reuseaddr OPEN:/dev/null
lab_wait_until 3 lab_pid cl proxy >/dev/null || lab_fail "the proxy listener did not start"
for i in 1 2 3; do
	lab_vipd_config "$i" || lab_fail "vipd config for n$i rejected"
	lab_run "$i" vipd env http_proxy="$proxy" HTTP_PROXY="$proxy" https_proxy="$proxy" \
		HTTPS_PROXY="$proxy" ALL_PROXY="$proxy" all_proxy="$proxy" \
		"$LAB_VIPD" -c "$LAB_DIR/n$i/vipd.yaml" -v
done
o=$(lab_wait_owner 10) || lab_fail "no owner within 10 s with proxy variables set (did vipd talk to the proxy?)"
lab_log "owner: $o"
sleep 2 # keepalives, watches: anything that would go to the proxy goes now
conns=$(grep -c 'accepting connection' "$LAB_DIR/cl/proxy.log" || true)
lab_assert "the proxy saw no connection ($conns)" test "$conns" -eq 0
lab_assert "still exactly one owner ($o)" test "$(lab_owner)" = "$o"
lab_assert_no_overlap "$VIP4"
lab_log "PASS"
