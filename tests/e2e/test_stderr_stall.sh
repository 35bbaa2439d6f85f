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
#
# Then one line longer than the pipe holds: with `format: json` SIGUSR2
# writes the stats of 2,000 rules as one JSON object of some 170 KB into an
# empty pipe nobody reads. fwd wrote a line longer than PIPE_BUF with one
# blocking write, which never returned; it now writes it in pieces while
# the pipe takes them, and gives up after a moment. A reader that is slow
# (4 KiB a millisecond) still gets the whole object.
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
# fwd run --foreground with stdout and stderr to OUT (a FIFO here).
fwd_start_to() {	# OUT RULES DESC
	echo "--- fwd run --foreground, $3" >>"$FWD_LOG"
	ip netns exec "$NS_G" "$FWD" run -c "$2" --foreground --socket "$SOCK" \
		--pidfile "$PIDFILE" >"$1" 2>&1 &
	FWD_PID=$!
	fwd_wait_ready 10 || { fail "fwd did not start"; e2e_finish; }
}

mkfifo "$T/err"
exec 7<>"$T/err"	# open, never read
fwd_start_to "$T/err" "$T/rules.yaml" "stderr a FIFO nobody reads"

# About 120 bytes a line: 800 lines are more than the pipe's 64 KiB.
assert_eq "800 connections, each logged" 800 \
	"$(client connects 10.10.2.2 80 800 --timeout 1)"
sleep 1
sink_stalled_checks "the stderr pipe" 100
exec 7<&-

{
	printf 'version: 1\ndefault: drop\ndaemon:\n  log: {format: json}\nrules:\n'
	awk 'BEGIN { for (i = 0; i < 2000; i++)
		printf "  - {name: rule-%04d, proto: tcp, dport: %d, action: allow}\n", i, 10000 + i }'
} >"$T/many.yaml"
mkfifo "$T/err2"
exec 7<>"$T/err2"	# open, never read
fwd_start_to "$T/err2" "$T/many.yaml" "2,000 rules, JSON, stderr a FIFO nobody reads"
kill -USR2 "$FWD_PID"
sleep 1
sink_stalled_checks "the stderr pipe, a long line" 1
exec 7<&-

mkfifo "$T/err3"
"$PY" -c '
import sys, time
with open(sys.argv[1], "rb") as fifo, open(sys.argv[2], "wb") as out:
    while True:
        b = fifo.read1(4096)
        if not b:
            break
        out.write(b)
        time.sleep(0.001)
' "$T/err3" "$T/err3.log" &
reader=$!
fwd_start_to "$T/err3" "$T/many.yaml" "2,000 rules, JSON, stderr a slow reader"
kill -USR2 "$FWD_PID"
sleep 1
fwd_stop
wait "$reader"
assert_eq "a slow reader got the stats object whole: rules in it" 2000 "$("$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("event_type") == "stats":
        print(len(o["stats"]["rules"]))
' "$T/err3.log" 2>&1)"
e2e_finish
