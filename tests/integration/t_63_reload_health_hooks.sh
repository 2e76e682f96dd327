#!/bin/bash
# t_63_reload_health_hooks: a reload (docs/operations.md, "Changing the
# configuration", rows hooks and health) meets vipd.health and vipd.hooks
# on a 3-node lab; every node has a tcp check on its own API server
# stand-in (127.0.0.1:6443).
#
#   b. An unchanged reload on the healthy owner: the health module carries
#      on (no second "health: 1 check(s)" line), no Deleted event of VIP4,
#      the owner's election key keeps its create revision and lease.
#   a. A candidate X whose stand-in is stopped turns unhealthy (no key).
#      Reloaded with a changed check that still fails (the timeout): the
#      new module starts unhealthy (health_start_unhealthy), so X puts no
#      key into the election (every PUT since the reload's revision read
#      back by an etcd watch from that revision), is never owner, and its
#      status stays "unhealthy".
#   d. X reloaded again, adding VIP2 (only X has it): the added VIP gets
#      the node's health before it campaigns: no PUT of X into VIP2's
#      election, nobody holds VIP2.
#   c. X reloaded a third time, adding an onAcquire hook. The stand-in
#      back: X is healthy only after rise passing rounds (never earlier
#      than (rise - 1) intervals after the stand-in's start), campaigns for
#      both VIPs (behind the owner for VIP4), takes VIP2, and the new hook
#      runs for that acquire with VIPD_EVENT=acquire, VIPD_VIP=VIP2,
#      VIPD_LINK=eth0, VIPD_NODE=X, VIPD_REASON=elected.
#
#   safety  no overlap of VIP4 or VIP2 (lab_assert_no_overlap); the owner
#           never deletes VIP4; X puts no key while unhealthy.
#   rule    X healthy no earlier than (RISE - 1) * INTERVAL - 50 ms after
#           its stand-in is back (rounds start INTERVAL apart at the least:
#           health.c arms each from the previous one's start; 50 ms for ms
#           log stamps and a preempted round start).
#   timing  stand-in stopped -> X unhealthy (seen in its log) within
#           INTERVAL * FALL + TIMEOUT + BD_SLACK_MS + 1000 (the stand-in's
#           stop and this poll), as t_60; stand-in back -> X "healthy
#           again" within INTERVAL * RISE + TIMEOUT + BD_SLACK_MS + 1000
#           (the same); "healthy again" -> X adds VIP2 within 1000 +
#           BD_SLACK_MS (VIP2 is new to the election: the 1 s takeover
#           probe window, conflict.h, as t_51; then campaign, add).
# About 25 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
VIP2=198.18.0.101
INTERVAL=500 TIMEOUT=300 FALL=2 RISE=3

# cfg ID TIMEOUT_MS [vip2] [hooks]: write node ID's file.
cfg() {
	local id=$1 t=$2 extra=()
	extra=("$(sc_health_yaml "$INTERVAL" "$t" "$FALL" "$RISE" "      - tcp: 127.0.0.1:$LAB_SERVICE_PORT")")
	if [[ " ${*:3} " == *" hooks "* ]]; then
		extra+=("  hooks:" "    onAcquire: [$hook, acq]" "    timeout: 5s")
	fi
	lab_vipd_config "$id" "${extra[@]}" || return 1
	if [[ " ${*:3} " == *" vip2 "* ]]; then
		sed -i "/^          ip: $VIP4\$/a\\      - interface: eth0\\n        vip:\\n          ip: $VIP2" \
			"$LAB_DIR/n$id/vipd.yaml"
	fi
}
own_key() { # NODE: "KEY CREATE_REVISION LEASE" of NODE's key in VIP4's election
	lab_etcdctl 1 get --prefix "/vipd/election/$VIP4/" -w json |
		jq -r --arg n "$(printf '%s' "$1" | base64)" \
			'.kvs[] | select(.value == $n) | "\(.key | @base64d) \(.create_revision) \(.lease)"'
}
log_us() { # NODE PATTERN: the epoch us of the last log line matching PATTERN
	local l
	l=$(grep "$2" "$LAB_DIR/$1/vipd.log" | tail -1) || return 1
	date -d "${l%% *}" +%s%6N
}
dels_since() { sc_mon_events "$2" "${3:-$VIP4}" | awk -v t="$1" 'NF && $1 >= t && $2 == "del"' | wc -l; }

sc_lab_up 3 --ttl 5
# The hook (c): records its arguments and VIPD_* environment.
hook=$LAB_DIR/hook.sh
rec=$LAB_DIR/hooks.rec
sc_hook_write "$hook" "$rec"
for i in 1 2 3; do
	cfg "$i" "$TIMEOUT" || lab_fail "vipd config for n$i rejected"
	lab_vipd_start "$i"
done
o=$(lab_wait_owner 10 -) || lab_fail "no single owner within 10 s of start"
lab_log "owner at start: $o"
lab_wait_until 5 sc_has_key "$o" || lab_fail "no key of $o in the election"
t0=$(sc_now_us)

# --- b. unchanged reload on the healthy owner -----------------------------------
k0=$(own_key "$o")
js=$(sc_ctl "$o" --json reload) || lab_fail "vipctl reload failed on $o"
lab_log "$o reload: $(jq -c '{vips, applied, restart_needed}' <<<"$js")"
lab_assert "$o: VIP4 kept, nothing applied" \
	test "$(jq -c '[.vips.kept, .vips.added, .vips.removed, .applied]' <<<"$js")" = "[[\"$VIP4\"],[],[],[]]"
sleep 2 # four rounds and keepalives across the reload
lab_assert "$o: the health module carried on (one start line)" \
	test "$(grep -c 'health: 1 check(s) every' "$LAB_DIR/$o/vipd.log")" = 1
lab_assert "$o: no health state change" test "$(grep -c 'health: unhealthy' "$LAB_DIR/$o/vipd.log")" = 0
lab_assert "$o's key is the same key, create revision and lease ($k0)" test "$(own_key "$o")" = "$k0"
bd_safety "no Deleted event of $VIP4 on $o since the reload" test "$(dels_since "$t0" "$o")" = 0
lab_assert "still owned by $o" test "$(lab_owner)" = "$o"

# --- a. changed, still failing check on an unhealthy candidate --------------------
x=n1
[ "$x" = "$o" ] && x=n2
t1=$(sc_now_us)
lab_stop "$x" service 5 || lab_fail "stand-in on $x did not stop"
lab_wait_until $(((INTERVAL * FALL + TIMEOUT + BD_SLACK_MS + 1000) / 1000 + 1)) \
	grep -q 'health: unhealthy after' "$LAB_DIR/$x/vipd.log" || lab_fail "$x not unhealthy"
bd_timing "stand-in stopped -> $x unhealthy (seen)" $((($(sc_now_us) - t1) / 1000)) \
	$((INTERVAL * FALL + TIMEOUT + BD_SLACK_MS + 1000)) \
	"interval $INTERVAL * fall $FALL + timeout $TIMEOUT + slack $BD_SLACK_MS + the stop and this poll, 1000"
lab_wait_until 5 sc_no_key "$x" || lab_fail "$x still has a key in the election"
lab_assert "$x: role unhealthy" test "$(sc_role "$x" "$VIP4")" = unhealthy

r1=$(sc_rev)
cfg "${x#n}" 250 || lab_fail "changed config for $x rejected"
js=$(sc_ctl "$x" --json reload) || lab_fail "vipctl reload (changed check) failed on $x"
lab_log "$x reload: $(jq -c '.applied' <<<"$js")"
lab_assert "$x: the health section started anew" \
	jq -e '.applied | any(startswith("health: 1 -> 1 check(s), started anew"))' <<<"$js" >/dev/null
sleep $(((INTERVAL * FALL + TIMEOUT + 999) / 1000 + 1)) # fall rounds of the new module and more
lab_assert "$x: role still unhealthy" test "$(sc_role "$x" "$VIP4")" = unhealthy
lab_assert "$x: a new module started (a second start line)" \
	test "$(grep -c 'health: 1 check(s) every' "$LAB_DIR/$x/vipd.log")" = 2
lab_assert "$x: still failing, no healthy line" test "$(grep -c 'health: healthy again' "$LAB_DIR/$x/vipd.log")" = 0
p=$(sc_puts_since "$r1" "$x")
bd_safety "$x put no key into the $VIP4 election since the reload (puts: $p)" test "$p" = 0
bd_safety "$x never held $VIP4" test -z "$(sc_mon_events "$x" "$VIP4" | awk 'NF && $2 == "add"')"

# --- d. a VIP added by reload on the unhealthy node ---------------------------------
r2=$(sc_rev)
cfg "${x#n}" 250 vip2 || lab_fail "config with $VIP2 for $x rejected"
out=$(sc_ctl "$x" reload) || lab_fail "vipctl reload (add $VIP2) failed on $x"
lab_assert "$x: $VIP2 added" grep -q "^added: $VIP2\$" <<<"$out"
sleep 2 # a campaign is a few ms; the takeover probe window of a new VIP 1 s
lab_assert "$x: $VIP2's role is unhealthy" test "$(sc_role "$x" "$VIP2")" = unhealthy
p=$(sc_puts_since "$r2" "$x" "$VIP2")
bd_safety "$x put no key into the $VIP2 election (puts: $p)" test "$p" = 0
bd_safety "nobody holds $VIP2" test -z "$(lab_owner "$VIP2")"
lab_assert "$x: one module still (the health section unchanged by this reload)" \
	test "$(grep -c 'health: 1 check(s) every' "$LAB_DIR/$x/vipd.log")" = 2

# --- c. hooks added; the stand-in back ------------------------------------------------
cfg "${x#n}" 250 vip2 hooks || lab_fail "config with hooks for $x rejected"
js=$(sc_ctl "$x" --json reload) || lab_fail "vipctl reload (add hooks) failed on $x"
lab_assert "$x: hooks applied to later events" \
	jq -e '.applied == ["hooks: the new programs run for later events"]' <<<"$js" >/dev/null
lab_assert "no hook ran yet" test ! -s "$rec"
t2=$(sc_now_us)
lab_service_start "$x" || lab_fail "cannot start the stand-in on $x again"
lab_wait_until $(((INTERVAL * RISE + TIMEOUT + BD_SLACK_MS + 1000) / 1000 + 1)) \
	grep -q "health: healthy again after $RISE passing round(s)" "$LAB_DIR/$x/vipd.log" ||
	lab_fail "$x not healthy again"
t_ok=$(log_us "$x" 'health: healthy again') || lab_fail "no healthy line in $x's log"
lab_log "$x healthy again at +$(sc_ms "$t2" "$t_ok") ms after its stand-in's start"
# Rounds start INTERVAL apart at the least, the first passing one after the
# stand-in listens (after t2); 50 ms for the log's ms stamps and a round
# whose start was stamped just before a preemption and its connect after.
lab_assert "$x healthy no earlier than (rise - 1) * interval - 50 ms after the stand-in's start" \
	test $(((t_ok - t2) / 1000)) -ge $(((RISE - 1) * INTERVAL - 50))
bd_timing "stand-in back -> $x healthy again" $(((t_ok - t2) / 1000)) \
	$((INTERVAL * RISE + TIMEOUT + BD_SLACK_MS + 1000)) \
	"interval $INTERVAL * rise $RISE + timeout $TIMEOUT + slack $BD_SLACK_MS + the stand-in's start, 1000"
lab_wait_until 5 sc_has_key "$x" || lab_fail "$x did not campaign for $VIP4 again"
own=$(lab_wait_owner 5 - "$VIP2") || lab_fail "nobody holds $VIP2 after $x is healthy"
lab_assert "$x holds $VIP2" test "$own" = "$x"
t_add=$(sc_mon_events "$x" "$VIP2" | awk 'NF && $2 == "add" { print $1; exit }')
bd_timing "$x healthy -> adds $VIP2" $(((t_add - t_ok) / 1000)) $((1000 + BD_SLACK_MS)) \
	"takeover probe window 1000 (a new VIP) + slack $BD_SLACK_MS"
lab_wait_until 5 grep -q "event=acquire vip=$VIP2" "$rec" || lab_fail "no onAcquire record for $VIP2"
sed 's/^/    hooks.rec: /' "$rec" >&2
lab_assert "the new onAcquire ran on $x with its environment" \
	grep -qE "^[0-9]+ arg=acq event=acquire vip=$VIP2 link=eth0 node=$x reason=elected path=" "$rec"
lab_assert "exactly one hook ran" test "$(wc -l <"$rec")" = 1
lab_assert "$x: role candidate for $VIP4" test "$(sc_role "$x" "$VIP4")" = candidate
lab_assert "$o keeps $VIP4 (rejoining is at the back)" test "$(lab_owner)" = "$o"
bd_safety "$VIP4 was never deleted on $o during the test" test "$(dels_since "$t0" "$o")" = 0
lab_assert_no_overlap "$VIP2"
scenario_end
