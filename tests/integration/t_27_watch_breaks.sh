#!/bin/bash
# t_27_watch_breaks: the candidates' watches break (their etcd member
# restarts) and nothing is missed: a graceful stop of the owner still hands
# the VIP over. Then etcd's history is compacted past every revision the
# watches started from, and a handover still works. (A watch created from an
# already compacted revision is cancelled by etcd and re-checked; that
# window is too short to hit on purpose here.)
#
#   safety  no overlap.
#   timing  each handover (delete, revoke, watch event on the re-made
#           watch, add: no TTL) within the slack, from the monitor files;
#           a missed event would cost a periodic re-read (one TTL) and fail.
set -euo pipefail
. "$(dirname "$0")/scenario.sh"

scenario_up
others=()
for i in 1 2 3; do [ "n$i" = "$OWNER" ] || others+=("$i"); done

# 1. restart the etcd member of every candidate (their only endpoint)
for i in "${others[@]}"; do
	lab_etcd_stop "$i"
	lab_etcd_start "$i"
done
lab_etcd_wait_healthy 20
for i in "${others[@]}"; do
	lab_wait_until 5 grep -q 'election: watch ended' "$LAB_DIR/n$i/vipd.log" ||
		lab_fail "n$i did not notice its watch break"
done
sleep 1
t0=$(sc_now_us)
lab_vipd_stop "$OWNER_ID"
new=$(lab_wait_owner $((LAB_TTL + 5)) "$OWNER") || lab_fail "no new owner within TTL + 5 s after the watches broke"
t_add=$(sc_ev_first "$new" add "$t0") || lab_fail "no add event on $new"
bd_timing "after member restarts: stop of $OWNER -> $new adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS"
lab_vipd_start "$OWNER_ID"
sleep 1

# 2. compact etcd's history past the revisions the watches started from
rev=$(lab_etcdctl 1 put /lab/churn x -w json | sed 's/.*"revision":\([0-9]*\).*/\1/')
lab_etcdctl 1 compact "$rev" >/dev/null
t0=$(sc_now_us)
lab_vipd_stop "${new#n}"
third=$(lab_wait_owner $((LAB_TTL + 5)) "$new") || lab_fail "no new owner within TTL + 5 s after compaction"
t_add=$(sc_ev_first "$third" add "$t0") || lab_fail "no add event on $third"
bd_timing "after compaction: stop of $new -> $third adds the VIP" $(((t_add - t0) / 1000)) "$BD_SLACK_MS" "slack $BD_SLACK_MS"
scenario_end
