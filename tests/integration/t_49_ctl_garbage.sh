#!/bin/bash
# t_49_ctl_garbage: the control socket refuses what is not a request and
# never blocks the daemon: random bytes, an oversized line, a NUL, an
# unknown command get an error or are dropped; a client that connects and
# sends nothing is dropped after the 1 s deadline while others are
# answered; more clients than slots are dropped and the daemon answers
# again once they are gone; all the while the owner keeps the VIP. The
# socket is mode 0600; a second vipd with the same configuration refuses
# to start and leaves the first one's address alone; a socket left by a
# SIGKILLed vipd is reported by vipctl and replaced at the next start.
#
#   safety  the owner keeps the VIP throughout, zero overlap.
#   timing  a silent client is dropped no earlier than the deadline
#           (CTLSOCK_DEADLINE_MS, 1000 ms) and within it + 2 x BD_SLACK_MS
#           (the daemon's timer; the client's own start and exit, which
#           the measurement includes).
set -euo pipefail
. "$(dirname "$0")/scenario.sh"
command -v socat >/dev/null || lab_skip "socat not installed (scripts/install-deps)"
command -v jq >/dev/null || lab_skip "jq not installed (scripts/install-deps)"
VIPCTL=$LAB_ROOT/build/vipctl
DEADLINE_MS=1000

scenario_up
o=$OWNER_ID
s=$LAB_DIR/n$o/vipd.sock
raw() { lab_exec "$o" socat -t 2 - "UNIX-CONNECT:$s" 2>/dev/null || true; }
alive() { lab_exec "$o" "$VIPCTL" -s "$s" --json status | jq -e '.vips[0].role == "owner"' >/dev/null; }

lab_assert "the socket is mode 0600" test "$(stat -c %a "$s")" = 600

out=$(head -c 20000 /dev/urandom | raw)
lab_log "random bytes: answer '${out:0:100}'"
lab_assert "random bytes: an error or nothing" test -z "$out" -o "$(jq -r .ok <<<"$out" 2>/dev/null)" = false
lab_assert "still answering after random bytes" alive
out=$(head -c 5000 /dev/zero | tr '\0' a | raw)
lab_assert "an oversized line: request too long ($out)" test "$(jq -r .error <<<"$out")" = "request too long"
out=$(printf 'status\0\n' | raw)
lab_assert "a NUL: not printable ($out)" test "$(jq -r .error <<<"$out")" = "request is not printable ASCII"
out=$(printf 'hello\n' | raw)
lab_assert "an unknown command: refused ($out)" test "$(jq -r .ok <<<"$out")" = false
out=$(printf 'status 198.18.0.100 x\n' | raw)
lab_assert "a bad argument: refused ($out)" test "$(jq -r .ok <<<"$out")" = false

# A silent client: dropped at the deadline; meanwhile status answers.
t0=$(sc_now_us)
lab_exec "$o" socat -t 0.1 "UNIX-CONNECT:$s" EXEC:"sleep 5" 2>/dev/null &
slow=$!
lab_assert "status answers while a silent client is connected" alive
wait "$slow" || true
took=$((($(sc_now_us) - t0) / 1000))
lab_log "the silent client was dropped after $took ms"
lab_assert "not before the deadline ($took >= $DEADLINE_MS ms, measured from before its start)" \
	test "$took" -ge "$DEADLINE_MS"
bd_timing "a silent client is dropped" "$took" $((DEADLINE_MS + 2 * BD_SLACK_MS)) \
	"the deadline $DEADLINE_MS ms + slack $BD_SLACK_MS for the daemon's timer + slack $BD_SLACK_MS for the client (ip netns exec and socat start before the connect, socat's 100 ms linger and exit after the drop)"

# More silent clients than slots (8): the extra ones are closed at once,
# and status answers again once the deadline freed the slots.
pids=()
for _ in $(seq 12); do
	lab_exec "$o" socat -t 0.1 "UNIX-CONNECT:$s" EXEC:"sleep 4" 2>/dev/null &
	pids+=($!)
done
sleep $(((DEADLINE_MS + BD_SLACK_MS) / 1000 + 1))
# (retried for one more slack: under load the last clients may connect late)
lab_wait_until $((BD_SLACK_MS / 1000 + 1)) alive || lab_fail "status does not answer after a flood of silent clients"
lab_log "status answers after a flood of silent clients"
for p in "${pids[@]}"; do wait "$p" || true; done
lab_assert "the owner ($OWNER) kept the VIP" test "$(lab_owner)" = "$OWNER"

# A second vipd with the same configuration: refuses, touches nothing.
set +e
err=$(lab_exec "$o" timeout 5 "$LAB_VIPD" -c "$LAB_DIR/n$o/vipd.yaml" 2>&1)
rc=$?
set -e
lab_assert "a second vipd refuses to start (exit $rc)" test "$rc" != 0 -a "$rc" != 124
lab_assert "and says why" grep -q 'is served by another process' <<<"$err"
lab_assert "the first still owns the VIP" test "$(lab_owner)" = "$OWNER"
lab_assert "and answers" alive

# A stale socket: a candidate SIGKILLed leaves its file; vipctl says
# nobody listens; the next start replaces it.
c=$((o % 3 + 1))
lab_vipd_kill "$c"
lab_assert "n$c's socket file stayed" test -S "$LAB_DIR/n$c/vipd.sock"
set +e
err=$(lab_exec "$c" "$VIPCTL" -s "$LAB_DIR/n$c/vipd.sock" status 2>&1)
rc=$?
set -e
lab_assert "vipctl on a stale socket exits 1" test "$rc" = 1
lab_assert "and says vipd is not running ($err)" grep -q 'nobody listens on .*vipd is not running' <<<"$err"
: >"$LAB_DIR/n$c/vipd.log"
lab_vipd_start "$c"
stale_ok() { lab_exec "$c" "$VIPCTL" -s "$LAB_DIR/n$c/vipd.sock" status >/dev/null 2>&1; }
lab_wait_until 5 stale_ok || lab_fail "n$c does not answer after its restart"
lab_assert "n$c replaced the stale socket" grep -q 'control: replacing the stale socket' "$LAB_DIR/n$c/vipd.log"
scenario_end
