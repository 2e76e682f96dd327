# shellcheck shell=bash
# lab_procs.sh - part of lab.sh (sourced by it; not on its own): processes
# in the namespaces (spawn, pid, kill, wait), etcd, vipd, the stand-in
# service, and the lab's own lifecycle: the watchdog, lab_down, the failure
# dump and the exit trap's handler (lab.sh installs the traps).

# --- the lab's lifecycle: watchdog, teardown, dump, exit handler -----------

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

# _lab_log_events FILE: a vipd log without the lines it writes every
# TTL/4 (keepalive ok) and every 5 s (a quiet probe and its result).
_lab_log_events() {
	grep -v -e ' debug: session: keepalive ok ' \
		-e ' debug: vip: probing vip=[^ ]* link=[^ ]*$' \
		-e ' debug: vip: probe done vip=[^ ]* peers=[0-9]* foreign=[0-9]*$' "$1" || true
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
				# the keepalive lines (one per TTL/4) would fill it
				_lab_log_events "$LAB_DIR/n$i/vipd.log" |
					tail -n "$([ "$full" = 1 ] && echo 40 || echo 8)" |
					cut -c1-220 | sed 's/^/    vipd| /'
			fi
			if [ -s "$LAB_DIR/n$i/etcd.log" ]; then
				grep -E '"level":"(warn|error|fatal|panic)"' "$LAB_DIR/n$i/etcd.log" |
					tail -n "$([ "$full" = 1 ] && echo 20 || echo 2)" | cut -c1-220 | sed 's/^/    etcd| /'
			fi
		done
		for f in "$LAB_DIR"/cl/probe*.log; do
			[ -s "$f" ] || continue
			echo "--- client $(basename "$f" .log): $(grep -E '^(attempts|failures|max_outage_ms|outages|skipped) ' "$f" | tr '\n' ' ')"
		done
		# last, as a runner that shows only the end of a failed case's
		# output shows this: every vipd's log in time order (its lines
		# start with an ISO 8601 UTC time) without the periodic lines
		echo "--- every node's vipd, in time order, without keepalives and quiet probes (the last 16)"
		for ((i = 1; i <= LAB_N; i++)); do
			[ -s "$LAB_DIR/n$i/vipd.log" ] || continue
			_lab_log_events "$LAB_DIR/n$i/vipd.log" | { grep -E '^[0-9]{4}-' || true; } |
				sed "s/ vipd\[[0-9]*\] / n$i /"
		done | sort -s -k1,1 | tail -n 16 | cut -c12-200 | sed 's/^/    /'
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
	# 20 s for a shell to start and write a pid: no bound, a give-up (in
	# the VM under qemu's emulation and a loaded host it took over 5 s).
	deadline=$(_lab_deadline 20)
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
# LAB_ETCD_PREVOTE=1 adds --pre-vote (raft pre-vote: a member cut off for a
# while does not disrupt the leader when it returns; etcd >= 3.5 defaults
# to it, Debian's 3.4 does not); unset or 0, etcd's own default.
lab_etcd_start() {
	local a
	_lab_resolve "$1" || return 1
	a=$(lab_node_addr4 "$_ID")
	local env=() opt=()
	case $(uname -m) in
	aarch64 | arm64) env=(env ETCD_UNSUPPORTED_ARCH=arm64) ;;
	esac
	if [ "${LAB_ETCD_PREVOTE:-0}" = 1 ]; then
		opt=(--pre-vote)
	fi
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
		"${opt[@]}" \
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
      - http://127.0.0.1:2379${LAB_NEXT_ENDPOINT:+
      - http://$(lab_node_addr4 "n$((id % LAB_N + 1))"):2379}${LAB_AVOID_LEADER:+
    avoidLeader: $LAB_AVOID_LEADER}
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

# LAB_NEXT_ENDPOINT=1 (any non-empty value) adds the next node's member (n1 -> n2,
# ..., the last -> n1) as each vipd's second etcd endpoint.
# LAB_AVOID_LEADER=true|false, when set, writes vipd.etcd.avoidLeader so
# (unset: the daemon's default). Tests that put etcd's raft leader on the
# VIP's owner on purpose (t_13, t_14, t_17) set it to false.
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

# lab_vipd_start ID [--sysfs DIR] [ARGS...]: start build/vipd -c vipd.yaml
# -v (writing the default config first if there is none) in node ID; log
# n<i>/vipd.log. --sysfs: with VIPD_SYSFS=DIR in its environment (a fixture
# sysfs tree, lab_sysfs_fixture).
lab_vipd_start() {
	local id=$1 env=()
	shift
	if [ "${1:-}" = --sysfs ]; then
		env=(env "VIPD_SYSFS=$2")
		shift 2
	fi
	_lab_resolve "$id" || return 1
	[ -x "$LAB_VIPD" ] || lab_fail "vipd not built: $LAB_VIPD (run make)"
	[ -f "$_DIR/vipd.yaml" ] || lab_vipd_config "$_ID"
	lab_run "$_ID" vipd "${env[@]}" "$LAB_VIPD" -c "$_DIR/vipd.yaml" -v "$@"
}

# lab_sysfs_fixture ID [LINK BUSPATH]...: make (or bring up to date) the
# fixture sysfs tree $LAB_DIR/n<i>/sysfs and print its path: every link of
# node ID now has class/net/<link>/type (its real one), and each LINK given
# a device link to a PCI function BUSPATH ("0000:00:03.0") with vendor
# 0x1af4, device 0x1000 and driver virtio_net: a virtio NIC, as vipd reads
# it with VIPD_SYSFS pointing there (docs/testing.md, "Fixture sysfs").
lab_sysfs_fixture() {
	local root link bus t dev
	_lab_resolve "$1" || return 1
	shift
	root=$_DIR/sysfs
	mkdir -p "$root/class/net" "$root/bus/pci/drivers/virtio_net"
	for link in $(ip -n "$_NS" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
		t=$(ip netns exec "$_NS" cat "/sys/class/net/$link/type") || return 1
		mkdir -p "$root/class/net/$link"
		echo "$t" >"$root/class/net/$link/type"
	done
	while [ $# -ge 2 ]; do
		link=$1 bus=$2
		shift 2
		[ -d "$root/class/net/$link" ] || lab_fail "lab_sysfs_fixture: no link $link on n$_ID"
		dev=$root/devices/pci0000:00/$bus
		mkdir -p "$dev"
		echo 0x1af4 >"$dev/vendor"
		echo 0x1000 >"$dev/device"
		ln -sfn ../../../bus/pci/drivers/virtio_net "$dev/driver"
		ln -sfn "../../../devices/pci0000:00/$bus" "$root/class/net/$link/device"
	done
	echo "$root"
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

# --- service stand-in ---------------------------------------------------------------

# _lab_tool NAME: the path of build/tools/NAME (tests/tools/NAME.c), built
# on demand; fails the test if it cannot be built.
_lab_tool() {
	local bin=$LAB_ROOT/build/tools/$1
	case $1 in
	probe) bin=$LAB_PROBE ;;
	standin) bin=$LAB_STANDIN ;;
	esac
	if [ ! -x "$bin" ]; then
		make -s -C "$LAB_ROOT" "build/tools/$1" >&2 || lab_fail "cannot build $1 (make tests-bin)"
	fi
	echo "$bin"
}

# lab_service_up: in every node the API server's stand-in on port 6443,
# dual stack ([::]:6443 with v4-mapped addresses), answering the node name
# and closing; waits until the client reaches each node on its own address.
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

lab_service_start() {
	local bin rt=()
	_lab_resolve "$1" || return 1
	bin=$(_lab_tool standin) || return 1
	# One process, poll(), answers in microseconds (tests/tools/standin.c);
	# a forking server (socat ...,fork EXEC:echo) took longer than the
	# probe's timeouts on a busy machine. SCHED_FIFO (chrt execs it in
	# place, the pid stays the stand-in's): the service is equipment, not
	# what is measured; a stand-in waiting for the CPU leaves a connected
	# attempt without its answer when a fault begins in between, and the
	# probe places that failure at the attempt's start, early by the wait.
	if command -v chrt >/dev/null 2>&1; then
		rt=(chrt -f 10)
	fi
	lab_run "$_ID" service "${rt[@]}" "$bin" -n "n$_ID" -p "$LAB_SERVICE_PORT"
}

