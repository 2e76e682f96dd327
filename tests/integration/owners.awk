# owners.awk - who held the VIP when, and for how long two nodes held it at once.
#
# Input: the output of `ip -ts -o monitor address` (one line per event) or
# of `ip -ts monitor address` (event line plus continuation lines), one
# file per node, each preceded by a node=NAME assignment:
#
#   awk -f owners.awk -v vip=198.18.0.100 -v now=2026-11-26T09:21:25.000000 \
#       node=n1 n1/addr.mon node=n2 n2/addr.mon
#
# Lines look like (iproute2 6.1):
#   [2026-11-26T09:21:24.049197] 3: eth0    inet 198.18.0.100/32 scope global eth0\ ...
#   [2026-11-26T09:21:24.256857] Deleted 3: eth0    inet 198.18.0.100/32 ...
#   [2026-11-26T09:21:24.051160] 3: eth0    inet6 fd00:18::100/128 scope global nodad \ ...
# The older `ip -t` form ("Timestamp: Thu Nov 26 09:21:24 2026 49021 usec"
# on its own line before the event) is accepted too.
#
# An event for vip (address compared without the prefix length) that is not
# "Deleted" starts an ownership interval on that node and link, unless one
# is already open there (a lifetime refresh by "ip addr replace" repeats the
# add event); a "Deleted" event ends it. An interval still open at the end
# ends at `now` (same format and clock as the monitor's stamps: every
# namespace shares the wall clock). The timestamps are local wall time with
# microseconds; they are compared as they are, so a DST jump during a run
# would skew the result.
#
# Output: "# ..." lines listing every interval and every overlap, then
#   intervals N
#   overlap_ms N     total time two or more nodes held vip at once,
#                    rounded UP to a whole ms (any overlap shows as >= 1)
# Exit status 0; 2 on unusable input (no timestamps, no vip given).
#
# Portable awk (Debian's default is mawk): no gawk extensions.

function days_from_civil(y, m, d) {
	if (m <= 2) { y--; m += 12 }
	return 365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + d
}

# Times are whole microseconds since 2000-01-01 (as if UTC): integers, so
# sums and differences are exact in awk's doubles (< 2^53).

# "2026-11-26T09:21:24.049197" -> us, -1 if bad.
function iso_us(s,    a, n, t, frac) {
	if (s !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?$/)
		return -1
	n = split(s, a, /[-T :.]/)
	frac = (n >= 7) ? substr(a[7] "000000", 1, 6) : "0"
	t = days_from_civil(a[1] + 0, a[2] + 0, a[3] + 0) - BASE_DAYS
	return (((t * 24 + a[4]) * 60 + a[5]) * 60 + a[6]) * 1000000 + frac
}

# "Timestamp: Thu Nov 26 09:21:24 2026 49021 usec" -> us, -1 if bad.
function old_us(line,    a, n, hms) {
	n = split(line, a, /[ \t]+/)
	if (n < 8 || !(a[3] in MON))
		return -1
	split(a[5], hms, ":")
	return ((((days_from_civil(a[6] + 0, MON[a[3]], a[4] + 0) - BASE_DAYS) * 24 + hms[1]) * 60 + \
		hms[2]) * 60 + hms[3]) * 1000000 + a[7]
}

function lower(s) { return tolower(s) }

BEGIN {
	BASE_DAYS = days_from_civil(2000, 1, 1)
	split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mn, " ")
	for (i = 1; i <= 12; i++) MON[mn[i]] = i
	if (vip == "") {
		print "owners.awk: no vip given (-v vip=ADDR)" > "/dev/stderr"
		bad = 1; exit 2
	}
	vip = lower(vip)
	niv = 0; nev = 0; pending = -1; last_t = -1; warnings = 0
}

FNR == 1 {
	cur = (node != "") ? node : FILENAME
	pending = -1
	file_last[cur] = -1
}

/^Timestamp: / { pending = old_us($0); pending_s = substr($0, 12); next }

{
	t = -1; line = $0; stamp = ""
	if (substr(line, 1, 1) == "[") {
		close_br = index(line, "]")
		if (close_br > 0) {
			stamp = substr(line, 2, close_br - 2)
			t = iso_us(stamp)
			line = substr(line, close_br + 1)
		}
	} else if (pending >= 0) {
		t = pending; stamp = pending_s
	}
	nf = split(line, f, /[ \t\\]+/)
	j = 0
	for (k = 1; k <= nf; k++)
		if (f[k] == "inet" || f[k] == "inet6") { j = k; break }
	if (j == 0 || j + 1 > nf)
		next
	addr = f[j + 1]; sub(/\/.*/, "", addr)
	if (lower(addr) != vip)
		next
	pending = -1
	if (t < 0) {
		printf "owners.awk: %s:%d: no timestamp on a VIP event (use ip -ts monitor)\n", FILENAME, FNR > "/dev/stderr"
		bad = 1; exit 2
	}
	deleted = 0; dev = "?"
	for (k = 1; k < j; k++) {
		if (f[k] == "Deleted") deleted = 1
		else if (f[k] ~ /^[0-9]+:$/ && k + 1 < j) dev = f[k + 1]
	}
	if (file_last[cur] >= 0 && t < file_last[cur]) {
		printf "# warning: %s: time goes backwards at line %d\n", cur, FNR
		warnings++
	}
	file_last[cur] = t
	if (t > last_t) last_t = t
	key = cur SUBSEP dev
	if (!deleted) {
		if (!(key in open_iv)) {
			niv++
			iv_node[niv] = cur; iv_dev[niv] = dev
			iv_s[niv] = t; iv_ss[niv] = stamp
			iv_e[niv] = -1; iv_es[niv] = "now"
			open_iv[key] = niv
		}
	} else if (key in open_iv) {
		m = open_iv[key]
		iv_e[m] = t; iv_es[m] = stamp
		delete open_iv[key]
	} else {
		printf "# warning: %s %s: deleted at %s without an add seen (monitor started late?)\n", cur, dev, stamp
		warnings++
	}
}

# Sort endpoint indexes 1..n of (pt, pd) by time; at equal times ends (-1)
# before starts (+1), so back-to-back intervals do not overlap.
function ep_less(a, b) {
	if (pt[a] != pt[b]) return pt[a] < pt[b]
	return pd[a] < pd[b]
}

function sort_eps(n,    gap, i, k, tmp) {
	for (i = 1; i <= n; i++) ord[i] = i
	for (gap = int(n / 2); gap > 0; gap = int(gap / 2))
		for (i = gap + 1; i <= n; i++) {
			tmp = ord[i]
			for (k = i; k > gap && ep_less(tmp, ord[k - gap]); k -= gap)
				ord[k] = ord[k - gap]
			ord[k] = tmp
		}
}

function fmt_ms(us) { return sprintf("%.3f", us / 1000) }

END {
	if (bad) exit 2
	now_t = (now != "") ? iso_us(now) : -1
	if (now != "" && now_t < 0) {
		print "owners.awk: bad now= time: " now > "/dev/stderr"
		exit 2
	}
	if (now_t < 0) now_t = last_t
	n = 0
	for (m = 1; m <= niv; m++) {
		e = (iv_e[m] >= 0) ? iv_e[m] : now_t
		if (e < iv_s[m]) e = iv_s[m]
		printf "# interval %s %s from %s to %s (%s ms)\n", iv_node[m], iv_dev[m], iv_ss[m], iv_es[m], fmt_ms(e - iv_s[m])
		n++; pt[n] = iv_s[m]; pd[n] = 1; pn[n] = iv_node[m]; ps[n] = iv_ss[m]
		n++; pt[n] = e; pd[n] = -1; pn[n] = iv_node[m]; ps[n] = iv_es[m]
	}
	sort_eps(n)
	total = 0; held = 0; ov_start = -1
	for (i = 1; i <= n; i++) {
		x = ord[i]
		if (held >= 2 && pt[x] > prev_t) total += pt[x] - prev_t
		before = held
		if (pd[x] > 0) { if (cnt[pn[x]]++ == 0) held++ }
		else { if (--cnt[pn[x]] == 0) held-- }
		if (before < 2 && held >= 2) { ov_start = pt[x]; ov_ss = ps[x] }
		if (before >= 2 && held < 2 && pt[x] > ov_start) {
			printf "# overlap from %s to %s (%s ms)\n", ov_ss, ps[x], fmt_ms(pt[x] - ov_start)
		}
		prev_t = pt[x]
	}
	if (warnings) printf "# warnings %d\n", warnings
	printf "intervals %d\n", niv
	ov = int(total / 1000)
	if (ov * 1000 < total) ov++
	printf "overlap_ms %d\n", ov
}
