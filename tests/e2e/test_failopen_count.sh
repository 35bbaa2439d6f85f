#!/bin/bash
# SPDX-License-Identifier: MIT
# test_failopen_count.sh FWD BUILD_DIR - what `fail: open` lets through is counted.
#
# With fail: open the kernel accepts packets that find the queue full and
# counts them nowhere: a flood opens the gateway, invisibly. Here fwd is
# stopped (SIGSTOP) so its queue fills (8192 packets), and a flood of 10000
# datagrams goes to a port the rules drop: the first 8192 wait in the queue
# (and are dropped once fwd goes on), the rest pass unjudged. `fwd stats`,
# the metrics file and a log line must say how many; `fwd check` warns.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --sink 7000 --status "$T/sink.status"
RULES="$T/rules.yaml"
cat >"$RULES" <<YAML
version: 1
default: drop
log: none
daemon:
  inspect: every-packet
  fail: open
  queues: 1
  early_drop: off   # the flood must reach the queue (early drops would stop it before)
  metrics: {file: $T/fwd.prom, interval: 1}
rules:
  - name: ssh
    proto: tcp
    dport: 2222
    action: allow
YAML
"$FWD" check "$RULES" >"$T/check.out" 2>&1
assert_grep "fwd check warns that fail: open opens the gateway under load" \
	"rules.yaml:[0-9]+:[0-9]+: warning: fail: open .*queue full" "$T/check.out"
fwd_start "$RULES"

COUNT=10000
QMAX=8192
kill -STOP "$FWD_PID"
client flood 10.10.2.2 7000 $COUNT 20000 >"$T/flood.out"
sleep 1
kill -CONT "$FWD_PID"
wait_for 5 test -s "$T/sink.status"
sleep 1
read -r _ sink_rx _ _ <"$T/sink.status"
say "flood: $(cat "$T/flood.out"); sink: $(cat "$T/sink.status")"
assert_ge "the hole is real: datagrams to a dropped port reached the server" 1 "$sink_rx"

S="$T/stats.json"
stats "$S"
read -r bypassed qd received < <(jget "$S" queue.bypassed queue.queue_dropped queue.received \
	| tr '\n' ' ')
say "stats: bypassed=$bypassed queue_dropped=$qd received=$received"
assert_range "stats: bypassed = flood less what the queue held" \
	$((COUNT - QMAX)) $((COUNT - QMAX + 20)) "$bypassed"
assert_ge "stats: bypassed >= what the server received" "$sink_rx" "$bypassed"
nsx g "$FWD" stats --socket "$SOCK" >"$T/stats.txt"
assert_grep "fwd stats (table) shows it" "^bypassed: +$bypassed accepted without a verdict" \
	"$T/stats.txt"
log_wait 1 'fail-open: [0-9]+ packets accepted without a verdict' 5
assert_grep "a log line says so" \
	"fail-open: [0-9]+ packets accepted without a verdict .* since start" "$FWD_LOG"
wait_for 5 grep -q "^fwd_bypassed_total $bypassed\$" "$T/fwd.prom"
assert_grep "metrics: fwd_bypassed_total" "^fwd_bypassed_total $bypassed\$" "$T/fwd.prom"

fwd_stop
assert_eq "fwd exit status" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
