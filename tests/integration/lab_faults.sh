# shellcheck shell=bash
# lab_faults.sh - part of lab.sh (sourced by it; not on its own): the
# faults a test inflicts: partition, hiccup, timed cut of the VIP's traffic,
# power loss, etcd quorum loss.

# --- faults -------------------------------------------------------------------

# lab_partition ID [PEER...]: cut node ID off from its peers (default all
# other nodes): nftables in ID's namespace (netdev ingress/egress on eth0,
# so also ARP and raw packets) drops IPv4, IPv6 and ARP from/to the peers'
# addresses, and IP traffic to or from the VIPs held elsewhere. The client
# still reaches the node and hears its announcements.
lab_partition() {
	local id=$1 p peers4='' peers6='' peers=()
	shift
	_lab_resolve "$id" || return 1
	local me=$_ID ns=$_NS
	if [ $# -gt 0 ]; then
		for p in "$@"; do
			_lab_resolve "$p" || return 1
			peers+=("$_ID")
		done
	else
		for ((p = 1; p <= LAB_N; p++)); do
			[ "$p" -eq "$me" ] || peers+=("$p")
		done
	fi
	for p in "${peers[@]}"; do
		peers4="$peers4, $(lab_node_addr4 "$p")"
		peers6="$peers6, $(lab_node_addr6 "$p")"
	done
	ip netns exec "$ns" nft delete table netdev lab_partition 2>/dev/null || true
	ip netns exec "$ns" nft -f - <<EOF || lab_fail "lab_partition: nft failed"
table netdev lab_partition {
	set peers4 { type ipv4_addr; elements = { $VIP4$peers4 } }
	set peers6 { type ipv6_addr; elements = { $VIP6$peers6 } }
	set arp4 { type ipv4_addr; elements = { ${peers4#, } } }
	chain in {
		type filter hook ingress device "eth0" priority -400; policy accept;
		ip saddr @peers4 drop
		ip6 saddr @peers6 drop
		arp saddr ip @peers4 drop
	}
	chain out {
		type filter hook egress device "eth0" priority -400; policy accept;
		ip daddr @peers4 drop
		ip6 daddr @peers6 drop
		arp daddr ip @arp4 drop
	}
}
EOF
	lab_log "partition: n$me cut off from n${peers[*]}"
}

# lab_heal ID: remove node ID's partition.
lab_heal() {
	_lab_resolve "$1" || return 1
	ip netns exec "$_NS" nft delete table netdev lab_partition 2>/dev/null || true
	lab_log "partition of $_NAME healed"
}

# lab_hiccup_start ID: drop everything in and out of node ID's eth0
# (netdev hooks: IP, ARP and raw packets); the link stays up.
lab_hiccup_start() {
	_lab_resolve "$1" || return 1
	ip netns exec "$_NS" nft -f - <<EOF || lab_fail "lab_hiccup: nft failed"
table netdev lab_hiccup {
	chain in { type filter hook ingress device "eth0" priority -500; policy drop; }
	chain out { type filter hook egress device "eth0" priority -500; policy drop; }
}
EOF
	lab_log "hiccup on $_NAME: eth0 silent"
}

# lab_hiccup_stop ID: end the hiccup.
lab_hiccup_stop() {
	_lab_resolve "$1" || return 1
	ip netns exec "$_NS" nft delete table netdev lab_hiccup 2>/dev/null || true
	lab_log "hiccup on $_NAME over"
}

# lab_hiccup ID SECONDS: silence node ID's eth0 for SECONDS; BLOCKS for
# that long (use lab_hiccup_start/stop to do other things meanwhile).
lab_hiccup() {
	lab_hiccup_start "$1" || return 1
	sleep "$2"
	lab_hiccup_stop "$1"
}

# lab_power_off ID: a power loss: freeze every process in node ID's
# namespace (SIGSTOP), take eth0 down and flush its addresses (RAM is gone:
# the VIP too, which the ownership monitor records), then SIGKILL them.
# The lab's own address monitor keeps running (it is the observer).
lab_power_off() {
	local mon
	_lab_resolve "$1" || return 1
	mon=$(_lab_pidfile_pid "$_DIR/addrmon.pid" 2>/dev/null) || mon=
	# shellcheck disable=SC2046
	_lab_kill_ns STOP "$mon $(_lab_wrappers $(ip netns pids "$_NS"))" "$_NS"
	ip -n "$_NS" link set eth0 down
	ip -n "$_NS" addr flush dev eth0
	# the monitor's own spawn wrapper is its parent
	_lab_kill_ns KILL "$mon $(awk '$1 == "PPid:" { print $2 }' "/proc/$mon/status" 2>/dev/null)" "$_NS" ||
		lab_log "lab_power_off: processes left in $_NS"
	lab_log "power off $_NAME"
}

# lab_power_on ID: link up again with the node's addresses (nothing is
# started: run lab_etcd_start / lab_vipd_start as a boot would).
lab_power_on() {
	_lab_resolve "$1" || return 1
	ip -n "$_NS" addr replace "$(lab_node_addr4 "$_ID")/24" dev eth0
	ip -n "$_NS" addr replace "$(lab_node_addr6 "$_ID")/64" dev eth0 nodad
	ip -n "$_NS" link set eth0 up
	lab_log "power on $_NAME"
}

# --- etcd quorum ------------------------------------------------------------

# lab_quorum_loss [ID...]: stop etcd members (default: the highest-numbered
# N - floor(N/2), e.g. n2 and n3 of 3) so the cluster loses quorum; vipd
# is not touched. The list is kept for lab_quorum_restore.
lab_quorum_loss() {
	local ids=("$@") i k
	if [ ${#ids[@]} -eq 0 ]; then
		k=$((LAB_N - LAB_N / 2))
		for ((i = LAB_N; i > LAB_N - k; i--)); do
			ids+=("$i")
		done
	fi
	for i in "${ids[@]}"; do
		lab_etcd_stop "$i" || true
	done
	printf '%s\n' "${ids[@]}" >"$LAB_DIR/quorum.stopped"
	lab_log "quorum loss: stopped etcd on ${ids[*]}"
}

# lab_quorum_restore: restart the members lab_quorum_loss stopped and wait
# until the cluster is healthy again.
lab_quorum_restore() {
	local i
	[ -s "$LAB_DIR/quorum.stopped" ] || return 0
	while read -r i; do
		lab_etcd_start "$i" || return 1
	done <"$LAB_DIR/quorum.stopped"
	rm -f "$LAB_DIR/quorum.stopped"
	lab_etcd_wait_healthy 20
}

