#!/bin/bash
# t_20_ipv6: an IPv6-only VIP (fd00:18::100). The owner holds it as a /128
# on eth0; the client reaches [VIP6]:6443 and its neighbour entry for the
# VIP has the owner's MAC. The owner's vipd stops gracefully; once the next
# node holds the VIP, the client's neighbour entry shows the NEW owner's MAC
# without the client sending anything (only vipd's unsolicited Neighbour
# Advertisement with Override can do that: the kernel announces nothing on
# an address add), the client reaches the new owner, and the ownership
# intervals never overlap. The VIP is installed deprecated, so the owner
# never uses it as the source of its own connections (`ip -6 route get`).
# About 10 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

# mac NODE: the MAC of NODE's eth0.
mac() {
	lab_exec "$1" cat /sys/class/net/eth0/address
}

# client_neigh: the client's neighbour entry for VIP6 ("" if none).
client_neigh() {
	ip -n "$LAB_PREFIX-cl" -6 neigh show "$VIP6" dev eth0
}

# neigh_mac: the lladdr in that entry ("" if none).
neigh_mac() {
	client_neigh | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'
}

scenario_up --v6-only
[ -z "$(lab_owner "$VIP4")" ] || lab_fail "VIP4 is held although only VIP6 is configured"
a=$(ip -n "$LAB_PREFIX-$OWNER" -6 -o addr show dev eth0)
lab_assert "$OWNER holds $VIP6/128 on eth0" grep -q " inet6 $VIP6/128 " <<<"$a"
# The VIP is never the owner's own source address: it is installed
# deprecated (preferred_lft 0). Without that the kernel chose the /128 VIP
# as the source even towards a peer in the same /64.
lab_assert "$OWNER holds $VIP6 deprecated (preferred_lft 0)" grep -q " inet6 $VIP6/128 .*deprecated" <<<"$a"
own6=$(lab_node_addr6 "$OWNER")
for peer in "$(lab_node_addr6 "n$((OWNER_ID % 3 + 1))")" fd00:18::101; do
	r=$(ip -n "$LAB_PREFIX-$OWNER" -6 route get "$peer") || lab_fail "ip -6 route get $peer on $OWNER failed"
	lab_log "$OWNER: ip -6 route get $peer: $r"
	lab_assert "$OWNER's source towards $peer is its own $own6, not the VIP" \
		test "$(awk '{ for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1) }' <<<"$r")" = "$own6"
done

got=$(lab_client_reach v6) || lab_fail "the client cannot reach [$VIP6]:6443"
lab_assert "the client reaches [$VIP6]:6443 and $OWNER answers (got $got)" test "$got" = "$OWNER"
old_mac=$(mac "$OWNER")
lab_log "client's neighbour entry: $(client_neigh)"
lab_assert "the client's neighbour entry for $VIP6 has $OWNER's MAC $old_mac" test "$(neigh_mac)" = "$old_mac"
sleep 0.5 # the start-up announcements are long over

t_stop=$(sc_now_us)
lab_vipd_stop "$OWNER" || lab_fail "vipd on $OWNER did not stop on SIGTERM"
lab_log "vipd on $OWNER stopped (status ${LAB_LAST_STATUS:-?}) in $((($(sc_now_us) - t_stop) / 1000)) ms"
new=$(lab_wait_owner 5 "$OWNER" "$VIP6") || lab_fail "no new owner of $VIP6 within 5 s of the graceful stop"
t_add=$(sc_mon_events "$new" "$VIP6" | awk -v t="$t_stop" 'NF && $2 == "add" && $1 >= t { print $1; exit }')
[ -n "$t_add" ] || lab_fail "no add event of $VIP6 on $new after the stop"
bd_timing "SIGTERM -> $new adds $VIP6" $(((t_add - t_stop) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS (delete, revoke, watch event, add)"
t_new=$(sc_now_us)
lab_log "measured: new owner $new $(((t_new - t_stop) / 1000)) ms after SIGTERM"
new_mac=$(mac "$new")

# Nothing sent by the client from here until its entry is checked.
# timing: the NA goes out as the address is added; its arrival and the
# client's update are wake-ups: the slack.
# shellcheck disable=SC2016 # eval expands it
lab_wait_until "$((BD_SLACK_MS / 1000))" eval '[ "$(neigh_mac)" = "$new_mac" ]' || {
	lab_log "client's neighbour entry now: $(client_neigh)"
	lab_fail "timing: the client's neighbour entry for $VIP6 still lacks $new's MAC $new_mac $BD_SLACK_MS ms (slack) after the takeover (no NA with Override?)"
}
lab_log "measured: client's entry shows $new's MAC $((($(sc_now_us) - t_new) / 1000)) ms after the takeover was seen: $(client_neigh)"
lab_assert "the client's neighbour entry changed from $old_mac to $new's MAC $new_mac" \
	test "$old_mac" != "$new_mac" -a "$(neigh_mac)" = "$new_mac"

got=$(lab_client_reach v6) || lab_fail "the client cannot reach [$VIP6]:6443 after the takeover"
lab_assert "the client reaches the new owner $new (got $got)" test "$got" = "$new"
a6=$(ip -n "$LAB_PREFIX-$OWNER" -6 -o addr show dev eth0)
lab_assert "$OWNER no longer holds $VIP6" test "${a6/ inet6 $VIP6\//}" = "$a6"
scenario_end v6
