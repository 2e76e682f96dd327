# shellcheck shell=bash
# lab.sh - the vipd integration-test lab: network namespaces, a bridge, a
# real etcd member per node, faults, an ownership recorder and a client probe.
#
# Source it from a test (bash, as root):
#
#     . "$(dirname "$0")/lab.sh"
#     lab_up 3                 # namespaces, bridge, addresses
#     lab_etcd_up              # one etcd member per node, cluster healthy
#     ...
#
# Sourcing installs an EXIT/INT/TERM trap that tears the lab down (every
# process in every lab namespace, the namespaces, the temp dir), pass or
# fail. A test that needs its own EXIT handling must call lab_down from it.
# LAB_KEEP=1 keeps a failed lab for inspection (see docs/testing.md).
#
# Rules the lab keeps (docs/testing.md, DESIGN.md "Test network rules"):
# addresses only from 198.18.0.0/15 and fd00::/8; nothing added to the root
# namespace; every namespace, process and temp file removed on exit.
#
# Node ids: every helper taking a node accepts "1", "n1" (node 1) or "cl"
# (the client). Functions whose output is meant for $(...) print only the
# result on stdout; all logging goes to stderr.
#
# Run directly for housekeeping:
#     bash tests/integration/lab.sh list         labs present on this machine
#     bash tests/integration/lab.sh down PREFIX  remove one (e.g. a kept one)
#     bash tests/integration/lab.sh gc           remove labs whose test is gone

# --- settings ---------------------------------------------------------------

LAB_ROOT=${LAB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# The lab's identity is this shell's own, never inherited: lab_up exports
# LAB_DIR and friends for the commands a test runs, and a nested test (a
# bash started by a test that sources lab.sh again) must not take over its
# parent's lab. Sourcing twice in one shell keeps the lab (_LAB_LOADED is
# not exported).
if [ "${_LAB_LOADED:-}" != "$$" ]; then
	_LAB_LOADED=$$
	LAB_PREFIX=vl$$                      # namespaces: $LAB_PREFIX-br, -n1.., -cl
	LAB_DIR=                             # set by lab_up
	LAB_N=0
	LAB_TTL=5                            # seconds, vipd lease TTL (lab_up --ttl)
fi
LAB_VIPD=${LAB_VIPD:-$LAB_ROOT/build/vipd}
LAB_PROBE=${LAB_PROBE:-$LAB_ROOT/build/tools/probe}
LAB_OWNERS_AWK=${LAB_OWNERS_AWK:-$LAB_ROOT/tests/integration/owners.awk}
LAB_SERVICE_PORT=6443
LAB_LAST_STATUS=                         # exit status seen by lab_wait_exit

# The address plan (exported so commands run by tests see it too).
export VIP4=198.18.0.100
export VIP6=fd00:18::100
export LAB_CLIENT4=198.18.0.5
export LAB_CLIENT6=fd00:18::5

# --- logging and assertions -------------------------------------------------

# lab_log MSG...: one timestamped line on stderr.
lab_log() {
	local t=${EPOCHREALTIME:-}
	if [ -n "$t" ]; then
		local us=${t#*.}
		printf '[%(%H:%M:%S)T.%s] %s\n' "${t%.*}" "${us:0:3}" "$*" >&2
	else
		printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2
	fi
}

# lab_fail MSG...: print the failure and exit 1 (the trap dumps the logs).
# Inside $(...) it ends only that subshell: functions meant for $(...)
# return non-zero instead.
lab_fail() {
	_LAB_FAIL_MSG="$*"
	lab_log "FAIL: $*"
	exit 1
}

# lab_skip MSG...: print why and exit 77 (counted as skipped by run-all).
lab_skip() {
	echo "SKIP: $*" >&2
	echo "skipped: $*"
	exit 77
}

# lab_assert DESCRIPTION CMD...: run CMD; log "ok: DESCRIPTION" or fail.
lab_assert() {
	local desc=$1
	shift
	if "$@"; then
		lab_log "ok: $desc"
	else
		lab_fail "$desc (command: $*)"
	fi
}

# lab_wait_until TIMEOUT CMD...: run CMD every 50 ms until it succeeds;
# non-zero after TIMEOUT seconds (fractions allowed).
lab_wait_until() {
	local deadline
	deadline=$(_lab_deadline "$1")
	shift
	while :; do
		if "$@"; then
			return 0
		fi
		_lab_past "$deadline" && return 1
		sleep 0.05
	done
}

# --- internals --------------------------------------------------------------

_lab_now_us() {
	local t=$EPOCHREALTIME
	echo "${t%.*}${t#*.}"
}

# Microsecond deadline SECONDS (e.g. 2.5) from now.
_lab_deadline() {
	local s=$1 whole frac
	whole=${s%%.*}
	frac=0
	if [[ $s == *.* ]]; then
		frac=${s#*.}000000
		frac=$((10#${frac:0:6}))
	fi
	echo $(($(_lab_now_us) + ${whole:-0} * 1000000 + frac))
}

_lab_past() {
	[ "$(_lab_now_us)" -ge "$1" ]
}

# _lab_resolve ID: sets _ID (1..N or cl), _NS, _DIR, _NAME (n1 / cl).
_lab_resolve() {
	case $1 in
	cl | client) _ID=cl ;;
	n[0-9]*) _ID=${1#n} ;;
	[0-9]*) _ID=$1 ;;
	*)
		lab_log "lab: bad node id: $1"
		return 1
		;;
	esac
	if [ "$_ID" = cl ]; then
		_NAME=cl
	else
		if ! [[ $_ID =~ ^[0-9]+$ ]] || [ "$_ID" -lt 1 ] || [ "$_ID" -gt "$LAB_N" ]; then
			lab_log "lab: no node $1 in this lab (1..$LAB_N)"
			return 1
		fi
		_ID=$((10#$_ID))
		_NAME=n$_ID
	fi
	_NS=$LAB_PREFIX-$_NAME
	_DIR=$LAB_DIR/$_NAME
}

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

_lab_alive() {
	local st
	[ -n "${1:-}" ] || return 1
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

_lab_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
}

# --- lab up and down --------------------------------------------------------

# lab_up N [--ttl SECONDS]: create the lab: namespaces br (bridge br0), n1..nN
# and cl, each node/client attached to br0 by a veth pair (eth0 inside),
# addresses from the plan, loopback up, DAD off, ARP/NA updates accepted.
# Exits 77 if etcd, etcdctl or nft is missing; fails if not root.
lab_up() {
	local n=$1 i ns mac t0
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--ttl)
			LAB_TTL=$2
			shift 2
			;;
		*) lab_fail "lab_up: unknown option $1" ;;
		esac
	done
	[ "$(id -u)" -eq 0 ] || lab_skip "integration tests need root (network namespaces)"
	_lab_need etcd etcdctl || lab_skip "etcd/etcdctl not installed (apt-get install etcd-server etcd-client, or scripts/install-deps)"
	_lab_need nft || lab_skip "nft not installed (apt-get install nftables, or scripts/install-deps)"
	_lab_need ip socat ping || lab_skip "iproute2, socat or ping missing (scripts/install-deps)"
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
		local name port a4 a6 plen4=24 plen6=64
		if [ "$i" = cl ]; then
			name=cl port=pcl mac=02:00:00:00:00:05 a4=$LAB_CLIENT4 a6=$LAB_CLIENT6
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
			net.ipv4.conf.all.arp_accept=1 net.ipv4.conf.default.arp_accept=1 \
			net.ipv4.conf.all.arp_notify=1 net.ipv4.conf.default.arp_notify=1 >/dev/null
		ip -n "$LAB_PREFIX-br" link add "$port" type veth peer name eth0 address "$mac" netns "$ns" ||
			lab_fail "cannot create veth for $name"
		ip netns exec "$ns" sysctl -qw \
			net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.accept_ra=0 \
			net.ipv4.conf.eth0.arp_accept=1 net.ipv4.conf.eth0.arp_notify=1 >/dev/null
		ip -n "$ns" addr add "$a4/$plen4" dev eth0
		ip -n "$ns" addr add "$a6/$plen6" dev eth0 nodad
		ip -n "$LAB_PREFIX-br" link set "$port" master br0 up
		ip -n "$ns" link set eth0 up
	done
	lab_log "lab $LAB_PREFIX up: $n nodes + client in $(( ($(_lab_now_us) - t0) / 1000 )) ms, dir $LAB_DIR"
}

# The watchdog: if the test dies without its trap running (SIGKILL, e.g.
# timeout's --kill-after), remove what is left of its lab. A small bash in
# its own session (group signals miss it) polls once a second; it exits as
# soon as the lab dir is gone (normal teardown) or marked to keep.
_lab_watchdog() {
	# shellcheck disable=SC2016 # expanded by that bash
	setsid bash -c '
		trap "" INT TERM HUP
		me=$1 dir=$2 lab=$3 prefix=$4
		while kill -0 "$me" 2>/dev/null && [ -d "$dir" ] && [ ! -e "$dir/keep" ]; do
			sleep 1
		done
		if [ -d "$dir" ] && [ ! -e "$dir/keep" ]; then
			exec bash "$lab" down "$prefix"
		fi' lab-watchdog "$$" "$LAB_DIR" "$LAB_ROOT/tests/integration/lab.sh" "$LAB_PREFIX" \
		</dev/null >/dev/null 2>&1 &
	disown $! 2>/dev/null || true
}

# Every namespace whose name starts with "$LAB_PREFIX-".
_lab_namespaces() {
	ip netns list 2>/dev/null | awk -v p="$LAB_PREFIX-" 'index($1, p) == 1 { print $1 }'
}

# The pids of the lab's spawn wrappers (the sh waiting for each process,
# recognised by its $0 "lab-spawn") among the given pids.
_lab_wrappers() {
	local p
	for p in "$@"; do
		# one NUL-separated argument is exactly "lab-spawn"
		if grep -qzx lab-spawn "/proc/$p/cmdline" 2>/dev/null; then
			printf '%s ' "$p"
		fi
	done
	return 0
}

# The parent pids of the given pids.
_lab_parents() {
	local p
	for p in "$@"; do
		# a pid may be gone already: not an error
		awk '$1 == "PPid:" { printf "%s ", $2 }' "/proc/$p/status" 2>/dev/null || true
	done
	return 0
}

# Note for every helper here: tests run with `set -euo pipefail`, so a
# command that may fail for a harmless reason (a process that exited
# meanwhile, a file not there) must not be the last of a function nor an
# assignment's command substitution without `|| true`.

# _lab_kill_ns SIGNAL EXCLUDE_PIDS NS...: send SIGNAL to every process in
# the namespaces except EXCLUDE_PIDS, until none is left (max ~5 s; KILL
# only). Children go before their parents and processes before their spawn
# wrappers, so each parent reaps its child instead of leaving zombies to
# init (which reaps late here).
_lab_kill_ns() {
	local sig=$1 excl=" $2 " wr ns p pids targets round
	shift 2
	for round in $(seq 1 100); do
		pids=
		for ns in "$@"; do
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				[[ $excl == *" $p "* ]] || pids="$pids $p"
			done
		done
		[ -n "$pids" ] || return 0
		targets=
		if [ "$round" -le 20 ]; then
			# leaves first: not a wrapper, not the parent of another one
			# shellcheck disable=SC2086
			wr=" $(_lab_wrappers $pids) $(_lab_parents $pids) "
			for p in $pids; do
				[[ $wr == *" $p "* ]] || targets="$targets $p"
			done
		fi
		[ -n "$targets" ] || targets=$pids
		# some may have exited since the listing: not an error
		# shellcheck disable=SC2086
		kill -s "$sig" $targets 2>/dev/null || true
		[ "$sig" = KILL ] || return 0
		sleep 0.05
	done
	return 1
}

_lab_remove_namespaces() {
	local nss ns
	nss=$(_lab_namespaces)
	[ -n "$nss" ] || return 0
	# shellcheck disable=SC2086
	_lab_kill_ns KILL "" $nss || lab_log "lab_down: processes left in $nss"
	for ns in $nss; do
		ip netns del "$ns" 2>/dev/null || lab_log "lab_down: cannot delete namespace $ns"
	done
}

# lab_down: kill every process in every lab namespace, delete the
# namespaces, remove $LAB_DIR. Idempotent; also the exit trap.
lab_down() {
	_lab_remove_namespaces
	if [ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ]; then
		rm -rf "$LAB_DIR"
	fi
	if [ -n "$(_lab_namespaces)" ]; then
		lab_log "lab_down: namespaces left: $(_lab_namespaces | tr '\n' ' ')"
		return 1
	fi
	return 0
}

# On failure: the end of every log that explains what happened.
lab_dump() {
	local i f full=${LAB_DUMP_FULL:-0}
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return 0
	# compact: run-all shows only a failed case's last 60 lines; the logs
	# themselves are in $LAB_DIR (LAB_KEEP=1) and the test's own log
	{
		echo "===== lab $LAB_PREFIX at failure (all logs: LAB_KEEP=1, $LAB_DIR) ====="
		for ((i = 1; i <= LAB_N; i++)); do
			echo "--- n$i: $(ip -n "$LAB_PREFIX-n$i" -br addr show dev eth0 2>&1 | tr -s ' ')"
			if [ -s "$LAB_DIR/n$i/vipd.log" ]; then
				tail -n "$([ "$full" = 1 ] && echo 40 || echo 8)" "$LAB_DIR/n$i/vipd.log" |
					cut -c1-220 | sed 's/^/    vipd| /'
			fi
			if [ -s "$LAB_DIR/n$i/etcd.log" ]; then
				grep -E '"level":"(warn|error|fatal|panic)"' "$LAB_DIR/n$i/etcd.log" |
					tail -n "$([ "$full" = 1 ] && echo 20 || echo 2)" | cut -c1-220 | sed 's/^/    etcd| /'
			fi
		done
		for f in "$LAB_DIR"/cl/probe*.log; do
			[ -s "$f" ] || continue
			echo "--- client $(basename "$f" .log): $(grep -E '^(attempts|max_outage_ms|outages) ' "$f" | tr '\n' ' ')"
		done
		echo "===== end of lab state ====="
	} >&2
}

_lab_on_exit() {
	local rc=$?
	# cleanup must run to its end: no errexit, and a second INT/TERM (a
	# runner or a user insisting) must not cut it short; only KILL can,
	# and then the watchdog (lab_up) finishes the job.
	set +e
	trap - EXIT
	trap '' INT TERM HUP
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		lab_dump
		# the reason once more, last, where run-all's tail shows it
		if [ -n "${_LAB_FAIL_MSG:-}" ]; then
			lab_log "FAIL: $_LAB_FAIL_MSG"
		else
			lab_log "FAIL: exit status $rc${_LAB_ERR:+, last failed command: $_LAB_ERR}"
		fi
	fi
	if [ "${LAB_KEEP:-0}" = 1 ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${LAB_DIR:-}" ]; then
		: >"$LAB_DIR/keep" # tells the watchdog to leave it
		{
			echo "LAB_KEEP=1: lab $LAB_PREFIX kept (exit $rc). Look around with e.g."
			echo "    ip netns exec $LAB_PREFIX-n1 bash    # a shell on node 1"
			echo "    ls $LAB_DIR                          # logs, configs, monitor files"
			echo "and remove it with"
			echo "    bash $LAB_ROOT/tests/integration/lab.sh down $LAB_PREFIX"
		} >&2
		exit "$rc"
	fi
	lab_down || true
	exit "$rc"
}

trap _lab_on_exit EXIT
# remembers the last failing top-level command, to name it when errexit
# ends a test (functions only with set -E)
trap '_LAB_ERR="line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- processes --------------------------------------------------------------

# Start CMD in namespace ns, log to LOG, pid in DIR/NAME.pid, exit status in
# DIR/NAME.status when it ends. A small sh ("lab-spawn") inside the
# namespace, in a session of its own, waits for CMD so its status is kept
# and no zombie is left to init; it ignores INT/TERM/HUP so a signal to the
# test's process group (timeout(1), Ctrl-C) reaches the test, whose trap
# tears the lab down in order. The pid recorded is CMD's own (env execs
# it), so signals reach the real process; env resets every signal to its
# default (shells make background commands ignore SIGINT/SIGQUIT).
_lab_spawn() {
	local ns=$1 dir=$2 name=$3 log=$4 pid deadline
	shift 4
	if pid=$(_lab_pidfile_pid "$dir/$name.pid") && _lab_alive "$pid"; then
		lab_log "lab: $name already running in $ns (pid $pid)"
		return 1
	fi
	rm -f "$dir/$name.pid" "$dir/$name.status"
	# shellcheck disable=SC2016,SC2034 # the sh expands them
	LAB_PIDF=$dir/$name.pid LAB_STF=$dir/$name.status LAB_LOGF=$log \
		ip netns exec "$ns" setsid sh -c '
			trap "" INT TERM HUP
			env --default-signal "$@" </dev/null >>"$LAB_LOGF" 2>&1 &
			echo $! >"$LAB_PIDF.tmp" && mv "$LAB_PIDF.tmp" "$LAB_PIDF"
			wait $!
			echo $? >"$LAB_STF"' lab-spawn "$@" </dev/null >/dev/null 2>&1 &
	disown $! 2>/dev/null || true
	deadline=$(_lab_deadline 5)
	until [ -s "$dir/$name.pid" ]; do
		_lab_past "$deadline" && {
			lab_log "lab: $name did not start in $ns"
			return 1
		}
		sleep 0.005
	done
	lab_log "started $name in $ns (pid $(cat "$dir/$name.pid")): $*"
}

_lab_pidfile_pid() {
	local p
	[ -s "$1" ] || return 1
	read -r p <"$1" || return 1
	echo "$p"
}

# lab_run ID NAME CMD...: start CMD in the background in node ID's
# namespace, output to $LAB_DIR/<node>/NAME.log, pid kept for lab_pid,
# lab_kill and lab_wait_exit.
lab_run() {
	local id=$1 name=$2
	shift 2
	_lab_resolve "$id" || return 1
	_lab_spawn "$_NS" "$_DIR" "$name" "$_DIR/$name.log" "$@"
}

# lab_exec ID CMD...: run CMD in the foreground in node ID's namespace.
lab_exec() {
	_lab_resolve "$1" || return 1
	shift
	ip netns exec "$_NS" "$@"
}

# lab_pid ID NAME: print the pid of process NAME on node ID; non-zero if
# it is not running.
lab_pid() {
	local pid
	_lab_resolve "$1" || return 1
	pid=$(_lab_pidfile_pid "$_DIR/$2.pid") || return 1
	_lab_alive "$pid" || return 1
	echo "$pid"
}

# lab_kill ID NAME [SIGNAL]: send SIGNAL (default TERM) to process NAME.
lab_kill() {
	local pid
	pid=$(lab_pid "$1" "$2") || {
		lab_log "lab_kill: $2 on $1 is not running"
		return 1
	}
	kill -s "${3:-TERM}" "$pid"
}

# lab_wait_exit ID NAME TIMEOUT: wait until process NAME has exited; 0 if
# it did within TIMEOUT seconds, 1 if not. Sets LAB_LAST_STATUS to its exit
# status (128+signal if a signal ended it; empty if unknown).
lab_wait_exit() {
	local deadline pid
	LAB_LAST_STATUS=
	_lab_resolve "$1" || return 1
	pid=$(_lab_pidfile_pid "$_DIR/$2.pid") || return 0
	deadline=$(_lab_deadline "$3")
	while _lab_alive "$pid"; do
		_lab_past "$deadline" && return 1
		sleep 0.02
	done
	# the waiting sh writes the status right after the process ends
	deadline=$(_lab_deadline 1)
	until [ -s "$_DIR/$2.status" ] || _lab_past "$deadline"; do
		sleep 0.01
	done
	if [ -s "$_DIR/$2.status" ]; then
		# shellcheck disable=SC2034 # read by the tests
		read -r LAB_LAST_STATUS <"$_DIR/$2.status"
	fi
	return 0
}

# lab_stop ID NAME [TIMEOUT]: SIGTERM, wait up to TIMEOUT (default 10) s,
# then SIGKILL. 0 if it exited on SIGTERM. LAB_LAST_STATUS as above.
lab_stop() {
	local id=$1 name=$2 t=${3:-10}
	lab_pid "$id" "$name" >/dev/null || return 0
	lab_kill "$id" "$name" TERM || return 0
	if lab_wait_exit "$id" "$name" "$t"; then
		return 0
	fi
	lab_log "lab_stop: $name on $id ignored SIGTERM for ${t}s; SIGKILL"
	lab_kill "$id" "$name" KILL || true
	lab_wait_exit "$id" "$name" 5 || true
	return 1
}

# --- etcd -------------------------------------------------------------------

_lab_initial_cluster() {
	local i s=
	for ((i = 1; i <= LAB_N; i++)); do
		s="$s${s:+,}n$i=http://$(lab_node_addr4 "$i"):2380"
	done
	echo "$s"
}

# lab_etcd_start ID: start node ID's etcd member (name n<i>, client URLs
# http://<node>:2379 and http://127.0.0.1:2379, peer http://<node>:2380,
# data in $LAB_DIR/n<i>/etcd.data, log n<i>/etcd.log). Does not wait.
lab_etcd_start() {
	local a
	_lab_resolve "$1" || return 1
	a=$(lab_node_addr4 "$_ID")
	local env=()
	case $(uname -m) in
	aarch64 | arm64) env=(env ETCD_UNSUPPORTED_ARCH=arm64) ;;
	esac
	lab_run "$_ID" etcd "${env[@]}" etcd \
		--name "n$_ID" \
		--data-dir "$LAB_DIR/n$_ID/etcd.data" \
		--listen-client-urls "http://$a:2379,http://127.0.0.1:2379" \
		--advertise-client-urls "http://$a:2379" \
		--listen-peer-urls "http://$a:2380" \
		--initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "$(_lab_initial_cluster)" \
		--initial-cluster-token "$LAB_PREFIX" \
		--initial-cluster-state new \
		--heartbeat-interval 100 --election-timeout 1000 \
		--enable-grpc-gateway \
		--logger zap --log-outputs stderr
}

# lab_etcd_stop ID: SIGTERM node ID's etcd and wait (SIGKILL after 10 s).
lab_etcd_stop() {
	lab_stop "$1" etcd 10
}

# lab_etcd_kill ID: SIGKILL node ID's etcd and wait.
lab_etcd_kill() {
	lab_kill "$1" etcd KILL || return 0
	lab_wait_exit "$1" etcd 5
}

# lab_etcdctl ID [--at URL] ARGS...: etcdctl (API v3) in node ID's
# namespace against its local member (or URL), short timeouts.
lab_etcdctl() {
	local id=$1 ep=http://127.0.0.1:2379
	shift
	if [ "${1:-}" = --at ]; then
		ep=$2
		shift 2
	fi
	lab_exec "$id" env ETCDCTL_API=3 etcdctl --endpoints="$ep" \
		--dial-timeout=2s --command-timeout=5s "$@"
}

# lab_etcd_healthy [COUNT]: true if `endpoint health --cluster`, asked of
# any running member, reports COUNT (default N) healthy members.
lab_etcd_healthy() {
	local want=${1:-$LAB_N} i out
	for ((i = 1; i <= LAB_N; i++)); do
		lab_pid "$i" etcd >/dev/null || continue
		# etcdctl 3.4 prints the health lines on stderr
		out=$(lab_etcdctl "$i" --dial-timeout=1s --command-timeout=2s endpoint health --cluster 2>&1) || true
		[ "$(grep -c 'is healthy' <<<"$out")" -ge "$want" ] && return 0
		return 1
	done
	return 1
}

# lab_etcd_wait_healthy [TIMEOUT] [COUNT]: wait (default 20 s) until
# lab_etcd_healthy COUNT; non-zero on timeout.
lab_etcd_wait_healthy() {
	lab_wait_until "${1:-20}" lab_etcd_healthy "${2:-$LAB_N}"
}

# lab_etcd_up: start every member and wait (max 20 s) until the whole
# cluster is healthy; fails the test otherwise.
lab_etcd_up() {
	local i t0
	t0=$(_lab_now_us)
	for ((i = 1; i <= LAB_N; i++)); do
		lab_etcd_start "$i" || lab_fail "cannot start etcd on n$i"
	done
	lab_etcd_wait_healthy 20 || lab_fail "etcd cluster not healthy after 20 s"
	lab_log "etcd cluster of $LAB_N healthy in $(( ($(_lab_now_us) - t0) / 1000 )) ms"
}

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

# --- vipd -------------------------------------------------------------------

# The config text for node ID (stdout). Tests or later work may redefine
# this function to follow the daemon's config format; see docs/testing.md.
# Arguments: ID V4(0/1) V6(0/1)
_lab_vipd_yaml() {
	local id=$1 v4=$2 v6=$3
	echo "# written by lab_vipd_config for lab $LAB_PREFIX"
	echo "machine:"
	echo "  network:"
	echo "    interfaces:"
	if [ "$v4" = 1 ]; then
		echo "      - interface: eth0"
		echo "        vip:"
		echo "          ip: $VIP4"
	fi
	if [ "$v6" = 1 ]; then
		echo "      - interface: eth0"
		echo "        vip:"
		echo "          ip: $VIP6"
	fi
	cat <<EOF
vipd:
  node: n$id
  etcd:
    endpoints:
      - http://127.0.0.1:2379
  lease:
    ttl: ${LAB_TTL}s
  announce:
    count: 3
    interval: 100ms
  controlSocket: $LAB_DIR/n$id/vipd.sock
  metrics:
    listen: ""
  log:
    level: debug
EOF
}

# lab_vipd_config ID [--v6 | --v6-only] [EXTRA_YAML]: write
# $LAB_DIR/n<i>/vipd.yaml: VIP4 on eth0 (--v6: also VIP6; --v6-only: only
# VIP6), node n<i>, etcd http://127.0.0.1:2379, lease TTL from lab_up
# --ttl, announce 3 x 100ms, control socket in the node dir, metrics off,
# log level debug. EXTRA_YAML is appended as is (the file ends inside the
# "vipd:" mapping, so lines indented two spaces add daemon settings).
# When build/vipd exists the file is checked with `vipd --check`; non-zero
# (errors logged) if it is rejected (the file is still written).
lab_vipd_config() {
	local id=$1 v4=1 v6=0
	shift
	_lab_resolve "$id" || return 1
	case ${1:-} in
	--v6)
		v6=1
		shift
		;;
	--v6-only)
		v4=0 v6=1
		shift
		;;
	esac
	{
		_lab_vipd_yaml "$_ID" "$v4" "$v6"
		if [ $# -gt 0 ]; then
			printf '%s\n' "$@"
		fi
	} >"$_DIR/vipd.yaml"
	# what vipd itself thinks of it, when it is built
	if [ -x "$LAB_VIPD" ] && ! "$LAB_VIPD" --check -c "$_DIR/vipd.yaml" >"$_DIR/vipd.check" 2>&1; then
		lab_log "lab_vipd_config: vipd --check rejects $_DIR/vipd.yaml:"
		sed 's/^/    /' "$_DIR/vipd.check" >&2
		return 1
	fi
	return 0
}

# lab_vipd_start ID [ARGS...]: start build/vipd -c vipd.yaml -v (writing
# the default config first if there is none) in node ID; log n<i>/vipd.log.
lab_vipd_start() {
	local id=$1
	shift
	_lab_resolve "$id" || return 1
	[ -x "$LAB_VIPD" ] || lab_fail "vipd not built: $LAB_VIPD (run make)"
	[ -f "$_DIR/vipd.yaml" ] || lab_vipd_config "$_ID"
	lab_run "$_ID" vipd "$LAB_VIPD" -c "$_DIR/vipd.yaml" -v "$@"
}

# lab_vipd_stop ID [TIMEOUT]: SIGTERM vipd and wait (default 10 s; then
# SIGKILL and non-zero). LAB_LAST_STATUS holds its exit status.
lab_vipd_stop() {
	lab_stop "$1" vipd "${2:-10}"
}

# lab_vipd_kill ID: SIGKILL vipd (a crash) and wait until it is gone.
lab_vipd_kill() {
	lab_kill "$1" vipd KILL || return 1
	lab_wait_exit "$1" vipd 5
}

# --- service stand-in and client ------------------------------------------------

# lab_service_up: in every node a TCP service on port 6443, dual stack
# ([::]:6443 with v4-mapped addresses), answering the node name and
# closing; waits until the client reaches each node on its own address.
lab_service_up() {
	local i
	for ((i = 1; i <= LAB_N; i++)); do
		lab_service_start "$i" || lab_fail "cannot start the service on n$i"
	done
	for ((i = 1; i <= LAB_N; i++)); do
		lab_wait_until 5 _lab_reach_quiet cl "$(lab_node_addr4 "$i")" ||
			lab_fail "service on n$i not reachable"
	done
	lab_log "service stand-in up on $LAB_N nodes"
}

# lab_service_start ID: start the service stand-in on one node (e.g. after
# lab_power_on); does not wait.
lab_service_start() {
	_lab_resolve "$1" || return 1
	lab_run "$_ID" service socat \
		"TCP6-LISTEN:$LAB_SERVICE_PORT,ipv6only=0,reuseaddr,fork,backlog=128" \
		"EXEC:echo n$_ID"
}

_lab_reach_quiet() {
	lab_reach "$@" >/dev/null 2>&1
}

# lab_reach FROM ADDR [PORT]: one TCP connect from node/client FROM to
# ADDR:PORT (default 6443), 1 s timeout; prints the answer (node name).
lab_reach() {
	local from=$1 addr=$2 port=${3:-$LAB_SERVICE_PORT} target out
	_lab_addr_ok "$addr" || return 2
	case $addr in
	*:*) target="TCP6:[$addr]:$port" ;;
	*) target="TCP4:$addr:$port" ;;
	esac
	out=$(lab_exec "$from" timeout 3 socat -T 2 -u "$target,connect-timeout=1" STDOUT 2>/dev/null) || return 1
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
# against VIP4:6443 (VIP6 with v6), every 10 ms, 50 ms per attempt, until
# lab_probe_stop. Records to $LAB_DIR/cl/probe4.rec, summary to probe4.log.
# Failures before the first answer count as an outage; start it once the
# VIP answers, or pass -W to leave them out.
lab_probe_start() {
	local fam=${1:-} name addr
	if [ "$fam" = v6 ] || [ "$fam" = v4 ]; then
		shift
	fi
	name=$(_lab_probe_name "$fam")
	if [ "$fam" = v6 ]; then addr=$VIP6; else addr=$VIP4; fi
	if [ ! -x "$LAB_PROBE" ]; then
		make -s -C "$LAB_ROOT" "build/tools/probe" >&2 || lab_fail "cannot build the probe"
	fi
	rm -f "$LAB_DIR/cl/$name.log"
	lab_run cl "$name" "$LAB_PROBE" -a "$addr" -p "$LAB_SERVICE_PORT" -i 10ms -T 50ms \
		-o "$LAB_DIR/cl/$name.rec" "$@"
}

# lab_probe_stop [v6]: stop the probe (SIGTERM) and print its summary.
lab_probe_stop() {
	local name
	name=$(_lab_probe_name "${1:-}")
	lab_stop cl "$name" 5 || true
	cat "$LAB_DIR/cl/$name.log" 2>/dev/null || lab_log "lab_probe_stop: no $name output"
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

# --- ownership ----------------------------------------------------------------

# lab_monitor_start: record address events in every node (ip -ts -o monitor
# address -> $LAB_DIR/n<i>/addr.mon). Call before vipd starts; returns once
# every monitor listens.
lab_monitor_start() {
	local i pid deadline
	for ((i = 1; i <= LAB_N; i++)); do
		_lab_spawn "$LAB_PREFIX-n$i" "$LAB_DIR/n$i" addrmon "$LAB_DIR/n$i/addr.mon" \
			ip -ts -o monitor address || lab_fail "cannot start the monitor on n$i"
	done
	# listening = its netlink socket exists (ip binds the groups at open)
	for ((i = 1; i <= LAB_N; i++)); do
		pid=$(_lab_pidfile_pid "$LAB_DIR/n$i/addrmon.pid")
		deadline=$(_lab_deadline 3)
		# (no "| grep -q": under pipefail its early exit can fail the pipe)
		until [[ $(ls -l "/proc/$pid/fd" 2>/dev/null) == *socket:* ]]; do
			_lab_past "$deadline" && lab_fail "monitor on n$i not listening"
			sleep 0.01
		done
	done
	sleep 0.05
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

# --- command line: housekeeping -------------------------------------------------

_lab_cli() {
	local cmd=${1:-} p
	trap - EXIT INT TERM HUP
	case $cmd in
	list)
		ip netns list | awk '{ print $1 }' | sed -n 's/^\(vl[0-9]\{1,\}\)-\(br\|cl\|n[0-9]\{1,\}\)$/\1/p' | sort -u
		;;
	down)
		[ -n "${2:-}" ] || {
			echo "usage: lab.sh down PREFIX" >&2
			exit 2
		}
		LAB_PREFIX=$2
		_lab_remove_namespaces
		for p in "${LAB_TMPDIR:-/dev/shm}"/vipd-lab."$LAB_PREFIX".* \
			/dev/shm/vipd-lab."$LAB_PREFIX".* "${TMPDIR:-/tmp}"/vipd-lab."$LAB_PREFIX".*; do
			if [ -d "$p" ]; then
				rm -rf "$p"
			fi
		done
		[ -z "$(_lab_namespaces)" ]
		;;
	gc)
		for p in $(_lab_cli list); do
			if kill -0 "${p#vl}" 2>/dev/null; then
				echo "lab $p: its test (pid ${p#vl}) still runs; kept"
			else
				echo "lab $p: removing"
				_lab_cli down "$p"
			fi
		done
		;;
	*)
		echo "usage: lab.sh list | down PREFIX | gc   (source it from a test for the lab functions)" >&2
		exit 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_lab_cli "$@"
	exit $?
fi
