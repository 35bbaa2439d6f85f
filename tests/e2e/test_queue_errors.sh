#!/bin/bash
# SPDX-License-Identifier: MIT
# test_queue_errors.sh FWD BUILD_DIR - a verdict fwd could not send is told.
#
# A packet whose verdict is lost stays in the kernel's queue until the
# queue overflows, and then every new packet is dropped (or, failing open,
# let through unjudged): the operator must hear of the first one. strace
# (its fault injection, on the real syscall) makes the queue worker's
# first verdict sends fail with EPERM, as a lost CAP_NET_ADMIN would; the
# datagrams they carried never arrive, and `fwd stats`, the metrics and a
# warning in the log say so. Then a reject whose answer has no route back
# counts as unanswered.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v strace >/dev/null || skip "strace is not installed"
topo_up
servers_start --udp 5353
cat >"$T/rules.yaml" <<YAML
version: 1
default: allow
daemon:
  queues: 1
  metrics: {file: $T/fwd.prom, interval: 1}
rules:
  - {name: no-udp, proto: udp, dport: 5454, action: reject}
YAML
fwd_start "$T/rules.yaml"
worker=$(grep -l '^fwd-q0$' /proc/"$FWD_PID"/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5)
[ -n "$worker" ] || { fail "no thread fwd-q0 in fwd"; e2e_finish; }

# Its first three verdict sends fail; strace stays attached until killed.
strace -qq -o /dev/null -p "$worker" -e trace=sendto -e inject=sendto:error=EPERM:when=1..3 &
STRACE=$!
E2E_BG_PIDS+=("$STRACE")
sleep 1
alive "$STRACE" || skip "strace cannot attach to a thread here (kernel.yama.ptrace_scope?)"
for i in 1 2 3 4 5; do
	nsx c "$PY" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.10.2.2", 5353))'
	sleep 0.2
done
wait_for 5 eval '[ "$(server_seen udp 5353)" -ge 2 ]'
kill "$STRACE" 2>/dev/null
wait "$STRACE" 2>/dev/null
say "datagrams at the server: $(server_seen udp 5353) of 5"
assert_eq "three verdicts lost: two datagrams arrive" 2 "$(server_seen udp 5353)"
stats "$T/s.json"
assert_eq "stats: queue.errors" 3 "$(jget "$T/s.json" queue.errors)"
assert_grep "the stats table says it" '^errors: +3 failed receives, or verdicts not sent or refused' \
	<(nsx g "$FWD" stats --socket "$SOCK")
log_wait 1 'warning: 3 failed receives, or verdicts not sent or refused by the kernel \(3 since start\)'
assert_grep "one warning in the log" 'packets without a verdict wait in the kernel' "$FWD_LOG"
wait_for 5 grep -q '^fwd_queue_errors_total 3$' "$T/fwd.prom"
assert_grep "the metric" '^fwd_queue_errors_total 3$' "$T/fwd.prom"

# A reject from a source the gateway has no route back to: unanswered.
nsx c ip addr add 198.51.100.7/32 dev veth-c
nsx c "$PY" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.7", 0))
s.sendto(b"x", ("10.10.2.2", 5454))'
wait_for 5 eval '[ "$(stats "$T/u.json" && jget "$T/u.json" rule:no-udp.packets)" = 1 ]'
assert_eq "the reject with no route back: unanswered" 1 "$(jget "$T/u.json" queue.unanswered)"
assert_eq "and not an error" 3 "$(jget "$T/u.json" queue.errors)"
fwd_stop
assert_eq "fwd exit status after SIGTERM" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
