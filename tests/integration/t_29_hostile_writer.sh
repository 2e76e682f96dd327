#!/bin/bash
# t_29_hostile_writer: a client with write access to the election prefix
# plays the issue's attack through the JSON gateway (curl, base64 keys; a
# key with a NUL inside cannot be typed to etcdctl). It puts a key that is
# the owner's key name followed by "\0x" - another key, which vipd before
# the fix decoded into a C string and took for the owner's own - then
# deletes every node's key in queue order, then its own.
#
#   safety  while the foreign key heads the queue, nobody holds the VIP
#           (before the fix the old owner led on it while watching a key
#           that no longer existed, and another node led too at its next
#           re-read); after it goes, exactly one node holds the VIP, and
#           the holder's own key heads the election.
#   overlap zero, strictly: the three deletes are forced step-downs, and
#           each next owner probes the wire before adding the address
#           (see t_23, t_42).
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
name=/vipd/election/$VIP4

# keys_in_order: the election's keys, oldest (leader) first.
keys_in_order() {
	lab_etcdctl 1 get --prefix "$name/" --sort-by=CREATE --order=ASCEND --keys-only |
		grep -av '^$' || true
}

# gw PATH JSON: one request to the JSON gateway from node 1.
gw() {
	lab_exec 1 curl -sS --noproxy '*' -m 5 -X POST "http://127.0.0.1:2379$1" -d "$2"
}

# node_of KEY: the node whose key it is (its value).
node_of() {
	lab_etcdctl 1 get --print-value-only "$1"
}

# owner_heads: the VIP is held by exactly one node, and its key heads the
# election (the first key by create revision is that node's).
owner_heads() {
	local o first
	o=$(lab_owner)
	[ -n "$o" ] && [ "${o// /}" = "$o" ] || return 1
	first=$(keys_in_order | head -n 1)
	[ -n "$first" ] && [ "$(node_of "$first")" = "$o" ]
}

mapfile -t keys < <(keys_in_order)
lab_assert "three candidates queue in $name/ (${#keys[@]})" test "${#keys[@]}" -eq 3
lab_assert "the owner's key heads the queue" test "$(node_of "${keys[0]}")" = "$OWNER"

# 1: the foreign key: the owner's key name, a NUL, "x".
evil=$(printf '%s\0x' "${keys[0]}" | base64 -w0)
gw /v3/kv/put "{\"key\":\"$evil\",\"value\":\"$(printf evil | base64 -w0)\"}" >/dev/null ||
	lab_fail "cannot put the foreign key"
lab_assert "the foreign key exists" \
	test "$(gw /v3/kv/range "{\"key\":\"$evil\",\"count_only\":true}" | grep -o '"count":"[0-9]*"')" = '"count":"1"'

# 2-4: every node's key deleted, in queue order (each a forced step-down;
# each node queues again, behind the foreign key).
for k in "${keys[@]}"; do
	lab_etcdctl 1 del "$k" >/dev/null
	sleep 1
done
sleep 2
lab_log "queue now: $(keys_in_order | tr '\n' ' ')"
first=$(gw /v3/kv/range "{\"key\":\"$(printf '%s/' "$name" | base64 -w0)\",\"range_end\":\"$(printf '%s0' "$name" | base64 -w0)\",\"sort_target\":\"CREATE\",\"sort_order\":\"ASCEND\",\"keys_only\":true,\"limit\":1}" |
	grep -o '"key":"[^"]*"' | head -n 1)
lab_assert "the foreign key heads the election" test "$first" = "\"key\":\"$evil\""
o=$(lab_owner)
bd_safety "nobody holds the VIP while a foreign key heads the queue (holder: '${o:-none}')" test -z "$o"

# 5: the foreign key goes: the node queued right behind it watched it by
# its exact bytes, and takes over.
t0=$(sc_now_us)
gw /v3/kv/deleterange "{\"key\":\"$evil\"}" >/dev/null || lab_fail "cannot delete the foreign key"
lab_wait_until 5 owner_heads || lab_fail "no single owner heading the election 5 s after the foreign key went"
o=$(lab_owner)
t_add=$(sc_ev_first "$o" add "$t0") || lab_fail "no add event on $o after the foreign key went"
bd_timing "foreign key deleted -> $o adds the VIP (a watch event, no TTL)" $(((t_add - t0) / 1000)) \
	"$BD_SLACK_MS" "slack $BD_SLACK_MS"
# Two TTLs on: every periodic re-read has run; still one owner, by right.
sleep $((2 * 5))
lab_assert "one owner, its key heading the election, two TTLs later" owner_heads
lab_assert_no_overlap "$VIP4"
o=$(lab_wait_owner 10) || lab_fail "no single owner at the end"
lab_assert "client reaches the owner ($o)" test "$(lab_client_reach)" = "$o"
lab_log "PASS"
