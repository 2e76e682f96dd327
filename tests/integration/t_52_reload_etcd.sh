#!/bin/bash
# t_52_reload_etcd: a reload that changes vipd.etcd.endpoints and
# vipd.lease.ttl on the owner (docs/operations.md, "Changing the
# configuration": endpoints are applied to the running client; the TTL
# applies to the next lease).
#
#   1. Endpoints -> another member of the same cluster (n2's, by its
#      address), TTL 5s -> 3s: the answer lists both rules; the lease and
#      the election key stay (same create revision); then the owner's own
#      etcd member is stopped: the owner keeps the VIP for two TTLs (its
#      requests go to the new endpoint). Without the reload it would lose
#      it at its fence (as t_16's quorum loss shows for a member gone).
#   2. The current lease still has its granted TTL (5 s: etcdctl lease
#      timetolive); revoked from outside, the next lease is granted with
#      3 s (the session's log line).
#   3. Endpoints -> a port nothing listens on: the owner cannot renew; the
#      fence drops the VIP before its lease can expire, and another node
#      takes it over once the lease expired. The normal fence rule.
#
#   safety  no overlap; in 3. the old owner deletes before the new adds.
#   timing  3.: reload -> the owner deletes within the fence, TTL (3 s,
#           the lease of 2.) + slack; -> the new owner adds within TTL +
#           lessor check (500) + etcd election (1000) + slack.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
VIPCTL=$LAB_ROOT/build/vipctl

scenario_up
o=$OWNER_ID
other=$((o % 3 + 1))
ctl() { lab_exec "$1" "$VIPCTL" -s "$LAB_DIR/n${1#n}/vipd.sock" "${@:2}"; }
own_key() {
	lab_etcdctl "$other" get --prefix "/vipd/election/$VIP4/" -w json |
		jq -r --arg n "$(printf '%s' "n$o" | base64)" \
			'.kvs[] | select(.value == $n) | "\(.key | @base64d) \(.create_revision) \(.lease)"'
}
# set_cfg ENDPOINT TTL_S: the owner's file with that endpoint and TTL.
set_cfg() {
	lab_vipd_config "$o" || return 1
	sed -i "s|^      - http://127.0.0.1:2379\$|      - $1|; s|^    ttl: .*|    ttl: ${2}s|" \
		"$LAB_DIR/n$o/vipd.yaml"
}

# --- 1. another member, a shorter TTL --------------------------------------------
k0=$(own_key)
lab_assert "n$o has a key ($k0)" test -n "$k0"
set_cfg "http://$(lab_node_addr4 "n$other"):2379" 3 || lab_fail "config rejected"
js=$(ctl "$o" --json reload) || lab_fail "vipctl reload failed"
lab_log "reload answer: $js"
lab_assert "applied: the endpoints" jq -e '.applied | map(test("^etcd endpoints: 1 -> 1")) | any' <<<"$js" >/dev/null
lab_assert "next lease: leaseTTL 5s -> 3s" \
	jq -e '.next_lease == ["leaseTTL 5s -> 3s: applies to the next lease"]' <<<"$js" >/dev/null
lab_assert "nothing needs a restart" jq -e '.restart_needed == []' <<<"$js" >/dev/null
t0=$(sc_now_us)
lab_etcd_stop "$o"
lab_log "n$o's own etcd member stopped"
sleep $((2 * LAB_TTL))
dels=$(sc_mon_events "n$o" | awk -v t="$t0" 'NF && $1 >= t && $2 == "del"' | wc -l)
bd_safety "n$o kept $VIP4 for 2 TTLs without its own member (no Deleted event)" test "$dels" = 0
lab_assert "still owned by n$o" test "$(lab_owner)" = "n$o"
lab_assert "the key and lease are the same ($k0)" test "$(own_key)" = "$k0"
lab_etcd_start "$o"
lab_etcd_wait_healthy 15 3 || lab_fail "etcd not healthy again"

# --- 2. the TTL applies to the next lease ----------------------------------------------
key=$(awk '{ print $1 }' <<<"$k0")
hex=${key##*/}
ttl=$(lab_etcdctl "$other" lease timetolive "$hex" | sed -n 's/.*granted with TTL(\([0-9]*\)s).*/\1/p')
lab_assert "the current lease keeps its granted TTL (5 s, got ${ttl:-?})" test "$ttl" = 5
lab_etcdctl "$other" lease revoke "$hex" >/dev/null
lab_wait_until 10 grep -q "session: lease granted lease=[0-9a-f]* ttl=3s" "$LAB_DIR/n$o/vipd.log" ||
	lab_fail "n$o was not granted a lease of 3 s after the revoke"
lab_log "n$o: $(grep "session: lease granted" "$LAB_DIR/n$o/vipd.log" | tail -1)"
owner=$(lab_wait_owner 10) || lab_fail "no single owner after the revoke"
lab_log "owner now $owner"
lab_assert_no_overlap "$VIP4"

# --- 3. an endpoint nobody answers on: the fence rule -----------------------------------
o=${owner#n}
# The owner's lease may be 5 s (a node that was not reloaded) or 3 s.
ttl_ms=$(( $(grep "session: lease granted" "$LAB_DIR/n$o/vipd.log" | tail -1 | sed -n 's/.*ttl=\([0-9]*\)s.*/\1/p') * 1000 ))
set_cfg "http://127.0.0.1:9" "$LAB_TTL" || lab_fail "config rejected"
t1=$(sc_now_us)
ctl "$o" reload >/dev/null || lab_fail "vipctl reload failed"
new=$(lab_wait_owner $((2 * LAB_TTL + 5)) "n$o") || lab_fail "$VIP4 did not move after n$o lost etcd"
t_del=$(sc_ev_first "n$o" del "$t1") || lab_fail "no delete on n$o"
t_add=$(sc_ev_first "$new" add "$t1") || lab_fail "no add on $new"
lab_log "reload -> n$o deletes: $(sc_ms "$t1" "$t_del") ms; -> $new adds: $(sc_ms "$t1" "$t_add") ms (lease ${ttl_ms} ms)"
bd_safety "n$o deleted $VIP4 before $new added it" test "$t_del" -lt "$t_add"
bd_timing "reload -> n$o drops $VIP4 (fence)" $(((t_del - t1) / 1000)) $((ttl_ms + BD_SLACK_MS)) \
	"lease TTL $ttl_ms (the fence comes before it) + slack $BD_SLACK_MS"
bd_timing "reload -> $new adds $VIP4" $(((t_add - t1) / 1000)) \
	$((ttl_ms + BD_LESSOR_CHECK_MS + BD_ETCD_ELECTION_MS + BD_SLACK_MS)) \
	"TTL $ttl_ms + lessor check $BD_LESSOR_CHECK_MS + etcd election $BD_ETCD_ELECTION_MS + slack $BD_SLACK_MS"
lab_assert "n$o's log shows the new endpoint in use" grep -q "endpoint=http://127.0.0.1:9" "$LAB_DIR/n$o/vipd.log"
OWNER=$new
scenario_end
