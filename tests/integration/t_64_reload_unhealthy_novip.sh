#!/bin/bash
# t_64_reload_unhealthy_novip: a node unhealthy by vipd.health stays so
# across two reloads that remove its only VIP and add it back
# (docs/operations.md, "Changing the configuration", row health): with no
# VIP there is no health module, but the state is kept, so the node does
# not campaign the moment the VIP is back - only after rise rounds of the
# new module pass. 2 nodes; each has a tcp check on its own API server
# stand-in (127.0.0.1:6443).
#
#   1. The candidate X's stand-in is stopped: X turns unhealthy (no key).
#   2. X reloaded without VIPs, then with VIP4 again: X puts no key into
#      VIP4's election (every PUT since the second reload replayed by an
#      etcd watch from that revision), its role is "unhealthy", it never
#      holds VIP4.
#   3. The stand-in back: X is healthy again after rise passing rounds and
#      campaigns (a key in the election, behind the owner).
#
#   safety  X puts no key while unhealthy; no overlap; the owner keeps VIP4.
#   timing  the waits below are bounded as in t_63 (interval * fall or rise
#           + timeout + slack + 1 s for the stand-in's stop/start and the
#           poll); none is a measurement.
# Fails without the kept state in apply_checks (src/daemon_reload.c): the
# re-added VIP's node starts healthy and X puts a key at once.
# About 12 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
INTERVAL=500 TIMEOUT=300 FALL=2 RISE=3

# cfg ID [novip]: node ID's file, with the health section; novip: no VIP.
cfg() {
	lab_vipd_config "$1" "$(sc_health_yaml "$INTERVAL" "$TIMEOUT" "$FALL" "$RISE" \
		"      - tcp: 127.0.0.1:$LAB_SERVICE_PORT")" || return 1
	if [ "${2:-}" = novip ]; then
		sed -i '/^machine:/,/^vipd:/{/^machine:/!{/^vipd:/!d}}' "$LAB_DIR/n$1/vipd.yaml"
	fi
}

sc_lab_up 2 --ttl 5
for i in 1 2; do
	cfg "$i" || lab_fail "vipd config for n$i rejected"
	lab_vipd_start "$i"
done
o=$(lab_wait_owner 10 -) || lab_fail "no single owner within 10 s of start"
x=n1
[ "$x" = "$o" ] && x=n2
lab_log "owner $o, candidate $x"
lab_wait_until 5 sc_has_key "$x" || lab_fail "$x has no key in the election"

# 1. X unhealthy.
lab_stop "$x" service 5 || lab_fail "stand-in on $x did not stop"
lab_wait_until $(((INTERVAL * FALL + TIMEOUT + BD_SLACK_MS + 1000) / 1000 + 1)) \
	grep -q 'health: unhealthy after' "$LAB_DIR/$x/vipd.log" || lab_fail "$x not unhealthy"
lab_wait_until 5 sc_no_key "$x" || lab_fail "$x still has a key in the election"

# 2. The VIP removed, then back.
cfg "${x#n}" novip || lab_fail "config without VIPs for $x rejected"
out=$(sc_ctl "$x" reload) || lab_fail "vipctl reload (no VIP) failed on $x"
lab_assert "$x: $VIP4 removed" grep -q "^removed: $VIP4\$" <<<"$out"
lab_wait_until 5 grep -q "reload: removed vip=$VIP4 released and out of its election" \
	"$LAB_DIR/$x/vipd.log" || lab_fail "$x did not finish removing $VIP4"
r1=$(sc_rev)
cfg "${x#n}" || lab_fail "config with $VIP4 for $x rejected"
out=$(sc_ctl "$x" reload) || lab_fail "vipctl reload (VIP back) failed on $x"
lab_assert "$x: $VIP4 added" grep -q "^added: $VIP4\$" <<<"$out"
sleep 2 # a campaign takes a few ms; fall rounds of the new module 1.3 s
lab_assert "$x: role unhealthy after the VIP came back" test "$(sc_role "$x")" = unhealthy
p=$(sc_puts_since "$r1" "$x")
bd_safety "$x put no key into the $VIP4 election since the VIP came back (puts: $p)" test "$p" = 0
bd_safety "$x never held $VIP4" test -z "$(sc_mon_events "$x" "$VIP4" | awk 'NF && $2 == "add"')"

# 3. The stand-in back: healthy after rise rounds, campaigns again.
lab_service_start "$x" || lab_fail "cannot start the stand-in on $x again"
lab_wait_until $(((INTERVAL * RISE + TIMEOUT + BD_SLACK_MS + 1000) / 1000 + 1)) \
	grep -q "health: healthy again after $RISE passing round(s)" "$LAB_DIR/$x/vipd.log" ||
	lab_fail "$x not healthy again"
lab_wait_until 5 sc_has_key "$x" || lab_fail "$x did not campaign again"
lab_assert "$x: role candidate" test "$(sc_role "$x")" = candidate
lab_assert "$o keeps $VIP4" test "$(lab_owner)" = "$o"
scenario_end
