#!/bin/bash
# SPDX-License-Identifier: MIT
# test_stderr_stall.sh FWD BUILD_DIR - `fwd run --foreground` whose stderr
# nobody reads.
#
# stderr is a FIFO that this test holds open and never reads, as a pipe to a
# reader that hangs would be. fwd logs every new connection until the pipe
# is full: then `fwd stats`, SIGHUP, `fwd reload` and SIGTERM each take well
# under 2 s, and the lines the pipe did not take are counted dropped. fwd
# wrote its log with blocking writes under the log's lock: once the pipe was
# full a reload, which logs, hung, and so did SIGTERM.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 80

cat >"$T/rules.yaml" <<YAML
version: 1
default: drop
log: all
daemon:
  log: {rate: 100000/s, burst: 100000}
rules:
  - {name: web, proto: tcp, dport: 80, action: allow}
  - {name: icmpv6, proto: icmpv6, action: allow, log: false}
YAML
mkfifo "$T/err"
exec 7<>"$T/err"	# open, never read
echo "--- fwd run --foreground, stderr a FIFO nobody reads" >>"$FWD_LOG"
ip netns exec "$NS_G" "$FWD" run -c "$T/rules.yaml" --foreground --socket "$SOCK" \
	--pidfile "$PIDFILE" >"$T/err" 2>&1 &
FWD_PID=$!
fwd_wait_ready 10 || { fail "fwd did not start"; e2e_finish; }

# About 120 bytes a line: 800 lines are more than the pipe's 64 KiB.
assert_eq "800 connections, each logged" 800 \
	"$(client connects 10.10.2.2 80 800 --timeout 1)"
sleep 1
sink_stalled_checks "the stderr pipe" 100
exec 7<&-
e2e_finish
