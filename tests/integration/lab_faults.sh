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

# --- timed faults: windows the kernel opens and closes ----------------------
#
# A window made by "add a rule; sleep; delete the rule" lasts as long as the
# shell, nft and sleep take to run, which on a busy machine is the sleep plus
# anything up to tens of ms. These windows are ended by the kernel instead:
# one nft transaction flushes a set and adds the VIPs to it with "timeout
# MS"; a rule drops (rejects, redirects) what matches the set. The window
# opens when that transaction commits and closes when the element expires,
# which the kernel decides per packet against jiffies: the element gets
# expiration = jiffies at insertion + MS in jiffies (nft_set_elem_init), and
# a lookup stops matching once jiffies reaches it. So a window of MS lasts
# between MS - 1 jiffy (inserted late in a jiffy) and MS (+ the tick
# interrupt's latency, microseconds), whatever the machine's load: 296..300
# ms for MS=300 with HZ=250 (lab_jiffy_ms). MS must be a multiple of the
# jiffy. The functions return at once; the window opened between LAB_WIN_T0
# and LAB_WIN_T1 (epoch us, taken before and after the nft command).

# lab_jiffy_ms: the kernel's tick in ms (CONFIG_HZ from the kernel's config
# if readable; else 4, the tick of 250 Hz, the coarsest common one but 100).
lab_jiffy_ms() {
	local hz=
	if [ -r /proc/config.gz ]; then
		hz=$(zcat /proc/config.gz 2>/dev/null | awk -F= '$1 == "CONFIG_HZ" { print $2 }') || hz=
	elif [ -r "/boot/config-$(uname -r)" ]; then
		hz=$(awk -F= '$1 == "CONFIG_HZ" { print $2 }' "/boot/config-$(uname -r)") || hz=
	fi
	case $hz in
	1000) echo 1 ;;
	100) echo 10 ;;
	*) echo 4 ;;
	esac
}

# _lab_timed_window NS FAMILY TABLE MS RULE_V4 RULE_V6 HOOKLINE [RULE...]:
# create TABLE once in namespace NS (sets w4/w6 with timeouts, one chain "c"
# with HOOKLINE and the rules "ip daddr @w4 RULE_V4", "ip6 daddr @w6
# RULE_V6" and any further RULEs), then flush the sets and add VIP4 and
# VIP6 with "timeout MS" in ONE transaction. Sets LAB_WIN_T0/T1/MS.
_lab_timed_window() {
	local ns=$1 fam=$2 table=$3 ms=$4 r4=$5 r6=$6 hook=$7 extra
	shift 7
	extra=$(printf '\t\t%s\n' "$@")
	if ! ip netns exec "$ns" nft list table "$fam" "$table" >/dev/null 2>&1; then
		ip netns exec "$ns" nft -f - <<EOF || lab_fail "nft: cannot create $fam $table in $ns"
table $fam $table {
	set w4 { type ipv4_addr; flags timeout; }
	set w6 { type ipv6_addr; flags timeout; }
	chain c {
		$hook
		ip daddr @w4 $r4
		ip6 daddr @w6 $r6
$extra
	}
}
EOF
	fi
	# shellcheck disable=SC2034 # read by the tests
	LAB_WIN_T0=$(_lab_now_us)
	# flush first: an expired element not yet collected must not turn
	# the add into a no-op
	ip netns exec "$ns" nft -f - <<EOF || lab_fail "nft: cannot open the window in $ns"
flush set $fam $table w4
flush set $fam $table w6
add element $fam $table w4 { $VIP4 timeout ${ms}ms }
add element $fam $table w6 { $VIP6 timeout ${ms}ms }
EOF
	# shellcheck disable=SC2034 # read by the tests
	LAB_WIN_T1=$(_lab_now_us) LAB_WIN_MS=$ms
}

_lab_window_ms_ok() {
	local j
	j=$(lab_jiffy_ms)
	if ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -le 0 ] || [ $(($1 % j)) -ne 0 ]; then
		lab_fail "a kernel-timed window must be a positive multiple of the jiffy ($j ms): $1"
	fi
}

# lab_vip_drop MS: the switch drops every IP packet to and from VIP4 and
# VIP6 for exactly MS ms (a bridge-family table in the bridge namespace,
# forward hook: client <-> owner both ways, whoever the owner is; ARP and
# NDP pass, so no neighbour entry changes). Returns at once.
lab_vip_drop() {
	_lab_window_ms_ok "$1"
	_lab_timed_window "$LAB_PREFIX-br" bridge lab_vip_drop "$1" drop drop \
		"type filter hook forward priority -300; policy accept;" \
		"ip saddr @w4 drop" "ip6 saddr @w6 drop"
	lab_log "VIP traffic dropped on the switch for $1 ms (kernel-timed)"
}

# lab_vip_refuse ID MS: node ID answers every new connection to VIP4:6443
# and [VIP6]:6443 with a TCP reset for exactly MS ms (input hook in its
# namespace), as if its service were down. Returns at once.
lab_vip_refuse() {
	_lab_resolve "$1" || return 1
	_lab_window_ms_ok "$2"
	_lab_timed_window "$_NS" inet lab_vip_refuse "$2" \
		"tcp dport $LAB_SERVICE_PORT reject with tcp reset" \
		"tcp dport $LAB_SERVICE_PORT reject with tcp reset" \
		"type filter hook input priority -300; policy accept;"
	lab_log "$_NAME refuses connections to the VIP for $2 ms (kernel-timed)"
}

# lab_vip_misanswer ID MS: for exactly MS ms node ID redirects new
# connections to VIP:6443 to a stand-in on port 6444 that answers "wrong"
# (started on first use, process "misanswer"). Returns at once.
lab_vip_misanswer() {
	local bin port=$((LAB_SERVICE_PORT + 1))
	_lab_resolve "$1" || return 1
	_lab_window_ms_ok "$2"
	if ! lab_pid "$_ID" misanswer >/dev/null; then
		bin=$(_lab_tool standin) || return 1
		lab_run "$_ID" misanswer "$bin" -n wrong -p "$port" || return 1
		lab_wait_until 5 _lab_answers "$_ID" "$port" wrong ||
			lab_fail "the misanswering stand-in on n$_ID does not answer"
	fi
	_lab_timed_window "$_NS" inet lab_vip_misanswer "$2" \
		"tcp dport $LAB_SERVICE_PORT redirect to :$port" \
		"tcp dport $LAB_SERVICE_PORT redirect to :$port" \
		"type nat hook prerouting priority -100; policy accept;"
	lab_log "$_NAME answers 'wrong' on the VIP for $2 ms (kernel-timed)"
}

# _lab_answers ID PORT WANT: the client gets WANT from node ID's PORT.
_lab_answers() {
	[ "$(lab_reach cl "$(lab_node_addr4 "$1")" "$2" 2>/dev/null)" = "$3" ]
}

# lab_power_off ID: a power loss: freeze every process in node ID's
# namespace (SIGSTOP), take eth0 down and flush its addresses (RAM is gone:
# the VIP too, which the ownership recorder records), then SIGKILL them.
# The recorder lives in the bridge namespace (the observer) and keeps
# running.
lab_power_off() {
	_lab_resolve "$1" || return 1
	# shellcheck disable=SC2046
	_lab_kill_ns STOP "$(_lab_wrappers $(ip netns pids "$_NS"))" "$_NS"
	ip -n "$_NS" link set eth0 down
	ip -n "$_NS" addr flush dev eth0
	_lab_kill_ns KILL "" "$_NS" || lab_log "lab_power_off: processes left in $_NS"
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

