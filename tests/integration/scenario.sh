# shellcheck shell=bash
# scenario.sh - the common frame of the failover scenarios (t_1x_*.sh):
# a 3-node lab with etcd, the service stand-in, the ownership monitor and
# vipd on every node; and the checks every scenario ends with.
#
#     . "$(dirname "$0")/scenario.sh"
#     scenario_up [--v6 | --v6-only]   # prints nothing; sets OWNER (n1..n3)
#     ...fault...
#     scenario_end [v6]                # overlap 0, one owner, client reaches it

. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

# scenario_up [--v6|--v6-only] [--ttl S]: lab of 3, etcd, service, monitor,
# vipd everywhere; waits (10 s) for exactly one owner, sets OWNER and
# OWNER_ID (its number).
scenario_up() {
	local vflag='' ttl=5 addr=$VIP4 i
	while [ $# -gt 0 ]; do
		case $1 in
		--v6) vflag=--v6 ;;
		--v6-only) vflag=--v6-only addr=$VIP6 ;;
		--ttl) ttl=$2; shift ;;
		*) lab_fail "scenario_up: unknown option $1" ;;
		esac
		shift
	done
	lab_up 3 --ttl "$ttl"
	lab_etcd_up
	lab_service_up
	lab_monitor_start
	for i in 1 2 3; do
		lab_vipd_config "$i" $vflag || lab_fail "vipd config for n$i rejected"
		lab_vipd_start "$i"
	done
	OWNER=$(lab_wait_owner 10 - "$addr") || lab_fail "no single owner within 10 s of start"
	OWNER_ID=${OWNER#n}
	lab_log "owner at start: $OWNER"
}

# scenario_end [v6]: the checks of every scenario: ownership intervals never
# overlapped, exactly one node holds the VIP (within 10 s), and the client
# reaches the service through the VIP and it answers the owner's name.
scenario_end() {
	local addr=$VIP4 o got
	[ "${1:-}" = v6 ] && addr=$VIP6
	o=$(lab_wait_owner 10 - "$addr") || lab_fail "no single owner at the end"
	got=$(lab_client_reach "${1:-}") || lab_fail "client cannot reach the service on $addr"
	lab_assert "client reaches the owner ($o) through $addr (answered $got)" test "$got" = "$o"
	lab_assert_no_overlap "$addr"
	lab_log "PASS: owner $o, no overlap"
}
