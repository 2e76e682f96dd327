#!/bin/bash
# t_16_quorum_loss: etcd loses quorum (2 of 3 members stopped; vipd left
# alone). No lease can be renewed, so the owner's fence passes and nobody
# holds the VIP; when the members come back, exactly one node owns it again
# and the client reaches it.
#
#   safety  the VIP left the owner before the earliest moment etcd could
#           expire its lease (the send time of its last successful
#           keepalive, from its log, + TTL: etcd received it later); every
#           address the owner installed during the loss carries a kernel
#           valid lifetime that ends by its fence (so a vipd frozen at any
#           moment could not keep it longer); nobody holds the VIP while
#           there is no quorum; no overlap.
#   timing  the VIP is gone within: a quorum-less etcd leader keeps
#           renewing leases until check-quorum steps it down (up to two
#           election timeouts, seen 1.84 s), then the fence passes at most
#           TTL - margin later: 2 x 1000 + TTL + slack after the loss. The
#           fence itself is printed (the VIP normally goes within a few ms
#           of it). After the restore: one owner within the keepalive
#           retry cap (1 s: the next keepalive renews the old lease, or
#           finds it gone and a new grant and campaign follow) + slack
#           after the lab saw etcd healthy again.
# About 30 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

# --- local helpers -----------------------------------------------------------

ms_since() { echo $((($(sc_now_us) - $1) / 1000)); }

# wait_gone_stable TIMEOUT ADDR: wait until nobody holds ADDR for 300 ms in
# a row (a kernel expiry the daemon undoes at once is no drop); print the
# epoch us when that quiet run began. Non-zero on timeout.
wait_gone_stable() {
	local deadline=$(($(sc_now_us) + $1 * 1000000)) since=
	while :; do
		if [ -z "$(lab_owner "$2")" ]; then
			[ -n "$since" ] || since=$(sc_now_us)
			[ $(($(sc_now_us) - since)) -lt 300000 ] || { echo "$since"; return 0; }
		else
			since=
		fi
		[ "$(sc_now_us)" -lt "$deadline" ] || return 1
		sleep 0.03
	done
}

# last_renewal_us NODE BEFORE_US: the send time (epoch us) of NODE's last
# successful lease grant or keepalive before BEFORE_US, from vipd.log.
last_renewal_us() {
	local stamps
	stamps=$(awk '/ session: (keepalive ok|lease granted) / {
			r = 0
			for (i = 1; i <= NF; i++) if ($i ~ /^rtt_ms=/) { r = $i; sub(/rtt_ms=/, "", r) }
			print $1, r
		}' "$LAB_DIR/$1/vipd.log")
	[ -n "$stamps" ] || return 1
	paste -d' ' <(cut -d' ' -f1 <<<"$stamps" | date -f - +%s%6N) <(cut -d' ' -f2 <<<"$stamps") |
		awk -v b="$2" '$1 <= b { s = $1 - $2 * 1000 } END { if (s == "") exit 1; printf "%.0f\n", s }'
}

# --- the scenario ------------------------------------------------------------

scenario_up
ttl=$LAB_TTL
margin_ms=$(sed -n 's/.* info: starting .*fence_margin_ms=\([0-9]*\).*/\1/p' "$LAB_DIR/$OWNER/vipd.log" | head -1)
[ -n "$margin_ms" ] || lab_fail "no fence_margin_ms in $OWNER's start line (log format changed?)"
sleep 1

t_loss0=$(sc_now_us)
lab_quorum_loss # n3 and n2 (SIGTERM, each waited for)
t_loss=$(sc_now_us)
lab_log "quorum lost (stopping took $(((t_loss - t_loss0) / 1000)) ms); owner was $OWNER"
lab_assert "etcd has no quorum: n1 cannot read" \
	eval '! lab_etcdctl 1 --command-timeout=1s get /x >/dev/null 2>&1'

t_gone=$(wait_gone_stable $((ttl + 10)) "$VIP4") || {
	lab_log "holders now: $(lab_owner)"
	lab_fail "the VIP is still held $(ms_since "$t_loss") ms after the quorum loss"
}
ev=$(sc_mon_events "$OWNER")
del_us=$(awk -v t="$t_gone" '$2 == "del" && $1 <= t + 1000 { d = $1 } END { print d }' <<<"$ev")
if [ -z "$del_us" ] || [ "$del_us" -lt "$t_loss0" ]; then
	lab_fail "no Deleted event for the VIP on $OWNER after the loss began"
fi
bd_timing "quorum loss complete -> the VIP left $OWNER" $(((del_us - t_loss) / 1000)) \
	$((2 * BD_ETCD_ELECTION_MS + ttl * 1000 + BD_SLACK_MS)) \
	"check-quorum 2 x $BD_ETCD_ELECTION_MS + TTL $((ttl * 1000)) + slack $BD_SLACK_MS"
grep -E 'fence passed|lease lost|released|removed by someone|expired|not installing|acquired' "$LAB_DIR/$OWNER/vipd.log" |
	tail -6 | sed 's/^/    vipd: /' >&2 || true

sent=$(last_renewal_us "$OWNER" "$del_us") || lab_fail "no successful keepalive in $OWNER's vipd.log (log format changed?)"
fence=$((sent + ttl * 1000000 - margin_ms * 1000))
lab_log "measured: $OWNER's last renewal sent $(((sent - t_loss) / 1000)) ms after the loss; fence at +$(((fence - t_loss) / 1000)) ms; VIP gone at fence$(printf %+d $(((del_us - fence) / 1000))) ms"
bd_safety "the VIP was gone before etcd could expire the lease (last keepalive sent + TTL): at fence$(printf %+d $(((del_us - fence) / 1000))) ms, margin $margin_ms ms" \
	test "$del_us" -lt $((sent + ttl * 1000000))

# Every install or refresh on the owner during the loss ends (valid_lft) by the fence.
bad=$(awk -v a="$t_loss0" -v b="$del_us" -v f="$fence" '
	$2 == "add" && $1 >= a && $1 <= b && ($3 < 0 || $1 + $3 * 1000000 > f + 20000) {
		printf "add at fence%+d ms with valid_lft %ss (ends %+d ms after the fence); ", ($1 - f) / 1000, $3, ($1 + $3 * 1000000 - f) / 1000 }' <<<"$ev")
bd_safety "every lifetime $OWNER installed during the loss ends by its fence${bad:+ — $bad}" test -z "$bad"

# Nobody takes it while there is no quorum.
t_quiet=$(sc_now_us)
until [ "$(ms_since "$t_quiet")" -ge 3000 ]; do
	o=$(lab_owner)
	[ -z "$o" ] || lab_fail "safety: $o holds the VIP without etcd quorum, $(ms_since "$del_us") ms after it was dropped"
	sleep 0.05
done
for i in 1 2 3; do
	if [ "n$i" = "$OWNER" ]; then from=$del_us; else from=$t_loss0; fi
	adds=$(sc_mon_events "n$i" | awk -v t="$from" '$2 == "add" && $1 > t' | wc -l)
	bd_safety "n$i added no VIP during the quorum loss after $([ "n$i" = "$OWNER" ] && echo "the drop" || echo "it began") ($adds add events)" \
		test "$adds" -eq 0
done

t_res=$(sc_now_us)
lab_quorum_restore || lab_fail "etcd not healthy again within 20 s"
t_healthy=$(sc_now_us)
lab_log "quorum restored: healthy after $(((t_healthy - t_res) / 1000)) ms"
o=$(lab_wait_owner $((ttl + 10))) || lab_fail "no single owner within TTL + 10 s of the restore ($(ms_since "$t_res") ms)"
t_add=$(sc_ev_first "$o" add "$t_res") || lab_fail "no add event on $o after the restore"
bd_timing "restore began -> $o adds the VIP" $(((t_add - t_res) / 1000)) $(((t_healthy - t_res) / 1000 + 1000 + BD_SLACK_MS)) \
	"etcd seen healthy $(((t_healthy - t_res) / 1000)) + keepalive retry cap 1000 + slack $BD_SLACK_MS"

sleep 1 # a second owner, if any, would show now
bd_safety "still exactly one owner ($o)" test "$(lab_owner)" = "$o"
scenario_end
