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
#     sc_lab_up, sc_tls_up                   a lab without vipd yet
#     sc_vips_on, sc_vips_held,
#     sc_vips_all_held                       many VIPs: who holds them
#     sc_config_add_vips                     more VIPs in a node's config
#     sc_stop_graceful, sc_handover          a stop, a move of the VIP
#     sc_never_added, sc_elections_ms        the hiccup tests' checks
#     sc_tls_config, sc_hook_write           a TLS config, a recording hook
#     sc_health_yaml                         a vipd.health section
#     sc_ctl, sc_role                        vipctl on a node's socket
#     sc_key_count, sc_has_key, sc_one_key, sc_no_key, sc_queued, sc_rev,
#     sc_puts_since                          a node's key in an election

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
	sc_lab_up 3 --ttl "$ttl"
	for i in 1 2 3; do
		lab_vipd_config "$i" $vflag || lab_fail "vipd config for n$i rejected"
		lab_vipd_start "$i"
	done
	OWNER=$(lab_wait_owner 10 - "$addr") || lab_fail "no single owner within 10 s of start"
	# The first owner adds its VIP a few ms after its start, often before the
	# last vipd has its lease: wait until every node queues, so the tests
	# see the whole queue.
	case $vflag in
	--v6) lab_wait_until 10 sc_queued 3 "$VIP4" "$VIP6" ;;
	*) lab_wait_until 10 sc_queued 3 "$addr" ;;
	esac || lab_fail "not every node queues in the election within 10 s of start"
	# shellcheck disable=SC2034 # read by the scenarios
	OWNER_ID=${OWNER#n}
	lab_log "owner at start: $OWNER"
}

# sc_lab_up [LAB_UP_ARGS...]: the lab (lab_up with those arguments: the
# node count, --ttl S), etcd on every node, the service stand-in, the
# ownership monitor; no vipd yet (scenario_up and the tests that write
# their own configs).
sc_lab_up() {
	lab_up "$@"
	lab_etcd_up
	lab_service_up
	lab_monitor_start
}

# sc_tls_up: one node with a single etcd member serving HTTPS only with
# client-certificate auth (lab_etcd_tls_start), its PKI made by lab_pki in
# $LAB_DIR/pki (ca.crt, server and client pairs, other.key); skips (77)
# without openssl. For the etcd TLS tests (t_22, t_43, t_57).
sc_tls_up() {
	command -v openssl >/dev/null || lab_skip "openssl not installed"
	lab_up 1
	lab_pki "$LAB_DIR/pki"
	lab_etcd_tls_start "$LAB_DIR/pki"
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
# 2 if the leader is unknown or the move is refused; 1 if the move was
# made but NODE was not seen leading within 5 s (something may have moved
# the leadership on before the first look).
sc_etcd_move_leader() {
	local to=n${1#n} cur id
	cur=$(sc_etcd_leader) || return 2
	[ "$cur" = "$to" ] && return 0
	id=$(lab_etcdctl "$to" member list -w simple | awk -F', ' -v n="$to" '$3 == n { print $1 }') || return 2
	[ -n "$id" ] || return 2
	lab_etcdctl "$cur" --at "http://$(lab_node_addr4 "$cur"):2379" move-leader "$id" >&2 || return 2
	# shellcheck disable=SC2016 # eval expands it
	lab_wait_until 5 eval '[ "$(sc_etcd_leader)" = "$to" ]'
}

# sc_vips_on ADDR...: "NODE ADDR" per given IPv4 VIP on a node's eth0,
# each node read once, one after the other (one pass for the callers
# below: a VIP that moves meanwhile is seen twice or not at all, never
# as held when it is not).
sc_vips_on() {
	local i
	for ((i = 1; i <= LAB_N; i++)); do
		ip -n "$LAB_PREFIX-n$i" -o -4 addr show dev eth0 2>/dev/null |
			awk -v n="n$i" '{ a = $4; sub(/\/.*/, "", a); print n, a }'
	done | awk -v list="$*" '
		BEGIN { k = split(list, x, " "); for (i = 1; i <= k; i++) want[x[i]] = 1 }
		($2 in want)'
}

# sc_vips_held ADDR...: "TOTAL DISTINCT MOST_NODE MOST_COUNT" over the
# given IPv4 VIPs on the nodes' eth0 now: copies held (a VIP on two nodes
# counts twice), distinct VIPs held, and the node holding the most ("-" 0
# when none is held). For the many-VIP test and the bench's scale part.
sc_vips_held() {
	sc_vips_on "$@" | awk '
		{ total++; if (!seen[$2]++) distinct++; c[$1]++ }
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

# sc_vips_all_held [--without NODE] ADDR...: every given IPv4 VIP held
# by exactly one node now - with --without, a node other than NODE - from
# one pass over the nodes (sc_vips_on; two passes could see a crashed
# NODE's address in the first and its kernel lifetime ended in the
# second, and pass while that VIP is held by nobody).
sc_vips_all_held() {
	local without=
	if [ "${1:-}" = --without ]; then
		without=$2
		shift 2
	fi
	sc_vips_on "$@" | awk -v n="$#" -v without="$without" '
		{ total++; if (!seen[$2]++) distinct++; if ($1 == without) bad++ }
		END { exit !(total == n && distinct == n && bad == 0) }'
}

# --- stops, handovers and hiccups ----------------------------------------------

# sc_stop_graceful NODE: SIGTERM to NODE's vipd, which must exit within
# 5 s (lab_vipd_stop; lab_fail if not) with status 0 (lab_assert). Sets
# SC_T_SIG and SC_T_EXIT: epoch us just before the signal and once it
# exited. For the graceful-stop tests (t_11, t_56).
sc_stop_graceful() {
	local node=n${1#n}
	# shellcheck disable=SC2034 # read by the tests
	SC_T_SIG=$(sc_now_us)
	lab_vipd_stop "$node" 5 || lab_fail "vipd on $node did not exit within 5 s of SIGTERM (killed; status ${LAB_LAST_STATUS:-?})"
	# shellcheck disable=SC2034 # read by the tests
	SC_T_EXIT=$(sc_now_us)
	lab_assert "vipd on $node exited 0 (status ${LAB_LAST_STATUS:-?})" test "${LAB_LAST_STATUS:-x}" = 0
}

# sc_handover OLD NEW SINCE_US WHAT BOUND_MS WHY: VIP4 went from OLD to NEW
# after SINCE_US (epoch us, the fault): OLD's first Deleted and NEW's first
# add event since then (lab_fail if either is missing), logged in ms from
# SINCE_US; safety: NEW added only after OLD deleted (bd_safety); timing:
# "WHAT -> NEW adds the VIP" within BOUND_MS (bd_timing; WHY says how the
# bound is made). Sets SC_T_DEL and SC_T_ADD (epoch us). For the health
# tests (t_60, t_61, t_62).
sc_handover() {
	local old=$1 new=$2 t0=$3
	SC_T_DEL=$(sc_ev_first "$old" del "$t0") || lab_fail "no delete on $old"
	SC_T_ADD=$(sc_ev_first "$new" add "$t0") || lab_fail "no add on $new"
	lab_log "$old deletes at +$(sc_ms "$t0" "$SC_T_DEL") ms, $new adds at +$(sc_ms "$t0" "$SC_T_ADD") ms"
	bd_safety "$new added only after $old deleted" test "$SC_T_ADD" -gt "$SC_T_DEL"
	bd_timing "$4 -> $new adds the VIP" $(((SC_T_ADD - t0) / 1000)) "$5" "$6"
}

# sc_never_added LABEL OWNER: safety (bd_safety), every node but OWNER has
# no add event of VIP4 in its monitor file; LABEL starts each message. For
# the hiccup tests (t_17, t_54).
sc_never_added() {
	local i adds
	for ((i = 1; i <= LAB_N; i++)); do
		[ "n$i" = "$2" ] && continue
		adds=$(sc_mon_events "n$i" | awk 'NF && $2 == "add"' | wc -l)
		bd_safety "($1) n$i never added the VIP ($adds add events)" test "$adds" -eq 0
	done
}

# sc_elections_ms SINCE_US ZERO_US: the etcd raft elections since SINCE_US
# (bd_etcd_elections), each as " +N" / " -N": ms from ZERO_US; nothing
# when there was none.
sc_elections_ms() {
	local e
	bd_etcd_elections "$1" "$(sc_now_us)" |
		while read -r e; do printf ' %+d' $(((e - $2) / 1000)); done
}

# --- configs, hooks, health, the control socket, the election --------------------

# sc_tls_config ENDPOINT CA CERT KEY [EXTRA_YAML...]: n1's vipd.yaml for an
# etcd with TLS: VIP4 on eth0 (as lab_vipd_config writes it), node n1,
# the one ENDPOINT, caFile CA, certFile CERT and keyFile KEY (both left out
# when CERT is ""), lease TTL from lab_up --ttl; EXTRA_YAML lines appended
# as is (inside "vipd:"). Not checked. For t_43 and t_57.
sc_tls_config() {
	{
		_lab_vipd_yaml 1 1 0 | sed -n '/^machine:/,/^vipd:/{/^vipd:/!p}'
		printf '%s\n' "vipd:" "  node: n1" "  etcd:" "    endpoints: [\"$1\"]" "    caFile: $2"
		[ -z "$3" ] || printf '%s\n' "    certFile: $3" "    keyFile: $4"
		printf '%s\n' "  lease:" "    ttl: ${LAB_TTL}s" "${@:5}"
	} >"$LAB_DIR/n1/vipd.yaml"
}

# sc_hook_write HOOK REC: an executable hook script at HOOK that appends
# to REC (emptied now) one line a run,
#     <epoch us> arg=$1 event= vip= link= node= reason= path=
# (the VIPD_* environment and PATH vipd gave it), prints "hook ran for
# <event>" (its output, for vipd's log) and sleeps 30 s while a file
# $LAB_DIR/slow-<event>-<node> exists. For the hook tests (t_56, t_63).
sc_hook_write() {
	cat >"$1" <<HOOK
#!/bin/sh
echo "\$(date +%s%6N) arg=\$1 event=\$VIPD_EVENT vip=\$VIPD_VIP link=\$VIPD_LINK node=\$VIPD_NODE reason=\$VIPD_REASON path=\$PATH" >>"$2"
echo "hook ran for \$VIPD_EVENT"
if [ -e "$LAB_DIR/slow-\$VIPD_EVENT-\$VIPD_NODE" ]; then
	sleep 30
fi
HOOK
	chmod 755 "$1"
	: >"$2"
}

# sc_health_yaml INTERVAL_MS TIMEOUT_MS FALL RISE CHECK_LINE...: the
# vipd.health lines, one a line (one EXTRA_YAML argument of
# lab_vipd_config); each CHECK_LINE as given, under "checks:", indented
# (e.g. "      - tcp: 127.0.0.1:6443").
sc_health_yaml() {
	printf '%s\n' "  health:" "    interval: ${1}ms" "    timeout: ${2}ms" "    fall: $3" \
		"    rise: $4" "    checks:" "${@:5}"
}

# sc_ctl NODE ARGS...: build/vipctl ARGS on NODE's control socket, run in
# NODE; its output and status.
sc_ctl() {
	lab_exec "$1" "$LAB_ROOT/build/vipctl" -s "$LAB_DIR/n${1#n}/vipd.sock" "${@:2}"
}

# sc_key_count NODE [VIP]: sets SC_KEYS to how many keys NODE has in VIP's
# (default VIP4) election now (the keys' values are node names; "*" counts
# every node's), asked of n1's etcd member. Not for $( ): it fails the test
# when etcd does not answer (no key is not "no answer").
sc_key_count() {
	local out
	out=$(lab_etcdctl 1 get --prefix "/vipd/election/${2:-$VIP4}/") ||
		lab_fail "sc_key_count: n1's etcd member does not answer"
	SC_KEYS=$(awk -v n="$1" 'NR % 2 == 0 && (n == "*" || $0 == n) { c++ } END { print c + 0 }' <<<"$out")
}
# sc_has_key NODE [VIP]: NODE has a key in VIP's (default VIP4) election.
sc_has_key() { sc_key_count "$@" && [ "$SC_KEYS" -gt 0 ]; }
# sc_one_key NODE [VIP]: NODE has exactly one key there.
sc_one_key() { sc_key_count "$@" && [ "$SC_KEYS" = 1 ]; }
# sc_queued N VIP...: each VIP's election holds N keys now.
sc_queued() {
	local n=$1 v
	shift
	for v in "$@"; do
		sc_key_count '*' "$v" && [ "$SC_KEYS" = "$n" ] || return 1
	done
}
# sc_no_key NODE [VIP]: the opposite (and fails the test alike).
sc_no_key() { ! sc_has_key "$@"; }

# sc_role NODE [VIP]: NODE's role for VIP (default VIP4) in its status
# (sc_ctl --json status; needs jq): owner, candidate, unhealthy, ...
sc_role() {
	sc_ctl "$1" --json status | jq -r --arg v "${2:-$VIP4}" '.vips[] | select(.vip == $v) | .role'
}

# sc_rev: etcd's store revision now (n1's member).
sc_rev() {
	lab_etcdctl 1 get --prefix /vipd/ -w json | jq -r '.header.revision'
}

# sc_puts_since REV NODE [VIP]: how many keys NODE put into VIP's (default
# VIP4) election after revision REV: a watch from REV + 1 on n1's member
# replays every event since (values are node names; the watch is ended
# after 2 s).
sc_puts_since() {
	local out
	out=$(lab_exec 1 timeout 2 env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 \
		watch --prefix --rev=$(($1 + 1)) "/vipd/election/${3:-$VIP4}/" || true)
	grep -cx "$2" <<<"$out" || true
}
