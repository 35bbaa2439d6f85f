#!/bin/bash
# SPDX-License-Identifier: MIT
# test_early_drop.sh FWD BUILD_DIR - a spoofed SYN flood at ports the rules
# drop is dropped before the queue, and a real client still connects.
#
# The gateway's receive work shares fwd's CPU (RPS on its ingress veth to
# CPU 0, fwd pinned there), as a NIC interrupt landing on the reader's CPU
# does on a real gateway. Two spoofed SYN floods from the client namespace,
# FLOOD_PPS each (default 0: as fast as one CPU sends, some 150k/s each
# here) for 12 s: one at tcp 23 (`telnet`, a plain drop), one at random
# closed ports (`default: drop`). At that rate the queue overflows when fwd
# judges the floods itself (fwd before early drops: 111 of 200 connected,
# 1.86M queue drops); at 30000/s each fwd kept up even without them. Meanwhile
# 10.10.1.2 makes 200 connections to the open port 80 (0.3 s each at most).
# Expected: at least 90% of them connect; fwd itself received far fewer
# packets than the floods sent (the kernel dropped them in FWD-EARLY); the
# kernel's counts and `fwd stats` show the drops on `telnet` and on the
# default, and keep them over a reload; port 80 is still judged by fwd.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs (the flood on one, the gateway on the other)"
topo_up
servers_start --tcp 80
RULES="$T/rules.yaml"
cat >"$RULES" <<'YAML'
version: 1
default: drop
daemon: {queues: 1}
rules:
  - {name: web, proto: tcp, dport: 80, action: allow}
  - {name: telnet, proto: tcp, dport: 23, action: drop}
YAML
fwd_start "$RULES"
PPS=${FLOOD_PPS:-0}
N=200

# Receive work and the reader on CPU 0; the floods on CPU 1.
nsx g sh -c 'echo 1 >/sys/class/net/veth-gw-c/queues/rx-0/rps_cpus' ||
	skip "cannot steer the gateway's receive work (rps_cpus)"
taskset -a -p -c 0 "$FWD_PID" >/dev/null || skip "taskset cannot pin fwd"
spoof="$BUILD_DIR/bench/spoof"
[ -x "$spoof" ] || skip "$spoof not built (make $BUILD_DIR/bench/spoof)"
nsx g sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-gw-c.rp_filter=0
bg c "$T/flood23.out" taskset -c 1 "$spoof" 10.10.2.2 23 23 "$PPS" 12000 10.128.0.0/9
F23=$BG_PID
bg c "$T/floodx.out" taskset -c 1 "$spoof" 10.10.2.2 1000 60000 "$PPS" 12000 10.128.0.0/9
FX=$BG_PID
sleep 1.5

# N connections to port 80, each given 0.3 s, stopping after 9 s (the floods
# last 12): an attempt not made by then counts as failed.
t0=$(now_ms)
got=$(client connects 10.10.2.2 80 "$N" --timeout 0.3 --within 9)
say "$N connections to port 80 during the floods: $got connected in $(($(now_ms) - t0)) ms"
wait "$F23" "$FX" 2>/dev/null
sent23=$(awk '{ print $2 }' "$T/flood23.out")
sentx=$(awk '{ print $2 }' "$T/floodx.out")
say "flood at 23: $(cat "$T/flood23.out"); flood at closed ports: $(cat "$T/floodx.out")"
nsx g iptables -w -t mangle -L FWD-EARLY -v -x -n >"$T/early.txt" 2>&1
sed 's/^/  /' "$T/early.txt"
k23=$(awk '/fwd-early:rule:telnet/ { n += $1 } END { print n + 0 }' "$T/early.txt")
kdef=$(awk '/fwd-early:default/ { n += $1 } END { print n + 0 }' "$T/early.txt")
stats "$T/s.json"
recv=$(jget "$T/s.json" queue.received)
say "fwd: received $recv, queue_dropped $(jget "$T/s.json" queue.queue_dropped);" \
	"early: telnet $(jget "$T/s.json" rule:telnet.early), default $(jget "$T/s.json" default.early)"

assert_ge "connections to the open port during the flood (90% of $N)" $((N * 9 / 10)) "$got"
assert_ge "the floods sent packets" 10000 "$((sent23 + sentx))"
assert_ge "fwd received far fewer than the floods sent (10x)" $((recv * 10)) "$((sent23 + sentx))"
assert_ge "FWD-EARLY dropped most of the flood at 23" $((sent23 / 2)) "$k23"
assert_ge "FWD-EARLY dropped most of the flood at closed ports" $((sentx / 2)) "$kdef"
assert_ge "fwd stats: telnet's early drops" "$k23" "$(jget "$T/s.json" rule:telnet.early)"
assert_ge "fwd stats: telnet's packets include them" "$k23" "$(jget "$T/s.json" rule:telnet.packets)"
assert_ge "fwd stats: the default's early drops" "$kdef" "$(jget "$T/s.json" default.early)"
assert_eq "fwd stats: no early drop on web" 0 "$(jget "$T/s.json" rule:web.early)"
assert_ge "port 80 judged by fwd (web's packets)" "$got" "$(jget "$T/s.json" rule:web.packets)"

# A reload flushes FWD-EARLY; the counts carry over by rule name.
fwd_hup
wait_for 10 sh -c "'$FWD' stats --socket '$SOCK' --json | grep -q '\"reloads\":{\"ok\":1'" ||
	fail "the reload did not finish"
stats "$T/s2.json"
assert_ge "telnet's early drops kept over a reload" "$k23" "$(jget "$T/s2.json" rule:telnet.early)"
assert_ge "the default's early drops kept over a reload" "$kdef" "$(jget "$T/s2.json" default.early)"
assert_eq "after the reload 80 still connects" "fwd-e2e tcp 80" "$(client tcp 10.10.2.2 80 --timeout 2 2>/dev/null)"
assert_eq "after the reload 23 is still dropped" timeout "$(client tcp 10.10.2.2 23 --timeout 1 2>/dev/null)"
e2e_finish
