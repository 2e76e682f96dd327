# shellcheck shell=bash
# lab_observe.sh - part of lab.sh (sourced by it; not on its own): what the
# tests observe: reachability from the client, the client probe, the
# ownership monitor (ip monitor address) and its overlap analysis.

# --- reachability from the client -----------------------------------------------

_lab_reach_quiet() {
	lab_reach "$@" >/dev/null 2>&1
}

# lab_reach FROM ADDR [PORT]: one TCP connect from node/client FROM to
# ADDR:PORT (default 6443), 1 s to connect, 2 s more for the answer;
# prints the answer (node name). Non-zero if none; the probe's failure kind
# (connect-timeout, refused, ...) goes to the log with LAB_REACH_VERBOSE=1.
lab_reach() {
	local from=$1 addr=$2 port=${3:-$LAB_SERVICE_PORT} bin out
	_lab_addr_ok "$addr" || return 2
	bin=$(_lab_tool probe) || return 1
	out=$(lab_exec "$from" timeout 5 "$bin" -1 -a "$addr" -p "$port" -T 1s -R 2s 2>/dev/null) || {
		[ "${LAB_REACH_VERBOSE:-0}" = 0 ] || lab_log "lab_reach $from -> $addr:$port: ${out:-no answer}"
		return 1
	}
	out=${out#ok }
	[ -n "$out" ] || return 1
	echo "$out"
}

# lab_client_reach [v6]: one connect from the client to VIP:6443 (VIP6
# with v6); prints the node that answered, non-zero if none did.
lab_client_reach() {
	if [ "${1:-}" = v6 ]; then
		lab_reach cl "$VIP6"
	else
		lab_reach cl "$VIP4"
	fi
}

# lab_ping FROM ADDR: one ping (1 s) from FROM to a lab address.
lab_ping() {
	_lab_addr_ok "$2" || return 2
	lab_exec "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1
}

# --- client probe -------------------------------------------------------------

_lab_probe_name() {
	if [ "${1:-}" = v6 ]; then echo probe6; else echo probe4; fi
}

# lab_probe_start [v6] [PROBE_ARGS...]: run build/tools/probe in the client
# against VIP4:6443 (VIP6 with v6) until lab_probe_stop: an attempt every
# 10 ms, 50 ms to connect, 1 s for the answer, only n1..nN count as
# answers, SCHED_FIFO so a busy machine does not delay its attempts
# (tests/tools/probe.c explains what it measures and how exactly). Record
# $LAB_DIR/cl/probe4.rec, summary probe4.log. Failures before the first
# answer count as an outage; start it once the VIP answers, or pass -W to
# leave them out. Returns once the probe runs.
lab_probe_start() {
	local fam=${1:-} name addr bin i names=
	if [ "$fam" = v6 ] || [ "$fam" = v4 ]; then
		shift
	fi
	name=$(_lab_probe_name "$fam")
	if [ "$fam" = v6 ]; then addr=$VIP6; else addr=$VIP4; fi
	bin=$(_lab_tool probe) || return 1
	for ((i = 1; i <= LAB_N; i++)); do
		names="$names${names:+,}n$i"
	done
	rm -f "$LAB_DIR/cl/$name.log" "$LAB_DIR/cl/$name.rec"
	lab_run cl "$name" "$bin" -a "$addr" -p "$LAB_SERVICE_PORT" -i 10ms -T 50ms -R 1s \
		-x "$names" -r -o "$LAB_DIR/cl/$name.rec" "$@"
}

# lab_probe_stop [v6]: stop the probe (SIGTERM) and print its summary.
lab_probe_stop() {
	local name
	name=$(_lab_probe_name "${1:-}")
	lab_stop cl "$name" 5 || true
	cat "$LAB_DIR/cl/$name.log" 2>/dev/null || lab_log "lab_probe_stop: no $name output"
}

# lab_probe_outages [v6]: the outage lines of the stopped probe's summary
# ("outage K start_ms S duration_ms D failures F before A after B kinds
# KIND=N,.. lo_ms L hi_ms H"), one a line; nothing if there was none.
lab_probe_outages() {
	local name
	name=$(_lab_probe_name "${1:-}")
	awk '$1 == "outage"' "$LAB_DIR/cl/$name.log" 2>/dev/null || true
}

# lab_probe_value KEY [v6]: the first value of summary line KEY (e.g.
# "switches", "outages", "skipped"); non-zero if the line is missing.
lab_probe_value() {
	local name v
	name=$(_lab_probe_name "${2:-}")
	v=$(awk -v k="$1" '$1 == k { print $2; exit }' "$LAB_DIR/cl/$name.log" 2>/dev/null) || true
	[ -n "$v" ] || return 1
	echo "$v"
}

# lab_probe_max_outage_ms [v6]: the longest outage of the stopped probe, ms.
lab_probe_max_outage_ms() {
	local name v
	name=$(_lab_probe_name "${1:-}")
	v=$(awk '$1 == "max_outage_ms" { print $2 }' "$LAB_DIR/cl/$name.log" 2>/dev/null) || true
	[ -n "$v" ] || {
		lab_log "lab_probe_max_outage_ms: no summary for $name (not stopped?)"
		return 1
	}
	echo "$v"
}

# --- ownership ----------------------------------------------------------------

# lab_monitor_start: record every node's address events, in the order the
# kernel made them, to $LAB_DIR/n<i>/addr.mon (lines as `ip -ts -o monitor
# address` prints them). Call before vipd starts; returns once the recorder
# hears every node.
#
# One recorder for all nodes: `ip monitor address all-nsid` in the bridge
# namespace, where every node's namespace has an id (nsid i for node i), so
# every node's events arrive through ONE netlink socket, queued in the
# order the kernel made them. The stamps are not the kernel's (`ip` prints
# gettimeofday() when it reads an event), but read from one queue they
# keep that order: an old owner's delete, which causally precedes the next
# owner's add (delete acknowledged, lease revoked, etcd commit, watch,
# add), is always stamped before it, however late the recorder runs. With
# one monitor per node, a busy box once stamped a node's delete 2.5 ms
# after the next owner's add: a false overlap. The recorder also runs
# SCHED_FIFO when chrt exists, to keep the stamps close to the events. It
# lives outside the nodes, so a node's power loss never touches it. A small
# sh loop splits the lines by nsid into the per-node files through
# $LAB_DIR/nsid/<id> -> n<i> (dropping the "[nsid N]" tag). Link names are
# not visible from the bridge namespace: a link shows as the bridge
# namespace's link with the same index (e.g. "2: br0" for a node's eth0),
# or "if<index>" where there is none; the analyzer only needs them to tell
# one node's links apart.
lab_monitor_start() {
	local i id ids pid deadline rt=() br=$LAB_PREFIX-br probe=198.18.1.1
	if command -v chrt >/dev/null 2>&1; then
		rt=(chrt -f 20)
	fi
	mkdir -p "$LAB_DIR/nsid"
	for ((i = 1; i <= LAB_N; i++)); do
		ids=$(ip -n "$br" netns list-id) || lab_fail "cannot list the nsids in $br"
		id=$(awk -v n="$LAB_PREFIX-n$i" '$1 == "nsid" && $NF == n ")" { print $2 }' <<<"$ids")
		if [ -z "$id" ]; then # not made by a veth: give it one
			id=$((1000 + i))
			ip -n "$br" netns set "$LAB_PREFIX-n$i" "$id" || lab_fail "cannot give n$i an nsid in $br"
		fi
		ln -sfn "../n$i" "$LAB_DIR/nsid/$id"
		: >>"$LAB_DIR/n$i/addr.mon"
	done
	# shellcheck disable=SC2016 # the sh expands them
	_lab_spawn "$br" "$LAB_DIR" addrmon "$LAB_DIR/addrmon.log" \
		"${rt[@]}" sh -c '
			ip -ts -o monitor address all-nsid | while IFS= read -r line; do
				case $line in
				"["*"] [nsid "[0-9]*"]"*) ;;
				*) continue ;;
				esac
				stamp=${line%%"] [nsid "*}]
				rest=${line#*"] [nsid "}
				id=${rest%%"]"*}
				[ -d "$1/nsid/$id" ] || continue
				printf "%s %s\n" "$stamp" "${rest#*"]"}" >>"$1/nsid/$id/addr.mon"
			done' addrmon "$LAB_DIR" || lab_fail "cannot start the ownership recorder"
	# Listening: an address added and removed on each node's lo shows in
	# that node's file (198.18.1.0/24 is no lab address or VIP).
	for ((i = 1; i <= LAB_N; i++)); do
		deadline=$(_lab_deadline 5)
		while :; do
			ip -n "$LAB_PREFIX-n$i" addr replace "$probe/32" dev lo 2>/dev/null || true
			[[ $(<"$LAB_DIR/n$i/addr.mon") != *" inet $probe/32 "* ]] || break
			_lab_past "$deadline" && lab_fail "the recorder does not hear n$i"
			sleep 0.02
		done
		ip -n "$LAB_PREFIX-n$i" addr del "$probe/32" dev lo 2>/dev/null || true
	done
	pid=$(_lab_pidfile_pid "$LAB_DIR/addrmon.pid") || lab_fail "no recorder pid"
	lab_log "ownership recorder (pid $pid) hears $LAB_N nodes"
}

# lab_monitor_alive: true while the ownership recorder runs.
lab_monitor_alive() {
	local pid
	pid=$(_lab_pidfile_pid "$LAB_DIR/addrmon.pid") || return 1
	_lab_alive "$pid"
}

# lab_owner [ADDR]: print the nodes holding ADDR (default VIP4) now, e.g.
# "n2" or "n1 n3"; empty if none.
lab_owner() {
	local addr=${1:-$VIP4} i out='' a
	for ((i = 1; i <= LAB_N; i++)); do
		a=$(ip -n "$LAB_PREFIX-n$i" -o addr show 2>/dev/null) || true
		if [[ $a == *" $addr/"* ]]; then
			out="$out${out:+ }n$i"
		fi
	done
	echo "$out"
}

# lab_wait_owner TIMEOUT [EXCEPT_NODE] [ADDR]: wait until exactly one node
# holds ADDR (default VIP4), and it is not EXCEPT_NODE ("" or "-" for
# none); print it (e.g. "n2"). Non-zero on timeout.
lab_wait_owner() {
	local deadline o except=${2:-} addr=${3:-$VIP4}
	[ "$except" = - ] && except=
	[ -z "$except" ] || except=n${except#n}
	deadline=$(_lab_deadline "$1")
	while :; do
		o=$(lab_owner "$addr")
		if [ -n "$o" ] && [[ $o != *" "* ]] && [ "$o" != "$except" ]; then
			echo "$o"
			return 0
		fi
		if _lab_past "$deadline"; then
			lab_log "lab_wait_owner: no single owner of $addr${except:+ other than $except} after $1 s (holders: ${o:-none})"
			return 1
		fi
		sleep 0.05
	done
}

# lab_wait_no_owner TIMEOUT [ADDR]: wait until no node holds ADDR.
lab_wait_no_owner() {
	local addr=${2:-$VIP4}
	lab_wait_until "$1" _lab_no_owner "$addr"
}

_lab_no_owner() {
	[ -z "$(lab_owner "$1")" ]
}

# lab_owners_report [ADDR]: run owners.awk over every node's monitor file:
# the interval listing, overlaps and "overlap_ms N" (stdout).
lab_owners_report() {
	local addr=${1:-$VIP4} i args=()
	for ((i = 1; i <= LAB_N; i++)); do
		[ -f "$LAB_DIR/n$i/addr.mon" ] || {
			lab_log "lab_owners_report: no monitor file for n$i (lab_monitor_start?)"
			return 2
		}
		args+=("node=n$i" "$LAB_DIR/n$i/addr.mon")
	done
	awk -f "$LAB_OWNERS_AWK" -v vip="$addr" -v now="$(date +%Y-%m-%dT%H:%M:%S.%6N)" "${args[@]}"
}

# lab_overlap_ms [ADDR]: total ms two or more nodes held ADDR (default VIP4)
# at once, from the monitor files (nothing is stopped; open intervals end
# now). Prints the number; the interval listing goes to the log (stderr).
lab_overlap_ms() {
	local addr=${1:-$VIP4} rep v
	rep=$(lab_owners_report "$addr") || return 2
	# shellcheck disable=SC2001 # a prefix on every line
	sed "s|^|[owners $addr] |" <<<"$rep" >&2
	v=$(awk '$1 == "overlap_ms" { print $2 }' <<<"$rep")
	[ -n "$v" ] || return 2
	echo "$v"
}

# lab_assert_no_overlap [ADDR...]: fail unless lab_overlap_ms is 0 for
# every ADDR (default VIP4 and VIP6).
lab_assert_no_overlap() {
	local a v
	[ $# -gt 0 ] || set -- "$VIP4" "$VIP6"
	for a in "$@"; do
		v=$(lab_overlap_ms "$a") || lab_fail "cannot analyze ownership of $a"
		[ "$v" = 0 ] || lab_fail "two nodes held $a at once for $v ms"
		lab_log "ok: $a never held by two nodes at once"
	done
}

