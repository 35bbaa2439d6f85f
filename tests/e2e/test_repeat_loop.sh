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
# so in its log.
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
topo_up
servers_start --tcp 2222
RULES="$T/rules.yaml"
S="$T/stats.json"

n=0
for mode in new every; do
	n=$((n + 1))
	cp "$E2E_DIR/rules/mangle-$mode.yaml" "$RULES"
	fwd_start "$RULES"
	# Another tool puts its rule above fwd's jump.
	nsx g iptables -t mangle -I PREROUTING 1 -j CONNMARK --restore-mark
	nsx g ip6tables -t mangle -I PREROUTING 1 -j CONNMARK --restore-mark
	ok=0
	for i in 1 2 3; do
		[ "$(client tcp 10.10.2.2 2222 --timeout 3)" = "fwd-e2e tcp 2222" ] && ok=$((ok + 1))
		[ "$(client tcp fd00:2::2 2222 --timeout 3)" = "fwd-e2e tcp 2222" ] && ok=$((ok + 1))
	done
	assert_eq "$mode: connections to the allowed port, mark rewritten before fwd" 6 "$ok"
	stats "$S"
	assert_ge "$mode: packets that came back are counted as looped" 6 "$(jget "$S" queue.looped)"
	assert_range "$mode: fwd judged each packet three times at most, not for ever" 6 400 \
		"$(jget "$S" queue.received)"
	log_wait $n "came back to the queue after fwd allowed them, without mark bit 0x10000000"
	assert_grep "$mode: the log names the cause" "rewrites the mark [(]CONNMARK --restore-mark[?][)]" \
		"$FWD_LOG"
	fwd_stop
	assert_eq "$mode: fwd exit status" 0 "$FWD_STATUS"
	for fam in iptables ip6tables; do
		nsx g $fam -t mangle -F PREROUTING
	done
done
assert_no_sanitizer_report
e2e_finish
