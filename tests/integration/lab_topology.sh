# shellcheck shell=bash
# lab_topology.sh - part of lab.sh (sourced by it; not on its own): the
# namespaces, the bridge, the veth links, the address plan and the kernel
# settings of each host (docs/testing.md, "The picture", "Address plan").

# Lab addresses only: 198.18.0.0/15 and fd00::/8.
_lab_addr_ok() {
	case $1 in
	198.18.* | 198.19.*) return 0 ;;
	[fF][dD][0-9a-fA-F][0-9a-fA-F]:*) return 0 ;;
	esac
	lab_log "lab: refusing address outside the lab ranges: $1"
	return 1
}

lab_node_addr4() { echo "198.18.0.$((10 + ${1#n}))"; }
lab_node_addr6() { echo "fd00:18::$((10 + ${1#n}))"; }

# --- lab up and down --------------------------------------------------------

# lab_up N [--ttl SECONDS] [--client-arp-accept]: create the lab:
# namespaces br (bridge br0), n1..nN and cl, each node/client attached to
# br0 by a veth pair (eth0 inside), addresses from the plan, loopback up,
# DAD off and router advertisements ignored everywhere.
#
# Nodes: arp_accept=1 and arp_notify=1. The client keeps Linux's defaults
# for neighbour handling (arp_accept=0, arp_notify=0), as client hosts in
# the field do: a gratuitous ARP then updates an EXISTING neighbour entry
# (with override: arp_process() treats a GARP as newer than locktime) but
# never creates one; an unsolicited NA with Override likewise updates only
# an existing IPv6 entry. --client-arp-accept sets arp_accept=1 on the
# client too (a GARP then also creates a missing entry).
# Exits 77 (skip) if not root, or if etcd, etcdctl, nft, ip or ping is missing.
lab_up() {
	local n=$1 i ns mac t0 cl_arp_accept=0
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--ttl)
			LAB_TTL=$2
			shift 2
			;;
		--client-arp-accept)
			cl_arp_accept=1
			shift
			;;
		*) lab_fail "lab_up: unknown option $1" ;;
		esac
	done
	[ "$(id -u)" -eq 0 ] || lab_skip "integration tests need root (network namespaces)"
	_lab_need etcd etcdctl || lab_skip "etcd/etcdctl not installed (apt-get install etcd-server etcd-client, or scripts/install-deps)"
	_lab_need nft || lab_skip "nft not installed (apt-get install nftables, or scripts/install-deps)"
	_lab_need ip ping || lab_skip "iproute2 or ping missing (scripts/install-deps)"
	if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 80 ]; then
		lab_fail "lab_up: node count 1..80, got $n"
	fi
	t0=$(_lab_now_us)

	# A lab left by an earlier process with our pid is dead: clear it.
	_lab_remove_namespaces
	LAB_N=$n
	local base=${LAB_TMPDIR:-/dev/shm}
	[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
	LAB_DIR=$(mktemp -d "$base/vipd-lab.$LAB_PREFIX.XXXXXX") || lab_fail "mktemp failed"
	export LAB_DIR LAB_N LAB_PREFIX LAB_TTL
	printf 'LAB_PREFIX=%s\nLAB_DIR=%s\nLAB_N=%s\nLAB_TTL=%s\n' \
		"$LAB_PREFIX" "$LAB_DIR" "$LAB_N" "$LAB_TTL" >"$LAB_DIR/lab.env"
	mkdir -p "$LAB_DIR/cl"
	for ((i = 1; i <= n; i++)); do
		mkdir -p "$LAB_DIR/n$i"
	done
	_lab_watchdog

	# The switch: its own namespace, no IP at all.
	ns=$LAB_PREFIX-br
	ip netns add "$ns" || lab_fail "ip netns add $ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	ip -n "$ns" link set lo up
	ip -n "$ns" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 ||
		lab_fail "cannot create bridge in $ns"
	ip -n "$ns" link set br0 up

	for i in $(seq 1 "$n") cl; do
		local name port a4 a6 plen4=24 plen6=64 accept=1 notify=1
		if [ "$i" = cl ]; then
			name=cl port=pcl mac=02:00:00:00:00:05 a4=$LAB_CLIENT4 a6=$LAB_CLIENT6
			accept=$cl_arp_accept notify=0 # Linux defaults unless asked
		else
			name=n$i port=p$i a4=$(lab_node_addr4 "$i") a6=$(lab_node_addr6 "$i")
			mac=$(printf '02:00:00:00:00:%02x' $((10 + i)))
		fi
		ns=$LAB_PREFIX-$name
		ip netns add "$ns" || lab_fail "ip netns add $ns"
		ip -n "$ns" link set lo up
		# DAD off before any link exists so nothing stays tentative.
		ip netns exec "$ns" sysctl -qw \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv4.conf.all.arp_accept=$accept net.ipv4.conf.default.arp_accept=$accept \
			net.ipv4.conf.all.arp_notify=$notify net.ipv4.conf.default.arp_notify=$notify >/dev/null
		ip -n "$LAB_PREFIX-br" link add "$port" type veth peer name eth0 address "$mac" netns "$ns" ||
			lab_fail "cannot create veth for $name"
		ip netns exec "$ns" sysctl -qw \
			net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.accept_ra=0 \
			net.ipv4.conf.eth0.arp_accept=$accept net.ipv4.conf.eth0.arp_notify=$notify >/dev/null
		ip -n "$ns" addr add "$a4/$plen4" dev eth0
		ip -n "$ns" addr add "$a6/$plen6" dev eth0 nodad
		ip -n "$LAB_PREFIX-br" link set "$port" master br0 up
		ip -n "$ns" link set eth0 up
	done
	lab_log "lab $LAB_PREFIX up: $n nodes + client in $(( ($(_lab_now_us) - t0) / 1000 )) ms, dir $LAB_DIR"
}

# Every namespace whose name starts with "$LAB_PREFIX-".
_lab_namespaces() {
	ip netns list 2>/dev/null | awk -v p="$LAB_PREFIX-" 'index($1, p) == 1 { print $1 }'
}


# --- a foreign host -----------------------------------------------------------

# lab_foreign_up NAME ADDR [MAC]: a host that is no vipd node - a DHCP
# lease, a static address, another cluster - on the lab's segment: its own
# namespace $LAB_PREFIX-NAME (removed with the lab), a veth (eth0, MAC
# default 02:00:00:00:00:66) on br0, ADDR on it (an IPv4 address /24, an
# IPv6 one /64 nodad; lab ranges only). Its kernel answers ARP probes and
# Neighbour Solicitations for ADDR as any host would. NAME: 1-8 characters
# [a-z0-9].
lab_foreign_up() {
	local name=$1 addr=$2 mac=${3:-02:00:00:00:00:66} ns
	[[ $name =~ ^[a-z0-9]{1,8}$ ]] || lab_fail "lab_foreign_up: bad name $name"
	_lab_addr_ok "$addr" || lab_fail "lab_foreign_up: address outside the lab ranges"
	ns=$LAB_PREFIX-$name
	ip netns add "$ns" || lab_fail "ip netns add $ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 >/dev/null
	ip -n "$LAB_PREFIX-br" link add "f$name" type veth peer name eth0 address "$mac" netns "$ns" ||
		lab_fail "cannot create veth for $name"
	ip -n "$LAB_PREFIX-br" link set "f$name" master br0 up
	ip -n "$ns" link set eth0 up
	lab_foreign_addr "$name" add "$addr"
	lab_log "foreign host $name ($mac) up with $addr"
}

# lab_foreign_addr NAME add|del ADDR: give the foreign host ADDR, or take it
# away (it then stops answering for it).
lab_foreign_addr() {
	local ns=$LAB_PREFIX-$1 op=$2 addr=$3 flags=()
	_lab_addr_ok "$addr" || lab_fail "lab_foreign_addr: address outside the lab ranges"
	[ "$op" = add ] && flags=(nodad)
	case $addr in
	*:*) ip -n "$ns" addr "$op" "$addr/64" dev eth0 "${flags[@]}" ;;
	*) ip -n "$ns" addr "$op" "$addr/24" dev eth0 ;;
	esac || lab_fail "lab_foreign_addr: ip addr $op $addr in $ns failed"
}

# --- extra links (t_31..t_35) ------------------------------------------------------

# lab_vlan_supported: true if the kernel makes VLAN links (802.1Q,
# CONFIG_VLAN_8021Q): one is tried on n1's eth0 and deleted at once.
lab_vlan_supported() {
	ip -n "$LAB_PREFIX-n1" link add link eth0 name vlantest type vlan id 4094 2>/dev/null || return 1
	ip -n "$LAB_PREFIX-n1" link del vlantest
}

# lab_vlan_add NODE ID NAME ADDR4 [ADDR6]: a VLAN link NAME with VLAN id ID
# on eth0 of NODE (1..N or cl), its neighbour settings as eth0's (lab_up:
# nodes arp_accept=1 arp_notify=1, the client Linux's defaults), DAD and
# router advertisements off, ADDR4/24 (and ADDR6/64), up. The bridge passes
# tagged frames as they are (no VLAN filtering), so every NAME of one ID is
# on one L2 segment.
lab_vlan_add() {
	local node=$1 id=$2 name=$3 a4=$4 a6=${5:-} ns accept notify
	if [ "$node" = cl ]; then ns=$LAB_PREFIX-cl; else ns=$LAB_PREFIX-n${node#n}; fi
	_lab_addr_ok "$a4" || return 1
	[ -z "$a6" ] || _lab_addr_ok "$a6" || return 1
	accept=$(ip netns exec "$ns" sysctl -n net.ipv4.conf.eth0.arp_accept) || return 1
	notify=$(ip netns exec "$ns" sysctl -n net.ipv4.conf.eth0.arp_notify) || return 1
	ip -n "$ns" link add link eth0 name "$name" type vlan id "$id" || return 1
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$name.accept_dad=0" "net.ipv6.conf.$name.accept_ra=0" \
		"net.ipv4.conf.$name.arp_accept=$accept" "net.ipv4.conf.$name.arp_notify=$notify" >/dev/null
	ip -n "$ns" addr add "$a4/24" dev "$name" || return 1
	[ -z "$a6" ] || ip -n "$ns" addr add "$a6/64" dev "$name" nodad || return 1
	ip -n "$ns" link set "$name" up
}

# lab_macvlan_add NODE NAME MAC: a macvlan link NAME (mode bridge) with
# address MAC on eth0 of NODE, DAD and router advertisements off, and
# arp_notify / ndisc_notify off (the kernel itself then announces nothing
# when its MAC changes), up; no address.
lab_macvlan_add() {
	local ns=$LAB_PREFIX-n${1#n} name=$2 mac=$3
	ip -n "$ns" link add link eth0 name "$name" address "$mac" type macvlan mode bridge || return 1
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$name.accept_dad=0" "net.ipv6.conf.$name.accept_ra=0" \
		"net.ipv4.conf.$name.arp_notify=0" "net.ipv6.conf.$name.ndisc_notify=0" >/dev/null
	ip -n "$ns" link set "$name" up
}
