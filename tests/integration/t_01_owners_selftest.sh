#!/bin/bash
# t_01_owners_selftest: the ownership analyzer (owners.awk, behind
# lab_overlap_ms) on made-up `ip monitor` output with known answers.
# No lab, no root needed. Every case states the exact expected overlap and
# interval count; the checker itself is shown to reject a wrong answer.
set -uo pipefail
. "$(dirname "$0")/lab.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/owners-selftest.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
D=2026-11-26
failures=0

# check NAME VIP NOW EXPECT_OVERLAP EXPECT_INTERVALS node=.. FILE ...:
# 0 if the analyzer's "overlap_ms" and "intervals" lines are as expected.
check() {
	local name=$1 vip=$2 now=$3 want_ov=$4 want_iv=$5 out ov iv
	shift 5
	out=$(awk -f "$LAB_OWNERS_AWK" -v vip="$vip" -v now="$now" "$@" 2>&1)
	ov=$(awk '$1 == "overlap_ms" { print $2 }' <<<"$out")
	iv=$(awk '$1 == "intervals" { print $2 }' <<<"$out")
	if [ "$ov" = "$want_ov" ] && [ "$iv" = "$want_iv" ]; then
		echo "ok - $name: overlap_ms $ov intervals $iv"
		return 0
	fi
	echo "FAILED - $name: got overlap_ms '${ov}' intervals '${iv}'," \
		"want $want_ov and $want_iv; analyzer output:"
	sed 's/^/    /' <<<"$out"
	return 1
}

run() {
	check "$@" || failures=$((failures + 1))
}

# contains NAME PATTERN TEXT: a listing line is there (fixed string).
contains() {
	if grep -qF -- "$2" <<<"$3"; then
		echo "ok - $1"
	else
		echo "FAILED - $1: no line with '$2' in:"
		sed 's/^/    /' <<<"$3"
		failures=$((failures + 1))
	fi
}

# --- A: 250 ms overlap; -o format on n1 (with a lifetime refresh and
# unrelated addresses, one a prefix of the VIP's text), multi-line format
# on n2, a node with nothing.
cat >"$T/a1" <<EOF
[${D}T10:00:00.000000] 2: eth0    inet 198.18.0.11/24 scope global eth0\\       valid_lft forever preferred_lft forever
[${D}T10:00:00.000000] 2: eth0    inet 198.18.0.100/32 scope global dynamic eth0\\       valid_lft 4sec preferred_lft 4sec
[${D}T10:00:00.200000] 2: eth0    inet 198.18.0.10/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever
[${D}T10:00:00.500000] 2: eth0    inet 198.18.0.100/32 scope global dynamic eth0\\       valid_lft 4sec preferred_lft 4sec
[${D}T10:00:00.900000] Deleted 2: eth0    inet 198.18.0.10/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever
[${D}T10:00:01.000000] Deleted 2: eth0    inet 198.18.0.100/32 scope global dynamic eth0\\       valid_lft 3sec preferred_lft 3sec
EOF
cat >"$T/a2" <<EOF
[${D}T10:00:00.750000] 2: eth0    inet 198.18.0.100/32 scope global dynamic eth0
       valid_lft 4sec preferred_lft 4sec
[${D}T10:00:00.760000] 2: eth0    inet6 fe80::ff:fe00:c/64 scope link
       valid_lft forever preferred_lft forever
[${D}T10:00:02.000000] Deleted 2: eth0    inet 198.18.0.100/32 scope global dynamic eth0
       valid_lft 2sec preferred_lft 2sec
EOF
: >"$T/a3"
run "A: 250 ms overlap, mixed formats, refresh ignored" 198.18.0.100 "${D}T10:00:05.000000" 250 2 \
	node=n1 "$T/a1" node=n2 "$T/a2" node=n3 "$T/a3"
out=$(awk -f "$LAB_OWNERS_AWK" -v vip=198.18.0.100 -v now="${D}T10:00:05.000000" \
	node=n1 "$T/a1" node=n2 "$T/a2" node=n3 "$T/a3")
contains "A: n1 interval listed whole (refresh is no new interval)" \
	"# interval n1 eth0 from ${D}T10:00:00.000000 to ${D}T10:00:01.000000 (1000.000 ms)" "$out"
contains "A: overlap period listed" \
	"# overlap from ${D}T10:00:00.750000 to ${D}T10:00:01.000000 (250.000 ms)" "$out"
run "A: other address 198.18.0.10 is not the VIP" 198.18.0.10 "${D}T10:00:05.000000" 0 1 \
	node=n1 "$T/a1" node=n2 "$T/a2"

# --- B: clean handovers: n1 -> n2 at the very same microsecond, n2 -> n3
# 1 us later, n3 still holds it at the end (open interval ends at now).
cat >"$T/b1" <<EOF
[${D}T11:00:00.000000] 3: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
[${D}T11:00:01.000000] Deleted 3: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
EOF
cat >"$T/b2" <<EOF
[${D}T11:00:01.000000] 3: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
[${D}T11:00:02.000000] Deleted 3: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
EOF
cat >"$T/b3" <<EOF
[${D}T11:00:02.000001] 3: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
EOF
run "B: back-to-back handovers are no overlap" 198.18.0.100 "${D}T11:00:09.000000" 0 3 \
	node=n1 "$T/b1" node=n2 "$T/b2" node=n3 "$T/b3"
out=$(awk -f "$LAB_OWNERS_AWK" -v vip=198.18.0.100 -v now="${D}T11:00:09.000000" \
	node=n1 "$T/b1" node=n2 "$T/b2" node=n3 "$T/b3")
contains "B: open interval ends now" \
	"# interval n3 eth0 from ${D}T11:00:02.000001 to now (6999.999 ms)" "$out"

# --- C: IPv6 /128 across midnight; n1 still holds it when n2 adds it
# (100 ms), and n2's interval is open while a third node re-adds it at
# now - 300 ms (300 ms more). Other v6 addresses sharing the text prefix
# are ignored, and so is the IPv4 VIP.
cat >"$T/c1" <<EOF
[2026-11-26T23:59:59.900000] 2: eth0    inet6 fd00:18::100/128 scope global nodad \\       valid_lft 4sec preferred_lft 4sec
[2026-11-26T23:59:59.950000] 2: eth0    inet6 fd00:18::1000/64 scope global nodad \\       valid_lft forever preferred_lft forever
[2026-11-27T00:00:00.100000] Deleted 2: eth0    inet6 fd00:18::100/128 scope global nodad \\       valid_lft 3sec preferred_lft 3sec
[2026-11-27T00:00:00.100000] 2: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
EOF
cat >"$T/c2" <<EOF
[2026-11-27T00:00:00.000000] 2: eth0    inet6 fd00:18::100/128 scope global nodad
       valid_lft 4sec preferred_lft 4sec
EOF
cat >"$T/c3" <<EOF
[2026-11-27T00:00:00.700000] 2: eth0    inet6 FD00:18::100/128 scope global nodad \\       valid_lft 4sec preferred_lft 4sec
EOF
run "C: IPv6 VIP, midnight, open intervals end now" fd00:18::100 "2026-11-27T00:00:01.000000" 400 3 \
	node=n1 "$T/c1" node=n2 "$T/c2" node=n3 "$T/c3"

# --- D: a sub-millisecond overlap (400 us) is never rounded away.
cat >"$T/d1" <<EOF
[${D}T12:00:00.000000] 2: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
EOF
cat >"$T/d2" <<EOF
[${D}T12:00:01.000000] 2: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
[${D}T12:00:01.000400] Deleted 2: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
EOF
run "D: 0.4 ms overlap reports 1 ms" 198.18.0.100 "${D}T12:00:02.000000" 1 2 \
	node=n1 "$T/d1" node=n2 "$T/d2"

# --- E: the older "ip -t monitor" form, timestamp on its own line: n1
# holds from .049021 to .349021, n2 from .149021 on: 200 ms.
cat >"$T/e1" <<EOF
Timestamp: Thu Nov 26 09:21:24 2026 49021 usec
3: eth0    inet 198.18.0.100/32 scope global eth0
       valid_lft forever preferred_lft forever
Timestamp: Thu Nov 26 09:21:24 2026 349021 usec
Deleted 3: eth0    inet 198.18.0.100/32 scope global eth0
       valid_lft forever preferred_lft forever
EOF
cat >"$T/e2" <<EOF
Timestamp: Thu Nov 26 09:21:24 2026 149021 usec
3: eth0    inet 198.18.0.100/32 scope global eth0
       valid_lft forever preferred_lft forever
EOF
run "E: ip -t timestamp lines" 198.18.0.100 "${D}T09:21:25.000000" 200 2 node=n1 "$T/e1" node=n2 "$T/e2"

# --- F: the same node holding it on two links is one owner, not two;
# a third node overlapping both for 50 ms counts once.
cat >"$T/f1" <<EOF
[${D}T13:00:00.000000] 2: eth0    inet 198.18.0.100/32 scope global eth0\\ x
[${D}T13:00:00.100000] 4: eth1    inet 198.18.0.100/32 scope global eth1\\ x
[${D}T13:00:00.500000] Deleted 2: eth0    inet 198.18.0.100/32 scope global eth0\\ x
[${D}T13:00:00.600000] Deleted 4: eth1    inet 198.18.0.100/32 scope global eth1\\ x
EOF
cat >"$T/f2" <<EOF
[${D}T13:00:00.550000] 2: eth0    inet 198.18.0.100/32 scope global eth0\\ x
EOF
run "F: two links on one node, then a 50 ms overlap" 198.18.0.100 "${D}T13:00:01.000000" 50 3 \
	node=n1 "$T/f1" node=n2 "$T/f2"

# --- G: nothing at all, and events without timestamps are refused.
run "G: no VIP events" 198.18.0.100 "${D}T13:00:01.000000" 0 0 node=n1 "$T/a3" node=n2 "$T/a3"
printf '3: eth0    inet 198.18.0.100/32 scope global eth0\n' >"$T/g1"
if awk -f "$LAB_OWNERS_AWK" -v vip=198.18.0.100 node=n1 "$T/g1" >/dev/null 2>&1; then
	echo "FAILED - G: an event without a timestamp was accepted"
	failures=$((failures + 1))
else
	echo "ok - G: an event without a timestamp is refused"
fi

# --- The checker must be able to fail: wrong expectations are caught.
if check "meta: A with a wrong overlap" 198.18.0.100 "${D}T10:00:05.000000" 0 2 \
	node=n1 "$T/a1" node=n2 "$T/a2" >/dev/null; then
	echo "FAILED - meta: the checker accepted overlap 0 for case A"
	failures=$((failures + 1))
else
	echo "ok - meta: the checker rejects a wrong overlap"
fi
if check "meta: B with a wrong interval count" 198.18.0.100 "${D}T11:00:09.000000" 0 2 \
	node=n1 "$T/b1" node=n2 "$T/b2" node=n3 "$T/b3" >/dev/null; then
	echo "FAILED - meta: the checker accepted 2 intervals for case B"
	failures=$((failures + 1))
else
	echo "ok - meta: the checker rejects a wrong interval count"
fi

if [ "$failures" -ne 0 ]; then
	echo "owners self-test: $failures failure(s)"
	exit 1
fi
echo "owners self-test: all passed"
