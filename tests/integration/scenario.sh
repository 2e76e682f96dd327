# shellcheck shell=bash
# scenario.sh - the common frame of the failover scenarios (t_1x_*.sh):
# a 3-node lab with etcd, the service stand-in, the ownership monitor and
# vipd on every node; and the checks every scenario ends with.
#
#     . "$(dirname "$0")/scenario.sh"
#     scenario_up [--v6 | --v6-only]   # prints nothing; sets OWNER (n1..n3)
#     ...fault...
#     scenario_end [v6]                # overlap 0, one owner, client reaches it
#
# and the helpers the scenarios share (one version each, documented below;
# docs/testing.md lists them):
#
#     sc_now_us, sc_ms                       event times in epoch microseconds
#     sc_mon_events, sc_ev, sc_ev_first      the VIP's events in a monitor file
#     sc_etcd_leader, sc_etcd_move_leader    the etcd raft leader

. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
. "$(dirname "${BASH_SOURCE[0]}")/bounds.sh"

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
	# shellcheck disable=SC2034 # read by the scenarios
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

# --- event times --------------------------------------------------------------
# Times are integer epoch microseconds ("us"): the wall clock of the monitor
# stamps, shared by every namespace, so they compare across nodes.

# sc_now_us: the wall clock now, in epoch microseconds.
sc_now_us() {
	local t=$EPOCHREALTIME
	echo "${t%.*}${t#*.}"
}

# sc_ms FROM_US TO_US: TO - FROM in ms with one decimal (for the log).
sc_ms() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }'
}

# sc_mon_events NODE [ADDR] [raw]: the events for ADDR (default VIP4; the
# address compared without prefix length, case-insensitive) in NODE's
# monitor file ($LAB_DIR/nI/addr.mon), in file order, one a line:
#     <epoch us> add|del <valid_lft s, -1 = forever>
# "add" is an add or a lifetime refresh (`ip addr replace` prints the add
# again); "del" a Deleted event, by anyone (a kernel expiry has valid_lft
# 0). With "raw", each line goes on with a space and the monitor's line as
# it is. Lines without a stamp are skipped. No events: prints nothing and
# returns 0, so x=$(sc_mon_events n1) is empty (and then `<<<"$x"` feeds a
# program ONE BLANK LINE: awk programs on such output must skip it, e.g.
# `NF && ...`). Non-zero if a stamp cannot be converted.
sc_mon_events() {
	local node=n${1#n} addr=${2:-$VIP4} raw=0 ev us
	[ "${3:-}" = raw ] && raw=1
	ev=$(awk -v vip="$addr" -v raw="$raw" '
		$1 ~ /^\[[0-9]/ {
			st = $1; gsub(/[][]/, "", st); sub(/T/, " ", st)
			for (i = 2; i < NF; i++)
				if ($i == "inet" || $i == "inet6") {
					a = $(i + 1); sub(/\/.*/, "", a)
					if (tolower(a) != tolower(vip))
						break
					l = -1
					for (j = i; j < NF; j++)
						if ($j == "valid_lft") { l = $(j + 1); break }
					if (l == "forever") l = -1; else sub(/sec$/, "", l)
					if (raw) print st, ($2 == "Deleted" ? "del" : "add"), l, $0
					else print st, ($2 == "Deleted" ? "del" : "add"), l
					break
				}
		}' "$LAB_DIR/$node/addr.mon") || return 1
	[ -n "$ev" ] || return 0
	# stamp "YYYY-MM-DD HH:MM:SS.UUUUUU" (local time) -> epoch us, all at once
	us=$(cut -d' ' -f1,2 <<<"$ev" | date -f - +%s%6N) || return 1
	paste -d' ' <(printf '%s\n' "$us") <(cut -d' ' -f3- <<<"$ev")
}

# sc_ev NODE add|del [SINCE_US] [line]: the epoch-us stamps of NODE's VIP4
# add (incl. lifetime refreshes) or Deleted events at or after SINCE_US
# (default: all), one a line, oldest first; with "line", "US MONITOR-LINE".
# Prints nothing (status 0) if there are none; non-zero on an unreadable
# monitor file or stamp.
sc_ev() {
	local kind=$2 since=${3:-0} mode=${4:-} ev line us k
	ev=$(sc_mon_events "$1" "$VIP4" raw) || return 1
	while IFS= read -r line; do
		[ -n "$line" ] || continue # no events: one blank line
		us=${line%% *}
		line=${line#* }
		k=${line%% *}
		line=${line#* }            # "<valid_lft> <monitor line>"
		[ "$k" = "$kind" ] || continue
		[ "$us" -ge "$since" ] || continue
		if [ "$mode" = line ]; then echo "$us ${line#* }"; else echo "$us"; fi
	done <<<"$ev"
	return 0
}

# sc_ev_first NODE add|del [SINCE_US] [line]: the first of those; non-zero
# if there is none.
sc_ev_first() {
	local v
	v=$(sc_ev "$@") || return 1
	[ -n "$v" ] || return 1
	echo "${v%%$'\n'*}"
}

# --- etcd raft leader ---------------------------------------------------------

# sc_etcd_leader: the node whose etcd member leads the raft group (n1..),
# from `endpoint status --cluster` asked of the first running member that
# answers (each member reports whether it leads). Prints nothing and returns
# non-zero if unknown. A lost raft leader delays lease expiry (etcd gives
# every lease a fresh TTL when a new leader takes over), so the scenarios
# log it or place it.
sc_etcd_leader() {
	local out i
	for ((i = 1; i <= LAB_N; i++)); do
		lab_pid "$i" etcd >/dev/null || continue
		out=$(lab_etcdctl "$i" endpoint status --cluster -w simple 2>/dev/null) || continue
		# "http://198.18.0.12:2379, <id>, <version>, <size>, true, ..."
		out=$(awk -F', ' 'NF && $5 == "true" { print $1; exit }' <<<"$out")
		[[ $out =~ ^https?://198\.18\.0\.([0-9]+): ]] || continue
		echo "n$((BASH_REMATCH[1] - 10))" # node i is 198.18.0.(10+i)
		return 0
	done
	return 1
}

# sc_etcd_move_leader NODE: make NODE's etcd member the raft leader
# (`etcdctl move-leader`, sent to the current leader; its answer goes to
# the log) and wait (5 s) until it is. 0 at once if it already leads;
# non-zero if the leader is unknown, the move is refused or does not
# happen in time.
sc_etcd_move_leader() {
	local to=n${1#n} cur id
	cur=$(sc_etcd_leader) || return 1
	[ "$cur" = "$to" ] && return 0
	id=$(lab_etcdctl "$to" member list -w simple | awk -F', ' -v n="$to" '$3 == n { print $1 }') || return 1
	[ -n "$id" ] || return 1
	lab_etcdctl "$cur" --at "http://$(lab_node_addr4 "$cur"):2379" move-leader "$id" >&2 || return 1
	# shellcheck disable=SC2016 # eval expands it
	lab_wait_until 5 eval '[ "$(sc_etcd_leader)" = "$to" ]'
}

# sc_vips_held ADDR...: "TOTAL DISTINCT MOST_NODE MOST_COUNT" over the
# given IPv4 VIPs on the nodes' eth0 now: copies held (a VIP on two nodes
# counts twice), distinct VIPs held, and the node holding the most ("-" 0
# when none is held). For the many-VIP test and the bench's scale part.
sc_vips_held() {
	local i
	for ((i = 1; i <= LAB_N; i++)); do
		ip -n "$LAB_PREFIX-n$i" -o -4 addr show dev eth0 2>/dev/null |
			awk -v n="n$i" '{ a = $4; sub(/\/.*/, "", a); print n, a }'
	done | awk -v list="$*" '
		BEGIN { k = split(list, x, " "); for (i = 1; i <= k; i++) want[x[i]] = 1 }
		($2 in want) { total++; if (!seen[$2]++) distinct++; c[$1]++ }
		END {
			for (n in c) if (c[n] > best) { best = c[n]; bn = n }
			printf "%d %d %s %d\n", total, distinct, (bn == "" ? "-" : bn), best
		}'
}

# sc_config_add_vips NODE ADDR...: more VIPs on eth0 in NODE's vipd.yaml
# (written by lab_vipd_config), as machine.network.interfaces entries
# before its vipd: mapping. Returns 1 when vipd --check rejects the result.
sc_config_add_vips() {
	local id=$1 f
	shift
	f=$LAB_DIR/n$id/vipd.yaml
	awk -v list="$*" '
		/^vipd:/ && !done {
			k = split(list, x, " ")
			for (i = 1; i <= k; i++)
				printf "      - interface: eth0\n        vip:\n          ip: %s\n", x[i]
			done = 1
		}
		{ print }' "$f" >"$f.new" && mv "$f.new" "$f" &&
		"$LAB_VIPD" --check -c "$f" >/dev/null 2>&1
}
