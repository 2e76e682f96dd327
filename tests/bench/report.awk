# report.awk - part of scripts/bench: the result lines of failover.sh and
# scale.sh into Markdown tables (stdout).
#
#   awk -f report.awk results.txt
#
# Input lines (one per measurement):
#   R LABEL SCENARIO TRIAL OUTAGE_MS OUTAGES TAKEOVER_MS OVERLAP_MS CHANGES OWNER LEADER
#   F LABEL NODE RSS_KB CPU_PCT ETCD_PER_MIN KEEPALIVES_PER_MIN FDS ETCD_CONNS
#   S VIPS start_ms MS | S VIPS power_ms MS NODE COUNT | S VIPS overlap_ms MS
#   (VIPS may be "N/TAG": another build's run, footprint label vipd-N-vips-TAG)
# "-" marks a figure that does not apply or was not seen. Other lines are
# ignored. Percentiles: nearest rank (p95 of 10 trials is the 10th value).
#
# Portable awk (mawk): no gawk extensions.

function isort(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
}

function rank(a, n, p,    k) {
	if (n == 0) return "-"
	k = int(p * n + 0.999999)
	if (k < 1) k = 1
	if (k > n) k = n
	return a[k]
}

# add KEY to the ordered list L (count in L[0]) unless present
function remember(L, key, seen) {
	if (!(key in seen)) { seen[key] = 1; L[++L[0]] = key }
}

BEGIN {
	order = "graceful kill power-follower power-leader partition sigstop hiccup hiccup-prevote hiccup-no-prevote quorum"
	ns = split(order, SO, " ")
	desc["graceful"] = "graceful stop of the owner"
	desc["kill"] = "SIGKILL of the owner's daemon"
	desc["power-follower"] = "power loss, owner's etcd member a follower"
	desc["power-leader"] = "power loss, owner's etcd member the raft leader"
	desc["partition"] = "owner cut off from its peers"
	desc["sigstop"] = "SIGSTOP of the owner's daemon"
	desc["hiccup"] = "1 s hiccup of the owner's network"
	desc["hiccup-prevote"] = "1 s hiccup, etcd --pre-vote"
	desc["hiccup-no-prevote"] = "1 s hiccup, etcd without pre-vote"
	desc["quorum"] = "loss of etcd quorum"
}

$1 == "R" && NF >= 9 {
	k = $3 SUBSEP $2
	remember(SYS, $2, sys_seen)
	n = ++cnt[k]
	out[k, n] = $5 + 0
	if ($7 != "-") { tk[k, ++ntk[k]] = $7 + 0 } else nmiss[k]++
	ov[k] += $8
	ch[k] += $9
	scen_seen[$3] = 1
	next
}
$1 == "F" && NF >= 9 {
	remember(FL, $2 SUBSEP $3, f_seen)
	f[$2, $3] = $0
	rss_n[$2]++; rss_s[$2] += $4
	if (!($2 in rss_max) || $4 > rss_max[$2]) rss_max[$2] = $4
	if (!($2 in rss_min) || $4 < rss_min[$2]) rss_min[$2] = $4
	if (!($2 in cpu_max) || $5 > cpu_max[$2]) cpu_max[$2] = $5
	if ($7 != "-") { kpm_n[$2]++; kpm_s[$2] += $7 }
	if ($2 ~ /^vipd-[0-9]+-vips(-.+)?$/) { # a scale run: its row of the scale table
		sk = $2; sub(/^vipd-/, "", sk)
		st = sk; sub(/-vips.*$/, "", sk); sub(/^[0-9]+-vips-?/, "", st)
		if (st != "") sk = sk "/" st
		sc_n[sk]++; sc_rpm[sk] += $6; sc_kpm[sk] += $7
		if ($8 > sc_fds[sk]) sc_fds[sk] = $8
		if ($9 > sc_conns[sk]) sc_conns[sk] = $9
	}
	next
}
$1 == "S" {
	remember(SV, $2, sv_seen)
	s[$2, $3] = $4
	if ($3 == "power_ms") spow[$2] = $4 " (" $5 " held " $6 ")"
	next
}

END {
	print "### Failover (client outage, takeover, dual ownership, owner changes)"
	print ""
	print "| scenario | system | trials | outage median ms | outage p95 ms | outage max ms | takeover median ms | dual ownership total ms | owner changes |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		sc = SO[i]
		if (!(sc in scen_seen)) continue
		for (j = 1; j <= SYS[0]; j++) {
			k = sc SUBSEP SYS[j]
			n = cnt[k]
			if (n == 0) continue
			delete v
			for (m = 1; m <= n; m++) v[m] = out[k, m]
			isort(v, n)
			delete w
			for (m = 1; m <= ntk[k]; m++) w[m] = tk[k, m]
			isort(w, ntk[k] + 0)
			t = rank(w, ntk[k] + 0, 0.5)
			if (nmiss[k] > 0) t = t " (" nmiss[k] " none)"
			printf "| %s | %s | %d | %s | %s | %s | %s | %d | %d |\n", desc[sc], SYS[j], n, \
				rank(v, n, 0.5), rank(v, n, 0.95), v[n], t, ov[k], ch[k]
			med[k] = rank(v, n, 0.5); mx[k] = v[n]
		}
	}
	targets()
	if (FL[0] > 0) {
		print ""
		print "### Footprint (idle, per node)"
		print ""
		print "| system | node | RSS kB | CPU % of a core | etcd requests /min | keepalives /min | open fds | etcd connections |"
		print "|---|---|---:|---:|---:|---:|---:|---:|"
		for (j = 1; j <= FL[0]; j++) {
			split(f[FL[j]], x, " ")
			printf "| %s | %s | %s | %.3f | %s | %s | %s | %s |\n", x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9]
		}
	}
	if (SV[0] > 0) {
		print ""
		print "### Scale (vipd, TTL 5 s, one lease per node)"
		print ""
		print "| VIPs | all owned after start ms | all owned again after the power loss of the node holding most ms | dual ownership ms (sum over VIPs) | VIP releases in the run | open fds per node (max) | etcd connections per node (max) | etcd requests /min per node (mean) | keepalives /min per node (mean) |"
		print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (j = 1; j <= SV[0]; j++) {
			c = SV[j]
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c, ((c, "start_ms") in s) ? s[c, "start_ms"] : "-", \
				(c in spow) ? spow[c] : "-", ((c, "overlap_ms") in s) ? s[c, "overlap_ms"] : "-", \
				((c, "releases") in s) ? s[c, "releases"] : "-", \
				(c in sc_n) ? sc_fds[c] : "-", (c in sc_n) ? sc_conns[c] : "-", \
				(c in sc_n) ? sprintf("%.1f", sc_rpm[c] / sc_n[c]) : "-", \
				(c in sc_n) ? sprintf("%.1f", sc_kpm[c] / sc_n[c]) : "-"
		}
	}
}

# The issue's targets, each with the figure it is judged on: reported,
# never asserted (docs/benchmarks.md).
function verdict(ok) { return ok ? "met" : "**missed**" }
function targets(    j, l, k, ttl, tot, seen, ka, vmax, one, many, c) {
	print ""
	print "### Targets"
	print ""
	print "| target | system | figure | verdict |"
	print "|---|---|---|---|"
	tot = 0; seen = 0
	for (j = 1; j <= SYS[0]; j++) {
		l = SYS[j]
		if (l !~ /^vipd/) continue
		k = "graceful" SUBSEP l
		if (k in med)
			printf "| graceful handover median <= 50 ms | %s | %s ms | %s |\n", l, med[k], verdict(med[k] <= 50)
		ttl = l; sub(/^vipd-ttl/, "", ttl); ttl += 0
		k = "power-follower" SUBSEP l
		if ((k in mx) && ttl > 0)
			printf "| power-loss outage (owner's etcd a follower) <= TTL + 0.5 s | %s | max %s ms (bound %d) | %s |\n", \
				l, mx[k], ttl * 1000 + 500, verdict(mx[k] <= ttl * 1000 + 500)
	}
	for (k in ov) {
		split(k, x, SUBSEP)
		if (x[2] ~ /^vipd/) { tot += ov[k]; seen = 1 }
	}
	if (seen) printf "| dual ownership exactly 0 in every vipd run | vipd | %d ms in all | %s |\n", tot, verdict(tot == 0)
	if ("keepalived" in rss_min) {
		vmax = -1
		for (l in rss_max) if (l ~ /^vipd-ttl/ && rss_max[l] > vmax) vmax = rss_max[l]
		if (vmax >= 0)
			printf "| vipd RSS below keepalived's | vipd | vipd max %d kB, keepalived min %d kB | %s |\n", \
				vmax, rss_min["keepalived"], verdict(vmax < rss_min["keepalived"])
	}
	for (l in cpu_max)
		if (l ~ /^vipd-ttl/)
			printf "| idle CPU below 0.1 %% of a core | %s | max %.3f %% | %s |\n", l, cpu_max[l], verdict(cpu_max[l] < 0.1)
	one = ""; many = ""
	for (l in kpm_n) {
		if (l == "vipd-ttl5") one = kpm_s[l] / kpm_n[l]
		else if (l ~ /^vipd-[0-9]+-vips$/) { many = kpm_s[l] / kpm_n[l]; c = l }
	}
	if (one != "" && many != "")
		printf "| keepalives per minute the same at 1 and many VIPs | vipd TTL 5 s | %.1f at 1, %.1f at %s | %s |\n", \
			one, many, c, verdict(many <= one * 1.1 + 1)
}
