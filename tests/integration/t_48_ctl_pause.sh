#!/bin/bash
# t_48_ctl_pause: `vipctl pause` on the owner hands the VIP over with zero
# overlap (the address goes before the key), and the paused node stays
# out of the election - it takes the VIP back neither when the new owner
# stops nor when it is the only node left - until `vipctl resume`, after
# which it campaigns again and, alone, takes the VIP.
#
#   safety  zero overlap (lab_assert_no_overlap); the new owner adds only
#           after the paused one deleted; nobody holds the VIP while the
#           paused node is the only vipd left.
#   timing  pause -> the new owner's add within BD_SLACK_MS (the key's
#           delete seen by a watch, a range read, a 20 ms probe window);
#           resume -> the add within BD_SLACK_MS (a campaign txn, a range
#           read, a probe window).
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
VIPCTL=$LAB_ROOT/build/vipctl

scenario_up
ctl() { lab_exec "$1" "$VIPCTL" -s "$LAB_DIR/n${1#n}/vipd.sock" "${@:2}"; }
p=$OWNER_ID

t0=$(sc_now_us)
out=$(ctl "$p" pause "$VIP4") || lab_fail "vipctl pause failed"
lab_assert "pause says paused ($out)" test "$out" = "$VIP4: paused"
new=$(lab_wait_owner 5 "n$p") || lab_fail "no new owner within 5 s of the pause"
t_del=$(sc_ev_first "n$p" del "$t0") || lab_fail "no delete on n$p"
t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "no add on $new"
lab_log "n$p deletes at +$(sc_ms "$t0" "$t_del") ms, $new adds at +$(sc_ms "$t0" "$t_add") ms"
bd_safety "$new added only after n$p deleted" test "$t_add" -gt "$t_del"
bd_timing "pause -> $new adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" \
	"slack $BD_SLACK_MS (watch event, range read, a 20 ms probe window, add)"
js=$(ctl "$p" --json status)
lab_assert "n$p: role paused, not a candidate, reason paused" \
	test "$(jq -r '.vips[0] | "\(.role) \(.paused) \(.held)"' <<<"$js")" = "paused true false"
out=$(ctl "$p" pause) || lab_fail "a second pause failed"
lab_assert "a second pause says already paused" test "$out" = "$VIP4: already paused"
lab_assert "n$p has no key in the election" test -z "$(lab_etcdctl 1 get --prefix "/vipd/election/$VIP4/" | awk -v n="n$p" 'NR % 2 == 0 && $0 == n')"

# The new owner stops: the third node takes over, never the paused one.
lab_vipd_stop "${new#n}"
third=$(lab_wait_owner 5 "$new") || lab_fail "no owner after $new stopped"
lab_assert "the third node ($third) took over, not the paused n$p" test "$third" != "n$p"
# The third stops too: the paused node is the only vipd left and must not
# take the VIP. A candidate would within BD_SLACK_MS; wait twice that.
lab_vipd_stop "${third#n}"
sleep $((2 * BD_SLACK_MS / 1000))
bd_safety "nobody holds the VIP while the only vipd left is paused" test -z "$(lab_owner)"

# resume: it campaigns again and, alone, takes the VIP.
t0=$(sc_now_us)
out=$(ctl "$p" resume) || lab_fail "vipctl resume failed"
lab_assert "resume says resumed ($out)" test "$out" = "$VIP4: resumed"
o=$(lab_wait_owner 5) || lab_fail "n$p did not take the VIP after resume"
t_add=$(sc_ev_first "n$p" add "$t0") || lab_fail "no add on n$p"
lab_assert "n$p owns it again" test "$o" = "n$p"
bd_timing "resume -> n$p adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" \
	"slack $BD_SLACK_MS (campaign txn, range read, a 20 ms probe window, add)"
lab_assert "n$p's log: pause and resume by uid 0" \
	test "$(grep -c 'control: \(pause\|resume\) vip='"$VIP4"' uid=0 result="\(paused\|resumed\)"' "$LAB_DIR/n$p/vipd.log")" = 2
out=$(ctl "$p" resume)
lab_assert "a second resume says not paused" test "$out" = "$VIP4: not paused"
scenario_end
