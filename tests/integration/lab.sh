# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
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
# The functions live in one file per concern, all sourced here (a test
# sources only lab.sh):
#     lab_base.sh      logging, assertions, waiting, time, node ids
#     lab_topology.sh  namespaces, bridge, links, addresses, host settings
#     lab_procs.sh     processes, etcd, vipd, the service stand-in; the
#                      watchdog, lab_down, the failure dump, the exit handler
#     lab_faults.sh    partition, hiccup, kernel-timed windows (drop,
#                      refuse, misanswer), power loss, quorum loss
#     lab_observe.sh   reachability, the client probe, the ownership
#                      monitor and the overlap analysis (owners.awk)
#     lab_pki.sh       a throw-away CA and a single TLS etcd member
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
LAB_STANDIN=${LAB_STANDIN:-$LAB_ROOT/build/tools/standin}
LAB_OWNERS_AWK=${LAB_OWNERS_AWK:-$LAB_ROOT/tests/integration/owners.awk}
LAB_SERVICE_PORT=6443
LAB_LAST_STATUS=                         # exit status seen by lab_wait_exit

# The address plan (exported so commands run by tests see it too).
export VIP4=198.18.0.100
export VIP6=fd00:18::100
export LAB_CLIENT4=198.18.0.5
export LAB_CLIENT6=fd00:18::5

# --- the parts ----------------------------------------------------------------
# One file per concern; together they are "the lab". Tests source only this
# file.
_LAB_LIBDIR=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=lab_base.sh
. "$_LAB_LIBDIR/lab_base.sh"
# shellcheck source=lab_topology.sh
. "$_LAB_LIBDIR/lab_topology.sh"
# shellcheck source=lab_procs.sh
. "$_LAB_LIBDIR/lab_procs.sh"
# shellcheck source=lab_faults.sh
. "$_LAB_LIBDIR/lab_faults.sh"
# shellcheck source=lab_observe.sh
. "$_LAB_LIBDIR/lab_observe.sh"
# shellcheck source=lab_pki.sh
. "$_LAB_LIBDIR/lab_pki.sh"

# --- traps ------------------------------------------------------------------------
# Installed by sourcing: the lab is torn down on every exit (lab_procs.sh,
# _lab_on_exit).
trap _lab_on_exit EXIT
# remembers the last failing top-level command, to name it when errexit
# ends a test (functions only with set -E)
trap '_LAB_ERR="line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

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

