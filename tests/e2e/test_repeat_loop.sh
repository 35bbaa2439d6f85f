#!/bin/bash
# SPDX-License-Identifier: MIT
# test_repeat_loop.sh FWD BUILD_DIR - a rule before fwd's jump that rewrites
# the mark does not make fwd's allowed packets loop.
#
# fwd passes what it allows with a repeat verdict and mark bit 0x10000000,
# which its chain lets by on the packet's second trip through mangle
# PREROUTING. A rule above the jump that rewrites the mark (CONNMARK
# --restore-mark: a new connection's mark is 0) takes the bit away, so the
# packet was queued, allowed and repeated again, for ever: connections to
# an allowed port hung and a worker spun. fwd now knows a packet it has
# repeated twice, accepts it the third time, counts it as `looped` and says
# so in its log. A packet that comes back to the other queue meets the other
# worker's guard: with 2 queues, 5 judgements a packet at the most.
#
# The burst of 24 connections at once has many packets loop at the same
# time: two of them in one slot of a worker's guard used to take it from
# each other on every pass, and a few times in 40 runs one looped for ever
# (56,218 judgements).
#
# First, with nothing before fwd's jump, no packet can loop, and the same
# datagram sent ten times (the same bytes: an unconnected socket's IPv4 ID
# is 0, IPv6 has none, and each is queued while the flow has no answer) is
# judged and repeated each time: fwd used to call the third a loop, accept
# it past the rules after its jump, and warn of a mark rule that was not
# there. fwd's hooks watch now says whether a rule comes before the jump.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222 --sink 7300
RULES="$T/rules.yaml"
S="$T/stats.json"

cat >"$RULES" <<'YAML'
version: 1
default: drop
rules:
  - {name: sink, proto: udp, dport: 7300, action: allow}
YAML
fwd_start "$RULES"
for dst in 10.10.2.2 fd00:2::2; do
	nsx c "$PY" -c '
import socket, sys, time
dst = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(10):
    s.sendto(b"twin", (dst, 7300))
    time.sleep(0.002)
' "$dst"
done
sleep 0.5
stats "$S"
assert_eq "twins: the 20 datagrams were judged" 20 "$(jget "$S" rule:sink.packets)"
assert_eq "twins: none counted as looped" 0 "$(jget "$S" queue.looped)"
assert_no_grep "twins: no warning of a mark rule" "came back to the queue" "$FWD_LOG"

# Count what the kernel sees of port 2222 once a packet (raw PREROUTING runs
# once; mangle runs again on each repeat): in new-connections mode only
# SYNs are queued, in every-packet mode both ways.
count_rules() {	# -A|-D MODE
	local fam sel
	for fam in iptables ip6tables; do
		if [ "$2" = new ]; then
			nsx g $fam -t raw "$1" PREROUTING -p tcp --dport 2222 --syn
		else
			nsx g $fam -t raw "$1" PREROUTING -p tcp --dport 2222
			nsx g $fam -t raw "$1" PREROUTING -p tcp --sport 2222
		fi
	done
}
packets() {
	local fam
	for fam in iptables ip6tables; do
		nsx g $fam -t raw -L PREROUTING -v -n -x | awk '/dpt:2222|spt:2222/ { n += $1 } END { print n + 0 }'
	done | awk '{ n += $1 } END { print n }'
}
BURST=24
reloads_ok() { stats "$T/r.json" >/dev/null && [ "$(jget "$T/r.json" reloads.ok)" = "$1" ]; }

# Another tool puts its rule above fwd's jump; fwd's hooks watch sees it.
nsx g iptables -t mangle -I PREROUTING 1 -j CONNMARK --restore-mark
nsx g ip6tables -t mangle -I PREROUTING 1 -j CONNMARK --restore-mark
log_wait 1 "a rule comes before fwd's jump in mangle PREROUTING" 7 ||
	fail "fwd did not say that a rule comes before its jump"
assert_grep "... naming it" \
	"before fwd's jump in mangle PREROUTING [(]ip6?tables: -A PREROUTING -j CONNMARK --restore-mark" \
	"$FWD_LOG"
# Each mode by a reload, which leaves fwd's jump where it is (below the rule).
n=0 looped=0 received=0
for mode in new every; do
	n=$((n + 1))
	rules_put "$E2E_DIR/rules/mangle-$mode.yaml" "$RULES"
	fwd_hup
	wait_for 10 reloads_ok $n || fail "$mode: the reload did not succeed"
	count_rules -A $mode
	ok=0
	for i in 1 2 3; do
		[ "$(client tcp 10.10.2.2 2222 --timeout 3)" = "fwd-e2e tcp 2222" ] && ok=$((ok + 1))
		[ "$(client tcp fd00:2::2 2222 --timeout 3)" = "fwd-e2e tcp 2222" ] && ok=$((ok + 1))
	done
	assert_eq "$mode: connections to the allowed port, mark rewritten before fwd" 6 "$ok"
	pids=()
	for i in $(seq 1 $BURST); do
		if [ $((i % 2)) = 0 ]; then dst=10.10.2.2; else dst=fd00:2::2; fi
		client tcp $dst 2222 --timeout 5 >"$T/burst.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	assert_eq "$mode: $BURST connections at once" $BURST "$(cat "$T"/burst.* | grep -c "^fwd-e2e tcp 2222$")"
	stats "$S"
	pk=$(packets)
	assert_ge "$mode: packets that came back are counted as looped" \
		$((6 + BURST)) $(($(jget "$S" queue.looped) - looped))
	assert_range "$mode: fwd judged each of $pk packets 5 times at most, not for ever" \
		"$pk" $((5 * pk)) $(($(jget "$S" queue.received) - received))
	looped=$(jget "$S" queue.looped)
	received=$(jget "$S" queue.received)
	count_rules -D $mode
	rm -f "$T"/burst.*
done
# One line a minute at the most: the first mode's.
log_wait 1 "came back to the queue after fwd allowed them, without mark bit 0x10000000"
assert_grep "the log names the cause" "rewrites the mark [(]CONNMARK --restore-mark[?][)]" "$FWD_LOG"
fwd_stop
assert_eq "fwd exit status" 0 "$FWD_STATUS"
assert_no_sanitizer_report
e2e_finish
