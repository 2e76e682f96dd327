#!/bin/bash
# t_45_notify: vipd speaks systemd's notify protocol (src/notify.c) to a
# stand-in notify socket (tests/tools/notify_recv), as it would under
# contrib/systemd/vipd.service (Type=notify, WatchdogSec=).
#
# One node, started with NOTIFY_SOCKET and WATCHDOG_USEC=1000000 and its
# etcd not yet running (with kubeadm the VIP is needed before etcd is
# reachable, so readiness must not wait for etcd):
#
#   READY=1 arrives although etcd is down; the start-up line names every
#           etcd endpoint; WATCHDOG=1 every 500 ms (half of WATCHDOG_USEC)
#           while etcd is still down; once etcd is up the node owns the
#           VIP and a STATUS= line says the lease is held; SIGTERM gives
#           STOPPING=1 after READY=1, before vipd exits (0).
#
#   timing  start -> READY=1 within the slack (no etcd, no network wait:
#           config, netlink open, first loop turn); the longest gap
#           between two WATCHDOG=1 within 500 + slack.
# About 10 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

lab_up 1
lab_monitor_start
recv=$(_lab_tool notify_recv)
sock=$LAB_DIR/n1/notify.sock
nlog=$LAB_DIR/n1/notify.log
lab_run 1 notify "$recv" "$sock"
lab_wait_until 5 test -S "$sock" || lab_fail "notify_recv did not bind $sock"

lab_vipd_config 1 || lab_fail "vipd config rejected"
# a second endpoint (nothing listens there): the start-up line must name both
sed -i 's|^      - http://127.0.0.1:2379$|&\n      - http://198.18.0.99:2379|' "$LAB_DIR/n1/vipd.yaml"
grep -q 198.18.0.99 "$LAB_DIR/n1/vipd.yaml" || lab_fail "could not add the second endpoint"

t0=$(sc_now_us)
lab_run 1 vipd env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000 \
	"$LAB_VIPD" -c "$LAB_DIR/n1/vipd.yaml" -v
lab_wait_until 5 grep -q ' READY=1$' "$nlog" || lab_fail "no READY=1 within 5 s (etcd down)"
t_ready=$(awk '$2 == "READY=1" { print $1; exit }' "$nlog")
lab_log "start -> READY=1 (etcd down): $(sc_ms "$t0" "$t_ready") ms"
bd_timing "start -> READY=1 with etcd down" $(((t_ready - t0) / 1000)) "$BD_SLACK_MS" \
	"slack $BD_SLACK_MS (config, netlink open, first loop turn; nothing waits for etcd)"
lab_assert "the start-up line names every endpoint" \
	grep -q 'starting .* etcd=http://127.0.0.1:2379,http://198.18.0.99:2379 ' "$LAB_DIR/n1/vipd.log"
lab_assert "READY=1 carries a STATUS= line" grep -q ' STATUS=running; waiting for an etcd lease$' "$nlog"

# The watchdog pings while etcd is still down (the loop runs).
sleep 2.2
n_wd=$(grep -c ' WATCHDOG=1$' "$nlog") || true
gap=$(awk '$2 == "WATCHDOG=1" { if (p) { g = ($1 - p) / 1000; if (g > m) m = g } p = $1 } END { printf "%d\n", m }' "$nlog")
lab_log "WATCHDOG=1 pings: $n_wd in the first ~2.2 s; longest gap $gap ms"
# 2.2 s at one per 500 ms is 4; at least 2 even with a ping a whole slack
# (1 s) late, since each ping re-arms from its own firing
lab_assert "at least 2 WATCHDOG=1 in 2.2 s (every 500 ms; got $n_wd)" test "$n_wd" -ge 2
bd_timing "longest gap between WATCHDOG=1" "$gap" $((500 + BD_SLACK_MS)) "half of WATCHDOG_USEC 1000 ms + slack $BD_SLACK_MS"

# etcd comes up: the node owns the VIP, the status says the lease is held.
lab_etcd_up
lab_wait_owner 10 - >/dev/null || lab_fail "n1 did not own $VIP4 within 10 s of etcd"
lab_wait_until 5 grep -q ' STATUS=etcd lease [0-9a-f]* held; in the election for 1 VIP(s)$' "$nlog" ||
	lab_fail "no STATUS= line for the lease"

# The stop: STOPPING=1 after READY=1 and before the exit.
lab_vipd_stop 1 5 || lab_fail "vipd did not exit within 5 s of SIGTERM"
t_exit=$(sc_now_us)
lab_assert "vipd exited 0 (status ${LAB_LAST_STATUS:-?})" test "${LAB_LAST_STATUS:-x}" = 0
sleep 0.2
sed 's/^/    notify: /' "$nlog" | grep -v WATCHDOG >&2 || true
t_stopping=$(awk '$2 == "STOPPING=1" { print $1; exit }' "$nlog")
lab_assert "STOPPING=1 received" test -n "$t_stopping"
lab_assert "STOPPING=1 after READY=1" test "$t_stopping" -gt "$t_ready"
lab_assert "STOPPING=1 before vipd exited" test "$t_stopping" -le "$t_exit"
n_ready=$(grep -c ' READY=1$' "$nlog") || true
lab_assert "READY=1 sent once (got $n_ready)" test "$n_ready" -eq 1
lab_assert_no_overlap "$VIP4"
lab_log "PASS"
