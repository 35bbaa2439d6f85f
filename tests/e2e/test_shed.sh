#!/bin/bash
# SPDX-License-Identifier: MIT
# test_shed.sh FWD BUILD_DIR - an overload of traffic the rules allow is shed
# before the queue (FWD-GATE, fwd/gate.c), counted, and the gate opens again
# once it is over.
#
# Every-packet mode, fail: closed. The gateway's receive work shares fwd's
# CPU (RPS on its ingress veth to CPU 0, fwd pinned there), as a NIC
# interrupt landing on the reader's CPU does on a real gateway; there the
# kernel spends as much on a packet the full queue drops as on one fwd
# judges, and fwd starves. tests/bench/blast sends an allowed UDP flow from
# CPU 1 to tests/bench/sink on the server:
#   1. at 3,000 packets/s for 2 s: fwd keeps up, the gate stays open;
#   2. flat out for 8 s: the queue overflows, FWD-GATE gets its hashlimit
#      line, fwd logs it, `fwd stats` counts what FWD-SHED dropped (the
#      kernel's counter and fwd's agree); once the flood is over fwd says
#      so, the gate stands by (at twice what fwd kept up with) for 5 s and
#      then opens;
#   3. flat out for 4 s with `shed: off`, after a reload: no gate, nothing
#      shed. What the sink got in 2 and 3 is reported (tests/bench/e2e.sh
#      measures it; on a shared machine it is no pass/fail figure);
#   4. the stateful mode, shed on again, and a spoofed SYN flood at an
#      allowed port (each SYN a new connection, so each is queued): the gate
#      is in mangle FWD-QUEUE then, after conntrack, and sheds there.
# In every-packet mode the gate is in raw PREROUTING, before conntrack.
# Through all of it, fwd's look at its chains finds them as it left them.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs (the flood on one, the gateway on the other)"
blast="$BUILD_DIR/bench/blast"
sink="$BUILD_DIR/bench/sink"
[ -x "$blast" ] && [ -x "$sink" ] || skip "$blast or $sink not built (make $BUILD_DIR/bench/blast $BUILD_DIR/bench/sink)"
topo_up
RULES="$T/rules.yaml"
rules() {	# SHED
	cat >"$T/rules.new" <<-YAML
	version: 1
	default: drop
	daemon: {queues: 1, inspect: ${2:-every-packet}, shed: $1}
	rules:
	  - {name: flow, proto: udp, dport: 9000, action: allow}
	  - {name: syn, proto: tcp, dport: 9100, action: allow}
	YAML
	rules_put "$T/rules.new" "$RULES"
}
rules on
fwd_start "$RULES"
nsx g sh -c 'echo 1 >/sys/class/net/veth-gw-c/queues/rx-0/rps_cpus' ||
	skip "cannot steer the gateway's receive work (rps_cpus)"
taskset -a -p -c 0 "$FWD_PID" >/dev/null || skip "taskset cannot pin fwd"

gate_line() { nsx g iptables -w -t "${1:-raw}" -S FWD-GATE 2>/dev/null | grep -c hashlimit; }
shed_kernel() {
	nsx g iptables -w -t "${1:-raw}" -L FWD-SHED -v -x -n 2>/dev/null |
		awk '$3 == "DROP" { n += $1 } END { print n + 0 }'
}
# phase NAME RATE MS: blast the flow, print what the sink got per second.
phase() {
	local out=$T/$1
	bg s "$out.sink" taskset -c 1 "$sink" udp 9000
	local spid=$BG_PID
	wait_for 5 grep -q ready "$out.sink" || fail "the sink did not start"
	nsx c taskset -c 1 "$blast" udp 10.10.2.2 9000 "$2" "$3" 8 >"$out.blast" 2>&1
	sleep 0.3
	kill -TERM "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	awk -v got="$(tail -n1 "$out.sink")" '{ printf "%d", got * 1e9 / $4 }' "$out.blast"
}

# 1. Light load.
light=$(phase light 3000 2000)
stats "$T/s1.json"
say "at 3,000/s: the sink got $light/s; fwd received $(jget "$T/s1.json" queue.received)"
assert_eq "light load: nothing shed" 0 "$(jget "$T/s1.json" queue.shed)"
assert_eq "light load: the gate is open" 0 "$(jget "$T/s1.json" queue.gate_rate)"
assert_eq "light load: FWD-GATE holds no line" 0 "$(gate_line)"

# 2. Flat out, shed: on. Watch FWD-GATE while the flood runs.
: >"$T/gate.seen"
( for _ in $(seq 1 30); do [ "$(gate_line)" -gt 0 ] && { echo yes >"$T/gate.seen"; break; }; sleep 0.2; done ) &
watcher=$!
on=$(phase on 0 8000)
wait "$watcher" 2>/dev/null
stats "$T/s2.json"
k=$(shed_kernel)
say "flat out, shed on: the sink got $on/s of $(awk '{ printf "%d", $2 * 1e9 / $4 }' "$T/on.blast")/s sent;" \
	"fwd received $(jget "$T/s2.json" queue.received), queue_dropped $(jget "$T/s2.json" queue.queue_dropped)," \
	"shed $(jget "$T/s2.json" queue.shed) (FWD-SHED: $k)"
assert_eq "the flood closed the gate: FWD-GATE had its hashlimit line" yes "$(cat "$T/gate.seen")"
log_wait 1 "overload: the queue overflows; shedding what comes faster than [0-9]+ packets/s" 3 &&
	pass "fwd logged the overload" || fail "fwd did not log the overload"
assert_ge "the gate shed packets (FWD-SHED's counter)" 1000 "$k"
assert_eq "fwd stats counts what FWD-SHED dropped" "$k" "$(jget "$T/s2.json" queue.shed)"
log_wait 1 "overload over after [0-9.]+ s: [0-9]+ packets shed before the queue; the gate stands by at [0-9]+ packets/s for 5 s" 3 &&
	pass "fwd logged the end of the overload" || fail "fwd did not log the end of the overload"
wait_for 10 sh -c "[ \$(ip netns exec $NS_G iptables -w -t raw -S FWD-GATE | grep -c hashlimit) = 0 ]" &&
	pass "5 s after the flood the gate opened again" || fail "FWD-GATE still holds its line 10 s after the flood"
stats "$T/s3.json"
assert_eq "fwd stats: the gate is open" 0 "$(jget "$T/s3.json" queue.gate_rate)"
assert_eq "fwd stats: the count stays" "$k" "$(jget "$T/s3.json" queue.shed)"
assert_eq "the flow still passes" 1 "$(awk '{ print ($1 > 0) }' <<<"$(phase after 2000 1000)")"

# 3. Flat out again after a reload with shed: off: no gate, nothing more shed.
rules off
fwd_hup
wait_for 10 sh -c "'$FWD' stats --socket '$SOCK' --json | grep -q '\"reloads\":{\"ok\":1'" ||
	fail "the reload did not finish"
assert_eq "shed: off: raw FWD-GATE holds no rule" 0 "$(nsx g iptables -w -t raw -S FWD-GATE | grep -c '^-A')"
off=$(phase off 0 4000)
stats "$T/s4.json"
say "flat out, shed off: the sink got $off/s of $(awk '{ printf "%d", $2 * 1e9 / $4 }' "$T/off.blast")/s sent;" \
	"queue_dropped $(jget "$T/s4.json" queue.queue_dropped)"
assert_eq "shed: off: the count from before is kept, nothing added" "$k" "$(jget "$T/s4.json" queue.shed)"
assert_eq "shed: off: the gate is open" 0 "$(jget "$T/s4.json" queue.gate_rate)"
say "delivered flat out: $on/s with the gate, $off/s without"

# 4. The stateful mode: the gate in mangle, after conntrack.
rules on new-connections
fwd_hup
wait_for 10 sh -c "'$FWD' stats --socket '$SOCK' --json | grep -q '\"reloads\":{\"ok\":2'" ||
	fail "the second reload did not finish"
: >"$T/gate4.seen"
( for _ in $(seq 1 30); do [ "$(gate_line mangle)" -gt 0 ] && { echo yes >"$T/gate4.seen"; break; }; sleep 0.2; done ) &
watcher=$!
nsx g sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-gw-c.rp_filter=0
bg c "$T/syn.out" taskset -c 1 "$BUILD_DIR/bench/spoof" 10.10.2.2 9100 9100 0 6000 10.128.0.0/9
wait "$BG_PID" 2>/dev/null
wait "$watcher" 2>/dev/null
stats "$T/s5.json"
k4=$(shed_kernel mangle)
say "SYN flood at an allowed port, stateful: $(cat "$T/syn.out"); fwd received" \
	"$(jget "$T/s5.json" queue.received), shed $(jget "$T/s5.json" queue.shed) (mangle FWD-SHED: $k4)"
assert_eq "stateful: the flood closed the gate in mangle FWD-GATE" yes "$(cat "$T/gate4.seen")"
assert_eq "stateful: raw FWD-GATE holds no rule" 0 "$(nsx g iptables -w -t raw -S FWD-GATE | grep -c '^-A')"
assert_ge "stateful: mangle FWD-SHED dropped packets" 1000 "$k4"
assert_eq "stateful: fwd stats adds them to the count" "$((k + k4))" "$(jget "$T/s5.json" queue.shed)"
# fwd checks its chains every 5 s (test_hooks_stale.sh); the gate's own
# changes of FWD-GATE are not another tool's.
assert_no_grep "no look took the gate's changes for another tool's" 'fwd: hooks: ' "$FWD_LOG"
e2e_finish
