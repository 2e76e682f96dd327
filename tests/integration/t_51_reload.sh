#!/bin/bash
# t_51_reload: configuration reload (docs/operations.md, "Changing the
# configuration") on a running 3-node lab.
#
#   1. An unchanged reload, by SIGHUP and by `vipctl reload`, on the owner:
#      the address is not touched (no Deleted event of VIP4 on the owner;
#      lifetime refreshes are adds and expected), the owner's election key
#      keeps its create revision and lease (no new key).
#   2. A bad file: `vipctl reload` exits 1 and prints the file's errors
#      (file:line:col), the log says so, the old configuration runs on
#      (the VIP stays, a later good reload works).
#   3. A second VIP (VIP2) added on every node: it is campaigned for and
#      owned by one node; removed again from its owner only: that owner
#      deletes it and another node takes over within the slack (address
#      first, then the key: no overlap; the release's reason is "removed
#      from the configuration", not "paused"); removed everywhere: nobody holds
#      it within the slack. VIP4 stays on its owner throughout.
#
#   safety  no overlap of VIP4 or VIP2; VIP4's owner never deletes it.
#   timing  reload -> VIP2 held within BD_SLACK_MS + the takeover probe
#           (VIP2 is new: a 1 s probe window, conflict.h) ; removal on
#           the owner -> another adds within BD_SLACK_MS (delete, key
#           delete, watch event, range read, add); removal everywhere ->
#           no holder within BD_SLACK_MS.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
VIPCTL=$LAB_ROOT/build/vipctl
VIP2=198.18.0.101

scenario_up
o=$OWNER_ID
ctl() { lab_exec "$1" "$VIPCTL" -s "$LAB_DIR/n${1#n}/vipd.sock" "${@:2}"; }
# The owner's key in VIP4's election: "KEY CREATE_REVISION LEASE".
own_key() {
	lab_etcdctl 1 get --prefix "/vipd/election/$VIP4/" -w json |
		jq -r --arg n "$(printf '%s' "n$o" | base64)" \
			'.kvs[] | select(.value == $n) | "\(.key | @base64d) \(.create_revision) \(.lease)"'
}
dels_since() { sc_mon_events "$2" "${3:-$VIP4}" | awk -v t="$1" 'NF && $1 >= t && $2 == "del"' | wc -l; }
# cfg_vip2 ID: the lab's configuration plus VIP2 on eth0.
cfg_vip2() {
	lab_vipd_config "$1" || return 1
	sed -i "/^          ip: $VIP4\$/a\\      - interface: eth0\\n        vip:\\n          ip: $VIP2" \
		"$LAB_DIR/n$1/vipd.yaml"
}

# --- 1. unchanged reloads ------------------------------------------------------
k0=$(own_key)
lab_assert "the owner n$o has a key in the $VIP4 election ($k0)" test -n "$k0"
t0=$(sc_now_us)
lab_kill "$o" vipd HUP
lab_wait_until 5 grep -q 'reload: .*vips kept=1 added=0 removed=0' "$LAB_DIR/n$o/vipd.log" ||
	lab_fail "no reload summary in n$o's log after SIGHUP"
out=$(ctl "$o" reload) || lab_fail "vipctl reload failed on n$o"
lab_log "vipctl reload on n$o:"$'\n'"$out"
lab_assert "vipctl reload: $VIP4 kept, nothing added or removed" \
	test "$(sed -n 's/^kept: //p; s/^added: //p; s/^removed: //p' <<<"$out" | tr '\n' ' ')" = "$VIP4 - - "
js=$(ctl "$o" --json reload) || lab_fail "vipctl --json reload failed"
lab_assert "JSON: ok, command reload, kept [$VIP4], nothing needs a restart" \
	test "$(jq -c '[.ok, .command, .vips.kept, .vips.added, .vips.removed, .restart_needed]' <<<"$js")" = \
	"[true,\"reload\",[\"$VIP4\"],[],[],[]]"
sleep "$LAB_TTL" # keepalives and lifetime refreshes go on across the reloads
k1=$(own_key)
lab_assert "the owner's key is the same key, create revision and lease ($k1)" test "$k1" = "$k0"
bd_safety "no Deleted event of $VIP4 on n$o since the reloads" test "$(dels_since "$t0" "n$o")" = 0
lab_assert "still owned by n$o" test "$(lab_owner)" = "n$o"

# --- 2. a bad file ----------------------------------------------------------------
cp "$LAB_DIR/n$o/vipd.yaml" "$LAB_DIR/n$o/vipd.yaml.good"
sed -i 's/^    ttl: .*/    ttl: fast/' "$LAB_DIR/n$o/vipd.yaml"
set +e
err=$(ctl "$o" reload 2>&1 >/dev/null); rc=$?
set -e
lab_log "vipctl reload of a bad file: rc=$rc"$'\n'"$err"
lab_assert "vipctl reload of a bad file exits 1" test "$rc" = 1
lab_assert "and prints the error with file:line:col" grep -q "vipd.yaml:[0-9]*:[0-9]*: .*ttl" <<<"$err"
lab_assert "n$o's log: the running configuration stays" \
	grep -q 'reload: .*not valid; the running configuration stays' "$LAB_DIR/n$o/vipd.log"
lab_kill "$o" vipd HUP
sleep 0.5
lab_assert "n$o still runs after a SIGHUP with a bad file" lab_pid "$o" vipd >/dev/null
lab_assert "still owned by n$o" test "$(lab_owner)" = "n$o"
mv "$LAB_DIR/n$o/vipd.yaml.good" "$LAB_DIR/n$o/vipd.yaml"
ctl "$o" reload >/dev/null || lab_fail "a good reload after the bad one failed"
lab_assert "the key is still the same ($k0)" test "$(own_key)" = "$k0"

# --- 3. a second VIP: added, then removed -------------------------------------------
t1=$(sc_now_us)
for i in 1 2 3; do
	cfg_vip2 "$i" || lab_fail "config with $VIP2 for n$i rejected"
	out=$(ctl "$i" reload) || lab_fail "vipctl reload (add $VIP2) failed on n$i"
	lab_assert "n$i: $VIP2 added" grep -q "^added: $VIP2\$" <<<"$out"
done
o2=$(lab_wait_owner 5 - "$VIP2") || lab_fail "nobody holds $VIP2 within 5 s of the reloads"
t_add=$(sc_mon_events "$o2" "$VIP2" | awk -v t="$t1" 'NF && $1 >= t && $2 == "add" { print $1; exit }')
bd_timing "reloads -> $o2 adds $VIP2" $(((t_add - t1) / 1000)) $((1000 + BD_SLACK_MS)) \
	"takeover probe window 1000 (a new VIP) + slack $BD_SLACK_MS"
lab_assert "$VIP4 still on n$o" test "$(lab_owner)" = "n$o"

# Removed on its owner only: released at once to another node.
lab_vipd_config "${o2#n}"
t2=$(sc_now_us)
out=$(ctl "${o2#n}" reload) || lab_fail "vipctl reload (remove $VIP2) failed on $o2"
lab_assert "$o2: $VIP2 removed" grep -q "^removed: $VIP2\$" <<<"$out"
n2=$(lab_wait_owner 5 "$o2" "$VIP2") || lab_fail "$VIP2 did not move within 5 s of its removal on $o2"
t_del=$(sc_mon_events "$o2" "$VIP2" | awk -v t="$t2" 'NF && $1 >= t && $2 == "del" { print $1; exit }')
t_add=$(sc_mon_events "$n2" "$VIP2" | awk -v t="$t2" 'NF && $1 >= t && $2 == "add" { print $1; exit }')
if [ -z "$t_del" ] || [ -z "$t_add" ]; then lab_fail "no delete on $o2 or add on $n2 of $VIP2"; fi
lab_log "$o2 deletes $VIP2 at +$(sc_ms "$t2" "$t_del") ms, $n2 adds it at +$(sc_ms "$t2" "$t_add") ms"
bd_safety "$n2 added $VIP2 only after $o2 deleted it" test "$t_add" -gt "$t_del"
bd_timing "removal on $o2 -> $n2 adds $VIP2" $(((t_add - t2) / 1000)) "$BD_SLACK_MS" \
	"slack $BD_SLACK_MS (delete, key delete, watch event, range read, add)"
lab_wait_until 5 grep -q "reload: removed vip=$VIP2 released and out of its election" \
	"$LAB_DIR/$o2/vipd.log" || lab_fail "$o2 did not finish removing $VIP2"
lab_assert "$o2's release names the removal (VIPD_REASON of onRelease, metrics reason)" \
	grep -q "vip: released vip=$VIP2 link=eth0 reason=\"removed from the configuration\"" \
	"$LAB_DIR/$o2/vipd.log"
gone=$(lab_etcdctl 1 get --prefix --keys-only "/vipd/election/$VIP2/" | grep -c "/" || true)
lab_assert "$o2's key left the $VIP2 election (2 keys left: $gone)" test "$gone" = 2

# Removed everywhere: nobody holds it.
t3=$(sc_now_us)
for i in 1 2 3; do
	[ "n$i" = "$o2" ] && continue
	lab_vipd_config "$i"
	ctl "$i" reload >/dev/null || lab_fail "vipctl reload (remove $VIP2) failed on n$i"
done
lab_wait_until $(((BD_SLACK_MS + 999) / 1000)) _lab_no_owner "$VIP2" ||
	lab_fail "$VIP2 still held by $(lab_owner "$VIP2") $BD_SLACK_MS ms after its removal everywhere"
lab_log "removed everywhere: nobody holds $VIP2 after $(sc_ms "$t3" "$(sc_now_us)") ms"
bd_safety "$VIP4 was never deleted on n$o during the test" test "$(dels_since "$t0" "n$o")" = 0
lab_assert "the owner's key of $VIP4 is still $k0" test "$(own_key)" = "$k0"
lab_assert_no_overlap "$VIP2"
scenario_end
