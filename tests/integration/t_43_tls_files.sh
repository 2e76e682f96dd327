#!/bin/bash
# t_43_tls_files: vipd checks its etcd TLS files itself and waits for them.
# As with kubeadm, the client certificate is not there yet when vipd
# starts: vipd logs what is missing (naming the config key), takes no
# lease and holds no VIP, and does not exit. Then a key that belongs to
# another certificate is put in place: logged as such, still no lease. With
# the right key vipd starts its session and takes the VIP. `vipd --check`
# reports the same: a missing file is a warning, a wrong key an error.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

sc_tls_up
pki=$LAB_DIR/pki
live=$LAB_DIR/n1/pki # where the config points; filled in step by step
mkdir -p "$live"
cp "$pki/ca.crt" "$live/ca.crt"
cfg=$LAB_DIR/n1/vipd.yaml
sc_tls_config https://127.0.0.1:2379 "$live/ca.crt" "$live/client.crt" "$live/client.key"
log=$LAB_DIR/n1/vipd.log

# --check: missing files are a warning (exit 0).
out=$("$LAB_VIPD" --check -c "$cfg" 2>&1 >/dev/null) || lab_fail "--check rejected a config whose files are only missing: $out"
lab_assert "--check warns that vipd.etcd.certFile is missing" \
	grep -q "warning: vipd.etcd.certFile $live/client.crt: no such file" <<<"$out"

lab_monitor_start
lab_vipd_start 1
# Re-checked every 2 s (daemon.c TLS_RECHECK_MS); 4 s covers two checks.
lab_wait_until 4 grep -q "etcd: vipd.etcd.certFile $live/client.crt: no such file; no lease" "$log" ||
	lab_fail "the missing certificate was not logged"
sleep 2
lab_assert "vipd waits: still running" lab_pid 1 vipd >/dev/null
lab_assert "no VIP while the files are missing" test -z "$(lab_owner)"
lab_assert "no lease was asked for" test "$(grep -c 'lease granted' "$log" || true)" = 0

# The certificate arrives with a key of another certificate.
cp "$pki/client.crt" "$live/client.crt"
cp "$pki/other.key" "$live/client.key"
lab_wait_until 4 grep -q "etcd: vipd.etcd.keyFile $live/client.key: the private key does not belong to the certificate in vipd.etcd.certFile $live/client.crt" "$log" ||
	lab_fail "the wrong key was not logged"
if "$LAB_VIPD" --check -c "$cfg" >/dev/null 2>"$LAB_DIR/check.err"; then
	lab_fail "--check accepted a key that does not belong to the certificate"
fi
lab_assert "--check names the key file as an error" \
	grep -q "error: vipd.etcd.keyFile $live/client.key: the private key does not belong" "$LAB_DIR/check.err"
lab_assert "no VIP with the wrong key" test -z "$(lab_owner)"

# The right key: the session starts at the next check and the VIP follows.
t0=$(_lab_now_us)
cp "$pki/client.key" "$live/client.key"
# Bound: the next re-check (2 s) + the lease grant and the campaign on a
# single healthy member (well under 1 s) + 2 s slack for a loaded machine.
owner=$(lab_wait_owner 5) || lab_fail "no owner within 5 s of the right key"
lab_assert "n1 owns the VIP" test "$owner" = n1
lab_log "VIP owned $(( ($(_lab_now_us) - t0) / 1000 )) ms after the right key arrived"
lab_assert "the recovery was logged" grep -q "etcd: TLS files usable now; starting the session" "$log"
lab_vipd_stop 1
lab_assert_no_overlap "$VIP4"
lab_log "PASS"
