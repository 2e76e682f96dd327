# shellcheck shell=bash
# lab_base.sh - part of lab.sh (sourced by it; not on its own): logging,
# assertions, waiting, time, node ids. Every other part uses these.

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

