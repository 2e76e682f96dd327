#!/bin/bash
# lifetime_lag.sh - measure how late the kernel removes an address whose
# valid lifetime ran out (the lag VIP_KERNEL_LAG_MS budgets, src/vip.h).
#
#   tests/tools/lifetime_lag.sh [SAMPLES] [NAMESPACES] [CHURN]
#
# Root. Creates NAMESPACES (default 4) network namespaces vipdlagN, each
# with a veth pair, and in each adds SAMPLES (default 10) times an IPv4
# (198.18.200.N/32) and an IPv6 (fd00:200::N/128) address with a valid
# lifetime of 2 s, at a random phase, and waits for the kernel to delete
# them. `ip -ts monitor address` in the namespace timestamps both the add
# and the delete event, so lag = delete - add - 2 s (the monitor's own
# scheduling delay shows on both events alike). Namespaces run in
# parallel: since Linux 6.14 the IPv4 check (check_lifetime) and the IPv6
# one (addrconf_verify) are per namespace, so they do not disturb one
# another.
#
# CHURN=1 also re-adds an unrelated address with a 30 s lifetime in each
# namespace every 0.3-1.5 s (random), as other VIPs, DHCP or SLAAC would:
# every add reruns the kernel's check at once, and the check then sleeps
# at least ADDRCONF_TIMER_FUZZ_MAX (HZ, 1 s) - the worst case of the lag.
#
# Prints one line per family: n, min, median, p99, max in ms (negative:
# removed early, by at most ADDRCONF_TIMER_FUZZ_MINUS = HZ/50). Removes
# every namespace it created, also on ^C. Only 198.18.0.0/15 and fd00::/8.
set -euo pipefail
SAMPLES=${1:-10}
NS_N=${2:-4}
CHURN=${3:-0}
LIFE=2
TMP=$(mktemp -d /tmp/vipdlag.XXXXXX)
pids=()
work=()

cleanup() {
	local p i
	for p in "${work[@]}" "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for ((i = 1; i <= NS_N; i++)); do ip netns del "vipdlag$i" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# one NS_INDEX: the samples of one namespace, appended to $TMP/lag.N
one() {
	local i=$1 ns=vipdlag$1 s phase
	for ((s = 0; s < SAMPLES; s++)); do
		phase=$((RANDOM % 1000))
		sleep "$(printf '0.%03d' "$phase")"
		ip -n "$ns" addr add "198.18.200.$i/32" dev d0 valid_lft "$LIFE" preferred_lft "$LIFE"
		sleep "0.$((RANDOM % 9))"
		ip -n "$ns" addr add "fd00:200::$i/128" dev d0 valid_lft "$LIFE" preferred_lft "$LIFE" nodad
		# Both gone (3.5 s at the latest).
		while [[ "$(ip -n "$ns" addr show dev d0)" =~ 198\.18\.200\.|fd00:200:: ]]; do
			sleep 0.1
		done
	done
}

churn() {
	local ns=vipdlag$1
	while :; do
		ip -n "$ns" addr replace "198.18.201.$1/32" dev d0 valid_lft 30 preferred_lft 30
		ip -n "$ns" addr replace "fd00:201::$1/128" dev d0 valid_lft 30 preferred_lft 30 nodad
		sleep "$((RANDOM % 2)).$((RANDOM % 10))" # 0.0..1.9 s
		sleep 0.3
	done
}

if ip netns list | grep -q '^vipdlag'; then
	echo "lifetime_lag.sh: vipdlag namespaces exist (another run?)" >&2
	NS_N=0
	exit 1
fi
for ((i = 1; i <= NS_N; i++)); do
	ns=vipdlag$i
	ip netns add "$ns"
	ip netns exec "$ns" ip link add d0 type veth peer name d1
	ip -n "$ns" link set d0 up
	ip -n "$ns" link set d1 up
	ip -n "$ns" -ts monitor address >"$TMP/mon.$i" &
	pids+=($!)
	if [ "$CHURN" = 1 ]; then
		churn "$i" &
		pids+=($!)
	fi
done
sleep 0.5
for ((i = 1; i <= NS_N; i++)); do
	one "$i" &
	work+=($!)
done
for p in "${work[@]}"; do wait "$p"; done
sleep 0.3

# [2026-11-29T21:49:25.233939] [Deleted] 3: d0    inet 198.18.200.1/32 ...
for fam in inet inet6; do
	for ((i = 1; i <= NS_N; i++)); do
		awk -v fam="$fam" -v life="$LIFE" '
			function t(s,   a) { # "[YYYY-MM-DDTHH:MM:SS.us]" -> ms of the day
				gsub(/[][]/, "", s); split(substr(s, 12), a, ":")
				return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000
			}
			$0 ~ /(198\.18\.200\.|fd00:200::)/ {
				del = ($2 == "Deleted"); f = del ? $5 : $4
				if (f != fam) next
				if (!del) add = t($1)
				else if (add != "") { printf "%.1f\n", t($1) - add - life * 1000; add = "" }
			}' "$TMP/mon.$i"
	done | sort -n >"$TMP/lag.$fam"
	awk -v fam="$fam" -v churn="$CHURN" '{ v[NR] = $1 } END {
		if (NR == 0) { print fam ": no samples"; exit 1 }
		p99 = v[int(0.99 * (NR - 1)) + 1]; med = v[int((NR + 1) / 2)]
		printf "%-5s churn=%s n=%d min=%.0f median=%.0f p99=%.0f max=%.0f ms\n",
		    fam, churn, NR, v[1], med, p99, v[NR] }' "$TMP/lag.$fam"
done
