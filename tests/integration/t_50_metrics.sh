#!/bin/bash
# t_50_metrics: vipd.metrics.listen serves Prometheus text at /metrics from
# vipd's own event loop. Three nodes, each serving on 127.0.0.1:9450 in its
# own namespace; scraped there with curl.
#
#   values  vipd_vip_owner{vip,link} is 1 on the owner and 0 on the others;
#           etcd requests were counted (lease grant ok), one lease granted,
#           the owner's announcements (count 3) counted; after a forced
#           step-down (the owner's key deleted) the old owner counts a
#           release and shows 0, the new owner counts an acquisition and
#           shows 1.
#   format  every scrape passes `promtool check metrics` (Debian's
#           prometheus package; scripts/install-deps installs it): the
#           exposition format and Prometheus' naming lint.
#   http    another path is 404, POST is 405. 8 idle connections (the
#           limit, METRICS_HTTP_CONNS) make a 9th refused at once, not
#           queued; after the idle timeout (10 s, METRICS_HTTP_IDLE_S, + 2 s
#           slack) /metrics answers again, and the node kept its lease
#           meanwhile (the loop was never blocked).
#   start   a second vipd whose port is taken exits 1 at start with an
#           error naming vipd.metrics.listen, before it touches any address
#           (the owner's VIP sees no Deleted event).
# About 30 s.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

PORT=9450
URL=http://127.0.0.1:$PORT/metrics

lab_up 3 --ttl 5
lab_etcd_up
lab_service_up
lab_monitor_start
for i in 1 2 3; do
	lab_vipd_config "$i" || lab_fail "vipd config for n$i rejected"
	sed -i "s|^    listen: \"\"\$|    listen: 127.0.0.1:$PORT|" "$LAB_DIR/n$i/vipd.yaml"
	grep -q "listen: 127.0.0.1:$PORT" "$LAB_DIR/n$i/vipd.yaml" || lab_fail "metrics.listen not set in n$i's config"
	lab_vipd_start "$i"
done
owner=$(lab_wait_owner 10 - "$VIP4") || lab_fail "no single owner within 10 s of start"
lab_log "owner at start: $owner"

# scrape NODE: GET /metrics inside NODE's namespace into $LAB_DIR/NODE/metrics.N
# (N counts up) and print the file name.
n_scrape=0
scrape() {
	local f
	n_scrape=$((n_scrape + 1))
	f=$LAB_DIR/$1/metrics.$n_scrape
	lab_exec "${1#n}" curl -sf --max-time 5 "$URL" >"$f" || lab_fail "scrape of $1 failed"
	echo "$f"
}

# value FILE SERIES: the value of the sample SERIES exactly (name and labels
# as rendered), or nothing.
value() {
	awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $NF }' "$1"
}

# promtool_check FILE: the format and lint check on one scrape.
promtool_check() {
	local out
	if ! command -v promtool >/dev/null; then
		lab_log "SKIP promtool check of $1: promtool not installed (Debian's prometheus package; scripts/install-deps)"
		return 0
	fi
	out=$(promtool check metrics <"$1" 2>&1) || {
		printf '%s\n' "$out" | sed 's/^/    promtool: /' >&2
		lab_fail "promtool check metrics rejects $1"
	}
	lab_assert "promtool check metrics accepts $(basename "$(dirname "$1")")'s scrape (no lint remarks)" test -z "$out"
}

own='vipd_vip_owner{vip="'$VIP4'",link="eth0"}'
acq='vipd_vip_transitions_total{vip="'$VIP4'",direction="acquired",reason="elected"}'

# Let the owner's announcement burst (3 x 100 ms) finish.
sleep 0.5
for n in n1 n2 n3; do
	f=$(scrape "$n")
	want=0
	[ "$n" = "$owner" ] && want=1
	lab_assert "$n: $own is $want" test "$(value "$f" "$own")" = "$want"
	lab_assert "$n: one lease granted" test "$(value "$f" vipd_session_grants_total)" = 1
	lab_assert "$n: no lease lost" test "$(value "$f" vipd_session_losses_total)" = 0
	g=$(value "$f" 'vipd_etcd_requests_total{operation="/v3/lease/grant",result="ok"}')
	lab_assert "$n: lease grant counted ok (${g:-none})" test "${g:-0}" -ge 1
	c=$(value "$f" 'vipd_etcd_request_duration_seconds_count{operation="/v3/kv/txn"}')
	lab_assert "$n: campaign txn latency observed (${c:-none})" test "${c:-0}" -ge 1
	fl=$(value "$f" vipd_fence_left_seconds)
	lab_assert "$n: fence left ${fl:-none} s within (0, TTL 5]" awk -v v="${fl:-0}" 'BEGIN { exit !(v > 0 && v <= 5) }'
	lab_assert "$n: build info" test "$(value "$f" 'vipd_build_info{version="'"$(cat VERSION 2>/dev/null || cat "$(dirname "$0")/../../VERSION")"'"}')" = 1
	promtool_check "$f"
done
f=$LAB_DIR/$owner/metrics.$((${owner#n}))
lab_assert "$owner: acquired once, reason elected" test "$(value "$f" "$acq")" = 1
lab_assert "$owner: 3 announcements counted" test "$(value "$f" 'vipd_vip_announcements_total{vip="'$VIP4'"}')" = 3
lab_assert "$owner: no conflict" test "$(value "$f" 'vipd_vip_conflict{vip="'$VIP4'"}')" = 0

# HTTP: only GET /metrics.
code=$(lab_exec 1 curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/other") || true
lab_assert "another path: 404 (got $code)" test "$code" = 404
code=$(lab_exec 1 curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -d x "$URL") || true
lab_assert "POST: 405 (got $code)" test "$code" = 405
ctype=$(lab_exec 1 curl -s -o /dev/null -w '%{content_type}' --max-time 5 "$URL") || true
lab_assert "content type: $ctype" test "$ctype" = "text/plain; version=0.0.4; charset=utf-8"

# 8 idle connections on n1 hold every slot: a 9th is closed at once; once
# the idle timeout closed them, scrapes are answered again.
idle_pids=()
for k in 1 2 3 4 5 6 7 8; do
	lab_exec 1 socat -u OPEN:/dev/null,ignoreeof "TCP:127.0.0.1:$PORT" >/dev/null 2>&1 &
	idle_pids+=($!)
done
# idle_open: n1 has 8 connections established on the metrics port.
idle_open() {
	test "$(lab_exec 1 ss -Htn state established "( sport = :$PORT )" | wc -l)" -ge 8
}
lab_wait_until 5 idle_open || lab_fail "8 idle connections did not open on n1"
t0=$(sc_now_us)
code=$(lab_exec 1 curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL") || true
t1=$(sc_now_us)
lab_assert "9th connection refused (got ${code:-none})" test "${code:-000}" = 000
bd_timing "9th connection refused" $(((t1 - t0) / 1000)) "$BD_SLACK_MS" "closed at accept: slack $BD_SLACK_MS"
# The idle connections opened before t0, so they close by t0 + 10 s; the
# next try starts within 0.5 s and a refused one gives up within 1 s.
idle_bound=$((10000 + 500 + 1000 + BD_SLACK_MS))
ok=0
while [ $((($(sc_now_us) - t0) / 1000)) -lt $((idle_bound + 1000)) ]; do
	sleep 0.5
	code=$(lab_exec 1 curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL") || true
	[ "$code" = 200 ] && { ok=1; break; }
done
t2=$(sc_now_us)
lab_assert "/metrics answers again after the idle timeout (got ${code:-none})" test "$ok" = 1
bd_timing "idle connections closed" $(((t2 - t0) / 1000)) "$idle_bound" \
	"idle timeout 10 s + retry period 0.5 s + one try's 1 s + slack $BD_SLACK_MS"
kill "${idle_pids[@]}" 2>/dev/null || true
wait "${idle_pids[@]}" 2>/dev/null || true
f=$(scrape n1)
lab_assert "n1 kept its lease meanwhile (no fence expiry)" test "$(value "$f" vipd_session_fence_expiries_total)" = 0
lab_assert "n1 still has a lease" test "$(value "$f" vipd_session_lease)" = 1

# A forced step-down: delete the owner's election key (t_23).
key=$(lab_etcdctl 1 get --prefix "/vipd/election/$VIP4/" |
	awk -v n="$owner" 'NR % 2 == 1 { k = $0 } NR % 2 == 0 && $0 == n { print k }')
lab_assert "$owner has a key in the election" test -n "$key"
lab_etcdctl 1 del "$key" >/dev/null
new=$(lab_wait_owner 5 "$owner" "$VIP4") || lab_fail "no new owner within 5 s of deleting $owner's key"
lab_log "owner after the step-down: $new"
sleep 0.5
f=$(scrape "$owner")
lab_assert "$owner: $own is 0 after stepping down" test "$(value "$f" "$own")" = 0
rel=$(awk '/^vipd_vip_transitions_total\{.*direction="released"/ { s += $NF } END { print s + 0 }' "$f")
lab_assert "$owner: one release counted ($(grep 'direction="released"' "$f" | tr '\n' ' '))" test "$rel" = 1
promtool_check "$f"
f=$(scrape "$new")
lab_assert "$new: $own is 1" test "$(value "$f" "$own")" = 1
lab_assert "$new: acquired once, reason elected" test "$(value "$f" "$acq")" = 1
promtool_check "$f"

# A second vipd on the new owner's node, its port taken by the first: it
# stops at start, naming the key, and leaves the VIP alone. (Its own
# control socket: the first one's would stop it before the port, t_49.)
t0=$(sc_now_us)
sed "s|controlSocket: .*|controlSocket: $LAB_DIR/$new/vipd2.sock|" "$LAB_DIR/$new/vipd.yaml" >"$LAB_DIR/$new/vipd2.yaml"
set +e
lab_exec "${new#n}" timeout 10 "$LAB_VIPD" -c "$LAB_DIR/$new/vipd2.yaml" >"$LAB_DIR/$new/vipd2.log" 2>&1
rc=$?
set -e
sed 's/^/    second vipd: /' "$LAB_DIR/$new/vipd2.log" >&2
lab_assert "second vipd exited 1 (got $rc)" test "$rc" = 1
lab_assert "its error names vipd.metrics.listen" grep -q "vipd.metrics.listen: cannot listen on 127.0.0.1:$PORT: Address already in use" "$LAB_DIR/$new/vipd2.log"
sleep 0.3
dels=$(sc_mon_events "$new" "$VIP4" | awk -v t="$t0" 'NF && $1 >= t && $2 == "del"' | wc -l)
bd_safety "the second vipd did not delete $VIP4 on $new" test "$dels" = 0

scenario_end
