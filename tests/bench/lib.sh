# shellcheck shell=bash
# lib.sh - part of scripts/bench (sourced by failover.sh and scale.sh, after
# tests/integration/scenario.sh): the systems under test (vipd at a given
# TTL, keepalived), their processes, the partition the bench uses, and the
# measurements every part shares (footprint, etcd request counts, times).
#
# Times are integer epoch microseconds (sc_now_us) unless a name says ms.

# --- the systems ----------------------------------------------------------------
# BENCH_SYS is "vipd" or "keepalived"; both are started per node with
# bench_daemon_start and found with bench_daemon_pids.

# bench_ka_config ID: write node ID's keepalived.conf: one vrrp_instance on
# eth0, virtual_router_id 51, state BACKUP, priority 100 on every node
# (equal priorities: no node preempts another, as vipd never does; a
# higher-priority node coming back would take the VIP and cost a second
# outage), advert_int 1, VIP4/32; everything else keepalived's defaults.
bench_ka_config() {
	_lab_resolve "$1" || return 1
	cat >"$_DIR/keepalived.conf" <<EOF
# written by scripts/bench for lab $LAB_PREFIX
global_defs {
	router_id n$_ID
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority 100
	advert_int 1
	virtual_ipaddress {
		$VIP4/32 dev eth0
	}
}
EOF
}

# bench_daemon_start ID: start the system's daemon on node ID (vipd with
# the lab's config; keepalived in the foreground with its own pid files,
# VRRP only, logging to n<i>/keepalived.log).
bench_daemon_start() {
	_lab_resolve "$1" || return 1
	if [ "$BENCH_SYS" = keepalived ]; then
		[ -f "$_DIR/keepalived.conf" ] || bench_ka_config "$_ID"
		lab_run "$_ID" keepalived keepalived --dont-fork --log-console --log-detail \
			--vrrp --use-file "$_DIR/keepalived.conf" \
			--pid "$_DIR/ka.pid" --vrrp_pid "$_DIR/ka-vrrp.pid" --checkers_pid "$_DIR/ka-check.pid"
	else
		lab_vipd_start "$_ID"
	fi
}

# bench_daemon_pids ID: the pids of the system's processes in node ID's
# namespace (vipd: one; keepalived: its parent and VRRP child), one line.
bench_daemon_pids() {
	local p c out=''
	_lab_resolve "$1" || return 1
	for p in $(ip netns pids "$_NS" 2>/dev/null); do
		c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		[ "$c" = "$BENCH_SYS" ] && out="$out${out:+ }$p"
	done
	echo "$out"
}

# bench_daemon_signal ID SIGNAL: send SIGNAL to every process of the
# daemon on node ID (children first, so a SIGKILL leaves no child to
# clean up after its parent).
bench_daemon_signal() {
	local pids p rev=''
	pids=$(bench_daemon_pids "$1") || return 1
	for p in $pids; do rev="$p $rev"; done
	# shellcheck disable=SC2086
	[ -z "$rev" ] || kill -s "$2" $rev 2>/dev/null || true
}

# bench_daemon_gone ID: true when none of the daemon's processes is left.
bench_daemon_gone() {
	[ -z "$(bench_daemon_pids "$1")" ]
}

# bench_daemon_stop ID: SIGTERM and wait (10 s) until it has exited.
bench_daemon_stop() {
	bench_daemon_signal "$1" TERM
	lab_wait_until 10 bench_daemon_gone "$1" || {
		bench_daemon_signal "$1" KILL
		lab_wait_until 5 bench_daemon_gone "$1"
	}
	lab_wait_exit "$1" "$BENCH_SYS" 2 || true
}

# --- faults the lab lacks ---------------------------------------------------------

# bench_partition ID: lab_partition, and also nothing multicast leaves the
# node: VRRP adverts go to 224.0.0.18, which lab_partition's peer sets do
# not name, so without this the peers would still hear a cut-off
# keepalived master. vipd sends no multicast: the rule is the same fault
# for both.
bench_partition() {
	_lab_resolve "$1" || return 1
	lab_partition "$_ID"
	ip netns exec "$_NS" nft -f - <<EOF || lab_fail "bench_partition: nft failed"
table netdev bench_partition {
	chain out {
		type filter hook egress device "eth0" priority -400; policy accept;
		ip daddr 224.0.0.0/4 drop
	}
}
EOF
}

bench_heal() {
	_lab_resolve "$1" || return 1
	ip netns exec "$_NS" nft delete table netdev bench_partition 2>/dev/null || true
	lab_heal "$_ID"
}

# --- measurements ---------------------------------------------------------------------

# bench_iso US: epoch microseconds as the monitor's stamps print local
# time (YYYY-MM-DDTHH:MM:SS.UUUUUU), so stamps compare as strings.
bench_iso() {
	printf '%s.%06d\n' "$(date -d "@$(($1 / 1000000))" +%Y-%m-%dT%H:%M:%S)" $(($1 % 1000000))
}

# bench_cpu_ns PIDS...: CPU time the processes' threads have run, ns (the
# first field of /proc/PID/task/TID/schedstat: nanoseconds, where
# utime/stime count 10 ms ticks).
bench_cpu_ns() {
	local p f s=0 v
	for p in "$@"; do
		for f in /proc/"$p"/task/*/schedstat; do
			read -r v _ 2>/dev/null <"$f" || continue
			s=$((s + v))
		done
	done
	echo "$s"
}

# bench_rss_kb PIDS...: the sum of VmRSS of the processes, kB.
bench_rss_kb() {
	local p s=0 v
	for p in "$@"; do
		v=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null) || v=
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# bench_fds PIDS...: open file descriptors of the processes.
bench_fds() {
	local p s=0 n
	for p in "$@"; do
		n=$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) || n=0
		s=$((s + n))
	done
	echo "$s"
}

# bench_etcd_conns ID PID: established TCP connections from process PID to
# node ID's etcd client port.
bench_etcd_conns() {
	lab_exec "$1" ss -Htnp state established '( dport = :2379 )' 2>/dev/null |
		grep -c "pid=$2," || true
}

# bench_etcd_counts ID: "ALL KEEPALIVES": gRPC messages node ID's etcd
# member has received from clients since it started (etcd's own
# grpc_server_msg_received_total; the JSON gateway vipd uses turns every
# HTTP request into gRPC ones, counted here), all methods and
# LeaseKeepAlive only. Raft traffic between members is not gRPC and not
# counted.
bench_etcd_counts() {
	lab_exec "$1" curl -s --max-time 3 http://127.0.0.1:2379/metrics 2>/dev/null |
		awk '$1 ~ /^grpc_server_msg_received_total\{/ {
				a += $2
				if ($1 ~ /grpc_method="LeaseKeepAlive"/) k += $2
			}
			END { printf "%d %d\n", a, k }'
}

# bench_idle SYSTEM_LABEL SECONDS OUT: with the lab settled, measure every
# node over SECONDS of idleness and append one line per node to OUT:
#   F LABEL NODE RSS_KB CPU_PCT ETCD_PER_MIN KEEPALIVES_PER_MIN FDS ETCD_CONNS
# CPU_PCT: the daemon's processes' CPU time over the window, % of one core.
# The etcd figures only for vipd ("-" for keepalived, which uses none).
bench_idle() {
	local label=$1 secs=$2 out=$3 i pids t0 t1 c0 c1 e0 e1 rss fds conns rpm kpm
	declare -A T0 E0
	t0=$(sc_now_us)
	for ((i = 1; i <= LAB_N; i++)); do
		pids=$(bench_daemon_pids "$i")
		# shellcheck disable=SC2086
		T0[$i]=$(bench_cpu_ns $pids)
		if [ "$BENCH_SYS" = vipd ]; then E0[$i]=$(bench_etcd_counts "$i"); fi
	done
	sleep "$secs"
	t1=$(sc_now_us)
	for ((i = 1; i <= LAB_N; i++)); do
		pids=$(bench_daemon_pids "$i")
		# shellcheck disable=SC2086
		c1=$(bench_cpu_ns $pids)
		c0=${T0[$i]}
		# shellcheck disable=SC2086
		rss=$(bench_rss_kb $pids)
		# shellcheck disable=SC2086
		fds=$(bench_fds $pids)
		rpm=- kpm=- conns=-
		if [ "$BENCH_SYS" = vipd ]; then
			e1=$(bench_etcd_counts "$i")
			e0=${E0[$i]}
			read -r rpm kpm <<<"$(awk -v a="$e0" -v b="$e1" -v us=$((t1 - t0)) 'BEGIN {
				split(a, x, " "); split(b, y, " ")
				printf "%.1f %.1f\n", (y[1] - x[1]) * 60e6 / us, (y[2] - x[2]) * 60e6 / us }')"
			conns=$(bench_etcd_conns "$i" "${pids%% *}")
		fi
		awk -v l="$label" -v n="n$i" -v rss="$rss" -v c="$((c1 - c0))" -v us=$((t1 - t0)) \
			-v rpm="$rpm" -v kpm="$kpm" -v fds="$fds" -v conns="$conns" 'BEGIN {
			printf "F %s %s %d %.4f %s %s %d %s\n", l, n, rss, c / 10 / us, rpm, kpm, fds, conns }' >>"$out"
	done
}
