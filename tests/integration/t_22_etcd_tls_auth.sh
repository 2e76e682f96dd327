#!/bin/bash
# t_22_etcd_tls_auth: vipd speaks to etcd over TLS with a client
# certificate, authenticates with etcd's username/password auth, and fails
# over past a dead endpoint listed first. One node, one etcd member serving
# HTTPS only with client-certificate auth and etcd auth enabled.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

sc_tls_up
pki=$LAB_DIR/pki
ctl() { lab_etcdctl_tls "$pki" "$@"; }

# etcd auth: root must exist before auth is enabled; vipd gets its own user
# with rights on its prefix only: the minimum of docs/security.md.
ctl user add root:rootpw >/dev/null
ctl user add vipd:s3cret-pw >/dev/null
ctl role add vipd >/dev/null
ctl role grant-permission vipd --prefix=true readwrite /vipd/election/ >/dev/null
ctl user grant-role vipd vipd >/dev/null
ctl auth enable >/dev/null
# vipd reads a passwordFile only if root owns it with no group/other bits.
printf 's3cret-pw\n' >"$LAB_DIR/n1/etcd-password"
chmod 0600 "$LAB_DIR/n1/etcd-password"

lab_monitor_start
lab_vipd_config 1 \
	"  etcd:" \
	"    endpoints: [\"https://127.0.0.1:2399\", \"https://127.0.0.1:2379\"]" \
	"    caFile: $pki/ca.crt" \
	"    certFile: $pki/client.crt" \
	"    keyFile: $pki/client.key" \
	"    username: vipd" \
	"    passwordFile: $LAB_DIR/n1/etcd-password" \
	"    timeout: 1s" 2>/dev/null || true
# The generated file already has an etcd section; drop its first one so
# ours (with TLS and auth) is the only one.
awk 'BEGIN{skip=0} /^  etcd:$/ && !seen {seen=1; skip=1; next}
     skip && /^    / {next} {skip=0; print}' "$LAB_DIR/n1/vipd.yaml" >"$LAB_DIR/n1/vipd.yaml.new"
mv "$LAB_DIR/n1/vipd.yaml.new" "$LAB_DIR/n1/vipd.yaml"
"$LAB_VIPD" --check -c "$LAB_DIR/n1/vipd.yaml" >/dev/null || lab_fail "config rejected"

lab_vipd_start 1
owner=$(lab_wait_owner 15) || lab_fail "vipd did not take the VIP over TLS + auth"
lab_assert "n1 owns the VIP" test "$owner" = n1
log=$LAB_DIR/n1/vipd.log
lab_assert "vipd authenticated as user vipd" grep -q 'etcd: authenticated user=vipd endpoint=https://127.0.0.1:2379' "$log"
lab_assert "the dead first endpoint was logged with its error" \
	grep -q 'request failed .*endpoint=https://127.0.0.1:2399' "$log"
lab_assert "the election key is in etcd with the node's name" \
	test "$(ctl --user root:rootpw get --prefix --print-value-only "/vipd/election/$VIP4/")" = n1

# A wrong password: vipd must not hold the VIP, and must say why.
lab_vipd_stop 1
lab_assert "graceful stop removed the VIP" test -z "$(lab_owner)"
printf 'wrong\n' >"$LAB_DIR/n1/etcd-password"
chmod 0600 "$LAB_DIR/n1/etcd-password"
: >"$log"
lab_vipd_start 1
sleep 3
lab_assert "no VIP with a wrong etcd password" test -z "$(lab_owner)"
lab_assert "the failure names the user" grep -q 'authentication failed user=vipd' "$log"
lab_vipd_stop 1
lab_assert_no_overlap "$VIP4"
lab_log "PASS"
