#!/bin/bash
# t_44_vipctl_owners: `vipctl owners` shows, from etcd, who owns each VIP
# and who queues behind it, in etcd's order (create revision), on any node
# - also one whose vipd is stopped - in columns and as JSON; after a
# graceful stop it shows the new owner; with etcd unreachable it says so
# and exits 1; a bad command exits 2.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
VIPCTL=$LAB_ROOT/build/vipctl

scenario_up --v6
owner6=$(lab_wait_owner 10 - "$VIP6") || lab_fail "no single owner of $VIP6"
ctl() { lab_exec "$1" "$VIPCTL" -c "$LAB_DIR/n${1#n}/vipd.yaml" "${@:2}"; }

# etcd's own view, in queue order: the node names by create revision.
etcd_queue() {
	lab_etcdctl 1 get --prefix --sort-by=CREATE --order=ASCEND "/vipd/election/$1/" |
		awk 'NR % 2 == 0' | paste -sd' '
}
q4=$(etcd_queue "$VIP4")
q6=$(etcd_queue "$VIP6")
lab_log "etcd queue $VIP4: $q4; $VIP6: $q6"
lab_assert "etcd's first in queue for $VIP4 is the owner $OWNER" test "${q4%% *}" = "$OWNER"

out=$(ctl 2 owners) || lab_fail "vipctl owners failed on n2"
lab_log "vipctl owners on n2:"$'\n'"$out"
row4=$(awk -v v="$VIP4" '$1 == v' <<<"$out")
row6=$(awk -v v="$VIP6" '$1 == v' <<<"$out")
lab_assert "header" grep -q '^VIP  *OWNER  *LEASE  *QUEUE$' <<<"$out"
lab_assert "$VIP4: owner $OWNER, queue as etcd orders it" \
	test "$(awk '{ print $2, $4, $5 }' <<<"$row4")" = "$q4"
lab_assert "$VIP6: owner $owner6, queue as etcd orders it" \
	test "$(awk '{ print $2, $4, $5 }' <<<"$row6")" = "$q6"
lease=$(lab_etcdctl 1 get --prefix --keys-only "/vipd/election/$VIP4/" |
	awk -v n="$OWNER" 'NF' | while read -r k; do
		[ "$(lab_etcdctl 1 get --print-value-only "$k")" != "$OWNER" ] || echo "${k##*/}"
	done)
lab_assert "the owner's lease is its key's" test "$(awk '{ print $3 }' <<<"$row4")" = "$lease"

# JSON: the same, machine-readable.
js=$(ctl 3 --json owners) || lab_fail "vipctl --json owners failed"
lab_assert "JSON: $VIP4 owner" test "$(jq -r --arg v "$VIP4" '.vips[] | select(.vip == $v) | .owner.node' <<<"$js")" = "$OWNER"
lab_assert "JSON: $VIP4 queue" test "$(jq -r --arg v "$VIP4" '[.vips[] | select(.vip == $v) | .owner.node, .queue[].node] | join(" ")' <<<"$js")" = "$q4"
lab_assert "JSON: $VIP4 is configured" test "$(jq -r --arg v "$VIP4" '.vips[] | select(.vip == $v) | .configured' <<<"$js")" = true
lab_assert "JSON: a revision" test "$(jq -r '.revision' <<<"$js")" -gt 0

# A graceful stop: the owner leaves the queue; vipctl on the stopped node
# (no vipd there now) shows the new owner.
lab_vipd_stop "$OWNER_ID"
new=$(lab_wait_owner 5 "$OWNER") || lab_fail "no new owner after the stop"
out=$(ctl "$OWNER_ID" owners) || lab_fail "vipctl owners failed on the stopped node"
lab_log "vipctl owners on $OWNER (vipd stopped):"$'\n'"$out"
row4=$(awk -v v="$VIP4" '$1 == v' <<<"$out")
lab_assert "$VIP4 now owned by $new" test "$(awk '{ print $2 }' <<<"$row4")" = "$new"
lab_assert "$OWNER is no longer queued for $VIP4" test -z "$(awk -v n="$OWNER" '{ for (i = 2; i <= NF; i++) if ($i == n) print }' <<<"$row4")"

# A dead first endpoint (the local member down): the next one answers.
sed 's|^      - http://127.0.0.1:2379$|      - http://127.0.0.1:2399\n      - http://127.0.0.1:2379|' \
	"$LAB_DIR/n1/vipd.yaml" >"$LAB_DIR/n1/failover.yaml"
out=$(lab_exec 1 "$VIPCTL" -c "$LAB_DIR/n1/failover.yaml" owners) || lab_fail "vipctl owners failed with a dead first endpoint"
lab_assert "with the first endpoint dead, the second answers ($VIP4 owned by $new)" \
	test "$(awk -v v="$VIP4" '$1 == v { print $2 }' <<<"$out")" = "$new"

# Usage errors exit 2; etcd unreachable exits 1 and says so.
set +e
ctl 1 bogus >/dev/null 2>&1
rc_usage=$?
sed 's|http://127.0.0.1:2379|http://127.0.0.1:2399|' "$LAB_DIR/n1/vipd.yaml" >"$LAB_DIR/n1/dead.yaml"
err=$(lab_exec 1 "$VIPCTL" -c "$LAB_DIR/n1/dead.yaml" owners 2>&1 >/dev/null)
rc_dead=$?
set -e
lab_assert "an unknown command exits 2" test "$rc_usage" = 2
lab_assert "etcd unreachable exits 1" test "$rc_dead" = 1
lab_assert "and says it cannot read the elections" grep -q 'vipctl: cannot read the elections from etcd (http://127.0.0.1:2399' <<<"$err"
scenario_end
